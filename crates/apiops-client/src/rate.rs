//! The rate gate: keeps a client inside the provider's limits before the provider has to say so.
//!
//! Three mechanisms, each optional: a GCRA quota (`governor`, on a clock that reads
//! `tokio::time`), a cap on requests in flight, and a pause-until fed by what the provider
//! reports — OpenAI's `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` (resets are Go
//! durations such as `6m0s` or `12ms`), `Retry-After` on a 429, and Twilio's
//! `Twilio-Concurrent-Requests`. The parsing and the pause decision are pure functions; the
//! middleware only waits and records.
//!
//! Also [`AdaptiveLimit`]: a cap on requests in flight that halves on 429s and grows back
//! slowly (AIMD), for scans that must settle under an account's real concurrency limit.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use http::{Extensions, HeaderMap};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::clock::{Clock, GovernorClock};
use crate::retry::{InvalidPolicy, parse_retry_after};

/// Parses a Go-style duration: a sequence of decimal numbers with units `h`, `m`, `s`, `ms`,
/// `us`/`µs`, `ns` (`6m0s`, `1.5s`, `12ms`, `1h2m3.5s`). `None` when malformed.
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    let s = text.trim();
    if s.is_empty() {
        return None;
    }
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" | "μs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += value * seconds;
        rest = &rest[unit_len..];
    }
    if total.is_finite() && total >= 0.0 {
        Some(Duration::from_secs_f64(total))
    } else {
        None
    }
}

/// What the provider said about its limits on one response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateLimitSnapshot {
    /// `x-ratelimit-limit-requests`.
    pub limit_requests: Option<u64>,
    /// `x-ratelimit-remaining-requests`.
    pub remaining_requests: Option<u64>,
    /// `x-ratelimit-reset-requests`, parsed.
    pub reset_requests: Option<Duration>,
    /// `x-ratelimit-limit-tokens`.
    pub limit_tokens: Option<u64>,
    /// `x-ratelimit-remaining-tokens`.
    pub remaining_tokens: Option<u64>,
    /// `x-ratelimit-reset-tokens`, parsed.
    pub reset_tokens: Option<Duration>,
    /// `Twilio-Concurrent-Requests`: requests the account has in flight.
    pub concurrent_requests: Option<u64>,
}

impl RateLimitSnapshot {
    /// Reads the rate-limit headers of a response; absent or malformed ones stay `None`.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let num = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let dur = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_go_duration)
        };
        RateLimitSnapshot {
            limit_requests: num("x-ratelimit-limit-requests"),
            remaining_requests: num("x-ratelimit-remaining-requests"),
            reset_requests: dur("x-ratelimit-reset-requests"),
            limit_tokens: num("x-ratelimit-limit-tokens"),
            remaining_tokens: num("x-ratelimit-remaining-tokens"),
            reset_tokens: dur("x-ratelimit-reset-tokens"),
            concurrent_requests: num("twilio-concurrent-requests"),
        }
    }

    /// True when the response carried any rate-limit header.
    pub fn is_empty(&self) -> bool {
        *self == RateLimitSnapshot::default()
    }

    /// Remaining requests as a share of the limit, when both are known.
    pub fn request_headroom(&self) -> Option<f64> {
        match (self.remaining_requests, self.limit_requests) {
            (Some(r), Some(l)) if l > 0 => Some(r as f64 / l as f64),
            _ => None,
        }
    }

    /// Remaining tokens as a share of the limit, when both are known.
    pub fn token_headroom(&self) -> Option<f64> {
        match (self.remaining_tokens, self.limit_tokens) {
            (Some(r), Some(l)) if l > 0 => Some(r as f64 / l as f64),
            _ => None,
        }
    }
}

