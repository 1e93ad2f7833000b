//! `apiops audit [SERVICE...]`: enumerates each provider's resources (numbers, messaging
//! services, webhook endpoints, projects) and flags missing, insecure, unreachable-by-design,
//! deprecated or orphaned settings. URLs are checked statically; with `--probe`, each webhook
//! URL found also gets one guarded request ([`apiops_providers::probe`]): public addresses
//! only, `HEAD` then `GET`, 5 s, no redirects followed.

use anyhow::Context as _;
use apiops_core::Service;

use crate::commands::checks;
use crate::config::LoadedConfig;
use crate::exit::Exit;
use crate::output::{self, Format};
use apiops_providers::probe::Prober;

use crate::report::{AuditReport, AuditView, Probed};

/// Runs the configuration audit.
pub(crate) fn run(
    loaded: &LoadedConfig,
    services: &[Service],
    probe: bool,
    format: Format,
) -> anyhow::Result<Exit> {
    run_scoped(loaded, services, probe, false, format)
}

/// Runs the configuration audit, or only its webhook part (`apiops do "check webhooks"`).
pub(crate) fn run_scoped(
    loaded: &LoadedConfig,
    services: &[Service],
    probe: bool,
    webhooks_only: bool,
    format: Format,
) -> anyhow::Result<Exit> {
    let selected = checks::select(&loaded.settings, services)?;
    let rt = checks::runtime()?;
    let (mut findings, failures) = rt.block_on(checks::audit(&selected));
    if webhooks_only {
        findings.retain(apiops_providers::webhook_url::about_webhooks);
    }
    let probes = if probe {
        rt.block_on(probe_all(&selected, &Prober::new()))
    } else {
        vec![]
    };
    let failed = !failures.is_empty();
    let view = AuditReport {
        audit: AuditView {
            services: selected.providers.iter().map(|p| p.service()).collect(),
            findings,
            failures,
        },
        probes,
    };
    output::emit(format, &view).context("writing the audit report")?;
    Ok(if failed { Exit::Failure } else { Exit::Ok })
}

/// Probes every webhook URL the selected providers have, each URL once.
pub(crate) async fn probe_all(selected: &checks::Selected, prober: &Prober) -> Vec<Probed> {
    let providers: Vec<&dyn apiops_providers::Provider> =
        selected.providers.iter().map(|p| &**p).collect();
    apiops_providers::probe::probe_webhooks(&providers, prober).await
}
