//! The usage job: each configured service's spend by UTC day, read through the providers'
//! usage engine (`apiops_providers::usage`: Twilio's price, OpenAI's costs, Stripe's fees),
//! recorded as a `usage` check, published as `apiops_usage_*` gauges, and judged by two rules:
//!
//! - `budget:<service>`: the spend of the current period (UTC day, ISO week or calendar month)
//!   is more than the service's `[monitor] budgets` entry. It resolves when spend is back under,
//!   which a new period brings.
//! - `usage_anomaly:<service>:<currency>`: today's spend is at least `usage_anomaly_min_spend`
//!   (or the currency's own, `usage_anomaly_min_spend_by_currency`)
//!   and more than `usage_anomaly_factor` times the daily average of the previous
//!   `usage_anomaly_days` days (a runaway loop, a leaked key). Today is partial, so the rule
//!   errs toward silence; a dormant account that starts spending fires it.
//!
//! Each run reads from the earliest of: the first of the month, the Monday of this week, and
//! the trailing window (at least [`CHART_DAYS`] days, for the dashboard), so every rule and
//! gauge is computed from one fetch. A run that cannot read the spend records `failed` and
//! makes no observation, so a provider outage never resolves (or fires) a spend alert.
//!
//! The summary (JSON, in `CheckRecord::summary`): `slot`, `span` (`start`, `end`, `label`),
//! `days` (every day of the span: `date`, `spend` per currency, amounts as exact decimal
//! strings), `today`, `trailing_days`, `trailing_average`, `periods` (`day`, `week`, `month`:
//! `since`, `spend`), `budget` (`budget`, `since`, `spent`, `ratio`) or null, `missing`.
//!
//! Where the figures come from is behind [`UsageSource`], so the rules are tested against a
//! scripted source over many days of an injected clock.

use std::collections::BTreeMap;
use std::sync::Arc;

use apiops_core::{Service, Severity, metric_names};
use apiops_providers::usage::{
    self, Decimal, ServiceUsage, Sources, Span, UsageBy, UsagePeriod, openai::COSTS_SOURCE,
};
use apiops_store::AlertChange;
use futures::future::BoxFuture;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan as _};
use serde_json::{Value, json};

use super::alerts::{self, Eval};
use super::budget::{Budget, BudgetPeriod};
use super::jobs::{evaluate, job_timeout, record};
use super::schedule::Job;
use super::{Shared, Target};

/// Days of spend each run reads at least (and the dashboard charts).
pub(crate) const CHART_DAYS: i64 = 30;

/// The usage rules, from the `MonitorConfig`.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct UsageRules {
    /// Per service; a service without one never raises `budget`.
    pub(crate) budgets: BTreeMap<Service, Budget>,
    /// 0: the anomaly rule is off.
    pub(crate) anomaly_factor: f64,
    /// The trailing window, in days before today (at least 1).
    pub(crate) anomaly_days: u32,
    /// Today's spend under this never raises `usage_anomaly`, unless its currency has its own.
    pub(crate) anomaly_min_spend: f64,
    /// The currencies with their own least spend (codes in capitals).
    pub(crate) anomaly_min_spend_by_currency: BTreeMap<String, f64>,
}

impl UsageRules {
    /// The least spend in `currency` (any case) that may raise `usage_anomaly`.
    pub(crate) fn min_spend(&self, currency: &str) -> f64 {
        self.anomaly_min_spend_by_currency
            .get(&currency.to_ascii_uppercase())
            .copied()
            .unwrap_or(self.anomaly_min_spend)
    }
}

/// Where a service's usage comes from: the providers, or a script in tests.
pub(crate) trait UsageSource: Send + Sync {
    /// The service's usage over `span`, grouped by day (`None`: the service is not read).
    fn daily<'a>(
        &'a self,
        service: Service,
        span: &'a Span,
    ) -> BoxFuture<'a, Option<Vec<ServiceUsage>>>;
}

/// The monitored providers' usage engine.
pub(crate) struct ProviderUsage(pub(crate) Arc<BTreeMap<Service, Target>>);

