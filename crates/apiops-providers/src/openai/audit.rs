//! OpenAI's configuration audit: deprecated models still offered to the organization
//! (`GET /models`), and with an admin key each active project's per-model rate limits
//! (`GET /organization/projects`, `GET /organization/projects/{id}/rate_limits`), flagging
//! limits so low they throttle any real traffic. Without an admin key, one finding says what
//! `OPENAI_ADMIN_KEY` would add; budgets and usage alerts, which no API exposes, get the
//! console-only sentence.
//!
//! A model is deprecated when `GET /models` gives it a `shutdown_date` (OpenAI's own,
//! authoritative signal) or when [`DEPRECATED_MODELS`] lists it. Which models the application
//! actually calls cannot be known from here, so a deprecated model is a prompt to check, not
//! proof of use.

use apiops_client::ClientError;
use apiops_core::{Category, Finding, Service, Severity};
use futures::StreamExt;
use jiff::civil::Date;

use super::OpenAi;
use super::classify::classify_api_error;
use super::client::{Model, OpenAiClient, Project, ProjectRateLimit, api_error};
use crate::provider::ProviderError;

/// A model OpenAI has deprecated, with the shutdown date and replacement it announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeprecatedModel {
    /// The model id, as `GET /models` lists it.
    pub id: &'static str,
    /// `YYYY-MM-DD`: from then on requests naming it fail.
    pub shutdown_date: &'static str,
    /// The model to move to.
    pub replacement: &'static str,
}

const fn dep(
    id: &'static str,
    shutdown_date: &'static str,
    replacement: &'static str,
) -> DeprecatedModel {
    DeprecatedModel {
        id,
        shutdown_date,
        replacement,
    }
}

/// Deprecations announced on OpenAI's deprecations page (platform.openai.com/docs/deprecations)
/// whose dates are settled, newest announcement last. Dates are the announced shutdowns; where
/// OpenAI later extended a date for existing users the extension is used. A `shutdown_date` from
/// `GET /models` always wins over this table, and models deprecated after it was written are
/// found through that field.
pub const DEPRECATED_MODELS: &[DeprecatedModel] = &[
    // 2023-07-06: GPT-3 and InstructGPT completion models.
    dep("text-ada-001", "2024-01-04", "gpt-3.5-turbo-instruct"),
    dep("text-babbage-001", "2024-01-04", "gpt-3.5-turbo-instruct"),
    dep("text-curie-001", "2024-01-04", "gpt-3.5-turbo-instruct"),
    dep("text-davinci-001", "2024-01-04", "gpt-3.5-turbo-instruct"),
    dep("text-davinci-002", "2024-01-04", "gpt-3.5-turbo-instruct"),
    dep("text-davinci-003", "2024-01-04", "gpt-3.5-turbo-instruct"),
    dep("ada", "2024-01-04", "babbage-002"),
    dep("babbage", "2024-01-04", "babbage-002"),
    dep("curie", "2024-01-04", "davinci-002"),
    dep("davinci", "2024-01-04", "davinci-002"),
    dep("text-davinci-edit-001", "2024-01-04", "gpt-4o"),
    dep("code-davinci-edit-001", "2024-01-04", "gpt-4o"),
    // 2023-06-13 and 2023-11-06: early chat snapshots.
    dep("gpt-4-0314", "2024-06-13", "gpt-4o"),
    dep("gpt-3.5-turbo-0301", "2024-09-13", "gpt-4o-mini"),
    dep("gpt-3.5-turbo-0613", "2024-09-13", "gpt-4o-mini"),
    dep("gpt-3.5-turbo-16k-0613", "2024-09-13", "gpt-4o-mini"),
    // 2024-06-06: GPT-4-32K and the vision previews.
    dep("gpt-4-vision-preview", "2024-12-06", "gpt-4o"),
    dep("gpt-4-1106-vision-preview", "2024-12-06", "gpt-4o"),
    dep("gpt-4-32k", "2025-06-06", "gpt-4o"),
    dep("gpt-4-32k-0314", "2025-06-06", "gpt-4o"),
    dep("gpt-4-32k-0613", "2025-06-06", "gpt-4o"),
    // 2025: previews.
    dep("gpt-4.5-preview", "2025-07-14", "gpt-4.1"),
    dep("o1-preview", "2025-07-28", "o3"),
    dep("o1-mini", "2025-10-27", "o4-mini"),
    // 2025-11: snapshots.
    dep("codex-mini-latest", "2026-01-16", "gpt-5-codex-mini"),
    dep("chatgpt-4o-latest", "2026-02-17", "gpt-5.1-chat-latest"),
];

