//! (stub by the lead — the helper replaces this module; keep `StripeState::generate(&SimConfig, &Credentials) -> StripeState` and `routes() -> Router<Arc<SimState>>`)

use std::sync::Arc;

use axum::Router;

use crate::config::SimConfig;
use crate::server::{Credentials, SimState};

/// Stub.
#[derive(Debug)]
pub struct StripeState;

impl StripeState {
    /// Stub.
    pub fn generate(_config: &SimConfig, _creds: &Credentials) -> Self {
        StripeState
    }
}

/// Stub.
pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
}
