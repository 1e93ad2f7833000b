//! The policy gate: whether a plan may run without a person saying yes.
//!
//! The rules (DESIGN.md §5), in order:
//! 1. Reads run without confirmation.
//! 2. Purchases, deletions and anything touching credentials always need a person — whatever
//!    the configuration says, whoever asks (a person, `apiops serve`'s auto-fix, an AI agent).
//! 3. An automatic run (auto-fix) may proceed only when the operation fixes a category that
//!    can be auto-fixed at all (`config`, `rate_limit`, `bad_params`) and the configuration
//!    enables auto-fix for that category.
//! 4. Everything else needs a confirmation: a prompt on a terminal, `--yes`, or the MCP
//!    client's explicit `confirm`.
//!
//! [`Policy`] can only be built from categories, and [`gate`] checks rule 2 before looking at
//! it, so no configuration can make a purchase, a deletion or an auth fix automatic.

use std::collections::BTreeSet;

use apiops_core::Category;
use serde::Serialize;

use crate::catalog::{OpKind, OpSpec};
use crate::plan::Plan;

/// What the configuration allows to run without a person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    auto_fix: BTreeSet<Category>,
}

impl Policy {
    /// Auto-fix enabled for `categories`; those that can never be automatic are dropped (and
    /// returned, so configuration loading can name them).
    pub fn new(categories: impl IntoIterator<Item = Category>) -> (Policy, Vec<Category>) {
        let mut auto_fix = BTreeSet::new();
        let mut refused = Vec::new();
        for c in categories {
            if c.auto_fixable() {
                auto_fix.insert(c);
            } else {
                refused.push(c);
            }
        }
        (Policy { auto_fix }, refused)
    }

    /// The categories auto-fix is enabled for.
    pub fn auto_fix(&self) -> impl Iterator<Item = Category> + '_ {
        self.auto_fix.iter().copied()
    }
}

/// Who is asking for the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A person or an agent on their behalf: confirmation comes from a prompt, `--yes` or an
    /// explicit confirm.
    Requested,
    /// apiops itself, fixing a problem it found (`apiops serve`'s auto-fix).
    AutoFix,
}

/// The gate's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Gate {
    /// May run without asking.
    Proceed {
        /// Why (shown in the plan).
        reason: String,
    },
    /// A person must say yes first.
    Confirm {
        /// Why (shown in the plan and in the refusal).
        reason: String,
        /// True when no configuration could change that (purchase, deletion, auth).
        always: bool,
    },
}

impl Gate {
    /// Whether the run needs a person's yes.
    pub fn needs_confirmation(&self) -> bool {
        matches!(self, Gate::Confirm { .. })
    }
}

/// Who may say yes to an operation (DESIGN.md §11), beyond the policy gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustClass {
    /// Reads only: runs at once.
    Read,
    /// A reversible change that stays inside the account and reaches no third party:
    /// `--allow-execute` may stand in for the person's yes.
    InAccount,
    /// A person must say yes, whatever the flags; over MCP HTTP only out of the agent's
    /// channel (`apiops confirm`, the dashboard).
    Person,
}

/// Why an operation needs a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonRule {
    /// It buys something.
    Purchase,
    /// It deletes or releases something.
    Deletion,
    /// It touches credentials.
    Credentials,
    /// It spends money on each call (an SMS, a paid completion).
    SpendsMoney,
    /// It points a provider at a URL (webhooks, endpoints): the account's traffic goes there.
    PointsAtUrl,
    /// It sends events signed with the account's secret to a URL.
    SendsSignedEvents,
    /// More items than the batch cap allows without a person.
    OverBatchCap,
    /// A write to an API apiops has no catalog for: what it changes, spends or reaches is
    /// not known, so it is not taken for an in-account change.
    UnknownEffects,
}

/// An operation's trust class and why, in one sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trust {
    /// The class.
    pub class: TrustClass,
    /// The rule that makes it need a person, when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<PersonRule>,
    /// Why, for people and agents.
    pub why: String,
}

impl Trust {
    pub(crate) fn person(rule: PersonRule, why: impl Into<String>) -> Self {
        Trust {
            class: TrustClass::Person,
            rule: Some(rule),
            why: why.into(),
        }
    }

    /// Whether `--allow-execute` may stand in for the person's yes.
    pub fn allow_execute_covers(&self) -> bool {
        self.class != TrustClass::Person
    }

    /// Whether only a person can say yes.
    pub fn needs_person(&self) -> bool {
        self.class == TrustClass::Person
    }
}

