//! The words the parser knows: what each one means, and the vocabulary spelling correction
//! aims at. Every word a rule looks at is listed here, so a misspelling of it can be corrected;
//! common words no rule needs are listed too, so that they are not "corrected" into one that a
//! rule does ("best" must not become "test").
//!
//! This file holds the lookups and the vocabulary; the words are in `lexicon/`, by class:
//! `requests` (verbs, nouns, services, topics: what a request asks for), `quantities` (units,
//! numbers, time words, countries), `grammar` (conjunctions, negations, states, questions,
//! politeness) and `common` (words no rule uses).

mod common;
mod grammar;
mod quantities;
mod requests;

use apiops_core::Service;

use common::COMMON;
pub(super) use grammar::*;
pub(super) use quantities::*;
pub(super) use requests::*;

/// Every word a rule or the correction knows.
pub(super) fn vocabulary() -> impl Iterator<Item = &'static str> {
    VERBS
        .iter()
        .map(|(w, _)| *w)
        .chain(OBJECTS.iter().map(|(w, _, _)| *w))
        .chain(SERVICES.iter().map(|(w, _)| *w))
        .chain(SERVICE_HINTS.iter().map(|(w, _)| *w))
        .chain(QUESTION.iter().copied())
        .chain(HEALTH.iter().copied())
        .chain(USAGE.iter().copied())
        .chain(CONFIG.iter().copied())
        .chain(FAILING.iter().copied())
        .chain(FAILED.iter().copied())
        .chain(OUT_OF_SCOPE_VERBS.iter().copied())
        .chain(OUT_OF_SCOPE_NOUNS.iter().map(|(w, _)| *w))
        .chain(UNITS.iter().map(|(w, _)| *w))
        .chain(NUMBER_WORDS.iter().map(|(w, _)| *w))
        .chain(TIME_WORDS.iter().map(|(w, _)| *w))
        .chain(COUNTRIES.iter().flat_map(|(w, _)| w.split(' ')))
        .chain(NEGATIONS.iter().copied())
        .chain(HALTS.iter().copied())
        .chain(STATES.iter().copied())
        .chain(STATE_ADVERBS.iter().copied())
        .chain(AUXILIARIES.iter().copied())
        .chain(SUBJECTS.iter().copied())
        .chain(QUESTION_LEADS.iter().copied())
        .chain(DOUBTS.iter().copied())
        .chain(CONJUNCTIONS.iter().copied())
        .chain(LEADING_FILLERS.iter().copied())
        .chain(COMMON.iter().copied())
}

/// Whether `word` is in the vocabulary as it is.
pub(super) fn is_known(word: &str) -> bool {
    vocabulary().any(|w| w == word)
}

/// Looks `word` up in a table.
pub(super) fn lookup<T: Copy>(table: &[(&str, T)], word: &str) -> Option<T> {
    table.iter().find(|(w, _)| *w == word).map(|(_, v)| *v)
}

/// Whether `word` is in a list.
pub(super) fn is_in(list: &[&str], word: &str) -> bool {
    list.contains(&word)
}

/// The verb `word` is.
pub(super) fn verb(word: &str) -> Option<Verb> {
    lookup(VERBS, word)
}

/// The catalog noun `word` is, with the service it implies.
pub(super) fn object(word: &str) -> Option<(Obj, Option<Service>)> {
    OBJECTS
        .iter()
        .find(|(w, _, _)| *w == word)
        .map(|(_, o, s)| (*o, *s))
}

/// The seconds in the time unit `word`.
pub(super) fn unit(word: &str) -> Option<u64> {
    lookup(UNITS, word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vocabulary_is_lower_case_ascii() {
        for w in vocabulary() {
            assert!(
                w.chars().all(|c| c.is_ascii_lowercase()),
                "{w:?} is not a lower-case word"
            );
        }
    }

    #[test]
    fn lookups_find_their_entries() {
        assert_eq!(verb("purchase"), Some(Verb::Buy));
        assert_eq!(object("sms"), Some((Obj::Message, Some(Service::Twilio))));
        assert_eq!(unit("hours"), Some(3600));
        assert!(is_known("twilio"));
        assert!(!is_known("twilo"));
    }
}
