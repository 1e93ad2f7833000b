//! Arbitrary bytes into every header parser and verifier of `apiops_webhooks::signature`.
//!
//! The input is split on 0xFF bytes (never part of UTF-8) into: a header value, a body, a URL and
//! a secret. Oracles: nothing panics, and nothing verifies without the secret it was signed with
//! (a forged acceptance is a finding).
#![no_main]

use apiops_webhooks::signature::{DEFAULT_TOLERANCE, standard, stripe, twilio};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut fields = data.split(|&b| b == 0xff);
    let header = String::from_utf8_lossy(fields.next().unwrap_or_default());
    let body = fields.next().unwrap_or_default();
    let url = String::from_utf8_lossy(fields.next().unwrap_or_default());
    let secret = String::from_utf8_lossy(fields.next().unwrap_or_default());
    let Ok(now) = jiff::Timestamp::from_second(1_700_000_000) else {
        return;
    };

    // Stripe.
    let _ = stripe::parse_header(&header);
    assert!(stripe::verify(body, &header, &["whsec_fuzz"], DEFAULT_TOLERANCE, now).is_err());
    let _ = stripe::verify(body, &header, &[secret.as_ref()], DEFAULT_TOLERANCE, now);

    // Standard Webhooks: the header as signature list, timestamp and secret.
    let _ = standard::parse_signatures(&header);
    let _ = standard::parse_timestamp(&header);
    let _ = standard::decode_secret(secret.as_ref());
    let headers = standard::StandardHeaders {
        id: &url,
        timestamp: "1700000000",
        signature: &header,
    };
    assert!(standard::verify(body, &headers, &["whsec_ZnV6eg=="], DEFAULT_TOLERANCE, now).is_err());
    let _ = standard::verify(body, &headers, &[secret.as_ref()], DEFAULT_TOLERANCE, now);

    // Twilio: the body as a form, the header as X-Twilio-Signature.
    let params = twilio::form_params(body);
    assert!(twilio::verify(&url, &params, &header, "fuzz-token").is_err());
    assert!(twilio::verify_json(&url, body, &header, "fuzz-token").is_err());
    let signed = twilio::sign(&url, &params, "fuzz-token");
    assert!(twilio::verify(&url, &params, &signed, "fuzz-token").is_ok());
});
