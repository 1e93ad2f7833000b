//! Twilio's error sources, scanned into normalized [`ErrorEvent`]s:
//!
//! 1. **Messages** that ended `failed` or `undelivered`. `Messages.json` has no status filter,
//!    so every message sent in the window is listed (`DateSent>` = on or after, `DateSent<` =
//!    on or before, RFC 3339 instants, `PageSize=1000`) and filtered here on its status; the
//!    event carries the message's `error_code`.
//! 2. **Calls** with `Status=failed` (`StartTime>` / `StartTime<`). Twilio gives a call a
//!    status, not a code, so these carry the synthetic code
//!    [`CALL_FAILED`](super::classify::CALL_FAILED). `busy` and `no-answer` are not scanned:
//!    they are the callee's choice, not a failure of the integration, and would drown the
//!    report in noise.
//! 3. **Monitor alerts** (`/v1/Alerts`, `StartDate` / `EndDate`, every log level) — webhook
//!    failures (11200, 11205...), TwiML problems, geo permissions. Twilio keeps 30 days of them,
//!    so the window is clamped to the 30 days before its end. Alerts are deduplicated by SID,
//!    and an alert about a message or call already reported with the same code is skipped:
//!    that failure is already counted once.
//!
//! How the sources are read, window by window, and what a scan that could not read some
//! windows remembers to read them later, is in [`super::sources`]. Here: the plan of a source's
//! windows and the normalization of its records. Windows are half-open: the date filters
//! include both ends, so records are kept only when their time falls in `[start, end)` and no
//! record is counted twice.
//!
//! Contexts are short and safe: phone numbers partially masked (`+1415***0100`), message
//! bodies never decoded, URLs reduced to scheme, host and path.

use apiops_client::ClientError;
use apiops_client::redact::try_display_url;
use apiops_client::windows::{Split, Window, split};
use apiops_core::text::truncate;
use apiops_core::{ActionTaken, ErrorEvent, EventResult, Service, Severity};
use jiff::{SignedDuration, Timestamp};

use super::classify::{CALL_FAILED, classify, message_for};
use super::client::{Alert, Call, Message};
use crate::provider::TimeWindow;

/// No window is shorter than this (tiny windows only add requests).
const MIN_WINDOW: SignedDuration = SignedDuration::from_secs(60);

/// The longest context.
const MAX_CONTEXT: usize = 160;

/// Cuts `window` into about `slots` windows of at least [`MIN_WINDOW`], in whole seconds,
/// newest first.
pub(crate) fn plan(window: TimeWindow, slots: usize) -> Result<Vec<Window>, ClientError> {
    if window.until <= window.since {
        return split(window.since, window.until, Split::Count(1));
    }
    let span = window.until.duration_since(window.since);
    let slots = i32::try_from(slots.max(1)).unwrap_or(i32::MAX);
    let share = span / slots;
    let whole = share.as_secs() + i64::from(share.subsec_nanos() > 0);
    let width = SignedDuration::from_secs(whole).max(MIN_WINDOW);
    let mut windows = split(window.since, window.until, Split::Width(width))?;
    windows.reverse();
    Ok(windows)
}

