//! The monitor of `apiops serve` (DESIGN.md §7): scheduled health checks, error audits and
//! config audits per service, alert rules over their results, sinks, and auto-fix within
//! policy; and retention, the other background task of `serve`. Configured by a plain
//! [`MonitorConfig`] and [`RetentionConfig`] (the binary maps its settings onto them); nothing
//! here reads a configuration file or prints.
//!
//! Layout:
//! - [`schedule`]: jobs, slots (`floor(now / interval)`), what is due — pure.
//! - `jobs`: running one job: the provider calls, the check record (`store.record_check`,
//!   summary masked), metrics, then the alert rules and auto-fix.
//! - `alerts`: the rules as pure functions, and their observation in the store (an alert
//!   fires once and resolves once across instances).
//! - `sinks`: log, JSON webhook, Slack-compatible webhook; SSRF-guarded, retried, never
//!   blocking.
//! - `probes`: the audit job's webhook reachability probe (`probe_webhooks`, off by default):
//!   what each URL answered, its findings and the `webhook_unreachable` rule.
//! - `autofix`: what may be fixed without a person, through the operations gate.
//! - `usage`: the usage job (spend by day through the providers' usage engine), its
//!   `apiops_usage_*` gauges and its rules (`budget`, `usage_anomaly`); [`budget`]: what a
//!   budget says and its strict parsing.
//! - [`retention`]: old payloads and events pruned in small batches.
//! - [`apis`]: configured APIs (`[apis.NAME]`), health-checked through an [`apis::ApiCheck`]
//!   ([`apis::OpenApiCheck`] over the `apiops_openapi::Api` the binary builds); recorded like
//!   the built-in services.
//!
//! Many instances: each job's slot is claimed in the store by exactly one instance
//! (`store.claim_slot(job, slot, instance, now)`), so with several `apiops serve` processes
//! on one PostgreSQL database each job runs once per interval; an instance that dies simply
//! stops claiming, and the next slot goes to another (taken over within one interval).
//!
//! Time comes from an injected [`Clock`]; the loop sleeps until the next slot boundary.
//!
//! Entry points: [`start`] with a [`Start`] (the monitor), [`retention::spawn`] (retention).

mod alerts;
pub mod apis;
mod autofix;
pub mod budget;
mod jobs;
mod probes;
pub mod retention;
pub mod schedule;
mod sinks;
mod usage;

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiops_client::redact::Redactor;
use apiops_client::version::DeprecationNotice;
use apiops_core::Service;
use apiops_ops::Policy;
use apiops_ops::Services;
use apiops_providers::openai::OpenAi;
use apiops_providers::stripe::Stripe;
use apiops_providers::twilio::Twilio;
use apiops_providers::{Provider, ProviderError};
use apiops_store::Store;
use apiops_webhooks::receiver::ReceiverMetrics;
use jiff::Timestamp;
use secrecy::SecretString;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use url::Url;

use alerts::Rules;
use autofix::AutoFixer;
use schedule::{Job, JobKind};
use sinks::{SinkConfig, SinkKind, SinkTarget, Sinks};

pub use budget::{Budget, BudgetError, BudgetPeriod, BudgetWhy};
pub use retention::RetentionConfig;
pub use sinks::shown_url;

