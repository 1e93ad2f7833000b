//! The receiver: `POST /webhooks/stripe`, `/webhooks/twilio`, `/webhooks/openai` on the raw
//! body, and `GET /healthz`.
//!
//! Every request is checked in this order, cheapest first, each failure answered with a reason
//! that reveals nothing secret and counted per provider and reason: content type (415), the
//! signature headers' presence and shape (400) — all before a byte of the body is read, so an
//! unsigned request costs nothing beyond its headers —, then the body read up to its cap (413;
//! Twilio's cap is smaller: its callbacks are a few KiB), a form's parameter count (400), the
//! provider's signature over the raw bytes (401 mismatch or a timestamp outside the tolerance —
//! a replay), the payload's identity and the length of its keys (400). Then the event is handed
//! to the group-commit [`Ingest`] and the sender is answered 200 only once it is committed — a
//! duplicate (same identity) is answered 200 too and stored once. A commit that takes longer
//! than [`ReceiverConfig::commit_timeout`] is answered 503 (the provider retries), and while
//! the store lags new webhooks are shed with 503 and `Retry-After` before they queue.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiops_core::{Service, metric_names};
use apiops_store::{InboxEvent, Source};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use secrecy::SecretString;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::ingest::{Ingest, IngestError, StoreHealth};
use crate::signature::{self, SignatureError};

/// The default body limit: Stripe events are well under 1 MiB.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

/// The default cap on a Twilio callback's body: they are form posts of a few KiB.
pub const DEFAULT_MAX_TWILIO_BODY: usize = 64 * 1024;

/// The default cap on a Twilio form's parameter count.
pub const DEFAULT_MAX_FORM_PARAMS: usize = 1_000;

/// The default wait for a commit before a webhook is answered 503.
pub const DEFAULT_COMMIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest identity (event id, webhook-id, Twilio idempotency token) stored.
pub const MAX_KEY_LEN: usize = 255;

/// Seconds a shed or timed-out sender is told to wait (`Retry-After`).
pub const RETRY_AFTER_SECS: u64 = 5;

/// What the receiver verifies with.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// The URL the providers call, without the path (`https://hooks.example.com`): Twilio signs
    /// the full URL it requested. Without it, the URL is rebuilt from the `Host` header and
    /// `X-Forwarded-Proto` (a proxy in front must pass them unchanged).
    pub public_url: Option<url::Url>,
    /// Stripe endpoint signing secrets (`whsec_...`; several during a rotation).
    pub stripe_secrets: Vec<SecretString>,
    /// The Twilio auth token (Twilio signs with it).
    pub twilio_auth_token: Option<SecretString>,
    /// Standard Webhooks secrets of OpenAI (`whsec_...`; several during a rotation).
    pub openai_secrets: Vec<SecretString>,
    /// Accepted distance of a signed timestamp from now, both directions.
    pub tolerance: Duration,
    /// Largest body accepted.
    pub max_body: usize,
    /// Largest Twilio callback body accepted.
    pub max_twilio_body: usize,
    /// Most parameters in a Twilio form callback.
    pub max_form_params: usize,
    /// How long a webhook waits for its commit before it is answered 503.
    pub commit_timeout: Duration,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            public_url: None,
            stripe_secrets: Vec::new(),
            twilio_auth_token: None,
            openai_secrets: Vec::new(),
            tolerance: signature::DEFAULT_TOLERANCE,
            max_body: DEFAULT_MAX_BODY,
            max_twilio_body: DEFAULT_MAX_TWILIO_BODY,
            max_form_params: DEFAULT_MAX_FORM_PARAMS,
            commit_timeout: DEFAULT_COMMIT_TIMEOUT,
        }
    }
}

impl ReceiverConfig {
    /// The providers whose webhooks can be verified (a secret is configured).
    pub fn enabled(&self) -> Vec<Service> {
        let mut v = Vec::new();
        if self.twilio_auth_token.is_some() {
            v.push(Service::Twilio);
        }
        if !self.openai_secrets.is_empty() {
            v.push(Service::Openai);
        }
        if !self.stripe_secrets.is_empty() {
            v.push(Service::Stripe);
        }
        v
    }
}

