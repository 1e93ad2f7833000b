//! When to retry after a rate limit, in words a person acts on: "resets in 42 s, retry after
//! 2026-12-07 10:15:42 UTC". The time comes from the headers apiops has seen in this run (a
//! 429's `Retry-After`, or the reset of an exhausted `x-ratelimit-*` budget), as each client's
//! rate gate records it ([`apiops_client::rate::RateGate::retry_at`]); nothing is guessed.

use std::time::{Duration, SystemTime};

use apiops_client::rate::RateGate;
use apiops_core::Health;
use serde::Serialize;

/// When requests may go again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetryWait {
    /// The instant, from the headers.
    pub retry_after: jiff::Timestamp,
    /// Seconds from the check to that instant, rounded up.
    pub resets_in_s: u64,
}

impl RetryWait {
    /// The wait until `until`, as of `now`; `None` when it has passed.
    pub fn until(until: SystemTime, now: SystemTime) -> Option<Self> {
        let left = until.duration_since(now).ok().filter(|d| !d.is_zero())?;
        let retry_after = jiff::Timestamp::try_from(until).ok()?;
        let resets_in_s = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        Some(RetryWait {
            retry_after,
            resets_in_s,
        })
    }

    /// "resets in 42 s, retry after 2026-12-07 10:15:42 UTC".
    pub fn describe(&self) -> String {
        format!(
            "resets in {}, retry after {}",
            human_wait(Duration::from_secs(self.resets_in_s)),
            self.retry_after.strftime("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

/// "42 s", "12 min", "3 h 5 min" (minutes rounded to the nearest).
pub fn human_wait(d: Duration) -> String {
    let s = d.as_secs();
    if s < 120 {
        format!("{s} s")
    } else if s < 2 * 3600 {
        format!("{} min", (s + 30) / 60)
    } else {
        let m = (s + 30) / 60;
        format!("{} h {} min", m / 60, m % 60)
    }
}

/// The latest time any of `gates` was asked to wait until, if after `now`.
pub fn latest<'a>(
    gates: impl IntoIterator<Item = &'a RateGate>,
    now: SystemTime,
) -> Option<SystemTime> {
    gates.into_iter().filter_map(|g| g.retry_at(now)).max()
}

/// Adds the `rate_limit` warning (and a `retry_after` detail) to a health result when the
/// provider asked to wait; a health check that saw no such header is left as it is.
pub fn annotate(health: &mut Health, wait: Option<RetryWait>) {
    let Some(wait) = wait else { return };
    health
        .details
        .insert("retry_after".to_owned(), wait.retry_after.to_string());
    health
        .warnings
        .push(format!("rate_limit: {}", wait.describe()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> SystemTime {
        SystemTime::from(s.parse::<jiff::Timestamp>().expect("timestamp"))
    }

    #[test]
    fn waits_read_as_a_duration_and_an_instant() {
        let now = at("2026-12-07T10:15:00Z");
        let w = RetryWait::until(at("2026-12-07T10:15:42Z"), now).expect("ahead");
        assert_eq!(w.resets_in_s, 42);
        assert_eq!(
            w.describe(),
            "resets in 42 s, retry after 2026-12-07 10:15:42 UTC"
        );
        let w = RetryWait::until(at("2026-12-07T13:20:00Z"), now).expect("ahead");
        assert_eq!(
            w.describe(),
            "resets in 3 h 5 min, retry after 2026-12-07 13:20:00 UTC"
        );
        assert_eq!(human_wait(Duration::from_secs(600)), "10 min");
        assert!(RetryWait::until(now, now).is_none());
        assert!(RetryWait::until(at("2026-12-07T10:14:00Z"), now).is_none());
    }

    #[test]
    fn a_gate_remembers_the_uncapped_retry_after_of_a_429() {
        let gate = RateGate::new(
            &apiops_client::rate::RateConfig {
                max_pause: Duration::from_secs(5),
                ..Default::default()
            },
            Default::default(),
        )
        .expect("gate");
        let now = SystemTime::now();
        assert_eq!(latest([&gate], now), None);
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("retry-after", "120".parse().expect("header"));
        gate.observe(429, &headers);
        let until = latest([&gate], now).expect("asked to wait");
        let wait = until.duration_since(now).expect("ahead");
        // Two minutes as the header said, not the gate's 5 s cap.
        assert!(
            wait > Duration::from_secs(110) && wait <= Duration::from_secs(121),
            "{wait:?}"
        );
        let mut h = Health {
            service: apiops_core::Service::Openai,
            status: apiops_core::HealthStatus::Degraded,
            latency_ms: None,
            details: Default::default(),
            warnings: vec![],
            reason: None,
            category: None,
        };
        annotate(&mut h, RetryWait::until(until, now));
        assert!(
            h.warnings[0].starts_with("rate_limit: resets in 2 min"),
            "{:?}",
            h.warnings
        );
        assert!(h.details.contains_key("retry_after"));
        annotate(&mut h, None);
        assert_eq!(h.warnings.len(), 1);
    }
}