/// The trust class of an operation kind, whatever its parameters.
pub fn trust_of(kind: OpKind) -> Trust {
    use PersonRule as R;
    let spec = kind.spec();
    if spec.read_only() {
        return Trust {
            class: TrustClass::Read,
            rule: None,
            why: "reads only".into(),
        };
    }
    if spec.purchase {
        return Trust::person(R::Purchase, "a purchase: spends the account's money");
    }
    if spec.deletion {
        return Trust::person(R::Deletion, "a deletion: cannot be undone by apiops");
    }
    if spec.auth {
        return Trust::person(R::Credentials, "a change to credentials");
    }
    match kind {
        OpKind::TwilioSendTestSms => Trust::person(
            R::SpendsMoney,
            "sends real SMS to phone numbers outside the account, billed per segment",
        ),
        OpKind::OpenaiTestCompletion => {
            Trust::person(R::SpendsMoney, "a billed request to the model")
        }
        OpKind::TwilioUpdateNumber => Trust::person(
            R::PointsAtUrl,
            "points the number's webhooks at a URL: callers' numbers and message texts go there",
        ),
        OpKind::StripeEnableEndpoint => Trust::person(
            R::PointsAtUrl,
            "resumes delivery of the account's events to the endpoint's URL",
        ),
        OpKind::StripeUpdateEndpoint => Trust::person(
            R::PointsAtUrl,
            "changes where Stripe sends the account's events, or which ones it sends there",
        ),
        OpKind::StripeSendTestEvent | OpKind::StripeResendUndelivered => Trust::person(
            R::SendsSignedEvents,
            "POSTs events signed with the account's webhook secret to a URL",
        ),
        _ => Trust {
            class: TrustClass::InAccount,
            rule: None,
            why: "a reversible change inside the account that reaches no third party".into(),
        },
    }
}

/// The trust class of a planned operation: its kind's, or [`PersonRule::OverBatchCap`] when
/// it has more steps to do than `batch_cap` (0: every change needs a person).
pub fn trust_of_plan(plan: &Plan, batch_cap: usize) -> Trust {
    let base = trust_of(plan.kind());
    let items = plan.to_do().count();
    if base.class == TrustClass::InAccount && items > batch_cap {
        return Trust::person(
            PersonRule::OverBatchCap,
            format!("{items} items is over the batch cap of {batch_cap} ([policy] batch_cap)"),
        );
    }
    base
}

/// The default [`trust_of_plan`] batch cap.
pub const DEFAULT_BATCH_CAP: usize = 10;

