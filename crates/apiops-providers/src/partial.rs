//! Scans that are honest about what they could not read, and can read it later: a provider's
//! error scan as [`ScanItem`]s, each event tagged with the time window of the source it came
//! from, each window ending read or unread. A window that fails (after the client's retries,
//! hedges and page re-fetches) does not end the scan: it becomes an [`UnreadWindow`] naming the
//! service, the source, the time range and the reason, and a later scan of only those windows
//! ([`ScanPlan::Windows`]) completes the result.
//!
//! What the windows are is each provider's business (Twilio: each source's sub-windows; Stripe:
//! its event sub-windows; OpenAI: one window per list, which cannot be filtered by time). What a
//! provider must remember between the two scans to merge them exactly (Twilio's deduplication
//! of alerts against messages and calls) travels as an opaque [`ScanItem::Memo`] the caller
//! stores and hands back in [`ScanRequest::memo`].

use apiops_client::windows::{Order, Window, WindowItem, scan_windows_settled};
use apiops_core::{ErrorEvent, Service};
use futures::stream::{self, BoxStream, Stream, StreamExt};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::provider::{EventStream, ProviderError, TimeWindow};

/// One window of one source of a provider: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WindowRef {
    /// The source (`messages`, `calls`, `alerts`, `events`, `batches`...), one of the
    /// provider's own names.
    pub source: &'static str,
    /// The first instant of the window.
    pub start: Timestamp,
    /// The first instant after it.
    pub end: Timestamp,
}

/// A window a scan could not read: which service and source, which time range, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadWindow {
    /// Whose.
    pub service: Service,
    /// Which of its sources.
    pub source: String,
    /// The first instant of the window.
    pub from: Timestamp,
    /// The first instant after it.
    pub to: Timestamp,
    /// Why it could not be read (the error as it displays, secrets already scrubbed).
    pub reason: String,
}

impl UnreadWindow {
    /// `service`'s window `w`, unread because of `error`.
    pub fn new(service: Service, w: WindowRef, error: &ProviderError) -> Self {
        UnreadWindow {
            service,
            source: w.source.to_owned(),
            from: w.start,
            to: w.end,
            reason: error.to_string(),
        }
    }
}

/// What a scan reads.
#[derive(Debug, Clone)]
pub enum ScanPlan {
    /// Everything in the period, cut into windows as the provider sees fit.
    Period(TimeWindow),
    /// Only these windows (of an earlier scan that could not read them).
    Windows(Vec<UnreadWindow>),
}

/// A scan to run: what to read, and what the provider remembered of the earlier scan whose
/// unread windows it reads ([`ScanItem::Memo`]).
#[derive(Debug, Clone)]
pub struct ScanRequest {
    /// What to read.
    pub plan: ScanPlan,
    /// The earlier scan's memo, when reading its windows.
    pub memo: Option<serde_json::Value>,
}

impl ScanRequest {
    /// A whole period, from scratch.
    pub fn period(window: TimeWindow) -> Self {
        ScanRequest {
            plan: ScanPlan::Period(window),
            memo: None,
        }
    }
}

/// One item of a provider's scan.
#[derive(Debug)]
pub enum ScanItem {
    /// A failure found in a window. It counts only once its window is [`ScanItem::Read`].
    Event(WindowRef, ErrorEvent),
    /// The window was read to its end.
    Read(WindowRef),
    /// The window could not be read; its events seen so far must not count (reading it again
    /// finds them).
    Unread(WindowRef, ProviderError),
    /// The whole scan failed (rejected credentials, an impossible plan): nothing follows.
    Failed(ProviderError),
    /// What the provider needs from this scan to read its unread windows later: sent at the
    /// end, and only when a window went unread.
    Memo(serde_json::Value),
}

/// A provider's scan.
pub type ScanStream = BoxStream<'static, ScanItem>;

/// Reads `windows` of `source` with `per_window` (a window's pages of events), up to
/// `concurrency` at once in arrival order, as [`ScanItem`]s: a window that fails is
/// [`ScanItem::Unread`] and the others carry on.
pub(crate) fn read_windows<B, E, F, S>(
    source: &'static str,
    windows: Vec<Window>,
    concurrency: usize,
    per_window: F,
) -> ScanStream
where
    B: IntoIterator<Item = ErrorEvent> + Send + 'static,
    E: Into<ProviderError> + Send + 'static,
    F: Fn(Window) -> S + Send + 'static,
    S: Stream<Item = Result<B, E>> + Send + 'static,
{
    scan_windows_settled(windows, concurrency, Order::Arrival, per_window)
        .flat_map(move |item| {
            let at = |w: Window| WindowRef {
                source,
                start: w.start,
                end: w.end,
            };
            let items: Vec<ScanItem> = match item {
                WindowItem::Item(w, events) => events
                    .into_iter()
                    .map(|e| ScanItem::Event(at(w), e))
                    .collect(),
                WindowItem::Read(w) => vec![ScanItem::Read(at(w))],
                WindowItem::Unread(w, e) => vec![ScanItem::Unread(at(w), e.into())],
            };
            stream::iter(items)
        })
        .boxed()
}

