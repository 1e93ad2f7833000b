//! Running one job: the provider calls, the check record (`store.record_check`, with a
//! summary the dashboard can draw from, secrets masked), its metrics, then the alert rules and
//! the auto-fixes they trigger.
//!
//! Summaries (JSON, in `CheckRecord::summary`; every one carries its `slot`):
//! - `health`: `status`, `latency_ms`, `reason`, `headroom_ratio` (the lowest headroom the
//!   provider reported, 0..1), `balance` and `currency`, `details`, `warnings`,
//!   `deprecations` (`endpoint`, `message`, `sunset`).
//! - `errors`: `window` (`since`, `until`), `total`, `stored`, `by_category`, `groups` (top 20:
//!   `error_code`, `category`, `severity`, `count`, `suggested_fix`), `failures`.
//! - `audit`: `findings`, `by_severity`, `by_category`, `items` (first 50), `failure`,
//!   `fixes` (auto-fixes applied or refused); with `probe_webhooks`, `probes` (what each
//!   webhook URL answered, as `apiops audit --probe --json` shows it; its failures are
//!   findings too) and `probe_failure`.
//! - `webhooks` (each instance, only when something was rejected): `rejected` per service and
//!   reason, `signature_rejected` per service.
//! - `signatures`: `window_secs`, `signature_rejected` per service over every instance.
//! - `usage`: spend per day and period, the trailing average, the budget (see `usage.rs`).

use std::collections::BTreeMap;
use std::time::Duration;

use apiops_core::{Category, Finding, Health, HealthStatus, Service, Severity, metric_names};
use apiops_providers::aggregate::Aggregator;
use apiops_providers::{Progress, TimeWindow};
use apiops_store::{AlertChange, CheckRecord};
use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::Shared;
use super::alerts::{self, Eval, HealthView};
use super::autofix::FixResult;
use super::schedule::{Job, JobKind, slot_start};
use super::sinks::Notification;

/// The rejection reasons that are about the signature (the rest are sizes and types).
const SIGNATURE_REASONS: &[&str] = &[
    "missing_signature",
    "bad_signature",
    "malformed_signature",
    "timestamp_outside_tolerance",
];

/// Events written to the store per batch by the error audit.
const STORE_BATCH: usize = 500;

/// How long one run may take: its interval, at least 30 s, at most 10 min.
pub(crate) fn job_timeout(every: Duration) -> Duration {
    every.clamp(Duration::from_secs(30), Duration::from_secs(600))
}

