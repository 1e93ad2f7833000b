//! Webhook endpoints: list (newest first, paged), retrieve, create (the only answer that carries
//! the signing `secret` — the account's `STRIPE_WEBHOOK_SECRET`, shared by every endpoint),
//! update (`url`, `enabled_events[]`, `disabled`, `description`,
//! `metadata[k]`) and delete. Creates and updates are state changes: each is counted once as a
//! side effect, and replayed rather than repeated under an `Idempotency-Key`.
//!
//! Validation follows Stripe's rules where apiops could trip on them: required `url` and
//! `enabled_events` on create, an absolute http(s) URL, event names shaped like Stripe's
//! (`charge.failed`) or `*`, booleans as `true`/`false`, and no unknown parameter.
//!
//! Events made to happen at run time (`/_sim/stripe/events`, see [`crate::live`]) are delivered
//! to the enabled endpoints subscribed to their type whose URL is loopback; the others are
//! never called.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::paging::{self, PageRequest};
use super::request::{self, Params, StripeError};
use crate::server::SimState;

/// One webhook endpoint as Stripe stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// `we_...`
    pub(crate) id: String,
    /// Unix seconds.
    pub(crate) created: i64,
    /// Where events are sent.
    pub(crate) url: String,
    /// Event names, or `["*"]` for all.
    pub(crate) enabled_events: Vec<String>,
    /// `status: "disabled"` when set.
    pub(crate) disabled: bool,
    /// The pinned API version; `None` follows the account default.
    pub(crate) api_version: Option<String>,
    /// Free text; `None` when unset.
    pub(crate) description: Option<String>,
    /// `metadata` key-value pairs.
    pub(crate) metadata: BTreeMap<String, String>,
}

impl Endpoint {
    /// The `webhook_endpoint` object; `secret` only in the answer to a create.
    pub(crate) fn to_json(&self, secret: Option<&str>) -> Value {
        let mut v = json!({
            "api_version": self.api_version,
            "application": null,
            "created": self.created,
            "description": self.description,
            "enabled_events": self.enabled_events,
            "id": self.id,
            "livemode": false,
            "metadata": self.metadata,
            "object": "webhook_endpoint",
            "status": if self.disabled { "disabled" } else { "enabled" },
            "url": self.url,
        });
        if let Some(s) = secret {
            v["secret"] = json!(s);
        }
        v
    }
}

/// The endpoints in the order Stripe lists them: newest first (the store keeps them oldest
/// first, and a new one is appended).
fn newest_first(endpoints: &[Endpoint]) -> Vec<&Endpoint> {
    let mut all: Vec<&Endpoint> = endpoints.iter().collect();
    all.reverse();
    all
}

