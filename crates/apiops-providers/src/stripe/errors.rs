//! Stripe's failures in a time window, as normalized [`ErrorEvent`]s: failure events
//! (`GET /v1/events` with `types[]` = [`FAILURE_EVENT_TYPES`]) and undelivered events
//! (`delivery_success=false`, whatever their type).
//!
//! The window is cut into sub-windows (`created[gte]`/`created[lt]` in whole seconds) scanned
//! concurrently under the client's rate gate and yielded as they arrive, one page of at most 100
//! events in memory per running sub-window; a sub-window that cannot be read is named (source
//! `events`) and can be read again alone (see [`crate::partial`]). Normalization ([`normalize_failure`],
//! [`normalize_undelivered`]) is pure: it picks the most specific code Stripe gives
//! (decline code, then error or failure code, namespaced for payouts and disputes), names the
//! resource, and writes a context without personal data — no emails, names or card digits,
//! only ids, amounts and Stripe's own messages with anything email- or card-number-like
//! removed. Stripe keeps events for 30 days; older windows simply come back empty.

use apiops_client::ClientError;
use apiops_client::windows::{self, Split, Window};
use apiops_core::text::truncate;
use apiops_core::{ActionTaken, ErrorEvent, EventResult, Service, Severity};
use futures::stream::{self, Stream, StreamExt, TryStreamExt};
use jiff::{SignedDuration, Timestamp};

use super::classify::{DISPUTE_PREFIX, PAYOUT_PREFIX, WEBHOOK_DELIVERY_FAILING, classify};
use super::client::{Event, EventQuery, FailureObject, MAX_PAGE_SIZE, ObjectRef, StripeClient};
use crate::normalize::scrub_personal_data;
use crate::partial::{
    ScanItem, ScanPlan, ScanRequest, ScanStream, client_windows, read_windows, unknown_sources,
    until_fatal,
};
use crate::provider::{Progress, ProviderError, TimeWindow};
use crate::wire::end_at_first_error;

/// The event types that report a failure worth auditing.
pub const FAILURE_EVENT_TYPES: [&str; 6] = [
    "charge.failed",
    "payment_intent.payment_failed",
    "invoice.payment_failed",
    "payout.failed",
    "setup_intent.setup_failed",
    "charge.dispute.created",
];

/// The width each sub-window aims for.
const WINDOW_WIDTH: SignedDuration = SignedDuration::from_hours(6);

/// At most this many sub-windows, however long the range.
const MAX_WINDOWS: usize = 32;

/// Sub-windows scanned at once (each issues one request at a time; the rate gate paces all).
const MAX_CONCURRENT_WINDOWS: usize = 4;

/// Longest context kept from provider text.
const MAX_CONTEXT: usize = 300;

/// The source name of Stripe's windows.
pub(crate) const SOURCE: &str = "events";

/// The scan `request` asks for: each sub-window's failure events, then its undelivered
/// events. Progress counts pages, events read, and events reported. A sub-window that fails is
/// unread and the others carry on; rejected credentials end the scan.
pub(crate) fn scan(client: StripeClient, request: ScanRequest, progress: Progress) -> ScanStream {
    let windows = match &request.plan {
        ScanPlan::Period(window) => plan(*window).map_err(ProviderError::from),
        ScanPlan::Windows(w) => match unknown_sources(Service::Stripe, w, &[SOURCE]) {
            Some(e) => Err(e),
            None => Ok(client_windows(w, SOURCE)),
        },
    };
    let windows = match windows {
        Ok(w) => w,
        Err(e) => return stream::once(async move { ScanItem::Failed(e) }).boxed(),
    };
    if windows.is_empty() {
        return stream::empty().boxed();
    }
    let concurrency = windows.len().min(MAX_CONCURRENT_WINDOWS);
    until_fatal(read_windows(SOURCE, windows, concurrency, move |w| {
        scan_window(client.clone(), w, progress.clone()).map_ok(|e| [e])
    }))
}

