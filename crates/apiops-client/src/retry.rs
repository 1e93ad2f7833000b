//! Retries: when a failed attempt may be sent again, how long to wait, and how many retries the
//! whole client may spend.
//!
//! The pure parts — [`Backoff`] (full jitter, capped), [`parse_retry_after`], [`decide`] and
//! [`RetryBudget`] — hold every rule; [`RetryMiddleware`] only wires them around `next.run`.
//! Rules (DESIGN.md §3): only safe requests are retried (GET/HEAD/OPTIONS, or any request that
//! carries an idempotency key); never a 4xx other than 408/409/429; the provider's explicit
//! `x-should-retry` / `Stripe-Should-Retry` wins over the status; a server-given wait
//! (`retry-after-ms`, `Retry-After` in seconds or as an HTTP date) replaces the backoff, and one
//! longer than the cap ends the retries rather than blocking for it.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use apiops_core::metric_names;
use http::{Extensions, HeaderMap, Method};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::client::ClientStats;
use crate::clock::{Clock, Jitter};
use crate::error::ClientError;

/// Bounds of the exponential backoff, validated at construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
}

/// A configuration value that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidPolicy(pub String);

impl Backoff {
    /// Exponential backoff from `base`, never waiting more than `cap`.
    pub fn new(base: Duration, cap: Duration) -> Result<Self, InvalidPolicy> {
        if base.is_zero() {
            return Err(InvalidPolicy("backoff base must be above zero".into()));
        }
        if cap < base {
            return Err(InvalidPolicy(format!(
                "backoff cap {cap:?} is below its base {base:?}"
            )));
        }
        Ok(Backoff { base, cap })
    }

    /// The most that retry number `retry` (0 for the first retry) may wait:
    /// `min(cap, base * 2^retry)`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Full jitter (AWS): a wait uniformly drawn from `[0, ceiling(retry)]`.
    pub fn delay(&self, retry: u32, jitter: &Jitter) -> Duration {
        jitter.spread(self.ceiling(retry))
    }

    /// The cap.
    pub fn cap(&self) -> Duration {
        self.cap
    }
}

/// Reads the server's requested wait: `retry-after-ms` (OpenAI; milliseconds, may be
/// fractional) first, then `Retry-After` as delta-seconds or an HTTP date relative to `now`.
/// A date in the past means "now" (zero). Unparseable values are ignored.
pub fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(ms) = header_str(headers, "retry-after-ms")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = header_str(headers, "retry-after")?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Some(secs) = value
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
    {
        return Some(Duration::from_secs_f64(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The provider's explicit verdict: `x-should-retry` (OpenAI) or `Stripe-Should-Retry`.
pub fn should_retry_header(headers: &HeaderMap) -> Option<bool> {
    ["x-should-retry", "stripe-should-retry"]
        .iter()
        .find_map(|name| header_str(headers, name))
        .and_then(|v| match v.trim().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        })
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether an HTTP status is worth retrying by itself.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 429 | 500 | 502 | 503 | 504) || (520..600).contains(&status)
}

/// Whether a request may be sent twice without risk of doing its work twice.
pub fn is_safe_to_retry(method: &Method, has_idempotency_key: bool) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) || has_idempotency_key
}

/// What an attempt ended in, as far as the retry decision cares.
#[derive(Debug, Clone, Copy)]
pub enum Attempt<'a> {
    /// An HTTP response arrived.
    Response {
        /// Its status.
        status: u16,
        /// Its headers (for Retry-After and should-retry signals).
        headers: &'a HeaderMap,
    },
    /// No response: timeout, refused or reset connection.
    TransportError,
}

/// The verdict on a finished attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Hand the result to the caller.
    Done,
    /// Send again after this wait.
    RetryAfter(Duration),
}

/// Retry settings.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (3 means at most 2 retries).
    pub max_attempts: u32,
    /// The backoff between attempts.
    pub backoff: Backoff,
    /// The jitter source (injected so tests are deterministic).
    pub jitter: Jitter,
}

impl RetryPolicy {
    /// A policy with `max_attempts` (at least 1) and full-jitter backoff.
    pub fn new(max_attempts: u32, backoff: Backoff) -> Result<Self, InvalidPolicy> {
        if max_attempts == 0 {
            return Err(InvalidPolicy("max_attempts must be at least 1".into()));
        }
        Ok(RetryPolicy {
            max_attempts,
            backoff,
            jitter: Jitter::random(),
        })
    }

    /// Replaces the jitter source.
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            backoff: Backoff {
                base: Duration::from_millis(250),
                cap: Duration::from_secs(20),
            },
            jitter: Jitter::random(),
        }
    }
}

