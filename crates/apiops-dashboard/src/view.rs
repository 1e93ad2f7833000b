//! What each page shows, read from the store, the receiver and the live metrics, and shaped
//! for its template.

use std::collections::BTreeMap;

use apiops_core::text::truncate;
use apiops_core::{ActionTaken, Category, ErrorEvent, EventResult, Service, metric_names};
use apiops_providers::aggregate::Aggregator;
use apiops_store::{AlertRecord, CheckRecord, EventFilter, StoreError};
use askama::Template;
use jiff::Timestamp;
use serde_json::Value;

use super::svg::{self, Level, Mark, Row, Series};
use super::{DashboardState, Traffic, WINDOWS};
use crate::metrics::{Sample, parse};

mod charts;
mod usage;

use charts::*;

/// Most events read for one page.
const MAX_EVENTS: u32 = 20_000;
/// Most health checks read for the timeline (a week of 3 services checked every 3 minutes, or
/// two days at the default minute: beyond it the oldest part of a long window stays gray).
const MAX_CHECKS: u32 = 10_000;
/// Buckets of the errors chart.
const ERROR_BUCKETS: usize = 24;
/// Bars of the traffic chart at most.
const TRAFFIC_BARS: usize = 60;

/// What every page's frame shows.
#[derive(Debug)]
pub(crate) struct Layout {
    pub(crate) title: &'static str,
    pub(crate) path: &'static str,
    pub(crate) window: &'static str,
    pub(crate) windows: Vec<WindowLink>,
    pub(crate) nav: Vec<NavLink>,
    pub(crate) refresh: u32,
    pub(crate) generated: String,
    pub(crate) uptime: String,
    pub(crate) firing: usize,
}

/// A window choice.
#[derive(Debug)]
pub(crate) struct WindowLink {
    pub(crate) name: &'static str,
    pub(crate) active: bool,
}

/// A page link.
#[derive(Debug)]
pub(crate) struct NavLink {
    pub(crate) href: &'static str,
    pub(crate) label: &'static str,
    pub(crate) active: bool,
}

pub(super) fn layout(
    state: &DashboardState,
    title: &'static str,
    path: &'static str,
    window: &'static str,
    now: Timestamp,
    firing: usize,
) -> Layout {
    Layout {
        title,
        path,
        window,
        windows: WINDOWS
            .iter()
            .map(|(n, _)| WindowLink {
                name: n,
                active: *n == window,
            })
            .collect(),
        nav: [
            ("/", "Overview"),
            ("/errors", "Errors"),
            ("/alerts", "Alerts & checks"),
            ("/confirmations", "Pending confirmations"),
        ]
        .into_iter()
        .map(|(href, label)| NavLink {
            href,
            label,
            active: href == path,
        })
        .collect(),
        refresh: state.refresh_secs,
        generated: format!("{} UTC", now.strftime("%Y-%m-%d %H:%M:%S")),
        uptime: duration(now.as_second() - state.started.as_second()),
        firing,
    }
}

/// A service's latest health.
#[derive(Debug)]
pub(crate) struct Tile {
    pub(crate) name: &'static str,
    pub(crate) status: String,
    pub(crate) class: &'static str,
    pub(crate) checked: String,
    pub(crate) latency: String,
    pub(crate) reason: String,
    pub(crate) errors: u64,
    pub(crate) inbox: u64,
}

/// A ranked error group.
#[derive(Debug)]
pub(crate) struct GroupRow {
    pub(crate) service: &'static str,
    pub(crate) code: String,
    pub(crate) category: &'static str,
    pub(crate) severity: &'static str,
    pub(crate) count: u64,
    pub(crate) fix: String,
    pub(crate) unknown: bool,
}

/// One event (an operation, or an error).
#[derive(Debug)]
pub(crate) struct EventRow {
    pub(crate) when: String,
    pub(crate) ago: String,
    pub(crate) service: &'static str,
    pub(crate) code: String,
    pub(crate) category: &'static str,
    pub(crate) severity: &'static str,
    pub(crate) resource: String,
    pub(crate) context: String,
    pub(crate) action: &'static str,
    pub(crate) result: &'static str,
    pub(crate) class: &'static str,
}

