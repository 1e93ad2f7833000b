//! The receiver: `POST /webhooks/stripe`, `/webhooks/twilio`, `/webhooks/openai` on the raw
//! body, and `GET /healthz`.
//!
//! Every request is checked in this order, each failure answered with a reason that reveals
//! nothing secret and counted per provider and reason: body size (413), content type (415),
//! the provider's signature over the raw bytes (400 missing or malformed, 401 mismatch or a
//! timestamp outside the tolerance — a replay), the payload's identity (400). Then the event is
//! handed to the group-commit [`Ingest`] and the sender is answered 200 only once it is
//! committed — a duplicate (same identity) is answered 200 too and stored once.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiops_core::Service;
use apiops_store::{InboxEvent, Source};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use secrecy::SecretString;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::ingest::{Ingest, IngestError};
use crate::signature::{self, SignatureError};

/// The default body limit: Stripe events are well under 1 MiB.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

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

/// Requests counted by outcome.
#[derive(Debug, Default)]
pub struct ReceiverMetrics {
    accepted: Mutex<BTreeMap<(Service, &'static str), u64>>,
    rejected: Mutex<BTreeMap<(Service, &'static str), u64>>,
    in_flight: AtomicU64,
}

impl ReceiverMetrics {
    fn accept(&self, service: Service, what: &'static str) {
        if let Ok(mut m) = self.accepted.lock() {
            *m.entry((service, what)).or_default() += 1;
        }
    }

    fn reject(&self, service: Service, reason: &'static str) {
        if let Ok(mut m) = self.rejected.lock() {
            *m.entry((service, reason)).or_default() += 1;
        }
    }

    /// `(service, "new" | "duplicate", count)`.
    pub fn accepted(&self) -> Vec<(Service, &'static str, u64)> {
        self.accepted
            .lock()
            .map(|m| m.iter().map(|((s, w), n)| (*s, *w, *n)).collect())
            .unwrap_or_default()
    }

    /// `(service, reason, count)`.
    pub fn rejected(&self) -> Vec<(Service, &'static str, u64)> {
        self.rejected
            .lock()
            .map(|m| m.iter().map(|((s, w), n)| (*s, *w, *n)).collect())
            .unwrap_or_default()
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
struct Reject {
    status: StatusCode,
    label: &'static str,
    message: String,
}

impl Reject {
    fn new(status: StatusCode, label: &'static str, message: impl Into<String>) -> Self {
        Reject {
            status,
            label,
            message: message.into(),
        }
    }

    fn signature(e: &SignatureError) -> Self {
        match e {
            SignatureError::MissingHeader(_) => {
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
    match r {
        Ok(new) => {
            let outcome = if new { "new" } else { "duplicate" };
            state.metrics.accept(service, outcome);
            metrics::counter!(
                "apiops_webhooks_received_total",
                "provider" => service.as_str(),
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
            state.metrics.reject(service, reject.label);
            metrics::counter!(
                "apiops_webhooks_rejected_total",
                "provider" => service.as_str(),
                "reason" => reject.label
            )
            .increment(1);
            tracing::warn!(
                provider = %service,
                status = reject.status.as_u16(),
                reason = reject.label,
                "webhook rejected: {}",
                reject.message
            );
            (
                reject.status,
                axum::Json(json!({"error": reject.message, "reason": reject.label})),
            )
                .into_response()
        }
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
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
    match state.ingest.submit(event).await {
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
        metrics::gauge!("apiops_webhooks_in_flight").set(now as f64);
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
        metrics::gauge!("apiops_webhooks_in_flight").set(now as f64);
        metrics::histogram!(
            "apiops_webhook_request_duration_seconds",
            "provider" => self.service.as_str()
        )
        .record(self.started.elapsed().as_secs_f64());
    }
}

async fn stripe(State(state): St, headers: HeaderMap, body: Bytes) -> Response {
    let _g = InFlight::enter(&state.metrics, Service::Stripe);
    let r = async {
        require_type(&headers, &["application/json"])?;
        if state.config.stripe_secrets.is_empty() {
            return Err(not_configured("Stripe", "STRIPE_WEBHOOK_SECRET"));
        }
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

async fn openai(State(state): St, headers: HeaderMap, body: Bytes) -> Response {
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

async fn twilio(State(state): St, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
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
            let params = signature::twilio::form_params(&body);
            signature::twilio::verify(&url, &params, sig, token)
                .map_err(|e| Reject::signature(&e))?;
            (callback_type(&params), None::<String>)
        };
        let token_header = header_str(&headers, "i-twilio-idempotency-token").trim();
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

async fn healthz(State(state): St) -> Response {
    let s = state.ingest.stats();
    axum::Json(json!({
        "status": "ok",
        "receivers": state.config.enabled().iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "in_flight": state.metrics.in_flight(),
        "stored": s.stored.load(Ordering::Relaxed),
        "duplicates": s.duplicates.load(Ordering::Relaxed),
        "commits": s.commits.load(Ordering::Relaxed),
        "failed_commits": s.failed_commits.load(Ordering::Relaxed),
        "reconciler": state.reconciler.as_ref().map(|r| json!({"passes": r.passes(), "last": r.last()})),
        "rejected": state.metrics.rejected().iter().map(|(s, r, n)| json!({"provider": s.as_str(), "reason": r, "count": n})).collect::<Vec<_>>(),
    }))
    .into_response()
}
