//! Calls to a configured API (`[apis.NAME]`, `apiops_openapi::Api`) as the store keeps them,
//! shared by `apiops call`, `apiops graphql` and MCP's `execute_plan`:
//!
//! - [`execute`]: a confirmed write, journaled like the operations of `apiops do`: the plan
//!   under a key derived from it (the same call, the same key), one runner at a time (the lease
//!   of [`crate::lease`]), the step recorded as started before the request and as done or failed
//!   after it. A re-run of a write the journal shows done is not sent again (a fresh plan sends
//!   it anew); a run that died mid-request is sent again only when the API reads an idempotency
//!   key, which makes the API itself do the work once.
//! - [`keep`]: each failure apiops saw after sending as an `ErrorEvent` in the event log, and
//!   the `Deprecation`/`Sunset` notices the API sent, kept per API under the cursor
//!   `api-deprecations:NAME` (JSON, one notice per endpoint, the latest [`MAX_NOTICES`]);
//!   [`seen`] reads them back. Keeping is best effort: a store that cannot be written is a
//!   warning, never the call's failure.
//! - [`trust_of_write`], [`gate_of_write`]: who may say yes to a write: a person, always (an
//!   agent's yes never counts). DELETE is a deletion; words of the operation name a purchase,
//!   money, credentials or a URL when they say so; any other write has effects apiops cannot
//!   know, so `--allow-execute` does not stand in for the person either.
//! - [`errors_view`]: those failures read back, grouped and ranked as the built-in services'
//!   are (`apiops errors NAME`).

use std::time::Duration;

use apiops_core::{ErrorEvent, Service};
use apiops_openapi::events::{SeenNotice, fix_for, merge_notices};
use apiops_openapi::{Answer, Api, CallError, WritePlan};
use apiops_providers::views::ErrorsView;
use apiops_store::{EventFilter, StepStatus, Store, StoreError};
use serde_json::json;

use crate::OpsError;
use crate::policy::{Gate, PersonRule, Trust};

/// Notices kept per API at most.
pub const MAX_NOTICES: usize = 200;

/// What the journal made of a confirmed write.
#[derive(Debug)]
pub enum Journaled {
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

/// Why a write was not run, or failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The journal could not be read or written: nothing is sent without it.
    #[error("journal: {0}")]
    Store(#[from] StoreError),
    /// Another runner holds the plan, or the journal failed under the lease.
    #[error(transparent)]
    Ops(#[from] OpsError),
    /// An earlier run started and recorded no outcome, and the API reads no idempotency key.
    #[error(
        "an earlier run of this write ({key}) started at {at} and did not record its outcome: it may have been sent. {operation} declares no idempotency key, so apiops will not send it again blindly; check the account, then make a new plan (--new) to send it anyway"
    )]
    Unsure {
        /// The journal key.
        key: String,
        /// When the earlier run started.
        at: String,
        /// The operation.
        operation: String,
    },
    /// The API answered with a failure (kept in the event log with the failed step).
    #[error(transparent)]
    Call(#[from] CallError),
}

/// Who may say yes to the write `plan`: a person, with the rule that makes it so.
pub fn trust_of_write(plan: &WritePlan) -> Trust {
    use PersonRule as R;
    if plan.request.method.eq_ignore_ascii_case("DELETE") || plan.needs_person {
        return Trust::person(R::Deletion, "a deletion: cannot be undone by apiops");
    }
    let words = format!("{} {} {}", plan.operation, plan.request.path, plan.summary).to_lowercase();
    let has = |list: &[&str]| list.iter().any(|w| words.contains(w));
    let (rule, why) = if has(&["purchase", "buy", "checkout", "order", "subscri"]) {
        (
            R::Purchase,
            "a purchase, by its name: spends the account's money",
        )
    } else if has(&[
        "pay", "charge", "refund", "transfer", "invoice", "billing", "credit",
    ]) {
        (R::SpendsMoney, "moves money, by its name")
    } else if has(&[
        "key",
        "token",
        "secret",
        "password",
        "credential",
        "oauth",
        "auth",
    ]) {
        (R::Credentials, "touches credentials, by its name")
    } else if has(&["webhook", "callback", "endpoint", "url", "redirect"]) {
        (R::PointsAtUrl, "points the API at a URL, by its name")
    } else {
        (
            R::UnknownEffects,
            "a write to an API apiops has no catalog for: its effects are not known",
        )
    };
    Trust::person(rule, format!("{} {}: {why}", plan.api, plan.operation))
}

/// The gate of a configured API's write: always a person's yes.
pub fn gate_of_write(plan: &WritePlan) -> Gate {
    Gate::Confirm {
        reason: format!(
            "{} {} {} on {} is a {}",
            plan.request.method,
            plan.request.path,
            plan.operation,
            plan.api,
            if plan.needs_person {
                "deletion"
            } else {
                "write"
            }
        ),
        always: true,
    }
}

/// The journal key of a plan.
pub fn key(plan: &WritePlan) -> String {
    format!("api:{}:{}", plan.api, plan.plan_id)
}

/// Runs `plan` under the journal in `store`.
pub async fn execute(
    api: &Api,
    plan: &WritePlan,
    store: &dyn Store,
) -> Result<Journaled, WriteError> {
    let key = key(plan);
    // A plan always serializes (strings and JSON values only).
    let plan_json = serde_json::to_string(plan).unwrap_or_default();
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
            return Err(WriteError::Unsure {
                key,
                at: step.updated_at.to_string(),
                operation: plan.operation.clone(),
            });
        }
        _ => {}
    }
    let now = jiff::Timestamp::now;
    let holder = crate::lease::runner_name();
    let held = crate::lease::acquire(store, &key, &holder, &now, Duration::ZERO).await?;
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

