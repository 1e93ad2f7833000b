//! The report views: health, error audit, config audit, and the whole [`Report`] in the seed's
//! Markdown format (per service: **Health**, **Period**, a table of Code / Category / Count /
//! Severity / Suggested Fix; then numbered recommendations). Human output is the same content
//! as terminal tables; JSON is the `apiops_core` types as they serialize.

use std::io::{self, Write};

use apiops_core::{ErrorGroup, Finding, Health, HealthStatus, Report, Service};
use serde::Serialize;

use crate::output::{self, Render};

/// A health line for one service: "✓ Operational (123 ms)".
fn health_summary(h: &Health) -> String {
    let mut s = h.status.label().to_owned();
    if let Some(ms) = h.latency_ms {
        s.push_str(&format!(" ({ms} ms)"));
    }
    s
}

fn details_text(h: &Health) -> String {
    h.details
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The short list a person reads per service: the problem, balance or quota, rate-limit
/// headroom with its reset, breakers that are not closed, warnings. Markdown and JSON keep
/// every detail.
pub(crate) fn health_facts(h: &Health) -> Vec<(&'static str, String)> {
    let d = &h.details;
    let mut facts: Vec<(&'static str, String)> = Vec::new();
    if let Some(reason) = &h.reason {
        facts.push(("problem", reason.clone()));
    }
    if let Some(balance) = d.get("balance") {
        let currency = d
            .get("currency")
            .map(|c| format!(" {c}"))
            .unwrap_or_default();
        facts.push(("balance", format!("{balance}{currency}")));
    }
    let money: Vec<String> = ["available", "pending"]
        .iter()
        .filter_map(|k| d.get(*k).map(|v| format!("{k} {v}")))
        .collect();
    if !money.is_empty() {
        facts.push(("balance", money.join(", ")));
    }
    for (key, value) in d {
        if let Some(name) = key.strip_suffix("_headroom") {
            facts.push(("headroom", format!("{name} {value}")));
        }
    }
    if let Some(paused) = d.get("paused_for") {
        facts.push(("paused", format!("requests held for {paused}")));
    }
    for (key, value) in d {
        if key.starts_with("breaker") && value != "closed" {
            let which = key
                .strip_prefix("breaker.")
                .map(|n| format!("{n} "))
                .unwrap_or_default();
            facts.push(("breaker", format!("{which}{value}")));
        }
    }
    for w in &h.warnings {
        facts.push(("warning", w.clone()));
    }
    facts
}

/// `apiops health`.
#[derive(Debug, Serialize)]
pub(crate) struct HealthView {
    /// The overall status (the worst of the services).
    pub(crate) overall: HealthStatus,
    /// One entry per service checked.
    pub(crate) services: Vec<Health>,
}

impl HealthView {
    pub(crate) fn new(services: Vec<Health>) -> Self {
        let overall = services
            .iter()
            .map(|h| h.status)
            .max()
            .unwrap_or(HealthStatus::Operational);
        HealthView { overall, services }
    }
}

impl Render for HealthView {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        for (i, h) in self.services.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            let mut head = format!(
                "{}  {}",
                h.service.display_name(),
                output::status_label(h.status)
            );
            if let Some(ms) = h.latency_ms {
                head.push_str(&format!("  {ms} ms"));
            }
            writeln!(out, "{head}")?;
            for (label, value) in health_facts(h) {
                writeln!(
                    out,
                    "{}",
                    output::wrap(&value, &format!("  {label:<10} "), &" ".repeat(13))
                )?;
            }
        }
        writeln!(out, "\nOverall: {}", output::status_label(self.overall))?;
        if output::width().is_some() {
            writeln!(
                out,
                "{}",
                output::wrap(
                    "Every detail: apiops health --format md (or --json).",
                    "",
                    ""
                )
            )?;
        }
        Ok(())
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "**Health**: {}\n", self.overall.label())?;
        health_markdown(out, &self.services)
    }
}

fn health_markdown(out: &mut dyn Write, services: &[Health]) -> io::Result<()> {
    let rows: Vec<Vec<String>> = services
        .iter()
        .map(|h| {
            let mut notes: Vec<String> = h.reason.iter().cloned().collect();
            notes.extend(h.warnings.iter().cloned());
            vec![
                h.service.display_name().to_owned(),
                health_summary(h),
                details_text(h),
                notes.join("; "),
            ]
        })
        .collect();
    write!(
        out,
        "{}",
        output::markdown_table(&["Service", "Health", "Details", "Notes"], &rows)
    )
}

