//! How `execute_plan` decides whether a plan may run, and how it asks the person.
//!
//! The rules, on top of the policy gate every path shares ([`apiops_ops::gate`]):
//! 1. A plan the gate lets proceed (or whose steps are all already done) runs.
//! 2. A plan that needs confirmation runs after the person says yes through MCP elicitation:
//!    the server asks "Proceed with ...?" with one boolean field, and only `accept` with
//!    `confirm: true` counts; `decline`, `cancel`, `false` or anything else is a refusal.
//! 3. `--allow-execute` (an explicit allowance by whoever started the server) stands in for
//!    that yes, but only for plans whose gate verdict is not `always`: purchases, deletions
//!    and credential changes run only after the person's yes through elicitation, whatever
//!    flag the server was started with.
//! 4. Otherwise (the client cannot elicit, or the answer was not yes) the call is refused as a
//!    tool error saying why, and nothing is done.
//!
//! How the question travels depends on the protocol version the client negotiated: up to
//! 2025-11-25 the server sends an `elicitation/create` request while the call is open; from
//! 2026-07-28 on (where servers may not send requests) the call answers with an
//! `InputRequiredResult` carrying the same elicitation, and the client retries the call with
//! the answer and the echoed `requestState`. That state is an opaque, single-use handle of a
//! pending question kept here, bound to the plan it asked about: an answer only counts for the
//! question the server asked, about the plan it asked it for.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use apiops_ops::{Gate, OpSpec, Plan, Trust};
use serde_json::{Value, json};

/// How long a question waits for its answer.
pub const QUESTION_TTL: Duration = Duration::from_secs(10 * 60);
/// The key of the question in an `InputRequiredResult`'s `inputRequests`.
pub const INPUT_KEY: &str = "confirm";
/// The boolean field the person sets.
pub const FIELD: &str = "confirm";
/// At most this many questions wait at once (the oldest are forgotten first).
const MAX_PENDING: usize = 64;

/// How the server is reached: the trust boundary of elicitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// `apiops mcp`: the client is the person's own app, started by the person; its
    /// elicitation form is shown to that person.
    #[default]
    Stdio,
    /// `/mcp` in `apiops serve`: the client is whatever holds the token, an agent included; an
    /// answer through its channel is the agent's, not a person's.
    Http,
}

/// What `execute_plan` must do with a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run it now; `via` says why no question is needed.
    Run { via: Via },
    /// Ask the person through elicitation; `always` when `--allow-execute` cannot stand in.
    Ask { reason: String, always: bool },
    /// Only a person outside the agent's channel can say yes: `apiops confirm PLAN_ID` in a
    /// terminal or the dashboard's Pending confirmations page (MCP over HTTP).
    Person { reason: String },
}

/// Why a plan ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The gate needs no confirmation (or nothing is left to do).
    NotNeeded,
    /// The server was started with `--allow-execute` and the plan is an in-account change.
    AllowExecute,
    /// The person said yes through elicitation (stdio, or an in-account change over HTTP).
    Elicitation,
    /// A person confirmed it out of the agent's channel (`apiops confirm`, the dashboard).
    Person,
}

/// The rules: reads and plans with nothing left run; `--allow-execute` stands in only for
/// in-account changes; over HTTP what needs a person is confirmed out of band; otherwise the
/// person is asked through elicitation.
pub fn decide(
    gate: &Gate,
    trust: &Trust,
    nothing_to_do: bool,
    allow_execute: bool,
    transport: Transport,
) -> Decision {
    match gate {
        _ if nothing_to_do => Decision::Run {
            via: Via::NotNeeded,
        },
        Gate::Proceed { .. } => Decision::Run {
            via: Via::NotNeeded,
        },
        Gate::Confirm { .. } if allow_execute && trust.allow_execute_covers() => Decision::Run {
            via: Via::AllowExecute,
        },
        Gate::Confirm { reason, always }
            if transport == Transport::Http && (*always || trust.needs_person()) =>
        {
            Decision::Person {
                reason: format!("{reason} ({})", trust.why),
            }
        }
        Gate::Confirm { reason, always } => Decision::Ask {
            reason: reason.clone(),
            always: *always || trust.needs_person(),
        },
    }
}

