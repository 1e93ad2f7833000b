//! `apiops demo`: the whole job against the built-in simulator, with no credentials and no
//! network. It starts `apiops-sim` in-process on 127.0.0.1, points every provider at it through
//! a configuration of its own (the user's config file and environment are not read, so nothing
//! real is ever contacted), records events in a throwaway database, and runs creds, health,
//! errors and audit for all three services. A terminal gets each section once, as tables;
//! `--format md` gets the Markdown report (the same sections, once); either way the report is
//! also written to a file (`--report`, default `demo-report.md` in the data directory) and the
//! demo ends by saying where.

use std::io::Write as _;
use std::time::Duration;

use anyhow::Context as _;
use apiops_core::Report;
use apiops_sim::{SimConfig, Simulator};
use serde::Serialize;

use crate::commands::{checks, creds, errors, notes};
use crate::config::{self as settings, Environment, FlagOverrides, Locations, Sources};
use crate::exit::Exit;
use crate::output::{self, Format};
use crate::report::{AuditView, ErrorsReport, HealthView, ReportView, ScanFailure};

/// Demo knobs.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct DemoArgs {
    /// Messages the simulator generates (spread over 7 days)
    #[arg(long, default_value_t = 20_000, value_name = "N")]
    pub(crate) messages: usize,
    /// Seed of the simulated data
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub(crate) seed: u64,
    /// Period of the error audit
    #[arg(long, default_value = "24h", value_parser = crate::commands::parse_duration, value_name = "DURATION")]
    pub(crate) since: Duration,
    /// The instant the simulated data ends at, and the error audit looks back from (RFC 3339;
    /// default: the current hour). Fixed, it makes the report reproducible.
    #[arg(long, value_name = "TIMESTAMP")]
    pub(crate) anchor: Option<jiff::Timestamp>,
    /// Share of simulator requests that fail (retries and breakers at work)
    #[arg(long, default_value_t = 0.0, value_name = "RATE")]
    pub(crate) fault_rate: f64,
    /// Where to write the full Markdown report [default: demo-report.md in the data directory]
    #[arg(long, value_name = "FILE")]
    pub(crate) report: Option<std::path::PathBuf>,
}

/// Where the report goes: `--report`, else `demo-report.md` in the data directory (the current
/// directory when the platform has none).
fn report_path(args: &DemoArgs) -> std::path::PathBuf {
    args.report.clone().unwrap_or_else(|| {
        Locations::discover()
            .data_dir
            .unwrap_or_else(|| std::path::PathBuf::from("."))
            .join("demo-report.md")
    })
}

/// Writes the Markdown report to `path`, creating its folder.
fn write_report(path: &std::path::Path, report: &ReportView) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut text = Vec::new();
    output::write_to(&mut text, Format::Md, report)?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[derive(Serialize)]
struct DemoJson<'a> {
    simulator: String,
    health: &'a HealthView,
    errors: &'a ErrorsReport,
    audit: &'a AuditView,
    report: &'a ReportView,
}

fn heading(format: Format, title: &str) -> anyhow::Result<()> {
    let mut out = anstream::stdout().lock();
    match format {
        Format::Md => writeln!(out, "\n## {title}\n")?,
        _ => writeln!(out, "\n=== {title} ===\n")?,
    }
    Ok(())
}

