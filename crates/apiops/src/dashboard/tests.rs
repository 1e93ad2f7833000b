//! The dashboard and `/metrics` over real HTTP: the token rules (the receiver stays open), and
//! pages rendered from a seeded store with escaping and masking.

use std::net::SocketAddr;
use std::sync::Arc;

use apiops_client::redact::Redactor;
use apiops_core::{ActionTaken, Category, ErrorEvent, EventResult, Service, Severity};
use apiops_store::{AlertRecord, CheckRecord, SqliteStore, Store};
use apiops_webhooks::ingest::{Ingest, IngestConfig};
use apiops_webhooks::receiver::{ReceiverConfig, ReceiverMetrics, ReceiverState};
use jiff::Timestamp;
use secrecy::SecretString;
use tokio::sync::Notify;

use super::*;

const TOKEN: &str = "test-token-0123456789abcdef";
const WEBHOOK_SECRET: &str = "whsec_dashboard_test_secret_0123";
const CANARY: &str = "sk_live_canary0123456789abcdefXYZ";

struct App {
    base: String,
    store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
}

/// Serves the receiver and the dashboard as `apiops serve` does, with `access`.
async fn app(access: Access) -> App {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/d.db", dir.path().display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url).await.expect("store"));
    let (ingest, _writer) = Ingest::start(
        Arc::clone(&store),
        IngestConfig::default(),
        Arc::new(Notify::new()),
    );
    let receiver = Arc::new(ReceiverMetrics::default());
    let config = ReceiverConfig {
        stripe_secrets: vec![SecretString::from(WEBHOOK_SECRET.to_owned())],
        ..ReceiverConfig::default()
    };
    let receivers = config.enabled();
    let state = Arc::new(ReceiverState {
        config,
        ingest,
        metrics: Arc::clone(&receiver),
        now: Arc::new(Timestamp::now),
        reconciler: None,
    });
    let traffic = Arc::new(Traffic::default());
    Traffic::spawn_sampler(&traffic, Arc::clone(&receiver));
    let dashboard = Arc::new(DashboardState {
        store: Arc::clone(&store),
        metrics: crate::metrics::builder().build_recorder().handle(),
        receiver,
        receivers,
        traffic,
        redactor: Redactor::new([SecretString::from(CANARY.to_owned())]),
        started: Timestamp::now(),
        refresh_secs: 30,
    });
    let router = apiops_webhooks::receiver::router(state).merge(router(dashboard, access));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    App {
        base: format!("http://{addr}"),
        store,
        _dir: dir,
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn guarded() -> Access {
    let listen: SocketAddr = "0.0.0.0:8080".parse().expect("addr");
    Access::for_listen(listen, Some(&SecretString::from(TOKEN.to_owned()))).expect("access")
}

async fn signed_stripe(c: &reqwest::Client, base: &str, id: &str) -> reqwest::Response {
    let body = format!(r#"{{"id":"{id}","type":"charge.succeeded","data":{{"object":{{}}}}}}"#);
    let sig =
        apiops_webhooks::signature::stripe::sign(body.as_bytes(), WEBHOOK_SECRET, Timestamp::now());
    c.post(format!("{base}/webhooks/stripe"))
        .header("content-type", "application/json")
        .header("stripe-signature", sig)
        .body(body)
        .send()
        .await
        .expect("post")
}

#[tokio::test]
async fn without_a_token_the_pages_and_metrics_are_refused_and_webhooks_are_not() {
    let a = app(guarded()).await;
    let c = http();
    for path in ["/", "/errors", "/alerts", "/metrics"] {
        let r = c
            .get(format!("{}{path}", a.base))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 401, "{path} without a token");
        assert!(r.headers().contains_key("www-authenticate"));
        let r = c
            .get(format!("{}{path}", a.base))
            .bearer_auth("wrong-token-wrong-token-wrong")
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 401, "{path} with a wrong token");
        let r = c
            .get(format!("{}{path}", a.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 200, "{path} with the token");
    }
    // The receiver and the health probe need no token (providers cannot send one).
    let r = signed_stripe(&c, &a.base, "evt_open_1").await;
    assert_eq!(r.status(), 200);
    let r = c
        .get(format!("{}/healthz", a.base))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    // A bad signature is the receiver's 401, with its own reason, not the dashboard's.
    let r = c
        .post(format!("{}/webhooks/stripe", a.base))
        .header("content-type", "application/json")
        .header("stripe-signature", "t=1,v1=00")
        .body(r#"{"id":"evt_x","type":"x"}"#)
        .send()
        .await
        .expect("post");
    let text = r.text().await.expect("body");
    assert!(text.contains("\"reason\""), "{text}");
    assert_eq!(a.store.inbox_count(None).await.expect("count"), 1);
}

#[tokio::test]
async fn a_token_in_the_query_sets_a_cookie_and_leaves_the_address_bar() {
    let a = app(guarded()).await;
    let c = http();
    let r = c
        .get(format!("{}/errors?window=6h&token={TOKEN}", a.base))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/errors?window=6h");
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(!cookie.contains(TOKEN), "the cookie is not the token");
    let session = cookie.split(';').next().expect("pair").to_owned();
    let r = c
        .get(format!("{}/errors?window=6h", a.base))
        .header("cookie", &session)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    let r = c
        .get(format!("{}/?token=not-the-token-at-all", a.base))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 401);
    let r = c
        .get(format!("{}/", a.base))
        .header("cookie", "apiops_session=forged")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn on_loopback_without_a_token_everything_is_open() {
    let listen: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
    let a = app(Access::for_listen(listen, None).expect("open")).await;
    let c = http();
    for path in ["/", "/errors", "/alerts", "/metrics"] {
        let r = c
            .get(format!("{}{path}", a.base))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 200, "{path}");
    }
}

fn ago(secs: i64) -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second() - secs).expect("ts")
}

