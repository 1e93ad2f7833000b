//! Plain words onto one operation (`apiops do "list domains on mail"`, and the MCP tools that
//! take words): a request names a configured API by a word equal to its name, and its other
//! words (bar a few connectives) must all appear in one operation's summary — or, failing
//! that, in exactly one operation's id, method, path, summary or tags. Anything else is a list
//! of candidates, for the caller to show; nothing here sends a request.

use crate::index::{Index, Operation};

/// Words that only join a request together.
const CONNECTIVES: &[&str] = &[
    "a", "all", "an", "api", "at", "for", "from", "in", "my", "of", "on", "the", "to", "using",
    "via", "with",
];

/// A request that names a configured API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// The API's name, as configured.
    pub api: String,
    /// The request's other words: lower case, punctuation trimmed, connectives left out.
    pub words: Vec<String>,
}

/// The configured API `request` names (the first word `is_api` accepts) and its other words;
/// `None` when it names none.
pub fn named(request: &str, is_api: impl Fn(&str) -> bool) -> Option<Named> {
    let words: Vec<String> = request
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric() && c != '-' && c != '_')
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    let api = words.iter().find(|w| is_api(w))?.clone();
    let words = words
        .into_iter()
        .filter(|w| *w != api && !CONNECTIVES.contains(&w.as_str()))
        .collect();
    Some(Named { api, words })
}

impl Index {
    /// The one operation `words` name, or the candidates: those whose summary has every word,
    /// else those that have every word anywhere, else those that have any of them (empty when
    /// none has).
    pub fn choose<'a>(&'a self, words: &'a [String]) -> Result<&'a Operation, Vec<&'a Operation>> {
        let by_summary: Vec<&Operation> = self
            .operations()
            .iter()
            .filter(|o| {
                let summary = o.summary.to_lowercase();
                !words.is_empty() && words.iter().all(|w| summary.contains(w.as_str()))
            })
            .collect();
        if let [one] = by_summary.as_slice() {
            return Ok(one);
        }
        if !by_summary.is_empty() {
            return Err(by_summary);
        }
        let anywhere: Vec<&Operation> = if words.is_empty() {
            Vec::new()
        } else {
            self.search(words).collect()
        };
        match anywhere.as_slice() {
            [one] => Ok(one),
            [] => Err(self
                .operations()
                .iter()
                .filter(|o| {
                    let hay = format!("{} {} {}", o.id, o.path, o.summary).to_lowercase();
                    words.iter().any(|w| hay.contains(w.as_str()))
                })
                .collect()),
            _ => Err(anywhere),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Spec;

    fn index(ops: &[(&str, &str)]) -> Index {
        let paths: Vec<String> = ops
            .iter()
            .enumerate()
            .map(|(i, (id, summary))| {
                format!(
                    r#""/p{i}":{{"get":{{"operationId":"{id}","summary":"{summary}","responses":{{"200":{{"description":"ok"}}}}}}}}"#
                )
            })
            .collect();
        let doc = format!(
            r#"{{"openapi":"3.0.3","info":{{"title":"t","version":"1"}},"paths":{{{}}}}}"#,
            paths.join(",")
        );
        let spec = Spec::parse(doc.as_bytes(), "t", 1 << 20).expect("spec");
        Index::build(&spec, None).expect("index")
    }

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn one_summary_wins_and_ambiguity_lists_the_candidates() {
        let ix = index(&[
            ("domains/list", "List domains"),
            ("domains/get", "Retrieve a domain"),
            ("emails/list", "List emails"),
        ]);
        let id = |words: &str| ix.choose(&w(words)).ok().map(|o| o.id.clone());
        assert_eq!(id("list domains").as_deref(), Some("domains/list"));
        assert_eq!(ix.choose(&w("list")).expect_err("ambiguous").len(), 2);
        assert!(
            ix.choose(&w("delete everything"))
                .expect_err("none")
                .is_empty()
        );
        // Only the id says it: one operation, so it is that one.
        assert_eq!(id("emails/list").as_deref(), Some("emails/list"));
        // No words name nothing.
        assert!(ix.choose(&[]).is_err());
    }

    #[test]
    fn the_request_names_its_api_and_loses_its_connectives() {
        let got = named("List all the Domains on mail.", |w| w == "mail").expect("named");
        assert_eq!(
            got,
            Named {
                api: "mail".into(),
                words: w("list domains")
            }
        );
        assert_eq!(named("list domains", |w| w == "mail"), None);
    }
}
