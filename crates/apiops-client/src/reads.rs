//! Reads that stay fast when a provider misbehaves: attempt timeouts that follow the provider's
//! recent latency, hedged reads, and the read retry budget's settings.
//!
//! The pure parts hold every rule: [`ReadPolicy`] (validated settings), [`LatencyWindow`] (the
//! recent latencies of successful reads, and their quantiles), [`ReadPolicy::attempt_timeout`]
//! and [`ReadPolicy::hedge_delay`]. Two thin middlewares wire them:
//!
//! - [`HedgeMiddleware`], just inside the rate gate: when a read (GET or HEAD) has had no answer
//!   after the recent p95 (never less than [`ReadPolicy::hedge_min_delay`]; the timeout floor
//!   while the latency is not known yet), it sends one more
//!   copy and takes the first good answer (a response below 500); the other copy is dropped,
//!   which closes its connection. A copy goes through the rate gate like any request (its own
//!   in-flight slot, its own quota token), and hedges are capped by a budget at
//!   [`ReadPolicy::hedge_share`] of reads. Writes are never hedged.
//! - [`AttemptTimeoutMiddleware`], next to the transport: it times every read attempt up to its
//!   response headers, records the latency of the good ones, and gives a read attempt at most
//!   `clamp(multiplier × p99, floor, timeout)` to answer. Until [`ReadPolicy::min_samples`]
//!   reads have answered it leaves the configured timeout alone, but looks again every
//!   [`ReadPolicy::timeout_floor`], so the first reads of a scan (sent together, before any
//!   answer) are cut off as soon as the latency is known. The configured timeout still
//!   bounds every attempt (body included) as before; writes only ever get that one.
//!
//! A timed-out attempt fails as a [`ClientError::Transport`] of kind
//! [`TransportKind::Timeout`], which the retry middleware retries and the breaker counts like any
//! transport failure. Races use `tokio::time` (tests pause it); the latency window is only fed by
//! real answers, so a paused or manual clock never makes it fire early.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiops_core::metric_names;
use futures::future::{Either, select};
use http::{Extensions, Method};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};
use tokio::time::Instant;

use crate::client::ClientStats;
use crate::error::{ClientError, TransportKind};
use crate::rate::RateGate;
use crate::redact::display_target;
use crate::retry::{InvalidPolicy, RetryBudget};

/// How reads (GET and HEAD) are timed, hedged and retried.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadPolicy {
    /// A read attempt gets this many times the recent p99 latency (0 turns adaptive timeouts
    /// off: every attempt gets the configured timeout).
    pub timeout_multiplier: f64,
    /// The shortest adaptive attempt timeout.
    pub timeout_floor: Duration,
    /// Good answers needed before latency is trusted (for timeouts and hedges).
    pub min_samples: usize,
    /// How many recent latencies the quantiles are computed over.
    pub latency_window: usize,
    /// The most hedges as a share of reads (0 turns hedging off).
    pub hedge_share: f64,
    /// Never hedge sooner than this after the first copy left, however fast the provider.
    pub hedge_min_delay: Duration,
    /// Extra retries reads may spend once the general budget is empty: this share of reads...
    pub read_budget_ratio: f64,
    /// ...plus this many.
    pub read_budget_min: u32,
}

impl Default for ReadPolicy {
    fn default() -> Self {
        ReadPolicy {
            timeout_multiplier: 3.0,
            timeout_floor: Duration::from_secs(1),
            min_samples: 20,
            latency_window: 512,
            hedge_share: 0.05,
            hedge_min_delay: Duration::from_millis(50),
            read_budget_ratio: 0.5,
            read_budget_min: 50,
        }
    }
}

impl ReadPolicy {
    /// No adaptive timeouts, no hedges and no read budget: reads behave like any request.
    pub fn off() -> Self {
        ReadPolicy {
            timeout_multiplier: 0.0,
            hedge_share: 0.0,
            read_budget_ratio: 0.0,
            read_budget_min: 0,
            ..ReadPolicy::default()
        }
    }

