//! Wiring of `apiops serve`'s background work into the binary: the plain configurations of
//! `apiops_monitor` (mapped from `[monitor]` and `[retention]` by `apiops-config`), and the
//! providers, policy and secrets it needs taken from the settings. The monitor itself (schedule, alert rules, sinks,
//! auto-fix) and retention are in the `apiops-monitor` crate.

use std::sync::Arc;

use apiops_client::redact::Redactor;
use apiops_monitor::{Clock, Monitor};
use apiops_store::Store;
use apiops_webhooks::receiver::ReceiverMetrics;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::commands::checks;
use crate::config::Settings;

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
        config: settings.monitor.monitor_config(),
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
    apiops_monitor::retention::spawn(&settings.retention.retention_config(), store, stop)
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
        let m = s.monitor.monitor_config();
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
        let r = s.retention.retention_config();
        assert_eq!(r.events, Duration::ZERO);
        assert_eq!(r.payloads, Duration::from_secs(30 * 86_400));
        assert_eq!(r.batch.get(), 500);
    }
}
