//! The receiving side of each provider's webhook signature scheme, as pure functions.
//!
//! - [`stripe`]: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`, HMAC-SHA256 keyed with the
//!   whole `whsec_...` string over `"{t}.{body}"`.
//! - [`twilio`]: `X-Twilio-Signature`, base64 HMAC-SHA1 keyed with the Auth Token over the URL
//!   and the sorted form parameters (or, for JSON bodies, over the URL carrying `bodySHA256`).
//! - [`hmac_scheme`]: the configurable HMAC scheme of any API (GitHub, Shopify, Slack and
//!   the like): one header with a hex or base64 HMAC-SHA1/256/512 of a signed-content template
//!   over the raw body and, optionally, a timestamp and an id header.
//! - [`standard`]: Standard Webhooks (OpenAI, Svix): `webhook-id`, `webhook-timestamp`,
//!   `webhook-signature: v1,<base64> ...`, HMAC-SHA256 keyed with the base64-decoded part of the
//!   `whsec_...` secret over `"{id}.{timestamp}.{body}"`.
//!
//! Common rules:
//!
//! - Verify the raw body bytes, before any parsing.
//! - Signatures are decoded to fixed-size byte arrays first and compared in constant time
//!   (`subtle`), only ever against an expected MAC of the same length: an entry that does not
//!   decode to exactly the MAC's length can never match (the "`v1,` short-signature trap").
//! - Timestamps are checked in both directions: `|now - t| <= tolerance` is accepted (exactly at
//!   the tolerance passes, one second beyond fails, in the past and in the future alike).
//!   The signature is checked first, so [`SignatureError::TimestampOutsideTolerance`] means the
//!   request was authentic but stale or from the future (a replay or a skewed clock), while a
//!   forgery always ends in [`SignatureError::Mismatch`].
//! - Several secrets may be configured during a rotation: any secret with any signature matches.
//! - The parsers are total: no input makes them panic. Error messages never contain a secret, an
//!   expected signature, or any part of the attacker-controlled input.
//! - No clock is read: the caller passes `now`.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use secrecy::ExposeSecret;
use subtle::{Choice, ConstantTimeEq};

pub mod hmac_scheme;
pub mod standard;
pub mod stripe;
pub mod twilio;

/// The tolerance every provider documents for webhook timestamps: 5 minutes.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Why a webhook signature was rejected.
///
/// Messages are safe to log and to return to the sender: they never contain a secret, the
/// expected signature, or the received header values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// A required header is absent or empty; the value is the header's name.
    #[error("missing or empty {0} header")]
    MissingHeader(&'static str),
    /// A required header named by the configuration (a configured API's scheme) is absent or
    /// empty; the value is the header's name.
    #[error("missing or empty {0} header")]
    MissingNamedHeader(String),
    /// A header (or the URL, for Twilio JSON bodies) could not be parsed; the reason names what
    /// was wrong without quoting the input.
    #[error("malformed webhook signature input: {0}")]
    Malformed(&'static str),
    /// The signature header parsed but carries no signature of the scheme we verify (e.g. only
    /// Stripe's `v0` or a Standard Webhooks `v1a`).
    #[error("the signature header has no {scheme} signature")]
    NoSignatureForScheme {
        /// The scheme that was looked for (`v1`).
        scheme: &'static str,
    },
    /// The signature is valid but its timestamp is too far from `now`.
    #[error(
        "webhook timestamp is {}, outside the {} s tolerance",
        describe_age(*age_secs),
        tolerance.as_secs()
    )]
    TimestampOutsideTolerance {
        /// `now - timestamp` in seconds: positive for the past, negative for the future.
        age_secs: i64,
        /// The tolerance that was applied.
        tolerance: Duration,
    },
    /// No signature matches the payload under any configured secret: a forgery, a tampered
    /// body, a wrong secret or (Twilio) a URL other than the one that was signed.
    #[error("no signature matches the payload with any configured secret")]
    Mismatch,
    /// Twilio JSON body: the signature over the URL is valid but the body's SHA-256 differs
    /// from the URL's `bodySHA256`.
    #[error("the body does not match the bodySHA256 the signed URL carries")]
    BodyHashMismatch,
    /// A configured secret cannot be used (none configured, empty, or not `whsec_` + base64
    /// for Standard Webhooks). A configuration problem, not the sender's.
    #[error("webhook secret unusable: {0}")]
    InvalidSecret(&'static str),
}

impl SignatureError {
    /// True when the error comes from our configuration (the secrets), not from the request:
    /// a receiver answers these with a 5xx and an alert rather than blaming the sender.
    pub fn is_misconfiguration(&self) -> bool {
        matches!(self, SignatureError::InvalidSecret(_))
    }
}

