//! Whether a request asks for its action at all. "Don't buy a number in 415" says not to, and
//! "should I release +14155550100?" asks about it: when the operation would change something,
//! either one is answered with a question and the plain request to run deliberately, never
//! run. Reads are left alone ("why aren't messages delivered?" is what reads are for); that
//! decision is the caller's, this module only reads the cues and words the answer.
//!
//! The cues are words in their place, not a grammar, and they lean one way: asking when acting
//! was meant is the safe mistake, acting on "don't" is the one that must not happen.

use super::features;
use super::lexicon::{self, Verb};
use super::text::{self, Tok, Token};
use crate::catalog::OpKind;

/// How a request puts its action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mood {
    /// Do it.
    Imperative,
    /// Don't do it: "don't", "never", "no need to", "stop sending".
    Negated,
    /// Should it be done? "should I", "what happens if", "is it safe to", a '?'.
    Asked,
}

/// Verbs whose operations change something (or send something, a test included).
pub(super) const CHANGES: &[Verb] = &[
    Verb::Buy,
    Verb::Release,
    Verb::Delete,
    Verb::Update,
    Verb::Send,
    Verb::Test,
    Verb::Enable,
    Verb::Disable,
    Verb::Resend,
];

/// How the request (its tokens, and its normalized text for the '?' the tokens drop) puts its
/// action. A negation wins over a question: "shouldn't I release it?" plans nothing either way.
pub(super) fn mood(tokens: &[Token], normalized: &str) -> Mood {
    let action = first_action(tokens);
    if (0..tokens.len()).any(|i| negates(tokens, i, action)) {
        Mood::Negated
    } else if has_question_mark(normalized) || asks_before(tokens, action) {
        Mood::Asked
    } else {
        Mood::Imperative
    }
}

/// The answer for an operation of `kind` that the request says not to do, or asks about, with
/// the plain request that would run it, if there is one.
pub(super) fn question(mood: Mood, kind: OpKind, plain: Option<&str>) -> String {
    let doing = doing(kind);
    match mood {
        Mood::Negated => {
            let preview =
                plain.map_or(String::new(), |p| format!(" (apiops do --dry-run \"{p}\")"));
            format!(
                "You asked not to {doing}, so nothing will be planned. Did you mean to see what it would do, with --dry-run{preview}?"
            )
        }
        Mood::Asked | Mood::Imperative => {
            let spec = kind.spec();
            format!(
                "Whether to {doing} is your call: apiops does not decide that for you. What it would do ({}): {}. Do you want it done (see the plan first with --dry-run)?",
                spec.name, spec.side_effects
            )
        }
    }
}

/// Requests that say the action plainly, best first: from the verb on, up to a later cue
/// ("buy a number in 415" from "I do not want to buy a number in 415", "send test events to
/// we_1" from "stop sending test events to we_1"); then the whole request without its
/// negations ("the endpoint we_1: never disable it" -> "the endpoint we_1 disable it"). The
/// caller keeps the first that runs.
pub(super) fn plain_requests(tokens: &[Token]) -> Vec<String> {
    let action = first_action(tokens);
    let mut out = Vec::new();
    if let Some(start) = action {
        let end = (start + 1..tokens.len())
            .find(|&i| negates(tokens, i, action) || asks_at(tokens, i))
            .unwrap_or(tokens.len());
        let mut kept = trim_end(tokens.get(start..end).unwrap_or_default()).to_vec();
        if let Some(first) = kept.first_mut() {
            imperative(first);
        }
        out.push(text::join_raw(&kept));
    }
    let kept: Vec<&Token> = tokens
        .iter()
        .enumerate()
        .filter(|&(i, _)| !negates(tokens, i, action) && !auxiliary_of_negation(tokens, i))
        .map(|(_, t)| t)
        .collect();
    out.push(text::join_raw(kept));
    out.retain(|r| !r.is_empty());
    out.dedup();
    out
}

/// The verb as an order: "sending" -> "send".
fn imperative(verb: &mut Token) {
    if let Some(base) = verb.word().and_then(base_form) {
        verb.raw.clone_from(&base);
        verb.tok = Tok::Word(base);
    }
}