/// How long every request to this provider should wait after a response, if at all: on a 429
/// the server's `Retry-After` (else the request reset, else one second); with no requests or
/// no tokens remaining, until that budget resets.
pub fn pause_after(
    status: u16,
    headers: &HeaderMap,
    snapshot: &RateLimitSnapshot,
    now: SystemTime,
) -> Option<Duration> {
    if status == 429 {
        return Some(
            parse_retry_after(headers, now)
                .or(snapshot.reset_requests)
                .unwrap_or(Duration::from_secs(1)),
        );
    }
    let exhausted_requests = (snapshot.remaining_requests == Some(0))
        .then_some(snapshot.reset_requests)
        .flatten();
    let exhausted_tokens = (snapshot.remaining_tokens == Some(0))
        .then_some(snapshot.reset_tokens)
        .flatten();
    match (exhausted_requests, exhausted_tokens) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Limits of a rate gate; every field optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RateConfig {
    /// A steady quota: at most this many requests per `per`.
    pub quota: Option<(NonZeroU32, Duration)>,
    /// At most this many requests in flight.
    pub max_concurrency: Option<usize>,
    /// The longest pause a provider's headers may impose; longer ones are capped to it.
    pub max_pause: Duration,
}

type Gcra = RateLimiter<
    NotKeyed,
    InMemoryState,
    GovernorClock,
    governor::middleware::NoOpMiddleware<Duration>,
>;

/// The shared gate of one provider.
#[derive(Debug)]
pub struct RateGate {
    gcra: Option<(Gcra, GovernorClock)>,
    clock: Clock,
    in_flight: Option<Arc<Semaphore>>,
    paused_until: Mutex<Option<Instant>>,
    /// The wall-clock time the provider last asked to wait until, uncapped (for reports).
    retry_at: Mutex<Option<SystemTime>>,
    last: Mutex<RateLimitSnapshot>,
    max_pause: Duration,
}

impl RateGate {
    /// A gate for `config`.
    pub fn new(config: &RateConfig, clock: Clock) -> Result<Self, InvalidPolicy> {
        let gcra = match config.quota {
            None => None,
            Some((n, per)) => {
                let period = per
                    .checked_div(n.get())
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| InvalidPolicy(format!("rate quota {n}/{per:?} is too fine")))?;
                let quota = Quota::with_period(period)
                    .ok_or_else(|| InvalidPolicy("rate quota period is zero".into()))?
                    .allow_burst(n);
                let gclock = GovernorClock::new(clock.clone());
                Some((
                    RateLimiter::direct_with_clock(quota, gclock.clone()),
                    gclock,
                ))
            }
        };
        if config.max_concurrency == Some(0) {
            return Err(InvalidPolicy("max_concurrency must be at least 1".into()));
        }
        Ok(RateGate {
            gcra,
            clock,
            in_flight: config.max_concurrency.map(|n| Arc::new(Semaphore::new(n))),
            paused_until: Mutex::new(None),
            retry_at: Mutex::new(None),
            last: Mutex::new(RateLimitSnapshot::default()),
            max_pause: if config.max_pause.is_zero() {
                Duration::from_secs(60)
            } else {
                config.max_pause
            },
        })
    }

    /// Waits until a request may go: any pause, then a free slot, then the quota.
    /// The returned permit must live until the response arrives.
    pub async fn acquire(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        loop {
            let until = *self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
            match until {
                Some(t) if t > self.clock.now() => self.clock.sleep_until(t).await,
                _ => break,
            }
        }
        let permit = match &self.in_flight {
            Some(sem) => Arc::clone(sem).acquire_owned().await.ok(),
            None => None,
        };
        if let Some((limiter, clock)) = &self.gcra {
            while let Err(not_until) = limiter.check() {
                self.clock
                    .sleep(not_until.wait_time_from(governor::clock::Clock::now(clock)))
                    .await;
            }
        }
        permit
    }

    /// Records what a response said about the limits, pausing the gate when it must.
    pub fn observe(&self, status: u16, headers: &HeaderMap) {
        let snapshot = RateLimitSnapshot::from_headers(headers);
        let wall = SystemTime::now();
        if let Some(pause) = pause_after(status, headers, &snapshot, wall) {
            let at = wall + pause;
            let mut r = self.retry_at.lock().unwrap_or_else(|p| p.into_inner());
            if r.is_none_or(|cur| cur < at) {
                *r = Some(at);
            }
            drop(r);
            let until = self.clock.now() + pause.min(self.max_pause);
            let mut p = self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
            if p.is_none_or(|cur| cur < until) {
                *p = Some(until);
            }
        }
        if !snapshot.is_empty() {
            *self.last.lock().unwrap_or_else(|p| p.into_inner()) = snapshot;
        }
    }

    /// The last rate-limit headers seen.
    pub fn last_snapshot(&self) -> RateLimitSnapshot {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// How long requests are held back from now, if at all.
    pub fn paused_for(&self) -> Option<Duration> {
        let until = (*self.paused_until.lock().unwrap_or_else(|p| p.into_inner()))?;
        until
            .checked_duration_since(self.clock.now())
            .filter(|d| !d.is_zero())
    }

    /// When the provider's headers last said requests may go again (a 429's `Retry-After`, or
    /// the reset of an exhausted budget), as a wall-clock time and uncapped by `max_pause`;
    /// `None` once that time has passed (as of `now`) or when no header asked to wait.
    pub fn retry_at(&self, now: SystemTime) -> Option<SystemTime> {
        let at = (*self.retry_at.lock().unwrap_or_else(|p| p.into_inner()))?;
        (at > now).then_some(at)
    }

    /// Free in-flight slots, when a concurrency cap is set.
    pub fn available_slots(&self) -> Option<usize> {
        self.in_flight.as_ref().map(|s| s.available_permits())
    }
}

/// Wires a [`RateGate`] into the stack.
#[derive(Debug)]
pub struct RateGateMiddleware {
    pub(crate) gate: Arc<RateGate>,
}

#[async_trait::async_trait]
impl Middleware for RateGateMiddleware {
    async fn handle(
        &self,
        req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let _permit = self.gate.acquire().await;
        let result = next.run(req, extensions).await;
        if let Ok(resp) = &result {
            self.gate.observe(resp.status().as_u16(), resp.headers());
        }
        result
    }
}

/// A cap on requests in flight that adapts to a provider's 429s (Twilio's page requests): halved when they come (at
/// most once per [`CUT_INTERVAL`], as one storm pauses every request at once; never below
/// one), raised by one after a cap's worth of successes once [`QUIET_BEFORE_RAISE`] has passed
/// without a cut (never above the maximum). Raising is slow on purpose: a probe above the
/// account's limit costs a pause of every request, a success costs one round trip.
#[derive(Debug)]
pub struct AdaptiveLimit {
    permits: Arc<Semaphore>,
    state: Mutex<LimitState>,
}

/// The least time between two cuts of the adaptive cap: about one rate-gate pause.
pub const CUT_INTERVAL: Duration = Duration::from_secs(1);

/// How long after a cut the cap stays put before it may grow again.
pub const QUIET_BEFORE_RAISE: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct LimitState {
    limit: usize,
    max: usize,
    last_cut: Option<Instant>,
    /// Permits to withdraw as soon as they come back (they were in use when the cap shrank).
    debt: usize,
    successes: usize,
}

/// A request's place under the cap; gives it back (or withdraws it) on drop.
#[derive(Debug)]
pub struct AdaptiveSlot {
    permit: Option<OwnedSemaphorePermit>,
    owner: Arc<AdaptiveLimit>,
}

impl Drop for AdaptiveSlot {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            let mut st = self.owner.lock();
            if st.debt > 0 {
                st.debt -= 1;
                permit.forget();
            }
        }
    }
}

