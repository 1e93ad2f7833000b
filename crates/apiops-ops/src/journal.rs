//! Journal-aware planning: the same request within [`REPEAT_WINDOW`] of a run resumes that
//! run's plan instead of planning anew, so "buy a number in 415" twice buys one number, and a
//! run cut short by a crash completes without repeating its finished steps. The journal is for
//! crashes; the account is the authority: a done step whose effect is gone from the account
//! (the number was released since) makes the request plan anew, through the gate again.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use apiops_store::{JournalPlan, StepStatus, Store};

use crate::catalog::Operation;
use crate::error::OpsError;
use crate::plan::{self, Plan, Planned, plan_key, run_key};
use crate::resolve::{Check, still_holds};
use crate::services::Services;

/// How long a finished plan answers for the same request (like a provider's idempotency-key
/// window). An unfinished plan is resumed however old it is.
pub const REPEAT_WINDOW: SignedDuration = SignedDuration::from_hours(24);

/// A plan ready for the gate, and what the journal knew of it.
#[derive(Debug, Clone, Serialize)]
pub struct Prepared {
    /// The plan: the journaled one when resuming, else a new one.
    pub plan: Plan,
    /// Set when this request ran before and its effects still hold.
    pub resumed: Option<Resumed>,
    /// Set when this request ran before but the account no longer shows its effect: why. The
    /// plan is then a new one (a new journal key), and goes through the gate again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replanned: Option<String>,
}

/// An earlier run of the same request.
#[derive(Debug, Clone, Serialize)]
pub struct Resumed {
    /// When it was first run.
    pub started_at: Timestamp,
    /// When it finished, if it did.
    pub finished_at: Option<Timestamp>,
    /// Its steps that are done (and, where the account shows it, still in place).
    pub done: Vec<u32>,
}

/// Plans `op`, or resumes the journaled plan of the same request. `fresh` (a deliberate second
/// run) plans anew under a new journal key and forgets nothing, so it cannot disturb a run in
/// progress. Every step an earlier run marked done is checked against the account first: if
/// its effect is gone (the number bought was released since), the earlier run no longer counts
/// and the request is planned anew.
pub async fn prepare(
    op: &Operation,
    request: &str,
    services: &Services,
    store: &dyn Store,
    now: Timestamp,
    fresh: bool,
) -> Result<Prepared, OpsError> {
    let base = plan_key(op);
    let journaled = store.journal_latest(&base).await?;
    if !fresh && let Some(journaled) = &journaled {
        let expired = journaled
            .finished_at
            .is_some_and(|f| now.duration_since(f) > REPEAT_WINDOW);
        if let Ok(plan) = serde_json::from_str::<Plan>(&journaled.plan_json)
            && !expired
        {
            match resume(plan, journaled, request, services, store).await? {
                Ok(prepared) => return Ok(prepared),
                Err(gone) => {
                    let mut plan = plan::plan(op, request, services, now).await?;
                    plan.key = run_key(&base, now);
                    return Ok(Prepared {
                        plan,
                        resumed: None,
                        replanned: Some(gone),
                    });
                }
            }
        }
        // Expired, or written by a version whose plan no longer parses: plan anew below.
    }
    let mut plan = plan::plan(op, request, services, now).await?;
    if fresh || journaled.is_some() {
        plan.key = run_key(&base, now);
    }
    Ok(Prepared {
        plan,
        resumed: None,
        replanned: None,
    })
}

/// The journaled `plan` resumed, its done steps checked against the account; `Err(why)` when
/// one of them no longer holds.
async fn resume(
    mut plan: Plan,
    journaled: &JournalPlan,
    request: &str,
    services: &Services,
    store: &dyn Store,
) -> Result<Result<Prepared, String>, OpsError> {
    let steps = store.journal_steps(&journaled.key).await?;
    let done: Vec<u32> = steps
        .iter()
        .filter(|s| s.status == StepStatus::Done)
        .map(|s| s.step)
        .collect();
    for step in &mut plan.steps {
        if !done.contains(&step.index) {
            continue;
        }
        let reason = match still_holds(services, &step.action).await? {
            Check::Gone(why) => return Ok(Err(why)),
            Check::Holds(why) => format!("done in an earlier run; checked now: {why}"),
            Check::OneOff(why) => why,
        };
        step.planned = Planned::AlreadyDone {
            reason,
            resource_ids: Vec::new(),
        };
    }
    plan.key.clone_from(&journaled.key);
    plan.request = request.to_owned();
    Ok(Ok(Prepared {
        plan,
        resumed: Some(Resumed {
            started_at: journaled.created_at,
            finished_at: journaled.finished_at,
            done,
        }),
        replanned: None,
    }))
}
