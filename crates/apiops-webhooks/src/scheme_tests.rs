//! Unit tests of the webhook scheme configuration: presets, validation errors, secrets, ids.

use super::*;

fn table(json: serde_json::Value) -> Result<WebhookScheme, String> {
    serde_json::from_value::<WebhookScheme>(json).map_err(|e| e.to_string())
}

fn hmac_of(s: &WebhookScheme) -> &HmacScheme {
    match &s.verifier {
        Verifier::Hmac(h) => h,
        Verifier::Standard { .. } => panic!("not hmac: {s:?}"),
    }
}

#[test]
fn presets_expand() {
    let gh = table(serde_json::json!({"scheme": "github", "secret_env": "GH_SECRET"})).expect("gh");
    let h = hmac_of(&gh);
    assert_eq!(h.header, "x-hub-signature-256");
    assert_eq!(
        (h.algorithm, h.encoding),
        (Algorithm::Sha256, Encoding::Hex)
    );
    assert_eq!(h.prefix, "sha256=");
    assert_eq!(h.timestamp_header, None);
    assert_eq!(gh.id, Some(Field::Header("x-github-delivery".into())));
    assert_eq!(gh.event_type, Some(Field::Header("x-github-event".into())));

    let shop = table(serde_json::json!({"scheme": "shopify", "secret_env": "S"})).expect("shop");
    assert_eq!(hmac_of(&shop).encoding, Encoding::Base64);
    assert_eq!(hmac_of(&shop).prefix, "");
    assert_eq!(shop.id, Some(Field::Header("x-shopify-webhook-id".into())));

    let slack = table(serde_json::json!({"scheme": "Slack", "secret_env": "S"})).expect("slack");
    let h = hmac_of(&slack);
    assert_eq!(h.prefix, "v0=");
    assert_eq!(
        h.signed,
        Template::parse("v0:{timestamp}:{body}").expect("t")
    );
    assert_eq!(
        h.timestamp_header.as_deref(),
        Some("x-slack-request-timestamp")
    );
    assert_eq!(h.tolerance, Duration::from_secs(300));
    assert_eq!(slack.id, Some(Field::Pointer("/event_id".into())));
    assert!(slack.slack_challenge);

    let svix = table(serde_json::json!({"scheme": "svix", "secret_env": "S", "tolerance": "10m"}))
        .expect("svix");
    assert_eq!(
        svix.verifier,
        Verifier::Standard {
            prefixes: vec!["svix", "webhook"],
            tolerance: Duration::from_secs(600)
        }
    );
    assert_eq!(svix.event_type, Some(Field::Pointer("/type".into())));
}

#[test]
fn presets_take_overrides() {
    // GitHub's older SHA-1 header.
    let gh = table(serde_json::json!({
        "scheme": "github", "secret_env": "S", "header": "X-Hub-Signature",
        "algorithm": "sha1", "prefix": "sha1="
    }))
    .expect("gh");
    let h = hmac_of(&gh);
    assert_eq!(
        (h.header.as_str(), h.algorithm),
        ("x-hub-signature", Algorithm::Sha1)
    );
    assert_eq!(gh.id, Some(Field::Header("x-github-delivery".into())));
    // An id pointer replaces the preset's id header.
    let gh =
        table(serde_json::json!({"scheme": "github", "secret_env": "S", "id_pointer": "/hook_id"}))
            .expect("gh");
    assert_eq!(gh.id, Some(Field::Pointer("/hook_id".into())));
}

#[test]
fn a_full_hmac_table() {
    let s = table(serde_json::json!({
        "scheme": "hmac", "secret_env": "ACME_SECRET", "header": "X-Acme-Signature",
        "algorithm": "SHA512", "encoding": "base64", "prefix": "v1=",
        "timestamp_header": "X-Acme-Timestamp", "signed": "{id}.{timestamp}.{body}",
        "tolerance": "90s", "id_header": "X-Acme-Id", "type_pointer": "/kind"
    }))
    .expect("hmac");
    let h = hmac_of(&s);
    assert_eq!(h.algorithm, Algorithm::Sha512);
    assert_eq!(h.tolerance, Duration::from_secs(90));
    assert_eq!(h.id_header.as_deref(), Some("x-acme-id"));
    assert_eq!(s.event_type, Some(Field::Pointer("/kind".into())));
    assert!(s.reads_json());
}

