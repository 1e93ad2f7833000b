//! A confirmed write of `apiops call`, journaled like the operations of `apiops do`: the plan
//! under a key derived from it (the same call, the same key), one runner at a time (the lease of
//! `apiops_ops::lease`), the step recorded as started before the request and as done or failed
//! after it. A re-run of a write the journal shows done is not sent again (`--new` makes a
//! new plan); a run that died mid-request is sent again only when the API reads an idempotency
//! key, which makes the API itself do the work once.

use std::time::Duration;

use apiops_openapi::{Answer, Api, WritePlan};
use apiops_store::{StepStatus, Store};
use serde_json::json;

/// What the journal made of a confirmed write.
#[derive(Debug)]
pub(crate) enum Journaled {
    /// Sent now.
    Sent(Answer),
    /// The journal shows this exact write done already: not sent again.
    AlreadyDone {
        /// When it was journaled done.
        at: String,
        /// What was recorded (the status).
        detail: String,
    },
}

/// The journal key of a plan.
pub(crate) fn key(plan: &WritePlan) -> String {
    format!("api:{}:{}", plan.api, plan.plan_id)
}

/// Runs `plan` under the journal in `store`.
pub(crate) async fn execute(
    api: &Api,
    plan: &WritePlan,
    store: &dyn Store,
) -> anyhow::Result<Journaled> {
    let key = key(plan);
    let plan_json = serde_json::to_string(plan)?;
    store
        .journal_plan(&key, &plan_json, jiff::Timestamp::now())
        .await?;
    let steps = store.journal_steps(&key).await?;
    match steps.first().map(|s| (s.status, s)) {
        Some((StepStatus::Done, step)) => {
            return Ok(Journaled::AlreadyDone {
                at: step.updated_at.to_string(),
                detail: step.detail.clone(),
            });
        }
        Some((StepStatus::Started, step)) if plan.idempotency.is_none() => {
            anyhow::bail!(
                "an earlier run of this write ({key}) started at {} and did not record its outcome: it may have been sent. {} declares no idempotency key, so apiops will not send it again blindly; check the account, then pass --new to send it anyway",
                step.updated_at,
                plan.operation
            );
        }
        _ => {}
    }
    let now = jiff::Timestamp::now;
    let holder = apiops_ops::lease::runner_name();
    let held = apiops_ops::lease::acquire(store, &key, &holder, &now, Duration::ZERO).await?;
    store
        .journal_step(&key, 0, StepStatus::Started, "{}", &[], now())
        .await?;
    let result = api.execute(plan).await;
    let (status, detail) = match &result {
        Ok(a) => (StepStatus::Done, json!({"status": a.status})),
        Err(e) => (StepStatus::Failed, json!({"error": e.to_string()})),
    };
    // A failure is stored as an event in the same transaction as the failed step.
    let events: Vec<_> = result
        .as_ref()
        .err()
        .and_then(|e| api.failure_event(&plan.operation, e, now()))
        .into_iter()
        .collect();
    store
        .journal_step(&key, 0, status, &detail.to_string(), &events, now())
        .await?;
    if status == StepStatus::Done {
        store.journal_finish(&key, now()).await?;
    }
    held.release(store).await?;
    Ok(Journaled::Sent(result?))
}
