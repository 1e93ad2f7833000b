//! `apiops mcp [--read-only] [--allow-execute]`: serves the Model Context Protocol on stdio
//! until the client closes stdin. The tools, resources and the rules of confirmation are the
//! `apiops-mcp` crate's ([`crate::mcp`]).

use std::time::Duration;

use clap::Args;

use crate::commands::checks;
use crate::config::LoadedConfig;
use crate::exit::Exit;
use crate::mcp::{ApiopsMcp, Options, TerminalViews};

/// `apiops mcp` flags.
#[derive(Debug, Clone, Args)]
pub(crate) struct McpArgs {
    /// Offer only the tools that read (no execute_plan)
    #[arg(long, conflicts_with = "allow_execute")]
    pub(crate) read_only: bool,
    /// Let execute_plan run reversible changes that stay inside the account (and reach no third
    /// party) without asking. Purchases, deletions, credential changes, money-spending sends,
    /// URL redirections, signed test events and batches over `[policy] batch_cap` still need the
    /// person's yes through MCP elicitation
    #[arg(long)]
    pub(crate) allow_execute: bool,
}

/// Serves until stdin closes.
pub(crate) fn run(loaded: LoadedConfig, args: &McpArgs) -> anyhow::Result<Exit> {
    let rt = checks::runtime()?;
    let options = Options {
        read_only: args.read_only,
        allow_execute: args.allow_execute,
        transport: crate::mcp::confirm::Transport::Stdio,
    };
    let result = rt.block_on(async {
        let server = ApiopsMcp::start(loaded, options, TerminalViews::shared()).await;
        tracing::info!(
            read_only = options.read_only,
            allow_execute = options.allow_execute,
            "apiops mcp: serving on stdio"
        );
        crate::mcp::stdio::serve_process(server).await
    });
    // A blocking stdin read (when stdin is not a pipe) must not hold the exit up.
    rt.shutdown_timeout(Duration::from_secs(1));
    result.map(|()| Exit::Ok)
}