fn describe_age(age_secs: i64) -> String {
    if age_secs >= 0 {
        format!("{age_secs} s old")
    } else {
        format!("{} s in the future", age_secs.unsigned_abs())
    }
}

/// A webhook secret (signing secret or auth token), however the caller keeps it.
///
/// Implemented for `str`, `String`, [`secrecy::SecretString`] and references to them, so a
/// rotation list can be `&["whsec_old", "whsec_new"]` or `&[secret_string]`.
pub trait WebhookSecret {
    /// The secret's text. Used only as MAC key material, never logged or formatted.
    fn expose_secret_str(&self) -> &str;
}

impl WebhookSecret for str {
    fn expose_secret_str(&self) -> &str {
        self
    }
}

impl WebhookSecret for String {
    fn expose_secret_str(&self) -> &str {
        self
    }
}

impl WebhookSecret for secrecy::SecretString {
    fn expose_secret_str(&self) -> &str {
        self.expose_secret()
    }
}

impl<T: WebhookSecret + ?Sized> WebhookSecret for &T {
    fn expose_secret_str(&self) -> &str {
        (**self).expose_secret_str()
    }
}

/// A unix time in whole seconds written canonically: 1 to 19 ASCII digits, no sign, no leading
/// zero (except `0` itself), no whitespace. Canonical so that the text a sender signed and the
/// number we check cannot differ.
pub(crate) fn parse_unix_seconds(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    // Digits only (no sign, space or separator, which `parse` would take or choke on). Empty
    // text and more than 19 digits need no check of their own: neither parses as an i64.
    if !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if bytes.len() > 1 && bytes.first() == Some(&b'0') {
        return None;
    }
    text.parse::<i64>().ok()
}

/// Accept `timestamp` if `|now - timestamp| <= tolerance` (whole seconds).
pub(crate) fn check_tolerance(
    timestamp: i64,
    now: jiff::Timestamp,
    tolerance: Duration,
) -> Result<jiff::Timestamp, SignatureError> {
    let age = i128::from(now.as_second()) - i128::from(timestamp);
    if age.unsigned_abs() > u128::from(tolerance.as_secs()) {
        // Saturated to i64 with its sign (clamped first, so the conversion cannot fail).
        let age_secs =
            i64::try_from(age.clamp(i128::from(i64::MIN), i128::from(i64::MAX))).unwrap_or(0);
        return Err(SignatureError::TimestampOutsideTolerance {
            age_secs,
            tolerance,
        });
    }
    jiff::Timestamp::from_second(timestamp)
        .map_err(|_| SignatureError::Malformed("timestamp out of the representable range"))
}

/// True if any expected MAC equals any provided one. Both sides are arrays of the same length
/// by type, every pair is compared in constant time, and the loop never exits early.
pub(crate) fn any_ct_eq<const N: usize>(expected: &[[u8; N]], provided: &[[u8; N]]) -> bool {
    let mut matched = Choice::from(0);
    for e in expected {
        for p in provided {
            matched |= e.as_slice().ct_eq(p.as_slice());
        }
    }
    matched.into()
}

/// Constant-time equality of two byte strings, false at once when the lengths differ (the
/// lengths are not secret).
pub(crate) fn ct_eq_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

