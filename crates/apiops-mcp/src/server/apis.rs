//! The configured APIs over MCP (`[apis.NAME]`): `list_apis`, `api_operations` and
//! `call_api` (`graphql_query` is in `graphql.rs`, its mutations kept here like writes). Reads are answered at once, through the same `apiops_openapi::Api` the CLI
//! calls, and a failure after sending is appended to the event log (as `apiops call` does). A
//! write is not sent at once: its plan (idempotency key included) is kept in the registry for
//! `execute_plan`, which runs it through the journal `apiops call` uses
//! (`apiops_ops::apis::execute`) once a person said yes: every API write needs a person
//! (`apiops_ops::apis::trust_of_write`), so over stdio the person is asked through elicitation
//! and over HTTP an agent's yes never counts: `execute_plan` records the write as a pending
//! confirmation in the store, the way the catalog's plans are (`State::person_of`, the record
//! an `apiops_ops::pending::ApiWrite`: the body shown masked, the session that asked), and a
//! person confirms or refuses it with `apiops confirm` or on the dashboard; the agent's next
//! `execute_plan` then sends it, once.

use apiops_config::apis::{ApiSettings, OpenError};
use apiops_config::spec_fetch::{SpecOptions, load_spec};
use apiops_openapi::{Api, CallError as ApiCallError, OpClass, Spec};
use apiops_ops::apis::{Journaled, WriteError, gate_of_write};
use apiops_ops::pending::{ApiWrite, Pending};
use apiops_ops::registry::ApiPlanEntry;

use super::plans::{Asked, Asking, Subject};
use super::*;

/// What `execute_plan` does with an API write once the rules are applied.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ApiNext {
    /// Run it: a person confirmed it out of band (`apiops confirm`, the dashboard).
    Run(Via),
    /// Ask the person through elicitation.
    Ask { reason: String, always: bool },
}

impl State {
    pub(super) fn api_settings(&self, name: &str) -> Result<&ApiSettings, ToolError> {
        self.loaded.settings.apis.get(name).ok_or_else(|| {
            let names: Vec<&str> = self
                .loaded
                .settings
                .apis
                .keys()
                .map(String::as_str)
                .collect();
            ToolError::new(
                Kind::InvalidArguments,
                Some(Category::BadParams),
                if names.is_empty() {
                    format!("no API {name:?} is configured (none is: add an [apis.NAME] table)")
                } else {
                    format!(
                        "no API {name:?} is configured; configured: {}",
                        names.join(", ")
                    )
                },
            )
        })
    }

    async fn spec_of(&self, name: &str, api: &ApiSettings) -> Result<Option<Spec>, ToolError> {
        let options = SpecOptions {
            cache_dir: apiops_config::Locations::discover().cache_dir,
            ..SpecOptions::default()
        };
        load_spec(name, api, &options).await.map_err(|e| {
            ToolError::new(
                Kind::Internal,
                Some(Category::Config),
                format!("apis.{name}.spec: {e}"),
            )
        })
    }

    async fn document(&self, name: &str) -> Result<(&ApiSettings, Spec), ToolError> {
        let api = self.api_settings(name)?;
        let spec = self.spec_of(name, api).await?.ok_or_else(|| {
            ToolError::new(
                Kind::InvalidArguments,
                Some(Category::BadParams),
                format!(
                    "{name} is a GraphQL endpoint: it has no OpenAPI operations; query it with graphql_query"
                ),
            )
        })?;
        Ok((api, spec))
    }

