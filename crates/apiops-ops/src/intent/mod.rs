//! The deterministic, offline intent parser: plain words -> an [`Operation`] from the catalog,
//! or a question when the request is incomplete or ambiguous. It never guesses.
//!
//! The pipeline, one module each:
//! - `text`: normalization (case, quotes, dashes) and tokens: words, spelling-corrected by
//!   `fuzzy` against the `lexicon`; values checked by `values` (E.164 numbers, URLs, ids,
//!   durations, models, event types).
//! - the request is split into clauses at "and"/"then"/commas followed by a verb; more than one
//!   operation is a question ("one operation at a time").
//! - `features`: what a clause says (verbs, nouns, services, values with their roles).
//! - `decide`: which operation, or a question, or nothing in the catalog.
//! - `build`: the operation's parameters, each missing, invalid or ambiguous one a question.
//! - `mood`: whether the request says to do it at all. A change it says not to make ("don't
//!   buy ...") or only asks about ("should I buy ...?") is a question, never a run.

mod build;
mod decide;
mod features;
mod fuzzy;
mod lexicon;
mod mood;
pub mod phrases;
mod text;
mod values;

use std::ops::Range;

use serde::Serialize;

use crate::catalog::{OpKind, Operation};
use decide::{Action, Decision};
use features::Features;
use mood::Mood;
use text::{Tok, Token};

/// What a request means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "intent", rename_all = "snake_case")]
pub enum Intent {
    /// A complete operation, ready to plan.
    Run {
        /// The operation.
        operation: Operation,
    },
    /// Incomplete or ambiguous: what to ask, and the candidates to choose from when known.
    Ask {
        /// The operation the request seems to want, when that much is clear.
        kind: Option<OpKind>,
        /// One question, ending with '?'.
        question: String,
        /// Complete requests the user may mean (possibly empty).
        candidates: Vec<String>,
    },
    /// Nothing in the catalog matches.
    Unknown {
        /// Why, in one sentence.
        reason: String,
        /// Example requests that would work.
        examples: Vec<String>,
    },
}

/// Parses a request: a complete operation, a question, or nothing in the catalog. Total: any
/// text gives an answer, and never a guess; never a change the request says not to make or
/// only asks about.
pub fn parse(text: &str) -> Intent {
    parse_offering(text, true)
}

/// [`parse`], offering (`offer`) the plain request to run when a change is held back; the
/// offer is itself parsed, with `offer` false, to check that it runs.
fn parse_offering(text: &str, offer: bool) -> Intent {
    let normalized = text::normalize(text);
    if normalized.chars().count() > text::MAX_CHARS {
        return decide::unknown_intent(format!(
            "The request is longer than {} characters",
            text::MAX_CHARS
        ));
    }
    let tokens = text::tokenize(&normalized);
    if tokens.is_empty() {
        return decide::unknown_intent("The request is empty".into());
    }
    let all_caps = !normalized.chars().any(char::is_lowercase);
    let clauses = clauses(&tokens);
    let parts: Vec<Part> = clauses
        .iter()
        .map(|r| {
            let f = features::extract(&tokens, r.clone(), all_caps);
            let decision = decide::classify(&f);
            Part {
                range: r.clone(),
                features: f,
                decision,
            }
        })
        .collect();
    let intent = combine(&tokens, parts, all_caps);
    hold_back(intent, &tokens, &normalized, offer)
}

/// A change the request says not to make, or only asks about, becomes a question with the
/// plain request to run deliberately (when one runs as the same operation); reads, and
/// requests that mean what they say, pass through.
fn hold_back(intent: Intent, tokens: &[Token], normalized: &str, offer: bool) -> Intent {
    let Some(kind) = changing_kind(&intent) else {
        return intent;
    };
    let mood = mood::mood(tokens, normalized);
    if mood == Mood::Imperative {
        return intent;
    }
    let plain = offer
        .then(|| {
            mood::plain_requests(tokens)
                .into_iter()
                .find(|r| runs_as(r, kind))
        })
        .flatten();
    Intent::Ask {
        kind: Some(kind),
        question: mood::question(mood, kind, plain.as_deref()),
        candidates: plain.into_iter().collect(),
    }
}

/// The operation an answer runs or asks about, when it changes something.
fn changing_kind(intent: &Intent) -> Option<OpKind> {
    let kind = match intent {
        Intent::Run { operation } => operation.kind(),
        Intent::Ask { kind: Some(k), .. } => *k,
        Intent::Ask { kind: None, .. } | Intent::Unknown { .. } => return None,
    };
    (!kind.spec().read_only()).then_some(kind)
}

/// Whether `request` runs, as it is, an operation of `kind`.
fn runs_as(request: &str, kind: OpKind) -> bool {
    matches!(parse_offering(request, false), Intent::Run { operation } if operation.kind() == kind)
}