/// A date filter value: the instant, to the second (RFC 3339, what the spec's `date-time`
/// means). Truncating is safe: the filters include both ends and the records are then kept
/// only inside the window.
pub(crate) fn filter_time(t: Timestamp) -> String {
    let secs = t.as_second();
    Timestamp::from_second(secs)
        .unwrap_or(t)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Parses a 2010-API date (RFC 2822), or an ISO 8601 one.
fn parse_time(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    jiff::fmt::rfc2822::parse(text)
        .map(|z| z.timestamp())
        .ok()
        .or_else(|| text.parse::<Timestamp>().ok())
}

/// The first of `candidates` that parses.
fn first_time(candidates: &[Option<&String>]) -> Option<Timestamp> {
    candidates.iter().flatten().find_map(|t| parse_time(t))
}

/// Where an event belongs: `None` when its time lies outside the window (another window has
/// it); the window's start when the record has no usable time at all.
fn placed(time: Option<Timestamp>, w: Window) -> Option<Timestamp> {
    match time {
        Some(t) if w.contains(t) => Some(t),
        Some(_) => None,
        None => Some(w.start),
    }
}

/// A phone number shown partially: `+1415***0100`; short ones (short codes, client names)
/// fully masked. A `whatsapp:`-style prefix is kept.
pub(crate) fn mask_phone(raw: &str) -> String {
    let raw = raw.trim();
    let (prefix, number) = match raw.rsplit_once(':') {
        Some((p, n)) => (Some(p), n),
        None => (None, raw),
    };
    let chars: Vec<char> = number.chars().collect();
    let n = chars.len();
    let masked = if n >= 8 {
        let head = (n - 6).min(5);
        let start: String = chars[..head].iter().collect();
        let end: String = chars[n - 4..].iter().collect();
        format!("{start}***{end}")
    } else {
        "***".to_owned()
    };
    match prefix {
        Some(p) if !p.is_empty() => format!("{p}:{masked}"),
        _ => masked,
    }
}

pub(crate) fn event(
    timestamp: Timestamp,
    code: String,
    resource_type: &str,
    resource_id: &str,
    context: String,
    severity_cap: Option<Severity>,
) -> ErrorEvent {
    let c = classify(&code, None);
    let severity = match severity_cap {
        Some(cap) => c.severity.min(cap),
        None => c.severity,
    };
    ErrorEvent {
        timestamp,
        service: Service::Twilio,
        error_code: code,
        category: c.category,
        severity,
        resource_type: resource_type.to_owned(),
        resource_id: resource_id.to_owned(),
        context: truncate(&context, MAX_CONTEXT),
        action_taken: ActionTaken::None,
        result: EventResult::Failed,
    }
}

/// A failed or undelivered message in window `w` as an event; `None` for anything else.
pub(crate) fn message_event(m: &Message, w: Window) -> Option<ErrorEvent> {
    let status = m.status.as_deref()?.trim().to_ascii_lowercase();
    if status != "failed" && status != "undelivered" {
        return None;
    }
    let time = placed(
        first_time(&[
            m.date_sent.as_ref(),
            m.date_updated.as_ref(),
            m.date_created.as_ref(),
        ]),
        w,
    )?;
    let code = m
        .error_code
        .clone()
        .unwrap_or_else(|| format!("message_{status}"));
    let what = m
        .error_message
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .or_else(|| message_for(&code))
        .unwrap_or(status.as_str())
        .to_owned();
    let context = match m.to.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(to) => format!("{status} to {}: {what}", mask_phone(to)),
        None => format!("{status}: {what}"),
    };
    Some(event(time, code, "message", &m.sid, context, None))
}

/// A failed call in window `w` as an event; `None` for any other status.
pub(crate) fn call_event(c: &Call, w: Window) -> Option<ErrorEvent> {
    let status = c.status.as_deref()?.trim().to_ascii_lowercase();
    if status != "failed" {
        return None;
    }
    let time = placed(
        first_time(&[c.start_time.as_ref(), c.date_created.as_ref()]),
        w,
    )?;
    let context = match c.to.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(to) => format!("call to {} failed", mask_phone(to)),
        None => "call failed".to_owned(),
    };
    Some(event(
        time,
        CALL_FAILED.to_owned(),
        "call",
        &c.sid,
        context,
        None,
    ))
}

