//! The receiver on a hostile network: what a request that cannot verify costs (its headers,
//! not its body), caps on bodies, forms and keys, and a store that cannot commit (503 within
//! the commit timeout, `/healthz` 503, nothing acknowledged lost).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use apiops_webhooks::ingest::{Ingest, IngestConfig};
use apiops_webhooks::receiver::{ReceiverConfig, ReceiverMetrics, ReceiverState, router};
use apiops_webhooks::signature::{stripe, twilio};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use sqlx::Connection as _;
use tokio::sync::Notify;
use tower::ServiceExt as _;

use crate::receiver::{
    Rx, STRIPE_SECRET, TWILIO_TOKEN, config, sqlite, start_with, stripe_event, t0,
};

/// A body of `total` bytes in 16 KiB chunks that counts how many bytes the server pulled.
fn counted_body(total: usize, pulled: Arc<AtomicUsize>) -> Body {
    const CHUNK: usize = 16 * 1024;
    let chunks = total.div_ceil(CHUNK);
    let stream = futures::stream::iter((0..chunks).map(move |i| {
        let n = CHUNK.min(total - i * CHUNK);
        pulled.fetch_add(n, Ordering::SeqCst);
        Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b'a'; n]))
    }));
    Body::from_stream(stream)
}

async fn app(config: ReceiverConfig) -> (axum::Router, tempfile::TempDir) {
    let (store, dir) = sqlite().await;
    let (ingest, _writer) = Ingest::start(store, IngestConfig::default(), Arc::new(Notify::new()));
    let state = Arc::new(ReceiverState {
        config,
        ingest,
        metrics: Arc::new(ReceiverMetrics::default()),
        now: Arc::new(t0),
        reconciler: None,
    });
    (router(state), dir)
}

