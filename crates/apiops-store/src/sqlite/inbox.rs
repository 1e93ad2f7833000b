//! The webhook inbox in SQLite: group-committed appends deduplicated by provider event id (the
//! keys kept in a small recent table the writer sweeps into an archive, see [`Sweep`]), the
//! count, and the processor's marks. The processor's reads, payload pruning and the pollers'
//! cursors are shared with PostgreSQL (`crate::shared::inbox`).

use apiops_core::{ErrorEvent, Service};
use jiff::Timestamp;
use sqlx::Row;

use super::SqliteStore;
use super::events::insert_events;
pub(super) use crate::shared::inbox::{
    cursor, inbox_prune_payloads, inbox_unprocessed, set_cursor,
};
use crate::shared::inbox::{firsts_of_batch, new_per_event};
use crate::{InboxEvent, StoreError};
/// The most inbox rows one `INSERT` carries (6 parameters each; SQLite allows 32766).
const INBOX_MAX_ROWS_PER_STATEMENT: usize = 512;

/// The inbox's dedup keys live in two tables (migration 0008): new keys go into the small
/// `inbox_keys_recent`, and the writer moves them into `inbox_keys` a slice of the key space at
/// a time, in key order ([`SWEEP_STEP`] keys per step, once the recent table holds more than
/// [`recent_cap`] keys), inside the commit that crossed the cap.
///
/// Why: provider ids are random. With one unique index over every key, each group commit
/// touched leaf pages all over an index that only grows, and every page touched is written to
/// the WAL and copied back by a checkpoint: storing a webhook cost more run after run as the
/// file grew (BENCHMARKS.md). The recent table stays small, so its pages repeat from commit to
/// commit; a sweep step writes each leaf of its slice of `inbox_keys` once for all the keys it
/// moves there, and a whole cycle through the key space writes each leaf about once per
/// [`recent_cap`] new keys. Keeping the cap a fixed share of the archive keeps that cost per
/// event flat as the archive grows.
#[derive(Debug, Default)]
pub(super) struct Sweep {
    /// Keys in `inbox_keys_recent`: counted when the store opens, then what this handle added
    /// and swept since (other handles on the same file keep their own count: each sweeps what
    /// it sees over the cap, so the table stays bounded whoever writes).
    pub(super) recent: u64,
    /// Keys in `inbox_keys`, likewise.
    pub(super) archived: u64,
    /// The last key the previous step moved: the next one starts after it (empty: from the
    /// start of the key space).
    pub(super) after: (String, String),
}

/// The fewest keys `inbox_keys_recent` holds before the sweep moves any.
pub(super) const RECENT_KEYS_MIN: u64 = 32_768;

/// How many keys `inbox_keys_recent` holds before the sweep moves some: at least
/// [`RECENT_KEYS_MIN`], and a sixteenth of the archive, so that each leaf of `inbox_keys` is
/// written about once per that many new keys however large the archive grows.
fn recent_cap(archived: u64) -> u64 {
    RECENT_KEYS_MIN.max(archived / 16)
}

/// Keys one sweep step moves into `inbox_keys` (the step's cost is one commit's spike: the
/// leaves of that slice of the archive).
pub(super) const SWEEP_STEP: u64 = 1_024;

/// One step of the [`Sweep`], inside the writer's transaction: moves the next
/// [`SWEEP_STEP`] recent keys after `after` (in key order, wrapping to the start of the key
/// space at its end) into `inbox_keys`.
async fn sweep_step(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    after: (String, String),
) -> Result<Swept, StoreError> {
    // The last key of this step's slice; none when fewer keys are left before the end.
    let last: Option<(String, String)> = sqlx::query_as(
        "SELECT service, dedup_key FROM inbox_keys_recent WHERE (service, dedup_key) > (?, ?) \
         ORDER BY service, dedup_key LIMIT 1 OFFSET ?",
    )
    .bind(&after.0)
    .bind(&after.1)
    .bind(i64::try_from(SWEEP_STEP - 1).unwrap_or(0))
    .fetch_optional(&mut **tx)
    .await?;
    let (upto, next) = match &last {
        Some(last) => ("AND (service, dedup_key) <= (?3, ?4)", last.clone()),
        None => ("", Default::default()),
    };
    let mut moved = [0u64; 2];
    for (i, statement) in [
        format!(
            "INSERT OR IGNORE INTO inbox_keys (service, dedup_key) SELECT service, dedup_key \
             FROM inbox_keys_recent WHERE (service, dedup_key) > (?1, ?2) {upto} \
             ORDER BY service, dedup_key"
        ),
        format!("DELETE FROM inbox_keys_recent WHERE (service, dedup_key) > (?1, ?2) {upto}"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(statement))
            .bind(&after.0)
            .bind(&after.1);
        if let Some(last) = &last {
            q = q.bind(&last.0).bind(&last.1);
        }
        moved[i] = q.execute(&mut **tx).await?.rows_affected();
    }
    Ok(Swept {
        archived: moved[0],
        removed: moved[1],
        after: next,
    })
}

/// What one sweep step did.
struct Swept {
    /// Keys added to `inbox_keys`.
    archived: u64,
    /// Keys removed from `inbox_keys_recent`.
    removed: u64,
    /// Where the next step starts.
    after: (String, String),
}

