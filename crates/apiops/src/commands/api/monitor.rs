//! Configured APIs for `apiops serve`'s monitor: each `[apis.NAME]` (an OpenAPI document or a
//! GraphQL endpoint) with its credentials set becomes an `apiops_monitor::apis::OpenApiCheck`
//! over its `apiops_openapi::Api` (its health operation, or `query { __typename }` for a
//! GraphQL endpoint, as `apiops health NAME` calls it). An API that
//! cannot be built (no credentials, a document that does not load) is left out with a warning:
//! the monitor checks the rest.

use std::sync::Arc;

use apiops_config::{LoadedConfig, Locations};
use apiops_core::ApiName;
use apiops_monitor::apis::{ApiCheck, OpenApiCheck};

use super::{SpecFlags, open};

/// The configured APIs the monitor can check, built now (documents loaded from the cache or
/// fetched once).
pub(crate) async fn checks(
    loaded: &LoadedConfig,
    locations: &Locations,
) -> Vec<(ApiName, Arc<dyn ApiCheck>)> {
    let flags = SpecFlags {
        refresh: false,
        allow_private_targets: false,
    };
    let mut out: Vec<(ApiName, Arc<dyn ApiCheck>)> = Vec::new();
    for name in loaded.settings.apis.keys() {
        let Ok(api_name) = ApiName::new(name) else {
            tracing::warn!("monitor: {name:?} is not an API name; not checked");
            continue;
        };
        match open(loaded, locations, name, &flags).await {
            Ok(api) => out.push((api_name, Arc::new(OpenApiCheck::new(api_name, api)))),
            Err(e) => tracing::warn!("monitor: {name} is not checked: {e:#}"),
        }
    }
    out
}
