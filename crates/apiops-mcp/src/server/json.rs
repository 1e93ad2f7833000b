//! How the MCP tools answer: engine errors as tool errors (each typed error matched
//! exhaustively, its category from its type), and the engine's views and outcomes as JSON and
//! one-line summaries.

use super::*;

/// A failed selection of services as a tool error: missing credentials name the service and
/// the variables; nothing configured says how to configure one.
pub(super) fn selection_error(e: &SelectError) -> ToolError {
    let message = apiops_config::providers::selection_message(e);
    match e {
        SelectError::MissingCredentials { service, variables } => {
            ToolError::new(Kind::MissingCredentials, Some(Category::Config), message)
                .with_details(json!({"service": service, "variables": variables}))
        }
        SelectError::NothingConfigured { .. } => {
            ToolError::new(Kind::NothingConfigured, Some(Category::Config), message)
        }
        SelectError::Setup { .. } => {
            ToolError::new(Kind::Internal, Some(Category::Config), message)
        }
    }
}

/// A usage report's error as a tool error, worded like [`selection_error`]'s.
pub(super) fn usage_error(e: &apiops_config::usage::UsageError) -> ToolError {
    use apiops_config::usage::UsageError;
    match e {
        UsageError::NothingConfigured { .. } => ToolError::new(
            Kind::NothingConfigured,
            Some(Category::Config),
            e.to_string(),
        ),
        UsageError::Setup { source, .. } => ToolError::new(
            Kind::Internal,
            Some(Category::Config),
            format!("{e}: {source}"),
        ),
    }
}

/// A read's error as a tool error: missing credentials name the service and the variables; a
/// provider's failure keeps the category of its type.
pub(super) fn read_error(e: ReadError) -> ToolError {
    match e {
        ReadError::Unavailable(p) => match &*p {
            apiops_providers::ProviderError::MissingCredentials { service, variables } => {
                ToolError::new(
                    Kind::MissingCredentials,
                    Some(Category::Config),
                    p.to_string(),
                )
                .with_details(json!({"service": service, "variables": variables}))
            }
            other => ToolError::provider(other),
        },
        ReadError::Client(c) => ToolError::provider(&apiops_providers::ProviderError::Client(c)),
        ReadError::NotARead(_) => {
            ToolError::new(Kind::Internal, Some(Category::Config), e.to_string())
        }
    }
}

/// An operations error as a tool error.
pub(super) fn ops_error(e: OpsError) -> ToolError {
    match e {
        OpsError::NotConfigured(m) => {
            ToolError::new(Kind::MissingCredentials, Some(Category::Config), m)
        }
        OpsError::Invalid(m) => {
            ToolError::new(Kind::InvalidArguments, Some(Category::BadParams), m)
        }
        OpsError::Ambiguous {
            question,
            candidates,
        } => ToolError::new(
            Kind::NeedsClarification,
            Some(Category::BadParams),
            question,
        )
        .with_details(json!({"candidates": candidates})),
        OpsError::Provider(e) => ToolError::provider(&e),
        OpsError::Store(e) => store_error(e),
        busy @ OpsError::Busy { .. } => ToolError::new(
            Kind::ExecutionFailed,
            Some(Category::Transient),
            busy.to_string(),
        ),
    }
}

pub(super) fn store_error(e: apiops_store::StoreError) -> ToolError {
    ToolError::new(
        Kind::StoreUnavailable,
        None,
        format!("the operations journal failed: {e}"),
    )
}

/// A scan failure with its normalized category.
pub(super) fn failure_json(f: &ScanFailure) -> Value {
    json!({"service": f.service, "error": f.error.to_string(), "category": f.category()})
}

pub(super) fn services_list(services: &[Service]) -> String {
    services
        .iter()
        .map(|s| s.display_name())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn health_summary(view: &HealthView) -> String {
    let parts: Vec<String> = view
        .services
        .iter()
        .map(|h| {
            let mut s = format!("{} {}", h.service.display_name(), h.status.as_str());
            if let Some(ms) = h.latency_ms {
                s.push_str(&format!(" ({ms} ms)"));
            }
            if let Some(r) = &h.reason {
                s.push_str(&format!(": {r}"));
            }
            s
        })
        .collect();
    format!("Overall: {}. {}", view.overall.as_str(), parts.join("; "))
}

/// The health view as JSON, each service that is not operational with its category.
pub(super) fn health_json(view: &HealthView, skipped: &[(Service, String)]) -> Value {
    let mut v = serde_json::to_value(view).unwrap_or(Value::Null);
    if let Some(services) = v.get_mut("services").and_then(Value::as_array_mut) {
        for (json, h) in services.iter_mut().zip(&view.services) {
            if h.status != HealthStatus::Operational
                && let (Some(obj), Some(category)) = (json.as_object_mut(), h.category)
            {
                obj.insert("category".into(), json!(category));
            }
        }
    }
    if let Some(obj) = v.as_object_mut() {
        obj.insert("skipped".into(), skipped_json(skipped));
    }
    v
}

/// The services left out for want of credentials, and what to set.
pub(super) fn skipped_json(skipped: &[(Service, String)]) -> Value {
    skipped
        .iter()
        .map(|(s, why)| json!({"service": s, "reason": why}))
        .collect()
}

pub(super) fn step_json(step: &apiops_ops::Step) -> Value {
    let (state, reason) = match &step.planned {
        Planned::ToDo => ("to_do", None),
        Planned::AlreadyDone { reason, .. } => ("already_done", Some(reason.clone())),
    };
    json!({
        "index": step.index,
        "description": step.action.describe(),
        "state": state,
        "reason": reason,
        "service": step.action.service(),
        "action": step.action,
    })
}

pub(super) fn outcome_lines(o: &Outcome) -> Vec<String> {
    o.items
        .iter()
        .map(|item| match &item.result {
            ItemResult::Done {
                resource_ids,
                detail,
                unchanged,
            } => {
                let mark = if *unchanged { "=" } else { "done" };
                if resource_ids.is_empty() {
                    format!("{mark} {}. {detail}", item.step + 1)
                } else {
                    format!(
                        "{mark} {}. {detail} [{}]",
                        item.step + 1,
                        resource_ids.join(", ")
                    )
                }
            }
            ItemResult::Failed { error, code, .. } => format!(
                "failed {}. {}: {}{error}",
                item.step + 1,
                item.description,
                code.as_deref().map(|c| format!("{c} ")).unwrap_or_default()
            ),
            ItemResult::Skipped { reason } => {
                format!("skipped {}. {}: {reason}", item.step + 1, item.description)
            }
        })
        .collect()
}