/// Decides whether attempt number `attempt` (1-based) should be followed by another.
/// The budget is not consulted here; see [`RetryBudget`].
pub fn decide(
    policy: &RetryPolicy,
    attempt: u32,
    method: &Method,
    has_idempotency_key: bool,
    outcome: Attempt<'_>,
    now: SystemTime,
) -> Decision {
    if attempt >= policy.max_attempts || !is_safe_to_retry(method, has_idempotency_key) {
        return Decision::Done;
    }
    let backoff = policy.backoff.delay(attempt - 1, &policy.jitter);
    match outcome {
        Attempt::TransportError => Decision::RetryAfter(backoff),
        Attempt::Response { status, headers } => {
            if (200..400).contains(&status) {
                return Decision::Done;
            }
            let wanted = match should_retry_header(headers) {
                Some(explicit) => explicit,
                None => retryable_status(status),
            };
            // Never a 4xx other than 408/409/429, whatever a header says.
            if !wanted || ((400..500).contains(&status) && !matches!(status, 408 | 409 | 429)) {
                return Decision::Done;
            }
            match parse_retry_after(headers, now) {
                Some(wait) if wait > policy.backoff.cap() => Decision::Done,
                Some(wait) => Decision::RetryAfter(wait),
                None => Decision::RetryAfter(backoff),
            }
        }
    }
}

/// Keeps retries a bounded share of traffic, so an outage never becomes a retry storm.
///
/// A token bucket: it starts with `min_reserve` tokens, every first attempt deposits `ratio`
/// of a token (up to `max_balance`), and every retry withdraws one. With an empty bucket the
/// failure goes to the caller as it is. Over any run, retries ≤ `min_reserve + ratio × requests`.
#[derive(Debug)]
pub struct RetryBudget {
    ratio: f64,
    max_balance: f64,
    balance: Mutex<f64>,
}

impl RetryBudget {
    /// A budget allowing `min_reserve` retries up front plus `ratio` of a retry per request.
    pub fn new(ratio: f64, min_reserve: u32) -> Result<Self, InvalidPolicy> {
        if !(0.0..=1.0).contains(&ratio) {
            return Err(InvalidPolicy(format!(
                "retry budget ratio {ratio} must be within 0..=1"
            )));
        }
        let reserve = f64::from(min_reserve);
        Ok(RetryBudget {
            ratio,
            max_balance: reserve.max(1.0) * 10.0,
            balance: Mutex::new(reserve),
        })
    }

    /// Records a first attempt.
    pub fn deposit(&self) {
        let mut b = self.balance.lock().unwrap_or_else(|p| p.into_inner());
        *b = (*b + self.ratio).min(self.max_balance);
    }

    /// Takes a token for one retry; false when the budget is spent.
    pub fn try_withdraw(&self) -> bool {
        let mut b = self.balance.lock().unwrap_or_else(|p| p.into_inner());
        if *b >= 1.0 {
            *b -= 1.0;
            true
        } else {
            false
        }
    }

