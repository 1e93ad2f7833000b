//! Rendering results for a person or a program: `human` (plain tables), `md` (Markdown) and
//! `json` (one JSON document). A command builds a view — a struct holding only what may be shown,
//! secrets already masked — implements [`Render`] for it, and hands it to [`emit`]. Everything
//! goes to stdout through `anstream`, which drops color when stdout is not a terminal or
//! `NO_COLOR` is set; logs and errors go to stderr elsewhere.
//!
//! This module decides how things look, not what they say.

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};
use comfy_table::{Table, presets};
use serde::{Deserialize, Serialize};

/// How results are printed (`--format`, `output.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Format {
    /// Plain tables for a terminal.
    Human,
    /// Markdown, for tickets, chat and reports.
    #[serde(alias = "markdown")]
    #[value(alias = "markdown")]
    Md,
    /// One JSON document, for programs and agents.
    Json,
}

/// When to color output (`--color`, `output.color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ColorMode {
    /// Color when writing to a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always color, even into a pipe.
    Always,
    /// Never color.
    Never,
}

impl ColorMode {
    /// Makes every later `anstream` write follow this choice.
    pub(crate) fn apply(self) {
        let choice = match self {
            ColorMode::Auto => anstream::ColorChoice::Auto,
            ColorMode::Always => anstream::ColorChoice::Always,
            ColorMode::Never => anstream::ColorChoice::Never,
        };
        choice.write_global();
    }
}

/// The style of a warning line.
pub(crate) const WARNING: Style = AnsiColor::Yellow.on_default().bold();
/// The style of something missing or failed.
pub(crate) const BAD: Style = AnsiColor::Red.on_default().bold();
/// The style of something present and fine.
pub(crate) const GOOD: Style = AnsiColor::Green.on_default();

/// A view that can be shown in each format. JSON comes from `Serialize`, so a view must never
/// hold anything that is not fit to print.
pub(crate) trait Render: Serialize {
    /// Writes the view for a terminal.
    fn human(&self, out: &mut dyn Write) -> io::Result<()>;
    /// Writes the view as Markdown.
    fn markdown(&self, out: &mut dyn Write) -> io::Result<()>;
}

/// Writes `view` to stdout in `format`.
pub(crate) fn emit(format: Format, view: &impl Render) -> io::Result<()> {
    let mut out = anstream::stdout().lock();
    write_to(&mut out, format, view)?;
    out.flush()
}

/// Writes `view` to `out` in `format`; [`emit`] without the terminal, for tests.
pub(crate) fn write_to(out: &mut dyn Write, format: Format, view: &impl Render) -> io::Result<()> {
    match format {
        Format::Human => view.human(out),
        Format::Md => view.markdown(out),
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, view)?;
            writeln!(out)
        }
    }
}

/// A borderless table with a header row, for human output.
pub(crate) fn human_table(header: &[&str], rows: &[Vec<String>]) -> Table {
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    table.set_header(header.iter().map(|h| h.to_uppercase()));
    for row in rows {
        table.add_row(row);
    }
    // Two spaces between columns and none at the left edge, like `ls -l` or `kubectl get`.
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    table
}

/// A Markdown table, cells escaped so that a `|` or a newline in a value cannot break it.
pub(crate) fn markdown_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let line = |cells: &mut dyn Iterator<Item = String>| {
        let mut text = String::from("|");
        for cell in cells {
            text.push(' ');
            text.push_str(&cell);
            text.push_str(" |");
        }
        text.push('\n');
        text
    };
    let mut text = line(&mut header.iter().map(|h| escape_markdown_cell(h)));
    text.push_str(&line(&mut header.iter().map(|_| "---".to_owned())));
    for row in rows {
        text.push_str(&line(&mut row.iter().map(|c| escape_markdown_cell(c))));
    }
    text
}

fn escape_markdown_cell(cell: &str) -> String {
    cell.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn markdown_table_escapes_cells() {
        let rows = [cells(&["x|y", "line\nbreak"]), cells(&["", "z"])];
        let text = markdown_table(&["a", "b"], &rows);
        assert_eq!(
            text,
            "| a | b |\n| --- | --- |\n| x\\|y | line break |\n|  | z |\n"
        );
    }

    #[test]
    fn human_table_has_an_uppercase_header_and_no_borders() {
        let text = human_table(&["name", "value"], &[cells(&["one", "1"])]).to_string();
        assert!(text.contains("NAME"), "{text}");
        assert!(text.contains("one"), "{text}");
        assert!(!text.contains('|') && !text.contains('+'), "{text}");
    }

    #[test]
    fn formats_parse_from_config_spellings() {
        let f: Format = serde_json::from_str("\"markdown\"").expect("alias");
        assert_eq!(f, Format::Md);
        let f: Format = serde_json::from_str("\"json\"").expect("json");
        assert_eq!(f, Format::Json);
        assert!(serde_json::from_str::<Format>("\"xml\"").is_err());
    }
}
