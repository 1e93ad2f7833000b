//! `apiops errors [SERVICE...] [--since 24h]`: fetches recent failures from every source each
//! provider offers, normalizes them to `ErrorEvent`s, records them in the event log, groups and
//! ranks them by frequency x severity, and attaches the fix; beside each service, the wait its
//! rate limit asks for and its public status page.

use std::time::Duration;

use anyhow::Context as _;
use apiops_core::Service;
use apiops_providers::TimeWindow;

use crate::commands::{checks, notes};
use crate::config::LoadedConfig;
use crate::exit::Exit;
use crate::output::{self, Format};
use crate::report::{ErrorsReport, ErrorsView, period_label};

/// How many events `--json` carries at most.
pub(crate) const MAX_JSON_EVENTS: usize = 10_000;

/// Runs the error audit.
pub(crate) fn run(
    loaded: &LoadedConfig,
    services: &[Service],
    since: Duration,
    resource: Option<&str>,
    format: Format,
) -> anyhow::Result<Exit> {
    let selected = checks::select(&loaded.settings, services)?;
    let rt = checks::runtime()?;
    let view = rt.block_on(async {
        let store = match checks::open_store(&loaded.settings).await {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!("events will not be recorded: {e}");
                None
            }
        };
        scan(
            &selected,
            since,
            jiff::Timestamp::now(),
            store.as_deref(),
            format,
            resource,
        )
        .await
    })?;
    let failed = !view.failures.is_empty();
    let notes = rt.block_on(notes::gather(&loaded.settings, &selected.providers));
    let report = ErrorsReport {
        errors: view,
        notes,
    };
    output::emit(format, &report).context("writing the error report")?;
    Ok(if failed { Exit::Failure } else { Exit::Ok })
}

/// Scans and builds the view (shared with `demo`).
pub(crate) async fn scan(
    selected: &checks::Selected,
    since: Duration,
    now: jiff::Timestamp,
    store: Option<&dyn apiops_store::Store>,
    format: Format,
    resource: Option<&str>,
) -> anyhow::Result<ErrorsView> {
    let span = jiff::SignedDuration::try_from(since).context("--since is too large")?;
    let window = TimeWindow::last(span, now);
    let keep = if format == Format::Json {
        MAX_JSON_EVENTS
    } else {
        0
    };
    let outcome = checks::errors(selected, window, store, keep, true, resource).await;
    if let Some(e) = &outcome.store_error {
        tracing::warn!("the event log could not record every event: {e}");
    }
    let recommendations =
        apiops_providers::aggregate::recommendations(&[], &outcome.groups, &[], 10);
    Ok(ErrorsView {
        period: period_label(since),
        services: selected.providers.iter().map(|p| p.service()).collect(),
        total_events: outcome.total,
        groups: outcome.groups,
        failures: outcome.failures,
        recommendations,
        events: outcome.events,
    })
}