/// Runs the demo.
pub(crate) fn run(args: &DemoArgs, flags: FlagOverrides, format: Format) -> anyhow::Result<Exit> {
    let rt = checks::runtime()?;
    rt.block_on(async {
        let anchor = args.anchor.unwrap_or_else(apiops_sim::config::current_hour);
        let sim = Simulator::new(SimConfig {
            anchor,
            seed: args.seed,
            messages: args.messages,
            fault_rate: args.fault_rate,
            ..SimConfig::default()
        })
        .map_err(|e| crate::exit::AppError::Usage(e.to_string()))?
        .start()
        .await
        .context("starting the simulator on 127.0.0.1")?;
        let db_dir = tempfile::tempdir().context("creating a throwaway database folder")?;
        let mut vars: Vec<(String, String)> = sim
            .env_vars()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        vars.push((
            "APIOPS_DATABASE_URL".into(),
            format!("sqlite://{}/demo.db?mode=rwc", db_dir.path().display()),
        ));
        let env: Environment = vars.into_iter().collect();
        let loaded = settings::load(&Sources {
            locations: &Locations::default(),
            explicit_file: None,
            env: &env,
            flags,
        })
        .context("configuring the demo")?;
        let s = &loaded.settings;
        if format != Format::Json {
            let line = format!(
                "apiops demo: simulator on {} (seed {}, {} messages); no credentials, no network",
                sim.base_url(),
                args.seed,
                args.messages
            );
            eprintln!("{}", output::wrap_to(&line, output::terminal_width()));
        }

        if format == Format::Human {
            heading(format, "Credentials")?;
            creds::run(&loaded, format)?;
        }
        let selected = checks::select(s, &[])?;
        let (health, pages) = futures::join!(
            checks::health(&selected),
            notes::status_pages(s, &selected.providers)
        );
        let health_view = HealthView::new(health.clone()).with_status_pages(pages);
        if format == Format::Human {
            heading(format, "Health")?;
            output::emit(format, &health_view)?;
        }
        let store = checks::open_store(s).await.ok();
        let errors_view = errors::scan(
            &selected,
            args.since,
            anchor
                .checked_add(jiff::SignedDuration::from_secs(1))
                .unwrap_or(anchor),
            store.as_deref(),
            format,
            None,
        )
        .await?;
        let errors_report = ErrorsReport {
            errors: errors_view,
            notes: notes::ServiceNotes {
                rate_limits: notes::waits(&selected.providers),
                status_pages: health_view.status_pages.clone(),
            },
        };
        let errors_view = &errors_report.errors;
        if format == Format::Human {
            heading(format, "Errors")?;
            output::emit(format, &errors_report)?;
        }
        let (findings, audit_failures) = checks::audit(&selected).await;
        let audit_view = AuditView {
            services: selected.providers.iter().map(|p| p.service()).collect(),
            findings: findings.clone(),
            failures: audit_failures.clone(),
        };
        if format == Format::Human {
            heading(format, "Configuration audit")?;
            output::emit(format, &audit_view)?;
        }
        let recommendations = apiops_providers::aggregate::recommendations(
            &health,
            &errors_view.groups,
            &findings,
            10,
        );
        let mut failures: Vec<ScanFailure> = errors_view.failures.clone();
        failures.extend(audit_failures);
        let report = ReportView {
            report: Report {
                generated_at: Some(jiff::Timestamp::now()),
                period: errors_view.period.clone(),
                health: health.clone(),
                groups: errors_view.groups.clone(),
                findings,
                recommendations,
            },
            failures,
        };
        if format == Format::Json {
            let doc = DemoJson {
                simulator: sim.base_url(),
                health: &health_view,
                errors: &errors_report,
                audit: &audit_view,
                report: &report,
            };
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
            if args.report.is_some() {
                write_report(&report_path(args), &report)?;
            }
        } else {
            // Markdown is one document: the report, whose sections are the ones a terminal
            // gets as tables above. Either way it is printed once and written to the file.
            if format == Format::Md {
                output::emit(Format::Md, &report)?;
            }
            let path = report_path(args);
            write_report(&path, &report)?;
            let line = format!("Full Markdown report written to {}", path.display());
            if format == Format::Md {
                eprintln!("{line}");
            } else {
                let mut out = anstream::stdout().lock();
                writeln!(
                    out,
                    "\n{}",
                    output::wrap_to(&line, output::terminal_width())
                )?;
            }
        }
        if let Some(store) = &store
            && let Ok(n) = store.event_count().await
        {
            tracing::info!("{n} events recorded in the demo's event log");
        }
        sim.stop().await;
        Ok(checks::health_exit(&health))
    })
}
