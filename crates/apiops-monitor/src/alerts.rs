//! Alert rules: after each job, what it found is turned into [`Eval`]s — one per alert key,
//! firing or not — by pure functions of the job's results (tested without a store), then
//! observed in the store ([`Store::alert_observe`], atomic, so across instances an alert fires
//! once and resolves once). Only a change of state (fired, resolved) is sent to the sinks.
//!
//! The rules (`[monitor]` keys):
//! - `service_down:<service>`: the last `down_after` health checks were all down.
//! - `service_degraded:<service>`: the last `degraded_after` were not operational, the last
//!   one degraded (down is `service_down`'s).
//! - `errors:<service>:<category>`: an error audit found at least the category's threshold.
//! - `rate_limit_headroom:<service>`: less than `headroom_below_percent` of a limit left.
//! - `balance_low:<service>`: the balance is under `balance_floor`.
//! - `endpoint_disabled:<service>:<id>`: the config audit found the endpoint disabled.
//! - `webhook_unreachable:<service>:<url>`: with `probe_webhooks` on, the audit's probe found
//!   that the provider cannot deliver to a webhook URL (`probes.rs`).
//! - `signature_rejects:<service>`: at least `signature_rejects` webhook requests rejected for
//!   their signature within `signature_window`, summed over every instance's reports.
//! - `deprecation:<service>:<endpoint>`: a recent health check saw a deprecation signal.
//! - `budget:<service>` and `usage_anomaly:<service>:<currency>`: the usage job's spend rules
//!   (`usage.rs`).
//!
//! A rule that cannot judge (the check failed, the figure is unknown) makes no observation, so
//! a failed scan never resolves an alert by accident.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use apiops_core::{Category, Finding, HealthStatus, Service, Severity, metric_names};
use apiops_store::{AlertChange, AlertRecord, Store, StoreError};
use jiff::Timestamp;
use serde::Serialize;

use crate::MonitorConfig;
use crate::usage::UsageRules;

/// How many recent health checks the deprecation rule looks at: a deprecation stays firing
/// while any of them reported it (each instance's client sees signals on its own requests).
pub(crate) const DEPRECATION_CHECKS: usize = 5;

/// The rule thresholds, from the [`MonitorConfig`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rules {
    pub(crate) down_after: usize,
    pub(crate) degraded_after: usize,
    pub(crate) error_thresholds: BTreeMap<Category, u64>,
    /// As a ratio (0.1 for 10 %).
    pub(crate) headroom_below: f64,
    /// 0: off.
    pub(crate) balance_floor: f64,
    /// 0: off.
    pub(crate) signature_rejects: u64,
    pub(crate) signature_window: Duration,
    pub(crate) deprecations: bool,
    pub(crate) endpoint_disabled: bool,
    pub(crate) usage: UsageRules,
}

impl Rules {
    pub(crate) fn from_config(m: &MonitorConfig) -> Self {
        Rules {
            down_after: m.down_after.get() as usize,
            degraded_after: m.degraded_after.get() as usize,
            error_thresholds: m.error_thresholds.clone(),
            headroom_below: m.headroom_below_percent / 100.0,
            balance_floor: m.balance_floor,
            signature_rejects: m.signature_rejects,
            signature_window: m.signature_window,
            deprecations: m.deprecations,
            endpoint_disabled: m.endpoint_disabled,
            usage: UsageRules {
                budgets: m.budgets.clone(),
                anomaly_factor: m.usage_anomaly_factor,
                anomaly_days: m.usage_anomaly_days.get(),
                anomaly_min_spend: m.usage_anomaly_min_spend,
                anomaly_min_spend_by_currency: m.usage_anomaly_min_spend_by_currency.clone(),
            },
        }
    }

    /// How many recent health checks the health rules need.
    pub(crate) fn health_history(&self) -> usize {
        self.down_after
            .max(self.degraded_after)
            .max(DEPRECATION_CHECKS)
    }
}

/// One rule's verdict on one subject.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Eval {
    /// `rule:subject`.
    pub(crate) key: String,
    /// The rule.
    pub(crate) rule: &'static str,
    /// The service concerned.
    pub(crate) service: Option<Service>,
    /// How bad when firing.
    pub(crate) severity: Severity,
    /// One line for people (no secrets: built from counts, codes and masked provider text).
    pub(crate) message: String,
    /// Whether the condition holds.
    pub(crate) firing: bool,
    /// The error category, for `errors` alerts (auto-fix keys on `rate_limit`).
    #[serde(skip)]
    pub(crate) category: Option<Category>,
}

