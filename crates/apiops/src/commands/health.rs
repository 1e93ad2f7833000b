//! `apiops health [SERVICE...]`: verifies credentials with a lightweight authenticated call per
//! service and reports status, latency, quota or balance, rate-limit headroom, breaker state
//! and configuration warnings, with each provider's public status page beside it (never part
//! of the verdict). Exit codes: 0 all operational, 3 degraded, 4 down.

use anyhow::Context as _;
use apiops_core::Service;

use crate::commands::{checks, notes};
use crate::config::LoadedConfig;
use crate::exit::{AppError, Exit};
use crate::output::{self, Format};
use crate::report::HealthView;

/// What `apiops health NAMES...` checks: the built-in services, or one `[apis.NAME]` API.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Targets {
    /// Twilio, OpenAI, Stripe (all configured ones when empty).
    Services(Vec<Service>),
    /// One configured API.
    Api(String),
}

/// Reads the names given to `apiops health`: service names, or the name of one configured
/// API; anything else is a usage error (exit 2) naming what is accepted.
pub(crate) fn targets(loaded: &LoadedConfig, names: &[String]) -> anyhow::Result<Targets> {
    let apis = &loaded.settings.apis;
    let mut services = Vec::new();
    let mut api = Vec::new();
    for name in names {
        match name.parse::<Service>() {
            Ok(s) => services.push(s),
            Err(_) if apis.contains_key(name) => api.push(name.clone()),
            Err(_) => {
                let mut known = vec!["twilio", "openai", "stripe"];
                known.extend(apis.keys().map(String::as_str));
                return Err(AppError::Usage(format!(
                    "unknown service {name:?}; the services and configured APIs are: {}",
                    known.join(", ")
                ))
                .into());
            }
        }
    }
    match (services.is_empty(), api.as_slice()) {
        (_, []) => Ok(Targets::Services(services)),
        (true, [one]) => Ok(Targets::Api(one.clone())),
        _ => Err(AppError::Usage(
            "check one configured API at a time, apart from the built-in services".into(),
        )
        .into()),
    }
}

/// Runs the health checks.
pub(crate) fn run(
    loaded: &LoadedConfig,
    services: &[Service],
    format: Format,
) -> anyhow::Result<Exit> {
    let selected = checks::select(&loaded.settings, services)?;
    let (health, pages) = checks::runtime()?.block_on(async {
        futures::join!(
            checks::health(&selected),
            notes::status_pages(&loaded.settings, &selected.providers)
        )
    });
    for (service, why) in &selected.skipped {
        tracing::warn!("{} skipped: {why}", service.display_name());
    }
    let exit = checks::health_exit(&health);
    let view = HealthView::new(health).with_status_pages(pages);
    output::emit(format, &view).context("writing the health report")?;
    Ok(exit)
}
