//! Things that happen at run time: new Stripe events (delivered to webhook endpoints, as Stripe
//! does) and new Twilio Monitor alerts, so a test can stop a webhook receiver, let events
//! happen, start it again and check that a reconciler backfills them from `GET /v1/events` and
//! `GET /v1/Alerts` exactly once.
//!
//! Set from Rust ([`crate::server::SimState::stripe_events_happen`],
//! [`crate::RunningSim::stripe_events_happen`], [`crate::RunningSim::twilio_alerts_happen`]...)
//! or over HTTP:
//!
//! | route | effect |
//! |---|---|
//! | `POST /_sim/stripe/events` | appends events created now ([`StripeEventsRequest`]); 201 with a [`DeliveryReport`] once every delivery attempt has ended |
//! | `POST /_sim/stripe/redeliver` | re-attempts every delivery still pending (Stripe's retries, on demand); 200 with a [`DeliveryReport`] |
//! | `POST /_sim/twilio/alerts` | raises alerts created now ([`TwilioAlertsRequest`]); 201 with `{"sids": [...], "alerts": [...]}` (the alerts as `GET /v1/Alerts` lists them) |
//!
//! Bodies are JSON; an empty body takes every default. A body that is not one of these gets a
//! 400 with `{"error": reason}`, and every route answers 403 when the simulator was allowed to
//! listen beyond loopback (like `/_sim/faults`). The routes need no provider credentials.
//!
//! **Stripe events.** `count` events (default 1, at most [`MAX_COUNT`]) of `type` (default: the
//! account's usual mix of failures and successes; see [`STRIPE_EVENT_TYPES`]) are appended with
//! `created` = the simulator's now (the wall clock, never before the anchor) and ids `evt_...`
//! derived from the seed and the count of scenarios run so far. They are listed and retrieved
//! like the generated ones, filters and cursors included, and carry the same realistic objects
//! (a failed charge has `failure_code`, `outcome.reason` and the decline; a failed payment
//! intent `last_payment_error` with `decline_code`...).
//!
//! **Delivery.** An event is meant for every enabled webhook endpoint subscribed to its type
//! (`*` or the type listed) whose URL is loopback (`127.0.0.0/8`, `[::1]`, `localhost`, which is
//! resolved to those only); endpoints elsewhere are outside the simulated world and never
//! called. `pending_webhooks` is the number of those endpoints not yet reached, so an event
//! without any is `pending_webhooks: 0` from the start. With `deliver` (the default) the call
//! POSTs the event JSON to each of them, signed with `Stripe-Signature: t=<unix>,v1=<hex
//! HMAC-SHA256(secret, "t.body")>` under the account's `STRIPE_WEBHOOK_SECRET` (which every
//! endpoint shares and a create returns as its `secret`), with no proxy, no redirects and a
//! [`DELIVERY_TIMEOUT`] per attempt, and waits for the answers: a 2xx delivers, anything else
//! (an error status, a refused connection, a timeout) leaves the endpoint pending. Deliveries
//! go one at a time, oldest event first, so a receiver sees them in order; an endpoint that
//! timed out is not tried again within the same call (its later events stay pending), so a
//! hung receiver costs one timeout per call (two calls running at once may both deliver an
//! event, as Stripe sometimes does). So an event that reached every endpoint shows
//! `pending_webhooks: 0` and is listed under `delivery_success=true`; one that missed any keeps
//! `pending_webhooks > 0` and is listed under `delivery_success=false`. Nothing is retried on its own: `POST /_sim/stripe/redeliver`
//! re-attempts the pending endpoints of every event (an endpoint deleted since is dropped; a
//! disabled one, or one whose URL left loopback, stays pending and is reported not called).
//! With `deliver: false` the events are appended undelivered (pending for their endpoints),
//! as if the provider could not reach the receiver yet.
//!
//! **Twilio alerts.** `count` alerts (default 1, at most [`MAX_COUNT`]) with `error_code`
//! (default: the account's usual mix; a string `"30007"` or a number) are raised with
//! `date_generated` = `date_created` = the simulator's now; each points at a generated record
//! that agrees with it. `GET /v1/Alerts` lists them first (newest first), with `StartDate`,
//! `EndDate` and `LogLevel` applied as to the generated ones, and `GET /v1/Alerts/{Sid}`
//! fetches them. Twilio does not deliver alerts anywhere.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;
use url::Url;

use crate::config::SimConfig;