/// What the operation does, as "You asked not to ..." and "Whether to ..." end.
fn doing(kind: OpKind) -> String {
    let phrase = match kind {
        OpKind::TwilioBuyNumber => "buy a phone number",
        OpKind::TwilioReleaseNumber => "release a phone number",
        OpKind::TwilioUpdateNumber => "change a phone number's webhook URLs",
        OpKind::TwilioSendTestSms => "send a test SMS",
        OpKind::StripeEnableEndpoint => "enable a Stripe webhook endpoint",
        OpKind::StripeDisableEndpoint => "disable a Stripe webhook endpoint",
        OpKind::StripeUpdateEndpoint => "change a Stripe webhook endpoint",
        OpKind::StripeSendTestEvent => "send a test event to a Stripe endpoint",
        OpKind::StripeResendUndelivered => "resend undelivered Stripe events",
        OpKind::OpenaiTestCompletion => "send a test completion to OpenAI",
        _ => return format!("run {}", kind.name()),
    };
    phrase.to_owned()
}

fn word(tokens: &[Token], i: usize) -> Option<&str> {
    tokens.get(i).and_then(Token::word)
}

/// Where the action is named: the first verb that changes something ("buy", "turn off"),
/// "use" before a URL, or "text" before a number.
fn first_action(tokens: &[Token]) -> Option<usize> {
    (0..tokens.len()).find(|&i| names_action(tokens, i))
}

fn names_action(tokens: &[Token], i: usize) -> bool {
    let Some(w) = word(tokens, i) else {
        return false;
    };
    let next = word(tokens, i + 1);
    if let Some(v) = features::verb_of(w, next) {
        return CHANGES.contains(&v);
    }
    let next_tok = tokens.get(i + 1).map(|t| &t.tok);
    match w {
        "use" => matches!(next_tok, Some(Tok::Url(_))),
        "text" | "sms" | "message" | "mms" => {
            matches!(next_tok, Some(Tok::Phone(_))) || next == Some("to")
        }
        _ => false,
    }
}

/// Whether the word at `i` says not to do the action: a negation that does not describe a
/// thing ("events that were not delivered", "with no body"), or a halt ("stop sending") before
/// the action or before a verb.
fn negates(tokens: &[Token], i: usize, action: Option<usize>) -> bool {
    let Some(t) = tokens.get(i) else {
        return false;
    };
    let Some(w) = t.word() else {
        return false;
    };
    if lexicon::is_in(lexicon::HALTS, w) {
        return action.is_none_or(|a| i < a) || halts_what_follows(tokens, i);
    }
    let negation = lexicon::is_in(lexicon::NEGATIONS, w) || t.raw.to_lowercase().ends_with("n't");
    negation && !describes_a_state(tokens, i) && !names_a_thing(tokens, i)
}

/// "stop sending", "avoid buying", "refrain from releasing", "hold off on buying", or "stop"
/// on its own.
fn halts_what_follows(tokens: &[Token], i: usize) -> bool {
    let next = (i + 1..tokens.len())
        .find(|&j| !matches!(word(tokens, j), Some("from" | "on" | "off" | "about")));
    match next.and_then(|j| tokens.get(j)) {
        None => true,
        Some(t) if t.tok == Tok::Sep => true,
        Some(t) => t.word().is_some_and(is_verb_form),
    }
}

/// A negation followed by a state, perhaps after an adverb: "not delivered", "isn't working",
/// "never been enabled", "no longer responding". The word is judged as corrected and as
/// written: "configured" is a state even where it was corrected into "configure".
fn describes_a_state(tokens: &[Token], i: usize) -> bool {
    let next = (i + 1..tokens.len())
        .take(4)
        .find(|&j| !word(tokens, j).is_some_and(|w| lexicon::is_in(lexicon::STATE_ADVERBS, w)));
    // A state word with an action after it in the same clause ("never failing disable",
    // "never failing A disable") does not describe a state: the negation is read as a
    // refusal, which is the safe reading ("not delivered, resend it" still describes one).
    next.is_some_and(|j| {
        tokens.get(j).is_some_and(|t| {
            t.word()
                .is_some_and(|w| is_state(w) || is_state(&t.raw.to_lowercase()))
        }) && !tokens[j + 1..]
            .iter()
            .take_while(|t| t.tok != Tok::Sep)
            .any(|t| t.word().is_some_and(is_verb_form))
    })
}

