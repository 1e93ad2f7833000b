//! The edge every simulated request passes, imitating what sits in front of each provider's
//! API: authentication (with the provider's own error body and status), rate limits (Twilio's
//! concurrency cap with 429/20429, Stripe's per-second rate, OpenAI's requests per minute with
//! `x-ratelimit-*` headers on every answer), latency, and injected faults (5xx, hangs that make
//! clients time out, connection resets, malformed bodies).
//!
//! Faults come from two sources, checked in this order after auth, rate limits and latency:
//! the scripted rules of [`crate::script`] (deterministic: "the second purchase fails") and the
//! seeded random `fault_rate`. Both are counted in `/_sim/stats` under `faults`, per kind.
//!
//! Handlers behind it only implement endpoints; they never see a request that failed here.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::config::SimConfig;
use crate::server::SimState;

/// Which provider a path belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// `/twilio/...`
    Twilio,
    /// `/stripe/...`
    Stripe,
    /// `/openai/...`
    OpenAi,
}

impl Provider {
    /// The provider of a request path, if any.
    pub fn of_path(path: &str) -> Option<Provider> {
        if path.starts_with("/twilio/") {
            Some(Provider::Twilio)
        } else if path.starts_with("/stripe/") {
            Some(Provider::Stripe)
        } else if path.starts_with("/openai/") {
            Some(Provider::OpenAi)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Provider::Twilio => "twilio",
            Provider::Stripe => "stripe",
            Provider::OpenAi => "openai",
        }
    }
}

/// The kinds of injected fault (`server_error`, `unavailable`, `hang`, `reset`, `malformed` in
/// JSON and in `/_sim/stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// 500 with the provider's error body.
    ServerError,
    /// 503 with the provider's error body.
    Unavailable,
    /// No answer for two minutes: the client's timeout fires first. Stopping the simulator
    /// ends the hang by dropping the connection, as killing the process would.
    Hang,
    /// The connection is dropped without an answer.
    Reset,
    /// A 200 whose JSON body is cut short.
    Malformed,
}

impl Fault {
    /// The name in JSON and in `/_sim/stats` (`server_error`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Fault::ServerError => "server_error",
            Fault::Unavailable => "unavailable",
            Fault::Hang => "hang",
            Fault::Reset => "reset",
            Fault::Malformed => "malformed",
        }
    }
}

/// Shared edge state: limiters, the scripted fault rules and the random fault generator.
#[derive(Debug)]
pub struct Edge {
    /// The scripted fault rules.
    pub script: crate::script::Script,
    /// Set when the simulator stops, to end hangs.
    closing: tokio::sync::watch::Sender<bool>,
    twilio_in_flight: AtomicUsize,
    twilio_cap: usize,
    stripe_bucket: Mutex<Bucket>,
    openai_window: Mutex<(Instant, u32)>,
    openai_rpm: Option<u32>,
    fault_rate: f64,
    faults: Mutex<fastrand::Rng>,
    latency: Duration,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    capacity: f64,
    per_second: f64,
    last: Instant,
}