impl UsageSource for ProviderUsage {
    fn daily<'a>(
        &'a self,
        service: Service,
        span: &'a Span,
    ) -> BoxFuture<'a, Option<Vec<ServiceUsage>>> {
        Box::pin(async move {
            let mut sources = Sources::default();
            match self.0.get(&service)? {
                Target::Twilio(t) => sources.twilio = Some(&**t),
                Target::Stripe(s) => sources.stripe = Some(&**s),
                Target::Openai(o) => sources.openai = Some(&**o),
            }
            Some(usage::collect(sources, span, UsageBy::Day).await)
        })
    }
}

/// Spend per UTC day and currency (upper case); every day of the span is present.
pub(crate) type DailySpend = BTreeMap<Date, BTreeMap<String, Decimal>>;

/// The money figure of each service's day rows: what the provider charges.
fn money_figure(service: Service) -> &'static str {
    match service {
        Service::Twilio => "price",
        Service::Openai => "cost",
        Service::Stripe => "fee",
        // Configured APIs report no usage; the name matches no row of theirs.
        Service::Api(_) => "cost",
    }
}

fn utc_date(t: Timestamp) -> Date {
    t.to_zoned(TimeZone::UTC).date()
}

fn midnight(d: Date, or: Timestamp) -> Timestamp {
    d.to_zoned(TimeZone::UTC).map_or(or, |z| z.timestamp())
}

/// What one run reads, seen at `now`: from the earliest day any rule or the chart needs.
pub(crate) fn fetch_span(now: Timestamp, rules: &UsageRules) -> Span {
    let today = utc_date(now);
    let back = i64::from(rules.anomaly_days).max(CHART_DAYS - 1);
    let trailing = today.checked_sub(back.days()).unwrap_or(today);
    let first = BudgetPeriod::ALL
        .iter()
        .map(|p| p.first_day(today))
        .chain([trailing])
        .min()
        .unwrap_or(today);
    let start = midnight(first, now);
    let secs = (now.as_second() - start.as_second()).max(1);
    Span {
        period: UsagePeriod::Last(secs.unsigned_abs()),
        start,
        end: now,
        label: format!("{first} to {today} (UTC)"),
    }
}

/// The spend per day over `span` from a service's usage, or why it is unknown.
pub(crate) fn daily_spend(
    service: Service,
    usage: &[ServiceUsage],
    span: &Span,
) -> Result<DailySpend, String> {
    // OpenAI sends tokens and costs apart: only the costs carry money.
    let money: Vec<&ServiceUsage> = usage
        .iter()
        .filter(|u| service != Service::Openai || u.source == COSTS_SOURCE)
        .collect();
    if let Some(why) = money
        .iter()
        .find_map(|u| u.missing.as_ref())
        .or_else(|| usage.iter().find_map(|u| u.missing.as_ref()))
    {
        return Err(why.to_string());
    }
    if money.is_empty() {
        return Err(format!("no spend figures from {}", service.display_name()));
    }
    let mut days = DailySpend::new();
    let mut d = span.start_date();
    while d <= span.end_date() {
        days.insert(d, BTreeMap::new());
        match d.tomorrow() {
            Ok(next) => d = next,
            Err(_) => break,
        }
    }
    let name = money_figure(service);
    for u in money {
        for row in &u.rows {
            let (Ok(date), Some(f)) = (row.key.parse::<Date>(), row.figure(name)) else {
                continue;
            };
            if let Some(day) = days.get_mut(&date) {
                *day.entry(f.unit.trim().to_ascii_uppercase()).or_default() += f.value;
            }
        }
    }
    Ok(days)
}

/// The spend of `currency` from `from` on (today included).
pub(crate) fn spend_since(days: &DailySpend, from: Date, currency: &str) -> Decimal {
    days.range(from..)
        .filter_map(|(_, m)| m.get(currency))
        .copied()
        .sum()
}

/// Every currency spent in, over the days.
fn currencies(days: &DailySpend) -> Vec<String> {
    let mut all: Vec<String> = days.values().flat_map(|m| m.keys().cloned()).collect();
    all.sort();
    all.dedup();
    all
}

/// As a float, for gauges and ratios (comparisons with budgets stay exact).
fn float(d: Decimal) -> f64 {
    d.to_string().parse().unwrap_or(0.0)
}

