//! The tool handler over the engine, called as rmcp calls it once the arguments are parsed:
//! against the loopback simulator, with nothing configured, and with a rejected (canary) key.
//! Each answer is checked as an agent reads it: `isError`, the kind and the category of the
//! tool error (from the typed error), the structured content.

use std::sync::Arc;

use apiops_client::ClientError;
use apiops_providers::ProviderError;
use serde_json::{Value, json};

use super::*;
use crate::test_support::views;

/// A server over `vars` and an SQLite store in `dir`.
async fn server(vars: &[(&str, &str)], dir: &tempfile::TempDir) -> Arc<State> {
    server_with(vars, dir, Options::default()).await
}

/// [`server`], started with `options`.
pub(super) async fn server_with(
    vars: &[(&str, &str)],
    dir: &tempfile::TempDir,
    options: Options,
) -> Arc<State> {
    let db = format!("sqlite://{}/m.db", dir.path().display());
    let mut vars = vars.to_vec();
    vars.push(("APIOPS_DATABASE_URL", db.as_str()));
    let loaded = apiops_config::test_loaded(&vars);
    let store = apiops_store::open(&db).await.map(Arc::from);
    ApiopsMcp::new(Arc::new(loaded), options, store, views()).state
}

/// Calls `tool` with `args` as a client would (parsed by `tools::parse`).
pub(super) async fn call(state: &State, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(map) = args else {
        panic!("arguments are an object")
    };
    let call = match tools::parse(tool, Some(&map), false) {
        Ok(c) => c,
        Err(e) => panic!("{tool}: {e:?}"),
    };
    state.run(call, "test").await
}

/// The structured content: the result, or `{"error": ...}`.
pub(super) fn content(r: &CallToolResult) -> Value {
    r.structured_content.clone().unwrap_or(Value::Null)
}

pub(super) fn assert_error(r: &CallToolResult, kind: &str, category: &str) -> Value {
    assert_eq!(r.is_error, Some(true), "{:#}", content(r));
    let e = content(r)["error"].clone();
    assert_eq!(e["kind"], kind, "{e:#}");
    assert_eq!(e["category"], category, "{e:#}");
    e
}

/// The simulator, with room for the concurrent scans of a report (no rate limit in the way).
async fn sim() -> apiops_sim::RunningSim {
    apiops_sim::Simulator::new(apiops_sim::SimConfig {
        stripe_rate: 10_000,
        ..apiops_sim::SimConfig::default()
    })
    .expect("sim")
    .start()
    .await
    .expect("start")
}