impl Bucket {
    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl Edge {
    /// The edge for `config`.
    pub fn new(config: &SimConfig) -> Self {
        let rate = f64::from(config.stripe_rate);
        Edge {
            script: crate::script::Script::default(),
            closing: tokio::sync::watch::Sender::new(false),
            twilio_in_flight: AtomicUsize::new(0),
            twilio_cap: config.twilio_concurrency,
            stripe_bucket: Mutex::new(Bucket {
                tokens: rate,
                capacity: rate,
                per_second: rate,
                last: Instant::now(),
            }),
            openai_window: Mutex::new((Instant::now(), 0)),
            openai_rpm: config.openai_rpm,
            fault_rate: config.fault_rate,
            faults: Mutex::new(crate::rng::for_purpose(config.seed, "faults")),
            latency: config.latency,
        }
    }

    /// Ends every hang in progress or to come (the simulator is stopping).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Lets hangs hang again (the simulator serves again after a stop).
    pub(crate) fn reopen(&self) {
        self.closing.send_replace(false);
    }

    fn pick_fault(&self) -> Option<Fault> {
        if self.fault_rate <= 0.0 {
            return None;
        }
        let mut r = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        if r.f64() >= self.fault_rate {
            return None;
        }
        Some(match r.u32(..10) {
            0..=3 => Fault::ServerError,
            4..=5 => Fault::Unavailable,
            6 => Fault::Hang,
            7..=8 => Fault::Reset,
            _ => Fault::Malformed,
        })
    }
}

/// Decrements the Twilio in-flight count when the request is done, however it ends.
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The axum middleware.
pub async fn edge(State(state): State<Arc<SimState>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let Some(provider) = Provider::of_path(&path) else {
        return next.run(req).await;
    };
    if let Some(rejection) = authenticate(&state, provider, &path, req.headers()) {
        state.stats.auth_failure(provider.name());
        return rejection;
    }
    let e = &state.edge;
    // Twilio: count this request in flight for its whole life (latency included), so the cap
    // bounds what a client can have outstanding.
    let _guard = match provider {
        Provider::Twilio => {
            let now = e.twilio_in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            let guard = InFlight(&e.twilio_in_flight);
            if now > e.twilio_cap {
                state.stats.rate_limited("twilio");
                let mut resp =
                    twilio_error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests");
                set(
                    resp.headers_mut(),
                    "twilio-concurrent-requests",
                    &now.to_string(),
                );
                return resp;
            }
            Some((guard, now))
        }
        _ => None,
    };
    if provider == Provider::Stripe {
        let ok = e
            .stripe_bucket
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(Instant::now());
        if !ok {
            state.stats.rate_limited("stripe");
            return stripe_error(
                StatusCode::TOO_MANY_REQUESTS,
                "invalid_request_error",
                Some("rate_limit"),
                "Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.",
            );
        }
    }
    let mut openai_headers = None;
    if provider == Provider::OpenAi {
        // Without a configured RPM nothing is refused; the headers still report a (large) limit.
        let limit = e.openai_rpm.unwrap_or(10_000_000);
        let now = Instant::now();
        let (remaining, reset) = {
            let mut w = e.openai_window.lock().unwrap_or_else(|p| p.into_inner());
            if now.saturating_duration_since(w.0) >= Duration::from_secs(60) {
                *w = (now, 0);
            }
            let reset = Duration::from_secs(60).saturating_sub(now.saturating_duration_since(w.0));
            if w.1 >= limit {
                (None, reset)
            } else {
                w.1 += 1;
                (Some(limit - w.1), reset)
            }
        };
        let headers = ratelimit_headers(limit, remaining.unwrap_or(0), reset);
        match remaining {
            None => {
                state.stats.rate_limited("openai");
                let mut resp = openai_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "requests",
                    Some("rate_limit_exceeded"),
                    &format!(
                        "Rate limit reached for requests per min (RPM): Limit {limit}, Used {limit}. Please try again in {}.",
                        go_duration(reset)
                    ),
                );
                resp.headers_mut().extend(headers);
                set(
                    resp.headers_mut(),
                    "retry-after",
                    &reset.as_secs().max(1).to_string(),
                );
                return resp;
            }
            Some(_) => openai_headers = Some(headers),
        }
    }
    if !e.latency.is_zero() {
        tokio::time::sleep(e.latency).await;
    }
    let req = match e.script.check(req).await {
        Ok((_, Some(fault))) => return inject(&state, provider, fault).await,
        Ok((req, None)) => req,
        Err(unreadable) => return unreadable,
    };
    if let Some(fault) = e.pick_fault() {
        return inject(&state, provider, fault).await;
    }
    let mut resp = next.run(req).await;
    if let Some(h) = openai_headers {
        resp.headers_mut().extend(h);
        set(resp.headers_mut(), "openai-processing-ms", "7");
    }
    if let Some((_, n)) = &_guard {
        set(
            resp.headers_mut(),
            "twilio-concurrent-requests",
            &n.to_string(),
        );
    }
    resp
}

