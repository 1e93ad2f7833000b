//! `apiops usage [SERVICE...] [--since 30d | --period today|this-month|last-month]
//! [--by day|category|model|project]`: usage and spend per service, in each provider's own
//! units (human, Markdown, `--json`). The report is `apiops_config::usage` (shared with the MCP
//! `usage_report` tool); this file renders it and picks the exit code (also for `apiops do`).

use std::io::{self, Write};
use std::time::Duration;

use anyhow::Context as _;
use apiops_config::usage::{UsageError, UsageView, report};
use apiops_core::Service;
use apiops_providers::usage::{NoFigures, UsageBy, UsagePeriod};
use clap::Args;

use crate::commands::checks;
use crate::config::LoadedConfig;
use crate::exit::{AppError, Exit};
use crate::output::{self, Format, Render};

/// `apiops usage` flags.
#[derive(Debug, Args)]
pub(crate) struct UsageArgs {
    /// Services to report (default: every configured one): twilio, openai, stripe
    #[arg(value_name = "SERVICE")]
    pub(crate) services: Vec<Service>,
    /// How far back, up to now (default 30d)
    #[arg(long, value_parser = crate::commands::parse_duration, value_name = "DURATION", conflicts_with = "period")]
    pub(crate) since: Option<Duration>,
    /// A calendar period in UTC instead: today, this-month, last-month
    #[arg(long, value_parser = parse_period, value_name = "PERIOD")]
    pub(crate) period: Option<UsagePeriod>,
    /// Group rows by day, category (Twilio categories, Stripe types, OpenAI line items),
    /// model or project (OpenAI)
    #[arg(long, value_parser = parse_by, value_name = "GROUP")]
    pub(crate) by: Option<UsageBy>,
}

fn parse_period(s: &str) -> Result<UsagePeriod, String> {
    UsagePeriod::parse_named(s)
        .ok_or_else(|| format!("{s:?} is not today, this-month or last-month"))
}

fn parse_by(s: &str) -> Result<UsageBy, String> {
    UsageBy::parse(s).ok_or_else(|| format!("{s:?} is not day, category, model or project"))
}

/// Runs `apiops usage`.
pub(crate) fn run(loaded: &LoadedConfig, args: &UsageArgs, format: Format) -> anyhow::Result<Exit> {
    let period = match (args.period, args.since) {
        (Some(p), _) => p,
        (None, Some(d)) => UsagePeriod::last(d),
        (None, None) => UsagePeriod::DEFAULT,
    };
    run_op(loaded, &args.services, period, args.by, format)
}

/// Runs the report and prints it (also `apiops do "how much did we spend..."`).
pub(crate) fn run_op(
    loaded: &LoadedConfig,
    services: &[Service],
    period: UsagePeriod,
    by: Option<UsageBy>,
    format: Format,
) -> anyhow::Result<Exit> {
    let view = checks::runtime()?
        .block_on(report(&loaded.settings, services, period, by))
        .map_err(usage_error)?;
    let exit = exit(&view);
    output::emit(format, &view).context("writing the usage report")?;
    Ok(exit)
}

/// A usage report's error as the command's: nothing configured keeps its exit code; a setup
/// error keeps the provider's typed error in the chain.
fn usage_error(e: UsageError) -> anyhow::Error {
    match e {
        UsageError::NothingConfigured { .. } => AppError::NothingConfigured(e.to_string()).into(),
        UsageError::Setup { .. } => anyhow::Error::new(e),
    }
}

/// One service's table: title, columns, rows, notes.
type Table = (String, Vec<String>, Vec<Vec<String>>, Vec<String>);

/// 0 when every service answered; 8 when one lacks a credential (the OpenAI admin key
/// too); 1 when one failed otherwise.
fn exit(view: &UsageView) -> Exit {
    let missing: Vec<&NoFigures> = view
        .report
        .services
        .iter()
        .filter_map(|s| s.missing.as_ref())
        .collect();
    if missing.is_empty() {
        Exit::Ok
    } else if missing.iter().all(|m| m.needs_credentials()) {
        Exit::MissingCredentials
    } else {
        Exit::Failure
    }
}

