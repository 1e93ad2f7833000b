//! What a tool call returns: structured content (the same JSON the CLI's `--json` prints, secrets
//! already masked by the views) plus a short text summary; or a tool error (`isError: true`)
//! whose structured content names the normalized category where there is one, so an agent can
//! tell a missing credential from a rejected one from a provider outage without parsing prose.

use apiops_core::Category;
use rmcp::model::{CallToolResult, ContentBlock};
use serde::Serialize;
use serde_json::{Value, json};

/// Why a tool call failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The arguments do not fit the tool.
    InvalidArguments,
    /// The request is ambiguous or incomplete: a question.
    NeedsClarification,
    /// Nothing in the catalog matches the request.
    NotUnderstood,
    /// The named service has no credentials (the variables are named).
    MissingCredentials,
    /// No service has credentials.
    NothingConfigured,
    /// The provider answered with an error or could not be reached.
    ProviderError,
    /// The event log and journal could not be opened.
    StoreUnavailable,
    /// No such plan in this server.
    UnknownPlan,
    /// The plan needs a person's yes and did not get one.
    ConfirmationRequired,
    /// Some or all steps failed.
    ExecutionFailed,
    /// The call was cancelled.
    Cancelled,
    /// Anything else.
    Internal,
}

/// A tool error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolError {
    pub kind: Kind,
    /// The normalized category (auth, config, rate_limit, bad_params, transient...), when one
    /// applies.
    pub category: Option<Category>,
    /// One or two sentences for the agent and the person.
    pub message: String,
    /// Anything structured worth keeping (variables to set, the question's candidates...).
    #[serde(skip_serializing_if = "Value::is_null")]
    pub details: Value,
}

impl ToolError {
    pub fn new(kind: Kind, category: Option<Category>, message: impl Into<String>) -> Self {
        ToolError {
            kind,
            category,
            message: message.into(),
            details: Value::Null,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// A provider failure: its message as the typed error displays (already scrubbed by the
    /// clients), its category from the error's type, never from its text.
    pub fn provider(e: &apiops_providers::ProviderError) -> Self {
        ToolError::new(Kind::ProviderError, Some(e.category()), e.to_string())
    }

    /// As a tool result: `isError`, the error in structured content; as text, the message
    /// then the same JSON.
    pub fn into_result(self) -> CallToolResult {
        let text = match self.category {
            Some(c) => format!("error ({c}): {}", self.message),
            None => format!("error: {}", self.message),
        };
        let mut result = CallToolResult::structured_error(json!({ "error": self }));
        result.content = content(text, result.structured_content.as_ref());
        result
    }
}

/// The text blocks: the summary first (what a person or a model reads), then the structured
/// content serialized, as the spec asks for clients that do not read `structuredContent`.
fn content(summary: String, structured: Option<&Value>) -> Vec<ContentBlock> {
    let mut blocks = vec![ContentBlock::text(summary)];
    if let Some(v) = structured {
        blocks.push(ContentBlock::text(v.to_string()));
    }
    blocks
}

/// A successful result: `value` as structured content, `summary` as the first text block.
pub fn success(summary: impl Into<String>, value: impl Serialize) -> CallToolResult {
    let value = serde_json::to_value(value)
        .unwrap_or_else(|e| json!({"serialization_error": e.to_string()}));
    let mut result = CallToolResult::structured(value);
    result.content = content(summary.into(), result.structured_content.as_ref());
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_error_keeps_the_category_of_its_type_whatever_its_text_says() {
        // A 401's text inside a rate limit's body must not make it `auth`.
        let e = apiops_providers::ProviderError::Client(apiops_client::ClientError::Status {
            method: "GET".into(),
            target: "api.example/v1".into(),
            status: 429,
            body: "upstream said: HTTP 401 earlier".into(),
            retry_after: None,
        });
        let t = ToolError::provider(&e);
        assert_eq!(t.category, Some(Category::RateLimit));
        assert_eq!(t.kind, Kind::ProviderError);
        assert!(t.message.contains("HTTP 429"), "{}", t.message);
    }

    #[test]
    fn errors_are_tool_errors_with_their_category() {
        let r = ToolError::new(
            Kind::MissingCredentials,
            Some(Category::Config),
            "Stripe credentials missing: set STRIPE_SECRET_KEY",
        )
        .with_details(json!({"variables": ["STRIPE_SECRET_KEY"]}))
        .into_result();
        assert_eq!(r.is_error, Some(true));
        let s = r.structured_content.clone().expect("structured");
        assert_eq!(s["error"]["kind"], "missing_credentials");
        assert_eq!(s["error"]["category"], "config");
        assert_eq!(s["error"]["details"]["variables"][0], "STRIPE_SECRET_KEY");
        let text = r.content[0]
            .as_text()
            .map(|t| t.text.clone())
            .unwrap_or_default();
        assert!(
            text.starts_with("error (config): Stripe credentials missing"),
            "{text}"
        );
        let json = r.content[1]
            .as_text()
            .map(|t| t.text.clone())
            .unwrap_or_default();
        assert_eq!(serde_json::from_str::<Value>(&json).ok(), Some(s));
    }
}
