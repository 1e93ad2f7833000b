//! Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`.
//!
//! The signature is the lowercase hex HMAC-SHA256, keyed with the whole `whsec_...` string, of
//! `"{t}.{raw body}"`. Stripe sends one `v1` per active secret while a secret is being rolled,
//! and may add other schemes (`v0` in test mode) that are ignored here.
//!
//! Differences from the official SDKs, all stricter: future timestamps beyond the tolerance are
//! rejected (the SDKs check only the past), `t` must be written canonically and appear once, and
//! items are not trimmed (Stripe never sends spaces).

use std::time::Duration;

use jiff::Timestamp;

use super::{SignatureError, WebhookSecret, any_ct_eq, check_tolerance, hmac_sha256};

/// The header Stripe signs webhooks with.
pub const HEADER: &str = "Stripe-Signature";

/// The only signature scheme accepted.
pub const SCHEME: &str = "v1";

/// A parsed `Stripe-Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeSignatureHeader {
    /// The `t=` value, unix seconds.
    pub timestamp: i64,
    /// Every `v1=` value that is 64 lowercase hex digits, decoded. `v1` values of any other
    /// shape are dropped here: they could never match.
    pub v1: Vec<[u8; 32]>,
}

/// A verified Stripe webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StripeVerified {
    /// When Stripe signed it (the header's `t`).
    pub timestamp: Timestamp,
}

