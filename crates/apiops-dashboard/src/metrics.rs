//! Metrics of `apiops serve`: the Prometheus recorder behind the `metrics` facade, installed
//! once per process, and the names and meanings of what the crates record through it.
//!
//! The libraries (`apiops-client`, `apiops-webhooks`, the monitor) only call the `metrics`
//! macros, which do nothing until a recorder is installed: CLI commands pay nothing. `apiops
//! serve` calls [`install`] and renders the text format from its own `/metrics` route (the
//! exporter's own HTTP listener is not compiled in). Every series is named `apiops_...`.

use std::sync::OnceLock;
use std::time::Duration;

use apiops_core::metric_names;
use metrics::Unit;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency buckets in seconds: 1 ms to 30 s.
const SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Batch size buckets (the ingest commits at most 1,024 events at once).
const BATCH: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder (the first call; later calls return the same handle) and
/// starts its upkeep. The handle renders the text exposition format.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = builder().build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics stays empty");
            }
            describe();
            metrics::gauge!(metric_names::BUILD_INFO, "version" => env!("CARGO_PKG_VERSION"))
                .set(1.0);
            let upkeep = handle.clone();
            // Drains histogram samples even when nobody scrapes, so memory stays bounded.
            let _ = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(Duration::from_secs(5));
                        upkeep.run_upkeep();
                    }
                });
            handle
        })
        .clone()
}

/// The recorder's configuration: histograms with buckets (real Prometheus histograms, not
/// summaries, so they aggregate across instances).
pub fn builder() -> PrometheusBuilder {
    let b = PrometheusBuilder::new();
    let b = b
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
        .unwrap_or_else(|_| PrometheusBuilder::new());
    b.set_buckets_for_metric(
        Matcher::Full(metric_names::STORE_COMMIT_BATCH_SIZE.into()),
        BATCH,
    )
    .unwrap_or_else(|_| PrometheusBuilder::new())
}