/// The daily average of `currency` over the `n` days before `today`.
pub(crate) fn trailing_average(days: &DailySpend, today: Date, n: u32, currency: &str) -> f64 {
    let n = n.max(1);
    let from = today.checked_sub(i64::from(n).days()).unwrap_or(today);
    let sum: Decimal = days
        .range(from..today)
        .filter_map(|(_, m)| m.get(currency))
        .copied()
        .sum();
    float(sum) / f64::from(n)
}

/// The budget rule for `service`.
pub(crate) fn budget_eval(
    service: Service,
    budget: &Budget,
    days: &DailySpend,
    today: Date,
) -> Eval {
    let since = budget.period.first_day(today);
    let spent = spend_since(days, since, &budget.currency);
    let over = spent > budget.amount;
    let name = service.display_name();
    let (cur, period) = (&budget.currency, budget.period.current());
    alerts::eval(
        "budget",
        service.as_str(),
        Some(service),
        Severity::Warning,
        over,
        if over {
            format!(
                "{name} spent {spent} {cur} {period} (since {since}), over its budget of {budget}"
            )
        } else {
            format!(
                "{name} spent {spent} {cur} {period} (since {since}), within its budget of {budget}"
            )
        },
    )
}

/// The anomaly rule for `service`, per currency; `firing` holds this service's
/// `usage_anomaly` keys firing now (a currency no longer spent in resolves).
pub(crate) fn anomaly_evals(
    service: Service,
    rules: &UsageRules,
    days: &DailySpend,
    today: Date,
    firing: &[String],
) -> Vec<Eval> {
    if rules.anomaly_factor <= 0.0 {
        return Vec::new();
    }
    let prefix = format!("usage_anomaly:{service}:");
    let mut all = currencies(days);
    all.extend(
        firing
            .iter()
            .filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned)),
    );
    all.sort();
    all.dedup();
    let name = service.display_name();
    let n = rules.anomaly_days.max(1);
    all.iter()
        .map(|cur| {
            let spent = days
                .get(&today)
                .and_then(|m| m.get(cur))
                .copied()
                .unwrap_or_default();
            let avg = trailing_average(days, today, n, cur);
            let today_f = float(spent);
            let min = rules.min_spend(cur);
            let spike = today_f >= min && today_f > rules.anomaly_factor * avg;
            alerts::eval(
                "usage_anomaly",
                &format!("{service}:{cur}"),
                Some(service),
                Severity::Warning,
                spike,
                format!(
                    "{name} spent {spent} {cur} today; the daily average of the previous {n} days is {avg:.2} {cur} (alert above {}× and at least {} {cur})",
                    rules.anomaly_factor, min
                ),
            )
        })
        .collect()
}

fn money_map(m: &BTreeMap<String, Decimal>) -> Value {
    Value::Object(
        m.iter()
            .map(|(c, v)| (c.clone(), Value::String(v.to_string())))
            .collect(),
    )
}

/// What one run found, for the summary and the gauges.
struct Figures {
    today: Date,
    /// Per period: its first day and spend per currency.
    periods: Vec<(BudgetPeriod, Date, BTreeMap<String, Decimal>)>,
    /// Per currency.
    averages: BTreeMap<String, f64>,
    /// `(budget, since, spent, ratio)`.
    budget: Option<(Budget, Date, Decimal, f64)>,
}

fn figures(service: Service, rules: &UsageRules, days: &DailySpend, now: Timestamp) -> Figures {
    let today = utc_date(now);
    let all = currencies(days);
    let periods = BudgetPeriod::ALL
        .iter()
        .map(|p| {
            let since = p.first_day(today);
            let spend = all
                .iter()
                .map(|c| (c.clone(), spend_since(days, since, c)))
                .collect();
            (*p, since, spend)
        })
        .collect();
    let averages = all
        .iter()
        .map(|c| {
            (
                c.clone(),
                trailing_average(days, today, rules.anomaly_days, c),
            )
        })
        .collect();
    let budget = rules.budgets.get(&service).map(|b| {
        let since = b.period.first_day(today);
        let spent = spend_since(days, since, &b.currency);
        (b.clone(), since, spent, float(spent) / float(b.amount))
    });
    Figures {
        today,
        periods,
        averages,
        budget,
    }
}

