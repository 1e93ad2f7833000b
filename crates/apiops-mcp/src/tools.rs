//! The tools `apiops mcp` offers: their names, descriptions, JSON schemas and annotations, and
//! the parsing of a call's arguments into a typed [`ToolCall`]. Pure (no I/O), so every rule an
//! agent relies on is unit-tested here: what each tool accepts, what it refuses and why.
//!
//! Arguments are checked as strictly as the schemas say: unknown keys are refused (a typo must
//! not be silently ignored), durations are humantime spans above zero, services are the three
//! names, and a structured operation goes through the same [`apiops_ops::params::build`] checks
//! as every other path (done when planning, so its questions reach the agent the same way).

use std::time::Duration;

use apiops_core::Service;
use apiops_ops::{CATALOG, OpKind};
use serde_json::{Map, Value, json};

/// Tool names.
pub const CREDENTIALS_STATUS: &str = "credentials_status";
pub const HEALTH_CHECK: &str = "health_check";
pub const ERROR_AUDIT: &str = "error_audit";
pub const CONFIG_AUDIT: &str = "config_audit";
pub const USAGE_REPORT: &str = "usage_report";
pub const LIST_EVENTS: &str = "list_events";
pub const LIST_OPERATIONS: &str = "list_operations";
pub const PLAN_OPERATION: &str = "plan_operation";
pub const EXECUTE_PLAN: &str = "execute_plan";
/// The configured APIs (`[apis.NAME]`).
pub const LIST_APIS: &str = "list_apis";
/// One configured API's operations, filtered by words.
pub const API_OPERATIONS: &str = "api_operations";
/// Calls one operation of a configured API (reads only; a write is answered with its plan).
pub const CALL_API: &str = "call_api";
/// A query (or a planned mutation) to a configured GraphQL endpoint.
pub const GRAPHQL_QUERY: &str = "graphql_query";

/// The longest look-back a tool accepts.
pub const MAX_SINCE: Duration = Duration::from_secs(90 * 24 * 3600);
/// The default look-back of `error_audit` and `list_events`.
pub const DEFAULT_SINCE: Duration = Duration::from_secs(24 * 3600);
/// The default and largest `limit` of `list_events`.
pub const DEFAULT_EVENT_LIMIT: u32 = 100;
pub const MAX_EVENT_LIMIT: u32 = 1000;
/// The longest GraphQL document `graphql_query` takes.
pub const MAX_GRAPHQL_CHARS: usize = 100_000;
/// The most nodes `graphql_query` with `all` hands back in one result.
pub const MAX_GRAPHQL_NODES: usize = 1000;

/// The longest plain-words request (the intent parser's own limit is larger).
pub const MAX_REQUEST_CHARS: usize = 1000;

/// The MCP tool annotations (hints), as the spec names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hints {
    /// It does not modify its environment.
    pub read_only: bool,
    /// It may destroy or irreversibly change something (meaningful when not read-only).
    pub destructive: bool,
    /// Calling it again with the same arguments has no additional effect.
    pub idempotent: bool,
    /// It talks to entities outside apiops (the providers' APIs).
    pub open_world: bool,
}

/// One tool as `tools/list` shows it.
#[derive(Debug, Clone)]
pub struct ToolDef {
    pub name: &'static str,
    pub title: &'static str,
    pub description: String,
    pub input_schema: Value,
    pub hints: Hints,
}

const READ_LOCAL: Hints = Hints {
    read_only: true,
    destructive: false,
    idempotent: true,
    open_world: false,
};
const READ_PROVIDERS: Hints = Hints {
    read_only: true,
    destructive: false,
    idempotent: true,
    open_world: true,
};

fn services_schema(what: &str) -> Value {
    json!({
        "type": "array",
        "items": {"type": "string", "enum": ["twilio", "openai", "stripe"]},
        "uniqueItems": true,
        "description": format!("Services to {what}: any of twilio, openai, stripe. Omitted or empty: every service that has credentials configured (named services without credentials are an error)."),
    })
}