/// How `execute_plan` would treat an operation on this server, for plans and the catalog.
pub fn how(
    spec: &OpSpec,
    gate: &Gate,
    trust: &Trust,
    allow_execute: bool,
    read_only: bool,
    transport: Transport,
) -> Value {
    let class = json!({"class": trust.class, "rule": trust.rule, "why": trust.why});
    if spec.read_only() {
        return json!({"confirmation": "none", "trust": class, "note": "a read: plan_operation answers it at once"});
    }
    if read_only {
        return json!({"confirmation": "unavailable", "trust": class, "note": "this server was started with --read-only: execute_plan is not offered"});
    }
    match decide(gate, trust, false, allow_execute, transport) {
        Decision::Run {
            via: Via::AllowExecute,
        } => json!({
            "confirmation": "allow_execute",
            "trust": class,
            "note": "runs without asking: an in-account change, and this server was started with --allow-execute",
        }),
        Decision::Run { .. } => {
            json!({"confirmation": "none", "trust": class, "note": "the policy lets it run without asking"})
        }
        Decision::Person { .. } => json!({
            "confirmation": "person",
            "trust": class,
            "note": "only a person outside this agent's channel can confirm it: `apiops confirm PLAN_ID` in a terminal, or the dashboard's Pending confirmations page; an agent's confirm or elicitation answer does not count over HTTP",
        }),
        Decision::Ask { always: true, .. } => json!({
            "confirmation": "elicitation",
            "trust": class,
            "note": "needs the person's yes through MCP elicitation, whatever flags the server has",
        }),
        Decision::Ask { .. } => json!({
            "confirmation": "elicitation",
            "trust": class,
            "note": "runs only after the person confirms through MCP elicitation (or on a server started with --allow-execute)",
        }),
    }
}

/// The question: "Proceed with `operation`: `steps`? ...".
pub fn question(plan: &Plan, spec: &OpSpec) -> String {
    let steps: Vec<String> = plan.to_do().map(|s| s.action.describe()).collect();
    let mut q = format!("Proceed with {}: {}?", plan.name, steps.join("; "));
    let mut notes = Vec::new();
    if !spec.side_effects.is_empty() {
        notes.push(spec.side_effects.to_owned());
    }
    if let Some(c) = &plan.cost {
        match &c.amount {
            Some(a) => notes.push(format!(
                "cost {a} {} per {}",
                c.currency.as_deref().unwrap_or(""),
                c.per
            )),
            None => notes.push(format!("cost per {}: {}", c.per, c.source)),
        }
    }
    if !spec.reversible {
        notes.push("it cannot be undone by apiops".into());
    }
    if !notes.is_empty() {
        q.push_str(&format!(" ({})", notes.join("; ")));
    }
    q.push_str(" Tick the box and accept only if you want this done.");
    q
}