#[test]
fn bad_tables_are_clear_errors() {
    let cases = [
        (
            serde_json::json!({"scheme": "md5hook", "secret_env": "S"}),
            "webhooks.scheme: unknown scheme \"md5hook\"",
        ),
        (
            serde_json::json!({"scheme": "github"}),
            "webhooks.secret_env: required",
        ),
        (
            serde_json::json!({"scheme": "github", "secret_env": "1BAD"}),
            "is not an environment variable name",
        ),
        (
            serde_json::json!({"scheme": "github", "secret_env": "S", "secret": "canary-in-file"}),
            "webhooks.secret: a secret is never written in the file",
        ),
        (
            serde_json::json!({"scheme": "hmac", "secret_env": "S", "algorithm": "sha256", "encoding": "hex"}),
            "webhooks.header: required",
        ),
        (
            serde_json::json!({"scheme": "hmac", "secret_env": "S", "header": "X-S", "encoding": "hex"}),
            "webhooks.algorithm: required",
        ),
        (
            serde_json::json!({"scheme": "hmac", "secret_env": "S", "header": "X-S", "algorithm": "md5", "encoding": "hex"}),
            "webhooks.algorithm: unknown algorithm \"md5\" (expected sha1, sha256 or sha512)",
        ),
        (
            serde_json::json!({"scheme": "hmac", "secret_env": "S", "header": "X-S", "algorithm": "sha1", "encoding": "b32"}),
            "webhooks.encoding: unknown encoding \"b32\"",
        ),
        (
            serde_json::json!({"scheme": "github", "secret_env": "S", "header": "bad header"}),
            "webhooks.header: \"bad header\" is not an HTTP header name",
        ),
        (
            serde_json::json!({"scheme": "github", "secret_env": "S", "id_pointer": "event/id"}),
            "webhooks.id_pointer: \"event/id\" is not a JSON pointer: it must start with /",
        ),
        (
            serde_json::json!({"scheme": "github", "secret_env": "S", "id_pointer": "/a~2b"}),
            "~ must be followed by 0 or 1",
        ),
        (
            serde_json::json!({"scheme": "github", "secret_env": "S", "id_pointer": "/a", "id_header": "X-Id"}),
            "give id_header or id_pointer, not both",
        ),
        (
            serde_json::json!({"scheme": "github", "secret_env": "S", "tolerance": "5m"}),
            "webhooks.tolerance: applies only with a timestamp_header",
        ),
        (
            serde_json::json!({"scheme": "slack", "secret_env": "S", "tolerance": "soon"}),
            "webhooks.tolerance: \"soon\" is not a duration",
        ),
        (
            serde_json::json!({"scheme": "github", "secret_env": "S", "timestamp_header": "X-T"}),
            "has no {timestamp} although timestamp_header is set",
        ),
        (
            serde_json::json!({"scheme": "github", "secret_env": "S", "signed": "{timestamp}.{body}"}),
            "webhooks.timestamp_header: required",
        ),
        (
            serde_json::json!({"scheme": "github", "secret_env": "S", "signed": "{id}.{body}", "id_pointer": "/id"}),
            "webhooks.id_header: required",
        ),
        (
            serde_json::json!({"scheme": "github", "secret_env": "S", "signed": "{timestamp"}),
            "webhooks.signed: unknown placeholder at byte 0",
        ),
        (
            serde_json::json!({"scheme": "github", "secret_env": "S", "signed": "static"}),
            "webhooks.signed: the signed content must contain {body} exactly once",
        ),
        (
            serde_json::json!({"scheme": "standard", "secret_env": "S", "header": "X-S"}),
            "webhooks.header: does not apply to scheme \"standard\"",
        ),
        (
            serde_json::json!({"scheme": "svix", "secret_env": "S", "id_pointer": "/id"}),
            "webhooks.id_pointer: does not apply",
        ),
        (
            serde_json::json!({"scheme": "github", "secret_env": "S", "algoritm": "sha1"}),
            "unknown field `algoritm`",
        ),
        (
            serde_json::json!({"scheme": "github", "secret_env": "S", "prefix": "a\u{7}"}),
            "webhooks.prefix: at most 64 printable characters",
        ),
    ];
    for (json, want) in cases {
        let got = table(json.clone()).err().unwrap_or_default();
        assert!(
            got.contains(want),
            "{json}: {got:?} does not contain {want:?}"
        );
        assert!(!got.contains("canary"), "{got}");
    }
}