/// The sub-windows of `window`, on whole seconds (Stripe's `created` resolution): bounds are
/// rounded up, so an event at second `t` lands in exactly one sub-window.
pub(crate) fn plan(window: TimeWindow) -> Result<Vec<Window>, ClientError> {
    let since = ceil_second(window.since);
    let until = ceil_second(window.until);
    if until <= since {
        return Ok(Vec::new());
    }
    let width = WINDOW_WIDTH.as_secs();
    let wanted = (until - since + width - 1) / width;
    let count = usize::try_from(wanted)
        .unwrap_or(MAX_WINDOWS)
        .clamp(1, MAX_WINDOWS);
    let start = second(since)?;
    let end = second(until)?;
    let split = windows::split(start, end, Split::Count(count))?;
    let mut out: Vec<Window> = Vec::with_capacity(split.len());
    for w in split {
        let (s, e) = (second(ceil_second(w.start))?, second(ceil_second(w.end))?);
        if s < e {
            out.push(Window { start: s, end: e });
        }
    }
    Ok(out)
}

fn second(s: i64) -> Result<Timestamp, ClientError> {
    Timestamp::from_second(s).map_err(|e| ClientError::InvalidRequest(format!("time bound: {e}")))
}

/// Unix seconds, rounded up.
pub(crate) fn ceil_second(t: Timestamp) -> i64 {
    let s = t.as_second();
    if t.subsec_nanosecond() > 0 { s + 1 } else { s }
}

/// One sub-window: its failure events, then its undelivered events.
fn scan_window(
    client: StripeClient,
    w: Window,
    progress: Progress,
) -> impl Stream<Item = Result<ErrorEvent, ProviderError>> + Send + 'static {
    let (gte, lt) = (w.start.as_second(), w.end.as_second());
    let failures = EventQuery {
        created_gte: Some(gte),
        created_lt: Some(lt),
        types: FAILURE_EVENT_TYPES
            .iter()
            .map(|t| (*t).to_owned())
            .collect(),
        delivery_success: None,
        limit: MAX_PAGE_SIZE,
    };
    let undelivered = EventQuery {
        created_gte: Some(gte),
        created_lt: Some(lt),
        types: Vec::new(),
        delivery_success: Some(false),
        limit: MAX_PAGE_SIZE,
    };
    let p1 = progress.clone();
    let p2 = progress;
    let failed = client
        .event_pages::<FailureObject>(&failures)
        .map_err(ProviderError::from)
        .map_ok(move |page| {
            p1.page(page.len() as u64);
            let events: Vec<ErrorEvent> = page.iter().filter_map(normalize_failure).collect();
            events.iter().for_each(|_| p1.matched());
            stream::iter(events.into_iter().map(Ok))
        })
        .try_flatten();
    let pending = client
        .event_pages::<ObjectRef>(&undelivered)
        .map_err(ProviderError::from)
        .map_ok(move |page| {
            p2.page(page.len() as u64);
            let events: Vec<ErrorEvent> = page.iter().map(normalize_undelivered).collect();
            events.iter().for_each(|_| p2.matched());
            stream::iter(events.into_iter().map(Ok))
        })
        .try_flatten();
    end_at_first_error(failed.chain(pending))
}

/// A failure event as an [`ErrorEvent`]; `None` for an event of another type.
pub(crate) fn normalize_failure(event: &Event<FailureObject>) -> Option<ErrorEvent> {
    if !FAILURE_EVENT_TYPES.contains(&event.kind.as_str()) {
        return None;
    }
    let o = &event.data.object;
    let code = failure_code(&event.kind, o);
    let class = classify(&code, None);
    let mut severity = class.severity;
    // An invoice Stripe will not retry again is about to lapse: worth more attention.
    if event.kind == "invoice.payment_failed" && o.next_payment_attempt.is_none() {
        severity = severity.max(Severity::Warning);
    }
    Some(ErrorEvent {
        timestamp: timestamp(event.created),
        service: Service::Stripe,
        error_code: code,
        category: class.category,
        severity,
        resource_type: resource_type(&event.kind, o.object.as_deref()),
        resource_id: o.id.clone().unwrap_or_default(),
        context: failure_context(event),
        action_taken: ActionTaken::None,
        result: EventResult::Failed,
    })
}

