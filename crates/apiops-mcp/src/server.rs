//! The MCP server: the tools of [`crate::tools`] over the same engine as the CLI, and the
//! resources (the latest report as Markdown, the event log and the catalog as JSON).
//!
//! The engine calls are the CLI's: `apiops_config::providers::select` and
//! `apiops_providers::scan` for health, errors and audit, `apiops_config::usage` for usage,
//! `apiops_ops::read` for reads, the operations pipeline for changes. What the terminal shows
//! too — the whole report as Markdown, a read's answer as a table — comes through [`Views`],
//! which the binary passes in.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use apiops_core::{ActionTaken, Category, HealthStatus, Report, Service};
use apiops_ops::exec::{ItemResult, Outcome, OutcomeStatus};
use apiops_ops::plan::Planned;
use apiops_ops::registry::{Missing, PLAN_TTL, PlanEntry, PlanRegistry};
use apiops_ops::{
    CATALOG, Executor, Gate, Intent, Operation, OpsError, Origin, Prepared, ReadAnswer, ReadError,
    Services,
};
use apiops_providers::TimeWindow;
use apiops_providers::scan::{
    self, ErrorsOutcome, ScanFailure, ScanOptions, SelectError, Selected,
};
use apiops_providers::views::{AuditView, ErrorsView, HealthView, ReportView, period_label};
use apiops_store::{EventFilter, Store, StoreError};
use rmcp::ErrorData as McpError;
use rmcp::handler::server::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ElicitRequest, ElicitRequestParams,
    ElicitationSchema, Implementation, InputRequest, InputRequiredResult, ListResourcesResult,
    ListToolsResult, PaginatedRequestParams, ProtocolVersion, ReadResourceRequestParams,
    ReadResourceResponse, ReadResourceResult, Resource, ResourceContents, ServerCapabilities,
    ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use serde_json::{Map, Value, json};

mod apis;
mod audits;
mod graphql;
mod json;
mod plans;
mod resources;

/// `value` (an object) with what the operation `spec` does to the account, as the catalog and
/// a plan both show it: side effects, risk, reversible, purchase, deletion, auth, costs money.
fn with_effects(mut value: Value, spec: &apiops_ops::catalog::OpSpec) -> Value {
    let effects = json!({
        "side_effects": spec.side_effects,
        "risk": spec.risk,
        "reversible": spec.reversible,
        "purchase": spec.purchase,
        "deletion": spec.deletion,
        "auth": spec.auth,
        "costs_money": spec.costs_money,
    });
    if let (Value::Object(to), Value::Object(from)) = (&mut value, effects) {
        to.extend(from);
    }
    value
}

#[cfg(test)]
mod tests;

use json::*;

use crate::confirm::{self, Answer, Decision, Transport, Via};
use crate::result::{Kind, ToolError, success};
use crate::tools::{self, CallError, PlanRequest, ToolCall};
use apiops_config::LoadedConfig;
use apiops_config::creds::CredsReport;

/// How long `execute_plan` waits for a legacy client's answer to the confirmation question.
const ELICITATION_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// The events `apiops://events/recent` holds.
const RECENT_EVENTS: u32 = 200;

pub const REPORT_URI: &str = "apiops://report/latest";
pub const EVENTS_URI: &str = "apiops://events/recent";
pub const CATALOG_URI: &str = "apiops://operations/catalog";

const INSTRUCTIONS: &str = "apiops operates Twilio, Stripe and OpenAI integrations. Read tools: credentials_status, health_check, error_audit, config_audit, usage_report, list_events, list_operations. To change anything: plan_operation (plain words or a structured catalog operation) returns a plan_id with steps, side effects, risks, cost, the policy gate's verdict and the trust class; execute_plan runs it through the same gate and journal as the CLI. An agent never confirms: purchases, deletions, credential changes, money-spending sends, URL redirections and over-cap batches wait for a person (over HTTP out of the agent's channel: `apiops confirm PLAN_ID` or the dashboard); on stdio the person answers through MCP elicitation. Secrets are always masked. Resources: apiops://report/latest (Markdown report), apiops://events/recent (event log, JSON), apiops://operations/catalog (JSON).";

/// What the server was started with.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Only the tools that read.
    pub read_only: bool,
    /// In-account changes run without asking (never purchases, deletions, credential changes,
    /// money-spending sends, URL redirections or over-cap batches).
    pub allow_execute: bool,
    /// How clients reach this server: whose answer an elicitation is.
    pub transport: Transport,
}

