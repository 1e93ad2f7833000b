//! `apiops audit [SERVICE...]`: enumerates each provider's resources (numbers, messaging
//! services, webhook endpoints, projects) and flags missing, insecure, unreachable-by-design,
//! deprecated or orphaned settings. URLs are checked statically: nothing is fetched from them.

use anyhow::Context as _;
use apiops_core::Service;

use crate::commands::checks;
use crate::config::LoadedConfig;
use crate::exit::Exit;
use crate::output::{self, Format};
use crate::report::AuditView;

/// Runs the configuration audit.
pub(crate) fn run(
    loaded: &LoadedConfig,
    services: &[Service],
    format: Format,
) -> anyhow::Result<Exit> {
    let selected = checks::select(&loaded.settings, services)?;
    let (findings, failures) = checks::runtime()?.block_on(checks::audit(&selected));
    let failed = !failures.is_empty();
    let view = AuditView {
        services: selected.providers.iter().map(|p| p.service()).collect(),
        findings,
        failures,
    };
    output::emit(format, &view).context("writing the audit report")?;
    Ok(if failed { Exit::Failure } else { Exit::Ok })
}
