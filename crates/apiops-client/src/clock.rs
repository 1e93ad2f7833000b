//! Injected time and randomness. Waiting always goes through `tokio::time`, so tests pause the
//! clock and advance it instead of sleeping; jitter comes from a [`Jitter`] source that tests fix.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;

/// A source of jitter fractions in `[0, 1)`.
#[derive(Clone)]
pub struct Jitter(Arc<dyn Fn() -> f64 + Send + Sync>);

impl Jitter {
    /// Random jitter from a thread-safe PRNG seeded from the OS.
    pub fn random() -> Self {
        let rng = Mutex::new(fastrand::Rng::new());
        Jitter(Arc::new(move || match rng.lock() {
            Ok(mut r) => r.f64(),
            Err(poisoned) => poisoned.into_inner().f64(),
        }))
    }

    /// Deterministic jitter from a seed, for reproducible runs.
    pub fn seeded(seed: u64) -> Self {
        let rng = Mutex::new(fastrand::Rng::with_seed(seed));
        Jitter(Arc::new(move || match rng.lock() {
            Ok(mut r) => r.f64(),
            Err(poisoned) => poisoned.into_inner().f64(),
        }))
    }

    /// Always the same fraction (clamped to `[0, 1]`): `1.0` means "always the full ceiling".
    pub fn fixed(fraction: f64) -> Self {
        let f = fraction.clamp(0.0, 1.0);
        Jitter(Arc::new(move || f))
    }

    /// The next fraction.
    pub fn fraction(&self) -> f64 {
        (self.0)()
    }

    /// A duration uniformly spread over `[0, ceiling]`.
    pub fn spread(&self, ceiling: Duration) -> Duration {
        ceiling.mul_f64(self.fraction().clamp(0.0, 1.0))
    }
}

impl fmt::Debug for Jitter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Jitter")
    }
}

/// Where time comes from: `now` and `sleep`. Production reads `tokio::time` (so unit tests may
/// also pause it); tests that talk to real sockets use [`ManualClock`], because tokio's paused
/// clock jumps ahead whenever the runtime waits on I/O and would fire timeouts spuriously.
pub trait TimeSource: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> Instant;
    /// Waits for `d`.
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()>;
}

/// A shared handle to a [`TimeSource`].
#[derive(Debug, Clone)]
pub struct Clock(Arc<dyn TimeSource>);

impl Default for Clock {
    fn default() -> Self {
        Clock(Arc::new(TokioTime))
    }
}

impl Clock {
    /// Wraps a time source.
    pub fn new(source: Arc<dyn TimeSource>) -> Self {
        Clock(source)
    }

    /// The current instant.
    pub fn now(&self) -> Instant {
        self.0.now()
    }

    /// Waits for `d`.
    pub async fn sleep(&self, d: Duration) {
        if !d.is_zero() {
            self.0.sleep(d).await;
        }
    }

    /// Waits until `t`.
    pub async fn sleep_until(&self, t: Instant) {
        let now = self.now();
        if t > now {
            self.sleep(t - now).await;
        }
    }
}

/// `tokio::time`.
#[derive(Debug)]
struct TokioTime;

impl TimeSource for TokioTime {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// A clock that moves only when told to, or when something sleeps on it (a sleep returns at
/// once and advances the clock by its duration). Every sleep is recorded, so a test can assert
/// exactly how long the code chose to wait.
#[derive(Debug)]
pub struct ManualClock {
    base: Instant,
    offset: Mutex<Duration>,
    sleeps: Mutex<Vec<Duration>>,
}

impl ManualClock {
    /// A manual clock and the [`Clock`] handle to give to the code under test.
    pub fn new() -> (Arc<ManualClock>, Clock) {
        let m = Arc::new(ManualClock {
            base: Instant::now(),
            offset: Mutex::new(Duration::ZERO),
            sleeps: Mutex::new(Vec::new()),
        });
        let clock = Clock(Arc::clone(&m) as Arc<dyn TimeSource>);
        (m, clock)
    }

    /// Moves time forward.
    pub fn advance(&self, d: Duration) {
        let mut o = self.offset.lock().unwrap_or_else(|p| p.into_inner());
        *o += d;
    }

    /// Every sleep requested so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.sleeps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl TimeSource for ManualClock {
    fn now(&self) -> Instant {
        self.base + *self.offset.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        self.sleeps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(d);
        self.advance(d);
        Box::pin(std::future::ready(()))
    }
}

/// A `governor` clock reading a [`Clock`], so quota waits follow the injected time.
#[derive(Debug, Clone)]
pub struct GovernorClock {
    clock: Clock,
    origin: Instant,
}

impl GovernorClock {
    /// Reads `clock`.
    pub fn new(clock: Clock) -> Self {
        let origin = clock.now();
        GovernorClock { clock, origin }
    }
}

impl governor::clock::Clock for GovernorClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.clock.now().saturating_duration_since(self.origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_reproducible_and_in_range() {
        let a = Jitter::seeded(7);
        let b = Jitter::seeded(7);
        for _ in 0..100 {
            let x = a.fraction();
            assert_eq!(x, b.fraction());
            assert!((0.0..1.0).contains(&x));
        }
        assert_eq!(
            Jitter::fixed(2.0).spread(Duration::from_secs(4)),
            Duration::from_secs(4)
        );
        assert_eq!(
            Jitter::fixed(0.25).spread(Duration::from_secs(4)),
            Duration::from_secs(1)
        );
    }

    #[tokio::test]
    async fn manual_clock_records_sleeps_and_advances() {
        let (manual, clock) = ManualClock::new();
        let t0 = clock.now();
        clock.sleep(Duration::from_secs(3)).await;
        clock.sleep(Duration::ZERO).await;
        manual.advance(Duration::from_secs(1));
        assert_eq!(clock.now() - t0, Duration::from_secs(4));
        assert_eq!(manual.sleeps(), vec![Duration::from_secs(3)]);
    }
}