/// The time source (injected for tests).
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// `[monitor]`: what is checked on a schedule, when it alerts, where alerts go, and how it
/// backs off. Plain values, already checked by whoever built them (the binary's settings).
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    /// Whether the scheduled jobs run at all.
    pub enabled: bool,
    /// Health check of each configured service; zero turns the job off.
    pub health_every: Duration,
    /// Error audit of each service over the last interval; zero turns it off.
    pub errors_every: Duration,
    /// Configuration audit of each service; zero turns it off.
    pub audit_every: Duration,
    /// The usage job of each service whose spend can be read (spend by day, budgets, the
    /// anomaly rule); zero turns it off.
    pub usage_every: Duration,
    /// Spend budgets per service: `budget` fires when the current period's spend passes one.
    pub budgets: BTreeMap<Service, Budget>,
    /// `usage_anomaly` fires when today's spend is more than this many times the daily average
    /// of the previous `usage_anomaly_days`; 0 turns the rule off.
    pub usage_anomaly_factor: f64,
    /// The trailing window of `usage_anomaly`, in days before today.
    pub usage_anomaly_days: NonZeroU32,
    /// Today's spend under this (in the currency's units) never raises `usage_anomaly`, for a
    /// currency not in `usage_anomaly_min_spend_by_currency`.
    pub usage_anomaly_min_spend: f64,
    /// The least spend per currency (three capitals, in that currency's units) where one number
    /// for all would be wrong: 5 JPY is about three US cents.
    pub usage_anomaly_min_spend_by_currency: BTreeMap<String, f64>,
    /// Consecutive `down` health checks before `service_down` fires.
    pub down_after: NonZeroU32,
    /// Consecutive non-operational checks (the last one not down) before `service_degraded`.
    pub degraded_after: NonZeroU32,
    /// Errors of a category in one error-audit window at or above which `errors` fires; a
    /// category left out (or 0) never alerts.
    pub error_thresholds: BTreeMap<apiops_core::Category, u64>,
    /// Rate-limit headroom (percent of the limit left) under which `rate_limit_headroom` fires.
    pub headroom_below_percent: f64,
    /// Account balance (in its currency) under which `balance_low` fires; 0 turns it off.
    pub balance_floor: f64,
    /// Webhook requests rejected for their signature within `signature_window`, across
    /// instances, at or above which `signature_rejects` fires; 0 turns it off.
    pub signature_rejects: u64,
    /// The window of `signature_rejects`.
    pub signature_window: Duration,
    /// Whether a deprecation signal on a provider response raises `deprecation`.
    pub deprecations: bool,
    /// Whether a disabled webhook endpoint (from the config audit) raises `endpoint_disabled`.
    pub endpoint_disabled: bool,
    /// Whether the config audit also probes each webhook URL it finds (one guarded request,
    /// as `apiops audit --probe`; public addresses only), adding a finding and raising
    /// `webhook_unreachable` for each URL the provider cannot deliver to.
    pub probe_webhooks: bool,
    /// Whether alerts are written to the log.
    pub log_alerts: bool,
    /// Generic webhooks: each alert POSTed as JSON (the URL may carry a token).
    pub webhook_urls: Vec<SecretString>,
    /// Slack-compatible incoming webhooks (`{"text": ...}`).
    pub slack_urls: Vec<SecretString>,
    /// Lets sinks resolve to loopback, private or link-local addresses.
    pub allow_private_sinks: bool,
    /// Attempts per notification and sink, the first included.
    pub sink_attempts: NonZeroU32,
    /// The first retry delay of a sink; doubled each attempt.
    pub sink_backoff: Duration,
    /// How long scheduled requests to a service pause when `rate_limit` auto-fix backs it off.
    pub rate_limit_backoff: Duration,
}

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

    /// Whether its spend can be read (OpenAI's needs the admin key).
    pub(crate) fn reads_usage(&self) -> bool {
        match self {
            Target::Openai(o) => o.admin_client().is_some(),
            Target::Twilio(_) | Target::Stripe(_) => true,
        }
    }
}

/// What every job shares.
pub(crate) struct Shared {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) instance: String,
    pub(crate) clock: Clock,
    pub(crate) targets: Arc<BTreeMap<Service, Target>>,
    /// The configured APIs the health job checks, by their service.
    pub(crate) apis: BTreeMap<Service, Arc<dyn apis::ApiCheck>>,
    pub(crate) rules: Rules,
    pub(crate) sinks: Sinks,
    pub(crate) fixer: AutoFixer,
    /// The receiver's counters (rejections feed the signature rule).
    pub(crate) receiver: Option<Arc<ReceiverMetrics>>,
    /// The rejection counts at the last `webhooks` report: `(service, reason)`.
    pub(crate) last_rejected: Mutex<BTreeMap<(Service, String), u64>>,
    /// Services this instance backs off from, until when.
    pub(crate) backoff: Mutex<BTreeMap<Service, Timestamp>>,
    /// Where the usage job reads spend (the targets' usage engine).
    pub(crate) usage: Arc<dyn usage::UsageSource>,
    /// The audit job's webhook probe; `None` when `probe_webhooks` is off.
    pub(crate) prober: Option<apiops_providers::probe::Prober>,
    /// Every configured secret, redacted from every summary and alert once more.
    redactor: Redactor,
}