/// One alert.
#[derive(Debug)]
pub(crate) struct AlertRow {
    pub(crate) firing: bool,
    pub(crate) rule: String,
    pub(crate) service: &'static str,
    pub(crate) severity: &'static str,
    pub(crate) message: String,
    pub(crate) since: String,
    pub(crate) resolved: String,
}

/// Webhooks of one provider.
#[derive(Debug)]
pub(crate) struct WebhookRow {
    pub(crate) provider: &'static str,
    pub(crate) enabled: bool,
    pub(crate) new: u64,
    pub(crate) duplicate: u64,
    pub(crate) rejected: u64,
    pub(crate) reasons: String,
    pub(crate) stored: u64,
}

/// One API client, from the live metrics.
#[derive(Debug)]
pub(crate) struct ClientRow {
    pub(crate) client: String,
    pub(crate) requests: u64,
    pub(crate) failed: u64,
    pub(crate) retries: u64,
    pub(crate) latency: String,
    pub(crate) breaker: &'static str,
    pub(crate) class: &'static str,
}

/// One scheduled check run.
#[derive(Debug)]
pub(crate) struct CheckRow {
    pub(crate) when: String,
    pub(crate) ago: String,
    pub(crate) job: String,
    pub(crate) service: &'static str,
    pub(crate) status: String,
    pub(crate) class: &'static str,
    pub(crate) summary: String,
    pub(crate) instance: String,
}

/// A category swatch for legends.
#[derive(Debug)]
pub(crate) struct Legend {
    pub(crate) name: &'static str,
    pub(crate) color: &'static str,
}

/// `/`.
#[derive(Debug, Template)]
#[template(path = "dashboard/overview.html")]
pub(crate) struct Overview {
    pub(crate) layout: Layout,
    pub(crate) tiles: Vec<Tile>,
    pub(crate) health_chart: Option<String>,
    pub(crate) errors_chart: Option<String>,
    pub(crate) error_total: u64,
    pub(crate) legend: Vec<Legend>,
    pub(crate) groups: Vec<GroupRow>,
    pub(crate) headroom_chart: Option<String>,
    pub(crate) webhooks: Vec<WebhookRow>,
    pub(crate) traffic_chart: Option<String>,
    pub(crate) traffic_legend: Vec<Legend>,
    pub(crate) operations: Vec<EventRow>,
    pub(crate) alerts: Vec<AlertRow>,
    pub(crate) clients: Vec<ClientRow>,
    pub(crate) usage: usage::UsagePanel,
}

/// `/errors`.
#[derive(Debug, Template)]
#[template(path = "dashboard/errors.html")]
pub(crate) struct Errors {
    pub(crate) layout: Layout,
    pub(crate) errors_chart: Option<String>,
    pub(crate) error_total: u64,
    pub(crate) legend: Vec<Legend>,
    pub(crate) groups: Vec<GroupRow>,
    pub(crate) events: Vec<EventRow>,
}

/// `/alerts`.
#[derive(Debug, Template)]
#[template(path = "dashboard/alerts.html")]
pub(crate) struct Alerts {
    pub(crate) layout: Layout,
    pub(crate) alerts: Vec<AlertRow>,
    pub(crate) checks: Vec<CheckRow>,
}