    /// Checks the settings can work.
    pub fn validate(&self) -> Result<(), InvalidPolicy> {
        if !(self.timeout_multiplier.is_finite() && self.timeout_multiplier >= 0.0) {
            return Err(InvalidPolicy(format!(
                "read timeout multiplier {} must be a number of at least 0",
                self.timeout_multiplier
            )));
        }
        for (name, v) in [
            ("hedge share", self.hedge_share),
            ("read budget ratio", self.read_budget_ratio),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(InvalidPolicy(format!("{name} {v} must be within 0..=1")));
            }
        }
        if self.latency_window == 0 || self.min_samples == 0 {
            return Err(InvalidPolicy(
                "latency window and min samples must be at least 1".into(),
            ));
        }
        if self.min_samples > self.latency_window {
            return Err(InvalidPolicy(format!(
                "min samples {} is more than the latency window {}",
                self.min_samples, self.latency_window
            )));
        }
        Ok(())
    }

    /// The time a read attempt gets: `multiplier × p99`, at least the floor, at most `cap` (the
    /// configured timeout). `cap` while latency is unknown or adaptive timeouts are off.
    pub fn attempt_timeout(&self, p99: Option<Duration>, cap: Duration) -> Duration {
        match p99 {
            Some(p99) if self.timeout_multiplier > 0.0 => p99
                .mul_f64(self.timeout_multiplier)
                .max(self.timeout_floor)
                .min(cap),
            _ => cap,
        }
    }

    /// How long a read waits before its hedge: the recent p95, at least the minimum delay.
    /// While the latency is unknown (a client's first reads), the timeout floor: a client that
    /// only ever sends a handful of reads would otherwise wait the whole configured timeout on
    /// a hung one. `None` (no hedge) when hedging is off.
    pub fn hedge_delay(&self, p95: Option<Duration>) -> Option<Duration> {
        if self.hedge_share <= 0.0 {
            return None;
        }
        Some(p95.unwrap_or(self.timeout_floor).max(self.hedge_min_delay))
    }

    /// Whether read attempt timeouts follow latency at all.
    pub fn adapts(&self) -> bool {
        self.timeout_multiplier > 0.0
    }

    /// Whether reads hedge at all.
    pub fn hedges(&self) -> bool {
        self.hedge_share > 0.0
    }
}

/// Whether a request is a read this module may time adaptively and hedge.
pub fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD)
}

/// How often the sorted snapshot is rebuilt, in recorded samples.
const RESORT_EVERY: usize = 16;

/// The latencies of the most recent good reads, and their quantiles.
#[derive(Debug)]
pub struct LatencyWindow {
    min_samples: usize,
    inner: Mutex<Samples>,
}

#[derive(Debug)]
struct Samples {
    ring: Vec<Duration>,
    next: usize,
    capacity: usize,
    since_sort: usize,
    sorted: Vec<Duration>,
}

impl LatencyWindow {
    /// A window of the last `capacity` samples, trusted from `min_samples` on.
    pub fn new(capacity: usize, min_samples: usize) -> Self {
        let capacity = capacity.max(1);
        LatencyWindow {
            min_samples: min_samples.clamp(1, capacity),
            inner: Mutex::new(Samples {
                ring: Vec::with_capacity(capacity),
                next: 0,
                capacity,
                since_sort: 0,
                sorted: Vec::new(),
            }),
        }
    }

    /// Records one good read's latency.
    pub fn record(&self, d: Duration) {
        let mut s = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if s.ring.len() < s.capacity {
            s.ring.push(d);
        } else {
            let i = s.next;
            s.ring[i] = d;
        }
        s.next = (s.next + 1) % s.capacity;
        s.since_sort += 1;
        // Sort often while the window fills, then every few samples.
        if s.ring.len() <= self.min_samples || s.since_sort >= RESORT_EVERY {
            let mut sorted = s.ring.clone();
            sorted.sort_unstable();
            s.sorted = sorted;
            s.since_sort = 0;
        }
    }

    /// Samples held.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .ring
            .len()
    }

    /// Whether nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `q` quantile (nearest rank, `0 < q ≤ 1`) of the recent latencies; `None` with fewer
    /// than the minimum samples.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let s = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let n = s.sorted.len();
        if n < self.min_samples || n == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * n as f64).ceil() as usize;
        s.sorted.get(rank.clamp(1, n) - 1).copied()
    }
}

/// The state the read middlewares share with the client.
#[derive(Debug)]
pub struct ReadState {
    pub(crate) policy: ReadPolicy,
    pub(crate) latency: LatencyWindow,
    pub(crate) hedge_budget: RetryBudget,
    /// The configured timeout: the cap of every attempt.
    pub(crate) cap: Duration,
}

impl ReadState {
    /// The state for `policy`, capped by the configured `timeout`.
    pub fn new(policy: ReadPolicy, timeout: Duration) -> Result<Self, InvalidPolicy> {
        policy.validate()?;
        Ok(ReadState {
            latency: LatencyWindow::new(policy.latency_window, policy.min_samples),
            // Starts with one hedge, earns `hedge_share` of one per read, hoards at most ten.
            hedge_budget: RetryBudget::new(policy.hedge_share, 1)?,
            policy,
            cap: timeout,
        })
    }