/// Counts by (key, label), for the receivers' outcomes.
#[derive(Debug)]
pub(crate) struct Tally<K>(Mutex<BTreeMap<(K, &'static str), u64>>);

impl<K> Default for Tally<K> {
    fn default() -> Self {
        Tally(Mutex::new(BTreeMap::new()))
    }
}

impl<K: Ord + Clone> Tally<K> {
    pub(crate) fn add(&self, key: K, label: &'static str) {
        if let Ok(mut m) = self.0.lock() {
            *m.entry((key, label)).or_default() += 1;
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<(K, &'static str, u64)> {
        self.0
            .lock()
            .map(|m| m.iter().map(|((k, l), n)| (k.clone(), *l, *n)).collect())
            .unwrap_or_default()
    }
}

/// Requests counted by outcome.
#[derive(Debug, Default)]
pub struct ReceiverMetrics {
    accepted: Tally<Service>,
    rejected: Tally<Service>,
    in_flight: AtomicU64,
}

impl ReceiverMetrics {
    /// `(service, "new" | "duplicate", count)`.
    pub fn accepted(&self) -> Vec<(Service, &'static str, u64)> {
        self.accepted.snapshot()
    }

    /// `(service, reason, count)`.
    pub fn rejected(&self) -> Vec<(Service, &'static str, u64)> {
        self.rejected.snapshot()
    }

    /// Requests being handled right now.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }
}

/// What the handlers share.
#[allow(missing_debug_implementations)]
pub struct ReceiverState {
    /// Secrets and limits.
    pub config: ReceiverConfig,
    /// The durable writer.
    pub ingest: Ingest,
    /// Counters.
    pub metrics: Arc<ReceiverMetrics>,
    /// The clock (injected for tests of the tolerance).
    pub now: Arc<dyn Fn() -> Timestamp + Send + Sync>,
    /// The reconciler's progress, when one runs.
    pub reconciler: Option<Arc<crate::reconcile::ReconcileStatus>>,
}

/// The receiver's routes.
pub fn router(state: Arc<ReceiverState>) -> Router {
    let limit = state.config.max_body;
    Router::new()
        .route("/webhooks/stripe", post(stripe))
        .route("/webhooks/twilio", post(twilio))
        .route("/webhooks/openai", post(openai))
        .route("/healthz", get(healthz))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

type St = State<Arc<ReceiverState>>;

/// A rejection: status, the reason's label (for counters), the message (for the sender).
pub(crate) struct Reject {
    pub(crate) status: StatusCode,
    pub(crate) label: &'static str,
    pub(crate) message: String,
}

/// Whether a rejection asks the sender to come back later (`Retry-After`).
pub(crate) fn retry_later(status: StatusCode) -> bool {
    status == StatusCode::SERVICE_UNAVAILABLE
}

impl Reject {
    pub(crate) fn new(status: StatusCode, label: &'static str, message: impl Into<String>) -> Self {
        Reject {
            status,
            label,
            message: message.into(),
        }
    }

    pub(crate) fn signature(e: &SignatureError) -> Self {
        match e {
            SignatureError::MissingHeader(_) | SignatureError::MissingNamedHeader(_) => {
                Reject::new(StatusCode::BAD_REQUEST, "missing_signature", e.to_string())
            }
            SignatureError::TimestampOutsideTolerance { .. } => Reject::new(
                StatusCode::UNAUTHORIZED,
                "timestamp_outside_tolerance",
                e.to_string(),
            ),
            SignatureError::Mismatch | SignatureError::BodyHashMismatch => {
                Reject::new(StatusCode::UNAUTHORIZED, "bad_signature", e.to_string())
            }
            SignatureError::InvalidSecret(_) => Reject::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_configured",
                "the receiver's signing secret is not usable; see its logs",
            ),
            _ => Reject::new(
                StatusCode::BAD_REQUEST,
                "malformed_signature",
                e.to_string(),
            ),
        }
    }
}

/// Counts the outcome, logs a rejection (reason only: never a header value or secret), and
/// answers.
fn answer(state: &ReceiverState, service: Service, r: Result<bool, Reject>) -> Response {
    let tally = match &r {
        Ok(_) => &state.metrics.accepted,
        Err(_) => &state.metrics.rejected,
    };
    respond(service.as_str(), r, |label| tally.add(service, label))
}

/// Counts the outcome under `provider` (`count` gets "new", "duplicate" or the rejection's
/// label), logs a rejection, and answers.
pub(crate) fn respond(
    provider: &str,
    r: Result<bool, Reject>,
    count: impl FnOnce(&'static str),
) -> Response {
    match r {
        Ok(new) => {
            let outcome = if new { "new" } else { "duplicate" };
            count(outcome);
            metrics::counter!(
                metric_names::WEBHOOKS_RECEIVED_TOTAL,
                "provider" => provider.to_owned(),
                "outcome" => outcome
            )
            .increment(1);
            (
                StatusCode::OK,
                axum::Json(json!({"received": true, "duplicate": !new})),
            )
                .into_response()
        }
        Err(reject) => {
            count(reject.label);
            metrics::counter!(
                metric_names::WEBHOOKS_REJECTED_TOTAL,
                "provider" => provider.to_owned(),
                "reason" => reject.label
            )
            .increment(1);
            tracing::warn!(
                provider,
                status = reject.status.as_u16(),
                reason = reject.label,
                "webhook rejected: {}",
                reject.message
            );
            let mut r = (
                reject.status,
                axum::Json(json!({"error": reject.message, "reason": reject.label})),
            )
                .into_response();
            if retry_later(reject.status) {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, RETRY_AFTER_SECS.into());
            }
            r
        }
    }
}

pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The media type, lower-cased, without parameters.
fn media_type(headers: &HeaderMap) -> String {
    header_str(headers, header::CONTENT_TYPE.as_str())
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn require_type(headers: &HeaderMap, allowed: &[&str]) -> Result<String, Reject> {
    let t = media_type(headers);
    if allowed.contains(&t.as_str()) {
        Ok(t)
    } else {
        Err(Reject::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("expected {}", allowed.join(" or ")),
        ))
    }
}

async fn store(state: &ReceiverState, event: InboxEvent) -> Result<bool, Reject> {
    // No provider sends a NUL byte (JSON escapes it; forms percent-encode it), and some
    // databases cannot store one: refuse it rather than fail a whole group commit.
    if event.payload.contains('\0') {
        return Err(Reject::new(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            "the body contains a NUL byte",
        ));
    }
    let timeout = state.config.commit_timeout;
    if let Some(lag) = state.ingest.lagging(timeout) {
        return Err(Reject::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_lagging",
            format!("the store is lagging ({lag}); retry later"),
        ));
    }
    let Ok(submitted) = tokio::time::timeout(timeout, state.ingest.submit(event)).await else {
        return Err(Reject::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "commit_timeout",
            "the event was not committed in time; retry later",
        ));
    };
    match submitted {
        Ok(new) => Ok(new),
        Err(IngestError::Closed) => Err(Reject::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the receiver is shutting down; retry later",
        )),
        Err(IngestError::Store(_)) => Err(Reject::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_failed",
            "the event could not be stored; retry later",
        )),
    }
}

