//! The circuit breaker: stops sending to a host that keeps failing, then probes it back.
//!
//! [`Breaker`] is a pure state machine over explicit times (closed -> open on a failure rate
//! over a minimum of calls in a sliding window -> half-open after a cool-down, admitting a few
//! probes -> closed when they all succeed, open again on any probe failure). [`Breakers`] keeps
//! one per host, and [`BreakerMiddleware`] wires them: a request to an open host fails at once
//! with [`ClientError::CircuitOpen`] and nothing is sent. Failures are transport errors and 5xx;
//! a 4xx (including 429) says the host is up, so it counts as a success here.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiops_core::metric_names;
use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};
use tokio::time::Instant;

use crate::clock::Clock;
use crate::error::ClientError;
use crate::retry::InvalidPolicy;

/// Thresholds of a breaker.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerConfig {
    /// Open when the failure share of the window reaches this (0 < rate ≤ 1).
    pub failure_rate: f64,
    /// Never open on fewer calls than this in the window.
    pub minimum_calls: usize,
    /// How many recent calls the failure rate is computed over.
    pub window: usize,
    /// How long to stay open before probing.
    pub cool_down: Duration,
    /// How many probes half-open admits; all must succeed to close.
    pub half_open_probes: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_rate: 0.5,
            minimum_calls: 50,
            window: 100,
            cool_down: Duration::from_secs(30),
            half_open_probes: 3,
        }
    }
}

