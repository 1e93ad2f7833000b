//! What `health`, `errors`, `audit` and `demo` share: building the provider clients from the
//! settings, and running each check across services concurrently. Rendering is in `report.rs`.

use std::io::IsTerminal as _;
use std::time::Duration;

use apiops_client::breaker::BreakerConfig;
use apiops_client::reads::ReadPolicy;
use apiops_core::{ErrorEvent, Finding, Health, HealthStatus, Service};
use apiops_providers::aggregate::Aggregator;
use apiops_providers::openai::{OpenAi, OpenAiConfig};
use apiops_providers::stripe::{Stripe, StripeConfig};
use apiops_providers::twilio::{Twilio, TwilioConfig};
use apiops_providers::{ClientTuning, Progress, Provider, ProviderError, TimeWindow};
use apiops_store::Store;
use futures::StreamExt;

use crate::config::Settings;
use crate::report::ScanFailure;

/// The shared client settings, from `[client]` and `[breaker]`.
pub(crate) fn tuning(settings: &Settings) -> ClientTuning {
    let c = &settings.client;
    let b = &settings.breaker;
    ClientTuning {
        connect_timeout: c.connect_timeout,
        timeout: c.timeout,
        max_attempts: c.max_attempts.get(),
        base_delay: c.base_delay,
        max_delay: c.max_delay,
        retry_budget_ratio: c.retry_budget_ratio,
        retry_budget_min: c.retry_budget_min,
        breaker: BreakerConfig {
            failure_rate: b.failure_rate,
            minimum_calls: b.minimum_calls.get() as usize,
            window: b.window.get() as usize,
            cool_down: b.cool_down,
            half_open_probes: b.half_open_probes.get(),
        },
        reads: ReadPolicy {
            timeout_multiplier: c.read_timeout_multiplier,
            timeout_floor: c.read_timeout_floor,
            hedge_share: c.hedge_share,
            hedge_min_delay: c.hedge_min_delay,
            read_budget_ratio: c.read_retry_budget_ratio,
            read_budget_min: c.read_retry_budget_min,
            ..ReadPolicy::default()
        },
        clock: Default::default(),
    }
}

/// Builds one provider from the settings.
pub(crate) fn build(
    service: Service,
    settings: &Settings,
) -> Result<Box<dyn Provider>, ProviderError> {
    Ok(match service {
        Service::Twilio => Box::new(twilio(settings)?),
        Service::Stripe => Box::new(stripe(settings)?),
        Service::Openai => Box::new(openai(settings)?),
    })
}

/// Twilio from the settings.
pub(crate) fn twilio(settings: &Settings) -> Result<Twilio, ProviderError> {
    let t = &settings.twilio;
    Twilio::new(TwilioConfig {
        api_url: t.api_url.clone(),
        monitor_url: t.monitor_url.clone(),
        messaging_url: t.messaging_url.clone(),
        pricing_url: t.pricing_url.clone(),
        account_sid: t.account_sid.clone(),
        auth_token: t.auth_token.clone(),
        api_key: t.api_key.clone(),
        api_secret: t.api_secret.clone(),
        max_concurrency: t.max_concurrency.get() as usize,
        tuning: tuning(settings),
    })
}

/// Stripe from the settings.
pub(crate) fn stripe(settings: &Settings) -> Result<Stripe, ProviderError> {
    let s = &settings.stripe;
    Stripe::new(StripeConfig {
        api_url: s.api_url.clone(),
        secret_key: s.secret_key.clone(),
        api_version: s.api_version.clone(),
        requests_per_second: s.requests_per_second.get(),
        tuning: tuning(settings),
    })
}

/// OpenAI from the settings.
pub(crate) fn openai(settings: &Settings) -> Result<OpenAi, ProviderError> {
    let o = &settings.openai;
    OpenAi::new(OpenAiConfig {
        base_url: o.base_url.clone(),
        api_key: o.api_key.clone(),
        admin_key: o.admin_key.clone(),
        organization: o.organization.clone(),
        project: o.project.clone(),
        requests_per_minute: o.requests_per_minute.map(|n| n.get()),
        tuning: tuning(settings),
    })
}

