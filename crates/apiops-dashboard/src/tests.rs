//! The dashboard and `/metrics` over real HTTP: the token rules (the receiver stays open),
//! pages rendered from a seeded store with escaping and masking, and the Pending
//! confirmations: what they show, and each guard of a decision attacked.

use std::net::SocketAddr;
use std::sync::Arc;

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
    dashboard: Arc<DashboardState>,
    _dir: tempfile::TempDir,
}

/// Serves the receiver and the dashboard as `apiops serve` does, with `access`.
async fn app(access: Access) -> App {
    app_with(access, apiops_config::test_loaded(&[]), true).await
}

/// [`app`] with the configuration the confirmed plans run with, and whether agents hold a
/// token of their own (`people_only`).
async fn app_with(access: Access, loaded: apiops_config::LoadedConfig, people_only: bool) -> App {
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
    // What `mount` builds from the configuration, with CANARY as one more secret.
    let redactor =
        redactor(&loaded.settings, None).with_secret(SecretString::from(CANARY.to_owned()));
    let dashboard = Arc::new(DashboardState {
        people_only,
        store: Arc::clone(&store),
        metrics: crate::metrics::builder().build_recorder().handle(),
        receiver,
        receivers,
        traffic,
        redactor,
        started: Timestamp::now(),
        refresh_secs: 30,
        config: Arc::new(loaded),
        csrf: CsrfKey::generate(),
    });
    let router =
        apiops_webhooks::receiver::router(state).merge(router(Arc::clone(&dashboard), access));
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
        dashboard,
        _dir: dir,
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

impl App {
    /// A GET of `path` on the app.
    fn get(&self, c: &reqwest::Client, path: &str) -> reqwest::RequestBuilder {
        c.get(format!("{}{path}", self.base))
    }

    /// A POST to confirmation `id`, the form a decision is sent with.
    fn post_to(&self, c: &reqwest::Client, id: &str) -> reqwest::RequestBuilder {
        c.post(format!("{}/confirmations/{id}", self.base))
    }

    /// The body of a GET of `path` on the app.
    async fn page(&self, c: &reqwest::Client, path: &str) -> String {
        let response = self.get(c, path).send().await.expect("get");
        response.text().await.expect("body")
    }
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
    for path in ["/", "/errors", "/alerts", "/confirmations", "/metrics"] {
        let r = a.get(&c, path).send().await.expect("get");
        assert_eq!(r.status(), 401, "{path} without a token");
        assert!(r.headers().contains_key("www-authenticate"));
        let r = a
            .get(&c, path)
            .bearer_auth("wrong-token-wrong-token-wrong")
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 401, "{path} with a wrong token");
        let r = a
            .get(&c, path)
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 200, "{path} with the token");
    }
    // The receiver and the health probe need no token (providers cannot send one).
    let r = signed_stripe(&c, &a.base, "evt_open_1").await;
    assert_eq!(r.status(), 200);
    let r = a.get(&c, "/healthz").send().await.expect("get");
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
    let r = a
        .get(&c, &format!("/errors?window=6h&token={TOKEN}"))
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
    let r = a
        .get(&c, "/errors?window=6h")
        .header("cookie", &session)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    let r = a
        .get(&c, "/?token=not-the-token-at-all")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 401);
    let r = a
        .get(&c, "/")
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
    for path in ["/", "/errors", "/alerts", "/confirmations", "/metrics"] {
        let r = a.get(&c, path).send().await.expect("get");
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

/// A configured API the monitor checked gets its tile on the overview, after the three.
#[tokio::test]
async fn a_checked_api_gets_a_tile() {
    let listen: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
    let a = app(Access::for_listen(listen, None).expect("open")).await;
    let mail = Service::Api(apiops_core::ApiName::new("mailer-x").expect("name"));
    a.store
        .record_check(&CheckRecord {
            job: "health".into(),
            service: Some(mail),
            ran_at: ago(60),
            status: "down".into(),
            summary: r#"{"latency_ms":77,"reason":"HTTP 401 [auth] invalid_key","details":{}}"#
                .into(),
            instance: "test".into(),
        })
        .await
        .expect("check");
    let html = a.page(&http(), "/").await;
    let at = html.find("mailer-x").expect("the API's tile");
    assert!(html[at..].contains("invalid_key"), "its reason is shown");
    assert!(html[at..].contains("77 ms"), "its latency is shown");
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
    let html = a.page(&c, "/?window=6h").await;
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
    let errors = a.page(&c, "/errors?window=1h").await;
    assert!(errors.contains("30007"));
    assert!(!errors.contains("card_declined"), "outside the 1h window");
    let alerts = a.page(&c, "/alerts").await;
    assert!(alerts.contains("service_down") && alerts.contains("degraded"));
}

/// Either half of a rotated webhook secret (`whsec_a,whsec_b`), quoted alone in the store, is
/// masked on every page: the dashboard's redactor once held only the whole list.
#[tokio::test]
async fn each_half_of_a_rotated_webhook_secret_is_masked_on_the_pages() {
    const OLD: &str = "whsec_rotation_canary_old_0123456789";
    const NEW: &str = "whsec_rotation_canary_new_9876543210";
    const OA_NEW: &str = "whsec_oa_rotation_canary_new_24680";
    let rotated = format!("{OLD},{NEW}");
    let oa_rotated = format!("whsec_oa_rotation_canary_old_13579, {OA_NEW}");
    let loaded = apiops_config::test_loaded(&[
        ("STRIPE_WEBHOOK_SECRET", rotated.as_str()),
        ("OPENAI_WEBHOOK_SECRET", oa_rotated.as_str()),
    ]);
    let a = app_with(open(), loaded, true).await;
    let mut events = Vec::new();
    for (i, secret) in [OLD, NEW, OA_NEW].into_iter().enumerate() {
        let mut e = event(
            60 + i as i64,
            Service::Stripe,
            "webhook_signature",
            Category::Auth,
            ActionTaken::None,
        );
        e.context = format!("signature made with {secret} did not match");
        events.push(e);
    }
    a.store.append_events(&events).await.expect("events");
    let c = http();
    let mut seen = 0;
    for path in ["/errors?window=1h", "/"] {
        let html = a.page(&c, path).await;
        for secret in [OLD, NEW, OA_NEW] {
            assert!(!html.contains(secret), "{secret} shown on {path}");
            assert!(!html.contains(&secret[4..secret.len() - 4]), "{path}");
        }
        seen += html.matches("did not match").count();
    }
    assert!(seen >= 3, "the texts holding the secrets are on the pages");
}

// --- Pending confirmations ---

use apiops_ops::catalog::NumberUrls;
use apiops_ops::exec::OutcomeStatus;
use apiops_ops::plan::{Cost, Planned, Step, StepAction, plan_key};
use apiops_ops::{Operation, Plan};
use apiops_store::{Confirmation, ConfirmationState};

const NUMBER: &str = "+14155550123";
const RISK: &str = "a monthly charge until the number is released";

fn open() -> Access {
    let listen: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
    Access::for_listen(listen, None).expect("open")
}

/// A plan to buy [`NUMBER`], as the MCP server would have stored it.
fn buy_plan() -> Plan {
    let op = Operation::TwilioBuyNumber {
        number: Some(NUMBER.into()),
        area_code: None,
        country: "US".into(),
        urls: NumberUrls::default(),
    };
    Plan {
        key: plan_key(&op),
        request: format!("buy {NUMBER} <b>now</b>"),
        name: op.spec().name.into(),
        operation: op,
        steps: vec![Step {
            index: 0,
            action: StepAction::BuyNumber {
                number: NUMBER.into(),
                urls: NumberUrls::default(),
            },
            planned: Planned::ToDo,
        }],
        risks: vec![RISK.into()],
        cost: Some(Cost {
            amount: Some("1.15".into()),
            currency: Some("USD".into()),
            per: "month".into(),
            source: "Twilio pricing".into(),
        }),
        batch: false,
        planned_at: Timestamp::now(),
    }
}

/// Puts a confirmation asked `asked_ago` seconds ago, expiring `expires_in` seconds from now.
async fn put(store: &dyn Store, plan_json: &str, asked_ago: i64, expires_in: i64) -> String {
    let id = apiops_ops::ids::plan_id();
    let now = Timestamp::now().as_second();
    let ok = store
        .confirmation_put(&Confirmation {
            id: id.clone(),
            session: "session-1".into(),
            plan_json: plan_json.into(),
            summary: format!("twilio.numbers.buy: buy {NUMBER} <script>x</script>"),
            created_at: Timestamp::from_second(now - asked_ago).expect("ts"),
            expires_at: Timestamp::from_second(now + expires_in).expect("ts"),
            state: ConfirmationState::Pending,
            decided_by: None,
            decided_at: None,
        })
        .await
        .expect("put");
    assert!(ok);
    id
}

async fn state_of(store: &dyn Store, id: &str) -> Confirmation {
    store
        .confirmation(id)
        .await
        .expect("read")
        .expect("present")
}

async fn post(c: &reqwest::Client, a: &App, id: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let r = a.post_to(c, id).form(fields).send().await.expect("post");
    let status = r.status().as_u16();
    (status, r.text().await.expect("body"))
}

/// `s` as askama escapes it.
fn html_escaped(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('\'', "&#39;")
        .replace('"', "&#34;")
}

/// The section of `html` about confirmation `id`.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("data-confirmation=\"{id}\""))
        .unwrap_or_else(|| panic!("{id} is not listed"));
    let rest = &html[start..];
    &rest[..rest.find("</section>").expect("section end")]
}

