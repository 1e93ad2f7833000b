//! Journal-aware planning: the same request within [`REPEAT_WINDOW`] of a run resumes that
//! run's plan instead of planning anew, so "buy a number in 415" twice buys one number, and a
//! run cut short by a crash completes without repeating its finished steps.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use apiops_store::{StepStatus, Store};

use crate::catalog::Operation;
use crate::error::OpsError;
use crate::plan::{Plan, Planned, plan, plan_key};
use crate::services::Services;

/// How long a finished plan answers for the same request (like a provider's idempotency-key
/// window). An unfinished plan is resumed however old it is.
pub const REPEAT_WINDOW: SignedDuration = SignedDuration::from_hours(24);

/// A plan ready for the gate, and what the journal knew of it.
#[derive(Debug, Clone, Serialize)]
pub struct Prepared {
    /// The plan: the journaled one when resuming, else a new one.
    pub plan: Plan,
    /// Set when this request ran before.
    pub resumed: Option<Resumed>,
}

/// An earlier run of the same request.
#[derive(Debug, Clone, Serialize)]
pub struct Resumed {
    /// When it was first run.
    pub started_at: Timestamp,
    /// When it finished, if it did.
    pub finished_at: Option<Timestamp>,
    /// Its steps that are done.
    pub done: Vec<u32>,
}

/// Plans `op`, or resumes the journaled plan of the same request (unless `fresh`, which
/// forgets it: a deliberate second run).
pub async fn prepare(
    op: &Operation,
    request: &str,
    services: &Services,
    store: &dyn Store,
    now: Timestamp,
    fresh: bool,
) -> Result<Prepared, OpsError> {
    let key = plan_key(op);
    if fresh {
        store.journal_forget(&key).await?;
    } else if let Some(journaled) = store.journaled_plan(&key).await? {
        let expired = journaled
            .finished_at
            .is_some_and(|f| now.duration_since(f) > REPEAT_WINDOW);
        match serde_json::from_str::<Plan>(&journaled.plan_json) {
            Ok(mut plan) if !expired => {
                let steps = store.journal_steps(&key).await?;
                let done: Vec<u32> = steps
                    .iter()
                    .filter(|s| s.status == StepStatus::Done)
                    .map(|s| s.step)
                    .collect();
                // Done steps are skipped by the executor from the journal; mark them for the
                // plan's display too.
                for step in &mut plan.steps {
                    if done.contains(&step.index) && step.planned == Planned::ToDo {
                        step.planned = Planned::AlreadyDone {
                            reason: "done in an earlier run".into(),
                            resource_ids: Vec::new(),
                        };
                    }
                }
                plan.request = request.to_owned();
                return Ok(Prepared {
                    plan,
                    resumed: Some(Resumed {
                        started_at: journaled.created_at,
                        finished_at: journaled.finished_at,
                        done,
                    }),
                });
            }
            // Expired, or written by a version whose plan no longer parses: plan anew.
            _ => store.journal_forget(&key).await?,
        }
    }
    Ok(Prepared {
        plan: plan(op, request, services, now).await?,
        resumed: None,
    })
}
