//! Execution: one runner per plan (a lease in the store), each step journaled before and after
//! it runs, its state checked first, its outcome and its event written in one transaction.
//!
//! Crash safety: a step is journaled `started` (durably) before its request is sent and `done`
//! or `failed` (with its event) after. A step the journal says is done is read back from the
//! account before it is reported done: the journal is for crashes, the account says what holds. A re-run of the same plan reads the journal: `done` steps are skipped;
//! a `started` step (the process died while it ran, outcome unknown) is resolved by looking at
//! the provider's state first — is the number owned, is the URL set, was a message with this
//! body sent to this recipient since the step started — and only sent again when its effect is
//! not there. A purchase is never repeated: the plan names one exact number, and owning it
//! completes the step.

use std::collections::HashMap;
use std::net::SocketAddr;

use apiops_client::redact::display_url;
use apiops_core::{ActionTaken, Category, ErrorEvent, EventResult, Service, Severity};
use apiops_providers::outbound;
use apiops_providers::stripe::client::EndpointUpdate;
use apiops_store::{JournalStep, StepStatus, Store};
use futures::StreamExt;
use jiff::Timestamp;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

mod perform;

pub use perform::test_event;

use crate::error::OpsError;
use crate::plan::{Plan, Planned, Step, StepAction};
use crate::resolve::Check;
use crate::services::Services;

/// How an item ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ItemResult {
    /// It worked (now, or in an earlier run, or its effect was already in place).
    Done {
        /// The resources involved (`PN...`, `SM...`, `we_...`, `evt_...`).
        resource_ids: Vec<String>,
        /// What happened, in one line.
        detail: String,
        /// True when nothing was sent this run (done earlier or already in place).
        unchanged: bool,
    },
    /// It failed.
    Failed {
        /// Why (the provider's message; never a secret).
        error: String,
        /// The provider's error code, when it gave one.
        code: Option<String>,
        /// The failure's category, from the typed error it came from, when there was one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        category: Option<apiops_core::Category>,
    },
    /// Not attempted: an earlier step of a sequence failed.
    Skipped {
        /// Why.
        reason: String,
    },
}

/// One item of an outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemOutcome {
    /// The step's index.
    pub step: u32,
    /// The service it acted on.
    pub service: Service,
    /// What it did.
    pub description: String,
    /// How it ended.
    #[serde(flatten)]
    pub result: ItemResult,
}

/// How the whole plan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// Every step is done and at least one changed something.
    Succeeded,
    /// Every step was already done: nothing was sent.
    NothingToDo,
    /// Some steps failed or were skipped, some are done.
    Partial,
    /// No step is done.
    Failed,
}

/// What running a plan did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The plan's journal key.
    pub plan_key: String,
    /// The operation's name.
    pub operation: String,
    /// Overall.
    pub status: OutcomeStatus,
    /// Per step.
    pub items: Vec<ItemOutcome>,
}

impl Outcome {
    /// The steps that failed or were skipped.
    pub fn unfinished(&self) -> Vec<u32> {
        self.items
            .iter()
            .filter(|i| !matches!(i.result, ItemResult::Done { .. }))
            .map(|i| i.step)
            .collect()
    }
}

/// What a finished step leaves in the journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Detail {
    resource_ids: Vec<String>,
    detail: String,
}

/// Runs plans against the providers, journaling in `store`.
#[allow(missing_debug_implementations)]
pub struct Executor<'a> {
    /// The providers.
    pub services: &'a Services,
    /// The journal and event log.
    pub store: &'a dyn Store,
    /// The clock (injected for tests).
    pub now: &'a (dyn Fn() -> Timestamp + Send + Sync),
    /// How the run was authorized, recorded on each event.
    pub action: ActionTaken,
}

/// How long a second runner of one plan waits for the first before it is refused.
const LEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