    /// The policy.
    pub fn policy(&self) -> &ReadPolicy {
        &self.policy
    }

    /// The recent p95 and p99 of good reads, when known.
    pub fn latency_quantiles(&self) -> (Option<Duration>, Option<Duration>) {
        (self.latency.quantile(0.95), self.latency.quantile(0.99))
    }

    /// The attempt timeout a read would get now.
    pub fn current_attempt_timeout(&self) -> Duration {
        self.policy
            .attempt_timeout(self.latency.quantile(0.99), self.cap)
    }
}

/// Whether an attempt's result is good enough to end a hedged race: a response below 500.
fn is_good(result: &reqwest_middleware::Result<Response>) -> bool {
    matches!(result, Ok(r) if !r.status().is_server_error())
}

/// Races `primary` against a hedge started by `hedge` after `delay`, when `may_hedge` allows
/// one at that point. Returns the first good result (see `is_good`); when both copies fail,
/// the one that failed last. The flag says whether the returned result is the hedge's.
pub async fn race_hedged<T, P, H, HF>(
    primary: P,
    delay: Duration,
    may_hedge: impl FnOnce() -> bool,
    hedge: H,
    good: impl Fn(&T) -> bool,
) -> (T, HedgeOutcome)
where
    P: Future<Output = T>,
    H: FnOnce() -> HF,
    HF: Future<Output = T>,
{
    let mut primary = std::pin::pin!(primary);
    let timer = std::pin::pin!(tokio::time::sleep(delay));
    match select(primary.as_mut(), timer).await {
        Either::Left((result, _)) => return (result, HedgeOutcome::NotSent),
        Either::Right(((), _)) => {}
    }
    if !may_hedge() {
        return (primary.await, HedgeOutcome::NotSent);
    }
    let hedge = std::pin::pin!(hedge());
    match select(primary, hedge).await {
        Either::Left((first, hedge)) => {
            if good(&first) {
                return (first, HedgeOutcome::Lost);
            }
            let second = hedge.await;
            let outcome = if good(&second) {
                HedgeOutcome::Won
            } else {
                HedgeOutcome::Lost
            };
            (second, outcome)
        }
        Either::Right((second, primary)) => {
            if good(&second) {
                return (second, HedgeOutcome::Won);
            }
            (primary.await, HedgeOutcome::Lost)
        }
    }
}

/// How a hedged race ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HedgeOutcome {
    /// No hedge was sent: the first copy answered in time, or the budget was spent.
    NotSent,
    /// A hedge was sent and did not give the answer returned (the first copy's, or a
    /// failure of both).
    Lost,
    /// A hedge was sent and its good answer was returned.
    Won,
}

/// Wires hedging into the stack, inside the rate gate (see the module docs).
#[derive(Debug)]
pub struct HedgeMiddleware {
    pub(crate) state: Arc<ReadState>,
    pub(crate) gate: Arc<RateGate>,
    pub(crate) stats: Arc<ClientStats>,
    /// The client's name, the `client` label of the hedge counters.
    pub(crate) client: Arc<str>,
}

#[async_trait::async_trait]
impl Middleware for HedgeMiddleware {
    async fn handle(
        &self,
        req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        if !is_read(req.method()) {
            return next.run(req, extensions).await;
        }
        self.state.hedge_budget.deposit();
        let delay = self
            .state
            .policy
            .hedge_delay(self.state.latency.quantile(0.95));
        let (Some(delay), Some(copy)) = (delay, req.try_clone()) else {
            return next.run(req, extensions).await;
        };
        let mut hedge_ext = extensions.clone();
        let hedge_next = next.clone();
        let gate = Arc::clone(&self.gate);
        let (result, outcome) = race_hedged(
            next.run(req, extensions),
            delay,
            || self.state.hedge_budget.try_withdraw(),
            move || async move {
                // The hedge is a request like any other: it waits for its own slot and token.
                let _permit = gate.acquire().await;
                hedge_next.run(copy, &mut hedge_ext).await
            },
            is_good,
        )
        .await;
        if outcome != HedgeOutcome::NotSent {
            self.stats.hedges.fetch_add(1, Ordering::Relaxed);
            metrics::counter!(metric_names::HTTP_HEDGES_TOTAL, "client" => Arc::clone(&self.client))
                .increment(1);
        }
        if outcome == HedgeOutcome::Won {
            self.stats.hedges_won.fetch_add(1, Ordering::Relaxed);
            metrics::counter!(metric_names::HTTP_HEDGES_WON_TOTAL, "client" => Arc::clone(&self.client))
                .increment(1);
        }
        result
    }
}

