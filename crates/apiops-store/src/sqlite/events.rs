//! The event log in SQLite: appending events (duplicates skipped), reading them back through an
//! [`EventFilter`], counting them, and pruning the oldest.

use apiops_core::ErrorEvent;
use jiff::Timestamp;
use sqlx::Row;

use super::SqliteStore;
use crate::{EventFilter, StoreError, dedup_key, parse_field as parse};
/// Inserts events inside `tx`, skipping duplicates; returns how many were new.
pub(super) async fn insert_events(
    conn: &mut sqlx::SqliteConnection,
    events: &[ErrorEvent],
) -> Result<u64, StoreError> {
    let now = jiff::Timestamp::now().as_second();
    let mut inserted = 0;
    for e in events {
        let r = sqlx::query(
            "INSERT OR IGNORE INTO events (dedup_key, ts_unix, timestamp, service, error_code, category, severity, resource_type, resource_id, context, action_taken, result, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(dedup_key(e))
        .bind(e.timestamp.as_second())
        .bind(e.timestamp.to_string())
        .bind(e.service.as_str())
        .bind(&e.error_code)
        .bind(e.category.as_str())
        .bind(e.severity.as_str())
        .bind(&e.resource_type)
        .bind(&e.resource_id)
        .bind(&e.context)
        .bind(e.action_taken.as_str())
        .bind(e.result.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await?;
        inserted += r.rows_affected();
    }
    Ok(inserted)
}

pub(super) async fn append_events(
    store: &SqliteStore,
    events: &[ErrorEvent],
) -> Result<u64, StoreError> {
    let mut tx = store.writer.begin().await?;
    let inserted = insert_events(&mut tx, events).await?;
    tx.commit().await?;
    Ok(inserted)
}

pub(super) async fn events(
    store: &SqliteStore,
    filter: &EventFilter,
) -> Result<Vec<ErrorEvent>, StoreError> {
    let mut sql = String::from(
        "SELECT id, timestamp, service, error_code, category, severity, resource_type, resource_id, context, action_taken, result FROM events WHERE ts_unix >= ?",
    );
    if !filter.services.is_empty() {
        let marks = vec!["?"; filter.services.len()].join(", ");
        sql.push_str(&format!(" AND service IN ({marks})"));
    }
    sql.push_str(" ORDER BY ts_unix DESC, id DESC");
    if filter.limit.is_some() {
        sql.push_str(" LIMIT ?");
    }
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(filter.since.map_or(i64::MIN, |t| t.as_second()));
    for s in &filter.services {
        q = q.bind(s.as_str());
    }
    if let Some(limit) = filter.limit {
        q = q.bind(i64::from(limit));
    }
    let rows = q.fetch_all(&store.pool).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows.into_iter().rev() {
        let id: i64 = row.try_get("id")?;
        let text =
            |name: &str| -> Result<String, StoreError> { Ok(row.try_get::<String, _>(name)?) };
        out.push(ErrorEvent {
            timestamp: parse(id, "timestamp", &text("timestamp")?)?,
            service: crate::parse_service(id, &text("service")?)?,
            error_code: text("error_code")?,
            category: parse(id, "category", &text("category")?)?,
            severity: parse(id, "severity", &text("severity")?)?,
            resource_type: text("resource_type")?,
            resource_id: text("resource_id")?,
            context: text("context")?,
            action_taken: parse(id, "action_taken", &text("action_taken")?)?,
            result: parse(id, "result", &text("result")?)?,
        });
    }
    Ok(out)
}

pub(super) async fn event_count(store: &SqliteStore) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
        .fetch_one(&store.pool)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(super) async fn events_prune(
    store: &SqliteStore,
    before: Timestamp,
    limit: u32,
) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE ts_unix < ? \
         ORDER BY ts_unix LIMIT ?)",
    )
    .bind(before.as_second())
    .bind(i64::from(limit))
    .execute(&store.writer)
    .await?
    .rows_affected())
}
