//! The checks MCP answers at once: the error audit, the configuration audit (whole, or its
//! webhook part) and webhook issues (both side by side, as `apiops do "stripe webhook issues"`
//! shows them), each as a one-line summary and the JSON the CLI's `--json` prints.

use super::*;

impl State {
    pub(super) async fn error_audit(
        &self,
        services: &[Service],
        since: Duration,
        resource: Option<&str>,
    ) -> Result<CallToolResult, ToolError> {
        let (summary, value) = self.error_audit_parts(services, since, resource).await?;
        Ok(success(summary, value))
    }

    /// The error audit's one-line summary and its JSON.
    async fn error_audit_parts(
        &self,
        services: &[Service],
        since: Duration,
        resource: Option<&str>,
    ) -> Result<(String, Value), ToolError> {
        let (view, stored, scanned, skipped) = self.errors_view(services, since, resource).await?;
        let mut value = serde_json::to_value(&view).unwrap_or(Value::Null);
        value["failures"] = view.failures.iter().map(failure_json).collect();
        value["recorded_events"] = json!(stored);
        value["skipped"] = skipped_json(&skipped);
        let top: Vec<String> = view
            .groups
            .iter()
            .take(3)
            .map(|g| format!("{} {} {} x{}", g.service, g.error_code, g.category, g.count))
            .collect();
        let mut summary = format!(
            "{}: {} failure(s) in {} group(s) across {}",
            view.period,
            view.total_events,
            view.groups.len(),
            services_list(&view.services)
        );
        if !top.is_empty() {
            summary.push_str(&format!("; top: {}", top.join(", ")));
        }
        for f in &view.failures {
            summary.push_str(&format!(
                "; {} scan failed: {}",
                f.service.display_name(),
                f.error
            ));
        }
        if view.partial {
            summary.push_str(&format!(
                "; partial: {} time window(s) could not be read (listed in `unread`)",
                view.unread.len()
            ));
        }
        // Every service failed: nothing was audited, which is a failure of the call.
        let distinct_failed: std::collections::BTreeSet<Service> =
            view.failures.iter().map(|f| f.service).collect();
        if scanned > 0 && distinct_failed.len() == scanned && view.total_events == 0 {
            let first = &view.failures[0];
            return Err(ToolError::new(
                Kind::ProviderError,
                Some(first.category()),
                format!("the error audit failed for every service: {}", first.error),
            )
            .with_details(value));
        }
        Ok((summary, value))
    }

    pub(super) async fn config_audit(
        &self,
        services: &[Service],
        webhooks_only: bool,
    ) -> Result<CallToolResult, ToolError> {
        let (summary, value) = self.config_audit_parts(services, webhooks_only).await?;
        Ok(success(summary, value))
    }

    /// Webhook issues, as `apiops do "stripe webhook issues"` shows them: the error audit and
    /// the webhook part of the configuration audit, side by side.
    pub(super) async fn webhook_issues(
        &self,
        services: &[Service],
        since: Duration,
    ) -> Result<CallToolResult, ToolError> {
        let (errors_summary, errors) = self.error_audit_parts(services, since, None).await?;
        let (config_summary, config) = self.config_audit_parts(services, true).await?;
        Ok(success(
            format!("errors: {errors_summary}; webhook configuration: {config_summary}"),
            json!({"errors": errors, "webhook_config": config}),
        ))
    }

    /// The configuration audit's one-line summary and its JSON; `webhooks_only` keeps the
    /// findings about webhook URLs and endpoints.
    async fn config_audit_parts(
        &self,
        services: &[Service],
        webhooks_only: bool,
    ) -> Result<(String, Value), ToolError> {
        let selected = self.select(services)?;
        let (mut findings, failures) = scan::audit(&selected.providers).await;
        if webhooks_only {
            findings.retain(apiops_providers::webhook_url::about_webhooks);
        }
        let view = AuditView {
            services: selected.providers.iter().map(|p| p.service()).collect(),
            findings,
            failures,
        };
        let mut value = serde_json::to_value(&view).unwrap_or(Value::Null);
        value["failures"] = view.failures.iter().map(failure_json).collect();
        value["skipped"] = skipped_json(&selected.skipped);
        let mut by_severity: std::collections::BTreeMap<String, usize> = Default::default();
        for f in &view.findings {
            *by_severity.entry(f.severity.to_string()).or_default() += 1;
        }
        let counts: Vec<String> = by_severity
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        let mut summary = format!(
            "{} finding(s) across {}",
            view.findings.len(),
            services_list(&view.services)
        );
        if !counts.is_empty() {
            summary.push_str(&format!(" ({})", counts.join(", ")));
        }
        for f in &view.failures {
            summary.push_str(&format!(
                "; {} audit failed: {}",
                f.service.display_name(),
                f.error
            ));
        }
        if !view.failures.is_empty() && view.failures.len() == view.services.len() {
            let first = &view.failures[0];
            return Err(ToolError::new(
                Kind::ProviderError,
                Some(first.category()),
                format!(
                    "the configuration audit failed for every service: {}",
                    first.error
                ),
            )
            .with_details(value));
        }
        Ok((summary, value))
    }
}
