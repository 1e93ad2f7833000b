//! Processing after storage: inbox rows become `ErrorEvent`s in the event log when they report
//! a failure (a Twilio message undelivered, a Stripe charge failed, an OpenAI batch failed, a
//! Monitor alert). A row is marked processed in the same transaction that records its failure,
//! so a crash at any point neither loses a failure nor records it twice; rows left unprocessed
//! by a crash are picked up at the next start.

use std::sync::Arc;

use apiops_core::{ErrorEvent, Service, metric_names};
use apiops_providers::webhook_events;
use apiops_store::{InboxEvent, Store, StoreError};
use jiff::Timestamp;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Inbox event types the reconciler writes for Monitor alerts.
pub const MONITOR_ALERT: &str = "monitor.alert";

/// Rows processed per transaction.
const BATCH: u32 = 1_000;

/// How long processing waits after a commit for more commits to join it.
const COALESCE: std::time::Duration = std::time::Duration::from_millis(100);

/// The failure an inbox event reports, if any.
pub fn failure_of(e: &InboxEvent) -> Option<ErrorEvent> {
    match e.service {
        // The type is known from the row: most events are not failures, and need no parsing.
        Service::Stripe
            if !apiops_providers::stripe::FAILURE_EVENT_TYPES.contains(&e.event_type.as_str()) =>
        {
            None
        }
        Service::Stripe => webhook_events::stripe_event_failure(&e.payload),
        Service::Openai => webhook_events::openai_event_failure(&e.payload, e.received_at),
        Service::Twilio if e.event_type == MONITOR_ALERT => {
            webhook_events::twilio_alert_failure(&e.payload)
        }
        Service::Twilio => {
            let params = crate::signature::twilio::form_params(e.payload.as_bytes());
            webhook_events::twilio_callback_failure(&params, e.received_at)
        }
        // A configured API's payloads have no known failure shape: they are kept, not read.
        Service::Api(_) => None,
    }
}

/// Processes every unprocessed row now; returns how many rows and how many failures.
pub async fn drain(store: &dyn Store, now: Timestamp) -> Result<(u64, u64), StoreError> {
    let (mut rows, mut failures) = (0u64, 0u64);
    loop {
        let batch = store.inbox_unprocessed(BATCH).await?;
        if batch.is_empty() {
            return Ok((rows, failures));
        }
        let ids: Vec<i64> = batch.iter().map(|r| r.id).collect();
        let events: Vec<ErrorEvent> = batch.iter().filter_map(|r| failure_of(&r.event)).collect();
        rows += ids.len() as u64;
        failures += events.len() as u64;
        store.inbox_processed(&ids, &events, now).await?;
        count_errors(&events);
    }
}

/// Counts recorded failures in `apiops_errors_total{service,category,code}` (a no-op until a
/// recorder is installed). The code label is the provider's code when it looks like one (at
/// most 64 characters of `[A-Za-z0-9_.-]`), else `other`, so a payload cannot grow the series
/// without bound.
pub fn count_errors(events: &[ErrorEvent]) {
    for e in events {
        let code = &e.error_code;
        let code = if !code.is_empty()
            && code.len() <= 64
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        {
            code.clone()
        } else {
            "other".to_owned()
        };
        metrics::counter!(
            metric_names::ERRORS_TOTAL,
            "service" => e.service.as_str(),
            "category" => e.category.as_str(),
            "code" => code
        )
        .increment(1);
    }
}

/// Runs until `stop`: drains at start (rows a crash left behind), then after every commit
/// the ingest reports through `committed`. A store error is logged and retried at the next
/// notification (or after a second).
pub async fn run(store: Arc<dyn Store>, committed: Arc<Notify>, stop: CancellationToken) {
    loop {
        if let Err(e) = drain(store.as_ref(), Timestamp::now()).await {
            tracing::error!(error = %e, "processing the inbox failed; retrying");
        }
        tokio::select! {
            () = committed.notified() => {
                // Let commits accumulate briefly: one processing transaction per batch of
                // commits instead of one per commit (the writer is shared with the receiver).
                tokio::time::sleep(COALESCE).await;
            }
            () = stop.cancelled() => {
                // Whatever was committed before the stop is processed before exiting.
                if let Err(e) = drain(store.as_ref(), Timestamp::now()).await {
                    tracing::error!(error = %e, "processing the inbox at shutdown failed");
                }
                return;
            }
            () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
        }
    }
}