    /// Tokens left (for metrics and tests).
    pub fn balance(&self) -> f64 {
        *self.balance.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Wires [`decide`] and [`RetryBudget`] around the rest of the stack.
#[derive(Debug)]
pub struct RetryMiddleware {
    pub(crate) policy: RetryPolicy,
    pub(crate) budget: Arc<RetryBudget>,
    /// Reads (GET, HEAD) may go on retrying from this one once `budget` is empty.
    pub(crate) read_budget: Option<Arc<RetryBudget>>,
    pub(crate) idempotency_header: Option<http::HeaderName>,
    pub(crate) stats: Arc<ClientStats>,
    pub(crate) clock: Clock,
    /// The client's name, the `client` label of `apiops_http_retries_total`.
    pub(crate) client: Arc<str>,
}

#[async_trait::async_trait]
impl Middleware for RetryMiddleware {
    async fn handle(
        &self,
        req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let has_key = self
            .idempotency_header
            .as_ref()
            .is_some_and(|h| req.headers().contains_key(h));
        let method = req.method().clone();
        let read_budget = self
            .read_budget
            .as_ref()
            .filter(|_| crate::reads::is_read(&method));
        self.budget.deposit();
        if let Some(b) = read_budget {
            b.deposit();
        }
        self.publish_budgets();
        let mut attempt: u32 = 1;
        let mut current = req;
        loop {
            // Keep a copy for the next attempt; a streaming body cannot be replayed.
            let spare = current.try_clone();
            extensions.insert(crate::trace::Attempt(attempt));
            let result = next.clone().run(current, extensions).await;
            let outcome = match &result {
                Ok(resp) => Attempt::Response {
                    status: resp.status().as_u16(),
                    headers: resp.headers(),
                },
                Err(reqwest_middleware::Error::Reqwest(_)) => Attempt::TransportError,
                // An attempt timed out inside the stack: a transport failure like any other.
                Err(e) if crate::reads::is_stack_transport_error(e) => Attempt::TransportError,
                // Our own middlewares' other errors (breaker, auth...) are not retried here.
                Err(reqwest_middleware::Error::Middleware(_)) => return result,
            };
            let decision = decide(
                &self.policy,
                attempt,
                &method,
                has_key,
                outcome,
                SystemTime::now(),
            );
            let wait = match decision {
                Decision::Done => return result,
                Decision::RetryAfter(wait) => wait,
            };
            let Some(spare) = spare else {
                return result;
            };
            if !(self.budget.try_withdraw() || read_budget.is_some_and(|b| b.try_withdraw())) {
                tracing::debug!(target: "apiops_client", attempt, "retry budget exhausted");
                return result;
            }
            drop(result);
            self.publish_budgets();
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            metrics::counter!(metric_names::HTTP_RETRIES_TOTAL, "client" => Arc::clone(&self.client))
                .increment(1);
            self.clock.sleep(wait).await;
            attempt += 1;
            current = spare;
        }
    }
}

impl RetryMiddleware {
    /// Sets `apiops_http_retry_budget_tokens` to what the budgets hold now.
    fn publish_budgets(&self) {
        let client = metrics::SharedString::from(Arc::clone(&self.client));
        metrics::gauge!(metric_names::HTTP_RETRY_BUDGET_TOKENS, "client" => client.clone(), "budget" => "general")
            .set(self.budget.balance());
        if let Some(read) = &self.read_budget {
            metrics::gauge!(metric_names::HTTP_RETRY_BUDGET_TOKENS, "client" => client, "budget" => "read")
                .set(read.balance());
        }
    }
}

impl From<InvalidPolicy> for ClientError {
    fn from(e: InvalidPolicy) -> Self {
        ClientError::InvalidRequest(e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use proptest::prelude::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn retry_after_table() {
        let now = httpdate::parse_http_date("Wed, 25 Nov 2026 10:00:00 GMT").expect("date");
        type Case<'a> = (&'a [(&'static str, &'a str)], Option<Duration>);
        let cases: &[Case<'_>] = &[
            (&[], None),
            (&[("retry-after", "3")], Some(Duration::from_secs(3))),
            (&[("retry-after", " 0 ")], Some(Duration::ZERO)),
            (&[("retry-after", "1.5")], Some(Duration::from_millis(1500))),
            (&[("retry-after", "-1")], None),
            (&[("retry-after", "soon")], None),
            (
                &[("retry-after", "Wed, 25 Nov 2026 10:00:30 GMT")],
                Some(Duration::from_secs(30)),
            ),
            (
                &[("retry-after", "Wed, 25 Nov 2026 09:59:00 GMT")],
                Some(Duration::ZERO),
            ),
            (
                &[("retry-after-ms", "250")],
                Some(Duration::from_millis(250)),
            ),
            (
                &[("retry-after-ms", "12.5"), ("retry-after", "9")],
                Some(Duration::from_micros(12500)),
            ),
            (
                &[("retry-after-ms", "NaN"), ("retry-after", "9")],
                Some(Duration::from_secs(9)),
            ),
        ];
        for (pairs, want) in cases {
            assert_eq!(parse_retry_after(&headers(pairs), now), *want, "{pairs:?}");
        }
    }

    #[test]
    fn should_retry_headers() {
        assert_eq!(
            should_retry_header(&headers(&[("x-should-retry", "true")])),
            Some(true)
        );
        assert_eq!(
            should_retry_header(&headers(&[("Stripe-Should-Retry", "false")])),
            Some(false)
        );
        assert_eq!(
            should_retry_header(&headers(&[("x-should-retry", "maybe")])),
            None
        );
        assert_eq!(should_retry_header(&HeaderMap::new()), None);
    }

    #[test]
    fn backoff_validates_bounds() {
        assert!(Backoff::new(Duration::ZERO, Duration::from_secs(1)).is_err());
        assert!(Backoff::new(Duration::from_secs(2), Duration::from_secs(1)).is_err());
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1)).expect("ok");
        assert_eq!(b.ceiling(0), Duration::from_millis(100));
        assert_eq!(b.ceiling(1), Duration::from_millis(200));
        assert_eq!(b.ceiling(3), Duration::from_millis(800));
        assert_eq!(b.ceiling(4), Duration::from_secs(1));
        assert_eq!(b.ceiling(200), Duration::from_secs(1));
    }

    proptest! {
        #[test]
        fn backoff_never_exceeds_cap_or_ceiling(
            base_ms in 1u64..5_000, extra_ms in 0u64..60_000, retry in 0u32..100, frac in 0.0f64..1.0
        ) {
            let b = Backoff::new(Duration::from_millis(base_ms), Duration::from_millis(base_ms + extra_ms)).expect("valid");
            let d = b.delay(retry, &Jitter::fixed(frac));
            prop_assert!(d <= b.ceiling(retry));
            prop_assert!(b.ceiling(retry) <= b.cap());
            prop_assert!(b.ceiling(retry) >= b.ceiling(retry.saturating_sub(1)));
        }

        #[test]
        fn budget_bounds_retries(ratio in 0.0f64..0.5, reserve in 0u32..20, requests in 0u32..2_000) {
            let budget = RetryBudget::new(ratio, reserve).expect("valid");
            let mut retries = 0u32;
            for _ in 0..requests {
                budget.deposit();
                // Every request fails and wants 2 retries.
                for _ in 0..2 { if budget.try_withdraw() { retries += 1; } }
            }
            let bound = f64::from(reserve) + ratio * f64::from(requests) + 1e-9;
            prop_assert!(f64::from(retries) <= bound, "{retries} > {bound}");
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy::new(
            3,
            Backoff::new(Duration::from_millis(100), Duration::from_secs(10)).expect("valid"),
        )
        .expect("valid")
        .with_jitter(Jitter::fixed(1.0))
    }

    #[test]
    fn decision_table() {
        let p = policy();
        let none = HeaderMap::new();
        let ra = headers(&[("retry-after", "2")]);
        let ra_long = headers(&[("retry-after", "3600")]);
        let no = headers(&[("x-should-retry", "false")]);
        let yes = headers(&[("stripe-should-retry", "true")]);
        let r = |status, headers| Attempt::Response { status, headers };
        let ms = |n| Decision::RetryAfter(Duration::from_millis(n));
        let cases = [
            // (attempt, method, key, outcome, want)
            (1, Method::GET, false, r(200, &none), Decision::Done),
            (1, Method::GET, false, r(503, &none), ms(100)),
            (2, Method::GET, false, r(503, &none), ms(200)),
            (3, Method::GET, false, r(503, &none), Decision::Done),
            (1, Method::GET, false, Attempt::TransportError, ms(100)),
            (1, Method::POST, false, r(503, &none), Decision::Done),
            (
                1,
                Method::POST,
                false,
                Attempt::TransportError,
                Decision::Done,
            ),
            (1, Method::POST, true, r(503, &none), ms(100)),
            (1, Method::DELETE, false, r(503, &none), Decision::Done),
            (1, Method::GET, false, r(400, &none), Decision::Done),
            (1, Method::GET, false, r(401, &none), Decision::Done),
            (1, Method::GET, false, r(404, &none), Decision::Done),
            (1, Method::GET, false, r(408, &none), ms(100)),
            (1, Method::GET, false, r(409, &none), ms(100)),
            (
                1,
                Method::GET,
                false,
                r(429, &ra),
                Decision::RetryAfter(Duration::from_secs(2)),
            ),
            (1, Method::GET, false, r(429, &ra_long), Decision::Done),
            (1, Method::GET, false, r(503, &no), Decision::Done),
            (1, Method::GET, false, r(400, &yes), Decision::Done),
            (1, Method::GET, false, r(501, &none), Decision::Done),
            (1, Method::GET, false, r(501, &yes), ms(100)),
            (1, Method::HEAD, false, r(502, &none), ms(100)),
        ];
        for (attempt, method, key, outcome, want) in cases {
            let got = decide(&p, attempt, &method, key, outcome, at(0));
            assert_eq!(
                got, want,
                "attempt {attempt} {method} key={key} {outcome:?}"
            );
        }
    }

    #[test]
    fn budget_validation() {
        assert!(RetryBudget::new(1.5, 1).is_err());
        assert!(RetryBudget::new(-0.1, 1).is_err());
        let b = RetryBudget::new(0.5, 1).expect("valid");
        assert!(b.try_withdraw());
        assert!(!b.try_withdraw());
        b.deposit();
        b.deposit();
        assert!(b.try_withdraw());
    }
}
