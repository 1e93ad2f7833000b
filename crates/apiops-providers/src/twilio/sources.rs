//! Twilio's error scan: messages, then calls, then Monitor alerts (see [`super::errors`] for
//! what each source holds), each cut into time windows read concurrently, as the
//! [`ScanItem`]s of a resumable scan.
//!
//! The sources are read one after the other, so every message and call is reported before the
//! alerts that may be about them. Each source's windows are read with
//! [`scan_windows_settled`] in arrival order (each window pages sequentially; windows start
//! newest first), so a long history approaches the concurrency cap and a dense window never
//! stalls the others. A window that fails after the client's retries is [`ScanItem::Unread`]
//! and the others carry on; a 401/403 would fail every window the same way, so it ends the
//! whole scan ([`ScanItem::Failed`]). Memory is bounded by the windows in flight, never by the
//! history: pages are filtered as they arrive and only the failures travel on.
//!
//! The one state that grows is what the alert deduplication needs, proportional to the
//! failures, not to the messages scanned: the keys of reported messages and calls, and the keys
//! of the resources the counted alerts are about — 8 bytes a failure (see [`key`]). An alert about a message or
//! call already reported with the same code is skipped (that failure is counted once). When a
//! window goes unread, both sets are sent at the end as the scan's [`ScanItem::Memo`]: reading
//! the unread windows later with it, an alert skips a message reported by the first scan, and a
//! message an alert of the first scan already stood for is skipped — so the merged result counts
//! each failure once, as a scan without faults would.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use apiops_client::ClientError;
use apiops_client::windows::Window;
use apiops_core::ErrorEvent;
use futures::stream::{self, BoxStream, StreamExt};
use jiff::SignedDuration;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::client::{Alert, Call, Host, MAX_PAGE_SIZE, Message, TwilioClient};
use super::errors::{alert_event, call_event, filter_time, message_event, plan};
use crate::partial::{
    ScanItem, ScanPlan, ScanRequest, ScanStream, client_windows, read_windows, until_fatal,
};
use crate::provider::{Progress, ProviderError, TimeWindow};

/// The sources, in the order they are read.
pub(crate) const SOURCES: [&str; 3] = [MESSAGES, CALLS, ALERTS];
const MESSAGES: &str = "messages";
const CALLS: &str = "calls";
const ALERTS: &str = "alerts";

/// Message windows per scan slot: more windows than slots, so a busy window does not leave
/// the other slots idle at the end of a scan.
const MESSAGE_WINDOWS_PER_SLOT: usize = 4;

/// How far back Monitor keeps alerts.
const ALERT_RETENTION: SignedDuration = SignedDuration::from_hours(30 * 24);

/// A failure's key: the first 8 bytes of SHA-256 over `SID:code`. It is stable across runs and
/// releases (an unread scan's memo is stored and read by a later `--resume`) and takes 8 bytes
/// a failure where the text took a 40-byte allocation; a collision, which would let one alert
/// or failure pass for another, is a chance of about n²/2⁶⁵ in a scan of n failures.
type Key = u64;

type Keys = HashSet<Key>;

/// What the alert deduplication knows (see the module's documentation).
#[derive(Debug, Default)]
struct Dedup {
    /// Keys of the messages and calls reported.
    reported: Mutex<Keys>,
    /// Keys of the resources the counted alerts are about.
    alert_abouts: Mutex<Keys>,
    /// Whether a window went unread (then the memo is sent).
    unread: AtomicBool,
}

/// The memo's JSON form.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Memo {
    reported: BTreeSet<StoredKey>,
    alert_abouts: BTreeSet<StoredKey>,
}

/// A key as a memo holds it: a number, or the `SID:code` text that memos stored before the keys
/// were hashed (still read, so a scan left unread by an older apiops can be resumed).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum StoredKey {
    Hash(Key),
    Text(String),
}

impl StoredKey {
    fn key(self) -> Key {
        match self {
            StoredKey::Hash(k) => k,
            StoredKey::Text(text) => hash(&[text.as_bytes()]),
        }
    }
}

impl Dedup {
    fn from_memo(memo: Option<serde_json::Value>) -> Result<Self, ProviderError> {
        let memo: Memo = match memo {
            None => Memo::default(),
            Some(v) => serde_json::from_value(v).map_err(|e| {
                ProviderError::Config(format!("the stored Twilio scan memo does not parse: {e}"))
            })?,
        };
        Ok(Dedup {
            reported: Mutex::new(memo.reported.into_iter().map(StoredKey::key).collect()),
            alert_abouts: Mutex::new(memo.alert_abouts.into_iter().map(StoredKey::key).collect()),
            unread: AtomicBool::new(false),
        })
    }

