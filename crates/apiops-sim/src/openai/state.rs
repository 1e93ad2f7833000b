//! OpenAI's state for one run: the organization, its model catalog (with `GET /models`
//! serialized once), batches, fine-tuning jobs and projects, generated from the seed by the
//! resource files that serve them; usage and costs are computed on demand from the seed. It
//! does not speak HTTP.

use std::sync::Mutex;

use axum::body::Bytes;

use super::{jobs, models, organization};
use crate::config::SimConfig;
use crate::server::Credentials;
/// OpenAI's data and state for one simulator run.
#[derive(Debug)]
pub struct OpenAiState {
    /// The run's seed (usage is computed from it on demand).
    pub(super) seed: u64,
    /// The run's anchor (unix seconds): "now" for the generated data.
    pub(super) anchor: i64,
    /// `org-...`, owner of the fine-tuned models.
    pub(super) organization_id: String,
    /// The catalog, fine-tuned models last.
    pub(super) models: Vec<models::Model>,
    /// `GET /models`, serialized once.
    pub(super) models_body: Bytes,
    /// Batches, newest first.
    pub(super) batches: Vec<jobs::Job>,
    /// Fine-tuning jobs, newest first.
    pub(super) fine_tuning_jobs: Vec<jobs::Job>,
    /// Projects, oldest first.
    pub(super) projects: Vec<organization::Project>,
    /// Ids of completions created at run time (seeded).
    pub(super) ids: Mutex<fastrand::Rng>,
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
