//! The receiver of configured APIs: `POST /webhooks/{name}` for each `[apis.NAME]` with a
//! `webhooks` scheme ([`crate::scheme`]), beside the receivers of the three services.
//!
//! Each request is checked cheapest first, as in [`crate::receiver`]: the signature headers'
//! presence and shape and the id header's length (before a byte of the body is read), the body
//! up to its cap (413), the signature over the raw bytes, then the timestamp. Every signature
//! failure — missing, malformed, forged, stale or from the future — is answered 401 with a
//! reason that reveals nothing secret; an unusable secret is ours, answered 503. Then the dedup
//! id is read (the id header, the JSON pointer, or the body's SHA-256), and the verified
//! [`Delivery`] is handed to a [`DeliverySink`]; the sender is answered 200 only once the sink
//! has it, with `"duplicate": true` when the sink already had that id (a replay or a retry is
//! acknowledged, not processed twice). A sink slower than the commit timeout is answered 503
//! with `Retry-After`.
//!
//! [`StoreSink`] is what `apiops serve` uses: each delivery goes through the group-commit
//! [`Ingest`] into the store's webhook inbox as `Service::Api(name)`, deduplicated by
//! `(service, id)` in the store, so a replay is a duplicate across restarts and instances.
//! [`MemorySink`] deduplicates in memory and hands new deliveries to a channel (tests, and
//! embedders without a store).

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::future::BoxFuture;
use jiff::Timestamp;
use secrecy::SecretString;
use serde_json::json;
use tokio::sync::{Mutex, mpsc};

use crate::ingest::{Ingest, IngestError};
use crate::receiver::{Reject, Tally, key_len, read_body, respond};
use crate::scheme::{SchemeError, WebhookScheme};
use crate::signature::SignatureError;

/// One configured API's webhook receiver: its name (the path), scheme and secrets.
#[derive(Clone)]
pub struct ApiWebhook {
    /// The API's name: `/webhooks/{name}`.
    pub name: String,
    /// How its deliveries are signed and identified.
    pub scheme: WebhookScheme,
    /// The secrets from `secret_env` (several during a rotation).
    pub secrets: Vec<SecretString>,
}

impl std::fmt::Debug for ApiWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiWebhook")
            .field("name", &self.name)
            .field("scheme", &self.scheme.name)
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

/// The paths of the three services' receivers, which no API may take.
pub const RESERVED_NAMES: &[&str] = &["stripe", "twilio", "openai"];

impl ApiWebhook {
    /// The receiver of API `name`, its secrets read from `scheme.secret_env` through `env`.
    /// The name must be an API's name ([`apiops_core::ApiName`]: 1 to 32 of `a-z`, `0-9`,
    /// `-`, `_`, not one of [`RESERVED_NAMES`]), so that it is a path segment and the store
    /// can key its deliveries.
    pub fn new(
        name: &str,
        scheme: WebhookScheme,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ApiWebhook, SchemeError> {
        if apiops_core::ApiName::new(name).is_err() || RESERVED_NAMES.contains(&name) {
            let shown: String = name.chars().take(40).collect();
            return Err(SchemeError::Invalid {
                key: "name",
                reason: format!(
                    "API name {shown:?} cannot be the webhook path /webhooks/{{name}}: 1 to 32 of a-z, 0-9, - and _, and not stripe, twilio or openai"
                ),
            });
        }
        let secrets = scheme.secrets(env)?;
        Ok(ApiWebhook {
            name: name.to_owned(),
            scheme,
            secrets,
        })
    }
}

/// A verified delivery of a configured API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The API's name.
    pub api: String,
    /// Its dedup key: the id header's or the JSON pointer's value, or `sha256:<hex>` of the
    /// body.
    pub id: String,
    /// The event's type (`unknown` when the scheme names none or it is absent).
    pub event_type: String,
    /// When it was received.
    pub received_at: Timestamp,
    /// When the sender signed it, when the scheme signs a timestamp.
    pub signed_at: Option<Timestamp>,
    /// The body as received (lossy UTF-8).
    pub payload: String,
}

/// Why a sink could not take a delivery: answered 503 so that the sender retries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// The consumer has gone (shutting down).
    #[error("the delivery consumer has stopped")]
    Closed,
    /// Storing failed.
    #[error("storing the delivery failed: {0}")]
    Store(String),
}

/// Where verified deliveries go. `deliver` returns once the delivery is kept (as durably as
/// the sink keeps anything): `Ok(true)` when it was new, `Ok(false)` when a delivery with the
/// same `(api, id)` was kept before.
pub trait DeliverySink: Send + Sync {
    /// Keeps `delivery`, or says it is a duplicate.
    fn deliver(&self, delivery: Delivery) -> BoxFuture<'_, Result<bool, SinkError>>;
}

