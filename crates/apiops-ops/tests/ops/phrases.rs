//! The table of requests apiops was asked to understand (`intent::phrases::PHRASES`): every
//! phrase and paraphrase reaches its capability; none that reads or asks about money plans a
//! side effect; changes (a purchase, a test message) always wait for a person; and the README
//! shows the table as it is.

use apiops_ops::catalog::{OpKind, Operation};
use apiops_ops::intent::phrases::{Capability, PHRASES, markdown_table};
use apiops_ops::intent::{Intent, parse};
use apiops_ops::{Origin, Policy, gate};

/// The capability an answer reaches: a run, or a question about one operation (a purchase
/// without an area code asks which one).
fn reached(intent: &Intent) -> Option<(Capability, OpKind)> {
    match intent {
        Intent::Run { operation } => {
            let webhooks_only = matches!(
                operation,
                Operation::AuditConfig {
                    webhooks_only: true,
                    ..
                }
            );
            let kind = operation.kind();
            Capability::of(kind, webhooks_only).map(|c| (c, kind))
        }
        Intent::Ask { kind: Some(k), .. } => Capability::of(*k, false).map(|c| (c, *k)),
        _ => None,
    }
}

#[test]
fn every_phrase_and_paraphrase_reaches_its_capability() {
    let mut wrong = Vec::new();
    for p in PHRASES {
        assert!(
            p.paraphrases.len() >= 5,
            "{:?} has fewer than five paraphrases",
            p.phrase
        );
        for text in std::iter::once(&p.phrase).chain(p.paraphrases) {
            let intent = parse(text);
            let got = reached(&intent).map(|(c, _)| c);
            if got != Some(p.capability) {
                wrong.push(format!(
                    "{text:?}: expected {:?}, got {intent:?}",
                    p.capability
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn reads_plan_no_side_effect_and_changes_wait_for_a_person() {
    let policy = Policy::default();
    for p in PHRASES {
        for text in std::iter::once(&p.phrase).chain(p.paraphrases) {
            let Some((_, kind)) = reached(&parse(text)) else {
                continue; // the test above reports it
            };
            let spec = kind.spec();
            if p.capability.changes() {
                assert!(
                    gate(spec, &policy, Origin::Requested).needs_confirmation(),
                    "{text:?} would run {} without a person",
                    spec.name
                );
            } else {
                assert!(
                    spec.read_only(),
                    "{text:?} plans {}, which changes something",
                    spec.name
                );
            }
        }
    }
}

#[test]
fn questions_about_money_never_plan_what_spends_it() {
    let money = [
        "how much did we spend on openai this month",
        "how much does a test completion cost",
        "what did the test messages cost us",
        "how much do we pay for sms",
        "openai spend today",
        "cost of completions with gpt-4o",
        "how much money did stripe take in fees",
        "what would buying a number in 415 cost",
        "how much did sending texts cost last month",
        "twilio bill",
    ];
    for text in money {
        let intent = parse(text);
        if let Intent::Run { operation } = &intent {
            assert!(
                operation.spec().read_only() && !operation.spec().costs_money,
                "{text:?} plans {}",
                operation.kind().name()
            );
        } else if let Intent::Ask { kind: Some(k), .. } = &intent {
            assert!(k.spec().read_only(), "{text:?} asks about {}", k.name());
        }
    }
    let spend = parse("how much did we spend on openai this month");
    assert!(
        matches!(
            &spend,
            Intent::Run {
                operation: Operation::UsageReport { .. }
            }
        ),
        "{spend:?}"
    );
}

#[test]
fn webhook_issues_run_errors_and_the_webhook_part_of_the_audit() {
    let Intent::Run { operation } = parse("Stripe webhook issues") else {
        panic!("not a run");
    };
    match operation {
        Operation::AuditWebhooks { services, .. } => {
            assert_eq!(services, vec![apiops_core::Service::Stripe]);
        }
        other => panic!("{other:?}"),
    }
    let Intent::Run { operation } = parse("check webhooks") else {
        panic!("not a run");
    };
    assert!(matches!(
        operation,
        Operation::AuditConfig {
            webhooks_only: true,
            ..
        }
    ));
}

#[test]
fn usage_requests_carry_their_period_and_grouping() {
    use apiops_ops::catalog::{UsageBy, UsagePeriod};
    let cases = [
        ("openai spend this month", UsagePeriod::ThisMonth, None),
        ("twilio usage last month", UsagePeriod::LastMonth, None),
        ("stripe fees today", UsagePeriod::Today, None),
        (
            "usage over the last 7 days",
            UsagePeriod::Last(7 * 86_400),
            None,
        ),
        (
            "openai costs by model",
            UsagePeriod::DEFAULT,
            Some(UsageBy::Model),
        ),
        (
            "spend per day this month",
            UsagePeriod::ThisMonth,
            Some(UsageBy::Day),
        ),
        (
            "token usage by project",
            UsagePeriod::DEFAULT,
            Some(UsageBy::Project),
        ),
    ];
    for (text, period, by) in cases {
        match parse(text) {
            Intent::Run {
                operation:
                    Operation::UsageReport {
                        period: p, by: b, ..
                    },
            } => {
                assert_eq!((p, b), (period, by), "{text:?}");
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

#[test]
fn the_readme_shows_the_table() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let table = markdown_table();
    assert!(
        readme.contains(&table),
        "README.md does not show the phrase table as it is; replace it with:\n{table}"
    );
}