/// Times read attempts, feeds the latency window and cuts reads off at the adaptive timeout.
#[derive(Debug)]
pub struct AttemptTimeoutMiddleware {
    pub(crate) state: Arc<ReadState>,
}

#[async_trait::async_trait]
impl Middleware for AttemptTimeoutMiddleware {
    async fn handle(
        &self,
        req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        if !is_read(req.method()) {
            return next.run(req, extensions).await;
        }
        let method = req.method().to_string();
        let target = display_target(req.url());
        let started = Instant::now();
        let mut attempt = std::pin::pin!(next.run(req, extensions));
        let result = loop {
            // Re-read at every deadline: an attempt sent before the latency was known (the
            // first reads of a scan all go out at once) gets the adaptive timeout as soon as
            // it is, instead of the configured one.
            let limit = self.state.current_attempt_timeout();
            let known = limit < self.state.cap;
            let deadline = if known {
                started + limit
            } else {
                let recheck = started.elapsed() + self.state.policy.timeout_floor;
                if recheck >= self.state.cap || !self.state.policy.adapts() {
                    // Unknown for the whole attempt: the transport's own timeout applies.
                    break attempt.await;
                }
                started + recheck
            };
            match tokio::time::timeout_at(deadline, attempt.as_mut()).await {
                Ok(result) => break result,
                Err(_) if known => {
                    return Err(ClientError::Transport {
                        method,
                        target,
                        kind: TransportKind::Timeout,
                        message: format!(
                            "no answer within the read attempt timeout of {} ({} × recent p99)",
                            humantime::format_duration(round_ms(limit)),
                            self.state.policy.timeout_multiplier
                        ),
                    }
                    .into());
                }
                Err(_) => {}
            }
        };
        if is_good(&result) {
            self.state.latency.record(started.elapsed());
        }
        result
    }
}

fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Whether a middleware error is a transport failure raised inside the stack (an attempt
/// timeout), which retries and the breaker treat like one from the transport.
pub(crate) fn is_stack_transport_error(err: &reqwest_middleware::Error) -> bool {
    match err {
        reqwest_middleware::Error::Middleware(e) => {
            matches!(
                e.downcast_ref::<ClientError>(),
                Some(ClientError::Transport { .. })
            )
        }
        reqwest_middleware::Error::Reqwest(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn policy_validation() {
        assert!(ReadPolicy::default().validate().is_ok());
        assert!(ReadPolicy::off().validate().is_ok());
        let bad = [
            ReadPolicy {
                timeout_multiplier: -1.0,
                ..ReadPolicy::default()
            },
            ReadPolicy {
                timeout_multiplier: f64::NAN,
                ..ReadPolicy::default()
            },
            ReadPolicy {
                hedge_share: 1.5,
                ..ReadPolicy::default()
            },
            ReadPolicy {
                read_budget_ratio: -0.1,
                ..ReadPolicy::default()
            },
            ReadPolicy {
                min_samples: 0,
                ..ReadPolicy::default()
            },
            ReadPolicy {
                min_samples: 600,
                latency_window: 512,
                ..ReadPolicy::default()
            },
        ];
        for p in bad {
            assert!(p.validate().is_err(), "{p:?}");
        }
    }

    #[test]
    fn attempt_timeout_follows_p99_between_floor_and_cap() {
        let p = ReadPolicy::default();
        let cap = Duration::from_secs(30);
        // Unknown latency: the configured timeout.
        assert_eq!(p.attempt_timeout(None, cap), cap);
        // Fast provider: the floor.
        assert_eq!(p.attempt_timeout(Some(ms(20)), cap), Duration::from_secs(1));
        // 3 × p99.
        assert_eq!(p.attempt_timeout(Some(ms(800)), cap), ms(2400));
        // Slow provider: never past the configured timeout.
        assert_eq!(p.attempt_timeout(Some(Duration::from_secs(15)), cap), cap);
        // Turned off.
        assert_eq!(ReadPolicy::off().attempt_timeout(Some(ms(20)), cap), cap);
    }

    #[test]
    fn hedge_delay_is_p95_with_a_minimum() {
        let p = ReadPolicy::default();
        // Unknown latency: the timeout floor.
        assert_eq!(p.hedge_delay(None), Some(Duration::from_secs(1)));
        assert_eq!(p.hedge_delay(Some(ms(5))), Some(ms(50)));
        assert_eq!(p.hedge_delay(Some(ms(400))), Some(ms(400)));
        assert_eq!(ReadPolicy::off().hedge_delay(Some(ms(400))), None);
    }

    #[test]
    fn latency_quantiles_need_min_samples_and_forget_old_ones() {
        let w = LatencyWindow::new(100, 20);
        for i in 1..=19 {
            w.record(ms(i));
        }
        assert_eq!(w.quantile(0.99), None, "19 samples are not enough");
        w.record(ms(20));
        assert_eq!(w.quantile(0.5), Some(ms(10)));
        assert_eq!(w.quantile(0.95), Some(ms(19)));
        assert_eq!(w.quantile(1.0), Some(ms(20)));
        // Slow samples push every fast one out of the window (the quantiles are re-read every
        // few samples, so feed well past its length).
        for _ in 0..200 {
            w.record(ms(500));
        }
        assert_eq!(w.len(), 100);
        assert_eq!(w.quantile(0.01), Some(ms(500)));
    }

    fn good(r: &Result<&'static str, &'static str>) -> bool {
        r.is_ok()
    }

    async fn after(
        d: Duration,
        v: Result<&'static str, &'static str>,
    ) -> Result<&'static str, &'static str> {
        tokio::time::sleep(d).await;
        v
    }

    #[tokio::test(start_paused = true)]
    async fn a_fast_answer_sends_no_hedge() {
        let sent = AtomicU32::new(0);
        let (r, o) = race_hedged(
            after(ms(10), Ok("primary")),
            ms(50),
            || true,
            || {
                sent.fetch_add(1, Ordering::SeqCst);
                after(ms(1), Ok("hedge"))
            },
            good,
        )
        .await;
        assert_eq!((r, o), (Ok("primary"), HedgeOutcome::NotSent));
        assert_eq!(sent.load(Ordering::SeqCst), 0);
    }

    type Answer = Result<&'static str, &'static str>;

    /// Races a primary that gives `primary.1` after `primary.0` against a hedge sent after
    /// 50 ms when `may_hedge`, which gives `hedge.1` after `hedge.0`.
    async fn race(
        primary: (Duration, Answer),
        may_hedge: bool,
        hedge: (Duration, Answer),
    ) -> (Answer, HedgeOutcome) {
        race_hedged(
            after(primary.0, primary.1),
            ms(50),
            || may_hedge,
            || after(hedge.0, hedge.1),
            good,
        )
        .await
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_read_is_answered_by_its_hedge() {
        let start = Instant::now();
        let (r, o) = race(
            (Duration::from_secs(120), Ok("primary")),
            true,
            (ms(10), Ok("hedge")),
        )
        .await;
        assert_eq!((r, o), (Ok("hedge"), HedgeOutcome::Won));
        assert_eq!(start.elapsed(), ms(60));
    }

    #[tokio::test(start_paused = true)]
    async fn a_spent_budget_waits_for_the_first_copy() {
        let (r, o) = race((ms(500), Ok("primary")), false, (ms(10), Ok("hedge"))).await;
        assert_eq!((r, o), (Ok("primary"), HedgeOutcome::NotSent));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_copy_waits_for_the_other() {
        let cases = [
            // The hedge fails fast: the slow primary's good answer is still taken.
            (
                (ms(300), Ok("primary")),
                (ms(10), Err("hedge 503")),
                (Ok("primary"), HedgeOutcome::Lost),
            ),
            // The primary fails after the hedge left: the hedge's answer is taken.
            (
                (ms(100), Err("primary reset")),
                (ms(200), Ok("hedge")),
                (Ok("hedge"), HedgeOutcome::Won),
            ),
            // Both fail: the last failure, and the hedge did not win.
            (
                (ms(100), Err("primary")),
                (ms(200), Err("hedge")),
                (Err("hedge"), HedgeOutcome::Lost),
            ),
        ];
        for (primary, hedge, want) in cases {
            assert_eq!(
                race(primary, true, hedge).await,
                want,
                "primary {primary:?}, hedge {hedge:?}"
            );
        }
    }

    #[test]
    fn only_gets_and_heads_are_reads() {
        assert!(is_read(&Method::GET));
        assert!(is_read(&Method::HEAD));
        for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(!is_read(&m), "{m}");
        }
    }
}
