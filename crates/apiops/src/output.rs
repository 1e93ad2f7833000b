//! Rendering results for a person or a program: `human` (plain tables), `md` (Markdown) and
//! `json` (one JSON document). A command builds a view — a struct holding only what may be shown,
//! secrets already masked — implements [`Render`] for it, and hands it to [`emit`]. Everything
//! goes to stdout through `anstream`, which drops color when stdout is not a terminal or
//! `NO_COLOR` is set; logs and errors go to stderr elsewhere.
//!
//! Human output fits the terminal: when stdout is a terminal, tables use comfy-table's dynamic
//! arrangement at its width (long cells wrap inside their column) and free text wraps with
//! [`wrap`]. Into a pipe, or as `md`/`json`, nothing is wrapped or cut. Status symbols fall
//! back to plain words under `TERM=dumb` ([`symbols`]).
//!
//! This module decides how things look, not what they say.

use std::cell::Cell;
use std::io::{self, IsTerminal as _, Write};

use anstyle::{AnsiColor, Style};
use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;

pub(crate) use apiops_config::{ColorMode, Format};

/// Makes every later `anstream` write follow this color choice.
pub(crate) fn apply_color(mode: ColorMode) {
    let choice = match mode {
        ColorMode::Auto => anstream::ColorChoice::Auto,
        ColorMode::Always => anstream::ColorChoice::Always,
        ColorMode::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
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

thread_local! {
    /// The width human output is fitted to on this thread; `None` writes lines whole.
    static WIDTH: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The narrowest width apiops lays out for; a narrower terminal still gets this.
const MIN_WIDTH: usize = 40;

/// The width of the terminal stdout is, or `None` when stdout is not a terminal (a pipe or a
/// file gets every line whole). `COLUMNS` overrides the size the terminal reports.
pub(crate) fn terminal_width() -> Option<usize> {
    if !io::stdout().is_terminal() {
        return None;
    }
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0);
    let width = columns
        .or_else(|| Table::new().width().map(usize::from))
        .unwrap_or(80);
    Some(width.max(MIN_WIDTH))
}

/// The width the human output being written must fit, if any.
pub(crate) fn width() -> Option<usize> {
    WIDTH.with(Cell::get)
}

/// Whether status symbols (✓ ⚠ ✗ •) may be printed: not under `TERM=dumb`.
pub(crate) fn symbols() -> bool {
    std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// Writes `view` to stdout in `format`, human output fitted to the terminal.
pub(crate) fn emit(format: Format, view: &impl Render) -> io::Result<()> {
    let mut out = anstream::stdout().lock();
    write_fitted(&mut out, format, view, terminal_width())?;
    out.flush()
}

/// [`write_to`] with human output fitted to `width` columns (`None`: lines whole).
pub(crate) fn write_fitted(
    out: &mut dyn Write,
    format: Format,
    view: &impl Render,
    width: Option<usize>,
) -> io::Result<()> {
    // Markdown and JSON are for programs and documents: never wrapped.
    let width = width.filter(|_| format == Format::Human);
    let before = WIDTH.with(|w| w.replace(width));
    let result = write_to(out, format, view);
    WIDTH.with(|w| w.set(before));
    result
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
    if let Some(w) = width() {
        table.set_content_arrangement(ContentArrangement::Dynamic);
        table.set_width(u16::try_from(w).unwrap_or(u16::MAX));
        keep_words_whole(&mut table, header, rows, w);
    }
    table
}

/// Asks comfy-table not to split words of up to 24 columns (names, variables, ids), column by
/// column from the left while the others keep room to shrink into; the rest may split.
fn keep_words_whole(table: &mut Table, header: &[&str], rows: &[Vec<String>], width: usize) {
    use comfy_table::{ColumnConstraint, Width};
    const LONGEST_KEPT: usize = 24;
    const PADDING: usize = 2;
    const NARROWEST: usize = 6 + PADDING;
    let longest: Vec<usize> = (0..header.len())
        .map(|i| {
            let cells = rows.iter().filter_map(|r| r.get(i)).map(String::as_str);
            std::iter::once(header[i])
                .chain(cells)
                .flat_map(str::split_whitespace)
                .map(textwrap::core::display_width)
                .filter(|&n| n <= LONGEST_KEPT)
                .max()
                .unwrap_or(1)
                + PADDING
        })
        .collect();
    let mut used = 0;
    let mut bounds = Vec::with_capacity(longest.len());
    for (i, n) in longest.iter().enumerate() {
        let rest = (longest.len() - i - 1) * NARROWEST;
        if used + n + rest <= width {
            used += n;
            bounds.push(Some(*n));
        } else {
            used += NARROWEST;
            bounds.push(None);
        }
    }
    for (column, bound) in table.column_iter_mut().zip(bounds) {
        if let Some(n) = bound {
            let n = u16::try_from(n).unwrap_or(u16::MAX);
            column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(n)));
        }
    }
}

/// `text` wrapped to the output width: the first line after `first` (its prefix), the others
/// after `rest`; one line when there is no width to fit. Words longer than a line are split.
pub(crate) fn wrap(text: &str, first: &str, rest: &str) -> String {
    match width() {
        None => format!("{first}{text}"),
        Some(w) => {
            let options = textwrap::Options::new(w)
                .initial_indent(first)
                .subsequent_indent(rest)
                .break_words(true);
            textwrap::fill(text, options)
        }
    }
}

/// `text` wrapped to `width` columns outside of a view (`None`: one line).
pub(crate) fn wrap_to(text: &str, width: Option<usize>) -> String {
    let before = WIDTH.with(|w| w.replace(width));
    let wrapped = wrap(text, "", "  ");
    WIDTH.with(|w| w.set(before));
    wrapped
}

/// A status label ("✓ Operational"), without its symbol under `TERM=dumb`.
pub(crate) fn status_label(status: apiops_core::HealthStatus) -> String {
    let label = status.label();
    if symbols() {
        label.to_owned()
    } else {
        label
            .split_once(' ')
            .map_or(label, |(_, word)| word)
            .to_owned()
    }
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

    #[derive(Serialize)]
    struct Wide;

    impl Render for Wide {
        fn human(&self, out: &mut dyn Write) -> io::Result<()> {
            let long = "a long cell that says a great deal about what went wrong and how to fix it";
            let rows = [cells(&["11200", long]), cells(&["30003", long])];
            writeln!(out, "{}", human_table(&["code", "fix"], &rows))?;
            writeln!(out, "{}", wrap(long, "1. ", "   "))
        }
        fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
            self.human(out)
        }
    }

    #[test]
    fn human_output_fits_the_width_and_a_pipe_gets_it_whole() {
        let mut fitted = Vec::new();
        write_fitted(&mut fitted, Format::Human, &Wide, Some(40)).expect("write");
        let fitted = String::from_utf8(fitted).expect("utf-8");
        assert!(
            fitted.lines().all(|l| l.trim_end().chars().count() <= 40),
            "{fitted}"
        );
        assert!(fitted.lines().count() > 6, "{fitted}");
        let mut whole = Vec::new();
        write_fitted(&mut whole, Format::Human, &Wide, None).expect("write");
        let whole = String::from_utf8(whole).expect("utf-8");
        assert!(whole.lines().any(|l| l.chars().count() > 70), "{whole}");
        // Markdown is never wrapped, whatever the terminal.
        let mut md = Vec::new();
        write_fitted(&mut md, Format::Md, &Wide, Some(40)).expect("write");
        assert_eq!(String::from_utf8(md).expect("utf-8"), whole);
        assert_eq!(width(), None, "the width does not outlive the write");
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