/// One recorded health check, as the rules read it back.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct HealthView {
    pub(crate) status: Option<HealthStatus>,
    pub(crate) reason: Option<String>,
    pub(crate) headroom: Option<f64>,
    pub(crate) balance: Option<f64>,
    pub(crate) currency: Option<String>,
    /// `(endpoint, message)`.
    pub(crate) deprecations: Vec<(String, String)>,
}

impl HealthView {
    /// From a health check's recorded summary.
    pub(crate) fn from_summary(v: &serde_json::Value) -> Self {
        HealthView {
            status: v["status"].as_str().and_then(|s| s.parse().ok()),
            reason: v["reason"].as_str().map(str::to_owned),
            headroom: v["headroom_ratio"].as_f64(),
            balance: v["balance"].as_f64(),
            currency: v["currency"].as_str().map(str::to_owned),
            deprecations: v["deprecations"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|d| {
                            Some((
                                d["endpoint"].as_str()?.to_owned(),
                                d["message"].as_str().unwrap_or_default().to_owned(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

pub(crate) fn eval(
    rule: &'static str,
    subject: &str,
    service: Option<Service>,
    severity: Severity,
    firing: bool,
    message: String,
) -> Eval {
    Eval {
        key: format!("{rule}:{subject}"),
        rule,
        service,
        severity,
        message,
        firing,
        category: None,
    }
}

/// The health rules for `service`; `recent` is newest first, the check just run included.
/// `firing` holds the keys of this service's deprecation alerts that are firing now (so that
/// those no longer reported resolve).
pub(crate) fn health_evals(
    service: Service,
    rules: &Rules,
    recent: &[HealthView],
    firing: &[String],
) -> Vec<Eval> {
    let mut out = Vec::new();
    let Some(latest) = recent.first() else {
        return out;
    };
    let name = service.display_name();
    let why = latest
        .reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    let last = |n: usize| recent.iter().take(n).collect::<Vec<_>>();
    let run_of = |n: usize, ok: &dyn Fn(HealthStatus) -> bool| {
        let l = last(n);
        l.len() >= n && l.iter().all(|h| h.status.is_some_and(ok))
    };
    let down = run_of(rules.down_after, &|s| s == HealthStatus::Down);
    out.push(eval(
        "service_down",
        service.as_str(),
        Some(service),
        Severity::Critical,
        down,
        if down {
            format!(
                "{name} is down ({} consecutive checks){why}",
                rules.down_after
            )
        } else {
            format!("{name} is no longer down")
        },
    ));
    let degraded = latest.status == Some(HealthStatus::Degraded)
        && run_of(rules.degraded_after, &|s| s != HealthStatus::Operational);
    out.push(eval(
        "service_degraded",
        service.as_str(),
        Some(service),
        Severity::Warning,
        degraded,
        if degraded {
            format!(
                "{name} is degraded ({} consecutive checks not operational){why}",
                rules.degraded_after
            )
        } else {
            format!("{name} is no longer degraded")
        },
    ));
    if let Some(h) = latest.headroom {
        let low = h < rules.headroom_below;
        out.push(eval(
            "rate_limit_headroom",
            service.as_str(),
            Some(service),
            Severity::Warning,
            low,
            format!(
                "{name} rate-limit headroom is {:.1}% (alert under {:.1}%)",
                h * 100.0,
                rules.headroom_below * 100.0
            ),
        ));
    }
    if rules.balance_floor > 0.0
        && let Some(b) = latest.balance
    {
        let low = b < rules.balance_floor;
        let currency = latest.currency.as_deref().unwrap_or("");
        out.push(eval(
            "balance_low",
            service.as_str(),
            Some(service),
            if b <= 0.0 {
                Severity::Critical
            } else {
                Severity::Warning
            },
            low,
            if currency.is_empty() {
                format!(
                    "{name} balance is {b:.2} (alert under {:.2})",
                    rules.balance_floor
                )
            } else {
                format!(
                    "{name} balance is {b:.2} {currency} (alert under {:.2})",
                    rules.balance_floor
                )
            },
        ));
    }
    if rules.deprecations {
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for h in recent.iter().take(DEPRECATION_CHECKS) {
            for (endpoint, message) in &h.deprecations {
                seen.entry(endpoint.as_str()).or_insert(message.as_str());
            }
        }
        let mut keys = BTreeSet::new();
        for (endpoint, message) in &seen {
            let e = eval(
                "deprecation",
                &format!("{service}:{endpoint}"),
                Some(service),
                Severity::Warning,
                true,
                format!("{name}: {message}"),
            );
            keys.insert(e.key.clone());
            out.push(e);
        }
        let prefix = format!("deprecation:{service}:");
        for key in firing.iter().filter(|k| k.starts_with(&prefix)) {
            if !keys.contains(key) {
                let endpoint = &key[prefix.len()..];
                out.push(eval(
                    "deprecation",
                    &format!("{service}:{endpoint}"),
                    Some(service),
                    Severity::Warning,
                    false,
                    format!("{name}: {endpoint} no longer reported as deprecated"),
                ));
            }
        }
    }
    out
}

/// The error-count rule for one service's audit over `window`. `complete` is false when part
/// of the scan failed: then counts may be low, so nothing resolves.
pub(crate) fn errors_evals(
    service: Service,
    rules: &Rules,
    by_category: &BTreeMap<Category, u64>,
    top_code: &BTreeMap<Category, (String, u64)>,
    window: Duration,
    complete: bool,
) -> Vec<Eval> {
    let name = service.display_name();
    let span = humantime::format_duration(window);
    rules
        .error_thresholds
        .iter()
        .filter(|(_, t)| **t > 0)
        .filter_map(|(category, threshold)| {
            let n = by_category.get(category).copied().unwrap_or(0);
            let firing = n >= *threshold;
            if !firing && !complete {
                return None;
            }
            let top = top_code
                .get(category)
                .map(|(code, c)| format!("; top code {code} ×{c}"))
                .unwrap_or_default();
            let mut e = eval(
                "errors",
                &format!("{service}:{category}"),
                Some(service),
                category.default_severity(),
                firing,
                format!(
                    "{name}: {n} {category} errors in the last {span} (alert at {threshold}){top}"
                ),
            );
            e.category = Some(*category);
            Some(e)
        })
        .collect()
}

/// Whether a finding says a webhook endpoint is disabled (Stripe's audit).
pub(crate) fn is_disabled_endpoint(f: &Finding) -> bool {
    f.resource_type == "webhook_endpoint" && f.title.contains(" is disabled")
}

/// The disabled-endpoint rule over one service's (complete) audit; `firing` holds the keys of
/// this service's `endpoint_disabled` alerts that are firing now.
pub(crate) fn audit_evals(
    service: Service,
    rules: &Rules,
    findings: &[Finding],
    firing: &[String],
) -> Vec<Eval> {
    if !rules.endpoint_disabled {
        return Vec::new();
    }
    let mut out: Vec<Eval> = findings
        .iter()
        .filter(|f| f.service == service && is_disabled_endpoint(f))
        .map(|f| {
            eval(
                "endpoint_disabled",
                &format!("{service}:{}", f.resource_id),
                Some(service),
                Severity::Warning,
                true,
                format!("{}: {}", service.display_name(), f.title),
            )
        })
        .collect();
    let prefix = format!("endpoint_disabled:{service}:");
    for key in firing.iter().filter(|k| k.starts_with(&prefix)) {
        if !out.iter().any(|e| &e.key == key) {
            let id = &key[prefix.len()..];
            out.push(eval(
                "endpoint_disabled",
                &format!("{service}:{id}"),
                Some(service),
                Severity::Warning,
                false,
                format!(
                    "{}: webhook endpoint {id} is no longer disabled",
                    service.display_name()
                ),
            ));
        }
    }
    out
}

/// The signature-rejection rule: `sums` are the rejections per service within the window,
/// over every instance's reports.
pub(crate) fn signature_evals(rules: &Rules, sums: &BTreeMap<Service, u64>) -> Vec<Eval> {
    if rules.signature_rejects == 0 {
        return Vec::new();
    }
    let span = humantime::format_duration(rules.signature_window);
    Service::ALL
        .iter()
        .map(|s| {
            let n = sums.get(s).copied().unwrap_or(0);
            eval(
                "signature_rejects",
                s.as_str(),
                Some(*s),
                Severity::Warning,
                n >= rules.signature_rejects,
                format!(
                    "{}: {n} webhook requests rejected for their signature in the last {span} (alert at {})",
                    s.display_name(),
                    rules.signature_rejects
                ),
            )
        })
        .collect()
}

/// Records each evaluation; returns those that changed state, with their stored record.
pub(crate) async fn observe(
    store: &dyn Store,
    evals: Vec<Eval>,
    now: Timestamp,
) -> Result<Vec<(AlertChange, Eval)>, StoreError> {
    let mut changed = Vec::new();
    for e in evals {
        let record = AlertRecord {
            key: e.key.clone(),
            rule: e.rule.to_owned(),
            service: e.service,
            severity: e.severity,
            message: e.message.clone(),
            firing: e.firing,
            fired_at: now,
            resolved_at: None,
            updated_at: now,
        };
        match store.alert_observe(&record).await? {
            AlertChange::Unchanged => {}
            change => changed.push((change, e)),
        }
    }
    Ok(changed)
}

/// The keys of firing alerts of `rule` about `service`.
pub(crate) async fn firing_keys(
    store: &dyn Store,
    rule: &str,
    service: Service,
) -> Result<Vec<String>, StoreError> {
    Ok(store
        .alerts(true, 10_000)
        .await?
        .into_iter()
        .filter(|a| a.rule == rule && a.service == Some(service))
        .map(|a| a.key)
        .collect())
}

/// Sets `apiops_alerts_firing{rule}` from the store (every rule, 0 when none fire).
pub(crate) async fn publish_firing(store: &dyn Store) {
    let Ok(firing) = store.alerts(true, 10_000).await else {
        return;
    };
    let mut counts: BTreeMap<&str, u64> = RULES.iter().map(|r| (*r, 0)).collect();
    for a in &firing {
        if let Some(n) = counts.get_mut(a.rule.as_str()) {
            *n += 1;
        }
    }
    for (rule, n) in counts {
        metrics::gauge!(metric_names::ALERTS_FIRING, "rule" => rule).set(n as f64);
    }
}

/// Every rule's name.
pub(crate) const RULES: &[&str] = &[
    "service_down",
    "service_degraded",
    "errors",
    "rate_limit_headroom",
    "balance_low",
    "endpoint_disabled",
    "webhook_unreachable",
    "signature_rejects",
    "deprecation",
    "budget",
    "usage_anomaly",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            down_after: 2,
            degraded_after: 3,
            error_thresholds: [(Category::Auth, 1), (Category::RateLimit, 10)]
                .into_iter()
                .collect(),
            headroom_below: 0.1,
            balance_floor: 5.0,
            signature_rejects: 3,
            signature_window: Duration::from_secs(300),
            deprecations: true,
            endpoint_disabled: true,
            usage: UsageRules::default(),
        }
    }

    fn h(status: HealthStatus) -> HealthView {
        HealthView {
            status: Some(status),
            reason: Some("HTTP 503".into()),
            ..HealthView::default()
        }
    }

    fn firing(evals: &[Eval], key: &str) -> Option<bool> {
        evals.iter().find(|e| e.key == key).map(|e| e.firing)
    }

    #[test]
    fn down_needs_n_consecutive_down_checks() {
        use HealthStatus::*;
        let r = rules();
        let one = health_evals(Service::Twilio, &r, &[h(Down), h(Operational)], &[]);
        assert_eq!(firing(&one, "service_down:twilio"), Some(false));
        let two = health_evals(Service::Twilio, &r, &[h(Down), h(Down)], &[]);
        assert_eq!(firing(&two, "service_down:twilio"), Some(true));
        assert!(two[0].message.contains("HTTP 503"), "{}", two[0].message);
        // Too little history yet: not down.
        let young = health_evals(Service::Twilio, &r, &[h(Down)], &[]);
        assert_eq!(firing(&young, "service_down:twilio"), Some(false));
        // Down is not also degraded.
        let d = health_evals(Service::Twilio, &r, &[h(Down), h(Down), h(Down)], &[]);
        assert_eq!(firing(&d, "service_degraded:twilio"), Some(false));
        let g = health_evals(
            Service::Twilio,
            &r,
            &[h(Degraded), h(Down), h(Degraded)],
            &[],
        );
        assert_eq!(firing(&g, "service_degraded:twilio"), Some(true));
        let ok = health_evals(Service::Twilio, &r, &[h(Operational), h(Down)], &[]);
        assert_eq!(firing(&ok, "service_down:twilio"), Some(false));
        assert_eq!(firing(&ok, "service_degraded:twilio"), Some(false));
    }

    #[test]
    fn headroom_balance_and_deprecations() {
        let r = rules();
        let latest = HealthView {
            status: Some(HealthStatus::Operational),
            headroom: Some(0.05),
            balance: Some(3.5),
            currency: Some("USD".into()),
            deprecations: vec![("api.example/v1/x".into(), "x is deprecated".into())],
            ..HealthView::default()
        };
        let e = health_evals(
            Service::Twilio,
            &r,
            std::slice::from_ref(&latest),
            &["deprecation:twilio:old/endpoint".into()],
        );
        assert_eq!(firing(&e, "rate_limit_headroom:twilio"), Some(true));
        assert_eq!(firing(&e, "balance_low:twilio"), Some(true));
        assert_eq!(
            firing(&e, "deprecation:twilio:api.example/v1/x"),
            Some(true)
        );
        assert_eq!(
            firing(&e, "deprecation:twilio:old/endpoint"),
            Some(false),
            "a deprecation no longer reported resolves"
        );
        let fine = HealthView {
            status: Some(HealthStatus::Operational),
            headroom: Some(0.5),
            balance: Some(50.0),
            ..HealthView::default()
        };
        let e = health_evals(Service::Twilio, &r, &[fine], &[]);
        assert_eq!(firing(&e, "rate_limit_headroom:twilio"), Some(false));
        assert_eq!(firing(&e, "balance_low:twilio"), Some(false));
        // Unknown figures make no observation.
        let e = health_evals(Service::Stripe, &r, &[h(HealthStatus::Down)], &[]);
        assert_eq!(firing(&e, "rate_limit_headroom:stripe"), None);
        assert_eq!(firing(&e, "balance_low:stripe"), None);
    }

    #[test]
    fn error_thresholds_per_category_and_incomplete_scans_never_resolve() {
        let r = rules();
        let counts: BTreeMap<Category, u64> = [(Category::RateLimit, 12), (Category::Carrier, 500)]
            .into_iter()
            .collect();
        let top = [(Category::RateLimit, ("20429".to_owned(), 12))]
            .into_iter()
            .collect();
        let e = errors_evals(
            Service::Twilio,
            &r,
            &counts,
            &top,
            Duration::from_secs(900),
            true,
        );
        assert_eq!(firing(&e, "errors:twilio:rate_limit"), Some(true));
        assert_eq!(firing(&e, "errors:twilio:auth"), Some(false));
        assert_eq!(firing(&e, "errors:twilio:carrier"), None, "no threshold");
        let rl = e
            .iter()
            .find(|x| x.key == "errors:twilio:rate_limit")
            .expect("rl");
        assert_eq!(rl.category, Some(Category::RateLimit));
        assert!(rl.message.contains("20429 ×12"), "{}", rl.message);
        let partial = errors_evals(
            Service::Twilio,
            &r,
            &BTreeMap::new(),
            &BTreeMap::new(),
            Duration::from_secs(900),
            false,
        );
        assert!(partial.is_empty(), "{partial:?}");
    }

    #[test]
    fn disabled_endpoints_fire_per_endpoint_and_resolve_when_gone() {
        let r = rules();
        let f = Finding {
            service: Service::Stripe,
            severity: Severity::Warning,
            category: Category::Config,
            resource_type: "webhook_endpoint".into(),
            resource_id: "we_1".into(),
            title: "Webhook endpoint https://x.example/h is disabled: Stripe sends it nothing"
                .into(),
            remediation: String::new(),
            console_only: false,
        };
        let e = audit_evals(
            Service::Stripe,
            &r,
            std::slice::from_ref(&f),
            &["endpoint_disabled:stripe:we_0".into()],
        );
        assert_eq!(firing(&e, "endpoint_disabled:stripe:we_1"), Some(true));
        assert_eq!(firing(&e, "endpoint_disabled:stripe:we_0"), Some(false));
    }

    #[test]
    fn signature_rejects_sum_over_instances() {
        let r = rules();
        let sums = [(Service::Stripe, 3)].into_iter().collect();
        let e = signature_evals(&r, &sums);
        assert_eq!(firing(&e, "signature_rejects:stripe"), Some(true));
        assert_eq!(firing(&e, "signature_rejects:twilio"), Some(false));
        let off = Rules {
            signature_rejects: 0,
            ..rules()
        };
        assert!(signature_evals(&off, &sums).is_empty());
    }

    #[test]
    fn views_read_back_what_health_jobs_record() {
        let v = serde_json::json!({
            "status": "degraded", "reason": "slow", "headroom_ratio": 0.25, "balance": 12.5,
            "currency": "USD", "deprecations": [{"endpoint": "h/p", "message": "h/p is deprecated"}]
        });
        let view = HealthView::from_summary(&v);
        assert_eq!(view.status, Some(HealthStatus::Degraded));
        assert_eq!(view.headroom, Some(0.25));
        assert_eq!(view.balance, Some(12.5));
        assert_eq!(
            view.deprecations,
            vec![("h/p".into(), "h/p is deprecated".into())]
        );
    }
}
