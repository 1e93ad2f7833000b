//! The output choices the configuration holds: the format results are printed in and when to
//! color them. The binary renders them; this crate only reads and validates the choice.

use serde::{Deserialize, Serialize};

/// How results are printed (`--format`, `output.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Format {
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
pub enum ColorMode {
    /// Color when writing to a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always color, even into a pipe.
    Always,
    /// Never color.
    Never,
}
