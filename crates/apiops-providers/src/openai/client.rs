//! A thin typed client of the OpenAI endpoints apiops uses — `GET /models`, `GET /batches`,
//! `GET /fine_tuning/jobs`, and with an admin key `GET /organization/projects` and
//! `GET /organization/projects/{id}/rate_limits`, and `POST /chat/completions` — over the
//! resilient [`ApiClient`] (Bearer
//! auth, `OpenAI-Organization`/`OpenAI-Project` headers, the rate gate fed by `x-ratelimit-*`,
//! retries and the breaker are all the client's).
//!
//! Paths omit `/v1`: the base URL carries it, with the official SDKs' meaning of
//! `OPENAI_BASE_URL`. Response types name their fields as the official spec does and keep what
//! apiops reads; unknown fields are ignored. Lists are streamed page by page (`after` cursors),
//! never collected whole.
//!
//! Two calls cost tokens, and only when asked for: [`OpenAiClient::test_completion`] (a
//! one-word prompt capped at 5 completion tokens) and [`OpenAiClient::chat_with_tools`] (the
//! optional LLM planner). Health, error scans and audits never call them;
//! [`OpenAiClient::rate_limit_headroom`] reads the headers of `GET /models`, which is free.

use std::time::Duration;

use apiops_client::pagination::{self, PageStyle};
use apiops_client::rate::RateLimitSnapshot;
use apiops_client::{ApiClient, ClientError, Method};
use futures::Stream;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

/// Most items asked for per list page.
pub const PAGE_SIZE: u8 = 100;

/// The typed OpenAI client. Cheap to clone; clones share the rate gate and breaker.
#[derive(Debug, Clone)]
pub struct OpenAiClient {
    /// The configured HTTP stack (base URL ending in `/v1`).
    api: ApiClient,
}

impl OpenAiClient {
    /// Wraps a configured client whose base URL is the API root including `/v1`.
    pub fn new(api: ApiClient) -> Self {
        OpenAiClient { api }
    }

    /// The underlying HTTP client (rate-limit snapshot, breaker state, deprecations).
    pub fn api(&self) -> &ApiClient {
        &self.api
    }

    /// `GET /models`: the cheapest authenticated call (no tokens).
    pub async fn models(&self) -> Result<ModelList, ClientError> {
        self.api.get_json("/models", &[]).await
    }

    /// The rate-limit headroom OpenAI announces, read from the `x-ratelimit-*` headers of
    /// `GET /models`: the cheapest authenticated call, and free (no tokens).
    ///
    /// The simulator sends those headers on every answer. OpenAI documents them for
    /// completion-style endpoints; when a `GET /models` answer carries none, every field is
    /// `None` ([`RateLimitHeadroom::is_known`] is false) and the caller may spend a few tokens
    /// on [`test_completion`](Self::test_completion), whose answer has them.
    pub async fn rate_limit_headroom(&self) -> Result<RateLimitHeadroom, ClientError> {
        let rb = self
            .api
            .request(Method::GET, "/models")
            .map_err(|e| self.scrub(e))?;
        let resp = self.api.send(rb).await.map_err(|e| self.scrub(e))?;
        Ok(RateLimitHeadroom::from_headers(resp.headers()))
    }

    /// A real, minimal completion with `model`: `POST /chat/completions` with one user message
    /// (`"ping"`) and `max_completion_tokens: 5` (the spec's cap; `max_tokens` is deprecated and
    /// refused by reasoning models). Proves the key can use the model, and returns the usage
    /// and the rate-limit headers of the answer. Costs a few tokens. Not resent on failure
    /// (OpenAI takes no idempotency key).
    pub async fn test_completion(&self, model: &str) -> Result<CompletionCheck, ClientError> {
        let model = non_empty_model(model)?;
        let body = json!({
            "model": model,
            "messages": [{"role": "user", "content": "ping"}],
            "max_completion_tokens": TEST_COMPLETION_TOKENS,
        });
        let (headers, completion): (_, ChatCompletion) = self.post_json(&body).await?;
        Ok(CompletionCheck {
            id: completion.id,
            model: completion.model,
            finish_reason: completion
                .choices
                .into_iter()
                .next()
                .and_then(|c| c.finish_reason),
            usage: completion.usage.unwrap_or_default(),
            headroom: RateLimitHeadroom::from_headers(&headers),
        })
    }