#[tokio::test]
async fn the_pending_page_shows_each_waiting_plan_in_full_and_nothing_else() {
    let a = app(open()).await;
    let c = http();
    let html = a.page(&c, "/confirmations").await;
    assert!(html.contains("Nothing waits for confirmation."), "{html}");
    assert!(!html.contains("<form"));

    let plan = buy_plan();
    let json = serde_json::to_string(&plan).expect("json");
    let store = a.store.as_ref();
    let waiting = put(store, &json, 60, 600).await;
    let expired = put(store, &json, 700, -100).await;
    let refused = put(store, &json, 60, 600).await;
    assert!(
        store
            .confirmation_decide(
                &refused,
                ConfirmationState::Refused,
                "terminal",
                Timestamp::now()
            )
            .await
            .expect("decide")
    );
    let unreadable = put(store, r#"{"not":"a plan"}"#, 30, 600).await;

    let r = a.get(&c, "/confirmations").send().await.expect("get");
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(csp.contains("form-action 'self'") && csp.contains("default-src 'none'"));
    assert!(!csp.contains("script-src"), "no script");
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.expect("html");
    assert!(!html.contains("Nothing waits"));
    assert!(!html.contains(&expired), "an expired plan is not listed");
    assert!(!html.contains(&refused), "a decided plan is not listed");

    let w = section(&html, &waiting);
    let spec = plan.operation.spec();
    let trust = apiops_ops::trust_of_plan(&plan, apiops_ops::DEFAULT_BATCH_CAP);
    for want in [
        "twilio.numbers.buy".to_owned(),
        html_escaped(spec.summary),
        html_escaped(&plan.steps[0].action.describe()),
        html_escaped(spec.side_effects),
        html_escaped(RISK),
        "1.15 USD per month (Twilio pricing)".to_owned(),
        "needs a person".to_owned(),
        html_escaped(&trust.why),
        "purchase".to_owned(),
        "asked 1m ago".to_owned(),
        format!("action=\"/confirmations/{waiting}\""),
        format!(
            "name=\"csrf\" value=\"{}\"",
            a.dashboard.csrf.token(&waiting)
        ),
        "value=\"confirm\"".to_owned(),
        "value=\"refuse\"".to_owned(),
    ] {
        assert!(w.contains(&want), "{want} missing from\n{w}");
    }
    assert!(
        !html.contains("<script>x") && !html.contains("<b>now"),
        "escaped"
    );

    let u = section(&html, &unreadable);
    assert!(u.contains("Unreadable plan"), "{u}");
    assert!(
        !u.contains("value=\"confirm\""),
        "an unreadable plan cannot be confirmed"
    );
    assert!(u.contains("value=\"refuse\""));

    // Every page links to it.
    let overview = a.page(&c, "/").await;
    assert!(overview.contains("href=\"/confirmations?"));
}

#[tokio::test]
async fn a_decision_needs_the_token_of_its_plan_and_is_taken_once() {
    let a = app(open()).await;
    let c = http();
    let json = serde_json::to_string(&buy_plan()).expect("json");
    let store = a.store.as_ref();
    let id = put(store, &json, 10, 600).await;
    let other = put(store, &json, 10, 600).await;
    let token = a.dashboard.csrf.token(&id);
    let forged = "0".repeat(64);
    let others = a.dashboard.csrf.token(&other);
    let another_process = CsrfKey::generate().token(&id);

    for (what, fields) in [
        ("no token", vec![("decision", "refuse")]),
        (
            "an empty token",
            vec![("csrf", ""), ("decision", "confirm")],
        ),
        (
            "a forged token",
            vec![("csrf", forged.as_str()), ("decision", "confirm")],
        ),
        (
            "another plan's token",
            vec![("csrf", others.as_str()), ("decision", "confirm")],
        ),
        (
            "another process's token",
            vec![("csrf", another_process.as_str()), ("decision", "confirm")],
        ),
    ] {
        let (status, body) = post(&c, &a, &id, &fields).await;
        assert_eq!(status, 403, "{what}");
        assert!(body.contains("nothing was decided"), "{what}: {body}");
        assert!(!body.contains(&token), "{what}: the token is not echoed");
    }
    // The right token from another site.
    let r = a
        .post_to(&c, &id)
        .header("origin", "http://evil.example")
        .form(&[("csrf", token.as_str()), ("decision", "confirm")])
        .send()
        .await
        .expect("post");
    // Without a token, a foreign Origin is not local: refused by the access rule (401) before
    // the form's own same-origin check (403) would refuse it.
    assert_eq!(r.status(), 401, "cross-origin");
    // Neither yes nor no.
    let (status, _) = post(&c, &a, &id, &[("csrf", &token), ("decision", "maybe")]).await;
    assert_eq!(status, 400);
    // An oversized form is not read.
    let r = a
        .post_to(&c, &id)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf={token}&decision=confirm&pad={}",
            "x".repeat(8 * 1024)
        ))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 413, "oversized body");
    let still = state_of(store, &id).await;
    assert_eq!(
        still.state,
        ConfirmationState::Pending,
        "nothing was decided"
    );
    assert_eq!(still.decided_by, None);
    assert_eq!(
        state_of(store, &other).await.state,
        ConfirmationState::Pending
    );

    // The person refuses, from the page's own origin.
    let origin = a.base.clone();
    let r = a
        .post_to(&c, &id)
        .header("origin", &origin)
        .form(&[("csrf", token.as_str()), ("decision", "refuse")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    assert!(r.text().await.expect("body").contains("will not run"));
    let decided = state_of(store, &id).await;
    assert_eq!(decided.state, ConfirmationState::Refused);
    assert_eq!(decided.decided_by.as_deref(), Some("dashboard"));
    assert!(decided.decided_at.is_some());

    // A second decision, either way, changes nothing.
    for decision in ["confirm", "refuse"] {
        let (status, body) = post(&c, &a, &id, &[("csrf", &token), ("decision", decision)]).await;
        assert_eq!(status, 409, "{decision}");
        assert!(body.contains("refused by dashboard"), "{body}");
    }
    assert_eq!(state_of(store, &id).await.state, ConfirmationState::Refused);
    let html = a.page(&c, "/confirmations").await;
    assert!(!html.contains(&id) && html.contains(&other));

    // Expired: too late, even with its token.
    let expired = put(store, &json, 700, -1).await;
    let t = a.dashboard.csrf.token(&expired);
    let (status, body) = post(&c, &a, &expired, &[("csrf", &t), ("decision", "confirm")]).await;
    assert_eq!(status, 409);
    assert!(body.contains("Expired"), "{body}");
    assert_eq!(
        state_of(store, &expired).await.state,
        ConfirmationState::Pending
    );

    // Unknown.
    let unknown = apiops_ops::ids::plan_id();
    let t = a.dashboard.csrf.token(&unknown);
    let (status, _) = post(&c, &a, &unknown, &[("csrf", &t), ("decision", "refuse")]).await;
    assert_eq!(status, 404);

    // An unreadable plan cannot be confirmed, only refused.
    let unreadable = put(store, "{", 10, 600).await;
    let t = a.dashboard.csrf.token(&unreadable);
    let (status, _) = post(
        &c,
        &a,
        &unreadable,
        &[("csrf", &t), ("decision", "confirm")],
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        state_of(store, &unreadable).await.state,
        ConfirmationState::Pending
    );
    let (status, _) = post(&c, &a, &unreadable, &[("csrf", &t), ("decision", "refuse")]).await;
    assert_eq!(status, 200);
    assert_eq!(
        state_of(store, &unreadable).await.state,
        ConfirmationState::Refused
    );
}

#[tokio::test]
async fn without_the_token_the_confirmations_answer_401_and_decide_nothing() {
    let a = app(guarded()).await;
    let c = http();
    let json = serde_json::to_string(&buy_plan()).expect("json");
    let id = put(a.store.as_ref(), &json, 10, 600).await;
    let token = a.dashboard.csrf.token(&id);
    let r = a.get(&c, "/confirmations").send().await.expect("get");
    assert_eq!(r.status(), 401);
    assert!(!r.text().await.expect("body").contains(&token));
    for bearer in [None, Some("wrong-token-wrong-token-wrong")] {
        let mut req = a
            .post_to(&c, &id)
            .form(&[("csrf", token.as_str()), ("decision", "refuse")]);
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        assert_eq!(req.send().await.expect("post").status(), 401);
    }
    assert_eq!(
        state_of(a.store.as_ref(), &id).await.state,
        ConfirmationState::Pending
    );
    let r = a
        .get(&c, "/confirmations")
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    assert!(r.text().await.expect("body").contains(&token));
    let r = a
        .post_to(&c, &id)
        .bearer_auth(TOKEN)
        .form(&[("csrf", token.as_str()), ("decision", "refuse")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    assert_eq!(
        state_of(a.store.as_ref(), &id).await.state,
        ConfirmationState::Refused
    );
}

#[tokio::test]
async fn on_loopback_without_a_token_only_local_requests_reach_the_confirmations() {
    let a = app(open()).await;
    let c = http();
    let json = serde_json::to_string(&buy_plan()).expect("json");
    let id = put(a.store.as_ref(), &json, 10, 600).await;
    let token = a.dashboard.csrf.token(&id);
    // DNS rebinding: a page of evil.example resolved to 127.0.0.1 reads the page or posts.
    let r = a
        .get(&c, "/confirmations")
        .header("host", "evil.example")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 401);
    let body = r.text().await.expect("body");
    assert!(!body.contains(&token));
    assert!(body.contains("--token"), "{body}");
    for (name, value) in [
        ("host", "evil.example"),
        ("x-forwarded-for", "203.0.113.9"),
        ("origin", "http://evil.example"),
    ] {
        let r = a
            .post_to(&c, &id)
            .header(name, value)
            .form(&[("csrf", token.as_str()), ("decision", "refuse")])
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 401, "{name}: {value}");
    }
    assert_eq!(
        state_of(a.store.as_ref(), &id).await.state,
        ConfirmationState::Pending
    );
    // Every guarded page has the same rule: local passes, anything else is 401.
    for path in ["/", "/errors", "/alerts", "/metrics", "/confirmations"] {
        let r = a
            .get(&c, path)
            .header("host", "localhost")
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), 200, "{path}");
        for (name, value) in [
            ("host", "evil.example"),
            ("x-forwarded-for", "127.0.0.1"),
            ("forwarded", "for=127.0.0.1"),
            ("x-real-ip", "127.0.0.1"),
            ("origin", "http://evil.example"),
        ] {
            let r = a
                .get(&c, path)
                .header(name, value)
                .send()
                .await
                .expect("get");
            assert_eq!(r.status(), 401, "{path} with {name}: {value}");
        }
    }
}

