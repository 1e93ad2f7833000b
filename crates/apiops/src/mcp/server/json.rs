//! How the MCP tools answer: engine errors as tool errors (with their category from the typed
//! error), and the engine's views and outcomes as JSON and one-line summaries.

use super::*;

/// A selection error from `checks::select` as a tool error.
pub(super) fn selection_error(e: &anyhow::Error) -> ToolError {
    match e.downcast_ref::<AppError>() {
        Some(AppError::MissingCredentials { service, variables }) => ToolError::new(
            Kind::MissingCredentials,
            Some(Category::Config),
            e.to_string(),
        )
        .with_details(json!({"service": service, "variables": variables})),
        Some(AppError::NothingConfigured(m)) => {
            ToolError::new(Kind::NothingConfigured, Some(Category::Config), m.clone())
        }
        _ => ToolError::new(Kind::Internal, Some(Category::Config), format!("{e:#}")),
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
        OpsError::Provider { message, category } => ToolError::provider(message, category),
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

/// The category of the typed provider or client error inside `e` (never read from its text);
/// `transient` when there is none.
pub(super) fn typed_category(e: &anyhow::Error) -> Category {
    e.chain()
        .find_map(|c| {
            c.downcast_ref::<apiops_providers::ProviderError>()
                .map(apiops_providers::ProviderError::category)
                .or_else(|| {
                    c.downcast_ref::<apiops_client::ClientError>()
                        .map(apiops_client::ClientError::category)
                })
                .or_else(|| {
                    c.downcast_ref::<apiops_ops::ReadError>()
                        .map(apiops_ops::ReadError::category)
                })
        })
        .unwrap_or(Category::Transient)
}

/// A scan failure with its normalized category.
pub(super) fn failure_json(f: &ScanFailure) -> Value {
    json!({"service": f.service, "error": f.error, "category": f.category})
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