/// The series recorded by this workspace, with their help text (shown as `# HELP`).
pub const SERIES: &[(&str, Kind, &str)] = &[
    (
        metric_names::BUILD_INFO,
        Kind::Gauge,
        "Always 1; the version label tells which apiops is running",
    ),
    (
        metric_names::HTTP_REQUESTS_TOTAL,
        Kind::Counter,
        "Logical API requests (retries included in one) by client and status: the HTTP code, or what failed instead (timeout, connect, circuit_open...)",
    ),
    (
        metric_names::HTTP_REQUEST_DURATION_SECONDS,
        Kind::Histogram,
        "Latency of a logical API request, retries and waits included, by client",
    ),
    (
        metric_names::HTTP_RETRIES_TOTAL,
        Kind::Counter,
        "Retries sent by client",
    ),
    (
        metric_names::HTTP_HEDGES_TOTAL,
        Kind::Counter,
        "Hedged copies of slow reads sent, by client (capped at [client] hedge_share of reads)",
    ),
    (
        metric_names::HTTP_HEDGES_WON_TOTAL,
        Kind::Counter,
        "Hedged copies whose answer was the one used, by client",
    ),
    (
        metric_names::HTTP_RETRY_BUDGET_TOKENS,
        Kind::Gauge,
        "Retries the retry budget still allows, by client and budget (general; read: what reads may spend beyond it)",
    ),
    (
        metric_names::HTTP_RATE_LIMIT_HEADROOM_RATIO,
        Kind::Gauge,
        "Remaining share of the provider's rate limit (requests or tokens) from the last response headers, by client",
    ),
    (
        metric_names::BREAKER_OPEN,
        Kind::Gauge,
        "Circuit breaker state by client and host: 1 open (refusing), 0.5 half-open (probing), 0 closed",
    ),
    (
        metric_names::BREAKER_OPENED_TOTAL,
        Kind::Counter,
        "Times a circuit breaker opened, by client and host",
    ),
    (
        metric_names::WEBHOOKS_RECEIVED_TOTAL,
        Kind::Counter,
        "Verified webhooks stored, by provider and outcome (new, or duplicate: stored once, still answered 2xx)",
    ),
    (
        metric_names::WEBHOOKS_REJECTED_TOTAL,
        Kind::Counter,
        "Webhooks refused, by provider and reason (bad_signature, timestamp_outside_tolerance, malformed_body...)",
    ),
    (
        metric_names::WEBHOOKS_IN_FLIGHT,
        Kind::Gauge,
        "Webhook requests being handled now",
    ),
    (
        metric_names::WEBHOOK_REQUEST_DURATION_SECONDS,
        Kind::Histogram,
        "Time to answer a webhook, the wait for its durable commit included, by provider",
    ),
    (
        metric_names::STORE_COMMIT_DURATION_SECONDS,
        Kind::Histogram,
        "Duration of one group commit of the webhook inbox",
    ),
    (
        metric_names::STORE_COMMIT_BATCH_SIZE,
        Kind::Histogram,
        "Events in one group commit of the webhook inbox",
    ),
    (
        metric_names::STORE_COMMIT_FAILURES_TOTAL,
        Kind::Counter,
        "Group commits of the webhook inbox that failed",
    ),
    (
        metric_names::ERRORS_TOTAL,
        Kind::Counter,
        "Provider failures recorded from webhooks and polls, by service, category and code",
    ),
    // Recorded by the monitor (`apiops-monitor`), described here with the rest.
    (
        metric_names::CHECK_RUNS_TOTAL,
        Kind::Counter,
        "Scheduled checks run by this instance, by job, service and status",
    ),
    (
        metric_names::CHECK_DURATION_SECONDS,
        Kind::Histogram,
        "Duration of a scheduled check, by job and service",
    ),
    (
        metric_names::SERVICE_UP,
        Kind::Gauge,
        "Last health check verdict by service: 1 operational, 0.5 degraded, 0 down",
    ),
    (
        metric_names::RATE_LIMIT_HEADROOM_RATIO,
        Kind::Gauge,
        "Lowest remaining share of a rate limit the last health check saw, by service",
    ),
    (
        metric_names::ALERTS_FIRING,
        Kind::Gauge,
        "Alerts firing now, by rule",
    ),
    (
        metric_names::AUTOFIX_TOTAL,
        Kind::Counter,
        "Automatic fixes attempted within policy, by operation and result",
    ),
    (
        metric_names::USAGE_SPEND,
        Kind::Gauge,
        "Spend the last usage job read for the current period, by service, currency and period (day, week, month; UTC)",
    ),
    (
        metric_names::USAGE_DAILY_AVERAGE,
        Kind::Gauge,
        "Daily spend averaged over the days before today that the usage anomaly rule compares with, by service and currency",
    ),
    (
        metric_names::USAGE_BUDGET_RATIO,
        Kind::Gauge,
        "Spend in the budget's current period divided by the budget (over 1: over budget), by service, currency and period",
    ),
    // Recorded by retention (`apiops_monitor::retention`).
    (
        metric_names::RETENTION_PRUNED_TOTAL,
        Kind::Counter,
        "Rows pruned by retention, by kind: payloads (raw webhook payloads emptied, rows kept) or events (event-log rows deleted)",
    ),
    // Recorded by the accept loop and its layers (the binary's `server.rs`).
    (
        metric_names::HTTP_REQUEST_TIMEOUTS_TOTAL,
        Kind::Counter,
        "Requests to apiops serve answered 408 because they outlasted the request timeout, by route group",
    ),
    (
        metric_names::HTTP_REQUESTS_SHED_TOTAL,
        Kind::Counter,
        "Requests to apiops serve shed with a 503 because their route group was at its concurrency limit, by route group",
    ),
    (
        metric_names::HTTP_CONNECTIONS_REFUSED_TOTAL,
        Kind::Counter,
        "Connections to apiops serve closed at once because the connection cap was reached",
    ),
    (
        metric_names::HTTP_CONNECTIONS_OPEN,
        Kind::Gauge,
        "Connections to apiops serve open now",
    ),
];

/// A series' type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

fn describe() {
    for (name, kind, help) in SERIES {
        let unit = if name.ends_with("_seconds") {
            Some(Unit::Seconds)
        } else {
            None
        };
        match (kind, unit) {
            (Kind::Counter, _) => metrics::describe_counter!(*name, *help),
            (Kind::Gauge, _) => metrics::describe_gauge!(*name, *help),
            (Kind::Histogram, Some(u)) => metrics::describe_histogram!(*name, u, *help),
            (Kind::Histogram, None) => metrics::describe_histogram!(*name, *help),
        }
    }
}

