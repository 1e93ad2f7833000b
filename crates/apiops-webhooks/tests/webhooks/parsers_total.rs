//! Every parser and verifier is total: arbitrary strings and bytes give `Ok` or an error, never
//! a panic, and never an acceptance without the secret. The CI-run companion of the cargo-fuzz
//! target in `fuzz/fuzz_targets/headers.rs`.

use std::time::Duration;

use apiops_webhooks::signature::{DEFAULT_TOLERANCE, standard, stripe, twilio};
use proptest::prelude::*;

const NOW: i64 = 1_700_000_000;

fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(NOW).expect("now")
}

/// Strings shaped like the headers (so the parsers get past their first checks) as well as
/// arbitrary ones.
fn headerish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("t=".to_owned()),
        Just("v1=".to_owned()),
        Just("v0=".to_owned()),
        Just("v1,".to_owned()),
        Just(",".to_owned()),
        Just(" ".to_owned()),
        Just("=".to_owned()),
        Just("1700000000".to_owned()),
        Just("-1".to_owned()),
        Just("99999999999999999999".to_owned()),
        "[0-9a-f]{0,70}",
        "[A-Za-z0-9+/=]{0,50}",
        any::<String>(),
    ];
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat()),
    ]
}

fn urlish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("https://".to_owned()),
        Just("http://".to_owned()),
        Just("://".to_owned()),
        Just("example.com".to_owned()),
        Just("[::1]".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(":".to_owned()),
        Just(":443".to_owned()),
        Just(":99999".to_owned()),
        Just("@".to_owned()),
        Just("/".to_owned()),
        Just("?".to_owned()),
        Just("#".to_owned()),
        Just("&bodySHA256=".to_owned()),
        Just("%".to_owned()),
        "[0-9a-f]{0,64}",
        any::<String>(),
    ];
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(piece, 0..10).prop_map(|v| v.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn stripe_parser_and_verifier(header in headerish(), payload in any::<Vec<u8>>(),
                                  tol in any::<u64>(), now_s in any::<i64>()) {
        let _ = stripe::parse_header(&header);
        let now_ts = jiff::Timestamp::from_second(now_s.rem_euclid(200_000_000_000)).unwrap_or(now());
        let got = stripe::verify(&payload, &header, &["whsec_secret"], Duration::from_secs(tol), now_ts);
        prop_assert!(got.is_err(), "accepted without the secret: {header:?}");
        let msg = got.err().map(|e| e.to_string()).unwrap_or_default();
        prop_assert!(!msg.contains("whsec_secret"));
    }

    #[test]
    fn standard_parsers_and_verifier(id in headerish(), ts in headerish(), sig in headerish(),
                                     secret in headerish(), payload in any::<Vec<u8>>()) {
        let _ = standard::parse_signatures(&sig);
        let _ = standard::parse_timestamp(&ts);
        let _ = standard::decode_secret(secret.as_str());
        let headers = standard::StandardHeaders { id: &id, timestamp: &ts, signature: &sig };
        let got = standard::verify(&payload, &headers, &["whsec_c2VjcmV0"], DEFAULT_TOLERANCE, now());
        prop_assert!(got.is_err(), "accepted without the secret: {sig:?}");
        // An arbitrary secret may be unusable, never a panic.
        let _ = standard::verify(&payload, &headers, &[secret.as_str()], Duration::MAX, now());
        let _ = standard::sign(&payload, &id, now(), secret.as_str());
    }

    #[test]
    fn twilio_verifiers(url in urlish(), sig in headerish(), body in any::<Vec<u8>>(),
                        params in proptest::collection::vec((any::<String>(), any::<String>()), 0..6)) {
        let got = twilio::verify(&url, &params, &sig, "token");
        prop_assert!(got.is_err(), "accepted without the token: {sig:?}");
        let got = twilio::verify_json(&url, &body, &sig, "token");
        prop_assert!(got.is_err(), "accepted without the token: {sig:?}");
        let _ = twilio::form_params(&body);
        // Signing arbitrary input round-trips, whatever the URL looks like.
        let signed = twilio::sign(&url, &params, "token");
        prop_assert_eq!(twilio::verify(&url, &params, &signed, "token"), Ok(()));
        let (json_url, json_sig) = twilio::sign_json(&url, &body, "token");
        // A fragment moves the appended bodySHA256 out of the query, and an earlier bodySHA256
        // wins (as in twilio-python's parse_qs): only then may this fail.
        if !url.contains('#') && !url.contains("bodySHA256") {
            prop_assert_eq!(twilio::verify_json(&json_url, &body, &json_sig, "token"), Ok(()));
        }
    }

    #[test]
    fn form_bodies_round_trip_through_twilio(body in any::<Vec<u8>>(), url in urlish()) {
        let params = twilio::form_params(&body);
        let sig = twilio::sign(&url, &params, "token");
        prop_assert_eq!(twilio::verify(&url, &params, &sig, "token"), Ok(()));
    }
}

