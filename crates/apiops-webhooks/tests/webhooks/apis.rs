//! The receiver of configured APIs (`/webhooks/{name}`), in process: each preset verified,
//! forged, stale and missing signatures refused with 401, replays acknowledged as duplicates
//! and handed to the sink once, the body cap, a sink that has gone, Slack's handshake.

use std::sync::Arc;
use std::time::Duration;

use apiops_webhooks::apis::{
    ApiWebhook, ApisMetrics, ApisState, Delivery, DeliverySink, MemorySink, SinkError, router,
};
use apiops_webhooks::scheme::WebhookScheme;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures::future::BoxFuture;
use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tower::ServiceExt as _;

const GH_SECRET: &str = "canary-github-secret-0123456789";
const SHOP_SECRET: &str = "canary-shopify-secret-abcdef";
const SHOP_OLD: &str = "canary-shopify-previous";
const SLACK_SECRET: &str = "canary8f742231b10e8888abcd99yyyzzz85a5";
const SVIX_SECRET: &str = "whsec_Y2FuYXJ5X3N2aXhfc2VjcmV0XzAxMjM0NTY3ODk=";
const ACME_SECRET: &str = "canary-acme-secret";

fn t0() -> Timestamp {
    "2026-11-26T02:00:00Z".parse().expect("ts")
}

fn scheme(table: Value) -> WebhookScheme {
    serde_json::from_value(table).expect("scheme")
}

fn env(name: &str) -> Option<String> {
    Some(
        match name {
            "GH" => GH_SECRET.to_owned(),
            "SHOP" => format!("{SHOP_SECRET},{SHOP_OLD}"),
            "SLACK" => SLACK_SECRET.to_owned(),
            "SVIX" => SVIX_SECRET.to_owned(),
            "ACME" => ACME_SECRET.to_owned(),
            _ => return None,
        }
        .to_owned(),
    )
}

fn apis() -> Vec<ApiWebhook> {
    [
        ("gh", json!({"scheme": "github", "secret_env": "GH"})),
        ("shop", json!({"scheme": "shopify", "secret_env": "SHOP"})),
        ("chat", json!({"scheme": "slack", "secret_env": "SLACK"})),
        ("mail", json!({"scheme": "svix", "secret_env": "SVIX"})),
        (
            "acme",
            json!({"scheme": "hmac", "secret_env": "ACME", "header": "X-Acme-Signature",
                   "algorithm": "sha512", "encoding": "base64", "signed": "{id}.{timestamp}.{body}",
                   "timestamp_header": "X-Acme-Time", "tolerance": "1m", "id_header": "X-Acme-Id"}),
        ),
    ]
    .into_iter()
    .map(|(name, table)| ApiWebhook::new(name, scheme(table), env).expect("api"))
    .collect()
}

struct App {
    router: axum::Router,
    deliveries: mpsc::Receiver<Delivery>,
    metrics: Arc<ApisMetrics>,
}

fn app_with(sink: Arc<dyn DeliverySink>, deliveries: mpsc::Receiver<Delivery>) -> App {
    let metrics = Arc::new(ApisMetrics::default());
    let state = ApisState {
        apis: apis(),
        sink,
        now: Arc::new(t0),
        max_body: 4 * 1024,
        commit_timeout: Duration::from_secs(5),
        metrics: Arc::clone(&metrics),
    };
    App {
        router: router(Arc::new(state)),
        deliveries,
        metrics,
    }
}

fn app() -> App {
    let (sink, rx) = MemorySink::new(1_000, 64);
    app_with(Arc::new(sink), rx)
}

fn api(name: &str) -> ApiWebhook {
    apis()
        .into_iter()
        .find(|a| a.name == name)
        .expect("configured")
}

