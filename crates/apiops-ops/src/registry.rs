//! Plans made and not yet executed: what `plan_operation` leaves for `execute_plan` (MCP, over
//! stdio and HTTP alike). Each plan is kept under an unguessable id, bound to the session that
//! made it, for [`PLAN_TTL`]; at most [`MAX_PLANS`] are kept, the oldest forgotten first.
//!
//! A configured API's write (`call_api` over MCP) is kept beside them as an [`ApiPlanEntry`]:
//! the same ids, sessions, lifetime and cap, looked up with [`PlanRegistry::get_api`].
//!
//! In memory, per process: a plan that needs a person across processes is a pending
//! confirmation in the store instead.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use apiops_openapi::WritePlan;

use crate::journal::Prepared;
use crate::policy::{Gate, Trust};

/// How long a plan stays executable.
pub const PLAN_TTL: Duration = Duration::from_secs(3600);
/// At most this many plans are kept (the oldest are forgotten first).
pub const MAX_PLANS: usize = 256;

/// A plan waiting to be executed.
#[derive(Debug, Clone)]
pub struct PlanEntry {
    /// The plan, as prepared against the journal.
    pub prepared: Prepared,
    /// The gate's verdict when it was made.
    pub gate: Gate,
    /// When it was made.
    pub made: Instant,
    /// Asked in plain words (which `apiops do` takes as they are).
    pub in_words: bool,
    /// The session that made it: only that session may execute it.
    pub session: String,
}

/// A configured API's write waiting to be executed.
#[derive(Debug, Clone)]
pub struct ApiPlanEntry {
    /// The write, its idempotency key included.
    pub plan: WritePlan,
    /// Who may say yes ([`crate::apis::trust_of_write`]).
    pub trust: Trust,
    /// The command a person runs in a terminal to send it instead.
    pub terminal: String,
    /// When it was made.
    pub made: Instant,
    /// The session that made it: only that session may execute it.
    pub session: String,
}

/// Why a plan id found nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// It was kept, and its time is up.
    Expired,
    /// No such plan in this session (another session's plan is answered so too).
    Unknown,
}

/// The plans of one server, shared by all its sessions.
#[derive(Debug, Default)]
pub struct PlanRegistry {
    plans: Mutex<HashMap<String, PlanEntry>>,
    api: Mutex<HashMap<String, ApiPlanEntry>>,
}

/// Forgets the expired entries of `map` and the oldest beyond the cap; a new id not in it
/// nor in `other`.
fn make_room<T>(
    map: &mut HashMap<String, T>,
    made: impl Fn(&T) -> Instant,
    now: Instant,
    taken: impl Fn(&str) -> bool,
) -> String {
    map.retain(|_, p| now.duration_since(made(p)) < PLAN_TTL);
    while map.len() >= MAX_PLANS {
        let Some(oldest) = map
            .iter()
            .min_by_key(|(_, p)| made(p))
            .map(|(k, _)| k.clone())
        else {
            break;
        };
        map.remove(&oldest);
    }
    loop {
        let candidate = crate::ids::plan_id();
        if !map.contains_key(&candidate) && !taken(&candidate) {
            return candidate;
        }
    }
}

