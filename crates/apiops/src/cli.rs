//! The command line as clap parses it: low-level arguments only. Turning them into settings
//! (together with the config file and the environment) is `config`'s job; running them is
//! `commands`'.

use std::path::PathBuf;

use clap::{ArgAction, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::FlagOverrides;
use crate::exit;
use crate::output::{ColorMode, Format};

/// Operate third-party API integrations — Twilio, OpenAI, Stripe — from one tool.
#[derive(Debug, Parser)]
#[command(
    name = "apiops",
    version,
    about,
    propagate_version = true,
    arg_required_else_help = true
)]
pub(crate) struct Cli {
    /// Options every command accepts.
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Output format [default: output.format from the config, else human]
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub(crate) format: Option<Format>,
    /// Shorthand for --format json
    #[arg(long, global = true, conflicts_with = "format")]
    pub(crate) json: bool,
    /// Read this config file instead of the default one (it must exist)
    #[arg(long, global = true, value_name = "PATH", env = "APIOPS_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// When to color output (NO_COLOR is honored under auto)
    #[arg(long, global = true, value_enum, value_name = "WHEN")]
    pub(crate) color: Option<ColorMode>,
    /// More log output on stderr (-v info, -vv debug, -vvv trace)
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Less log output on stderr (-q errors only, -qq nothing)
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub(crate) quiet: u8,
}

