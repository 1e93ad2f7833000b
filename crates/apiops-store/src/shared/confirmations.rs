//! Pending confirmations, for both backends: plans waiting for a person to say yes or no,
//! listed while they are pending and decided once.

use jiff::Timestamp;

use sqlx::{AssertSqlSafe, SqlSafeStr};

use super::{Backend, Cols, read_row, read_rows, write};
use crate::{Confirmation, ConfirmationState, StoreError, ms};

const COLUMNS: &str =
    "id, session, plan_json, summary, created_at, expires_at, state, decided_by, decided_at";

/// A confirmation read back (times in Unix milliseconds).
fn confirmation_row(row: &impl Cols) -> Result<Confirmation, StoreError> {
    let state = row.text("state")?;
    Ok(Confirmation {
        state: ConfirmationState::parse(&state).ok_or_else(|| StoreError::Corrupt {
            id: 0,
            reason: format!("confirmation state {state:?}"),
        })?,
        created_at: ms(0, row.int("created_at")?)?,
        expires_at: ms(0, row.int("expires_at")?)?,
        decided_at: row.opt_int("decided_at")?.map(|t| ms(0, t)).transpose()?,
        id: row.text("id")?,
        session: row.text("session")?,
        plan_json: row.text("plan_json")?,
        summary: row.text("summary")?,
        decided_by: row.opt_text("decided_by")?,
    })
}

pub(crate) async fn confirmation_put<B: Backend>(
    store: &B,
    c: &Confirmation,
) -> Result<bool, StoreError> {
    B::storable(
        "a confirmation",
        [c.id.as_str(), &c.session, &c.plan_json, &c.summary],
    )?;
    let sql = format!(
        "INSERT INTO confirmations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (id) DO NOTHING"
    );
    let args = [
        c.id.as_str().into(),
        c.session.as_str().into(),
        c.plan_json.as_str().into(),
        c.summary.as_str().into(),
        c.created_at.as_millisecond().into(),
        c.expires_at.as_millisecond().into(),
        c.state.as_str().into(),
        c.decided_by.as_deref().into(),
        c.decided_at.map(Timestamp::as_millisecond).into(),
    ];
    let n = write(store, AssertSqlSafe(sql).into_sql_str(), &args).await?;
    Ok(n == 1)
}

pub(crate) async fn confirmation<B: Backend>(
    store: &B,
    id: &str,
) -> Result<Option<Confirmation>, StoreError> {
    B::storable("a confirmation id", [id])?;
    let sql = format!("SELECT {COLUMNS} FROM confirmations WHERE id = $1");
    let row = read_row(store, AssertSqlSafe(sql).into_sql_str(), &[id.into()]).await?;
    row.as_ref().map(confirmation_row).transpose()
}

pub(crate) async fn confirmations_pending<B: Backend>(
    store: &B,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<Confirmation>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM confirmations WHERE state = 'pending' AND expires_at > $1 \
         ORDER BY created_at DESC LIMIT $2"
    );
    let args = [now.as_millisecond().into(), i64::from(limit).into()];
    let rows = read_rows(store, AssertSqlSafe(sql).into_sql_str(), &args).await?;
    rows.iter().map(confirmation_row).collect()
}

pub(crate) async fn confirmation_decide<B: Backend>(
    store: &B,
    id: &str,
    state: ConfirmationState,
    by: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    B::storable("a confirmation", [id, by])?;
    let n = write(
        store,
        "UPDATE confirmations SET state = $1, decided_by = $2, decided_at = $3 \
             WHERE id = $4 AND state = 'pending' AND expires_at > $3"
            .into_sql_str(),
        &[
            state.as_str().into(),
            by.into(),
            now.as_millisecond().into(),
            id.into(),
        ],
    )
    .await?;
    Ok(n == 1)
}
