//! `graphql_query`: a configured GraphQL endpoint (`[apis.NAME] graphql = URL`) over MCP,
//! through the same `apiops_openapi` engine as `apiops graphql`. The document and its
//! variables are checked before anything is sent (one query or mutation; a subscription or
//! several operations refused; each variable of its declared type). A query is answered at
//! once, data and errors side by side, its errors appended to the event log; `all` follows
//! `pageInfo` and returns the nodes, up to [`MAX_GRAPHQL_NODES`]. A mutation is a write: its
//! plan is kept by `call_api`'s path (`apis.rs`: `api_plan`) for `execute_plan`, under the
//! same gate (always a person) and the same journal. Every tool error's category is the typed
//! error's.

use apiops_openapi::{Api, CallError as ApiCallError, Document, GqlKind, PagingError};

use super::apis::{api_error, shell_word};
use super::*;
use crate::tools::MAX_GRAPHQL_NODES;

/// How `all: true` pages: the variable that takes `endCursor`, the connection's field.
#[derive(Debug, Clone, Copy)]
pub(super) struct Paging<'a> {
    pub(super) cursor_var: Option<&'a str>,
    pub(super) connection: Option<&'a str>,
}

fn refused(message: impl Into<String>) -> ToolError {
    ToolError::new(
        Kind::InvalidArguments,
        Some(Category::BadParams),
        message.into(),
    )
}

impl State {
    pub(super) async fn graphql_query(
        &self,
        name: &str,
        query: &str,
        variables: &Map<String, Value>,
        paging: Option<Paging<'_>>,
        session: &str,
    ) -> Result<CallToolResult, ToolError> {
        let settings = self.api_settings(name)?;
        let Some(endpoint) = settings.graphql_endpoint() else {
            return Err(refused(format!(
                "{name} is an OpenAPI API, not a GraphQL endpoint: call its operations with call_api"
            )));
        };
        let endpoint = endpoint.to_owned();
        // Nothing is sent, and no credential is read, before the document and its variables fit.
        let doc = Document::parse(query).map_err(api_error)?;
        let typed = doc.json_variables(variables).map_err(api_error)?;
        if paging.is_some() && doc.kind == GqlKind::Mutation {
            return Err(refused(
                "all follows the pages of a query; this is a mutation",
            ));
        }
        let cursor_var = paging
            .map(|p| doc.cursor_var(p.cursor_var))
            .transpose()
            .map_err(api_error)?;
        let api = self.open_api(name).await?;
        let req = Api::graphql_request(&endpoint, query, typed.clone());
        let label = doc.label();
        if doc.kind == GqlKind::Mutation {
            let plan = api.graphql_plan(&doc, req, None);
            return Ok(self.api_plan(plan, terminal_command(name, &typed), session));
        }
        if let (Some(paging), Some(cursor_var)) = (paging, cursor_var) {
            return self
                .graphql_all(&api, &label, req, &cursor_var, paging.connection)
                .await;
        }
        match api.graphql(&req).await {
            Ok(answer) => {
                let failure = answer.failure();
                if let Some(e) = &failure {
                    self.keep_failure(&api, &label, e).await;
                }
                let summary = if answer.partial() {
                    format!(
                        "{name} {label}: partial data beside {} error(s): {}",
                        answer.errors.len(),
                        answer.messages.join("; ")
                    )
                } else {
                    format!("{name} {label}: data, no errors")
                };
                Ok(success(
                    summary,
                    json!({
                        "api": name,
                        "operation": label,
                        "partial": answer.partial(),
                        "category": failure.as_ref().map(ApiCallError::category),
                        "data": answer.data,
                        "errors": answer.errors,
                        "messages": answer.messages,
                        "latency_ms": answer.latency_ms,
                    }),
                ))
            }
            Err(e) => {
                self.keep_failure(&api, &label, &e).await;
                Err(api_error(e))
            }
        }
    }

    /// Every node of every page, up to [`MAX_GRAPHQL_NODES`], with the errors that came beside
    /// partial data on any page.
    async fn graphql_all(
        &self,
        api: &Api,
        label: &str,
        req: apiops_openapi::PreparedRequest,
        cursor_var: &str,
        connection: Option<&str>,
    ) -> Result<CallToolResult, ToolError> {
        let mut nodes = Vec::new();
        let mut on_item = |item| {
            if nodes.len() >= MAX_GRAPHQL_NODES {
                return Err(ApiCallError::Paging(PagingError::Stopped));
            }
            nodes.push(item);
            Ok(())
        };
        let paged = match api
            .graphql_each_node(req, cursor_var, connection, &mut on_item)
            .await
        {
            Ok(paged) => paged,
            Err(e) => {
                self.keep_failure(api, label, &e).await;
                return Err(api_error(e));
            }
        };
        let failure = paged.failure();
        if let Some(e) = &failure {
            self.keep_failure(api, label, e).await;
        }
        let name = api.name();
        let mut summary = format!(
            "{name} {label}: {} node(s) from {} page(s)",
            nodes.len(),
            paged.pages
        );
        if paged.stopped {
            summary.push_str(&format!(
                "; stopped at {MAX_GRAPHQL_NODES} nodes (narrow the query, or page with a cursor variable yourself)"
            ));
        }
        if !paged.messages.is_empty() {
            summary.push_str(&format!(
                "; partial data beside {} error(s): {}",
                paged.errors.len(),
                paged.messages.join("; ")
            ));
        }
        Ok(success(
            summary,
            json!({
                "api": name,
                "operation": label,
                "nodes": nodes,
                "count": paged.items,
                "pages": paged.pages,
                "truncated": paged.stopped,
                "partial": !paged.errors.is_empty(),
                "category": failure.as_ref().map(ApiCallError::category),
                "errors": paged.errors,
                "messages": paged.messages,
            }),
        ))
    }
}

/// The command a person runs instead of `execute_plan`: the mutation's text goes in a file.
fn terminal_command(name: &str, variables: &Map<String, Value>) -> String {
    let mut command = format!("apiops graphql {name} --query @mutation.graphql");
    for (k, v) in variables {
        let v = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        command.push_str(&format!(" --var {}", shell_word(&format!("{k}={v}"))));
    }
    command.push_str(" --dry-run   # mutation.graphql holds the mutation; then --yes to send it");
    command
}

#[cfg(test)]
mod tests;
