//! Health, error scan and audit across services: which providers to run on, each check run on
//! every one of them concurrently, and the results merged and ranked. What `apiops health`,
//! `errors`, `audit`, `demo` and the MCP tools of the same names call; they only render.
//!
//! The error scan counts a window's events only once the window is read to its end; a window
//! that cannot be read is named in [`ErrorsOutcome::unread`] and [`resume`] reads just those
//! later (see [`crate::partial`]).
//!
//! Storing the events is left to an [`EventSink`] (the binary passes the store), so this crate
//! stays free of any database.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::Arc;

use apiops_core::{Category, ErrorEvent, ErrorGroup, Finding, Health, Service};
use futures::StreamExt;
use serde::Serialize;

use crate::aggregate::Aggregator;
use crate::partial::{ScanItem, ScanPlan, ScanRequest, ScanStream, UnreadWindow, WindowRef};
use crate::{Progress, Provider, ProviderError, TimeWindow};

/// The providers a check runs on.
pub struct Selected {
    /// Those that could be built, in service order.
    pub providers: Vec<Box<dyn Provider>>,
    /// Those left out, and why (missing credentials).
    pub skipped: Vec<(Service, String)>,
}

impl std::fmt::Debug for Selected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Selected")
            .field(
                "providers",
                &self
                    .providers
                    .iter()
                    .map(|p| p.service())
                    .collect::<Vec<_>>(),
            )
            .field("skipped", &self.skipped)
            .finish()
    }
}

/// Why no selection could be made.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    /// A service named explicitly has no credentials.
    #[error("{} credentials missing: set {}", .service.display_name(), .variables.join(", "))]
    MissingCredentials {
        /// Whose credentials.
        service: Service,
        /// The variables to set.
        variables: Vec<&'static str>,
    },
    /// No service named, and none is configured.
    #[error("no service is configured: set credentials for at least one ({})", .missing.join(", "))]
    NothingConfigured {
        /// The variables that would configure one, every service's.
        missing: Vec<&'static str>,
    },
    /// A service could not be set up for another reason (a bad URL...).
    #[error("setting up {}", .service.display_name())]
    Setup {
        /// Which service.
        service: Service,
        /// Why.
        #[source]
        source: ProviderError,
    },
}

/// Builds the requested services (all when none is named) with `build`. A service named
/// explicitly whose credentials are missing is an error; with none named, unconfigured
/// services are skipped, and it is an error only when none is configured.
pub fn select(
    requested: &[Service],
    mut build: impl FnMut(Service) -> Result<Box<dyn Provider>, ProviderError>,
) -> Result<Selected, SelectError> {
    let explicit = !requested.is_empty();
    let wanted: Vec<Service> = if explicit {
        let mut v = requested.to_vec();
        v.sort();
        v.dedup();
        v
    } else {
        Service::ALL.to_vec()
    };
    let mut providers = Vec::new();
    let mut skipped = Vec::new();
    let mut missing: Vec<&'static str> = Vec::new();
    for s in wanted {
        match build(s) {
            Ok(p) => providers.push(p),
            Err(ProviderError::MissingCredentials { service, variables }) => {
                if explicit {
                    return Err(SelectError::MissingCredentials { service, variables });
                }
                missing.extend(variables.iter().copied());
                skipped.push((
                    service,
                    format!("not configured: set {}", variables.join(", ")),
                ));
            }
            Err(source) => return Err(SelectError::Setup { service: s, source }),
        }
    }
    if providers.is_empty() {
        missing.dedup();
        return Err(SelectError::NothingConfigured { missing });
    }
    Ok(Selected { providers, skipped })
}

/// A service whose scan or audit could not finish: the typed error itself (its category comes
/// from its type). Serializes as `{"service", "error" (as it displays), "category"}`.
#[derive(Debug, Clone)]
pub struct ScanFailure {
    /// Which service.
    pub service: Service,
    /// What went wrong (shared: the views that show it are built from clones).
    pub error: Arc<ProviderError>,
}