/// Requests that work, for answers that found nothing.
pub(crate) fn examples() -> Vec<String> {
    [
        "buy a phone number in 415",
        "send a test message to +14155550100",
        "why are calls failing",
        "check twilio errors for the last 6 hours",
        "disable the stripe endpoint that keeps failing",
        "resend undelivered stripe events",
        "test completion with gpt-4o-mini",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// One clause, what it says and what it comes to.
#[derive(Debug)]
struct Part {
    range: Range<usize>,
    features: Features,
    decision: Decision,
}

/// Splits at "and", "then", commas... when a verb follows: "buy a number and disable the
/// endpoint" is two clauses, "send to +1415... and +1415..." is one.
fn clauses(tokens: &[Token]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, t) in tokens.iter().enumerate() {
        if is_joint(t) && verb_follows(&tokens[i + 1..]) {
            if start < i {
                out.push(start..i);
            }
            start = i + 1;
        }
    }
    if start < tokens.len() {
        out.push(start..tokens.len());
    }
    out
}

fn is_joint(t: &Token) -> bool {
    t.tok == Tok::Sep
        || t.word()
            .is_some_and(|w| lexicon::is_in(lexicon::CONJUNCTIONS, w))
}

/// Whether the first word after fillers ("then", "please") is a verb.
fn verb_follows(rest: &[Token]) -> bool {
    rest.iter()
        .find(|t| !(t.tok == Tok::Sep || t.word().is_some_and(is_filler)))
        .and_then(Token::word)
        .is_some_and(|w| lexicon::verb(w).is_some())
}

fn is_filler(w: &str) -> bool {
    lexicon::is_in(lexicon::LEADING_FILLERS, w) || lexicon::is_in(lexicon::CONJUNCTIONS, w)
}

/// The answer for all clauses: one operation, a merged one (several audits; a purchase and the
/// URLs to set on it), or a question asking for one at a time.
fn combine(tokens: &[Token], parts: Vec<Part>, all_caps: bool) -> Intent {
    if let Some(unknown) = parts.iter().find_map(|p| match &p.decision {
        Decision::Done(i @ Intent::Unknown { .. }) => Some(i.clone()),
        _ => None,
    }) {
        return unknown;
    }
    let mut active: Vec<Part> = parts
        .into_iter()
        .filter(|p| !matches!(p.decision, Decision::Nothing))
        .collect();
    match active.len() {
        0 => decide::unknown_intent("Nothing in the catalog matches the request".into()),
        1 => match active.pop() {
            Some(p) => settle(p.decision, &p.features),
            None => decide::unknown_intent("Nothing in the catalog matches the request".into()),
        },
        _ => merge(tokens, &active, all_caps).unwrap_or_else(|| one_at_a_time(tokens, &active)),
    }
}

fn settle(decision: Decision, f: &Features) -> Intent {
    match decision {
        Decision::Act(a) => build::build(a, f),
        Decision::Done(i) => i,
        Decision::Nothing => {
            decide::unknown_intent("Nothing in the catalog matches the request".into())
        }
    }
}

/// Clauses that are one operation: audits ("check twilio errors and check stripe errors"), or
/// a purchase and the URLs for it ("buy a number in 415 and set its sms url to ...").
fn merge(tokens: &[Token], parts: &[Part], all_caps: bool) -> Option<Intent> {
    let actions: Vec<Option<Action>> = parts
        .iter()
        .map(|p| match p.decision {
            Decision::Act(a) => Some(a),
            _ => None,
        })
        .collect();
    let all_audits = actions.iter().all(|a| *a == Some(Action::Audit));
    let buy_then_urls = matches!(
        actions.as_slice(),
        [Some(Action::Buy), Some(Action::UpdateNumber)]
    ) && parts
        .get(1)
        .is_some_and(|p| p.features.all_numbers().is_empty() && p.features.sids.is_empty());
    let action = if all_audits {
        Action::Audit
    } else if buy_then_urls {
        Action::Buy
    } else {
        return None;
    };
    let start = parts.first()?.range.start;
    let end = parts.last()?.range.end;
    let merged = features::extract(tokens, start..end, all_caps);
    Some(build::build(action, &merged))
}

/// The question for several operations in one request: each clause is a candidate, when it is
/// understood on its own. A clause that is not ("IN and buy": "IN" read as India beside "buy",
/// but as the word "in" alone) is not offered; with one clause left, the request is that one.
fn one_at_a_time(tokens: &[Token], parts: &[Part]) -> Intent {
    let mut candidates: Vec<String> = parts
        .iter()
        .map(|p| clause_text(tokens, &p.range))
        .filter(|c| !matches!(parse(c), Intent::Unknown { .. }))
        .collect();
    if candidates.len() < 2 {
        return match candidates.pop() {
            Some(only) => parse(&only),
            None => decide::unknown_intent("Nothing in the catalog matches the request".into()),
        };
    }
    Intent::Ask {
        kind: None,
        question: format!(
            "The request asks for {} operations, and I run one operation at a time: which one first?",
            candidates.len()
        ),
        candidates,
    }
}

/// A clause as written.
fn clause_text(tokens: &[Token], range: &Range<usize>) -> String {
    text::join_raw(tokens.get(range.clone()).unwrap_or_default())
}

/// Whether the words decline their action or only ask about it ("don't buy…", "should I
/// release…?"): such a request plans no change, whoever maps it (the `--llm` planner too).
pub fn declines_action(text: &str) -> bool {
    let normalized = text::normalize(text);
    let tokens = text::tokenize(&normalized);
    mood::mood(&tokens, &normalized) != Mood::Imperative
}