fn signed(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

/// Runs `job` for `slot`, claimed at `started`.
pub(crate) async fn run(shared: &Shared, job: &Job, slot: i64, started: Timestamp) {
    let timer = std::time::Instant::now();
    let status = match (job.kind, job.service) {
        (JobKind::Health, Some(s)) => health(shared, job, s, slot, started).await,
        (JobKind::Errors, Some(s @ Service::Api(_))) => {
            super::apis::errors(shared, job, s, slot, started).await
        }
        (JobKind::Errors, Some(s)) => errors(shared, job, s, slot, started).await,
        (JobKind::Audit, Some(s)) => audit(shared, job, s, slot, started).await,
        (JobKind::Webhooks, _) => webhooks(shared, job, slot, started).await,
        (JobKind::Signatures, _) => signatures(shared, job, slot, started).await,
        (JobKind::Usage, Some(s)) => super::usage::run(shared, job, s, slot, started).await,
        _ => None,
    };
    let Some(status) = status else { return };
    let (j, s) = (job.kind.as_str(), job.service_label());
    metrics::counter!(metric_names::CHECK_RUNS_TOTAL, "job" => j, "service" => s, "status" => status)
        .increment(1);
    metrics::histogram!(metric_names::CHECK_DURATION_SECONDS, "job" => j, "service" => s)
        .record(timer.elapsed().as_secs_f64());
}

/// Records a run (the summary redacted once more).
pub(crate) async fn record(
    shared: &Shared,
    job: &Job,
    started: Timestamp,
    status: &str,
    summary: &Value,
) {
    let check = CheckRecord {
        job: job.kind.as_str().to_owned(),
        service: job.service,
        ran_at: started,
        status: status.to_owned(),
        summary: shared.redact(&summary.to_string()),
        instance: shared.instance.clone(),
    };
    if let Err(e) = shared.store.record_check(&check).await {
        tracing::warn!(job = %job.claim_name(), "recording the check: {e}");
    }
}

/// Observes evaluations; notifies the sinks of changes; triggers auto-fixes on alerts that
/// fired; publishes the firing gauges. Returns the changes (alert key and what changed).
pub(crate) async fn evaluate(shared: &Shared, evals: Vec<Eval>) -> Vec<(AlertChange, String)> {
    if evals.is_empty() {
        return Vec::new();
    }
    let now = (shared.clock)();
    let evals = evals
        .into_iter()
        .map(|mut e| {
            e.message = shared.redact(&e.message);
            e
        })
        .collect();
    let changed = match alerts::observe(&*shared.store, evals, now).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("recording alert states: {e}");
            return Vec::new();
        }
    };
    for (change, e) in &changed {
        if let Some(n) = Notification::of(*change, e, now, &shared.instance) {
            shared.sinks.notify(n);
        }
        let rate_limited = e.rule == "rate_limit_headroom"
            || (e.rule == "errors" && e.category == Some(Category::RateLimit));
        if *change == AlertChange::Fired
            && rate_limited
            && let Some(service) = e.service
        {
            let (result, until) = shared
                .fixer
                .backoff(service, &format!("{} fired", e.key))
                .await;
            if let Some(until) = until {
                shared.set_backoff(service, until);
            }
            match result {
                FixResult::Applied(m) => tracing::warn!("auto-fix: {m} ({} fired)", e.key),
                other => tracing::info!("auto-fix for {} not applied: {other:?}", e.key),
            }
        }
    }
    alerts::publish_firing(&*shared.store).await;
    changed.into_iter().map(|(c, e)| (c, e.key)).collect()
}

/// The lowest headroom a provider's health details report (`..._headroom = "12.5% ..."`).
pub(crate) fn headroom_ratio(details: &BTreeMap<String, String>) -> Option<f64> {
    details
        .iter()
        .filter(|(k, _)| k.ends_with("headroom"))
        .filter_map(|(_, v)| {
            let number: String = v
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let rest = v.trim()[number.len()..].trim_start();
            rest.starts_with('%')
                .then(|| number.parse::<f64>().ok())
                .flatten()
                .map(|p| (p / 100.0).clamp(0.0, 1.0))
        })
        .reduce(f64::min)
}

fn service_up(status: HealthStatus) -> f64 {
    match status {
        HealthStatus::Operational => 1.0,
        HealthStatus::Degraded => 0.5,
        HealthStatus::Down => 0.0,
    }
}