pub(crate) async fn overview(
    state: &DashboardState,
    (wname, wsecs): (&'static str, i64),
    now: Timestamp,
) -> Result<Overview, StoreError> {
    let since = since(now, wsecs);
    let store = state.store.as_ref();
    let health = store.checks(Some("health"), since, MAX_CHECKS).await?;
    let events = read_events(state, since).await?;
    let alerts = store.alerts(false, 50).await?;
    // The configured APIs the monitor checked in the window get a tile after the three.
    let apis: std::collections::BTreeSet<Service> = health
        .iter()
        .filter_map(|c| c.service)
        .filter(|s| s.api().is_some())
        .collect();
    let mut inbox = BTreeMap::new();
    for s in Service::ALL.iter().chain(apis.iter()) {
        inbox.insert(*s, store.inbox_count(Some(*s)).await?);
    }
    let samples = parse(&state.metrics.render());
    let (errors, operations): (Vec<&ErrorEvent>, Vec<&ErrorEvent>) =
        events.iter().partition(|e| !is_operation(e));

    let tiles = Service::ALL
        .iter()
        .chain(apis.iter())
        .map(|s| {
            let received = inbox.get(s).copied().unwrap_or(0);
            tile(state, *s, &health, &errors, received, now)
        })
        .collect();
    let firing = alerts.iter().filter(|a| a.firing).count();
    let (errors_chart, error_total) = errors_chart(&errors, since, now);
    let mut ops: Vec<&ErrorEvent> = operations;
    ops.sort_by_key(|e| std::cmp::Reverse(e.timestamp));
    let mut alert_rows: Vec<AlertRow> = alerts.iter().map(|a| alert_row(state, a)).collect();
    // Firing first, then the most recently changed.
    alert_rows.sort_by_key(|a| !a.firing);
    alert_rows.truncate(12);
    let (traffic_chart, traffic_legend) = traffic_chart(state, now);
    Ok(Overview {
        layout: layout(state, "Overview", "/", wname, now, firing),
        tiles,
        health_chart: health_chart(&health, since, now),
        errors_chart,
        error_total,
        legend: category_legend(),
        groups: groups(&errors, 8),
        headroom_chart: headroom_chart(&samples, &health),
        webhooks: webhooks(state, &inbox),
        traffic_chart,
        traffic_legend,
        operations: ops
            .into_iter()
            .take(15)
            .map(|e| event_row(state, e, now))
            .collect(),
        alerts: alert_rows,
        clients: clients(&samples),
        usage: usage::usage_panel(state, now).await?,
    })
}

pub(crate) async fn errors(
    state: &DashboardState,
    (wname, wsecs): (&'static str, i64),
    now: Timestamp,
) -> Result<Errors, StoreError> {
    let since = since(now, wsecs);
    let events = read_events(state, since).await?;
    let firing = state.store.alerts(true, 1_000).await?.len();
    let mut errors: Vec<&ErrorEvent> = events.iter().filter(|e| !is_operation(e)).collect();
    let (errors_chart, error_total) = errors_chart(&errors, since, now);
    let groups = groups(&errors, 50);
    errors.sort_by_key(|e| std::cmp::Reverse(e.timestamp));
    Ok(Errors {
        layout: layout(state, "Errors", "/errors", wname, now, firing),
        errors_chart,
        error_total,
        legend: category_legend(),
        groups,
        events: errors
            .into_iter()
            .take(100)
            .map(|e| event_row(state, e, now))
            .collect(),
    })
}

pub(crate) async fn alerts(
    state: &DashboardState,
    (wname, wsecs): (&'static str, i64),
    now: Timestamp,
) -> Result<Alerts, StoreError> {
    let since = since(now, wsecs);
    let alerts = state.store.alerts(false, 200).await?;
    let checks = state.store.checks(None, since, 200).await?;
    let firing = alerts.iter().filter(|a| a.firing).count();
    let mut rows: Vec<AlertRow> = alerts.iter().map(|a| alert_row(state, a)).collect();
    rows.sort_by_key(|a| !a.firing);
    Ok(Alerts {
        layout: layout(state, "Alerts & checks", "/alerts", wname, now, firing),
        alerts: rows,
        checks: checks
            .iter()
            .map(|c| CheckRow {
                when: c.ran_at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                ago: ago(now, c.ran_at),
                job: clean(state, &c.job, 40),
                service: c.service.map_or("—", Service::as_str),
                status: clean(state, &c.status, 40),
                class: class(Level::of(&c.status)),
                summary: clean(state, &summary_line(&c.summary), 200),
                instance: clean(state, &c.instance, 60),
            })
            .collect(),
    })
}

fn since(now: Timestamp, secs: i64) -> Timestamp {
    Timestamp::from_second(now.as_second() - secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

async fn read_events(
    state: &DashboardState,
    since: Timestamp,
) -> Result<Vec<ErrorEvent>, StoreError> {
    state
        .store
        .events(&EventFilter {
            since: Some(since),
            services: vec![],
            limit: Some(MAX_EVENTS),
        })
        .await
}

/// Operations (what apiops or a person did), as opposed to failures seen.
fn is_operation(e: &ErrorEvent) -> bool {
    matches!(
        e.action_taken,
        ActionTaken::Executed | ActionTaken::AutoFixed
    )
}

/// Text from the store as shown: secrets and URL credentials scrubbed, control characters
/// dropped, at most `max` characters.
pub(super) fn clean(state: &DashboardState, text: &str, max: usize) -> String {
    let scrubbed = state.redactor.redact(text);
    let scrubbed = apiops_client::redact::redact_urls_in_text(&scrubbed);
    let printable: String = scrubbed
        .chars()
        .filter(|c| !c.is_control() || *c == ' ')
        .collect();
    truncate(&printable, max)
}

fn class(level: Level) -> &'static str {
    match level {
        Level::Ok => "ok",
        Level::Warn => "warn",
        Level::Bad => "bad",
        Level::Unknown => "unknown",
    }
}

/// "12s", "5m", "3h 4m", "2d 1h".
pub(super) fn duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        3_600..86_400 => format!("{}h {}m", s / 3_600, s % 3_600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3_600),
    }
}

pub(super) fn ago(now: Timestamp, t: Timestamp) -> String {
    let d = now.as_second() - t.as_second();
    if d < 0 {
        "in the future".to_owned()
    } else {
        format!("{} ago", duration(d))
    }
}

/// A field of a check's summary, at the top or one object down.
fn find<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).or_else(|| {
        v.as_object()?
            .values()
            .filter(|x| x.is_object())
            .find_map(|x| x.get(key))
    })
}