/// The form: one required boolean, no default (an untouched form is not a yes).
pub fn schema() -> serde_json::Map<String, Value> {
    let v = json!({
        "type": "object",
        "properties": {
            FIELD: {
                "type": "boolean",
                "title": "Yes, proceed",
                "description": "Set to true to let apiops carry out the plan exactly as described.",
            }
        },
        "required": [FIELD],
    });
    match v {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

/// The person's answer, from an `ElicitResult` as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Yes,
    /// Anything else, with what it was (for the refusal message).
    No(String),
}

/// Reads an `ElicitResult` (`{"action": "accept", "content": {"confirm": true}}`): only an
/// accepted form with `confirm` exactly `true` is a yes.
pub fn answer(result: &Value) -> Answer {
    match result.get("action").and_then(Value::as_str) {
        Some("accept") => match result.get("content").and_then(|c| c.get(FIELD)) {
            Some(Value::Bool(true)) => Answer::Yes,
            Some(Value::Bool(false)) => Answer::No("the person answered no".into()),
            Some(other) => Answer::No(format!("the answer {other} is not a yes")),
            None => Answer::No("the form came back without an answer".into()),
        },
        Some("decline") => Answer::No("the person declined".into()),
        Some("cancel") => Answer::No("the person cancelled".into()),
        Some(other) => Answer::No(format!("the client answered {other:?}")),
        None => Answer::No("the client's answer was not an elicitation result".into()),
    }
}

/// Questions asked through `InputRequiredResult`, waiting for the retried call: each bound to
/// the plan and the session it was asked in.
#[derive(Debug, Default)]
pub struct Pending {
    questions: HashMap<String, (String, Instant)>,
}

/// The key a question is kept under: the plan and the session it belongs to.
pub fn question_key(plan_id: &str, session: &str) -> String {
    format!("{session}\n{plan_id}")
}

impl Pending {
    /// Records a question about `plan_id`; returns its handle (the `requestState`).
    pub fn ask(&mut self, plan_id: &str, now: Instant) -> String {
        self.questions
            .retain(|_, (_, at)| now.duration_since(*at) < QUESTION_TTL);
        while self.questions.len() >= MAX_PENDING {
            let Some(oldest) = self
                .questions
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.questions.remove(&oldest);
        }
        let handle = format!("confirm_{}", apiops_ops::ids::random_hex(16));
        self.questions
            .insert(handle.clone(), (plan_id.to_owned(), now));
        handle
    }

    /// Takes the question `handle` names if it was asked about `plan_id` and is still fresh.
    /// Single use: a handle answers once.
    pub fn take(&mut self, handle: &str, plan_id: &str, now: Instant) -> Result<(), Unasked> {
        match self.questions.remove(handle) {
            None => Err(Unasked::Unknown),
            Some((asked, _)) if asked != plan_id => Err(Unasked::OtherPlan),
            Some((_, at)) if now.duration_since(at) >= QUESTION_TTL => Err(Unasked::Expired),
            Some(_) => Ok(()),
        }
    }
}

/// Why an answer's `requestState` does not stand for a question this server asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unasked {
    /// Never asked here, or already answered.
    #[error("the requestState is not a question this server asked (or it was already answered)")]
    Unknown,
    /// Asked about another plan (or in another session).
    #[error("the requestState belongs to another plan or session")]
    OtherPlan,
    /// Asked too long ago.
    #[error("the question expired; call execute_plan again to be asked anew")]
    Expired,
}

#[cfg(test)]
mod tests {
    use apiops_ops::{OpKind, Policy, gate};

    use super::*;

    fn verdict(kind: OpKind) -> Gate {
        gate(
            kind.spec(),
            &Policy::default(),
            apiops_ops::Origin::Requested,
        )
    }

    fn decision(kind: OpKind, allow: bool, transport: Transport) -> Decision {
        decide(
            &verdict(kind),
            &apiops_ops::trust_of(kind),
            false,
            allow,
            transport,
        )
    }

    #[test]
    fn what_needs_a_person_is_confirmed_out_of_band_over_http() {
        for kind in [
            OpKind::TwilioBuyNumber,
            OpKind::TwilioReleaseNumber,
            OpKind::TwilioSendTestSms,
            OpKind::TwilioUpdateNumber,
            OpKind::StripeUpdateEndpoint,
            OpKind::StripeEnableEndpoint,
            OpKind::StripeSendTestEvent,
            OpKind::StripeResendUndelivered,
            OpKind::OpenaiTestCompletion,
        ] {
            for allow in [false, true] {
                assert!(
                    matches!(
                        decision(kind, allow, Transport::Http),
                        Decision::Person { .. }
                    ),
                    "{kind:?} over HTTP, allow_execute={allow}"
                );
                // On stdio the person's own client asks them; --allow-execute never stands in.
                assert!(
                    matches!(
                        decision(kind, allow, Transport::Stdio),
                        Decision::Ask { always: true, .. }
                    ),
                    "{kind:?} on stdio, allow_execute={allow}"
                );
            }
        }
    }