    fn memo(&self) -> serde_json::Value {
        let memo = Memo {
            reported: lock(&self.reported)
                .iter()
                .copied()
                .map(StoredKey::Hash)
                .collect(),
            alert_abouts: lock(&self.alert_abouts)
                .iter()
                .copied()
                .map(StoredKey::Hash)
                .collect(),
        };
        serde_json::to_value(memo).unwrap_or_default()
    }

    /// Whether an alert about `about` (the `SID:code` of its message or call) counts: not when
    /// that failure was reported, nor when another alert already stood for it (Monitor may
    /// raise several alerts about one failed message; the failure counts once, as it does when
    /// the message itself is read).
    fn alert_counts(&self, about: Option<Key>) -> bool {
        let Some(k) = about else {
            return true;
        };
        if lock(&self.reported).contains(&k) {
            return false;
        }
        lock(&self.alert_abouts).insert(k)
    }

    /// A message or call `event`: `None` when an alert already stood for it.
    fn report(&self, event: ErrorEvent) -> Option<ErrorEvent> {
        let k = key(&event.resource_id, &event.error_code);
        if lock(&self.alert_abouts).contains(&k) {
            return None;
        }
        lock(&self.reported).insert(k);
        Some(event)
    }
}

fn lock<T>(set: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    set.lock().unwrap_or_else(|p| p.into_inner())
}

/// The [`Key`] of the failure `code` of the message or call `sid`.
fn key(sid: &str, code: &str) -> Key {
    hash(&[sid.as_bytes(), b":", code.as_bytes()])
}

fn hash(parts: &[&[u8]]) -> Key {
    let mut digest = Sha256::new();
    for part in parts {
        digest.update(part);
    }
    let digest = digest.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// The windows of each source: the whole period planned, or the windows asked for.
type Plans = [Result<Vec<Window>, ClientError>; 3];

fn plans(plan_of: &ScanPlan, concurrency: usize) -> Plans {
    match plan_of {
        ScanPlan::Period(window) => {
            let since = window
                .until
                .checked_sub(ALERT_RETENTION)
                .map_or(window.since, |oldest| window.since.max(oldest));
            let alerts = TimeWindow {
                since: since.min(window.until),
                until: window.until,
            };
            [
                plan(*window, concurrency * MESSAGE_WINDOWS_PER_SLOT),
                plan(*window, concurrency),
                plan(alerts, concurrency),
            ]
        }
        ScanPlan::Windows(windows) => SOURCES.map(|source| Ok(client_windows(windows, source))),
    }
}

/// The scan `request` asks for: messages, then calls, then alerts; the memo at the end when a
/// window went unread.
pub(crate) fn scan(
    client: TwilioClient,
    request: ScanRequest,
    concurrency: usize,
    progress: Progress,
) -> ScanStream {
    let concurrency = concurrency.max(1);
    if let ScanPlan::Windows(w) = &request.plan
        && let Some(e) = crate::partial::unknown_sources(apiops_core::Service::Twilio, w, &SOURCES)
    {
        return stream::once(async move { ScanItem::Failed(e) }).boxed();
    }
    let dedup = match Dedup::from_memo(request.memo) {
        Ok(d) => Arc::new(d),
        Err(e) => return stream::once(async move { ScanItem::Failed(e) }).boxed(),
    };
    let [messages, calls, alerts] = plans(&request.plan, concurrency);
    let source = |name, windows: Result<Vec<Window>, ClientError>, fetch: Fetch| {
        let windows = match windows {
            Ok(w) => w,
            Err(e) => return stream::once(async move { ScanItem::Failed(e.into()) }).boxed(),
        };
        let (dedup, progress) = (Arc::clone(&dedup), progress.clone());
        read_windows(name, windows, concurrency, move |w| {
            fetch(w, Arc::clone(&dedup), progress.clone())
        })
    };
    let messages = source(MESSAGES, messages, messages_fetch(client.clone()));
    let calls = source(CALLS, calls, calls_fetch(client.clone()));
    let alerts = source(ALERTS, alerts, alerts_fetch(client));
    let flag = Arc::clone(&dedup);
    let items = messages.chain(calls).chain(alerts).inspect(move |item| {
        if matches!(item, ScanItem::Unread(..)) {
            flag.unread.store(true, Ordering::Relaxed);
        }
    });
    let memo = stream::once(async move {
        dedup
            .unread
            .load(Ordering::Relaxed)
            .then(|| ScanItem::Memo(dedup.memo()))
    })
    .filter_map(futures::future::ready);
    until_fatal(items).chain(memo).boxed()
}

/// A source's window as pages of failures, each already normalized and deduplicated.
type Fetch = Box<
    dyn Fn(Window, Arc<Dedup>, Progress) -> BoxStream<'static, Result<Vec<ErrorEvent>, ClientError>>
        + Send
        + Sync,
>;

/// Pages of `pages` (each the items kept as it was decoded, and how many it held) passed
/// through `count` (the deduplication, which decides once the page is whole), counted in
/// `progress`.
fn normalized<K: Send + 'static>(
    pages: BoxStream<'static, Result<(Vec<K>, usize), ClientError>>,
    progress: Progress,
    count: impl Fn(K) -> Option<ErrorEvent> + Send + 'static,
) -> BoxStream<'static, Result<Vec<ErrorEvent>, ClientError>> {
    pages
        .map(move |page| {
            page.map(|(kept, read)| {
                progress.page(read as u64);
                let events: Vec<ErrorEvent> = kept.into_iter().filter_map(&count).collect();
                events.iter().for_each(|_| progress.matched());
                events
            })
        })
        .boxed()
}

