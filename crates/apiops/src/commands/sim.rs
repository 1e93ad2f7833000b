//! `apiops sim`: runs the loopback simulator of Twilio, Stripe and OpenAI until interrupted, and
//! `apiops sim emit`: sends signed webhooks to a receiver and reports what was acknowledged.
//!
//! The simulator's own test credentials are printed whole by `--print-env` on purpose: they are
//! generated for the simulator, accepted nowhere else, and `eval "$(apiops sim --print-env)"`
//! must be able to use them. Nothing else here prints a secret.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use apiops_sim::emit::{EmitConfig, EmitProvider, EmitReport};
use apiops_sim::{SimConfig, Simulator};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::exit::{AppError, Exit};
use crate::output::{self, Format, Render};

/// `apiops sim` flags.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct SimArgs {
    /// What to do instead of serving.
    #[command(subcommand)]
    pub(crate) action: Option<SimAction>,
    /// Address to listen on (loopback only unless --allow-non-loopback)
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub(crate) listen: SocketAddr,
    /// Permit a non-loopback listen address
    #[arg(long)]
    pub(crate) allow_non_loopback: bool,
    /// Added to every response, like a provider's round trip
    #[arg(long, default_value = "0ms", value_parser = crate::commands::parse_duration_or_zero, value_name = "DURATION")]
    pub(crate) latency: Duration,
    /// Twilio: concurrent requests above this get 429 / 20429
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub(crate) twilio_concurrency: usize,
    /// Stripe: requests per second above this get 429 (e.g. 25 or 25/s)
    #[arg(long, default_value = "25/s", value_parser = parse_rate, value_name = "RATE")]
    pub(crate) stripe_rate: u32,
    /// OpenAI: requests per minute (default: no limit, headers still sent)
    #[arg(long, value_name = "N")]
    pub(crate) openai_rpm: Option<u32>,
    /// Share of requests (0..=1) that get an injected fault (5xx, hang, reset, malformed body)
    #[arg(long, default_value_t = 0.0, value_name = "RATE")]
    pub(crate) fault_rate: f64,
    /// Seed of all generated data
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub(crate) seed: u64,
    /// How many Twilio messages to generate
    #[arg(long, default_value_t = 2_000, value_name = "N")]
    pub(crate) messages: usize,
    /// How far back the generated Twilio traffic reaches (denser toward the anchor)
    #[arg(long, default_value = "7d", value_parser = crate::commands::parse_duration_or_zero, value_name = "DURATION")]
    pub(crate) history: Duration,
    /// The instant the data is generated around (RFC 3339; default: the current hour)
    #[arg(long, value_name = "TIMESTAMP")]
    pub(crate) anchor: Option<jiff::Timestamp>,
    /// Print `export NAME=value` lines (base URLs and the simulator's test credentials) on
    /// stdout once listening
    #[arg(long)]
    pub(crate) print_env: bool,
}

/// `apiops sim <action>`.
#[derive(Debug, Subcommand)]
pub(crate) enum SimAction {
    /// Send signed webhooks to a receiver and report what was acknowledged
    Emit(EmitArgs),
}

/// `apiops sim emit` flags.
#[derive(Debug, Args)]
pub(crate) struct EmitArgs {
    /// The receiver's URL (loopback only unless --allow-non-loopback)
    #[arg(long, value_name = "URL")]
    pub(crate) target: url::Url,
    /// Which provider's webhooks: stripe, twilio or openai
    #[arg(long, value_name = "PROVIDER")]
    pub(crate) provider: EmitProvider,
    /// How many requests to send, duplicates included
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub(crate) count: usize,
    /// Requests per second (0: as fast as --concurrency allows)
    #[arg(long, default_value_t = 0.0, value_name = "R")]
    pub(crate) rate: f64,
    /// Requests in flight at most
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub(crate) concurrency: usize,
    /// Share of requests that re-deliver an earlier event unchanged
    #[arg(long, default_value_t = 0.0, value_name = "X")]
    pub(crate) duplicate_rate: f64,
    /// Share of requests whose signature is deliberately wrong
    #[arg(long, default_value_t = 0.0, value_name = "Y")]
    pub(crate) bad_signature_rate: f64,
    /// Signing secret [default: STRIPE_WEBHOOK_SECRET, TWILIO_AUTH_TOKEN or OPENAI_WEBHOOK_SECRET]
    #[arg(long, value_name = "SECRET")]
    pub(crate) secret: Option<String>,
    /// The URL the receiver is configured with (Twilio signs it) [default: --target]
    #[arg(long, value_name = "URL")]
    pub(crate) public_url: Option<url::Url>,
    /// Seed of ids and choices
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub(crate) seed: u64,
    /// Per-request timeout
    #[arg(long, default_value = "10s", value_parser = crate::commands::parse_duration_or_zero, value_name = "DURATION")]
    pub(crate) timeout: Duration,
    /// Permit a non-loopback target
    #[arg(long)]
    pub(crate) allow_non_loopback: bool,
    /// Append the id of every acknowledged event to this file as it is acknowledged
    #[arg(long, value_name = "PATH")]
    pub(crate) acked_log: Option<std::path::PathBuf>,
}

