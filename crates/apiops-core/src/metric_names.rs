//! The name of every metric series apiops records, in one place: the crates that record them
//! (`apiops-client`, `apiops-webhooks`, the binary), the `/metrics` descriptions and the
//! dashboard's live figures all use these constants, so a series cannot be renamed in one place
//! and read under its old name in another. The names are a public interface (dashboards and
//! alerting rules parse them): change one only on purpose.
//!
//! What each series means, its type and its labels are described where the recorder is
//! installed (`apiops-dashboard/src/metrics.rs`); this module holds only the names.

// The HTTP client (`apiops-client`).

/// Logical API requests by client and status.
pub const HTTP_REQUESTS_TOTAL: &str = "apiops_http_requests_total";
/// Latency of a logical API request, by client.
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "apiops_http_request_duration_seconds";
/// Retries sent, by client.
pub const HTTP_RETRIES_TOTAL: &str = "apiops_http_retries_total";
/// Hedged copies of slow reads sent, by client.
pub const HTTP_HEDGES_TOTAL: &str = "apiops_http_hedges_total";
/// Hedged copies whose answer was the one used, by client.
pub const HTTP_HEDGES_WON_TOTAL: &str = "apiops_http_hedges_won_total";
/// Retries a client's retry budget still allows, by client and budget (`general`, or `read`:
/// what reads may spend once the general budget is empty).
pub const HTTP_RETRY_BUDGET_TOKENS: &str = "apiops_http_retry_budget_tokens";
/// Remaining share of a provider's rate limit from the last response headers, by client.
pub const HTTP_RATE_LIMIT_HEADROOM_RATIO: &str = "apiops_http_rate_limit_headroom_ratio";
/// Circuit breaker state by client and host.
pub const BREAKER_OPEN: &str = "apiops_breaker_open";
/// Times a circuit breaker opened, by client and host.
pub const BREAKER_OPENED_TOTAL: &str = "apiops_breaker_opened_total";

// The webhook receiver, ingest and processor (`apiops-webhooks`).

/// Verified webhooks stored, by provider and outcome.
pub const WEBHOOKS_RECEIVED_TOTAL: &str = "apiops_webhooks_received_total";
/// Webhooks refused, by provider and reason.
pub const WEBHOOKS_REJECTED_TOTAL: &str = "apiops_webhooks_rejected_total";
/// Webhook requests being handled now.
pub const WEBHOOKS_IN_FLIGHT: &str = "apiops_webhooks_in_flight";
/// Time to answer a webhook, by provider.
pub const WEBHOOK_REQUEST_DURATION_SECONDS: &str = "apiops_webhook_request_duration_seconds";
/// Duration of one group commit of the webhook inbox.
pub const STORE_COMMIT_DURATION_SECONDS: &str = "apiops_store_commit_duration_seconds";
/// Events in one group commit of the webhook inbox.
pub const STORE_COMMIT_BATCH_SIZE: &str = "apiops_store_commit_batch_size";
/// Group commits of the webhook inbox that failed.
pub const STORE_COMMIT_FAILURES_TOTAL: &str = "apiops_store_commit_failures_total";
/// Provider failures recorded from webhooks and polls, by service, category and code.
pub const ERRORS_TOTAL: &str = "apiops_errors_total";

// `apiops serve` itself (the binary): build, accept loop, monitor, retention.

/// Always 1; the version label tells which apiops is running.
pub const BUILD_INFO: &str = "apiops_build_info";
/// Requests answered 408 by the server's request timeout, by route group.
pub const HTTP_REQUEST_TIMEOUTS_TOTAL: &str = "apiops_http_request_timeouts_total";
/// Requests shed with a 503 because their route group was at its concurrency limit.
pub const HTTP_REQUESTS_SHED_TOTAL: &str = "apiops_http_requests_shed_total";
/// Connections closed at once because the connection cap was reached.
pub const HTTP_CONNECTIONS_REFUSED_TOTAL: &str = "apiops_http_connections_refused_total";
/// Connections open now.
pub const HTTP_CONNECTIONS_OPEN: &str = "apiops_http_connections_open";
/// Scheduled checks run by this instance, by job, service and status.
pub const CHECK_RUNS_TOTAL: &str = "apiops_check_runs_total";
/// Duration of a scheduled check, by job and service.
pub const CHECK_DURATION_SECONDS: &str = "apiops_check_duration_seconds";
/// Last health check verdict by service.
pub const SERVICE_UP: &str = "apiops_service_up";
/// Lowest remaining share of a rate limit the last health check saw, by service.
pub const RATE_LIMIT_HEADROOM_RATIO: &str = "apiops_rate_limit_headroom_ratio";
/// Alerts firing now, by rule.
pub const ALERTS_FIRING: &str = "apiops_alerts_firing";
/// Automatic fixes attempted within policy, by operation and result.
pub const AUTOFIX_TOTAL: &str = "apiops_autofix_total";
/// Rows pruned by retention, by kind.
pub const RETENTION_PRUNED_TOTAL: &str = "apiops_retention_pruned_total";
/// Spend in the current period, by service, currency and period (day, week, month).
pub const USAGE_SPEND: &str = "apiops_usage_spend";
/// Daily spend averaged over the anomaly rule's trailing days, by service and currency.
pub const USAGE_DAILY_AVERAGE: &str = "apiops_usage_daily_average";
/// Spend in the budget's current period over the budget, by service, currency and period.
pub const USAGE_BUDGET_RATIO: &str = "apiops_usage_budget_ratio";

/// Every name above, for checks that each is described and spelled `apiops_...`.
pub const ALL: &[&str] = &[
    HTTP_REQUESTS_TOTAL,
    HTTP_REQUEST_DURATION_SECONDS,
    HTTP_RETRIES_TOTAL,
    HTTP_HEDGES_TOTAL,
    HTTP_HEDGES_WON_TOTAL,
    HTTP_RETRY_BUDGET_TOKENS,
    HTTP_RATE_LIMIT_HEADROOM_RATIO,
    BREAKER_OPEN,
    BREAKER_OPENED_TOTAL,
    WEBHOOKS_RECEIVED_TOTAL,
    WEBHOOKS_REJECTED_TOTAL,
    WEBHOOKS_IN_FLIGHT,
    WEBHOOK_REQUEST_DURATION_SECONDS,
    STORE_COMMIT_DURATION_SECONDS,
    STORE_COMMIT_BATCH_SIZE,
    STORE_COMMIT_FAILURES_TOTAL,
    ERRORS_TOTAL,
    BUILD_INFO,
    HTTP_REQUEST_TIMEOUTS_TOTAL,
    HTTP_REQUESTS_SHED_TOTAL,
    HTTP_CONNECTIONS_REFUSED_TOTAL,
    HTTP_CONNECTIONS_OPEN,
    CHECK_RUNS_TOTAL,
    CHECK_DURATION_SECONDS,
    SERVICE_UP,
    RATE_LIMIT_HEADROOM_RATIO,
    ALERTS_FIRING,
    AUTOFIX_TOTAL,
    RETENTION_PRUNED_TOTAL,
    USAGE_SPEND,
    USAGE_DAILY_AVERAGE,
    USAGE_BUDGET_RATIO,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_a_distinct_prometheus_name_under_apiops() {
        let mut seen = std::collections::BTreeSet::new();
        for name in ALL {
            assert!(name.starts_with("apiops_"), "{name}");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}"
            );
            assert!(seen.insert(*name), "{name} listed twice");
        }
        assert_eq!(seen.len(), 32);
    }
}