impl Shared {
    /// The keys of the firing alerts of `rule` about `service`; none when the store cannot
    /// say (the rule then sees nothing firing, as on a first run).
    pub(crate) async fn firing(&self, rule: &str, service: Service) -> Vec<String> {
        alerts::firing_keys(&*self.store, rule, service)
            .await
            .unwrap_or_default()
    }

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
pub struct Start {
    /// What to check, when to alert, where alerts go.
    pub config: MonitorConfig,
    /// What auto-fix may do without a person.
    pub policy: Policy,
    /// Every configured secret, redacted from every summary and alert once more.
    pub redactor: Redactor,
    /// The providers the jobs check, each built or why not: a service without credentials
    /// is not monitored; any other reason stops the start.
    pub twilio: Result<Twilio, ProviderError>,
    /// See `twilio`.
    pub stripe: Result<Stripe, ProviderError>,
    /// See `twilio`.
    pub openai: Result<OpenAi, ProviderError>,
    /// The configured APIs to health-check (`[apis.NAME]`), each under its name.
    pub apis: Vec<(apiops_core::ApiName, Arc<dyn apis::ApiCheck>)>,
    /// The providers auto-fix operates through (built apart from the checked ones: their own
    /// breakers and limits); the receiver URL is set here from `public_url`.
    pub services: Services,
    /// The event log, checks, slots and alerts.
    pub store: Arc<dyn Store>,
    /// The receiver's counters (rejections feed the signature rule), when it runs.
    pub receiver: Option<Arc<ReceiverMetrics>>,
    /// Where this instance is reached from outside (`--public-url`).
    pub public_url: Option<Url>,
    /// `--instance`, else generated.
    pub instance: Option<String>,
    /// Now.
    pub clock: Clock,
    /// Ends the loop and the sinks.
    pub stop: CancellationToken,
}

impl std::fmt::Debug for Start {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Start")
            .field("config", &self.config)
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

/// Why the monitor could not start.
#[derive(Debug, thiserror::Error)]
#[error("monitor: setting up {}", .service.display_name())]
pub struct StartError {
    /// Which service.
    pub service: Service,
    /// Why.
    #[source]
    pub source: ProviderError,
}

/// The running monitor.
#[derive(Debug)]
pub struct Monitor {
    /// One line for the start-up message.
    pub description: String,
    task: tokio::task::JoinHandle<()>,
    sinks: Option<tokio::task::JoinHandle<()>>,
}

impl Monitor {
    /// Waits for the loop and the sinks to end (after the stop token is cancelled).
    pub async fn join(self) {
        let _ = self.task.await;
        if let Some(s) = self.sinks {
            let _ = s.await;
        }
    }
}

/// `hostname-pid-random`: unique per process, readable in slot holders and check records.
pub fn instance_id() -> String {
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

/// Where undelivered Stripe events go: this instance's Stripe receiver under `public_url`.
pub fn stripe_receiver_url(public_url: &Url) -> String {
    let mut u = public_url.clone();
    let path = format!("{}/webhooks/stripe", u.path().trim_end_matches('/'));
    u.set_path(&path);
    u.to_string()
}

/// The jobs the configuration asks for, for the services configured.
pub fn plan_jobs(m: &MonitorConfig, services: &[Service], receiver: bool) -> Vec<Job> {
    let mut jobs = Vec::new();
    for (kind, every) in [
        (JobKind::Health, m.health_every),
        (JobKind::Errors, m.errors_every),
        (JobKind::Audit, m.audit_every),
        (JobKind::Usage, m.usage_every),
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

/// Starts the monitor when the configuration enables it and there is something to check.
pub fn start(s: Start) -> Result<Option<Monitor>, StartError> {
    let m = &s.config;
    if !m.enabled {
        return Ok(None);
    }
    let mut targets = BTreeMap::new();
    let built = [
        (
            Service::Twilio,
            s.twilio.map(|t| Target::Twilio(Box::new(t))),
        ),
        (
            Service::Stripe,
            s.stripe.map(|t| Target::Stripe(Box::new(t))),
        ),
        (
            Service::Openai,
            s.openai.map(|t| Target::Openai(Box::new(t))),
        ),
    ];
    for (service, built) in built {
        match built {
            Ok(t) => {
                targets.insert(service, t);
            }
            Err(ProviderError::MissingCredentials { .. }) => {}
            Err(source) => return Err(StartError { service, source }),
        }
    }
    let api_checks: BTreeMap<Service, Arc<dyn apis::ApiCheck>> = s
        .apis
        .into_iter()
        .map(|(name, check)| (Service::Api(name), check))
        .collect();
    let mut services: Vec<Service> = targets.keys().copied().collect();
    let mut jobs = plan_jobs(m, &services, s.receiver.is_some());
    // A configured API has the health job and the error job (over the failures apiops logged
    // calling it: it has no error log of its own to fetch).
    for service in api_checks.keys() {
        let before = jobs.len();
        for (kind, every) in [
            (JobKind::Health, m.health_every),
            (JobKind::Errors, m.errors_every),
        ] {
            if !every.is_zero() {
                jobs.push(Job {
                    kind,
                    service: Some(*service),
                    every,
                });
            }
        }
        if jobs.len() > before {
            services.push(*service);
        }
    }
    // OpenAI's spend needs the admin key: without it the job would only fail, every time.
    jobs.retain(|j| {
        j.kind != JobKind::Usage
            || j.service
                .and_then(|s| targets.get(&s))
                .is_some_and(Target::reads_usage)
    });
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
    let policy = s.policy;
    let auto_fix: Vec<&str> = policy.auto_fix().map(|c| c.as_str()).collect();
    let fixer = AutoFixer {
        policy,
        services: Arc::new(
            s.services
                .with_receiver_url(s.public_url.as_ref().map(stripe_receiver_url)),
        ),
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
        "monitor {instance}: {} — health {}, errors {}, audit {}{}, usage {}{}; alerts to {}; auto-fix {}",
        services
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        every(m.health_every),
        every(m.errors_every),
        every(m.audit_every),
        if m.probe_webhooks && !m.audit_every.is_zero() {
            " (webhook URLs probed)"
        } else {
            ""
        },
        every(m.usage_every),
        if m.budgets.is_empty() {
            String::new()
        } else {
            format!(
                " (budgets: {})",
                m.budgets
                    .iter()
                    .map(|(s, b)| format!("{s} {b}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
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
    let targets = Arc::new(targets);
    let shared = Arc::new(Shared {
        store: s.store,
        instance: instance.clone(),
        clock: s.clock,
        usage: Arc::new(usage::ProviderUsage(Arc::clone(&targets))),
        targets,
        apis: api_checks,
        rules: Rules::from_config(m),
        sinks,
        fixer,
        receiver: s.receiver,
        last_rejected: Mutex::new(BTreeMap::new()),
        backoff: Mutex::new(BTreeMap::new()),
        // Public targets only: no setting lets the probe reach loopback or private addresses.
        prober: m.probe_webhooks.then(apiops_providers::probe::Prober::new),
        redactor: s.redactor,
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

/// A monitor's parts without a loop, for the tests of the jobs.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// `[monitor]` as the embedded defaults set it, every job off, no budget, no sink.
    pub(crate) fn config() -> MonitorConfig {
        MonitorConfig {
            enabled: true,
            health_every: Duration::ZERO,
            errors_every: Duration::ZERO,
            audit_every: Duration::ZERO,
            usage_every: Duration::ZERO,
            budgets: BTreeMap::new(),
            usage_anomaly_factor: 3.0,
            usage_anomaly_days: NonZeroU32::MIN.saturating_add(6),
            usage_anomaly_min_spend: 5.0,
            usage_anomaly_min_spend_by_currency: BTreeMap::new(),
            down_after: NonZeroU32::MIN.saturating_add(1),
            degraded_after: NonZeroU32::MIN.saturating_add(2),
            error_thresholds: BTreeMap::new(),
            headroom_below_percent: 10.0,
            balance_floor: 0.0,
            signature_rejects: 0,
            signature_window: Duration::from_secs(300),
            deprecations: false,
            endpoint_disabled: false,
            probe_webhooks: false,
            log_alerts: false,
            webhook_urls: Vec::new(),
            slack_urls: Vec::new(),
            allow_private_sinks: false,
            sink_attempts: NonZeroU32::MIN,
            sink_backoff: Duration::from_secs(1),
            rate_limit_backoff: Duration::from_secs(60),
        }
    }

    /// What the jobs share, with no provider: the usage job reads `usage`. With
    /// `probe_webhooks`, the probe may reach the tests' own loopback targets (the test-only
    /// allowance; private and other addresses stay refused).
    pub(crate) fn shared(
        config: &MonitorConfig,
        store: Arc<dyn Store>,
        clock: Clock,
        usage: Arc<dyn usage::UsageSource>,
        secrets: Vec<SecretString>,
    ) -> Shared {
        fn missing<T>(service: Service) -> Result<T, ProviderError> {
            Err(ProviderError::MissingCredentials {
                service,
                variables: Vec::new(),
            })
        }
        let (sinks, _) = Sinks::start(
            SinkConfig {
                targets: Vec::new(),
                log: false,
                allow_private: false,
                attempts: 1,
                backoff: Duration::from_secs(1),
                timeout: Duration::from_secs(1),
            },
            CancellationToken::new(),
        );
        Shared {
            store: Arc::clone(&store),
            instance: "test-instance".to_owned(),
            clock: Arc::clone(&clock),
            targets: Arc::new(BTreeMap::new()),
            apis: BTreeMap::new(),
            rules: Rules::from_config(config),
            sinks,
            fixer: AutoFixer {
                policy: Policy::new([]).0,
                services: Arc::new(Services::new(
                    missing(Service::Twilio),
                    missing(Service::Stripe),
                    missing(Service::Openai),
                    None,
                )),
                store,
                clock,
                public_url: None,
                backoff: Duration::from_secs(60),
            },
            receiver: None,
            last_rejected: Mutex::new(BTreeMap::new()),
            backoff: Mutex::new(BTreeMap::new()),
            usage,
            prober: config
                .probe_webhooks
                .then(|| apiops_providers::probe::Prober::new().allowing_loopback_for_tests()),
            redactor: Redactor::new(secrets),
        }
    }
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
}