impl ScanFailure {
    /// `service`'s scan or audit failed with `error`.
    pub fn new(service: Service, error: ProviderError) -> Self {
        Self {
            service,
            error: Arc::new(error),
        }
    }

    /// The category of the error in the taxonomy, from its type.
    pub fn category(&self) -> Category {
        self.error.category()
    }
}

impl Serialize for ScanFailure {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut s = serializer.serialize_struct("ScanFailure", 3)?;
        s.serialize_field("service", &self.service)?;
        s.serialize_field("error", &self.error.to_string())?;
        s.serialize_field("category", &self.category())?;
        s.end()
    }
}

/// Health of every provider, concurrently, in their order; a rate limit's wait, when the
/// headers asked for one, is a `rate_limit` warning.
pub async fn health(providers: &[Box<dyn Provider>]) -> Vec<Health> {
    futures::future::join_all(providers.iter().map(|p| async move {
        let mut health = p.health().await;
        let now = std::time::SystemTime::now();
        let wait = p
            .rate_limited_until(now)
            .and_then(|t| crate::wait::RetryWait::until(t, now));
        crate::wait::annotate(&mut health, wait);
        health
    }))
    .await
}

/// Why an [`EventSink`] could not record events.
pub type SinkError = Box<dyn StdError + Send + Sync>;

/// Where a scan records every event it sees (the event log).
#[async_trait::async_trait]
pub trait EventSink: Send + Sync {
    /// Records `events`; how many were new.
    async fn append(&self, events: &[ErrorEvent]) -> Result<u64, SinkError>;
}

/// What an error scan is asked to do, besides the window.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions<'a> {
    /// Records every event seen here, in batches.
    pub sink: Option<&'a dyn EventSink>,
    /// Keeps up to this many matching events in the outcome.
    pub keep: usize,
    /// Counts only failures of this resource type (all are still recorded).
    pub resource: Option<&'a str>,
    /// Counts pages, records and failures as the scan goes (for a progress display).
    pub progress: Progress,
}

impl std::fmt::Debug for dyn EventSink + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventSink")
    }
}

/// What an error scan found.
#[derive(Debug, Default)]
pub struct ErrorsOutcome {
    /// The groups of every service, ranked together: only the windows read to their end count.
    pub groups: Vec<ErrorGroup>,
    /// Matching events counted.
    pub total: u64,
    /// Services or sources whose scan failed.
    pub failures: Vec<ScanFailure>,
    /// The windows that could not be read (by service, source and start): while any is listed
    /// the groups and the total are partial.
    pub unread: Vec<UnreadWindow>,
    /// What each provider needs to read its unread windows later ([`ScanItem::Memo`]).
    pub memos: Vec<(Service, serde_json::Value)>,
    /// The events, when asked to keep them (capped; none of an unread window).
    pub events: Vec<ErrorEvent>,
    /// How many events the sink newly recorded.
    pub stored: u64,
    /// Why the sink could not record them, if it could not (the first reason).
    pub store_error: Option<SinkError>,
}

/// Events handed to the sink at a time.
pub const STORE_BATCH: usize = 500;

/// Scans every provider for errors in `window`, concurrently; aggregates the events of the
/// windows read to their end into groups ranked across services, and names the windows that
/// could not be read; records every event seen in the sink in batches; keeps up to
/// `options.keep` matching events.
pub async fn errors(
    providers: &[Box<dyn Provider>],
    window: TimeWindow,
    options: ScanOptions<'_>,
) -> ErrorsOutcome {
    scan_all(providers, |_| Some(ScanRequest::period(window)), options).await
}

/// Reads only `unread` — the windows an earlier scan could not read — with the memos it left,
/// on the providers that have some; the outcome holds what those windows add (merge it into
/// the earlier groups with [`Aggregator::from_groups`]) and the windows still unread.
pub async fn resume(
    providers: &[Box<dyn Provider>],
    unread: &[UnreadWindow],
    memos: &[(Service, serde_json::Value)],
    options: ScanOptions<'_>,
) -> ErrorsOutcome {
    scan_all(
        providers,
        |service| {
            let windows: Vec<UnreadWindow> = unread
                .iter()
                .filter(|w| w.service == service)
                .cloned()
                .collect();
            (!windows.is_empty()).then(|| ScanRequest {
                plan: ScanPlan::Windows(windows),
                memo: memos
                    .iter()
                    .find(|(s, _)| *s == service)
                    .map(|(_, m)| m.clone()),
            })
        },
        options,
    )
    .await
}

