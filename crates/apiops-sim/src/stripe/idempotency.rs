//! Stripe's idempotent requests: a POST carrying an `Idempotency-Key` header runs once; the
//! same key again replays the first result (with `Idempotent-Replayed: true`), and the same key
//! with other parameters or on another endpoint is refused, as Stripe refuses it.
//!
//! As in Stripe, only a request that reached execution saves its result: one that failed
//! parameter validation saves nothing, so it can be corrected and retried under the same key.
//! Here that means successful results only (the simulator's handlers fail only in validation).
//!
//! The store is bounded: it keeps the newest [`CAPACITY`] keys and forgets the oldest beyond
//! that, instead of Stripe's 24-hour expiry — enough for a simulator, whose runs are short.

use std::collections::{HashMap, VecDeque};

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::request::{self, Params, StripeError};

/// How many keys the store remembers.
pub(crate) const CAPACITY: usize = 10_000;

/// Stripe's limit on a key's length.
const MAX_KEY_LEN: usize = 255;

#[derive(Debug)]
struct Saved {
    /// `METHOD path` the key was first used on.
    endpoint: String,
    /// [`Params::fingerprint`] of the first request.
    fingerprint: String,
    status: StatusCode,
    body: Value,
}

/// Results of idempotent requests by key, oldest evicted first.
#[derive(Debug, Default)]
pub(crate) struct Store {
    saved: HashMap<String, Saved>,
    order: VecDeque<String>,
}

impl Store {
    /// How many keys are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.saved.len()
    }

    fn save(&mut self, key: &str, saved: Saved) {
        if self.saved.insert(key.to_owned(), saved).is_none() {
            self.order.push_back(key.to_owned());
        }
        while self.order.len() > CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.saved.remove(&old);
            }
        }
    }

    /// Runs `execute` for a POST to `endpoint` unless the request's idempotency key has a saved
    /// result, and answers. `execute` is called with the store held, so two requests with one key
    /// never both execute; it must not wait on anything.
    pub(crate) fn run(
        &mut self,
        headers: &HeaderMap,
        endpoint: &str,
        p: &Params,
        execute: impl FnOnce() -> Result<Value, StripeError>,
    ) -> Response {
        let key = match idempotency_key(headers) {
            Ok(k) => k,
            Err(rejection) => return rejection.into_response(),
        };
        let Some(key) = key else {
            return match execute() {
                Ok(body) => axum::Json(body).into_response(),
                Err(rejection) => rejection.into_response(),
            };
        };
        let fingerprint = p.fingerprint();
        if let Some(saved) = self.saved.get(&key) {
            if saved.endpoint != endpoint {
                return request::error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    None,
                    None,
                    &format!(
                        "Keys for idempotent requests can only be used for the same endpoint they were first used for ('{}' vs '{}'). Try using a key other than '{key}' if you meant to execute a different request.",
                        saved.endpoint, endpoint
                    ),
                )
                .into_response();
            }
            if saved.fingerprint != fingerprint {
                return crate::faults::stripe_error(
                    StatusCode::BAD_REQUEST,
                    "idempotency_error",
                    None,
                    &format!(
                        "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
                    ),
                );
            }
            let mut replay = (saved.status, axum::Json(saved.body.clone())).into_response();
            replay
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return with_key(replay, &key);
        }
        match execute() {
            Ok(body) => {
                let resp = (StatusCode::OK, axum::Json(body.clone())).into_response();
                self.save(
                    &key,
                    Saved {
                        endpoint: endpoint.to_owned(),
                        fingerprint,
                        status: StatusCode::OK,
                        body,
                    },
                );
                with_key(resp, &key)
            }
            Err(rejection) => rejection.into_response(),
        }
    }
}

/// Stripe echoes the key it used.
fn with_key(mut resp: Response, key: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(key) {
        resp.headers_mut().insert("idempotency-key", v);
    }
    resp
}

/// The request's key: `None` when absent or blank; an error when unreadable or too long.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, StripeError> {
    let Some(raw) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let Ok(text) = raw.to_str() else {
        return Err(request::error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            None,
            None,
            "Invalid Idempotency-Key header: it must be printable ASCII.",
        ));
    };
    let key = text.trim();
    if key.is_empty() {
        return Ok(None);
    }
    if key.len() > MAX_KEY_LEN {
        return Err(request::error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            None,
            None,
            &format!(
                "Invalid Idempotency-Key header: keys can be at most {MAX_KEY_LEN} characters long."
            ),
        ));
    }
    Ok(Some(key.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(key: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(key) {
            h.insert("idempotency-key", v);
        }
        h
    }

    #[test]
    fn replays_refuses_and_stays_bounded() {
        let mut store = Store::default();
        let p = Params::parse(b"a=1");
        let runs = std::cell::Cell::new(0);
        let exec = || {
            runs.set(runs.get() + 1);
            Ok(json!({"n": 1}))
        };
        let first = store.run(&headers("k1"), "POST /v1/x", &p, exec);
        assert_eq!(first.status(), StatusCode::OK);
        assert!(first.headers().get("idempotent-replayed").is_none());
        let again = store.run(&headers("k1"), "POST /v1/x", &p, exec);
        assert_eq!(again.status(), StatusCode::OK);
        assert_eq!(
            again
                .headers()
                .get("idempotent-replayed")
                .map(|v| v.as_bytes()),
            Some(&b"true"[..])
        );
        let other = store.run(&headers("k1"), "POST /v1/x", &Params::parse(b"a=2"), exec);
        assert_eq!(other.status(), StatusCode::BAD_REQUEST);
        let elsewhere = store.run(&headers("k1"), "POST /v1/y", &p, exec);
        assert_eq!(elsewhere.status(), StatusCode::BAD_REQUEST);
        assert_eq!(runs.get(), 1);
        let long = "k".repeat(MAX_KEY_LEN + 1);
        assert_eq!(
            store.run(&headers(&long), "POST /v1/x", &p, exec).status(),
            StatusCode::BAD_REQUEST
        );
        for i in 0..CAPACITY + 5 {
            store.run(&headers(&format!("key-{i}")), "POST /v1/x", &p, exec);
        }
        assert_eq!(store.len(), CAPACITY);
    }
}
