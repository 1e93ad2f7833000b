//! `apiops usage [SERVICE...] [--since 30d | --period today|this-month|last-month]
//! [--by day|category|model|project]`: usage and spend per service, in each provider's own
//! units (human, Markdown, `--json`). The figures come from `apiops_providers::usage`; this
//! file selects the services, renders, and picks the exit code. Shared with `apiops do` and the
//! MCP `usage_report` tool ([`report`]).

use std::io::{self, Write};
use std::time::Duration;

use anyhow::Context as _;
use apiops_core::Service;
use apiops_providers::ProviderError;
use apiops_providers::usage::{self, ServiceUsage, Sources, UsageBy, UsagePeriod, UsageReport};
use clap::Args;
use serde::Serialize;

use crate::commands::checks;
use crate::config::{LoadedConfig, Settings};
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
    let view = checks::runtime()?.block_on(report(&loaded.settings, services, period, by))?;
    let exit = view.exit();
    output::emit(format, &view).context("writing the usage report")?;
    Ok(exit)
}

/// The report for `services` (all configured when empty). A service named explicitly whose
/// credentials are missing is in the report with what to set; with none named, unconfigured
/// services are left out, and it is an error only when none is configured.
pub(crate) async fn report(
    settings: &Settings,
    services: &[Service],
    period: UsagePeriod,
    by: Option<UsageBy>,
) -> anyhow::Result<UsageView> {
    let explicit = !services.is_empty();
    let wanted: Vec<Service> = if explicit {
        let mut v = services.to_vec();
        v.sort();
        v.dedup();
        v
    } else {
        Service::ALL.to_vec()
    };
    let mut missing: Vec<ServiceUsage> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    let by_or = by.unwrap_or(UsageBy::Category);
    let mut absent =
        |service: Service, e: ProviderError| -> anyhow::Result<()> {
            match e {
                ProviderError::MissingCredentials { variables, .. } => {
                    let why = format!("not configured: set {}", variables.join(", "));
                    if explicit {
                        missing.push(ServiceUsage::unavailable(service, "", by_or, why));
                    } else {
                        skipped.push(format!("{}: {why}", service.display_name()));
                    }
                    Ok(())
                }
                other => Err(anyhow::Error::new(other)
                    .context(format!("setting up {}", service.display_name()))),
            }
        };
    let twilio = if wanted.contains(&Service::Twilio) {
        checks::twilio(settings)
            .map(Some)
            .or_else(|e| absent(Service::Twilio, e).map(|()| None))?
    } else {
        None
    };
    let stripe = if wanted.contains(&Service::Stripe) {
        checks::stripe(settings)
            .map(Some)
            .or_else(|e| absent(Service::Stripe, e).map(|()| None))?
    } else {
        None
    };
    let openai = if wanted.contains(&Service::Openai) {
        checks::openai(settings)
            .map(Some)
            .or_else(|e| absent(Service::Openai, e).map(|()| None))?
    } else {
        None
    };
    if twilio.is_none() && stripe.is_none() && openai.is_none() && missing.is_empty() {
        return Err(AppError::NothingConfigured(format!(
            "no service is configured ({}); `apiops creds` shows what is set, `apiops demo` runs against the built-in simulator",
            skipped.join("; ")
        ))
        .into());
    }
    let span = period.resolve(jiff::Timestamp::now());
    let by = by.unwrap_or(UsageBy::Category);
    let sources = Sources {
        twilio: twilio.as_ref(),
        stripe: stripe.as_ref(),
        openai: openai.as_ref(),
    };
    let mut entries = usage::collect(sources, &span, by).await;
    entries.extend(missing);
    entries.sort_by_key(|s| s.service);
    Ok(UsageView {
        report: UsageReport::new(span, entries),
        skipped,
    })
}

/// One service's table: title, columns, rows, notes.
type Table = (String, Vec<String>, Vec<Vec<String>>, Vec<String>);

/// The report as printed.
#[derive(Debug, Serialize)]
pub(crate) struct UsageView {
    #[serde(flatten)]
    pub(crate) report: UsageReport,
    /// Services left out (not configured, not asked for).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) skipped: Vec<String>,
}

impl UsageView {
    /// 0 when every service answered; 8 when one lacks a credential (the OpenAI admin key
    /// too); 1 when one failed otherwise.
    pub(crate) fn exit(&self) -> Exit {
        let missing: Vec<&str> = self
            .report
            .services
            .iter()
            .filter_map(|s| s.missing.as_deref())
            .collect();
        if missing.is_empty() {
            Exit::Ok
        } else if missing
            .iter()
            .all(|m| m.starts_with("not configured") || m.contains("admin key"))
        {
            Exit::MissingCredentials
        } else {
            Exit::Failure
        }
    }

    /// One line: the period and the spend per currency.
    pub(crate) fn summary(&self) -> String {
        let spend: Vec<String> = self
            .report
            .spend
            .iter()
            .map(|m| format!("{} {}", m.amount, m.currency))
            .collect();
        format!(
            "usage for {}: spend {}",
            self.report.period.label,
            if spend.is_empty() {
                "none".to_owned()
            } else {
                spend.join(", ")
            }
        )
    }

    fn tables(&self) -> Vec<Table> {
        self.report
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

    fn spend_line(&self) -> String {
        let spend: Vec<String> = self
            .report
            .spend
            .iter()
            .map(|m| format!("{} {}", m.amount, m.currency))
            .collect();
        format!(
            "Spend (what the providers charge: Twilio's price, OpenAI's costs, Stripe's fees): {}",
            if spend.is_empty() {
                "none".to_owned()
            } else {
                spend.join(", ")
            }
        )
    }
}

impl Render for UsageView {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "Usage: {}", self.report.period.label)?;
        for (title, columns, rows, notes) in self.tables() {
            writeln!(out, "\n{title}")?;
            if !rows.is_empty() {
                let header: Vec<&str> = columns.iter().map(String::as_str).collect();
                writeln!(out, "{}", output::human_table(&header, &rows))?;
            }
            for n in notes {
                writeln!(out, "  {n}")?;
            }
        }
        writeln!(out, "\n{}", self.spend_line())?;
        for s in &self.skipped {
            writeln!(out, "Skipped {s}")?;
        }
        Ok(())
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "# Usage\n\nPeriod: {}", self.report.period.label)?;
        for (title, columns, rows, notes) in self.tables() {
            writeln!(out, "\n## {title}\n")?;
            if !rows.is_empty() {
                let header: Vec<&str> = columns.iter().map(String::as_str).collect();
                writeln!(out, "{}", output::markdown_table(&header, &rows))?;
            }
            for n in notes {
                writeln!(out, "- {n}")?;
            }
        }
        writeln!(out, "\n{}", self.spend_line())?;
        for s in &self.skipped {
            writeln!(out, "\nSkipped {s}")?;
        }
        Ok(())
    }
}
