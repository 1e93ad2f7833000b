//! The monitor's alerts in SQLite: observing one (fired, resolved or unchanged) and listing
//! them. The checks and job slots are shared with PostgreSQL (`crate::shared::monitor`).

use super::SqliteStore;
use crate::shared::monitor::alert_row;
pub(super) use crate::shared::monitor::{checks, claim_slot, record_check, slot_holders};
use crate::{AlertChange, AlertRecord, StoreError, alert_decision};

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
