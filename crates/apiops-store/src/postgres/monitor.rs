//! The monitor's alerts in PostgreSQL: observing one (fired, resolved or unchanged, two
//! instances serialized on the row lock) and listing them. The checks and job slots are shared
//! with SQLite (`crate::shared::monitor`).

use super::{PostgresStore, no_nul};
use crate::StoreError;
use crate::shared::monitor::alert_row;
pub(super) use crate::shared::monitor::{checks, claim_slot, record_check, slot_holders};

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
