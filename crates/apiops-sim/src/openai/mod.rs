//! (stub by the lead — the helper replaces this module; keep `OpenAiState::generate(&SimConfig, &Credentials) -> OpenAiState` and `routes() -> Router<Arc<SimState>>`)

use std::sync::Arc;

use axum::Router;

use crate::config::SimConfig;
use crate::server::{Credentials, SimState};

/// Stub.
#[derive(Debug)]
pub struct OpenAiState;

impl OpenAiState {
    /// Stub.
    pub fn generate(_config: &SimConfig, _creds: &Credentials) -> Self {
        OpenAiState
    }
}

/// Stub.
pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
}