/// A request to `/webhooks/{name}` signed by `name`'s scheme with `secret` at `at` as `id`.
fn signed(name: &str, body: &str, secret: &str, at: Timestamp, id: &str) -> Request<Body> {
    let a = api(name);
    let headers = a
        .scheme
        .sign(body.as_bytes(), secret, at, id)
        .expect("sign");
    let mut req =
        Request::post(format!("/webhooks/{name}")).header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(k, v);
    }
    req.body(Body::from(body.to_owned())).expect("request")
}

async fn send(app: &App, req: Request<Body>) -> (StatusCode, Value) {
    let resp = app.router.clone().oneshot(req).await.expect("answer");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .expect("body");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    for canary in [
        GH_SECRET,
        SHOP_SECRET,
        SLACK_SECRET,
        SVIX_SECRET,
        ACME_SECRET,
    ] {
        assert!(!text.contains(canary), "a secret in an answer: {text}");
    }
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn reason(v: &Value) -> &str {
    v["reason"].as_str().unwrap_or("")
}

const ISSUE: &str = r#"{"action":"opened","issue":{"number":1347}}"#;

#[tokio::test]
async fn every_preset_verifies_and_a_replay_is_a_duplicate() {
    let mut app = app();
    let cases = [
        (
            "gh",
            GH_SECRET,
            ISSUE,
            "72d3162e-cc78-11e3-81ab-4c9367dc0958",
            "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        ),
        (
            "shop",
            SHOP_SECRET,
            r#"{"id":820982911946154508}"#,
            "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        ),
        // A rotation: the previous secret still verifies.
        (
            "shop",
            SHOP_OLD,
            r#"{"id":1}"#,
            "0b3b2a1c-old",
            "0b3b2a1c-old",
        ),
        (
            "chat",
            SLACK_SECRET,
            r#"{"event_id":"Ev08MFMKH6","event":{"type":"app_mention"}}"#,
            "",
            "Ev08MFMKH6",
        ),
        (
            "mail",
            SVIX_SECRET,
            r#"{"type":"email.bounced"}"#,
            "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
            "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
        ),
        ("acme", ACME_SECRET, "plain text", "acme-1", "acme-1"),
    ];
    for (name, secret, body, id, want_id) in cases {
        let (status, v) = send(&app, signed(name, body, secret, t0(), id)).await;
        assert_eq!(
            (status, &v),
            (
                StatusCode::OK,
                &json!({"received": true, "duplicate": false})
            ),
            "{name}"
        );
        let got = app.deliveries.try_recv().expect("handed to the sink");
        assert_eq!(
            (got.api.as_str(), got.id.as_str(), got.payload.as_str()),
            (name, want_id, body)
        );
        assert_eq!(got.received_at, t0());
        // The same delivery again (a retry, or a replay within the tolerance): acknowledged as
        // a duplicate, not handed on.
        let (status, v) = send(&app, signed(name, body, secret, t0(), id)).await;
        assert_eq!(
            (status, v["duplicate"].as_bool()),
            (StatusCode::OK, Some(true)),
            "{name}"
        );
        assert!(
            app.deliveries.try_recv().is_err(),
            "{name}: processed twice"
        );
    }
    let types: Vec<String> = {
        let (status, _) = send(&app, {
            let mut r = signed("gh", ISSUE, GH_SECRET, t0(), "another");
            r.headers_mut()
                .insert("x-github-event", "issues".parse().expect("v"));
            r
        })
        .await;
        assert_eq!(status, StatusCode::OK);
        vec![app.deliveries.try_recv().expect("one").event_type]
    };
    assert_eq!(types, ["issues"]);
    let accepted = app.metrics.accepted();
    assert!(
        accepted.contains(&("gh".into(), "duplicate", 1)),
        "{accepted:?}"
    );
    assert!(
        accepted.contains(&("shop".into(), "new", 2)),
        "{accepted:?}"
    );
}

#[tokio::test]
async fn forged_stale_and_missing_are_401() {
    let mut app = app();
    let past = |s: i64| {
        t0().checked_sub(jiff::SignedDuration::from_secs(s))
            .expect("ts")
    };
    let future = |s: i64| {
        t0().checked_add(jiff::SignedDuration::from_secs(s))
            .expect("ts")
    };
    let slack = r#"{"event_id":"Ev1","event":{"type":"message"}}"#;
    let cases: Vec<(&str, Request<Body>, &str)> = vec![
        (
            "gh wrong secret",
            signed("gh", ISSUE, "someone-else", t0(), "d1"),
            "bad_signature",
        ),
        (
            "shop wrong secret",
            signed("shop", "{}", "someone-else", t0(), "d2"),
            "bad_signature",
        ),
        (
            "slack 301 s old",
            signed("chat", slack, SLACK_SECRET, past(301), ""),
            "timestamp_outside_tolerance",
        ),
        (
            "slack 301 s ahead",
            signed("chat", slack, SLACK_SECRET, future(301), ""),
            "timestamp_outside_tolerance",
        ),
        (
            "svix a day old",
            signed("mail", "{}", SVIX_SECRET, past(86_400), "msg_1"),
            "timestamp_outside_tolerance",
        ),
        (
            "acme 61 s old",
            signed("acme", "x", ACME_SECRET, past(61), "a1"),
            "timestamp_outside_tolerance",
        ),
        (
            "gh no signature",
            Request::post("/webhooks/gh")
                .header("x-github-delivery", "d3")
                .body(Body::from(ISSUE))
                .expect("r"),
            "missing_signature",
        ),
        (
            "gh signature without its prefix",
            Request::post("/webhooks/gh")
                .header(
                    "x-hub-signature-256",
                    "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
                )
                .header("x-github-delivery", "d4")
                .body(Body::from(ISSUE))
                .expect("r"),
            "malformed_signature",
        ),
        (
            "gh truncated signature",
            Request::post("/webhooks/gh")
                .header("x-hub-signature-256", "sha256=757107ea")
                .header("x-github-delivery", "d5")
                .body(Body::from(ISSUE))
                .expect("r"),
            "malformed_signature",
        ),
        (
            "slack no timestamp",
            {
                let mut r = signed("chat", slack, SLACK_SECRET, t0(), "");
                r.headers_mut().remove("x-slack-request-timestamp");
                r
            },
            "missing_signature",
        ),
        (
            "slack timestamp changed after signing",
            {
                let mut r = signed("chat", slack, SLACK_SECRET, t0(), "");
                r.headers_mut().insert(
                    "x-slack-request-timestamp",
                    (t0().as_second() + 1).to_string().parse().expect("v"),
                );
                r
            },
            "bad_signature",
        ),
        (
            "acme id changed after signing (the id is signed)",
            {
                let mut r = signed("acme", "x", ACME_SECRET, t0(), "a2");
                r.headers_mut()
                    .insert("x-acme-id", "a3".parse().expect("v"));
                r
            },
            "bad_signature",
        ),
        (
            "gh no delivery id",
            {
                let mut r = signed("gh", ISSUE, GH_SECRET, t0(), "d6");
                r.headers_mut().remove("x-github-delivery");
                r
            },
            "missing_id",
        ),
    ];
    for (what, req, want) in cases {
        let (status, v) = send(&app, req).await;
        let want_status = if want == "missing_id" {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!((status, reason(&v)), (want_status, want), "{what}: {v}");
    }
    assert!(
        app.deliveries.try_recv().is_err(),
        "a refused delivery reached the sink"
    );
    // A tampered body under a genuine signature.
    let mut req = signed("gh", ISSUE, GH_SECRET, t0(), "d7");
    *req.body_mut() = Body::from(ISSUE.replace("1347", "1348"));
    let (status, v) = send(&app, req).await;
    assert_eq!(
        (status, reason(&v)),
        (StatusCode::UNAUTHORIZED, "bad_signature")
    );
    let rejected = app.metrics.rejected();
    assert!(
        rejected.contains(&("chat".into(), "timestamp_outside_tolerance", 2)),
        "{rejected:?}"
    );
}

#[tokio::test]
async fn slack_url_verification_is_answered_only_when_signed() {
    let mut app = app();
    let body = r#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let (status, v) = send(&app, signed("chat", body, SLACK_SECRET, t0(), "")).await;
    assert_eq!(
        (status, v),
        (
            StatusCode::OK,
            json!({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
        )
    );
    assert!(
        app.deliveries.try_recv().is_err(),
        "the handshake is not a delivery"
    );
    let (status, _) = send(&app, signed("chat", body, "forged", t0(), "")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn limits_and_a_gone_sink() {
    let app = app();
    // Over the body cap: refused before the signature is even computed.
    let big = "x".repeat(4 * 1024 + 1);
    let (status, v) = send(&app, signed("acme", &big, ACME_SECRET, t0(), "big")).await;
    assert_eq!(
        (status, reason(&v)),
        (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
    );
    // An id longer than the store keeps, refused from its header.
    let long = "i".repeat(256);
    let (status, v) = send(&app, signed("gh", ISSUE, GH_SECRET, t0(), &long)).await;
    assert_eq!(
        (status, reason(&v)),
        (StatusCode::BAD_REQUEST, "key_too_long")
    );
    // No API of that name.
    let resp = app
        .router
        .clone()
        .oneshot(
            Request::post("/webhooks/nobody")
                .body(Body::empty())
                .expect("r"),
        )
        .await
        .expect("answer");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    // The consumer has gone: 503 with Retry-After, and the id is not remembered, so the
    // provider's retry is taken once a consumer is back.
    let (sink, rx) = MemorySink::new(10, 1);
    let sink: Arc<MemorySink> = Arc::new(sink);
    drop(rx);
    let gone = app_with(
        Arc::clone(&sink) as Arc<dyn DeliverySink>,
        mpsc::channel(1).1,
    );
    let resp = gone
        .router
        .clone()
        .oneshot(signed("gh", ISSUE, GH_SECRET, t0(), "kept-later"))
        .await
        .expect("answer");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.headers().contains_key("retry-after"));
}

/// A sink that never answers: the sender is told 503 once the commit timeout passes.
struct Stuck;

impl DeliverySink for Stuck {
    fn deliver(&self, _: Delivery) -> BoxFuture<'_, Result<bool, SinkError>> {
        Box::pin(futures::future::pending())
    }
}

#[tokio::test(start_paused = true)]
async fn a_stuck_sink_is_a_503_after_the_commit_timeout() {
    let app = app_with(Arc::new(Stuck), mpsc::channel(1).1);
    let (status, v) = send(&app, signed("gh", ISSUE, GH_SECRET, t0(), "stuck")).await;
    assert_eq!(
        (status, reason(&v)),
        (StatusCode::SERVICE_UNAVAILABLE, "commit_timeout")
    );
}

#[tokio::test]
async fn the_memory_sink_forgets_the_oldest_ids_beyond_its_capacity() {
    let (sink, mut rx) = MemorySink::new(2, 8);
    let d = |id: &str| Delivery {
        api: "gh".into(),
        id: id.into(),
        event_type: "push".into(),
        received_at: t0(),
        signed_at: None,
        payload: "{}".into(),
    };
    for (id, new) in [
        ("a", true),
        ("b", true),
        ("a", false),
        ("c", true),
        ("a", true),
        ("c", false),
    ] {
        assert_eq!(sink.deliver(d(id)).await, Ok(new), "{id}");
    }
    // The same id under another API is another delivery.
    assert_eq!(
        sink.deliver(Delivery {
            api: "shop".into(),
            ..d("c")
        })
        .await,
        Ok(true)
    );
    let mut got = Vec::new();
    while let Ok(x) = rx.try_recv() {
        got.push(format!("{}:{}", x.api, x.id));
    }
    assert_eq!(got, ["gh:a", "gh:b", "gh:c", "gh:a", "shop:c"]);
}

#[test]
fn api_names_are_path_segments() {
    let s = || scheme(json!({"scheme": "github", "secret_env": "GH"}));
    for bad in ["", "stripe", "Mail", "a/b", "a b", "..", &"x".repeat(33)] {
        let e = ApiWebhook::new(bad, s(), env)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("cannot be the webhook path"), "{bad:?}: {e}");
    }
    assert!(ApiWebhook::new("mail-2_b", s(), env).is_ok());
    let e = ApiWebhook::new(
        "gh",
        scheme(json!({"scheme": "github", "secret_env": "UNSET"})),
        env,
    )
    .err()
    .map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("UNSET: is not set or empty: it must hold the webhook signing secret")
    );
    // Its Debug shows how many secrets, never one.
    let dbg = format!("{:?}", ApiWebhook::new("gh", s(), env).expect("api"));
    assert!(
        !dbg.contains(GH_SECRET) && dbg.contains("secrets: 1"),
        "{dbg}"
    );
}

/// The store-backed sink `apiops serve` uses: a signed delivery lands in the webhook inbox
/// once, as the API's service, and stays a duplicate after a restart of the writer; a forged
/// one is refused and stored nowhere.
#[tokio::test]
async fn the_store_sink_keeps_a_delivery_once_and_a_forged_one_nowhere() {
    use apiops_core::{ApiName, Service};
    use apiops_store::{Source, SqliteStore, Store};
    use apiops_webhooks::apis::StoreSink;
    use apiops_webhooks::ingest::{Ingest, IngestConfig};

    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}/apis.db", dir.path().display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url).await.expect("store"));
    let (ingest, writer) = Ingest::start(
        Arc::clone(&store),
        IngestConfig::default(),
        Arc::new(tokio::sync::Notify::new()),
    );
    let (_unused, rx) = mpsc::channel(1);
    let app = app_with(Arc::new(StoreSink::new(ingest)), rx);
    let gh = Service::Api(ApiName::new("gh").expect("name"));
    let id = "72d3162e-cc78-11e3-81ab-4c9367dc0958";

    // Forged first: refused, nothing stored.
    let (status, v) = send(&app, signed("gh", ISSUE, "not-the-secret", t0(), id)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(store.inbox_count(None).await.expect("count"), 0);

    let (status, v) = send(&app, signed("gh", ISSUE, GH_SECRET, t0(), id)).await;
    assert_eq!(
        (status, v),
        (
            StatusCode::OK,
            json!({"received": true, "duplicate": false})
        )
    );
    let (status, v) = send(&app, signed("gh", ISSUE, GH_SECRET, t0(), id)).await;
    assert_eq!(
        (status, v),
        (StatusCode::OK, json!({"received": true, "duplicate": true}))
    );
    assert_eq!(store.inbox_count(Some(gh)).await.expect("count"), 1);
    assert_eq!(store.inbox_count(None).await.expect("count"), 1);
    assert!(store.inbox_has(gh, id).await.expect("has"));
    let rows = store.inbox_unprocessed(10).await.expect("rows");
    assert_eq!(rows.len(), 1);
    let row = &rows[0].event;
    assert_eq!(
        (
            row.service,
            row.dedup_key.as_str(),
            row.event_type.as_str(),
            row.source,
            row.payload.as_str(),
            row.received_at
        ),
        (gh, id, "unknown", Source::Webhook, ISSUE, t0())
    );

    // A new writer over the same file (a restart): the replay is still a duplicate.
    drop(app);
    let _ = writer.await;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url).await.expect("reopen"));
    let (ingest, _writer) = Ingest::start(
        Arc::clone(&store),
        IngestConfig::default(),
        Arc::new(tokio::sync::Notify::new()),
    );
    let (_unused, rx) = mpsc::channel(1);
    let app = app_with(Arc::new(StoreSink::new(ingest)), rx);
    let (status, v) = send(&app, signed("gh", ISSUE, GH_SECRET, t0(), id)).await;
    assert_eq!(
        (status, v),
        (StatusCode::OK, json!({"received": true, "duplicate": true}))
    );
    assert_eq!(store.inbox_count(None).await.expect("count"), 1);
}
