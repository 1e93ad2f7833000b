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
//! Layout: `request` (query parameters, cursor pages, error documents), `models` (the
//! catalog and [`DEPRECATED_MODELS`]), `chat` (chat completions), `tools` (tool calling in
//! chat completions), `jobs` (batches and
//! fine-tuning jobs), `organization` (projects, rate limits, usage, costs).

mod chat;
mod jobs;
mod models;
mod organization;
mod request;
#[cfg(test)]
mod tests;
mod tools;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::config::SimConfig;
use crate::server::{Credentials, SimState};

pub use models::{DEPRECATED_MODELS, DeprecatedModel};

/// OpenAI's data and state for one simulator run.
#[derive(Debug)]
pub struct OpenAiState {
    /// The run's seed (usage is computed from it on demand).
    seed: u64,
    /// The run's anchor (unix seconds): "now" for the generated data.
    anchor: i64,
    /// `org-...`, owner of the fine-tuned models.
    organization_id: String,
    /// The catalog, fine-tuned models last.
    models: Vec<models::Model>,
    /// `GET /models`, serialized once.
    models_body: Bytes,
    /// Batches, newest first.
    batches: Vec<jobs::Job>,
    /// Fine-tuning jobs, newest first.
    fine_tuning_jobs: Vec<jobs::Job>,
    /// Projects, oldest first.
    projects: Vec<organization::Project>,
    /// Ids of completions created at run time (seeded).
    ids: Mutex<fastrand::Rng>,
}

impl OpenAiState {
    /// Generates the organization for `config` (deterministic for its seed and anchor).
    pub fn generate(config: &SimConfig, _creds: &Credentials) -> Self {
        let seed = config.seed;
        let anchor = config.anchor.as_second();
        let organization_id = {
            let mut r = crate::rng::for_purpose(seed, "openai.organization");
            format!("org-{}", &crate::rng::stripe_id("x", &mut r)[2..])
        };
        let (fine_tuning_jobs, fine_tuned) = jobs::fine_tuning_jobs(seed, anchor, &organization_id);
        let models = models::catalog(&organization_id, &fine_tuned);
        OpenAiState {
            seed,
            anchor,
            models_body: models::list_body(&models),
            models,
            batches: jobs::batches(seed, anchor, &organization_id),
            fine_tuning_jobs,
            projects: organization::projects(seed, anchor),
            organization_id,
            ids: Mutex::new(crate::rng::for_purpose(seed, "openai.runtime")),
        }
    }

    /// The organization id (`org-...`).
    pub fn organization_id(&self) -> &str {
        &self.organization_id
    }

    /// The ids of the models `GET /models` lists.
    pub fn model_ids(&self) -> Vec<&str> {
        self.models.iter().map(|m| m.id.as_str()).collect()
    }

    /// The project ids (`proj_...`), oldest first, archived ones included.
    pub fn project_ids(&self) -> Vec<&str> {
        self.projects.iter().map(|p| p.id.as_str()).collect()
    }
}

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
