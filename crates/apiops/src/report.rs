//! The report views rendered: health, error audit, config audit, and the whole report in the
//! seed's Markdown format (per service: **Health**, **Period**, a table of Code / Category /
//! Count / Severity / Suggested Fix; then numbered recommendations). Human output is the same
//! content as terminal tables; JSON is the views as they serialize. The views themselves are
//! data in `apiops_providers::views` (the MCP server answers with the same JSON); the
//! terminal's additions (rate-limit waits and status pages beside the errors, probes beside
//! the audit) are here.

use std::io::{self, Write};

use apiops_core::{ErrorGroup, Finding, Health, Service};
use serde::Serialize;

pub(crate) use apiops_providers::scan::ScanFailure;
pub(crate) use apiops_providers::views::{
    AuditView, ErrorsView, HealthView, ReportView, period_label,
};

use apiops_providers::partial::UnreadWindow;
use apiops_providers::status_page::StatusPage;

use crate::commands::notes::ServiceNotes;
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

/// The lines a status page adds to a service's short list.
fn page_facts(page: &StatusPage) -> Vec<(&'static str, String)> {
    if let Some(e) = &page.error {
        return vec![(
            "warning",
            format!("status page {} could not be read: {e}", page.url),
        )];
    }
    let mut facts = vec![(
        "status",
        page.description
            .clone()
            .unwrap_or_else(|| "status unknown".to_owned()),
    )];
    if !page.components.is_empty() {
        facts.push(("components", page.components_text()));
    }
    for i in &page.incidents {
        facts.push(("incident", format!("{} ({})", i.name, i.status)));
    }
    facts
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
            let mut facts = health_facts(h);
            if let Some(page) = self.status_pages.iter().find(|p| p.service == h.service) {
                facts.extend(page_facts(page));
            }
            for (label, value) in facts {
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
        health_markdown(out, &self.services)?;
        if !self.status_pages.is_empty() {
            writeln!(out, "\n**Status pages**:\n")?;
            for page in &self.status_pages {
                writeln!(
                    out,
                    "- {}: {}",
                    page.service.display_name(),
                    page.summary().replace('\n', " ")
                )?;
            }
        }
        Ok(())
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
        errors_human(out, self, &ServiceNotes::default())
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        errors_markdown(out, self, &ServiceNotes::default())
    }
}

/// `apiops errors` as printed: the scan, and beside each service's groups the wait its rate
/// limit asks for and what its status page says. JSON: the scan's fields, plus `rate_limits`
/// and `status_pages` when there are any.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorsReport {
    #[serde(flatten)]
    pub(crate) errors: ErrorsView,
    #[serde(flatten)]
    pub(crate) notes: ServiceNotes,
}

impl Render for ErrorsReport {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        errors_human(out, &self.errors, &self.notes)
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        errors_markdown(out, &self.errors, &self.notes)
    }
}

/// The notes under one service's groups: its rate limit's wait (or that none is asked for when
/// it has rate-limit errors), and its status page.
fn service_notes(
    view: &ErrorsView,
    notes: &ServiceNotes,
    s: Service,
) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    let limited = view
        .groups
        .iter()
        .any(|g| g.service == s && g.category == apiops_core::Category::RateLimit);
    match notes.wait_of(s) {
        Some(w) => lines.push(("rate limit", w.text.clone())),
        None if limited => lines.push((
            "rate limit",
            "no wait in the headers seen now: retry with backoff".to_owned(),
        )),
        None => {}
    }
    if let Some(page) = notes.page_of(s) {
        lines.push(("status page", page.summary()));
    }
    lines
}

/// What the totals say when windows are missing: "partial: 3 time windows unread".
fn partial_note(view: &ErrorsView) -> Option<String> {
    view.partial.then(|| {
        let n = view.unread.len();
        format!(
            "partial: {n} time window{} unread",
            if n == 1 { "" } else { "s" }
        )
    })
}

