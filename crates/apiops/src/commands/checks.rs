//! What `health`, `errors`, `audit` and `demo` share: building the provider clients from the
//! settings, and the wiring of the checks across services (the engine is
//! `apiops_providers::scan`: here a progress bar and the store as its sink). Rendering is in
//! `report.rs`.

use std::io::IsTerminal as _;
use std::time::Duration;

use apiops_core::{Finding, Health, HealthStatus, Service};
use apiops_providers::partial::UnreadWindow;
use apiops_providers::scan::{self, EventSink, ScanFailure, ScanOptions, SelectError};
use apiops_providers::{Progress, TimeWindow};
use apiops_store::{Store, StoreError};

use crate::config::Settings;

pub(crate) use apiops_config::providers::{openai, services, stripe, twilio};

pub(crate) use apiops_providers::scan::{ErrorsOutcome, Selected};

/// Builds the requested services (all when none is named) from the settings: see
/// [`scan::select`]; its errors become the command's (exit codes, the hint to `apiops creds`).
pub(crate) fn select(settings: &Settings, requested: &[Service]) -> anyhow::Result<Selected> {
    apiops_config::providers::select(settings, requested).map_err(|e| match e {
        SelectError::MissingCredentials { service, variables } => {
            crate::exit::AppError::MissingCredentials { service, variables }.into()
        }
        SelectError::NothingConfigured { .. } => crate::exit::AppError::NothingConfigured(
            apiops_config::providers::selection_message(&e),
        )
        .into(),
        SelectError::Setup { service, source } => {
            anyhow::Error::new(source).context(format!("setting up {}", service.display_name()))
        }
    })
}

/// Health of every selected service, concurrently, in service order; a rate limit's wait,
/// when the headers asked for one, is a `rate_limit` warning.
pub(crate) async fn health(selected: &Selected) -> Vec<Health> {
    scan::health(&selected.providers).await
}

/// The exit verdict of a set of health results.
pub(crate) fn health_exit(health: &[Health]) -> crate::exit::Exit {
    match health.iter().map(|h| h.status).max() {
        Some(HealthStatus::Down) => crate::exit::Exit::Down,
        Some(HealthStatus::Degraded) => crate::exit::Exit::Degraded,
        _ => crate::exit::Exit::Ok,
    }
}

/// Scans every selected service for errors in `window` ([`scan::errors`]), recording every
/// event in `store`; keeps up to `keep` events for JSON output; shows a progress bar on stderr
/// when it is a terminal.
pub(crate) async fn errors(
    selected: &Selected,
    window: TimeWindow,
    store: Option<&dyn Store>,
    keep: usize,
    show_progress: bool,
    resource: Option<&str>,
) -> ErrorsOutcome {
    let sink = store.map(apiops_ops::sink::StoreSink);
    with_progress(show_progress, |progress| {
        scan::errors(
            &selected.providers,
            window,
            options(sink.as_ref(), keep, resource, progress),
        )
    })
    .await
}

/// Reads only `unread` (the windows an earlier scan could not read) with the providers' `memos`
/// ([`scan::resume`]), recording every event in `store`, with a progress bar like [`errors`].
pub(crate) async fn resume(
    selected: &Selected,
    unread: &[UnreadWindow],
    memos: &[(Service, serde_json::Value)],
    store: &dyn Store,
    keep: usize,
    resource: Option<&str>,
) -> ErrorsOutcome {
    let sink = apiops_ops::sink::StoreSink(store);
    with_progress(true, |progress| {
        scan::resume(
            &selected.providers,
            unread,
            memos,
            options(Some(&sink), keep, resource, progress),
        )
    })
    .await
}

fn options<'a>(
    sink: Option<&'a apiops_ops::sink::StoreSink<'a>>,
    keep: usize,
    resource: Option<&'a str>,
    progress: Progress,
) -> ScanOptions<'a> {
    ScanOptions {
        sink: sink.map(|s| s as &dyn EventSink),
        keep,
        resource,
        progress,
    }
}

/// Runs `scan` with a progress spinner on stderr when asked and stderr is a terminal.
async fn with_progress<F: std::future::Future<Output = ErrorsOutcome>>(
    show: bool,
    scan: impl FnOnce(Progress) -> F,
) -> ErrorsOutcome {
    let progress = Progress::default();
    let bar = (show && std::io::stderr().is_terminal()).then(|| {
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
    let outcome = scan(progress).await;
    if let Some(t) = ticker {
        t.abort();
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    outcome
}

/// Audits every selected service concurrently.
pub(crate) async fn audit(selected: &Selected) -> (Vec<Finding>, Vec<ScanFailure>) {
    scan::audit(&selected.providers).await
}

/// Opens the store the settings name, or says why not (the caller warns and goes on).
pub(crate) async fn open_store(settings: &Settings) -> Result<Box<dyn Store>, StoreError> {
    use secrecy::ExposeSecret;
    apiops_store::open(settings.database.url.expose_secret()).await
}

/// A tokio runtime for one command.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context as _;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