/// One line of a summary: its `reason`, `message` or `summary` field, else the JSON itself.
fn summary_line(summary: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(summary) else {
        return summary.to_owned();
    };
    for key in ["reason", "message", "summary"] {
        if let Some(s) = find(&v, key).and_then(Value::as_str) {
            return s.to_owned();
        }
    }
    v.to_string()
}

fn tile(
    state: &DashboardState,
    service: Service,
    health: &[CheckRecord],
    errors: &[&ErrorEvent],
    inbox: u64,
    now: Timestamp,
) -> Tile {
    let latest = health
        .iter()
        .filter(|c| c.service == Some(service))
        .max_by_key(|c| c.ran_at);
    let errors = errors.iter().filter(|e| e.service == service).count() as u64;
    let Some(c) = latest else {
        return Tile {
            name: service.display_name(),
            status: "no check yet".into(),
            class: "unknown",
            checked: String::new(),
            latency: String::new(),
            reason: String::new(),
            errors,
            inbox,
        };
    };
    let v: Value = serde_json::from_str(&c.summary).unwrap_or(Value::Null);
    let latency = find(&v, "latency_ms")
        .and_then(Value::as_u64)
        .map(|ms| format!("{ms} ms"))
        .unwrap_or_default();
    let reason = find(&v, "reason")
        .and_then(Value::as_str)
        .map(|r| clean(state, r, 160))
        .unwrap_or_default();
    Tile {
        name: service.display_name(),
        status: clean(state, &c.status, 30),
        class: class(Level::of(&c.status)),
        checked: ago(now, c.ran_at),
        latency,
        reason,
        errors,
        inbox,
    }
}

fn fix_for(service: Service, code: &str) -> (String, bool) {
    let c = match service {
        Service::Twilio => apiops_providers::twilio::classify::classify(code, None),
        Service::Stripe => apiops_providers::stripe::classify::classify(code, None),
        Service::Openai => apiops_providers::openai::classify::classify(code, None),
        // A configured API has no error dictionary: its codes are not known ones.
        Service::Api(_) => return (String::new(), false),
    };
    (c.remediation, c.known)
}

fn groups(errors: &[&ErrorEvent], limit: usize) -> Vec<GroupRow> {
    let mut agg = Aggregator::new();
    let mut fixes: BTreeMap<(Service, &str), (String, bool)> = BTreeMap::new();
    for e in errors {
        let (fix, known) = fixes
            .entry((e.service, e.error_code.as_str()))
            .or_insert_with(|| fix_for(e.service, &e.error_code));
        agg.push(e, fix, *known);
    }
    agg.finish()
        .into_iter()
        .take(limit)
        .map(|g| GroupRow {
            service: g.service.display_name(),
            code: g.error_code,
            category: g.category.as_str(),
            severity: g.severity.as_str(),
            count: g.count,
            fix: g.suggested_fix,
            unknown: g.unknown,
        })
        .collect()
}

