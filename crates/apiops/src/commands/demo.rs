//! `apiops demo`: the whole job against the built-in simulator, with no credentials and no
//! network. It starts `apiops-sim` in-process on 127.0.0.1, points every provider at it through
//! a configuration of its own (the user's config file and environment are not read, so nothing
//! real is ever contacted), records events in a throwaway database, and runs creds, health,
//! errors and audit for all three services, ending with the Markdown report.

use std::io::Write as _;
use std::time::Duration;

use anyhow::Context as _;
use apiops_core::Report;
use apiops_sim::{SimConfig, Simulator};
use serde::Serialize;

use crate::commands::{checks, creds, errors};
use crate::config::{self as settings, Environment, FlagOverrides, Locations, Sources};
use crate::exit::Exit;
use crate::output::{self, Format};
use crate::report::{AuditView, HealthView, ReportView, ScanFailure};

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
}

#[derive(Serialize)]
struct DemoJson<'a> {
    simulator: String,
    health: &'a HealthView,
    errors: &'a crate::report::ErrorsView,
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
            eprintln!(
                "apiops demo: simulator on {} (seed {}, {} messages); no credentials, no network",
                sim.base_url(),
                args.seed,
                args.messages
            );
        }

        if format != Format::Json {
            heading(format, "Credentials")?;
            creds::run(&loaded, format)?;
        }
        let selected = checks::select(s, &[])?;
        let health = checks::health(&selected).await;
        let health_view = HealthView::new(health.clone());
        if format != Format::Json {
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
        if format != Format::Json {
            heading(format, "Errors")?;
            output::emit(format, &errors_view)?;
        }
        let (findings, audit_failures) = checks::audit(&selected).await;
        let audit_view = AuditView {
            services: selected.providers.iter().map(|p| p.service()).collect(),
            findings: findings.clone(),
            failures: audit_failures.clone(),
        };
        if format != Format::Json {
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
                errors: &errors_view,
                audit: &audit_view,
                report: &report,
            };
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        } else {
            heading(format, "Report")?;
            output::emit(Format::Md, &report)?;
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
