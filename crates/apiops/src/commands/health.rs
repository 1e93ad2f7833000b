//! `apiops health [SERVICE...]`: verifies credentials with a lightweight authenticated call per
//! service and reports status, latency, quota or balance, rate-limit headroom, breaker state
//! and configuration warnings, with each provider's public status page beside it (never part
//! of the verdict). Exit codes: 0 all operational, 3 degraded, 4 down.

use anyhow::Context as _;
use apiops_core::Service;

use crate::commands::{checks, notes};
use crate::config::LoadedConfig;
use crate::exit::Exit;
use crate::output::{self, Format};
use crate::report::HealthView;

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