fn event_row(state: &DashboardState, e: &ErrorEvent, now: Timestamp) -> EventRow {
    let resource = if e.resource_id.is_empty() {
        e.resource_type.clone()
    } else {
        format!("{} {}", e.resource_type, e.resource_id)
    };
    EventRow {
        when: e.timestamp.strftime("%Y-%m-%d %H:%M:%S").to_string(),
        ago: ago(now, e.timestamp),
        service: e.service.display_name(),
        code: clean(state, &e.error_code, 60),
        category: e.category.as_str(),
        severity: e.severity.as_str(),
        resource: clean(state, &resource, 80),
        context: clean(state, &e.context, 200),
        action: e.action_taken.as_str(),
        result: e.result.as_str(),
        class: match e.result {
            EventResult::Success => "ok",
            EventResult::Pending => "warn",
            EventResult::Failed => "bad",
        },
    }
}

fn alert_row(state: &DashboardState, a: &AlertRecord) -> AlertRow {
    AlertRow {
        firing: a.firing,
        rule: clean(state, &a.rule, 60),
        service: a.service.map_or("—", Service::display_name),
        severity: a.severity.as_str(),
        message: clean(state, &a.message, 240),
        since: format!("{} UTC", a.fired_at.strftime("%Y-%m-%d %H:%M")),
        resolved: a
            .resolved_at
            .filter(|_| !a.firing)
            .map(|t| format!("{} UTC", t.strftime("%Y-%m-%d %H:%M")))
            .unwrap_or_default(),
    }
}

fn webhooks(state: &DashboardState, inbox: &BTreeMap<Service, u64>) -> Vec<WebhookRow> {
    let accepted = state.receiver.accepted();
    let rejected = state.receiver.rejected();
    Service::ALL
        .iter()
        .map(|s| {
            let count = |what: &str| {
                accepted
                    .iter()
                    .filter(|(x, w, _)| x == s && *w == what)
                    .map(|(_, _, n)| n)
                    .sum::<u64>()
            };
            let reasons: Vec<String> = rejected
                .iter()
                .filter(|(x, _, _)| x == s)
                .map(|(_, r, n)| format!("{r} {n}"))
                .collect();
            WebhookRow {
                provider: s.display_name(),
                enabled: state.receivers.contains(s),
                new: count("new"),
                duplicate: count("duplicate"),
                rejected: rejected
                    .iter()
                    .filter(|(x, _, _)| x == s)
                    .map(|(_, _, n)| n)
                    .sum(),
                reasons: reasons.join(", "),
                stored: inbox.get(s).copied().unwrap_or(0),
            }
        })
        .collect()
}

fn clients(samples: &[Sample]) -> Vec<ClientRow> {
    #[derive(Default)]
    struct Acc {
        requests: f64,
        failed: f64,
        retries: f64,
        sum: f64,
        count: f64,
        breaker: f64,
    }
    let mut by: BTreeMap<String, Acc> = BTreeMap::new();
    for s in samples {
        let Some(client) = s.label("client") else {
            continue;
        };
        let a = by.entry(client.to_owned()).or_default();
        match s.name.as_str() {
            metric_names::HTTP_REQUESTS_TOTAL => {
                a.requests += s.value;
                if !s.label("status").is_some_and(|st| st.starts_with('2')) {
                    a.failed += s.value;
                }
            }
            metric_names::HTTP_RETRIES_TOTAL => a.retries += s.value,
            // A histogram's total and count are series of their own, named after it.
            name if name.strip_suffix("_sum")
                == Some(metric_names::HTTP_REQUEST_DURATION_SECONDS) =>
            {
                a.sum += s.value;
            }
            name if name.strip_suffix("_count")
                == Some(metric_names::HTTP_REQUEST_DURATION_SECONDS) =>
            {
                a.count += s.value;
            }
            metric_names::BREAKER_OPEN => a.breaker = a.breaker.max(s.value),
            _ => {}
        }
    }
    by.into_iter()
        .filter(|(_, a)| a.requests > 0.0)
        .map(|(client, a)| {
            let (breaker, class) = if a.breaker >= 1.0 {
                ("open", "bad")
            } else if a.breaker > 0.0 {
                ("half-open", "warn")
            } else {
                ("closed", "ok")
            };
            ClientRow {
                client,
                requests: a.requests as u64,
                failed: a.failed as u64,
                retries: a.retries as u64,
                latency: if a.count > 0.0 {
                    format!("{:.0} ms", a.sum / a.count * 1000.0)
                } else {
                    String::new()
                },
                breaker,
                class,
            }
        })
        .collect()
}