fn keyed<M: KeyInit>(key: &[u8]) -> M {
    match M::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC takes keys of any length (RFC 2104 hashes long keys and pads short ones), and
        // `hmac`'s `new_from_slice` always returns `Ok`; its own `KeyInit::new` relies on it.
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

/// HMAC-SHA256 of the concatenation of `parts`.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac: Hmac<sha2::Sha256> = keyed(key);
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA1 of the concatenation of `parts`.
pub(crate) fn hmac_sha1(key: &[u8], parts: &[&[u8]]) -> [u8; 20] {
    let mut mac: Hmac<sha1::Sha1> = keyed(key);
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The tolerance edges every timestamped scheme shares, signed at `now` ± 300 s (accepted)
/// and ± 301 s (refused, naming the age): `check(signed_at)` verifies a request signed then,
/// `verified(signed_at)` is what an accepted one gives.
#[cfg(test)]
pub(crate) fn check_tolerance_edges<V: PartialEq + std::fmt::Debug>(
    now: i64,
    check: impl Fn(i64) -> Result<V, SignatureError>,
    verified: impl Fn(i64) -> V,
) {
    for (signed_at, accepted, age) in [
        (now - 300, true, 300),
        (now - 301, false, 301),
        (now + 300, true, -300),
        (now + 301, false, -301),
    ] {
        let want = if accepted {
            Ok(verified(signed_at))
        } else {
            Err(SignatureError::TimestampOutsideTolerance {
                age_secs: age,
                tolerance: DEFAULT_TOLERANCE,
            })
        };
        assert_eq!(
            check(signed_at),
            want,
            "signed at now {:+} s",
            signed_at - now
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_seconds_are_canonical() {
        assert_eq!(parse_unix_seconds("0"), Some(0));
        assert_eq!(parse_unix_seconds("1700000000"), Some(1_700_000_000));
        assert_eq!(parse_unix_seconds("9223372036854775807"), Some(i64::MAX));
        for bad in [
            "",
            " 1",
            "1 ",
            "+1",
            "-1",
            "01",
            "1.5",
            "1e9",
            "1_000",
            "9223372036854775808",
            "99999999999999999999",
            "١٢٣",
        ] {
            assert_eq!(parse_unix_seconds(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn tolerance_is_inclusive_in_both_directions() {
        let now = jiff::Timestamp::from_second(1_700_000_000).expect("ts");
        let tol = Duration::from_secs(300);
        assert!(check_tolerance(1_700_000_000 - 300, now, tol).is_ok());
        assert!(check_tolerance(1_700_000_000 + 300, now, tol).is_ok());
        assert_eq!(
            check_tolerance(1_700_000_000 - 301, now, tol),
            Err(SignatureError::TimestampOutsideTolerance {
                age_secs: 301,
                tolerance: tol
            })
        );
        assert_eq!(
            check_tolerance(1_700_000_000 + 301, now, tol),
            Err(SignatureError::TimestampOutsideTolerance {
                age_secs: -301,
                tolerance: tol
            })
        );
        // Extremes neither overflow nor panic.
        assert!(check_tolerance(i64::MAX, now, Duration::MAX).is_err());
        assert!(check_tolerance(0, now, Duration::ZERO).is_err());
    }

    /// An age beyond i64 (a timestamp at one end of i64, a clock at the other end of jiff's
    /// range) is reported saturated with its sign: in the future stays negative.
    #[test]
    fn ages_beyond_i64_saturate_with_their_sign() {
        let tolerance = Duration::from_secs(300);
        let age =
            |timestamp: i64, now: jiff::Timestamp| match check_tolerance(timestamp, now, tolerance)
            {
                Err(SignatureError::TimestampOutsideTolerance { age_secs, .. }) => age_secs,
                other => panic!("{other:?}"),
            };
        assert_eq!(age(i64::MAX, jiff::Timestamp::MIN), i64::MIN);
        assert_eq!(age(i64::MIN, jiff::Timestamp::MAX), i64::MAX);
    }

    #[test]
    fn messages_say_direction_and_nothing_else() {
        let past = SignatureError::TimestampOutsideTolerance {
            age_secs: 301,
            tolerance: DEFAULT_TOLERANCE,
        };
        assert_eq!(
            past.to_string(),
            "webhook timestamp is 301 s old, outside the 300 s tolerance"
        );
        let future = SignatureError::TimestampOutsideTolerance {
            age_secs: -400,
            tolerance: DEFAULT_TOLERANCE,
        };
        assert_eq!(
            future.to_string(),
            "webhook timestamp is 400 s in the future, outside the 300 s tolerance"
        );
        assert!(SignatureError::InvalidSecret("x").is_misconfiguration());
        assert!(!SignatureError::Mismatch.is_misconfiguration());
    }

    #[test]
    fn any_ct_eq_needs_one_pair() {
        assert!(!any_ct_eq::<2>(&[], &[[1, 2]]));
        assert!(!any_ct_eq(&[[1, 2]], &[]));
        assert!(!any_ct_eq(&[[1, 2], [3, 4]], &[[1, 3], [2, 4]]));
        assert!(any_ct_eq(&[[1, 2], [3, 4]], &[[9, 9], [3, 4]]));
        assert!(!ct_eq_bytes(b"ab", b"abc"));
        assert!(ct_eq_bytes(b"abc", b"abc"));
    }

    #[test]
    fn secrets_from_every_holder() {
        fn first<S: WebhookSecret>(s: &[S]) -> &str {
            s.first()
                .map(WebhookSecret::expose_secret_str)
                .unwrap_or("")
        }
        assert_eq!(first(&["a"]), "a");
        assert_eq!(first(&[String::from("b")]), "b");
        let sec = secrecy::SecretString::from("c");
        assert_eq!(first(&[&sec]), "c");
        assert_eq!(first(std::slice::from_ref(&sec)), "c");
    }
}
