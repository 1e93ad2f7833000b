//! The client layer against a real HTTP server on 127.0.0.1:0 that injects faults: 5xx bursts,
//! 429 with Retry-After, hangs (timeouts) and connection resets. Time is a manual clock: every
//! wait the client chooses is recorded instead of slept, so these tests never sleep.

mod util;

use std::sync::Arc;
use std::time::Duration;

use apiops_client::auth::{Auth, HmacSigner, OAuth2ClientCredentials};
use apiops_client::breaker::{BreakerConfig, BreakerState};
use apiops_client::clock::{Clock, Jitter, ManualClock};
use apiops_client::reads::ReadPolicy;
use apiops_client::retry::{Backoff, RetryPolicy};
use apiops_client::{ApiClient, ClientError, Method, SecretString, TransportKind};
use util::{FaultServer, Step, json, status, with_header};

fn policy(attempts: u32) -> RetryPolicy {
    RetryPolicy::new(
        attempts,
        Backoff::new(Duration::from_millis(250), Duration::from_secs(20)).expect("backoff"),
    )
    .expect("policy")
    .with_jitter(Jitter::fixed(1.0))
}

fn client(server: &FaultServer, clock: Clock) -> apiops_client::ClientBuilder {
    ApiClient::builder("test", &server.url())
        .clock(clock)
        .retry(policy(3))
        .timeout(Duration::from_secs(10))
}

async fn get(c: &ApiClient, path: &str) -> Result<u16, ClientError> {
    let rb = c.request(Method::GET, path)?;
    Ok(c.send(rb).await?.status().as_u16())
}

async fn post(c: &ApiClient, path: &str) -> Result<u16, ClientError> {
    let rb = c.request(Method::POST, path)?.body("a=1");
    Ok(c.send(rb).await?.status().as_u16())
}

#[tokio::test]
async fn a_5xx_burst_is_retried_with_capped_full_jitter_backoff() {
    let server = FaultServer::start(vec![status(503), status(502), status(200)]).await;
    let (manual, clock) = ManualClock::new();
    let c = client(&server, clock).build().expect("client");
    assert_eq!(get(&c, "/x").await.expect("ok after retries"), 200);
    assert_eq!(server.hits(), 3);
    // Jitter fixed at the ceiling: base, then base * 2.
    assert_eq!(
        manual.sleeps(),
        vec![Duration::from_millis(250), Duration::from_millis(500)]
    );
    assert_eq!(
        c.stats().retries.load(std::sync::atomic::Ordering::Relaxed),
        2
    );
}

