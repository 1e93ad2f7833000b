//! OpenAI's failures in a time window, as normalized [`ErrorEvent`]s: failed and expired
//! batches (`GET /batches`), one event per distinct error code of each, and failed fine-tuning
//! jobs (`GET /fine_tuning/jobs`), one event each. (Errors apiops itself recorded while calling
//! OpenAI come from the store, not from here.)
//!
//! Neither list can be filtered by time, so each is read newest first, page by page, and
//! reading stops after the first page that reaches back past the window's start by more than
//! a job can take to fail ([`BATCH_LOOKBACK`], [`FINE_TUNING_LOOKBACK`]). An event's time is
//! when the job failed or expired (`failed_at`, `expired_at`, `finished_at`), falling back to
//! `created_at`. Contexts carry ids, models and OpenAI's messages with anything email- or
//! long-number-like removed — never the requests' content.

use apiops_client::ClientError;
use apiops_client::windows::Window;
use apiops_core::text::truncate;
use apiops_core::{ActionTaken, ErrorEvent, EventResult, Service};
use futures::stream::{self, Stream, StreamExt, TryStreamExt};
use jiff::{SignedDuration, Timestamp};

use super::classify::{BATCH_EXPIRED, BATCH_FAILED, FINE_TUNING_FAILED, classify};
use super::client::{Batch, FineTuningJob, OpenAiClient};
use crate::normalize::scrub_personal_data;
use crate::partial::{
    ScanItem, ScanPlan, ScanRequest, ScanStream, client_windows, read_windows, unknown_sources,
    until_fatal,
};
use crate::provider::{Progress, ProviderError, TimeWindow};

/// How long before the window a batch may have been created and still fail or expire inside
/// it: twice the only completion window OpenAI offers (24 h).
pub const BATCH_LOOKBACK: SignedDuration = SignedDuration::from_hours(48);

/// How long before the window a fine-tuning job may have been created and still fail inside it.
pub const FINE_TUNING_LOOKBACK: SignedDuration = SignedDuration::from_hours(14 * 24);

/// Longest context kept from provider text.
const MAX_CONTEXT: usize = 300;

/// The source names: each list is one window, the whole period (neither can be filtered by
/// time).
pub(crate) const BATCHES: &str = "batches";
/// See [`BATCHES`].
pub(crate) const FINE_TUNING_JOBS: &str = "fine_tuning_jobs";

/// The scan `request` asks for: the failed and expired batches, then the failed fine-tuning
/// jobs. A list that fails is an unread window and the other is still read; rejected
/// credentials end the scan.
pub(crate) fn scan(client: OpenAiClient, request: ScanRequest, progress: Progress) -> ScanStream {
    let (batch_windows, job_windows) = match &request.plan {
        ScanPlan::Period(window) if window.until <= window.since => return stream::empty().boxed(),
        ScanPlan::Period(window) => {
            let whole = vec![Window {
                start: window.since,
                end: window.until,
            }];
            (whole.clone(), whole)
        }
        ScanPlan::Windows(w) => {
            if let Some(e) = unknown_sources(Service::Openai, w, &[BATCHES, FINE_TUNING_JOBS]) {
                return stream::once(async move { ScanItem::Failed(e) }).boxed();
            }
            (
                client_windows(w, BATCHES),
                client_windows(w, FINE_TUNING_JOBS),
            )
        }
    };
    let (c1, p1) = (client.clone(), progress.clone());
    let batches = read_windows(BATCHES, batch_windows, 1, move |w| {
        batch_events(c1.clone(), period(w), p1.clone())
    });
    let jobs = read_windows(FINE_TUNING_JOBS, job_windows, 1, move |w| {
        job_events(client.clone(), period(w), progress.clone())
    });
    until_fatal(batches.chain(jobs))
}

fn period(w: Window) -> TimeWindow {
    TimeWindow {
        since: w.start,
        until: w.end,
    }
}