async fn reason(resp: axum::response::Response) -> (StatusCode, String) {
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), 64 * 1024)
        .await
        .expect("answer");
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    (status, v["reason"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn a_request_that_cannot_verify_is_refused_before_its_body_is_read() {
    let (app, _dir) = app(config()).await;
    let mb = 1024 * 1024;
    for (path, ct, headers) in [
        (
            "/webhooks/twilio",
            "application/x-www-form-urlencoded",
            vec![],
        ),
        (
            "/webhooks/twilio",
            "application/x-www-form-urlencoded",
            vec![("x-twilio-signature", "not base64 of twenty bytes")],
        ),
        ("/webhooks/stripe", "application/json", vec![]),
        (
            "/webhooks/stripe",
            "application/json",
            vec![("stripe-signature", "garbage")],
        ),
        ("/webhooks/openai", "application/json", vec![]),
        ("/webhooks/twilio", "text/plain", vec![]),
    ] {
        let pulled = Arc::new(AtomicUsize::new(0));
        let mut req = Request::post(path)
            .header("content-type", ct)
            .header("host", "hooks.example.com");
        for (k, v) in &headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(counted_body(mb, Arc::clone(&pulled)))
            .expect("request");
        let (status, why) = reason(app.clone().oneshot(req).await.expect("answer")).await;
        assert!(status.is_client_error(), "{path} {headers:?}: {status}");
        assert_eq!(
            pulled.load(Ordering::SeqCst),
            0,
            "{path} {headers:?} ({why}): the body was read before the request was refused"
        );
    }
}

#[tokio::test]
async fn twilio_bodies_forms_and_keys_are_capped_before_they_cost_anything() {
    let cfg = ReceiverConfig {
        max_twilio_body: 8 * 1024,
        max_form_params: 50,
        ..config()
    };
    let (app, _dir) = app(cfg).await;
    let url = "https://hooks.example.com/webhooks/twilio";
    let form = "application/x-www-form-urlencoded";
    let shaped = twilio::sign(url, &[], TWILIO_TOKEN);

    // A body over the Twilio cap (with a well-shaped signature): 413, at most the cap read.
    let pulled = Arc::new(AtomicUsize::new(0));
    let req = Request::post("/webhooks/twilio")
        .header("content-type", form)
        .header("x-twilio-signature", &shaped)
        .body(counted_body(1024 * 1024, Arc::clone(&pulled)))
        .expect("request");
    let (status, why) = reason(app.clone().oneshot(req).await.expect("answer")).await;
    assert_eq!(
        (status, why.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
    );
    assert!(pulled.load(Ordering::SeqCst) <= 8 * 1024 + 16 * 1024);

    // A declared Content-Length over the cap is refused without reading.
    let pulled = Arc::new(AtomicUsize::new(0));
    let req = Request::post("/webhooks/twilio")
        .header("content-type", form)
        .header("x-twilio-signature", &shaped)
        .header("content-length", (1024 * 1024).to_string())
        .body(counted_body(1024 * 1024, Arc::clone(&pulled)))
        .expect("request");
    let (status, _) = reason(app.clone().oneshot(req).await.expect("answer")).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(pulled.load(Ordering::SeqCst), 0);

    // A form of many empty parameters is refused before it is decoded or signed.
    let params: Vec<(String, String)> = (0..51).map(|i| (format!("p{i}"), String::new())).collect();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    let sig = twilio::sign(url, &params, TWILIO_TOKEN);
    let req = Request::post("/webhooks/twilio")
        .header("content-type", form)
        .header("x-twilio-signature", &sig)
        .body(Body::from(body))
        .expect("request");
    let (status, why) = reason(app.clone().oneshot(req).await.expect("answer")).await;
    assert_eq!(
        (status, why.as_str()),
        (StatusCode::BAD_REQUEST, "too_many_params")
    );

    // An idempotency token longer than the store keeps: refused before the body is read.
    let pulled = Arc::new(AtomicUsize::new(0));
    let req = Request::post("/webhooks/twilio")
        .header("content-type", form)
        .header("x-twilio-signature", &shaped)
        .header("i-twilio-idempotency-token", "t".repeat(256))
        .body(counted_body(1024, Arc::clone(&pulled)))
        .expect("request");
    let (status, why) = reason(app.clone().oneshot(req).await.expect("answer")).await;
    assert_eq!(
        (status, why.as_str()),
        (StatusCode::BAD_REQUEST, "key_too_long")
    );
    assert_eq!(pulled.load(Ordering::SeqCst), 0);

    // A Stripe event id over the limit never reaches the store.
    let (app, _dir) = self::app(config()).await;
    let body = stripe_event(&format!("evt_{}", "x".repeat(300)), "charge.failed");
    let req = Request::post("/webhooks/stripe")
        .header("content-type", "application/json")
        .header("stripe-signature", stripe::sign(&body, STRIPE_SECRET, t0()))
        .body(Body::from(body))
        .expect("request");
    let (status, _) = reason(app.oneshot(req).await.expect("answer")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn healthz(rx: &crate::receiver::Rx) -> u16 {
    rx.http
        .get(format!("{}/healthz", rx.base))
        .send()
        .await
        .expect("healthz")
        .status()
        .as_u16()
}

/// The commit timeout of the outage tests: short, so an answer that waits for it comes fast.
const COMMIT_TIMEOUT: Duration = Duration::from_millis(300);

/// The receiver on `store` with [`COMMIT_TIMEOUT`].
async fn start_committing_within(
    store: Arc<dyn apiops_store::Store>,
    dir: Option<tempfile::TempDir>,
) -> Rx {
    let config = ReceiverConfig {
        commit_timeout: COMMIT_TIMEOUT,
        ..config()
    };
    start_with(store, config, dir).await
}

#[tokio::test]
async fn a_store_that_cannot_commit_is_a_503_within_the_commit_timeout_and_nothing_acked_is_lost() {
    let (store, dir) = sqlite().await;
    let url = format!("sqlite://{}/rx.db", dir.path().display());
    let commit_timeout = COMMIT_TIMEOUT;
    let rx = start_committing_within(Arc::clone(&store), Some(dir)).await;
    let mut acknowledged = Vec::new();
    let send = |id: &'static str| {
        let rx = &rx;
        async move {
            let started = Instant::now();
            let (status, _) = rx
                .stripe(stripe_event(id, "charge.failed"), t0(), STRIPE_SECRET)
                .await;
            (status, started.elapsed())
        }
    };
    let (status, _) = send("evt_before").await;
    assert_eq!(status, 200);
    acknowledged.push("evt_before");
    assert_eq!(healthz(&rx).await, 200);

    // Another writer holds SQLite's write lock: the receiver's commits cannot go through
    // (its busy handler would wait 5 s; the commit timeout answers first).
    let mut other = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("connect");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .expect("lock");
    let (status, took) = send("evt_during").await;
    assert_eq!(
        status, 503,
        "a commit that cannot happen is not acknowledged"
    );
    assert!(
        took < Duration::from_secs(3),
        "answered after {took:?}: the commit timeout ({commit_timeout:?}) did not answer"
    );
    assert_eq!(healthz(&rx).await, 503);
    // While the store lags, new webhooks are shed at once (they do not queue behind it).
    let (status, _) = send("evt_shed").await;
    assert_eq!(status, 503);

    sqlx::query("ROLLBACK")
        .execute(&mut other)
        .await
        .expect("unlock");
    drop(other);
    // Recovery: the stuck commit completes (or fails and the next one succeeds), and the
    // providers' retries are stored.
    let mut healthy = false;
    for _ in 0..100 {
        let (status, _) = send("evt_shed").await;
        if status == 200 && healthz(&rx).await == 200 {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        healthy,
        "the receiver did not recover once the store was writable"
    );
    acknowledged.push("evt_shed");
    let (status, _) = send("evt_during").await;
    assert_eq!(status, 200);
    acknowledged.push("evt_during");
    for id in acknowledged {
        assert!(
            rx.store
                .inbox_has(apiops_core::Service::Stripe, id)
                .await
                .expect("read"),
            "{id} was acknowledged but is not stored"
        );
    }
}

/// Sends one signed Stripe event; its status and how long the answer took.
async fn send_event(rx: &crate::receiver::Rx, id: &str) -> (u16, Duration) {
    let started = Instant::now();
    let (status, _) = rx
        .stripe(stripe_event(id, "charge.failed"), t0(), STRIPE_SECRET)
        .await;
    (status, started.elapsed())
}

/// Sends `id` until it is acknowledged (the provider's retries after an outage), with a
/// deadline that only bounds a hang; whether `/healthz` is back to 200 by then.
async fn until_acknowledged(rx: &crate::receiver::Rx, id: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if send_event(rx, id).await.0 == 200 && healthz(rx).await == 200 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn a_postgres_server_that_stops_or_goes_silent_is_a_503_within_the_commit_timeout_and_nothing_acked_is_lost()
 {
    use crate::relay::{Mode, Relay};
    let Some(schema) = apiops_store::test_support::PgSchema::create("webhooks", "pg_outage").await
    else {
        return;
    };
    // The store reaches the server through a relay the test can stop and freeze.
    let mut url = url::Url::parse(&schema.url).expect("test database URL");
    let upstream = url
        .socket_addrs(|| Some(5432))
        .expect("test database address")[0];
    let relay = Relay::start(upstream).await;
    url.set_port(Some(relay.addr.port())).expect("port");
    url.set_host(Some("127.0.0.1")).expect("host");
    let store: Arc<dyn apiops_store::Store> = Arc::new(
        apiops_store::PostgresStore::open(url.as_str())
            .await
            .expect("store through the relay"),
    );
    let commit_timeout = COMMIT_TIMEOUT;
    let rx = start_committing_within(Arc::clone(&store), None).await;

    // A provider delivering steadily on four connections, counting what was acknowledged,
    // while the server stops, comes back, goes silent and comes back again.
    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let refused = Arc::new(AtomicUsize::new(0));
    let sending = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let rx = Arc::new(rx);
    let mut senders = Vec::new();
    for lane in 0..4 {
        let (rx, acknowledged, refused, sending) = (
            Arc::clone(&rx),
            Arc::clone(&acknowledged),
            Arc::clone(&refused),
            Arc::clone(&sending),
        );
        senders.push(tokio::spawn(async move {
            let mut n = 0u32;
            while sending.load(Ordering::Relaxed) {
                n += 1;
                let id = format!("evt_lane{lane}_{n}");
                match send_event(&rx, &id).await.0 {
                    200 => acknowledged.lock().expect("lock").push(id),
                    503 => {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                    other => panic!("{id}: unexpected status {other}"),
                }
                tokio::task::yield_now().await;
            }
        }));
    }
    let acked = || acknowledged.lock().expect("lock").len();
    let wait_for_acks = |more: usize| {
        let from = acked();
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            while acked() < from + more && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(acked() >= from + more, "deliveries stalled at {}", acked());
        }
    };
    wait_for_acks(50).await;
    assert_eq!(healthz(&rx).await, 200);

    // The server stops (connections end, new ones are refused), then goes silent (a
    // partition: only the commit timeout answers). Either way nothing is acknowledged, the
    // answer comes quickly, and the receiver recovers once the server is back.
    for (mode, id, state, back) in [
        (Mode::Stopped, "evt_stopped", "down", "was back"),
        (Mode::Frozen, "evt_silent", "silent", "answered again"),
    ] {
        relay.set(mode);
        let (status, took) = send_event(&rx, id).await;
        assert_eq!(
            status, 503,
            "nothing is acknowledged while the server is {state}"
        );
        assert!(
            took < Duration::from_secs(5),
            "answered after {took:?} (commit timeout {commit_timeout:?})"
        );
        assert_eq!(
            healthz(&rx).await,
            503,
            "/healthz while the server is {state}"
        );
        relay.set(Mode::Up);
        assert!(
            until_acknowledged(&rx, id).await,
            "the receiver did not recover once the server {back}"
        );
        wait_for_acks(50).await;
    }
    sending.store(false, Ordering::Relaxed);
    for s in senders {
        s.await.expect("sender");
    }

    // Count what was acknowledged against what is stored.
    let mut acknowledged = acknowledged.lock().expect("lock").clone();
    acknowledged.extend(["evt_stopped".to_owned(), "evt_silent".to_owned()]);
    let mut lost = Vec::new();
    for id in &acknowledged {
        if !store
            .inbox_has(apiops_core::Service::Stripe, id)
            .await
            .expect("read")
        {
            lost.push(id.clone());
        }
    }
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    let stored = store
        .inbox_count(Some(apiops_core::Service::Stripe))
        .await
        .expect("count");
    assert!(
        stored >= acknowledged.len() as u64,
        "{stored} stored < {} acknowledged",
        acknowledged.len()
    );
    assert!(relay.accepted() > 0);
    eprintln!(
        "{} acknowledged, {} refused with 503, {stored} stored",
        acknowledged.len(),
        refused.load(Ordering::Relaxed)
    );
    drop(store);
    schema.drop_schema().await;
}
