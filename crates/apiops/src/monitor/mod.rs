//! The monitor of `apiops serve` (DESIGN.md §7): scheduled health checks, error audits and
//! config audits per service, alert rules over their results, sinks, and auto-fix within
//! policy.
//!
//! Layout:
//! - [`schedule`]: jobs, slots (`floor(now / interval)`), what is due — pure.
//! - [`jobs`]: running one job: the provider calls, the check record (`store.record_check`,
//!   summary masked), metrics, then the alert rules and auto-fix.
//! - [`alerts`]: the rules as pure functions, and their observation in the store (an alert
//!   fires once and resolves once across instances).
//! - [`sinks`]: log, JSON webhook, Slack-compatible webhook; SSRF-guarded, retried, never
//!   blocking.
//! - [`autofix`]: what may be fixed without a person, through the operations gate.
//!
//! Many instances: each job's slot is claimed in the store by exactly one instance
//! (`store.claim_slot(job, slot, instance, now)`), so with several `apiops serve` processes
//! on one PostgreSQL database each job runs once per interval; an instance that dies simply
//! stops claiming, and the next slot goes to another (taken over within one interval).
//!
//! Time comes from an injected [`Clock`]; the loop sleeps until the next slot boundary.

pub(crate) mod alerts;
pub(crate) mod autofix;
pub(crate) mod jobs;
pub(crate) mod schedule;
pub(crate) mod sinks;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiops_client::redact::Redactor;
use apiops_client::version::DeprecationNotice;
use apiops_core::Service;
use apiops_ops::Services;
use apiops_providers::openai::OpenAi;
use apiops_providers::stripe::Stripe;
use apiops_providers::twilio::Twilio;
use apiops_providers::{Provider, ProviderError};
use apiops_store::Store;
use apiops_webhooks::receiver::ReceiverMetrics;
use jiff::Timestamp;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::commands::checks;
use crate::config::Settings;
use alerts::Rules;
use autofix::AutoFixer;
use schedule::{Job, JobKind};
use sinks::{SinkConfig, SinkKind, SinkTarget, Sinks};

/// The time source (injected for tests).
pub(crate) type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// A monitored service, with its concrete client (for deprecation notices and auto-fix).
pub(crate) enum Target {
    Twilio(Box<Twilio>),
    Stripe(Box<Stripe>),
    Openai(Box<OpenAi>),
}

impl Target {
    pub(crate) fn provider(&self) -> &dyn Provider {
        match self {
            Target::Twilio(t) => &**t,
            Target::Stripe(s) => &**s,
            Target::Openai(o) => &**o,
        }
    }

    /// The deprecation signals this process's clients have seen for the service.
    pub(crate) fn deprecations(&self) -> Vec<DeprecationNotice> {
        match self {
            Target::Twilio(t) => apiops_providers::twilio::client::Host::ALL
                .iter()
                .flat_map(|h| t.client().host(*h).deprecations())
                .collect(),
            Target::Stripe(s) => s.client().api().deprecations(),
            Target::Openai(o) => o.client().api().deprecations(),
        }
    }
}

/// What every job shares.
pub(crate) struct Shared {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) instance: String,
    pub(crate) clock: Clock,
    pub(crate) targets: BTreeMap<Service, Target>,
    pub(crate) rules: Rules,
    pub(crate) sinks: Sinks,
    pub(crate) fixer: AutoFixer,
    /// The receiver's counters (rejections feed the signature rule).
    pub(crate) receiver: Option<Arc<ReceiverMetrics>>,
    /// The rejection counts at the last `webhooks` report: `(service, reason)`.
    pub(crate) last_rejected: Mutex<BTreeMap<(Service, String), u64>>,
    /// Services this instance backs off from, until when.
    pub(crate) backoff: Mutex<BTreeMap<Service, Timestamp>>,
    /// Every configured secret ([`Settings::secrets`]), redacted from every summary and alert
    /// once more.
    redactor: Redactor,
}

impl Shared {
    /// Whether `service` is backed off at `now`.
    pub(crate) fn backed_off(&self, service: Service, now: Timestamp) -> bool {
        self.backoff
            .lock()
            .map(|b| b.get(&service).is_some_and(|until| *until > now))
            .unwrap_or(false)
    }

    /// Backs off `service` until `until`.
    pub(crate) fn set_backoff(&self, service: Service, until: Timestamp) {
        if let Ok(mut b) = self.backoff.lock() {
            b.insert(service, until);
        }
    }

    /// `text` with every configured secret masked.
    pub(crate) fn redact(&self, text: &str) -> String {
        self.redactor.redact(text).into_owned()
    }
}

/// What `apiops serve` hands the monitor.
pub(crate) struct Start<'a> {
    pub(crate) settings: &'a Settings,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) receiver: Option<Arc<ReceiverMetrics>>,
    pub(crate) public_url: Option<Url>,
    /// `--instance`, else generated.
    pub(crate) instance: Option<String>,
    pub(crate) clock: Clock,
    pub(crate) stop: CancellationToken,
}