/// What one service's scan gathered.
struct ServiceScan<'a> {
    agg: Aggregator,
    kept: Vec<(WindowRef, ErrorEvent)>,
    batch: Batch<'a>,
    failures: Vec<ScanFailure>,
    unread: Vec<UnreadWindow>,
    memo: Option<serde_json::Value>,
}

/// Runs the scan `request_for` asks of each provider (none when it says `None`), concurrently.
async fn scan_all(
    providers: &[Box<dyn Provider>],
    request_for: impl Fn(Service) -> Option<ScanRequest>,
    options: ScanOptions<'_>,
) -> ErrorsOutcome {
    let ScanOptions {
        sink,
        keep,
        resource,
        progress,
    } = options;
    let scans = providers.iter().filter_map(|p| {
        let service = p.service();
        let stream = p.scan(request_for(service)?, progress.clone());
        Some(scan_one(p.as_ref(), stream, sink, keep, resource))
    });
    let results = futures::future::join_all(scans).await;

    let mut all = Aggregator::new();
    let mut out = ErrorsOutcome::default();
    for (service, r) in results {
        all.merge(r.agg);
        out.events.extend(r.kept.into_iter().map(|(_, e)| e));
        out.stored += r.batch.stored;
        if out.store_error.is_none() {
            out.store_error = r.batch.error;
        }
        out.failures.extend(r.failures);
        out.unread.extend(r.unread);
        out.memos.extend(r.memo.map(|m| (service, m)));
    }
    out.unread
        .sort_by(|a, b| (a.service, &a.source, a.from).cmp(&(b.service, &b.source, b.from)));
    out.total = all.total();
    out.groups = all.finish();
    out
}

/// Consumes one provider's scan: events count per window, and a window's count joins the
/// service's only once the window is read to its end; an unread window's events are dropped
/// from the count and the kept events (reading it again finds them) but stay recorded.
async fn scan_one<'a>(
    p: &dyn Provider,
    mut stream: ScanStream,
    sink: Option<&'a dyn EventSink>,
    keep: usize,
    resource: Option<&str>,
) -> (Service, ServiceScan<'a>) {
    let service = p.service();
    let mut open: HashMap<WindowRef, Aggregator> = HashMap::new();
    let mut r = ServiceScan {
        agg: Aggregator::new(),
        kept: Vec::new(),
        batch: Batch::new(sink),
        failures: Vec::new(),
        unread: Vec::new(),
        memo: None,
    };
    while let Some(item) = stream.next().await {
        match item {
            // Every failure is recorded; only those of the resource asked about count.
            ScanItem::Event(_, event) if resource.is_some_and(|x| event.resource_type != x) => {
                r.batch.push(event).await;
            }
            ScanItem::Event(w, event) => {
                let c = p.classify(&event.error_code, None);
                open.entry(w)
                    .or_default()
                    .push(&event, &c.remediation, c.known);
                if r.kept.len() < keep {
                    r.kept.push((w, event.clone()));
                }
                r.batch.push(event).await;
            }
            ScanItem::Read(w) => {
                if let Some(a) = open.remove(&w) {
                    r.agg.merge(a);
                }
            }
            ScanItem::Unread(w, e) => {
                open.remove(&w);
                r.kept.retain(|(k, _)| *k != w);
                r.unread.push(UnreadWindow::new(service, w, &e));
            }
            // A fatal error (rejected credentials) ends the provider's scan by itself.
            ScanItem::Failed(e) => r.failures.push(ScanFailure::new(service, e)),
            ScanItem::Memo(m) => r.memo = Some(m),
        }
    }
    // Windows neither read nor unread were cut short by the scan's failure, which the report
    // shows: what they held still counts (partial results with a clear error beat none).
    for a in open.into_values() {
        r.agg.merge(a);
    }
    r.batch.flush().await;
    (service, r)
}