pub(crate) async fn health(
    shared: &Shared,
    job: &Job,
    service: Service,
    slot: i64,
    started: Timestamp,
) -> Option<&'static str> {
    let limit = job_timeout(job.every);
    let timed_out = || Health {
        service,
        status: HealthStatus::Down,
        latency_ms: None,
        details: BTreeMap::new(),
        warnings: Vec::new(),
        reason: Some(format!(
            "no answer within {}",
            humantime::format_duration(limit)
        )),
        category: Some(apiops_core::Category::Transient),
    };
    let (h, notices) = if let Some(target) = shared.targets.get(&service) {
        let h = tokio::time::timeout(limit, target.provider().health())
            .await
            .unwrap_or_else(|_| timed_out());
        (h, target.deprecations())
    } else {
        let api = shared.apis.get(&service)?;
        match tokio::time::timeout(limit, api.health()).await {
            Ok(checked) => {
                // A failure seen after sending goes to the event log (`apiops errors NAME`).
                if let Some(mut event) = checked.event {
                    event.context = shared.redact(&event.context);
                    if let Err(e) = shared.store.append_events(&[event]).await {
                        tracing::warn!(job = %job.claim_name(), "recording the failure: {e}");
                    }
                }
                (checked.health, checked.deprecations)
            }
            Err(_) => (timed_out(), Vec::new()),
        }
    };
    let headroom = headroom_ratio(&h.details);
    let balance = h
        .details
        .get("balance")
        .and_then(|b| b.trim().parse::<f64>().ok());
    let deprecations: Vec<Value> = notices
        .iter()
        .map(|d| json!({"endpoint": d.endpoint, "message": d.message(), "sunset": d.sunset}))
        .collect();
    let summary = json!({
        "slot": slot,
        "status": h.status,
        "latency_ms": h.latency_ms,
        "reason": h.reason,
        "headroom_ratio": headroom,
        "balance": balance,
        "currency": h.details.get("currency"),
        "details": h.details,
        "warnings": h.warnings,
        "deprecations": deprecations,
    });
    let s = service.as_str();
    metrics::gauge!(metric_names::SERVICE_UP, "service" => s).set(service_up(h.status));
    if let Some(r) = headroom {
        metrics::gauge!(metric_names::RATE_LIMIT_HEADROOM_RATIO, "service" => s).set(r);
    }
    record(shared, job, started, h.status.as_str(), &summary).await;

    // The rules read the recent history back, whichever instance recorded it.
    let history = shared.rules.health_history();
    let lookback = job
        .every
        .saturating_mul(u32::try_from(history * 3 + 3).unwrap_or(u32::MAX));
    let since = started
        .checked_sub(signed(lookback))
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let recent: Vec<HealthView> = match shared.store.checks(Some("health"), since, 1_000).await {
        Ok(c) => c
            .iter()
            .filter(|c| c.service == Some(service))
            .take(history)
            .filter_map(|c| serde_json::from_str::<Value>(&c.summary).ok())
            .map(|v| HealthView::from_summary(&v))
            .collect(),
        Err(e) => {
            tracing::warn!("reading recent health checks: {e}");
            return Some(h.status.as_str());
        }
    };
    let firing = shared.firing("deprecation", service).await;
    evaluate(
        shared,
        alerts::health_evals(service, &shared.rules, &recent, &firing),
    )
    .await;
    Some(h.status.as_str())
}

async fn errors(
    shared: &Shared,
    job: &Job,
    service: Service,
    slot: i64,
    started: Timestamp,
) -> Option<&'static str> {
    let target = shared.targets.get(&service)?;
    let provider = target.provider();
    // The interval before this slot: consecutive runs cover time exactly once.
    let window = TimeWindow {
        since: slot_start(slot - 1, job.every),
        until: slot_start(slot, job.every),
    };
    let mut agg = Aggregator::new();
    let mut batch = Vec::new();
    let mut stored = 0u64;
    let mut failures: Vec<String> = Vec::new();
    let scan = async {
        let mut stream = provider.errors(window, Progress::default());
        while let Some(item) = stream.next().await {
            match item {
                Ok(event) => {
                    let c = provider.classify(&event.error_code, None);
                    agg.push(&event, &c.remediation, c.known);
                    batch.push(event);
                    if batch.len() >= STORE_BATCH {
                        match shared.store.append_events(&batch).await {
                            Ok(n) => stored += n,
                            Err(e) => failures.push(format!("storing events: {e}")),
                        }
                        batch.clear();
                    }
                }
                Err(e) => failures.push(e.to_string()),
            }
        }
    };
    let limit = job_timeout(job.every);
    if tokio::time::timeout(limit, scan).await.is_err() {
        failures.push(format!(
            "the scan did not finish within {}",
            humantime::format_duration(limit)
        ));
    }
    if !batch.is_empty() {
        match shared.store.append_events(&batch).await {
            Ok(n) => stored += n,
            Err(e) => failures.push(format!("storing events: {e}")),
        }
    }
    let total = agg.total();
    let mut groups = agg.finish();
    groups.sort_by(|a, b| b.count.cmp(&a.count).then(a.error_code.cmp(&b.error_code)));
    let mut by_category: BTreeMap<Category, u64> = BTreeMap::new();
    let mut top: BTreeMap<Category, (String, u64)> = BTreeMap::new();
    for g in &groups {
        *by_category.entry(g.category).or_default() += g.count;
        top.entry(g.category)
            .or_insert_with(|| (g.error_code.clone(), g.count));
    }
    let complete = failures.is_empty();
    let status = if complete { "ok" } else { "failed" };
    let summary = json!({
        "slot": slot,
        "window": {"since": window.since, "until": window.until},
        "total": total,
        "stored": stored,
        "by_category": by_category.iter().map(|(c, n)| (c.as_str(), *n)).collect::<BTreeMap<_, _>>(),
        "groups": groups.iter().take(20).map(|g| json!({
            "error_code": g.error_code,
            "category": g.category,
            "severity": g.severity,
            "count": g.count,
            "suggested_fix": g.suggested_fix,
            "unknown": g.unknown,
        })).collect::<Vec<_>>(),
        "failures": failures,
    });
    record(shared, job, started, status, &summary).await;
    evaluate(
        shared,
        alerts::errors_evals(
            service,
            &shared.rules,
            &by_category,
            &top,
            job.every,
            complete,
        ),
    )
    .await;
    Some(status)
}