fn since_schema(what: &str) -> Value {
    json!({
        "type": "string",
        "pattern": "^\\s*[0-9]+\\s*[a-zA-Z]+(\\s*[0-9]+\\s*[a-zA-Z]+)*\\s*$",
        "default": "24h",
        "description": format!("How far back {what}: a duration such as 30m, 6h, 24h, 7d or 1h30m (above zero, at most 90d). Default 24h."),
    })
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// The `request` argument of `plan_operation`: plain words, or one of the catalog's operations
/// with its own parameter schema (so a client can validate a structured request precisely).
fn request_schema() -> Value {
    let mut alternatives = vec![json!({
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_REQUEST_CHARS,
        "description": "The request in plain words, e.g. \"buy a phone number in 415\", \"disable the stripe endpoint that keeps failing\", \"send a test message to +14155550100\", \"why are calls failing\".",
    })];
    for spec in CATALOG {
        alternatives.push(json!({
            "type": "object",
            "title": spec.name,
            "description": spec.summary,
            "properties": {
                "operation": {"const": spec.name},
                "params": apiops_ops::params::schema(spec.kind),
            },
            "required": ["operation"],
            "additionalProperties": false,
        }));
    }
    json!({
        "description": "What to do: plain words, or a structured operation {\"operation\": \"<catalog name from list_operations>\", \"params\": {...}}.",
        "oneOf": alternatives,
    })
}

/// Every tool, in the order `tools/list` gives them; `read_only` leaves out those that change
/// anything (`execute_plan`).
pub fn definitions(read_only: bool, allow_execute: bool) -> Vec<ToolDef> {
    let execution = if allow_execute {
        "This server was started with --allow-execute: plans that need confirmation run without asking, EXCEPT purchases, deletions and credential changes, which run only after the person confirms through MCP elicitation."
    } else {
        "A plan that needs a person's confirmation runs only after the person confirms through MCP elicitation (the server asks \"Proceed with ...?\" and accepts only an explicit yes); a client without elicitation gets a refusal (isError) and nothing is done."
    };
    let mut tools = vec![
        ToolDef {
            name: CREDENTIALS_STATUS,
            title: "Credentials status",
            description: "Which credentials are configured for Twilio, OpenAI and Stripe (values masked: first 4 and last 4 characters), where each came from, which are missing (naming the environment variable to set) and the kind of key. Reads the configuration only: no provider is called, so validity is not checked (health_check does that).".into(),
            input_schema: object(json!({}), &[]),
            hints: READ_LOCAL,
        },
        ToolDef {
            name: HEALTH_CHECK,
            title: "Health check",
            description: "Checks each service with one lightweight authenticated call: status (operational, degraded, down), latency, quota or balance, rate-limit headroom, circuit-breaker state and configuration warnings. A rejected credential shows as the service down with the reason and category auth.".into(),
            input_schema: object(json!({"services": services_schema("check")}), &[]),
            hints: READ_PROVIDERS,
        },
        ToolDef {
            name: ERROR_AUDIT,
            title: "Error audit",
            description: "Fetches recent failures from every source each provider offers (Twilio messages, calls and Monitor alerts; Stripe events and webhook deliveries; OpenAI batches and usage), normalizes them (category, severity), groups and ranks them by frequency x severity and attaches the fix for each. Reads only from the providers; the normalized events are recorded, deduplicated, in apiops' own event log (see list_events).".into(),
            input_schema: object(
                json!({
                    "services": services_schema("audit"),
                    "since": since_schema("to look for errors"),
                    "resource": {"type": "string", "minLength": 1, "maxLength": 64, "description": "Only failures of this resource type: message, call, alert, event, batch, ..."},
                }),
                &[],
            ),
            hints: READ_PROVIDERS,
        },
        ToolDef {
            name: CONFIG_AUDIT,
            title: "Configuration audit",
            description: "Enumerates each provider's resources (phone numbers, messaging services, webhook endpoints, models, projects) and flags missing, insecure, deprecated or orphaned settings, each with its severity, category and fix. URLs are checked statically: nothing is fetched from them.".into(),
            input_schema: object(json!({"services": services_schema("audit")}), &[]),
            hints: READ_PROVIDERS,
        },
        ToolDef {
            name: USAGE_REPORT,
            title: "Usage and spend",
            description: "Usage and spend per service in each provider's own units, with totals per currency and the period stated: Twilio spend and volume by category (Usage Records), OpenAI tokens and requests by model or project and costs by line item (needs the admin key; without it the answer says what to set), Stripe volume and fees by transaction type (balance transactions). Reads only.".into(),
            input_schema: object(
                json!({
                    "services": services_schema("report"),
                    "since": {"type": "string", "minLength": 2, "maxLength": 16, "description": "How far back, up to now (e.g. 7d; default 30d). Not with period."},
                    "period": {"type": "string", "enum": ["today", "this-month", "last-month"], "description": "A calendar period in UTC instead of since."},
                    "by": {"type": "string", "enum": ["day", "category", "model", "project"], "description": "How rows are grouped (default: Twilio and Stripe by category, OpenAI by model)."},
                }),
                &[],
            ),
            hints: READ_PROVIDERS,
        },
        ToolDef {
            name: LIST_EVENTS,
            title: "Event log",
            description: "The event log: normalized failures seen by error audits, webhooks and polls, and the actions apiops took (operations executed), newest first. Each event: timestamp, service, error_code, category, severity, resource_type, resource_id, context, action_taken, result.".into(),
            input_schema: object(
                json!({
                    "since": since_schema("to list events"),
                    "service": {"type": "string", "enum": ["twilio", "openai", "stripe"], "description": "Only this service's events (default: all)."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_EVENT_LIMIT, "default": DEFAULT_EVENT_LIMIT, "description": "At most this many events, the newest (default 100, at most 1000)."},
                }),
                &[],
            ),
            hints: READ_LOCAL,
        },
        ToolDef {
            name: LIST_OPERATIONS,
            title: "Operations catalog",
            description: "Every operation apiops can plan and execute, with its parameters (JSON schema), side effects, risk, reversibility, whether it is a purchase, a deletion or touches credentials, and how execute_plan would confirm it on this server. Use a name from here in plan_operation's structured form.".into(),
            input_schema: object(
                json!({"service": {"type": "string", "enum": ["twilio", "openai", "stripe"], "description": "Only this service's operations (default: all)."}}),
                &[],
            ),
            hints: READ_LOCAL,
        },
        ToolDef {
            name: LIST_APIS,
            title: "Configured APIs",
            description: "The APIs configured under [apis.NAME] (any API with an OpenAPI document, or a GraphQL endpoint): name, kind, auth scheme and whether its credential variables are set, base URL, spec version and operation count (or why the document does not load). Reads the configuration and the documents only.".into(),
            input_schema: object(json!({}), &[]),
            // A remote document may be fetched (once, then cached).
            hints: READ_PROVIDERS,
        },
        ToolDef {
            name: API_OPERATIONS,
            title: "Operations of a configured API",
            description: "The operations of one configured API from its OpenAPI document: operationId, method, path, summary, read or write, paginated or not, deprecated, parameters. words filters them (each word must appear in the id, path, summary or tags). Needs no credentials.".into(),
            input_schema: object(
                json!({
                    "api": {"type": "string", "minLength": 1, "maxLength": 32, "description": "The API's name (see list_apis)."},
                    "words": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 64}, "maxItems": 10, "description": "Words every listed operation contains."},
                }),
                &["api"],
            ),
            hints: READ_PROVIDERS,
        },
        ToolDef {
            name: CALL_API,
            title: "Call a configured API",
            description: "Calls one operation of a configured API by operationId or \"METHOD /path\", its parameters and body checked against the document before anything is sent. A read (GET, HEAD, OPTIONS) is answered at once: status, body, rate-limit headroom; a failure is recorded in the event log. A write (POST, PUT, PATCH) or a deletion is not sent: the answer is its plan (plan_id, the request, the idempotency key, the trust class) and the terminal command a person can run instead. execute_plan with that plan_id sends it through the journal (the same idempotency key on every retry) once a person said yes: every API write waits for a person (MCP elicitation on stdio; over HTTP an agent's yes never counts: execute_plan records it as a pending confirmation that a person confirms with `apiops confirm PLAN_ID` or on the dashboard, then execute_plan sends it).".into(),
            input_schema: object(
                json!({
                    "api": {"type": "string", "minLength": 1, "maxLength": 32, "description": "The API's name (see list_apis)."},
                    "operation": {"type": "string", "minLength": 1, "maxLength": 256, "description": "operationId (e.g. repos/list-for-org) or \"METHOD /path\"."},
                    "params": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}, "description": "Path, query and header parameters by name."},
                    "body": {"description": "The JSON request body of a write."},
                }),
                &["api", "operation"],
            ),
            hints: READ_PROVIDERS,
        },
        ToolDef {
            name: GRAPHQL_QUERY,
            title: "Query a configured GraphQL API",
            description: format!("Sends one GraphQL query to a configured GraphQL endpoint ([apis.NAME] graphql = URL, see list_apis), its variables checked against the declarations in the query text before anything is sent (Int a 32-bit integer, Float a number, Boolean, String, ID a string or an integer, lists as arrays, non-null types not null). A query is answered at once: data and errors side by side (partial data is data beside errors[]; errors without data are a tool error), the errors recorded in the event log. With all: true it follows pageInfo {{ hasNextPage endCursor }} through every page, feeding endCursor into cursor_var (default $after, $cursor, or the one variable ending in cursor), and returns the nodes of the connection (the one under the field connection, else the first object with a pageInfo), at most {MAX_GRAPHQL_NODES}. A mutation is not sent: the answer is its plan (plan_id, the request, the idempotency key, the trust class) and the terminal command a person can run instead; execute_plan sends it once a person said yes, exactly as call_api writes (MCP elicitation on stdio; over HTTP an agent's yes never counts). A subscription, or a document with more than one operation, is refused."),
            input_schema: object(
                json!({
                    "api": {"type": "string", "minLength": 1, "maxLength": 32, "description": "The API's name (a GraphQL endpoint in list_apis)."},
                    "query": {"type": "string", "minLength": 1, "maxLength": MAX_GRAPHQL_CHARS, "description": "The GraphQL document: one query or mutation (fragments allowed)."},
                    "variables": {"type": "object", "description": "The variables the query declares, as JSON values of their declared types."},
                    "all": {"type": "boolean", "default": false, "description": "Follow pageInfo through every page and return the connection's nodes (queries only)."},
                    "cursor_var": {"type": "string", "minLength": 1, "maxLength": 64, "description": "With all: the variable that takes endCursor."},
                    "connection": {"type": "string", "minLength": 1, "maxLength": 64, "description": "With all: the field of the connection to page."},
                }),
                &["api", "query"],
            ),
            // A mutation is only planned here: nothing changes until execute_plan.
            hints: READ_PROVIDERS,
        },
        ToolDef {
            name: PLAN_OPERATION,
            title: "Plan an operation",
            description: format!(
                "Turns a request into a plan without changing anything: the operation, its concrete steps (resolved against the account: which number is available, which endpoint is failing; steps already in place are marked done), side effects, risks, the cost where known (a number's monthly price from Twilio's Pricing API) and the policy gate's verdict. Returns plan_id, to pass to execute_plan. A request that only reads (\"why are calls failing\", \"list stripe endpoints\") is answered at once, with no plan. An ambiguous request is answered with a question (isError, category bad_params) instead of a guess. {execution}"
            ),
            input_schema: object(
                json!({
                    "request": request_schema(),
                    "fresh": {"type": "boolean", "default": false, "description": "Plan anew even if the same request ran in the last 24 h (a deliberate second run). By default the journaled run is resumed and finished steps are not repeated."},
                }),
                &["request"],
            ),
            hints: READ_PROVIDERS,
        },
    ];
    if !read_only {
        tools.push(ToolDef {
            name: EXECUTE_PLAN,
            title: "Execute a plan",
            description: format!(
                "Executes a plan made by plan_operation in this server session, through the same policy gate and journal as the CLI: state is checked before each step, every step is journaled (re-executing a plan never repeats a finished step, and retries only the failures), and each action is recorded in the event log. Returns the outcome per step (resource ids, or the provider's error). {execution} Purchases, deletions and credential changes always need the person's confirmation."
            ),
            input_schema: object(
                json!({"plan_id": {"type": "string", "pattern": "^plan_[0-9a-f]{16}$", "description": "The plan_id plan_operation returned."}}),
                &["plan_id"],
            ),
            hints: Hints {
                read_only: false,
                // It can buy, release and reconfigure: destructive and irreversible at worst.
                destructive: true,
                // Journaled: the same plan_id again does not repeat finished steps.
                idempotent: true,
                open_world: true,
            },
        });
    }
    tools
}