/// The running monitor.
#[derive(Debug)]
pub(crate) struct Monitor {
    /// One line for the start-up message.
    pub(crate) description: String,
    task: tokio::task::JoinHandle<()>,
    sinks: Option<tokio::task::JoinHandle<()>>,
}

impl Monitor {
    /// Waits for the loop and the sinks to end (after the stop token is cancelled).
    pub(crate) async fn join(self) {
        let _ = self.task.await;
        if let Some(s) = self.sinks {
            let _ = s.await;
        }
    }
}

/// `hostname-pid-random`: unique per process, readable in slot holders and check records.
pub(crate) fn instance_id() -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| {
            h.trim()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || "-._".contains(*c))
                .take(40)
                .collect::<String>()
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    format!(
        "{host}-{}-{:06x}",
        std::process::id(),
        h.finish() & 0x00ff_ffff
    )
}

/// The providers operations (auto-fix) run against.
pub(crate) fn operation_services(
    settings: &Settings,
    public_url: Option<&Url>,
) -> anyhow::Result<Services> {
    Ok(
        checks::services(settings).with_receiver_url(public_url.map(|u| {
            let mut u = u.clone();
            let path = format!("{}/webhooks/stripe", u.path().trim_end_matches('/'));
            u.set_path(&path);
            u.to_string()
        })),
    )
}

/// What the monitor redacts: every configured secret, each half of a rotation included.
fn redactor(settings: &Settings) -> Redactor {
    Redactor::new(settings.secrets())
}

/// The jobs the settings ask for, for the services configured.
pub(crate) fn plan_jobs(settings: &Settings, services: &[Service], receiver: bool) -> Vec<Job> {
    let m = &settings.monitor;
    let mut jobs = Vec::new();
    for (kind, every) in [
        (JobKind::Health, m.health_every),
        (JobKind::Errors, m.errors_every),
        (JobKind::Audit, m.audit_every),
    ] {
        if every.is_zero() {
            continue;
        }
        for s in services {
            jobs.push(Job {
                kind,
                service: Some(*s),
                every,
            });
        }
    }
    if receiver && m.signature_rejects > 0 && !m.health_every.is_zero() {
        for kind in [JobKind::Webhooks, JobKind::Signatures] {
            jobs.push(Job {
                kind,
                service: None,
                every: m.health_every,
            });
        }
    }
    jobs
}

/// Starts the monitor when `[monitor]` enables it and there is something to check.
pub(crate) fn start(s: Start<'_>) -> anyhow::Result<Option<Monitor>> {
    let settings = s.settings;
    let m = &settings.monitor;
    if !m.enabled {
        return Ok(None);
    }
    let mut targets = BTreeMap::new();
    for service in Service::ALL {
        let built = match service {
            Service::Twilio => checks::twilio(settings).map(|t| Target::Twilio(Box::new(t))),
            Service::Stripe => checks::stripe(settings).map(|s| Target::Stripe(Box::new(s))),
            Service::Openai => checks::openai(settings).map(|o| Target::Openai(Box::new(o))),
        };
        match built {
            Ok(t) => {
                targets.insert(*service, t);
            }
            Err(ProviderError::MissingCredentials { .. }) => {}
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("monitor: setting up {}", service.display_name())));
            }
        }
    }
    let services: Vec<Service> = targets.keys().copied().collect();
    let jobs = plan_jobs(settings, &services, s.receiver.is_some());
    if jobs.is_empty() {
        return Ok(None);
    }
    let instance = s.instance.unwrap_or_else(instance_id);
    let targets_shown: Vec<SinkTarget> = m
        .webhook_urls
        .iter()
        .map(|u| SinkTarget {
            kind: SinkKind::Webhook,
            url: u.clone(),
        })
        .chain(m.slack_urls.iter().map(|u| SinkTarget {
            kind: SinkKind::Slack,
            url: u.clone(),
        }))
        .collect();
    let (sinks, sinks_task) = Sinks::start(
        SinkConfig {
            targets: targets_shown,
            log: m.log_alerts,
            allow_private: m.allow_private_sinks,
            attempts: m.sink_attempts.get(),
            backoff: m.sink_backoff,
            timeout: Duration::from_secs(10),
        },
        s.stop.clone(),
    );
    let policy = settings.policy.policy();
    let auto_fix: Vec<&str> = policy.auto_fix().map(|c| c.as_str()).collect();
    let fixer = AutoFixer {
        policy,
        services: Arc::new(operation_services(settings, s.public_url.as_ref())?),
        store: Arc::clone(&s.store),
        clock: Arc::clone(&s.clock),
        public_url: s.public_url.clone(),
        backoff: m.rate_limit_backoff,
    };
    let every = |d: Duration| {
        if d.is_zero() {
            "off".to_owned()
        } else {
            format!("every {}", humantime::format_duration(d))
        }
    };
    let description = format!(
        "monitor {instance}: {} — health {}, errors {}, audit {}; alerts to {}; auto-fix {}",
        services
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        every(m.health_every),
        every(m.errors_every),
        every(m.audit_every),
        {
            let mut to = Vec::new();
            if m.log_alerts {
                to.push("the log".to_owned());
            }
            if !m.webhook_urls.is_empty() {
                to.push(format!("{} webhook(s)", m.webhook_urls.len()));
            }
            if !m.slack_urls.is_empty() {
                to.push(format!("{} Slack webhook(s)", m.slack_urls.len()));
            }
            if to.is_empty() {
                "nowhere".to_owned()
            } else {
                to.join(", ")
            }
        },
        if auto_fix.is_empty() {
            "off".to_owned()
        } else {
            auto_fix.join(", ")
        }
    );
    let shared = Arc::new(Shared {
        store: s.store,
        instance: instance.clone(),
        clock: s.clock,
        targets,
        rules: Rules::from_settings(m),
        sinks,
        fixer,
        receiver: s.receiver,
        last_rejected: Mutex::new(BTreeMap::new()),
        backoff: Mutex::new(BTreeMap::new()),
        redactor: redactor(settings),
    });
    let task = tokio::spawn(run_loop(shared, jobs, s.stop));
    Ok(Some(Monitor {
        description,
        task,
        sinks: sinks_task,
    }))
}