/// The most events or alerts one call may make happen.
pub const MAX_COUNT: usize = 1000;

/// How long one delivery attempt may take, connection included.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(3);

/// The Stripe event types that can be made to happen (the ones the simulator generates).
pub const STRIPE_EVENT_TYPES: &[&str] = &[
    "charge.failed",
    "payment_intent.payment_failed",
    "charge.succeeded",
    "payment_intent.succeeded",
    "invoice.payment_failed",
    "invoice.paid",
    "payout.failed",
    "payout.paid",
    "setup_intent.setup_failed",
    "charge.dispute.created",
    "charge.refunded",
    "customer.created",
];

fn one() -> usize {
    1
}

fn yes() -> bool {
    true
}

/// The body of `POST /_sim/stripe/events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StripeEventsRequest {
    /// How many events (1 to [`MAX_COUNT`]; default 1).
    #[serde(default = "one")]
    pub count: usize,
    /// Their type (one of [`STRIPE_EVENT_TYPES`]); `None` (the default) mixes failures and
    /// successes the way the generated account does.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Whether to deliver them to the loopback webhook endpoints now (default `true`).
    #[serde(default = "yes")]
    pub deliver: bool,
}

impl StripeEventsRequest {
    /// `count` events of `kind` (the usual mix when `None`), delivered.
    pub fn new(count: usize, kind: Option<&str>) -> Self {
        StripeEventsRequest {
            count,
            kind: kind.map(str::to_owned),
            deliver: true,
        }
    }

    /// Appends them without delivering (pending for their endpoints until redelivered).
    #[must_use]
    pub fn undelivered(mut self) -> Self {
        self.deliver = false;
        self
    }
}

impl Default for StripeEventsRequest {
    fn default() -> Self {
        StripeEventsRequest::new(1, None)
    }
}

/// The body of `POST /_sim/twilio/alerts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioAlertsRequest {
    /// How many alerts (1 to [`MAX_COUNT`]; default 1).
    #[serde(default = "one")]
    pub count: usize,
    /// Their Twilio error code (`"30007"` or `30007`); `None` (the default) mixes them the way
    /// the generated account does.
    #[serde(default, deserialize_with = "error_code")]
    pub error_code: Option<u32>,
}

impl Default for TwilioAlertsRequest {
    fn default() -> Self {
        TwilioAlertsRequest {
            count: 1,
            error_code: None,
        }
    }
}

/// An error code written as a string of digits (as Twilio writes them) or a number.
fn error_code<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Code {
        Number(u32),
        Text(String),
    }
    match Option::<Code>::deserialize(d)? {
        None => Ok(None),
        Some(Code::Number(n)) => Ok(Some(n)),
        Some(Code::Text(t)) => t.trim().parse().map(Some).map_err(|_| {
            serde::de::Error::custom(format!(
                "error_code {t:?} is not a Twilio error code (digits, like \"30007\")"
            ))
        }),
    }
}

/// The body of `POST /_sim/stripe/redeliver`: nothing to set.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RedeliverRequest {}

/// One delivery attempt of one event to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryAttempt {
    /// The endpoint (`we_...`).
    pub endpoint: String,
    /// Where it was sent.
    pub url: String,
    /// The HTTP status answered; `None` when there was no answer or no attempt.
    pub status: Option<u16>,
    /// Why it did not deliver (`connection refused`, `HTTP 500`, `timed out`, `endpoint
    /// disabled: not called`...); `None` when it did.
    pub error: Option<String>,
    /// Answered 2xx.
    pub delivered: bool,
}

/// What became of one event's delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventDelivery {
    /// The event (`evt_...`).
    pub id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its `created` (Unix seconds).
    pub created: i64,
    /// The attempts made by this call, one per pending endpoint (empty when nothing was sent).
    pub attempts: Vec<DeliveryAttempt>,
    /// At least one endpoint answered 2xx in this call.
    pub delivered: bool,
    /// Endpoints still to reach after this call (the event's `pending_webhooks`).
    pub pending_webhooks: u32,
}

/// The answer to `POST /_sim/stripe/events` and `POST /_sim/stripe/redeliver`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    /// The events concerned, oldest first: the new ones, or those redelivery tried.
    pub ids: Vec<String>,
    /// Those at least one endpoint accepted in this call.
    pub delivered: Vec<String>,
    /// Those still pending for some endpoint (listed under `delivery_success=false`).
    pub pending: Vec<String>,
    /// Each event with its attempts.
    pub events: Vec<EventDelivery>,
}

