//! `apiops api list|ops|health` and `apiops call`: any API configured under `[apis.NAME]`,
//! through the `apiops-openapi` engine. Thin: parse, load the document, call the engine, render.
//!
//! Reads (GET, HEAD, OPTIONS) run at once; `--all` streams every item of every page as JSON
//! Lines. Writes are planned (the request, the idempotency key, who may confirm), shown with
//! `--dry-run`, and confirmed as `apiops do` confirms: a prompt on a terminal or `--yes` typed
//! by the person (exit 5 otherwise). A DELETE is a deletion: a person's yes, never an agent's.

use std::io::{self, IsTerminal as _};

use anyhow::Context as _;
use apiops_client::cassette::{Cassette, CassetteMode};
use apiops_config::apis::{ApiSettings, OpenError};
use apiops_config::spec_fetch::{SpecOptions, load_spec};
use apiops_config::{ConfigError, LoadedConfig, Locations, Origin, Problem};
use apiops_openapi::{Api, CallError, JsonLines, OpClass, Spec, SpecError};
use apiops_ops::apis;
use clap::{Args, Subcommand};
use serde_json::Value;

pub(crate) mod graphql;
pub(crate) mod monitor;
pub(crate) mod record;
pub(crate) mod scan;
mod views;
pub(crate) mod words;

use views::{AnswerView, ApiListView, ApiRow, OpsView, PlanView};

use crate::commands::checks;
use crate::exit::{AppError, Exit};
use crate::output::{self, Format};

/// `apiops api ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum ApiCommand {
    /// The configured APIs: operation counts, auth, base URL, spec version
    List(SpecFlags),
    /// The operations of an API (operationId, method, path, summary, read or write, paged),
    /// filtered by words
    Ops {
        /// The API's name ([apis.NAME])
        #[arg(value_name = "NAME")]
        name: String,
        /// Words every listed operation contains (in its id, path, summary or tags)
        #[arg(value_name = "WORDS")]
        words: Vec<String>,
        #[command(flatten)]
        spec: SpecFlags,
    },
    /// Call the API's health operation: latency, status, rate-limit headroom
    /// (exit 0 ok, 3 degraded, 4 down)
    Health {
        /// The API's name
        #[arg(value_name = "NAME")]
        name: String,
        #[command(flatten)]
        spec: SpecFlags,
    },
}

/// How the document is loaded.
#[derive(Debug, Clone, Args)]
pub(crate) struct SpecFlags {
    /// Fetch a remote document again instead of using the cached copy
    #[arg(long)]
    pub(crate) refresh: bool,
    /// Let a remote document come from a loopback or private address (a local server);
    /// refused by default so a URL cannot make apiops reach internal hosts
    #[arg(long)]
    pub(crate) allow_private_targets: bool,
}

/// How a write (or a GraphQL mutation) is confirmed on the command line.
#[derive(Debug, Clone, Copy, Args)]
pub(crate) struct WriteArgs {
    /// Accept the plan of a write without a prompt (you typing it counts as your yes)
    #[arg(long, short = 'y', conflicts_with = "dry_run")]
    pub(crate) yes: bool,
    /// Show the plan of a write and stop: nothing is sent
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// A new idempotency key: a deliberate second run of the same write
    #[arg(long)]
    pub(crate) new: bool,
}

impl WriteArgs {
    /// The salt of a deliberate second run (`--new`).
    pub(crate) fn salt(&self) -> Option<String> {
        self.new
            .then(|| jiff::Timestamp::now().as_nanosecond().to_string())
    }
}

/// `apiops call`.
#[derive(Debug, Args)]
pub(crate) struct CallArgs {
    /// The API's name ([apis.NAME])
    #[arg(value_name = "NAME")]
    pub(crate) name: String,
    /// The operation: its operationId (e.g. repos/list-for-org) or "METHOD /path"
    #[arg(value_name = "OPERATION")]
    pub(crate) operation: String,
    /// A parameter (path, query or header), checked against the document; repeat for more,
    /// or for each value of an array
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE", value_parser = parse_pair)]
    pub(crate) params: Vec<(String, String)>,
    /// The request body: JSON, or @FILE to read it from a file
    #[arg(long, value_name = "JSON|@FILE")]
    pub(crate) body: Option<String>,
    /// Follow every page and print every item as a JSON line (reads only)
    #[arg(long)]
    pub(crate) all: bool,
    #[command(flatten)]
    pub(crate) write: WriteArgs,
    #[command(flatten)]
    pub(crate) cassette: CassetteArgs,
    #[command(flatten)]
    pub(crate) spec: SpecFlags,
}