/// The failed and expired batches of `window`, page by page.
fn batch_events(
    client: OpenAiClient,
    window: TimeWindow,
    progress: Progress,
) -> impl Stream<Item = Result<Vec<ErrorEvent>, ProviderError>> + Send + 'static {
    let batch_cutoff = cutoff(window.since, BATCH_LOOKBACK);
    until_past(client.batch_pages(), move |b: &Batch| {
        b.created_at < batch_cutoff
    })
    .map_err(ProviderError::from)
    .map_ok(move |page| {
        progress.page(page.len() as u64);
        let events: Vec<ErrorEvent> = page
            .iter()
            .flat_map(|b| normalize_batch(b, window))
            .collect();
        events.iter().for_each(|_| progress.matched());
        events
    })
}

/// The failed fine-tuning jobs of `window`, page by page.
fn job_events(
    client: OpenAiClient,
    window: TimeWindow,
    progress: Progress,
) -> impl Stream<Item = Result<Vec<ErrorEvent>, ProviderError>> + Send + 'static {
    let job_cutoff = cutoff(window.since, FINE_TUNING_LOOKBACK);
    until_past(client.fine_tuning_job_pages(), move |j: &FineTuningJob| {
        j.created_at < job_cutoff
    })
    .map_err(ProviderError::from)
    .map_ok(move |page| {
        progress.page(page.len() as u64);
        let events: Vec<ErrorEvent> = page
            .iter()
            .filter_map(|j| normalize_job(j, window))
            .collect();
        events.iter().for_each(|_| progress.matched());
        events
    })
}

/// Unix seconds `span` before `since`.
fn cutoff(since: Timestamp, span: SignedDuration) -> i64 {
    since.as_second().saturating_sub(span.as_secs())
}

/// Passes pages through until (and including) the first page holding an item `past` says is
/// too old, or an error; then ends without fetching another page.
fn until_past<T, S, F>(
    pages: S,
    past: F,
) -> impl Stream<Item = Result<Vec<T>, ClientError>> + Send + 'static
where
    T: Send + 'static,
    S: Stream<Item = Result<Vec<T>, ClientError>> + Send + 'static,
    F: Fn(&T) -> bool + Send + 'static,
{
    stream::unfold(
        (Box::pin(pages), past, false),
        |(mut pages, past, done)| async move {
            if done {
                return None;
            }
            let item = pages.next().await?;
            let stop = match &item {
                Ok(page) => page.iter().any(&past),
                Err(_) => true,
            };
            Some((item, (pages, past, stop)))
        },
    )
}

/// When a batch failed or expired, if it did.
fn batch_failure_time(b: &Batch) -> Option<i64> {
    match b.status.as_str() {
        "failed" => Some(b.failed_at.unwrap_or(b.created_at)),
        "expired" => Some(b.expired_at.or(b.expires_at).unwrap_or(b.created_at)),
        _ => None,
    }
}

/// A failed or expired batch in `window` as events: one per distinct error code (with the
/// first message and line, and how many errors share the code); none for other batches.
pub(crate) fn normalize_batch(b: &Batch, window: TimeWindow) -> Vec<ErrorEvent> {
    let Some(at) = batch_failure_time(b) else {
        return Vec::new();
    };
    let Some(timestamp) = in_window(at, window) else {
        return Vec::new();
    };
    let verb = if b.status == "failed" {
        "failed"
    } else {
        "expired"
    };
    let mut what = format!("batch {} ({}", b.id, b.endpoint);
    if let Some(model) = b.model.as_deref().filter(|m| !m.is_empty()) {
        what.push_str(&format!(", model {model}"));
    }
    what.push(')');
    let counts = b.request_counts.as_ref().filter(|c| c.total > 0).map(|c| {
        format!(
            "{} of {} requests completed, {} failed",
            c.completed, c.total, c.failed
        )
    });

    // Distinct codes in first-seen order, each with its first error and its count.
    let mut groups: Vec<(String, usize, Option<String>, Option<i64>)> = Vec::new();
    for e in b.errors.iter().flat_map(|e| e.data.iter()) {
        let code = e
            .code
            .clone()
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| default_batch_code(verb).to_owned());
        match groups.iter_mut().find(|g| g.0 == code) {
            Some(g) => g.1 += 1,
            None => groups.push((code, 1, e.message.clone(), e.line)),
        }
    }
    if groups.is_empty() {
        groups.push((default_batch_code(verb).to_owned(), 0, None, None));
    }
    groups
        .into_iter()
        .map(|(code, count, message, line)| {
            let mut context = format!("{what} {verb}");
            if let Some(m) = message.filter(|m| !m.trim().is_empty()) {
                context.push_str(": ");
                context.push_str(m.trim());
            }
            if let Some(l) = line {
                context.push_str(&format!(" (line {l})"));
            }
            if count > 1 {
                context.push_str(&format!("; {count} errors with this code"));
            }
            if let Some(c) = &counts {
                context.push_str("; ");
                context.push_str(c);
            }
            event(&code, timestamp, "batch", &b.id, &context)
        })
        .collect()
}