/// Project limits below these are flagged: a handful of requests or a few thousand tokens a
/// minute throttles any real traffic (OpenAI's lowest tier allows hundreds of requests).
pub(crate) const LOW_REQUESTS_PER_MINUTE: u64 = 10;
/// See [`LOW_REQUESTS_PER_MINUTE`].
pub(crate) const LOW_TOKENS_PER_MINUTE: u64 = 10_000;

/// Shutdowns closer than this are warnings; later ones are information.
const SOON_DAYS: i32 = 180;

/// A listed model that is deprecated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListedDeprecation {
    /// The model id.
    pub(crate) id: String,
    /// `YYYY-MM-DD`, as given.
    pub(crate) shutdown_date: String,
    /// The replacement, when the table knows it.
    pub(crate) replacement: Option<&'static str>,
}

/// The deprecated models among `models` (by their `shutdown_date`, else the table).
pub(crate) fn deprecated_in(models: &[Model]) -> Vec<ListedDeprecation> {
    models
        .iter()
        .filter_map(|m| {
            let known = DEPRECATED_MODELS.iter().find(|d| d.id == m.id);
            let date = m
                .shutdown_date
                .clone()
                .filter(|d| !d.trim().is_empty())
                .or_else(|| known.map(|d| d.shutdown_date.to_owned()))?;
            Some(ListedDeprecation {
                id: m.id.clone(),
                shutdown_date: date,
                replacement: known.map(|d| d.replacement),
            })
        })
        .collect()
}

/// Audits OpenAI: deprecated models, project rate limits (admin key), console-only settings.
pub(crate) async fn run(openai: &OpenAi) -> Result<Vec<Finding>, ProviderError> {
    let models = openai.client().models().await?;
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let mut findings: Vec<Finding> = deprecated_in(&models.data)
        .iter()
        .map(|d| deprecated_finding(d, today))
        .collect();
    match openai.admin_client() {
        None => findings.push(admin_key_needed()),
        Some(admin) => findings.extend(audit_projects(admin).await),
    }
    findings.push(budget_notice());
    Ok(findings)
}

/// One deprecated model as a finding: a warning once shut down or within [`SOON_DAYS`].
pub(crate) fn deprecated_finding(d: &ListedDeprecation, today: Date) -> Finding {
    let date: Option<Date> = d.shutdown_date.trim().parse().ok();
    let (severity, when) = match date {
        Some(day) if day <= today => (Severity::Warning, format!("shut down on {day}")),
        Some(day) => {
            let days = (day - today).get_days();
            let severity = if days <= SOON_DAYS {
                Severity::Warning
            } else {
                Severity::Info
            };
            (severity, format!("shuts down on {day}"))
        }
        None => (
            Severity::Warning,
            format!("shutdown date {}", d.shutdown_date),
        ),
    };
    let replacement = match d.replacement {
        Some(r) => format!("move it to {r} (OpenAI's recommended replacement) or a current model"),
        None => "move it to the replacement on OpenAI's deprecations page".to_owned(),
    };
    Finding {
        service: Service::Openai,
        severity,
        category: Category::Config,
        resource_type: "model".to_owned(),
        resource_id: d.id.clone(),
        title: format!("Deprecated model {} is still offered ({when})", d.id),
        remediation: format!(
            "Search code, prompts and batch files for `{}`; if anything uses it, {replacement}. Requests naming a shut-down model fail with model_not_found.",
            d.id
        ),
        console_only: false,
    }
}

