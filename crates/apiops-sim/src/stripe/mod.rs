//! The simulated Stripe API (`https://api.stripe.com`, served under `/stripe`): the subset
//! apiops uses, in the shapes of the 2023-08-16 spec.
//!
//! | route | operation (in `/_sim/stats`) |
//! |---|---|
//! | `GET /v1/balance` | `stripe.balance.retrieve` |
//! | `GET /v1/account` | `stripe.account.retrieve` |
//! | `GET /v1/balance_transactions` | `stripe.balance_transactions.list` |
//! | `GET /v1/events` | `stripe.events.list` |
//! | `GET /v1/events/{id}` | `stripe.events.retrieve` |
//! | `GET /v1/webhook_endpoints` | `stripe.webhook_endpoints.list` |
//! | `POST /v1/webhook_endpoints` | `stripe.webhook_endpoints.create` (side effect) |
//! | `GET /v1/webhook_endpoints/{id}` | `stripe.webhook_endpoints.retrieve` |
//! | `POST /v1/webhook_endpoints/{id}` | `stripe.webhook_endpoints.update` (side effect) |
//! | `DELETE /v1/webhook_endpoints/{id}` | `stripe.webhook_endpoints.delete` (side effect) |
//!
//! Events can also happen at run time (`POST /_sim/stripe/events`, outside the `/stripe`
//! prefix and its auth): they join the list, and are delivered to the loopback webhook
//! endpoints subscribed to them, signed; `POST /_sim/stripe/redeliver` retries what failed
//! ([`crate::live`] has the rules).
//!
//! Auth, the per-second rate limit, latency and faults are the edge's ([`crate::faults`]);
//! handlers here see only authenticated requests. Any other path gets Stripe's
//! "Unrecognized request URL" 404.
//!
//! Layout (the roles every simulated provider shares are in the crate's Layout):
//! - `state`: [`StripeState`], the run's account, events, endpoints and balance transactions.
//! - `data`: the generated account and the scenarios events come from (`data/`: the fixed
//!   objects, the objects events carry, the scenarios).
//! - `request`: form parameters and error documents; `paging`: cursor pagination.
//! - the resources: `events`, `webhook_endpoints`, `balance` (balance transactions derived from
//!   the events, and history added at run time), `idempotency` (the `Idempotency-Key` store),
//!   `live` (events happening at run time and their delivery).
//! - under test: `spec_check` (a small OpenAPI response checker, shared with the OpenAI tests)
//!   and `tests`.

mod balance;
mod data;
mod events;
mod idempotency;
mod live;
mod paging;
mod request;
#[cfg(test)]
pub(crate) mod spec_check;
#[cfg(test)]
mod tests;
mod webhook_endpoints;

mod state;

use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::server::SimState;

pub(crate) use balance::history_route as balance_history_route;
pub use data::API_VERSION;
pub(crate) use live::{happen_route, redeliver_route};

pub use state::StripeState;

/// The routes, relative to `/stripe`.
pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/v1/balance", get(balance))
        .route("/v1/account", get(account))
        .route("/v1/balance_transactions", get(balance::list))
        .route("/v1/events", get(events::list))
        .route("/v1/events/{id}", get(events::retrieve))
        .route(
            "/v1/webhook_endpoints",
            get(webhook_endpoints::list).post(webhook_endpoints::create),
        )
        .route(
            "/v1/webhook_endpoints/{id}",
            get(webhook_endpoints::retrieve)
                .post(webhook_endpoints::update)
                .delete(webhook_endpoints::delete),
        )
        .fallback(unrecognized)
        .method_not_allowed_fallback(unrecognized)
}

/// `GET /v1/balance`
async fn balance(State(state): State<Arc<SimState>>, RawQuery(q): RawQuery) -> Response {
    state.stats.request("stripe.balance.retrieve");
    match request::expand_only(q.as_deref()) {
        Ok(()) => axum::Json(&state.stripe.balance).into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

/// `GET /v1/account`
async fn account(State(state): State<Arc<SimState>>, RawQuery(q): RawQuery) -> Response {
    state.stats.request("stripe.account.retrieve");
    match request::expand_only(q.as_deref()) {
        Ok(()) => axum::Json(&state.stripe.account).into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

/// Stripe's answer to a path or method it does not serve.
async fn unrecognized(method: Method, uri: Uri) -> Response {
    // Nested routers see the path without the prefix; strip it in case this one does not.
    let path = uri.path().strip_prefix("/stripe").unwrap_or(uri.path());
    request::error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        None,
        None,
        &format!(
            "Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."
        ),
    )
    .into_response()
}
