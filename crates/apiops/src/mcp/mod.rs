//! `apiops mcp` and `/mcp`: the MCP server is the `apiops-mcp` crate (re-exported here as
//! `confirm`, `http`, `stdio`, [`ApiopsMcp`], [`Options`]); this module gives it the binary's
//! renderers ([`TerminalViews`]): the whole report as the Markdown `apiops report` prints, a
//! read's answer as the table `apiops twilio|stripe|openai ...` prints.

use std::sync::Arc;

use apiops_ops::{Operation, ReadAnswer};
use apiops_providers::views::ReportView;
use serde_json::Value;

pub(crate) use apiops_mcp::{ApiopsMcp, Options, confirm, http, stdio};

use crate::output::{self, Format};

/// The binary's report views and tables, as the MCP server shows them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TerminalViews;

impl TerminalViews {
    /// Shared by every session of the server.
    pub(crate) fn shared() -> Arc<dyn apiops_mcp::Views> {
        Arc::new(TerminalViews)
    }
}

impl apiops_mcp::Views for TerminalViews {
    fn report_markdown(&self, report: &ReportView) -> String {
        let mut out = Vec::new();
        if let Err(e) = output::write_to(&mut out, Format::Md, report) {
            return format!("# apiops report\n\nrendering failed: {e}\n");
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    fn read_table(&self, op: &Operation, answer: ReadAnswer) -> Value {
        serde_json::to_value(crate::commands::ops::list_view(op, answer)).unwrap_or(Value::Null)
    }
}