fn default_batch_code(verb: &str) -> &'static str {
    if verb == "failed" {
        BATCH_FAILED
    } else {
        BATCH_EXPIRED
    }
}

/// A failed fine-tuning job in `window` as an event; `None` for other jobs.
pub(crate) fn normalize_job(j: &FineTuningJob, window: TimeWindow) -> Option<ErrorEvent> {
    if j.status != "failed" {
        return None;
    }
    let timestamp = in_window(j.finished_at.unwrap_or(j.created_at), window)?;
    let error = j.error.clone().unwrap_or_default();
    let code = error
        .code
        .filter(|c| !c.trim().is_empty())
        .unwrap_or_else(|| FINE_TUNING_FAILED.to_owned());
    let mut context = format!("fine-tuning job {}", j.id);
    if let Some(model) = j.model.as_deref().filter(|m| !m.is_empty()) {
        context.push_str(&format!(" on {model}"));
    }
    context.push_str(" failed");
    if let Some(m) = error.message.filter(|m| !m.trim().is_empty()) {
        context.push_str(": ");
        context.push_str(m.trim());
    }
    if let Some(p) = error.param.filter(|p| !p.is_empty()) {
        context.push_str(&format!(" (param {p})"));
    }
    Some(event(&code, timestamp, "fine_tuning_job", &j.id, &context))
}

fn in_window(secs: i64, window: TimeWindow) -> Option<Timestamp> {
    let t = Timestamp::from_second(secs).ok()?;
    (window.since <= t && t < window.until).then_some(t)
}

