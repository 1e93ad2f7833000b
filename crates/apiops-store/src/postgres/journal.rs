//! The operations journal in PostgreSQL: plans under their key, the state of each step, the
//! lease one instance holds while it executes a plan, and finishing or forgetting a plan.

use apiops_core::ErrorEvent;
use jiff::Timestamp;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::events::insert_events;
use super::{PostgresStore, no_nul};
use crate::{
    JournalPlan, JournalStep, Lease, StepStatus, Store, StoreError, later_runs, timestamp,
};
fn plan_row(row: &PgRow) -> Result<JournalPlan, StoreError> {
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
    store: &PostgresStore,
    key: &str,
    plan_json: &str,
    now: Timestamp,
) -> Result<JournalPlan, StoreError> {
    no_nul("a journaled plan", [key, plan_json])?;
    // A concurrent first writer makes this insert wait for its commit and then do
    // nothing; the read that follows (a new snapshot) sees the winner's plan.
    sqlx::query(
        "INSERT INTO journal_plans (plan_key, plan_json, created_at) VALUES ($1, $2, $3) ON CONFLICT (plan_key) DO NOTHING",
    )
    .bind(key)
    .bind(plan_json)
    .bind(now.as_second())
    .execute(&store.pool)
    .await?;
    store
        .journaled_plan(key)
        .await?
        .ok_or_else(|| StoreError::Database(format!("journaled plan {key} vanished")))
}

pub(super) async fn journaled_plan(
    store: &PostgresStore,
    key: &str,
) -> Result<Option<JournalPlan>, StoreError> {
    let row = sqlx::query(
        "SELECT plan_key, plan_json, created_at, finished_at FROM journal_plans WHERE plan_key = $1",
    )
    .bind(key)
    .fetch_optional(&store.pool)
    .await?;
    row.as_ref().map(plan_row).transpose()
}

pub(super) async fn journal_steps(
    store: &PostgresStore,
    key: &str,
) -> Result<Vec<JournalStep>, StoreError> {
    let rows = sqlx::query(
        "SELECT step, status, detail, updated_at FROM journal_steps WHERE plan_key = $1 ORDER BY step",
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
    store: &PostgresStore,
    key: &str,
    step: u32,
    status: StepStatus,
    detail: &str,
    events: &[ErrorEvent],
    now: Timestamp,
) -> Result<u64, StoreError> {
    no_nul("a journaled step", [key, detail])?;
    let mut tx = store.pool.begin().await?;
    sqlx::query(
        "INSERT INTO journal_steps (plan_key, step, status, detail, updated_at) VALUES ($1, $2, $3, $4, $5) \
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
    store: &PostgresStore,
    base: &str,
) -> Result<Option<JournalPlan>, StoreError> {
    let (from, to) = later_runs(base);
    let row = sqlx::query(
        "SELECT plan_key, plan_json, created_at, finished_at FROM journal_plans \
         WHERE plan_key = $1 OR (plan_key COLLATE \"C\" > $2 AND plan_key COLLATE \"C\" < $3) \
         ORDER BY plan_key COLLATE \"C\" DESC LIMIT 1",
    )
    .bind(base)
    .bind(from)
    .bind(to)
    .fetch_optional(&store.pool)
    .await?;
    row.as_ref().map(plan_row).transpose()
}

pub(super) async fn journal_lease(
    store: &PostgresStore,
    key: &str,
    holder: &str,
    now: Timestamp,
    until: Timestamp,
) -> Result<Result<(), Lease>, StoreError> {
    no_nul("a lease", [key, holder])?;
    let mut tx = store.pool.begin().await?;
    // A conflicting row whose WHERE is false is locked, not updated: the read below, in the
    // same transaction, sees the holder that kept it.
    let taken = sqlx::query(
        "INSERT INTO journal_leases (plan_key, holder, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (plan_key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
         WHERE journal_leases.holder = excluded.holder OR journal_leases.expires_at < $4",
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
            sqlx::query_as("SELECT holder, expires_at FROM journal_leases WHERE plan_key = $1")
                .bind(key)
                .fetch_one(&mut *tx)
                .await?;
        Some(Lease {
            holder,
            expires_at: crate::ms(0, expires)?,
        })
    } else {
        None
    };
    tx.commit().await?;
    Ok(current.map_or(Ok(()), Err))
}

pub(super) async fn journal_lease_steal(
    store: &PostgresStore,
    key: &str,
    from: &str,
    to: &str,
    until: Timestamp,
) -> Result<bool, StoreError> {
    no_nul("a lease", [key, from, to])?;
    let n = sqlx::query(
        "UPDATE journal_leases SET holder = $1, expires_at = $2 WHERE plan_key = $3 AND holder = $4",
    )
    .bind(to)
    .bind(until.as_millisecond())
    .bind(key)
    .bind(from)
    .execute(&store.pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub(super) async fn journal_release(
    store: &PostgresStore,
    key: &str,
    holder: &str,
) -> Result<(), StoreError> {
    no_nul("a lease", [key, holder])?;
    sqlx::query("DELETE FROM journal_leases WHERE plan_key = $1 AND holder = $2")
        .bind(key)
        .bind(holder)
        .execute(&store.pool)
        .await?;
    Ok(())
}

pub(super) async fn journal_finish(
    store: &PostgresStore,
    key: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE journal_plans SET finished_at = $1 WHERE plan_key = $2")
        .bind(now.as_second())
        .bind(key)
        .execute(&store.pool)
        .await?;
    Ok(())
}

pub(super) async fn journal_forget(store: &PostgresStore, key: &str) -> Result<(), StoreError> {
    let mut tx = store.pool.begin().await?;
    sqlx::query("DELETE FROM journal_steps WHERE plan_key = $1")
        .bind(key)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM journal_plans WHERE plan_key = $1")
        .bind(key)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