/// A word for how something is: a listed one ("working", "sent"), one of failing, or a
/// participle ("delivered", "configured"). Other words in -ing are not: "I'm not asking you to
/// buy" refuses.
fn is_state(w: &str) -> bool {
    let participle = w.len() > 4 && w.ends_with("ed") && !w.ends_with("eed");
    lexicon::is_in(lexicon::STATES, w) || lexicon::is_in(lexicon::FAILING, w) || participle
}

/// A verb of the catalog, or its -ing form ("sending", "trying", "dropping", "provisioning").
fn is_verb_form(w: &str) -> bool {
    lexicon::verb(w).is_some() || base_form(w).is_some()
}

/// The verb of the catalog an -ing form is of: "sending" -> "send", "disabling" -> "disable",
/// "setting" -> "set".
fn base_form(w: &str) -> Option<String> {
    let stem = w.strip_suffix("ing")?;
    let undoubled = stem.get(..stem.len().saturating_sub(1)).unwrap_or_default();
    [stem.to_owned(), format!("{stem}e"), undoubled.to_owned()]
        .into_iter()
        .find(|s| lexicon::verb(s).is_some())
}

/// "no" that is not a refusal: a country ("in NO") or an absence ("with no body").
fn names_a_thing(tokens: &[Token], i: usize) -> bool {
    word(tokens, i) == Some("no")
        && i.checked_sub(1)
            .and_then(|p| word(tokens, p))
            .is_some_and(|p| matches!(p, "in" | "with"))
}

/// "do" of "do not", "does" of "doesn't ever" ...: dropped with the negation it carries.
fn auxiliary_of_negation(tokens: &[Token], i: usize) -> bool {
    matches!(word(tokens, i), Some("do" | "does" | "did"))
        && word(tokens, i + 1).is_some_and(|w| lexicon::is_in(lexicon::NEGATIONS, w))
}

/// A question mark outside quoted text (a message body may ask anything): "buy a number in
/// 415?", "¿...", a full-width '？'.
fn has_question_mark(normalized: &str) -> bool {
    const CLOSING: &[char] = &['\'', ')', ']', '}', '>', '*', '.', '!'];
    text::quote_segments(normalized)
        .into_iter()
        .filter(|(quoted, _)| !quoted)
        .flat_map(|(_, segment)| segment.split_whitespace())
        .any(|chunk| {
            let end = chunk.trim_end_matches(CLOSING);
            end.ends_with(['?', '\u{FF1F}']) || chunk.contains('\u{00BF}')
        })
}

/// Whether the request asks about its action: it opens like a question ("does disabling
/// ...", "would releasing ..."), a question word comes before the action ("what happens if I
/// disable ...", "how do I buy ..."), or one anywhere weighs it ("should I", "is it safe to",
/// "..., would that be ok").
fn asks_before(tokens: &[Token], action: Option<usize>) -> bool {
    let before = action.unwrap_or(tokens.len());
    let leads =
        |i: usize| word(tokens, i).is_some_and(|w| lexicon::is_in(lexicon::QUESTION_LEADS, w));
    opens_like_a_question(tokens)
        || (0..before).any(leads)
        || (0..tokens.len()).any(|i| asks_at(tokens, i))
}

/// An auxiliary first, except in a polite request ("can you", "could you please").
fn opens_like_a_question(tokens: &[Token]) -> bool {
    let Some(first) = tokens.iter().position(|t| t.tok != Tok::Sep) else {
        return false;
    };
    let Some(w) = word(tokens, first) else {
        return false;
    };
    let polite = lexicon::is_in(lexicon::POLITE, w)
        && word(tokens, first + 1).is_some_and(|n| matches!(n, "you" | "u" | "please" | "kindly"));
    lexicon::is_in(lexicon::AUXILIARIES, w) && !polite
}