/// The rate-limit findings of every active project; a failure of the admin API becomes a
/// finding too, so the rest of the audit still stands.
async fn audit_projects(admin: &OpenAiClient) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut projects = std::pin::pin!(admin.projects());
    while let Some(project) = projects.next().await {
        let project = match project {
            Ok(p) => p,
            Err(e) => {
                findings.push(admin_failure("organization", "", &e));
                return findings;
            }
        };
        let limits = match admin.project_rate_limits(&project.id) {
            Ok(l) => l,
            Err(e) => {
                findings.push(admin_failure("project", &project.id, &e));
                continue;
            }
        };
        let mut limits = std::pin::pin!(limits);
        while let Some(limit) = limits.next().await {
            match limit {
                Ok(l) => findings.extend(low_limit(&project, &l)),
                Err(e) => {
                    findings.push(admin_failure("project", &project.id, &e));
                    break;
                }
            }
        }
    }
    findings
}

/// A finding when a project's limit for a model is very low.
pub(crate) fn low_limit(project: &Project, limit: &ProjectRateLimit) -> Option<Finding> {
    let rpm = limit.max_requests_per_1_minute;
    let tpm = limit.max_tokens_per_1_minute;
    if rpm >= LOW_REQUESTS_PER_MINUTE && tpm >= LOW_TOKENS_PER_MINUTE {
        return None;
    }
    let name = project
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or(&project.id);
    Some(Finding {
        service: Service::Openai,
        severity: Severity::Warning,
        category: Category::RateLimit,
        resource_type: "project".to_owned(),
        resource_id: project.id.clone(),
        title: format!(
            "Project '{name}' limits {} to {rpm} requests and {tpm} tokens per minute",
            limit.model
        ),
        remediation: format!(
            "Raise the limit (POST /organization/projects/{}/rate_limits/{}) or send this traffic to another model or project; requests above it fail with 429 rate_limit_exceeded.",
            project.id, limit.id
        ),
        console_only: false,
    })
}

/// A failed admin call as a finding, naming the code and what to do (never the message).
fn admin_failure(resource_type: &str, id: &str, e: &ClientError) -> Finding {
    let (severity, category, why) = match e {
        ClientError::Status { status, .. } => {
            let (code, class) = classify_api_error(&api_error(e).unwrap_or_default(), *status);
            (
                class.severity,
                class.category,
                format!("HTTP {status} {code}: {}", class.remediation),
            )
        }
        other => (Severity::Info, Category::Transient, other.to_string()),
    };
    Finding {
        service: Service::Openai,
        severity,
        category,
        resource_type: resource_type.to_owned(),
        resource_id: id.to_owned(),
        title: "Project settings could not be audited with OPENAI_ADMIN_KEY".to_owned(),
        remediation: why,
        console_only: false,
    }
}

/// An informational finding about the organization as a whole.
fn organization_notice(title: &str, remediation: String, console_only: bool) -> Finding {
    Finding {
        service: Service::Openai,
        severity: Severity::Info,
        category: Category::Config,
        resource_type: "organization".to_owned(),
        resource_id: String::new(),
        title: title.to_owned(),
        remediation,
        console_only,
    }
}

fn admin_key_needed() -> Finding {
    organization_notice(
        "Project settings (projects and their rate limits) were not audited: they need OPENAI_ADMIN_KEY",
        "Create an admin key (organization owners: platform.openai.com/settings/organization/admin-keys) and set OPENAI_ADMIN_KEY to audit projects and rate limits.".to_owned(),
        false,
    )
}

