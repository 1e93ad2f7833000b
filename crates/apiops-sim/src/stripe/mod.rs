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
//! Layout: `params` (form parameters and error documents), `list` (cursor pagination),
//! `idempotency` (the `Idempotency-Key` store), `data` (the generated account and the
//! scenarios run time events come from), `events` and `webhook_endpoints` (the resources),
//! `live` (events happening at run time and their delivery), `balance` (balance transactions
//! derived from the events, and history added at run time); under test, `spec_check` (a small OpenAPI
//! response checker, shared with the OpenAI tests) and `tests`.

mod balance;
mod data;
mod events;
mod idempotency;
mod list;
mod live;
mod params;
#[cfg(test)]
pub(crate) mod spec_check;
#[cfg(test)]
mod tests;
mod webhook_endpoints;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use crate::config::SimConfig;
use crate::server::{Credentials, SimState};

pub(crate) use balance::history_route as balance_history_route;
pub use data::API_VERSION;
pub(crate) use live::{happen_route, redeliver_route};

/// Stripe's data and state for one simulator run.
#[derive(Debug)]
pub struct StripeState {
    /// The `account` object (fixed for the run).
    account: Value,
    /// The `balance` object (fixed for the run).
    balance: Value,
    /// The events, newest first: the 30 days generated before the anchor, then (in front)
    /// those made to happen at run time.
    events: RwLock<Vec<events::Event>>,
    /// Makes events happen at run time.
    live: data::LiveEvents,
    /// Scenarios run at run time so far (the next one's events derive from the seed and it).
    live_scenarios: AtomicU64,
    /// The secret webhook deliveries are signed with (`STRIPE_WEBHOOK_SECRET`); every
    /// endpoint shares it.
    webhook_secret: String,
    /// Webhook endpoints, oldest first; changed by create, update and delete.
    endpoints: Mutex<Vec<webhook_endpoints::Endpoint>>,
    /// Results of idempotent POSTs by key. Locked before `endpoints` whenever both are held.
    idempotency: Mutex<idempotency::Store>,
    /// Ids and secrets of objects created at run time (seeded, so a replayed run gets the same).
    ids: Mutex<fastrand::Rng>,
    /// Balance transactions, newest first: those the generated events imply, then history
    /// added at run time (older).
    balance_transactions: RwLock<Vec<balance::Txn>>,
    /// Salts the balance transactions' ids (from the seed).
    balance_salt: u64,
    /// The seed, for history added at run time.
    seed: u64,
    /// The run's anchor (unix seconds): "now" for the generated data.
    anchor: i64,
}

impl StripeState {
    /// Generates the account for `config` (deterministic for its seed and anchor).
    pub fn generate(config: &SimConfig, creds: &Credentials) -> Self {
        let anchor = config.anchor.as_second();
        let events = data::events(config.seed, anchor);
        StripeState {
            account: data::account(config.seed, anchor),
            balance: data::balance(config.seed),
            balance_transactions: RwLock::new(balance::from_events(&events)),
            balance_salt: crate::rng::for_purpose(config.seed, "stripe.balance_ids").u64(..),
            seed: config.seed,
            events: RwLock::new(events),
            live: data::LiveEvents::new(config.seed),
            live_scenarios: AtomicU64::new(0),
            webhook_secret: creds.stripe_webhook_secret.clone(),
            endpoints: Mutex::new(data::webhook_endpoints(config.seed, anchor)),
            idempotency: Mutex::new(idempotency::Store::default()),
            ids: Mutex::new(crate::rng::for_purpose(config.seed, "stripe.runtime")),
            anchor,
        }
    }

    /// How many events the account has: the generated ones (within the last 30 days of the
    /// anchor) and those made to happen since.
    pub fn event_count(&self) -> usize {
        self.events().len()
    }

    /// How many events are not yet delivered everywhere (`delivery_success=false` lists them).
    pub fn undelivered_event_count(&self) -> usize {
        self.events()
            .iter()
            .filter(|e| e.pending_webhooks > 0)
            .count()
    }

    /// Reads the events (newest first).
    pub(crate) fn events(&self) -> RwLockReadGuard<'_, Vec<events::Event>> {
        self.events.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn events_mut(&self) -> RwLockWriteGuard<'_, Vec<events::Event>> {
        self.events.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The balance transactions, newest first.
    pub(crate) fn balance_transactions(&self) -> RwLockReadGuard<'_, Vec<balance::Txn>> {
        self.balance_transactions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn balance_salt(&self) -> u64 {
        self.balance_salt
    }

    /// Adds `count` older charges and refunds over `span` seconds before the oldest
    /// transaction; the new total.
    fn add_balance_history(&self, count: usize, span: i64) -> usize {
        let mut txns = self
            .balance_transactions
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let oldest = txns.last().map_or(self.anchor, |t| t.created);
        let round = txns.len() as u64;
        txns.extend(balance::history(
            self.seed ^ round.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            oldest,
            span,
            count,
        ));
        txns.len()
    }

    /// Totals of the balance transactions created in `[from, to)`, per type: (type, count,
    /// gross cents, fee cents), sorted by type. What a usage report must add up to.
    pub fn balance_totals(&self, from: i64, to: i64) -> Vec<(&'static str, u64, i64, i64)> {
        let mut m: std::collections::BTreeMap<&'static str, (u64, i64, i64)> =
            std::collections::BTreeMap::new();
        for t in self
            .balance_transactions()
            .iter()
            .filter(|t| t.created >= from && t.created < to)
        {
            let e = m.entry(t.kind_name()).or_default();
            e.0 += 1;
            e.1 += t.amount;
            e.2 += t.fee;
        }
        m.into_iter().map(|(k, (n, a, f))| (k, n, a, f)).collect()
    }

    /// How many balance transactions there are.
    pub fn balance_transaction_count(&self) -> usize {
        self.balance_transactions().len()
    }

    /// How many webhook endpoints exist now.
    pub fn webhook_endpoint_count(&self) -> usize {
        self.endpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// The time stamped on objects created now: the wall clock, but never before the anchor, so
    /// new objects sort as the newest.
    fn now(&self) -> i64 {
        jiff::Timestamp::now().as_second().max(self.anchor)
    }
}

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

fn expand_only(q: Option<&str>) -> Result<(), params::StripeError> {
    let p = params::Params::from_query(q);
    p.check_allowed(&["expand"])?;
    p.array("expand").map(|_| ())
}

/// `GET /v1/balance`
async fn balance(State(state): State<Arc<SimState>>, RawQuery(q): RawQuery) -> Response {
    state.stats.request("stripe.balance.retrieve");
    match expand_only(q.as_deref()) {
        Ok(()) => axum::Json(&state.stripe.balance).into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

/// `GET /v1/account`
async fn account(State(state): State<Arc<SimState>>, RawQuery(q): RawQuery) -> Response {
    state.stats.request("stripe.account.retrieve");
    match expand_only(q.as_deref()) {
        Ok(()) => axum::Json(&state.stripe.account).into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

/// Stripe's answer to a path or method it does not serve.
async fn unrecognized(method: Method, uri: Uri) -> Response {
    // Nested routers see the path without the prefix; strip it in case this one does not.
    let path = uri.path().strip_prefix("/stripe").unwrap_or(uri.path());
    params::error(
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
