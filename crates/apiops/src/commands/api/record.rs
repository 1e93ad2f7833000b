//! What calls to a configured API leave in the store for `apiops errors NAME` and
//! `apiops audit NAME` (`apiops_ops::apis`): opens the store only when there is something to
//! keep. Best effort: a store that cannot be opened is a warning, never the command's failure.

use apiops_config::Settings;
use apiops_core::ErrorEvent;
use apiops_openapi::Api;

use crate::commands::checks;

/// Keeps `failure` (when there is one) and the notices `api` has seen.
pub(crate) async fn keep(settings: &Settings, api: &Api, failure: Option<ErrorEvent>) {
    let now = jiff::Timestamp::now();
    let notices = api.notices(now);
    if failure.is_none() && notices.is_empty() {
        return;
    }
    match checks::open_store(settings).await {
        Ok(store) => {
            apiops_ops::apis::keep(store.as_ref(), api.name(), failure, notices, now).await
        }
        Err(e) => tracing::warn!("{}: the failure was not recorded: {e}", api.name()),
    }
}
