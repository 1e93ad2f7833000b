//! The views of `apiops api ...` and `apiops call`, in the three formats. JSON comes from
//! `Serialize`: every view holds only what is fit to print (credentials never reach a request
//! shown here; they are added by the client's middleware).

use std::io::{self, Write};

use apiops_config::apis::{ApiSettings, SpecLocation};
use apiops_openapi::{Answer, ApiHealth, GraphQlAnswer, Operation, Spec, WritePlan};
use serde::Serialize;

use crate::output::{self, Render};

/// `apiops api list`.
#[derive(Debug, Serialize)]
pub(crate) struct ApiListView {
    pub(crate) apis: Vec<ApiRow>,
}

/// One configured API.
#[derive(Debug, Serialize)]
pub(crate) struct ApiRow {
    name: String,
    title: Option<String>,
    openapi: Option<String>,
    api_version: Option<String>,
    operations: Option<usize>,
    auth: &'static str,
    ready: bool,
    base_url: Option<String>,
    spec: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl ApiRow {
    pub(crate) fn new(name: &str, api: &ApiSettings, spec: anyhow::Result<Option<Spec>>) -> Self {
        let (spec_ok, error) = match spec {
            Ok(s) => (s, None),
            Err(e) => (None, Some(format!("{e:#}"))),
        };
        let operations = spec_ok.as_ref().map(|s| {
            apiops_openapi::Index::build(s, api.idempotency_header.as_deref())
                .map_or(0, |i| i.operations().len())
        });
        ApiRow {
            name: name.to_owned(),
            title: spec_ok.as_ref().map(|s| s.title().to_owned()),
            openapi: spec_ok.as_ref().map(|s| s.openapi_version().to_owned()),
            api_version: spec_ok.as_ref().map(|s| s.api_version().to_owned()),
            operations,
            auth: api.scheme(),
            ready: api.ready(),
            base_url: api
                .base_url
                .as_ref()
                .or(api.graphql.as_ref())
                .map(|u| u.to_string())
                .or_else(|| {
                    spec_ok
                        .as_ref()
                        .and_then(|s| s.first_server().map(str::to_owned))
                }),
            spec: api.spec_location.as_ref().map(|l| match l {
                SpecLocation::File(p) => p.display().to_string(),
                SpecLocation::Url(u) => apiops_client::redact::display_target(u),
            }),
            error,
        }
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.title.clone().unwrap_or_default(),
            self.operations.map(|n| n.to_string()).unwrap_or_default(),
            format!(
                "{}{}",
                self.auth,
                if self.ready {
                    ""
                } else {
                    " (credentials missing)"
                }
            ),
            self.base_url.clone().unwrap_or_default(),
            match (&self.openapi, &self.api_version) {
                (Some(o), Some(v)) => format!("OpenAPI {o}, v{v}"),
                _ => self.error.clone().unwrap_or_default(),
            },
        ]
    }
}

const LIST_HEADER: [&str; 6] = ["API", "Title", "Ops", "Auth", "Base URL", "Spec"];

impl Render for ApiListView {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.apis.is_empty() {
            return writeln!(
                out,
                "No API configured: add an [apis.NAME] table to the config file (README, \"Add any API\")."
            );
        }
        let rows: Vec<Vec<String>> = self.apis.iter().map(ApiRow::cells).collect();
        writeln!(
            out,
            "{}",
            output::human_table(&LIST_HEADER, &rows).trim_fmt()
        )
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        let rows: Vec<Vec<String>> = self.apis.iter().map(ApiRow::cells).collect();
        write!(out, "{}", output::markdown_table(&LIST_HEADER, &rows))
    }
}

/// `apiops api ops`.
#[derive(Debug, Serialize)]
pub(crate) struct OpsView {
    pub(crate) api: String,
    pub(crate) operations: Vec<Operation>,
}

const OPS_HEADER: [&str; 6] = ["Operation", "Method", "Path", "Kind", "Paged", "Summary"];

impl OpsView {
    fn rows(&self) -> Vec<Vec<String>> {
        self.operations
            .iter()
            .map(|o| {
                vec![
                    o.id.clone(),
                    o.method.clone(),
                    o.path.clone(),
                    o.class.as_str().to_owned(),
                    if o.paginated() { "yes" } else { "" }.to_owned(),
                    if o.deprecated {
                        format!("(deprecated) {}", o.summary)
                    } else {
                        o.summary.clone()
                    },
                ]
            })
            .collect()
    }
}

impl Render for OpsView {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.operations.is_empty() {
            return writeln!(out, "No operation of {} matches.", self.api);
        }
        writeln!(
            out,
            "{}",
            output::human_table(&OPS_HEADER, &self.rows()).trim_fmt()
        )?;
        writeln!(
            out,
            "\n{} operation(s) of {}.",
            self.operations.len(),
            self.api
        )
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        write!(out, "{}", output::markdown_table(&OPS_HEADER, &self.rows()))
    }
}

/// One answer of `apiops call`.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub(crate) struct AnswerView(pub(crate) Answer);

fn answer_line(a: &Answer) -> String {
    let mut line = format!("HTTP {} in {} ms", a.status, a.latency_ms);
    if let (Some(r), Some(l)) = (a.headroom.remaining, a.headroom.limit) {
        line.push_str(&format!("; rate limit {r}/{l} left"));
    }
    line
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

impl Render for AnswerView {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", answer_line(&self.0))?;
        if !self.0.body.is_null() {
            writeln!(out, "{}", pretty(&self.0.body))?;
        }
        Ok(())
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "{}\n\n```json\n{}\n```",
            answer_line(&self.0),
            pretty(&self.0.body)
        )
    }
}

