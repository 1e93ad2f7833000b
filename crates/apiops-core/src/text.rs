//! Shortening text for display: provider messages, response bodies and store excerpts are cut
//! to a bound before they are shown or kept. Counts characters, never bytes, so a cut never
//! lands inside a multi-byte character.
//!
//! This is not where text is scrubbed of secrets or personal data (`apiops_client::redact`,
//! `apiops_providers::normalize`); callers scrub first, then cut.

/// What a cut text ends with.
pub const ELLIPSIS: char = '…';

/// `text` when it holds at most `max` characters; otherwise its first `max - 1` characters and
/// [`ELLIPSIS`], so the result never holds more than `max` characters (`max` of 0 gives `""`).
pub fn truncate(text: &str, max: usize) -> String {
    let Some((cut, _)) = text.char_indices().nth(max) else {
        return text.to_owned();
    };
    let Some(keep) = max.checked_sub(1) else {
        return String::new();
    };
    let end = text[..cut].char_indices().nth(keep).map_or(cut, |(i, _)| i);
    let mut out = String::with_capacity(end + ELLIPSIS.len_utf8());
    out.push_str(&text[..end]);
    out.push(ELLIPSIS);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_text_is_kept_whole() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("", 0), "");
    }

    #[test]
    fn long_text_is_cut_to_max_characters_ellipsis_included() {
        assert_eq!(truncate("abcdef", 3), "ab…");
        assert_eq!(truncate("abcd", 1), "…");
        assert_eq!(truncate("abcd", 0), "");
    }

    #[test]
    fn multi_byte_characters_count_as_one_and_are_never_split() {
        assert_eq!(truncate("héllo", 3), "hé…");
        assert_eq!(truncate("日本語のテキスト", 4), "日本語…");
        assert_eq!(truncate("😀😀😀", 3), "😀😀😀");
        assert_eq!(truncate("😀😀😀😀", 3), "😀😀…");
    }

    proptest! {
        #[test]
        fn never_longer_than_max_and_a_prefix_of_the_text(text in ".{0,40}", max in 0usize..50) {
            let out = truncate(&text, max);
            prop_assert!(out.chars().count() <= max || out == text);
            let kept = out.strip_suffix(ELLIPSIS).unwrap_or(&out);
            prop_assert!(text.starts_with(kept));
            if text.chars().count() <= max {
                prop_assert_eq!(out, text);
            }
        }
    }
}