/// The pages of `list` (`Messages.json`, `Calls.json`) in `w`, keeping the failures only.
fn account_list<T: DeserializeOwned + Send + 'static>(
    client: &TwilioClient,
    list: &str,
    items_key: &'static str,
    query: Vec<(String, String)>,
    failure: impl Fn(&T) -> Option<ErrorEvent> + Send + Sync + 'static,
) -> BoxStream<'static, Result<(Vec<ErrorEvent>, usize), ClientError>> {
    let path = format!("{}/{list}", client.account_path());
    client.pages_kept(
        Host::Api,
        path,
        query,
        items_key,
        Arc::new(move |item: T| failure(&item)),
    )
}

fn messages_fetch(client: TwilioClient) -> Fetch {
    Box::new(move |w, dedup, progress| {
        let query = vec![
            ("DateSent>".to_owned(), filter_time(w.start)),
            ("DateSent<".to_owned(), filter_time(w.end)),
            ("PageSize".to_owned(), MAX_PAGE_SIZE.to_string()),
        ];
        let pages = account_list(
            &client,
            "Messages.json",
            "messages",
            query,
            move |m: &Message| message_event(m, w),
        );
        normalized(pages, progress, move |e| dedup.report(e))
    })
}

fn calls_fetch(client: TwilioClient) -> Fetch {
    Box::new(move |w, dedup, progress| {
        let query = vec![
            ("Status".to_owned(), "failed".to_owned()),
            ("StartTime>".to_owned(), filter_time(w.start)),
            ("StartTime<".to_owned(), filter_time(w.end)),
            ("PageSize".to_owned(), MAX_PAGE_SIZE.to_string()),
        ];
        let pages = account_list(&client, "Calls.json", "calls", query, move |c: &Call| {
            call_event(c, w)
        });
        normalized(pages, progress, move |e| dedup.report(e))
    })
}

