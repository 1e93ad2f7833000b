//! What a person reads of a pending confirmation on the Pending confirmations page: a
//! catalog plan ([`PlanView`]: its steps, risks, cost and who may say yes) or a configured
//! API's write ([`WriteView`]: the API, method and path, the parameters and body as recorded,
//! masked, who asked), every text cleaned of secrets and control characters.

use apiops_ops::pending::ApiWrite;
use apiops_ops::plan::{Cost, Planned};
use apiops_ops::{Plan, TrustClass};

use super::MAX_TEXT;
use crate::DashboardState;
use crate::view::clean;

/// A plan as a person reads it before saying yes.
#[derive(Debug)]
pub(crate) struct PlanView {
    pub name: String,
    pub operation: &'static str,
    pub request: String,
    pub steps: Vec<StepRow>,
    pub batch: bool,
    pub side_effects: &'static str,
    pub flags: String,
    pub risks: Vec<String>,
    pub cost: String,
    pub trust: &'static str,
    pub trust_class: &'static str,
    pub why: String,
}

/// One step of a plan.
#[derive(Debug)]
pub(crate) struct StepRow {
    pub n: u32,
    pub text: String,
    /// Why nothing will be sent for it, when its effect is already in place.
    pub already: String,
}

/// What the person sees of `plan`: what `apiops confirm` prints, as HTML.
pub(super) fn plan_view(state: &DashboardState, plan: &Plan) -> PlanView {
    let spec = plan.operation.spec();
    let trust = apiops_ops::trust_of_plan(plan, state.config.settings.policy.batch_cap);
    let mut flags = vec![spec.risk.as_str()];
    flags.push(if spec.reversible {
        "reversible"
    } else {
        "irreversible"
    });
    for (on, name) in [
        (spec.purchase, "purchase"),
        (spec.deletion, "deletion"),
        (spec.auth, "credentials"),
        (spec.costs_money, "costs money"),
    ] {
        if on {
            flags.push(name);
        }
    }
    let (trust_label, trust_class) = match trust.class {
        TrustClass::Read => ("reads only", "ok"),
        TrustClass::InAccount => ("a reversible change inside the account", "warn"),
        TrustClass::Person => ("needs a person", "bad"),
    };
    PlanView {
        name: clean(state, &plan.name, 200),
        operation: spec.summary,
        request: clean(state, &plan.request, MAX_TEXT),
        steps: plan
            .steps
            .iter()
            .map(|s| StepRow {
                n: s.index + 1,
                text: clean(state, &s.action.describe(), MAX_TEXT),
                already: match &s.planned {
                    Planned::ToDo => String::new(),
                    Planned::AlreadyDone { reason, .. } => clean(state, reason, MAX_TEXT),
                },
            })
            .collect(),
        batch: plan.batch,
        side_effects: spec.side_effects,
        flags: flags.join(" · "),
        risks: plan
            .risks
            .iter()
            .map(|r| clean(state, r, MAX_TEXT))
            .collect(),
        cost: plan
            .cost
            .as_ref()
            .map(|c| clean(state, &cost_line(c), MAX_TEXT))
            .unwrap_or_default(),
        trust: trust_label,
        trust_class,
        why: clean(state, &trust.why, MAX_TEXT),
    }
}

fn cost_line(c: &Cost) -> String {
    match &c.amount {
        Some(a) => format!(
            "{a} {} per {} ({})",
            c.currency.as_deref().unwrap_or(""),
            c.per,
            c.source
        ),
        None => format!("per {} — {}", c.per, c.source),
    }
}

/// A configured API's write as a person reads it before saying yes.
#[derive(Debug)]
pub(crate) struct WriteView {
    pub api: String,
    pub operation: String,
    pub summary: String,
    pub method: String,
    pub path: String,
    pub params: Vec<String>,
    pub body: String,
    pub idempotency: String,
    pub deletion: bool,
    pub asked_by: String,
    pub why: String,
}

/// What the person sees of an API write.
pub(super) fn write_view(state: &DashboardState, w: &ApiWrite) -> WriteView {
    let p = &w.api_write;
    let c = |s: &str| clean(state, s, MAX_TEXT);
    WriteView {
        api: c(&p.api),
        operation: c(&p.operation),
        summary: c(&p.summary),
        method: c(&p.request.method),
        path: c(&p.request.path),
        params: w.params_shown.iter().map(|s| c(s)).collect(),
        body: w.body_shown.as_deref().map(c).unwrap_or_default(),
        idempotency: p
            .idempotency
            .as_ref()
            .map(|(h, k)| c(&format!("{h}: {k}")))
            .unwrap_or_default(),
        deletion: p.needs_person,
        asked_by: c(&w.asked_by),
        why: c(&apiops_ops::apis::trust_of_write(p).why),
    }
}