impl BreakerConfig {
    /// Checks the thresholds can work.
    pub fn validate(&self) -> Result<(), InvalidPolicy> {
        if !(self.failure_rate > 0.0 && self.failure_rate <= 1.0) {
            return Err(InvalidPolicy(format!(
                "breaker failure_rate {} must be within (0, 1]",
                self.failure_rate
            )));
        }
        if self.window == 0 || self.minimum_calls == 0 || self.minimum_calls > self.window {
            return Err(InvalidPolicy(format!(
                "breaker needs 0 < minimum_calls ({}) <= window ({})",
                self.minimum_calls, self.window
            )));
        }
        if self.half_open_probes == 0 {
            return Err(InvalidPolicy(
                "breaker half_open_probes must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// The observable state of a breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Requests flow.
    Closed,
    /// Requests are refused until the cool-down ends.
    Open,
    /// A few probes are let through.
    HalfOpen,
}

impl BreakerState {
    /// The spelling used in health output and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed,
    Open { until: Instant },
    HalfOpen { admitted: u32, succeeded: u32 },
}

/// One host's breaker.
#[derive(Debug)]
pub struct Breaker {
    config: BreakerConfig,
    state: State,
    /// Recent outcomes while closed, `true` = failure.
    window: VecDeque<bool>,
    /// Times it has opened, for metrics.
    opened: u64,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        Breaker {
            window: VecDeque::with_capacity(config.window),
            config,
            state: State::Closed,
            opened: 0,
        }
    }

    /// The state at `now` (an open breaker whose cool-down ended reads as half-open).
    pub fn state(&self, now: Instant) -> BreakerState {
        match self.state {
            State::Closed => BreakerState::Closed,
            State::Open { until } if now >= until => BreakerState::HalfOpen,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// How many times it has opened.
    pub fn times_opened(&self) -> u64 {
        self.opened
    }

    /// Asks to send a request at `now`: `Ok` to go ahead, or `Err(wait)` until the next probe.
    pub fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        match self.state {
            State::Closed => Ok(()),
            State::Open { until } if now < until => Err(until - now),
            State::Open { .. } => {
                self.state = State::HalfOpen {
                    admitted: 1,
                    succeeded: 0,
                };
                Ok(())
            }
            State::HalfOpen {
                admitted,
                succeeded,
            } => {
                if admitted < self.config.half_open_probes {
                    self.state = State::HalfOpen {
                        admitted: admitted + 1,
                        succeeded,
                    };
                    Ok(())
                } else {
                    // All probes are out; wait for their verdict.
                    Err(Duration::from_millis(100))
                }
            }
        }
    }

    /// Records the outcome of an admitted request.
    pub fn record(&mut self, now: Instant, failed: bool) {
        match self.state {
            State::Closed => {
                if self.window.len() == self.config.window {
                    self.window.pop_front();
                }
                self.window.push_back(failed);
                let calls = self.window.len();
                let failures = self.window.iter().filter(|f| **f).count();
                if calls >= self.config.minimum_calls
                    && failures as f64 >= self.config.failure_rate * calls as f64
                {
                    self.trip(now);
                }
            }
            State::HalfOpen {
                admitted,
                succeeded,
            } => {
                if failed {
                    self.trip(now);
                } else if succeeded + 1 >= self.config.half_open_probes {
                    self.state = State::Closed;
                    self.window.clear();
                } else {
                    self.state = State::HalfOpen {
                        admitted,
                        succeeded: succeeded + 1,
                    };
                }
            }
            // A request admitted before the breaker opened finished late: already counted.
            State::Open { .. } => {}
        }
    }

    fn trip(&mut self, now: Instant) {
        self.state = State::Open {
            until: now + self.config.cool_down,
        };
        self.window.clear();
        self.opened += 1;
    }
}

/// One breaker per host, shared by the clones of a client.
#[derive(Debug, Clone)]
pub struct Breakers {
    config: BreakerConfig,
    clock: Clock,
    by_host: Arc<Mutex<HashMap<String, Breaker>>>,
}

impl Breakers {
    /// An empty registry; breakers are created on first use of a host.
    pub fn new(config: BreakerConfig, clock: Clock) -> Self {
        Breakers {
            config,
            clock,
            by_host: Arc::default(),
        }
    }

    fn with<R>(&self, host: &str, f: impl FnOnce(&mut Breaker) -> R) -> R {
        let mut map = self.by_host.lock().unwrap_or_else(|p| p.into_inner());
        let breaker = map
            .entry(host.to_owned())
            .or_insert_with(|| Breaker::new(self.config.clone()));
        f(breaker)
    }

    /// The state of each host's breaker now.
    pub fn states(&self) -> Vec<(String, BreakerState)> {
        let now = self.clock.now();
        let map = self.by_host.lock().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<_> = map.iter().map(|(h, b)| (h.clone(), b.state(now))).collect();
        v.sort();
        v
    }

    /// The state of one host's breaker (closed when never used).
    pub fn state(&self, host: &str) -> BreakerState {
        let map = self.by_host.lock().unwrap_or_else(|p| p.into_inner());
        map.get(host)
            .map_or(BreakerState::Closed, |b| b.state(self.clock.now()))
    }
}

impl PartialOrd for BreakerState {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for BreakerState {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (*self as u8).cmp(&(*other as u8))
    }
}

/// Wires [`Breakers`] into the stack.
#[derive(Debug)]
pub struct BreakerMiddleware {
    pub(crate) breakers: Breakers,
    /// The client's name, a label of the breaker's metrics.
    pub(crate) client: Arc<str>,
}

impl BreakerMiddleware {
    /// Publishes a host's breaker state (`apiops_breaker_open`: 1 open, 0.5 half-open, 0
    /// closed) and counts the times it opened; no-ops until a recorder is installed.
    fn publish(&self, host: &str, state: BreakerState, opened: bool) {
        let value = match state {
            BreakerState::Closed => 0.0,
            BreakerState::HalfOpen => 0.5,
            BreakerState::Open => 1.0,
        };
        let (client, host) = (Arc::clone(&self.client), host.to_owned());
        if opened {
            metrics::counter!(
                metric_names::BREAKER_OPENED_TOTAL,
                "client" => Arc::clone(&client),
                "host" => host.clone()
            )
            .increment(1);
        }
        metrics::gauge!(metric_names::BREAKER_OPEN, "client" => client, "host" => host).set(value);
    }
}

/// `host[:port]`, the breaker's key.
pub(crate) fn host_key(url: &url::Url) -> String {
    match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or("?")),
        None => url.host_str().unwrap_or("?").to_owned(),
    }
}

#[async_trait::async_trait]
impl Middleware for BreakerMiddleware {
    async fn handle(
        &self,
        req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let host = host_key(req.url());
        let admitted = self.breakers.with(&host, |b| {
            let now = self.breakers.clock.now();
            (b.admit(now), b.state(now))
        });
        if let (Err(retry_in), state) = admitted {
            self.publish(&host, state, false);
            return Err(ClientError::CircuitOpen { host, retry_in }.into());
        }
        let result = next.run(req, extensions).await;
        let failed = match &result {
            Ok(resp) => resp.status().is_server_error(),
            Err(reqwest_middleware::Error::Reqwest(_)) => true,
            Err(e) => crate::reads::is_stack_transport_error(e),
        };
        let (state, opened) = self.breakers.with(&host, |b| {
            let now = self.breakers.clock.now();
            let before = b.times_opened();
            b.record(now, failed);
            (b.state(now), b.times_opened() > before)
        });
        self.publish(&host, state, opened);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> BreakerConfig {
        BreakerConfig {
            failure_rate: 0.5,
            minimum_calls: 4,
            window: 10,
            cool_down: Duration::from_secs(30),
            half_open_probes: 2,
        }
    }

    #[test]
    fn config_validation() {
        assert!(cfg().validate().is_ok());
        let bad = [
            BreakerConfig {
                failure_rate: 0.0,
                ..cfg()
            },
            BreakerConfig {
                failure_rate: 1.5,
                ..cfg()
            },
            BreakerConfig {
                minimum_calls: 11,
                ..cfg()
            },
            BreakerConfig { window: 0, ..cfg() },
            BreakerConfig {
                half_open_probes: 0,
                ..cfg()
            },
        ];
        for b in bad {
            assert!(b.validate().is_err(), "{b:?}");
        }
    }

    #[test]
    fn transitions() {
        let t0 = Instant::now();
        let mut b = Breaker::new(cfg());
        // Three failures: below the minimum number of calls, stays closed.
        for _ in 0..3 {
            assert!(b.admit(t0).is_ok());
            b.record(t0, true);
        }
        assert_eq!(b.state(t0), BreakerState::Closed);
        // Fourth call fails: 4/4 >= 50% over the minimum: opens.
        assert!(b.admit(t0).is_ok());
        b.record(t0, true);
        assert_eq!(b.state(t0), BreakerState::Open);
        assert_eq!(b.times_opened(), 1);
        assert_eq!(
            b.admit(t0 + Duration::from_secs(10)),
            Err(Duration::from_secs(20))
        );
        // After the cool-down: half-open, two probes admitted, a third waits.
        let t1 = t0 + Duration::from_secs(30);
        assert_eq!(b.state(t1), BreakerState::HalfOpen);
        assert!(b.admit(t1).is_ok());
        assert!(b.admit(t1).is_ok());
        assert!(b.admit(t1).is_err());
        // One probe fails: open again.
        b.record(t1, true);
        assert_eq!(b.state(t1), BreakerState::Open);
        assert_eq!(b.times_opened(), 2);
        // Next half-open: both probes succeed: closed.
        let t2 = t1 + Duration::from_secs(30);
        assert!(b.admit(t2).is_ok());
        b.record(t2, false);
        assert_eq!(b.state(t2), BreakerState::HalfOpen);
        assert!(b.admit(t2).is_ok());
        b.record(t2, false);
        assert_eq!(b.state(t2), BreakerState::Closed);
    }

    #[test]
    fn mostly_successful_traffic_stays_closed() {
        let t = Instant::now();
        let mut b = Breaker::new(cfg());
        for i in 0..1000 {
            assert!(b.admit(t).is_ok());
            b.record(t, i % 4 == 0); // at most 3 failures in any window of 10
        }
        assert_eq!(b.state(t), BreakerState::Closed);
    }

    #[test]
    fn window_forgets_old_failures() {
        let t = Instant::now();
        let mut b = Breaker::new(cfg());
        let mut feed = |failed: bool, n: usize| {
            for _ in 0..n {
                b.record(t, failed);
            }
        };
        feed(false, 8);
        feed(true, 2);
        feed(false, 8); // the two failures slide out of the window of 10
        feed(true, 4); // 4/10 < 50%; with the old failures kept it would be 6/10
        assert_eq!(b.state(t), BreakerState::Closed);
    }
}
