//! The embedded Twilio error dictionary (`data/twilio_errors.tsv`) checked row by row against
//! the source it was converted from, Twilio's published error list
//! (`../shared/reference/twilio-error-codes.json`): the same codes, each with its log type, log
//! level and message, and a solution that is the start of Twilio's own suggested solutions.

use std::collections::BTreeSet;
use std::path::PathBuf;

use apiops_providers::twilio::classify::{LogType, dictionary_entry, dictionary_len};
use serde_json::Value;

/// Twilio's published error list, beside the repository. Missing is a failure, not a skip: the
/// dictionary would go unchecked.
fn reference() -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/twilio-error-codes.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the reference must sit beside the repo)",
            path.display()
        )
    });
    serde_json::from_str::<Vec<Value>>(&text).expect("a JSON array of errors")
}

/// Whitespace runs as one space, trimmed.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Twilio's Markdown reduced to words: list markers, links (their text kept), HTML-ish tags,
/// emphasis and code marks removed, whitespace collapsed.
fn words(markdown: &str) -> String {
    let mut lines = Vec::new();
    for line in markdown.lines() {
        let mut l = line.trim_start();
        for marker in ["* ", "- "] {
            if let Some(rest) = l.strip_prefix(marker) {
                l = rest;
            }
        }
        let digits = l.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 && l[digits..].starts_with(". ") {
            l = &l[digits + 2..];
        }
        lines.push(l);
    }
    let text = lines.join(" ");
    // [text](url) -> text; <tag> -> nothing.
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(c) = rest.chars().next() {
        let skip_to = match c {
            // [text](url): the text was kept, the url goes.
            ']' if rest[1..].starts_with('(') => rest.find(')'),
            '<' => rest.find('>'),
            _ => None,
        };
        if let Some(end) = skip_to {
            rest = &rest[end + 1..];
            continue;
        }
        if !matches!(c, '`' | '*' | '_' | '[' | ']') {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    collapse(&out)
}

#[test]
fn the_dictionary_matches_twilios_published_list_row_by_row() {
    let reference = reference();
    assert_eq!(
        reference.len(),
        dictionary_len(),
        "as many codes as Twilio lists"
    );
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    for r in &reference {
        let code = u32::try_from(r["code"].as_u64().expect("code")).expect("a u32 code");
        assert!(seen.insert(code), "{code} listed twice");
        let Some(e) = dictionary_entry(code) else {
            problems.push(format!("{code}: missing from the TSV"));
            continue;
        };
        let log_type = match r["log_type"].as_str() {
            Some("APPLICATION") => Some(LogType::Application),
            Some("TWILIO") => Some(LogType::Twilio),
            Some("CARRIER") => Some(LogType::Carrier),
            None => None,
            Some(other) => panic!("{code}: a log type the TSV cannot hold: {other}"),
        };
        if e.log_type != log_type {
            problems.push(format!(
                "{code}: log type {:?}, Twilio says {log_type:?}",
                e.log_type
            ));
        }
        let warning = match r["log_level"].as_str() {
            Some("WARNING") => true,
            Some("ERROR") => false,
            other => panic!("{code}: log level {other:?}"),
        };
        if e.warning != warning {
            problems.push(format!(
                "{code}: warning {}, Twilio says {warning}",
                e.warning
            ));
        }
        let message = collapse(&r["message"].as_str().unwrap_or("").replace('`', ""));
        if e.message != message {
            problems.push(format!(
                "{code}: message {:?}, Twilio says {message:?}",
                e.message
            ));
        }
        // The TSV keeps the first sentence (cut with … when long) of the solutions.
        let solutions = words(r["solutions"].as_str().unwrap_or(""));
        let ours = words(e.solution);
        let ours = ours.trim_end_matches('…').trim_end();
        if ours.is_empty() != solutions.is_empty() || !solutions.starts_with(ours) {
            problems.push(format!(
                "{code}: solution {:?}, Twilio says {solutions:?}",
                e.solution
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} rows differ from Twilio's list:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_reduction_to_words_keeps_the_text_of_links_and_drops_markup() {
    assert_eq!(
        words("* Use [Studio](https://x.y/z) to add a `<Dial>` verb\r\n* **Second**"),
        "Use Studio to add a verb Second"
    );
    assert_eq!(words("1. First.\r\n\r\n2. Second."), "First. Second.");
    assert_eq!(
        words("  * lone ] (not a link) and a < b"),
        "lone (not a link) and a < b"
    );
}
