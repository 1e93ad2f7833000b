//! Failures in webhook payloads, as [`ErrorEvent`]s: Twilio status callbacks, Stripe events and
//! OpenAI events (Standard Webhooks). The receiver stores every verified payload; these pure
//! functions say which of them are failures and normalize them exactly like the error scans
//! do (same codes, classification and context rules, no personal data).

use apiops_core::ErrorEvent;
use jiff::Timestamp;

use crate::openai::classify::{BATCH_EXPIRED, BATCH_FAILED, FINE_TUNING_FAILED};
use crate::stripe::FAILURE_EVENT_TYPES;
use crate::stripe::client::{Event, FailureObject};

/// The failure a Twilio status callback reports, if any: a message `failed` or `undelivered`
/// (with its `ErrorCode`), or a call `failed`. `received` stands for its time (callbacks carry
/// none).
pub fn twilio_callback_failure(
    params: &[(String, String)],
    received: Timestamp,
) -> Option<ErrorEvent> {
    let get = |k: &str| {
        params
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    if let Some(status) = get("MessageStatus").or_else(|| get("SmsStatus")) {
        let status = status.to_ascii_lowercase();
        if status != "failed" && status != "undelivered" {
            return None;
        }
        let sid = get("MessageSid").or_else(|| get("SmsSid")).unwrap_or("");
        let code = get("ErrorCode")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("message_{status}"));
        let what = crate::twilio::classify::message_for(&code).unwrap_or(status.as_str());
        let context = match get("To") {
            Some(to) => format!(
                "{status} to {} (status callback): {what}",
                crate::twilio::errors::mask_phone(to)
            ),
            None => format!("{status} (status callback): {what}"),
        };
        return Some(crate::twilio::errors::event(
            received, code, "message", sid, context, None,
        ));
    }
    let status = get("CallStatus")?.to_ascii_lowercase();
    if status != "failed" {
        return None;
    }
    let sid = get("CallSid").unwrap_or("");
    let code = get("ErrorCode")
        .map(str::to_owned)
        .unwrap_or_else(|| crate::twilio::classify::CALL_FAILED.to_owned());
    let context = match get("To") {
        Some(to) => format!(
            "call to {} failed (status callback)",
            crate::twilio::errors::mask_phone(to)
        ),
        None => "call failed (status callback)".to_owned(),
    };
    Some(crate::twilio::errors::event(
        received, code, "call", sid, context, None,
    ))
}

/// The failure a Monitor alert reports (as the reconciler stores it: the alert's JSON from
/// `GET /v1/Alerts`).
pub fn twilio_alert_failure(payload: &str) -> Option<ErrorEvent> {
    let alert: crate::twilio::client::Alert = serde_json::from_str(payload).ok()?;
    let all = apiops_client::windows::Window {
        start: Timestamp::MIN,
        end: Timestamp::MAX,
    };
    crate::twilio::errors::alert_event(&alert, all)
}

/// The failure a Stripe event reports, if it is one of [`FAILURE_EVENT_TYPES`].
pub fn stripe_event_failure(payload: &str) -> Option<ErrorEvent> {
    let event: Event<FailureObject> = serde_json::from_str(payload).ok()?;
    if !FAILURE_EVENT_TYPES.contains(&event.kind.as_str()) {
        return None;
    }
    crate::stripe::errors::normalize_failure(&event)
}

/// The failure an OpenAI webhook event reports: `batch.failed`, `batch.expired`,
/// `fine_tuning.job.failed`, or any other `*.failed` (`eval.run.failed`, `response.failed`).
pub fn openai_event_failure(payload: &str, received: Timestamp) -> Option<ErrorEvent> {
    let v: serde_json::Value = serde_json::from_str(payload).ok()?;
    let kind = v["type"].as_str()?;
    let id = v["data"]["id"].as_str().unwrap_or("");
    let at = v["created_at"]
        .as_i64()
        .and_then(|s| Timestamp::from_second(s).ok())
        .unwrap_or(received);
    let (code, resource) = match kind {
        "batch.failed" => (BATCH_FAILED.to_owned(), "batch"),
        "batch.expired" => (BATCH_EXPIRED.to_owned(), "batch"),
        "fine_tuning.job.failed" => (FINE_TUNING_FAILED.to_owned(), "fine_tuning_job"),
        k if k.ends_with(".failed") || k.ends_with(".incomplete") => {
            (k.replace('.', "_"), k.split('.').next().unwrap_or("object"))
        }
        _ => return None,
    };
    let context = format!("{kind} (webhook) for {resource} {id}");
    Some(crate::openai::errors::event(
        &code, at, resource, id, &context,
    ))
}

