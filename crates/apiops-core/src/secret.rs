//! Masking of secrets for display. A secret is never shown whole: at most its first 4 and last
//! 4 characters, and nothing at all when it is shorter than 12 characters (then 4 + 4 would
//! reveal most of it). Storage of secrets is `secrecy::SecretString`; this module only renders.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// What a secret shorter than [`MIN_PARTIAL_LEN`] is shown as; its length is not revealed.
pub const FULLY_MASKED: &str = "********";

/// Below this many characters a secret is masked entirely.
pub const MIN_PARTIAL_LEN: usize = 12;

/// Masks `value`: `ACxx...1234` for 12 characters or more, [`FULLY_MASKED`] otherwise.
///
/// Works on characters, not bytes, so a multi-byte secret can never be cut inside a character.
pub fn mask(value: &str) -> String {
    let count = value.chars().count();
    if count < MIN_PARTIAL_LEN {
        return FULLY_MASKED.to_owned();
    }
    let head: String = value.chars().take(4).collect();
    let tail: String = value.chars().skip(count - 4).collect();
    format!("{head}...{tail}")
}

/// Displays a [`SecretString`] masked, for `format!` and tables.
pub struct Masked<'a>(pub &'a SecretString);

impl fmt::Display for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask(self.0.expose_secret()))
    }
}

impl fmt::Debug for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        let cases = [
            ("", FULLY_MASKED),
            ("short", FULLY_MASKED),
            ("12345678901", FULLY_MASKED),
            ("123456789012", "1234...9012"),
            ("AC0123456789abcdef0123456789abcdef", "AC01...cdef"),
            ("sk_test_51Habcdefghijklmnop1234", "sk_t...1234"),
            ("ééééééééééééé1234", "éééé...1234"),
        ];
        for (input, want) in cases {
            assert_eq!(mask(input), want, "mask({input:?})");
        }
    }

    #[test]
    fn masked_display_and_debug() {
        let s = SecretString::from("whsec_canary_0123456789");
        assert_eq!(Masked(&s).to_string(), "whse...6789");
        assert_eq!(format!("{:?}", Masked(&s)), "whse...6789");
    }

    proptest! {
        #[test]
        fn never_reveals_the_middle(secret in "[a-zA-Z0-9_]{0,64}") {
            let shown = mask(&secret);
            let n = secret.chars().count();
            if n < MIN_PARTIAL_LEN {
                prop_assert_eq!(shown, FULLY_MASKED);
            } else {
                prop_assert_eq!(shown.len(), 11);
                prop_assert!(shown.starts_with(&secret[..4]));
                prop_assert!(shown.ends_with(&secret[n - 4..]));
                if n > 11 { prop_assert!(!shown.contains(&secret[..n-2])); }
            }
        }
    }
}