impl AdaptiveLimit {
    /// A cap of `max` (at least one) requests in flight.
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        AdaptiveLimit {
            permits: Arc::new(Semaphore::new(max)),
            state: Mutex::new(LimitState {
                limit: max,
                max,
                last_cut: None,
                debt: 0,
                successes: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LimitState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a place under the cap.
    pub async fn acquire(self: &Arc<Self>) -> AdaptiveSlot {
        let permit = Arc::clone(&self.permits).acquire_owned().await.ok();
        AdaptiveSlot {
            permit,
            owner: Arc::clone(self),
        }
    }

    /// The cap now.
    pub fn current(&self) -> usize {
        self.lock().limit
    }

    /// Requests were answered 429 at `now`: halve the cap, unless it was cut less than
    /// [`CUT_INTERVAL`] ago (the same storm).
    pub fn on_throttled(&self, now: Instant) {
        let mut st = self.lock();
        if st
            .last_cut
            .is_some_and(|t| now.saturating_duration_since(t) < CUT_INTERVAL)
        {
            return;
        }
        st.last_cut = Some(now);
        let target = (st.limit / 2).max(1);
        let cut = st.limit - target;
        st.limit = target;
        st.successes = 0;
        let forgotten = self.permits.forget_permits(cut);
        st.debt += cut - forgotten;
    }

    /// A request succeeded at `now`: after a cap's worth, and long enough after the last cut,
    /// raise the cap by one.
    pub fn on_success(&self, now: Instant) {
        let mut st = self.lock();
        st.successes += 1;
        let quiet = st
            .last_cut
            .is_none_or(|t| now.saturating_duration_since(t) >= QUIET_BEFORE_RAISE);
        if quiet && st.successes >= st.limit && st.limit < st.max {
            st.successes = 0;
            st.limit += 1;
            if st.debt > 0 {
                st.debt -= 1;
            } else {
                self.permits.add_permits(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn go_durations() {
        let ms = Duration::from_millis;
        let cases = [
            ("1s", Some(ms(1000))),
            ("12ms", Some(ms(12))),
            ("6m0s", Some(ms(360_000))),
            ("1h2m3.5s", Some(ms(3_723_500))),
            ("0.5s", Some(ms(500))),
            ("0", Some(Duration::ZERO)),
            ("250us", Some(Duration::from_micros(250))),
            ("3µs", Some(Duration::from_micros(3))),
            ("100ns", Some(Duration::from_nanos(100))),
            ("", None),
            ("s", None),
            ("5", None),
            ("5x", None),
            ("-1s", None),
            ("1..2s", None),
        ];
        for (text, want) in cases {
            let got = parse_go_duration(text);
            match (got, want) {
                (Some(g), Some(w)) => {
                    let diff = g.abs_diff(w);
                    assert!(diff < Duration::from_micros(1), "{text}: {g:?} vs {w:?}");
                }
                (g, w) => assert_eq!(g, w, "{text}"),
            }
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn snapshot_and_pause_table() {
        let now = SystemTime::UNIX_EPOCH;
        let openai = headers(&[
            ("x-ratelimit-limit-requests", "500"),
            ("x-ratelimit-remaining-requests", "0"),
            ("x-ratelimit-reset-requests", "12ms"),
            ("x-ratelimit-limit-tokens", "30000"),
            ("x-ratelimit-remaining-tokens", "29000"),
            ("x-ratelimit-reset-tokens", "6m0s"),
        ]);
        let s = RateLimitSnapshot::from_headers(&openai);
        assert_eq!(s.limit_requests, Some(500));
        assert_eq!(s.request_headroom(), Some(0.0));
        assert!(
            s.token_headroom()
                .is_some_and(|h| (h - 29.0 / 30.0).abs() < 1e-9)
        );
        assert_eq!(
            pause_after(200, &openai, &s, now),
            Some(Duration::from_millis(12))
        );

        let tokens_out = headers(&[
            ("x-ratelimit-remaining-tokens", "0"),
            ("x-ratelimit-reset-tokens", "1m0s"),
            ("x-ratelimit-remaining-requests", "0"),
            ("x-ratelimit-reset-requests", "2s"),
        ]);
        let s2 = RateLimitSnapshot::from_headers(&tokens_out);
        assert_eq!(
            pause_after(200, &tokens_out, &s2, now),
            Some(Duration::from_secs(60))
        );

        let plain = HeaderMap::new();
        let empty = RateLimitSnapshot::from_headers(&plain);
        assert!(empty.is_empty());
        assert_eq!(pause_after(200, &plain, &empty, now), None);
        assert_eq!(
            pause_after(429, &plain, &empty, now),
            Some(Duration::from_secs(1))
        );
        let ra = headers(&[("retry-after", "7")]);
        assert_eq!(
            pause_after(429, &ra, &RateLimitSnapshot::from_headers(&ra), now),
            Some(Duration::from_secs(7))
        );
        let tw = headers(&[("twilio-concurrent-requests", "42")]);
        assert_eq!(
            RateLimitSnapshot::from_headers(&tw).concurrent_requests,
            Some(42)
        );
        let junk = headers(&[("x-ratelimit-remaining-requests", "lots")]);
        assert!(RateLimitSnapshot::from_headers(&junk).is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn quota_spaces_requests_on_paused_time() {
        let gate = RateGate::new(
            &RateConfig {
                quota: Some((NonZeroU32::new(5).expect("nonzero"), Duration::from_secs(1))),
                max_concurrency: None,
                max_pause: Duration::ZERO,
            },
            Clock::default(),
        )
        .expect("gate");
        let start = Instant::now();
        for _ in 0..15 {
            gate.acquire().await;
        }
        // Burst of 5 at once, then one every 200 ms: the 15th at about 2 s.
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(1990), "{elapsed:?}");
        assert!(elapsed <= Duration::from_millis(2100), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_everyone_until_retry_after() {
        let gate = RateGate::new(&RateConfig::default(), Clock::default()).expect("gate");
        gate.observe(429, &headers(&[("retry-after", "3")]));
        assert!(gate.paused_for().is_some());
        let start = Instant::now();
        gate.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(3));
        assert_eq!(gate.paused_for(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_cap_holds_slots() {
        let gate = RateGate::new(
            &RateConfig {
                max_concurrency: Some(2),
                ..RateConfig::default()
            },
            Clock::default(),
        )
        .expect("gate");
        let a = gate.acquire().await;
        let _b = gate.acquire().await;
        assert_eq!(gate.available_slots(), Some(0));
        let third = tokio::time::timeout(Duration::from_secs(1), gate.acquire()).await;
        assert!(third.is_err(), "a third request must wait for a slot");
        drop(a);
        assert!(gate.acquire().await.is_some());
        assert!(
            RateGate::new(
                &RateConfig {
                    max_concurrency: Some(0),
                    ..RateConfig::default()
                },
                Clock::default()
            )
            .is_err()
        );
    }

    #[tokio::test]
    async fn the_adaptive_limit_halves_on_429_and_grows_back() {
        let limit = Arc::new(AdaptiveLimit::new(8));
        assert_eq!(limit.current(), 8);
        let held: Vec<AdaptiveSlot> =
            futures::future::join_all((0..8).map(|_| limit.acquire())).await;
        let t0 = Instant::now();
        limit.on_throttled(t0);
        assert_eq!(limit.current(), 4);
        limit.on_throttled(t0 + Duration::from_millis(300));
        assert_eq!(limit.current(), 4, "one cut per storm");
        // All 8 were in use: 4 are withdrawn as they come back.
        drop(held);
        assert_eq!(limit.permits.available_permits(), 4);
        for s in 1..=3 {
            limit.on_throttled(t0 + CUT_INTERVAL * s);
        }
        assert_eq!(limit.current(), 1, "never below one");
        assert_eq!(limit.permits.available_permits(), 1);
        let last_cut = t0 + CUT_INTERVAL * 3;
        for _ in 0..10 {
            limit.on_success(last_cut + Duration::from_secs(1));
        }
        assert_eq!(limit.current(), 1, "no raise right after a cut");
        let later = last_cut + QUIET_BEFORE_RAISE;
        limit.on_success(later);
        assert_eq!(limit.current(), 2);
        limit.on_success(later);
        assert_eq!(limit.current(), 2);
        limit.on_success(later);
        assert_eq!(limit.current(), 3);
        assert_eq!(limit.permits.available_permits(), 3);
        for _ in 0..100 {
            limit.on_success(later);
        }
        assert_eq!(limit.current(), 8, "never above the maximum");
        assert_eq!(limit.permits.available_permits(), 8);
    }
}