#[tokio::test]
async fn attempts_are_bounded_and_the_last_error_is_returned() {
    let server = FaultServer::start(vec![]).await;
    server.set_fallback(json(503, r#"{"error":"down"}"#));
    let (_m, clock) = ManualClock::new();
    let c = client(&server, clock).build().expect("client");
    let err = get(&c, "/x").await.expect_err("fails");
    assert_eq!(err.status(), Some(503));
    assert!(err.body().is_some_and(|b| b.contains("down")), "{err}");
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn a_post_without_an_idempotency_key_is_never_retried() {
    let server = FaultServer::start(vec![status(503), Step::Reset, status(200)]).await;
    let (manual, clock) = ManualClock::new();
    let c = client(&server, clock).build().expect("client");
    let err = post(&c, "/charge").await.expect_err("503 surfaces");
    assert_eq!(err.status(), Some(503));
    assert_eq!(server.hits(), 1);
    let err = post(&c, "/charge").await.expect_err("reset surfaces");
    assert!(matches!(err, ClientError::Transport { .. }), "{err}");
    assert_eq!(server.hits(), 2, "a reset POST is not re-sent either");
    assert!(manual.sleeps().is_empty());
}

#[tokio::test]
async fn a_post_with_an_idempotency_key_is_retried_with_the_same_key() {
    let server = FaultServer::start(vec![
        status(500),
        Step::Reset,
        status(200),
        status(503),
        status(200),
    ])
    .await;
    let (_m, clock) = ManualClock::new();
    let c = client(&server, clock)
        .idempotency_header("Idempotency-Key")
        .expect("header")
        .build()
        .expect("client");
    assert_eq!(post(&c, "/charge").await.expect("retried to success"), 200);
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    let key = seen[0]
        .header("idempotency-key")
        .expect("key sent")
        .to_owned();
    assert_eq!(key.len(), 36);
    assert!(
        seen.iter()
            .all(|s| s.header("idempotency-key") == Some(&key))
    );

    // A second logical request gets a new key; a caller-chosen key is kept.
    let rb = c
        .request(Method::POST, "/charge")
        .expect("rb")
        .header("Idempotency-Key", "plan-123-step-1")
        .body("a=1");
    assert_eq!(c.send(rb).await.expect("ok").status().as_u16(), 200);
    let seen = server.seen();
    assert_eq!(seen[3].header("idempotency-key"), Some("plan-123-step-1"));
    assert_eq!(seen[4].header("idempotency-key"), Some("plan-123-step-1"));
}

#[tokio::test]
async fn retry_after_is_honored_exactly() {
    let server = FaultServer::start(vec![
        with_header(429, "retry-after", "7"),
        status(200),
        with_header(503, "retry-after-ms", "1500"),
        status(200),
    ])
    .await;
    let (manual, clock) = ManualClock::new();
    let c = client(&server, clock).build().expect("client");
    assert_eq!(get(&c, "/a").await.expect("ok"), 200);
    assert_eq!(manual.sleeps(), vec![Duration::from_secs(7)]);
    assert_eq!(get(&c, "/b").await.expect("ok"), 200);
    assert_eq!(
        manual.sleeps(),
        vec![Duration::from_secs(7), Duration::from_millis(1500)]
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_is_not_waited_for() {
    let server = FaultServer::start(vec![with_header(429, "retry-after", "3600")]).await;
    let (manual, clock) = ManualClock::new();
    let c = client(&server, clock).build().expect("client");
    let err = get(&c, "/a").await.expect_err("429 surfaces");
    match err {
        ClientError::Status {
            status,
            retry_after,
            ..
        } => {
            assert_eq!(status, 429);
            assert_eq!(retry_after, Some(Duration::from_secs(3600)));
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(server.hits(), 1);
    assert!(manual.sleeps().is_empty());
}

/// A server that always answers 503, and a client whose retry budget holds 3 tokens and never
/// refills (reads are not hedged, so each request is one first attempt plus its retries).
async fn always_503_with_a_budget_of_3() -> (FaultServer, ApiClient) {
    let server = FaultServer::start(vec![]).await;
    server.set_fallback(status(503));
    let (_m, clock) = ManualClock::new();
    let c = client(&server, clock)
        .retry_budget(0.0, 3)
        .reads(ReadPolicy::off())
        .build()
        .expect("client");
    (server, c)
}

#[tokio::test]
async fn retries_stop_at_the_budget() {
    let (server, c) = always_503_with_a_budget_of_3().await;
    for _ in 0..5 {
        assert_eq!(get(&c, "/x").await.expect_err("fails").status(), Some(503));
    }
    // 5 first attempts + only 3 retries in all, though each request wanted 2.
    assert_eq!(server.hits(), 8);
    assert_eq!(
        c.stats().retries.load(std::sync::atomic::Ordering::Relaxed),
        3
    );
}

/// The value of `apiops_http_retry_budget_tokens{budget=...}` in a Prometheus rendering.
fn budget_gauge(text: &str, budget: &str) -> Option<f64> {
    let label = format!("budget=\"{budget}\"");
    text.lines()
        .find(|l| l.starts_with("apiops_http_retry_budget_tokens{") && l.contains(&label))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn the_retry_budget_left_is_a_gauge_for_metrics() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    // This test's runtime runs on this thread only: the client records into `recorder`.
    let _guard = metrics::set_default_local_recorder(&recorder);
    let (_server, c) = always_503_with_a_budget_of_3().await;
    get(&c, "/x").await.expect_err("fails");
    // Three tokens, two retries spent by the first request.
    assert_eq!(budget_gauge(&handle.render(), "general"), Some(1.0));
    for _ in 0..4 {
        get(&c, "/x").await.expect_err("fails");
    }
    let text = handle.render();
    assert_eq!(budget_gauge(&text, "general"), Some(0.0), "{text}");
    assert_eq!(c.retry_budget_balance(), 0.0);
}

#[tokio::test]
async fn the_breaker_opens_half_opens_and_closes() {
    let server = FaultServer::start(vec![]).await;
    server.set_fallback(status(500));
    let (manual, clock) = ManualClock::new();
    let c = client(&server, clock)
        .retry(policy(1))
        .breaker(Some(BreakerConfig {
            failure_rate: 0.5,
            minimum_calls: 4,
            window: 4,
            cool_down: Duration::from_secs(30),
            half_open_probes: 2,
        }))
        .build()
        .expect("client");
    for _ in 0..4 {
        assert_eq!(get(&c, "/x").await.expect_err("500").status(), Some(500));
    }
    assert_eq!(c.breaker_state(), BreakerState::Open);
    let err = get(&c, "/x").await.expect_err("refused");
    assert!(
        matches!(err, ClientError::CircuitOpen { retry_in, .. } if retry_in == Duration::from_secs(30)),
        "{err}"
    );
    assert_eq!(server.hits(), 4, "nothing sent while open");

    // Cool-down over: a failing probe re-opens.
    manual.advance(Duration::from_secs(30));
    assert_eq!(c.breaker_state(), BreakerState::HalfOpen);
    assert!(get(&c, "/x").await.is_err());
    assert_eq!(c.breaker_state(), BreakerState::Open);
    assert_eq!(server.hits(), 5);

    // Next cool-down: the host recovered; two good probes close it.
    manual.advance(Duration::from_secs(30));
    server.set_fallback(status(200));
    assert_eq!(get(&c, "/x").await.expect("probe"), 200);
    assert_eq!(c.breaker_state(), BreakerState::HalfOpen);
    assert_eq!(get(&c, "/x").await.expect("probe"), 200);
    assert_eq!(c.breaker_state(), BreakerState::Closed);
}

#[tokio::test]
async fn timeouts_and_resets_are_typed_transport_errors() {
    let server = FaultServer::start(vec![Step::Hang, Step::Reset, Step::Reset, status(200)]).await;
    let (_m, clock) = ManualClock::new();
    let c = client(&server, clock)
        .retry(policy(1))
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    match get(&c, "/slow").await.expect_err("times out") {
        ClientError::Transport { kind, target, .. } => {
            assert_eq!(kind, TransportKind::Timeout);
            assert!(target.ends_with("/slow"), "{target}");
        }
        other => panic!("unexpected {other}"),
    }
    match get(&c, "/reset").await.expect_err("reset") {
        ClientError::Transport { kind, .. } => {
            assert!(
                matches!(kind, TransportKind::Reset | TransportKind::Other),
                "{kind:?}"
            );
        }
        other => panic!("unexpected {other}"),
    }
    // With retries, a reset GET is re-sent and succeeds.
    let (_m2, clock2) = ManualClock::new();
    let c2 = client(&server, clock2).build().expect("client");
    assert_eq!(get(&c2, "/again").await.expect("retried"), 200);
}

#[tokio::test]
async fn the_oauth_token_is_refreshed_exactly_once_on_a_401() {
    let tok = |t: &str| {
        json(
            200,
            &format!(r#"{{"access_token":"{t}","expires_in":3600}}"#),
        )
    };
    let server = FaultServer::start(vec![
        tok("token-one-aaaaaaaa"),
        status(401),
        tok("token-two-bbbbbbbb"),
        status(200),
        // Then: the refreshed token is rejected too -> no second refresh.
        status(401),
        tok("token-three-cccccc"),
        status(401),
    ])
    .await;
    let oauth = Arc::new(OAuth2ClientCredentials::new(
        format!("{}/oauth/token", server.url())
            .parse()
            .expect("url"),
        "client-id",
        SecretString::from("client-secret-canary-42"),
        Some("read".into()),
    ));
    let (_m, clock) = ManualClock::new();
    let c = client(&server, clock)
        .auth(Auth::OAuth2(Arc::clone(&oauth)))
        .build()
        .expect("client");
    assert_eq!(get(&c, "/me").await.expect("ok after refresh"), 200);
    assert_eq!(oauth.fetch_count(), 2);
    let seen = server.seen();
    assert_eq!(seen[0].target, "/oauth/token");
    assert!(String::from_utf8_lossy(&seen[0].body).contains("grant_type=client_credentials"));
    assert_eq!(
        seen[1].header("authorization"),
        Some("Bearer token-one-aaaaaaaa")
    );
    assert_eq!(
        seen[3].header("authorization"),
        Some("Bearer token-two-bbbbbbbb")
    );

    let err = get(&c, "/me").await.expect_err("still 401");
    assert_eq!(err.status(), Some(401));
    assert_eq!(
        oauth.fetch_count(),
        3,
        "one refresh per rejected request, never a loop"
    );
    assert_eq!(server.hits(), 7);
}

#[tokio::test]
async fn auth_schemes_and_version_pins_reach_the_server() {
    let server = FaultServer::start(vec![]).await;
    let (_m, clock) = ManualClock::new();
    type Check = Box<dyn Fn(&str) -> bool>;
    let cases: Vec<(Auth, &str, Check)> = vec![
        (
            Auth::Bearer(SecretString::from("sk_test_bearer_value")),
            "authorization",
            Box::new(|v| v == "Bearer sk_test_bearer_value"),
        ),
        (
            Auth::Basic {
                username: SecretString::from("AC123"),
                password: SecretString::from("tok"),
            },
            "authorization",
            Box::new(|v| v == "Basic QUMxMjM6dG9r"),
        ),
        (
            Auth::ApiKeyHeader {
                header: http::HeaderName::from_static("x-api-key"),
                key: SecretString::from("key-value-123"),
            },
            "x-api-key",
            Box::new(|v| v == "key-value-123"),
        ),
        (
            Auth::Hmac(Arc::new(
                HmacSigner::new(SecretString::from("hmac-secret"), Some("k1".into()))
                    .with_clock(|| 1_700_000_000),
            )),
            "x-signature",
            Box::new(|v| v.starts_with("keyId=k1,signature=") && v.len() == 19 + 64),
        ),
    ];
    for (auth, header, check) in cases {
        let c = client(&server, clock.clone())
            .auth(auth)
            .version_pin("Stripe-Version", "2023-08-16")
            .expect("pin")
            .build()
            .expect("client");
        get(&c, "/v1/balance").await.expect("ok");
        let seen = server.seen();
        let last = seen.last().expect("a request");
        let value = last.header(header).unwrap_or_default();
        assert!(check(value), "{header}: {value}");
        assert_eq!(last.header("stripe-version"), Some("2023-08-16"));
    }
}

#[tokio::test]
async fn deprecation_headers_are_surfaced_once_per_endpoint() {
    let dep = Step::Respond {
        status: 200,
        headers: vec![
            ("deprecation".into(), "@1767225599".into()),
            ("sunset".into(), "Thu, 31 Dec 2026 23:59:59 GMT".into()),
            (
                "link".into(),
                r#"<https://docs.example/migrate>; rel="deprecation""#.into(),
            ),
        ],
        body: String::new(),
    };
    let server = FaultServer::start(vec![dep.clone(), dep]).await;
    let (_m, clock) = ManualClock::new();
    let c = client(&server, clock).build().expect("client");
    get(&c, "/old").await.expect("ok");
    get(&c, "/old").await.expect("ok");
    let notices = c.deprecations();
    assert_eq!(notices.len(), 1);
    assert!(notices[0].endpoint.ends_with("/old"));
    assert_eq!(
        notices[0].link.as_deref(),
        Some("https://docs.example/migrate")
    );
    assert!(notices[0].message().contains("sunset"));
}

#[tokio::test]
async fn a_429_pauses_the_whole_client_through_the_rate_gate() {
    let server = FaultServer::start(vec![with_header(429, "retry-after", "4")]).await;
    let (manual, clock) = ManualClock::new();
    let c = client(&server, clock)
        .retry(policy(1))
        .build()
        .expect("client");
    assert_eq!(get(&c, "/a").await.expect_err("429").status(), Some(429));
    assert!(c.rate_gate().paused_for().is_some());
    // The next request, to another path, waits out the pause before it is sent.
    assert_eq!(get(&c, "/b").await.expect("ok"), 200);
    assert_eq!(manual.sleeps(), vec![Duration::from_secs(4)]);
}

/// A `MakeWriter` that keeps everything logged in memory.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn canary_secrets_never_reach_logs_errors_or_cassettes() {
    const BEARER: &str = "sk_live_CANARY_bearer_5f3a9c1e7d";
    const QUERY: &str = "CANARY_query_token_88d1e0b2c4";
    const OAUTH_SECRET: &str = "CANARY_client_secret_a1b2c3d4";
    let canaries = [BEARER, QUERY, OAUTH_SECRET];

    // The provider echoes the credentials back in its error and success bodies, as some do.
    let echo = format!(
        r#"{{"error":{{"message":"Invalid API key provided: {BEARER}","token":"{QUERY}"}}}}"#
    );
    let server = FaultServer::start(vec![
        json(401, &echo),
        json(200, &format!(r#"{{"you_sent":"{BEARER}"}}"#)),
        Step::Reset,
    ])
    .await;

    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().expect("tempdir");
    let cassette_path = dir.path().join("canary.json");
    let cassette = apiops_client::cassette::Cassette::open(
        &cassette_path,
        apiops_client::cassette::CassetteMode::Record,
    )
    .expect("cassette");
    let (_m, clock) = ManualClock::new();
    let c = client(&server, clock)
        .retry(policy(1))
        .auth(Auth::Bearer(SecretString::from(BEARER)))
        .redact(SecretString::from(QUERY))
        .redact(SecretString::from(OAUTH_SECRET))
        .cassette(Some(cassette))
        .build()
        .expect("client");

    let mut errors = Vec::new();
    let path = format!("/v1/things?api_key={QUERY}&limit=3");
    let rb = c.request(Method::GET, &path).expect("rb");
    errors.push(c.send(rb).await.expect_err("401"));
    let ok = c
        .send(c.request(Method::GET, &path).expect("rb"))
        .await
        .expect("200");
    drop(ok);
    let rb = c.request(Method::GET, &path).expect("rb");
    errors.push(c.send(rb).await.expect_err("reset"));
    // An OAuth token endpoint that fails also must not leak its client secret.
    let oauth = OAuth2ClientCredentials::new(
        "http://127.0.0.1:9/token".parse().expect("url"),
        "id",
        SecretString::from(OAUTH_SECRET),
        None,
    );
    errors.push(oauth.token(None).await.expect_err("refused"));

    let mut everything = String::from_utf8(logs.0.lock().expect("lock").clone()).expect("utf8");
    for e in &errors {
        everything.push_str(&format!("{e}\n{e:?}\n"));
    }
    everything.push_str(&std::fs::read_to_string(&cassette_path).expect("cassette written"));
    everything.push_str(&format!("{c:?}"));
    assert!(
        everything.contains("/v1/things"),
        "the logs do describe the requests"
    );
    assert!(everything.contains("401"), "the logs do carry statuses");
    for canary in canaries {
        assert!(
            !everything.contains(canary),
            "{canary} leaked in:\n{everything}"
        );
    }
    // The masked form is what shows where a secret had to be mentioned.
    assert!(
        errors[0].to_string().contains(&apiops_core::mask(BEARER)),
        "{}",
        errors[0]
    );
    let cassette_text = std::fs::read_to_string(&cassette_path).expect("read");
    assert!(!cassette_text.contains(&format!(":{}", server.addr.port())));
    assert!(!cassette_text.contains("127.0.0.1"));
}