impl PlanRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps a plan made by `session`; returns its new id.
    pub fn remember(
        &self,
        prepared: Prepared,
        gate: Gate,
        in_words: bool,
        session: &str,
    ) -> String {
        self.remember_at(Instant::now(), prepared, gate, in_words, session)
    }

    fn remember_at(
        &self,
        now: Instant,
        prepared: Prepared,
        gate: Gate,
        in_words: bool,
        session: &str,
    ) -> String {
        let mut plans = self.plans.lock().unwrap_or_else(PoisonError::into_inner);
        let api = self.api.lock().unwrap_or_else(PoisonError::into_inner);
        let id = make_room(&mut plans, |p| p.made, now, |id| api.contains_key(id));
        plans.insert(
            id.clone(),
            PlanEntry {
                prepared,
                gate,
                made: now,
                in_words,
                session: session.to_owned(),
            },
        );
        id
    }

    /// The plan `plan_id` of `session`, while it is kept.
    pub fn get(&self, plan_id: &str, session: &str) -> Result<PlanEntry, Missing> {
        self.get_at(Instant::now(), plan_id, session)
    }

    /// Keeps a configured API's write made by `session`; returns its new id.
    pub fn remember_api(&self, plan: WritePlan, terminal: String, session: &str) -> String {
        self.remember_api_at(Instant::now(), plan, terminal, session)
    }

    fn remember_api_at(
        &self,
        now: Instant,
        plan: WritePlan,
        terminal: String,
        session: &str,
    ) -> String {
        let trust = crate::apis::trust_of_write(&plan);
        let plans = self.plans.lock().unwrap_or_else(PoisonError::into_inner);
        let mut api = self.api.lock().unwrap_or_else(PoisonError::into_inner);
        let id = make_room(&mut api, |p| p.made, now, |id| plans.contains_key(id));
        api.insert(
            id.clone(),
            ApiPlanEntry {
                plan,
                trust,
                terminal,
                made: now,
                session: session.to_owned(),
            },
        );
        id
    }

    /// The configured API's write `plan_id` of `session`, while it is kept.
    pub fn get_api(&self, plan_id: &str, session: &str) -> Result<ApiPlanEntry, Missing> {
        self.get_api_at(Instant::now(), plan_id, session)
    }

    fn get_api_at(
        &self,
        now: Instant,
        plan_id: &str,
        session: &str,
    ) -> Result<ApiPlanEntry, Missing> {
        let api = self.api.lock().unwrap_or_else(PoisonError::into_inner);
        match api.get(plan_id).filter(|p| p.session == session) {
            Some(p) if now.duration_since(p.made) < PLAN_TTL => Ok(p.clone()),
            Some(_) => Err(Missing::Expired),
            None => Err(Missing::Unknown),
        }
    }

    fn get_at(&self, now: Instant, plan_id: &str, session: &str) -> Result<PlanEntry, Missing> {
        let plans = self.plans.lock().unwrap_or_else(PoisonError::into_inner);
        match plans.get(plan_id).filter(|p| p.session == session) {
            Some(p) if now.duration_since(p.made) < PLAN_TTL => Ok(p.clone()),
            Some(_) => Err(Missing::Expired),
            None => Err(Missing::Unknown),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Operation;
    use crate::plan::Plan;

    fn prepared() -> Prepared {
        Prepared {
            plan: Plan {
                key: "k".into(),
                request: "list models".into(),
                operation: Operation::OpenaiListModels,
                name: "openai.models.list".into(),
                steps: Vec::new(),
                risks: Vec::new(),
                cost: None,
                batch: false,
                planned_at: jiff::Timestamp::UNIX_EPOCH,
            },
            resumed: None,
            replanned: None,
        }
    }

    #[test]
    fn a_plan_is_found_by_its_session_only_until_it_expires() {
        let r = PlanRegistry::new();
        let t0 = Instant::now();
        let id = r.remember_at(
            t0,
            prepared(),
            Gate::Proceed {
                reason: "read".into(),
            },
            true,
            "s1",
        );
        let got = r.get_at(t0, &id, "s1").expect("kept");
        assert!(got.in_words);
        assert_eq!(got.session, "s1");
        assert_eq!(r.get_at(t0, &id, "s2").err(), Some(Missing::Unknown));
        assert_eq!(
            r.get_at(t0, "plan_nope", "s1").err(),
            Some(Missing::Unknown)
        );
        assert_eq!(
            r.get_at(t0 + PLAN_TTL, &id, "s1").err(),
            Some(Missing::Expired)
        );
    }

    #[test]
    fn the_oldest_plans_are_forgotten_beyond_the_cap_and_ids_differ() {
        let r = PlanRegistry::new();
        let t0 = Instant::now();
        let ids: Vec<String> = (0..=MAX_PLANS as u64)
            .map(|i| {
                r.remember_at(
                    t0 + Duration::from_millis(i),
                    prepared(),
                    Gate::Proceed {
                        reason: "read".into(),
                    },
                    false,
                    "s",
                )
            })
            .collect();
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        let now = t0 + Duration::from_secs(1);
        assert_eq!(r.get_at(now, &ids[0], "s").err(), Some(Missing::Unknown));
        assert!(r.get_at(now, &ids[1], "s").is_ok());
        assert!(r.get_at(now, &ids[MAX_PLANS], "s").is_ok());
    }
}
