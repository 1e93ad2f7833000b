//! Standard Webhooks (OpenAI, Svix and others).
//!
//! Headers `webhook-id` (stable across retries: the dedup key), `webhook-timestamp` (unix
//! seconds) and `webhook-signature`: space-separated `v1,<base64>` entries, several during a
//! secret rotation. The signature is HMAC-SHA256 over `"{id}.{timestamp}.{raw body}"`, keyed
//! with the base64-decoded part of the `whsec_<base64>` secret.
//!
//! Each `v1` entry is base64-decoded (canonical, padded) and kept only if it is exactly 32
//! bytes; the decoded bytes are compared in constant time with the expected MAC. An entry such
//! as `v1,` (empty) or a truncated signature can therefore never match: one widely used verifier
//! once accepted `v1,` because it compared only up to the shorter string.
//!
//! Stricter than the official SDKs in two corners: the secret must carry the `whsec_` prefix
//! (openai-python keys unprefixed secrets with their raw bytes, standardwebhooks base64-decodes
//! them; we refuse to guess), and an entry without `v1,` is ignored (openai-python compares it
//! as a bare signature).

use std::time::Duration;

use base64::Engine as _;
use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretSlice};

use super::{SignatureError, WebhookSecret, any_ct_eq, check_tolerance, hmac_sha256};

/// The message id header (the dedup key).
pub const ID_HEADER: &str = "webhook-id";
/// The unix-seconds timestamp header.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The signature list header.
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// The prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// The only signature version accepted.
pub const SCHEME: &str = "v1";

/// The three Standard Webhooks headers as received (an absent header is the empty string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StandardHeaders<'a> {
    /// `webhook-id`.
    pub id: &'a str,
    /// `webhook-timestamp`.
    pub timestamp: &'a str,
    /// `webhook-signature`.
    pub signature: &'a str,
}

/// A verified Standard Webhooks message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StandardVerified {
    /// When the sender signed it (`webhook-timestamp`).
    pub timestamp: Timestamp,
}

/// The HMAC key of a `whsec_<base64>` secret (padding optional).
///
/// Errors with [`SignatureError::InvalidSecret`] when the prefix is missing, the rest is not
/// base64, or it decodes to nothing.
pub fn decode_secret<S: WebhookSecret + ?Sized>(
    secret: &S,
) -> Result<SecretSlice<u8>, SignatureError> {
    let encoded = secret
        .expose_secret_str()
        .strip_prefix(SECRET_PREFIX)
        .ok_or(SignatureError::InvalidSecret(
            "Standard Webhooks secret does not start with whsec_",
        ))?;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let key = engine.decode(encoded).map_err(|_| {
        SignatureError::InvalidSecret("Standard Webhooks secret is not whsec_ followed by base64")
    })?;
    if key.is_empty() {
        return Err(SignatureError::InvalidSecret(
            "Standard Webhooks secret has an empty key",
        ));
    }
    Ok(SecretSlice::from(key))
}

/// Parse a `webhook-signature` value into its usable `v1` signatures. Total.
///
/// Entries are separated by ASCII whitespace; entries of other versions or without a comma
/// are ignored; a `v1` entry that is not canonical base64 of exactly 32 bytes is dropped.
/// Errors: [`SignatureError::MissingHeader`] when empty, [`SignatureError::NoSignatureForScheme`]
/// without any `v1` entry, [`SignatureError::Malformed`] when no `v1` entry is usable.
pub fn parse_signatures(value: &str) -> Result<Vec<[u8; 32]>, SignatureError> {
    if value.trim().is_empty() {
        return Err(SignatureError::MissingHeader(SIGNATURE_HEADER));
    }
    let mut saw_v1 = false;
    let mut out = Vec::new();
    for entry in value.split_ascii_whitespace() {
        let Some((version, sig)) = entry.split_once(',') else {
            continue;
        };
        if version != SCHEME {
            continue;
        }
        saw_v1 = true;
        // 32 bytes are exactly 44 characters of padded base64; anything else cannot match.
        if sig.len() != 44 {
            continue;
        }
        let mut buf = [0u8; 32];
        if let Ok(32) =
            base64::engine::general_purpose::STANDARD.decode_slice(sig.as_bytes(), &mut buf)
        {
            out.push(buf);
        }
    }
    if !saw_v1 {
        return Err(SignatureError::NoSignatureForScheme { scheme: SCHEME });
    }
    if out.is_empty() {
        return Err(SignatureError::Malformed(
            "no webhook-signature v1 entry is base64 of 32 bytes",
        ));
    }
    Ok(out)
}

/// Parse `webhook-timestamp`: canonical unix seconds. Total.
pub fn parse_timestamp(value: &str) -> Result<i64, SignatureError> {
    if value.is_empty() {
        return Err(SignatureError::MissingHeader(TIMESTAMP_HEADER));
    }
    super::parse_unix_seconds(value).ok_or(SignatureError::Malformed(
        "webhook-timestamp is not unix seconds",
    ))
}

