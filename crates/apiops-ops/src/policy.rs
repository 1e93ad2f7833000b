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

use crate::catalog::OpSpec;

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
        assert!(gate(change, &none, Origin::AutoFix).needs_confirmation());
    }
}
