//! Events that happen at run time, and their delivery to the loopback webhook endpoints the
//! way Stripe delivers: signed POSTs, `pending_webhooks` counting the endpoints not yet reached,
//! no retry until asked. The rules are in [`crate::live`]; this file keeps the state.
//!
//! Locks: the endpoints are copied out before the events are locked, and no lock is held
//! across a delivery.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use url::Url;

use super::StripeState;
use super::data;
use super::webhook_endpoints::Endpoint;
use crate::live::{
    self, DELIVERY_TIMEOUT, DeliveryAttempt, DeliveryReport, EventDelivery, RedeliverRequest,
    STRIPE_EVENT_TYPES, StripeEventsRequest,
};
use crate::server::SimState;
use crate::signing;

/// How a timed-out attempt's error starts.
const TIMED_OUT: &str = "timed out";

/// What Stripe's webhook requests say they are.
const USER_AGENT: &str = "Stripe/1.0 (+https://stripe.com/docs/webhooks)";

/// Whether endpoint `e` is to receive events of `kind` from the simulator: enabled, subscribed
/// (`*` or the type) and on loopback.
fn receives(e: &Endpoint, kind: &str) -> bool {
    !e.disabled
        && e.enabled_events.iter().any(|t| t == "*" || t == kind)
        && Url::parse(&e.url).is_ok_and(|u| live::is_loopback_url(&u))
}

/// One event to deliver: what to send and where.
struct Job {
    id: String,
    kind: &'static str,
    created: i64,
    body: Vec<u8>,
    /// Pending endpoints: `Some((url, disabled))`, or `None` once deleted.
    targets: Vec<(String, Option<(String, bool)>)>,
}