#[tokio::test]
async fn health_errors_audit_and_reports_answer_from_the_simulator() {
    let sim = sim().await;
    let env = sim.env_vars();
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = tempfile::tempdir().expect("dir");
    let s = server(&vars, &dir).await;

    let r = call(&s, "health_check", json!({"services": ["stripe"]})).await;
    assert_ne!(r.is_error, Some(true), "{:#}", content(&r));
    let v = content(&r);
    assert_eq!(v["services"][0]["service"], "stripe", "{v:#}");
    assert!(v["overall"].is_string(), "{v:#}");

    let r = call(
        &s,
        "error_audit",
        json!({"services": ["stripe"], "since": "7d"}),
    )
    .await;
    assert_ne!(r.is_error, Some(true), "{:#}", content(&r));
    let v = content(&r);
    assert_eq!(v["period"], "Last 7 days", "{v:#}");
    assert_eq!(v["failures"], json!([]), "{v:#}");
    assert!(v["recorded_events"].is_u64(), "{v:#}");

    let r = call(&s, "config_audit", json!({"services": ["openai"]})).await;
    assert_ne!(r.is_error, Some(true), "{:#}", content(&r));
    assert_eq!(content(&r)["services"], json!(["openai"]));

    // The report resource comes through the views the face passed in.
    let md = s.report_markdown().await;
    assert!(md.starts_with("# apiops report\n\n{"), "{md}");
    let report: Value = serde_json::from_str(md.trim_start_matches("# apiops report\n\n").trim())
        .expect("the plain views' JSON");
    assert_eq!(report["period"], "Last 24 hours", "{report:#}");
    assert_eq!(report["health"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn a_read_asked_through_plan_operation_is_answered_through_the_views() {
    let sim = sim().await;
    let env = sim.env_vars();
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = tempfile::tempdir().expect("dir");
    let s = server(&vars, &dir).await;
    let r = call(
        &s,
        "plan_operation",
        json!({"request": {"operation": "stripe.endpoints.list"}}),
    )
    .await;
    assert_ne!(r.is_error, Some(true), "{:#}", content(&r));
    let v = content(&r);
    assert_eq!(v["read"], true, "{v:#}");
    assert_eq!(v["result"]["operation"], "stripe.endpoints.list", "{v:#}");
}

#[tokio::test]
async fn with_nothing_configured_each_tool_says_what_to_set() {
    let dir = tempfile::tempdir().expect("dir");
    let s = server(&[], &dir).await;
    for tool in [
        "health_check",
        "error_audit",
        "config_audit",
        "usage_report",
    ] {
        let r = call(&s, tool, json!({})).await;
        let e = assert_error(&r, "nothing_configured", "config");
        let m = e["message"].as_str().unwrap_or_default();
        assert!(m.contains("no service is configured"), "{tool}: {m}");
        assert!(
            m.contains("`apiops creds` shows what is set"),
            "{tool}: {m}"
        );
    }
    let r = call(&s, "health_check", json!({"services": ["twilio"]})).await;
    let e = assert_error(&r, "missing_credentials", "config");
    assert_eq!(e["details"]["service"], "twilio", "{e:#}");
    assert!(
        e["details"]["variables"]
            .as_array()
            .is_some_and(|v| v.contains(&json!("TWILIO_ACCOUNT_SID"))),
        "{e:#}"
    );
    // A read of an unconfigured service names it too.
    let r = call(
        &s,
        "plan_operation",
        json!({"request": {"operation": "stripe.endpoints.list"}}),
    )
    .await;
    assert_error(&r, "missing_credentials", "config");
    let md = s.report_markdown().await;
    assert!(
        md.starts_with("# apiops report\n\nno service is configured"),
        "{md}"
    );
}

#[tokio::test]
async fn a_rejected_key_is_an_auth_error_from_its_type_and_the_key_never_shows() {
    let sim = sim().await;
    let canary = "sk_test_canary_mcp_0123456789abcdef";
    let base = format!("{}/stripe", sim.base_url());
    let vars = [
        ("APIOPS_STRIPE_API_URL", base.as_str()),
        ("STRIPE_SECRET_KEY", canary),
    ];
    let dir = tempfile::tempdir().expect("dir");
    let s = server(&vars, &dir).await;
    for (tool, kind) in [
        ("error_audit", "provider_error"),
        ("config_audit", "provider_error"),
    ] {
        let r = call(&s, tool, json!({"services": ["stripe"]})).await;
        let e = assert_error(&r, kind, "auth");
        assert_eq!(e["details"]["failures"][0]["category"], "auth", "{e:#}");
        let text = format!("{:?}", r);
        assert!(!text.contains(canary), "{tool}: {text}");
        assert!(!text.contains("canary_mcp_0123"), "{tool}: {text}");
    }
    let r = call(&s, "health_check", json!({"services": ["stripe"]})).await;
    let v = content(&r);
    assert_eq!(v["services"][0]["category"], "auth", "{v:#}");
    assert!(!format!("{r:?}").contains(canary));
    let r = call(&s, "credentials_status", json!({})).await;
    let text = format!("{r:?}");
    assert!(!text.contains(canary), "{text}");
    assert!(text.contains("sk_t...cdef"), "{text}");
}

#[tokio::test]
async fn plans_events_and_the_catalog_need_no_provider() {
    let dir = tempfile::tempdir().expect("dir");
    let s = server(&[], &dir).await;
    let r = call(&s, "list_events", json!({"since": "1h"})).await;
    assert_ne!(r.is_error, Some(true), "{:#}", content(&r));
    assert_eq!(content(&r)["count"], 0);
    assert_eq!(content(&r)["period"], "Last hour");
    let events: Value =
        serde_json::from_str(&s.recent_events().await.expect("events")).expect("json");
    assert_eq!(events["count"], 0);
    let r = call(&s, "list_operations", json!({"service": "stripe"})).await;
    let ops = content(&r)["operations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!ops.is_empty());
    assert!(ops.iter().all(|o| o["service"] == "stripe"), "{ops:?}");
    let r = call(
        &s,
        "plan_operation",
        json!({"request": "make the coffee stronger"}),
    )
    .await;
    assert_error(&r, "not_understood", "bad_params");
    let e = s.plan("plan_nope", "test").expect_err("no such plan");
    assert_eq!(e.kind, Kind::UnknownPlan);
}

#[test]
fn every_operations_error_is_a_tool_error_of_its_own_kind() {
    let status = |status: u16| ClientError::Status {
        method: "GET".into(),
        target: "api.example/v1/x".into(),
        status,
        body: "HTTP 401 mentioned in a body".into(),
        retry_after: None,
    };
    let cases = [
        (
            OpsError::Invalid("bad".into()),
            Kind::InvalidArguments,
            Some(Category::BadParams),
        ),
        (
            OpsError::Ambiguous {
                question: "which?".into(),
                candidates: vec!["a".into()],
            },
            Kind::NeedsClarification,
            Some(Category::BadParams),
        ),
        (
            OpsError::NotConfigured("set X".into()),
            Kind::MissingCredentials,
            Some(Category::Config),
        ),
        (
            OpsError::from(status(429)),
            Kind::ProviderError,
            Some(Category::RateLimit),
        ),
        (
            OpsError::from(status(503)),
            Kind::ProviderError,
            Some(Category::Transient),
        ),
        (
            OpsError::from(ProviderError::Config("bad URL".into())),
            Kind::ProviderError,
            Some(Category::Config),
        ),
        (
            OpsError::Busy {
                key: "k".into(),
                holder: "h".into(),
                until: jiff::Timestamp::UNIX_EPOCH,
            },
            Kind::ExecutionFailed,
            Some(Category::Transient),
        ),
        (
            OpsError::Store(StoreError::Database("gone".into())),
            Kind::StoreUnavailable,
            None,
        ),
    ];
    for (e, kind, category) in cases {
        let shown = e.to_string();
        let t = ops_error(e);
        assert_eq!((t.kind.clone(), t.category), (kind, category), "{shown}");
    }
    // Missing credentials from a provider are a configuration matter, not a provider failure.
    let t = ops_error(OpsError::from(ProviderError::MissingCredentials {
        service: Service::Stripe,
        variables: vec!["STRIPE_SECRET_KEY"],
    }));
    assert_eq!(t.kind, Kind::MissingCredentials);
}

#[test]
fn read_errors_keep_the_category_of_their_type() {
    let t = read_error(ReadError::Client(ClientError::Status {
        method: "GET".into(),
        target: "api.example/v1/x".into(),
        status: 429,
        body: "your HTTP 401 was earlier".into(),
        retry_after: None,
    }));
    assert_eq!(
        (t.kind.clone(), t.category),
        (Kind::ProviderError, Some(Category::RateLimit))
    );
    let t = read_error(ReadError::Unavailable(Arc::new(ProviderError::Config(
        "bad URL".into(),
    ))));
    assert_eq!(
        (t.kind.clone(), t.category),
        (Kind::ProviderError, Some(Category::Config))
    );
    let t = read_error(ReadError::NotARead(
        apiops_ops::OpKind::StripeDisableEndpoint,
    ));
    assert_eq!(t.kind, Kind::Internal);
    assert!(t.message.ends_with("is not a read"), "{}", t.message);
}

/// Whether a finding (as JSON) is about webhooks, by the same rule as the CLI's.
fn about_webhooks(f: &Value) -> bool {
    let f: apiops_core::Finding = serde_json::from_value(f.clone()).expect("a finding");
    apiops_providers::webhook_url::about_webhooks(&f)
}

#[tokio::test]
async fn webhook_questions_over_mcp_get_the_webhook_part_of_the_audit_and_webhook_issues_the_errors_too()
 {
    let sim = sim().await;
    let env = sim.env_vars();
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = tempfile::tempdir().expect("dir");
    let s = server(&vars, &dir).await;

    let whole = content(&call(&s, "config_audit", json!({})).await);
    let whole = whole["findings"].as_array().expect("findings").clone();
    assert!(
        whole.iter().any(|f| !about_webhooks(f)),
        "the simulator's audit has findings beyond webhooks: {whole:#?}"
    );

    // "check webhooks": the configuration audit, its webhook part only.
    let r = call(&s, "plan_operation", json!({"request": "check webhooks"})).await;
    assert_ne!(r.is_error, Some(true), "{:#}", content(&r));
    let hooks = content(&r)["findings"]
        .as_array()
        .expect("findings")
        .clone();
    assert!(!hooks.is_empty(), "the simulator plants webhook problems");
    assert!(hooks.iter().all(about_webhooks), "{hooks:#?}");
    let expected: Vec<&Value> = whole.iter().filter(|f| about_webhooks(f)).collect();
    assert_eq!(hooks.iter().collect::<Vec<_>>(), expected);

    // "stripe webhook issues": Stripe's errors and Stripe's webhook findings, side by side.
    let r = call(
        &s,
        "plan_operation",
        json!({"request": "stripe webhook issues"}),
    )
    .await;
    assert_ne!(r.is_error, Some(true), "{:#}", content(&r));
    let v = content(&r);
    assert_eq!(v["errors"]["services"], json!(["stripe"]), "{v:#}");
    assert!(v["errors"]["groups"].is_array(), "{v:#}");
    let stripe_hooks = v["webhook_config"]["findings"]
        .as_array()
        .expect("findings");
    assert!(
        !stripe_hooks.is_empty(),
        "a disabled endpoint is planted: {v:#}"
    );
    assert!(
        stripe_hooks
            .iter()
            .all(|f| about_webhooks(f) && f["service"] == "stripe"),
        "{v:#}"
    );
}

/// `list_apis`, `api_operations` and `call_api` over a configured API served on loopback:
/// reads answered at once, a failure recorded in the event log, a write answered with its
/// plan and nothing sent, bad input refused before anything is sent.
#[tokio::test]
async fn configured_apis_are_listed_searched_and_read_and_writes_are_planned_not_sent() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = Arc::new(AtomicUsize::new(0));
    let (h1, h2) = (Arc::clone(&hits), Arc::clone(&hits));
    let app = axum::Router::new()
        .route(
            "/pets",
            axum::routing::get(move || {
                h1.fetch_add(1, Ordering::SeqCst);
                async { axum::Json(json!({"data": [{"id": "pet_1"}], "has_more": false})) }
            })
            .post(move || {
                h2.fetch_add(1, Ordering::SeqCst);
                async { axum::http::StatusCode::CREATED }
            }),
        )
        .route(
            "/owners",
            axum::routing::get(|| async {
                (
                    axum::http::StatusCode::FORBIDDEN,
                    axum::Json(json!({"error": {"code": "forbidden", "message": "no"}})),
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().expect("dir");
    let spec = dir.path().join("pets.yaml");
    std::fs::write(
        &spec,
        r#"openapi: 3.0.3
info: {title: Pets, version: "2"}
paths:
  /pets:
    get:
      operationId: pets/list
      summary: List the pets
      parameters: [{name: limit, in: query, schema: {type: integer}}]
      responses: {"200": {description: ok}}
    post:
      operationId: pets/create
      summary: Create a pet
      requestBody:
        required: true
        content: {application/json: {schema: {type: object}}}
      responses: {"201": {description: created}}
  /owners:
    get:
      operationId: owners/list
      summary: List the owners
      responses: {"200": {description: ok}}
"#,
    )
    .expect("write");
    let spec_text = spec.display().to_string();
    let state = server(
        &[
            ("APIOPS_APIS_PETS_SPEC", spec_text.as_str()),
            ("APIOPS_APIS_PETS_BASE_URL", base.as_str()),
        ],
        &dir,
    )
    .await;

    let r = call(&state, "list_apis", json!({})).await;
    assert_eq!(r.is_error, Some(false), "{:#}", content(&r));
    let v = content(&r);
    assert_eq!(v["apis"][0]["name"], "pets", "{v:#}");
    assert_eq!(v["apis"][0]["operations"], 3, "{v:#}");

    let r = call(
        &state,
        "api_operations",
        json!({"api": "pets", "words": ["pets"]}),
    )
    .await;
    let ops: Vec<String> = content(&r)["operations"]
        .as_array()
        .expect("ops")
        .iter()
        .map(|o| o["operation_id"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(ops, ["pets/list", "pets/create"]);

    let r = call(
        &state,
        "call_api",
        json!({"api": "pets", "operation": "pets/list", "params": {"limit": 5}}),
    )
    .await;
    assert_eq!(r.is_error, Some(false), "{:#}", content(&r));
    assert_eq!(content(&r)["status"], 200);
    assert_eq!(content(&r)["body"]["data"][0]["id"], "pet_1");
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    // A write: its plan for execute_plan, nothing sent.
    let r = call(
        &state,
        "call_api",
        json!({"api": "pets", "operation": "pets/create", "body": {"name": "Rex"}}),
    )
    .await;
    assert_eq!(r.is_error, Some(false), "{:#}", content(&r));
    let v = content(&r);
    assert!(
        v["plan_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("plan_")),
        "{v:#}"
    );
    assert_eq!(v["trust"]["class"], "person", "{v:#}");
    assert!(
        v["command"]
            .as_str()
            .unwrap_or("")
            .contains("apiops call pets pets/create"),
        "{v:#}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1, "the write was not sent");

    // Bad input: refused before sending.
    for (args, kind) in [
        (
            json!({"api": "pets", "operation": "pets/lst"}),
            "invalid_arguments",
        ),
        (
            json!({"api": "pets", "operation": "pets/list", "params": {"limit": "many"}}),
            "invalid_arguments",
        ),
        (
            json!({"api": "nope", "operation": "x"}),
            "invalid_arguments",
        ),
    ] {
        let r = call(&state, "call_api", args).await;
        assert_error(&r, kind, "bad_params");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    // A failure after sending: a tool error with its category, and an event in the log; the
    // same failure once more (most likely within the same second) is another event.
    let store = state.store().expect("store");
    for n in 1..=2 {
        let r = call(
            &state,
            "call_api",
            json!({"api": "pets", "operation": "owners/list"}),
        )
        .await;
        assert_error(&r, "provider_error", "auth");
        let events = store.events(&EventFilter::default()).await.expect("events");
        assert_eq!(events.len(), n, "{events:?}");
        assert_eq!(
            (events[0].service.as_str(), events[0].error_code.as_str()),
            ("pets", "forbidden")
        );
    }
}

/// An API whose creation fails once (422) then succeeds, keeping each creation's idempotency
/// key, and whose deletions are counted; its document beside the store in `dir`.
async fn shop(
    dir: &tempfile::TempDir,
) -> (
    String,
    String,
    Arc<std::sync::Mutex<Vec<String>>>,
    Arc<std::sync::atomic::AtomicUsize>,
) {
    crate::test_support::shop_with(dir, true).await
}

#[tokio::test]
async fn an_agent_cannot_execute_an_api_deletion_nor_a_tampered_plan() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().expect("dir");
    let (base, spec, keys, deletes) = shop(&dir).await;
    let vars = [
        ("APIOPS_APIS_SHOP_SPEC", spec.as_str()),
        ("APIOPS_APIS_SHOP_BASE_URL", base.as_str()),
    ];
    for (transport, allow_execute) in [
        (Transport::Http, true),
        (Transport::Http, false),
        (Transport::Stdio, true),
        (Transport::Stdio, false),
    ] {
        let options = Options {
            read_only: false,
            allow_execute,
            transport,
        };
        let state = server_with(&vars, &dir, options).await;
        let r = call(
            &state,
            "call_api",
            json!({"api": "shop", "operation": "orders/delete", "params": {"id": "ord_1"}}),
        )
        .await;
        assert_eq!(r.is_error, Some(false), "{:#}", content(&r));
        let v = content(&r);
        assert_eq!(v["trust"]["rule"], "deletion", "{v:#}");
        let plan_id = v["plan_id"].as_str().expect("plan id").to_owned();
        match (transport, state.api_next(&plan_id, "test").await) {
            // Over HTTP the agent's channel never confirms a deletion, whatever the flags: it
            // waits for a person, out of band.
            (Transport::Http, Err(e)) => {
                let e = content(&e.into_result())["error"].clone();
                assert_eq!(e["kind"], "confirmation_required", "{e:#}");
                assert!(
                    e["message"]
                        .as_str()
                        .unwrap_or("")
                        .contains(&format!("apiops confirm {plan_id}")),
                    "{e:#}"
                );
                assert_eq!(e["details"]["deletion"], true, "{e:#}");
                assert!(
                    e["details"]["command"]
                        .as_str()
                        .unwrap_or("")
                        .contains("apiops call shop orders/delete"),
                    "{e:#}"
                );
            }
            // Over stdio the person is asked, and --allow-execute does not stand in.
            (Transport::Stdio, Ok((_, next))) => assert!(
                matches!(next, apis::ApiNext::Ask { always: true, .. }),
                "{next:?}"
            ),
            (t, other) => panic!("{t:?} allow_execute={allow_execute}: {other:?}"),
        }
        // A tampered or another session's id finds nothing.
        let mut tampered = plan_id.clone();
        let last = tampered.pop().expect("a char");
        tampered.push(if last == '0' { '1' } else { '0' });
        for (id, session) in [
            (tampered.as_str(), "test"),
            (plan_id.as_str(), "other"),
            ("plan_", "test"),
        ] {
            match state.api_next(id, session).await {
                Err(e) => {
                    let e = content(&e.into_result())["error"].clone();
                    assert_eq!(e["kind"], "unknown_plan", "{id} {session}: {e:#}");
                }
                Ok(_) => panic!("{id} in {session} was found"),
            }
        }
    }
    assert_eq!(deletes.load(Ordering::SeqCst), 0, "nothing was deleted");
    assert!(keys.lock().expect("lock").is_empty(), "nothing was sent");
}

#[tokio::test]
async fn an_api_write_keeps_its_idempotency_key_when_execute_plan_is_retried() {
    let dir = tempfile::tempdir().expect("dir");
    let (base, spec, keys, _) = shop(&dir).await;
    let vars = [
        ("APIOPS_APIS_SHOP_SPEC", spec.as_str()),
        ("APIOPS_APIS_SHOP_BASE_URL", base.as_str()),
    ];
    let state = server_with(&vars, &dir, Options::default()).await;
    let r = call(
        &state,
        "call_api",
        json!({"api": "shop", "operation": "orders/create", "body": {"sku": "A1"}}),
    )
    .await;
    let v = content(&r);
    let plan_id = v["plan_id"].as_str().expect("plan id").to_owned();
    let key = v["plan"]["idempotency"][1]
        .as_str()
        .expect("a key")
        .to_owned();
    assert_eq!(
        v["trust"]["rule"], "purchase",
        "an order is a purchase by its name: {v:#}"
    );
    // The person said yes (elicitation); the first run fails, the retry succeeds, a third run
    // sends nothing.
    let (entry, next) = state.api_next(&plan_id, "test").await.expect("an API plan");
    assert!(
        matches!(next, apis::ApiNext::Ask { always: true, .. }),
        "{next:?}"
    );
    let first = state.run_api_plan(&plan_id, &entry, Via::Elicitation).await;
    let e = content(&first.expect_err("422").into_result())["error"].clone();
    assert_eq!(e["kind"], "provider_error", "{e:#}");
    let again = state
        .run_api_plan(&plan_id, &entry, Via::Elicitation)
        .await
        .expect("sent");
    assert_eq!(content(&again)["status"], "sent", "{:#}", content(&again));
    let third = state
        .run_api_plan(&plan_id, &entry, Via::Elicitation)
        .await
        .expect("answered");
    assert_eq!(
        content(&third)["status"],
        "already_done",
        "{:#}",
        content(&third)
    );
    assert_eq!(
        *keys.lock().expect("lock"),
        vec![key.clone(), key],
        "the same key both times"
    );
    // The failure is in the event log.
    let store = state.store().expect("store");
    let events = store.events(&EventFilter::default()).await.expect("events");
    assert!(events.iter().any(|e| e.error_code == "busy"), "{events:?}");
}

/// The tool error of an `api_next` that must not run.
async fn refused(state: &State, plan_id: &str, session: &str) -> Value {
    match state.api_next(plan_id, session).await {
        Err(e) => content(&e.into_result())["error"].clone(),
        Ok((_, next)) => panic!("{plan_id} in {session} would run: {next:?}"),
    }
}

/// Makes an API write over MCP HTTP and returns its plan id.
async fn api_write(state: &State, args: Value) -> String {
    let r = call(state, "call_api", args).await;
    assert_eq!(r.is_error, Some(false), "{:#}", content(&r));
    content(&r)["plan_id"].as_str().expect("plan id").to_owned()
}

/// What an HTTP server that lets in-account changes run is started with.
const HTTP_WRITER: Options = crate::test_support::HTTP_WRITER;

/// A server over MCP HTTP, started with `--allow-execute`, with the shop configured (its
/// creations never fail): the server, the keys the shop saw, its deletions.
async fn http_shop(
    dir: &tempfile::TempDir,
) -> (
    Arc<State>,
    Arc<std::sync::Mutex<Vec<String>>>,
    Arc<std::sync::atomic::AtomicUsize>,
) {
    let (vars, keys, deletes) = crate::test_support::http_shop(dir).await;
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    (server_with(&vars, dir, HTTP_WRITER).await, keys, deletes)
}

/// Over MCP HTTP an API write becomes a pending confirmation (masked, naming who asked) that
/// no retry of the agent's decides; once a person confirms it in the store (what
/// `apiops confirm` and the dashboard do), `execute_plan` sends it, and again sends nothing.
#[tokio::test]
async fn over_http_an_api_write_waits_for_a_person_out_of_band_then_runs_once() {
    let dir = tempfile::tempdir().expect("dir");
    let (state, keys, _) = http_shop(&dir).await;
    let secret = "hunter2hunter2hunter2";
    let r = call(
        &state,
        "call_api",
        json!({"api": "shop", "operation": "orders/create", "body": {"sku": "A1", "password": secret}}),
    )
    .await;
    let v = content(&r);
    assert!(
        v["execution"]["note"]
            .as_str()
            .unwrap_or("")
            .contains("apiops confirm"),
        "{v:#}"
    );
    let plan_id = v["plan_id"].as_str().expect("plan id").to_owned();
    let key = v["plan"]["idempotency"][1]
        .as_str()
        .expect("key")
        .to_owned();
    // The agent asks again and again: each time it waits, and it is recorded once.
    for _ in 0..3 {
        let e = refused(&state, &plan_id, "test").await;
        assert_eq!(e["kind"], "confirmation_required", "{e:#}");
        assert_eq!(
            e["details"]["confirm_in_terminal"],
            format!("apiops confirm {plan_id}"),
            "{e:#}"
        );
    }
    let store = state.store().expect("store");
    let now = jiff::Timestamp::now();
    let pending = store.confirmations_pending(now, 10).await.expect("pending");
    assert_eq!(pending.len(), 1, "{pending:?}");
    let c = &pending[0];
    assert_eq!(
        (c.id.as_str(), c.session.as_str()),
        (plan_id.as_str(), "test")
    );
    for want in [
        "shop: POST /orders (orders/create)",
        "\"sku\":\"A1\"",
        "hunt...ter2",
        "Asked by MCP session test",
        "a purchase",
    ] {
        assert!(c.summary.contains(want), "{want} in {}", c.summary);
    }
    assert!(!c.summary.contains(secret), "{}", c.summary);
    // Another session's agent finds nothing, and nothing was sent.
    let e = refused(&state, &plan_id, "other").await;
    assert_eq!(e["kind"], "unknown_plan", "{e:#}");
    assert!(keys.lock().expect("lock").is_empty(), "nothing was sent");

    // A person says yes out of band.
    crate::test_support::person_confirms(store, &plan_id).await;
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let (entry, next) = state.api_next(&plan_id, "test").await.expect("confirmed");
        assert_eq!(next, apis::ApiNext::Run(Via::Person));
        let r = state
            .run_api_plan(&plan_id, &entry, Via::Person)
            .await
            .expect("ran");
        statuses.push(content(&r)["status"].clone());
    }
    assert_eq!(statuses, [json!("sent"), json!("already_done")]);
    assert_eq!(
        *keys.lock().expect("lock"),
        vec![key],
        "sent once, with its key"
    );
}

/// A refused, an expired, a foreign or another session's confirmation never sends an API
/// write; a deletion waits for a person like any write.
#[tokio::test]
async fn a_refused_expired_or_foreign_confirmation_never_sends_an_api_write() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().expect("dir");
    let (state, keys, deletes) = http_shop(&dir).await;
    let store = state.store().expect("store");
    let delete =
        |id: &str| json!({"api": "shop", "operation": "orders/delete", "params": {"id": id}});
    let record = |plan_id: &str| {
        let entry = state.plans.get_api(plan_id, "test").expect("kept");
        apiops_ops::pending::ApiWrite::new(
            entry.plan,
            &apiops_client::redact::Redactor::default(),
            "test",
        )
        .to_json()
    };
    let put = |id: String, session: &str, plan_json: String, state, expires: jiff::Timestamp| {
        let now = jiff::Timestamp::now();
        apiops_store::Confirmation {
            id,
            session: session.to_owned(),
            plan_json,
            summary: "s".into(),
            created_at: now,
            expires_at: expires,
            state,
            decided_by: None,
            decided_at: None,
        }
    };
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
    let earlier = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(1);
    use apiops_store::ConfirmationState as S;

    // Refused by a person: never sent, however often the agent asks.
    let refused_id = api_write(&state, delete("ord_1")).await;
    let e = refused(&state, &refused_id, "test").await;
    assert_eq!(
        (e["kind"].as_str(), e["details"]["deletion"].as_bool()),
        (Some("confirmation_required"), Some(true)),
        "{e:#}"
    );
    let now = jiff::Timestamp::now();
    assert!(
        store
            .confirmation_decide(&refused_id, S::Refused, "dashboard", now)
            .await
            .expect("decide")
    );
    for _ in 0..2 {
        let e = refused(&state, &refused_id, "test").await;
        assert!(
            e["message"].as_str().unwrap_or("").contains("refused"),
            "{e:#}"
        );
    }

    // Expired before anyone decided: nobody can confirm it, and it never runs.
    let expired_id = api_write(&state, delete("ord_2")).await;
    store
        .confirmation_put(&put(
            expired_id.clone(),
            "test",
            record(&expired_id),
            S::Pending,
            earlier,
        ))
        .await
        .expect("put");
    assert!(
        !store
            .confirmation_decide(&expired_id, S::Confirmed, "terminal", now)
            .await
            .expect("decide")
    );
    let e = refused(&state, &expired_id, "test").await;
    assert_eq!(e["kind"], "confirmation_required", "{e:#}");

    // A confirmation under this id that holds another write, or is another session's: found
    // as nothing.
    let foreign_id = api_write(&state, delete("ord_3")).await;
    store
        .confirmation_put(&put(
            foreign_id.clone(),
            "test",
            record(&refused_id),
            S::Confirmed,
            later,
        ))
        .await
        .expect("put");
    let other_id = api_write(&state, delete("ord_4")).await;
    store
        .confirmation_put(&put(
            other_id.clone(),
            "other",
            record(&other_id),
            S::Confirmed,
            later,
        ))
        .await
        .expect("put");
    for id in [&foreign_id, &other_id] {
        let e = refused(&state, id, "test").await;
        assert_eq!(e["kind"], "unknown_plan", "{id}: {e:#}");
    }
    // A tampered id finds nothing either.
    let mut tampered = foreign_id.clone();
    let last = tampered.pop().expect("a char");
    tampered.push(if last == '0' { '1' } else { '0' });
    assert_eq!(
        refused(&state, &tampered, "test").await["kind"],
        "unknown_plan"
    );

    assert_eq!(deletes.load(Ordering::SeqCst), 0, "nothing was deleted");
    assert!(keys.lock().expect("lock").is_empty());
}
