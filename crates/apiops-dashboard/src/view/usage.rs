//! The Overview's usage panel: spend per day per service over the last [`CHART_DAYS`] days (one
//! inline SVG chart per currency), and a row per service with today, this month, the trailing
//! average and the budget — all read from the monitor's `usage` check records (the newest
//! readable one of each service; each covers the whole chart). Text from a summary passes
//! through [`clean`] like every other text from the store.

use std::collections::BTreeMap;

use apiops_core::Service;
use apiops_providers::usage::Decimal;
use apiops_store::{CheckRecord, StoreError};
use jiff::Timestamp;
use serde_json::Value;

use super::{DashboardState, Legend, ago, clean, since};
use crate::svg::{self, Line};

/// Days charted (the monitor reads at least as many).
pub(crate) const CHART_DAYS: usize = 30;
/// Usage records read at most: about a week of three services checked hourly.
const MAX_RECORDS: u32 = 500;
/// How far back a record is looked for.
const LOOKBACK_SECS: i64 = 7 * 86_400;

/// One service's spend.
#[derive(Debug)]
pub(crate) struct UsageRow {
    pub(crate) service: &'static str,
    pub(crate) checked: String,
    pub(crate) today: String,
    pub(crate) month: String,
    pub(crate) average: String,
    pub(crate) budget: String,
    /// `ok`, `warn` (over 80 % of the budget), `bad` (over it), `unknown` (not readable).
    pub(crate) class: &'static str,
    /// Why the last read failed, when it did.
    pub(crate) missing: String,
}

/// What the panel shows.
#[derive(Debug, Default)]
pub(crate) struct UsagePanel {
    pub(crate) charts: Vec<String>,
    pub(crate) legend: Vec<Legend>,
    pub(crate) rows: Vec<UsageRow>,
}

/// Each service's line color.
fn color(s: Service) -> &'static str {
    match s {
        Service::Twilio => "#d64545",
        Service::Stripe => "#635bff",
        Service::Openai => "#10a37f",
        Service::Api(_) => "#6b7280",
    }
}

fn amount(v: &Value) -> f64 {
    v.as_str()
        .and_then(Decimal::parse)
        .map(|d| d.to_string().parse::<f64>().unwrap_or(0.0))
        .unwrap_or(0.0)
}

/// `{"USD": "12.5"}` as `12.50 USD`; nothing spent is `0`.
fn money(state: &DashboardState, v: &Value) -> String {
    let Some(m) = v.as_object().filter(|m| !m.is_empty()) else {
        return "0".to_owned();
    };
    let text = m
        .iter()
        .map(|(cur, a)| format!("{:.2} {cur}", amount(a)))
        .collect::<Vec<_>>()
        .join(", ");
    clean(state, &text, 80)
}

pub(crate) async fn usage_panel(
    state: &DashboardState,
    now: Timestamp,
) -> Result<UsagePanel, StoreError> {
    let records = state
        .store
        .checks(Some("usage"), since(now, LOOKBACK_SECS), MAX_RECORDS)
        .await?;
    Ok(panel(state, &records, now))
}

/// The panel from usage records, newest first.
pub(crate) fn panel(state: &DashboardState, records: &[CheckRecord], now: Timestamp) -> UsagePanel {
    let mut rows = Vec::new();
    // currency -> service -> day -> spend
    let mut series: BTreeMap<String, BTreeMap<Service, BTreeMap<String, f64>>> = BTreeMap::new();
    let mut days: Vec<String> = Vec::new();
    for s in Service::ALL {
        let mine: Vec<&CheckRecord> = records.iter().filter(|c| c.service == Some(*s)).collect();
        let Some(latest) = mine.first() else { continue };
        let ok = mine.iter().find(|c| c.status == "ok").and_then(|c| {
            serde_json::from_str::<Value>(&c.summary)
                .ok()
                .map(|v| (c, v))
        });
        let missing = if latest.status == "ok" {
            String::new()
        } else {
            serde_json::from_str::<Value>(&latest.summary)
                .ok()
                .and_then(|v| v["missing"].as_str().map(|m| clean(state, m, 200)))
                .unwrap_or_else(|| "the last read failed".to_owned())
        };
        let Some((c, v)) = ok else {
            rows.push(UsageRow {
                service: s.display_name(),
                checked: ago(now, latest.ran_at),
                today: String::new(),
                month: String::new(),
                average: String::new(),
                budget: String::new(),
                class: "unknown",
                missing,
            });
            continue;
        };
        for d in v["days"].as_array().into_iter().flatten() {
            let Some(date) = d["date"].as_str() else {
                continue;
            };
            let date = clean(state, date, 10);
            if !days.contains(&date) {
                days.push(date.clone());
            }
            for (cur, a) in d["spend"].as_object().into_iter().flatten() {
                series
                    .entry(clean(state, cur, 8))
                    .or_default()
                    .entry(*s)
                    .or_default()
                    .insert(date.clone(), amount(a));
            }
        }
        let b = &v["budget"];
        let ratio = b["ratio"].as_f64();
        let budget = match (b["budget"].as_str(), b["spent"].as_str(), ratio) {
            (Some(budget), Some(spent), Some(r)) => clean(
                state,
                &format!("{spent} of {budget} ({:.0}%)", r * 100.0),
                80,
            ),
            _ => String::new(),
        };
        rows.push(UsageRow {
            service: s.display_name(),
            checked: ago(now, c.ran_at),
            today: money(state, &v["today"]),
            month: money(state, &v["periods"]["month"]["spend"]),
            average: money(state, &v["trailing_average"]),
            budget,
            class: match ratio {
                Some(r) if r > 1.0 => "bad",
                Some(r) if r > 0.8 => "warn",
                _ => "ok",
            },
            missing,
        });
    }
    days.sort();
    let skip = days.len().saturating_sub(CHART_DAYS);
    let days: Vec<String> = days.into_iter().skip(skip).collect();
    let charts = series
        .iter()
        .filter(|(_, by)| by.values().any(|d| d.values().any(|v| *v > 0.0)))
        .map(|(cur, by)| {
            let lines: Vec<Line> = by
                .iter()
                .map(|(s, d)| Line {
                    name: s.display_name().to_owned(),
                    color: color(*s),
                    values: days
                        .iter()
                        .map(|day| d.get(day).copied().unwrap_or(0.0))
                        .collect(),
                })
                .collect();
            svg::daily_lines(
                "usage",
                &format!("Spend per day by service ({cur})"),
                &days,
                &lines,
                cur,
            )
        })
        .collect();
    let legend = rows
        .iter()
        .filter_map(|r| {
            Service::ALL
                .iter()
                .find(|s| s.display_name() == r.service)
                .map(|s| Legend {
                    name: s.display_name(),
                    color: color(*s),
                })
        })
        .collect();
    UsagePanel {
        charts,
        legend,
        rows,
    }
}