/// A Monitor alert in window `w` as an event. Alerts logged below `error` are capped at
/// `warning`, whatever their code's usual severity.
pub(crate) fn alert_event(a: &Alert, w: Window) -> Option<ErrorEvent> {
    let time = placed(
        first_time(&[a.date_generated.as_ref(), a.date_created.as_ref()]),
        w,
    )?;
    let code = a.error_code.clone().unwrap_or_else(|| "unknown".to_owned());
    let fields: Vec<(String, String)> = a
        .alert_text
        .as_deref()
        .map(|t| {
            url::form_urlencoded::parse(t.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let what: String = field("Msg")
        .or_else(|| message_for(&code))
        .unwrap_or("alert")
        .chars()
        .take(100)
        .collect();
    let mut context = what;
    if let Some(status) = field("httpResponse").filter(|s| s.bytes().all(|b| b.is_ascii_digit())) {
        context.push_str(&format!(" (HTTP {status})"));
    }
    if let Some(url) = a.request_url.as_deref().and_then(try_display_url) {
        context.push_str(&format!(" at {url}"));
    }
    if let Some(sid) = a.resource_sid.as_deref().filter(|s| !s.trim().is_empty()) {
        let sid: String = sid.chars().filter(char::is_ascii_alphanumeric).collect();
        context.push_str(&format!(" on {sid}"));
    }
    let below_error = a
        .log_level
        .as_deref()
        .is_some_and(|l| !l.trim().eq_ignore_ascii_case("error"));
    Some(event(
        time,
        code,
        "alert",
        &a.sid,
        context,
        below_error.then_some(Severity::Warning),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiops_core::Category;
    use serde_json::json;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn day() -> Window {
        Window {
            start: ts("2026-11-24T00:00:00Z"),
            end: ts("2026-11-25T00:00:00Z"),
        }
    }

    fn message(v: serde_json::Value) -> Message {
        serde_json::from_value(v).expect("message")
    }

    #[test]
    fn failed_and_undelivered_messages_become_events() {
        let m = message(json!({
            "sid": "SM0123", "status": "undelivered", "error_code": 30007,
            "error_message": "Message filtered", "to": "+14155550100",
            "from": "+14155550199", "body": "your code is 123456",
            "date_sent": "Tue, 24 Nov 2026 10:00:00 +0000"
        }));
        let e = message_event(&m, day()).expect("event");
        assert_eq!(e.timestamp, ts("2026-11-24T10:00:00Z"));
        assert_eq!(e.service, Service::Twilio);
        assert_eq!(e.error_code, "30007");
        assert_eq!(e.category, Category::SpamBlocked);
        assert_eq!(e.severity, Severity::Warning);
        assert_eq!(e.resource_type, "message");
        assert_eq!(e.resource_id, "SM0123");
        assert_eq!(e.context, "undelivered to +1415***0100: Message filtered");
        assert_eq!(e.action_taken, ActionTaken::None);
        assert_eq!(e.result, EventResult::Failed);
        let json = serde_json::to_string(&e).expect("json");
        assert!(
            !json.contains("123456") && !json.contains("5550100"),
            "{json}"
        );

        let failed = message(json!({
            "sid": "SM9", "status": "failed", "error_code": "21610",
            "to": "+14155550111", "date_sent": "Tue, 24 Nov 2026 23:59:59 +0000"
        }));
        let e = message_event(&failed, day()).expect("event");
        assert_eq!(e.category, Category::SpamBlocked);
        assert!(
            e.context
                .ends_with("Attempt to send to unsubscribed recipient"),
            "{}",
            e.context
        );
    }

    #[test]
    fn other_messages_and_other_windows_are_skipped() {
        for status in ["delivered", "sent", "received", "queued", "canceled"] {
            let m = message(json!({"sid": "SM1", "status": status, "error_code": 30007,
                                   "date_sent": "Tue, 24 Nov 2026 10:00:00 +0000"}));
            assert!(message_event(&m, day()).is_none(), "{status}");
        }
        assert!(message_event(&message(json!({"sid": "SM1"})), day()).is_none());
        // The date filters include both ends: a message at the window's end belongs to the next.
        let at_end = message(
            json!({"sid": "SM1", "status": "failed", "error_code": 30008,
                                    "date_sent": "Wed, 25 Nov 2026 00:00:00 +0000"}),
        );
        assert!(message_event(&at_end, day()).is_none());
        let at_start = message(
            json!({"sid": "SM1", "status": "failed", "error_code": 30008,
                                      "date_sent": "Tue, 24 Nov 2026 00:00:00 +0000"}),
        );
        assert!(message_event(&at_start, day()).is_some());
        // No usable date: kept, at the window's start; no code: a synthetic one, unknown.
        let undated = message(json!({"sid": "SM2", "status": "failed", "date_sent": "garbage"}));
        let e = message_event(&undated, day()).expect("kept");
        assert_eq!(e.timestamp, day().start);
        assert_eq!(e.error_code, "message_failed");
        assert_eq!(e.context, "failed: failed");
        assert!(!classify(&e.error_code, None).known);
    }

    #[test]
    fn failed_calls_become_events() {
        let c: Call = serde_json::from_value(json!({
            "sid": "CA1", "status": "failed", "to": "+16505550105",
            "start_time": "Tue, 24 Nov 2026 08:00:00 +0000"
        }))
        .expect("call");
        let e = call_event(&c, day()).expect("event");
        assert_eq!(e.error_code, CALL_FAILED);
        assert_eq!(e.resource_type, "call");
        assert_eq!(e.category, Category::Carrier);
        assert_eq!(e.context, "call to +1650***0105 failed");
        for status in ["busy", "no-answer", "completed"] {
            let mut other = c.clone();
            other.status = Some(status.into());
            assert!(call_event(&other, day()).is_none(), "{status}");
        }
    }

    #[test]
    fn alerts_become_events_with_safe_contexts() {
        let a: Alert = serde_json::from_value(json!({
            "sid": "NO1", "error_code": "11200", "log_level": "error",
            "alert_text": "Msg=Bad+Gateway&sourceComponent=14100&ErrorCode=11200&httpResponse=502&url=https%3A%2F%2Fhooks.example.com%2Fsms",
            "request_url": "https://user:pw@hooks.example.com/sms?token=abc#frag",
            "resource_sid": "SM42",
            "date_generated": "2026-11-24T12:00:00Z"
        }))
        .expect("alert");
        let e = alert_event(&a, day()).expect("event");
        assert_eq!(e.error_code, "11200");
        assert_eq!(e.category, Category::Config);
        assert_eq!(e.severity, Severity::Critical);
        assert_eq!(e.resource_type, "alert");
        assert_eq!(e.resource_id, "NO1");
        assert_eq!(
            e.context,
            "Bad Gateway (HTTP 502) at https://hooks.example.com/sms on SM42"
        );
        let mut warning = a.clone();
        warning.log_level = Some("warning".into());
        warning.error_code = Some("13227".into());
        warning.alert_text = None;
        warning.request_url = None;
        let e = alert_event(&warning, day()).expect("event");
        assert_eq!(e.severity, Severity::Warning, "capped by the alert's level");
        assert!(e.context.starts_with("Geo Permission"), "{}", e.context);
        let mut outside = a;
        outside.date_generated = Some("2026-11-26T00:00:00Z".into());
        assert!(alert_event(&outside, day()).is_none());
    }

    #[test]
    fn masking_phones() {
        assert_eq!(mask_phone("+14155550100"), "+1415***0100");
        assert_eq!(mask_phone("whatsapp:+14155550100"), "whatsapp:+1415***0100");
        assert_eq!(mask_phone("+4477009"), "+4***7009");
        assert_eq!(mask_phone("12345"), "***");
        assert_eq!(mask_phone("client:alice"), "client:***");
        assert_eq!(mask_phone(""), "***");
    }

    #[test]
    fn plans_cover_the_window_newest_first() {
        let w = TimeWindow {
            since: ts("2026-11-18T10:00:00Z"),
            until: ts("2026-11-25T10:00:00Z"),
        };
        let plan7 = plan(w, 7).expect("plan");
        assert_eq!(plan7.len(), 7);
        assert_eq!(plan7[0].end, w.until);
        assert_eq!(plan7[6].start, w.since);
        for pair in plan7.windows(2) {
            assert_eq!(pair[1].end, pair[0].start);
        }
        let short_span = TimeWindow {
            since: ts("2026-11-25T10:00:00Z"),
            until: ts("2026-11-25T10:05:00Z"),
        };
        assert_eq!(
            plan(short_span, 128).expect("plan").len(),
            5,
            "at least a minute each"
        );
        let empty = TimeWindow {
            since: w.until,
            until: w.until,
        };
        assert!(plan(empty, 4).expect("plan").is_empty());
        let reversed = TimeWindow {
            since: w.until,
            until: w.since,
        };
        assert!(plan(reversed, 4).is_err());
        assert_eq!(
            filter_time(ts("2026-11-25T10:00:00.75Z")),
            "2026-11-25T10:00:00Z"
        );
        assert_eq!(
            parse_time("Wed, 25 Nov 2026 10:00:00 +0000"),
            Some(ts("2026-11-25T10:00:00Z"))
        );
        assert_eq!(
            parse_time("2026-11-25T10:00:00Z"),
            Some(ts("2026-11-25T10:00:00Z"))
        );
        assert_eq!(parse_time(""), None);
    }
}
