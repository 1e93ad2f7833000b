//! The monitor's tables, for both backends: the checks it recorded, the slots instances claim
//! so a job runs once per slot, and how an alert is read back (observing and listing alerts
//! differ, and stay in the backends).

use jiff::Timestamp;

use sqlx::{AssertSqlSafe, SqlSafeStr};

use super::{Arg, Backend, Cols, read_rows, write};
use crate::{AlertRecord, CheckRecord, StoreError, ms, parse_field as parse};

fn check_row(row: &impl Cols) -> Result<CheckRecord, StoreError> {
    let id = row.int("id")?;
    Ok(CheckRecord {
        job: row.text("job")?,
        service: row
            .opt_text("service")?
            .map(|s| crate::parse_service(id, &s))
            .transpose()?,
        ran_at: ms(id, row.int("ran_at")?)?,
        status: row.text("status")?,
        summary: row.text("summary")?,
        instance: row.text("instance")?,
    })
}

/// An alert read back (times in Unix milliseconds).
pub(crate) fn alert_row(row: &impl Cols) -> Result<AlertRecord, StoreError> {
    Ok(AlertRecord {
        key: row.text("alert_key")?,
        rule: row.text("rule")?,
        service: row
            .opt_text("service")?
            .map(|s| crate::parse_service(0, &s))
            .transpose()?,
        severity: parse(0, "severity", &row.text("severity")?)?,
        message: row.text("message")?,
        firing: row.flag("firing")?,
        fired_at: ms(0, row.int("fired_at")?)?,
        resolved_at: row.opt_int("resolved_at")?.map(|r| ms(0, r)).transpose()?,
        updated_at: ms(0, row.int("updated_at")?)?,
    })
}

pub(crate) async fn record_check<B: Backend>(store: &B, c: &CheckRecord) -> Result<(), StoreError> {
    B::storable(
        "a check",
        [
            c.job.as_str(),
            c.status.as_str(),
            c.summary.as_str(),
            c.instance.as_str(),
        ],
    )?;
    write(store,
        "INSERT INTO checks (job, service, ran_at, status, summary, instance) VALUES ($1, $2, $3, $4, $5, $6)".into_sql_str(),
        &[
            c.job.as_str().into(),
            c.service.map(|s| s.as_str()).into(),
            c.ran_at.as_millisecond().into(),
            c.status.as_str().into(),
            c.summary.as_str().into(),
            c.instance.as_str().into(),
        ],
    )
    .await?;
    Ok(())
}

pub(crate) async fn checks<B: Backend>(
    store: &B,
    job: Option<&str>,
    since: Timestamp,
    limit: u32,
) -> Result<Vec<CheckRecord>, StoreError> {
    let mut args: Vec<Arg<'_>> = vec![since.as_millisecond().into(), i64::from(limit).into()];
    let of_job = match job {
        Some(j) => {
            args.push(j.into());
            "job = $3 AND"
        }
        None => "",
    };
    let sql = format!(
        "SELECT id, job, service, ran_at, status, summary, instance FROM checks \
         WHERE {of_job} ran_at >= $1 ORDER BY ran_at DESC, id DESC LIMIT $2"
    );
    let rows = read_rows(store, AssertSqlSafe(sql).into_sql_str(), &args).await?;
    rows.iter().map(check_row).collect()
}

pub(crate) async fn claim_slot<B: Backend>(
    store: &B,
    job: &str,
    slot: i64,
    holder: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    B::storable("a job claim", [job, holder])?;
    let n = write(
        store,
        "INSERT INTO job_slots (job, slot, holder, claimed_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (job, slot) DO NOTHING"
            .into_sql_str(),
        &[
            job.into(),
            slot.into(),
            holder.into(),
            now.as_millisecond().into(),
        ],
    )
    .await?;
    Ok(n == 1)
}

pub(crate) async fn slot_holders<B: Backend>(
    store: &B,
    job: &str,
    since_slot: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    let rows = read_rows(
        store,
        "SELECT slot, holder FROM job_slots WHERE job = $1 AND slot >= $2 ORDER BY slot"
            .into_sql_str(),
        &[job.into(), since_slot.into()],
    )
    .await?;
    rows.iter()
        .map(|r| Ok((r.int("slot")?, r.text("holder")?)))
        .collect()
}