/// `GET /v1/webhook_endpoints`
pub(crate) async fn list(State(state): State<Arc<SimState>>, RawQuery(q): RawQuery) -> Response {
    state.stats.request("stripe.webhook_endpoints.list");
    let p = Params::from_query(q.as_deref());
    let req = match p
        .check_allowed(&["ending_before", "expand", "limit", "starting_after"])
        .and_then(|()| p.array("expand"))
        .and_then(|_| PageRequest::parse(&p))
    {
        Ok(r) => r,
        Err(rejection) => return rejection.into_response(),
    };
    let endpoints = state.stripe.lock_endpoints();
    let ordered = newest_first(&endpoints);
    match paging::page(&ordered, |e| &e.id, |_| true, &req, "webhook endpoint") {
        Ok((data, has_more)) => axum::Json(paging::envelope(
            "/v1/webhook_endpoints",
            data.iter().map(|e| e.to_json(None)).collect(),
            has_more,
        ))
        .into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

/// `GET /v1/webhook_endpoints/{id}`
pub(crate) async fn retrieve(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    state.stats.request("stripe.webhook_endpoints.retrieve");
    request::retrieved(q.as_deref(), "webhook endpoint", &id, || {
        let endpoints = state.stripe.lock_endpoints();
        endpoints
            .iter()
            .find(|e| e.id == id)
            .map(|e| e.to_json(None))
    })
}

/// A POST to `path` with the form `body`, counted as `name`: `change` makes it from the form,
/// once per idempotency key (a repeated key answers what the first request got).
fn idempotent_post(
    state: &SimState,
    name: &str,
    headers: &HeaderMap,
    body: &Bytes,
    path: &str,
    change: impl FnOnce(&Params) -> Result<Value, StripeError>,
) -> Response {
    state.stats.request(name);
    let p = Params::parse(body);
    let mut store = state
        .stripe
        .idempotency
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    store.run(headers, path, &p, || change(&p))
}

/// `POST /v1/webhook_endpoints`
pub(crate) async fn create(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let stripe = &state.stripe;
    let path = "/v1/webhook_endpoints";
    idempotent_post(
        &state,
        "stripe.webhook_endpoints.create",
        &headers,
        &body,
        path,
        |p| {
            let mut endpoint = parse_create(p)?;
            endpoint.id = {
                let mut r = stripe.ids.lock().unwrap_or_else(PoisonError::into_inner);
                crate::rng::stripe_id("we", &mut r)
            };
            endpoint.created = stripe.now();
            // Every endpoint shares the account's signing secret (`STRIPE_WEBHOOK_SECRET`), so one
            // receiver configured from the simulator's environment verifies every delivery.
            let answer = endpoint.to_json(Some(&stripe.webhook_secret));
            stripe.lock_endpoints().push(endpoint);
            state.stats.side_effect("stripe.webhook_endpoints.create");
            Ok(answer)
        },
    )
}

/// `POST /v1/webhook_endpoints/{id}`
pub(crate) async fn update(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let stripe = &state.stripe;
    let path = format!("/v1/webhook_endpoints/{id}");
    idempotent_post(
        &state,
        "stripe.webhook_endpoints.update",
        &headers,
        &body,
        &path,
        |p| {
            let change = parse_update(p)?;
            let mut endpoints = stripe.lock_endpoints();
            let Some(endpoint) = endpoints.iter_mut().find(|e| e.id == id) else {
                return Err(request::no_such("webhook endpoint", &id, "id"));
            };
            change.apply(endpoint);
            state.stats.side_effect("stripe.webhook_endpoints.update");
            Ok(endpoint.to_json(None))
        },
    )
}

/// `DELETE /v1/webhook_endpoints/{id}`
pub(crate) async fn delete(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    state.stats.request("stripe.webhook_endpoints.delete");
    if let Err(rejection) = Params::from_query(q.as_deref()).check_allowed(&[]) {
        return rejection.into_response();
    }
    let mut endpoints = state.stripe.lock_endpoints();
    let Some(pos) = endpoints.iter().position(|e| e.id == id) else {
        return request::no_such("webhook endpoint", &id, "id").into_response();
    };
    endpoints.remove(pos);
    state.stats.side_effect("stripe.webhook_endpoints.delete");
    axum::Json(json!({"deleted": true, "id": id, "object": "webhook_endpoint"})).into_response()
}

/// The changes one update asks for; `None` leaves a field alone.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Change {
    url: Option<String>,
    enabled_events: Option<Vec<String>>,
    disabled: Option<bool>,
    /// `Some(None)` unsets it (`description=`).
    description: Option<Option<String>>,
    /// Pairs to set; an empty value removes the key.
    metadata: Vec<(String, String)>,
    /// `metadata=` (empty): remove every key first.
    clear_metadata: bool,
}

impl Change {
    fn apply(self, e: &mut Endpoint) {
        if let Some(u) = self.url {
            e.url = u;
        }
        if let Some(ev) = self.enabled_events {
            e.enabled_events = ev;
        }
        if let Some(d) = self.disabled {
            e.disabled = d;
        }
        if let Some(d) = self.description {
            e.description = d;
        }
        if self.clear_metadata {
            e.metadata.clear();
        }
        for (k, v) in self.metadata {
            if v.is_empty() {
                e.metadata.remove(&k);
            } else {
                e.metadata.insert(k, v);
            }
        }
    }
}

/// Reads and validates the parameters of an update.
pub(crate) fn parse_update(p: &Params) -> Result<Change, StripeError> {
    p.check_allowed(&[
        "description",
        "disabled",
        "enabled_events",
        "expand",
        "metadata",
        "url",
    ])?;
    p.array("expand")?;
    let url = p.scalar("url")?.map(valid_url).transpose()?;
    let enabled_events = p.array("enabled_events")?.map(valid_events).transpose()?;
    let metadata = p.hash("metadata")?;
    Ok(Change {
        url,
        enabled_events,
        disabled: p.boolean("disabled")?,
        description: p
            .scalar("description")?
            .map(|d| (!d.is_empty()).then(|| d.to_owned())),
        clear_metadata: metadata.as_ref().is_some_and(Vec::is_empty),
        metadata: metadata.unwrap_or_default(),
    })
}

/// Reads and validates the parameters of a create (id and time are the caller's).
fn parse_create(p: &Params) -> Result<Endpoint, StripeError> {
    p.check_allowed(&[
        "api_version",
        "connect",
        "description",
        "enabled_events",
        "expand",
        "metadata",
        "url",
    ])?;
    p.array("expand")?;
    p.boolean("connect")?;
    let url = valid_url(p.scalar("url")?.ok_or_else(|| request::missing("url"))?)?;
    let enabled_events = valid_events(
        p.array("enabled_events")?
            .ok_or_else(|| request::missing("enabled_events"))?,
    )?;
    let api_version = p
        .scalar("api_version")?
        .map(|v| {
            if is_api_version(v) {
                Ok(v.to_owned())
            } else {
                Err(request::invalid(
                    "api_version",
                    Some("parameter_invalid_string"),
                    &format!("Invalid api_version: {v}"),
                ))
            }
        })
        .transpose()?;
    let metadata = p
        .hash("metadata")?
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    Ok(Endpoint {
        id: String::new(),
        created: 0,
        url,
        enabled_events,
        disabled: false,
        api_version,
        description: p
            .scalar("description")?
            .filter(|d| !d.is_empty())
            .map(str::to_owned),
        metadata,
    })
}

/// An absolute http(s) URL with a host, as Stripe requires (test mode allows plain HTTP).
fn valid_url(u: &str) -> Result<String, StripeError> {
    match url::Url::parse(u) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {
            Ok(u.to_owned())
        }
        _ => Err(request::invalid(
            "url",
            Some("url_invalid"),
            &format!("Invalid URL: {u}"),
        )),
    }
}