/// The most specific code of a failure: a decline code, then the error or failure code
/// (payouts as `payout:<code>`, disputes as `dispute:<reason>`), else the event type.
pub(crate) fn failure_code(kind: &str, o: &FailureObject) -> String {
    let nonempty = |s: &Option<String>| {
        s.as_deref()
            .filter(|v| !v.trim().is_empty())
            .map(str::to_owned)
    };
    let from_error = |e: &Option<super::client::ApiErrors>| {
        e.as_ref()
            .and_then(|e| nonempty(&e.decline_code).or_else(|| nonempty(&e.code)))
    };
    let code = match kind {
        "charge.failed" => {
            // An issuer decline's or Radar block's reason is more specific than
            // `card_declined`.
            let outcome_reason = o.outcome.as_ref().and_then(|out| {
                let specific = matches!(out.kind.as_deref(), Some("issuer_declined" | "blocked"));
                if specific {
                    nonempty(&out.reason)
                } else {
                    None
                }
            });
            outcome_reason.or_else(|| nonempty(&o.failure_code))
        }
        "payment_intent.payment_failed" => from_error(&o.last_payment_error),
        "setup_intent.setup_failed" => from_error(&o.last_setup_error),
        // The invoice carries no payment error; the charge and intent events that accompany
        // it carry the decline.
        "invoice.payment_failed" => None,
        "payout.failed" => nonempty(&o.failure_code).map(|c| format!("{PAYOUT_PREFIX}{c}")),
        "charge.dispute.created" => nonempty(&o.reason).map(|r| format!("{DISPUTE_PREFIX}{r}")),
        _ => None,
    };
    code.unwrap_or_else(|| kind.to_owned())
}

fn resource_type(kind: &str, object: Option<&str>) -> String {
    match object.filter(|o| !o.is_empty()) {
        Some(o) => o.to_owned(),
        None => match kind {
            "charge.dispute.created" => "dispute".to_owned(),
            k => k.split('.').next().unwrap_or("event").to_owned(),
        },
    }
}

/// What a person needs to act on a failure, without personal data.
fn failure_context(event: &Event<FailureObject>) -> String {
    let o = &event.data.object;
    let mut parts: Vec<String> = Vec::new();
    let message = o
        .failure_message
        .clone()
        .or_else(|| {
            o.last_payment_error
                .as_ref()
                .and_then(|e| e.message.clone())
        })
        .or_else(|| o.last_setup_error.as_ref().and_then(|e| e.message.clone()))
        .or_else(|| o.outcome.as_ref().and_then(|x| x.seller_message.clone()));
    let mut head = event.kind.clone();
    if let Some(m) = message.filter(|m| !m.trim().is_empty()) {
        head.push_str(": ");
        head.push_str(m.trim());
    }
    parts.push(head);
    if let (Some(amount), Some(currency)) = (o.amount.or(o.amount_due), o.currency.as_deref()) {
        parts.push(format_amount(amount, currency));
    }
    if let Some(outcome) = &o.outcome {
        match outcome.kind.as_deref() {
            Some("blocked") => parts.push(format!(
                "blocked by Radar (risk {})",
                outcome.risk_level.as_deref().unwrap_or("unknown")
            )),
            Some("issuer_declined") => parts.push("declined by the issuer".to_owned()),
            _ => {}
        }
    }
    if event.kind == "invoice.payment_failed" {
        let attempts = o.attempt_count.unwrap_or(0);
        match o.next_payment_attempt {
            Some(next) => parts.push(format!(
                "attempt {attempts}; next retry {}",
                timestamp(next)
            )),
            None => parts.push(format!("attempt {attempts}; no further automatic retries")),
        }
    }
    if let Some(due) = o
        .evidence_details
        .as_ref()
        .and_then(|e| e.due_by)
        .filter(|d| *d > 0)
    {
        parts.push(format!("evidence due by {}", timestamp(due)));
    }
    let related: Vec<String> = [
        ("customer", o.customer.as_ref()),
        ("payment_intent", o.payment_intent.as_ref()),
        ("charge", o.charge.as_ref()),
    ]
    .iter()
    .filter_map(|(name, field)| field.and_then(|f| f.id()).map(|id| format!("{name} {id}")))
    .collect();
    parts.extend(related);
    parts.push(format!("event {}", event.id));
    truncate(&scrub_personal_data(&parts.join("; ")), MAX_CONTEXT)
}