fn budget_notice() -> Finding {
    organization_notice(
        "Monthly budgets, usage alert thresholds and auto-recharge can only be set in the console",
        Service::Openai.console_only_notice(),
        true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(id: &str, shutdown: Option<&str>) -> Model {
        Model {
            id: id.into(),
            created: 0,
            owned_by: "system".into(),
            shutdown_date: shutdown.map(str::to_owned),
        }
    }

    fn day(s: &str) -> Date {
        s.parse().expect("date")
    }

    #[test]
    fn deprecated_models_come_from_the_listing_or_the_table() {
        let models = [
            model("gpt-4o", None),
            model("gpt-4-32k", None),
            model("gpt-5", Some("2026-12-11")),
            model("text-davinci-003", Some("2024-01-04")),
        ];
        let found = deprecated_in(&models);
        let ids: Vec<&str> = found.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["gpt-4-32k", "gpt-5", "text-davinci-003"]);
        assert_eq!(found[0].shutdown_date, "2025-06-06");
        assert_eq!(found[0].replacement, Some("gpt-4o"));
        assert_eq!(found[1].replacement, None);
    }

    #[test]
    fn severity_follows_the_shutdown_date() {
        let today = day("2026-11-25");
        let d = |date: &str| ListedDeprecation {
            id: "m".into(),
            shutdown_date: date.into(),
            replacement: None,
        };
        let past = deprecated_finding(&d("2025-06-06"), today);
        assert_eq!(past.severity, Severity::Warning);
        assert!(past.title.contains("shut down on 2025-06-06"));
        assert_eq!(
            deprecated_finding(&d("2026-12-11"), today).severity,
            Severity::Warning
        );
        assert_eq!(
            deprecated_finding(&d("2028-01-01"), today).severity,
            Severity::Info
        );
        assert_eq!(
            deprecated_finding(&d("someday"), today).severity,
            Severity::Warning
        );
        assert_eq!(past.category, Category::Config);
        assert_eq!(past.resource_type, "model");
    }

    #[test]
    fn the_table_is_well_formed() {
        let mut ids: Vec<&str> = DEPRECATED_MODELS.iter().map(|d| d.id).collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate ids");
        for d in DEPRECATED_MODELS {
            assert!(d.shutdown_date.parse::<Date>().is_ok(), "{}", d.id);
            assert!(!d.replacement.is_empty());
        }
    }

    #[test]
    fn low_limits_are_flagged() {
        let project = Project {
            id: "proj_1".into(),
            name: Some("Support bot".into()),
            status: Some("active".into()),
        };
        let limit = |rpm, tpm| ProjectRateLimit {
            id: "rl-gpt-4.1-mini".into(),
            model: "gpt-4.1-mini".into(),
            max_requests_per_1_minute: rpm,
            max_tokens_per_1_minute: tpm,
        };
        let f = low_limit(&project, &limit(3, 40_000)).expect("flagged");
        assert_eq!(f.category, Category::RateLimit);
        assert!(
            f.title
                .contains("'Support bot' limits gpt-4.1-mini to 3 requests"),
            "{}",
            f.title
        );
        assert!(f.remediation.contains("rate_limits/rl-gpt-4.1-mini"));
        assert!(low_limit(&project, &limit(500, 5_000)).is_some());
        assert!(low_limit(&project, &limit(30_000, 150_000_000)).is_none());
    }

    #[test]
    fn notices() {
        let b = budget_notice();
        assert!(b.console_only);
        assert_eq!(b.remediation, Service::Openai.console_only_notice());
        assert!(admin_key_needed().title.contains("OPENAI_ADMIN_KEY"));
        let e = ClientError::Status {
            method: "GET".into(),
            target: "x".into(),
            status: 401,
            body: r#"{"error":{"message":"Incorrect API key provided: sk-a****bcd","type":"invalid_request_error","code":"invalid_api_key"}}"#.into(),
            retry_after: None,
        };
        let f = admin_failure("organization", "", &e);
        assert_eq!(f.category, Category::Auth);
        assert!(!f.remediation.contains("sk-a"));
    }
}
