//! Twilio's health: the credentials verified with the cheapest authenticated call (the
//! Account resource), the account's status and type, its balance, the latency of the probe,
//! the breaker of each host, concurrency headroom from `Twilio-Concurrent-Requests`, and
//! deprecation notices. Never fails: every failure becomes a `down` or `degraded` verdict with
//! a reason that holds no secret.
//!
//! The verdict is a pure function ([`verdict`]) of what the two calls returned, so each rule is
//! tested without a server.

use std::collections::BTreeMap;

use apiops_client::ClientError;
use apiops_client::breaker::BreakerState;
use apiops_core::{Category, Health, HealthStatus, Service};
use tokio::time::Instant;

use super::client::{Account, Balance, Host, TwilioClient, TwilioErrorBody};

/// Below this balance (in the account's currency) health warns.
pub(crate) const LOW_BALANCE: f64 = 5.0;

/// Requests in flight above this share of the cap earn a headroom warning.
const HEADROOM_WARNING: f64 = 0.8;

/// Probes the account and its balance and judges the result.
pub(crate) async fn check(client: &TwilioClient, notes: &[&'static str]) -> Health {
    let started = Instant::now();
    let account = client.account().await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    // The balance only means something once the credentials are known to work.
    let balance = match &account {
        Ok(_) => Some(client.balance().await),
        Err(_) => None,
    };
    let observed = Observed {
        account,
        balance,
        latency_ms,
        breakers: Host::ALL
            .iter()
            .map(|h| (h.client_name(), client.host(*h).breaker_state()))
            .collect(),
        concurrent_requests: client
            .host(Host::Api)
            .rate_gate()
            .last_snapshot()
            .concurrent_requests,
        max_concurrency: client.max_concurrency(),
        deprecations: Host::ALL
            .iter()
            .flat_map(|h| client.host(*h).deprecations())
            .map(|d| d.message())
            .collect(),
        credential: client.credential().describe(),
        account_sid: client.masked_account_sid(),
        notes: notes.iter().map(|n| (*n).to_owned()).collect(),
    };
    let mut health = verdict(observed);
    health.details.insert(
        "reads".to_owned(),
        crate::wire::reads_detail(client.host(Host::Api)),
    );
    // Reasons come from error messages the client already scrubbed; scrub once more so that no
    // path can ever leak a registered secret.
    let r = client.host(Host::Api).redactor();
    health.reason = health.reason.map(|s| r.redact(&s).into_owned());
    health.warnings = health
        .warnings
        .into_iter()
        .map(|w| r.redact(&w).into_owned())
        .collect();
    health
}

/// Everything a health verdict is made of.
#[derive(Debug)]
pub(crate) struct Observed {
    pub(crate) account: Result<Account, ClientError>,
    /// `None` when the account call failed and the balance was not asked.
    pub(crate) balance: Option<Result<Balance, ClientError>>,
    pub(crate) latency_ms: u64,
    pub(crate) breakers: Vec<(&'static str, BreakerState)>,
    pub(crate) concurrent_requests: Option<u64>,
    pub(crate) max_concurrency: usize,
    pub(crate) deprecations: Vec<String>,
    pub(crate) credential: String,
    pub(crate) account_sid: String,
    pub(crate) notes: Vec<String>,
}

/// A short description of a failed call: Twilio's code and message when it sent them.
fn describe_failure(e: &ClientError) -> String {
    match (e.status(), TwilioErrorBody::of(e)) {
        (Some(status), Some(body)) => {
            let code = body.code.unwrap_or_else(|| status.to_string());
            match body.message.filter(|m| !m.trim().is_empty()) {
                Some(m) => format!("HTTP {status}, Twilio error {code}: {}", m.trim()),
                None => format!("HTTP {status}, Twilio error {code}"),
            }
        }
        _ => e.to_string(),
    }
}

/// Judges what the probes saw.
pub(crate) fn verdict(o: Observed) -> Health {
    let mut details = BTreeMap::new();
    let mut warnings: Vec<String> = o.notes;
    details.insert("account".to_owned(), o.account_sid);
    details.insert("credential".to_owned(), o.credential);
    let mut status = HealthStatus::Operational;
    let mut reason: Option<(String, Category)> = None;
    let mut worsen =
        |s: HealthStatus, why: String, category: Category, status: &mut HealthStatus| {
            if s > *status {
                *status = s;
                reason = Some((why, category));
            }
        };

    match &o.account {
        Err(e) => {
            let body = TwilioErrorBody::of(e);
            let code = body.as_ref().and_then(|b| b.code.clone());
            let (s, why) = match e.status() {
                Some(401 | 403) => (
                    HealthStatus::Down,
                    format!(
                        "credentials rejected ({})",
                        code.unwrap_or_else(|| "20003".to_owned())
                    ),
                ),
                Some(429) => (
                    HealthStatus::Degraded,
                    format!(
                        "rate limited ({}): too many concurrent requests; credentials not verified",
                        code.unwrap_or_else(|| "20429".to_owned())
                    ),
                ),
                Some(404) => (
                    HealthStatus::Down,
                    format!("account not found: {}", describe_failure(e)),
                ),
                _ => (
                    HealthStatus::Down,
                    format!("account check failed: {}", describe_failure(e)),
                ),
            };
            worsen(s, why, e.category(), &mut status);
        }
        Ok(account) => {
            let state = account
                .status
                .as_deref()
                .unwrap_or("unknown")
                .to_ascii_lowercase();
            details.insert("account_status".to_owned(), state.clone());
            if let Some(kind) = &account.kind {
                details.insert("account_type".to_owned(), kind.clone());
                if kind.eq_ignore_ascii_case("trial") {
                    warnings.push(
                        "trial account: messages go only to verified numbers and carry a trial prefix"
                            .to_owned(),
                    );
                }
            }
            match state.as_str() {
                "active" => {}
                "suspended" | "closed" => worsen(
                    HealthStatus::Down,
                    format!("account is {state} (Twilio error 10001/30002 until it is active)"),
                    Category::Config,
                    &mut status,
                ),
                other => worsen(
                    HealthStatus::Degraded,
                    format!("account status is {other:?}, not active"),
                    Category::Config,
                    &mut status,
                ),
            }
        }
    }

    match &o.balance {
        None => {}
        Some(Ok(b)) => {
            let currency = b.currency.clone().unwrap_or_default();
            if let Some(text) = &b.balance {
                details.insert("balance".to_owned(), text.clone());
                if let Ok(value) = text.trim().parse::<f64>()
                    && value < LOW_BALANCE
                {
                    warnings.push(format!(
                        "low balance: {} {currency}; sending stops at zero (10001)",
                        text.trim()
                    ));
                }
            }
            if !currency.is_empty() {
                details.insert("currency".to_owned(), currency);
            }
        }
        Some(Err(e)) if e.is_transient() => worsen(
            HealthStatus::Degraded,
            format!("balance check failed: {}", describe_failure(e)),
            e.category(),
            &mut status,
        ),
        // Subaccounts and restricted API keys may not read the balance: worth knowing only.
        Some(Err(e)) => warnings.push(format!("balance unavailable: {}", describe_failure(e))),
    }

    for (name, state) in &o.breakers {
        details.insert(format!("breaker.{name}"), state.as_str().to_owned());
        if *state != BreakerState::Closed {
            worsen(
                HealthStatus::Degraded,
                format!(
                    "circuit breaker for {name} is {}: too many recent failures",
                    state.as_str()
                ),
                Category::Transient,
                &mut status,
            );
        }
    }

    details.insert("max_concurrency".to_owned(), o.max_concurrency.to_string());
    if let Some(in_flight) = o.concurrent_requests {
        details.insert("concurrent_requests".to_owned(), in_flight.to_string());
        let cap = o.max_concurrency.max(1) as f64;
        let used = in_flight as f64 / cap;
        details.insert(
            "concurrency_headroom".to_owned(),
            format!("{:.0}%", ((1.0 - used) * 100.0).max(0.0)),
        );
        if used >= HEADROOM_WARNING {
            warnings.push(format!(
                "{in_flight} requests in flight against a cap of {}: little concurrency headroom left",
                o.max_concurrency
            ));
        }
    }

    warnings.extend(o.deprecations);
    Health {
        service: Service::Twilio,
        status,
        latency_ms: Some(o.latency_ms),
        details,
        warnings,
        category: reason.as_ref().map(|(_, c)| *c),
        reason: reason.map(|(r, _)| r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(status: &str, kind: &str) -> Account {
        serde_json::from_value(serde_json::json!({"sid": "AC1", "status": status, "type": kind}))
            .expect("account")
    }

    fn balance(value: &str) -> Balance {
        serde_json::from_value(serde_json::json!({"balance": value, "currency": "USD"}))
            .expect("balance")
    }

    fn status_error(status: u16, body: &str) -> ClientError {
        ClientError::Status {
            method: "GET".into(),
            target: "api.twilio.com/2010-04-01/Accounts/AC01...cdef.json".into(),
            status,
            body: body.into(),
            retry_after: None,
        }
    }

    fn observed(account: Result<Account, ClientError>) -> Observed {
        let ok = account.is_ok();
        Observed {
            account,
            balance: ok.then(|| Ok(balance("42.10"))),
            latency_ms: 12,
            breakers: vec![("twilio.api", BreakerState::Closed)],
            concurrent_requests: Some(3),
            max_concurrency: 100,
            deprecations: vec![],
            credential: "auth token".into(),
            account_sid: "AC01...cdef".into(),
            notes: vec![],
        }
    }

    #[test]
    fn an_active_full_account_is_operational_with_its_details() {
        let h = verdict(observed(Ok(account("active", "Full"))));
        assert_eq!(h.status, HealthStatus::Operational);
        assert_eq!(h.reason, None);
        assert!(h.warnings.is_empty(), "{:?}", h.warnings);
        assert_eq!(h.details["balance"], "42.10");
        assert_eq!(h.details["currency"], "USD");
        assert_eq!(h.details["account_type"], "Full");
        assert_eq!(h.details["concurrency_headroom"], "97%");
        assert_eq!(h.details["breaker.twilio.api"], "closed");
        assert_eq!(h.latency_ms, Some(12));
    }

    #[test]
    fn account_states_and_types() {
        for (state, want) in [
            ("suspended", HealthStatus::Down),
            ("closed", HealthStatus::Down),
            ("weird", HealthStatus::Degraded),
        ] {
            let h = verdict(observed(Ok(account(state, "Full"))));
            assert_eq!(h.status, want, "{state}");
            assert!(h.reason.expect("reason").contains(state));
        }
        let h = verdict(observed(Ok(account("active", "Trial"))));
        assert_eq!(h.status, HealthStatus::Operational);
        assert!(h.warnings.iter().any(|w| w.contains("trial")));
    }

    #[test]
    fn rejected_credentials_are_down_with_the_code_only() {
        let body = r#"{"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}"#;
        let h = verdict(observed(Err(status_error(401, body))));
        assert_eq!(h.status, HealthStatus::Down);
        assert_eq!(h.reason.as_deref(), Some("credentials rejected (20003)"));
        assert!(!h.details.contains_key("balance"));
        let h = verdict(observed(Err(status_error(401, "not json"))));
        assert_eq!(h.reason.as_deref(), Some("credentials rejected (20003)"));
    }

    #[test]
    fn failures_of_the_network_or_the_provider() {
        let h = verdict(observed(Err(status_error(
            500,
            r#"{"code": 20500, "message": "An internal server error has occurred", "status": 500}"#,
        ))));
        assert_eq!(h.status, HealthStatus::Down);
        let reason = h.reason.expect("reason");
        assert!(
            reason.contains("20500") && reason.contains("HTTP 500"),
            "{reason}"
        );
        let transport = ClientError::Transport {
            method: "GET".into(),
            target: "127.0.0.1:9/x".into(),
            kind: apiops_client::TransportKind::Connect,
            message: "connection refused".into(),
        };
        let h = verdict(observed(Err(transport)));
        assert_eq!(h.status, HealthStatus::Down);
        assert!(h.reason.expect("reason").contains("connection refused"));
        let h = verdict(observed(Err(status_error(
            429,
            r#"{"code": 20429, "message": "Too Many Requests", "status": 429}"#,
        ))));
        assert_eq!(h.status, HealthStatus::Degraded);
        assert!(h.reason.expect("reason").contains("20429"));
    }

    #[test]
    fn balance_breakers_headroom_and_deprecations() {
        let mut o = observed(Ok(account("active", "Full")));
        o.balance = Some(Ok(balance("3.20")));
        o.concurrent_requests = Some(90);
        o.breakers.push(("twilio.monitor", BreakerState::Open));
        o.deprecations = vec!["api.twilio.com/x is deprecated".into()];
        let h = verdict(o);
        assert_eq!(h.status, HealthStatus::Degraded);
        assert!(h.reason.expect("reason").contains("twilio.monitor"));
        assert!(
            h.warnings
                .iter()
                .any(|w| w.contains("low balance: 3.20 USD"))
        );
        assert!(h.warnings.iter().any(|w| w.contains("headroom")));
        assert!(h.warnings.iter().any(|w| w.contains("deprecated")));

        let mut o = observed(Ok(account("active", "Full")));
        o.balance = Some(Err(status_error(503, "")));
        assert_eq!(verdict(o).status, HealthStatus::Degraded);
        let mut o = observed(Ok(account("active", "Full")));
        o.balance = Some(Err(status_error(
            403,
            r#"{"code": 20003, "message": "Permission denied"}"#,
        )));
        let h = verdict(o);
        assert_eq!(h.status, HealthStatus::Operational);
        assert!(h.warnings.iter().any(|w| w.contains("balance unavailable")));
    }
}