/// Reads the body, at most `limit` bytes: a declared `Content-Length` over it is refused before
/// reading, a body that grows over it while read is cut off.
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, Reject> {
    let too_large = || {
        Reject::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is larger than {limit} bytes"),
        )
    };
    let declared = header_str(headers, header::CONTENT_LENGTH.as_str())
        .trim()
        .parse::<u64>()
        .ok();
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(err) = source {
            if err.is::<http_body_util::LengthLimitError>() {
                return too_large();
            }
            source = err.source();
        }
        Reject::new(
            StatusCode::BAD_REQUEST,
            "unreadable_body",
            "the body could not be read",
        )
    })
}

/// Refuses an identity longer than the store keeps.
pub(crate) fn key_len(key: &str, what: &str) -> Result<(), Reject> {
    if key.len() > MAX_KEY_LEN {
        return Err(Reject::new(
            StatusCode::BAD_REQUEST,
            "key_too_long",
            format!("the {what} is longer than {MAX_KEY_LEN} bytes"),
        ));
    }
    Ok(())
}

/// A request being handled: counted in flight, and timed until it is answered (the commit
/// wait included) into `apiops_webhook_request_duration_seconds{provider}`.
struct InFlight<'a> {
    metrics: &'a ReceiverMetrics,
    service: Service,
    started: std::time::Instant,
}

