//! The partial error scan in PostgreSQL: the one scan that could not read every window, kept with
//! its unread windows until `apiops errors --resume` completes it.

use super::{PostgresStore, no_nul};
use crate::{PartialScan, StoreError, UnreadWindowRow, ms, unread_window_from};

pub(super) async fn partial_scan_put(
    store: &PostgresStore,
    scan: &PartialScan,
) -> Result<(), StoreError> {
    no_nul("a partial scan", [scan.state.as_str()])?;
    for w in &scan.windows {
        no_nul("an unread window", [w.source.as_str(), &w.reason])?;
    }
    let mut tx = store.pool.begin().await?;
    // Two scans finishing at once: one replaces the other whole, never a mix of both.
    sqlx::query("LOCK TABLE partial_scans IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM unread_windows")
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM partial_scans")
        .execute(&mut *tx)
        .await?;
    if !scan.windows.is_empty() {
        sqlx::query("INSERT INTO partial_scans (id, recorded_at, state) VALUES (1, $1, $2)")
            .bind(scan.recorded_at.as_millisecond())
            .bind(&scan.state)
            .execute(&mut *tx)
            .await?;
        for (seq, w) in (0i64..).zip(&scan.windows) {
            sqlx::query(
                "INSERT INTO unread_windows (seq, service, source, from_at, to_at, reason) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(seq)
            .bind(w.service.as_str())
            .bind(&w.source)
            .bind(w.from.as_millisecond())
            .bind(w.to.as_millisecond())
            .bind(&w.reason)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn partial_scan(store: &PostgresStore) -> Result<Option<PartialScan>, StoreError> {
    // One transaction at REPEATABLE READ, so the scan and its windows are of the same write.
    let mut tx = store.pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .execute(&mut *tx)
        .await?;
    let Some((recorded_at, state)): Option<(i64, String)> =
        sqlx::query_as("SELECT recorded_at, state FROM partial_scans WHERE id = 1")
            .fetch_optional(&mut *tx)
            .await?
    else {
        return Ok(None);
    };
    let rows: Vec<(i64, String, String, i64, i64, String)> = sqlx::query_as(
        "SELECT seq, service, source, from_at, to_at, reason FROM unread_windows ORDER BY seq",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let windows = rows
        .into_iter()
        .map(|(seq, service, source, from, to, reason)| {
            let row: UnreadWindowRow = (service, source, from, to, reason);
            unread_window_from(seq, row)
        })
        .collect::<Result<_, _>>()?;
    Ok(Some(PartialScan {
        recorded_at: ms(1, recorded_at)?,
        state,
        windows,
    }))
}
