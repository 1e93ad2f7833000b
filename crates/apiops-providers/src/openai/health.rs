//! OpenAI's health: one authenticated `GET /models` (no tokens, no cost — never a completion)
//! verifies the key and reports the model count, the rate-limit headroom the response's
//! `x-ratelimit-*` headers announce, the deprecated models still listed, the breaker state and
//! any deprecation signal; with an admin key, `GET /organization/projects?limit=1` confirms it.
//!
//! Failures become a verdict ([`verdict`], pure): a rejected key or exhausted credits
//! (`insufficient_quota`) are `down`, throttling is `degraded`, no answer or a 5xx after
//! retries is `down`, and so is an answer apiops cannot read. Reasons name OpenAI's code and what to do, never OpenAI's message (it
//! echoes part of the key on 401s). A rejected admin key leaves the service `degraded`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use apiops_client::ClientError;
use apiops_client::breaker::BreakerState;
use apiops_client::rate::RateLimitSnapshot;
use apiops_core::{Category, Health, HealthStatus, Service};

use super::OpenAi;
use super::audit::deprecated_in;
use super::classify::classify_api_error;
use super::client::api_error;

/// Headroom under which health warns.
const LOW_HEADROOM: f64 = 0.10;

/// Checks OpenAI's health with `GET /models` (and the admin key when one is set).
pub(crate) async fn check(openai: &OpenAi) -> Health {
    let client = openai.client();
    let started = Instant::now();
    let result = client.models().await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let api = client.api();

    let mut details = BTreeMap::new();
    details.insert("reads".to_owned(), crate::wire::reads_detail(api));
    let mut warnings: Vec<String> = api.deprecations().iter().map(|d| d.message()).collect();
    let (mut status, mut reason, mut category) = match &result {
        Ok(models) => {
            details.insert("models".to_owned(), models.data.len().to_string());
            let deprecated = deprecated_in(&models.data);
            if !deprecated.is_empty() {
                let mut names: Vec<&str> = deprecated.iter().map(|d| d.id.as_str()).collect();
                names.truncate(8);
                let more = deprecated.len().saturating_sub(names.len());
                let mut listed = format!("{} ({}", deprecated.len(), names.join(", "));
                if more > 0 {
                    listed.push_str(&format!(", {more} more"));
                }
                listed.push(')');
                details.insert("deprecated_models_listed".to_owned(), listed);
            }
            (HealthStatus::Operational, None, None)
        }
        Err(e) => {
            let (s, r) = verdict(e);
            (s, Some(r), Some(e.category()))
        }
    };

    let snapshot = api.rate_gate().last_snapshot();
    let (headroom, low) = headroom_details(&snapshot);
    details.extend(headroom);
    if result.is_ok() {
        if let Some(w) = low {
            warnings.push(w);
        }
        if snapshot.remaining_requests == Some(0) || snapshot.remaining_tokens == Some(0) {
            status = HealthStatus::Degraded;
            reason = Some("the rate limit is exhausted until its reset".to_owned());
            category = Some(apiops_core::Category::RateLimit);
        }
    }
    if let Some(paused) = api.rate_gate().paused_for() {
        details.insert("paused_for".to_owned(), format!("{}ms", paused.as_millis()));
    }

    let breaker = api.breaker_state();
    details.insert("breaker".to_owned(), breaker.as_str().to_owned());
    if status == HealthStatus::Operational && breaker != BreakerState::Closed {
        status = HealthStatus::Degraded;
        reason = Some(format!(
            "the circuit breaker is {}: recent requests to OpenAI failed",
            breaker.as_str()
        ));
        category = Some(apiops_core::Category::Transient);
    }

    match openai.admin_client() {
        None => {
            details.insert("admin_key".to_owned(), "not set".to_owned());
        }
        Some(admin) => match admin.first_project().await {
            Ok(_) => {
                details.insert("admin_key".to_owned(), "ok".to_owned());
            }
            Err(e) => {
                let (_, why) = verdict(&e);
                details.insert("admin_key".to_owned(), "rejected".to_owned());
                warnings.push(format!("admin key: {why}"));
                if status == HealthStatus::Operational {
                    status = HealthStatus::Degraded;
                    reason = Some(format!("the admin key does not work: {why}"));
                    category = Some(e.category());
                }
            }
        },
    }
    if let Some(org) = openai.organization() {
        details.insert("organization".to_owned(), org.to_owned());
    }
    if let Some(project) = openai.project() {
        details.insert("project".to_owned(), project.to_owned());
    }
    Health {
        service: Service::Openai,
        status,
        latency_ms: Some(latency_ms),
        details,
        warnings,
        reason,
        category,
    }
}

