//! `apiops audit [SERVICE...]`: enumerates each provider's resources (numbers, messaging
//! services, webhook endpoints, projects) and flags missing, insecure, unreachable-by-design,
//! deprecated or orphaned settings. URLs are checked statically; with `--probe`, each webhook
//! URL found also gets one guarded request ([`apiops_providers::probe`]): public addresses
//! only, `HEAD` then `GET`, 5 s, no redirects followed. No setting lets it reach loopback or
//! private addresses; only a debug build (the test suite's) honours
//! `APIOPS_PROBE_LOOPBACK_FOR_TESTS=1`, the probe's test-only loopback allowance, so the
//! end-to-end tests can probe the simulator's targets on 127.0.0.1.

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
        rt.block_on(probe_all(&selected, &prober()))
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

/// The probe: public targets only. A debug build (the test suite's) with
/// `APIOPS_PROBE_LOOPBACK_FOR_TESTS=1` may also reach loopback (the tests' own targets, never private
/// or link-local ones); release builds do not read the variable, and no configuration key
/// exists for it.
pub(crate) fn prober() -> Prober {
    #[cfg(debug_assertions)]
    if std::env::var_os("APIOPS_PROBE_LOOPBACK_FOR_TESTS").is_some_and(|v| v == "1") {
        return Prober::new().allowing_loopback_for_tests();
    }
    Prober::new()
}

/// Probes every webhook URL the selected providers have, each URL once.
pub(crate) async fn probe_all(selected: &checks::Selected, prober: &Prober) -> Vec<Probed> {
    let providers: Vec<&dyn apiops_providers::Provider> =
        selected.providers.iter().map(|p| &**p).collect();
    apiops_providers::probe::probe_webhooks(&providers, prober).await
}