fn expected(key: &[u8], id: &str, timestamp: i64, payload: &[u8]) -> [u8; 32] {
    let t = timestamp.to_string();
    hmac_sha256(key, &[id.as_bytes(), b".", t.as_bytes(), b".", payload])
}

/// Verify a Standard Webhooks message: `payload` is the raw body, `headers` the three headers,
/// `secrets` the `whsec_...` secrets (several during a rotation; any secret with any `v1`
/// entry matches), `tolerance` the accepted distance of `webhook-timestamp` from `now` in either
/// direction (the spec's is [`super::DEFAULT_TOLERANCE`]).
///
/// Secrets are checked first ([`SignatureError::InvalidSecret`]), then the headers, then the
/// signature ([`SignatureError::Mismatch`]), then the timestamp.
pub fn verify<S: WebhookSecret>(
    payload: &[u8],
    headers: &StandardHeaders<'_>,
    secrets: &[S],
    tolerance: Duration,
    now: Timestamp,
) -> Result<StandardVerified, SignatureError> {
    if secrets.is_empty() {
        return Err(SignatureError::InvalidSecret(
            "no Standard Webhooks secret configured",
        ));
    }
    let keys = secrets
        .iter()
        .map(decode_secret)
        .collect::<Result<Vec<_>, _>>()?;
    if headers.id.is_empty() {
        return Err(SignatureError::MissingHeader(ID_HEADER));
    }
    let timestamp = parse_timestamp(headers.timestamp)?;
    let provided = parse_signatures(headers.signature)?;
    let expected: Vec<[u8; 32]> = keys
        .iter()
        .map(|k| expected(k.expose_secret(), headers.id, timestamp, payload))
        .collect();
    if !any_ct_eq(&expected, &provided) {
        return Err(SignatureError::Mismatch);
    }
    let timestamp = check_tolerance(timestamp, now, tolerance)?;
    Ok(StandardVerified { timestamp })
}

