//! The receiver over real HTTP on 127.0.0.1: verification, rejections with reasons, durable
//! storage before the answer, deduplication, processing into the event log, group commit.

use std::sync::Arc;

use apiops_core::{Category, ErrorEvent, Service};
use apiops_store::{
    AlertChange, AlertRecord, CheckRecord, EventFilter, InboxEvent, JournalPlan, JournalStep,
    Source, SqliteStore, StepStatus, Store, StoreError, StoredInboxEvent,
};
use apiops_webhooks::ingest::{Ingest, IngestConfig};
use apiops_webhooks::receiver::{ReceiverConfig, ReceiverMetrics, ReceiverState, router};
use apiops_webhooks::signature::{standard, stripe, twilio};
use jiff::Timestamp;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::Notify;

pub(crate) const STRIPE_SECRET: &str = "whsec_canary_stripe_0123456789abcdef";
pub(crate) const TWILIO_TOKEN: &str = "canary_twilio_token_0123456789ab";
const OPENAI_SECRET: &str = "whsec_Y2FuYXJ5X29wZW5haV9zZWNyZXRfMDEyMzQ1Njc4OQ==";

pub(crate) fn t0() -> Timestamp {
    "2026-11-26T02:00:00Z".parse().expect("ts")
}

pub(crate) struct Rx {
    pub(crate) base: String,
    pub(crate) store: Arc<dyn Store>,
    ingest: Ingest,
    pub(crate) http: reqwest::Client,
    _dir: Option<tempfile::TempDir>,
}

pub(crate) fn config() -> ReceiverConfig {
    ReceiverConfig {
        public_url: Some("https://hooks.example.com".parse().expect("url")),
        stripe_secrets: vec![SecretString::from(STRIPE_SECRET)],
        twilio_auth_token: Some(SecretString::from(TWILIO_TOKEN)),
        openai_secrets: vec![SecretString::from(OPENAI_SECRET)],
        max_body: 64 * 1024,
        ..ReceiverConfig::default()
    }
}

pub(crate) async fn sqlite() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let store = SqliteStore::open(&format!("sqlite://{}/rx.db", dir.path().display()))
        .await
        .expect("store");
    (Arc::new(store), dir)
}

