//! A thin typed client of the OpenAI endpoints apiops reads — `GET /models`, `GET /batches`,
//! `GET /fine_tuning/jobs`, and with an admin key `GET /organization/projects` and
//! `GET /organization/projects/{id}/rate_limits` — over the resilient [`ApiClient`] (Bearer
//! auth, `OpenAI-Organization`/`OpenAI-Project` headers, the rate gate fed by `x-ratelimit-*`,
//! retries and the breaker are all the client's).
//!
//! Paths omit `/v1`: the base URL carries it, with the official SDKs' meaning of
//! `OPENAI_BASE_URL`. Response types name their fields as the official spec does and keep what
//! apiops reads; unknown fields are ignored. Lists are streamed page by page (`after` cursors),
//! never collected whole. Nothing here ever calls an endpoint that costs tokens.

use apiops_client::pagination::{self, PageStyle};
use apiops_client::{ApiClient, ClientError};
use futures::Stream;
use serde::{Deserialize, Deserializer, Serialize};

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

/// `id` when it is safe as one path segment: letters, digits, `_`, `-`.
pub(crate) fn path_segment(id: &str) -> Option<&str> {
    let ok = !id.is_empty()
        && id.len() <= 200
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then_some(id)
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
