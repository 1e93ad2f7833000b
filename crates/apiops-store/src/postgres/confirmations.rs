//! Pending confirmations in PostgreSQL: plans waiting for a person to say yes or no, listed
//! while they are pending and decided once.

use jiff::Timestamp;

use super::{PostgresStore, no_nul};
use crate::{
    CONFIRMATION_COLUMNS, Confirmation, ConfirmationRow, ConfirmationState, StoreError,
    confirmation_from,
};
pub(super) async fn confirmation_put(
    store: &PostgresStore,
    c: &Confirmation,
) -> Result<bool, StoreError> {
    no_nul(
        "a confirmation",
        [c.id.as_str(), &c.session, &c.plan_json, &c.summary],
    )?;
    let n = sqlx::query(
        "INSERT INTO confirmations (id, session, plan_json, summary, created_at, expires_at, state, decided_by, decided_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
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
    .execute(&store.pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub(super) async fn confirmation(
    store: &PostgresStore,
    id: &str,
) -> Result<Option<Confirmation>, StoreError> {
    no_nul("a confirmation id", [id])?;
    let row: Option<ConfirmationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CONFIRMATION_COLUMNS} FROM confirmations WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&store.pool)
    .await?;
    row.map(confirmation_from).transpose()
}

pub(super) async fn confirmations_pending(
    store: &PostgresStore,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<Confirmation>, StoreError> {
    let rows: Vec<ConfirmationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CONFIRMATION_COLUMNS} FROM confirmations WHERE state = 'pending' AND expires_at > $1 \
         ORDER BY created_at DESC LIMIT $2"
    )))
    .bind(now.as_millisecond())
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await?;
    rows.into_iter().map(confirmation_from).collect()
}

pub(super) async fn confirmation_decide(
    store: &PostgresStore,
    id: &str,
    state: ConfirmationState,
    by: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    no_nul("a confirmation", [id, by])?;
    let n = sqlx::query(
        "UPDATE confirmations SET state = $1, decided_by = $2, decided_at = $3 \
         WHERE id = $4 AND state = 'pending' AND expires_at > $3",
    )
    .bind(state.as_str())
    .bind(by)
    .bind(now.as_millisecond())
    .bind(id)
    .execute(&store.pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}