/// Sets the `apiops_usage_*` gauges of `service`.
fn publish(service: Service, f: &Figures) {
    let s = service.as_str();
    for (period, _, spend) in &f.periods {
        for (cur, v) in spend {
            metrics::gauge!(metric_names::USAGE_SPEND, "service" => s, "currency" => cur.clone(), "period" => period.as_str())
                .set(float(*v));
        }
    }
    for (cur, avg) in &f.averages {
        metrics::gauge!(metric_names::USAGE_DAILY_AVERAGE, "service" => s, "currency" => cur.clone())
            .set(*avg);
    }
    if let Some((b, _, _, ratio)) = &f.budget {
        metrics::gauge!(metric_names::USAGE_BUDGET_RATIO, "service" => s, "currency" => b.currency.clone(), "period" => b.period.as_str())
            .set(*ratio);
    }
}

fn summary(slot: i64, span: &Span, days: &DailySpend, f: &Figures, trailing_days: u32) -> Value {
    json!({
        "slot": slot,
        "span": {"start": span.start, "end": span.end, "label": span.label},
        "days": days.iter().map(|(d, m)| json!({"date": d.to_string(), "spend": money_map(m)})).collect::<Vec<_>>(),
        "today": days.get(&f.today).map(money_map).unwrap_or_else(|| json!({})),
        "trailing_days": trailing_days,
        "trailing_average": f.averages.iter().map(|(c, a)| (c.clone(), json!(format!("{a:.2}")))).collect::<serde_json::Map<_, _>>(),
        "periods": f.periods.iter().map(|(p, since, m)| (p.as_str().to_owned(), json!({"since": since.to_string(), "spend": money_map(m)}))).collect::<serde_json::Map<_, _>>(),
        "budget": f.budget.as_ref().map(|(b, since, spent, ratio)| json!({
            "budget": b.to_string(), "since": since.to_string(), "spent": spent.to_string(), "ratio": ratio,
        })),
        "missing": Value::Null,
    })
}

/// Runs the usage job of `service` for `slot`, claimed at `started`.
pub(crate) async fn run(
    shared: &Shared,
    job: &Job,
    service: Service,
    slot: i64,
    started: Timestamp,
) -> Option<&'static str> {
    run_observed(shared, job, service, slot, started)
        .await
        .map(|(status, _)| status)
}

/// [`run`], with the alert changes it caused (for tests).
pub(crate) async fn run_observed(
    shared: &Shared,
    job: &Job,
    service: Service,
    slot: i64,
    started: Timestamp,
) -> Option<(&'static str, Vec<(AlertChange, String)>)> {
    let span = fetch_span(started, &shared.rules.usage);
    let limit = job_timeout(job.every);
    let read = tokio::time::timeout(limit, shared.usage.daily(service, &span)).await;
    let days = match read {
        Ok(None) => return None,
        Ok(Some(u)) => daily_spend(service, &u, &span),
        Err(_) => Err(format!(
            "the usage did not arrive within {}",
            humantime::format_duration(limit)
        )),
    };
    let days = match days {
        Ok(d) => d,
        Err(why) => {
            let s = json!({
                "slot": slot,
                "span": {"start": span.start, "end": span.end, "label": span.label},
                "missing": why,
            });
            record(shared, job, started, "failed", &s).await;
            return Some(("failed", Vec::new()));
        }
    };
    let rules = &shared.rules.usage;
    let f = figures(service, rules, &days, started);
    publish(service, &f);
    record(
        shared,
        job,
        started,
        "ok",
        &summary(slot, &span, &days, &f, rules.anomaly_days),
    )
    .await;
    let mut evals = Vec::new();
    if let Some(b) = rules.budgets.get(&service) {
        evals.push(budget_eval(service, b, &days, f.today));
    }
    let firing = shared.firing("usage_anomaly", service).await;
    evals.extend(anomaly_evals(service, rules, &days, f.today, &firing));
    let changes = evaluate(shared, evals).await;
    Some(("ok", changes))
}

#[cfg(test)]
mod tests;
