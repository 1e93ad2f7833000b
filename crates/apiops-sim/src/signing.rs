//! Webhook signatures as each provider computes them, so `apiops sim emit` sends requests that
//! the providers' official SDK verifiers (and ours) accept.
//!
//! - Stripe: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>`, keyed with
//!   the whole `whsec_...` string.
//! - Twilio: `X-Twilio-Signature: base64(HMAC-SHA1(auth token, url + sorted name+value pairs))`
//!   for form posts; for JSON bodies the URL carries `bodySHA256=<hex sha256(body)>` and only
//!   the URL is signed.
//! - Standard Webhooks (OpenAI): `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{ts}.{body}")>`
//!   keyed with the base64-decoded part of the `whsec_...` secret.
//!
//! Independent of `apiops-webhooks`' verifiers on purpose: each checks the other.

use base64::Engine;
use hmac::{KeyInit, Mac};
use sha2::Digest;

/// Signing failed: the secret could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SigningError(pub String);

fn hmac_sha256(key: &[u8], data: &[u8]) -> Result<Vec<u8>, SigningError> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key)
        .map_err(|_| SigningError("HMAC key rejected".into()))?;
    mac.update(data);
    Ok(mac.finalize().into_bytes().to_vec())
}

/// The `Stripe-Signature` header for `body` signed at `timestamp`.
pub fn stripe_signature(secret: &str, timestamp: i64, body: &[u8]) -> Result<String, SigningError> {
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    let sig = hmac_sha256(secret.as_bytes(), &signed)?;
    Ok(format!("t={timestamp},v1={}", hex::encode(sig)))
}

/// The `X-Twilio-Signature` of a form POST to `url` with `params`.
pub fn twilio_signature(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
) -> Result<String, SigningError> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut data = url.to_owned();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes())
        .map_err(|_| SigningError("HMAC key rejected".into()))?;
    mac.update(data.as_bytes());
    Ok(base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

/// For a JSON POST: the URL with `bodySHA256` added, and its signature.
pub fn twilio_json_signature(
    auth_token: &str,
    url: &str,
    body: &[u8],
) -> Result<(String, String), SigningError> {
    let hash = hex::encode(sha2::Sha256::digest(body));
    let sep = if url.contains('?') { '&' } else { '?' };
    let signed_url = format!("{url}{sep}bodySHA256={hash}");
    let sig = twilio_signature(auth_token, &signed_url, &[])?;
    Ok((signed_url, sig))
}

/// The Standard Webhooks `webhook-signature` value.
pub fn standard_webhooks_signature(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SigningError> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    let key = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| SigningError("webhook secret is not whsec_ + base64".into()))?;
    let mut signed = format!("{id}.{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    let sig = hmac_sha256(&key, &signed)?;
    Ok(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(sig)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_official_sdk_vector() {
        // twilio-python's request validator test vector. (reference/providers.md quotes the
        // numbers as +12349013030; the SDK's own test, and the SDK itself, use +14158675309.)
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let sig = twilio_signature(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            &params,
        )
        .expect("sign");
        assert_eq!(sig, "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    }

    #[test]
    fn stripe_shape_and_determinism() {
        let a = stripe_signature("whsec_test", 1_700_000_000, b"{}").expect("sign");
        assert!(a.starts_with("t=1700000000,v1="));
        assert_eq!(a.len(), "t=1700000000,v1=".len() + 64);
        assert_eq!(
            a,
            stripe_signature("whsec_test", 1_700_000_000, b"{}").expect("sign")
        );
        assert_ne!(
            a,
            stripe_signature("whsec_test", 1_700_000_000, b"{ }").expect("sign")
        );
    }

    #[test]
    fn standard_webhooks_needs_base64_secret() {
        // Vector from the Standard Webhooks spec's reference implementation tests.
        let sig = standard_webhooks_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        )
        .expect("sign");
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(standard_webhooks_signature("whsec_!!!", "id", 1, b"").is_err());
    }
}
