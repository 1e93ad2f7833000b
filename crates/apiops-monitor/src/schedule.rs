//! When jobs run: each job has an interval, time is cut into slots of that interval
//! (`slot = floor(unix time / interval)`), and a slot is run by the one instance that claims it
//! in the store ([`apiops_store::Store::claim_slot`]) — so with several instances sharing a
//! database each job runs exactly once per interval, and when an instance dies the next slot is
//! simply claimed by another one (taken over within one interval, with no lease to expire).
//!
//! The slot arithmetic and the choice of what is due are pure functions of the time given, so
//! they are tested without waiting; the loop (`run_loop`) only sleeps until the next
//! slot boundary.

use std::time::Duration;

use apiops_core::Service;
use jiff::Timestamp;

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobKind {
    /// One service's health check.
    Health,
    /// One service's error audit over the last interval.
    Errors,
    /// One service's configuration audit.
    Audit,
    /// This instance's webhook rejections since its last report (every instance runs it: the
    /// receiver's counters are per process).
    Webhooks,
    /// The signature-rejection rule over every instance's reports.
    Signatures,
    /// One service's spend by day, its budget and its anomaly rule.
    Usage,
}

impl JobKind {
    /// The job's name in check records and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Health => "health",
            JobKind::Errors => "errors",
            JobKind::Audit => "audit",
            JobKind::Webhooks => "webhooks",
            JobKind::Signatures => "signatures",
            JobKind::Usage => "usage",
        }
    }

    /// Whether one instance runs each slot (claimed) or every instance does (local).
    pub fn claimed(self) -> bool {
        self != JobKind::Webhooks
    }
}

/// One scheduled job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// What it does.
    pub kind: JobKind,
    /// The service, for per-service jobs.
    pub service: Option<Service>,
    /// Its interval (at least 1 s; checked by the settings).
    pub every: Duration,
}

impl Job {
    /// The name its slots are claimed under: `health:twilio`, `signatures`.
    pub fn claim_name(&self) -> String {
        match self.service {
            Some(s) => format!("{}:{s}", self.kind.as_str()),
            None => self.kind.as_str().to_owned(),
        }
    }

    /// The slot `now` falls in.
    pub fn slot(&self, now: Timestamp) -> i64 {
        slot_of(now, self.every)
    }

    /// The `service` label of its metrics.
    pub fn service_label(&self) -> &'static str {
        self.service.map_or("all", Service::as_str)
    }
}

fn interval_ms(every: Duration) -> i64 {
    i64::try_from(every.as_millis()).unwrap_or(i64::MAX).max(1)
}

/// `floor(now / every)`, in milliseconds since the Unix epoch.
pub fn slot_of(now: Timestamp, every: Duration) -> i64 {
    now.as_millisecond().div_euclid(interval_ms(every))
}

/// When `slot` of an `every` interval begins.
pub fn slot_start(slot: i64, every: Duration) -> Timestamp {
    let ms = slot.saturating_mul(interval_ms(every));
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::MAX)
}

/// The next slot boundary of any job after `now` (`None` without jobs).
pub fn next_wake(now: Timestamp, jobs: &[Job]) -> Option<Timestamp> {
    jobs.iter()
        .map(|j| slot_start(j.slot(now) + 1, j.every))
        .min()
}

/// How long to sleep from `now` until `wake`, plus a small margin so the clock is past the
/// boundary when the loop looks again; never zero, never more than `cap`.
pub fn sleep_for(now: Timestamp, wake: Option<Timestamp>, cap: Duration) -> Duration {
    let Some(wake) = wake else { return cap };
    let ms = wake.as_millisecond().saturating_sub(now.as_millisecond());
    let d = Duration::from_millis(u64::try_from(ms).unwrap_or(0)) + Duration::from_millis(5);
    d.min(cap)
}

/// The jobs to try now: those whose current slot is newer than the last one tried (`last[i]`,
/// `None` when never tried). A job whose slot was already tried waits for the next one.
pub fn due(now: Timestamp, jobs: &[Job], last: &[Option<i64>]) -> Vec<(usize, i64)> {
    jobs.iter()
        .enumerate()
        .filter_map(|(i, j)| {
            let slot = j.slot(now);
            let tried = last.get(i).copied().flatten();
            (tried.is_none_or(|t| t < slot)).then_some((i, slot))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn job(kind: JobKind, service: Option<Service>, secs: u64) -> Job {
        Job {
            kind,
            service,
            every: Duration::from_secs(secs),
        }
    }

    #[test]
    fn slots_are_floor_of_time_over_interval() {
        let every = Duration::from_secs(60);
        let t = at("2026-01-01T00:00:59.999Z");
        let s = slot_of(t, every);
        assert_eq!(slot_of(at("2026-01-01T00:00:00Z"), every), s);
        assert_eq!(slot_of(at("2026-01-01T00:01:00Z"), every), s + 1);
        assert_eq!(slot_start(s + 1, every), at("2026-01-01T00:01:00Z"));
        // Before the epoch still floors (never rounds toward zero).
        assert_eq!(slot_of(at("1969-12-31T23:59:59Z"), every), -1);
    }

    #[test]
    fn claim_names_separate_jobs_and_services() {
        assert_eq!(
            job(JobKind::Health, Some(Service::Twilio), 60).claim_name(),
            "health:twilio"
        );
        assert_eq!(
            job(JobKind::Signatures, None, 60).claim_name(),
            "signatures"
        );
        assert!(!JobKind::Webhooks.claimed());
        assert!(JobKind::Audit.claimed());
    }

    #[test]
    fn a_job_is_due_once_per_slot() {
        let jobs = vec![
            job(JobKind::Health, Some(Service::Twilio), 60),
            job(JobKind::Errors, Some(Service::Twilio), 900),
        ];
        let t0 = at("2026-01-01T00:00:10Z");
        let due0 = due(t0, &jobs, &[None, None]);
        assert_eq!(due0.len(), 2, "both run at start");
        let last: Vec<Option<i64>> = due0.iter().map(|(_, s)| Some(*s)).collect();
        // Later in the same slots: nothing.
        assert!(due(at("2026-01-01T00:00:59Z"), &jobs, &last).is_empty());
        // The next minute: health only.
        let d = due(at("2026-01-01T00:01:00Z"), &jobs, &last);
        assert_eq!(d, vec![(0, last[0].expect("slot") + 1)]);
        // A clock stepping back never re-runs a slot.
        assert!(due(at("2026-01-01T00:00:00Z"), &jobs, &last).is_empty());
    }

    #[test]
    fn the_loop_wakes_at_the_next_boundary_of_any_job() {
        let jobs = vec![
            job(JobKind::Health, Some(Service::Stripe), 60),
            job(JobKind::Audit, Some(Service::Stripe), 86_400),
        ];
        let now = at("2026-01-01T00:00:42.500Z");
        assert_eq!(next_wake(now, &jobs), Some(at("2026-01-01T00:01:00Z")));
        let d = sleep_for(now, next_wake(now, &jobs), Duration::from_secs(3600));
        assert_eq!(d, Duration::from_millis(17_505));
        assert_eq!(
            sleep_for(now, next_wake(now, &jobs), Duration::from_secs(1)),
            Duration::from_secs(1)
        );
        assert_eq!(next_wake(now, &[]), None);
    }
}
