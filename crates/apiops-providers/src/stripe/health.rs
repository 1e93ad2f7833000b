//! Stripe's health: one authenticated `GET /v1/balance` (no side effects, no cost) verifies the
//! key and reports the balance, plus what needs no call at all — the key's mode and kind, the
//! pinned API version, the breaker state and any deprecation the client has seen.
//!
//! Failures become a verdict, never an error ([`verdict`], pure): rejected credentials are
//! `down` with a reason naming Stripe's error code or type and what to do — never Stripe's
//! message, which echoes part of the key; throttling is `degraded`; no answer or a 5xx after
//! retries is `down`, and so is an answer apiops cannot read. A restricted key that lacks permission to read the balance is
//! `degraded`: the key works, the probe cannot tell more.

use std::collections::BTreeMap;
use std::time::Instant;

use apiops_client::ClientError;
use apiops_client::breaker::BreakerState;
use apiops_core::{Health, HealthStatus, Service};

use super::classify::classify_api_error;
use super::client::{Balance, api_error};
use super::errors::format_amount;
use super::{KeyKind, Stripe};

/// Checks Stripe's health with one `GET /v1/balance`.
pub(crate) async fn check(stripe: &Stripe) -> Health {
    let started = Instant::now();
    let result = stripe.client().balance().await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let kind = stripe.key_kind();
    let api = stripe.client().api();

    let mut details = BTreeMap::new();
    details.insert("mode".to_owned(), kind.mode().to_owned());
    details.insert("key_type".to_owned(), kind.label().to_owned());
    details.insert("api_version".to_owned(), stripe.api_version().to_owned());
    let breaker = api.breaker_state();
    details.insert("breaker".to_owned(), breaker.as_str().to_owned());
    details.insert("reads".to_owned(), crate::wire::reads_detail(api));
    let mut warnings: Vec<String> = api.deprecations().iter().map(|d| d.message()).collect();

    let (status, reason, category) = match &result {
        Ok(balance) => {
            details.insert("available".to_owned(), amounts(&balance.available));
            details.insert("pending".to_owned(), amounts(&balance.pending));
            warnings.extend(mode_mismatch(kind, balance));
            match breaker {
                BreakerState::Closed => (HealthStatus::Operational, None, None),
                other => (
                    HealthStatus::Degraded,
                    Some(format!(
                        "the circuit breaker is {}: recent requests to Stripe failed",
                        other.as_str()
                    )),
                    Some(apiops_core::Category::Transient),
                ),
            }
        }
        Err(e) => {
            let (status, reason) = verdict(e, kind);
            (status, Some(reason), Some(e.category()))
        }
    };
    Health {
        service: Service::Stripe,
        status,
        latency_ms: Some(latency_ms),
        details,
        warnings,
        reason,
        category,
    }
}

/// `12.34 USD, 5.00 EUR`; `none` when empty.
fn amounts(list: &[super::client::BalanceAmount]) -> String {
    if list.is_empty() {
        return "none".to_owned();
    }
    list.iter()
        .map(|a| format_amount(a.amount, &a.currency))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A warning when the key's prefix and the balance disagree about live mode.
fn mode_mismatch(kind: KeyKind, balance: &Balance) -> Option<String> {
    let live_key = match kind.mode() {
        "live" => true,
        "test" => false,
        _ => return None,
    };
    (live_key != balance.livemode).then(|| {
        format!(
            "the key looks like a {} key but Stripe answered in {} mode",
            kind.mode(),
            if balance.livemode { "live" } else { "test" }
        )
    })
}

/// The health verdict for a failed probe: status and a reason that names Stripe's code and
/// what to do, and never includes Stripe's message (it echoes part of the key on 401s).
pub(crate) fn verdict(err: &ClientError, kind: KeyKind) -> (HealthStatus, String) {
    match err {
        ClientError::Status { status, .. } => {
            let status = *status;
            let stripe = api_error(err).unwrap_or_default();
            let (code, class) = classify_api_error(&stripe, status);
            let health = match status {
                403 if kind.is_restricted() => HealthStatus::Degraded,
                401 | 403 => HealthStatus::Down,
                429 => HealthStatus::Degraded,
                s if s >= 500 => HealthStatus::Down,
                _ => HealthStatus::Degraded,
            };
            let advice = if status == 403 && kind.is_restricted() {
                "the restricted key may not read the balance: grant it Balance read access in the Dashboard, or use a secret key".to_owned()
            } else {
                class.remediation
            };
            (health, format!("HTTP {status} {code}: {advice}"))
        }
        other => crate::wire::unanswered("Stripe", other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, body: &str) -> ClientError {
        crate::wire::status_error("api.stripe.com/v1/balance", code, body)
    }

    #[test]
    fn verdicts_table() {
        let auth = status(
            401,
            r#"{"error":{"type":"invalid_request_error","code":"api_key_invalid","message":"Invalid API Key provided: sk_test_****abcd"}}"#,
        );
        let (s, reason) = verdict(&auth, KeyKind::SecretTest);
        assert_eq!(s, HealthStatus::Down);
        assert!(reason.contains("401 api_key_invalid"), "{reason}");
        assert!(!reason.contains("sk_test"), "{reason}");
        let expired = status(
            401,
            r#"{"error":{"type":"invalid_request_error","code":"api_key_expired"}}"#,
        );
        let (s, reason) = verdict(&expired, KeyKind::SecretLive);
        assert_eq!(s, HealthStatus::Down);
        assert!(reason.contains("roll a new key"), "{reason}");
        let limited = status(
            429,
            r#"{"error":{"type":"invalid_request_error","code":"rate_limit"}}"#,
        );
        assert_eq!(
            verdict(&limited, KeyKind::SecretTest).0,
            HealthStatus::Degraded
        );
        let server = status(500, r#"{"error":{"type":"api_error"}}"#);
        assert_eq!(verdict(&server, KeyKind::SecretTest).0, HealthStatus::Down);
        let forbidden = status(403, r#"{"error":{"type":"invalid_request_error"}}"#);
        assert_eq!(
            verdict(&forbidden, KeyKind::RestrictedLive).0,
            HealthStatus::Degraded
        );
        assert_eq!(
            verdict(&forbidden, KeyKind::SecretLive).0,
            HealthStatus::Down
        );
        let html = status(502, "<html>");
        let (s, reason) = verdict(&html, KeyKind::SecretTest);
        assert_eq!(s, HealthStatus::Down);
        assert!(reason.starts_with("HTTP 502"), "{reason}");
        let decode = ClientError::Decode {
            method: "GET".into(),
            target: "x".into(),
            reason: "EOF".into(),
        };
        assert_eq!(verdict(&decode, KeyKind::SecretTest).0, HealthStatus::Down);
    }

    #[test]
    fn mode_mismatch_is_flagged() {
        let balance = |livemode| Balance {
            available: vec![],
            pending: vec![],
            livemode,
        };
        assert!(mode_mismatch(KeyKind::SecretLive, &balance(false)).is_some());
        assert!(mode_mismatch(KeyKind::SecretTest, &balance(false)).is_none());
        assert!(mode_mismatch(KeyKind::Unknown, &balance(true)).is_none());
    }
}
