//! `apiops`: operate third-party API integrations (Twilio, OpenAI, Stripe) from one binary.
//!
//! Layout (thin on top of the library crates, which never print; the engine is in them):
//! - [`cli`]: the command line as clap parses it (low-level arguments);
//! - [`commands`]: the dispatch (`commands/mod.rs`) and one file per command (`audit`,
//!   `completions`, `config`, `confirm`, `creds`, `demo`, `errors`, `events`, `health`, `mcp`,
//!   `notes`, `ops` with `ops/args.rs` and `ops/views.rs`, `serve`, `sim`, `usage`,
//!   `webhooks`); `commands::checks` wires the providers built by `apiops_config::providers`
//!   into `apiops_providers::scan`;
//! - [`report`]: the health, errors, audit and report views rendered (the views are data in
//!   `apiops_providers::views`);
//! - [`output`]: the renderers (`human`, `md`, `json`) every command prints through;
//! - [`exit`]: the one mapping from outcomes and errors to documented exit codes;
//! - [`logging`]: `tracing` to stderr, from `-v`/`-q` or `APIOPS_LOG`;
//! - [`server`]: `apiops serve`'s router and accept loop (limits, timeouts, load shedding);
//! - [`mcp`]: the binary's renderers handed to the MCP server (`TerminalViews`); the server,
//!   its tool handler and the `/mcp` route are the `apiops-mcp` crate;
//! - [`monitor`]: `[monitor]` and `[retention]` wired onto the `apiops-monitor` crate;
//! - `config` and `dashboard`: the `apiops-config` crate (the layered configuration, validated
//!   once into typed settings) and the `apiops-dashboard` crate (the dashboard of `apiops
//!   serve`, its `/metrics` route and the Prometheus recorder), under their short names.

mod cli;
mod commands;
mod exit;
mod logging;
mod mcp;
mod monitor;
mod output;
mod report;
mod server;

use std::process::ExitCode;

use apiops_config as config;
use apiops_dashboard as dashboard;

fn main() -> ExitCode {
    // Only aws-lc-rs is compiled in, but rustls still wants it installed as the process default
    // before any TLS client is built. An error means it is already installed.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();

    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(e) => return exit::from_clap(&e),
    };
    if let Some(color) = cli.global.color {
        output::apply_color(color);
    }
    let env = config::Environment::capture();
    logging::init(cli.global.verbose, cli.global.quiet, &env);
    let locations = config::Locations::discover();
    match commands::run(&cli, &env, &locations) {
        Ok(exit) => exit.into(),
        Err(e) => exit::report(&e),
    }
}