    pub(super) async fn list_apis(&self) -> Result<CallToolResult, ToolError> {
        let mut rows = Vec::new();
        for (name, api) in &self.loaded.settings.apis {
            let mut row = json!({
                "name": name,
                "kind": if api.graphql.is_some() { "graphql" } else { "openapi" },
                "auth": api.scheme(),
                "credentials_set": api.ready(),
                "missing_variables": api.credentials.missing,
                "base_url": api.base_url.as_ref().map(|u| u.to_string()),
            });
            match self.spec_of(name, api).await {
                Ok(Some(spec)) => {
                    row["title"] = json!(spec.title());
                    row["api_version"] = json!(spec.api_version());
                    row["openapi"] = json!(spec.openapi_version());
                    match Api::index_of(&spec, api.idempotency_header.as_deref()) {
                        Ok(index) => row["operations"] = json!(index.operations().len()),
                        Err(e) => row["error"] = json!(e.to_string()),
                    }
                }
                Ok(None) => {}
                Err(e) => row["error"] = json!(e.message),
            }
            rows.push(row);
        }
        let summary = if rows.is_empty() {
            "No API is configured ([apis.NAME] in the config file).".to_owned()
        } else {
            let names: Vec<String> = rows
                .iter()
                .map(|r| {
                    let what = match r["operations"].as_u64() {
                        Some(n) => format!("{n} operations"),
                        None if r["kind"] == "graphql" => "GraphQL: graphql_query".to_owned(),
                        None => "operations unknown".to_owned(),
                    };
                    format!(
                        "{} ({what}, auth {})",
                        r["name"].as_str().unwrap_or(""),
                        r["auth"].as_str().unwrap_or("")
                    )
                })
                .collect();
            format!("{} configured API(s): {}", rows.len(), names.join("; "))
        };
        Ok(success(summary, json!({"apis": rows})))
    }

    pub(super) async fn api_operations(
        &self,
        name: &str,
        words: &[String],
    ) -> Result<CallToolResult, ToolError> {
        let (api, spec) = self.document(name).await?;
        let index = Api::index_of(&spec, api.idempotency_header.as_deref())
            .map_err(|e| ToolError::new(Kind::Internal, Some(Category::Config), e.to_string()))?;
        let ops: Vec<Value> = index
            .search(words)
            .map(|o| {
                json!({
                    "operation_id": o.id,
                    "method": o.method,
                    "path": o.path,
                    "summary": o.summary,
                    "class": o.class.as_str(),
                    "paginated": o.paginated(),
                    "deprecated": o.deprecated,
                    "parameters": o.parameters,
                })
            })
            .collect();
        let summary = format!(
            "{name}: {} operation(s){}",
            ops.len(),
            if words.is_empty() {
                String::new()
            } else {
                format!(" matching {}", words.join(" "))
            }
        );
        Ok(success(summary, json!({"api": name, "operations": ops})))
    }

    /// The configured API `name`, its client built: a GraphQL endpoint (`graphql = URL`), or
    /// an API with its document loaded.
    pub(super) async fn open_api(&self, name: &str) -> Result<Api, ToolError> {
        let settings = self.api_settings(name)?;
        let spec = match settings.graphql_endpoint() {
            Some(_) => None,
            None => Some(self.document(name).await?.1),
        };
        let tuning = apiops_config::providers::tuning(&self.loaded.settings);
        settings
            .open(name, spec, &tuning, None)
            .map_err(|e| match e {
                OpenError::MissingCredentials { .. } => ToolError::new(
                    Kind::MissingCredentials,
                    Some(Category::Auth),
                    e.to_string(),
                ),
                OpenError::Call(e) => api_error(e),
            })
    }

    /// Appends the failure of `operation` (seen after sending) to the event log, as the CLI
    /// does: `apiops errors NAME` and the `list_events` tool show it.
    pub(super) async fn keep_failure(&self, api: &Api, operation: &str, e: &ApiCallError) {
        if let Some(event) = api.failure_event(operation, e, jiff::Timestamp::now())
            && let Ok(store) = self.store()
            && let Err(err) = store.append_events(&[event]).await
        {
            tracing::warn!("{}: the failure was not recorded: {err}", api.name());
        }
    }

    pub(super) async fn call_api(
        &self,
        name: &str,
        operation: &str,
        params: &[(String, String)],
        body: Option<Value>,
        session: &str,
    ) -> Result<CallToolResult, ToolError> {
        // A GraphQL endpoint has no operations to call: the document says so, naming the tool.
        if self.api_settings(name)?.graphql.is_some() {
            self.document(name).await?;
        }
        let api = self.open_api(name).await?;
        let (op, req) = api.prepare(operation, params, body).map_err(api_error)?;
        if op.class != OpClass::Read {
            let plan = api.plan(op, req, None);
            let mut command = format!("apiops call {name} {}", shell_word(&plan.operation));
            for (k, v) in params {
                command.push_str(&format!(" -p {}", shell_word(&format!("{k}={v}"))));
            }
            if plan.request.body.is_some() {
                command.push_str(" --body @body.json");
            }
            command.push_str(" --dry-run   # then --yes to send it");
            return Ok(self.api_plan(plan, command, session));
        }
        match api.send(&req).await {
            Ok(answer) => {
                let summary = format!("{name} {}: HTTP {}", op.id, answer.status);
                Ok(success(summary, answer))
            }
            Err(e) => {
                self.keep_failure(&api, &op.id, &e).await;
                Err(api_error(e))
            }
        }
    }