/// `*`, or names shaped like Stripe's event types (`charge.failed`, `charge.dispute.created`).
fn valid_events(events: Vec<String>) -> Result<Vec<String>, StripeError> {
    if events.is_empty() {
        return Err(request::invalid(
            "enabled_events",
            Some("parameter_invalid_empty"),
            "Invalid array: enabled_events must contain at least one event type",
        ));
    }
    for (i, e) in events.iter().enumerate() {
        let shaped = e == "*"
            || (e.split('.').count() >= 2
                && e.split('.').all(|part| {
                    !part.is_empty()
                        && part
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
                }));
        if !shaped {
            return Err(request::invalid(
                &format!("enabled_events[{i}]"),
                Some("parameter_invalid_string"),
                &format!("Invalid enabled_events[{i}]: {e} is not a valid event type"),
            ));
        }
    }
    Ok(events)
}

/// `YYYY-MM-DD`, optionally with a release name (`2024-09-30.acacia`).
fn is_api_version(v: &str) -> bool {
    let (date, name) = v.split_once('.').unwrap_or((v, "x"));
    let b = date.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && !name.is_empty()
        && name.chars().all(|c| c.is_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint {
            id: "we_1".into(),
            created: 1,
            url: "https://a.example/h".into(),
            enabled_events: vec!["charge.failed".into()],
            disabled: false,
            api_version: None,
            description: Some("d".into()),
            metadata: BTreeMap::from([("a".into(), "1".into()), ("b".into(), "2".into())]),
        }
    }

    #[test]
    fn updates_apply_only_what_was_sent() {
        let mut e = endpoint();
        let change = parse_update(&Params::parse(
            b"enabled_events[]=charge.succeeded&enabled_events[]=payout.failed&disabled=true&description=&metadata[a]=&metadata[c]=3",
        ));
        assert!(change.is_ok());
        if let Ok(c) = change {
            c.apply(&mut e);
        }
        assert_eq!(e.enabled_events, vec!["charge.succeeded", "payout.failed"]);
        assert!(e.disabled);
        assert_eq!(e.description, None);
        assert_eq!(e.url, "https://a.example/h");
        assert_eq!(
            e.metadata,
            BTreeMap::from([("b".into(), "2".into()), ("c".into(), "3".into())])
        );
        assert_eq!(e.to_json(None)["status"], "disabled");
        assert!(e.to_json(None).get("secret").is_none());
        assert_eq!(e.to_json(Some("whsec_x"))["secret"], "whsec_x");
    }

    #[test]
    fn rejects_what_stripe_rejects() {
        for bad in [
            "url=not a url",
            "url=ftp://x.example/h",
            "enabled_events[]=Charge%20Failed",
            "enabled_events=",
            "disabled=maybe",
            "foo=bar",
            "metadata=x",
        ] {
            assert!(
                parse_update(&Params::parse(bad.as_bytes())).is_err(),
                "{bad}"
            );
        }
        assert!(parse_create(&Params::parse(b"enabled_events[]=*")).is_err());
        assert!(parse_create(&Params::parse(b"url=https://x.example/h")).is_err());
        assert!(
            parse_create(&Params::parse(
                b"url=https://x.example/h&enabled_events[]=*&api_version=2020-08-27"
            ))
            .is_ok()
        );
        assert!(
            parse_create(&Params::parse(
                b"url=https://x.example/h&enabled_events[]=*&api_version=latest"
            ))
            .is_err()
        );
        assert!(is_api_version("2024-09-30.acacia"));
        assert!(!is_api_version("2024-9-30"));
    }
}