/// One unread window as a line: "Twilio messages 2026-12-06T10:00:00Z to 2026-12-06T11:30:00Z:
/// reason".
fn unread_line(w: &UnreadWindow) -> String {
    format!(
        "{} {} {} to {}: {}",
        w.service.display_name(),
        w.source,
        w.from,
        w.to,
        w.reason
    )
}

/// How to read the missing windows.
const RESUME_HINT: &str = "run `apiops errors --resume` to read only these and complete the totals";

fn errors_human(out: &mut dyn Write, view: &ErrorsView, notes: &ServiceNotes) -> io::Result<()> {
    match partial_note(view) {
        Some(note) => writeln!(
            out,
            "Period: {}   events: {} ({note})",
            view.period, view.total_events
        )?,
        None => writeln!(
            out,
            "Period: {}   events: {}",
            view.period, view.total_events
        )?,
    }
    for s in &view.services {
        let groups: Vec<&ErrorGroup> = view.groups.iter().filter(|g| g.service == *s).collect();
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
        for (label, text) in service_notes(view, notes, *s) {
            writeln!(
                out,
                "{}",
                output::wrap(&text, &format!("  {label}: "), "    ")
            )?;
        }
    }
    for f in &view.failures {
        let line = format!("{} scan failed: {}", f.service.display_name(), f.error);
        writeln!(out, "\n{}", output::wrap(&line, "", "  "))?;
    }
    if !view.unread.is_empty() {
        writeln!(out, "\nUnread time windows ({RESUME_HINT}):")?;
        for w in &view.unread {
            writeln!(out, "{}", output::wrap(&unread_line(w), "  ", "    "))?;
        }
    }
    recommendations_text(out, &view.recommendations)
}

fn errors_markdown(out: &mut dyn Write, view: &ErrorsView, notes: &ServiceNotes) -> io::Result<()> {
    writeln!(out, "**Period**: {}\n", view.period)?;
    if let Some(note) = partial_note(view) {
        writeln!(
            out,
            "**Events**: {} ({note}; the counts below are partial)\n",
            view.total_events
        )?;
    }
    for s in &view.services {
        writeln!(out, "### {}\n", s.display_name())?;
        groups_markdown(out, &view.groups, *s)?;
        let lines = service_notes(view, notes, *s);
        for (label, text) in &lines {
            writeln!(out, "- **{label}**: {}", text.replace('\n', " "))?;
        }
        if !lines.is_empty() {
            writeln!(out)?;
        }
    }
    failures_markdown(out, &view.failures, "scan failed")?;
    if !view.unread.is_empty() {
        writeln!(out, "**Unread time windows** ({RESUME_HINT}):\n")?;
        for w in &view.unread {
            writeln!(out, "- {}", unread_line(w).replace('\n', " "))?;
        }
        writeln!(out)?;
    }
    recommendations_markdown(out, &view.recommendations)
}

/// The error groups of service `s` as a Markdown table, or a line saying it had none.
fn groups_markdown(out: &mut dyn Write, groups: &[ErrorGroup], s: Service) -> io::Result<()> {
    let groups: Vec<&ErrorGroup> = groups.iter().filter(|g| g.service == s).collect();
    if groups.is_empty() {
        writeln!(out, "No errors in the period.\n")
    } else {
        writeln!(
            out,
            "{}",
            output::markdown_table(&GROUP_HEADER, &group_rows(&groups))
        )
    }
}

/// One Markdown paragraph per failure: "**Twilio `what`**: the error".
fn failures_markdown(out: &mut dyn Write, failures: &[ScanFailure], what: &str) -> io::Result<()> {
    for f in failures {
        writeln!(
            out,
            "**{} {what}**: {}\n",
            f.service.display_name(),
            f.error
        )?;
    }
    Ok(())
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
        failures_markdown(out, &self.failures, "audit failed")?;
        Ok(())
    }
}