fn parse_rate(s: &str) -> Result<u32, String> {
    let n = s.trim().trim_end_matches("/s");
    n.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
        format!("invalid rate {s:?}: expected a positive number per second, like 25/s")
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Serves until interrupted, or runs the chosen action.
pub(crate) fn run(args: &SimArgs, format: Format) -> anyhow::Result<Exit> {
    if let Some(SimAction::Emit(e)) = &args.action {
        return emit(e, format);
    }
    let config = SimConfig {
        listen: args.listen,
        allow_non_loopback: args.allow_non_loopback,
        latency: args.latency,
        twilio_concurrency: args.twilio_concurrency,
        stripe_rate: args.stripe_rate,
        openai_rpm: args.openai_rpm,
        fault_rate: args.fault_rate,
        seed: args.seed,
        messages: args.messages,
        history: args.history,
        anchor: args.anchor.unwrap_or_else(apiops_sim::config::current_hour),
        probe_targets: false,
    };
    let sim = Simulator::new(config).map_err(|e| AppError::Usage(e.to_string()))?;
    runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        let vars = sim.env_vars(addr);
        let mut out = io::stdout().lock();
        if args.print_env {
            for (k, v) in &vars {
                writeln!(out, "export {k}={v}")?;
            }
        }
        out.flush()?;
        drop(out);
        eprintln!(
            "apiops sim: serving Twilio, Stripe and OpenAI on http://{addr} (seed {}, {} messages); Ctrl-C stops",
            args.seed, args.messages
        );
        sim.serve(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")?;
        Ok(Exit::Ok)
    })
}

#[derive(Debug, Serialize)]
struct EmitView {
    provider: EmitProvider,
    target: String,
    #[serde(flatten)]
    report: EmitReport,
}

impl Render for EmitView {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        let r = &self.report;
        writeln!(
            out,
            "sent {} {:?} webhooks to {} in {:.2}s ({:.0}/s)",
            r.sent, self.provider, self.target, r.elapsed_s, r.rate_achieved
        )?;
        writeln!(
            out,
            "acknowledged {}  rejected {}  server errors {}  no answer {}",
            r.acknowledged, r.rejected, r.server_errors, r.transport_errors
        )?;
        writeln!(
            out,
            "duplicates sent {}  bad signatures sent {} ({} wrongly acknowledged)  distinct events acknowledged {}",
            r.duplicates_sent,
            r.bad_signatures_sent,
            r.bad_signatures_acknowledged,
            r.distinct_acknowledged
        )?;
        writeln!(
            out,
            "latency p50 {:.2} ms  p99 {:.2} ms",
            r.p50_ms, r.p99_ms
        )
    }

    fn markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        let r = &self.report;
        let rows = vec![
            vec!["sent".to_owned(), r.sent.to_string()],
            vec!["acknowledged".to_owned(), r.acknowledged.to_string()],
            vec!["rejected".to_owned(), r.rejected.to_string()],
            vec!["server errors".to_owned(), r.server_errors.to_string()],
            vec!["no answer".to_owned(), r.transport_errors.to_string()],
            vec!["duplicates sent".to_owned(), r.duplicates_sent.to_string()],
            vec![
                "bad signatures sent".to_owned(),
                r.bad_signatures_sent.to_string(),
            ],
            vec![
                "distinct acknowledged".to_owned(),
                r.distinct_acknowledged.to_string(),
            ],
            vec!["p50 ms".to_owned(), format!("{:.2}", r.p50_ms)],
            vec!["p99 ms".to_owned(), format!("{:.2}", r.p99_ms)],
        ];
        write!(
            out,
            "{}",
            output::markdown_table(&["metric", "value"], &rows)
        )
    }
}

fn emit(args: &EmitArgs, format: Format) -> anyhow::Result<Exit> {
    let var = match args.provider {
        EmitProvider::Stripe => "STRIPE_WEBHOOK_SECRET",
        EmitProvider::Twilio => "TWILIO_AUTH_TOKEN",
        EmitProvider::Openai => "OPENAI_WEBHOOK_SECRET",
    };
    let secret = match &args.secret {
        Some(s) => s.clone(),
        None => std::env::var(var)
            .ok()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                AppError::Usage(format!("no signing secret: pass --secret or set {var}"))
            })?,
    };
    let config = EmitConfig {
        target: args.target.clone(),
        public_url: args.public_url.clone(),
        provider: args.provider,
        count: args.count,
        rate: args.rate,
        concurrency: args.concurrency,
        duplicate_rate: args.duplicate_rate,
        bad_signature_rate: args.bad_signature_rate,
        secret,
        seed: args.seed,
        allow_non_loopback: args.allow_non_loopback,
        timeout: args.timeout,
        acked_log: args.acked_log.clone(),
    };
    let report = runtime()?
        .block_on(apiops_sim::emit::emit(config))
        .map_err(|e| AppError::Usage(e.to_string()))?;
    let failed = report.transport_errors + report.server_errors > 0;
    let view = EmitView {
        provider: args.provider,
        target: apiops_client::redact::redact_url(&args.target),
        report,
    };
    output::emit(format, &view).context("writing the emit report")?;
    Ok(if failed { Exit::PartialBatch } else { Exit::Ok })
}