/// A plan request: plain words or a catalog operation with parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanRequest {
    Text(String),
    Structured {
        kind: OpKind,
        params: Map<String, Value>,
    },
}

impl PlanRequest {
    /// The request as the journal and messages show it.
    pub fn display(&self) -> String {
        match self {
            PlanRequest::Text(t) => t.clone(),
            PlanRequest::Structured { kind, params } => {
                format!("{} {}", kind.name(), Value::Object(params.clone()))
            }
        }
    }
}

/// A tool call with its arguments checked.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolCall {
    CredentialsStatus,
    HealthCheck {
        services: Vec<Service>,
    },
    ErrorAudit {
        services: Vec<Service>,
        since: Duration,
        resource: Option<String>,
    },
    ConfigAudit {
        services: Vec<Service>,
    },
    UsageReport {
        services: Vec<Service>,
        period: apiops_providers::usage::UsagePeriod,
        by: Option<apiops_providers::usage::UsageBy>,
    },
    ListEvents {
        since: Duration,
        service: Option<Service>,
        limit: u32,
    },
    ListOperations {
        service: Option<Service>,
    },
    PlanOperation {
        request: PlanRequest,
        fresh: bool,
    },
    ExecutePlan {
        plan_id: String,
    },
    ListApis,
    ApiOperations {
        api: String,
        words: Vec<String>,
    },
    CallApi {
        api: String,
        operation: String,
        params: Vec<(String, String)>,
        body: Option<Value>,
    },
    GraphQlQuery {
        api: String,
        query: String,
        variables: Map<String, Value>,
        all: bool,
        cursor_var: Option<String>,
        connection: Option<String>,
    },
}