/// The providers operations use, built once from the settings (each one's reason when it is
/// not configured): the one place `Services` is made.
pub(crate) fn services(settings: &Settings) -> apiops_ops::Services {
    apiops_ops::Services::new(
        twilio(settings).map_err(|e| e.to_string()),
        stripe(settings).map_err(|e| e.to_string()),
        openai(settings).map_err(|e| e.to_string()),
        settings.stripe.webhook_secret.clone(),
    )
}

/// The providers a command runs on.
pub(crate) struct Selected {
    /// Those that could be built.
    pub(crate) providers: Vec<Box<dyn Provider>>,
    /// Those left out, and why (missing credentials).
    pub(crate) skipped: Vec<(Service, String)>,
}

/// Builds the requested services (all when none is named). A service named explicitly whose
/// credentials are missing is an error; with none named, unconfigured services are skipped,
/// and it is an error only when none is configured.
pub(crate) fn select(settings: &Settings, requested: &[Service]) -> anyhow::Result<Selected> {
    let explicit = !requested.is_empty();
    let wanted: Vec<Service> = if explicit {
        let mut v = requested.to_vec();
        v.sort();
        v.dedup();
        v
    } else {
        Service::ALL.to_vec()
    };
    let mut providers = Vec::new();
    let mut skipped = Vec::new();
    let mut missing: Vec<&'static str> = Vec::new();
    for s in wanted {
        match build(s, settings) {
            Ok(p) => providers.push(p),
            Err(ProviderError::MissingCredentials { service, variables }) => {
                missing.extend(variables.iter().copied());
                skipped.push((
                    service,
                    format!("not configured: set {}", variables.join(", ")),
                ));
                if explicit {
                    return Err(
                        crate::exit::AppError::MissingCredentials { service, variables }.into(),
                    );
                }
            }
            Err(e) => {
                return Err(
                    anyhow::Error::new(e).context(format!("setting up {}", s.display_name()))
                );
            }
        }
    }
    if providers.is_empty() {
        missing.dedup();
        return Err(crate::exit::AppError::NothingConfigured(format!(
            "no service is configured: set credentials for at least one ({}); `apiops creds` shows what is set, `apiops demo` runs against the built-in simulator",
            missing.join(", ")
        ))
        .into());
    }
    Ok(Selected { providers, skipped })
}

/// Health of every selected service, concurrently, in service order; a rate limit's wait,
/// when the headers asked for one, is a `rate_limit` warning.
pub(crate) async fn health(selected: &Selected) -> Vec<Health> {
    futures::future::join_all(selected.providers.iter().map(|p| async move {
        let mut health = p.health().await;
        let now = std::time::SystemTime::now();
        let wait = p
            .rate_limited_until(now)
            .and_then(|t| apiops_providers::wait::RetryWait::until(t, now));
        apiops_providers::wait::annotate(&mut health, wait);
        health
    }))
    .await
}

/// The exit verdict of a set of health results.
pub(crate) fn health_exit(health: &[Health]) -> crate::exit::Exit {
    match health.iter().map(|h| h.status).max() {
        Some(HealthStatus::Down) => crate::exit::Exit::Down,
        Some(HealthStatus::Degraded) => crate::exit::Exit::Degraded,
        _ => crate::exit::Exit::Ok,
    }
}

/// What an error scan found.
pub(crate) struct ErrorsOutcome {
    pub(crate) groups: Vec<apiops_core::ErrorGroup>,
    pub(crate) total: u64,
    pub(crate) failures: Vec<ScanFailure>,
    /// The events, when asked to keep them (capped).
    pub(crate) events: Vec<ErrorEvent>,
    /// How many events the store newly recorded.
    pub(crate) stored: u64,
    /// Why the store could not record them, if it could not.
    pub(crate) store_error: Option<String>,
}

const STORE_BATCH: usize = 500;