/// What the server shows the way the terminal shows it too, passed in by the face that starts
/// it (the binary owns those renderers; this crate does not depend on it).
pub trait Views: Send + Sync + 'static {
    /// The whole report as Markdown (the resource `apiops://report/latest`).
    fn report_markdown(&self, report: &ReportView) -> String;
    /// A read's answer as the table the terminal prints, as JSON (`plan_operation` of a read).
    fn read_table(&self, op: &Operation, answer: ReadAnswer) -> Value;
}

/// The session a call belongs to: the streamable HTTP session id (`Mcp-Session-Id`), one name
/// for stateless HTTP requests, `stdio` for `apiops mcp`.
fn session_of(context: &RequestContext<RoleServer>) -> String {
    let header = context
        .extensions
        .get::<axum::http::request::Parts>()
        .map(|parts| {
            parts
                .headers
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
                .map_or_else(|| "http".to_owned(), |id| format!("http:{id}"))
        });
    header.unwrap_or_else(|| "stdio".into())
}

/// Everything the tools share.
pub(crate) struct State {
    loaded: Arc<LoadedConfig>,
    options: Options,
    /// The providers operations use, built once (each one's reason when not configured).
    services: Services,
    /// The event log and journal (or why it could not be opened).
    store: Result<Arc<dyn Store>, StoreError>,
    plans: PlanRegistry,
    pending: Mutex<confirm::Pending>,
    views: Arc<dyn Views>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The server handler rmcp runs.
#[derive(Debug, Clone)]
pub struct ApiopsMcp {
    state: Arc<State>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ApiopsMcp {
    /// Builds the providers and opens the store once, for the whole session (`apiops mcp`).
    pub async fn start(loaded: LoadedConfig, options: Options, views: Arc<dyn Views>) -> Self {
        use secrecy::ExposeSecret as _;
        let store = apiops_store::open(loaded.settings.database.url.expose_secret())
            .await
            .map(Arc::from);
        Self::new(Arc::new(loaded), options, store, views)
    }

    /// The server over a store already open (or why it could not be): builds the providers
    /// once. Every clone shares the providers, the store, the plans and the pending questions —
    /// `apiops serve` hands one clone to each streamable HTTP session (and to each stateless
    /// request), so a plan made in one request can be executed in the next.
    pub fn new(
        loaded: Arc<LoadedConfig>,
        options: Options,
        store: Result<Arc<dyn Store>, StoreError>,
        views: Arc<dyn Views>,
    ) -> Self {
        let settings = &loaded.settings;
        let services = apiops_config::providers::services(settings);
        if let Err(e) = &store {
            tracing::warn!("the event log and journal are unavailable: {e}");
        }
        ApiopsMcp {
            state: Arc::new(State {
                loaded,
                options,
                services,
                store,
                plans: PlanRegistry::new(),
                pending: Mutex::new(confirm::Pending::default()),
                views,
            }),
        }
    }

    fn tools(&self) -> Vec<Tool> {
        let o = self.state.options;
        tools::definitions(o.read_only, o.allow_execute)
            .into_iter()
            .map(|d| {
                let schema = match d.input_schema {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                Tool::new(d.name, d.description, schema)
                    .with_title(d.title)
                    .with_annotations(
                        ToolAnnotations::with_title(d.title)
                            .read_only(d.hints.read_only)
                            .destructive(d.hints.destructive)
                            .idempotent(d.hints.idempotent)
                            .open_world(d.hints.open_world),
                    )
            })
            .collect()
    }
}

impl ServerHandler for ApiopsMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(
            Implementation::new("apiops", env!("CARGO_PKG_VERSION"))
                .with_title("apiops")
                .with_description(
                    "Operate Twilio, Stripe and OpenAI integrations: health, error and configuration audits, planned and gated operations.",
                ),
        )
        .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.tools()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools().into_iter().find(|t| t.name == name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let call = match tools::parse(
            &request.name,
            request.arguments.as_ref(),
            self.state.options.read_only,
        ) {
            Ok(call) => call,
            Err(CallError::UnknownTool(name)) => {
                return Err(McpError::invalid_params(
                    format!("unknown tool: {name}"),
                    None,
                ));
            }
            Err(CallError::Args(e)) => {
                return Ok(
                    ToolError::new(Kind::InvalidArguments, Some(Category::BadParams), e.0)
                        .into_result()
                        .into(),
                );
            }
        };
        let ct = context.ct.clone();
        let state = self.state.clone();
        let session = session_of(&context);
        match call {
            ToolCall::ExecutePlan { plan_id } => {
                state
                    .execute_plan(
                        &plan_id,
                        &session,
                        request.input_responses.as_ref(),
                        request.request_state.as_deref(),
                        &context,
                    )
                    .await
            }
            other => {
                tokio::select! {
                    result = state.run(other, &session) => Ok(result.into()),
                    () = ct.cancelled() => {
                        tracing::info!("a tool call was cancelled by the client");
                        Ok(ToolError::new(Kind::Cancelled, None, "cancelled by the client").into_result().into())
                    }
                }
            }
        }
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        Ok(ListResourcesResult::with_all_items(vec![
            Resource::new(REPORT_URI, "report-latest")
                .with_title("Latest report")
                .with_description("Health, the error audit of the last 24 hours and the configuration audit of every configured service, with recommendations, as Markdown. Produced when read.")
                .with_mime_type("text/markdown"),
            Resource::new(EVENTS_URI, "events-recent")
                .with_title("Recent events")
                .with_description("The event log of the last 24 hours (at most 200 events, newest first) as JSON: normalized failures and the actions apiops took.")
                .with_mime_type("application/json"),
            Resource::new(CATALOG_URI, "operations-catalog")
                .with_title("Operations catalog")
                .with_description("Every operation apiops can plan, with parameters, side effects, risk and how this server confirms it, as JSON.")
                .with_mime_type("application/json"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let state = self.state.clone();
        let uri = request.uri.clone();
        let read = async move {
            match uri.as_str() {
                REPORT_URI => Ok(
                    ResourceContents::text(state.report_markdown().await, REPORT_URI)
                        .with_mime_type("text/markdown"),
                ),
                EVENTS_URI => {
                    let events = state.recent_events().await?;
                    Ok(ResourceContents::text(events, EVENTS_URI)
                        .with_mime_type("application/json"))
                }
                CATALOG_URI => Ok(ResourceContents::text(
                    serde_json::to_string_pretty(&state.catalog(None)).unwrap_or_default(),
                    CATALOG_URI,
                )
                .with_mime_type("application/json")),
                other => Err(McpError::resource_not_found(
                    format!(
                        "no resource {other}: resources/list names {REPORT_URI}, {EVENTS_URI} and {CATALOG_URI}"
                    ),
                    Some(json!({"uri": other})),
                )),
            }
        };
        tokio::select! {
            contents = read => Ok(ReadResourceResult::new(vec![contents?]).into()),
            () = context.ct.cancelled() => Err(McpError::internal_error("cancelled by the client", None)),
        }
    }
}

impl State {
    fn store(&self) -> Result<&dyn Store, ToolError> {
        self.store.as_deref().map_err(|e| {
            ToolError::new(
                Kind::StoreUnavailable,
                Some(Category::Config),
                format!("the event log and journal are unavailable: {e}"),
            )
        })
    }

    fn services(&self) -> Result<&Services, ToolError> {
        Ok(&self.services)
    }

    /// The services a check runs on (all configured ones when none is named).
    fn select(&self, services: &[Service]) -> Result<Selected, ToolError> {
        apiops_config::providers::select(&self.loaded.settings, services)
            .map_err(|e| selection_error(&e))
    }

    /// Runs one tool that is not `execute_plan`.
    async fn run(&self, call: ToolCall, session: &str) -> CallToolResult {
        let r = match call {
            ToolCall::CredentialsStatus => Ok(self.credentials_status()),
            ToolCall::HealthCheck { services } => self.health_check(&services).await,
            ToolCall::ErrorAudit {
                services,
                since,
                resource,
            } => {
                self.error_audit(&services, since, resource.as_deref())
                    .await
            }
            ToolCall::ConfigAudit { services } => self.config_audit(&services, false).await,
            ToolCall::UsageReport {
                services,
                period,
                by,
            } => self.usage_report(&services, period, by).await,
            ToolCall::ListEvents {
                since,
                service,
                limit,
            } => self.list_events(since, service, limit).await,
            ToolCall::ListOperations { service } => Ok(self.list_operations(service)),
            ToolCall::PlanOperation { request, fresh } => {
                self.plan_operation(request, fresh, session).await
            }
            ToolCall::ListApis => self.list_apis().await,
            ToolCall::ApiOperations { api, words } => self.api_operations(&api, &words).await,
            ToolCall::CallApi {
                api,
                operation,
                params,
                body,
            } => {
                self.call_api(&api, &operation, &params, body, session)
                    .await
            }
            ToolCall::GraphQlQuery {
                api,
                query,
                variables,
                all,
                cursor_var,
                connection,
            } => {
                let paging = all.then_some(graphql::Paging {
                    cursor_var: cursor_var.as_deref(),
                    connection: connection.as_deref(),
                });
                self.graphql_query(&api, &query, &variables, paging, session)
                    .await
            }
            ToolCall::ExecutePlan { .. } => Err(ToolError::new(
                Kind::Internal,
                None,
                "execute_plan is dispatched separately",
            )),
        };
        r.unwrap_or_else(ToolError::into_result)
    }

    fn credentials_status(&self) -> CallToolResult {
        let report = CredsReport::build(&self.loaded);
        let value = serde_json::to_value(&report).unwrap_or(Value::Null);
        let summary = value["services"]
            .as_array()
            .map(|services| {
                services
                    .iter()
                    .map(|s| {
                        format!(
                            "{}: {}",
                            s["service"].as_str().unwrap_or("?"),
                            s["summary"].as_str().unwrap_or("?")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        success(format!("Credentials (values masked) — {summary}"), value)
    }

    async fn health_check(&self, services: &[Service]) -> Result<CallToolResult, ToolError> {
        let selected = self.select(services)?;
        let health = scan::health(&selected.providers).await;
        let view = HealthView::new(health);
        Ok(success(
            health_summary(&view),
            health_json(&view, &selected.skipped),
        ))
    }

    async fn errors_view(
        &self,
        services: &[Service],
        since: Duration,
        resource: Option<&str>,
    ) -> Result<(ErrorsView, u64, usize, Vec<(Service, String)>), ToolError> {
        let selected = self.select(services)?;
        let span = jiff::SignedDuration::try_from(since).map_err(|e| {
            ToolError::new(
                Kind::InvalidArguments,
                Some(Category::BadParams),
                e.to_string(),
            )
        })?;
        let window = TimeWindow::last(span, jiff::Timestamp::now());
        let store = self.store.as_deref().ok();
        let outcome = scan_errors(&selected, window, store, resource).await;
        if let Some(e) = &outcome.store_error {
            tracing::warn!("the event log could not record every event: {e}");
        }
        let recommendations =
            apiops_providers::aggregate::recommendations(&[], &outcome.groups, &[], 10);
        let view = ErrorsView {
            period: period_label(since),
            services: selected.providers.iter().map(|p| p.service()).collect(),
            total_events: outcome.total,
            groups: outcome.groups,
            failures: outcome.failures,
            partial: !outcome.unread.is_empty(),
            unread: outcome.unread,
            recommendations,
            events: Vec::new(),
        };
        Ok((
            view,
            outcome.stored,
            selected.providers.len(),
            selected.skipped,
        ))
    }

    async fn usage_report(
        &self,
        services: &[Service],
        period: apiops_providers::usage::UsagePeriod,
        by: Option<apiops_providers::usage::UsageBy>,
    ) -> Result<CallToolResult, ToolError> {
        let view = apiops_config::usage::report(&self.loaded.settings, services, period, by)
            .await
            .map_err(|e| usage_error(&e))?;
        let value = serde_json::to_value(&view).unwrap_or(Value::Null);
        let mut summary = view.summary();
        for s in view.report.services.iter().filter(|s| s.missing.is_some()) {
            summary.push_str(&format!(
                "; {}: {}",
                s.service.display_name(),
                s.missing
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ));
        }
        Ok(success(summary, value))
    }

    async fn events(
        &self,
        since: Duration,
        service: Option<Service>,
        limit: u32,
    ) -> Result<Vec<apiops_core::ErrorEvent>, ToolError> {
        let store = self.store()?;
        let span = jiff::SignedDuration::try_from(since).map_err(|e| {
            ToolError::new(
                Kind::InvalidArguments,
                Some(Category::BadParams),
                e.to_string(),
            )
        })?;
        let from = jiff::Timestamp::now()
            .checked_sub(span)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        store
            .events(&EventFilter {
                since: Some(from),
                services: service.into_iter().collect(),
                limit: Some(limit),
            })
            .await
            .map_err(|e| {
                ToolError::new(
                    Kind::StoreUnavailable,
                    None,
                    format!("reading the event log: {e}"),
                )
            })
    }

    async fn list_events(
        &self,
        since: Duration,
        service: Option<Service>,
        limit: u32,
    ) -> Result<CallToolResult, ToolError> {
        let events = self.events(since, service, limit).await?;
        let summary = format!(
            "{} event(s) in the {}{}",
            events.len(),
            period_label(since).to_lowercase(),
            service
                .map(|s| format!(" for {}", s.display_name()))
                .unwrap_or_default()
        );
        Ok(success(
            summary,
            json!({"period": period_label(since), "count": events.len(), "events": events}),
        ))
    }

    fn catalog(&self, service: Option<Service>) -> Value {
        let policy = self.loaded.settings.policy.policy();
        let o = self.options;
        let ops: Vec<Value> = CATALOG
            .iter()
            .filter(|s| service.is_none() || s.service == service)
            .map(|spec| {
                let gate = apiops_ops::gate(spec, &policy, Origin::Requested);
                let trust = apiops_ops::trust_of(spec.kind);
                let value = json!({
                    "name": spec.name,
                    "service": spec.service,
                    "summary": spec.summary,
                    "params": apiops_ops::params::schema(spec.kind),
                    "read_only": spec.read_only(),
                    "gate": gate,
                    "trust": trust,
                    "execution": confirm::how(spec, &gate, &trust, o.allow_execute, o.read_only, o.transport),
                });
                with_effects(value, spec)
            })
            .collect();
        json!({"operations": ops})
    }

    fn list_operations(&self, service: Option<Service>) -> CallToolResult {
        let value = self.catalog(service);
        let names: Vec<&str> = value["operations"]
            .as_array()
            .map(|a| a.iter().filter_map(|o| o["name"].as_str()).collect())
            .unwrap_or_default();
        success(
            format!("{} operation(s): {}", names.len(), names.join(", ")),
            value,
        )
    }

    /// The operation a request asks for, or why there is none.
    fn operation(request: &PlanRequest) -> Result<Operation, ToolError> {
        match request {
            PlanRequest::Text(text) => match apiops_ops::intent::parse(text) {
                Intent::Run { operation } => Ok(operation),
                Intent::Ask {
                    kind,
                    question,
                    candidates,
                } => Err(ToolError::new(
                    Kind::NeedsClarification,
                    Some(Category::BadParams),
                    question,
                )
                .with_details(json!({
                    "operation": kind.map(|k| k.name()),
                    "candidates": candidates,
                }))),
                Intent::Unknown { reason, examples } => Err(ToolError::new(
                    Kind::NotUnderstood,
                    Some(Category::BadParams),
                    format!("not understood: {reason} (list_operations shows what apiops can do)"),
                )
                .with_details(json!({"examples": examples}))),
            },
            PlanRequest::Structured { kind, params } => {
                apiops_ops::params::build(*kind, params).map_err(ops_error)
            }
        }
    }

    /// A read asked through `plan_operation`: answered at once.
    async fn read(&self, op: Operation) -> Result<CallToolResult, ToolError> {
        match op {
            Operation::AuditErrors {
                services,
                since,
                resource,
            } => {
                self.error_audit(&services, since, resource.as_deref())
                    .await
            }
            Operation::TwilioListFailedMessages { since } => {
                self.error_audit(&[Service::Twilio], since, Some("message"))
                    .await
            }
            Operation::HealthCheck { services } => self.health_check(&services).await,
            Operation::AuditConfig {
                services,
                webhooks_only,
            } => self.config_audit(&services, webhooks_only).await,
            Operation::AuditWebhooks { services, since } => {
                self.webhook_issues(&services, since).await
            }
            Operation::UsageReport {
                services,
                period,
                by,
            } => self.usage_report(&services, period, by).await,
            other => {
                let name = other.kind().name();
                let answer = apiops_ops::read::read(&self.services, &other)
                    .await
                    .map_err(read_error)?;
                let view = self.views.read_table(&other, answer);
                let value = json!({"operation": name, "read": true, "result": view});
                let rows = value["result"]["rows"].as_array().map_or(0, Vec::len);
                Ok(success(
                    format!("{name}: a read, answered at once ({rows} row(s)); no plan needed"),
                    value,
                ))
            }
        }
    }
}

/// Scans the selected services for errors in `window`, recording every event in the event log
/// when there is one; nothing kept, no progress shown.
async fn scan_errors(
    selected: &Selected,
    window: TimeWindow,
    store: Option<&dyn Store>,
    resource: Option<&str>,
) -> ErrorsOutcome {
    let sink = store.map(apiops_ops::sink::StoreSink);
    let options = ScanOptions {
        sink: sink.as_ref().map(|s| s as &dyn scan::EventSink),
        keep: 0,
        resource,
        progress: Default::default(),
    };
    scan::errors(&selected.providers, window, options).await
}