impl GlobalArgs {
    /// The settings these flags override.
    pub(crate) fn overrides(&self) -> FlagOverrides {
        FlagOverrides {
            format: if self.json {
                Some(Format::Json)
            } else {
                self.format
            },
            color: self.color,
        }
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Show which credentials are configured for each service (values masked) and which are missing
    Creds,
    /// Inspect the configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Check each service: credentials, latency, quota, rate-limit headroom, warnings
    /// (exit 0 operational, 3 degraded, 4 down)
    Health {
        /// Services to check (default: every configured one): twilio, openai, stripe; or the
        /// name of one API configured under [apis.NAME]
        #[arg(value_name = "SERVICE")]
        services: Vec<String>,
    },
    /// Audit recent errors: fetch, normalize, group, rank, and suggest fixes
    Errors {
        /// Services to audit (default: every configured one): twilio, openai, stripe; or the
        /// name of one API configured under [apis.NAME] (its failures apiops saw, from the
        /// event log)
        #[arg(value_name = "SERVICE")]
        services: Vec<String>,
        /// How far back to look
        #[arg(long, default_value = "24h", value_parser = crate::commands::parse_duration, value_name = "DURATION")]
        since: std::time::Duration,
        /// Only failures of this resource type (message, call, alert, event, batch, ...)
        #[arg(long, value_name = "TYPE")]
        resource: Option<String>,
        /// Read only the time windows the last scan could not read (it exited 6), merge them
        /// into its groups, and report the whole period (exit 6 again while any is missing)
        #[arg(long, conflicts_with_all = ["services", "since", "resource"])]
        resume: bool,
    },
    /// Audit configuration: numbers, messaging services, webhook endpoints, models, projects
    Audit {
        /// Services to audit (default: every configured one): twilio, openai, stripe; or the
        /// name of one API configured under [apis.NAME] (deprecated operations, Deprecation and
        /// Sunset headers seen, an insecure base URL)
        #[arg(value_name = "SERVICE")]
        services: Vec<String>,
        /// Also send one request (HEAD, else GET; 5 s; no redirects) to every webhook URL found,
        /// public addresses only, and report whether the provider could reach it
        #[arg(long)]
        probe: bool,
    },
    /// Usage and spend per service, in each provider's units: Twilio by category, OpenAI tokens
    /// and costs (admin key), Stripe volume and fees
    Usage(crate::commands::usage::UsageArgs),
    /// Run creds, health, errors and audit against the built-in simulator (no credentials,
    /// no network); the Markdown report goes to a file (--report)
    Demo(crate::commands::demo::DemoArgs),
    /// Run the loopback simulator of Twilio, Stripe and OpenAI (or `sim emit` signed webhooks)
    Sim(Box<crate::commands::sim::SimArgs>),
    /// Do what a request in plain words asks: plan, confirm, execute
    /// (e.g. apiops do "buy a phone number in 415")
    Do(crate::commands::ops::DoArgs),
    /// Confirm (or refuse) a plan an agent asked for that only a person can approve; without
    /// PLAN_ID, list the ones waiting
    Confirm(crate::commands::confirm::ConfirmArgs),
    /// Any API described by an OpenAPI document ([apis.NAME] in the config): list the APIs,
    /// their operations, their health
    #[command(subcommand)]
    Api(crate::commands::api::ApiCommand),
    /// Call one operation of a configured API: reads run at once (--all pages through every
    /// item as JSON Lines); writes are planned and confirmed
    Call(crate::commands::api::CallArgs),
    /// Send a GraphQL query to a configured endpoint ([apis.NAME] graphql = URL): partial
    /// data is shown beside its errors, --all pages through pageInfo, a mutation is a write
    Graphql(crate::commands::api::graphql::GraphQlArgs),
    /// Twilio operations: numbers and messages
    #[command(subcommand)]
    Twilio(crate::commands::ops::TwilioCommand),
    /// Stripe operations: webhook endpoints and events
    #[command(subcommand)]
    Stripe(crate::commands::ops::StripeCommand),
    /// OpenAI operations: models, rate limits, a test completion
    #[command(subcommand)]
    Openai(crate::commands::ops::OpenaiCommand),
    /// Print the event log: failures seen and actions taken (JSON Lines with --json)
    Events(crate::commands::events::EventsArgs),
    /// Run the webhook receiver, the processor and the poll reconciler until stopped
    Serve(crate::commands::serve::ServeArgs),
    /// Serve the Model Context Protocol on stdio: the same tools for AI agents, with the same
    /// confirmation rules
    Mcp(crate::commands::mcp::McpArgs),
    /// Print a shell completion script (e.g. `source <(apiops completions bash)`)
    Completions {
        /// The shell: bash, zsh, fish, powershell or elvish
        #[arg(value_enum, value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (troff), or write one page per command into a folder
    Man {
        /// Write apiops.1, apiops-health.1, ... into this folder instead
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// `apiops config ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Print the effective configuration, every secret masked (TOML; JSON with --json)
    Show,
    /// Print where the user config file is looked for
    Path,
}

/// Parses the process arguments; the help ends with the exit-code table.
pub(crate) fn parse() -> Result<Cli, clap::Error> {
    parse_from(std::env::args_os())
}

/// Parses `args` (the program name first).
pub(crate) fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let mut command = Cli::command().after_help(exit::help());
    let matches = command.try_get_matches_from_mut(args)?;
    Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn json_is_format_json_and_conflicts_with_format() {
        let cli = parse_from(["apiops", "creds", "--json"]).expect("parses");
        assert_eq!(cli.global.overrides().format, Some(Format::Json));
        let cli = parse_from(["apiops", "--format", "md", "creds"]).expect("parses");
        assert_eq!(cli.global.overrides().format, Some(Format::Md));
        let err =
            parse_from(["apiops", "creds", "--json", "--format", "md"]).expect_err("conflict");
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn verbosity_counts() {
        let cli = parse_from(["apiops", "-vv", "config", "show", "-q"]).expect("parses");
        assert_eq!((cli.global.verbose, cli.global.quiet), (2, 1));
        assert!(matches!(cli.command, Command::Config(ConfigCommand::Show)));
    }

    #[test]
    fn help_ends_with_exit_codes() {
        let err = parse_from(["apiops", "--help"]).expect_err("help");
        assert_eq!(err.exit_code(), 0);
        let text = err.to_string();
        assert!(text.contains("Exit codes:"), "{text}");
        assert!(text.contains("8  missing credentials"), "{text}");
    }
}