/// An undelivered event as an [`ErrorEvent`]: `config`, pending (Stripe keeps retrying).
pub(crate) fn normalize_undelivered(event: &Event<ObjectRef>) -> ErrorEvent {
    let class = classify(WEBHOOK_DELIVERY_FAILING, None);
    let about = event
        .data
        .object
        .id
        .as_deref()
        .map(|id| format!(" for {id}"))
        .unwrap_or_default();
    let endpoints = match event.pending_webhooks {
        n if n > 0 => format!("{n} endpoint(s) have not acknowledged it"),
        _ => "not delivered to every endpoint".to_owned(),
    };
    ErrorEvent {
        timestamp: timestamp(event.created),
        service: Service::Stripe,
        error_code: WEBHOOK_DELIVERY_FAILING.to_owned(),
        category: class.category,
        severity: class.severity,
        resource_type: "event".to_owned(),
        resource_id: event.id.clone(),
        context: truncate(
            &scrub_personal_data(&format!(
                "webhook delivery failing: {}{about}: {endpoints}; Stripe retries for up to 3 days",
                event.kind
            )),
            MAX_CONTEXT,
        ),
        action_taken: ActionTaken::None,
        result: EventResult::Pending,
    }
}

fn timestamp(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Zero-decimal and three-decimal currencies; every other one has two decimals.
const ZERO_DECIMAL: &[&str] = &[
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
];
const THREE_DECIMAL: &[&str] = &["bhd", "jod", "kwd", "omr", "tnd"];

/// `1234` `usd` -> `12.34 USD`.
pub(crate) fn format_amount(amount: i64, currency: &str) -> String {
    let cur = currency.to_ascii_lowercase();
    let decimals: u32 = if ZERO_DECIMAL.contains(&cur.as_str()) {
        0
    } else if THREE_DECIMAL.contains(&cur.as_str()) {
        3
    } else {
        2
    };
    let upper = cur.to_ascii_uppercase();
    if decimals == 0 {
        return format!("{amount} {upper}");
    }
    let scale = 10i64.pow(decimals);
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    let scale = scale.unsigned_abs();
    format!(
        "{sign}{}.{:0width$} {upper}",
        abs / scale,
        abs % scale,
        width = decimals as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiops_core::Category;
    use serde_json::json;

    fn event(kind: &str, object: serde_json::Value) -> Event<FailureObject> {
        serde_json::from_value(json!({
            "id": "evt_1", "created": 1_800_000_000, "type": kind, "livemode": false,
            "pending_webhooks": 0, "data": {"object": object}
        }))
        .expect("event")
    }

    #[test]
    fn codes_are_the_most_specific_stripe_gives() {
        let cases = [
            (
                "charge.failed",
                json!({"object": "charge", "failure_code": "card_declined",
                       "outcome": {"type": "issuer_declined", "reason": "insufficient_funds"}}),
                "insufficient_funds",
            ),
            (
                "charge.failed",
                json!({"object": "charge", "failure_code": "card_declined",
                       "outcome": {"type": "blocked", "reason": "highest_risk_level"}}),
                "highest_risk_level",
            ),
            (
                "charge.failed",
                json!({"object": "charge", "failure_code": "expired_card",
                       "outcome": {"type": "invalid", "reason": null}}),
                "expired_card",
            ),
            (
                "payment_intent.payment_failed",
                json!({"object": "payment_intent", "last_payment_error":
                       {"type": "card_error", "code": "card_declined", "decline_code": "generic_decline"}}),
                "generic_decline",
            ),
            (
                "setup_intent.setup_failed",
                json!({"object": "setup_intent", "last_setup_error": {"type": "card_error", "code": "incorrect_cvc"}}),
                "incorrect_cvc",
            ),
            (
                "payout.failed",
                json!({"object": "payout", "failure_code": "account_closed"}),
                "payout:account_closed",
            ),
            (
                "charge.dispute.created",
                json!({"object": "dispute", "reason": "fraudulent"}),
                "dispute:fraudulent",
            ),
            (
                "invoice.payment_failed",
                json!({"object": "invoice", "attempt_count": 1, "next_payment_attempt": 1_800_100_000}),
                "invoice.payment_failed",
            ),
            ("payout.failed", json!({}), "payout.failed"),
        ];
        for (kind, object, want) in cases {
            let e = normalize_failure(&event(kind, object)).expect("normalized");
            assert_eq!(e.error_code, want, "{kind}");
            assert_eq!(e.service, Service::Stripe);
            assert_eq!(e.result, EventResult::Failed);
        }
        assert!(normalize_failure(&event("charge.succeeded", json!({}))).is_none());
    }

    #[test]
    fn context_names_resources_but_no_personal_data() {
        let e = normalize_failure(&event(
            "payment_intent.payment_failed",
            json!({"id": "pi_9", "object": "payment_intent", "amount": 12_599, "currency": "usd",
                   "customer": {"id": "cus_7", "email": "jane@example.com", "name": "Jane"},
                   "last_payment_error": {"type": "card_error", "code": "card_declined",
                       "decline_code": "insufficient_funds",
                       "message": "Card 4242 4242 4242 4242 of jane@example.com has insufficient funds.",
                       "payment_method": {"card": {"last4": "4242"}, "billing_details": {"email": "jane@example.com"}}}}),
        ))
        .expect("normalized");
        assert_eq!(e.resource_type, "payment_intent");
        assert_eq!(e.resource_id, "pi_9");
        assert_eq!(e.category, Category::BadParams);
        assert!(e.context.contains("125.99 USD"), "{}", e.context);
        assert!(e.context.contains("customer cus_7"), "{}", e.context);
        assert!(e.context.contains("event evt_1"), "{}", e.context);
        assert!(!e.context.contains("jane"), "{}", e.context);
        assert!(!e.context.contains("Jane"), "{}", e.context);
        assert!(!e.context.contains("4242 4242"), "{}", e.context);
    }

    #[test]
    fn final_invoice_attempts_are_warnings() {
        let last = normalize_failure(&event(
            "invoice.payment_failed",
            json!({"object": "invoice", "attempt_count": 4, "next_payment_attempt": null}),
        ))
        .expect("invoice");
        assert_eq!(last.severity, Severity::Warning);
        assert!(last.context.contains("no further automatic retries"));
        let retrying = normalize_failure(&event(
            "invoice.payment_failed",
            json!({"object": "invoice", "attempt_count": 1, "next_payment_attempt": 1_800_100_000}),
        ))
        .expect("invoice");
        assert_eq!(retrying.severity, Severity::Info);
    }

    #[test]
    fn undelivered_events_are_pending_config_events() {
        let e: Event<ObjectRef> = serde_json::from_value(json!({
            "id": "evt_2", "created": 1_800_000_000, "type": "customer.created",
            "pending_webhooks": 2, "data": {"object": {"id": "cus_1", "object": "customer", "email": "a@b.co"}}
        }))
        .expect("event");
        let n = normalize_undelivered(&e);
        assert_eq!(n.error_code, WEBHOOK_DELIVERY_FAILING);
        assert_eq!(n.category, Category::Config);
        assert_eq!(n.resource_type, "event");
        assert_eq!(n.resource_id, "evt_2");
        assert_eq!(n.result, EventResult::Pending);
        assert!(n.context.contains("webhook delivery failing"));
        assert!(n.context.contains("2 endpoint(s)"));
        assert!(!n.context.contains("a@b.co"));
    }

    #[test]
    fn windows_cover_the_range_on_whole_seconds() {
        let t = |s: i64| Timestamp::from_second(s).expect("ts");
        let day = TimeWindow {
            since: t(1_800_000_000),
            until: t(1_800_086_400),
        };
        let w = plan(day).expect("plan");
        assert_eq!(w.len(), 4);
        assert_eq!(w[0].start, day.since);
        assert_eq!(w[w.len() - 1].end, day.until);
        assert!(w.windows(2).all(|p| p[0].end == p[1].start));
        assert!(w.iter().all(|x| x.start.subsec_nanosecond() == 0));
        let month = TimeWindow {
            since: t(1_800_000_000),
            until: t(1_800_000_000 + 30 * 86_400),
        };
        assert_eq!(plan(month).expect("plan").len(), MAX_WINDOWS);
        let empty = TimeWindow {
            since: t(1_800_000_000),
            until: t(1_800_000_000),
        };
        assert!(plan(empty).expect("plan").is_empty());
        let fractional = TimeWindow {
            since: "2027-01-15T08:00:00.5Z".parse().expect("ts"),
            until: "2027-01-15T08:00:01.2Z".parse().expect("ts"),
        };
        let w = plan(fractional).expect("plan");
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].end.as_second() - w[0].start.as_second(), 1);
    }

    #[test]
    fn amounts() {
        assert_eq!(format_amount(12_599, "usd"), "125.99 USD");
        assert_eq!(format_amount(5, "eur"), "0.05 EUR");
        assert_eq!(format_amount(-250, "usd"), "-2.50 USD");
        assert_eq!(format_amount(1500, "jpy"), "1500 JPY");
        assert_eq!(format_amount(1500, "kwd"), "1.500 KWD");
    }
}
