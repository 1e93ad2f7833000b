//! The monitor's tables in SQLite: the checks it recorded, the slots instances claim so a job
//! runs once per slot, and the alerts it fires and resolves.

use jiff::Timestamp;
use sqlx::Row;

use super::SqliteStore;
use crate::{
    AlertChange, AlertRecord, CheckRecord, StoreError, alert_decision, ms, parse_field as parse,
};
fn check_row(row: &sqlx::sqlite::SqliteRow) -> Result<CheckRecord, StoreError> {
    let id: i64 = row.try_get("id")?;
    let service: Option<String> = row.try_get("service")?;
    Ok(CheckRecord {
        job: row.try_get("job")?,
        service: service.map(|s| crate::parse_service(id, &s)).transpose()?,
        ran_at: ms(id, row.try_get("ran_at")?)?,
        status: row.try_get("status")?,
        summary: row.try_get("summary")?,
        instance: row.try_get("instance")?,
    })
}

fn alert_row(row: &sqlx::sqlite::SqliteRow) -> Result<AlertRecord, StoreError> {
    let service: Option<String> = row.try_get("service")?;
    let severity: String = row.try_get("severity")?;
    let resolved: Option<i64> = row.try_get("resolved_at")?;
    Ok(AlertRecord {
        key: row.try_get("alert_key")?,
        rule: row.try_get("rule")?,
        service: service.map(|s| crate::parse_service(0, &s)).transpose()?,
        severity: parse(0, "severity", &severity)?,
        message: row.try_get("message")?,
        firing: row.try_get("firing")?,
        fired_at: ms(0, row.try_get("fired_at")?)?,
        resolved_at: resolved.map(|r| ms(0, r)).transpose()?,
        updated_at: ms(0, row.try_get("updated_at")?)?,
    })
}

pub(super) async fn record_check(store: &SqliteStore, c: &CheckRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO checks (job, service, ran_at, status, summary, instance) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&c.job)
    .bind(c.service.map(|s| s.as_str()))
    .bind(c.ran_at.as_millisecond())
    .bind(&c.status)
    .bind(&c.summary)
    .bind(&c.instance)
    .execute(&store.writer)
    .await?;
    Ok(())
}

pub(super) async fn checks(
    store: &SqliteStore,
    job: Option<&str>,
    since: Timestamp,
    limit: u32,
) -> Result<Vec<CheckRecord>, StoreError> {
    let rows = match job {
        Some(j) => {
            sqlx::query(
                "SELECT id, job, service, ran_at, status, summary, instance FROM checks WHERE job = ? AND ran_at >= ? ORDER BY ran_at DESC, id DESC LIMIT ?",
            )
            .bind(j)
            .bind(since.as_millisecond())
            .bind(i64::from(limit))
            .fetch_all(&store.pool)
            .await?
        }
        None => {
            sqlx::query(
                "SELECT id, job, service, ran_at, status, summary, instance FROM checks WHERE ran_at >= ? ORDER BY ran_at DESC, id DESC LIMIT ?",
            )
            .bind(since.as_millisecond())
            .bind(i64::from(limit))
            .fetch_all(&store.pool)
            .await?
        }
    };
    rows.iter().map(check_row).collect()
}

pub(super) async fn claim_slot(
    store: &SqliteStore,
    job: &str,
    slot: i64,
    holder: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let r = sqlx::query(
        "INSERT OR IGNORE INTO job_slots (job, slot, holder, claimed_at) VALUES (?, ?, ?, ?)",
    )
    .bind(job)
    .bind(slot)
    .bind(holder)
    .bind(now.as_millisecond())
    .execute(&store.writer)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub(super) async fn slot_holders(
    store: &SqliteStore,
    job: &str,
    since_slot: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    let rows =
        sqlx::query("SELECT slot, holder FROM job_slots WHERE job = ? AND slot >= ? ORDER BY slot")
            .bind(job)
            .bind(since_slot)
            .fetch_all(&store.pool)
            .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("slot")?, r.try_get("holder")?)))
        .collect()
}

pub(super) async fn alert_observe(
    store: &SqliteStore,
    a: &AlertRecord,
) -> Result<AlertChange, StoreError> {
    // IMMEDIATE: the write lock from the start, so two processes cannot both see "quiet".
    let mut tx = store.writer.begin_with("BEGIN IMMEDIATE").await?;
    let stored: Option<bool> = sqlx::query_scalar("SELECT firing FROM alerts WHERE alert_key = ?")
        .bind(&a.key)
        .fetch_optional(&mut *tx)
        .await?;
    let (change, write) = alert_decision(stored, a.firing);
    if write {
        let fired_at = a.fired_at.as_millisecond();
        let now = a.updated_at.as_millisecond();
        sqlx::query(
            "INSERT INTO alerts (alert_key, rule, service, severity, message, firing, fired_at, resolved_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?) \
             ON CONFLICT (alert_key) DO UPDATE SET rule = excluded.rule, service = excluded.service, severity = excluded.severity, message = excluded.message, firing = excluded.firing, \
             fired_at = CASE WHEN alerts.firing = 0 AND excluded.firing = 1 THEN excluded.fired_at ELSE alerts.fired_at END, \
             resolved_at = CASE WHEN alerts.firing = 1 AND excluded.firing = 0 THEN excluded.updated_at WHEN excluded.firing = 1 THEN NULL ELSE alerts.resolved_at END, \
             updated_at = excluded.updated_at",
        )
        .bind(&a.key)
        .bind(&a.rule)
        .bind(a.service.map(|s| s.as_str()))
        .bind(a.severity.as_str())
        .bind(&a.message)
        .bind(a.firing)
        .bind(fired_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(change)
}

pub(super) async fn alerts(
    store: &SqliteStore,
    firing_only: bool,
    limit: u32,
) -> Result<Vec<AlertRecord>, StoreError> {
    let sql = if firing_only {
        "SELECT alert_key, rule, service, severity, message, firing, fired_at, resolved_at, updated_at FROM alerts WHERE firing = 1 ORDER BY updated_at DESC LIMIT ?"
    } else {
        "SELECT alert_key, rule, service, severity, message, firing, fired_at, resolved_at, updated_at FROM alerts ORDER BY updated_at DESC LIMIT ?"
    };
    let rows = sqlx::query(sql)
        .bind(i64::from(limit))
        .fetch_all(&store.pool)
        .await?;
    rows.iter().map(alert_row).collect()
}