/// Recording to or replaying from a cassette (`apiops call`, `apiops graphql`).
#[derive(Debug, Clone, Args)]
pub(crate) struct CassetteArgs {
    /// Record the exchanges into this cassette (secrets and hosts redacted)
    #[arg(long, value_name = "FILE", conflicts_with = "replay")]
    pub(crate) record: Option<std::path::PathBuf>,
    /// Answer from this cassette instead of the network: nothing is sent, no OAuth2 token is
    /// fetched, and the credential variables need not be set
    #[arg(long, value_name = "FILE")]
    pub(crate) replay: Option<std::path::PathBuf>,
}

impl CassetteArgs {
    /// The cassette asked for, opened (a replay's file read now): a usage error when it
    /// cannot be.
    pub(crate) fn open(&self) -> anyhow::Result<Option<Cassette>> {
        match (&self.record, &self.replay) {
            (Some(path), _) => Some(Cassette::open(path, CassetteMode::Record)),
            (None, Some(path)) => Some(Cassette::open(path, CassetteMode::Replay)),
            (None, None) => None,
        }
        .transpose()
        .map_err(|e| AppError::Usage(e.to_string()).into())
    }
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

/// `apiops api ...`
pub(crate) fn run(
    loaded: &LoadedConfig,
    locations: &Locations,
    command: &ApiCommand,
    format: Format,
) -> anyhow::Result<Exit> {
    let rt = checks::runtime()?;
    match command {
        ApiCommand::List(flags) => {
            let mut rows = Vec::new();
            for (name, api) in &loaded.settings.apis {
                let spec = rt.block_on(spec_of(loaded, locations, name, api, flags));
                rows.push(ApiRow::new(name, api, spec));
            }
            output::emit(format, &ApiListView { apis: rows }).context("writing")?;
            Ok(Exit::Ok)
        }
        ApiCommand::Ops { name, words, spec } => {
            // The document alone: listing operations needs no credentials.
            let (api, spec) = rt.block_on(configured(loaded, locations, name, spec))?;
            let index = Api::index_of(&spec, api.idempotency_header.as_deref())
                .map_err(|e| spec_error(loaded, name, e))?;
            let ops = index.search(words).cloned().collect();
            output::emit(
                format,
                &OpsView {
                    api: name.clone(),
                    operations: ops,
                },
            )
            .context("writing")?;
            Ok(Exit::Ok)
        }
        ApiCommand::Health { name, spec } => {
            check_health(&rt, loaded, locations, name, spec, format)
        }
    }
}

/// `apiops health NAME` for a configured API.
pub(crate) fn health(
    loaded: &LoadedConfig,
    locations: &Locations,
    name: &str,
    format: Format,
) -> anyhow::Result<Exit> {
    let flags = SpecFlags {
        refresh: false,
        allow_private_targets: false,
    };
    check_health(&checks::runtime()?, loaded, locations, name, &flags, format)
}

fn check_health(
    rt: &tokio::runtime::Runtime,
    loaded: &LoadedConfig,
    locations: &Locations,
    name: &str,
    flags: &SpecFlags,
    format: Format,
) -> anyhow::Result<Exit> {
    let api = rt.block_on(open(loaded, locations, name, flags))?;
    let mut health = rt.block_on(api.health()).map_err(call_error)?;
    rt.block_on(record::keep(&loaded.settings, &api, health.event.take()));
    let exit = match health.status {
        "ok" => Exit::Ok,
        "degraded" => Exit::Degraded,
        _ => Exit::Down,
    };
    output::emit(format, &views::HealthView(health)).context("writing")?;
    Ok(exit)
}

/// `apiops call ...`
pub(crate) fn call(
    loaded: &LoadedConfig,
    locations: &Locations,
    args: &CallArgs,
    format: Format,
) -> anyhow::Result<Exit> {
    let body = match &args.body {
        None => None,
        Some(text) => Some(read_body(text)?),
    };
    let cassette = args.cassette.open()?;
    if settings_of(loaded, &args.name)?.graphql.is_some() {
        return Err(AppError::Usage(format!(
            "{} is a GraphQL endpoint: it has no operations to call; use apiops graphql {} --query TEXT",
            args.name, args.name
        ))
        .into());
    }
    let rt = checks::runtime()?;
    let api = rt.block_on(open_with(
        loaded, locations, &args.name, &args.spec, cassette,
    ))?;
    let (op, req) = api
        .prepare(&args.operation, &args.params, body)
        .map_err(call_error)?;
    if op.class == OpClass::Read {
        if args.all {
            return rt.block_on(stream_all(loaded, &api, op, req));
        }
        let answer = rt.block_on(api.send(&req));
        let failure = answer
            .as_ref()
            .err()
            .and_then(|e| api.failure_event(&op.id, e, jiff::Timestamp::now()));
        rt.block_on(record::keep(&loaded.settings, &api, failure));
        output::emit(format, &AnswerView(answer.map_err(call_error)?)).context("writing")?;
        return Ok(Exit::Ok);
    }
    if args.all {
        return Err(AppError::Usage(format!(
            "--all follows the pages of a read; {} is a {}",
            op.id,
            op.class.as_str()
        ))
        .into());
    }
    let plan = api.plan(op, req, args.write.salt().as_deref());
    run_write(loaded, &rt, &api, plan, args.write, format)
}

/// Shows `plan`, waits for a person's yes (the prompt, or `--yes`), then sends it under the
/// journal; without a yes nothing is sent (exit 5).
pub(crate) fn run_write(
    loaded: &LoadedConfig,
    rt: &tokio::runtime::Runtime,
    api: &Api,
    plan: apiops_openapi::WritePlan,
    flags: WriteArgs,
    format: Format,
) -> anyhow::Result<Exit> {
    let mut view = PlanView {
        plan,
        confirmed: false,
        answer: None,
        already_done: None,
    };
    if flags.dry_run {
        output::emit(format, &view).context("writing the plan")?;
        return Ok(Exit::Ok);
    }
    if !flags.yes {
        let interactive = io::stdin().is_terminal() && io::stderr().is_terminal();
        if !interactive {
            output::emit(format, &view).context("writing the plan")?;
            let who = if view.plan.needs_person {
                "a deletion: only a person may confirm it"
            } else {
                "a change"
            };
            return Err(AppError::ConfirmationRequired {
                action: format!("{} {} ({who})", api.name(), view.plan.operation),
            }
            .into());
        }
        output::emit(Format::Human, &view).context("writing the plan")?;
        if !super::ops::confirm_prompt("Send this request? [y/N] ")? {
            anstream::eprintln!("Not confirmed: nothing was sent.");
            return Ok(Exit::ConfirmationRequired);
        }
    }
    view.confirmed = true;
    let store = rt
        .block_on(checks::open_store(&loaded.settings))
        .map_err(|e| anyhow::anyhow!("the operations journal is required: {e}"))?;
    let journaled = rt.block_on(apis::execute(api, &view.plan, store.as_ref()));
    let now = jiff::Timestamp::now();
    rt.block_on(apis::keep(
        store.as_ref(),
        api.name(),
        None,
        api.notices(now),
        now,
    ));
    match journaled.map_err(|e| match e {
        apis::WriteError::Call(e) => call_error(e),
        other => anyhow::Error::new(other),
    })? {
        apis::Journaled::Sent(answer) => view.answer = Some(answer),
        apis::Journaled::AlreadyDone { at, detail } => {
            view.already_done = Some(format!(
                "the journal shows this exact write done at {at} ({detail}); not sent again (--new sends it anew)"
            ));
        }
    }
    output::emit(format, &view).context("writing the answer")?;
    Ok(Exit::Ok)
}

/// Every item of every page, one JSON line each, written as they come.
async fn stream_all(
    loaded: &LoadedConfig,
    api: &Api,
    op: &apiops_openapi::Operation,
    req: apiops_openapi::PreparedRequest,
) -> anyhow::Result<Exit> {
    let mut lines = JsonLines::new(io::stdout().lock());
    let result = api.each_item(op, req, &mut |item| lines.item(item)).await;
    let failure = match &result {
        Err(e) if !lines.failed() => api.failure_event(&op.id, e, jiff::Timestamp::now()),
        _ => None,
    };
    record::keep(&loaded.settings, api, failure).await;
    lines.finish().context("writing")?;
    let count = result.map_err(call_error)?;
    tracing::info!(items = count, "listing done");
    Ok(Exit::Ok)
}

fn read_body(text: &str) -> anyhow::Result<Value> {
    let (source, raw) = match text.strip_prefix('@') {
        Some(path) => (
            path.to_owned(),
            std::fs::read_to_string(path)
                .map_err(|e| AppError::Usage(format!("--body @{path}: {e}")))?,
        ),
        None => ("--body".to_owned(), text.to_owned()),
    };
    serde_json::from_str(&raw)
        .map_err(|e| AppError::Usage(format!("{source} is not JSON: {e}")).into())
}

/// The configured API `name`, its document loaded and its client built.
pub(crate) async fn open(
    loaded: &LoadedConfig,
    locations: &Locations,
    name: &str,
    flags: &SpecFlags,
) -> anyhow::Result<Api> {
    open_with(loaded, locations, name, flags, None).await
}

/// [`open`], recording to or replaying from `cassette`: a GraphQL endpoint
/// (`graphql = URL`) or an API with its document loaded.
pub(crate) async fn open_with(
    loaded: &LoadedConfig,
    locations: &Locations,
    name: &str,
    flags: &SpecFlags,
    cassette: Option<Cassette>,
) -> anyhow::Result<Api> {
    let settings = settings_of(loaded, name)?;
    let spec = match settings.graphql_endpoint() {
        Some(_) => None,
        None => Some(configured(loaded, locations, name, flags).await?.1),
    };
    let tuning = apiops_config::providers::tuning(&loaded.settings);
    settings
        .open(name, spec, &tuning, cassette)
        .map_err(|e| match e {
            OpenError::MissingCredentials { api, variables } => {
                AppError::ApiCredentialsMissing { api, variables }.into()
            }
            OpenError::Call(e) => call_error(e),
        })
}

/// The settings of the configured API `name` and its document (loaded, or read from the
/// cache): a usage error names the configured ones when `name` is not one of them.
async fn configured<'a>(
    loaded: &'a LoadedConfig,
    locations: &Locations,
    name: &str,
    flags: &SpecFlags,
) -> anyhow::Result<(&'a ApiSettings, Spec)> {
    let api = settings_of(loaded, name)?;
    let spec = spec_of(loaded, locations, name, api, flags)
        .await?
        .ok_or_else(|| {
            AppError::Usage(format!(
                "{name} is a GraphQL endpoint: its operations are not listed (no OpenAPI document)"
            ))
        })?;
    Ok((api, spec))
}