pub(super) async fn inbox_append(
    store: &SqliteStore,
    events: &[InboxEvent],
) -> Result<Vec<bool>, StoreError> {
    // Repeats inside the batch are settled here: the first is sent, later ones are
    // duplicates; whether the key was already stored then decides the first ones.
    let (first, batch) = firsts_of_batch(events);
    // IMMEDIATE: the keys are read, then written, in one transaction; taking the write
    // lock first keeps another handle on the same file from writing in between.
    let mut tx = store.writer.begin_with("BEGIN IMMEDIATE").await?;
    // Keys already swept into the archive (one statement per service and 500 keys).
    let mut archived = std::collections::HashSet::new();
    // Every service in the batch, configured APIs included (not only `Service::ALL`).
    let services: std::collections::BTreeSet<Service> = batch.iter().map(|e| e.service).collect();
    for service in &services {
        let keys: Vec<&str> = batch
            .iter()
            .filter(|e| e.service == *service)
            .map(|e| e.dedup_key.as_str())
            .collect();
        for chunk in keys.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
                "SELECT dedup_key FROM inbox_keys WHERE service = ? AND dedup_key IN ({marks})"
            )))
            .bind(service.as_str());
            for k in chunk {
                q = q.bind(*k);
            }
            for key in q.fetch_all(&mut *tx).await? {
                archived.insert((*service, key));
            }
        }
    }
    let candidates: Vec<&InboxEvent> = batch
        .into_iter()
        .filter(|e| !archived.contains(&(e.service, e.dedup_key.clone())))
        .collect();
    // The recent table settles the rest: what it reports as inserted is new.
    let mut fresh = std::collections::HashSet::with_capacity(candidates.len());
    for chunk in candidates.chunks(INBOX_MAX_ROWS_PER_STATEMENT) {
        let rows = vec!["(?, ?)"; chunk.len()].join(", ");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT OR IGNORE INTO inbox_keys_recent (service, dedup_key) VALUES {rows} RETURNING service, dedup_key"
        )));
        for e in chunk {
            q = q.bind(e.service.as_str()).bind(&e.dedup_key);
        }
        for row in q.fetch_all(&mut *tx).await? {
            let service: String = row.try_get("service")?;
            let key: String = row.try_get("dedup_key")?;
            fresh.insert((service, key));
        }
    }
    let new: Vec<&InboxEvent> = candidates
        .into_iter()
        .filter(|e| fresh.contains(&(e.service.as_str().to_owned(), e.dedup_key.clone())))
        .collect();
    // Multi-row inserts (about twice as fast as a row at a time for batches of hundreds),
    // in chunks of a power of two rows (at most 512), so a handful of statement shapes,
    // each prepared once per connection and cached, serve every batch size.
    let mut rest = new.as_slice();
    while !rest.is_empty() {
        let take = INBOX_MAX_ROWS_PER_STATEMENT.min(1 << rest.len().ilog2());
        let (chunk, after) = rest.split_at(take);
        rest = after;
        let rows = vec!["(?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO inbox (service, dedup_key, event_type, source, received_at, payload) VALUES {rows}"
        )));
        for e in chunk {
            q = q
                .bind(e.service.as_str())
                .bind(&e.dedup_key)
                .bind(&e.event_type)
                .bind(e.source.as_str())
                .bind(e.received_at.as_millisecond())
                .bind(&e.payload);
        }
        q.execute(&mut *tx).await?;
    }
    let step = {
        let mut sweep = store.sweep.lock().unwrap_or_else(|p| p.into_inner());
        sweep.recent += new.len() as u64;
        (sweep.recent > recent_cap(sweep.archived)).then(|| sweep.after.clone())
    };
    let swept = match step {
        Some(after) => Some(sweep_step(&mut tx, after).await?),
        None => None,
    };
    tx.commit().await?;
    if let Some(swept) = swept {
        let mut sweep = store.sweep.lock().unwrap_or_else(|p| p.into_inner());
        sweep.recent = sweep.recent.saturating_sub(swept.removed);
        sweep.archived += swept.archived;
        sweep.after = swept.after;
    }
    Ok(new_per_event(events, first, &fresh))
}

pub(super) async fn inbox_count(
    store: &SqliteStore,
    service: Option<Service>,
) -> Result<u64, StoreError> {
    // The key tables hold one row per inbox row, and are far narrower than the inbox.
    let n: i64 = match service {
        Some(s) => {
            sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM inbox_keys WHERE service = ?1) \
                 + (SELECT COUNT(*) FROM inbox_keys_recent WHERE service = ?1)",
            )
            .bind(s.as_str())
            .fetch_one(&store.pool)
            .await?
        }
        None => {
            sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM inbox_keys) \
                 + (SELECT COUNT(*) FROM inbox_keys_recent)",
            )
            .fetch_one(&store.pool)
            .await?
        }
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(super) async fn inbox_has(
    store: &SqliteStore,
    service: Service,
    dedup_key: &str,
) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM inbox_keys WHERE service = ?1 AND dedup_key = ?2) \
         OR EXISTS (SELECT 1 FROM inbox_keys_recent WHERE service = ?1 AND dedup_key = ?2)",
    )
    .bind(service.as_str())
    .bind(dedup_key)
    .fetch_one(&store.pool)
    .await?;
    Ok(n > 0)
}

pub(super) async fn inbox_processed(
    store: &SqliteStore,
    ids: &[i64],
    events: &[ErrorEvent],
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut tx = store.writer.begin().await?;
    insert_events(&mut tx, events).await?;
    // One statement per 500 ids, not one per row: the processor shares the single SQLite
    // writer with the receiver's group commits.
    for chunk in ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE inbox SET processed_at = ? WHERE id IN ({marks})"
        )))
        .bind(now.as_millisecond());
        for id in chunk {
            q = q.bind(id);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
