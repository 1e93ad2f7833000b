//! `apiops graphql NAME --query @FILE|TEXT [--var k=v]... [--all]`: a GraphQL endpoint
//! configured as `[apis.NAME] graphql = URL`, through `apiops_openapi::graphql`. Thin: read the
//! query and its variables (refused before anything is sent when they do not fit), call the
//! engine, render. A query runs at once; partial data is shown beside its errors (exit 6) and
//! the errors are kept in the event log (`apiops errors NAME`). A mutation is a write: planned
//! and confirmed as `apiops call` confirms writes, then journaled. `--record` / `--replay`
//! use a cassette as `apiops call` does (requests matched by their body, so each page and each
//! query has its own answer; no token in the file).

use anyhow::Context as _;
use apiops_config::{LoadedConfig, Locations};
use apiops_openapi::{Api, Document, GqlKind, JsonLines};
use clap::Args;

use super::views::GraphQlView;
use super::{
    CassetteArgs, SpecFlags, WriteArgs, call_error, open_with, parse_pair, record, run_write,
    settings_of,
};
use crate::commands::checks;
use crate::exit::{AppError, Exit};
use crate::output::{self, Format};

/// `apiops graphql`.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 data, 6 partial data beside errors, 1 the API failed, \
2 bad query or variables (nothing sent), 5 a mutation without a yes, 7 configuration, 8 credentials.\n\
Example: apiops graphql gh --query @repos.graphql --var first=50 --all"
)]
pub(crate) struct GraphQlArgs {
    /// The API's name ([apis.NAME] with graphql = URL)
    #[arg(value_name = "NAME")]
    pub(crate) name: String,
    /// The query or mutation: its text, or @FILE to read it from a file
    #[arg(long, value_name = "@FILE|TEXT")]
    pub(crate) query: String,
    /// A variable the query declares, typed by its declaration (Int, Float, Boolean, String,
    /// ID; lists and input objects as JSON); repeat for more
    #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_pair)]
    pub(crate) vars: Vec<(String, String)>,
    /// Follow pageInfo { hasNextPage endCursor } through every page and print every node as
    /// a JSON line (queries only)
    #[arg(long)]
    pub(crate) all: bool,
    /// With --all: the variable that takes endCursor (default: $after, $cursor, or the one
    /// declared variable ending in "cursor")
    #[arg(long, value_name = "NAME", requires = "all")]
    pub(crate) cursor_var: Option<String>,
    /// With --all: the field of the connection to page (default: the first object with a
    /// pageInfo)
    #[arg(long, value_name = "FIELD", requires = "all")]
    pub(crate) connection: Option<String>,
    /// A mutation is a write: these confirm it
    #[command(flatten)]
    pub(crate) write: WriteArgs,
    #[command(flatten)]
    pub(crate) cassette: CassetteArgs,
}

/// `apiops graphql ...`
pub(crate) fn run(
    loaded: &LoadedConfig,
    locations: &Locations,
    args: &GraphQlArgs,
    format: Format,
) -> anyhow::Result<Exit> {
    let settings = settings_of(loaded, &args.name)?;
    let endpoint = settings.graphql_endpoint().ok_or_else(|| {
        AppError::Usage(format!(
            "{} is an OpenAPI API, not a GraphQL endpoint (no graphql = URL in [apis.{}]): use apiops call {} OPERATION",
            args.name, args.name, args.name
        ))
    })?;
    let cassette = args.cassette.open()?;
    let text = match args.query.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| AppError::Usage(format!("--query @{path}: {e}")))?,
        None => args.query.clone(),
    };
    let doc = Document::parse(&text).map_err(call_error)?;
    let variables = doc.variables(&args.vars).map_err(call_error)?;
    if args.all && doc.kind == GqlKind::Mutation {
        let why = "--all follows the pages of a query; this is a mutation";
        return Err(AppError::Usage(why.to_owned()).into());
    }
    let cursor_var = args.all.then(|| doc.cursor_var(args.cursor_var.as_deref()));
    let cursor_var = cursor_var.transpose().map_err(call_error)?;
    let rt = checks::runtime()?;
    let flags = SpecFlags {
        refresh: false,
        allow_private_targets: false,
    };
    let api = rt.block_on(open_with(loaded, locations, &args.name, &flags, cassette))?;
    let req = Api::graphql_request(endpoint, &text, variables);
    let label = doc.label();
    if doc.kind == GqlKind::Mutation {
        let plan = api.graphql_plan(&doc, req, args.write.salt().as_deref());
        return run_write(loaded, &rt, &api, plan, args.write, format);
    }
    let now = jiff::Timestamp::now;
    if let Some(cursor_var) = cursor_var {
        let mut lines = JsonLines::new(std::io::stdout().lock());
        let on_item = &mut |item| lines.item(item);
        let result = rt.block_on(api.graphql_each_node(
            req,
            &cursor_var,
            args.connection.as_deref(),
            on_item,
        ));
        let failure = match &result {
            Err(_) if lines.failed() => None,
            Err(e) => api.failure_event(&label, e, now()),
            Ok(paged) => paged
                .failure()
                .and_then(|e| api.failure_event(&label, &e, now())),
        };
        rt.block_on(record::keep(&loaded.settings, &api, failure));
        lines.finish().context("writing")?;
        let paged = result.map_err(call_error)?;
        tracing::info!(items = paged.items, pages = paged.pages, "listing done");
        if paged.messages.is_empty() {
            return Ok(Exit::Ok);
        }
        for m in &paged.messages {
            anstream::eprintln!("GraphQL error beside partial data: {m}");
        }
        return Ok(Exit::PartialBatch);
    }
    let answer = rt.block_on(api.graphql(&req));
    let failure = match &answer {
        Err(e) => api.failure_event(&label, e, now()),
        Ok(a) => a
            .failure()
            .and_then(|e| api.failure_event(&label, &e, now())),
    };
    rt.block_on(record::keep(&loaded.settings, &api, failure));
    let answer = answer.map_err(call_error)?;
    let partial = answer.partial();
    output::emit(format, &GraphQlView { answer, partial }).context("writing")?;
    let exit = if partial {
        Exit::PartialBatch
    } else {
        Exit::Ok
    };
    Ok(exit)
}
