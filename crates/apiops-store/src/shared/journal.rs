//! The operations journal, for both backends: plans under their key, the state of each step,
//! the lease one instance holds while it executes a plan, and finishing or forgetting a plan.

use apiops_core::ErrorEvent;
use jiff::Timestamp;

use sqlx::{AssertSqlSafe, SqlSafeStr};

use super::{Backend, Cols, Conn, read_row, read_rows, write};
use crate::{JournalPlan, JournalStep, Lease, StepStatus, StoreError, later_runs, ms, timestamp};

const PLAN_COLUMNS: &str = "plan_key, plan_json, created_at, finished_at";

fn plan_row(row: &impl Cols) -> Result<JournalPlan, StoreError> {
    Ok(JournalPlan {
        key: row.text("plan_key")?,
        plan_json: row.text("plan_json")?,
        created_at: timestamp(0, row.int("created_at")?)?,
        finished_at: row
            .opt_int("finished_at")?
            .map(|f| timestamp(0, f))
            .transpose()?,
    })
}

fn step_row(row: &impl Cols) -> Result<JournalStep, StoreError> {
    let step = row.int("step")?;
    let status = row.text("status")?;
    Ok(JournalStep {
        step: u32::try_from(step).map_err(|_| StoreError::Corrupt {
            id: step,
            reason: "step index".into(),
        })?,
        status: StepStatus::parse(&status).ok_or_else(|| StoreError::Corrupt {
            id: step,
            reason: format!("step status {status:?}"),
        })?,
        detail: row.text("detail")?,
        updated_at: timestamp(step, row.int("updated_at")?)?,
    })
}

pub(crate) async fn journal_plan<B: Backend>(
    store: &B,
    key: &str,
    plan_json: &str,
    now: Timestamp,
) -> Result<JournalPlan, StoreError> {
    B::storable("a journaled plan", [key, plan_json])?;
    // A concurrent first writer makes this insert wait for its commit and then do
    // nothing; the read that follows (a new snapshot) sees the winner's plan.
    write(
        store,
        "INSERT INTO journal_plans (plan_key, plan_json, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (plan_key) DO NOTHING"
            .into_sql_str(),
        &[key.into(), plan_json.into(), now.as_second().into()],
    )
    .await?;
    journaled_plan(store, key)
        .await?
        .ok_or_else(|| StoreError::Database(format!("journaled plan {key} vanished")))
}

pub(crate) async fn journaled_plan<B: Backend>(
    store: &B,
    key: &str,
) -> Result<Option<JournalPlan>, StoreError> {
    let sql = format!("SELECT {PLAN_COLUMNS} FROM journal_plans WHERE plan_key = $1");
    let row = read_row(store, AssertSqlSafe(sql).into_sql_str(), &[key.into()]).await?;
    row.as_ref().map(plan_row).transpose()
}

pub(crate) async fn journal_steps<B: Backend>(
    store: &B,
    key: &str,
) -> Result<Vec<JournalStep>, StoreError> {
    let rows = read_rows(store,
            "SELECT step, status, detail, updated_at FROM journal_steps WHERE plan_key = $1 ORDER BY step".into_sql_str(),
            &[key.into()],
        )
        .await?;
    rows.iter().map(step_row).collect()
}

pub(crate) async fn journal_step<B: Backend>(
    store: &B,
    key: &str,
    step: u32,
    status: StepStatus,
    detail: &str,
    events: &[ErrorEvent],
    now: Timestamp,
) -> Result<u64, StoreError> {
    B::storable("a journaled step", [key, detail])?;
    let mut tx = store.writer().begin().await?;
    tx.run(
        "INSERT INTO journal_steps (plan_key, step, status, detail, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (plan_key, step) DO UPDATE SET status = excluded.status, detail = excluded.detail, updated_at = excluded.updated_at".into_sql_str(),
        &[
            key.into(),
            i64::from(step).into(),
            status.as_str().into(),
            detail.into(),
            now.as_second().into(),
        ],
    )
    .await?;
    let inserted = B::insert_events(&mut tx, events).await?;
    tx.commit().await?;
    Ok(inserted)
}

