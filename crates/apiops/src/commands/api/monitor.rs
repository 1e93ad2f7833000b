//! Configured APIs for `apiops serve`'s monitor: each `[apis.NAME]` with an OpenAPI document
//! and its credentials set becomes an `apiops_monitor::apis::ApiCheck` over its
//! `apiops_openapi::Api` (its health operation, as `apiops health NAME` calls it). An API that
//! cannot be built (no credentials, a document that does not load) is left out with a warning:
//! the monitor checks the rest.

use std::collections::BTreeMap;
use std::sync::Arc;

use apiops_config::{LoadedConfig, Locations};
use apiops_core::{ApiName, Health, HealthStatus, Service};
use apiops_monitor::apis::{ApiCheck, ApiChecked};
use apiops_openapi::{Api, ApiHealth};
use futures::future::BoxFuture;

use super::{SpecFlags, open};

/// One configured API the monitor checks.
struct Checked {
    service: Service,
    api: Api,
}

impl ApiCheck for Checked {
    fn health(&self) -> BoxFuture<'_, ApiChecked> {
        Box::pin(async move {
            match self.api.health().await {
                Ok(mut h) => ApiChecked {
                    event: h.event.take(),
                    health: health_of(self.service, h),
                    deprecations: self.api.client().deprecations(),
                },
                // Before sending: the health operation cannot be called as configured.
                Err(e) => ApiChecked {
                    health: Health {
                        service: self.service,
                        status: HealthStatus::Down,
                        latency_ms: None,
                        details: BTreeMap::new(),
                        warnings: Vec::new(),
                        reason: Some(e.to_string()),
                        category: Some(e.category()),
                    },
                    event: None,
                    deprecations: Vec::new(),
                },
            }
        })
    }
}

/// An API's health in the built-in services' shape (the monitor's rules read it).
pub(crate) fn health_of(service: Service, h: ApiHealth) -> Health {
    let status = match h.status {
        "ok" => HealthStatus::Operational,
        "degraded" => HealthStatus::Degraded,
        _ => HealthStatus::Down,
    };
    let mut details = BTreeMap::new();
    details.insert("operation".to_owned(), h.operation.clone());
    if let Some(s) = h.http_status {
        details.insert("http_status".to_owned(), s.to_string());
    }
    if let Some(share) = h.headroom.share() {
        details.insert(
            "rate_limit_headroom".to_owned(),
            format!("{:.1}% left", share * 100.0),
        );
    }
    Health {
        service,
        status,
        latency_ms: Some(h.latency_ms),
        details,
        warnings: h.deprecations,
        category: h.event.as_ref().map(|e| e.category),
        reason: h.error,
    }
}

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
    for (name, settings) in &loaded.settings.apis {
        if settings.spec.is_none() {
            continue;
        }
        let Ok(api_name) = ApiName::new(name) else {
            tracing::warn!("monitor: {name:?} is not an API name; not checked");
            continue;
        };
        match open(loaded, locations, name, &flags).await {
            Ok(api) => out.push((
                api_name,
                Arc::new(Checked {
                    service: Service::Api(api_name),
                    api,
                }),
            )),
            Err(e) => tracing::warn!("monitor: {name} is not checked: {e:#}"),
        }
    }
    out
}