impl StripeState {
    /// Appends `count` events created now, of `kind` (one of [`STRIPE_EVENT_TYPES`]) or from
    /// the account's usual mix; each is pending for the endpoints that are to receive it.
    /// Returns their ids, oldest first.
    pub(crate) fn happen(&self, count: usize, kind: Option<&str>) -> Result<Vec<String>, String> {
        let kind: Option<&'static str> = match kind {
            None => None,
            Some(k) => Some(
                STRIPE_EVENT_TYPES
                    .iter()
                    .copied()
                    .find(|t| *t == k && data::scenario_for(t).is_some())
                    .ok_or_else(|| {
                        format!(
                            "unknown event type {k:?}: the simulator makes {}",
                            STRIPE_EVENT_TYPES.join(", ")
                        )
                    })?,
            ),
        };
        let endpoints = self.lock_endpoints().clone();
        let mut events = self.events_mut();
        let now = self.now();
        let mut seen: HashSet<String> = events.iter().map(|e| e.id.clone()).collect();
        let mut fresh = Vec::with_capacity(count);
        // Every scenario emits an event of its type; the bound only guards against a bug.
        let mut budget = count.saturating_mul(4).saturating_add(16);
        while fresh.len() < count {
            if budget == 0 {
                return Err("could not make the events happen (no scenario emits them)".into());
            }
            budget -= 1;
            let index = self.live_scenarios.fetch_add(1, Ordering::SeqCst);
            for mut e in self.live.scenario(index, now, kind) {
                if fresh.len() == count || !seen.insert(e.id.clone()) {
                    continue;
                }
                let to: Vec<String> = endpoints
                    .iter()
                    .filter(|w| receives(w, e.kind))
                    .map(|w| w.id.clone())
                    .collect();
                e.set_undelivered(to);
                fresh.push(e);
            }
        }
        let ids = fresh.iter().map(|e| e.id.clone()).collect();
        // Served newest first; a later event before an earlier one of the same second.
        fresh.reverse();
        events.splice(0..0, fresh);
        Ok(ids)
    }

    /// Delivers events `ids` (every event still pending, oldest first, when `None`) to the
    /// endpoints each has still to reach, and records the outcome; with `send` false only
    /// reports where they stand.
    pub(crate) async fn deliver(&self, ids: Option<&[String]>, send: bool) -> Vec<EventDelivery> {
        let snapshot = |e: &super::events::Event| {
            (
                e.id.clone(),
                e.kind,
                e.created,
                serde_json::to_vec(&e.body).unwrap_or_default(),
                e.undelivered.clone(),
            )
        };
        let picked: Vec<_> = {
            let events = self.events();
            match ids {
                Some(ids) => {
                    let at: HashMap<&str, usize> = events
                        .iter()
                        .enumerate()
                        .map(|(i, e)| (e.id.as_str(), i))
                        .collect();
                    ids.iter()
                        .filter_map(|id| at.get(id.as_str()).and_then(|&i| events.get(i)))
                        .map(snapshot)
                        .collect()
                }
                None => events
                    .iter()
                    .rev()
                    .filter(|e| !e.undelivered.is_empty())
                    .map(snapshot)
                    .collect(),
            }
        };
        let endpoints: HashMap<String, (String, bool)> = self
            .lock_endpoints()
            .iter()
            .map(|e| (e.id.clone(), (e.url.clone(), e.disabled)))
            .collect();
        let jobs: Vec<Job> = picked
            .into_iter()
            .map(|(id, kind, created, body, pending)| Job {
                id,
                kind,
                created,
                body,
                targets: pending
                    .into_iter()
                    .map(|w| {
                        let at = endpoints.get(&w).cloned();
                        (w, at)
                    })
                    .collect(),
            })
            .collect();
        let client = if send { client() } else { Ok(None) };
        let secret = self.webhook_secret.as_str();
        // One at a time, oldest first, so a receiver sees them in order. An endpoint that timed
        // out is not tried again in the same call: a hung receiver costs one timeout, not one
        // per event.
        let mut hung: HashSet<String> = HashSet::new();
        let mut outcomes: Vec<(Job, Vec<DeliveryAttempt>)> = Vec::with_capacity(jobs.len());
        for job in jobs {
            let mut attempts = Vec::new();
            for (endpoint, at) in job.targets.iter().filter(|_| send) {
                let Some((url, disabled)) = at else {
                    continue;
                };
                let tried = if hung.contains(endpoint) {
                    DeliveryAttempt {
                        endpoint: endpoint.clone(),
                        url: url.clone(),
                        status: None,
                        error: Some(
                            "not called: the endpoint timed out earlier in this call".into(),
                        ),
                        delivered: false,
                    }
                } else {
                    attempt(&client, secret, endpoint, url, *disabled, &job.body).await
                };
                if tried
                    .error
                    .as_deref()
                    .is_some_and(|e| e.starts_with(TIMED_OUT))
                {
                    hung.insert(endpoint.clone());
                }
                attempts.push(tried);
            }
            outcomes.push((job, attempts));
        }
        let mut events = self.events_mut();
        let mut at: HashMap<String, usize> = events
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.clone(), i))
            .collect();
        outcomes
            .into_iter()
            .map(|(job, attempts)| {
                let reached: HashSet<&str> = attempts
                    .iter()
                    .filter(|a| a.delivered)
                    .map(|a| a.endpoint.as_str())
                    .collect();
                let gone: HashSet<&str> = job
                    .targets
                    .iter()
                    .filter(|(_, at)| at.is_none())
                    .map(|(w, _)| w.as_str())
                    .collect();
                let pending = match at.remove(&job.id).and_then(|i| events.get_mut(i)) {
                    Some(e) => {
                        let left: Vec<String> = e
                            .undelivered
                            .iter()
                            .filter(|w| !reached.contains(w.as_str()) && !gone.contains(w.as_str()))
                            .cloned()
                            .collect();
                        if left.len() != e.undelivered.len() {
                            e.set_undelivered(left);
                        }
                        e.pending_webhooks
                    }
                    None => 0,
                };
                EventDelivery {
                    delivered: !reached.is_empty(),
                    id: job.id,
                    kind: job.kind.to_owned(),
                    created: job.created,
                    attempts,
                    pending_webhooks: pending,
                }
            })
            .collect()
    }
}