/// Judges one operation.
pub fn gate(spec: &OpSpec, policy: &Policy, origin: Origin) -> Gate {
    if spec.read_only() {
        return Gate::Proceed {
            reason: "reads only".into(),
        };
    }
    let never_automatic = [
        (spec.purchase, "a purchase"),
        (spec.deletion, "a deletion"),
        (spec.auth, "a change to credentials"),
    ];
    if let Some((_, what)) = never_automatic.iter().find(|(flag, _)| *flag) {
        return Gate::Confirm {
            reason: format!(
                "{} is {what}: it always needs a person's confirmation",
                spec.name
            ),
            always: true,
        };
    }
    match (origin, spec.fixes) {
        (Origin::AutoFix, Some(category))
            if category.auto_fixable() && policy.auto_fix.contains(&category) =>
        {
            Gate::Proceed {
                reason: format!("auto-fix is enabled for {category} in the policy"),
            }
        }
        (Origin::AutoFix, Some(category)) => Gate::Confirm {
            reason: format!(
                "auto-fix is not enabled for {category} (policy.auto_fix); {} changes live configuration",
                spec.name
            ),
            always: false,
        },
        _ => Gate::Confirm {
            reason: format!("{}: {}", spec.name, spec.side_effects),
            always: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::catalog::{CATALOG, OpKind};

    fn any_categories() -> impl Strategy<Value = Vec<Category>> {
        proptest::collection::vec(proptest::sample::select(Category::ALL.to_vec()), 0..12)
    }

    proptest! {
        /// The safety rule: no configuration, no origin, makes a purchase, a deletion or an
        /// auth change run without a person.
        #[test]
        fn no_configuration_makes_purchases_deletions_or_auth_automatic(
            categories in any_categories(),
        ) {
            let (policy, _) = Policy::new(categories);
            for spec in CATALOG.iter().filter(|s| s.purchase || s.deletion || s.auth) {
                for origin in [Origin::Requested, Origin::AutoFix] {
                    let verdict = gate(spec, &policy, origin);
                    let is_always = matches!(verdict, Gate::Confirm { always: true, .. });
                    prop_assert!(is_always, "{} ran without a person: {:?}", spec.name, verdict);
                }
            }
        }

        #[test]
        fn auto_fix_proceeds_only_for_enabled_fixable_categories(categories in any_categories()) {
            let (policy, refused) = Policy::new(categories.clone());
            for c in &refused {
                prop_assert!(!c.auto_fixable());
            }
            for spec in CATALOG.iter().filter(|s| !s.read_only()) {
                let verdict = gate(spec, &policy, Origin::AutoFix);
                let allowed = !spec.purchase && !spec.deletion && !spec.auth
                    && spec.fixes.is_some_and(|c| c.auto_fixable() && categories.contains(&c));
                prop_assert_eq!(!verdict.needs_confirmation(), allowed, "{}", spec.name);
            }
        }
    }

    #[test]
    fn an_auth_operation_is_never_automatic_even_if_it_claims_a_fixable_category() {
        // A hypothetical catalog entry that rotates a key and claims to fix `config`.
        let spec = OpSpec {
            auth: true,
            fixes: Some(Category::Config),
            ..*OpKind::StripeDisableEndpoint.spec()
        };
        let (policy, _) = Policy::new(Category::ALL.iter().copied());
        assert!(matches!(
            gate(&spec, &policy, Origin::AutoFix),
            Gate::Confirm { always: true, .. }
        ));
    }

    #[test]
    fn allow_execute_covers_only_in_account_changes() {
        for spec in CATALOG {
            let t = trust_of(spec.kind);
            let dangerous = spec.purchase
                || spec.deletion
                || spec.auth
                || spec.costs_money
                || matches!(
                    spec.kind,
                    OpKind::TwilioSendTestSms
                        | OpKind::TwilioUpdateNumber
                        | OpKind::StripeEnableEndpoint
                        | OpKind::StripeUpdateEndpoint
                        | OpKind::StripeSendTestEvent
                        | OpKind::StripeResendUndelivered
                );
            if dangerous {
                assert!(t.needs_person(), "{}: {t:?}", spec.name);
                assert!(!t.allow_execute_covers(), "{}", spec.name);
            }
            if spec.read_only() {
                assert_eq!(t.class, TrustClass::Read, "{}", spec.name);
            }
            assert!(!t.why.is_empty());
        }
        assert_eq!(
            trust_of(OpKind::StripeDisableEndpoint).class,
            TrustClass::InAccount
        );
    }

    /// What each trust class lets through, on every operation of the catalog: `--allow-execute`
    /// stands in exactly for reads and in-account changes, a person exactly for the rest.
    #[test]
    fn each_class_says_who_may_say_yes() {
        let mut seen = BTreeSet::new();
        for spec in CATALOG {
            let t = trust_of(spec.kind);
            let person = t.class == TrustClass::Person;
            assert_eq!(t.needs_person(), person, "{}: {t:?}", spec.name);
            assert_eq!(t.allow_execute_covers(), !person, "{}: {t:?}", spec.name);
            assert_eq!(
                t.rule.is_some(),
                person,
                "{}: a rule exactly when a person is needed",
                spec.name
            );
            seen.insert(format!("{:?}", t.class));
        }
        assert_eq!(
            seen.len(),
            3,
            "the catalog has reads, in-account changes and person-only ones: {seen:?}"
        );
        let in_account = trust_of(OpKind::StripeDisableEndpoint);
        assert!(in_account.allow_execute_covers() && !in_account.needs_person());
        let read = trust_of(OpKind::StripeListEndpoints);
        assert!(read.allow_execute_covers() && !read.needs_person());
        let person = trust_of(OpKind::TwilioSendTestSms);
        assert!(!person.allow_execute_covers() && person.needs_person());
    }

    /// The rule named for each person-only operation.
    #[test]
    fn each_person_rule_is_the_operations_own() {
        use PersonRule as R;
        for spec in CATALOG {
            let want = if spec.read_only() {
                None
            } else if spec.purchase {
                Some(R::Purchase)
            } else if spec.deletion {
                Some(R::Deletion)
            } else if spec.auth {
                Some(R::Credentials)
            } else {
                match spec.kind {
                    OpKind::TwilioSendTestSms | OpKind::OpenaiTestCompletion => {
                        Some(R::SpendsMoney)
                    }
                    OpKind::TwilioUpdateNumber
                    | OpKind::StripeEnableEndpoint
                    | OpKind::StripeUpdateEndpoint => Some(R::PointsAtUrl),
                    OpKind::StripeSendTestEvent | OpKind::StripeResendUndelivered => {
                        Some(R::SendsSignedEvents)
                    }
                    _ => None,
                }
            };
            assert_eq!(trust_of(spec.kind).rule, want, "{}", spec.name);
        }
    }

    /// A plan of `operation` with `to_do` steps still to run and one already done.
    fn plan_of(operation: crate::catalog::Operation, to_do: u32) -> Plan {
        use crate::plan::{Planned, Step, StepAction};
        let step = |index: u32, planned: Planned| Step {
            index,
            action: StepAction::UpdateEndpoint {
                id: format!("we_{index}"),
                disabled: Some(true),
                url: None,
                events: None,
            },
            planned,
        };
        let mut steps: Vec<Step> = (0..to_do).map(|i| step(i, Planned::ToDo)).collect();
        steps.push(step(
            to_do,
            Planned::AlreadyDone {
                reason: "already disabled".into(),
                resource_ids: vec![format!("we_{to_do}")],
            },
        ));
        Plan {
            key: "k".into(),
            request: "r".into(),
            operation,
            name: "n".into(),
            steps,
            risks: Vec::new(),
            cost: None,
            batch: true,
            planned_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    /// The batch cap: an in-account change of up to `cap` items keeps its class; one item more
    /// needs a person. Items already done do not count; other classes never change.
    #[test]
    fn the_batch_cap_turns_a_large_in_account_change_into_a_person_one() {
        use crate::catalog::{EndpointRef, Operation};
        let disable = || Operation::StripeSetEndpointEnabled {
            endpoint: EndpointRef::Id("we_1".into()),
            enabled: false,
        };
        for cap in [0usize, 1, 3, DEFAULT_BATCH_CAP] {
            let n = u32::try_from(cap).expect("small");
            let at = trust_of_plan(&plan_of(disable(), n), cap);
            assert_eq!(at.class, TrustClass::InAccount, "{cap}: {at:?}");
            assert_eq!(at.rule, None);
            let over = trust_of_plan(&plan_of(disable(), n + 1), cap);
            assert_eq!(over.class, TrustClass::Person, "{cap}: {over:?}");
            assert_eq!(over.rule, Some(PersonRule::OverBatchCap));
            assert!(
                over.why.contains(&format!("{} items", n + 1)),
                "{}",
                over.why
            );
            assert!(
                over.why.contains(&format!("batch cap of {cap}")),
                "{}",
                over.why
            );
            if cap > 0 {
                let under = trust_of_plan(&plan_of(disable(), n - 1), cap);
                assert_eq!(under.class, TrustClass::InAccount, "{cap}: {under:?}");
            }
        }
        // A person-only kind keeps its own rule, however few items; a read stays a read.
        let update = Operation::StripeUpdateEndpoint {
            endpoint: "we_1".into(),
            url: Some("https://example.com/hook".into()),
            events: None,
        };
        let t = trust_of_plan(&plan_of(update, 50), 10);
        assert_eq!(t.rule, Some(PersonRule::PointsAtUrl));
        let read = trust_of_plan(&plan_of(Operation::StripeListEndpoints, 50), 10);
        assert_eq!(read.class, TrustClass::Read);
    }

    #[test]
    fn auth_and_carrier_cannot_be_enabled() {
        let (policy, refused) = Policy::new([Category::Auth, Category::Config, Category::Carrier]);
        assert_eq!(refused, vec![Category::Auth, Category::Carrier]);
        assert_eq!(
            policy.auto_fix().collect::<Vec<_>>(),
            vec![Category::Config]
        );
    }

    #[test]
    fn reads_proceed_and_requested_changes_need_a_yes() {
        let (policy, _) = Policy::new(Category::ALL.iter().copied());
        let read = OpKind::StripeListEndpoints.spec();
        assert!(!gate(read, &policy, Origin::Requested).needs_confirmation());
        let change = OpKind::StripeDisableEndpoint.spec();
        // Even with every category enabled, a person's request is confirmed by that person.
        assert!(matches!(
            gate(change, &policy, Origin::Requested),
            Gate::Confirm { always: false, .. }
        ));
        assert!(!gate(change, &policy, Origin::AutoFix).needs_confirmation());
        let (none, _) = Policy::new([]);
        // Not enabled: the refusal names the category and the setting.
        let category = change
            .fixes
            .expect("disabling an endpoint fixes a category");
        match gate(change, &none, Origin::AutoFix) {
            Gate::Confirm { reason, always } => {
                assert!(!always);
                assert!(
                    reason.starts_with(&format!(
                        "auto-fix is not enabled for {category} (policy.auto_fix)"
                    )),
                    "{reason}"
                );
            }
            other => panic!("auto-fix without the category enabled: {other:?}"),
        }
        match gate(change, &policy, Origin::AutoFix) {
            Gate::Proceed { reason } => {
                assert_eq!(
                    reason,
                    format!("auto-fix is enabled for {category} in the policy")
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
