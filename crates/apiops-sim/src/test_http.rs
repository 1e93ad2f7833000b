//! What the providers' HTTP tests (`twilio/tests.rs`, `stripe/tests.rs`, `openai/tests.rs`)
//! share: a simulator started on loopback, and reading an answer's status and JSON.

use reqwest::StatusCode;
use serde_json::Value;

use crate::{RunningSim, SimConfig, Simulator};

/// A simulator with `config`, serving on loopback.
pub(crate) async fn start(config: SimConfig) -> RunningSim {
    let sim = Simulator::new(config).expect("config");
    sim.start().await.expect("start")
}

/// Sends `request`; its status and JSON answer.
pub(crate) async fn status_and_json(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let resp = request.send().await.expect("send");
    let status = resp.status();
    (status, resp.json().await.expect("json"))
}