pub(crate) async fn start_with(
    store: Arc<dyn Store>,
    config: ReceiverConfig,
    dir: Option<tempfile::TempDir>,
) -> Rx {
    let (ingest, _writer) = Ingest::start(
        Arc::clone(&store),
        IngestConfig::default(),
        Arc::new(Notify::new()),
    );
    let state = Arc::new(ReceiverState {
        config,
        ingest: ingest.clone(),
        metrics: Arc::new(ReceiverMetrics::default()),
        now: Arc::new(t0),
        reconciler: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router(state)).await });
    Rx {
        base: format!("http://{addr}"),
        store,
        ingest,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

async fn start() -> Rx {
    let (store, dir) = sqlite().await;
    start_with(store, config(), Some(dir)).await
}

pub(crate) fn stripe_event(id: &str, kind: &str) -> Vec<u8> {
    json!({"id": id, "object": "event", "created": t0().as_second(), "type": kind, "livemode": false,
        "pending_webhooks": 1, "api_version": "2023-08-16",
        "data": {"object": {"id": "ch_1", "object": "charge", "amount": 1200, "currency": "usd",
            "failure_code": "card_declined", "failure_message": "Your card was declined.",
            "outcome": {"type": "issuer_declined", "reason": "insufficient_funds"}}}})
    .to_string()
    .into_bytes()
}

impl Rx {
    pub(crate) async fn post(
        &self,
        path: &str,
        ct: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", ct)
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        let resp = req.send().await.expect("send");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        for secret in [STRIPE_SECRET, TWILIO_TOKEN, OPENAI_SECRET] {
            assert!(!text.contains(secret), "a secret in the answer: {text}");
        }
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub(crate) async fn stripe(&self, body: Vec<u8>, at: Timestamp, secret: &str) -> (u16, Value) {
        let sig = stripe::sign(&body, secret, at);
        self.post(
            "/webhooks/stripe",
            "application/json",
            &[("stripe-signature", sig)],
            body,
        )
        .await
    }
}

#[tokio::test]
async fn a_stripe_event_is_stored_once_and_a_redelivery_is_answered_200() {
    let rx = start().await;
    let body = stripe_event("evt_1", "charge.failed");
    let (status, v) = rx.stripe(body.clone(), t0(), STRIPE_SECRET).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["duplicate"], false);
    // Answered 200 only after the commit: it is already in the store.
    assert!(
        rx.store
            .inbox_has(Service::Stripe, "evt_1")
            .await
            .expect("has")
    );
    let (status, v) = rx.stripe(body, t0(), STRIPE_SECRET).await;
    assert_eq!((status, v["duplicate"].clone()), (200, json!(true)));
    assert_eq!(rx.store.inbox_count(None).await.expect("count"), 1);
    // Rotation: a second secret is accepted while the first still is.
    let (store, dir) = sqlite().await;
    let mut c = config();
    c.stripe_secrets
        .push(SecretString::from("whsec_rotated_secret_abcdef0123"));
    let rx2 = start_with(store, c, Some(dir)).await;
    let (status, _) = rx2
        .stripe(
            stripe_event("evt_2", "charge.succeeded"),
            t0(),
            "whsec_rotated_secret_abcdef0123",
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn rejections_name_the_reason_reveal_nothing_and_store_nothing() {
    let rx = start().await;
    let body = stripe_event("evt_r", "charge.failed");
    let minutes = |m: i64| jiff::SignedDuration::from_secs(m * 60);
    let cases: Vec<(u16, &str, (u16, Value))> = vec![
        (
            400,
            "missing_signature",
            rx.post("/webhooks/stripe", "application/json", &[], body.clone())
                .await,
        ),
        (
            401,
            "bad_signature",
            rx.stripe(body.clone(), t0(), "whsec_wrong_secret_0000000000")
                .await,
        ),
        (
            401,
            "timestamp_outside_tolerance",
            rx.stripe(body.clone(), t0() - minutes(6), STRIPE_SECRET)
                .await,
        ),
        (
            401,
            "timestamp_outside_tolerance",
            rx.stripe(body.clone(), t0() + minutes(6), STRIPE_SECRET)
                .await,
        ),
        (
            400,
            "malformed_signature",
            rx.post(
                "/webhooks/stripe",
                "application/json",
                &[("stripe-signature", "t=abc,v1=zz".into())],
                body.clone(),
            )
            .await,
        ),
        (
            415,
            "unsupported_media_type",
            rx.post("/webhooks/stripe", "text/plain", &[], body.clone())
                .await,
        ),
        (
            400,
            "malformed_body",
            rx.stripe(b"{not json".to_vec(), t0(), STRIPE_SECRET).await,
        ),
    ];
    for (want, reason, (status, v)) in &cases {
        assert_eq!(status, want, "{reason}: {v}");
        assert_eq!(v["reason"], *reason, "{v}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    }
    // Exactly at the tolerance is accepted (both directions are inclusive).
    let (status, _) = rx
        .stripe(
            stripe_event("evt_edge", "charge.failed"),
            t0() - minutes(5),
            STRIPE_SECRET,
        )
        .await;
    assert_eq!(status, 200);
    // Too large: 413 before anything is parsed.
    let big = vec![b'x'; 65 * 1024];
    let (status, _) = rx.stripe(big, t0(), STRIPE_SECRET).await;
    assert_eq!(status, 413);
    assert_eq!(
        rx.store.inbox_count(None).await.expect("count"),
        1,
        "only the valid edge event"
    );
}

#[tokio::test]
async fn twilio_callbacks_verify_against_the_public_url_and_dedup_on_the_token() {
    let rx = start().await;
    let params: Vec<(String, String)> = [
        ("AccountSid", "AC0123"),
        ("MessageSid", "SM1"),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "30007"),
        ("To", "+14155550100"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let body: Vec<u8> = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish()
        .into_bytes();
    let form = "application/x-www-form-urlencoded";
    // Twilio signed the public URL, with the query, and sometimes with the default port.
    for (signed_url, token) in [
        ("https://hooks.example.com/webhooks/twilio?site=a", "tok-1"),
        (
            "https://hooks.example.com:443/webhooks/twilio?site=a",
            "tok-1",
        ),
    ] {
        let sig = twilio::sign(signed_url, &params, TWILIO_TOKEN);
        let (status, v) = rx
            .post(
                "/webhooks/twilio?site=a",
                form,
                &[
                    ("x-twilio-signature", sig),
                    ("i-twilio-idempotency-token", token.into()),
                ],
                body.clone(),
            )
            .await;
        assert_eq!(status, 200, "{signed_url}: {v}");
    }
    assert_eq!(
        rx.store
            .inbox_count(Some(Service::Twilio))
            .await
            .expect("count"),
        1
    );
    // Another URL was signed: a mismatch.
    let sig = twilio::sign(
        "https://evil.example.com/webhooks/twilio?site=a",
        &params,
        TWILIO_TOKEN,
    );
    let (status, v) = rx
        .post(
            "/webhooks/twilio?site=a",
            form,
            &[("x-twilio-signature", sig)],
            body.clone(),
        )
        .await;
    assert_eq!((status, v["reason"].clone()), (401, json!("bad_signature")));
    // Without a token the payload's digest identifies it: the same callback again is one row.
    let sig = twilio::sign(
        "https://hooks.example.com/webhooks/twilio",
        &params,
        TWILIO_TOKEN,
    );
    for _ in 0..2 {
        let (status, _) = rx
            .post(
                "/webhooks/twilio",
                form,
                &[("x-twilio-signature", sig.clone())],
                body.clone(),
            )
            .await;
        assert_eq!(status, 200);
    }
    assert_eq!(
        rx.store
            .inbox_count(Some(Service::Twilio))
            .await
            .expect("count"),
        2
    );
    // JSON bodies: the signature covers the URL with bodySHA256.
    let json_body = br#"{"type":"com.twilio.messaging.message.failed","data":{}}"#.to_vec();
    let (url, sig) = twilio::sign_json(
        "https://hooks.example.com/webhooks/twilio",
        &json_body,
        TWILIO_TOKEN,
    );
    let path = url.trim_start_matches("https://hooks.example.com");
    let (status, v) = rx
        .post(
            path,
            "application/json",
            &[("x-twilio-signature", sig.clone())],
            json_body.clone(),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let mut tampered = json_body.clone();
    tampered.push(b' ');
    let (status, v) = rx
        .post(
            path,
            "application/json",
            &[("x-twilio-signature", sig)],
            tampered,
        )
        .await;
    assert_eq!((status, v["reason"].clone()), (401, json!("bad_signature")));
}

#[tokio::test]
async fn openai_events_dedup_on_the_webhook_id() {
    let rx = start().await;
    let body = br#"{"id":"evt_o1","object":"event","created_at":1764122400,"type":"batch.failed","data":{"id":"batch_1"}}"#.to_vec();
    let sig = standard::sign(&body, "msg_1", t0(), OPENAI_SECRET).expect("sign");
    let headers = [
        ("webhook-id", "msg_1".to_owned()),
        ("webhook-timestamp", t0().as_second().to_string()),
        ("webhook-signature", sig),
    ];
    for dup in [false, true] {
        let (status, v) = rx
            .post(
                "/webhooks/openai",
                "application/json",
                &headers,
                body.clone(),
            )
            .await;
        assert_eq!((status, v["duplicate"].clone()), (200, json!(dup)), "{v}");
    }
    let (status, v) = rx
        .post(
            "/webhooks/openai",
            "application/json",
            &headers[..2],
            body.clone(),
        )
        .await;
    assert_eq!(
        (status, v["reason"].clone()),
        (400, json!("missing_signature"))
    );
}

#[tokio::test]
async fn stored_failures_become_events_once() {
    let rx = start().await;
    rx.stripe(stripe_event("evt_f", "charge.failed"), t0(), STRIPE_SECRET)
        .await;
    rx.stripe(
        stripe_event("evt_ok", "charge.succeeded"),
        t0(),
        STRIPE_SECRET,
    )
    .await;
    let params = "MessageSid=SM9&MessageStatus=undelivered&ErrorCode=30007&To=%2B14155550100";
    let pairs = twilio::form_params(params.as_bytes());
    let sig = twilio::sign(
        "https://hooks.example.com/webhooks/twilio",
        &pairs,
        TWILIO_TOKEN,
    );
    rx.post(
        "/webhooks/twilio",
        "application/x-www-form-urlencoded",
        &[("x-twilio-signature", sig)],
        params.as_bytes().to_vec(),
    )
    .await;
    let (rows, failures) = apiops_webhooks::process::drain(rx.store.as_ref(), t0())
        .await
        .expect("drain");
    assert_eq!((rows, failures), (3, 2));
    // Processing again finds nothing left.
    assert_eq!(
        apiops_webhooks::process::drain(rx.store.as_ref(), t0())
            .await
            .expect("drain"),
        (0, 0)
    );
    let events = rx
        .store
        .events(&EventFilter::default())
        .await
        .expect("events");
    assert_eq!(events.len(), 2);
    let twilio_event = events
        .iter()
        .find(|e| e.service == Service::Twilio)
        .expect("twilio");
    assert_eq!(twilio_event.error_code, "30007");
    assert_eq!(twilio_event.category, Category::SpamBlocked);
    assert!(
        events
            .iter()
            .any(|e| e.service == Service::Stripe && e.resource_id == "ch_1")
    );
}

#[tokio::test(flavor = "current_thread")]
async fn concurrent_requests_share_one_commit() {
    let (store, _dir) = sqlite().await;
    let (ingest, writer) = Ingest::start(
        Arc::clone(&store),
        IngestConfig::default(),
        Arc::new(Notify::new()),
    );
    // On one thread, tasks run in the order they were woken: all 500 submitters queue their
    // event before the writer (woken by the first) runs again — one transaction.
    let submits = (0..500).map(|i| {
        let ingest = ingest.clone();
        tokio::spawn(async move {
            ingest
                .submit(InboxEvent {
                    service: Service::Stripe,
                    dedup_key: format!("evt_{}", i % 400),
                    event_type: "charge.failed".into(),
                    source: Source::Webhook,
                    received_at: t0(),
                    payload: "{}".into(),
                })
                .await
        })
    });
    let results: Vec<_> = futures::future::join_all(submits)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let fresh = results.iter().filter(|r| matches!(r, Ok(true))).count();
    let dups = results.iter().filter(|r| matches!(r, Ok(false))).count();
    assert_eq!((fresh, dups), (400, 100));
    let stats = ingest.stats();
    assert_eq!(stats.commits.load(std::sync::atomic::Ordering::Relaxed), 1);
    assert_eq!(
        stats
            .max_batch_seen
            .load(std::sync::atomic::Ordering::Relaxed),
        500
    );
    drop(ingest);
    writer
        .await
        .expect("the writer ends when every submitter is gone");
    assert_eq!(store.inbox_count(None).await.expect("count"), 400);
}

/// A store whose every call fails: the database is down.
struct Down;

fn down<T>() -> Result<T, StoreError> {
    Err(StoreError::Database("connection refused".into()))
}

#[async_trait::async_trait]
impl Store for Down {
    async fn append_events(&self, _: &[ErrorEvent]) -> Result<u64, StoreError> {
        down()
    }
    async fn events(&self, _: &EventFilter) -> Result<Vec<ErrorEvent>, StoreError> {
        down()
    }
    async fn event_count(&self) -> Result<u64, StoreError> {
        down()
    }
    async fn journal_plan(
        &self,
        _: &str,
        _: &str,
        _: Timestamp,
    ) -> Result<JournalPlan, StoreError> {
        down()
    }
    async fn journaled_plan(&self, _: &str) -> Result<Option<JournalPlan>, StoreError> {
        down()
    }
    async fn journal_steps(&self, _: &str) -> Result<Vec<JournalStep>, StoreError> {
        down()
    }
    async fn journal_step(
        &self,
        _: &str,
        _: u32,
        _: StepStatus,
        _: &str,
        _: &[ErrorEvent],
        _: Timestamp,
    ) -> Result<u64, StoreError> {
        down()
    }
    async fn journal_latest(&self, _: &str) -> Result<Option<JournalPlan>, StoreError> {
        down()
    }
    async fn journal_lease(
        &self,
        _: &str,
        _: &str,
        _: Timestamp,
        _: Timestamp,
    ) -> Result<Result<(), apiops_store::Lease>, StoreError> {
        down()
    }
    async fn journal_lease_steal(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: Timestamp,
    ) -> Result<bool, StoreError> {
        down()
    }
    async fn journal_release(&self, _: &str, _: &str) -> Result<(), StoreError> {
        down()
    }
    async fn confirmation_put(&self, _: &apiops_store::Confirmation) -> Result<bool, StoreError> {
        down()
    }
    async fn confirmation(
        &self,
        _: &str,
    ) -> Result<Option<apiops_store::Confirmation>, StoreError> {
        down()
    }
    async fn confirmations_pending(
        &self,
        _: Timestamp,
        _: u32,
    ) -> Result<Vec<apiops_store::Confirmation>, StoreError> {
        down()
    }
    async fn confirmation_decide(
        &self,
        _: &str,
        _: apiops_store::ConfirmationState,
        _: &str,
        _: Timestamp,
    ) -> Result<bool, StoreError> {
        down()
    }
    async fn journal_finish(&self, _: &str, _: Timestamp) -> Result<(), StoreError> {
        down()
    }
    async fn journal_forget(&self, _: &str) -> Result<(), StoreError> {
        down()
    }
    async fn inbox_append(&self, _: &[InboxEvent]) -> Result<Vec<bool>, StoreError> {
        down()
    }
    async fn inbox_count(&self, _: Option<Service>) -> Result<u64, StoreError> {
        down()
    }
    async fn inbox_has(&self, _: Service, _: &str) -> Result<bool, StoreError> {
        down()
    }
    async fn inbox_unprocessed(&self, _: u32) -> Result<Vec<StoredInboxEvent>, StoreError> {
        down()
    }
    async fn inbox_processed(
        &self,
        _: &[i64],
        _: &[ErrorEvent],
        _: Timestamp,
    ) -> Result<(), StoreError> {
        down()
    }
    async fn inbox_prune_payloads(&self, _: Timestamp, _: u32) -> Result<u64, StoreError> {
        down()
    }
    async fn events_prune(&self, _: Timestamp, _: u32) -> Result<u64, StoreError> {
        down()
    }
    async fn cursor(&self, _: &str) -> Result<Option<String>, StoreError> {
        down()
    }
    async fn partial_scan_put(&self, _: &apiops_store::PartialScan) -> Result<(), StoreError> {
        down()
    }
    async fn partial_scan(&self) -> Result<Option<apiops_store::PartialScan>, StoreError> {
        down()
    }
    async fn set_cursor(&self, _: &str, _: &str, _: Timestamp) -> Result<(), StoreError> {
        down()
    }
    async fn record_check(&self, _: &CheckRecord) -> Result<(), StoreError> {
        down()
    }
    async fn checks(
        &self,
        _: Option<&str>,
        _: Timestamp,
        _: u32,
    ) -> Result<Vec<CheckRecord>, StoreError> {
        down()
    }
    async fn claim_slot(&self, _: &str, _: i64, _: &str, _: Timestamp) -> Result<bool, StoreError> {
        down()
    }
    async fn slot_holders(&self, _: &str, _: i64) -> Result<Vec<(i64, String)>, StoreError> {
        down()
    }
    async fn alert_observe(&self, _: &AlertRecord) -> Result<AlertChange, StoreError> {
        down()
    }
    async fn alerts(&self, _: bool, _: u32) -> Result<Vec<AlertRecord>, StoreError> {
        down()
    }
}

#[tokio::test]
async fn a_failed_commit_is_a_503_so_the_provider_retries() {
    let rx = start_with(Arc::new(Down), config(), None).await;
    let (status, v) = rx
        .stripe(stripe_event("evt_d", "charge.failed"), t0(), STRIPE_SECRET)
        .await;
    assert_eq!(
        (status, v["reason"].clone()),
        (503, json!("store_failed")),
        "{v}"
    );
    assert!(
        !v.to_string().contains("connection refused"),
        "store internals leaked: {v}"
    );
    assert_eq!(
        rx.ingest
            .stats()
            .failed_commits
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}
