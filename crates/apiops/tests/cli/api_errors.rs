//! `apiops errors NAME`, `apiops audit NAME` and `apiops do "... on NAME"` for a configured
//! API, as a user runs them
//! against a loopback server: the failures of `apiops call` and `apiops health NAME` are kept
//! in the event log (problem+json, `{"error":{}}`, `{"errors":[]}` bodies, each in its
//! category, the key scrubbed from what the API echoed back) and read back grouped and ranked
//! in every format; the audit reports the operation the document marks deprecated, the
//! `Deprecation`/`Sunset` headers a call saw, and a plain-http base URL that is not loopback.

use super::util::{Sandbox, run};

const CANARY: &str = "canary_shop_key_0123456789";

const SHOP: &str = r#"openapi: 3.0.3
info: {title: Shop, version: "1"}
paths:
  /widgets:
    get:
      operationId: widgets/list
      summary: List the widgets
      responses: {"200": {description: ok}}
  /sprockets:
    get:
      operationId: sprockets/list
      summary: List the sprockets
      responses: {"200": {description: ok}}
  /status:
    get:
      operationId: status/get
      summary: The account's status
      responses: {"200": {description: ok}}
  /gadgets:
    get:
      operationId: gadgets/list
      summary: List the gadgets
      responses: {"200": {description: ok}}
  /orders:
    get:
      operationId: orders/list
      summary: List the orders
      responses: {"200": {description: ok}}
  /legacy:
    get:
      operationId: legacy/get
      summary: The old listing
      deprecated: true
      responses: {"200": {description: ok}}
"#;

/// A loopback server whose operations fail in three shapes, and whose legacy one answers with
/// deprecation headers. The key it was sent is echoed in the first failure's message.
fn server(rt: &tokio::runtime::Runtime) -> String {
    use axum::http::{HeaderMap, StatusCode, header};
    let revoked = |h: HeaderMap| async move {
        let key = h
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(
                serde_json::json!({"error": {"code": "invalid_key", "message": format!("key {key} was revoked")}}),
            ),
        )
    };
    let app = axum::Router::new()
        .route("/widgets", axum::routing::get(revoked))
        .route("/sprockets", axum::routing::get(revoked))
        .route("/status", axum::routing::get(revoked))
        .route(
            "/gadgets",
            axum::routing::get(|| async {
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    [(header::CONTENT_TYPE, "application/problem+json")],
                    r#"{"type":"https://shop.example/probs/out-of-range","title":"Out of range","detail":"limit is too large","status":422}"#,
                )
            }),
        )
        .route(
            "/orders",
            axum::routing::get(|| async {
                (
                    StatusCode::BAD_REQUEST,
                    axum::Json(serde_json::json!({"errors": [{"code": "missing_field", "message": "customer is required"}]})),
                )
            }),
        )
        .route(
            "/legacy",
            axum::routing::get(|| async {
                (
                    [
                        ("deprecation", "true"),
                        ("sunset", "Sat, 01 Aug 2026 00:00:00 GMT"),
                    ],
                    axum::Json(serde_json::json!({"ok": true})),
                )
            }),
        );
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    rt.spawn(async move { axum::serve(listener, app).await });
    base
}

fn sandbox(base: &str) -> Sandbox {
    let sb = Sandbox::new();
    let config = sb.write_config(&format!(
        "[database]\nurl = \"{}\"\n\n[apis.shop]\nspec = \"shop.yaml\"\nbase_url = \"{base}\"\nhealth = \"status/get\"\nauth = {{ header = {{ name = \"X-Api-Key\", env = \"SHOP_KEY\" }} }}\n\n[apis.plain]\nspec = \"shop.yaml\"\nbase_url = \"http://api.shop.example/v1\"\n",
        sb.sqlite_url("events.db")
    ));
    std::fs::write(config.parent().expect("dir").join("shop.yaml"), SHOP).expect("write");
    sb
}

