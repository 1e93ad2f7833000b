//! Wiring of `apiops serve`'s background work into the binary: `[monitor]` and `[retention]`
//! mapped onto the plain configurations of `apiops_monitor`, and the providers, policy and
//! secrets it needs taken from the settings. The monitor itself (schedule, alert rules, sinks,
//! auto-fix) and retention are in the `apiops-monitor` crate.

use std::sync::Arc;

use apiops_client::redact::Redactor;
use apiops_monitor::{Clock, Monitor, MonitorConfig, RetentionConfig};
use apiops_store::Store;
use apiops_webhooks::receiver::ReceiverMetrics;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::commands::checks;
use crate::config::Settings;
use crate::config::settings::{MonitorSettings, RetentionSettings};

/// `[monitor]` as the monitor's configuration.
pub(crate) fn config(m: &MonitorSettings) -> MonitorConfig {
    MonitorConfig {
        enabled: m.enabled,
        health_every: m.health_every,
        errors_every: m.errors_every,
        audit_every: m.audit_every,
        usage_every: m.usage_every,
        budgets: m.budgets.clone(),
        usage_anomaly_factor: m.usage_anomaly_factor,
        usage_anomaly_days: m.usage_anomaly_days,
        usage_anomaly_min_spend: m.usage_anomaly_min_spend,
        down_after: m.down_after,
        degraded_after: m.degraded_after,
        error_thresholds: m.error_thresholds.clone(),
        headroom_below_percent: m.headroom_below_percent,
        balance_floor: m.balance_floor,
        signature_rejects: m.signature_rejects,
        signature_window: m.signature_window,
        deprecations: m.deprecations,
        endpoint_disabled: m.endpoint_disabled,
        probe_webhooks: m.probe_webhooks,
        log_alerts: m.log_alerts,
        webhook_urls: m.webhook_urls.clone(),
        slack_urls: m.slack_urls.clone(),
        allow_private_sinks: m.allow_private_sinks,
        sink_attempts: m.sink_attempts,
        sink_backoff: m.sink_backoff,
        rate_limit_backoff: m.rate_limit_backoff,
    }
}

/// `[retention]` as retention's configuration.
pub(crate) fn retention_config(r: &RetentionSettings) -> RetentionConfig {
    RetentionConfig {
        payloads: r.payloads,
        events: r.events,
        batch: r.batch,
    }
}

/// What the monitor redacts: every configured secret, each half of a rotation included.
fn redactor(settings: &Settings) -> Redactor {
    Redactor::new(settings.secrets())
}

/// What `apiops serve` hands the monitor, besides the settings.
pub(crate) struct Start<'a> {
    pub(crate) settings: &'a Settings,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) receiver: Option<Arc<ReceiverMetrics>>,
    pub(crate) public_url: Option<Url>,
    /// `--instance`, else generated.
    pub(crate) instance: Option<String>,
    pub(crate) clock: Clock,
    pub(crate) stop: CancellationToken,
    /// The configured APIs to health-check.
    pub(crate) apis: Vec<(
        apiops_core::ApiName,
        Arc<dyn apiops_monitor::apis::ApiCheck>,
    )>,
}

/// Starts the monitor when `[monitor]` enables it and there is something to check: the
/// providers it checks and those auto-fix operates through are built here, apart.
pub(crate) fn start(s: Start<'_>) -> anyhow::Result<Option<Monitor>> {
    let settings = s.settings;
    Ok(apiops_monitor::start(apiops_monitor::Start {
        config: config(&settings.monitor),
        policy: settings.policy.policy(),
        redactor: redactor(settings),
        twilio: checks::twilio(settings),
        stripe: checks::stripe(settings),
        openai: checks::openai(settings),
        apis: s.apis,
        services: checks::services(settings),
        store: s.store,
        receiver: s.receiver,
        public_url: s.public_url,
        instance: s.instance,
        clock: s.clock,
        stop: s.stop,
    })?)
}

/// Starts retention as `[retention]` says (`None` when everything is kept forever); the task
/// ends with `stop`.
pub(crate) fn spawn_retention(
    settings: &Settings,
    store: Arc<dyn Store>,
    stop: CancellationToken,
) -> Option<JoinHandle<()>> {
    apiops_monitor::retention::spawn(&retention_config(&settings.retention), store, stop)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use apiops_core::Service;
    use apiops_monitor::plan_jobs;
    use apiops_monitor::schedule::Job;

    use super::*;

    #[test]
    fn jobs_follow_the_settings() {
        let s = crate::config::test_settings(&[
            ("APIOPS_MONITOR_ERRORS_EVERY", "0s"),
            ("APIOPS_MONITOR_HEALTH_EVERY", "30s"),
        ]);
        let m = config(&s.monitor);
        let jobs = plan_jobs(&m, &[Service::Twilio, Service::Stripe], true);
        let names: Vec<String> = jobs.iter().map(Job::claim_name).collect();
        assert_eq!(
            names,
            [
                "health:twilio",
                "health:stripe",
                "audit:twilio",
                "audit:stripe",
                "usage:twilio",
                "usage:stripe",
                "webhooks",
                "signatures"
            ]
        );
        assert_eq!(jobs[0].every, Duration::from_secs(30));
        assert_eq!(jobs[2].every, Duration::from_secs(86_400));
        let no_receiver = plan_jobs(&m, &[Service::Openai], false);
        assert_eq!(no_receiver.len(), 3);
    }

    #[test]
    fn configured_secrets_are_redacted_from_summaries() {
        let s = crate::config::test_settings(&[
            ("STRIPE_SECRET_KEY", "sk_test_canary_0123456789"),
            (
                "STRIPE_WEBHOOK_SECRET",
                "whsec_one_canary_000, whsec_two_canary_111",
            ),
            (
                "APIOPS_MONITOR_SLACK_URLS",
                "https://hooks.slack.com/services/T0/B0/canarytoken123",
            ),
        ]);
        let redactor = redactor(&s);
        let text = "key sk_test_canary_0123456789, whsec_one_canary_000, whsec_two_canary_111 and https://hooks.slack.com/services/T0/B0/canarytoken123";
        let out = redactor.redact(text);
        for canary in [
            "canary_0123456789",
            "whsec_one_canary_000",
            "whsec_two_canary_111",
            "canarytoken123",
        ] {
            assert!(!out.contains(canary), "{out}");
        }
    }

    #[test]
    fn retention_keeps_the_settings_periods() {
        let s = crate::config::test_settings(&[("APIOPS_RETENTION_EVENTS", "0s")]);
        let r = retention_config(&s.retention);
        assert_eq!(r.events, Duration::ZERO);
        assert_eq!(r.payloads, Duration::from_secs(30 * 86_400));
        assert_eq!(r.batch.get(), 500);
    }
}