pub(crate) fn event(
    code: &str,
    timestamp: Timestamp,
    kind: &str,
    id: &str,
    context: &str,
) -> ErrorEvent {
    let class = classify(code, None);
    ErrorEvent {
        timestamp,
        service: Service::Openai,
        error_code: code.to_owned(),
        category: class.category,
        severity: class.severity,
        resource_type: kind.to_owned(),
        resource_id: id.to_owned(),
        context: truncate(&scrub_personal_data(context), MAX_CONTEXT),
        action_taken: ActionTaken::None,
        result: EventResult::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiops_core::Category;
    use serde_json::json;

    fn window() -> TimeWindow {
        TimeWindow {
            since: Timestamp::from_second(1_000_000).expect("ts"),
            until: Timestamp::from_second(2_000_000).expect("ts"),
        }
    }

    fn batch(v: serde_json::Value) -> Batch {
        serde_json::from_value(v).expect("batch")
    }

    #[test]
    fn failed_batches_give_one_event_per_distinct_code() {
        let b = batch(
            json!({"id": "batch_1", "endpoint": "/v1/chat/completions", "model": "gpt-4o-mini",
            "status": "failed", "created_at": 1_500_000, "failed_at": 1_500_060,
            "errors": {"data": [
                {"code": "missing_required_parameter", "message": "Missing 'custom_id'.", "line": 1},
                {"code": "invalid_url", "message": "bad url", "line": 2},
                {"code": "invalid_url", "message": "bad url", "line": 7}]}}),
        );
        let events = normalize_batch(&b, window());
        let codes: Vec<&str> = events.iter().map(|e| e.error_code.as_str()).collect();
        assert_eq!(codes, ["missing_required_parameter", "invalid_url"]);
        assert_eq!(events[0].timestamp.as_second(), 1_500_060);
        assert_eq!(events[0].resource_type, "batch");
        assert_eq!(events[0].resource_id, "batch_1");
        assert!(
            events[1].context.contains("2 errors with this code"),
            "{}",
            events[1].context
        );
        assert!(events[0].context.contains("model gpt-4o-mini"));
        assert_eq!(events[0].service, Service::Openai);
    }

    #[test]
    fn expired_and_bare_failures_get_apiops_codes() {
        let expired = batch(
            json!({"id": "batch_2", "endpoint": "/v1/embeddings", "status": "expired",
            "created_at": 1_400_000, "expired_at": 1_486_400,
            "request_counts": {"total": 100, "completed": 40, "failed": 60}}),
        );
        let e = normalize_batch(&expired, window());
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].error_code, BATCH_EXPIRED);
        assert_eq!(e[0].category, Category::Transient);
        assert!(e[0].context.contains("40 of 100 requests completed"));
        let bare = batch(json!({"id": "batch_3", "status": "failed", "created_at": 1_500_000}));
        assert_eq!(normalize_batch(&bare, window())[0].error_code, BATCH_FAILED);
    }

    #[test]
    fn only_failures_inside_the_window_count() {
        let ok = batch(json!({"id": "b", "status": "completed", "created_at": 1_500_000}));
        assert!(normalize_batch(&ok, window()).is_empty());
        let before = batch(
            json!({"id": "b", "status": "failed", "created_at": 900_000, "failed_at": 999_999}),
        );
        assert!(normalize_batch(&before, window()).is_empty());
        let at_end = batch(
            json!({"id": "b", "status": "failed", "created_at": 1_999_000, "failed_at": 2_000_000}),
        );
        assert!(normalize_batch(&at_end, window()).is_empty());
        let at_start = batch(
            json!({"id": "b", "status": "failed", "created_at": 999_000, "failed_at": 1_000_000}),
        );
        assert_eq!(normalize_batch(&at_start, window()).len(), 1);
    }

    #[test]
    fn failed_jobs_become_events() {
        let job: FineTuningJob = serde_json::from_value(json!({"id": "ftjob-1", "created_at": 1_100_000,
            "finished_at": 1_100_500, "status": "failed", "model": "gpt-4o-mini-2024-07-18",
            "error": {"code": "invalid_training_file", "message": "Example 3 has jane@example.com and 4111 1111 1111 1111", "param": "training_file"}}))
        .expect("job");
        let e = normalize_job(&job, window()).expect("event");
        assert_eq!(e.error_code, "invalid_training_file");
        assert_eq!(e.resource_type, "fine_tuning_job");
        assert_eq!(e.category, Category::BadParams);
        assert!(!e.context.contains("jane@"), "{}", e.context);
        assert!(!e.context.contains("4111 1111"), "{}", e.context);
        assert!(e.context.contains("(param training_file)"));
        let bare: FineTuningJob = serde_json::from_value(
            json!({"id": "ftjob-2", "created_at": 1_100_000, "status": "failed", "error": null}),
        )
        .expect("job");
        assert_eq!(
            normalize_job(&bare, window()).map(|e| e.error_code),
            Some(FINE_TUNING_FAILED.to_owned())
        );
        let running: FineTuningJob = serde_json::from_value(
            json!({"id": "ftjob-3", "created_at": 1_100_000, "status": "running"}),
        )
        .expect("job");
        assert!(normalize_job(&running, window()).is_none());
    }

    #[tokio::test]
    async fn paging_stops_after_the_first_page_past_the_cutoff() {
        let pages: Vec<Result<Vec<i64>, ClientError>> =
            vec![Ok(vec![10, 9]), Ok(vec![8, 3]), Ok(vec![2, 1])];
        let fetched = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let f = fetched.clone();
        let source = stream::iter(pages).inspect(move |_| {
            f.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        });
        let got: Vec<_> = until_past(source, |x: &i64| *x < 5).collect().await;
        assert_eq!(got.len(), 2);
        assert_eq!(fetched.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