/// The cursor the notices of API `name` are kept under.
pub fn notices_key(name: &str) -> String {
    format!("api-deprecations:{name}")
}

/// Keeps `failure` (when there is one) and `notices` of API `name` in `store`.
pub async fn keep(
    store: &dyn Store,
    name: &str,
    failure: Option<ErrorEvent>,
    notices: Vec<SeenNotice>,
    now: jiff::Timestamp,
) {
    if let Some(event) = failure
        && let Err(e) = store.append_events(&[event]).await
    {
        tracing::warn!("{name}: the failure was not recorded: {e}");
    }
    if notices.is_empty() {
        return;
    }
    let mut kept = seen(store, name).await;
    merge_notices(&mut kept, notices, MAX_NOTICES);
    let written = match serde_json::to_string(&kept) {
        Ok(json) => store.set_cursor(&notices_key(name), &json, now).await,
        Err(e) => {
            tracing::warn!("{name}: deprecation notices not kept: {e}");
            return;
        }
    };
    if let Err(e) = written {
        tracing::warn!("{name}: deprecation notices not kept: {e}");
    }
}

/// The notices kept for API `name` (none when nothing was kept, or it no longer parses).
pub async fn seen(store: &dyn Store, name: &str) -> Vec<SeenNotice> {
    match store.cursor(&notices_key(name)).await {
        Ok(Some(json)) => serde_json::from_str(&json).unwrap_or_else(|e| {
            tracing::warn!("{name}: the kept deprecation notices do not parse: {e}");
            Vec::new()
        }),
        Ok(None) => Vec::new(),
        Err(e) => {
            tracing::warn!("{name}: reading the kept deprecation notices: {e}");
            Vec::new()
        }
    }
}

/// The report of API `service`'s failures over the last `since`, read from `store` at `now`,
/// with the latest `keep_events` events.
pub async fn errors_view(
    store: &dyn Store,
    service: Service,
    since: Duration,
    now: jiff::Timestamp,
    keep_events: usize,
) -> Result<ErrorsView, StoreError> {
    let span = jiff::SignedDuration::try_from(since).unwrap_or(jiff::SignedDuration::MAX);
    let from = now.checked_sub(span).unwrap_or(jiff::Timestamp::MIN);
    let events = store
        .events(&EventFilter {
            since: Some(from),
            services: vec![service],
            limit: None,
        })
        .await?;
    Ok(ErrorsView::of_logged(
        service,
        since,
        events,
        fix_for,
        keep_events,
    ))
}
