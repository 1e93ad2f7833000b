//! Reads against a real HTTP server on 127.0.0.1:0 that hangs on cue: the adaptive attempt
//! timeout cuts a hung read off long before the configured timeout, a hedge answers a hung read,
//! writes are never hedged, and reads retry past the general budget up to the read budget.
//! Backoff waits go to a manual clock; the only real waits are the short adaptive ones, and no
//! assertion is about how long anything took.

mod util;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use apiops_client::clock::{Clock, Jitter, ManualClock};
use apiops_client::reads::ReadPolicy;
use apiops_client::retry::{Backoff, RetryPolicy};
use apiops_client::{ApiClient, ClientError, Method, TransportKind};
use util::{FaultServer, Step, status};

fn client(server: &FaultServer, clock: Clock, reads: ReadPolicy) -> ApiClient {
    let policy = RetryPolicy::new(
        3,
        Backoff::new(Duration::from_millis(250), Duration::from_secs(20)).expect("backoff"),
    )
    .expect("policy")
    .with_jitter(Jitter::fixed(1.0));
    ApiClient::builder("test", &server.url())
        .clock(clock)
        .retry(policy)
        // Far beyond any test's patience: a hung read that waited for it would hang the test.
        .timeout(Duration::from_secs(600))
        .reads(reads)
        .build()
        .expect("client")
}

async fn get(c: &ApiClient) -> Result<u16, ClientError> {
    let rb = c.request(Method::GET, "/x")?;
    Ok(c.send(rb).await?.status().as_u16())
}

/// Answers `n` reads so the client learns the server's latency.
async fn warm_up(c: &ApiClient, n: usize) {
    for _ in 0..n {
        assert_eq!(get(c).await.expect("warm-up"), 200);
    }
}

/// A server that answers `steps` and then 200, and a client to it reading with `small(reads)`;
/// its backoff waits go to the returned manual clock.
async fn answering_200(
    steps: Vec<Step>,
    reads: ReadPolicy,
) -> (FaultServer, ApiClient, Arc<ManualClock>) {
    let server = FaultServer::start(steps).await;
    server.set_fallback(status(200));
    let (manual, clock) = ManualClock::new();
    let c = client(&server, clock, small(reads));
    (server, c, manual)
}

/// The default read policy, with no hedging.
fn no_hedges() -> ReadPolicy {
    ReadPolicy {
        hedge_share: 0.0,
        ..ReadPolicy::default()
    }
}

fn small(policy: ReadPolicy) -> ReadPolicy {
    ReadPolicy {
        min_samples: 5,
        latency_window: 50,
        timeout_floor: Duration::from_millis(200),
        hedge_min_delay: Duration::from_millis(20),
        ..policy
    }
}

