//! The partial error scan that `apiops errors --resume` completes.
//!
//! A scan that could not read some time windows keeps, in the store, the groups it read, the
//! windows it could not read and what each provider needs to merge them later ([`ResumeState`]),
//! replacing what an earlier scan kept ([`keep`]). Resuming reads only those windows (the
//! providers' `scan::resume`), then [`merge`] folds what was read into the kept groups, keeps
//! the windows still unread, and gives the report of the whole period.

use std::collections::BTreeSet;

use apiops_core::{ErrorGroup, Service};
use apiops_providers::aggregate::{Aggregator, recommendations};
use apiops_providers::partial::UnreadWindow;
use apiops_providers::scan::ErrorsOutcome;
use apiops_providers::views::ErrorsView;
use apiops_store::{PartialScan, Store, UnreadWindowRecord};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What a partial scan keeps beside its unread windows, so `--resume` can finish it: the period
/// it covered, the groups read so far, and each provider's memo.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResumeState {
    /// "Last 24 hours".
    pub period: String,
    /// The services scanned.
    pub services: Vec<Service>,
    /// The `--resource` filter, if any (the resumed windows count the same failures).
    pub resource: Option<String>,
    /// Events counted in the windows read.
    pub total: u64,
    /// Their groups.
    pub groups: Vec<ErrorGroup>,
    /// What each provider needs to read its unread windows ([`apiops_providers::partial`]).
    pub memos: Vec<(Service, serde_json::Value)>,
}

impl ResumeState {
    /// What the scan that gave `view` keeps, with the providers' `memos`.
    pub fn of(
        view: &ErrorsView,
        resource: Option<&str>,
        memos: Vec<(Service, serde_json::Value)>,
    ) -> Self {
        ResumeState {
            period: view.period.clone(),
            services: view.services.clone(),
            resource: resource.map(str::to_owned),
            total: view.total_events,
            groups: view.groups.clone(),
            memos,
        }
    }
}

/// Keeps `state` and `unread` as the partial scan to resume (none when nothing is unread);
/// a store that cannot keep it is a warning (the report still says what is missing).
pub async fn keep(store: &dyn Store, state: &ResumeState, unread: &[UnreadWindow]) {
    let scan = match serde_json::to_string(state) {
        Ok(state) => PartialScan {
            recorded_at: Timestamp::now(),
            state,
            windows: unread.iter().map(record_of).collect(),
        },
        Err(e) => {
            tracing::warn!("the partial scan could not be kept: {e}");
            return;
        }
    };
    if let Err(e) = store.partial_scan_put(&scan).await {
        tracing::warn!("the unread windows could not be kept for --resume: {e}");
    }
}

/// The kept scan read back: its state and its unread windows. An error when the state does
/// not parse (written by another version).
pub fn read_back(
    partial: PartialScan,
) -> Result<(ResumeState, Vec<UnreadWindow>), serde_json::Error> {
    let state: ResumeState = serde_json::from_str(&partial.state)?;
    Ok((state, partial.windows.into_iter().map(window_of).collect()))
}

/// The services the unread windows belong to, each once.
pub fn services_of(unread: &[UnreadWindow]) -> Vec<Service> {
    unread
        .iter()
        .map(|w| w.service)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// What the kept `state` and the resumed reading of its `unread` windows make together: the
/// state to keep next and the report of the whole period. A service whose resumed scan failed
/// as a whole read none of its windows for sure: they all stay unread (with the failure as
/// their reason), its memo stays the kept one, and nothing of it is merged.
pub fn merge(
    state: ResumeState,
    unread: &[UnreadWindow],
    mut outcome: ErrorsOutcome,
) -> (ResumeState, ErrorsView) {
    let failed: BTreeSet<Service> = outcome.failures.iter().map(|f| f.service).collect();
    outcome.groups.retain(|g| !failed.contains(&g.service));
    outcome.unread.retain(|w| !failed.contains(&w.service));
    outcome.memos.retain(|(s, _)| !failed.contains(s));
    outcome.memos.extend(
        state
            .memos
            .iter()
            .filter(|(s, _)| failed.contains(s))
            .cloned(),
    );
    let read_total: u64 = outcome.groups.iter().map(|g| g.count).sum();
    for f in &outcome.failures {
        outcome
            .unread
            .extend(
                unread
                    .iter()
                    .filter(|w| w.service == f.service)
                    .map(|w| UnreadWindow {
                        reason: f.error.to_string(),
                        ..w.clone()
                    }),
            );
    }
    outcome
        .unread
        .sort_by(|a, b| (a.service, &a.source, a.from).cmp(&(b.service, &b.source, b.from)));
    let mut merged = Aggregator::from_groups(state.groups, state.total);
    merged.merge(Aggregator::from_groups(outcome.groups, read_total));
    let total = merged.total();
    let groups = merged.finish();
    let next = ResumeState {
        total,
        groups: groups.clone(),
        memos: outcome.memos,
        ..state
    };
    let view = ErrorsView {
        period: next.period.clone(),
        services: next.services.clone(),
        total_events: total,
        recommendations: recommendations(&[], &groups, &[], 10),
        groups,
        failures: outcome.failures,
        partial: !outcome.unread.is_empty(),
        unread: outcome.unread,
        events: outcome.events,
    };
    (next, view)
}

fn record_of(w: &UnreadWindow) -> UnreadWindowRecord {
    UnreadWindowRecord {
        service: w.service,
        source: w.source.clone(),
        from: w.from,
        to: w.to,
        reason: w.reason.clone(),
    }
}

fn window_of(r: UnreadWindowRecord) -> UnreadWindow {
    UnreadWindow {
        service: r.service,
        source: r.source,
        from: r.from,
        to: r.to,
        reason: r.reason,
    }
}
