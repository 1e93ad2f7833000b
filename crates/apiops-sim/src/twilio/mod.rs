//! The simulated Twilio: the endpoints apiops and the official SDKs use, with deterministic
//! data shaped like the official OpenAPI specs and Twilio's own behavior where it matters —
//! `next_page_uri` / `meta` paging with page tokens, `DateSent` windows, no status filter on
//! messages, Twilio's error codes for bad input, and state for operations (a bought number is
//! owned, a released one is gone, a sent message is listed).
//!
//! It is not the edge: credentials, the account SID in the path, rate limits, latency and
//! injected faults are handled by `faults` before any handler here runs.
//!
//! Layout (the roles every simulated provider shares are in the crate's Layout):
//! - `state`: [`TwilioState`], SID lookups, the mutable part (behind one lock) and the
//!   operations that change it.
//! - `data`: the compact generated records (messages, calls; `data/alerts.rs`: Monitor
//!   alerts) and the fixed tables (`data/tables.rs`: area codes, error codes, bodies, the seeds
//!   of numbers and services with the share of misconfigurations the audit must find).
//! - `request`: the forms of the operations (send, buy, update), validated with Twilio's 400s.
//! - `paging`: query parameters, page tokens, date windows, page envelopes.
//! - `render`: the JSON views, every property the spec lists (`render/v1.rs`: the v1 APIs').
//! - the resources: `api` (the 2010-04-01 handlers), `v1` (Monitor, Messaging and Pricing),
//!   `usage` (Usage Records summed from the generated messages, calls and numbers).
//! - `tests`.
//!
//! Routes, relative to the `/twilio` prefix the server nests this under:
//!
//! | route | imitates |
//! |---|---|
//! | `/api/2010-04-01/Accounts/{Sid}.json` (+ `/Balance.json`, `/Messages.json`, `/Messages/{Sid}.json`, `/Calls.json`, `/Calls/{Sid}.json`, `/IncomingPhoneNumbers.json`, `/IncomingPhoneNumbers/{Sid}.json`, `/AvailablePhoneNumbers/{Country}/Local.json`) | `api.twilio.com` |
//! | `/api/2010-04-01/Accounts/{Sid}/Usage/Records.json` (+ `/Usage/Records/{Today,Yesterday,ThisMonth,LastMonth,Daily,Monthly,Yearly,AllTime}.json`): usage derived from the generated traffic (`usage`) | `api.twilio.com` |
//! | `/monitor/v1/Alerts`, `/monitor/v1/Alerts/{Sid}` | `monitor.twilio.com` |
//! | `/messaging/v1/Services`, `/messaging/v1/Services/{Sid}` (+ `/PhoneNumbers`) | `messaging.twilio.com` |
//! | `/pricing/v1/PhoneNumbers/Countries/{IsoCountry}` | `pricing.twilio.com` |
//!
//! Monitor alerts can also be raised at run time (`POST /_sim/twilio/alerts`, served by the
//! server outside the `/twilio` prefix; see [`crate::live`]): `/monitor/v1/Alerts` lists them
//! first, filters included.

mod api;
mod data;
mod paging;
mod render;
mod request;
mod state;
mod usage;
mod v1;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;

pub use state::TwilioState;
pub(crate) use v1::alerts_route;

use crate::server::SimState;

/// The Twilio routes (nested by the server under `/twilio`).
pub fn routes() -> Router<Arc<SimState>> {
    const ACCOUNT: &str = "/api/2010-04-01/Accounts/{account}";
    let at = |suffix: &str| format!("{ACCOUNT}{suffix}");
    Router::new()
        .route(ACCOUNT, get(api::fetch_account))
        .route(&at("/Balance.json"), get(api::fetch_balance))
        .route(
            &at("/Messages.json"),
            get(api::list_messages).post(api::create_message),
        )
        .route(&at("/Messages/{sid}"), get(api::fetch_message))
        .route(&at("/Calls.json"), get(api::list_calls))
        .route(&at("/Calls/{sid}"), get(api::fetch_call))
        .route(
            &at("/IncomingPhoneNumbers.json"),
            get(api::list_numbers).post(api::buy_number),
        )
        .route(
            &at("/IncomingPhoneNumbers/{sid}"),
            get(api::fetch_number)
                .post(api::update_number)
                .delete(api::release_number),
        )
        .route(
            &at("/AvailablePhoneNumbers/{country}/Local.json"),
            get(api::list_available),
        )
        .route(&at("/Usage/Records.json"), get(usage::list_records))
        .route(&at("/Usage/Records/{sub}"), get(usage::list_sub_records))
        .route("/monitor/v1/Alerts", get(v1::list_alerts))
        .route("/monitor/v1/Alerts/{sid}", get(v1::fetch_alert))
        .route("/messaging/v1/Services", get(v1::list_services))
        .route(
            "/messaging/v1/Services/{sid}",
            get(v1::fetch_service).post(v1::update_service),
        )
        .route(
            "/messaging/v1/Services/{sid}/PhoneNumbers",
            get(v1::list_service_numbers),
        )
        .route(
            "/pricing/v1/PhoneNumbers/Countries/{iso}",
            get(v1::fetch_number_pricing),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// Twilio's 404 for a path it does not serve, naming the path as the real host would see it
/// (without the `/api`, `/monitor`... segment standing for the host).
async fn not_found(uri: Uri) -> Response {
    let path = uri.path();
    let below_host = path
        .get(1..)
        .and_then(|p| p.find('/').map(|i| &p[i..]))
        .unwrap_or(path);
    api::error_response(&state::TwilioError::not_found(below_host))
}

/// Twilio's 405.
async fn method_not_allowed() -> Response {
    crate::faults::twilio_error(StatusCode::METHOD_NOT_ALLOWED, 20004, "Method not allowed")
}
