//! The commands: each takes the loaded configuration and an output format, does its work, and
//! returns an [`Exit`] verdict or an error. Dispatch lives here; a command's code lives in its
//! own file (`creds.rs`, `config.rs`, ...). New commands add a variant to `cli::Command` and an
//! arm below.

pub(crate) mod api;
pub(crate) mod audit;
pub(crate) mod checks;
pub(crate) mod completions;
pub(crate) mod config;
pub(crate) mod confirm;
pub(crate) mod creds;
pub(crate) mod demo;
pub(crate) mod errors;
pub(crate) mod events;
pub(crate) mod health;
pub(crate) mod mcp;
pub(crate) mod notes;
pub(crate) mod ops;
pub(crate) mod serve;
pub(crate) mod sim;
pub(crate) mod usage;
pub(crate) mod webhooks;

use crate::cli::{Cli, Command, ConfigCommand};
use crate::config::{self as settings, Environment, LoadedConfig, Locations, Sources, UserFile};
use crate::exit::{AppError, Exit};
use crate::output::Format;

/// Runs the command `cli` names. The configuration is loaded once here, for the commands that
/// need it.
pub(crate) fn run(cli: &Cli, env: &Environment, locations: &Locations) -> anyhow::Result<Exit> {
    let flags = cli.global.overrides();
    let load = || -> anyhow::Result<LoadedConfig> {
        let loaded = settings::load(&Sources {
            locations,
            explicit_file: cli.global.config.as_deref(),
            env,
            flags,
        })
        .map_err(AppError::from)?;
        crate::output::apply_color(loaded.settings.output.color);
        Ok(loaded)
    };
    match &cli.command {
        Command::Creds => {
            let loaded = load()?;
            creds::run(&loaded, loaded.settings.output.format)
        }
        Command::Config(ConfigCommand::Show) => {
            let loaded = load()?;
            config::show(&loaded, loaded.settings.output.format)
        }
        Command::Sim(args) => sim::run(args, flags.format.unwrap_or(Format::Human)),
        Command::Health { services } => {
            let loaded = load()?;
            let format = loaded.settings.output.format;
            match health::targets(&loaded, services)? {
                health::Targets::Services(services) => health::run(&loaded, &services, format),
                health::Targets::Api(name) => api::health(&loaded, locations, &name, format),
            }
        }
        Command::Errors {
            services,
            since,
            resource,
            resume,
        } => {
            let loaded = load()?;
            let format = loaded.settings.output.format;
            if *resume {
                return errors::resume(&loaded, format);
            }
            match health::targets(&loaded, services)? {
                health::Targets::Services(services) => {
                    errors::run(&loaded, &services, *since, resource.as_deref(), format)
                }
                health::Targets::Api(name) => {
                    api::scan::errors(&loaded, &name, *since, resource.as_deref(), format)
                }
            }
        }
        Command::Confirm(args) => {
            let loaded = load()?;
            confirm::run(&loaded, args, loaded.settings.output.format)
        }
        Command::Do(args) => {
            let loaded = load()?;
            let format = loaded.settings.output.format;
            // A request naming a configured API is matched against its operations first.
            if let Some(exit) = api::words::run(&loaded, locations, args, format)? {
                return Ok(exit);
            }
            ops::run_do(&loaded, args, format)
        }
        Command::Api(c) => {
            let loaded = load()?;
            api::run(&loaded, locations, c, loaded.settings.output.format)
        }
        Command::Call(args) => {
            let loaded = load()?;
            api::call(&loaded, locations, args, loaded.settings.output.format)
        }
        Command::Graphql(args) => {
            let loaded = load()?;
            api::graphql::run(&loaded, locations, args, loaded.settings.output.format)
        }
        Command::Twilio(c) => {
            let loaded = load()?;
            ops::run_twilio(&loaded, c, loaded.settings.output.format)
        }
        Command::Stripe(c) => {
            let loaded = load()?;
            ops::run_stripe(&loaded, c, loaded.settings.output.format)
        }
        Command::Openai(c) => {
            let loaded = load()?;
            ops::run_openai(&loaded, c, loaded.settings.output.format)
        }
        Command::Serve(args) => serve::run(load()?, locations, args),
        Command::Mcp(args) => mcp::run(load()?, args),
        Command::Events(args) => {
            let loaded = load()?;
            events::run(&loaded, args, loaded.settings.output.format)
        }
        Command::Audit { services, probe } => {
            let loaded = load()?;
            let format = loaded.settings.output.format;
            match health::targets(&loaded, services)? {
                health::Targets::Services(services) => {
                    audit::run(&loaded, &services, *probe, format)
                }
                health::Targets::Api(name) => api::scan::audit(&loaded, locations, &name, format),
            }
        }
        Command::Completions { shell } => completions::completions(*shell),
        Command::Man { dir } => completions::man(dir.as_deref()),
        Command::Usage(args) => {
            let loaded = load()?;
            usage::run(&loaded, args, loaded.settings.output.format)
        }
        Command::Demo(args) => demo::run(args, flags, flags.format.unwrap_or(Format::Human)),
        // Works without loading, so that it still helps when the config file is broken: it is
        // how one finds the file to fix. Its format therefore comes from the flags alone.
        Command::Config(ConfigCommand::Path) => config::path(
            &UserFile::locate(locations, cli.global.config.as_deref()),
            flags.format.unwrap_or(Format::Human),
        ),
    }
}

pub(crate) use apiops_config::values::{parse_duration, parse_duration_or_zero};