impl<'a> InFlight<'a> {
    fn enter(m: &'a ReceiverMetrics, service: Service) -> Self {
        let now = m.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        metrics::gauge!(metric_names::WEBHOOKS_IN_FLIGHT).set(now as f64);
        InFlight {
            metrics: m,
            service,
            started: std::time::Instant::now(),
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let now = self.metrics.in_flight.fetch_sub(1, Ordering::Relaxed) - 1;
        metrics::gauge!(metric_names::WEBHOOKS_IN_FLIGHT).set(now as f64);
        metrics::histogram!(
            metric_names::WEBHOOK_REQUEST_DURATION_SECONDS,
            "provider" => self.service.as_str()
        )
        .record(self.started.elapsed().as_secs_f64());
    }
}

async fn stripe(State(state): St, headers: HeaderMap, body: Body) -> Response {
    let _g = InFlight::enter(&state.metrics, Service::Stripe);
    let r = async {
        require_type(&headers, &["application/json"])?;
        if state.config.stripe_secrets.is_empty() {
            return Err(not_configured("Stripe", "STRIPE_WEBHOOK_SECRET"));
        }
        signature::stripe::parse_header(header_str(&headers, signature::stripe::HEADER))
            .map_err(|e| Reject::signature(&e))?;
        let body = read_body(&headers, body, state.config.max_body).await?;
        signature::stripe::verify(
            &body,
            header_str(&headers, signature::stripe::HEADER),
            &state.config.stripe_secrets,
            state.config.tolerance,
            (state.now)(),
        )
        .map_err(|e| Reject::signature(&e))?;
        let (id, kind) = json_identity(&body)?;
        store(
            &state,
            inbox(Service::Stripe, id, kind, &body, (state.now)()),
        )
        .await
    }
    .await;
    answer(&state, Service::Stripe, r)
}

async fn openai(State(state): St, headers: HeaderMap, body: Body) -> Response {
    let _g = InFlight::enter(&state.metrics, Service::Openai);
    let r = async {
        require_type(&headers, &["application/json"])?;
        if state.config.openai_secrets.is_empty() {
            return Err(not_configured("OpenAI", "OPENAI_WEBHOOK_SECRET"));
        }
        let h = signature::standard::StandardHeaders {
            id: header_str(&headers, signature::standard::ID_HEADER),
            timestamp: header_str(&headers, signature::standard::TIMESTAMP_HEADER),
            signature: header_str(&headers, signature::standard::SIGNATURE_HEADER),
        };
        if h.id.is_empty() {
            return Err(Reject::signature(&SignatureError::MissingHeader(
                signature::standard::ID_HEADER,
            )));
        }
        key_len(h.id, "webhook-id")?;
        signature::standard::parse_timestamp(h.timestamp).map_err(|e| Reject::signature(&e))?;
        signature::standard::parse_signatures(h.signature).map_err(|e| Reject::signature(&e))?;
        let body = read_body(&headers, body, state.config.max_body).await?;
        signature::standard::verify(
            &body,
            &h,
            &state.config.openai_secrets,
            state.config.tolerance,
            (state.now)(),
        )
        .map_err(|e| Reject::signature(&e))?;
        // The webhook-id is the message's identity: re-deliveries keep it.
        let (_, kind) = json_identity(&body)?;
        store(
            &state,
            inbox(Service::Openai, h.id.to_owned(), kind, &body, (state.now)()),
        )
        .await
    }
    .await;
    answer(&state, Service::Openai, r)
}

async fn twilio(State(state): St, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    let _g = InFlight::enter(&state.metrics, Service::Twilio);
    let r = async {
        let media = require_type(
            &headers,
            &["application/x-www-form-urlencoded", "application/json"],
        )?;
        let Some(token) = &state.config.twilio_auth_token else {
            return Err(not_configured("Twilio", "TWILIO_AUTH_TOKEN"));
        };
        let url = requested_url(&state.config, &headers, &uri)?;
        let sig = header_str(&headers, signature::twilio::HEADER);
        signature::twilio::check_header(sig).map_err(|e| Reject::signature(&e))?;
        let token_header = header_str(&headers, "i-twilio-idempotency-token").trim();
        key_len(token_header, "I-Twilio-Idempotency-Token")?;
        let body = read_body(&headers, body, state.config.max_twilio_body).await?;
        let (kind, key) = if media == "application/json" {
            signature::twilio::verify_json(&url, &body, sig, token)
                .map_err(|e| Reject::signature(&e))?;
            let v: serde_json::Value = serde_json::from_slice(&body).map_err(|_| {
                Reject::new(
                    StatusCode::BAD_REQUEST,
                    "malformed_body",
                    "the body is not JSON",
                )
            })?;
            let kind = v["type"].as_str().unwrap_or("twilio.event").to_owned();
            (kind, None)
        } else {
            // Counted before anything is decoded: a form of a million empty parameters is
            // refused for the price of a byte scan.
            let pairs = body.split(|b| *b == b'&').count();
            if pairs > state.config.max_form_params {
                return Err(Reject::new(
                    StatusCode::BAD_REQUEST,
                    "too_many_params",
                    format!(
                        "the form has more than {} parameters",
                        state.config.max_form_params
                    ),
                ));
            }
            let params = signature::twilio::form_params(&body);
            signature::twilio::verify(&url, &params, sig, token)
                .map_err(|e| Reject::signature(&e))?;
            (callback_type(&params), None::<String>)
        };
        let key = key.unwrap_or_else(|| {
            if token_header.is_empty() {
                // No token: a digest of the payload (the same callback re-sent is the same).
                format!("sha256:{}", hex::encode(Sha256::digest(&body)))
            } else {
                format!("token:{token_header}")
            }
        });
        store(
            &state,
            inbox(Service::Twilio, key, kind, &body, (state.now)()),
        )
        .await
    }
    .await;
    answer(&state, Service::Twilio, r)
}

/// `message.<status>` / `call.<status>` for status callbacks, else `twilio.callback`.
fn callback_type(params: &[(String, String)]) -> String {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if let Some(s) = get("MessageStatus").or_else(|| get("SmsStatus")) {
        format!("message.{}", s.to_ascii_lowercase())
    } else if let Some(s) = get("CallStatus") {
        format!("call.{}", s.to_ascii_lowercase())
    } else {
        "twilio.callback".to_owned()
    }
}

/// The URL Twilio requested: the configured public URL with the request's path and query, or
/// one rebuilt from `Host` and `X-Forwarded-Proto`.
fn requested_url(
    config: &ReceiverConfig,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<String, Reject> {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    if let Some(base) = &config.public_url {
        let base = base.as_str().trim_end_matches('/');
        return Ok(format!("{base}{path}"));
    }
    let host = header_str(headers, header::HOST.as_str());
    if host.is_empty() {
        return Err(Reject::new(
            StatusCode::BAD_REQUEST,
            "no_host",
            "no Host header to rebuild the signed URL (configure --public-url)",
        ));
    }
    let proto = match header_str(headers, "x-forwarded-proto") {
        "" => "http",
        p => p,
    };
    Ok(format!("{proto}://{host}{path}"))
}

fn not_configured(provider: &str, variable: &str) -> Reject {
    Reject::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "not_configured",
        format!("{provider} webhooks are not configured on this receiver (set {variable})"),
    )
}

/// The identity fields of an event, borrowed: the rest of the body is skipped, not built.
#[derive(serde::Deserialize)]
struct Identity<'a> {
    #[serde(borrow, default)]
    id: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default, rename = "type")]
    kind: Option<std::borrow::Cow<'a, str>>,
}

