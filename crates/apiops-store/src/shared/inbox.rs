//! The webhook inbox, for both backends, where the SQL is the same: the processor's read of
//! unprocessed events, pruning processed payloads, and the pollers' cursors. Appending,
//! counting and marking events processed differ (PostgreSQL's one-statement batches, SQLite's
//! key tables) and stay in the backends.

use jiff::Timestamp;
use sqlx::{AssertSqlSafe, SqlSafeStr};

use super::{Backend, Cols, read_row, read_rows, write};
use crate::{InboxEvent, Source, StoreError, StoredInboxEvent};

/// The first event of each (service, key) in `events`: whether each event is the first of
/// its key in the batch, and those first events in order. Later repeats are duplicates
/// whatever the store holds.
pub(crate) fn firsts_of_batch(events: &[InboxEvent]) -> (Vec<bool>, Vec<&InboxEvent>) {
    let mut first = Vec::with_capacity(events.len());
    let mut seen = std::collections::HashSet::with_capacity(events.len());
    let mut batch = Vec::with_capacity(events.len());
    for e in events {
        let is_first = seen.insert((e.service, e.dedup_key.as_str()));
        first.push(is_first);
        if is_first {
            batch.push(e);
        }
    }
    (first, batch)
}

/// Whether each of `events` is new: the first of its key in the batch (`first`, from
/// [`firsts_of_batch`]) and among the (service, key) pairs the database `inserted`.
pub(crate) fn new_per_event(
    events: &[InboxEvent],
    first: Vec<bool>,
    inserted: &std::collections::HashSet<(String, String)>,
) -> Vec<bool> {
    events
        .iter()
        .zip(first)
        .map(|(e, is_first)| {
            is_first && inserted.contains(&(e.service.as_str().to_owned(), e.dedup_key.clone()))
        })
        .collect()
}

fn inbox_row(row: &impl Cols) -> Result<StoredInboxEvent, StoreError> {
    let id = row.int("id")?;
    let service = row.text("service")?;
    let source = row.text("source")?;
    let received = row.int("received_at")?;
    Ok(StoredInboxEvent {
        id,
        event: InboxEvent {
            service: crate::parse_service(id, &service)?,
            dedup_key: row.text("dedup_key")?,
            event_type: row.text("event_type")?,
            source: Source::parse(&source).ok_or_else(|| StoreError::Corrupt {
                id,
                reason: format!("source {source:?}"),
            })?,
            received_at: Timestamp::from_millisecond(received).map_err(|_| {
                StoreError::Corrupt {
                    id,
                    reason: format!("received_at {received}"),
                }
            })?,
            payload: row.text("payload")?,
        },
    })
}

pub(crate) async fn inbox_unprocessed<B: Backend>(
    store: &B,
    limit: u32,
) -> Result<Vec<StoredInboxEvent>, StoreError> {
    let rows = read_rows(
        store,
        "SELECT id, service, dedup_key, event_type, source, received_at, payload FROM inbox \
         WHERE processed_at IS NULL ORDER BY id LIMIT $1"
            .into_sql_str(),
        &[i64::from(limit).into()],
    )
    .await?;
    rows.iter().map(inbox_row).collect()
}

pub(crate) async fn inbox_prune_payloads<B: Backend>(
    store: &B,
    before: Timestamp,
    limit: u32,
) -> Result<u64, StoreError> {
    // The subquery repeats the partial index's condition word for word, so the database reads
    // `inbox_prunable` (only rows still to prune) instead of scanning the inbox. In
    // PostgreSQL, rows another instance is pruning at the same moment are skipped, not
    // waited for: it prunes them.
    let sql = format!(
        "UPDATE inbox SET payload = '' WHERE id IN (SELECT id FROM inbox \
         WHERE processed_at IS NOT NULL AND payload <> '' AND received_at < $1 \
         ORDER BY received_at LIMIT $2{skip})",
        skip = B::SKIP_LOCKED,
    );
    let args = [before.as_millisecond().into(), i64::from(limit).into()];
    write(store, AssertSqlSafe(sql).into_sql_str(), &args).await
}

pub(crate) async fn cursor<B: Backend>(
    store: &B,
    name: &str,
) -> Result<Option<String>, StoreError> {
    let sql = "SELECT value FROM cursors WHERE name = $1".into_sql_str();
    let row = read_row(store, sql, &[name.into()]).await?;
    row.map(|r| r.text("value")).transpose()
}

pub(crate) async fn set_cursor<B: Backend>(
    store: &B,
    name: &str,
    value: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    B::storable("a cursor", [name, value])?;
    write(
        store,
        "INSERT INTO cursors (name, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
            .into_sql_str(),
        &[name.into(), value.into(), now.as_second().into()],
    )
    .await?;
    Ok(())
}
