//! The webhook inbox in PostgreSQL: group-committed appends in one statement, deduplicated by
//! provider event id, counting, and the processor's marks. The processor's reads, payload
//! pruning and the pollers' cursors are shared with SQLite (`crate::shared::inbox`).
use std::collections::HashSet;

use apiops_core::{ErrorEvent, Service};
use jiff::Timestamp;
use sqlx::Row;

use super::events::insert_events;
use super::{PostgresStore, no_nul};
pub(super) use crate::shared::inbox::{
    cursor, inbox_prune_payloads, inbox_unprocessed, set_cursor,
};
use crate::shared::inbox::{firsts_of_batch, new_per_event};
use crate::{InboxEvent, StoreError};

/// Inserts a batch of inbox events (arrays `$1`..`$6`, one element per event, no identity
/// twice) and returns the identities of those that were new. Ids and insertion order as in
/// [`INSERT_EVENTS`]: ids ascend in batch order, rows go in in identity order (no deadlock
/// between concurrent group commits with overlapping events).
const INSERT_INBOX: &str = "WITH ids AS (SELECT nextval(pg_get_serial_sequence('inbox', 'id')) AS id FROM generate_series(1, cardinality($1::text[]))), \
     numbered AS (SELECT id, row_number() OVER (ORDER BY id) AS ord FROM ids) \
     INSERT INTO inbox (id, service, dedup_key, event_type, source, received_at, payload) \
     SELECT n.id, u.s, u.k, u.et, u.src, u.ra, u.p \
     FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[]) \
     WITH ORDINALITY AS u(s, k, et, src, ra, p, ord) \
     JOIN numbered n ON n.ord = u.ord \
     ORDER BY u.s, u.k \
     ON CONFLICT (service, dedup_key) DO NOTHING \
     RETURNING service, dedup_key";

pub(super) async fn inbox_append(
    store: &PostgresStore,
    events: &[InboxEvent],
) -> Result<Vec<bool>, StoreError> {
    // Repeats inside the batch are settled here: the first is sent, later ones are
    // duplicates. What the database reports as inserted then decides the first ones.
    let (first, batch) = firsts_of_batch(events);
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    no_nul(
        "an inbox event",
        batch.iter().flat_map(|e| {
            [
                e.dedup_key.as_str(),
                e.event_type.as_str(),
                e.payload.as_str(),
            ]
        }),
    )?;
    // One statement: atomic and durable on its own (autocommit).
    let rows = sqlx::query(INSERT_INBOX)
        .bind(batch.iter().map(|e| e.service.as_str()).collect::<Vec<_>>())
        .bind(
            batch
                .iter()
                .map(|e| e.dedup_key.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            batch
                .iter()
                .map(|e| e.event_type.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(batch.iter().map(|e| e.source.as_str()).collect::<Vec<_>>())
        .bind(
            batch
                .iter()
                .map(|e| e.received_at.as_millisecond())
                .collect::<Vec<i64>>(),
        )
        .bind(batch.iter().map(|e| e.payload.as_str()).collect::<Vec<_>>())
        .fetch_all(&store.pool)
        .await?;
    let mut inserted = HashSet::with_capacity(rows.len());
    for row in &rows {
        let service: String = row.try_get("service")?;
        let key: String = row.try_get("dedup_key")?;
        inserted.insert((service, key));
    }
    Ok(new_per_event(events, first, &inserted))
}

pub(super) async fn inbox_count(
    store: &PostgresStore,
    service: Option<Service>,
) -> Result<u64, StoreError> {
    let n: i64 = match service {
        Some(s) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE service = $1")
                .bind(s.as_str())
                .fetch_one(&store.pool)
                .await?
        }
        None => {
            sqlx::query_scalar("SELECT COUNT(*) FROM inbox")
                .fetch_one(&store.pool)
                .await?
        }
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(super) async fn inbox_has(
    store: &PostgresStore,
    service: Service,
    dedup_key: &str,
) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM inbox WHERE service = $1 AND dedup_key = $2)",
    )
    .bind(service.as_str())
    .bind(dedup_key)
    .fetch_one(&store.pool)
    .await?)
}

pub(super) async fn inbox_processed(
    store: &PostgresStore,
    ids: &[i64],
    events: &[ErrorEvent],
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut tx = store.pool.begin().await?;
    insert_events(&mut tx, events).await?;
    if !ids.is_empty() {
        sqlx::query("UPDATE inbox SET processed_at = $1 WHERE id = ANY($2::int8[])")
            .bind(now.as_millisecond())
            .bind(ids)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