/// The client deliveries use: loopback only (no proxy, no redirects, `localhost` pinned to the
/// loopback addresses), [`DELIVERY_TIMEOUT`] per attempt.
fn client() -> Result<Option<reqwest::Client>, String> {
    reqwest::Client::builder()
        .timeout(DELIVERY_TIMEOUT)
        .connect_timeout(DELIVERY_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .resolve_to_addrs(
            "localhost",
            &[
                SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
            ],
        )
        .user_agent(USER_AGENT)
        .build()
        .map(Some)
        .map_err(|e| format!("no HTTP client: {e}"))
}

/// One signed POST of `body` to endpoint `endpoint` at `url`.
async fn attempt(
    client: &Result<Option<reqwest::Client>, String>,
    secret: &str,
    endpoint: &str,
    url: &str,
    disabled: bool,
    body: &[u8],
) -> DeliveryAttempt {
    let mut out = DeliveryAttempt {
        endpoint: endpoint.to_owned(),
        url: url.to_owned(),
        status: None,
        error: None,
        delivered: false,
    };
    let target = match Url::parse(url) {
        Ok(u) if live::is_loopback_url(&u) => u,
        _ => {
            out.error = Some("not a loopback URL: not called".into());
            return out;
        }
    };
    if disabled {
        out.error = Some("endpoint disabled: not called".into());
        return out;
    }
    let client = match client {
        Ok(Some(c)) => c,
        Ok(None) => {
            out.error = Some("not sent".into());
            return out;
        }
        Err(e) => {
            out.error = Some(e.clone());
            return out;
        }
    };
    // Signed at the wall clock, which the receiver's tolerance check compares with.
    let t = jiff::Timestamp::now().as_second();
    let signature = match signing::stripe_signature(secret, t, body) {
        Ok(s) => s,
        Err(e) => {
            out.error = Some(format!("signing failed: {e}"));
            return out;
        }
    };
    let sent = client
        .post(target)
        .header("content-type", "application/json; charset=utf-8")
        .header("stripe-signature", signature)
        .body(body.to_vec())
        .send()
        .await;
    match sent {
        Ok(resp) => {
            let status = resp.status();
            out.status = Some(status.as_u16());
            out.delivered = status.is_success();
            if !out.delivered {
                out.error = Some(format!("HTTP {status}"));
            }
        }
        Err(e) => out.error = Some(describe(&e)),
    }
    out
}

/// A transport error in a line: what failed, and the innermost cause.
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        format!("{TIMED_OUT} after {}s", DELIVERY_TIMEOUT.as_secs())
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut cause: &dyn std::error::Error = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    format!("{what}: {cause}")
}

/// `POST /_sim/stripe/events`
pub(crate) async fn happen_route(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    if let Some(refused) = live::refuse_remote(&state.config) {
        return refused;
    }
    let req: StripeEventsRequest = match live::parse_body(&body) {
        Ok(r) => r,
        Err(reason) => return crate::live::refuse(StatusCode::BAD_REQUEST, &reason),
    };
    match state.stripe_events_happen(&req).await {
        Ok(report) => (StatusCode::CREATED, axum::Json(report)).into_response(),
        Err(reason) => live::refuse(StatusCode::BAD_REQUEST, &reason),
    }
}

/// `POST /_sim/stripe/redeliver`
pub(crate) async fn redeliver_route(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    if let Some(refused) = live::refuse_remote(&state.config) {
        return refused;
    }
    if let Err(reason) = live::parse_body::<RedeliverRequest>(&body) {
        return live::refuse(StatusCode::BAD_REQUEST, &reason);
    }
    axum::Json::<DeliveryReport>(state.stripe_redeliver().await).into_response()
}