struct Seen {
    keys: HashSet<(String, String)>,
    order: VecDeque<(String, String)>,
}

/// Deduplicates in memory (the last `capacity` ids) and sends each new delivery to a channel.
/// Not durable: a restart forgets the ids, and a delivery acknowledged but not yet consumed is
/// lost in a crash. Deliveries are taken one at a time, so a repeated id is a duplicate even
/// when both arrive together, and an id is remembered only once its delivery is in the channel.
pub struct MemorySink {
    seen: Mutex<Seen>,
    capacity: usize,
    tx: mpsc::Sender<Delivery>,
}

impl std::fmt::Debug for MemorySink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemorySink")
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl MemorySink {
    /// A sink remembering the last `capacity` ids and queueing up to `queue` deliveries for
    /// the consumer; the receiver half is the consumer's.
    pub fn new(capacity: usize, queue: usize) -> (MemorySink, mpsc::Receiver<Delivery>) {
        let (tx, rx) = mpsc::channel(queue.max(1));
        let sink = MemorySink {
            seen: Mutex::new(Seen {
                keys: HashSet::new(),
                order: VecDeque::new(),
            }),
            capacity: capacity.max(1),
            tx,
        };
        (sink, rx)
    }
}

impl DeliverySink for MemorySink {
    fn deliver(&self, delivery: Delivery) -> BoxFuture<'_, Result<bool, SinkError>> {
        Box::pin(async move {
            let key = (delivery.api.clone(), delivery.id.clone());
            let mut seen = self.seen.lock().await;
            if seen.keys.contains(&key) {
                return Ok(false);
            }
            self.tx
                .send(delivery)
                .await
                .map_err(|_| SinkError::Closed)?;
            if seen.order.len() >= self.capacity
                && let Some(old) = seen.order.pop_front()
            {
                seen.keys.remove(&old);
            }
            seen.keys.insert(key.clone());
            seen.order.push_back(key);
            Ok(true)
        })
    }
}

/// Keeps deliveries durably in the store's webhook inbox, through the group-commit writer:
/// `service = Service::Api(name)`, `dedup_key` the scheme's id, `source = webhook`. The
/// inbox's `(service, dedup_key)` key settles duplicates, so a replay is acknowledged as one
/// even after a restart or on another instance sharing the store.
#[derive(Debug, Clone)]
pub struct StoreSink {
    ingest: Ingest,
}

impl StoreSink {
    /// A sink submitting to `ingest` (the same writer the three services' receivers use).
    pub fn new(ingest: Ingest) -> StoreSink {
        StoreSink { ingest }
    }
}

impl DeliverySink for StoreSink {
    fn deliver(&self, delivery: Delivery) -> BoxFuture<'_, Result<bool, SinkError>> {
        Box::pin(async move {
            // `ApiWebhook::new` checked the name with the same rules: this cannot fail for a
            // delivery of the router, but a sink is public, so it is not assumed.
            let name = apiops_core::ApiName::new(&delivery.api)
                .map_err(|e| SinkError::Store(e.to_string()))?;
            let event = apiops_store::InboxEvent {
                service: apiops_core::Service::Api(name),
                dedup_key: delivery.id,
                event_type: delivery.event_type,
                source: apiops_store::Source::Webhook,
                received_at: delivery.received_at,
                payload: delivery.payload,
            };
            self.ingest.submit(event).await.map_err(|e| match e {
                IngestError::Closed => SinkError::Closed,
                IngestError::Store(m) => SinkError::Store(m),
            })
        })
    }
}

/// What the named receivers share.
#[allow(missing_debug_implementations)]
pub struct ApisState {
    /// The configured APIs with a scheme.
    pub apis: Vec<ApiWebhook>,
    /// Where verified deliveries go.
    pub sink: Arc<dyn DeliverySink>,
    /// The clock (injected for tests of the tolerance).
    pub now: Arc<dyn Fn() -> Timestamp + Send + Sync>,
    /// Largest body accepted.
    pub max_body: usize,
    /// How long a delivery waits for the sink before it is answered 503.
    pub commit_timeout: Duration,
    /// Outcomes by API: `(name, "new" | "duplicate", n)` and `(name, reason, n)`.
    pub metrics: Arc<ApisMetrics>,
}

/// Requests of the named receivers counted by outcome.
#[derive(Debug, Default)]
pub struct ApisMetrics {
    accepted: Tally<String>,
    rejected: Tally<String>,
}

impl ApisMetrics {
    /// `(api, "new" | "duplicate", count)`.
    pub fn accepted(&self) -> Vec<(String, &'static str, u64)> {
        self.accepted.snapshot()
    }