fn event(
    secs_ago: i64,
    service: Service,
    code: &str,
    category: Category,
    action: ActionTaken,
) -> ErrorEvent {
    ErrorEvent {
        timestamp: ago(secs_ago),
        service,
        error_code: code.into(),
        category,
        severity: category.default_severity(),
        resource_type: "message".into(),
        resource_id: format!("SM{secs_ago}"),
        context: format!("<script>alert('x')</script> key {CANARY}"),
        action_taken: action,
        result: if action == ActionTaken::None {
            EventResult::Failed
        } else {
            EventResult::Success
        },
    }
}

#[tokio::test]
async fn pages_show_the_store_escaped_and_masked() {
    let listen: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
    let a = app(Access::for_listen(listen, None).expect("open")).await;
    for (i, status) in ["operational", "degraded", "down", "operational"]
        .iter()
        .enumerate()
    {
        a.store
            .record_check(&CheckRecord {
                job: "health".into(),
                service: Some(Service::Openai),
                ran_at: ago(3_600 - i as i64 * 600),
                status: (*status).into(),
                summary: r#"{"latency_ms":42,"details":{"requests_headroom":"12.5% (25/200)"}}"#
                    .into(),
                instance: "test".into(),
            })
            .await
            .expect("check");
    }
    a.store
        .append_events(&[
            event(
                600,
                Service::Twilio,
                "30007",
                Category::SpamBlocked,
                ActionTaken::None,
            ),
            event(
                1_200,
                Service::Twilio,
                "30007",
                Category::SpamBlocked,
                ActionTaken::None,
            ),
            event(
                7_000,
                Service::Stripe,
                "card_declined",
                Category::BadParams,
                ActionTaken::None,
            ),
            event(
                300,
                Service::Twilio,
                "twilio.numbers.buy",
                Category::Config,
                ActionTaken::Executed,
            ),
        ])
        .await
        .expect("events");
    a.store
        .alert_observe(&AlertRecord {
            key: "service_down:openai".into(),
            rule: "service_down".into(),
            service: Some(Service::Openai),
            severity: Severity::Critical,
            message: format!("OpenAI is down <b>{CANARY}</b>"),
            firing: true,
            fired_at: ago(900),
            resolved_at: None,
            updated_at: ago(60),
        })
        .await
        .expect("alert");
    let c = http();
    let _ = signed_stripe(&c, &a.base, "evt_page_1").await;
    let html = c
        .get(format!("{}/?window=6h", a.base))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("html");
    for want in [
        "data-chart=\"health\"",
        "data-chart=\"errors\"",
        "data-chart=\"headroom\"",
        "data-chart=\"traffic\"",
        "30007",
        "twilio.numbers.buy",
        "service_down",
        "1 firing",
        "42 ms",
    ] {
        assert!(html.contains(want), "{want} missing from the overview");
    }
    assert!(html.matches("class=\"mark\"").count() >= 4, "health marks");
    assert!(!html.contains(CANARY), "a configured secret is masked");
    assert!(!html.contains("<script>"), "store text is escaped");
    assert!(!html.contains("<b>"), "store text is escaped");
    // The Twilio fix for 30007 comes from the classification table.
    let fix = apiops_providers::twilio::classify::classify("30007", None).remediation;
    let escaped = fix
        .replace('&', "&amp;")
        .replace('\'', "&#39;")
        .replace('"', "&quot;");
    assert!(
        html.contains(&fix) || html.contains(&escaped),
        "the suggested fix is shown"
    );
    let errors = c
        .get(format!("{}/errors?window=1h", a.base))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("html");
    assert!(errors.contains("30007"));
    assert!(!errors.contains("card_declined"), "outside the 1h window");
    let alerts = c
        .get(format!("{}/alerts", a.base))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("html");
    assert!(alerts.contains("service_down") && alerts.contains("degraded"));
}