#[test]
fn failures_are_kept_and_read_back_grouped_and_the_audit_sees_deprecations() {
    let rt = super::util::runtime();
    let base = server(&rt);
    let sb = sandbox(&base);
    let apiops = |args: &[&str]| run(sb.apiops().env("SHOP_KEY", CANARY).args(args));

    // Nothing yet: no failures, exit 0.
    let r = apiops(&["--json", "errors", "shop"]);
    assert_eq!(r.code, Some(0), "{}", r.all());
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["total_events"], 0, "{v}");

    // Distinct operations: the event log keeps one failure per operation, code and second.
    for op in [
        "widgets/list",
        "gadgets/list",
        "orders/list",
        "sprockets/list",
    ] {
        let r = apiops(&["call", "shop", op]);
        assert_eq!(r.code, Some(1), "{op}: {}", r.all());
    }
    let r = apiops(&["health", "shop"]);
    assert_eq!(r.code, Some(4), "{}", r.all());
    // A call refused before sending is not a failure of the API.
    let r = apiops(&["call", "shop", "nope/none"]);
    assert_eq!(r.code, Some(2), "{}", r.all());
    let r = apiops(&["call", "shop", "legacy/get"]);
    assert_eq!(r.code, Some(0), "{}", r.all());

    let r = apiops(&["--json", "errors", "shop", "--since", "1h"]);
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(!r.all().contains(CANARY), "{}", r.all());
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["total_events"], 5, "{v}");
    assert_eq!(v["services"], serde_json::json!(["shop"]));
    let groups: Vec<(String, String, u64)> = v["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            (
                g["error_code"].as_str().unwrap_or("").to_owned(),
                g["category"].as_str().unwrap_or("").to_owned(),
                g["count"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    // Ranked by count x severity: the revoked key (critical, 3 times) first.
    assert_eq!(
        groups[0],
        ("invalid_key".to_owned(), "auth".to_owned(), 3),
        "{groups:?}"
    );
    assert!(
        groups.contains(&(
            "https://shop.example/probs/out-of-range".to_owned(),
            "bad_params".to_owned(),
            1
        )),
        "{groups:?}"
    );
    assert!(
        groups.contains(&("missing_field".to_owned(), "bad_params".to_owned(), 1)),
        "{groups:?}"
    );
    let events = v["events"].as_array().expect("events");
    assert_eq!(events.len(), 5);
    assert!(
        events
            .iter()
            .all(|e| e["service"] == "shop" && e["resource_type"] == "operation"),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| e["context"]
            .as_str()
            .is_some_and(|c| c.contains("was revoked"))),
        "{events:?}"
    );

    let r = apiops(&["errors", "shop"]);
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(
        r.stdout.contains("invalid_key") && r.stdout.contains("shop"),
        "{}",
        r.stdout
    );
    let r = apiops(&["--format", "md", "errors", "shop"]);
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(
        r.stdout.contains("| ") && r.stdout.contains("invalid_key"),
        "{}",
        r.stdout
    );
    // Another API's failures are not shop's.
    let r = apiops(&["--json", "errors", "plain"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["total_events"], 0, "{v}");

    // The audit: the deprecated operation, the headers the legacy call saw.
    let r = apiops(&["--json", "audit", "shop"]);
    assert_eq!(r.code, Some(0), "{}", r.all());
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let findings = v["findings"].as_array().expect("findings");
    let about = |t: &str| {
        findings
            .iter()
            .filter(|f| f["resource_type"] == t)
            .map(|f| f["title"].as_str().unwrap_or("").to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(about("operation").len(), 1, "{findings:?}");
    assert!(about("operation")[0].contains("legacy/get"), "{findings:?}");
    let endpoints = about("endpoint");
    assert_eq!(endpoints.len(), 1, "{findings:?}");
    assert!(
        endpoints[0].contains("/legacy") && endpoints[0].contains("Sunset"),
        "{endpoints:?}"
    );
    assert!(about("base_url").is_empty(), "loopback http is fine");
    // Plain http to another host is insecure; needs no credentials and no call.
    let r = run(sb.apiops().args(["--json", "audit", "plain"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let insecure: Vec<&serde_json::Value> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["resource_type"] == "base_url")
        .collect();
    assert_eq!(insecure.len(), 1, "{v}");
    assert_eq!(insecure[0]["severity"], "critical");
    let r = run(sb.apiops().args(["audit", "plain"]));
    assert!(r.stdout.contains("plain http"), "{}", r.stdout);
    let r = run(sb.apiops().args(["errors", "shop", "twilio"]));
    assert_eq!(r.code, Some(2), "{}", r.all());

    // Plain words naming a configured API: one summary matches, it runs as `apiops call`.
    let r = apiops(&["--json", "do", "the old listing on shop"]);
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(r.stderr.contains("shop legacy/get"), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["body"]["ok"], true, "{v}");
    // Several match: the candidates are listed, nothing is sent (no new failure is recorded).
    let r = apiops(&["do", "list on shop"]);
    assert_eq!(r.code, Some(2), "{}", r.all());
    assert!(
        r.stderr.contains("widgets/list") && r.stderr.contains("orders/list"),
        "{}",
        r.stderr
    );
    let r = apiops(&["--json", "errors", "shop"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["total_events"], 5, "nothing was sent: {v}");
}