/// A word weighing the action at `i` ("should", "safe", "maybe"), or an auxiliary before its
/// subject ("can I", "is it", "do we", "would that"), but not in a polite request ("can you",
/// "would you").
fn asks_at(tokens: &[Token], i: usize) -> bool {
    let Some(w) = word(tokens, i) else {
        return false;
    };
    if lexicon::is_in(lexicon::DOUBTS, w) {
        return true;
    }
    let Some(subject) = word(tokens, i + 1) else {
        return false;
    };
    let polite = lexicon::is_in(lexicon::POLITE, w) && matches!(subject, "you" | "u");
    lexicon::is_in(lexicon::AUXILIARIES, w) && lexicon::is_in(lexicon::SUBJECTS, subject) && !polite
}

/// Without the words a request cannot end on: separators, "and", "but", "I", "please".
fn trim_end(tokens: &[Token]) -> &[Token] {
    let dangling = |t: &Token| {
        t.tok == Tok::Sep
            || t.word().is_some_and(|w| {
                matches!(w, "but" | "or" | "so")
                    || lexicon::is_in(lexicon::CONJUNCTIONS, w)
                    || lexicon::is_in(lexicon::LEADING_FILLERS, w)
                    || lexicon::is_in(lexicon::SUBJECTS, w)
            })
    };
    let end = tokens
        .iter()
        .rposition(|t| !dangling(t))
        .map_or(0, |i| i + 1);
    tokens.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mood_of(s: &str) -> Mood {
        let normalized = text::normalize(s);
        mood(&text::tokenize(&normalized), &normalized)
    }

    #[test]
    fn negations_refuse_the_action() {
        for s in [
            "don't buy a number in 415",
            "do not buy a number in 415",
            "never send a test sms",
            "no need to release it",
            "I shouldn't disable we_1",
            "we won't need to resend events",
            "stop sending test events",
            "avoid buying numbers",
            "needn't release it",
            "buy a number in 415, don't",
            "release it? no",
        ] {
            assert_eq!(mood_of(s), Mood::Negated, "{s:?}");
        }
    }

    #[test]
    fn negations_of_a_state_describe_a_thing() {
        for s in [
            "resend events that were not delivered",
            "disable the endpoint that isn't working",
            "disable the endpoint that is no longer working",
            "resend events that have not yet been delivered",
            "send a test sms with no body to +14155550100",
            "buy a number in NO",
            "disable we_1 so it will stop failing",
        ] {
            assert_eq!(mood_of(s), Mood::Imperative, "{s:?}");
        }
    }

    #[test]
    fn questions_ask_about_the_action() {
        for s in [
            "should I buy a number in 415",
            "can I release +14155550100",
            "would it be ok to send a test sms",
            "what happens if I disable we_1",
            "is it safe to resend events",
            "do I need to buy a number",
            "does disabling we_1 lose events",
            "can you disable we_1?",
            "buy a number in 415 \u{FF1F}",
        ] {
            assert_eq!(mood_of(s), Mood::Asked, "{s:?}");
        }
    }

    #[test]
    fn polite_requests_and_quoted_questions_are_imperative() {
        for s in [
            "can you purchase +14155550100",
            "could you please disable we_1",
            "send a test sms to +14155550100 saying \"are you there?\"",
        ] {
            assert_eq!(mood_of(s), Mood::Imperative, "{s:?}");
        }
    }

    #[test]
    fn plain_requests_drop_the_negation_and_the_question() {
        let plain = |s: &str| plain_requests(&text::tokenize(&text::normalize(s)));
        assert_eq!(
            plain("I do not want to buy a number in 415")[0],
            "buy a number in 415"
        );
        assert_eq!(
            plain("release +14155550100, I don't need it")[0],
            "release +14155550100"
        );
        assert_eq!(plain("should we turn off we_1?")[0], "turn off we_1");
        assert_eq!(
            plain("stop sending test events to we_1")[0],
            "send test events to we_1"
        );
        assert_eq!(
            plain("the endpoint we_1: never disable it")[1],
            "the endpoint we_1 disable it"
        );
    }

    #[test]
    fn questions_end_with_a_question_mark() {
        for kind in [OpKind::TwilioBuyNumber, OpKind::AuditErrors] {
            for m in [Mood::Negated, Mood::Asked] {
                assert!(question(m, kind, Some("buy a number in 415")).ends_with('?'));
                assert!(question(m, kind, None).ends_with('?'));
            }
        }
    }
}