#[tokio::test]
async fn a_hung_read_times_out_at_the_adaptive_timeout_and_is_retried() {
    let (server, c, _m) = answering_200(vec![], no_hedges()).await;
    // Before any answer, a read gets the configured timeout.
    assert_eq!(
        c.reads().current_attempt_timeout(),
        Duration::from_secs(600)
    );
    warm_up(&c, 5).await;
    // Loopback answers in well under a millisecond: the floor.
    assert_eq!(
        c.reads().current_attempt_timeout(),
        Duration::from_millis(200)
    );
    server.push([Step::Hang]);
    assert_eq!(get(&c).await.expect("retried after the timeout"), 200);
    assert_eq!(server.hits(), 5 + 2);
    assert_eq!(c.stats().retries.load(Ordering::Relaxed), 1);
    assert_eq!(c.stats().hedges.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn an_attempt_timeout_is_a_typed_transport_timeout() {
    let (server, c, _m) = answering_200(
        vec![],
        ReadPolicy {
            read_budget_ratio: 0.0,
            read_budget_min: 0,
            ..no_hedges()
        },
    )
    .await;
    warm_up(&c, 5).await;
    server.push([Step::Hang, Step::Hang, Step::Hang]);
    match get(&c).await {
        Err(ClientError::Transport { kind, message, .. }) => {
            assert_eq!(kind, TransportKind::Timeout);
            assert!(message.contains("read attempt timeout"), "{message}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    // Three attempts, each cut off.
    assert_eq!(server.hits(), 5 + 3);
}

#[tokio::test]
async fn a_hung_read_is_answered_by_its_hedge() {
    let (server, c, manual) = answering_200(vec![], ReadPolicy::default()).await;
    warm_up(&c, 5).await;
    server.push([Step::Hang]);
    assert_eq!(get(&c).await.expect("hedged"), 200);
    assert_eq!(server.hits(), 5 + 2, "one hedge, no retry");
    assert_eq!(c.stats().hedges.load(Ordering::Relaxed), 1);
    assert_eq!(c.stats().hedges_won.load(Ordering::Relaxed), 1);
    assert_eq!(c.stats().retries.load(Ordering::Relaxed), 0);
    assert!(manual.sleeps().is_empty(), "no backoff was needed");
}

#[tokio::test]
async fn hedges_stay_within_their_share() {
    let (server, c, _m) = answering_200(
        vec![],
        ReadPolicy {
            hedge_share: 0.1,
            ..ReadPolicy::default()
        },
    )
    .await;
    warm_up(&c, 5).await;
    // Every other read hangs once: far more hedges wanted than the share allows.
    for _ in 0..20 {
        server.push([Step::Hang]);
        assert_eq!(get(&c).await.expect("answered"), 200);
        assert_eq!(get(&c).await.expect("answered"), 200);
    }
    let hedges = c.stats().hedges.load(Ordering::Relaxed);
    // Every attempt (retries included) earns 0.1 of a hedge, on top of one up front.
    let attempts = server.hits() as u64 - hedges;
    assert!(
        hedges as f64 <= 1.0 + 0.1 * attempts as f64,
        "{hedges} hedges for {attempts} attempts"
    );
    assert!(hedges >= 1, "hung reads were hedged");
    // The hung reads that got no hedge were cut off by the attempt timeout and retried.
    let retries = c.stats().retries.load(Ordering::Relaxed);
    assert!(
        retries >= 20 - hedges,
        "{retries} retries, {hedges} hedges, {} hits",
        server.hits()
    );
}

#[tokio::test]
async fn writes_are_never_hedged() {
    let server = FaultServer::start(vec![]).await;
    server.set_fallback(status(200));
    let (_m, clock) = ManualClock::new();
    let c = ApiClient::builder("test", &server.url())
        .clock(clock)
        .timeout(Duration::from_millis(500))
        .reads(small(ReadPolicy::default()))
        .build()
        .expect("client");
    warm_up(&c, 5).await;
    server.push([Step::Hang]);
    let rb = c.request(Method::POST, "/x").expect("rb").body("a=1");
    let err = c.send(rb).await.expect_err("the write times out");
    assert!(matches!(
        err,
        ClientError::Transport {
            kind: TransportKind::Timeout,
            ..
        }
    ));
    // One copy only: no hedge, no retry (no idempotency key).
    assert_eq!(server.hits(), 5 + 1);
    assert_eq!(c.stats().hedges.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn reads_retry_past_the_general_budget_up_to_the_read_budget() {
    let server = FaultServer::start(vec![]).await;
    server.set_fallback(status(503));
    let (_m, clock) = ManualClock::new();
    let c = ApiClient::builder("test", &server.url())
        .clock(clock)
        .retry_budget(0.0, 3)
        .reads(ReadPolicy {
            read_budget_ratio: 0.0,
            read_budget_min: 4,
            ..ReadPolicy::off()
        })
        .build()
        .expect("client");
    for _ in 0..5 {
        assert_eq!(get(&c).await.expect_err("fails").status(), Some(503));
    }
    // 5 first attempts + 3 general retries + 4 read retries.
    assert_eq!(server.hits(), 12);
    assert_eq!(c.read_retry_budget_balance(), Some(0.0));
    // A write with an idempotency key may retry, but only from the general budget (spent).
    let rb = c
        .request(Method::POST, "/x")
        .expect("rb")
        .header("Idempotency-Key", "k1")
        .body("a=1");
    assert!(c.send(rb).await.is_err());
    assert_eq!(server.hits(), 13);
}

#[tokio::test]
async fn a_read_sent_before_latency_was_known_gets_the_adaptive_timeout_once_it_is() {
    let (server, c, _m) = answering_200(vec![Step::Hang], no_hedges()).await;
    let hung = tokio::spawn({
        let c = c.clone();
        async move { get(&c).await }
    });
    // Wait for the first read to reach the server (and hang), then teach the client.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while server.hits() < 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the read never arrived"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    warm_up(&c, 5).await;
    // Without the re-check it would wait for the configured 600 s.
    let answered = tokio::time::timeout(Duration::from_secs(60), hung)
        .await
        .expect("cut off by the adaptive timeout, not the configured one")
        .expect("task");
    assert_eq!(answered.expect("retried"), 200);
    assert_eq!(c.stats().retries.load(Ordering::Relaxed), 1);
}