#[test]
fn secrets_come_from_the_environment() {
    let gh = table(serde_json::json!({"scheme": "github", "secret_env": "GH_SECRET"})).expect("gh");
    let env = |v: &'static str| move |name: &str| (name == "GH_SECRET").then(|| v.to_owned());
    let got = gh
        .secrets(env(" canary-one , ,canary-two "))
        .expect("secrets");
    let got: Vec<&str> = got.iter().map(WebhookSecret::expose_secret_str).collect();
    assert_eq!(got, ["canary-one", "canary-two"]);
    for empty in ["", " , "] {
        assert_eq!(
            gh.secrets(env(empty))
                .map(|v| v.len())
                .map_err(|e| e.to_string()),
            Err("GH_SECRET: is not set or empty: it must hold the webhook signing secret".into())
        );
    }
    assert!(gh.secrets(|_| None).is_err());
    let std =
        table(serde_json::json!({"scheme": "standard", "secret_env": "GH_SECRET"})).expect("std");
    assert!(std.secrets(env("whsec_dGVzdA==,whsec_YWJj")).is_ok());
    let e = std
        .secrets(env("whsec_dGVzdA==,canary-not-whsec"))
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("GH_SECRET: a Standard Webhooks secret must be whsec_ followed by base64")
    );
}

#[test]
fn ids_and_types() {
    let mut h = HeaderMap::new();
    h.insert(
        "x-github-delivery",
        "72d3162e-cc78-11e3-81ab-4c9367dc0958".parse().expect("v"),
    );
    h.insert("x-github-event", "issues".parse().expect("v"));
    let gh = table(serde_json::json!({"scheme": "github", "secret_env": "S"})).expect("gh");
    assert_eq!(
        gh.delivery_id(&h, b"{}", None).as_deref(),
        Ok("72d3162e-cc78-11e3-81ab-4c9367dc0958")
    );
    assert_eq!(gh.event_type(&h, None), "issues");
    assert_eq!(
        gh.delivery_id(&HeaderMap::new(), b"{}", None),
        Err("the delivery has no id header".into())
    );

    let slack = table(serde_json::json!({"scheme": "slack", "secret_env": "S"})).expect("slack");
    let body = serde_json::json!({"event_id": "Ev0PV52K25", "event": {"type": "app_mention"}});
    assert_eq!(
        slack.delivery_id(&h, b"", Some(&body)).as_deref(),
        Ok("Ev0PV52K25")
    );
    assert_eq!(slack.event_type(&h, Some(&body)), "app_mention");
    let numeric = serde_json::json!({"event_id": 42});
    assert_eq!(
        slack.delivery_id(&h, b"", Some(&numeric)).as_deref(),
        Ok("42")
    );
    for bad in [
        serde_json::json!({}),
        serde_json::json!({"event_id": ""}),
        serde_json::json!({"event_id": {"a": 1}}),
    ] {
        assert_eq!(
            slack.delivery_id(&h, b"", Some(&bad)),
            Err("the body has no id at /event_id".into())
        );
    }
    assert!(slack.delivery_id(&h, b"not json", None).is_err());
    assert_eq!(slack.event_type(&h, None), "unknown");

    let digest = table(serde_json::json!({"scheme": "hmac", "secret_env": "S", "header": "X-S", "algorithm": "sha256", "encoding": "hex"}))
        .expect("hmac");
    assert_eq!(
        digest.delivery_id(&h, b"abc", None).as_deref(),
        Ok("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
}

/// The README's tables ("Webhooks from any API"), parsed from TOML as `[apis.NAME]` will be.
#[test]
fn the_readme_tables_parse_from_toml() {
    let readme = include_str!("../../../README.md");
    let section = readme
        .split("### Webhooks from any API")
        .nth(1)
        .and_then(|s| s.split("```toml").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("the README's example");
    #[derive(serde::Deserialize)]
    struct Api {
        webhooks: WebhookScheme,
    }
    let apis: std::collections::BTreeMap<String, std::collections::BTreeMap<String, Api>> =
        toml::from_str(section).expect("the README's example parses");
    let names: Vec<(&str, &str)> = apis["apis"]
        .iter()
        .map(|(k, v)| (k.as_str(), v.webhooks.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [("acme", "hmac"), ("gh", "github"), ("mail", "standard")]
    );
    // A secret written in the file is refused by name, in TOML too, and our message does not
    // echo it (toml's Display adds the source line: the configuration's loader must show the
    // message alone, as it does for the other keys).
    let e = toml::from_str::<Api>(
        "webhooks = { scheme = \"github\", secret_env = \"S\", secret = \"canary-file-secret\" }",
    )
    .err()
    .map(|e| e.message().to_owned())
    .unwrap_or_default();
    assert!(
        e.contains("webhooks.secret: a secret is never written in the file"),
        "{e}"
    );
    assert!(!e.contains("canary-file-secret"), "{e}");
}
