//! The monitor's tables in PostgreSQL: the checks it recorded, the slots instances claim so a
//! job runs once per slot, and the alerts it fires and resolves.

use jiff::Timestamp;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{PostgresStore, no_nul};
use crate::StoreError;
fn check_row(row: &PgRow) -> Result<crate::CheckRecord, StoreError> {
    let id: i64 = row.try_get("id")?;
    let service: Option<String> = row.try_get("service")?;
    Ok(crate::CheckRecord {
        job: row.try_get("job")?,
        service: service.map(|s| crate::parse_service(id, &s)).transpose()?,
        ran_at: crate::ms(id, row.try_get("ran_at")?)?,
        status: row.try_get("status")?,
        summary: row.try_get("summary")?,
        instance: row.try_get("instance")?,
    })
}

fn alert_row(row: &PgRow) -> Result<crate::AlertRecord, StoreError> {
    let service: Option<String> = row.try_get("service")?;
    let severity: String = row.try_get("severity")?;
    let resolved: Option<i64> = row.try_get("resolved_at")?;
    Ok(crate::AlertRecord {
        key: row.try_get("alert_key")?,
        rule: row.try_get("rule")?,
        service: service.map(|s| crate::parse_service(0, &s)).transpose()?,
        severity: crate::parse_field(0, "severity", &severity)?,
        message: row.try_get("message")?,
        firing: row.try_get("firing")?,
        fired_at: crate::ms(0, row.try_get("fired_at")?)?,
        resolved_at: resolved.map(|r| crate::ms(0, r)).transpose()?,
        updated_at: crate::ms(0, row.try_get("updated_at")?)?,
    })
}

pub(super) async fn record_check(
    store: &PostgresStore,
    c: &crate::CheckRecord,
) -> Result<(), StoreError> {
    no_nul(
        "a check",
        [
            c.job.as_str(),
            c.status.as_str(),
            c.summary.as_str(),
            c.instance.as_str(),
        ],
    )?;
    sqlx::query(
        "INSERT INTO checks (job, service, ran_at, status, summary, instance) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&c.job)
    .bind(c.service.map(|s| s.as_str()))
    .bind(c.ran_at.as_millisecond())
    .bind(&c.status)
    .bind(&c.summary)
    .bind(&c.instance)
    .execute(&store.pool)
    .await?;
    Ok(())
}

pub(super) async fn checks(
    store: &PostgresStore,
    job: Option<&str>,
    since: Timestamp,
    limit: u32,
) -> Result<Vec<crate::CheckRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, job, service, ran_at, status, summary, instance FROM checks WHERE ($1::TEXT IS NULL OR job = $1) AND ran_at >= $2 ORDER BY ran_at DESC, id DESC LIMIT $3",
    )
    .bind(job)
    .bind(since.as_millisecond())
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await?;
    rows.iter().map(check_row).collect()
}

pub(super) async fn claim_slot(
    store: &PostgresStore,
    job: &str,
    slot: i64,
    holder: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    no_nul("a job claim", [job, holder])?;
    let r = sqlx::query(
        "INSERT INTO job_slots (job, slot, holder, claimed_at) VALUES ($1, $2, $3, $4) ON CONFLICT (job, slot) DO NOTHING",
    )
    .bind(job)
    .bind(slot)
    .bind(holder)
    .bind(now.as_millisecond())
    .execute(&store.pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub(super) async fn slot_holders(
    store: &PostgresStore,
    job: &str,
    since_slot: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    let rows = sqlx::query(
        "SELECT slot, holder FROM job_slots WHERE job = $1 AND slot >= $2 ORDER BY slot",
    )
    .bind(job)
    .bind(since_slot)
    .fetch_all(&store.pool)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("slot")?, r.try_get("holder")?)))
        .collect()
}

pub(super) async fn alert_observe(
    store: &PostgresStore,
    a: &crate::AlertRecord,
) -> Result<crate::AlertChange, StoreError> {
    no_nul(
        "an alert",
        [a.key.as_str(), a.rule.as_str(), a.message.as_str()],
    )?;
    let mut tx = store.pool.begin().await?;
    // A firing observation first makes sure a row exists (quiet), then locks it: two
    // instances observing at once serialize on the row lock, and only one sees the change.
    if a.firing {
        sqlx::query(
            "INSERT INTO alerts (alert_key, rule, service, severity, message, firing, fired_at, resolved_at, updated_at) VALUES ($1, $2, $3, $4, $5, FALSE, $6, NULL, $7) ON CONFLICT (alert_key) DO NOTHING",
        )
        .bind(&a.key)
        .bind(&a.rule)
        .bind(a.service.map(|s| s.as_str()))
        .bind(a.severity.as_str())
        .bind(&a.message)
        .bind(a.fired_at.as_millisecond())
        .bind(a.updated_at.as_millisecond())
        .execute(&mut *tx)
        .await?;
    }
    let stored: Option<(bool, Option<i64>)> =
        sqlx::query_as("SELECT firing, resolved_at FROM alerts WHERE alert_key = $1 FOR UPDATE")
            .bind(&a.key)
            .fetch_optional(&mut *tx)
            .await?;
    // A row just inserted as a placeholder (quiet, never resolved) counts as never stored.
    let state = stored.and_then(|(firing, resolved)| {
        if !firing && resolved.is_none() {
            None
        } else {
            Some(firing)
        }
    });
    let (change, write) = crate::alert_decision(state, a.firing);
    if write {
        sqlx::query(
            "UPDATE alerts SET rule = $2, service = $3, severity = $4, message = $5, firing = $6, \
             fired_at = CASE WHEN $7 THEN $8 ELSE fired_at END, \
             resolved_at = CASE WHEN $9 THEN $10 WHEN $6 THEN NULL ELSE resolved_at END, \
             updated_at = $10 WHERE alert_key = $1",
        )
        .bind(&a.key)
        .bind(&a.rule)
        .bind(a.service.map(|s| s.as_str()))
        .bind(a.severity.as_str())
        .bind(&a.message)
        .bind(a.firing)
        .bind(change == crate::AlertChange::Fired)
        .bind(a.fired_at.as_millisecond())
        .bind(change == crate::AlertChange::Resolved)
        .bind(a.updated_at.as_millisecond())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(change)
}

pub(super) async fn alerts(
    store: &PostgresStore,
    firing_only: bool,
    limit: u32,
) -> Result<Vec<crate::AlertRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT alert_key, rule, service, severity, message, firing, fired_at, resolved_at, updated_at FROM alerts WHERE (NOT $1 OR firing) AND (firing OR resolved_at IS NOT NULL) ORDER BY updated_at DESC LIMIT $2",
    )
    .bind(firing_only)
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await?;
    rows.iter().map(alert_row).collect()
}