    /// Keeps a write (or a GraphQL mutation) for `execute_plan` and answers its plan: nothing
    /// is sent.
    pub(super) fn api_plan(
        &self,
        plan: apiops_openapi::WritePlan,
        command: String,
        session: &str,
    ) -> CallToolResult {
        let o = self.options;
        let gate = gate_of_write(&plan);
        let plan_id = self
            .plans
            .remember_api(plan.clone(), command.clone(), session);
        let trust = apiops_ops::apis::trust_of_write(&plan);
        let how = if o.read_only {
            "this server is read-only: execute_plan is not offered; a person sends it from a terminal"
        } else if o.transport == Transport::Http {
            "only a person can say yes, outside this agent's channel: execute_plan records it as a pending confirmation, a person confirms it with `apiops confirm PLAN_ID` in a terminal or on the dashboard's Pending confirmations page, and execute_plan then sends it, once"
        } else {
            "execute_plan asks the person through MCP elicitation; an agent's yes does not count"
        };
        let summary = format!(
            "Plan {plan_id}: {} {} on {} ({}) — nothing was sent. Needs a person: {}. {how}.",
            plan.request.method, plan.request.path, plan.api, plan.operation, trust.why
        );
        let value = json!({
            "plan_id": plan_id,
            "plan": plan,
            "gate": gate,
            "trust": trust,
            "execution": {"confirmation": "person", "note": how},
            "command": command,
            "expires_in_seconds": apiops_ops::registry::PLAN_TTL.as_secs(),
        });
        success(summary, value)
    }

    /// The rules applied to the API write `plan_id` of `session`: run it (a person confirmed
    /// it out of band), ask the person, or a refusal: over HTTP the write waits as a pending
    /// confirmation until a person decides it outside the agent's channel.
    pub(super) async fn api_next(
        &self,
        plan_id: &str,
        session: &str,
    ) -> Result<(ApiPlanEntry, ApiNext), ToolError> {
        let entry = self.plans.get_api(plan_id, session).map_err(|missing| {
            let why = match missing {
                apiops_ops::registry::Missing::Expired => "expired (plans are kept for an hour)",
                apiops_ops::registry::Missing::Unknown => "is not a plan of this server session",
            };
            ToolError::new(
                Kind::UnknownPlan,
                Some(Category::BadParams),
                format!("{plan_id} {why}: call call_api again"),
            )
        })?;
        if self.options.read_only {
            return Err(ToolError::new(
                Kind::ConfirmationRequired,
                None,
                format!(
                    "this server is read-only: nothing was sent. A person sends it from a terminal: {}",
                    entry.terminal
                ),
            ));
        }
        let gate = gate_of_write(&entry.plan);
        let o = self.options;
        match confirm::decide(&gate, &entry.trust, false, o.allow_execute, o.transport) {
            Decision::Run { via } => Ok((entry, ApiNext::Run(via))),
            Decision::Ask { reason, always } => Ok((entry, ApiNext::Ask { reason, always })),
            Decision::Person { reason } => {
                let api = self.open_api(&entry.plan.api).await?;
                let record = ApiWrite::new(entry.plan.clone(), api.client().redactor(), session);
                let p = &entry.plan;
                let asked = Asking {
                    plan_json: record.to_json(),
                    summary: record.summary(),
                    details: json!({
                        "plan_id": plan_id,
                        "api": p.api,
                        "operation": p.operation,
                        "method": p.request.method,
                        "path": p.request.path,
                        "deletion": p.needs_person,
                        "purchase": entry.trust.rule == Some(apiops_ops::PersonRule::Purchase),
                        "command": entry.terminal,
                    }),
                    unknown: "call call_api again",
                    confirmed_runs: "then call execute_plan again: it sends the write, once",
                    expires_in: apiops_ops::registry::PLAN_TTL.saturating_sub(entry.made.elapsed()),
                };
                // The confirmation found must hold this very write: a person's yes to another
                // request never sends this one.
                let same = |json: &str| matches!(Pending::parse(json), Ok(Pending::ApiWrite(w)) if w.api_write == *p);
                self.person_of(plan_id, session, asked, &reason, same)
                    .await?;
                Ok((entry, ApiNext::Run(Via::Person)))
            }
        }
    }

