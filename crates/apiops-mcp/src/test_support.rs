//! What the unit tests share: views that render plainly (the binary's renderers are not here).

use std::sync::Arc;

use apiops_ops::{Operation, ReadAnswer};
use apiops_providers::views::ReportView;
use serde_json::{Value, json};

use crate::Views;

/// The report as its JSON in a Markdown heading, a read's answer as its operation's name.
#[derive(Debug)]
pub(crate) struct PlainViews;

impl Views for PlainViews {
    fn report_markdown(&self, report: &ReportView) -> String {
        format!(
            "# apiops report\n\n{}\n",
            serde_json::to_string(report).unwrap_or_default()
        )
    }

    fn read_table(&self, op: &Operation, _answer: ReadAnswer) -> Value {
        json!({"operation": op.kind().name(), "rows": []})
    }
}

/// [`PlainViews`], shared.
pub(crate) fn views() -> Arc<dyn Views> {
    Arc::new(PlainViews)
}