fn tables(view: &UsageView) -> Vec<Table> {
    view.report
        .services
        .iter()
        .map(|s| {
            let title = if s.source.is_empty() {
                s.service.display_name().to_owned()
            } else {
                format!(
                    "{} — {}, by {}",
                    s.service.display_name(),
                    s.source,
                    s.by.as_str()
                )
            };
            let mut columns: Vec<String> = vec![s.by.as_str().to_owned()];
            for row in &s.rows {
                for f in &row.figures {
                    if !columns.contains(&f.name) {
                        columns.push(f.name.clone());
                    }
                }
            }
            let rows = s
                .rows
                .iter()
                .map(|row| {
                    let mut cells = vec![row.key.clone()];
                    for c in &columns[1..] {
                        cells.push(
                            row.figure(c)
                                .map(|f| format!("{} {}", f.value, f.unit).trim().to_owned())
                                .unwrap_or_default(),
                        );
                    }
                    cells
                })
                .collect();
            let mut notes = Vec::new();
            if let Some(m) = &s.missing {
                notes.push(format!("No figures: {m}."));
            }
            for t in &s.totals {
                notes.push(format!("Total {}: {} {}", t.kind, t.amount, t.currency));
            }
            notes.extend(s.notes.iter().cloned());
            (title, columns, rows, notes)
        })
        .collect()
}

fn spend_line(view: &UsageView) -> String {
    format!(
        "Spend (what the providers charge: Twilio's price, OpenAI's costs, Stripe's fees): {}",
        view.spend_text()
    )
}

impl Render for UsageView {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "Usage: {}", self.report.period.label)?;
        for (title, columns, rows, notes) in tables(self) {
            writeln!(out, "\n{title}")?;
            if !rows.is_empty() {
                let header: Vec<&str> = columns.iter().map(String::as_str).collect();
                writeln!(out, "{}", output::human_table(&header, &rows))?;
            }
            for n in notes {
                writeln!(out, "  {n}")?;
            }
        }
        writeln!(out, "\n{}", spend_line(self))?;
        for s in &self.skipped {
            writeln!(out, "Skipped {s}")?;
        }
        Ok(())
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "# Usage\n\nPeriod: {}", self.report.period.label)?;
        for (title, columns, rows, notes) in tables(self) {
            writeln!(out, "\n## {title}\n")?;
            if !rows.is_empty() {
                let header: Vec<&str> = columns.iter().map(String::as_str).collect();
                writeln!(out, "{}", output::markdown_table(&header, &rows))?;
            }
            for n in notes {
                writeln!(out, "- {n}")?;
            }
        }
        writeln!(out, "\n{}", spend_line(self))?;
        for s in &self.skipped {
            writeln!(out, "\nSkipped {s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use apiops_providers::usage::{ServiceUsage, UsageReport};

    use super::*;

    fn view(missing: Vec<(Service, NoFigures)>) -> UsageView {
        let entries = missing
            .into_iter()
            .map(|(s, why)| ServiceUsage::unavailable(s, "", UsageBy::Category, why))
            .collect();
        UsageView {
            report: UsageReport::new(
                UsagePeriod::Today.resolve(jiff::Timestamp::UNIX_EPOCH),
                entries,
            ),
            skipped: Vec::new(),
        }
    }

    #[test]
    fn the_exit_code_comes_from_the_reason_not_its_words() {
        assert_eq!(exit(&view(vec![])), Exit::Ok);
        let unset = NoFigures::NotConfigured {
            variables: vec!["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"],
        };
        let credentials = vec![
            (Service::Twilio, unset.clone()),
            (Service::Openai, NoFigures::NoAdminKey),
        ];
        assert_eq!(exit(&view(credentials)), Exit::MissingCredentials);
        // A rejected admin key (OpenAI's 401) is a failure, not a credential to set, even when
        // the answer it quotes speaks of an admin key or of something not configured.
        let refused = NoFigures::Failed(
            "/organization/costs: GET api.openai.com/v1/organization/costs: HTTP 401: not configured: the admin key is wrong".into(),
        );
        assert_eq!(
            exit(&view(vec![(Service::Openai, refused.clone())])),
            Exit::Failure
        );
        assert_eq!(
            exit(&view(vec![
                (Service::Twilio, unset),
                (Service::Openai, refused)
            ])),
            Exit::Failure
        );
    }
}