fn alerts_fetch(client: TwilioClient) -> Fetch {
    // Alert SIDs seen by this scan (an alert lies in one window; this guards repeated pages).
    let seen: Arc<Mutex<Keys>> = Arc::default();
    Box::new(move |w, dedup, progress| {
        let query = vec![
            ("StartDate".to_owned(), filter_time(w.start)),
            ("EndDate".to_owned(), filter_time(w.end)),
            ("PageSize".to_owned(), MAX_PAGE_SIZE.to_string()),
        ];
        let pages = client.pages_kept(
            Host::Monitor,
            "/v1/Alerts".to_owned(),
            query,
            "alerts",
            Arc::new(move |a: Alert| Some((alert_event(&a, w)?, a.sid, a.resource_sid))),
        );
        let seen = Arc::clone(&seen);
        normalized(pages, progress, move |(event, sid, about)| {
            if !lock(&seen).insert(hash(&[sid.as_bytes()])) {
                return None;
            }
            let about = about.as_deref().map(|sid| key(sid, &event.error_code));
            dedup.alert_counts(about).then_some(event)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partial::WindowRef;
    use apiops_core::{ActionTaken, Category, EventResult, Service, Severity};
    use jiff::Timestamp;

    fn w() -> WindowRef {
        WindowRef {
            source: MESSAGES,
            start: Timestamp::UNIX_EPOCH,
            end: Timestamp::from_second(60).expect("ts"),
        }
    }

    fn event(sid: &str) -> ErrorEvent {
        ErrorEvent {
            timestamp: Timestamp::UNIX_EPOCH,
            service: Service::Twilio,
            error_code: "30008".into(),
            category: Category::Carrier,
            severity: Severity::Warning,
            resource_type: "message".into(),
            resource_id: sid.into(),
            context: String::new(),
            action_taken: ActionTaken::None,
            result: EventResult::Failed,
        }
    }

    fn status(s: u16) -> ProviderError {
        ProviderError::Client(ClientError::Status {
            method: "GET".into(),
            target: "h/p".into(),
            status: s,
            body: String::new(),
            retry_after: None,
        })
    }

    #[tokio::test]
    async fn only_rejected_credentials_end_the_whole_scan() {
        let items = vec![
            ScanItem::Event(w(), event("SM1")),
            ScanItem::Unread(w(), status(500)),
            ScanItem::Event(w(), event("SM2")),
            ScanItem::Unread(w(), status(401)),
            ScanItem::Event(w(), event("SM3")),
        ];
        let got: Vec<ScanItem> = until_fatal(stream::iter(items)).collect().await;
        assert_eq!(got.len(), 4);
        assert!(matches!(got[1], ScanItem::Unread(..)));
        assert!(matches!(got[2], ScanItem::Event(..)));
        assert!(matches!(got[3], ScanItem::Failed(_)));
    }

    #[test]
    fn the_memo_carries_both_sides_of_the_alert_dedup() {
        let first = Dedup::default();
        assert!(first.report(event("SM1")).is_some());
        lock(&first.alert_abouts).insert(key("SM2", "30008"));
        let memo = first.memo();
        let resumed = Dedup::from_memo(Some(memo)).expect("memo");
        assert!(lock(&resumed.reported).contains(&key("SM1", "30008")));
        assert!(
            resumed.report(event("SM2")).is_none(),
            "an alert of the first scan already stood for SM2"
        );
        assert!(resumed.report(event("SM3")).is_some());
        assert!(Dedup::from_memo(Some(serde_json::json!({"reported": 3}))).is_err());
    }

    #[test]
    fn a_memo_of_text_keys_from_an_older_scan_is_still_read() {
        let old = serde_json::json!({"reported": ["SM1:30008"], "alert_abouts": ["SM2:30008"]});
        let resumed = Dedup::from_memo(Some(old)).expect("memo");
        assert!(
            !resumed.alert_counts(Some(key("SM1", "30008"))),
            "SM1 was reported by the older scan"
        );
        assert!(
            resumed.report(event("SM2")).is_none(),
            "an alert of the older scan stood for SM2"
        );
        assert!(resumed.report(event("SM3")).is_some());
    }

    #[test]
    fn keys_are_stable_and_tell_failures_apart() {
        // The memo outlives the process: the key of a failure must not change between runs.
        assert_eq!(key("SM1", "30008"), hash(&[b"SM1:30008"]));
        assert_eq!(key("SM1", "30008"), 0xd1ea_8154_4f89_7f62);
        assert_ne!(key("SM1", "30008"), key("SM1", "30007"));
        assert_ne!(key("SM1", "30008"), key("SM2", "30008"));
    }

    #[test]
    fn a_failure_counts_once_however_many_alerts_are_about_it() {
        let d = Dedup::default();
        assert!(d.report(event("SM1")).is_some());
        assert!(
            !d.alert_counts(Some(key("SM1", "30008"))),
            "its message was reported"
        );
        // SM9's window went unread: its first alert stands for it, a second one does not.
        assert!(d.alert_counts(Some(key("SM9", "30008"))));
        assert!(!d.alert_counts(Some(key("SM9", "30008"))));
        assert!(
            d.alert_counts(Some(key("SM9", "30007"))),
            "another code is another failure"
        );
        assert!(
            d.alert_counts(None) && d.alert_counts(None),
            "alerts about nothing each count"
        );
        assert!(
            d.report(event("SM9")).is_none(),
            "read later, SM9 is the failure its alert already counted"
        );
    }
}
