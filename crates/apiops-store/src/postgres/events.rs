//! The event log in PostgreSQL: appending a batch in one statement (duplicates skipped),
//! reading events back through an [`EventFilter`], counting them, and pruning the oldest.
use std::collections::HashSet;

use apiops_core::ErrorEvent;
use jiff::Timestamp;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::{PostgresStore, no_nul};
use crate::{EventFilter, StoreError, dedup_key, parse_field};
pub(super) fn event_row(row: &PgRow) -> Result<ErrorEvent, StoreError> {
    let id: i64 = row.try_get("id")?;
    let text = |name: &str| -> Result<String, StoreError> { Ok(row.try_get::<String, _>(name)?) };
    Ok(ErrorEvent {
        timestamp: parse_field(id, "timestamp", &text("timestamp")?)?,
        service: crate::parse_service(id, &text("service")?)?,
        error_code: text("error_code")?,
        category: parse_field(id, "category", &text("category")?)?,
        severity: parse_field(id, "severity", &text("severity")?)?,
        resource_type: text("resource_type")?,
        resource_id: text("resource_id")?,
        context: text("context")?,
        action_taken: parse_field(id, "action_taken", &text("action_taken")?)?,
        result: parse_field(id, "result", &text("result")?)?,
    })
}

/// Inserts a batch of events (arrays `$1`..`$12`, one element per event, no key twice;
/// `$13` the time recorded). Ids are taken from the sequence first, one per event, and given in
/// batch order (`row_number() OVER (ORDER BY id)`), so they ascend in arrival order; the rows are
/// then inserted in key order, so concurrent batches with overlapping keys wait for each other
/// in one order and cannot deadlock.
const INSERT_EVENTS: &str = "WITH ids AS (SELECT nextval(pg_get_serial_sequence('events', 'id')) AS id FROM generate_series(1, cardinality($1::text[]))), \
     numbered AS (SELECT id, row_number() OVER (ORDER BY id) AS ord FROM ids) \
     INSERT INTO events (id, dedup_key, ts_unix, \"timestamp\", service, error_code, category, severity, resource_type, resource_id, context, action_taken, result, recorded_at) \
     SELECT n.id, u.k, u.t, u.ts, u.s, u.ec, u.c, u.sv, u.rt, u.ri, u.cx, u.a, u.r, $13::int8 \
     FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[]) \
     WITH ORDINALITY AS u(k, t, ts, s, ec, c, sv, rt, ri, cx, a, r, ord) \
     JOIN numbered n ON n.ord = u.ord \
     ORDER BY u.k \
     ON CONFLICT (dedup_key) DO NOTHING";

/// Inserts events in one statement on `conn`, skipping duplicates (stored ones and repeats
/// within `events`); returns how many were new.
pub(super) async fn insert_events(
    conn: &mut PgConnection,
    events: &[ErrorEvent],
) -> Result<u64, StoreError> {
    let mut seen = HashSet::with_capacity(events.len());
    let mut keys = Vec::with_capacity(events.len());
    let mut firsts = Vec::with_capacity(events.len());
    for e in events {
        let key = dedup_key(e);
        if seen.insert(key.clone()) {
            keys.push(key);
            firsts.push(e);
        }
    }
    if firsts.is_empty() {
        return Ok(0);
    }
    no_nul(
        "an event",
        keys.iter()
            .map(String::as_str)
            .chain(firsts.iter().flat_map(|e| {
                [
                    e.error_code.as_str(),
                    e.resource_type.as_str(),
                    e.resource_id.as_str(),
                    e.context.as_str(),
                ]
            })),
    )?;
    let column =
        |f: fn(&ErrorEvent) -> String| -> Vec<String> { firsts.iter().map(|e| f(e)).collect() };
    let r = sqlx::query(INSERT_EVENTS)
        .bind(keys)
        .bind(
            firsts
                .iter()
                .map(|e| e.timestamp.as_second())
                .collect::<Vec<i64>>(),
        )
        .bind(column(|e| e.timestamp.to_string()))
        .bind(column(|e| e.service.as_str().to_owned()))
        .bind(column(|e| e.error_code.clone()))
        .bind(column(|e| e.category.as_str().to_owned()))
        .bind(column(|e| e.severity.as_str().to_owned()))
        .bind(column(|e| e.resource_type.clone()))
        .bind(column(|e| e.resource_id.clone()))
        .bind(column(|e| e.context.clone()))
        .bind(column(|e| e.action_taken.as_str().to_owned()))
        .bind(column(|e| e.result.as_str().to_owned()))
        .bind(Timestamp::now().as_second())
        .execute(conn)
        .await?;
    Ok(r.rows_affected())
}

pub(super) async fn append_events(
    store: &PostgresStore,
    events: &[ErrorEvent],
) -> Result<u64, StoreError> {
    let mut conn = store.pool.acquire().await?;
    // One statement: atomic and durable on its own (autocommit).
    insert_events(&mut conn, events).await
}

pub(super) async fn events(
    store: &PostgresStore,
    filter: &EventFilter,
) -> Result<Vec<ErrorEvent>, StoreError> {
    let mut sql = String::from(
        "SELECT id, \"timestamp\", service, error_code, category, severity, resource_type, resource_id, context, action_taken, result FROM events WHERE ts_unix >= $1",
    );
    if !filter.services.is_empty() {
        sql.push_str(" AND service = ANY($3::text[])");
    }
    sql.push_str(" ORDER BY ts_unix DESC, id DESC LIMIT $2");
    let services: Vec<&str> = filter.services.iter().map(|s| s.as_str()).collect();
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(filter.since.map_or(i64::MIN, |t| t.as_second()))
        // LIMIT NULL is no limit.
        .bind(filter.limit.map(i64::from));
    if !services.is_empty() {
        q = q.bind(services);
    }
    let rows = q.fetch_all(&store.pool).await?;
    rows.iter().rev().map(event_row).collect()
}

pub(super) async fn event_count(store: &PostgresStore) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
        .fetch_one(&store.pool)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(super) async fn events_prune(
    store: &PostgresStore,
    before: Timestamp,
    limit: u32,
) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE ts_unix < $1 \
         ORDER BY ts_unix LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind(before.as_second())
    .bind(i64::from(limit))
    .execute(&store.pool)
    .await?
    .rows_affected())
}