/// `apiops errors`.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorsView {
    /// "Last 24 hours".
    pub(crate) period: String,
    /// Services scanned.
    pub(crate) services: Vec<Service>,
    /// Events found in all.
    pub(crate) total_events: u64,
    /// Groups, ranked.
    pub(crate) groups: Vec<ErrorGroup>,
    /// Services whose scan failed, with the reason.
    pub(crate) failures: Vec<ScanFailure>,
    /// Numbered recommendations.
    pub(crate) recommendations: Vec<String>,
    /// The events themselves (JSON only; capped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) events: Vec<apiops_core::ErrorEvent>,
}

/// A service whose scan could not finish.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ScanFailure {
    pub(crate) service: Service,
    pub(crate) error: String,
    /// The category of the typed error it came from.
    pub(crate) category: apiops_core::Category,
}

fn group_rows(groups: &[&ErrorGroup]) -> Vec<Vec<String>> {
    groups
        .iter()
        .map(|g| {
            vec![
                if g.unknown {
                    format!("{} (unknown)", g.error_code)
                } else {
                    g.error_code.clone()
                },
                g.category.to_string(),
                g.count.to_string(),
                g.severity.to_string(),
                g.suggested_fix.clone(),
            ]
        })
        .collect()
}

const GROUP_HEADER: [&str; 5] = ["Code", "Category", "Count", "Severity", "Suggested Fix"];

impl Render for ErrorsView {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "Period: {}   events: {}",
            self.period, self.total_events
        )?;
        for s in &self.services {
            let groups: Vec<&ErrorGroup> = self.groups.iter().filter(|g| g.service == *s).collect();
            writeln!(out, "\n{}", s.display_name())?;
            if groups.is_empty() {
                writeln!(out, "  no errors in the period")?;
            } else {
                writeln!(
                    out,
                    "{}",
                    output::human_table(&GROUP_HEADER, &group_rows(&groups))
                )?;
            }
        }
        for f in &self.failures {
            let line = format!("{} scan failed: {}", f.service.display_name(), f.error);
            writeln!(out, "\n{}", output::wrap(&line, "", "  "))?;
        }
        recommendations_text(out, &self.recommendations)
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "**Period**: {}\n", self.period)?;
        for s in &self.services {
            let groups: Vec<&ErrorGroup> = self.groups.iter().filter(|g| g.service == *s).collect();
            writeln!(out, "### {}\n", s.display_name())?;
            if groups.is_empty() {
                writeln!(out, "No errors in the period.\n")?;
            } else {
                writeln!(
                    out,
                    "{}",
                    output::markdown_table(&GROUP_HEADER, &group_rows(&groups))
                )?;
            }
        }
        for f in &self.failures {
            writeln!(
                out,
                "**{} scan failed**: {}\n",
                f.service.display_name(),
                f.error
            )?;
        }
        recommendations_markdown(out, &self.recommendations)
    }
}

fn recommendations_text(out: &mut dyn Write, recs: &[String]) -> io::Result<()> {
    if recs.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nRecommendations:")?;
    for (i, r) in recs.iter().enumerate() {
        let number = format!("{}. ", i + 1);
        let indent = " ".repeat(number.len());
        writeln!(out, "{}", output::wrap(r, &number, &indent))?;
    }
    Ok(())
}

fn recommendations_markdown(out: &mut dyn Write, recs: &[String]) -> io::Result<()> {
    if recs.is_empty() {
        return Ok(());
    }
    writeln!(out, "**Recommendations**:\n")?;
    for (i, r) in recs.iter().enumerate() {
        writeln!(out, "{}. {}", i + 1, r.replace('\n', " "))?;
    }
    Ok(())
}

fn finding_rows(findings: &[&Finding]) -> Vec<Vec<String>> {
    // Fitted to a terminal, the resource's type and id go on lines of their own so that the
    // column can be as narrow as an id.
    let sep = if output::width().is_some() { "\n" } else { " " };
    findings
        .iter()
        .map(|f| {
            vec![
                f.severity.to_string(),
                format!("{}{sep}{}", f.resource_type, f.resource_id),
                f.title.clone(),
                f.remediation.clone(),
            ]
        })
        .collect()
}

