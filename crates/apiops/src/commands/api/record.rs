//! What calls to a configured API leave in the store for `apiops errors NAME` and
//! `apiops audit NAME`: each failure apiops saw (after sending) as an `ErrorEvent` in the event
//! log, and the `Deprecation`/`Sunset` notices the API sent, kept per API under the cursor
//! `api-deprecations:NAME` (JSON, one notice per endpoint, the latest [`MAX_NOTICES`]).
//!
//! Keeping is best effort: a store that cannot be opened or written is a warning, never the
//! command's failure (the call's own outcome is what the person asked for).

use apiops_config::Settings;
use apiops_core::ErrorEvent;
use apiops_openapi::Api;
use apiops_openapi::events::{SeenNotice, merge_notices};
use apiops_store::Store;

use crate::commands::checks;

/// Notices kept per API at most.
pub(crate) const MAX_NOTICES: usize = 200;

/// The cursor the notices of API `name` are kept under.
pub(crate) fn notices_key(name: &str) -> String {
    format!("api-deprecations:{name}")
}

/// Keeps `failure` (when there is one) and the notices `api` has seen, opening the store only
/// when there is something to keep.
pub(crate) async fn keep(settings: &Settings, api: &Api, failure: Option<ErrorEvent>) {
    let now = jiff::Timestamp::now();
    let notices = api.notices(now);
    if failure.is_none() && notices.is_empty() {
        return;
    }
    let store = match checks::open_store(settings).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("{}: the failure was not recorded: {e}", api.name());
            return;
        }
    };
    keep_in(store.as_ref(), api.name(), failure, notices, now).await;
}

/// [`keep`] into an open store.
pub(crate) async fn keep_in(
    store: &dyn Store,
    name: &str,
    failure: Option<ErrorEvent>,
    notices: Vec<SeenNotice>,
    now: jiff::Timestamp,
) {
    if let Some(event) = failure
        && let Err(e) = store.append_events(&[event]).await
    {
        tracing::warn!("{name}: the failure was not recorded: {e}");
    }
    if notices.is_empty() {
        return;
    }
    let mut kept = seen(store, name).await;
    merge_notices(&mut kept, notices, MAX_NOTICES);
    let written = match serde_json::to_string(&kept) {
        Ok(json) => store.set_cursor(&notices_key(name), &json, now).await,
        Err(e) => {
            tracing::warn!("{name}: deprecation notices not kept: {e}");
            return;
        }
    };
    if let Err(e) = written {
        tracing::warn!("{name}: deprecation notices not kept: {e}");
    }
}

/// The notices kept for API `name` (none when nothing was kept, or it no longer parses).
pub(crate) async fn seen(store: &dyn Store, name: &str) -> Vec<SeenNotice> {
    match store.cursor(&notices_key(name)).await {
        Ok(Some(json)) => serde_json::from_str(&json).unwrap_or_else(|e| {
            tracing::warn!("{name}: the kept deprecation notices do not parse: {e}");
            Vec::new()
        }),
        Ok(None) => Vec::new(),
        Err(e) => {
            tracing::warn!("{name}: reading the kept deprecation notices: {e}");
            Vec::new()
        }
    }
}