/// Details from the last rate-limit headers, and a warning when headroom is low.
pub(crate) fn headroom_details(
    s: &RateLimitSnapshot,
) -> (BTreeMap<String, String>, Option<String>) {
    let mut out = BTreeMap::new();
    let mut low = Vec::new();
    let rows = [
        (
            "requests",
            s.remaining_requests,
            s.limit_requests,
            s.request_headroom(),
            s.reset_requests,
        ),
        (
            "tokens",
            s.remaining_tokens,
            s.limit_tokens,
            s.token_headroom(),
            s.reset_tokens,
        ),
    ];
    for (name, remaining, limit, share, reset) in rows {
        let (Some(remaining), Some(limit), Some(share)) = (remaining, limit, share) else {
            continue;
        };
        let mut text = format!(
            "{:.1}% ({remaining} of {limit} per minute left)",
            share * 100.0
        );
        if let Some(r) = reset {
            text.push_str(&format!(", resets in {}", human(r)));
        }
        out.insert(format!("{name}_headroom"), text);
        if share < LOW_HEADROOM {
            low.push(format!("{name} {:.1}%", share * 100.0));
        }
    }
    let warning =
        (!low.is_empty()).then(|| format!("rate-limit headroom is low: {}", low.join(", ")));
    (out, warning)
}

fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// The health verdict for a failed probe: status and a reason naming OpenAI's code and what
/// to do, without OpenAI's message.
pub(crate) fn verdict(err: &ClientError) -> (HealthStatus, String) {
    match err {
        ClientError::Status { status, .. } => {
            let status = *status;
            let openai = api_error(err).unwrap_or_default();
            let (code, class) = classify_api_error(&openai, status);
            let health = match class.category {
                Category::Auth | Category::Config => HealthStatus::Down,
                Category::RateLimit => HealthStatus::Degraded,
                _ if status >= 500 => HealthStatus::Down,
                _ if status == 401 || status == 403 => HealthStatus::Down,
                _ => HealthStatus::Degraded,
            };
            (
                health,
                format!("HTTP {status} {code}: {}", class.remediation),
            )
        }
        other => crate::wire::unanswered("OpenAI", other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, body: &str) -> ClientError {
        crate::wire::status_error("api.openai.com/v1/models", code, body)
    }

    #[test]
    fn verdicts_table() {
        let bad_key = status(
            401,
            r#"{"error":{"message":"Incorrect API key provided: sk-sim-****abcd.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
        );
        let (s, r) = verdict(&bad_key);
        assert_eq!(s, HealthStatus::Down);
        assert!(r.contains("401 invalid_api_key"), "{r}");
        assert!(!r.contains("sk-sim"), "{r}");
        let quota = status(
            429,
            r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
        );
        assert_eq!(verdict(&quota).0, HealthStatus::Down);
        let limited = status(
            429,
            r#"{"error":{"message":"slow down","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
        );
        assert_eq!(verdict(&limited).0, HealthStatus::Degraded);
        let region = status(
            403,
            r#"{"error":{"message":"no","type":"request_forbidden","param":null,"code":"unsupported_country_region_territory"}}"#,
        );
        assert_eq!(verdict(&region).0, HealthStatus::Down);
        let server = status(
            503,
            r#"{"error":{"message":"x","type":"server_error","param":null,"code":null}}"#,
        );
        assert_eq!(verdict(&server).0, HealthStatus::Down);
        let html = status(502, "<html>");
        assert_eq!(verdict(&html).0, HealthStatus::Down);
    }

    #[test]
    fn headroom_from_headers() {
        let snap = RateLimitSnapshot {
            limit_requests: Some(10_000),
            remaining_requests: Some(9_999),
            reset_requests: Some(Duration::from_millis(6)),
            limit_tokens: Some(2_000_000),
            remaining_tokens: Some(100_000),
            reset_tokens: Some(Duration::from_secs(12)),
            concurrent_requests: None,
        };
        let (d, warning) = headroom_details(&snap);
        assert_eq!(
            d["requests_headroom"],
            "100.0% (9999 of 10000 per minute left), resets in 6ms"
        );
        assert!(
            d["tokens_headroom"].starts_with("5.0%"),
            "{}",
            d["tokens_headroom"]
        );
        assert_eq!(
            warning.as_deref(),
            Some("rate-limit headroom is low: tokens 5.0%")
        );
        let (d, warning) = headroom_details(&RateLimitSnapshot::default());
        assert!(d.is_empty() && warning.is_none());
    }
}