const FINDING_HEADER: [&str; 4] = ["Severity", "Resource", "Finding", "Fix"];

/// `apiops audit`.
#[derive(Debug, Serialize)]
pub(crate) struct AuditView {
    pub(crate) services: Vec<Service>,
    pub(crate) findings: Vec<Finding>,
    pub(crate) failures: Vec<ScanFailure>,
}

impl Render for AuditView {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        for s in &self.services {
            let f: Vec<&Finding> = self.findings.iter().filter(|f| f.service == *s).collect();
            writeln!(out, "{} — {} finding(s)", s.display_name(), f.len())?;
            if !f.is_empty() {
                writeln!(
                    out,
                    "{}",
                    output::human_table(&FINDING_HEADER, &finding_rows(&f))
                )?;
            }
        }
        for f in &self.failures {
            let line = format!("{} audit failed: {}", f.service.display_name(), f.error);
            writeln!(out, "{}", output::wrap(&line, "", "  "))?;
        }
        Ok(())
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        for s in &self.services {
            let f: Vec<&Finding> = self.findings.iter().filter(|f| f.service == *s).collect();
            writeln!(out, "### {} configuration\n", s.display_name())?;
            if f.is_empty() {
                writeln!(out, "No findings.\n")?;
            } else {
                writeln!(
                    out,
                    "{}",
                    output::markdown_table(&FINDING_HEADER, &finding_rows(&f))
                )?;
            }
        }
        for f in &self.failures {
            writeln!(
                out,
                "**{} audit failed**: {}\n",
                f.service.display_name(),
                f.error
            )?;
        }
        Ok(())
    }
}

/// The whole report (`apiops demo`, `apiops report`): per service the seed's format.
#[derive(Debug, Serialize)]
pub(crate) struct ReportView {
    #[serde(flatten)]
    pub(crate) report: Report,
    pub(crate) failures: Vec<ScanFailure>,
}

impl Render for ReportView {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        self.markdown(out)
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        let r = &self.report;
        writeln!(out, "# apiops report\n")?;
        writeln!(out, "**Health**: {}", r.overall_status().label())?;
        writeln!(out, "**Period**: {}\n", r.period)?;
        for h in &r.health {
            let s = h.service;
            writeln!(out, "## {}\n", s.display_name())?;
            writeln!(out, "**Health**: {}", health_summary(h))?;
            writeln!(out, "**Period**: {}\n", r.period)?;
            let details = details_text(h);
            if !details.is_empty() {
                writeln!(out, "{details}\n")?;
            }
            for w in h.reason.iter().chain(h.warnings.iter()) {
                writeln!(out, "- ⚠ {w}")?;
            }
            if h.reason.is_some() || !h.warnings.is_empty() {
                writeln!(out)?;
            }
            let groups: Vec<&ErrorGroup> = r.groups.iter().filter(|g| g.service == s).collect();
            if groups.is_empty() {
                writeln!(out, "No errors in the period.\n")?;
            } else {
                writeln!(
                    out,
                    "{}",
                    output::markdown_table(&GROUP_HEADER, &group_rows(&groups))
                )?;
            }
            let findings: Vec<&Finding> = r.findings.iter().filter(|f| f.service == s).collect();
            if !findings.is_empty() {
                writeln!(out, "**Configuration**:\n")?;
                writeln!(
                    out,
                    "{}",
                    output::markdown_table(&FINDING_HEADER, &finding_rows(&findings))
                )?;
            }
        }
        for f in &self.failures {
            writeln!(
                out,
                "**{} failed**: {}\n",
                f.service.display_name(),
                f.error
            )?;
        }
        writeln!(out, "## Recommendations\n")?;
        if r.recommendations.is_empty() {
            writeln!(out, "Nothing to do.")?;
        }
        for (i, rec) in r.recommendations.iter().enumerate() {
            writeln!(out, "{}. {}", i + 1, rec.replace('\n', " "))?;
        }
        Ok(())
    }
}

/// "Last 24 hours", "Last 6 hours", "Last 30 minutes", "Last 7 days".
pub(crate) fn period_label(span: std::time::Duration) -> String {
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
}