#[tokio::test]
async fn a_confirmed_purchase_runs_once_against_the_simulator() {
    let sim = apiops_sim::Simulator::new(apiops_sim::SimConfig::default())
        .expect("sim")
        .start()
        .await
        .expect("start");
    let env = sim.env_vars();
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.push(("APIOPS_CLIENT_MAX_ATTEMPTS", "1"));
    let a = app_with(open(), apiops_config::test_loaded(&vars), true).await;
    let bought = || {
        sim.stats()
            .side_effects
            .get("twilio.numbers.buy")
            .copied()
            .unwrap_or(0)
    };
    // Planned as the MCP server plans it, and left waiting for a person.
    let settings = &a.dashboard.config.settings;
    let services = apiops_config::providers::services(settings).allowing_private_targets(false);
    let op = Operation::TwilioBuyNumber {
        number: None,
        area_code: Some(415),
        country: "US".into(),
        urls: NumberUrls::default(),
    };
    let plan = apiops_ops::prepare(
        &op,
        "buy a number in 415",
        &services,
        a.store.as_ref(),
        Timestamp::now(),
        false,
    )
    .await
    .expect("prepare")
    .plan;
    let id = put(
        a.store.as_ref(),
        &serde_json::to_string(&plan).expect("json"),
        5,
        600,
    )
    .await;
    assert_eq!(bought(), 0, "planning buys nothing");
    let c = http();
    let token = a.dashboard.csrf.token(&id);
    let (status, body) = post(&c, &a, &id, &[("csrf", &token), ("decision", "confirm")]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Confirmed and done"), "{body}");
    assert!(body.contains("✓") && body.contains("PN"), "{body}");
    assert_eq!(bought(), 1);
    let decided = state_of(a.store.as_ref(), &id).await;
    assert_eq!(decided.state, ConfirmationState::Confirmed);
    assert_eq!(decided.decided_by.as_deref(), Some("dashboard"));

    // A second click, another tab: decided already, nothing runs.
    let (status, _) = post(&c, &a, &id, &[("csrf", &token), ("decision", "confirm")]).await;
    assert_eq!(status, 409);
    assert_eq!(bought(), 1);
    // The agent's execute_plan afterwards finds it done and repeats nothing.
    let again = execute_confirmed(settings, a.store.as_ref(), &plan)
        .await
        .expect("again");
    assert_eq!(again.status, OutcomeStatus::NothingToDo);
    assert_eq!(bought(), 1);
}

#[tokio::test]
async fn when_agents_hold_the_dashboard_token_the_page_lists_but_never_decides() {
    let a = app_with(guarded(), apiops_config::test_loaded(&[]), false).await;
    let c = http();
    let json = serde_json::to_string(&buy_plan()).expect("json");
    let id = put(a.store.as_ref(), &json, 10, 600).await;
    let html = a
        .get(&c, "/confirmations")
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("html");
    assert!(html.contains(&format!("apiops confirm {id}")), "{html}");
    assert!(!html.contains("name=\"csrf\""), "{html}");
    // Even with a valid CSRF token (an agent with the token could read one), nothing is decided.
    let token = a.dashboard.csrf.token(&id);
    for decision in ["confirm", "refuse"] {
        let r = a
            .post_to(&c, &id)
            .bearer_auth(TOKEN)
            .form(&[("csrf", token.as_str()), ("decision", decision)])
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 403);
        assert!(r.text().await.expect("body").contains("--mcp-token"));
    }
    assert_eq!(
        state_of(a.store.as_ref(), &id).await.state,
        ConfirmationState::Pending
    );
}

mod api_writes;
mod usage;