/// The answer of `apiops graphql`: the data, and beside it the errors of partial data.
#[derive(Debug, Serialize)]
pub(crate) struct GraphQlView {
    #[serde(flatten)]
    pub(crate) answer: GraphQlAnswer,
    /// `data` came with errors.
    pub(crate) partial: bool,
}

impl Render for GraphQlView {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", pretty(&self.answer.data))?;
        if self.answer.partial() {
            writeln!(
                out,
                "\nPartial data: {} error(s) beside it:",
                self.answer.messages.len()
            )?;
            for m in &self.answer.messages {
                writeln!(out, "  - {m}")?;
            }
        }
        Ok(())
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "```json\n{}\n```", pretty(&self.answer.data))?;
        if self.answer.partial() {
            writeln!(out, "\n**Partial data**, errors:\n")?;
            for m in &self.answer.messages {
                writeln!(out, "- {m}")?;
            }
        }
        Ok(())
    }
}

/// The plan of a write, and its answer once sent.
#[derive(Debug, Serialize)]
pub(crate) struct PlanView {
    pub(crate) plan: WritePlan,
    pub(crate) confirmed: bool,
    pub(crate) answer: Option<Answer>,
    /// Set when the journal shows the write done already (and it was not sent again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) already_done: Option<String>,
}

impl PlanView {
    fn lines(&self) -> Vec<String> {
        let p = &self.plan;
        let r = &p.request;
        let mut lines = vec![format!(
            "Plan {}: {} {} on {} ({}{})",
            p.plan_id,
            r.method,
            r.path,
            p.api,
            p.operation,
            if p.deprecated { ", deprecated" } else { "" }
        )];
        if !p.summary.is_empty() {
            lines.push(format!("  {}", p.summary));
        }
        for (k, v) in &r.query {
            lines.push(format!("  query  {k}={v}"));
        }
        for (k, v) in &r.headers {
            lines.push(format!("  header {k}: {v}"));
        }
        match &p.idempotency {
            Some((h, k)) => lines.push(format!("  idempotency: {h}: {k} (the same on a re-run)")),
            None => lines.push(
                "  idempotency: the operation declares no key header; a re-run sends it again"
                    .into(),
            ),
        }
        lines.push(if p.needs_person {
            "  confirm: a deletion: only a person may say yes (the prompt, or --yes typed)".into()
        } else {
            "  confirm: the prompt, or --yes".into()
        });
        lines
    }

    fn body(&self) -> Option<String> {
        match &self.plan.request.body {
            Some(apiops_openapi::request::Body::Json(v)) => Some(pretty(v)),
            Some(apiops_openapi::request::Body::Form(pairs)) => Some(
                pairs
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("&"),
            ),
            None => None,
        }
    }
}

impl Render for PlanView {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        for l in self.lines() {
            writeln!(out, "{l}")?;
        }
        if let Some(b) = self.body() {
            writeln!(out, "  body:\n{b}")?;
        }
        if let Some(note) = &self.already_done {
            writeln!(out, "\nNot sent: {note}")?;
        }
        if let Some(a) = &self.answer {
            writeln!(out, "\nSent: {}", answer_line(a))?;
            if !a.body.is_null() {
                writeln!(out, "{}", pretty(&a.body))?;
            }
        }
        Ok(())
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        for l in self.lines() {
            writeln!(out, "- {}", l.trim())?;
        }
        if let Some(b) = self.body() {
            writeln!(out, "\n```json\n{b}\n```")?;
        }
        if let Some(note) = &self.already_done {
            writeln!(out, "\n**Not sent**: {note}")?;
        }
        if let Some(a) = &self.answer {
            writeln!(
                out,
                "\n**Sent**: {}\n\n```json\n{}\n```",
                answer_line(a),
                pretty(&a.body)
            )?;
        }
        Ok(())
    }
}

/// `apiops api health`.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub(crate) struct HealthView(pub(crate) ApiHealth);

impl HealthView {
    fn lines(&self) -> Vec<String> {
        let h = &self.0;
        let mut lines = vec![format!(
            "{}: {} ({}{} in {} ms)",
            h.api,
            h.status,
            h.operation,
            h.http_status
                .map(|s| format!(", HTTP {s}"))
                .unwrap_or_default(),
            h.latency_ms
        )];
        match (h.headroom.remaining, h.headroom.limit) {
            (Some(r), Some(l)) => lines.push(format!("rate limit: {r}/{l} left")),
            _ => lines.push("rate limit: no rate-limit headers sent".into()),
        }
        if let Some(s) = h.headroom.retry_after_secs {
            lines.push(format!("retry after: {s} s"));
        }
        lines.extend(h.error.iter().map(|e| format!("error: {e}")));
        lines.extend(h.deprecations.iter().map(|d| format!("deprecation: {d}")));
        lines
    }
}

impl Render for HealthView {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        for l in self.lines() {
            writeln!(out, "{l}")?;
        }
        Ok(())
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        for l in self.lines() {
            writeln!(out, "- {l}")?;
        }
        Ok(())
    }
}
