//! The poll reconciler: what webhooks missed (the receiver was down, a delivery failed for
//! good), fetched from the providers' own logs and stored in the same inbox, deduplicated by
//! the same identities — a Stripe event polled after it was delivered is stored once.
//!
//! - Stripe: `GET /v1/events` from the cursor (the newest `created` seen, minus an overlap for
//!   events created late in their second), every type; identity = the event id.
//! - Twilio: Monitor `GET /v1/Alerts` from the cursor (the newest alert's `date_created`, minus
//!   the overlap); identity = `alert:<NO sid>`.
//!
//! On the first run (no cursor) it reaches back [`Reconciler::backfill`]. A cursor moves only
//! after a complete pass, so a failed poll is retried from the same place next time.

use std::sync::Arc;
use std::time::Duration;

use apiops_client::pagination::{self, PageStyle};
use apiops_core::Service;
use apiops_providers::stripe::StripeClient;
use apiops_providers::twilio::TwilioClient;
use apiops_providers::twilio::client::Host;
use apiops_store::{InboxEvent, Source, Store};
use futures::StreamExt;
use jiff::Timestamp;
use serde::Serialize;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::process::MONITOR_ALERT;

/// The cursor names.
pub const STRIPE_CURSOR: &str = "stripe.events.created";
/// The Monitor alerts cursor.
pub const TWILIO_CURSOR: &str = "twilio.alerts.date_created";

/// What one pass found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    /// Stripe events read.
    pub stripe_seen: u64,
    /// Of those, not in the inbox before (backfilled).
    pub stripe_new: u64,
    /// Monitor alerts read.
    pub twilio_seen: u64,
    /// Of those, new.
    pub twilio_new: u64,
    /// Sources that failed this pass (retried next time), with why.
    pub errors: Vec<String>,
}

/// What the reconciler has done so far (served on `/healthz`).
#[derive(Debug, Default)]
pub struct ReconcileStatus {
    passes: std::sync::atomic::AtomicU64,
    last: std::sync::Mutex<Option<ReconcileReport>>,
}