/// Parse a `Stripe-Signature` header. Total: any input gives `Ok` or an error, never a panic.
///
/// Errors: [`SignatureError::MissingHeader`] for an empty header; [`SignatureError::Malformed`]
/// when `t` is missing, repeated or not canonical unix seconds, or when every `v1` is
/// undecodable; [`SignatureError::NoSignatureForScheme`] when there is no `v1` item at all.
pub fn parse_header(header: &str) -> Result<StripeSignatureHeader, SignatureError> {
    if header.trim().is_empty() {
        return Err(SignatureError::MissingHeader(HEADER));
    }
    let mut timestamp = None;
    let mut saw_v1 = false;
    let mut v1 = Vec::new();
    for item in header.split(',') {
        let Some((key, value)) = item.split_once('=') else {
            if item == "t" {
                return Err(SignatureError::Malformed("Stripe-Signature t has no value"));
            }
            continue;
        };
        match key {
            "t" => {
                if timestamp.is_some() {
                    return Err(SignatureError::Malformed(
                        "Stripe-Signature has more than one t",
                    ));
                }
                timestamp = Some(super::parse_unix_seconds(value).ok_or(
                    SignatureError::Malformed("Stripe-Signature t is not unix seconds"),
                )?);
            }
            SCHEME => {
                saw_v1 = true;
                if let Some(sig) = decode_lower_hex32(value) {
                    v1.push(sig);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed("Stripe-Signature has no t"))?;
    if !saw_v1 {
        return Err(SignatureError::NoSignatureForScheme { scheme: SCHEME });
    }
    if v1.is_empty() {
        return Err(SignatureError::Malformed(
            "no Stripe-Signature v1 is 64 lowercase hex digits",
        ));
    }
    Ok(StripeSignatureHeader { timestamp, v1 })
}

fn decode_lower_hex32(value: &str) -> Option<[u8; 32]> {
    let bytes = value.as_bytes();
    if bytes.len() != 64
        || !bytes
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(bytes, &mut out).ok()?;
    Some(out)
}

fn expected(payload: &[u8], secret: &str, timestamp: i64) -> [u8; 32] {
    let t = timestamp.to_string();
    hmac_sha256(secret.as_bytes(), &[t.as_bytes(), b".", payload])
}

/// Verify a Stripe webhook: `payload` is the raw body, `header` the `Stripe-Signature` value
/// (empty if absent), `secrets` the endpoint's signing secrets (several during a rotation; any
/// secret with any `v1` matches), `tolerance` the accepted distance of `t` from `now` in either
/// direction (Stripe's default is [`super::DEFAULT_TOLERANCE`]).
///
/// The signature is checked before the timestamp (see the [module docs](super)).
pub fn verify<S: WebhookSecret>(
    payload: &[u8],
    header: &str,
    secrets: &[S],
    tolerance: Duration,
    now: Timestamp,
) -> Result<StripeVerified, SignatureError> {
    if secrets.is_empty() {
        return Err(SignatureError::InvalidSecret(
            "no Stripe signing secret configured",
        ));
    }
    if secrets
        .iter()
        .any(|s| s.expose_secret_str().trim().is_empty())
    {
        return Err(SignatureError::InvalidSecret("empty Stripe signing secret"));
    }
    let parsed = parse_header(header)?;
    let expected: Vec<[u8; 32]> = secrets
        .iter()
        .map(|s| expected(payload, s.expose_secret_str(), parsed.timestamp))
        .collect();
    if !any_ct_eq(&expected, &parsed.v1) {
        return Err(SignatureError::Mismatch);
    }
    let timestamp = check_tolerance(parsed.timestamp, now, tolerance)?;
    Ok(StripeVerified { timestamp })
}

/// The `Stripe-Signature` header Stripe would send for `payload` signed with `secret` at
/// `timestamp` (whole seconds): for our own test events and re-deliveries.
pub fn sign<S: WebhookSecret + ?Sized>(payload: &[u8], secret: &S, timestamp: Timestamp) -> String {
    let t = timestamp.as_second();
    format!(
        "t={t},{SCHEME}={}",
        hex::encode(expected(payload, secret.expose_secret_str(), t))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::DEFAULT_TOLERANCE;
    use proptest::prelude::*;

    const SECRET: &str = "whsec_test_secret";
    const T: i64 = 1_700_000_000;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).expect("timestamp")
    }

    fn ok(
        payload: &[u8],
        header: &str,
        secrets: &[&str],
        now: i64,
    ) -> Result<StripeVerified, SignatureError> {
        verify(payload, header, secrets, DEFAULT_TOLERANCE, at(now))
    }

    #[test]
    fn hand_vector_matches_stripe_python() {
        // stripe.WebhookSignature.generate_signature_header('{"id":"evt_1"}', "whsec_test_secret",
        // 1700000000) from stripe-python 16.1.0.
        let header = sign(br#"{"id":"evt_1"}"#, SECRET, at(T));
        assert_eq!(
            header,
            "t=1700000000,v1=248a374f50f943a28b0f6ab50faf9a7e7e29b710fa26df9fb1618b9bf8ea9c9a"
        );
        assert_eq!(header.len(), "t=1700000000,v1=".len() + 64);
        assert_eq!(
            ok(br#"{"id":"evt_1"}"#, &header, &[SECRET], T),
            Ok(StripeVerified { timestamp: at(T) })
        );
    }

    #[test]
    fn sim_and_verifier_agree() {
        // crates/apiops-sim/src/signing.rs signs with the same construction.
        let h = sign(b"{}", "whsec_test", at(T));
        assert!(ok(b"{}", &h, &["whsec_test"], T).is_ok());
        assert_eq!(
            ok(b"{ }", &h, &["whsec_test"], T),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn several_v1_and_other_schemes() {
        let good = sign(b"body", SECRET, at(T));
        let sig = good.split_once(",v1=").map(|(_, s)| s).expect("v1");
        let other = "0".repeat(64);
        let header = format!("t={T},v0={sig},v1={other},v1={sig},x=y,z");
        assert!(ok(b"body", &header, &[SECRET], T).is_ok());
        // Only v0: no signature for the scheme we check.
        assert_eq!(
            ok(b"body", &format!("t={T},v0={sig}"), &[SECRET], T),
            Err(SignatureError::NoSignatureForScheme { scheme: "v1" })
        );
        // Uppercase hex is not what Stripe sends and the SDK's string compare rejects it.
        let upper = format!("t={T},v1={}", sig.to_uppercase());
        assert!(matches!(
            ok(b"body", &upper, &[SECRET], T),
            Err(SignatureError::Malformed(_))
        ));
    }

    #[test]
    fn rotation_any_secret_any_signature() {
        let old = sign(b"p", "whsec_old", at(T));
        let new = sign(b"p", "whsec_new", at(T));
        let new_sig = new.split_once(",v1=").map(|(_, s)| s).expect("v1");
        let both = format!("{old},v1={new_sig}");
        assert!(ok(b"p", &old, &["whsec_new", "whsec_old"], T).is_ok());
        assert!(ok(b"p", &new, &["whsec_new", "whsec_old"], T).is_ok());
        assert!(ok(b"p", &both, &["whsec_new"], T).is_ok());
        assert!(ok(b"p", &both, &["whsec_old"], T).is_ok());
        assert_eq!(
            ok(b"p", &both, &["whsec_other"], T),
            Err(SignatureError::Mismatch)
        );
        let secrets = [secrecy::SecretString::from("whsec_old")];
        assert!(verify(b"p", &old, &secrets, DEFAULT_TOLERANCE, at(T)).is_ok());
    }

    #[test]
    fn tolerance_edges_both_directions() {
        crate::signature::check_tolerance_edges(
            T,
            |signed_at| ok(b"x", &sign(b"x", SECRET, at(signed_at)), &[SECRET], T),
            |signed_at| StripeVerified {
                timestamp: at(signed_at),
            },
        );
        // A forged stale request reports the forgery, not the age.
        let h = sign(b"x", "whsec_other", at(T - 10_000));
        assert_eq!(ok(b"x", &h, &[SECRET], T), Err(SignatureError::Mismatch));
    }

    #[test]
    fn header_errors_are_precise() {
        let sig = "a".repeat(64);
        let cases: &[(&str, SignatureError)] = &[
            ("", SignatureError::MissingHeader(HEADER)),
            ("  ", SignatureError::MissingHeader(HEADER)),
            (
                "v1=abc",
                SignatureError::Malformed("Stripe-Signature has no t"),
            ),
            (
                "t",
                SignatureError::Malformed("Stripe-Signature t has no value"),
            ),
            (
                "t=,v1=x",
                SignatureError::Malformed("Stripe-Signature t is not unix seconds"),
            ),
            (
                "t=-5,v1=x",
                SignatureError::Malformed("Stripe-Signature t is not unix seconds"),
            ),
            (
                "t=1,t=1,v1=x",
                SignatureError::Malformed("Stripe-Signature has more than one t"),
            ),
            ("t=1", SignatureError::NoSignatureForScheme { scheme: "v1" }),
            (
                "t=1,v1=",
                SignatureError::Malformed("no Stripe-Signature v1 is 64 lowercase hex digits"),
            ),
            (
                "t=1, v1=aa",
                SignatureError::NoSignatureForScheme { scheme: "v1" },
            ),
        ];
        for (header, want) in cases {
            assert_eq!(parse_header(header).as_ref(), Err(want), "{header:?}");
        }
        assert_eq!(
            parse_header(&format!("t=1,v1={sig},v1=short")),
            Ok(StripeSignatureHeader {
                timestamp: 1,
                v1: vec![[0xaa; 32]]
            })
        );
    }

    #[test]
    fn secrets_are_required() {
        let h = sign(b"x", SECRET, at(T));
        let none: [&str; 0] = [];
        assert!(matches!(
            ok(b"x", &h, &none, T),
            Err(SignatureError::InvalidSecret(_))
        ));
        assert!(matches!(
            ok(b"x", &h, &[SECRET, " "], T),
            Err(SignatureError::InvalidSecret(_))
        ));
    }

    #[test]
    fn errors_reveal_no_secret_or_signature() {
        let h = sign(b"x", SECRET, at(T));
        for header in [h.as_str(), "t=1,v1=zz", ""] {
            if let Err(e) = ok(b"y", header, &[SECRET], T + 5000) {
                let msg = e.to_string();
                assert!(!msg.contains(SECRET) && !msg.contains("whsec"), "{msg}");
                let real = sign(b"y", SECRET, at(T));
                assert!(!msg.contains(&real[16..]), "{msg}");
            }
        }
    }

    proptest! {
        #[test]
        fn round_trip(payload in proptest::collection::vec(any::<u8>(), 0..256),
                      secret in "whsec_[A-Za-z0-9]{1,40}",
                      t in 0i64..4_000_000_000, skew in -300i64..=300) {
            let h = sign(&payload, secret.as_str(), at(t));
            let parsed = parse_header(&h).expect("parse");
            prop_assert_eq!(parsed.timestamp, t);
            prop_assert_eq!(ok(&payload, &h, &[secret.as_str()], t + skew), Ok(StripeVerified { timestamp: at(t) }));
        }

        #[test]
        fn any_byte_flip_in_payload_is_rejected(payload in proptest::collection::vec(any::<u8>(), 1..256),
                                                idx in any::<prop::sample::Index>(), bit in 0u8..8) {
            let h = sign(&payload, SECRET, at(T));
            let mut tampered = payload.clone();
            let i = idx.index(tampered.len());
            tampered[i] ^= 1 << bit;
            prop_assert_eq!(ok(&tampered, &h, &[SECRET], T), Err(SignatureError::Mismatch));
        }

        #[test]
        fn any_change_to_the_signature_is_rejected(idx in 0usize..64, c in "[0-9a-f]") {
            let h = sign(b"payload", SECRET, at(T));
            let (prefix, sig) = h.split_at("t=1700000000,v1=".len());
            let mut chars: Vec<char> = sig.chars().collect();
            let new = c.chars().next().expect("char");
            prop_assume!(chars[idx] != new);
            chars[idx] = new;
            let forged = format!("{prefix}{}", chars.into_iter().collect::<String>());
            prop_assert_eq!(ok(b"payload", &forged, &[SECRET], T), Err(SignatureError::Mismatch));
        }

        #[test]
        fn wrong_secret_is_rejected(a in "[a-z]{1,20}", b in "[a-z]{1,20}") {
            prop_assume!(a != b);
            let h = sign(b"p", a.as_str(), at(T));
            prop_assert_eq!(ok(b"p", &h, &[b.as_str()], T), Err(SignatureError::Mismatch));
        }
    }
}
