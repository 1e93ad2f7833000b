//! A loopback simulator of Twilio, Stripe and OpenAI, for the demo, the tests and the
//! benchmarks. It serves the subset of each provider that apiops uses, with deterministic data,
//! the providers' own auth errors, pagination, time filters, rate limits, injected faults and
//! state for operations, and it signs webhooks the way each provider does.
//!
//! It depends on `apiops-core` only — never on the providers it imitates, or it could hide their
//! bugs.
//!
//! Layout:
//! - [`config`]: [`SimConfig`], the knobs (latency, limits, fault rate, seed, data volume).
//! - [`server`]: [`Simulator`], which owns the state, assembles the router under one listener
//!   with a path prefix per provider host, and prints the environment that points clients at it.
//! - [`faults`]: the layer every request passes: latency, injected faults, request counting.
//! - [`script`]: scripted faults ([`FaultRule`]), deterministic rules the edge applies before
//!   the random ones, set from Rust or over `/_sim/faults`.
//! - [`live`]: things happening at run time — new Stripe events (delivered to loopback webhook
//!   endpoints, signed) and new Twilio Monitor alerts — set from Rust or over `/_sim/stripe/...`
//!   and `/_sim/twilio/alerts`.
//! - [`stats`]: requests and side effects per operation, served at `/_sim/stats`.
//! - [`rng`]: the seeded generator and id helpers, so the same seed gives byte-identical data.
//! - [`probe_targets`]: loopback targets for the webhook reachability probe's tests (200, 404,
//!   500, a 301, a self-signed certificate, a server that never answers), each a Stripe
//!   webhook endpoint when [`SimConfig::probe_targets`] is set.
//! - [`status`]: the providers' Statuspage-style status pages (`/status/{provider}/api/v2/...`),
//!   operational, degraded or failing as a test sets it.
//! - [`twilio`], [`stripe`], [`openai`]: each provider, in a folder whose files have the same
//!   roles in all three (a role a provider does not need is left out, and its `mod.rs` says
//!   why):
//!   - `mod.rs`: `routes()`, the table of routes and what each imitates, and the provider's
//!     answer to a path it does not serve;
//!   - `state.rs`: [`twilio::TwilioState`], [`stripe::StripeState`], [`openai::OpenAiState`]:
//!     the run's data and what changes at run time, with the operations that change it; no
//!     HTTP;
//!   - `data.rs`: the data generated from the seed and the anchor (Twilio, Stripe; OpenAI's
//!     resource files generate their own);
//!   - `request.rs`: the provider's request conventions (parameters, forms, error documents);
//!   - `paging.rs`: its list mechanics (Twilio, Stripe; OpenAI's cursor lists are in
//!     `request.rs`);
//!   - `render.rs`: JSON views built per request (Twilio, whose records are compact; Stripe
//!     and OpenAI keep their objects as JSON);
//!   - one file per resource group, holding its handlers (Twilio `api`, `v1`, `usage`; Stripe
//!     `events`, `webhook_endpoints`, `balance`, `idempotency`, `live`; OpenAI `models`,
//!     `chat`, `tools`, `jobs`, `organization`);
//!   - `tests.rs`: the provider's tests over HTTP (what they share is in `test_http.rs`).
//! - [`signing`] and [`emit`]: webhook signatures (Stripe, Twilio, Standard Webhooks) and the
//!   sender behind `apiops sim emit`.

pub mod config;
pub mod emit;
pub mod faults;
pub mod live;
pub mod openai;
pub mod probe_targets;
pub mod rng;
pub mod script;
pub mod server;
pub mod signing;
pub mod stats;
pub mod status;
pub mod stripe;
pub mod twilio;

#[cfg(test)]
mod test_http;

pub use config::SimConfig;
pub use faults::Fault;
pub use script::{FaultRule, ScriptedFault};
pub use server::{RunningSim, Simulator};
