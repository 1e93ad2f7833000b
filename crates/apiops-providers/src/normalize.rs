//! Text a provider wrote, made fit to keep: personal data scrubbed from error messages and
//! failure reasons before they become an [`ErrorEvent`](apiops_core::ErrorEvent)'s context.
//! Every provider's normalization uses these, so what counts as personal data is decided once.
//!
//! This is not where secrets are removed (that is `apiops_client::redact`, by value) nor where
//! text is cut to a length (`apiops_core::text::truncate`, applied after scrubbing).

/// What an e-mail address is replaced with.
pub const EMAIL: &str = "[email]";

/// What a long digit run (a card, phone or account number) is replaced with.
pub const NUMBER: &str = "[number]";

/// Digit runs at least this long are masked: card numbers (13 to 19 digits) and phone numbers
/// (10 or more with the country code), while dates, amounts and error codes stay readable.
const MIN_MASKED_DIGITS: usize = 10;

/// Punctuation around a word that is not part of an e-mail address in it (quotes, brackets,
/// sentence punctuation, Markdown's backticks).
const AROUND_WORD: &str = "()<>[]\"',;:.!?`";

/// `text` with e-mail addresses replaced by [`EMAIL`] and long digit runs (10 or more digits,
/// single spaces or dashes allowed between them: card and phone numbers) by [`NUMBER`], so
/// provider messages never carry personal data (a payment's failure reason may quote the
/// customer; a fine-tuning error may quote training data).
pub fn scrub_personal_data(text: &str) -> String {
    let words: Vec<String> = text.split(' ').map(scrub_email).collect();
    mask_digit_runs(&words.join(" "))
}

/// One space-separated word with an e-mail address in it replaced.
fn scrub_email(word: &str) -> String {
    let core = word.trim_matches(|c: char| AROUND_WORD.contains(c));
    let is_email = core
        .find('@')
        .is_some_and(|i| i > 0 && core[i + 1..].contains('.'));
    if is_email {
        word.replacen(core, EMAIL, 1)
    } else {
        word.to_owned()
    }
}

/// `text` with every run of at least [`MIN_MASKED_DIGITS`] digits (single spaces or dashes
/// between digits continue a run) replaced by [`NUMBER`].
fn mask_digit_runs(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let (mut j, mut end, mut digits) = (i, i, 0);
        while j < chars.len() {
            if chars[j].is_ascii_digit() {
                digits += 1;
                j += 1;
                end = j;
            } else if (chars[j] == ' ' || chars[j] == '-')
                && chars.get(j + 1).is_some_and(char::is_ascii_digit)
            {
                j += 1;
            } else {
                break;
            }
        }
        if digits >= MIN_MASKED_DIGITS {
            out.push_str(NUMBER);
        } else {
            out.extend(&chars[i..end]);
        }
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails_and_long_numbers_are_replaced() {
        let cases: &[(&str, &str)] = &[
            // From Stripe's failure reasons.
            (
                "mail ops@example.com, card 4000-0000-0000-0002 ok 2024-01-04",
                "mail [email], card [number] ok 2024-01-04",
            ),
            ("line 12345 only", "line 12345 only"),
            ("call +1 415 555 0123.", "call +[number]."),
            ("(a@b.co)", "([email])"),
            // From OpenAI's fine-tuning errors, which may quote training data.
            (
                "Example 3 has jane@example.com and 4111 1111 1111 1111",
                "Example 3 has [email] and [number]",
            ),
            ("row `jane@example.com` is bad", "row `[email]` is bad"),
            ("\"jane@example.com\";", "\"[email]\";"),
        ];
        for (input, want) in cases {
            assert_eq!(scrub_personal_data(input), *want, "{input:?}");
        }
    }

    #[test]
    fn what_is_not_personal_data_is_kept() {
        for kept in [
            "card_declined: insufficient_funds",
            "@mention and user@localhost and @",
            "amount 123456789 (nine digits)",
            "code 30007 on 2027-01-15",
            "12345  67890 (two spaces end a run)",
            "naïve café résumé",
        ] {
            assert_eq!(scrub_personal_data(kept), kept);
        }
    }

    #[test]
    fn separators_join_a_run_only_between_digits() {
        assert_eq!(scrub_personal_data("1234567890"), NUMBER);
        assert_eq!(scrub_personal_data("12345-67890"), NUMBER);
        assert_eq!(scrub_personal_data("12345 - 67890"), "12345 - 67890");
        assert_eq!(scrub_personal_data("12345--67890"), "12345--67890");
        assert_eq!(scrub_personal_data("tel 1234567890-"), "tel [number]-");
    }

    proptest! {
        #[test]
        fn never_panics_and_removes_long_digit_runs(s in ".{0,120}", n in 10usize..20) {
            let digits: String = "4".repeat(n);
            let out = scrub_personal_data(&format!("{s} {digits} {s}"));
            prop_assert!(!out.contains(&digits));
        }

        #[test]
        fn removes_every_email(user in "[a-z0-9][a-z0-9._]{0,11}", host in "[a-z]{1,10}", tld in "[a-z]{2,4}", wrap in 0usize..4) {
            let email = format!("{user}@{host}.{tld}");
            let (open, close) = [("", ""), ("(", ")"), ("`", "`."), ("<", ">,")][wrap];
            let out = scrub_personal_data(&format!("to {open}{email}{close} now"));
            prop_assert!(!out.contains(&email), "{}", out);
        }
    }
}