pub(crate) async fn journal_latest<B: Backend>(
    store: &B,
    base: &str,
) -> Result<Option<JournalPlan>, StoreError> {
    let (from, to) = later_runs(base);
    let sql = format!(
        "SELECT {PLAN_COLUMNS} FROM journal_plans \
         WHERE plan_key = $1 OR (plan_key {bytes} > $2 AND plan_key {bytes} < $3) \
         ORDER BY plan_key {bytes} DESC LIMIT 1",
        bytes = B::BYTE_ORDER,
    );
    let row = read_row(
        store,
        AssertSqlSafe(sql).into_sql_str(),
        &[base.into(), from.as_str().into(), to.as_str().into()],
    )
    .await?;
    row.as_ref().map(plan_row).transpose()
}

pub(crate) async fn journal_lease<B: Backend>(
    store: &B,
    key: &str,
    holder: &str,
    now: Timestamp,
    until: Timestamp,
) -> Result<Result<(), Lease>, StoreError> {
    B::storable("a lease", [key, holder])?;
    let mut tx = store.writer().begin().await?;
    // In PostgreSQL a conflicting row whose WHERE is false is locked, not updated: the read
    // below, in the same transaction, sees the holder that kept it.
    let taken = tx
        .run(
            "INSERT INTO journal_leases (plan_key, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (plan_key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE journal_leases.holder = excluded.holder OR journal_leases.expires_at < $4".into_sql_str(),
            &[
                key.into(),
                holder.into(),
                until.as_millisecond().into(),
                now.as_millisecond().into(),
            ],
        )
        .await?;
    let current = if taken == 0 {
        let row = tx
            .row(
                "SELECT holder, expires_at FROM journal_leases WHERE plan_key = $1".into_sql_str(),
                &[key.into()],
            )
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        Some(Lease {
            holder: row.text("holder")?,
            expires_at: ms(0, row.int("expires_at")?)?,
        })
    } else {
        None
    };
    tx.commit().await?;
    Ok(current.map_or(Ok(()), Err))
}

pub(crate) async fn journal_lease_steal<B: Backend>(
    store: &B,
    key: &str,
    from: &str,
    to: &str,
    until: Timestamp,
) -> Result<bool, StoreError> {
    B::storable("a lease", [key, from, to])?;
    let n = write(store,
            "UPDATE journal_leases SET holder = $1, expires_at = $2 WHERE plan_key = $3 AND holder = $4".into_sql_str(),
            &[
                to.into(),
                until.as_millisecond().into(),
                key.into(),
                from.into(),
            ],
        )
        .await?;
    Ok(n == 1)
}

pub(crate) async fn journal_release<B: Backend>(
    store: &B,
    key: &str,
    holder: &str,
) -> Result<(), StoreError> {
    B::storable("a lease", [key, holder])?;
    write(
        store,
        "DELETE FROM journal_leases WHERE plan_key = $1 AND holder = $2".into_sql_str(),
        &[key.into(), holder.into()],
    )
    .await?;
    Ok(())
}

pub(crate) async fn journal_finish<B: Backend>(
    store: &B,
    key: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    write(
        store,
        "UPDATE journal_plans SET finished_at = $1 WHERE plan_key = $2".into_sql_str(),
        &[now.as_second().into(), key.into()],
    )
    .await?;
    Ok(())
}

pub(crate) async fn journal_forget<B: Backend>(store: &B, key: &str) -> Result<(), StoreError> {
    let mut tx = store.writer().begin().await?;
    for table in ["journal_steps", "journal_plans"] {
        let sql = format!("DELETE FROM {table} WHERE plan_key = $1");
        tx.run(AssertSqlSafe(sql).into_sql_str(), &[key.into()])
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
