//! `apiops do "list domains on mail"`: plain words onto an operation of a configured API. A
//! request naming a configured API (a word equal to its name) is matched against that API's
//! operations with the `apiops-openapi` index word search: the other words (bar a few
//! connectives) must all appear in one operation's summary — or, failing that, in exactly one
//! operation's id, path, summary or tags. One match runs as `apiops call NAME OPERATION` would
//! (a read at once; a write planned and gated, `--yes`/`--dry-run`/`--new` passed on);
//! otherwise the candidates are listed, nothing is sent, and the exit is 2.

use apiops_config::{LoadedConfig, Locations};
use apiops_openapi::{Api, Operation};

use super::{CallArgs, SpecFlags, configured, spec_error};
use crate::commands::ops::DoArgs;
use crate::exit::{AppError, Exit};
use crate::output::Format;

/// Words that only join the request together.
const CONNECTIVES: &[&str] = &[
    "a", "all", "an", "api", "at", "for", "from", "in", "my", "of", "on", "the", "to", "using",
    "via", "with",
];

/// The configured API a request names, and its other words (lower case, connectives left out).
pub(crate) fn target(loaded: &LoadedConfig, request: &str) -> Option<(String, Vec<String>)> {
    let words: Vec<String> = request
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric() && c != '-' && c != '_')
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    let name = words
        .iter()
        .find(|w| loaded.settings.apis.contains_key(w.as_str()))?
        .clone();
    let rest = words
        .into_iter()
        .filter(|w| *w != name && !CONNECTIVES.contains(&w.as_str()))
        .collect();
    Some((name, rest))
}

/// The one operation `words` name, or the candidates.
pub(crate) fn choose<'a>(
    ops: &'a [Operation],
    words: &[String],
) -> Result<&'a Operation, Vec<&'a Operation>> {
    let all_in = |hay: &str| {
        let hay = hay.to_lowercase();
        !words.is_empty() && words.iter().all(|w| hay.contains(w.as_str()))
    };
    let by_summary: Vec<&Operation> = ops.iter().filter(|o| all_in(&o.summary)).collect();
    if let [one] = by_summary.as_slice() {
        return Ok(one);
    }
    let anywhere: Vec<&Operation> = ops
        .iter()
        .filter(|o| {
            all_in(&format!(
                "{} {} {} {} {}",
                o.id,
                o.method,
                o.path,
                o.summary,
                o.tags.join(" ")
            ))
        })
        .collect();
    match anywhere.as_slice() {
        [one] if by_summary.is_empty() => Ok(one),
        _ if !by_summary.is_empty() => Err(by_summary),
        _ if !anywhere.is_empty() => Err(anywhere),
        // Nothing has every word: the operations with any of them.
        _ => Err(ops
            .iter()
            .filter(|o| {
                let hay = format!("{} {} {}", o.id, o.path, o.summary).to_lowercase();
                words.iter().any(|w| hay.contains(w.as_str()))
            })
            .collect()),
    }
}

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
    let Some((name, words)) = target(loaded, &request) else {
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
        yes: args.flags.yes,
        dry_run: args.flags.dry_run,
        new: args.flags.new,
        record: None,
        replay: None,
        spec: flags,
    };
    super::call(loaded, locations, &call, format).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(id: &str, summary: &str) -> Operation {
        let spec = apiops_openapi::Spec::parse(
            format!(
                r#"{{"openapi":"3.0.3","info":{{"title":"t","version":"1"}},"paths":{{"/x":{{"get":{{"operationId":"{id}","summary":"{summary}","responses":{{"200":{{"description":"ok"}}}}}}}}}}}}"#
            )
            .as_bytes(),
            "t",
            1 << 20,
        )
        .expect("spec");
        Api::index_of(&spec, None).expect("index").operations()[0].clone()
    }

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn one_summary_wins_and_ambiguity_lists_the_candidates() {
        let ops = vec![
            op("domains/list", "List domains"),
            op("domains/get", "Retrieve a domain"),
            op("emails/list", "List emails"),
        ];
        assert_eq!(
            choose(&ops, &w("list domains")).ok().map(|o| o.id.as_str()),
            Some("domains/list")
        );
        let e = choose(&ops, &w("list")).expect_err("ambiguous");
        assert_eq!(e.len(), 2);
        let e = choose(&ops, &w("delete everything")).expect_err("none");
        assert!(e.is_empty());
        // Only the id says it: one operation, so it is that one.
        assert_eq!(
            choose(&ops, &w("emails/list")).ok().map(|o| o.id.as_str()),
            Some("emails/list")
        );
    }
}
