//! The resources: the latest report as Markdown (the face's [`Views`] render it) and the
//! recent events as JSON.

use super::*;

impl State {
    /// `apiops://report/latest`: health, the errors of the last 24 hours and the audit of every
    /// configured service, with recommendations.
    pub(super) async fn report_markdown(&self) -> String {
        let settings = &self.loaded.settings;
        let selected = match apiops_config::providers::select(settings, &[]) {
            Ok(s) => s,
            Err(e) => {
                return format!(
                    "# apiops report\n\n{}\n",
                    apiops_config::providers::selection_message(&e)
                );
            }
        };
        let since = tools::DEFAULT_SINCE;
        let now = jiff::Timestamp::now();
        let window = TimeWindow::last(
            jiff::SignedDuration::try_from(since).unwrap_or(jiff::SignedDuration::ZERO),
            now,
        );
        let store = self.store.as_deref().ok();
        let (health, errors, (findings, audit_failures)) = tokio::join!(
            scan::health(&selected.providers),
            scan_errors(&selected, window, store, None),
            scan::audit(&selected.providers),
        );
        let recommendations =
            apiops_providers::aggregate::recommendations(&health, &errors.groups, &findings, 10);
        let mut failures = errors.failures;
        failures.extend(audit_failures);
        let view = ReportView {
            report: Report {
                generated_at: Some(now),
                period: period_label(since),
                health,
                groups: errors.groups,
                findings,
                recommendations,
            },
            failures,
        };
        self.views.report_markdown(&view)
    }

    /// `apiops://events/recent`: the event log of the last 24 hours, newest first.
    pub(super) async fn recent_events(&self) -> Result<String, McpError> {
        let events = self
            .events(tools::DEFAULT_SINCE, None, RECENT_EVENTS)
            .await
            .map_err(|e| McpError::internal_error(e.message, None))?;
        Ok(serde_json::to_string_pretty(&json!({
            "period": period_label(tools::DEFAULT_SINCE),
            "count": events.len(),
            "events": events,
        }))
        .unwrap_or_default())
    }
}
