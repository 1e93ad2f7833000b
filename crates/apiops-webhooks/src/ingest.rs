//! Durable ingest with group commit: every request hands its event to one writer task and
//! waits; the writer takes everything queued at that moment (up to [`IngestConfig::max_batch`])
//! and commits it in one transaction, then answers each waiter with "new" or "duplicate".
//!
//! A request is answered 2xx only after its event is committed, so nothing acknowledged is
//! lost in a crash. The wait is bounded by one commit in progress plus one's own: under load
//! the batches grow by themselves (everything that arrived during a commit goes into the next),
//! so durability costs one fsync per batch instead of one per event. No timer delays a commit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use apiops_core::metric_names;
use apiops_store::{InboxEvent, Store};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;

/// Ingest tuning.
#[derive(Debug, Clone, Copy)]
pub struct IngestConfig {
    /// Most events in one transaction.
    pub max_batch: usize,
    /// Events waiting for the writer at most; beyond it submitters wait (backpressure).
    pub queue: usize,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_batch: 1_024,
            queue: 16_384,
        }
    }
}

/// Why an event was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// The writer has stopped (shutting down).
    #[error("the receiver is shutting down")]
    Closed,
    /// The transaction failed; nothing of the batch is stored.
    #[error("storing the event failed: {0}")]
    Store(String),
}

struct Pending {
    event: InboxEvent,
    done: oneshot::Sender<Result<bool, IngestError>>,
}

/// Counters of the writer.
#[derive(Debug, Default)]
pub struct IngestStats {
    /// Transactions committed.
    pub commits: AtomicU64,
    /// Events committed as new.
    pub stored: AtomicU64,
    /// Events found to be duplicates.
    pub duplicates: AtomicU64,
    /// Transactions that failed.
    pub failed_commits: AtomicU64,
    /// The largest batch committed.
    pub max_batch_seen: AtomicU64,
    /// When the commit in progress started (ms since the writer started, plus one); 0 when
    /// none is.
    commit_since: AtomicU64,
    /// When the last commit succeeded / failed (ms since the writer started, plus one); 0 never.
    last_ok: AtomicU64,
    last_failed: AtomicU64,
}

/// The store as the writer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreHealth {
    /// Commits succeed in time.
    Ok,
    /// A commit has been running longer than the commit timeout, or the queue is nearly full:
    /// why.
    Lagging(String),
    /// The last commit failed (and none succeeded since).
    Failing,
}

/// The submitting side; clone it freely. Dropping every clone stops the writer once it has
/// committed everything already submitted.
#[derive(Debug, Clone)]
pub struct Ingest {
    tx: mpsc::Sender<Pending>,
    stats: Arc<IngestStats>,
    /// The writer's start: the origin of the times in [`IngestStats`].
    epoch: std::time::Instant,
    queue: usize,
}

fn millis_since(epoch: std::time::Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("service", &self.event.service)
            .field("dedup_key", &self.event.dedup_key)
            .finish()
    }
}

impl Ingest {
    /// Starts the writer on `store`. `committed` is notified after every successful commit
    /// (the processor waits on it). Returns the submitter and the writer's task, which ends
    /// when every submitter is dropped and the queue is drained.
    pub fn start(
        store: Arc<dyn Store>,
        config: IngestConfig,
        committed: Arc<Notify>,
    ) -> (Ingest, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let stats = Arc::new(IngestStats::default());
        let epoch = std::time::Instant::now();
        let task = tokio::spawn(writer(
            store,
            rx,
            config.max_batch.max(1),
            Arc::clone(&stats),
            committed,
            epoch,
        ));
        (
            Ingest {
                tx,
                stats,
                epoch,
                queue: config.queue.max(1),
            },
            task,
        )
    }

    /// Why new events should be shed now rather than queued, if they should: a commit has run
    /// longer than `timeout`, or the queue is over nine tenths full.
    pub fn lagging(&self, timeout: std::time::Duration) -> Option<String> {
        let since = self.stats.commit_since.load(Ordering::Relaxed);
        if since != 0 {
            let running = millis_since(self.epoch).saturating_sub(since);
            if u128::from(running) > timeout.as_millis() {
                return Some(format!("a commit has been running for {} ms", running));
            }
        }
        let queued = self.queue - self.tx.capacity();
        if queued * 10 > self.queue * 9 {
            return Some(format!("{queued} events are waiting for the store"));
        }
        None
    }

    /// The store's health as the writer sees it, with `timeout` the commit timeout.
    pub fn health(&self, timeout: std::time::Duration) -> StoreHealth {
        if let Some(why) = self.lagging(timeout) {
            return StoreHealth::Lagging(why);
        }
        let ok = self.stats.last_ok.load(Ordering::Relaxed);
        let failed = self.stats.last_failed.load(Ordering::Relaxed);
        if failed > ok {
            StoreHealth::Failing
        } else {
            StoreHealth::Ok
        }
    }

    /// Stores `event` durably; `Ok(true)` when it was new, `Ok(false)` for a duplicate.
    pub async fn submit(&self, event: InboxEvent) -> Result<bool, IngestError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Pending { event, done })
            .await
            .map_err(|_| IngestError::Closed)?;
        wait.await.map_err(|_| IngestError::Closed)?
    }

    /// The writer's counters.
    pub fn stats(&self) -> &IngestStats {
        &self.stats
    }
}

async fn writer(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<Pending>,
    max_batch: usize,
    stats: Arc<IngestStats>,
    committed: Arc<Notify>,
    epoch: std::time::Instant,
) {
    let mut batch: Vec<Pending> = Vec::with_capacity(max_batch.min(4_096));
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        // Move the events out (no copy of the payloads); keep the waiters in the same order.
        let (events, waiters): (Vec<InboxEvent>, Vec<_>) =
            batch.drain(..).map(|p| (p.event, p.done)).unzip();
        let started = std::time::Instant::now();
        stats
            .commit_since
            .store(millis_since(epoch), Ordering::Relaxed);
        let appended = store.inbox_append(&events).await;
        stats.commit_since.store(0, Ordering::Relaxed);
        let outcome = if appended.is_ok() {
            &stats.last_ok
        } else {
            &stats.last_failed
        };
        outcome.store(millis_since(epoch), Ordering::Relaxed);
        metrics::histogram!(metric_names::STORE_COMMIT_DURATION_SECONDS)
            .record(started.elapsed().as_secs_f64());
        metrics::histogram!(metric_names::STORE_COMMIT_BATCH_SIZE).record(waiters.len() as f64);
        match appended {
            Ok(fresh) => {
                stats.commits.fetch_add(1, Ordering::Relaxed);
                stats
                    .max_batch_seen
                    .fetch_max(waiters.len() as u64, Ordering::Relaxed);
                committed.notify_one();
                for (done, new) in waiters
                    .into_iter()
                    .zip(fresh.into_iter().chain(std::iter::repeat(false)))
                {
                    if new {
                        stats.stored.fetch_add(1, Ordering::Relaxed);
                    } else {
                        stats.duplicates.fetch_add(1, Ordering::Relaxed);
                    }
                    let _ = done.send(Ok(new));
                }
            }
            Err(e) => {
                stats.failed_commits.fetch_add(1, Ordering::Relaxed);
                metrics::counter!(metric_names::STORE_COMMIT_FAILURES_TOTAL).increment(1);
                tracing::error!(error = %e, events = waiters.len(), "inbox commit failed");
                let reason = e.to_string();
                for done in waiters {
                    let _ = done.send(Err(IngestError::Store(reason.clone())));
                }
            }
        }
    }
}
