//! `apiops errors NAME` and `apiops audit NAME` for a configured API: the failures apiops saw
//! calling it (kept in the event log by `apiops call`, `apiops health NAME` and the monitor),
//! grouped and ranked as the built-in services' are; and its audit — operations the document
//! marks deprecated, `Deprecation`/`Sunset` headers the API sent (kept from calls), and a base
//! URL that is plain http to a host other than loopback. Same views, same renderings, same
//! exit codes as the built-in services.

use std::time::Duration;

use anyhow::Context as _;
use apiops_config::{LoadedConfig, Locations};
use apiops_core::{ApiName, Service};
use apiops_openapi::Api;
use apiops_openapi::events::audit as audit_findings;

use super::{SpecFlags, configured, spec_error};
use crate::commands::checks;
use crate::commands::errors::MAX_JSON_EVENTS;
use crate::commands::notes::ServiceNotes;
use crate::exit::{AppError, Exit};
use crate::output::{self, Format};
use crate::report::{AuditReport, AuditView, ErrorsReport};

fn service_of(name: &str) -> anyhow::Result<Service> {
    ApiName::new(name)
        .map(Service::Api)
        .map_err(|e| AppError::Usage(e.to_string()).into())
}

/// `apiops errors NAME --since ...`.
pub(crate) fn errors(
    loaded: &LoadedConfig,
    name: &str,
    since: Duration,
    resource: Option<&str>,
    format: Format,
) -> anyhow::Result<Exit> {
    let service = service_of(name)?;
    let rt = checks::runtime()?;
    let mut view = rt.block_on(async {
        let store = checks::open_store(&loaded.settings)
            .await
            .context("the failures of a configured API are read from the event log")?;
        let keep = if format == Format::Json {
            MAX_JSON_EVENTS
        } else {
            0
        };
        apiops_ops::apis::errors_view(store.as_ref(), service, since, jiff::Timestamp::now(), keep)
            .await
            .context("reading the event log")
    })?;
    if let Some(r) = resource
        && r != "operation"
    {
        // Every failure of a configured API is about an operation.
        view.groups.clear();
        view.events.clear();
        view.total_events = 0;
        view.recommendations.clear();
    }
    let report = ErrorsReport {
        errors: view,
        notes: ServiceNotes::default(),
    };
    output::emit(format, &report).context("writing the error report")?;
    Ok(Exit::Ok)
}

/// `apiops audit NAME`: needs the document, not the credentials.
pub(crate) fn audit(
    loaded: &LoadedConfig,
    locations: &Locations,
    name: &str,
    format: Format,
) -> anyhow::Result<Exit> {
    let service = service_of(name)?;
    let api_name = service.api().context("an API's service")?;
    let flags = SpecFlags {
        refresh: false,
        allow_private_targets: false,
    };
    let rt = checks::runtime()?;
    let (settings, spec) = rt.block_on(configured(loaded, locations, name, &flags))?;
    let index = Api::index_of(&spec, settings.idempotency_header.as_deref())
        .map_err(|e| spec_error(loaded, name, e))?;
    let base = settings
        .base_url
        .as_ref()
        .map(|u| u.to_string())
        .or_else(|| spec.first_server().map(str::to_owned));
    let seen = rt.block_on(async {
        match checks::open_store(&loaded.settings).await {
            Ok(store) => apiops_ops::apis::seen(store.as_ref(), name).await,
            Err(e) => {
                tracing::warn!("the deprecation notices seen in calls are not read: {e}");
                Vec::new()
            }
        }
    });
    let findings = audit_findings(api_name, &index, base.as_deref(), &seen);
    let report = AuditReport {
        audit: AuditView {
            services: vec![service],
            findings,
            failures: vec![],
        },
        probes: vec![],
    };
    output::emit(format, &report).context("writing the audit report")?;
    Ok(Exit::Ok)
}
