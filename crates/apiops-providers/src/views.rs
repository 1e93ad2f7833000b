//! The results of the checks across services as every face shows them: [`HealthView`],
//! [`ErrorsView`], [`AuditView`] and the whole [`ReportView`], with [`period_label`]. Data
//! only: JSON is how they serialize; the binary renders them for a terminal and as Markdown
//! (its `report.rs`), and the MCP server answers with their JSON.

use apiops_core::{ErrorGroup, Finding, Health, HealthStatus, Report, Service};
use serde::Serialize;

use crate::partial::UnreadWindow;
use crate::scan::ScanFailure;
use crate::status_page::StatusPage;

/// `apiops health`.
#[derive(Debug, Serialize)]
pub struct HealthView {
    /// The overall status (the worst of the services).
    pub overall: HealthStatus,
    /// One entry per service checked.
    pub services: Vec<Health>,
    /// What each provider's public status page says (context: never part of the verdict).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub status_pages: Vec<StatusPage>,
}

impl HealthView {
    /// The view of these results; the overall status is the worst of them.
    pub fn new(services: Vec<Health>) -> Self {
        let overall = services
            .iter()
            .map(|h| h.status)
            .max()
            .unwrap_or(HealthStatus::Operational);
        HealthView {
            overall,
            services,
            status_pages: vec![],
        }
    }

    /// With the providers' status pages.
    pub fn with_status_pages(mut self, pages: Vec<StatusPage>) -> Self {
        self.status_pages = pages;
        self
    }
}

/// `apiops errors`.
#[derive(Debug, Serialize)]
pub struct ErrorsView {
    /// "Last 24 hours".
    pub period: String,
    /// Services scanned.
    pub services: Vec<Service>,
    /// Events found in all.
    pub total_events: u64,
    /// Groups, ranked.
    pub groups: Vec<ErrorGroup>,
    /// Services whose scan failed, with the reason.
    pub failures: Vec<ScanFailure>,
    /// Whether the totals and groups are partial: some time windows could not be read (they
    /// are listed in `unread`; `apiops errors --resume` reads them).
    pub partial: bool,
    /// The windows that could not be read: service, source, time range and reason.
    pub unread: Vec<UnreadWindow>,
    /// Numbered recommendations.
    pub recommendations: Vec<String>,
    /// The events themselves (JSON only; capped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<apiops_core::ErrorEvent>,
}

impl ErrorsView {
    /// The view of failures already in the event log (a configured API's, which apiops saw
    /// calling it): grouped and ranked as a scan's are, `fix` naming each category's fix, the
    /// last `keep_events` events kept (oldest first). Never partial: the log is read whole.
    pub fn of_logged(
        service: Service,
        span: std::time::Duration,
        events: Vec<apiops_core::ErrorEvent>,
        fix: impl Fn(apiops_core::Category) -> &'static str,
        keep_events: usize,
    ) -> Self {
        let mut agg = crate::aggregate::Aggregator::new();
        for e in &events {
            agg.push(e, fix(e.category), true);
        }
        let total_events = agg.total();
        let groups = agg.finish();
        let skip = events.len().saturating_sub(keep_events);
        ErrorsView {
            period: period_label(span),
            services: vec![service],
            total_events,
            recommendations: crate::aggregate::recommendations(&[], &groups, &[], 10),
            groups,
            failures: vec![],
            partial: false,
            unread: vec![],
            events: events.into_iter().skip(skip).collect(),
        }
    }
}

/// `apiops audit`.
#[derive(Debug, Serialize)]
pub struct AuditView {
    /// Services audited.
    pub services: Vec<Service>,
    /// What the audit found, most severe first.
    pub findings: Vec<Finding>,
    /// Services whose audit failed, with the reason.
    pub failures: Vec<ScanFailure>,
}

/// The whole report (`apiops demo`, `apiops report`, the MCP resource
/// `apiops://report/latest`): per service the seed's format.
#[derive(Debug, Serialize)]
pub struct ReportView {
    /// Health, groups, findings and recommendations.
    #[serde(flatten)]
    pub report: Report,
    /// Services whose scan or audit failed.
    pub failures: Vec<ScanFailure>,
}

/// "Last 24 hours", "Last 6 hours", "Last 30 minutes", "Last 7 days".
pub fn period_label(span: std::time::Duration) -> String {
    let secs = span.as_secs();
    let (n, unit) = if secs.is_multiple_of(86_400) && secs >= 2 * 86_400 {
        (secs / 86_400, "days")
    } else if secs.is_multiple_of(3600) && secs >= 3600 {
        (secs / 3600, if secs == 3600 { "hour" } else { "hours" })
    } else if secs >= 60 {
        (secs / 60, "minutes")
    } else {
        (secs, "seconds")
    };
    if n == 1 {
        format!("Last {unit}")
    } else {
        format!("Last {n} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn periods_read_naturally() {
        assert_eq!(period_label(Duration::from_secs(86_400)), "Last 24 hours");
        assert_eq!(period_label(Duration::from_secs(6 * 3600)), "Last 6 hours");
        assert_eq!(period_label(Duration::from_secs(3600)), "Last hour");
        assert_eq!(period_label(Duration::from_secs(7 * 86_400)), "Last 7 days");
        assert_eq!(
            period_label(Duration::from_secs(30 * 60)),
            "Last 30 minutes"
        );
    }

    #[test]
    fn overall_health_is_the_worst_service() {
        let h = |service, status| Health {
            service,
            status,
            latency_ms: None,
            details: Default::default(),
            warnings: vec![],
            reason: None,
            category: None,
        };
        let view = HealthView::new(vec![
            h(Service::Twilio, HealthStatus::Operational),
            h(Service::Stripe, HealthStatus::Degraded),
        ]);
        assert_eq!(view.overall, HealthStatus::Degraded);
        assert_eq!(HealthView::new(vec![]).overall, HealthStatus::Operational);
    }
}
