//! The operations journal in SQLite: plans under their key, the state of each step, the lease
//! one instance holds while it executes a plan, and finishing or forgetting a plan.

use apiops_core::ErrorEvent;
use jiff::Timestamp;
use sqlx::Row;

use super::SqliteStore;
use super::events::insert_events;
use crate::{
    JournalPlan, JournalStep, Lease, StepStatus, Store, StoreError, later_runs, ms, timestamp,
};
fn plan_row(row: &sqlx::sqlite::SqliteRow) -> Result<JournalPlan, StoreError> {
    let created: i64 = row.try_get("created_at")?;
    let finished: Option<i64> = row.try_get("finished_at")?;
    Ok(JournalPlan {
        key: row.try_get("plan_key")?,
        plan_json: row.try_get("plan_json")?,
        created_at: timestamp(0, created)?,
        finished_at: finished.map(|f| timestamp(0, f)).transpose()?,
    })
}

pub(super) async fn journal_plan(
    store: &SqliteStore,
    key: &str,
    plan_json: &str,
    now: Timestamp,
) -> Result<JournalPlan, StoreError> {
    sqlx::query(
        "INSERT OR IGNORE INTO journal_plans (plan_key, plan_json, created_at) VALUES (?, ?, ?)",
    )
    .bind(key)
    .bind(plan_json)
    .bind(now.as_second())
    .execute(&store.writer)
    .await?;
    store
        .journaled_plan(key)
        .await?
        .ok_or_else(|| StoreError::Database(format!("journaled plan {key} vanished")))
}

pub(super) async fn journaled_plan(
    store: &SqliteStore,
    key: &str,
) -> Result<Option<JournalPlan>, StoreError> {
    let row = sqlx::query(
        "SELECT plan_key, plan_json, created_at, finished_at FROM journal_plans WHERE plan_key = ?",
    )
    .bind(key)
    .fetch_optional(&store.pool)
    .await?;
    row.as_ref().map(plan_row).transpose()
}

pub(super) async fn journal_steps(
    store: &SqliteStore,
    key: &str,
) -> Result<Vec<JournalStep>, StoreError> {
    let rows = sqlx::query(
        "SELECT step, status, detail, updated_at FROM journal_steps WHERE plan_key = ? ORDER BY step",
    )
    .bind(key)
    .fetch_all(&store.pool)
    .await?;
    rows.iter()
        .map(|row| {
            let step: i64 = row.try_get("step")?;
            let status: String = row.try_get("status")?;
            let updated: i64 = row.try_get("updated_at")?;
            Ok(JournalStep {
                step: u32::try_from(step).map_err(|_| StoreError::Corrupt {
                    id: step,
                    reason: "step index".into(),
                })?,
                status: StepStatus::parse(&status).ok_or_else(|| StoreError::Corrupt {
                    id: step,
                    reason: format!("step status {status:?}"),
                })?,
                detail: row.try_get("detail")?,
                updated_at: timestamp(step, updated)?,
            })
        })
        .collect()
}

pub(super) async fn journal_step(
    store: &SqliteStore,
    key: &str,
    step: u32,
    status: StepStatus,
    detail: &str,
    events: &[ErrorEvent],
    now: Timestamp,
) -> Result<u64, StoreError> {
    let mut tx = store.writer.begin().await?;
    sqlx::query(
        "INSERT INTO journal_steps (plan_key, step, status, detail, updated_at) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (plan_key, step) DO UPDATE SET status = excluded.status, detail = excluded.detail, updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(i64::from(step))
    .bind(status.as_str())
    .bind(detail)
    .bind(now.as_second())
    .execute(&mut *tx)
    .await?;
    let inserted = insert_events(&mut tx, events).await?;
    tx.commit().await?;
    Ok(inserted)
}

pub(super) async fn journal_latest(
    store: &SqliteStore,
    base: &str,
) -> Result<Option<JournalPlan>, StoreError> {
    let (from, to) = later_runs(base);
    let row = sqlx::query(
        "SELECT plan_key, plan_json, created_at, finished_at FROM journal_plans \
         WHERE plan_key = ? OR (plan_key > ? AND plan_key < ?) ORDER BY plan_key DESC LIMIT 1",
    )
    .bind(base)
    .bind(from)
    .bind(to)
    .fetch_optional(&store.pool)
    .await?;
    row.as_ref().map(plan_row).transpose()
}

pub(super) async fn journal_lease(
    store: &SqliteStore,
    key: &str,
    holder: &str,
    now: Timestamp,
    until: Timestamp,
) -> Result<Result<(), Lease>, StoreError> {
    let mut tx = store.writer.begin().await?;
    let taken = sqlx::query(
        "INSERT INTO journal_leases (plan_key, holder, expires_at) VALUES (?, ?, ?) \
         ON CONFLICT (plan_key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
         WHERE journal_leases.holder = excluded.holder OR journal_leases.expires_at < ?",
    )
    .bind(key)
    .bind(holder)
    .bind(until.as_millisecond())
    .bind(now.as_millisecond())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let current = if taken == 0 {
        let (holder, expires): (String, i64) =
            sqlx::query_as("SELECT holder, expires_at FROM journal_leases WHERE plan_key = ?")
                .bind(key)
                .fetch_one(&mut *tx)
                .await?;
        Some(Lease {
            holder,
            expires_at: ms(0, expires)?,
        })
    } else {
        None
    };
    tx.commit().await?;
    Ok(current.map_or(Ok(()), Err))
}

pub(super) async fn journal_lease_steal(
    store: &SqliteStore,
    key: &str,
    from: &str,
    to: &str,
    until: Timestamp,
) -> Result<bool, StoreError> {
    let n = sqlx::query(
        "UPDATE journal_leases SET holder = ?, expires_at = ? WHERE plan_key = ? AND holder = ?",
    )
    .bind(to)
    .bind(until.as_millisecond())
    .bind(key)
    .bind(from)
    .execute(&store.writer)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub(super) async fn journal_release(
    store: &SqliteStore,
    key: &str,
    holder: &str,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM journal_leases WHERE plan_key = ? AND holder = ?")
        .bind(key)
        .bind(holder)
        .execute(&store.writer)
        .await?;
    Ok(())
}

pub(super) async fn journal_finish(
    store: &SqliteStore,
    key: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE journal_plans SET finished_at = ? WHERE plan_key = ?")
        .bind(now.as_second())
        .bind(key)
        .execute(&store.writer)
        .await?;
    Ok(())
}

pub(super) async fn journal_forget(store: &SqliteStore, key: &str) -> Result<(), StoreError> {
    let mut tx = store.writer.begin().await?;
    sqlx::query("DELETE FROM journal_steps WHERE plan_key = ?")
        .bind(key)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM journal_plans WHERE plan_key = ?")
        .bind(key)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