/// One sample of the text exposition format.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    /// A label's value.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads the samples of a text exposition (what [`PrometheusHandle::render`] writes), for the
/// dashboard's live figures. Comment lines and lines that do not parse are skipped.
pub fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(parse_line)
        .collect()
}

fn parse_line(line: &str) -> Option<Sample> {
    let line = line.trim();
    let name_end = line.find(['{', ' '])?;
    let name = line[..name_end].to_owned();
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(r) = rest.strip_prefix('{') {
        let mut chars = r.char_indices().peekable();
        let mut key = String::new();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '}' => {
                    end = Some(i + 1);
                    break;
                }
                ',' | ' ' => {}
                '=' => {
                    if chars.next()?.1 != '"' {
                        return None;
                    }
                    let mut value = String::new();
                    loop {
                        match chars.next()?.1 {
                            '\\' => match chars.next()?.1 {
                                'n' => value.push('\n'),
                                other => value.push(other),
                            },
                            '"' => break,
                            other => value.push(other),
                        }
                    }
                    labels.push((std::mem::take(&mut key), value));
                }
                other => key.push(other),
            }
        }
        rest = &r[end?..];
    }
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some(Sample {
        name,
        labels,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_series_is_named_apiops() {
        for (name, _, help) in SERIES {
            assert!(name.starts_with("apiops_"), "{name}");
            assert!(!help.is_empty());
        }
    }

    /// Every series any crate records is described once, and nothing is described that no
    /// crate records (four of the server's series once went undescribed).
    #[test]
    fn the_described_series_are_exactly_the_recorded_names() {
        let described: Vec<&str> = SERIES.iter().map(|(name, _, _)| *name).collect();
        let unique: std::collections::BTreeSet<&str> = described.iter().copied().collect();
        assert_eq!(unique.len(), described.len(), "a series described twice");
        let recorded: std::collections::BTreeSet<&str> =
            metric_names::ALL.iter().copied().collect();
        assert_eq!(unique, recorded);
    }

    /// The names dashboards and alerting rules already parse: renaming one is a breaking change.
    #[test]
    fn the_names_are_unchanged() {
        for (constant, name) in [
            (
                metric_names::HTTP_REQUESTS_TOTAL,
                "apiops_http_requests_total",
            ),
            (metric_names::BREAKER_OPEN, "apiops_breaker_open"),
            (
                metric_names::WEBHOOKS_RECEIVED_TOTAL,
                "apiops_webhooks_received_total",
            ),
            (metric_names::ERRORS_TOTAL, "apiops_errors_total"),
            (metric_names::SERVICE_UP, "apiops_service_up"),
            (
                metric_names::HTTP_CONNECTIONS_OPEN,
                "apiops_http_connections_open",
            ),
        ] {
            assert_eq!(constant, name);
        }
    }

    #[test]
    fn the_recorder_renders_what_the_facade_records() {
        let recorder = builder().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            metrics::counter!("apiops_webhooks_received_total", "provider" => "stripe", "outcome" => "new")
                .increment(3);
            metrics::histogram!("apiops_store_commit_duration_seconds").record(0.002);
            metrics::gauge!("apiops_breaker_open", "client" => "twilio", "host" => "a\"b").set(1.0);
        });
        let text = handle.render();
        let samples = parse(&text);
        let received = samples
            .iter()
            .find(|s| s.name == "apiops_webhooks_received_total")
            .expect("counter");
        assert_eq!(received.value, 3.0);
        assert_eq!(received.label("provider"), Some("stripe"));
        assert!(
            samples
                .iter()
                .any(|s| s.name == "apiops_store_commit_duration_seconds_bucket"
                    && s.label("le") == Some("0.0025")
                    && s.value == 1.0),
            "{text}"
        );
        let breaker = samples
            .iter()
            .find(|s| s.name == "apiops_breaker_open")
            .expect("gauge");
        assert_eq!(breaker.label("host"), Some("a\"b"));
    }

    #[test]
    fn parses_lines() {
        let s = parse(
            "# HELP x y\nplain 1.5\nwith{a=\"1\",b=\"x\\\\y\"} 2\nbad{a=1} 3\ninf_bucket{le=\"+Inf\"} +Inf\n",
        );
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].name, "plain");
        assert_eq!(s[1].labels[1], ("b".into(), "x\\y".into()));
        assert!(s[2].value.is_infinite());
    }
}
