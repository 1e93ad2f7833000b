//! Spelling correction: a word that is not in the vocabulary becomes the one vocabulary word
//! within a small edit distance, or stays as it is when there is none or more than one.

use super::lexicon;

/// Words shorter than this are never corrected, nor corrected into ("to", "sms", "gpt", "buy"
/// are too short to guess at).
const MIN_LEN: usize = 4;
/// Words longer than this are never corrected (and never cost much time).
const MAX_LEN: usize = 24;

/// The optimal-string-alignment distance between `a` and `b`, in characters: insertions,
/// deletions, substitutions and transpositions of two adjacent characters each cost 1
/// ("stirpe" -> "stripe" is 1).
pub(super) fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows: i-2, i-1 and i.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            current[j] = d;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// How far a word of `len` characters may be from its correction.
fn max_distance(len: usize) -> usize {
    if len <= 6 { 1 } else { 2 }
}

/// The vocabulary word `word` is a misspelling of, if exactly one is close enough and shares
/// its first letter (typos rarely hit the first letter; "next" must not become "text").
/// `None` for a known word, a short or long word, or no single close word.
pub(super) fn correct(word: &str) -> Option<&'static str> {
    let len = word.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&len) || lexicon::is_known(word) {
        return None;
    }
    let first = word.chars().next()?;
    let limit = max_distance(len);
    let mut best: Option<(usize, &'static str)> = None;
    let mut tie = false;
    for candidate in lexicon::vocabulary() {
        // Never into a short word: "busy" is not "buy".
        if candidate.len() < MIN_LEN
            || !candidate.starts_with(first)
            || candidate.len().abs_diff(len) > limit
        {
            continue;
        }
        let d = distance(word, candidate);
        if d > limit {
            continue;
        }
        match best {
            Some((bd, bw)) if d == bd && bw != candidate => tie = true,
            Some((bd, _)) if d >= bd => {}
            _ => {
                best = Some((d, candidate));
                tie = false;
            }
        }
    }
    match best {
        Some((_, w)) if !tie => Some(w),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits_and_adjacent_transpositions() {
        assert_eq!(distance("", ""), 0);
        assert_eq!(distance("abc", ""), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("twilio", "twilio"), 0);
        assert_eq!(distance("twilo", "twilio"), 1);
        assert_eq!(distance("twillio", "twilio"), 1);
        assert_eq!(distance("strpe", "stripe"), 1);
        assert_eq!(distance("stirpe", "stripe"), 1);
        assert_eq!(distance("opneai", "openai"), 1);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("ca", "abc"), 3);
        assert_eq!(distance("refund", "resend"), 2);
        assert_eq!(distance("héllo", "hello"), 1);
    }

    #[test]
    fn distance_is_symmetric() {
        for (a, b) in [
            ("numbr", "number"),
            ("mesage", "message"),
            ("ab", "ba"),
            ("x", ""),
        ] {
            assert_eq!(distance(a, b), distance(b, a), "{a} {b}");
        }
    }

    #[test]
    fn misspellings_are_corrected() {
        for (typo, word) in [
            ("twillio", "twilio"),
            ("twilo", "twilio"),
            ("strpe", "stripe"),
            ("stirpe", "stripe"),
            ("opneai", "openai"),
            ("phne", "phone"),
            ("numbr", "number"),
            ("mesage", "message"),
            ("endpont", "endpoint"),
            ("disbale", "disable"),
            ("realease", "release"),
        ] {
            assert_eq!(correct(typo), Some(word), "{typo}");
        }
    }

    #[test]
    fn known_short_unrelated_or_ambiguous_words_are_kept() {
        // Known words, too short, a different first letter, too far, or a tie ("lost": last/list).
        for w in [
            "test", "text", "sms", "gpt", "next", "best", "lost", "refund", "xyzzyq",
        ] {
            assert_eq!(correct(w), None, "{w}");
        }
    }
}
