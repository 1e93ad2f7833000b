//! The partial error scan, for both backends: the one scan that could not read every window,
//! kept with its unread windows until `apiops errors --resume` completes it.

use sqlx::SqlSafeStr;

use super::{Backend, Cols, Conn};
use crate::{PartialScan, StoreError, UnreadWindowRecord, ms};

/// An unread window read back (times in Unix milliseconds).
fn unread_window_row(row: &impl Cols) -> Result<UnreadWindowRecord, StoreError> {
    let seq = row.int("seq")?;
    Ok(UnreadWindowRecord {
        service: crate::parse_service(seq, &row.text("service")?)?,
        source: row.text("source")?,
        from: ms(seq, row.int("from_at")?)?,
        to: ms(seq, row.int("to_at")?)?,
        reason: row.text("reason")?,
    })
}

pub(crate) async fn partial_scan_put<B: Backend>(
    store: &B,
    scan: &PartialScan,
) -> Result<(), StoreError> {
    B::storable("a partial scan", [scan.state.as_str()])?;
    for w in &scan.windows {
        B::storable("an unread window", [w.source.as_str(), &w.reason])?;
    }
    let mut tx = store.writer().begin().await?;
    // Two scans finishing at once: one replaces the other whole, never a mix of both.
    if let Some(lock) = B::LOCK_PARTIAL_SCANS {
        tx.run(lock.into_sql_str(), &[]).await?;
    }
    tx.run("DELETE FROM unread_windows".into_sql_str(), &[])
        .await?;
    tx.run("DELETE FROM partial_scans".into_sql_str(), &[])
        .await?;
    if !scan.windows.is_empty() {
        tx.run(
            "INSERT INTO partial_scans (id, recorded_at, state) VALUES (1, $1, $2)".into_sql_str(),
            &[
                scan.recorded_at.as_millisecond().into(),
                scan.state.as_str().into(),
            ],
        )
        .await?;
        for (seq, w) in (0i64..).zip(&scan.windows) {
            tx.run(
                "INSERT INTO unread_windows (seq, service, source, from_at, to_at, reason) \
                 VALUES ($1, $2, $3, $4, $5, $6)"
                    .into_sql_str(),
                &[
                    seq.into(),
                    w.service.as_str().into(),
                    w.source.as_str().into(),
                    w.from.as_millisecond().into(),
                    w.to.as_millisecond().into(),
                    w.reason.as_str().into(),
                ],
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn partial_scan<B: Backend>(store: &B) -> Result<Option<PartialScan>, StoreError> {
    // One read transaction that is one snapshot, so the scan and its windows are of the same
    // write.
    let mut tx = store.readers().begin().await?;
    if let Some(snapshot) = B::SNAPSHOT {
        tx.run(snapshot.into_sql_str(), &[]).await?;
    }
    let Some(scan) = tx
        .row(
            "SELECT recorded_at, state FROM partial_scans WHERE id = 1".into_sql_str(),
            &[],
        )
        .await?
    else {
        return Ok(None);
    };
    let rows = tx
        .rows(
            // `seq` is an INTEGER, 32 bits in PostgreSQL: read as 64.
            "SELECT CAST(seq AS BIGINT) AS seq, service, source, from_at, to_at, reason \
             FROM unread_windows ORDER BY seq"
                .into_sql_str(),
            &[],
        )
        .await?;
    tx.commit().await?;
    Ok(Some(PartialScan {
        recorded_at: ms(1, scan.int("recorded_at")?)?,
        state: scan.text("state")?,
        windows: rows
            .iter()
            .map(unread_window_row)
            .collect::<Result<_, _>>()?,
    }))
}
