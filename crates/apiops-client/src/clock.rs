//! Injected time and randomness. Waiting always goes through `tokio::time`, so tests pause the
//! clock and advance it instead of sleeping; jitter comes from a [`Jitter`] source that tests fix.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// A `governor` clock that reads `tokio::time`, so quota waits follow paused test time.
#[derive(Debug, Clone)]
pub struct TokioClock {
    origin: tokio::time::Instant,
}

impl Default for TokioClock {
    fn default() -> Self {
        TokioClock {
            origin: tokio::time::Instant::now(),
        }
    }
}

impl governor::clock::Clock for TokioClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.origin.elapsed()
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
        assert_eq!(Jitter::fixed(0.25).spread(Duration::from_secs(4)), Duration::from_secs(1));
    }
}