/// Why a call's arguments were refused (a tool error with category `bad_params`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError(pub String);

/// What is wrong with a call before its arguments are even looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// No such tool (on this server: `execute_plan` does not exist under `--read-only`).
    UnknownTool(String),
    /// The arguments do not fit the tool.
    Args(ArgError),
}

fn err<T>(message: impl Into<String>) -> Result<T, ArgError> {
    Err(ArgError(message.into()))
}

struct Args<'a> {
    tool: &'static str,
    map: &'a Map<String, Value>,
}

impl<'a> Args<'a> {
    fn new(
        tool: &'static str,
        map: &'a Map<String, Value>,
        allowed: &[&str],
    ) -> Result<Self, ArgError> {
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            let takes = if allowed.is_empty() {
                "no arguments".to_owned()
            } else {
                allowed.join(", ")
            };
            return err(format!(
                "{tool} has no argument {unknown:?} (it takes: {takes})"
            ));
        }
        Ok(Args { tool, map })
    }

    /// The value of `key`, treating an explicit `null` as absent.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn services(&self, key: &str) -> Result<Vec<Service>, ArgError> {
        let Some(v) = self.get(key) else {
            return Ok(Vec::new());
        };
        let Some(items) = v.as_array() else {
            return err(format!(
                "{}: {key} must be an array of service names (twilio, openai, stripe)",
                self.tool
            ));
        };
        let mut out = Vec::new();
        for item in items {
            let service = self.service_value(key, item)?;
            if out.contains(&service) {
                return err(format!("{}: {key} names {service} twice", self.tool));
            }
            out.push(service);
        }
        out.sort();
        Ok(out)
    }

    fn service_value(&self, key: &str, v: &Value) -> Result<Service, ArgError> {
        match v.as_str().map(str::parse::<Service>) {
            Some(Ok(s)) => Ok(s),
            _ => err(format!(
                "{}: {key}: {v} is not a service (twilio, openai, stripe)",
                self.tool
            )),
        }
    }

    fn service(&self, key: &str) -> Result<Option<Service>, ArgError> {
        self.get(key)
            .map(|v| self.service_value(key, v))
            .transpose()
    }

    fn since(&self, key: &str) -> Result<Duration, ArgError> {
        let Some(v) = self.get(key) else {
            return Ok(DEFAULT_SINCE);
        };
        let Some(text) = v.as_str() else {
            return err(format!(
                "{}: {key} must be a duration string such as \"6h\" or \"7d\"",
                self.tool
            ));
        };
        let d = apiops_config::values::parse_duration(text)
            .map_err(|e| ArgError(format!("{}: {key}: {e}", self.tool)))?;
        if d > MAX_SINCE {
            return err(format!(
                "{}: {key}: {text:?} is more than the 90 days apiops looks back",
                self.tool
            ));
        }
        Ok(d)
    }

    fn text(&self, key: &str, max: usize) -> Result<Option<String>, ArgError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match v.as_str().map(str::trim) {
            Some("") => err(format!("{}: {key} must not be empty", self.tool)),
            Some(s) if s.chars().count() > max => err(format!(
                "{}: {key} is longer than {max} characters",
                self.tool
            )),
            Some(s) => Ok(Some(s.to_owned())),
            None => err(format!("{}: {key} must be a string", self.tool)),
        }
    }

    fn required_text(&self, key: &str, max: usize) -> Result<String, ArgError> {
        self.text(key, max)?
            .ok_or_else(|| ArgError(format!("{} needs {key}", self.tool)))
    }

    fn limit(&self, key: &str) -> Result<u32, ArgError> {
        let Some(v) = self.get(key) else {
            return Ok(DEFAULT_EVENT_LIMIT);
        };
        match v.as_u64() {
            Some(n) if (1..=u64::from(MAX_EVENT_LIMIT)).contains(&n) => Ok(n as u32),
            _ => err(format!(
                "{}: {key} must be an integer from 1 to {MAX_EVENT_LIMIT}",
                self.tool
            )),
        }
    }

    fn boolean(&self, key: &str) -> Result<bool, ArgError> {
        match self.get(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => err(format!("{}: {key} must be true or false", self.tool)),
        }
    }

    fn request(&self) -> Result<PlanRequest, ArgError> {
        let tool = self.tool;
        match self.get("request") {
            None => err(format!(
                "{tool}: request is required: plain words, or {{\"operation\": \"<name>\", \"params\": {{...}}}}"
            )),
            Some(Value::String(_)) => Ok(PlanRequest::Text(
                self.text("request", MAX_REQUEST_CHARS)?.unwrap_or_default(),
            )),
            Some(Value::Object(o)) => {
                if let Some(unknown) = o.keys().find(|k| *k != "operation" && *k != "params") {
                    return err(format!(
                        "{tool}: a structured request has no field {unknown:?} (it takes: operation, params)"
                    ));
                }
                let Some(name) = o.get("operation").and_then(Value::as_str) else {
                    return err(format!(
                        "{tool}: a structured request needs \"operation\": a catalog name from list_operations"
                    ));
                };
                let Some(kind) = OpKind::from_name(name.trim()) else {
                    return err(format!(
                        "{tool}: {name:?} is not an operation (list_operations shows them: {})",
                        CATALOG
                            .iter()
                            .map(|s| s.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                };
                let params = match o.get("params") {
                    None | Some(Value::Null) => Map::new(),
                    Some(Value::Object(p)) => p.clone(),
                    Some(_) => {
                        return err(format!(
                            "{tool}: params must be an object of the operation's parameters"
                        ));
                    }
                };
                Ok(PlanRequest::Structured { kind, params })
            }
            Some(_) => err(format!(
                "{tool}: request must be a string (plain words) or an object {{\"operation\", \"params\"}}"
            )),
        }
    }

    fn plan_id(&self) -> Result<String, ArgError> {
        let tool = self.tool;
        let Some(id) = self.get("plan_id").and_then(Value::as_str) else {
            return err(format!(
                "{tool}: plan_id is required: the plan_id plan_operation returned"
            ));
        };
        let id = id.trim();
        if !is_plan_id(id) {
            return err(format!(
                "{tool}: {id:?} is not a plan id (plan_operation returns ids like plan_0123456789abcdef0123456789abcdef)"
            ));
        }
        Ok(id.to_owned())
    }
}

/// Whether `s` has the shape of a plan id (`plan_` and 16 lowercase hex digits).
pub fn is_plan_id(s: &str) -> bool {
    s.strip_prefix("plan_").is_some_and(|hex| {
        hex.len() == 32
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

/// Checks a call's name and arguments.
pub fn parse(
    name: &str,
    arguments: Option<&Map<String, Value>>,
    read_only: bool,
) -> Result<ToolCall, CallError> {
    let empty = Map::new();
    let map = arguments.unwrap_or(&empty);
    let args = |tool: &'static str, allowed: &[&str]| Args::new(tool, map, allowed);
    let call = match name {
        CREDENTIALS_STATUS => {
            args(CREDENTIALS_STATUS, &[]).map_err(CallError::Args)?;
            Ok(ToolCall::CredentialsStatus)
        }
        HEALTH_CHECK => args(HEALTH_CHECK, &["services"]).and_then(|a| {
            Ok(ToolCall::HealthCheck {
                services: a.services("services")?,
            })
        }),
        ERROR_AUDIT => args(ERROR_AUDIT, &["services", "since", "resource"]).and_then(|a| {
            Ok(ToolCall::ErrorAudit {
                services: a.services("services")?,
                since: a.since("since")?,
                resource: a.text("resource", 64)?,
            })
        }),
        CONFIG_AUDIT => args(CONFIG_AUDIT, &["services"]).and_then(|a| {
            Ok(ToolCall::ConfigAudit {
                services: a.services("services")?,
            })
        }),
        USAGE_REPORT => args(USAGE_REPORT, &["services", "since", "period", "by"]).and_then(|a| {
            use apiops_providers::usage::{UsageBy, UsagePeriod};
            let since = a.text("since", 16)?;
            let period = a.text("period", 16)?;
            let period = match (period, since) {
                (Some(_), Some(_)) => {
                    return Err(ArgError("give since or period, not both".into()));
                }
                (Some(p), None) => UsagePeriod::parse_named(&p).ok_or_else(|| {
                    ArgError(format!(
                        "period {p:?} is not today, this-month or last-month"
                    ))
                })?,
                (None, Some(d)) => {
                    let d = humantime::parse_duration(&d)
                        .ok()
                        .filter(|d| !d.is_zero())
                        .ok_or_else(|| {
                            ArgError(format!(
                                "since {d:?} is not a duration above zero (e.g. 7d)"
                            ))
                        })?;
                    UsagePeriod::last(d)
                }
                (None, None) => UsagePeriod::DEFAULT,
            };
            let by = a
                .text("by", 16)?
                .map(|b| {
                    UsageBy::parse(&b).ok_or_else(|| {
                        ArgError(format!("by {b:?} is not day, category, model or project"))
                    })
                })
                .transpose()?;
            Ok(ToolCall::UsageReport {
                services: a.services("services")?,
                period,
                by,
            })
        }),
        LIST_EVENTS => args(LIST_EVENTS, &["since", "service", "limit"]).and_then(|a| {
            Ok(ToolCall::ListEvents {
                since: a.since("since")?,
                service: a.service("service")?,
                limit: a.limit("limit")?,
            })
        }),
        LIST_OPERATIONS => args(LIST_OPERATIONS, &["service"]).and_then(|a| {
            Ok(ToolCall::ListOperations {
                service: a.service("service")?,
            })
        }),
        PLAN_OPERATION => args(PLAN_OPERATION, &["request", "fresh"]).and_then(|a| {
            Ok(ToolCall::PlanOperation {
                request: a.request()?,
                fresh: a.boolean("fresh")?,
            })
        }),
        EXECUTE_PLAN if !read_only => args(EXECUTE_PLAN, &["plan_id"]).and_then(|a| {
            Ok(ToolCall::ExecutePlan {
                plan_id: a.plan_id()?,
            })
        }),
        LIST_APIS => {
            args(LIST_APIS, &[]).map_err(CallError::Args)?;
            Ok(ToolCall::ListApis)
        }
        API_OPERATIONS => args(API_OPERATIONS, &["api", "words"]).and_then(|a| {
            let words = match a.get("words") {
                None => Vec::new(),
                Some(Value::Array(items)) if items.len() <= 10 => items
                    .iter()
                    .map(|w| match w.as_str() {
                        Some(t) if !t.is_empty() && t.len() <= 64 => Ok(t.to_owned()),
                        _ => err("words are strings of 1 to 64 characters"),
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return err("words is a list of at most 10 strings"),
            };
            Ok(ToolCall::ApiOperations {
                api: a.required_text("api", 32)?,
                words,
            })
        }),
        CALL_API => args(CALL_API, &["api", "operation", "params", "body"]).and_then(|a| {
            let params = match a.get("params") {
                None => Vec::new(),
                Some(Value::Object(m)) if m.len() <= 100 => m
                    .iter()
                    .map(|(k, v)| match v {
                        Value::String(s) => Ok((k.clone(), s.clone())),
                        Value::Number(n) => Ok((k.clone(), n.to_string())),
                        Value::Bool(b) => Ok((k.clone(), b.to_string())),
                        _ => err(format!(
                            "parameter {k:?} is a string, a number or a boolean"
                        )),
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return err("params is an object of at most 100 parameters"),
            };
            Ok(ToolCall::CallApi {
                api: a.required_text("api", 32)?,
                operation: a.required_text("operation", 256)?,
                params,
                body: a.get("body").cloned(),
            })
        }),
        GRAPHQL_QUERY => args(
            GRAPHQL_QUERY,
            &[
                "api",
                "query",
                "variables",
                "all",
                "cursor_var",
                "connection",
            ],
        )
        .and_then(|a| {
            let variables = match a.get("variables") {
                None => Map::new(),
                Some(Value::Object(m)) if m.len() <= 100 => m.clone(),
                Some(_) => return err("variables is an object of at most 100 variables"),
            };
            let all = a.boolean("all")?;
            let cursor_var = a.text("cursor_var", 64)?;
            let connection = a.text("connection", 64)?;
            if !all && (cursor_var.is_some() || connection.is_some()) {
                return err("cursor_var and connection go with all: true");
            }
            Ok(ToolCall::GraphQlQuery {
                api: a.required_text("api", 32)?,
                query: a.required_text("query", MAX_GRAPHQL_CHARS)?,
                variables,
                all,
                cursor_var,
                connection,
            })
        }),
        other => return Err(CallError::UnknownTool(other.to_owned())),
    };
    call.map_err(CallError::Args)
}

#[cfg(test)]
mod tests;
