//! Retention in `apiops serve` ([`RetentionConfig`]): every minute, the raw payloads of processed
//! webhooks older than `payloads` are emptied and events older than `events` are deleted.
//!
//! Each kind is pruned in batches of `batch` rows, one short statement each, until a batch
//! comes back short: the store's writer (one connection on SQLite) is never held for long, and
//! webhooks keep being committed between batches. What the store keeps and why (a pruned
//! event's dedup key stays, so a re-delivery is still a duplicate) is the store's promise
//! ([`Store::inbox_prune_payloads`]); this module only decides when and how much.
//!
//! Not for: the WAL, which SQLite keeps bounded itself (see `apiops_store::sqlite`). Time
//! comes from an injected [`Clock`], so tests move it instead of waiting.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use apiops_core::metric_names;
use apiops_store::{Store, StoreError};
use jiff::{SignedDuration, Timestamp};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::Clock;

/// How often a pass runs: often enough that each pass has about a minute's worth of rows.
pub const EVERY: Duration = Duration::from_secs(60);

/// `[retention]`: what is deleted, and when. Plain values, checked by whoever built them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionConfig {
    /// How long the raw payload of a processed webhook or polled event is kept; zero keeps
    /// payloads forever.
    pub payloads: Duration,
    /// How long the event log keeps an event, counted from the event's own time; zero keeps
    /// events forever.
    pub events: Duration,
    /// Rows per pruning statement.
    pub batch: NonZeroU32,
}

/// What `apiops serve` prunes, and how.
pub(crate) struct Retention {
    /// The store pruned.
    store: Arc<dyn Store>,
    /// Raw payloads of processed rows older than this are emptied; `None` keeps them.
    payloads: Option<SignedDuration>,
    /// Events older than this are deleted; `None` keeps them.
    events: Option<SignedDuration>,
    /// Rows per statement.
    batch: u32,
    /// Now (injected for tests).
    clock: Clock,
}

impl std::fmt::Debug for Retention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retention")
            .field("payloads", &self.payloads)
            .field("events", &self.events)
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

/// What one pass pruned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Pruned {
    /// Inbox rows whose payload was emptied.
    pub(crate) payloads: u64,
    /// Events deleted.
    pub(crate) events: u64,
}

/// A retention period: zero (keep forever) is `None`, as is one too long to subtract from any
/// date (nothing is that old).
fn period(d: Duration) -> Option<SignedDuration> {
    (!d.is_zero())
        .then(|| SignedDuration::try_from(d).ok())
        .flatten()
}

impl Retention {
    /// Retention as configured; `None` when both periods keep forever.
    pub(crate) fn new(
        settings: &RetentionConfig,
        store: Arc<dyn Store>,
        clock: Clock,
    ) -> Option<Self> {
        let r = Retention {
            store,
            payloads: period(settings.payloads),
            events: period(settings.events),
            batch: settings.batch.get(),
            clock,
        };
        (r.payloads.is_some() || r.events.is_some()).then_some(r)
    }

    /// One pass: each kind in batches until a batch comes back short (or `stop`).
    pub(crate) async fn pass(&self, stop: &CancellationToken) -> Result<Pruned, StoreError> {
        let now = (self.clock)();
        let cutoff = |keep: Option<SignedDuration>| keep.and_then(|k| now.checked_sub(k).ok());
        let mut pruned = Pruned::default();
        if let Some(before) = cutoff(self.payloads) {
            pruned.payloads = self
                .batches(stop, || self.store.inbox_prune_payloads(before, self.batch))
                .await?;
        }
        if let Some(before) = cutoff(self.events) {
            pruned.events = self
                .batches(stop, || self.store.events_prune(before, self.batch))
                .await?;
        }
        Ok(pruned)
    }

    /// Runs `prune` until it returns less than a full batch; returns the total.
    async fn batches<F, Fut>(&self, stop: &CancellationToken, prune: F) -> Result<u64, StoreError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<u64, StoreError>>,
    {
        let mut total = 0;
        while !stop.is_cancelled() {
            let n = prune().await?;
            total += n;
            if n < u64::from(self.batch) {
                break;
            }
            // Let whatever waits for the store (a group commit) go before the next batch.
            tokio::task::yield_now().await;
        }
        Ok(total)
    }

