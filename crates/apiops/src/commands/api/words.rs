//! `apiops do "list domains on mail"`: plain words onto an operation of a configured API. A
//! request naming a configured API (a word equal to its name) is matched against that API's
//! operations with the `apiops-openapi` index word search: the other words (bar a few
//! connectives) must all appear in one operation's summary — or, failing that, in exactly one
//! operation's id, path, summary or tags. One match runs as `apiops call NAME OPERATION` would
//! (a read at once; a write planned and gated, `--yes`/`--dry-run`/`--new` passed on);
//! otherwise the candidates are listed, nothing is sent, and the exit is 2.

use apiops_config::{LoadedConfig, Locations};
use apiops_openapi::Api;
use apiops_openapi::words::{choose, target};

use super::{CallArgs, SpecFlags, configured, spec_error};
use crate::commands::ops::DoArgs;
use crate::exit::{AppError, Exit};
use crate::output::Format;

/// Runs the request when it names a configured API; `None` leaves it to the built-in intents.
pub(crate) fn run(
    loaded: &LoadedConfig,
    locations: &Locations,
    args: &DoArgs,
    format: Format,
) -> anyhow::Result<Option<Exit>> {
    let request = args.request.join(" ");
    if args.explain || args.llm {
        return Ok(None);
    }
    let Some((name, words)) = target(&request, |w| loaded.settings.apis.contains_key(w)) else {
        return Ok(None);
    };
    let flags = SpecFlags {
        refresh: false,
        allow_private_targets: args.flags.allow_private_targets,
    };
    let rt = crate::commands::checks::runtime()?;
    let (api, spec) = rt.block_on(configured(loaded, locations, &name, &flags))?;
    let index = Api::index_of(&spec, api.idempotency_header.as_deref())
        .map_err(|e| spec_error(loaded, &name, e))?;
    let chosen = match choose(index.operations(), &words) {
        Ok(op) => op.id.clone(),
        Err(candidates) => {
            let list: Vec<String> = candidates
                .iter()
                .take(10)
                .map(|o| format!("  {} ({} {}): {}", o.id, o.method, o.path, o.summary))
                .collect();
            let why = if candidates.is_empty() {
                format!("no operation of {name} matches {:?}", words.join(" "))
            } else {
                format!(
                    "{:?} matches {} operations of {name}; nothing was sent. Say which (or run apiops call {name} OPERATION):\n{}",
                    words.join(" "),
                    candidates.len(),
                    list.join("\n")
                )
            };
            return Err(AppError::Usage(why).into());
        }
    };
    anstream::eprintln!("apiops do: {request:?} is {name} {chosen}");
    let call = CallArgs {
        name,
        operation: chosen,
        params: Vec::new(),
        body: None,
        all: false,
        write: super::WriteArgs {
            yes: args.flags.yes,
            dry_run: args.flags.dry_run,
            new: args.flags.new,
        },
        cassette: super::CassetteArgs {
            record: None,
            replay: None,
        },
        spec: flags,
    };
    super::call(loaded, locations, &call, format).map(Some)
}