/// The `webhook-signature` value (`v1,<base64>`) for `payload` sent as message `msg_id` at
/// `timestamp` (whole seconds) with the `whsec_...` `secret`.
///
/// Errors with [`SignatureError::InvalidSecret`] when the secret is not `whsec_` + base64.
pub fn sign<S: WebhookSecret + ?Sized>(
    payload: &[u8],
    msg_id: &str,
    timestamp: Timestamp,
    secret: &S,
) -> Result<String, SignatureError> {
    let key = decode_secret(secret)?;
    let sig = expected(key.expose_secret(), msg_id, timestamp.as_second(), payload);
    Ok(format!(
        "{SCHEME},{}",
        base64::engine::general_purpose::STANDARD.encode(sig)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::DEFAULT_TOLERANCE;
    use proptest::prelude::*;

    // The Standard Webhooks spec's reference-implementation test vector.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const T: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).expect("timestamp")
    }

    fn check(
        payload: &[u8],
        id: &str,
        ts: &str,
        sig: &str,
        secrets: &[&str],
        now: i64,
    ) -> Result<StandardVerified, SignatureError> {
        let headers = StandardHeaders {
            id,
            timestamp: ts,
            signature: sig,
        };
        verify(payload, &headers, secrets, DEFAULT_TOLERANCE, at(now))
    }

    #[test]
    fn spec_vector() {
        assert_eq!(sign(BODY, ID, at(T), SECRET).as_deref(), Ok(SIG));
        assert_eq!(
            check(BODY, ID, "1614265330", SIG, &[SECRET], T),
            Ok(StandardVerified { timestamp: at(T) })
        );
        // Unpadded secrets decode too (standardwebhooks appends "==").
        let unpadded = "whsec_dGVzdHNlY3JldA"; // "testsecret"
        let padded = "whsec_dGVzdHNlY3JldA==";
        assert_eq!(
            sign(BODY, ID, at(T), unpadded),
            sign(BODY, ID, at(T), padded)
        );
    }

    #[test]
    fn short_signature_trap() {
        let real = SIG.strip_prefix("v1,").expect("prefix");
        for forged in [
            "v1,".to_owned(),
            "v1, ".to_owned(),
            "v1,=".to_owned(),
            "v1,AAAA".to_owned(),
            format!("v1,{}", &real[..43]),
            format!("v1,{}", &real[..20]),
            format!("v1,{}", real.trim_end_matches('=')),
            format!("v1,{real}AAAA"),
            format!("v1,{}", &real[..1]),
        ] {
            let got = check(BODY, ID, "1614265330", &forged, &[SECRET], T);
            assert_eq!(
                got,
                Err(SignatureError::Malformed(
                    "no webhook-signature v1 entry is base64 of 32 bytes"
                )),
                "{forged:?}"
            );
        }
        // Among other entries, a short one never helps: the result is the other entries'.
        let mixed = format!("v1, v1,{} v1,AAAA", &real[..10]);
        assert!(check(BODY, ID, "1614265330", &mixed, &[SECRET], T).is_err());
        let mixed_ok = format!("v1, {SIG} v1,AAAA");
        assert!(check(BODY, ID, "1614265330", &mixed_ok, &[SECRET], T).is_ok());
    }

    #[test]
    fn rotation_and_versions() {
        let other = "whsec_dGVzdHNlY3JldA==";
        let other_sig = sign(BODY, ID, at(T), other).expect("sign");
        let list = format!("v1a,xyz v2,{} {other_sig} {SIG}", &SIG[3..]);
        assert!(check(BODY, ID, "1614265330", &list, &[SECRET], T).is_ok());
        assert!(check(BODY, ID, "1614265330", &list, &[other], T).is_ok());
        assert!(check(BODY, ID, "1614265330", SIG, &["whsec_dGVzdA==", SECRET], T).is_ok());
        assert_eq!(
            check(BODY, ID, "1614265330", SIG, &[other], T),
            Err(SignatureError::Mismatch)
        );
        // A signature under v2 or bare is not v1.
        let v2 = format!("v2,{}", &SIG[3..]);
        assert_eq!(
            check(BODY, ID, "1614265330", &v2, &[SECRET], T),
            Err(SignatureError::NoSignatureForScheme { scheme: "v1" })
        );
        assert_eq!(
            check(BODY, ID, "1614265330", &SIG[3..], &[SECRET], T),
            Err(SignatureError::NoSignatureForScheme { scheme: "v1" })
        );
    }

    #[test]
    fn tolerance_edges_both_directions() {
        crate::signature::check_tolerance_edges(
            T,
            |signed_at| {
                let sig = sign(BODY, ID, at(signed_at), SECRET).expect("sign");
                check(BODY, ID, &signed_at.to_string(), &sig, &[SECRET], T)
            },
            |signed_at| StandardVerified {
                timestamp: at(signed_at),
            },
        );
    }

    #[test]
    fn id_and_timestamp_are_signed() {
        assert_eq!(
            check(BODY, "msg_other", "1614265330", SIG, &[SECRET], T),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(BODY, ID, "1614265331", SIG, &[SECRET], T),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn precise_errors() {
        let e = |id: &str, ts: &str, sig: &str, secrets: &[&str]| {
            check(BODY, id, ts, sig, secrets, T).err()
        };
        assert_eq!(
            e("", "1", SIG, &[SECRET]),
            Some(SignatureError::MissingHeader(ID_HEADER))
        );
        assert_eq!(
            e(ID, "", SIG, &[SECRET]),
            Some(SignatureError::MissingHeader(TIMESTAMP_HEADER))
        );
        assert_eq!(
            e(ID, "1", "", &[SECRET]),
            Some(SignatureError::MissingHeader(SIGNATURE_HEADER))
        );
        assert_eq!(
            e(ID, "1614265330.0", SIG, &[SECRET]),
            Some(SignatureError::Malformed(
                "webhook-timestamp is not unix seconds"
            ))
        );
        assert_eq!(
            e(ID, "01614265330", SIG, &[SECRET]),
            Some(SignatureError::Malformed(
                "webhook-timestamp is not unix seconds"
            ))
        );
        assert!(matches!(
            e(ID, "1", SIG, &[]),
            Some(SignatureError::InvalidSecret(_))
        ));
        for bad in [
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_",
            "whsec_!!!",
            "whsec_a",
        ] {
            assert!(
                matches!(
                    e(ID, "1", SIG, &[bad]),
                    Some(SignatureError::InvalidSecret(_))
                ),
                "{bad}"
            );
            assert!(sign(BODY, ID, at(T), bad).is_err());
        }
        // Secret errors never echo the secret.
        let msg = e(ID, "1", SIG, &["whsec_!!!secret!!!"])
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(!msg.contains("secret!!!"), "{msg}");
    }

    proptest! {
        #[test]
        fn round_trip(payload in proptest::collection::vec(any::<u8>(), 0..256),
                      key in proptest::collection::vec(any::<u8>(), 1..64),
                      id in "msg_[A-Za-z0-9]{1,24}", t in 0i64..4_000_000_000, skew in -300i64..=300) {
            let secret = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(&key));
            let sig = sign(&payload, &id, at(t), secret.as_str()).expect("sign");
            prop_assert_eq!(parse_signatures(&sig).map(|v| v.len()), Ok(1));
            prop_assert_eq!(check(&payload, &id, &t.to_string(), &sig, &[secret.as_str()], t + skew),
                            Ok(StandardVerified { timestamp: at(t) }));
        }

        #[test]
        fn any_byte_flip_in_payload_is_rejected(payload in proptest::collection::vec(any::<u8>(), 1..256),
                                                idx in any::<prop::sample::Index>(), bit in 0u8..8) {
            let sig = sign(&payload, ID, at(T), SECRET).expect("sign");
            let mut tampered = payload.clone();
            let i = idx.index(tampered.len());
            tampered[i] ^= 1 << bit;
            prop_assert_eq!(check(&tampered, ID, "1614265330", &sig, &[SECRET], T), Err(SignatureError::Mismatch));
        }

        #[test]
        fn no_prefix_of_the_signature_is_accepted(len in 0usize..44) {
            let forged = format!("v1,{}", &SIG[3..3 + len]);
            prop_assert!(check(BODY, ID, "1614265330", &forged, &[SECRET], T).is_err());
        }
    }
}
