//! (stub by the lead — the helper replaces this module; keep `TwilioState::generate(&SimConfig, &Credentials) -> TwilioState` and `routes() -> Router<Arc<SimState>>`)

use std::sync::Arc;

use axum::Router;

use crate::config::SimConfig;
use crate::server::{Credentials, SimState};

/// Stub.
#[derive(Debug)]
pub struct TwilioState;

impl TwilioState {
    /// Stub.
    pub fn generate(_config: &SimConfig, _creds: &Credentials) -> Self {
        TwilioState
    }
}

/// Stub.
pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
}