/// Events waiting for the sink.
struct Batch<'a> {
    sink: Option<&'a dyn EventSink>,
    events: Vec<ErrorEvent>,
    stored: u64,
    error: Option<SinkError>,
}

impl<'a> Batch<'a> {
    fn new(sink: Option<&'a dyn EventSink>) -> Self {
        Self {
            sink,
            events: Vec::new(),
            stored: 0,
            error: None,
        }
    }

    async fn push(&mut self, event: ErrorEvent) {
        if self.sink.is_some() {
            self.events.push(event);
            if self.events.len() >= STORE_BATCH {
                self.flush().await;
            }
        }
    }

    /// Hands the batch to the sink; after the first failure the rest is dropped.
    async fn flush(&mut self) {
        let Some(sink) = self.sink else { return };
        if self.events.is_empty() || self.error.is_some() {
            self.events.clear();
            return;
        }
        match sink.append(&self.events).await {
            Ok(n) => self.stored += n,
            Err(e) => self.error = Some(e),
        }
        self.events.clear();
    }
}

/// Audits every provider concurrently: the findings, most severe first, and the services
/// whose audit failed.
pub async fn audit(providers: &[Box<dyn Provider>]) -> (Vec<Finding>, Vec<ScanFailure>) {
    let results = futures::future::join_all(
        providers
            .iter()
            .map(|p| async move { (p.service(), p.audit().await) }),
    )
    .await;
    let mut findings = Vec::new();
    let mut failures = Vec::new();
    for (service, r) in results {
        match r {
            Ok(f) => findings.extend(f),
            Err(e) => failures.push(ScanFailure::new(service, e)),
        }
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.service.cmp(&b.service))
            .then(a.resource_id.cmp(&b.resource_id))
    });
    (findings, failures)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stripe::{Stripe, StripeConfig};

    fn stripe() -> Result<Box<dyn Provider>, ProviderError> {
        let key = secrecy::SecretString::from("sk_test_0000000000000000".to_owned());
        Ok(Box::new(Stripe::new(StripeConfig::official(Some(key))?)?))
    }

    fn missing(service: Service) -> Result<Box<dyn Provider>, ProviderError> {
        let variable = match service {
            Service::Twilio => "TWILIO_VAR",
            Service::Stripe => "STRIPE_VAR",
            Service::Openai => "OPENAI_VAR",
            Service::Api(_) => "API_VAR",
        };
        Err(ProviderError::MissingCredentials {
            service,
            variables: vec![variable],
        })
    }

    /// A provider whose scan is a fixed list of items.
    struct Scripted(std::sync::Mutex<Vec<ScanItem>>);

    #[async_trait::async_trait]
    impl Provider for Scripted {
        fn service(&self) -> Service {
            Service::Stripe
        }
        async fn health(&self) -> Health {
            unreachable!("not checked")
        }
        fn scan(&self, _: ScanRequest, _: crate::Progress) -> ScanStream {
            let items = std::mem::take(&mut *self.0.lock().expect("items"));
            futures::stream::iter(items).boxed()
        }
        async fn audit(&self) -> Result<Vec<Finding>, ProviderError> {
            Ok(vec![])
        }
        fn classify(&self, code: &str, status: Option<u16>) -> apiops_core::Classification {
            crate::stripe::classify::classify(code, status)
        }
    }

    /// Records what it is handed.
    #[derive(Default)]
    struct Recorded(std::sync::Mutex<Vec<ErrorEvent>>);

    #[async_trait::async_trait]
    impl EventSink for Recorded {
        async fn append(&self, events: &[ErrorEvent]) -> Result<u64, SinkError> {
            self.0.lock().expect("sink").extend_from_slice(events);
            Ok(events.len() as u64)
        }
    }

    #[tokio::test]
    async fn only_windows_read_to_their_end_count_and_unread_ones_are_named() {
        let at = |h: i64| jiff::Timestamp::from_second(h * 3600).expect("ts");
        let w = |h: i64| WindowRef {
            source: "events",
            start: at(h),
            end: at(h + 1),
        };
        let event = |id: &str, h: i64| -> ErrorEvent {
            serde_json::from_value(serde_json::json!({
                "timestamp": at(h), "service": "stripe", "error_code": "card_declined",
                "category": "bad_params", "severity": "info", "resource_type": "charge",
                "resource_id": id, "context": "", "action_taken": "none", "result": "failed"
            }))
            .expect("event")
        };
        let items = vec![
            ScanItem::Event(w(0), event("ch_1", 0)),
            ScanItem::Event(w(1), event("ch_2", 1)),
            ScanItem::Event(w(0), event("ch_3", 0)),
            ScanItem::Read(w(0)),
            ScanItem::Unread(w(1), ProviderError::Config("HTTP 500".into())),
            ScanItem::Memo(serde_json::json!({"m": 1})),
        ];
        let providers: Vec<Box<dyn Provider>> =
            vec![Box::new(Scripted(std::sync::Mutex::new(items)))];
        let sink = Recorded::default();
        let options = ScanOptions {
            sink: Some(&sink),
            keep: 10,
            ..Default::default()
        };
        let window = TimeWindow {
            since: at(0),
            until: at(2),
        };
        let out = errors(&providers, window, options).await;
        assert_eq!(out.total, 2, "the unread window's event does not count");
        assert_eq!(out.groups.len(), 1);
        assert_eq!(out.groups[0].count, 2);
        let kept: Vec<&str> = out.events.iter().map(|e| e.resource_id.as_str()).collect();
        assert_eq!(kept, ["ch_1", "ch_3"]);
        assert_eq!(
            sink.0.lock().expect("sink").len(),
            3,
            "every event is recorded"
        );
        assert_eq!(
            out.unread,
            [UnreadWindow {
                service: Service::Stripe,
                source: "events".into(),
                from: at(1),
                to: at(2),
                reason: "configuration: HTTP 500".into(),
            }]
        );
        assert_eq!(out.memos, [(Service::Stripe, serde_json::json!({"m": 1}))]);
        assert!(out.failures.is_empty());
    }

    #[test]
    fn with_none_named_the_unconfigured_are_skipped_with_their_variables() {
        let selected = select(&[], |s| match s {
            Service::Stripe => stripe(),
            other => missing(other),
        })
        .expect("one is configured");
        let services: Vec<Service> = selected.providers.iter().map(|p| p.service()).collect();
        assert_eq!(services, [Service::Stripe]);
        assert_eq!(
            selected.skipped,
            [
                (Service::Twilio, "not configured: set TWILIO_VAR".to_owned()),
                (Service::Openai, "not configured: set OPENAI_VAR".to_owned()),
            ]
        );
    }

    #[test]
    fn a_named_service_without_credentials_is_an_error() {
        let e = select(&[Service::Twilio, Service::Stripe], |s| match s {
            Service::Stripe => stripe(),
            other => missing(other),
        })
        .expect_err("twilio was named");
        assert!(
            matches!(e, SelectError::MissingCredentials { service: Service::Twilio, ref variables } if variables == &["TWILIO_VAR"]),
            "{e:?}"
        );
    }

    #[test]
    fn nothing_configured_names_every_variable_and_setup_errors_name_the_service() {
        let e = select(&[], missing).expect_err("none configured");
        let SelectError::NothingConfigured { missing } = e else {
            panic!("{e:?}");
        };
        assert_eq!(missing, ["TWILIO_VAR", "OPENAI_VAR", "STRIPE_VAR"]);
        let e = select(&[Service::Openai], |_| {
            Err(ProviderError::Config("bad URL".into()))
        })
        .expect_err("bad config");
        assert!(
            matches!(
                e,
                SelectError::Setup {
                    service: Service::Openai,
                    ..
                }
            ),
            "{e:?}"
        );
    }
}
