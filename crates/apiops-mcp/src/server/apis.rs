//! The configured APIs over MCP (`[apis.NAME]`): `list_apis`, `api_operations` and
//! `call_api`. Reads are answered at once, through the same `apiops_openapi::Api` the CLI
//! calls, and a failure after sending is appended to the event log (as `apiops call` does). A
//! write is not sent from here: its plan is answered as a refusal that names the command a
//! person runs (`apiops call NAME OP ... --yes`), because its journal and confirmation live
//! in the CLI, not in `execute_plan`'s registry.

use apiops_config::apis::ApiSettings;
use apiops_config::spec_fetch::{SpecOptions, load_spec};
use apiops_openapi::{Api, CallError as ApiCallError, OpClass, Spec};

use super::*;

impl State {
    fn api_settings(&self, name: &str) -> Result<&ApiSettings, ToolError> {
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
                format!("{name} is a GraphQL endpoint: it has no OpenAPI operations"),
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
                    format!(
                        "{} ({} operations, auth {})",
                        r["name"].as_str().unwrap_or(""),
                        r["operations"],
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

    pub(super) async fn call_api(
        &self,
        name: &str,
        operation: &str,
        params: &[(String, String)],
        body: Option<Value>,
    ) -> Result<CallToolResult, ToolError> {
        let (settings, spec) = self.document(name).await?;
        let config = settings.api_config(name).map_err(|variables| {
            ToolError::new(
                Kind::MissingCredentials,
                Some(Category::Auth),
                format!("{name} credentials missing: set {}", variables.join(", ")),
            )
        })?;
        let tuning = apiops_config::providers::tuning(&self.loaded.settings);
        let api = Api::new(config, spec, |b| tuning.apply(b).map_err(|e| e.to_string()))
            .map_err(api_error)?;
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
            let who = if plan.needs_person {
                "a deletion: only a person confirms it"
            } else {
                "a write"
            };
            return Err(ToolError::new(
                Kind::ConfirmationRequired,
                None,
                format!(
                    "{name} {} is {who}, and writes of configured APIs are not sent over MCP: nothing was sent. A person sends it from a terminal: {command}",
                    plan.operation
                ),
            )
            .with_details(json!({"plan": plan, "command": command})));
        }
        match api.send(&req).await {
            Ok(answer) => {
                let summary = format!("{name} {}: HTTP {}", op.id, answer.status);
                Ok(success(summary, answer))
            }
            Err(e) => {
                if let Some(event) = api.failure_event(&op.id, &e, jiff::Timestamp::now())
                    && let Ok(store) = self.store()
                    && let Err(err) = store.append_events(&[event]).await
                {
                    tracing::warn!("{name}: the failure was not recorded: {err}");
                }
                Err(api_error(e))
            }
        }
    }
}

/// A word as a shell reads it: quoted when it holds anything but plain characters.
fn shell_word(w: &str) -> String {
    if w.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=:,".contains(c))
    {
        w.to_owned()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

/// The engine's error as a tool error with its category.
fn api_error(e: ApiCallError) -> ToolError {
    let kind = match &e {
        e if e.is_usage() => Kind::InvalidArguments,
        ApiCallError::MissingCredential { .. } => Kind::MissingCredentials,
        ApiCallError::Config(_) => Kind::Internal,
        _ => Kind::ProviderError,
    };
    ToolError::new(kind, Some(e.category()), e.to_string())
}
