//! `apiops errors [SERVICE...] [--since 24h]`: fetches recent failures from every source each
//! provider offers, normalizes them to `ErrorEvent`s, records them in the event log, groups and
//! ranks them by frequency x severity, and attaches the fix; beside each service, the wait its
//! rate limit asks for and its public status page.
//!
//! A scan that cannot read some time windows (after the client's retries and hedges) says
//! which — service, source, time range, reason — marks its totals partial and exits 6; it keeps
//! the groups it read, the windows it could not read and what the providers need to merge
//! (`apiops_ops::resume`) in the store, replacing what an earlier scan kept. `apiops errors --resume`
//! reads only those windows, merges them into the kept groups, reports the whole period, and
//! keeps only the windows still unread (none: exit 0, nothing left to resume).

use std::time::Duration;

use anyhow::Context as _;
use apiops_core::Service;
use apiops_ops::resume::{self, ResumeState};
use apiops_providers::TimeWindow;
use apiops_providers::aggregate::recommendations;
use apiops_store::Store;
use jiff::Timestamp;

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
        let (view, memos) = scan_keeping_memos(
            &selected,
            since,
            Timestamp::now(),
            store.as_deref(),
            format,
            resource,
        )
        .await?;
        let state = ResumeState::of(&view, resource, memos);
        match store.as_deref() {
            Some(store) => resume::keep(store, &state, &view.unread).await,
            None if view.partial => {
                tracing::warn!("no store: the unread windows cannot be resumed later");
            }
            None => {}
        }
        anyhow::Ok(view)
    })?;
    emit(&rt, loaded, &selected, view, format)
}

/// Reads the windows the last scan could not read and reports the whole period.
pub(crate) fn resume(loaded: &LoadedConfig, format: Format) -> anyhow::Result<Exit> {
    let rt = checks::runtime()?;
    let resumed = rt.block_on(async {
        let store = checks::open_store(&loaded.settings)
            .await
            .context("--resume reads the unread windows kept in the store")?;
        let Some(partial) = store
            .partial_scan()
            .await
            .context("reading the kept partial scan")?
        else {
            return anyhow::Ok(None);
        };
        let (state, unread) = resume::read_back(partial)
            .context("the kept partial scan does not parse (written by another version?)")?;
        let services = resume::services_of(&unread);
        let selected = checks::select(&loaded.settings, &services)?;
        let keep_events = if format == Format::Json {
            MAX_JSON_EVENTS
        } else {
            0
        };
        let outcome = checks::resume(
            &selected,
            &unread,
            &state.memos,
            &*store,
            keep_events,
            state.resource.as_deref(),
        )
        .await;
        if let Some(e) = &outcome.store_error {
            tracing::warn!("the event log could not record every event: {e}");
        }
        let (next, view) = resume::merge(state, &unread, outcome);
        resume::keep(&*store, &next, &view.unread).await;
        anyhow::Ok(Some((selected, view)))
    })?;
    let Some((selected, view)) = resumed else {
        anstream::eprintln!("Nothing to resume: the last error scan read every time window.");
        return Ok(Exit::Ok);
    };
    emit(&rt, loaded, &selected, view, format)
}

/// Prints the report and picks the exit: 1 when a service's scan failed, 6 when windows are
/// missing, 0 otherwise.
fn emit(
    rt: &tokio::runtime::Runtime,
    loaded: &LoadedConfig,
    selected: &checks::Selected,
    view: ErrorsView,
    format: Format,
) -> anyhow::Result<Exit> {
    let exit = if !view.failures.is_empty() {
        Exit::Failure
    } else if view.partial {
        Exit::PartialBatch
    } else {
        Exit::Ok
    };
    let notes = rt.block_on(notes::gather(&loaded.settings, &selected.providers));
    let report = ErrorsReport {
        errors: view,
        notes,
    };
    output::emit(format, &report).context("writing the error report")?;
    Ok(exit)
}

/// Scans and builds the view (shared with `demo`).
pub(crate) async fn scan(
    selected: &checks::Selected,
    since: Duration,
    now: Timestamp,
    store: Option<&dyn Store>,
    format: Format,
    resource: Option<&str>,
) -> anyhow::Result<ErrorsView> {
    Ok(
        scan_keeping_memos(selected, since, now, store, format, resource)
            .await?
            .0,
    )
}

/// [`scan`], with the providers' memos for reading its unread windows later.
async fn scan_keeping_memos(
    selected: &checks::Selected,
    since: Duration,
    now: Timestamp,
    store: Option<&dyn Store>,
    format: Format,
    resource: Option<&str>,
) -> anyhow::Result<(ErrorsView, Vec<(Service, serde_json::Value)>)> {
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
    let view = ErrorsView {
        period: period_label(since),
        services: selected.providers.iter().map(|p| p.service()).collect(),
        total_events: outcome.total,
        recommendations: recommendations(&[], &outcome.groups, &[], 10),
        groups: outcome.groups,
        failures: outcome.failures,
        partial: !outcome.unread.is_empty(),
        unread: outcome.unread,
        events: outcome.events,
    };
    Ok((view, outcome.memos))
}