    /// `POST /chat/completions` with `messages` (an array of chat messages), `tools` (an array
    /// of tool definitions, `{"type": "function", "function": {...}}`) and
    /// `tool_choice: "auto"`; returns the whole answer as JSON for the planner to read (its
    /// `choices[0].message.tool_calls`). Costs tokens. Not resent on failure.
    pub async fn chat_with_tools(
        &self,
        model: &str,
        messages: Value,
        tools: Value,
    ) -> Result<Value, ClientError> {
        let model = non_empty_model(model)?;
        if messages.as_array().is_none_or(|m| m.is_empty()) {
            return Err(ClientError::InvalidRequest(
                "messages must be a non-empty array of chat messages".to_owned(),
            ));
        }
        if tools.as_array().is_none_or(|t| t.is_empty()) {
            return Err(ClientError::InvalidRequest(
                "tools must be a non-empty array of tool definitions".to_owned(),
            ));
        }
        let body = json!({
            "model": model,
            "messages": messages,
            "tools": tools,
            "tool_choice": "auto",
        });
        let (_, answer): (_, Value) = self.post_json(&body).await?;
        Ok(answer)
    }

    /// POSTs `body` as JSON to `/chat/completions`; the answer's headers and decoded body.
    async fn post_json<T: DeserializeOwned>(
        &self,
        body: &Value,
    ) -> Result<(HeaderMap, T), ClientError> {
        let rb = self
            .api
            .request(Method::POST, "/chat/completions")
            .map_err(|e| self.scrub(e))?
            .json(body);
        let resp = self.api.send(rb).await.map_err(|e| self.scrub(e))?;
        crate::wire::json_with_headers("POST", resp)
            .await
            .map_err(|e| self.scrub(e))
    }

    /// Scrubs the client's secrets from an error.
    fn scrub(&self, e: ClientError) -> ClientError {
        crate::wire::scrub(self.api.redactor(), e)
    }

    /// `GET /batches`, newest first, page by page.
    pub fn batch_pages(
        &self,
    ) -> impl Stream<Item = Result<Vec<Batch>, ClientError>> + Send + 'static + use<> {
        pagination::pages(
            self.api.clone(),
            "/batches".to_owned(),
            vec![("limit".to_owned(), PAGE_SIZE.to_string())],
            PageStyle::OpenAi,
        )
    }

    /// `GET /fine_tuning/jobs`, newest first, page by page.
    pub fn fine_tuning_job_pages(
        &self,
    ) -> impl Stream<Item = Result<Vec<FineTuningJob>, ClientError>> + Send + 'static + use<> {
        pagination::pages(
            self.api.clone(),
            "/fine_tuning/jobs".to_owned(),
            vec![("limit".to_owned(), PAGE_SIZE.to_string())],
            PageStyle::OpenAi,
        )
    }

    /// `GET /organization/projects` (active ones), item by item. Admin key only.
    pub fn projects(
        &self,
    ) -> impl Stream<Item = Result<Project, ClientError>> + Send + 'static + use<> {
        pagination::paginate(
            self.api.clone(),
            "/organization/projects".to_owned(),
            vec![("limit".to_owned(), PAGE_SIZE.to_string())],
            PageStyle::OpenAi,
        )
    }

    /// `GET /organization/projects?limit=1`: the cheapest check that an admin key works.
    pub async fn first_project(&self) -> Result<Option<Project>, ClientError> {
        let list: ListPage<Project> = self
            .api
            .get_json("/organization/projects", &[("limit", "1".to_owned())])
            .await?;
        Ok(list.data.into_iter().next())
    }

    /// `GET /organization/projects/{id}/rate_limits`, item by item. Admin key only. An id that
    /// is not a plain identifier is refused before any request, so a value from a response can
    /// never steer the request elsewhere.
    pub fn project_rate_limits(
        &self,
        project_id: &str,
    ) -> Result<
        impl Stream<Item = Result<ProjectRateLimit, ClientError>> + Send + 'static + use<>,
        ClientError,
    > {
        let id = path_segment(project_id).ok_or_else(|| {
            ClientError::InvalidRequest(format!("project id {project_id:?} is not an identifier"))
        })?;
        Ok(pagination::paginate(
            self.api.clone(),
            format!("/organization/projects/{id}/rate_limits"),
            vec![("limit".to_owned(), PAGE_SIZE.to_string())],
            PageStyle::OpenAi,
        ))
    }
}

