//! The dashboard's charts as inline SVG (through `svg.rs`): health over time, errors over
//! time by category, rate-limit headroom, webhook traffic.

use super::*;

pub(super) fn health_chart(
    health: &[CheckRecord],
    since: Timestamp,
    now: Timestamp,
) -> Option<String> {
    let rows: Vec<Row> = Service::ALL
        .iter()
        .filter_map(|s| {
            let marks: Vec<Mark> = health
                .iter()
                .filter(|c| c.service == Some(*s))
                .map(|c| Mark {
                    at: c.ran_at,
                    level: Level::of(&c.status),
                    note: format!(
                        "{} {} at {} UTC",
                        s.display_name(),
                        c.status,
                        c.ran_at.strftime("%Y-%m-%d %H:%M:%S")
                    ),
                })
                .collect();
            (!marks.is_empty()).then(|| Row {
                label: s.display_name().to_owned(),
                marks,
            })
        })
        .collect();
    (!rows.is_empty()).then(|| svg::timeline(&rows, since, now))
}

/// The color of each category in the errors chart.
pub(crate) fn category_color(c: Category) -> &'static str {
    match c {
        Category::Auth => "#c0392b",
        Category::Config => "#e67e22",
        Category::RateLimit => "#d4ac0d",
        Category::Carrier => "#8e44ad",
        Category::SpamBlocked => "#d35db3",
        Category::BadParams => "#2980b9",
        Category::Transient => "#7f8c8d",
    }
}

pub(super) fn category_legend() -> Vec<Legend> {
    Category::ALL
        .iter()
        .map(|c| Legend {
            name: c.as_str(),
            color: category_color(*c),
        })
        .collect()
}

pub(super) fn errors_chart(
    errors: &[&ErrorEvent],
    since: Timestamp,
    now: Timestamp,
) -> (Option<String>, u64) {
    let span = (now.as_second() - since.as_second()).max(1);
    let mut buckets = vec![vec![0u64; Category::ALL.len()]; ERROR_BUCKETS];
    let mut total = 0;
    for e in errors {
        let off = e.timestamp.as_second() - since.as_second();
        if !(0..=span).contains(&off) {
            continue;
        }
        let b = ((off as f64 / span as f64) * ERROR_BUCKETS as f64) as usize;
        let k = Category::ALL
            .iter()
            .position(|c| *c == e.category)
            .unwrap_or(0);
        buckets[b.min(ERROR_BUCKETS - 1)][k] += 1;
        total += 1;
    }
    if total == 0 {
        return (None, 0);
    }
    let series: Vec<Series> = Category::ALL
        .iter()
        .map(|c| Series {
            name: c.as_str().to_owned(),
            color: category_color(*c),
        })
        .collect();
    (
        Some(svg::stacked_bars(
            svg::WIDE,
            "errors",
            "Errors over time by category",
            &series,
            &buckets,
            since,
            now,
        )),
        total,
    )
}

/// Headroom from the live metrics (the monitor's per service, the clients' per limit), else
/// from the latest health check's `*_headroom` details.
pub(super) fn headroom_chart(samples: &[Sample], health: &[CheckRecord]) -> Option<String> {
    let mut items: BTreeMap<String, f64> = BTreeMap::new();
    for s in samples {
        match s.name.as_str() {
            metric_names::RATE_LIMIT_HEADROOM_RATIO => {
                let service = s.label("service").unwrap_or("?");
                items.insert(format!("{service} (checked)"), s.value);
            }
            metric_names::HTTP_RATE_LIMIT_HEADROOM_RATIO => {
                let client = s.label("client").unwrap_or("?");
                let limit = s.label("limit").unwrap_or("requests");
                items.insert(format!("{client} {limit}"), s.value);
            }
            _ => {}
        }
    }
    for service in Service::ALL {
        let Some(c) = health
            .iter()
            .filter(|c| c.service == Some(*service))
            .max_by_key(|c| c.ran_at)
        else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<Value>(&c.summary) else {
            continue;
        };
        if let Some(r) = find(&v, "headroom_ratio").and_then(Value::as_f64) {
            items
                .entry(format!("{} (checked)", service.as_str()))
                .or_insert(r);
        }
        let Some(details) = find(&v, "details").and_then(Value::as_object) else {
            continue;
        };
        for (k, val) in details {
            let Some(limit) = k.strip_suffix("_headroom") else {
                continue;
            };
            let Some(pct) = val
                .as_str()
                .and_then(|t| t.split('%').next())
                .and_then(|n| n.trim().parse::<f64>().ok())
            else {
                continue;
            };
            let label = format!("{} {limit}", service.as_str());
            items.entry(label).or_insert(pct / 100.0);
        }
    }
    if items.is_empty() {
        return None;
    }
    let items: Vec<(String, f64)> = items.into_iter().collect();
    Some(svg::gauges(
        "headroom",
        "Rate-limit headroom (remaining share of the limit)",
        &items,
    ))
}

pub(super) fn traffic_chart(
    state: &DashboardState,
    now: Timestamp,
) -> (Option<String>, Vec<Legend>) {
    let series = [
        ("new", "#2e9e5b"),
        ("duplicate", "#5b8def"),
        ("rejected", "#d64545"),
    ];
    let legend = series
        .iter()
        .map(|&(name, color)| Legend { name, color })
        .collect();
    let mut points = state.traffic.points();
    points.push(Traffic::now(&state.receiver, now));
    let (Some(first), Some(last)) = (points.first().copied(), points.last().copied()) else {
        return (None, legend);
    };
    if last.new + last.duplicate + last.rejected == 0 {
        return (None, legend);
    }
    let deltas: Vec<Vec<u64>> = points
        .windows(2)
        .map(|w| {
            vec![
                w[1].new.saturating_sub(w[0].new),
                w[1].duplicate.saturating_sub(w[0].duplicate),
                w[1].rejected.saturating_sub(w[0].rejected),
            ]
        })
        .collect();
    // At most TRAFFIC_BARS bars: consecutive intervals summed.
    let per = deltas.len().div_ceil(TRAFFIC_BARS).max(1);
    let bars: Vec<Vec<u64>> = deltas
        .chunks(per)
        .map(|c| {
            (0..3)
                .map(|k| c.iter().map(|d| d[k]).sum())
                .collect::<Vec<u64>>()
        })
        .collect();
    let series: Vec<Series> = series
        .iter()
        .map(|(name, color)| Series {
            name: (*name).to_owned(),
            color,
        })
        .collect();
    (
        Some(svg::stacked_bars(
            svg::HALF,
            "traffic",
            "Webhooks received by this instance",
            &series,
            &bars,
            first.at,
            now,
        )),
        legend,
    )
}
