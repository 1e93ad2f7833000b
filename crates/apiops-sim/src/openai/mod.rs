//! The simulated OpenAI API (`https://api.openai.com/v1`, served under `/openai/v1`): the
//! subset apiops uses, in the shapes of the official OpenAPI spec.
//!
//! | route | operation (in `/_sim/stats`) |
//! |---|---|
//! | `GET /models` | `openai.models.list` |
//! | `GET /models/{model}` | `openai.models.retrieve` |
//! | `POST /chat/completions` | `openai.chat.create` (side effect); with `tools`, a deterministic tool call |
//! | `GET /batches` | `openai.batches.list` |
//! | `GET /fine_tuning/jobs` | `openai.fine_tuning.jobs.list` |
//! | `GET /organization/usage/completions` | `openai.usage.completions` |
//! | `GET /organization/costs` | `openai.costs.list` |
//! | `GET /organization/projects` | `openai.projects.list` |
//! | `GET /organization/projects/{id}/rate_limits` | `openai.projects.rate_limits.list` |
//!
//! Auth (including the admin key the `/organization/` paths need), the requests-per-minute
//! limit with its `x-ratelimit-*` headers, latency and faults are the edge's
//! ([`crate::faults`]). Any other path gets OpenAI's "Invalid URL" 404.
//!
//! Layout (the roles every simulated provider shares are in the crate's Layout):
//! - `state`: [`OpenAiState`], the run's organization, catalog, jobs and projects.
//! - `request`: query parameters, cursor pages (OpenAI's lists are short: no `paging` file),
//!   error documents.
//! - the resources, each generating its own data from the seed (so there is no `data` file):
//!   `models` (the catalog and [`DEPRECATED_MODELS`]), `chat` (chat completions), `tools`
//!   (tool calling in chat completions), `jobs` (batches and fine-tuning jobs), `organization`
//!   (projects, rate limits, usage, costs).
//! - `tests`.

mod chat;
mod jobs;
mod models;
mod organization;
mod request;

mod state;

#[cfg(test)]
mod tests;
mod tools;

use std::sync::Arc;

use axum::Router;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::server::SimState;

pub use models::{DEPRECATED_MODELS, DeprecatedModel};

pub use state::OpenAiState;

/// The routes, relative to `/openai/v1`.
pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/models", get(models::list))
        .route("/models/{model}", get(models::retrieve))
        .route("/chat/completions", post(chat::create))
        .route("/batches", get(jobs::list_batches))
        .route("/fine_tuning/jobs", get(jobs::list_fine_tuning_jobs))
        .route(
            "/organization/usage/completions",
            get(organization::usage_completions),
        )
        .route("/organization/costs", get(organization::costs))
        .route("/organization/projects", get(organization::list_projects))
        .route(
            "/organization/projects/{project_id}/rate_limits",
            get(organization::list_rate_limits),
        )
        .fallback(invalid_url)
        .method_not_allowed_fallback(invalid_url)
}

/// OpenAI's answer to a path or method it does not serve.
async fn invalid_url(method: Method, uri: Uri) -> Response {
    // Nested routers see the path without the prefix; put the `/v1` back as OpenAI shows it.
    let path = uri.path();
    let shown = match path.strip_prefix("/openai") {
        Some(rest) => rest.to_owned(),
        None => format!("/v1{path}"),
    };
    request::error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        None,
        None,
        &format!("Invalid URL ({method} {shown})"),
    )
    .into_response()
}