pub(crate) use crate::wire::path_segment;

/// The completion cap of [`OpenAiClient::test_completion`].
pub const TEST_COMPLETION_TOKENS: u32 = 5;

/// `model` trimmed, when it is not blank.
fn non_empty_model(model: &str) -> Result<&str, ClientError> {
    let m = model.trim();
    if m.is_empty() {
        Err(ClientError::InvalidRequest(
            "a model id is required".to_owned(),
        ))
    } else {
        Ok(m)
    }
}

/// What OpenAI's `x-ratelimit-*` headers said on one answer. A field is `None` when its
/// header was absent or unreadable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimitHeadroom {
    /// `x-ratelimit-limit-requests`: requests allowed per window.
    pub limit_requests: Option<u64>,
    /// `x-ratelimit-remaining-requests`.
    pub remaining_requests: Option<u64>,
    /// `x-ratelimit-reset-requests` (a Go duration such as `1s` or `6m0s`), parsed.
    pub reset_requests: Option<Duration>,
    /// `x-ratelimit-limit-tokens`: tokens allowed per window.
    pub limit_tokens: Option<u64>,
    /// `x-ratelimit-remaining-tokens`.
    pub remaining_tokens: Option<u64>,
    /// `x-ratelimit-reset-tokens`, parsed.
    pub reset_tokens: Option<Duration>,
}

impl RateLimitHeadroom {
    /// Reads the six headers.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let s = RateLimitSnapshot::from_headers(headers);
        RateLimitHeadroom {
            limit_requests: s.limit_requests,
            remaining_requests: s.remaining_requests,
            reset_requests: s.reset_requests,
            limit_tokens: s.limit_tokens,
            remaining_tokens: s.remaining_tokens,
            reset_tokens: s.reset_tokens,
        }
    }

    /// Whether any of the headers was there.
    pub fn is_known(&self) -> bool {
        *self != RateLimitHeadroom::default()
    }

    /// Remaining requests as a share of the limit (0.0..=1.0), when both are known.
    pub fn request_share(&self) -> Option<f64> {
        share(self.remaining_requests, self.limit_requests)
    }

    /// Remaining tokens as a share of the limit (0.0..=1.0), when both are known.
    pub fn token_share(&self) -> Option<f64> {
        share(self.remaining_tokens, self.limit_tokens)
    }
}

fn share(remaining: Option<u64>, limit: Option<u64>) -> Option<f64> {
    match (remaining, limit) {
        (Some(r), Some(l)) if l > 0 => Some((r as f64 / l as f64).min(1.0)),
        _ => None,
    }
}

/// What [`OpenAiClient::test_completion`] learned.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletionCheck {
    /// `chatcmpl-...`
    pub id: String,
    /// The model that answered (may be a dated snapshot of the one asked for).
    pub model: String,
    /// `stop`, `length` (the 5-token cap was reached: normal here)...
    pub finish_reason: Option<String>,
    /// Tokens spent.
    pub usage: Usage,
    /// The rate-limit headers of the answer.
    pub headroom: RateLimitHeadroom,
}

/// A completion's `usage` (`CompletionUsage`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct Usage {
    /// Tokens in the prompt.
    pub prompt_tokens: u64,
    /// Tokens generated.
    pub completion_tokens: u64,
    /// Both.
    pub total_tokens: u64,
}

/// The part of a `chat.completion` that [`OpenAiClient::test_completion`] reads.
#[derive(Debug, Deserialize)]
struct ChatCompletion {
    id: String,
    model: String,
    #[serde(default)]
    choices: Vec<ChatChoice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Debug, Deserialize)]
struct ChatChoice {
    #[serde(default)]
    finish_reason: Option<String>,
}