/// Whether an error ends a whole scan: rejected credentials would fail every window the same
/// way. Any other error leaves only its window unread.
pub(crate) fn is_fatal(e: &ProviderError) -> bool {
    match e {
        ProviderError::Client(c) => matches!(c.status(), Some(401 | 403)),
        ProviderError::MissingCredentials { .. } => true,
        _ => false,
    }
}

/// Ends `items` at the first fatal error (see [`is_fatal`]), which becomes the scan's
/// [`ScanItem::Failed`].
pub(crate) fn until_fatal(items: impl Stream<Item = ScanItem> + Send + 'static) -> ScanStream {
    items
        .scan(false, |stopped, item| {
            let out = if *stopped {
                None
            } else {
                match item {
                    ScanItem::Unread(_, e) | ScanItem::Failed(e) if is_fatal(&e) => {
                        *stopped = true;
                        Some(ScanItem::Failed(e))
                    }
                    other => Some(other),
                }
            };
            futures::future::ready(out)
        })
        .boxed()
}

/// The client's windows of `source` among `windows`.
pub(crate) fn client_windows(windows: &[UnreadWindow], source: &'static str) -> Vec<Window> {
    windows_of(windows, source)
        .into_iter()
        .map(|w| Window {
            start: w.start,
            end: w.end,
        })
        .collect()
}

/// The windows of `plan` that belong to `source`, as the provider's [`WindowRef`]s.
pub(crate) fn windows_of(windows: &[UnreadWindow], source: &'static str) -> Vec<WindowRef> {
    windows
        .iter()
        .filter(|w| w.source == source)
        .map(|w| WindowRef {
            source,
            start: w.from,
            end: w.to,
        })
        .collect()
}

/// The stored windows whose source `known` does not name, as one scan failure (a store
/// written by another version): `None` when every source is known.
pub(crate) fn unknown_sources(
    service: Service,
    windows: &[UnreadWindow],
    known: &[&str],
) -> Option<ProviderError> {
    let unknown: Vec<&str> = windows
        .iter()
        .filter(|w| w.service == service && !known.contains(&w.source.as_str()))
        .map(|w| w.source.as_str())
        .collect();
    (!unknown.is_empty()).then(|| {
        ProviderError::Config(format!(
            "cannot resume {} windows of unknown sources: {}",
            service.display_name(),
            unknown.join(", ")
        ))
    })
}

/// A scan as the plain event stream of [`crate::Provider::errors`]: every event (of read and
/// unread windows alike), every unread window and a failed scan as an error.
pub(crate) fn events_of(scan: ScanStream) -> EventStream {
    scan.filter_map(|item| {
        futures::future::ready(match item {
            ScanItem::Event(_, e) => Some(Ok(e)),
            ScanItem::Unread(_, e) | ScanItem::Failed(e) => Some(Err(e)),
            ScanItem::Read(_) | ScanItem::Memo(_) => None,
        })
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_plain_stream_keeps_events_and_errors_only() {
        let w = WindowRef {
            source: "events",
            start: Timestamp::UNIX_EPOCH,
            end: Timestamp::from_second(60).expect("ts"),
        };
        let event: ErrorEvent = serde_json::from_value(serde_json::json!({
            "timestamp": "1970-01-01T00:00:10Z", "service": "stripe", "error_code": "x",
            "category": "transient", "severity": "info", "resource_type": "event",
            "resource_id": "evt_1", "context": "", "action_taken": "none", "result": "failed"
        }))
        .expect("event");
        let items = vec![
            ScanItem::Event(w, event),
            ScanItem::Read(w),
            ScanItem::Unread(w, ProviderError::Config("x".into())),
            ScanItem::Memo(serde_json::json!({})),
        ];
        let got: Vec<_> = events_of(futures::stream::iter(items).boxed())
            .collect()
            .await;
        assert_eq!(got.len(), 2);
        assert!(got[0].is_ok() && got[1].is_err());
        let unread = UnreadWindow::new(Service::Stripe, w, &ProviderError::Config("no".into()));
        assert_eq!(unread.source, "events");
        assert_eq!(unread.reason, "configuration: no");
        assert_eq!(windows_of(std::slice::from_ref(&unread), "events"), [w]);
        assert!(windows_of(std::slice::from_ref(&unread), "other").is_empty());
        assert!(
            unknown_sources(Service::Stripe, std::slice::from_ref(&unread), &["events"]).is_none()
        );
        assert!(unknown_sources(Service::Stripe, &[unread], &["batches"]).is_some());
    }
}