/// Resets a job's "running" flag when its run ends, however it ends.
struct Running(Arc<AtomicBool>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// The loop: at each slot boundary, claims what is due and runs it in the background.
pub(crate) async fn run_loop(shared: Arc<Shared>, jobs: Vec<Job>, stop: CancellationToken) {
    let mut last: Vec<Option<i64>> = vec![None; jobs.len()];
    let running: Vec<Arc<AtomicBool>> = jobs
        .iter()
        .map(|_| Arc::new(AtomicBool::new(false)))
        .collect();
    let mut tasks = JoinSet::new();
    loop {
        let now = (shared.clock)();
        let mut retry_soon = false;
        for (i, slot) in schedule::due(now, &jobs, &last) {
            let job = &jobs[i];
            // A run still going (a slow scan): this instance leaves the slot to another one.
            if running[i].load(Ordering::SeqCst) {
                tracing::debug!(job = %job.claim_name(), slot, "previous run still going; not claiming");
                last[i] = Some(slot);
                continue;
            }
            if let Some(s) = job.service
                && shared.backed_off(s, now)
            {
                tracing::debug!(job = %job.claim_name(), slot, "backed off; not claiming");
                last[i] = Some(slot);
                continue;
            }
            if job.kind.claimed() {
                match shared
                    .store
                    .claim_slot(&job.claim_name(), slot, &shared.instance, now)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        last[i] = Some(slot);
                        continue;
                    }
                    Err(e) => {
                        // The store is unreachable: try again shortly, within the same slot.
                        tracing::warn!(job = %job.claim_name(), "claiming slot {slot}: {e}");
                        retry_soon = true;
                        continue;
                    }
                }
            }
            last[i] = Some(slot);
            running[i].store(true, Ordering::SeqCst);
            let guard = Running(Arc::clone(&running[i]));
            let (shared, job) = (Arc::clone(&shared), job.clone());
            tasks.spawn(async move {
                let _guard = guard;
                jobs::run(&shared, &job, slot, now).await;
            });
        }
        while tasks.try_join_next().is_some() {}
        let cap = if retry_soon {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(3600)
        };
        let delay = schedule::sleep_for(now, schedule::next_wake(now, &jobs), cap);
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(delay) => {}
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {
                // A run ended: loop again (nothing is due before the wake-up time, so this only
                // reaps it and sleeps again).
            }
        }
    }
    // Stopping: runs in flight get a moment to record what they found, then are dropped.
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_ids_are_host_pid_random_and_unique() {
        let a = instance_id();
        let b = instance_id();
        assert_ne!(a, b);
        assert!(a.contains(&format!("-{}-", std::process::id())), "{a}");
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c)),
            "{a}"
        );
    }

    #[test]
    fn jobs_follow_the_settings() {
        let s = crate::config::test_settings(&[
            ("APIOPS_MONITOR_ERRORS_EVERY", "0s"),
            ("APIOPS_MONITOR_HEALTH_EVERY", "30s"),
        ]);
        let jobs = plan_jobs(&s, &[Service::Twilio, Service::Stripe], true);
        let names: Vec<String> = jobs.iter().map(Job::claim_name).collect();
        assert_eq!(
            names,
            [
                "health:twilio",
                "health:stripe",
                "audit:twilio",
                "audit:stripe",
                "webhooks",
                "signatures"
            ]
        );
        assert_eq!(jobs[0].every, Duration::from_secs(30));
        assert_eq!(jobs[2].every, Duration::from_secs(86_400));
        let no_receiver = plan_jobs(&s, &[Service::Openai], false);
        assert_eq!(no_receiver.len(), 2);
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
}