/// Configured APIs' schemes: each preset and an `hmac` with a signed timestamp and id.
fn schemes() -> Vec<apiops_webhooks::scheme::WebhookScheme> {
    let tables = [
        serde_json::json!({"scheme": "github", "secret_env": "S"}),
        serde_json::json!({"scheme": "shopify", "secret_env": "S"}),
        serde_json::json!({"scheme": "slack", "secret_env": "S"}),
        serde_json::json!({"scheme": "svix", "secret_env": "S"}),
        serde_json::json!({"scheme": "hmac", "secret_env": "S", "header": "x-sig", "algorithm": "sha512",
                           "encoding": "base64", "prefix": "v1=", "signed": "{id}.{timestamp}.{body}",
                           "timestamp_header": "x-ts", "id_header": "x-id"}),
    ];
    tables
        .into_iter()
        .map(|t| serde_json::from_value(t).expect("scheme"))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the headers and body, a scheme answers with an error or (only with the
    /// secret's own signature, which these are not) an acceptance, and never panics.
    #[test]
    fn scheme_verifiers_are_total(sig in headerish(), ts in headerish(), id in headerish(),
                                  body in any::<Vec<u8>>()) {
        for scheme in schemes() {
            let mut h = axum::http::HeaderMap::new();
            for name in ["x-hub-signature-256", "x-shopify-hmac-sha256", "x-slack-signature", "svix-signature", "x-sig"] {
                if let Ok(v) = sig.parse() { h.insert(name, v); }
            }
            for name in ["x-slack-request-timestamp", "svix-timestamp", "x-ts"] {
                if let Ok(v) = ts.parse() { h.insert(name, v); }
            }
            for name in ["x-github-delivery", "svix-id", "x-id"] {
                if let Ok(v) = id.parse() { h.insert(name, v); }
            }
            let _ = scheme.check_headers(&h);
            let verdict = scheme.verify(&body, &h, &["whsec_dGVzdA=="], now());
            prop_assert!(verdict.is_err());
            let json = serde_json::from_slice::<serde_json::Value>(&body).ok();
            let _ = scheme.delivery_id(&h, &body, json.as_ref());
            let _ = scheme.event_type(&h, json.as_ref());
        }
    }

    /// Any value of any key gives a scheme or a configuration error, never a panic.
    #[test]
    fn scheme_tables_are_total(scheme in prop_oneof![Just("hmac".to_owned()), Just("slack".to_owned()), any::<String>()],
                               header in headerish(), algorithm in headerish(), encoding in headerish(),
                               signed in headerish(), pointer in headerish(), tolerance in headerish()) {
        let table = serde_json::json!({
            "scheme": scheme, "secret_env": "S", "header": header, "algorithm": algorithm,
            "encoding": encoding, "signed": signed, "id_pointer": pointer, "tolerance": tolerance,
        });
        let _ = serde_json::from_value::<apiops_webhooks::scheme::WebhookScheme>(table);
        let _ = apiops_webhooks::signature::hmac_scheme::Template::parse(&signed);
    }
}