impl DeliveryReport {
    /// The report over `events` (oldest first).
    pub(crate) fn of(events: Vec<EventDelivery>) -> Self {
        let pick = |f: fn(&EventDelivery) -> bool| -> Vec<String> {
            events
                .iter()
                .filter(|e| f(e))
                .map(|e| e.id.clone())
                .collect()
        };
        DeliveryReport {
            ids: pick(|_| true),
            delivered: pick(|e| e.delivered),
            pending: pick(|e| e.pending_webhooks > 0),
            events,
        }
    }
}

/// Whether `url` points at this machine: an IPv4 or IPv6 loopback address, or `localhost`.
pub fn is_loopback_url(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Checks `count` against 1..=[`MAX_COUNT`].
pub(crate) fn check_count(count: usize) -> Result<(), String> {
    if (1..=MAX_COUNT).contains(&count) {
        Ok(())
    } else {
        Err(format!("count {count} must be between 1 and {MAX_COUNT}"))
    }
}

/// The JSON error answer of a control route.
pub(crate) fn refuse(status: StatusCode, reason: &str) -> Response {
    (status, axum::Json(json!({ "error": reason }))).into_response()
}

/// The 403 of a control route when the simulator may listen beyond loopback.
pub(crate) fn refuse_remote(config: &SimConfig) -> Option<Response> {
    config.allow_non_loopback.then(|| {
        refuse(
            StatusCode::FORBIDDEN,
            "run-time events are refused when the simulator may listen beyond loopback",
        )
    })
}

/// Reads a control body (an empty one takes the defaults); why it is not a `T`, if it is not.
pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, String> {
    let text: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    let value: serde_json::Value =
        serde_json::from_slice(text).map_err(|e| format!("invalid request: {e}"))?;
    if !value.is_object() {
        return Err("invalid request: expected a JSON object".into());
    }
    serde_json::from_value(value).map_err(|e| format!("invalid request: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_with_defaults_and_refuse_what_they_cannot_use() {
        let empty = parse_body::<StripeEventsRequest>(&Bytes::new()).ok();
        assert_eq!(empty, Some(StripeEventsRequest::default()));
        let full: Option<StripeEventsRequest> = parse_body(&Bytes::from_static(
            br#"{"count": 3, "type": "charge.failed", "deliver": false}"#,
        ))
        .ok();
        assert_eq!(
            full,
            Some(StripeEventsRequest::new(3, Some("charge.failed")).undelivered())
        );
        for bad in [
            &br#"{"count": -1}"#[..],
            br#"{"count": "two"}"#,
            br#"{"kind": "charge.failed"}"#,
            br#"[]"#,
            br#"{"count":"#,
        ] {
            assert!(
                parse_body::<StripeEventsRequest>(&Bytes::copy_from_slice(bad)).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let text: Option<TwilioAlertsRequest> = parse_body(&Bytes::from_static(
            br#"{"count": 2, "error_code": "30007"}"#,
        ))
        .ok();
        let number: Option<TwilioAlertsRequest> =
            parse_body(&Bytes::from_static(br#"{"count": 2, "error_code": 30007}"#)).ok();
        assert_eq!(text, number);
        assert_eq!(text.map(|r| r.error_code), Some(Some(30007)));
        assert!(
            parse_body::<TwilioAlertsRequest>(&Bytes::from_static(br#"{"error_code": "x1"}"#))
                .is_err()
        );
        assert!(parse_body::<RedeliverRequest>(&Bytes::from_static(b" ")).is_ok());
        assert!(parse_body::<RedeliverRequest>(&Bytes::from_static(br#"{"all":1}"#)).is_err());
        assert!(check_count(0).is_err() && check_count(MAX_COUNT + 1).is_err());
        assert!(check_count(MAX_COUNT).is_ok());
    }

    #[test]
    fn only_loopback_urls_are_loopback() {
        for (u, want) in [
            ("http://127.0.0.1:9/h", true),
            ("http://127.8.0.1/h", true),
            ("http://[::1]:80/h", true),
            ("http://LOCALHOST:1/h", true),
            ("https://localhost/h", true),
            ("http://localhost.example.com/h", false),
            ("http://10.0.0.1/h", false),
            ("http://[::ffff:127.0.0.1]/h", false),
            ("https://api.example.com/h", false),
        ] {
            let parsed = Url::parse(u).expect("url");
            assert_eq!(is_loopback_url(&parsed), want, "{u}");
        }
    }
}