async fn inject(state: &SimState, provider: Provider, fault: Fault) -> Response {
    state.stats.fault(fault.name());
    match fault {
        Fault::ServerError | Fault::Unavailable => {
            let status = if fault == Fault::ServerError {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            match provider {
                Provider::Twilio => {
                    twilio_error(status, 20500, "An internal server error has occurred")
                }
                Provider::Stripe => {
                    stripe_error(status, "api_error", None, "An unknown error occurred")
                }
                Provider::OpenAi => openai_error(
                    status,
                    "server_error",
                    None,
                    "The server had an error while processing your request. Sorry about that!",
                ),
            }
        }
        Fault::Hang => {
            let mut closing = state.edge.closing.subscribe();
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(120)) => {
                    StatusCode::GATEWAY_TIMEOUT.into_response()
                }
                // Stopping: drop the connection as a killed process would, so a graceful
                // shutdown does not wait two minutes for the hang.
                _ = closing.wait_for(|c| *c) => reset(),
            }
        }
        Fault::Reset => reset(),
        Fault::Malformed => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"data\": [{\"id\": \"trunc",
        )
            .into_response(),
    }
}

/// A response whose body fails before its first byte: hyper drops the connection without an
/// answer, and the client sees it closed mid-exchange.
fn reset() -> Response {
    let stream = futures::stream::once(async {
        Err::<bytes::Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected reset",
        ))
    });
    Response::new(Body::from_stream(stream))
}

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

/// A Go-style duration, as OpenAI writes its resets (`6m0s`, `12ms`, `1s`).
pub fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs();
    let (m, s) = (secs / 60, secs % 60);
    let frac = d.subsec_millis();
    let s_text = if frac == 0 {
        format!("{s}s")
    } else {
        format!("{s}.{frac:03}s")
    };
    if m > 0 {
        format!("{m}m{s_text}")
    } else {
        s_text
    }
}

fn ratelimit_headers(limit: u32, remaining: u32, reset: Duration) -> HeaderMap {
    let mut h = HeaderMap::new();
    set(&mut h, "x-ratelimit-limit-requests", &limit.to_string());
    set(
        &mut h,
        "x-ratelimit-remaining-requests",
        &remaining.to_string(),
    );
    set(&mut h, "x-ratelimit-reset-requests", &go_duration(reset));
    set(&mut h, "x-ratelimit-limit-tokens", "2000000");
    set(&mut h, "x-ratelimit-remaining-tokens", "1999000");
    set(&mut h, "x-ratelimit-reset-tokens", "30ms");
    h
}

/// Twilio's error document: `{code, message, more_info, status}`.
pub fn twilio_error(status: StatusCode, code: u32, message: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status.as_u16(),
        })),
    )
        .into_response()
}

/// A provider's error document with its status: what the edge or a handler answers when a
/// request is refused.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ErrorDoc {
    /// 400, 404...
    pub(crate) status: StatusCode,
    /// The provider's JSON document.
    pub(crate) body: Value,
}