/// Reads `(id, type)` from a JSON body.
fn json_identity(body: &[u8]) -> Result<(String, String), Reject> {
    let v: Identity<'_> = serde_json::from_slice(body).map_err(|_| {
        Reject::new(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            "the body is not a JSON object",
        )
    })?;
    let ident =
        v.id.filter(|s| !s.is_empty() && s.len() <= 255)
            .ok_or_else(|| {
                Reject::new(
                    StatusCode::BAD_REQUEST,
                    "malformed_body",
                    "the event has no id",
                )
            })?;
    let t = v.kind.as_deref().unwrap_or("unknown");
    Ok((ident.into_owned(), t.chars().take(100).collect()))
}

fn inbox(service: Service, key: String, kind: String, body: &[u8], now: Timestamp) -> InboxEvent {
    InboxEvent {
        service,
        dedup_key: key,
        event_type: kind,
        source: Source::Webhook,
        received_at: now,
        payload: String::from_utf8_lossy(body).into_owned(),
    }
}

/// `GET /healthz`, for load balancers and anyone: 200 while the store takes commits in time,
/// 503 (with `Retry-After`) while it fails or lags. Nothing else: no counts, no provider or
/// store error text (those are in [`details`], behind the dashboard's token).
async fn healthz(State(state): St) -> Response {
    let (status, store) = match state.ingest.health(state.config.commit_timeout) {
        StoreHealth::Ok => (StatusCode::OK, "ok"),
        StoreHealth::Lagging(_) => (StatusCode::SERVICE_UNAVAILABLE, "lagging"),
        StoreHealth::Failing => (StatusCode::SERVICE_UNAVAILABLE, "failing"),
    };
    let mut r = (
        status,
        axum::Json(json!({
            "status": if status == StatusCode::OK { "ok" } else { "unavailable" },
            "store": store,
        })),
    )
        .into_response();
    if status != StatusCode::OK {
        r.headers_mut()
            .insert(header::RETRY_AFTER, RETRY_AFTER_SECS.into());
    }
    r
}

