//! Grouping and ranking: events in, [`ErrorGroup`]s out, ranked by frequency x severity, each
//! with its suggested fix; and the numbered recommendations of a report. Pure, and in memory
//! proportional to the number of distinct (service, code) pairs, never to the event count.

use std::collections::BTreeMap;

use apiops_core::{
    Category, ErrorEvent, ErrorGroup, Finding, Health, HealthStatus, Service, Severity,
};

#[derive(Debug)]
struct Acc {
    category: Category,
    severity: Severity,
    count: u64,
    fix: String,
    unknown: bool,
}

/// Accumulates events into groups.
#[derive(Debug, Default)]
pub struct Aggregator {
    groups: BTreeMap<(Service, String), Acc>,
    total: u64,
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one event; `fix` and `known` come from the provider's classification of its code.
    pub fn push(&mut self, event: &ErrorEvent, fix: &str, known: bool) {
        self.total += 1;
        let acc = self
            .groups
            .entry((event.service, event.error_code.clone()))
            .or_insert_with(|| Acc {
                category: event.category,
                severity: event.severity,
                count: 0,
                fix: fix.to_owned(),
                unknown: !known,
            });
        acc.count += 1;
        // One code, one group: keep the worst severity seen for it.
        acc.severity = acc.severity.max(event.severity);
    }

    /// Adds the counts of `other` (another service's scan, say): one group per (service,
    /// code), the worst severity of both, the first fix seen.
    pub fn merge(&mut self, other: Aggregator) {
        self.total += other.total;
        for (key, acc) in other.groups {
            match self.groups.entry(key) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(acc);
                }
                std::collections::btree_map::Entry::Occupied(mut o) => {
                    let mine = o.get_mut();
                    mine.count += acc.count;
                    mine.severity = mine.severity.max(acc.severity);
                }
            }
        }
    }

    /// An aggregator holding `groups` (a finished result, stored and read back) and their
    /// `total`, so a scan of the windows an earlier scan could not read adds to it exactly as
    /// if both had been one scan.
    pub fn from_groups(groups: impl IntoIterator<Item = ErrorGroup>, total: u64) -> Self {
        let mut a = Aggregator::new();
        a.total = total;
        for g in groups {
            a.groups.insert(
                (g.service, g.error_code),
                Acc {
                    category: g.category,
                    severity: g.severity,
                    count: g.count,
                    fix: g.suggested_fix,
                    unknown: g.unknown,
                },
            );
        }
        a
    }

    /// Events counted.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The groups, ranked: score (count x severity weight) first, then count, then code and
    /// service for a stable order (so equal groups of several services sit side by side).
    pub fn finish(self) -> Vec<ErrorGroup> {
        let mut groups: Vec<ErrorGroup> = self
            .groups
            .into_iter()
            .map(|((service, error_code), a)| ErrorGroup {
                service,
                error_code,
                category: a.category,
                severity: a.severity,
                count: a.count,
                suggested_fix: a.fix,
                unknown: a.unknown,
            })
            .collect();
        groups.sort_by(|a, b| {
            b.score()
                .cmp(&a.score())
                .then(b.count.cmp(&a.count))
                .then(a.error_code.cmp(&b.error_code))
                .then(a.service.cmp(&b.service))
        });
        groups
    }
}