/// One webhook URL probed, and the resources that use it.
pub(crate) use apiops_providers::probe::Probed;

/// `apiops audit [--probe]`: the audit, and what each webhook URL answered.
#[derive(Debug, Serialize)]
pub(crate) struct AuditReport {
    #[serde(flatten)]
    pub(crate) audit: AuditView,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) probes: Vec<Probed>,
}

fn probe_rows(probes: &[Probed]) -> Vec<Vec<String>> {
    let sep = if output::width().is_some() {
        "\n"
    } else {
        "; "
    };
    probes
        .iter()
        .map(|p| {
            let mark = match (p.result.outcome.is_reachable(), output::symbols()) {
                (true, true) => "✓ ",
                (false, true) => "✗ ",
                _ => "",
            };
            vec![
                p.result.url.clone(),
                format!("{mark}{}", p.result.outcome.describe()),
                p.resources.join(sep),
            ]
        })
        .collect()
}

const PROBE_HEADER: [&str; 3] = ["URL", "Result", "Used by"];

impl Render for AuditReport {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        self.audit.human(out)?;
        if !self.probes.is_empty() {
            let bad = self
                .probes
                .iter()
                .filter(|p| !p.result.outcome.is_reachable())
                .count();
            writeln!(
                out,
                "\nWebhook reachability: {} URL(s), {bad} the provider cannot use",
                self.probes.len()
            )?;
            writeln!(
                out,
                "{}",
                output::human_table(&PROBE_HEADER, &probe_rows(&self.probes))
            )?;
        }
        Ok(())
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        self.audit.markdown(out)?;
        if !self.probes.is_empty() {
            writeln!(out, "### Webhook reachability\n")?;
            writeln!(
                out,
                "{}",
                output::markdown_table(&PROBE_HEADER, &probe_rows(&self.probes))
            )?;
        }
        Ok(())
    }
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
            groups_markdown(out, &r.groups, s)?;
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
        failures_markdown(out, &self.failures, "failed")?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_rate_limit_group_says_when_to_retry() {
        let group = ErrorGroup {
            service: Service::Openai,
            error_code: "rate_limit_exceeded".into(),
            category: apiops_core::Category::RateLimit,
            severity: apiops_core::Severity::Warning,
            count: 3,
            suggested_fix: "slow down".into(),
            unknown: false,
        };
        let view = ErrorsView {
            period: "Last hour".into(),
            services: vec![Service::Openai],
            total_events: 3,
            groups: vec![group],
            failures: vec![],
            partial: false,
            unread: vec![],
            recommendations: vec![],
            events: vec![],
        };
        let mut notes = ServiceNotes::default();
        let lines = service_notes(&view, &notes, Service::Openai);
        assert_eq!(
            lines,
            [(
                "rate limit",
                "no wait in the headers seen now: retry with backoff".to_owned()
            )]
        );
        let now = std::time::SystemTime::from(
            "2026-12-07T10:15:00Z"
                .parse::<jiff::Timestamp>()
                .expect("ts"),
        );
        let wait = apiops_providers::wait::RetryWait::until(now + Duration::from_secs(42), now)
            .expect("ahead");
        notes.rate_limits.push(crate::commands::notes::ServiceWait {
            service: Service::Openai,
            text: wait.describe(),
            wait,
        });
        let report = ErrorsReport {
            errors: view,
            notes,
        };
        let mut out = Vec::new();
        output::write_fitted(&mut out, crate::output::Format::Human, &report, Some(80))
            .expect("write");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(
            text.contains("rate limit: resets in 42 s, retry after 2026-12-07 10:15:42 UTC"),
            "{text}"
        );
        let json = serde_json::to_value(&report).expect("json");
        assert_eq!(json["rate_limits"][0]["resets_in_s"], 42, "{json}");
        assert_eq!(json["period"], "Last hour", "{json}");
    }
}