    /// Prunes now, then every `every`, until `stop`. A failed pass is logged and retried at
    /// the next tick (the store may be down for a while; nothing is lost by waiting).
    pub(crate) async fn run(self, every: Duration, stop: CancellationToken) {
        loop {
            match self.pass(&stop).await {
                Ok(p) => {
                    metrics::counter!(metric_names::RETENTION_PRUNED_TOTAL, "kind" => "payloads")
                        .increment(p.payloads);
                    metrics::counter!(metric_names::RETENTION_PRUNED_TOTAL, "kind" => "events")
                        .increment(p.events);
                    if p == Pruned::default() {
                        tracing::debug!("retention: nothing to prune");
                    } else {
                        tracing::info!(
                            payloads = p.payloads,
                            events = p.events,
                            "retention: pruned old webhook payloads and events"
                        );
                    }
                }
                Err(e) => tracing::warn!(error = %e, "retention: pruning failed; retrying later"),
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    }
}

/// Starts retention for `apiops serve` as configured (`None` when everything is kept forever);
/// the task ends with `stop`.
pub fn spawn(
    settings: &RetentionConfig,
    store: Arc<dyn Store>,
    stop: CancellationToken,
) -> Option<JoinHandle<()>> {
    let r = Retention::new(settings, store, Arc::new(Timestamp::now))?;
    tracing::debug!(?r, "retention: started");
    Some(tokio::spawn(r.run(EVERY, stop)))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use apiops_core::{ActionTaken, Category, ErrorEvent, EventResult, Service, Severity};
    use apiops_store::{EventFilter, InboxEvent, Source};

    use super::*;

    const DAY: Duration = Duration::from_secs(24 * 3600);

    fn settings(payloads: Duration, events: Duration, batch: u32) -> RetentionConfig {
        RetentionConfig {
            payloads,
            events,
            batch: NonZeroU32::new(batch).expect("batch"),
        }
    }

    fn t(s: &str) -> Timestamp {
        s.parse().expect("time")
    }

    /// A clock the test moves.
    fn clock(at: &str) -> (Clock, Arc<Mutex<Timestamp>>) {
        let now = Arc::new(Mutex::new(t(at)));
        let read = Arc::clone(&now);
        (Arc::new(move || *read.lock().expect("clock")), now)
    }

    /// A store with `n` processed webhooks received at `received`, one unprocessed one received
    /// at the same time, and `n` events at `received`.
    async fn store_with(n: usize, received: &str) -> Arc<dyn Store> {
        let store: Arc<dyn Store> =
            Arc::from(apiops_store::open("sqlite::memory:").await.expect("open"));
        let inbox = |key: String| InboxEvent {
            service: Service::Stripe,
            dedup_key: key.clone(),
            event_type: "charge.failed".into(),
            source: Source::Webhook,
            received_at: t(received),
            payload: format!("{{\"id\":\"{key}\",\"email\":\"someone@example.com\"}}"),
        };
        let rows: Vec<InboxEvent> = (0..n).map(|i| inbox(format!("evt_{i}"))).collect();
        store.inbox_append(&rows).await.expect("append");
        apiops_store::test_support::process_all(&*store, 10_000, t(received)).await;
        store
            .inbox_append(&[inbox("evt_open".into())])
            .await
            .expect("append");
        let events: Vec<ErrorEvent> = (0..n)
            .map(|i| ErrorEvent {
                timestamp: t(received),
                service: Service::Stripe,
                error_code: "card_declined".into(),
                category: Category::Carrier,
                severity: Severity::Warning,
                resource_type: "charge".into(),
                resource_id: format!("ch_{i}"),
                context: String::new(),
                action_taken: ActionTaken::None,
                result: EventResult::Failed,
            })
            .collect();
        store.append_events(&events).await.expect("events");
        store
    }

    #[tokio::test]
    async fn a_pass_prunes_in_batches_what_the_clock_has_aged_out() {
        let store = store_with(7, "2026-01-01T00:00:00Z").await;
        let (clock, now) = clock("2026-01-15T00:00:00Z");
        let r = Retention::new(&settings(30 * DAY, 90 * DAY, 3), Arc::clone(&store), clock)
            .expect("on");
        let stop = CancellationToken::new();
        assert_eq!(
            r.pass(&stop).await.expect("pass"),
            Pruned::default(),
            "too recent"
        );

        // 40 days later: the payloads are old enough (7 rows, batches of 3: 3, 3, 1), the
        // events not yet.
        *now.lock().expect("clock") = t("2026-02-10T00:00:00Z");
        let p = r.pass(&stop).await.expect("pass");
        assert_eq!(
            p,
            Pruned {
                payloads: 7,
                events: 0
            }
        );
        assert_eq!(
            r.pass(&stop).await.expect("pass"),
            Pruned::default(),
            "nothing twice"
        );
        let open = store.inbox_unprocessed(10).await.expect("unprocessed");
        assert_eq!(open.len(), 1, "the unprocessed row is not touched");
        assert!(open[0].event.payload.contains("someone@example.com"));
        assert_eq!(
            store.inbox_count(None).await.expect("count"),
            8,
            "rows stay"
        );

        *now.lock().expect("clock") = t("2026-04-15T00:00:00Z");
        let p = r.pass(&stop).await.expect("pass");
        assert_eq!(
            p,
            Pruned {
                payloads: 0,
                events: 7
            }
        );
        assert!(
            store
                .events(&EventFilter::default())
                .await
                .expect("events")
                .is_empty()
        );
    }

    #[tokio::test]
    async fn zero_keeps_forever() {
        let store = store_with(3, "2000-01-01T00:00:00Z").await;
        let (clock, _) = clock("2026-01-01T00:00:00Z");
        assert!(
            Retention::new(
                &settings(Duration::ZERO, Duration::ZERO, 10),
                Arc::clone(&store),
                Arc::clone(&clock)
            )
            .is_none()
        );
        let r = Retention::new(
            &settings(Duration::ZERO, DAY, 10),
            Arc::clone(&store),
            Arc::clone(&clock),
        )
        .expect("events only");
        let p = r.pass(&CancellationToken::new()).await.expect("pass");
        assert_eq!(
            p,
            Pruned {
                payloads: 0,
                events: 3
            }
        );
        // A period reaching before the calendar's start keeps everything instead of failing.
        let ages = 20_000 * 365 * DAY;
        let r = Retention::new(&settings(ages, ages, 10), Arc::clone(&store), clock).expect("on");
        assert_eq!(
            r.pass(&CancellationToken::new()).await.expect("pass"),
            Pruned::default()
        );
    }

    #[tokio::test]
    async fn the_task_prunes_at_once_and_ends_with_the_stop_token() {
        let store = store_with(5, "2026-01-01T00:00:00Z").await;
        let (clock, _) = clock("2026-06-01T00:00:00Z");
        let r = Retention::new(&settings(DAY, DAY, 2), Arc::clone(&store), clock).expect("on");
        let stop = CancellationToken::new();
        let task = tokio::spawn(r.run(Duration::from_secs(3600), stop.clone()));
        // The first pass runs at start; wait for it through the store.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while store.event_count().await.expect("count") > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the first pass never ran"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("ends with the stop token")
            .expect("task");
    }
}
