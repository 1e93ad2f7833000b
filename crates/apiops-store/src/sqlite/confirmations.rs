//! Pending confirmations in SQLite: plans waiting for a person to say yes or no, listed while
//! they are pending and decided once.

use jiff::Timestamp;

use super::SqliteStore;
use crate::{
    CONFIRMATION_COLUMNS, Confirmation, ConfirmationRow, ConfirmationState, StoreError,
    confirmation_from,
};
pub(super) async fn confirmation_put(
    store: &SqliteStore,
    c: &Confirmation,
) -> Result<bool, StoreError> {
    let n = sqlx::query(
        "INSERT OR IGNORE INTO confirmations (id, session, plan_json, summary, created_at, expires_at, state, decided_by, decided_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&c.id)
    .bind(&c.session)
    .bind(&c.plan_json)
    .bind(&c.summary)
    .bind(c.created_at.as_millisecond())
    .bind(c.expires_at.as_millisecond())
    .bind(c.state.as_str())
    .bind(&c.decided_by)
    .bind(c.decided_at.map(Timestamp::as_millisecond))
    .execute(&store.writer)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub(super) async fn confirmation(
    store: &SqliteStore,
    id: &str,
) -> Result<Option<Confirmation>, StoreError> {
    let row: Option<ConfirmationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CONFIRMATION_COLUMNS} FROM confirmations WHERE id = ?"
    )))
    .bind(id)
    .fetch_optional(&store.pool)
    .await?;
    row.map(confirmation_from).transpose()
}

pub(super) async fn confirmations_pending(
    store: &SqliteStore,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<Confirmation>, StoreError> {
    let rows: Vec<ConfirmationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CONFIRMATION_COLUMNS} FROM confirmations WHERE state = 'pending' AND expires_at > ? \
         ORDER BY created_at DESC LIMIT ?"
    )))
    .bind(now.as_millisecond())
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await?;
    rows.into_iter().map(confirmation_from).collect()
}

pub(super) async fn confirmation_decide(
    store: &SqliteStore,
    id: &str,
    state: ConfirmationState,
    by: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let n = sqlx::query(
        "UPDATE confirmations SET state = ?, decided_by = ?, decided_at = ? \
         WHERE id = ? AND state = 'pending' AND expires_at > ?",
    )
    .bind(state.as_str())
    .bind(by)
    .bind(now.as_millisecond())
    .bind(id)
    .bind(now.as_millisecond())
    .execute(&store.writer)
    .await?
    .rows_affected();
    Ok(n == 1)
}