fn counts<K: Ord + Copy, F: Fn(&Finding) -> K>(findings: &[Finding], key: F) -> BTreeMap<K, u64> {
    let mut m = BTreeMap::new();
    for f in findings {
        *m.entry(key(f)).or_default() += 1;
    }
    m
}

async fn audit(
    shared: &Shared,
    job: &Job,
    service: Service,
    slot: i64,
    started: Timestamp,
) -> Option<&'static str> {
    let target = shared.targets.get(&service)?;
    let limit = job_timeout(job.every);
    let (mut findings, failure) = match tokio::time::timeout(limit, target.provider().audit()).await
    {
        Ok(Ok(f)) => (f, None),
        Ok(Err(e)) => (Vec::new(), Some(e.to_string())),
        Err(_) => (
            Vec::new(),
            Some(format!(
                "the audit did not finish within {}",
                humantime::format_duration(limit)
            )),
        ),
    };
    // The webhook probe (`probe_webhooks`): only after a complete audit.
    let probed = match (&shared.prober, &failure) {
        (Some(prober), None) => Some(super::probes::run(prober, target.provider(), limit).await),
        _ => None,
    };
    if let Some(Ok(p)) = &probed {
        findings.extend(p.iter().filter_map(|x| x.finding(service)));
    }
    // `config` auto-fix: only after a complete audit, and only what is clearly right.
    let fixes = if service == Service::Stripe && failure.is_none() {
        shared.fixer.fix_stripe_endpoints().await
    } else {
        Vec::new()
    };
    let status = if failure.is_none() { "ok" } else { "failed" };
    let by_severity: BTreeMap<&str, u64> = counts(&findings, |f| f.severity)
        .into_iter()
        .map(|(s, n)| (Severity::as_str(s), n))
        .collect();
    let by_category: BTreeMap<&str, u64> = counts(&findings, |f| f.category)
        .into_iter()
        .map(|(c, n)| (Category::as_str(c), n))
        .collect();
    let summary = json!({
        "slot": slot,
        "findings": findings.len(),
        "by_severity": by_severity,
        "by_category": by_category,
        "items": findings.iter().take(50).map(|f| json!({
            "severity": f.severity,
            "category": f.category,
            "resource_type": f.resource_type,
            "resource_id": f.resource_id,
            "title": f.title,
            "console_only": f.console_only,
        })).collect::<Vec<_>>(),
        "failure": failure,
        "probes": probed.as_ref().and_then(|p| p.as_ref().ok()),
        "probe_failure": probed.as_ref().and_then(|p| p.as_ref().err()),
        "fixes": fixes.iter().map(|(id, r)| json!({
            "resource_id": id,
            "result": r.label(),
            "detail": match r {
                FixResult::Applied(m) | FixResult::NothingToDo(m) | FixResult::Failed(m) => m.clone(),
                FixResult::Refused { reason, .. } => reason.clone(),
            },
        })).collect::<Vec<_>>(),
    });
    record(shared, job, started, status, &summary).await;
    if failure.is_none() {
        let firing = shared.firing("endpoint_disabled", service).await;
        evaluate(
            shared,
            alerts::audit_evals(service, &shared.rules, &findings, &firing),
        )
        .await;
    }
    if let Some(Ok(p)) = &probed {
        let firing = shared.firing(super::probes::RULE, service).await;
        evaluate(shared, super::probes::evals(service, p, &firing)).await;
    }
    Some(status)
}

