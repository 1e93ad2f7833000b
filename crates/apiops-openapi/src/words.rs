//! Plain words onto one operation of a configured API (`apiops do "list domains on mail"`):
//! the request names the API by a word equal to its name; the other words (bar a few
//! connectives) must all appear in one operation's summary — or, failing that, in exactly one
//! operation's id, path, summary or tags. Otherwise the candidates come back and the caller
//! sends nothing.

use crate::index::Operation;

/// Words that only join the request together.
const CONNECTIVES: &[&str] = &[
    "a", "all", "an", "api", "at", "for", "from", "in", "my", "of", "on", "the", "to", "using",
    "via", "with",
];

/// The configured API a request names (the first word `is_api` accepts), and its other words
/// (lower case, connectives left out).
pub fn target(request: &str, is_api: impl Fn(&str) -> bool) -> Option<(String, Vec<String>)> {
    let words: Vec<String> = request
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric() && c != '-' && c != '_')
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    let name = words.iter().find(|w| is_api(w.as_str()))?.clone();
    let rest = words
        .into_iter()
        .filter(|w| *w != name && !CONNECTIVES.contains(&w.as_str()))
        .collect();
    Some((name, rest))
}

/// The one operation `words` name, or the candidates.
pub fn choose<'a>(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn op(id: &str, summary: &str) -> Operation {
        let spec = crate::Spec::parse(
            format!(
                r#"{{"openapi":"3.0.3","info":{{"title":"t","version":"1"}},"paths":{{"/x":{{"get":{{"operationId":"{id}","summary":"{summary}","responses":{{"200":{{"description":"ok"}}}}}}}}}}}}"#
            )
            .as_bytes(),
            "t",
            1 << 20,
        )
        .expect("spec");
        crate::Api::index_of(&spec, None)
            .expect("index")
            .operations()[0]
            .clone()
    }

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_api_is_the_word_that_names_it() {
        let is_api = |w: &str| w == "mail";
        assert_eq!(
            target("List the Domains on mail!", is_api),
            Some(("mail".to_owned(), w("list domains")))
        );
        assert_eq!(target("list domains", is_api), None);
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