/// Numbered recommendations, most important first: services down, then critical groups and
/// findings, then the top warning groups; at most `limit`.
pub fn recommendations(
    health: &[Health],
    groups: &[ErrorGroup],
    findings: &[Finding],
    limit: usize,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for h in health {
        match h.status {
            HealthStatus::Down => out.push(format!(
                "{} is down: {}",
                h.service.display_name(),
                h.reason.as_deref().unwrap_or("see the health check")
            )),
            HealthStatus::Degraded => out.push(format!(
                "{} is degraded: {}",
                h.service.display_name(),
                h.reason.as_deref().unwrap_or("see the health check")
            )),
            HealthStatus::Operational => {}
        }
    }
    let mut ranked: Vec<(u64, String)> = Vec::new();
    for g in groups {
        ranked.push((
            g.score(),
            format!(
                "{} {} ({}, {} in the period): {}",
                g.service.display_name(),
                g.error_code,
                g.category,
                g.count,
                g.suggested_fix
            ),
        ));
    }
    for f in findings {
        // A finding stands for a standing misconfiguration: weigh it like a handful of events.
        ranked.push((
            f.severity.weight() * 5,
            format!(
                "{} {} {}: {} — {}",
                f.service.display_name(),
                f.resource_type,
                f.resource_id,
                f.title,
                f.remediation
            ),
        ));
    }
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    out.extend(ranked.into_iter().map(|(_, s)| s));
    out.truncate(limit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiops_core::{ActionTaken, EventResult};

    fn ev(service: Service, code: &str, category: Category) -> ErrorEvent {
        ErrorEvent {
            timestamp: "2026-11-25T10:00:00Z".parse().expect("ts"),
            service,
            error_code: code.into(),
            category,
            severity: category.default_severity(),
            resource_type: "message".into(),
            resource_id: String::new(),
            context: String::new(),
            action_taken: ActionTaken::None,
            result: EventResult::Failed,
        }
    }

    #[test]
    fn merged_services_rank_together_equal_groups_by_code_then_service() {
        let mut twilio = Aggregator::new();
        let mut stripe = Aggregator::new();
        for _ in 0..3 {
            twilio.push(&ev(Service::Twilio, "b", Category::Transient), "t", true);
            stripe.push(&ev(Service::Stripe, "a", Category::Transient), "s", true);
            stripe.push(&ev(Service::Stripe, "b", Category::Transient), "s", true);
        }
        stripe.push(&ev(Service::Stripe, "c", Category::Transient), "s", true);
        let mut all = Aggregator::new();
        all.merge(twilio);
        all.merge(stripe);
        assert_eq!(all.total(), 10);
        let groups = all.finish();
        let order: Vec<(Service, &str)> = groups
            .iter()
            .map(|g| (g.service, g.error_code.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                (Service::Stripe, "a"),
                (Service::Twilio, "b"),
                (Service::Stripe, "b"),
                (Service::Stripe, "c"),
            ]
        );
    }

    #[test]
    fn groups_read_back_merge_like_one_scan() {
        let events = [
            ev(Service::Twilio, "30007", Category::SpamBlocked),
            ev(Service::Twilio, "30008", Category::Transient),
            ev(Service::Stripe, "card_declined", Category::BadParams),
            ev(Service::Twilio, "30007", Category::SpamBlocked),
        ];
        let mut one = Aggregator::new();
        events.iter().for_each(|e| one.push(e, "fix", true));
        let (mut first, mut second) = (Aggregator::new(), Aggregator::new());
        events[..2].iter().for_each(|e| first.push(e, "fix", true));
        events[2..].iter().for_each(|e| second.push(e, "fix", true));
        let stored = first.finish();
        let mut merged = Aggregator::from_groups(stored, 2);
        merged.merge(second);
        assert_eq!(merged.total(), 4);
        assert_eq!(merged.finish(), one.finish());
    }

    #[test]
    fn groups_rank_by_frequency_times_severity() {
        let mut a = Aggregator::new();
        for _ in 0..40 {
            a.push(
                &ev(Service::Twilio, "30008", Category::Transient),
                "retry",
                true,
            );
        }
        for _ in 0..5 {
            a.push(
                &ev(Service::Twilio, "20003", Category::Auth),
                "fix creds",
                true,
            );
        }
        for _ in 0..10 {
            a.push(
                &ev(Service::Twilio, "30007", Category::SpamBlocked),
                "content",
                true,
            );
        }
        a.push(
            &ev(Service::Stripe, "weird", Category::Transient),
            "fallback",
            false,
        );
        assert_eq!(a.total(), 56);
        let g = a.finish();
        let order: Vec<&str> = g.iter().map(|g| g.error_code.as_str()).collect();
        // 20003: 5 x 10 = 50; 40 x 1 = 40; 10 x 3 = 30; 1.
        assert_eq!(order, ["20003", "30008", "30007", "weird"]);
        assert_eq!(g[1].count, 40);
        assert!(g[3].unknown);
        assert_eq!(g[0].suggested_fix, "fix creds");
    }

    #[test]
    fn recommendations_put_outages_first_and_respect_the_limit() {
        let mut a = Aggregator::new();
        a.push(
            &ev(Service::Twilio, "30007", Category::SpamBlocked),
            "content",
            true,
        );
        let groups = a.finish();
        let health = vec![Health {
            service: Service::Openai,
            status: HealthStatus::Down,
            latency_ms: None,
            details: Default::default(),
            warnings: vec![],
            reason: Some("401 invalid_api_key".into()),
            category: Some(apiops_core::Category::Auth),
        }];
        let r = recommendations(&health, &groups, &[], 5);
        assert_eq!(r.len(), 2);
        assert!(r[0].starts_with("OpenAI is down"));
        assert!(r[1].contains("30007"));
        assert_eq!(recommendations(&health, &groups, &[], 1).len(), 1);
    }
}