/// The `[apis.NAME]` table of `name`: a usage error names the configured ones when `name` is
/// not one of them.
fn settings_of<'a>(loaded: &'a LoadedConfig, name: &str) -> anyhow::Result<&'a ApiSettings> {
    let apis = &loaded.settings.apis;
    apis.get(name).ok_or_else(|| {
        let names: Vec<&str> = apis.keys().map(String::as_str).collect();
        AppError::Usage(if names.is_empty() {
            format!("no API {name:?} is configured: add an [apis.{name}] table (see README, \"Add any API\")")
        } else {
            format!("no API {name:?} is configured; configured: {}", names.join(", "))
        })
        .into()
    })
}

async fn spec_of(
    loaded: &LoadedConfig,
    locations: &Locations,
    name: &str,
    api: &ApiSettings,
    flags: &SpecFlags,
) -> anyhow::Result<Option<Spec>> {
    let options = SpecOptions {
        cache_dir: locations.cache_dir.clone(),
        refresh: flags.refresh,
        allow_private: flags.allow_private_targets,
        ..SpecOptions::default()
    };
    load_spec(name, api, &options)
        .await
        .map_err(|e| spec_error(loaded, name, e))
}

/// A document that cannot be used is a configuration error (exit 7) naming the key.
fn spec_error(loaded: &LoadedConfig, name: &str, e: SpecError) -> anyhow::Error {
    let key = format!("apis.{name}.spec");
    let origin: Option<Origin> = loaded.origins.of(&key);
    AppError::Config(ConfigError::Invalid(vec![Problem {
        key: Some(key),
        message: e.to_string(),
        origin,
    }]))
    .into()
}

/// The engine's errors as the command's: bad input exits 2, configuration 7, missing
/// credentials 8, the API's failures 1.
fn call_error(e: CallError) -> anyhow::Error {
    match e {
        e if e.is_usage() => AppError::Usage(e.to_string()).into(),
        CallError::Config(m) => AppError::Config(ConfigError::Invalid(vec![Problem {
            key: None,
            message: m,
            origin: None,
        }]))
        .into(),
        CallError::MissingCredential { api, variable } => AppError::ApiCredentialsMissing {
            api,
            variables: vec![variable],
        }
        .into(),
        other => anyhow::Error::new(other),
    }
}
