//! Health, error scan and audit across services: which providers to run on, each check run on
//! every one of them concurrently, and the results merged and ranked. What `apiops health`,
//! `errors`, `audit`, `demo` and the MCP tools of the same names call; they only render.
//!
//! Storing the events is left to an [`EventSink`] (the binary passes the store), so this crate
//! stays free of any database.

use std::error::Error as StdError;
use std::sync::Arc;

use apiops_core::{Category, ErrorEvent, ErrorGroup, Finding, Health, Service};
use futures::StreamExt;
use serde::Serialize;

use crate::aggregate::Aggregator;
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
    /// The groups of every service, ranked together.
    pub groups: Vec<ErrorGroup>,
    /// Matching events counted.
    pub total: u64,
    /// Services or sources whose scan failed.
    pub failures: Vec<ScanFailure>,
    /// The events, when asked to keep them (capped).
    pub events: Vec<ErrorEvent>,
    /// How many events the sink newly recorded.
    pub stored: u64,
    /// Why the sink could not record them, if it could not (the first reason).
    pub store_error: Option<SinkError>,
}

/// Events handed to the sink at a time.
pub const STORE_BATCH: usize = 500;

/// Scans every provider for errors in `window`, concurrently; aggregates them into groups
/// ranked across services; records every event in the sink in batches; keeps up to
/// `options.keep` matching events.
pub async fn errors(
    providers: &[Box<dyn Provider>],
    window: TimeWindow,
    options: ScanOptions<'_>,
) -> ErrorsOutcome {
    let ScanOptions {
        sink,
        keep,
        resource,
        progress,
    } = options;
    let scans = providers.iter().map(|p| {
        let service = p.service();
        let mut stream = p.errors(window, progress.clone());
        async move {
            let mut agg = Aggregator::new();
            let mut kept = Vec::new();
            let mut batch = Batch::new(sink);
            let mut failures = Vec::new();
            while let Some(item) = stream.next().await {
                match item {
                    // Every failure is recorded; only those of the resource asked about count.
                    Ok(event) if resource.is_some_and(|r| event.resource_type != r) => {
                        batch.push(event).await;
                    }
                    Ok(event) => {
                        let c = p.classify(&event.error_code, None);
                        agg.push(&event, &c.remediation, c.known);
                        if kept.len() < keep {
                            kept.push(event.clone());
                        }
                        batch.push(event).await;
                    }
                    // A provider reports a failed source and goes on with the next one; a
                    // fatal error (rejected credentials) ends its stream by itself.
                    Err(e) => failures.push(ScanFailure::new(service, e)),
                }
            }
            batch.flush().await;
            (agg, kept, batch, failures)
        }
    });
    let results = futures::future::join_all(scans).await;

    let mut all = Aggregator::new();
    let mut out = ErrorsOutcome::default();
    for (agg, kept, batch, failures) in results {
        all.merge(agg);
        out.events.extend(kept);
        out.stored += batch.stored;
        if out.store_error.is_none() {
            out.store_error = batch.error;
        }
        out.failures.extend(failures);
    }
    out.total = all.total();
    out.groups = all.finish();
    out
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