#[cfg(test)]
mod tests {
    use apiops_core::{Category, Service};

    use super::*;

    fn form(s: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(s.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    fn now() -> Timestamp {
        "2026-11-26T02:00:00Z".parse().expect("ts")
    }

    #[test]
    fn twilio_failed_and_undelivered_callbacks_are_failures_others_are_not() {
        let e = twilio_callback_failure(
            &form("MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30007&To=%2B14155550100"),
            now(),
        )
        .expect("failure");
        assert_eq!(e.service, Service::Twilio);
        assert_eq!(e.error_code, "30007");
        assert_eq!(e.category, Category::SpamBlocked);
        assert_eq!(e.resource_id, "SM1");
        assert!(!e.context.contains("4155550100"), "{}", e.context);
        assert_eq!(e.timestamp, now());
        assert!(
            twilio_callback_failure(&form("MessageSid=SM1&MessageStatus=delivered"), now())
                .is_none()
        );
        let call =
            twilio_callback_failure(&form("CallSid=CA1&CallStatus=failed"), now()).expect("call");
        assert_eq!(call.resource_type, "call");
        assert!(
            twilio_callback_failure(&form("CallSid=CA1&CallStatus=completed"), now()).is_none()
        );
        assert!(twilio_callback_failure(&form("garbage"), now()).is_none());
    }

    #[test]
    fn monitor_alerts_are_failures() {
        let alert = r#"{"sid":"NO1","error_code":"11200","log_level":"error","date_created":"2026-11-26T01:00:00Z","alert_text":"Msg=HTTP+retrieval+failure&httpResponse=502","resource_sid":"SM1"}"#;
        let e = twilio_alert_failure(alert).expect("failure");
        assert_eq!(e.error_code, "11200");
        assert!(e.context.contains("502"), "{}", e.context);
        assert!(twilio_alert_failure("nope").is_none());
    }

    #[test]
    fn stripe_failure_events_are_failures_others_are_not() {
        let failed = r#"{"id":"evt_1","object":"event","created":1764100000,"type":"charge.failed","livemode":false,"pending_webhooks":1,
            "data":{"object":{"id":"ch_1","object":"charge","amount":500,"currency":"usd","failure_code":"card_declined","outcome":{"reason":"insufficient_funds","type":"issuer_declined"}}}}"#;
        let e = stripe_event_failure(failed).expect("failure");
        assert_eq!(e.service, Service::Stripe);
        assert_eq!(e.resource_id, "ch_1");
        let ok = r#"{"id":"evt_2","object":"event","created":1764100000,"type":"charge.succeeded","data":{"object":{"id":"ch_2","object":"charge"}}}"#;
        assert!(stripe_event_failure(ok).is_none());
        assert!(stripe_event_failure("{not json").is_none());
    }

    #[test]
    fn openai_failed_events_are_failures_others_are_not() {
        let e = openai_event_failure(
            r#"{"id":"evt_1","object":"event","created_at":1764100000,"type":"batch.failed","data":{"id":"batch_1"}}"#,
            now(),
        )
        .expect("failure");
        assert_eq!(e.error_code, BATCH_FAILED);
        assert_eq!(e.resource_id, "batch_1");
        assert!(
            openai_event_failure(r#"{"type":"batch.completed","data":{"id":"b"}}"#, now())
                .is_none()
        );
        assert!(openai_event_failure("[]", now()).is_none());
    }
}