/// The receiver's details: receivers, counts, the store's state and why, the reconciler's
/// progress (whose last error may quote a provider), rejections by reason. `apiops serve`
/// mounts it at `/healthz/details` behind the dashboard's token.
pub fn details(state: &ReceiverState) -> serde_json::Value {
    let s = state.ingest.stats();
    let store = match state.ingest.health(state.config.commit_timeout) {
        StoreHealth::Ok => json!({"state": "ok"}),
        StoreHealth::Lagging(why) => json!({"state": "lagging", "why": why}),
        StoreHealth::Failing => {
            json!({"state": "failing", "why": "the last commit failed; see the logs"})
        }
    };
    json!({
        "store": store,
        "receivers": state.config.enabled().iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "in_flight": state.metrics.in_flight(),
        "stored": s.stored.load(Ordering::Relaxed),
        "duplicates": s.duplicates.load(Ordering::Relaxed),
        "commits": s.commits.load(Ordering::Relaxed),
        "failed_commits": s.failed_commits.load(Ordering::Relaxed),
        "reconciler": state.reconciler.as_ref().map(|r| json!({"passes": r.passes(), "last": r.last()})),
        "rejected": state.metrics.rejected().iter().map(|(s, r, n)| json!({"provider": s.as_str(), "reason": r, "count": n})).collect::<Vec<_>>(),
    })
}

/// `/healthz/details` alone, for `apiops serve` to mount behind its access guard.
pub fn details_router(state: Arc<ReceiverState>) -> Router {
    Router::new()
        .route(
            "/healthz/details",
            get(|State(state): St| async move { axum::Json(details(&state)) }),
        )
        .with_state(state)
}