impl IntoResponse for ErrorDoc {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

/// Stripe's error document `{error: {type, code, message, param, doc_url}}`; `code` brings its
/// `doc_url`, and `param` is there only when the error concerns one.
pub(crate) fn stripe_error_doc(
    status: StatusCode,
    kind: &str,
    code: Option<&str>,
    param: Option<&str>,
    message: &str,
) -> ErrorDoc {
    let mut err = json!({"type": kind, "message": message});
    if let Some(c) = code {
        err["code"] = json!(c);
        err["doc_url"] = json!(format!(
            "https://stripe.com/docs/error-codes/{}",
            c.replace('_', "-")
        ));
    }
    if let Some(p) = param {
        err["param"] = json!(p);
    }
    ErrorDoc {
        status,
        body: json!({ "error": err }),
    }
}

/// Stripe's error document from the edge, which names no parameter.
pub fn stripe_error(status: StatusCode, kind: &str, code: Option<&str>, message: &str) -> Response {
    stripe_error_doc(status, kind, code, None, message).into_response()
}

/// OpenAI's error document `{error: {message, type, param, code}}` (`param` null when the
/// error concerns none).
pub(crate) fn openai_error_doc(
    status: StatusCode,
    kind: &str,
    code: Option<&str>,
    param: Option<&str>,
    message: &str,
) -> ErrorDoc {
    ErrorDoc {
        status,
        body: json!({"error": {"message": message, "type": kind, "param": param, "code": code}}),
    }
}

/// OpenAI's error document from the edge, which names no parameter.
pub fn openai_error(status: StatusCode, kind: &str, code: Option<&str>, message: &str) -> Response {
    openai_error_doc(status, kind, code, None, message).into_response()
}

/// Shows a presented key the way the providers do in their errors: a few characters only.
fn hint(key: &str) -> String {
    let n = key.chars().count();
    if n < 12 {
        return "****".into();
    }
    let head: String = key.chars().take(7).collect();
    let tail: String = key.chars().skip(n - 4).collect();
    format!("{head}****{tail}")
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(|t| t.trim().to_owned())
}

/// `None` when the request may pass; otherwise the provider's own rejection.
fn authenticate(
    state: &SimState,
    provider: Provider,
    path: &str,
    headers: &HeaderMap,
) -> Option<Response> {
    let c = &state.creds;
    match provider {
        Provider::Twilio => {
            let ok = match basic_credentials(headers) {
                Some((u, p)) => {
                    (u == c.twilio_account_sid && p == c.twilio_auth_token)
                        || (u == c.twilio_api_key && p == c.twilio_api_secret)
                }
                None => false,
            };
            // A request for another account's resources is refused the same way.
            let foreign = path
                .split('/')
                .skip_while(|s| *s != "Accounts")
                .nth(1)
                .map(|sid| sid.trim_end_matches(".json"))
                .is_some_and(|sid| !sid.is_empty() && sid != c.twilio_account_sid);
            (!ok || foreign).then(|| twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate"))
        }
        Provider::Stripe => {
            let key = bearer(headers).or_else(|| basic_credentials(headers).map(|(u, _)| u));
            match key {
                None => Some(stripe_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_request_error",
                    None,
                    "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
                )),
                Some(k) if k == c.stripe_secret_key => None,
                Some(k) => Some(stripe_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_request_error",
                    Some("api_key_invalid"),
                    &format!("Invalid API Key provided: {}", hint(&k)),
                )),
            }
        }
        Provider::OpenAi => {
            let admin_only = path.contains("/organization/");
            match bearer(headers) {
                None => Some(openai_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_request_error",
                    None,
                    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                )),
                Some(k) if k == c.openai_admin_key => None,
                Some(k) if k == c.openai_api_key && !admin_only => None,
                Some(k) if k == c.openai_api_key => Some(openai_error(
                    StatusCode::FORBIDDEN,
                    "invalid_request_error",
                    Some("insufficient_permissions"),
                    "This endpoint requires an admin API key.",
                )),
                Some(k) => Some(openai_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_request_error",
                    Some("invalid_api_key"),
                    &format!(
                        "Incorrect API key provided: {}. You can find your API key at https://platform.openai.com/account/api-keys.",
                        hint(&k)
                    ),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_as_openai_writes_them() {
        assert_eq!(go_duration(Duration::from_millis(12)), "12ms");
        assert_eq!(go_duration(Duration::from_secs(1)), "1s");
        assert_eq!(go_duration(Duration::from_secs(360)), "6m0s");
        assert_eq!(go_duration(Duration::from_millis(61_500)), "1m1.500s");
    }

    #[test]
    fn hints_show_little() {
        assert_eq!(hint("short"), "****");
        assert_eq!(hint("sk-sim-0123456789abcdef"), "sk-sim-****cdef");
    }

    #[test]
    fn provider_of_path() {
        assert_eq!(Provider::of_path("/twilio/api/x"), Some(Provider::Twilio));
        assert_eq!(Provider::of_path("/stripe/v1/x"), Some(Provider::Stripe));
        assert_eq!(
            Provider::of_path("/openai/v1/models"),
            Some(Provider::OpenAi)
        );
        assert_eq!(Provider::of_path("/_sim/stats"), None);
    }
}