    /// `execute_plan` of an API write.
    pub(super) async fn execute_api_plan(
        &self,
        plan_id: &str,
        session: &str,
        input_responses: Option<&rmcp::model::InputResponses>,
        request_state: Option<&str>,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let (entry, next) = match self.api_next(plan_id, session).await {
            Ok(n) => n,
            Err(e) => return Ok(e.into_result().into()),
        };
        let via = match next {
            ApiNext::Run(via) => via,
            ApiNext::Ask { reason, always } => {
                let subject = Subject {
                    operation: entry.plan.operation.clone(),
                    question: format!(
                        "Send {} {} to {} ({})? {} Tick the box and accept only if you want this done.",
                        entry.plan.request.method,
                        entry.plan.request.path,
                        entry.plan.api,
                        entry.plan.operation,
                        entry.trust.why
                    ),
                    terminal: Some(entry.terminal.clone()),
                    purchase: entry.trust.rule == Some(apiops_ops::PersonRule::Purchase),
                    deletion: entry.plan.needs_person,
                };
                let asked = self
                    .ask(
                        plan_id,
                        session,
                        &subject,
                        &reason,
                        always,
                        input_responses,
                        request_state,
                        context,
                    )
                    .await;
                match asked {
                    Asked::Yes => Via::Elicitation,
                    Asked::InputRequired(r) => return Ok(r.into()),
                    Asked::Refused(e) => return Ok(e.into_result().into()),
                }
            }
        };
        Ok(self
            .run_api_plan(plan_id, &entry, via)
            .await
            .unwrap_or_else(ToolError::into_result)
            .into())
    }

    /// Sends an API write under the journal: the same plan, the same idempotency key, however
    /// often `execute_plan` is called; a write the journal shows done is not sent again.
    pub(super) async fn run_api_plan(
        &self,
        plan_id: &str,
        entry: &ApiPlanEntry,
        via: Via,
    ) -> Result<CallToolResult, ToolError> {
        let plan = &entry.plan;
        let api = self.open_api(&plan.api).await?;
        let store = self.store()?;
        tracing::info!(
            plan = plan_id,
            operation = plan.operation,
            ?via,
            "executing an API write over MCP"
        );
        let journaled = apiops_ops::apis::execute(&api, plan, store).await;
        let now = jiff::Timestamp::now();
        apiops_ops::apis::keep(store, api.name(), None, api.notices(now), now).await;
        match journaled {
            Ok(Journaled::Sent(answer)) => {
                let summary = format!("{} {}: HTTP {} (sent)", plan.api, plan.operation, answer.status);
                Ok(success(summary, json!({"plan_id": plan_id, "confirmed_via": via, "status": "sent", "answer": answer})))
            }
            Ok(Journaled::AlreadyDone { at, detail }) => {
                let summary = format!("{} {}: done already at {at} ({detail}); not sent again", plan.api, plan.operation);
                Ok(success(summary, json!({"plan_id": plan_id, "confirmed_via": via, "status": "already_done", "done_at": at})))
            }
            Err(WriteError::Call(e)) => Err(api_error(e).with_details(json!({
                "plan_id": plan_id,
                "retry": "execute_plan with the same plan_id sends it again with the same idempotency key",
            }))),
            Err(e) => Err(ToolError::new(Kind::ExecutionFailed, None, e.to_string())),
        }
    }
}

/// A word as a shell reads it: quoted when it holds anything but plain characters.
pub(super) fn shell_word(w: &str) -> String {
    if w.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=:,".contains(c))
    {
        w.to_owned()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

/// The engine's error as a tool error with its category.
pub(super) fn api_error(e: ApiCallError) -> ToolError {
    let kind = match &e {
        e if e.is_usage() => Kind::InvalidArguments,
        ApiCallError::MissingCredential { .. } => Kind::MissingCredentials,
        ApiCallError::Config(_) => Kind::Internal,
        _ => Kind::ProviderError,
    };
    ToolError::new(kind, Some(e.category()), e.to_string())
}