/// A list page (`{object: "list", data, has_more, first_id, last_id}`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ListPage<T> {
    /// The items.
    pub data: Vec<T>,
    /// Whether more follow.
    #[serde(default)]
    pub has_more: bool,
}

/// `GET /models`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ModelList {
    /// Every model the key may use.
    pub data: Vec<Model>,
}

/// One model.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Model {
    /// The model id (`gpt-4o-mini`, `ft:...`).
    pub id: String,
    /// Unix seconds.
    #[serde(default)]
    pub created: i64,
    /// `system`, `openai`, or the organization for fine-tunes.
    #[serde(default)]
    pub owned_by: String,
    /// `YYYY-MM-DD` when OpenAI has announced the model's shutdown.
    #[serde(default)]
    pub shutdown_date: Option<String>,
}

/// A batch (the fields apiops reads).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Batch {
    /// `batch_...`
    pub id: String,
    /// The endpoint its requests go to (`/v1/chat/completions`).
    #[serde(default)]
    pub endpoint: String,
    /// The model, when OpenAI reports it.
    #[serde(default)]
    pub model: Option<String>,
    /// `validating`, `failed`, `in_progress`, `finalizing`, `completed`, `expired`,
    /// `cancelling`, `cancelled`.
    pub status: String,
    /// Unix seconds.
    pub created_at: i64,
    /// When it failed.
    #[serde(default)]
    pub failed_at: Option<i64>,
    /// When it expired.
    #[serde(default)]
    pub expired_at: Option<i64>,
    /// When it would expire.
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// Validation or expiry errors.
    #[serde(default)]
    pub errors: Option<BatchErrors>,
    /// Requests done and failed.
    #[serde(default)]
    pub request_counts: Option<BatchRequestCounts>,
}

/// A batch's `errors`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct BatchErrors {
    /// The errors.
    #[serde(default)]
    pub data: Vec<BatchError>,
}

/// One batch error.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct BatchError {
    /// `invalid_json_line`, `batch_expired`, ...
    #[serde(deserialize_with = "string_or_number")]
    pub code: Option<String>,
    /// A human message.
    pub message: Option<String>,
    /// The parameter concerned.
    pub param: Option<String>,
    /// The input file line concerned.
    pub line: Option<i64>,
}

/// A batch's `request_counts`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct BatchRequestCounts {
    /// Requests in the batch.
    pub total: u64,
    /// Requests completed.
    pub completed: u64,
    /// Requests failed.
    pub failed: u64,
}

/// A fine-tuning job (the fields apiops reads).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct FineTuningJob {
    /// `ftjob-...`
    pub id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// When it finished.
    #[serde(default)]
    pub finished_at: Option<i64>,
    /// The base model.
    #[serde(default)]
    pub model: Option<String>,
    /// `validating_files`, `queued`, `running`, `succeeded`, `failed`, `cancelled`.
    pub status: String,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<FineTuningJobError>,
}

/// A fine-tuning job's `error`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct FineTuningJobError {
    /// `invalid_training_file`, `exceeded_quota`, ...
    #[serde(deserialize_with = "string_or_number")]
    pub code: Option<String>,
    /// A human message.
    pub message: Option<String>,
    /// The parameter concerned.
    pub param: Option<String>,
}

/// An organization project.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Project {
    /// `proj_...`
    pub id: String,
    /// Its display name.
    #[serde(default)]
    pub name: Option<String>,
    /// `active` or `archived`.
    #[serde(default)]
    pub status: Option<String>,
}

/// A project's limit for one model.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ProjectRateLimit {
    /// `rl-...`: needed to change the limit.
    pub id: String,
    /// The model it applies to.
    pub model: String,
    /// Requests per minute.
    pub max_requests_per_1_minute: u64,
    /// Tokens per minute.
    pub max_tokens_per_1_minute: u64,
}

/// OpenAI's error object.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ApiError {
    /// A human message (may echo part of a key on 401s: never shown as is).
    pub message: Option<String>,
    /// `invalid_request_error`, `requests`, `tokens`, `insufficient_quota`, `server_error`...
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The parameter concerned.
    pub param: Option<String>,
    /// The code (`invalid_api_key`, `rate_limit_exceeded`...), when there is one.
    #[serde(deserialize_with = "string_or_number")]
    pub code: Option<String>,
}