    /// `(api, reason, count)`.
    pub fn rejected(&self) -> Vec<(String, &'static str, u64)> {
        self.rejected.snapshot()
    }
}

/// `POST /webhooks/{name}` for each API in `state`; merge it into [`crate::receiver::router`].
pub fn router(state: Arc<ApisState>) -> Router {
    let mut router = Router::new();
    for index in 0..state.apis.len() {
        let Some(name) = state.apis.get(index).map(|a| a.name.clone()) else {
            continue;
        };
        let s = Arc::clone(&state);
        router = router.route(
            &format!("/webhooks/{name}"),
            post(move |headers: HeaderMap, body: Body| receive(s, index, headers, body)),
        );
    }
    router.layer(DefaultBodyLimit::max(state.max_body))
}

/// What a verified request becomes.
enum Outcome {
    /// Kept (`true`) or a duplicate.
    Kept(bool),
    /// Slack's `url_verification`: the challenge to echo.
    Challenge(String),
}

/// Every signature failure is the sender's authentication failing: 401, except our own
/// unusable secret (503).
fn unauthorized(e: &SignatureError) -> Reject {
    let mut r = Reject::signature(e);
    if r.status == StatusCode::BAD_REQUEST {
        r.status = StatusCode::UNAUTHORIZED;
    }
    r
}

async fn receive(state: Arc<ApisState>, index: usize, headers: HeaderMap, body: Body) -> Response {
    let Some(api) = state.apis.get(index) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let started = std::time::Instant::now();
    let r = handle(&state, api, &headers, body).await;
    metrics::histogram!(
        apiops_core::metric_names::WEBHOOK_REQUEST_DURATION_SECONDS,
        "provider" => api.name.clone()
    )
    .record(started.elapsed().as_secs_f64());
    let tally = match &r {
        Ok(_) => &state.metrics.accepted,
        Err(_) => &state.metrics.rejected,
    };
    match r {
        Ok(Outcome::Challenge(challenge)) => {
            tally.add(api.name.clone(), "challenge");
            (StatusCode::OK, axum::Json(json!({"challenge": challenge}))).into_response()
        }
        Ok(Outcome::Kept(new)) => respond(&api.name, Ok(new), |l| tally.add(api.name.clone(), l)),
        Err(e) => respond(&api.name, Err(e), |l| tally.add(api.name.clone(), l)),
    }
}

async fn handle(
    state: &ApisState,
    api: &ApiWebhook,
    headers: &HeaderMap,
    body: Body,
) -> Result<Outcome, Reject> {
    let scheme = &api.scheme;
    scheme
        .check_headers(headers)
        .map_err(|e| unauthorized(&e))?;
    if let Some(id) = scheme.id_header_value(headers) {
        key_len(id, "delivery id")?;
    }
    let body = read_body(headers, body, state.max_body).await?;
    let signed_at = scheme
        .verify(&body, headers, &api.secrets, (state.now)())
        .map_err(|e| unauthorized(&e))?;
    let parsed = scheme
        .reads_json()
        .then(|| serde_json::from_slice::<serde_json::Value>(&body).ok())
        .flatten();
    if scheme.slack_challenge
        && let Some(v) = &parsed
        && v.get("type").and_then(|t| t.as_str()) == Some("url_verification")
    {
        let challenge = v.get("challenge").and_then(|c| c.as_str()).unwrap_or("");
        key_len(challenge, "challenge")?;
        return Ok(Outcome::Challenge(challenge.to_owned()));
    }
    let id = scheme
        .delivery_id(headers, &body, parsed.as_ref())
        .map_err(|m| Reject::new(StatusCode::BAD_REQUEST, "missing_id", m))?;
    key_len(&id, "delivery id")?;
    if body.contains(&0) {
        return Err(Reject::new(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            "the body contains a NUL byte",
        ));
    }
    let delivery = Delivery {
        api: api.name.clone(),
        id,
        event_type: scheme.event_type(headers, parsed.as_ref()),
        received_at: (state.now)(),
        signed_at,
        payload: String::from_utf8_lossy(&body).into_owned(),
    };
    let Ok(kept) = tokio::time::timeout(state.commit_timeout, state.sink.deliver(delivery)).await
    else {
        return Err(Reject::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "commit_timeout",
            "the delivery was not stored in time; retry later",
        ));
    };
    match kept {
        Ok(new) => Ok(Outcome::Kept(new)),
        Err(SinkError::Closed) => Err(Reject::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the receiver is shutting down; retry later",
        )),
        Err(SinkError::Store(_)) => Err(Reject::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_failed",
            "the delivery could not be stored; retry later",
        )),
    }
}