/// This instance's rejections since its last report; recorded only when there are some.
async fn webhooks(
    shared: &Shared,
    job: &Job,
    slot: i64,
    started: Timestamp,
) -> Option<&'static str> {
    let receiver = shared.receiver.as_ref()?;
    let now_counts = receiver.rejected();
    let deltas: Vec<(Service, String, u64)> = {
        let mut last = shared.last_rejected.lock().ok()?;
        now_counts
            .iter()
            .filter_map(|(s, reason, n)| {
                let key = (*s, (*reason).to_owned());
                let before = last.insert(key, *n).unwrap_or(0);
                (*n > before).then(|| (*s, (*reason).to_owned(), n - before))
            })
            .collect()
    };
    if deltas.is_empty() {
        return None;
    }
    let mut rejected: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    let mut signature: BTreeMap<&str, u64> = BTreeMap::new();
    for (s, reason, n) in &deltas {
        rejected
            .entry(s.as_str())
            .or_default()
            .insert(reason.as_str(), *n);
        if SIGNATURE_REASONS.contains(&reason.as_str()) {
            *signature.entry(s.as_str()).or_default() += n;
        }
    }
    let summary = json!({
        "slot": slot,
        "rejected": rejected,
        "signature_rejected": signature,
    });
    record(shared, job, started, "ok", &summary).await;
    Some("ok")
}

/// The signature rule over every instance's `webhooks` reports within the window.
async fn signatures(
    shared: &Shared,
    job: &Job,
    slot: i64,
    started: Timestamp,
) -> Option<&'static str> {
    let window = shared.rules.signature_window;
    let since = started
        .checked_sub(signed(window))
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let reports = match shared.store.checks(Some("webhooks"), since, 100_000).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!("reading webhook reports: {e}");
            return Some("failed");
        }
    };
    let mut sums: BTreeMap<Service, u64> = BTreeMap::new();
    for r in &reports {
        let Ok(v) = serde_json::from_str::<Value>(&r.summary) else {
            continue;
        };
        if let Some(m) = v["signature_rejected"].as_object() {
            for (s, n) in m {
                if let (Ok(s), Some(n)) = (s.parse::<Service>(), n.as_u64()) {
                    *sums.entry(s).or_default() += n;
                }
            }
        }
    }
    let summary = json!({
        "slot": slot,
        "window_secs": window.as_secs(),
        "reports": reports.len(),
        "signature_rejected": sums.iter().map(|(s, n)| (s.as_str(), *n)).collect::<BTreeMap<_, _>>(),
    });
    record(shared, job, started, "ok", &summary).await;
    evaluate(shared, alerts::signature_evals(&shared.rules, &sums)).await;
    Some("ok")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headroom_is_the_lowest_share_reported() {
        let d: BTreeMap<String, String> = [
            ("requests_headroom", "42.0% (42 of 100 per minute left)"),
            (
                "tokens_headroom",
                "7.5% (750 of 10000 per minute left), resets in 2.0s",
            ),
            ("concurrency_headroom", "97%"),
            ("balance", "12.00"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(headroom_ratio(&d), Some(0.075));
        assert_eq!(headroom_ratio(&BTreeMap::new()), None);
        let odd: BTreeMap<String, String> = [("x_headroom".to_owned(), "n/a".to_owned())]
            .into_iter()
            .collect();
        assert_eq!(headroom_ratio(&odd), None);
    }

    #[test]
    fn run_timeouts_are_bounded() {
        assert_eq!(job_timeout(Duration::from_secs(1)), Duration::from_secs(30));
        assert_eq!(
            job_timeout(Duration::from_secs(60)),
            Duration::from_secs(60)
        );
        assert_eq!(
            job_timeout(Duration::from_secs(86_400)),
            Duration::from_secs(600)
        );
        assert_eq!(service_up(HealthStatus::Degraded), 0.5);
    }
}
