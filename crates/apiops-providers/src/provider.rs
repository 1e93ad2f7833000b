//! The one trait every provider implements, and the errors it returns.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use apiops_client::ClientError;
use apiops_core::{Classification, ErrorEvent, Finding, Health, Service};
use futures::stream::BoxStream;
use jiff::Timestamp;

/// Why a provider operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Credentials are not configured; names the variables to set.
    #[error("{} credentials missing: set {}", service.display_name(), variables.join(", "))]
    MissingCredentials {
        /// Whose.
        service: Service,
        /// The conventional variables.
        variables: Vec<&'static str>,
    },
    /// A setting that cannot work (bad URL, impossible policy).
    #[error("configuration: {0}")]
    Config(String),
    /// The HTTP layer failed or the provider answered with an error.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The provider answered 2xx with something we cannot use.
    #[error("{service}: unexpected response: {reason}")]
    Unexpected {
        /// Whose.
        service: Service,
        /// What was wrong.
        reason: String,
    },
}

impl ProviderError {
    /// The failure's category in the taxonomy, from its type (never from its message).
    pub fn category(&self) -> apiops_core::Category {
        match self {
            ProviderError::MissingCredentials { .. } | ProviderError::Config(_) => {
                apiops_core::Category::Config
            }
            ProviderError::Client(e) => e.category(),
            ProviderError::Unexpected { .. } => apiops_core::Category::Transient,
        }
    }
}

/// A half-open time range `[since, until)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    /// Inclusive start.
    pub since: Timestamp,
    /// Exclusive end.
    pub until: Timestamp,
}

impl TimeWindow {
    /// The `span` before `now`.
    pub fn last(span: jiff::SignedDuration, now: Timestamp) -> Self {
        let since = now.checked_sub(span).unwrap_or(Timestamp::UNIX_EPOCH);
        TimeWindow { since, until: now }
    }
}

/// Counters a long scan updates, so a terminal can show progress (shared, lock-free).
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<ProgressInner>);

#[derive(Debug, Default)]
struct ProgressInner {
    pages: AtomicU64,
    items: AtomicU64,
    matched: AtomicU64,
}

impl Progress {
    /// A page was fetched holding `items` records.
    pub fn page(&self, items: u64) {
        self.0.pages.fetch_add(1, Ordering::Relaxed);
        self.0.items.fetch_add(items, Ordering::Relaxed);
    }

    /// A record was a failure worth reporting.
    pub fn matched(&self) {
        self.0.matched.fetch_add(1, Ordering::Relaxed);
    }

    /// (pages, items scanned, failures found).
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.0.pages.load(Ordering::Relaxed),
            self.0.items.load(Ordering::Relaxed),
            self.0.matched.load(Ordering::Relaxed),
        )
    }
}

/// A stream of normalized failures, consumed once, in constant memory.
pub type EventStream = BoxStream<'static, Result<ErrorEvent, ProviderError>>;

/// What every provider offers.
#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    /// Which service.
    fn service(&self) -> Service;

    /// Verifies the credentials with a lightweight authenticated call and reports health:
    /// status, latency, quota or balance, rate-limit headroom, breaker state, warnings.
    /// Never fails: a failure is a `down` or `degraded` health with a reason.
    async fn health(&self) -> Health;

    /// Every failure the provider records in `window`, normalized, from every source it
    /// offers: the events of [`Provider::scan`] over the period, and each window it could not
    /// read (or the scan's failure) as an error.
    fn errors(&self, window: TimeWindow, progress: Progress) -> EventStream {
        crate::partial::events_of(self.scan(crate::partial::ScanRequest::period(window), progress))
    }

    /// The error scan `request` asks for, window by window: each event tagged with its window,
    /// each window ending read or unread (see [`crate::partial`]), so a caller can count only
    /// the windows read, name the others, and read just those later.
    fn scan(
        &self,
        request: crate::partial::ScanRequest,
        progress: Progress,
    ) -> crate::partial::ScanStream;

    /// Enumerates resources and flags what is misconfigured, insecure, deprecated or orphaned.
    async fn audit(&self) -> Result<Vec<Finding>, ProviderError>;

    /// Classifies one of the provider's codes (falls back by HTTP status for unknown ones).
    fn classify(&self, code: &str, http_status: Option<u16>) -> Classification;

    /// The webhook URLs configured at the provider, each with the resource that holds it
    /// ("phone_number PN...: sms_url"), for `audit --probe`. None by default.
    async fn webhook_urls(&self) -> Result<Vec<(String, String)>, ProviderError> {
        Ok(vec![])
    }

    /// When the rate-limit headers this provider's clients have seen say requests may go
    /// again, if that is after `now` (see [`crate::wait`]).
    fn rate_limited_until(&self, now: std::time::SystemTime) -> Option<std::time::SystemTime> {
        let _ = now;
        None
    }
}