impl Executor<'_> {
    /// Runs every step of `plan` that is not done, in order, under the plan's lease (one runner
    /// at a time, across processes). Batch steps run whatever the others do; in a sequence a
    /// failure skips the rest. Never returns early on a step's failure: the outcome says exactly
    /// what happened to each.
    pub async fn execute(&self, plan: &Plan) -> Result<Outcome, OpsError> {
        let holder = crate::lease::runner_name();
        let held =
            crate::lease::acquire(self.store, &plan.key, &holder, self.now, LEASE_WAIT).await?;
        let outcome = self.execute_leased(plan, &held).await;
        if let Err(e) = held.release(self.store).await {
            tracing::warn!(plan = plan.key, "giving up the plan's lease failed: {e}");
        }
        outcome
    }

    async fn execute_leased(
        &self,
        plan: &Plan,
        held: &crate::lease::Held,
    ) -> Result<Outcome, OpsError> {
        let plan_json = serde_json::to_string(plan)
            .map_err(|e| OpsError::Invalid(format!("serializing the plan: {e}")))?;
        self.store
            .journal_plan(&plan.key, &plan_json, (self.now)())
            .await?;
        // Read under the lease: whatever another runner finished is seen here.
        let journal: HashMap<u32, JournalStep> = self
            .store
            .journal_steps(&plan.key)
            .await?
            .into_iter()
            .map(|s| (s.step, s))
            .collect();
        let mut items = Vec::with_capacity(plan.steps.len());
        let mut stop: Option<String> = None;
        for step in &plan.steps {
            let description = step.action.describe();
            let service = step.action.service();
            let result = if let Some(reason) = &stop {
                ItemResult::Skipped {
                    reason: reason.clone(),
                }
            } else {
                held.renew(self.store, (self.now)()).await?;
                let r = self.run_step(plan, step, journal.get(&step.index)).await?;
                if matches!(r, ItemResult::Failed { .. }) && !plan.batch {
                    stop = Some(format!("step {} failed", step.index + 1));
                }
                r
            };
            items.push(ItemOutcome {
                step: step.index,
                service,
                description,
                result,
            });
        }
        let done = items
            .iter()
            .filter(|i| matches!(i.result, ItemResult::Done { .. }))
            .count();
        let changed = items.iter().any(|i| {
            matches!(
                i.result,
                ItemResult::Done {
                    unchanged: false,
                    ..
                }
            )
        });
        let status = if done == items.len() {
            self.store.journal_finish(&plan.key, (self.now)()).await?;
            if changed {
                OutcomeStatus::Succeeded
            } else {
                OutcomeStatus::NothingToDo
            }
        } else if done == 0 {
            OutcomeStatus::Failed
        } else {
            OutcomeStatus::Partial
        };
        Ok(Outcome {
            plan_key: plan.key.clone(),
            operation: plan.name.clone(),
            status,
            items,
        })
    }

    /// One step: a done step is checked against the account (never trusted from the journal
    /// alone); anything else is journaled `started`, performed state-first, then journaled with
    /// its event in one transaction.
    async fn run_step(
        &self,
        plan: &Plan,
        step: &Step,
        journaled: Option<&JournalStep>,
    ) -> Result<ItemResult, OpsError> {
        if let Some(j) = journaled.filter(|j| j.status == StepStatus::Done) {
            let d: Detail = serde_json::from_str(&j.detail).unwrap_or(Detail {
                resource_ids: Vec::new(),
                detail: String::new(),
            });
            let check = match crate::resolve::still_holds(self.services, &step.action).await {
                Ok(c) => c,
                Err(e) => {
                    return Ok(ItemResult::Failed {
                        error: format!(
                            "done in an earlier run at {}, but the account could not be read to confirm it is still in place: {e}",
                            j.updated_at
                        ),
                        code: None,
                        category: None,
                    });
                }
            };
            return Ok(match check {
                Check::Holds(now) => ItemResult::Done {
                    resource_ids: d.resource_ids,
                    detail: format!(
                        "done in an earlier run at {} ({}); checked now: {now}",
                        j.updated_at, d.detail
                    ),
                    unchanged: true,
                },
                Check::OneOff(why) => ItemResult::Done {
                    resource_ids: d.resource_ids,
                    detail: format!(
                        "done in an earlier run at {} ({}); {why}",
                        j.updated_at, d.detail
                    ),
                    unchanged: true,
                },
                Check::Gone(why) => ItemResult::Failed {
                    error: format!(
                        "{why}; this plan does not repeat it: ask again to plan it anew (it goes through confirmation again)"
                    ),
                    code: Some("state_changed".into()),
                    category: None,
                },
            });
        }
        if let Planned::AlreadyDone {
            resource_ids,
            reason,
        } = &step.planned
        {
            // Confirmed (or not) as "nothing to do": never acts, whatever changed since. The
            // account is read again; a change since planning is reported, not acted on.
            return Ok(
                match crate::resolve::still_holds(self.services, &step.action).await {
                    Ok(Check::Holds(now) | Check::OneOff(now)) => {
                        self.journal(plan, step, StepStatus::Done, resource_ids, &now, &[])
                            .await?;
                        ItemResult::Done {
                            resource_ids: resource_ids.clone(),
                            detail: format!("{reason}; read again just now: {now}"),
                            unchanged: true,
                        }
                    }
                    Ok(Check::Gone(why)) => ItemResult::Failed {
                        error: format!(
                            "planned as already in place, but the account changed since: {why}; plan again (it goes through confirmation again)"
                        ),
                        code: Some("state_changed".into()),
                        category: None,
                    },
                    Err(e) => ItemResult::Failed {
                        error: format!("the account could not be read: {e}"),
                        code: None,
                        category: None,
                    },
                },
            );
        }
        let interrupted_at = journaled
            .filter(|j| j.status == StepStatus::Started)
            .map(|j| j.updated_at);
        self.journal(plan, step, StepStatus::Started, &[], "", &[])
            .await?;
        match self.perform(plan, step, interrupted_at).await {
            Ok(done) => {
                // An event for what this run did, or for what an interrupted run did whose
                // outcome (and event, written with it) never reached the journal.
                let events = if !done.unchanged || interrupted_at.is_some() {
                    vec![self.event(plan, step, EventResult::Success, None, &done.ids)]
                } else {
                    Vec::new()
                };
                self.journal(
                    plan,
                    step,
                    StepStatus::Done,
                    &done.ids,
                    &done.detail,
                    &events,
                )
                .await?;
                Ok(ItemResult::Done {
                    resource_ids: done.ids,
                    detail: done.detail,
                    unchanged: done.unchanged,
                })
            }
            Err(failure) => {
                let events = [self.event(
                    plan,
                    step,
                    EventResult::Failed,
                    failure.code.as_deref(),
                    &[],
                )];
                self.journal(plan, step, StepStatus::Failed, &[], &failure.error, &events)
                    .await?;
                Ok(ItemResult::Failed {
                    error: failure.error,
                    code: failure.code,
                    category: failure.category,
                })
            }
        }
    }

    /// Journals a step's status with the events of its outcome, in one transaction.
    async fn journal(
        &self,
        plan: &Plan,
        step: &Step,
        status: StepStatus,
        ids: &[String],
        detail: &str,
        events: &[ErrorEvent],
    ) -> Result<(), OpsError> {
        let d = serde_json::to_string(&Detail {
            resource_ids: ids.to_vec(),
            detail: detail.to_owned(),
        })
        .unwrap_or_else(|_| "{}".into());
        self.store
            .journal_step(&plan.key, step.index, status, &d, events, (self.now)())
            .await?;
        Ok(())
    }

    /// The action's event record (DESIGN.md §2 schema): `error_code` is the provider's code
    /// when the step failed with one, else the operation's name.
    fn event(
        &self,
        plan: &Plan,
        step: &Step,
        result: EventResult,
        code: Option<&str>,
        ids: &[String],
    ) -> ErrorEvent {
        let spec = plan.operation.spec();
        let (category, severity) = match result {
            EventResult::Failed => (Category::Config, Severity::Warning),
            _ => (spec.fixes.unwrap_or(Category::Config), Severity::Info),
        };
        ErrorEvent {
            timestamp: (self.now)(),
            service: step.action.service(),
            error_code: code.unwrap_or(&plan.name).to_owned(),
            category,
            severity,
            resource_type: "operation".into(),
            resource_id: ids.first().cloned().unwrap_or_else(|| plan.key.clone()),
            context: format!("{}: {}", plan.name, step.action.describe()),
            action_taken: self.action,
            result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::perform::*;
    use super::*;

    #[test]
    fn test_events_look_like_stripe_events() {
        let e = test_event(
            "evt_test_1",
            "payment_intent.payment_failed",
            "2025-03-31.basil",
            "2026-11-26T00:00:00Z".parse().expect("ts"),
        );
        assert_eq!(e["object"], "event");
        assert_eq!(e["type"], "payment_intent.payment_failed");
        assert_eq!(e["livemode"], false);
        assert_eq!(e["data"]["object"]["object"], "payment_intent");
        assert!(
            e["data"]["object"]["id"]
                .as_str()
                .is_some_and(|s| s.starts_with("pi_test_"))
        );
    }

    #[tokio::test]
    async fn private_targets_are_refused_unless_allowed() {
        let refused = guard_target("http://127.0.0.1:9/hook", false).await;
        assert!(refused.is_err_and(|f| f.error.contains("not a public address")));
        let allowed = guard_target("http://127.0.0.1:9/hook", true).await;
        assert!(allowed.is_ok());
        assert!(guard_target("ftp://127.0.0.1/x", true).await.is_err());
        assert!(
            guard_target("https://user:pw@127.0.0.1/x", true)
                .await
                .is_err_and(|f| !f.error.contains("pw"))
        );
    }

    #[test]
    fn urls_in_messages_lose_their_query() {
        assert_eq!(
            display_url("https://h.example/p?token=sekrit"),
            "https://h.example/p"
        );
    }

    /// The copy this module had dropped the port (two receivers on one host looked the same)
    /// and showed the first and last characters of a value that was not a URL.
    #[test]
    fn urls_in_messages_keep_their_port_and_a_non_url_is_not_echoed() {
        assert_eq!(
            display_url("http://127.0.0.1:8080/webhooks/stripe?token=t"),
            "http://127.0.0.1:8080/webhooks/stripe"
        );
        let shown = display_url("whsec_not_a_url_0123456789abcdef");
        assert!(
            !shown.contains("whse") && !shown.contains("cdef"),
            "{shown}"
        );
    }
}