/// The body of an error answer: `{"error": {...}}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ErrorBody {
    /// The error.
    #[serde(default)]
    pub error: ApiError,
}

/// The OpenAI error in a client error's (already redacted) body, when there is one.
pub fn api_error(err: &ClientError) -> Option<ApiError> {
    let body = err.body()?;
    serde_json::from_str::<ErrorBody>(body)
        .ok()
        .map(|b| b.error)
}

/// Reads a code that may be a string, a number or null.
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn path_segments_are_plain_identifiers() {
        assert_eq!(path_segment("proj_abc-123"), Some("proj_abc-123"));
        for bad in ["", "../admin", "a/b", "a?b=c", "proj x", "é"] {
            assert_eq!(path_segment(bad), None, "{bad}");
        }
    }

    #[test]
    fn headroom_reads_the_six_headers() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("x-ratelimit-limit-requests", "500"),
            ("x-ratelimit-remaining-requests", "499"),
            ("x-ratelimit-reset-requests", "120ms"),
            ("x-ratelimit-limit-tokens", "30000"),
            ("x-ratelimit-remaining-tokens", "29990"),
            ("x-ratelimit-reset-tokens", "6m0s"),
        ] {
            h.insert(k, v.parse().expect("value"));
        }
        let r = RateLimitHeadroom::from_headers(&h);
        assert!(r.is_known());
        assert_eq!(r.limit_requests, Some(500));
        assert_eq!(r.remaining_requests, Some(499));
        assert_eq!(r.reset_requests, Some(Duration::from_millis(120)));
        assert_eq!(r.limit_tokens, Some(30_000));
        assert_eq!(r.remaining_tokens, Some(29_990));
        assert_eq!(r.reset_tokens, Some(Duration::from_secs(360)));
        assert_eq!(r.request_share(), Some(0.998));
        let none = RateLimitHeadroom::from_headers(&HeaderMap::new());
        assert!(!none.is_known());
        assert_eq!(none.token_share(), None);
        assert!(non_empty_model("  ").is_err());
        let c: ChatCompletion = serde_json::from_value(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "p"}, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 8, "completion_tokens": 5, "total_tokens": 13,
                      "completion_tokens_details": {"reasoning_tokens": 0}}
        }))
        .expect("completion");
        assert_eq!(c.usage.map(|u| u.total_tokens), Some(13));
    }

    #[test]
    fn shapes_parse() {
        let b: Batch = serde_json::from_value(json!({
            "id": "batch_1", "object": "batch", "endpoint": "/v1/chat/completions",
            "input_file_id": "file-1", "completion_window": "24h", "status": "failed",
            "created_at": 10, "failed_at": 12,
            "errors": {"object": "list", "data": [{"code": "invalid_json_line", "message": "bad", "param": null, "line": 3}]}
        }))
        .expect("batch");
        assert_eq!(b.errors.map(|e| e.data.len()), Some(1));
        let j: FineTuningJob = serde_json::from_value(json!({
            "id": "ftjob-1", "created_at": 10, "status": "failed", "finished_at": null,
            "error": {"code": "invalid_n_examples", "message": "too few", "param": "training_file"}
        }))
        .expect("job");
        assert_eq!(
            j.error.and_then(|e| e.code).as_deref(),
            Some("invalid_n_examples")
        );
        let m: ModelList = serde_json::from_value(json!({"object": "list", "data": [
            {"id": "gpt-4-32k", "object": "model", "created": 1, "owned_by": "openai", "shutdown_date": "2025-06-06"},
            {"id": "gpt-4o", "object": "model", "created": 1, "owned_by": "system"}
        ]}))
        .expect("models");
        assert_eq!(m.data[0].shutdown_date.as_deref(), Some("2025-06-06"));
        assert!(m.data[1].shutdown_date.is_none());
        let e: ErrorBody = serde_json::from_value(
            json!({"error": {"message": "m", "type": "requests", "param": null, "code": 429}}),
        )
        .expect("error");
        assert_eq!(e.error.code.as_deref(), Some("429"));
    }
}