impl ReconcileStatus {
    /// Passes completed.
    pub fn passes(&self) -> u64 {
        self.passes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The last pass's report.
    pub fn last(&self) -> Option<ReconcileReport> {
        self.last.lock().ok().and_then(|l| l.clone())
    }

    fn record(&self, report: &ReconcileReport) {
        if let Ok(mut l) = self.last.lock() {
            *l = Some(report.clone());
        }
        self.passes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Polls the providers into the inbox.
#[allow(missing_debug_implementations)]
pub struct Reconciler {
    /// The inbox.
    pub store: Arc<dyn Store>,
    /// Stripe, when configured.
    pub stripe: Option<StripeClient>,
    /// Twilio, when configured.
    pub twilio: Option<TwilioClient>,
    /// How far back the first pass reaches.
    pub backfill: Duration,
    /// How far before the cursor each pass starts again.
    pub overlap: Duration,
    /// Where passes are reported.
    pub status: Arc<ReconcileStatus>,
}

impl Reconciler {
    /// One pass over every configured source.
    pub async fn run_once(&self, now: Timestamp) -> ReconcileReport {
        let mut report = ReconcileReport::default();
        if let Some(client) = &self.stripe {
            match self.stripe_pass(client, now).await {
                Ok((seen, new)) => {
                    report.stripe_seen = seen;
                    report.stripe_new = new;
                }
                Err(e) => report.errors.push(format!("stripe: {e}")),
            }
        }
        if let Some(client) = &self.twilio {
            match self.twilio_pass(client, now).await {
                Ok((seen, new)) => {
                    report.twilio_seen = seen;
                    report.twilio_new = new;
                }
                Err(e) => report.errors.push(format!("twilio: {e}")),
            }
        }
        report
    }

    /// Passes every `interval` until `stop`, telling the processor after each.
    pub async fn run(self, interval: Duration, committed: Arc<Notify>, stop: CancellationToken) {
        loop {
            let report = self.run_once(Timestamp::now()).await;
            self.status.record(&report);
            if report.stripe_new + report.twilio_new > 0 {
                tracing::info!(
                    stripe = report.stripe_new,
                    twilio = report.twilio_new,
                    "reconciler backfilled events webhooks missed"
                );
                committed.notify_one();
            }
            for e in &report.errors {
                tracing::warn!("reconciler: {e}");
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
        }
    }

    fn start(&self, cursor: Option<i64>, now: Timestamp) -> i64 {
        let overlap = i64::try_from(self.overlap.as_secs()).unwrap_or(0);
        let back = i64::try_from(self.backfill.as_secs()).unwrap_or(i64::MAX);
        match cursor {
            Some(c) => c.saturating_sub(overlap),
            None => now.as_second().saturating_sub(back),
        }
    }

    async fn stripe_pass(
        &self,
        client: &StripeClient,
        now: Timestamp,
    ) -> Result<(u64, u64), String> {
        let cursor = self
            .store
            .cursor(STRIPE_CURSOR)
            .await
            .map_err(|e| e.to_string())?
            .and_then(|v| v.parse::<i64>().ok());
        let since = self.start(cursor, now);
        let params = vec![
            ("created[gte]".to_owned(), since.to_string()),
            ("limit".to_owned(), "100".to_owned()),
        ];
        let mut pages = std::pin::pin!(pagination::pages::<serde_json::Value>(
            client.api().clone(),
            "/v1/events".to_owned(),
            params,
            PageStyle::Stripe,
        ));
        let (mut seen, mut new) = (0u64, 0u64);
        let mut newest = cursor.unwrap_or(since);
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| e.to_string())?;
            let batch: Vec<InboxEvent> = page
                .iter()
                .filter_map(|e| {
                    let id = e["id"].as_str()?;
                    if let Some(c) = e["created"].as_i64() {
                        newest = newest.max(c);
                    }
                    let kind = e["type"].as_str().unwrap_or("unknown");
                    Some(polled(Service::Stripe, id.to_owned(), kind, e, now))
                })
                .collect();
            seen += batch.len() as u64;
            new += self.store_polled(&batch).await?;
        }
        self.store
            .set_cursor(STRIPE_CURSOR, &newest.to_string(), now)
            .await
            .map_err(|e| e.to_string())?;
        Ok((seen, new))
    }

    /// Stores one page of polled events; returns how many were new.
    async fn store_polled(&self, batch: &[InboxEvent]) -> Result<u64, String> {
        let fresh = self
            .store
            .inbox_append(batch)
            .await
            .map_err(|e| e.to_string())?;
        Ok(fresh.iter().filter(|f| **f).count() as u64)
    }

    async fn twilio_pass(
        &self,
        client: &TwilioClient,
        now: Timestamp,
    ) -> Result<(u64, u64), String> {
        let cursor = self
            .store
            .cursor(TWILIO_CURSOR)
            .await
            .map_err(|e| e.to_string())?
            .and_then(|v| v.parse::<Timestamp>().ok())
            .map(|t| t.as_second());
        let since = self.start(cursor, now);
        let since_ts = Timestamp::from_second(since).unwrap_or(now);
        let query = vec![
            (
                "StartDate".to_owned(),
                since_ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            ),
            ("PageSize".to_owned(), "1000".to_owned()),
        ];
        let mut pages = client.pages::<serde_json::Value>(
            Host::Monitor,
            "/v1/Alerts".to_owned(),
            query,
            "alerts",
        );
        let (mut seen, mut new) = (0u64, 0u64);
        let mut newest = cursor.and_then(|c| Timestamp::from_second(c).ok());
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| e.to_string())?;
            let batch: Vec<InboxEvent> = page
                .iter()
                .filter_map(|a| {
                    let sid = a["sid"].as_str()?;
                    if let Some(t) = a["date_created"]
                        .as_str()
                        .and_then(|d| d.parse::<Timestamp>().ok())
                    {
                        newest = Some(newest.map_or(t, |n| n.max(t)));
                    }
                    Some(polled(
                        Service::Twilio,
                        format!("alert:{sid}"),
                        MONITOR_ALERT,
                        a,
                        now,
                    ))
                })
                .collect();
            seen += batch.len() as u64;
            new += self.store_polled(&batch).await?;
        }
        if let Some(n) = newest {
            self.store
                .set_cursor(TWILIO_CURSOR, &n.to_string(), now)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok((seen, new))
    }
}

/// A polled item as an inbox event.
fn polled(
    service: Service,
    dedup_key: String,
    kind: &str,
    item: &serde_json::Value,
    now: Timestamp,
) -> InboxEvent {
    InboxEvent {
        service,
        dedup_key,
        event_type: kind.to_owned(),
        source: Source::Poll,
        received_at: now,
        payload: item.to_string(),
    }
}