    #[test]
    fn allow_execute_stands_in_for_in_account_changes_only() {
        let kind = OpKind::StripeDisableEndpoint;
        for transport in [Transport::Stdio, Transport::Http] {
            assert!(matches!(
                decision(kind, false, transport),
                Decision::Ask { always: false, .. }
            ));
            assert_eq!(
                decision(kind, true, transport),
                Decision::Run {
                    via: Via::AllowExecute
                }
            );
        }
        for spec in apiops_ops::CATALOG {
            let g = gate(spec, &Policy::default(), apiops_ops::Origin::Requested);
            let t = apiops_ops::trust_of(spec.kind);
            for transport in [Transport::Stdio, Transport::Http] {
                let d = decide(&g, &t, false, true, transport);
                if spec.purchase || spec.deletion || spec.auth || spec.costs_money {
                    assert!(!matches!(d, Decision::Run { .. }), "{}", spec.name);
                }
                if matches!(
                    d,
                    Decision::Run {
                        via: Via::AllowExecute
                    }
                ) {
                    assert_eq!(t.class, apiops_ops::TrustClass::InAccount, "{}", spec.name);
                }
                if spec.read_only() {
                    assert_eq!(
                        d,
                        Decision::Run {
                            via: Via::NotNeeded
                        },
                        "{}",
                        spec.name
                    );
                }
            }
        }
    }

    #[test]
    fn nothing_left_to_do_needs_no_question() {
        assert_eq!(
            decide(
                &verdict(OpKind::TwilioBuyNumber),
                &apiops_ops::trust_of(OpKind::TwilioBuyNumber),
                true,
                false,
                Transport::Http
            ),
            Decision::Run {
                via: Via::NotNeeded
            }
        );
    }

    #[test]
    fn only_an_accepted_true_is_a_yes() {
        assert_eq!(
            answer(&json!({"action": "accept", "content": {"confirm": true}})),
            Answer::Yes
        );
        for no in [
            json!({"action": "accept", "content": {"confirm": false}}),
            json!({"action": "accept", "content": {"confirm": "yes"}}),
            json!({"action": "accept", "content": {"confirm": 1}}),
            json!({"action": "accept", "content": {}}),
            json!({"action": "accept"}),
            json!({"action": "decline", "content": {"confirm": true}}),
            json!({"action": "cancel"}),
            json!({"action": "ACCEPT", "content": {"confirm": true}}),
            json!({"confirm": true}),
            json!(null),
            json!({"code": -32603, "message": "no elicitation callback"}),
        ] {
            assert!(matches!(answer(&no), Answer::No(_)), "{no}");
        }
    }

    #[test]
    fn the_form_has_one_required_boolean_without_default() {
        let s = schema();
        assert_eq!(s["required"], json!([FIELD]));
        assert_eq!(s["properties"][FIELD]["type"], "boolean");
        assert!(s["properties"][FIELD].get("default").is_none());
        // rmcp accepts it as an elicitation schema.
        assert!(rmcp::model::ElicitationSchema::from_json_schema(s).is_ok());
    }

    #[test]
    fn a_question_handle_answers_once_for_its_plan_while_fresh() {
        let mut p = Pending::default();
        let t0 = Instant::now();
        let h = p.ask("plan_0000000000000001", t0);
        assert_eq!(
            p.take(&h, "plan_0000000000000002", t0),
            Err(Unasked::OtherPlan)
        );
        // A wrong plan consumed it: asked anew.
        let h = p.ask("plan_0000000000000001", t0);
        assert_eq!(p.take(&h, "plan_0000000000000001", t0), Ok(()));
        assert_eq!(
            p.take(&h, "plan_0000000000000001", t0),
            Err(Unasked::Unknown)
        );
        assert_eq!(
            p.take("confirm_forged", "plan_0000000000000001", t0),
            Err(Unasked::Unknown)
        );
        let h = p.ask("plan_0000000000000001", t0);
        let late = t0 + QUESTION_TTL + Duration::from_secs(1);
        assert_eq!(
            p.take(&h, "plan_0000000000000001", late),
            Err(Unasked::Expired)
        );
    }

    #[test]
    fn pending_questions_are_bounded() {
        let mut p = Pending::default();
        let t0 = Instant::now();
        let first = p.ask("plan_0000000000000001", t0);
        for i in 0..(MAX_PENDING * 2) {
            p.ask(
                "plan_0000000000000002",
                t0 + Duration::from_millis(i as u64 + 1),
            );
        }
        assert!(p.questions.len() <= MAX_PENDING);
        assert!(p.take(&first, "plan_0000000000000001", t0).is_err());
    }
}
