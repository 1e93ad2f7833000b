//! Statuspage-style status pages of the three providers, as `apiops health` reads them:
//! `/status/{twilio,stripe,openai}/api/v2/status.json`, `components.json` and
//! `incidents/unresolved.json`, in the shape Atlassian Statuspage publishes. Each page is
//! operational, degraded with one ongoing incident, or failing (500), as the test sets it
//! ([`StatusMode`], through [`crate::server::RunningSim::set_status_mode`]); it starts
//! operational. No credentials are needed, as on the real pages.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::server::SimState;

/// What the status pages say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusMode {
    /// All systems operational, no incident.
    #[default]
    Operational,
    /// A component apiops uses is degraded and an incident is open.
    Degraded,
    /// Every status URL answers 500.
    Failing,
}

/// The mode, shared by the three pages.
#[derive(Debug, Default)]
pub struct StatusState(AtomicU8);

impl StatusState {
    /// The current mode.
    pub fn mode(&self) -> StatusMode {
        match self.0.load(Ordering::Relaxed) {
            1 => StatusMode::Degraded,
            2 => StatusMode::Failing,
            _ => StatusMode::Operational,
        }
    }

    /// Sets the mode.
    pub fn set(&self, mode: StatusMode) {
        let n = match mode {
            StatusMode::Operational => 0,
            StatusMode::Degraded => 1,
            StatusMode::Failing => 2,
        };
        self.0.store(n, Ordering::Relaxed);
    }
}

/// The routes, to nest under `/status`.
pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/{service}/api/v2/status.json", get(status))
        .route("/{service}/api/v2/summary.json", get(summary))
        .route("/{service}/api/v2/components.json", get(components))
        .route(
            "/{service}/api/v2/incidents/unresolved.json",
            get(incidents),
        )
}

/// (name, used by apiops, the one degraded in `Degraded` mode).
fn component_names(service: &str) -> Option<&'static [(&'static str, bool)]> {
    Some(match service {
        "twilio" => &[
            ("REST API", false),
            ("Programmable Messaging", true),
            ("Programmable Voice", false),
            ("Video", false),
            ("Conversations", false),
        ],
        "stripe" => &[
            ("API", false),
            ("Webhooks", true),
            ("Dashboard", false),
            ("Checkout", false),
        ],
        "openai" => &[
            ("API", true),
            ("ChatGPT", false),
            ("Sora", false),
            ("Batch", false),
        ],
        _ => return None,
    })
}

fn incident_title(service: &str) -> &'static str {
    match service {
        "twilio" => "Delayed SMS delivery to some US carriers",
        "stripe" => "Delays in webhook deliveries",
        _ => "Elevated error rates on API requests",
    }
}

fn page(service: &str) -> Value {
    json!({
        "id": format!("sim{service}"),
        "name": format!("{service} (simulated)"),
        "url": format!("/status/{service}"),
        "time_zone": "Etc/UTC",
        "updated_at": "2026-12-07T00:00:00.000Z",
    })
}

fn status_body(service: &str, mode: StatusMode) -> Value {
    let (indicator, description) = match mode {
        StatusMode::Degraded => ("minor", "Partially Degraded Service"),
        _ => ("none", "All Systems Operational"),
    };
    json!({
        "page": page(service),
        "status": { "indicator": indicator, "description": description },
    })
}

fn components_list(service: &str, mode: StatusMode) -> Vec<Value> {
    component_names(service)
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .map(|(i, (name, degrades))| {
            let status = if *degrades && mode == StatusMode::Degraded {
                "degraded_performance"
            } else {
                "operational"
            };
            json!({
                "id": format!("cmp{i}"),
                "name": name,
                "status": status,
                "position": i + 1,
                "group": false,
                "only_show_if_degraded": false,
            })
        })
        .collect()
}

fn incidents_list(service: &str, mode: StatusMode) -> Vec<Value> {
    if mode != StatusMode::Degraded {
        return vec![];
    }
    vec![json!({
        "id": "inc1",
        "name": incident_title(service),
        "status": "investigating",
        "impact": "minor",
        "created_at": "2026-12-07T00:00:00.000Z",
        "shortlink": format!("/status/{service}/incidents/inc1"),
    })]
}

/// The answer for `service` in the current mode, or the status code to answer instead.
fn guard(state: &SimState, service: &str) -> Result<StatusMode, StatusCode> {
    if component_names(service).is_none() {
        return Err(StatusCode::NOT_FOUND);
    }
    match state.status.mode() {
        StatusMode::Failing => Err(StatusCode::INTERNAL_SERVER_ERROR),
        mode => Ok(mode),
    }
}

/// Serves `body(service, mode)`, or the status code `guard` chose.
fn answer(state: &SimState, service: &str, body: impl FnOnce(StatusMode) -> Value) -> Response {
    match guard(state, service) {
        Ok(mode) => Json(body(mode)).into_response(),
        Err(code) => (code, "status page unavailable").into_response(),
    }
}

async fn status(State(state): State<Arc<SimState>>, Path(service): Path<String>) -> Response {
    answer(&state, &service, |mode| status_body(&service, mode))
}

async fn components(State(state): State<Arc<SimState>>, Path(service): Path<String>) -> Response {
    answer(
        &state,
        &service,
        |mode| json!({ "page": page(&service), "components": components_list(&service, mode) }),
    )
}

async fn incidents(State(state): State<Arc<SimState>>, Path(service): Path<String>) -> Response {
    answer(
        &state,
        &service,
        |mode| json!({ "page": page(&service), "incidents": incidents_list(&service, mode) }),
    )
}

async fn summary(State(state): State<Arc<SimState>>, Path(service): Path<String>) -> Response {
    answer(&state, &service, |mode| {
        let mut body = status_body(&service, mode);
        body["components"] = Value::Array(components_list(&service, mode));
        body["incidents"] = Value::Array(incidents_list(&service, mode));
        body
    })
}