/// Scans every selected service for errors in `window`, concurrently; aggregates; writes every
/// event to `store` in batches; keeps up to `keep` events for JSON output; shows a progress bar
/// on stderr when it is a terminal.
pub(crate) async fn errors(
    selected: &Selected,
    window: TimeWindow,
    store: Option<&dyn Store>,
    keep: usize,
    show_progress: bool,
    resource: Option<&str>,
) -> ErrorsOutcome {
    let progress = Progress::default();
    let bar = (show_progress && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let ticker = bar.clone().map(|bar| {
        let p = progress.clone();
        tokio::spawn(async move {
            loop {
                let (pages, items, matched) = p.snapshot();
                bar.set_message(format!(
                    "scanning: {pages} pages, {items} records, {matched} failures"
                ));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    });

    let scans = selected.providers.iter().map(|p| {
        let service = p.service();
        let mut stream = p.errors(window, progress.clone());
        async move {
            let mut agg = Aggregator::new();
            let mut kept = Vec::new();
            let mut batch = Vec::new();
            let mut stored = 0u64;
            let mut store_error = None;
            let mut failures = Vec::new();
            while let Some(item) = stream.next().await {
                match item {
                    // Every failure is recorded; only those of the resource asked about count.
                    Ok(event) if resource.is_some_and(|r| event.resource_type != r) => {
                        if store.is_some() {
                            batch.push(event);
                            if batch.len() >= STORE_BATCH {
                                flush(store, &mut batch, &mut stored, &mut store_error).await;
                            }
                        }
                    }
                    Ok(event) => {
                        let c = p.classify(&event.error_code, None);
                        agg.push(&event, &c.remediation, c.known);
                        if kept.len() < keep {
                            kept.push(event.clone());
                        }
                        if store.is_some() {
                            batch.push(event);
                            if batch.len() >= STORE_BATCH {
                                flush(store, &mut batch, &mut stored, &mut store_error).await;
                            }
                        }
                    }
                    // A provider reports a failed source and goes on with the next one; a
                    // fatal error (rejected credentials) ends its stream by itself.
                    Err(e) => failures.push(ScanFailure {
                        service,
                        category: e.category(),
                        error: e.to_string(),
                    }),
                }
            }
            flush(store, &mut batch, &mut stored, &mut store_error).await;
            (agg, kept, stored, store_error, failures)
        }
    });
    let results = futures::future::join_all(scans).await;
    if let Some(t) = ticker {
        t.abort();
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }

    let mut out = ErrorsOutcome {
        groups: vec![],
        total: 0,
        failures: vec![],
        events: vec![],
        stored: 0,
        store_error: None,
    };
    for (agg, kept, stored, store_error, failures) in results {
        out.total += agg.total();
        out.groups.extend(agg.finish());
        out.events.extend(kept);
        out.stored += stored;
        if out.store_error.is_none() {
            out.store_error = store_error;
        }
        out.failures.extend(failures);
    }
    out.groups.sort_by(|a, b| {
        b.score()
            .cmp(&a.score())
            .then(b.count.cmp(&a.count))
            .then(a.error_code.cmp(&b.error_code))
    });
    out
}

async fn flush(
    store: Option<&dyn Store>,
    batch: &mut Vec<ErrorEvent>,
    stored: &mut u64,
    error: &mut Option<String>,
) {
    let Some(store) = store else { return };
    if batch.is_empty() || error.is_some() {
        batch.clear();
        return;
    }
    match store.append_events(batch).await {
        Ok(n) => *stored += n,
        Err(e) => *error = Some(e.to_string()),
    }
    batch.clear();
}

/// Audits every selected service concurrently.
pub(crate) async fn audit(selected: &Selected) -> (Vec<Finding>, Vec<ScanFailure>) {
    let results = futures::future::join_all(
        selected
            .providers
            .iter()
            .map(|p| async move { (p.service(), p.audit().await) }),
    )
    .await;
    let mut findings = Vec::new();
    let mut failures = Vec::new();
    for (service, r) in results {
        match r {
            Ok(f) => findings.extend(f),
            Err(e) => failures.push(ScanFailure {
                service,
                category: e.category(),
                error: e.to_string(),
            }),
        }
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.service.cmp(&b.service))
            .then(a.resource_id.cmp(&b.resource_id))
    });
    (findings, failures)
}

/// Opens the store the settings name, or says why not (the caller warns and goes on).
pub(crate) async fn open_store(settings: &Settings) -> Result<Box<dyn Store>, String> {
    use secrecy::ExposeSecret;
    apiops_store::open(settings.database.url.expose_secret())
        .await
        .map_err(|e| e.to_string())
}

/// A tokio runtime for one command.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context as _;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
