//! `graphql_query` against a loopback GraphQL endpoint configured with a canary bearer token:
//! data and partial data beside its errors (recorded in the event log, the category from the
//! typed error), `all` through three pages, failures as tool errors with their category; bad
//! documents and variables refused with nothing sent; a mutation never sent without a person
//! whatever the transport and flags, then sent once through `call_api`'s journal after a yes.
//! The token shows in no result and no error.

use std::sync::{Arc, Mutex};

use apiops_store::EventFilter;
use serde_json::{Value, json};

use super::super::tests::{assert_error, call, content};
use super::*;
use crate::server::apis::ApiNext;

const CANARY: &str = "canary_gql_mcp_token_0123456789ab";

/// One request the endpoint received: its body and idempotency key.
type Received = (Value, Option<String>);

/// What the endpoint received, in order.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Received>>>);

impl Seen {
    fn all(&self) -> Vec<Received> {
        self.0.lock().expect("lock").clone()
    }

    fn mutations(&self) -> Vec<Option<String>> {
        self.all()
            .into_iter()
            .filter(|(b, _)| b["query"].as_str().unwrap_or("").contains("mutation"))
            .map(|(_, key)| key)
            .collect()
    }
}

/// Answers like a GraphQL server, by what the query asks for; the token it was sent is echoed
/// in its errors (an API that does that must not leak it through apiops).
fn answer(body: &Value, bearer: &str) -> (u16, Value) {
    let query = body["query"].as_str().unwrap_or_default();
    if bearer != format!("Bearer {CANARY}") || query.contains("denied") {
        return (
            401,
            json!({"message": format!("Bad credentials: {bearer}")}),
        );
    }
    if query.contains("mutation") {
        return (
            200,
            json!({"data": {"addStar": {"starred": body["variables"]["id"]}}}),
        );
    }
    if query.contains("broken") {
        return (
            200,
            json!({"data": {"ok": true, "broken": null},
                "errors": [{"message": format!("field failed for {bearer}"), "path": ["broken"]}]}),
        );
    }
    if query.contains("onlyerrors") {
        return (
            200,
            json!({"data": null, "errors": [{"message": "token expired", "extensions": {"code": "UNAUTHENTICATED"}}]}),
        );
    }
    if query.contains("repositories") {
        let conn = match body["variables"]["after"].as_str() {
            None => {
                json!({"nodes": [{"name": "r1"}, {"name": "r2"}], "pageInfo": {"hasNextPage": true, "endCursor": "c1"}})
            }
            Some("c1") => {
                json!({"edges": [{"node": {"name": "r3"}}, {"node": {"name": "r4"}}], "pageInfo": {"hasNextPage": true, "endCursor": "c2"}})
            }
            _ => {
                json!({"nodes": [{"name": "r5"}], "pageInfo": {"hasNextPage": false, "endCursor": "c3"}})
            }
        };
        return (200, json!({"data": {"viewer": {"repositories": conn}}}));
    }
    (200, json!({"data": {"viewer": {"login": "octo"}}}))
}

/// The endpoint, served on loopback: its URL and what it saw.
async fn endpoint() -> (String, Seen) {
    let seen = Seen::default();
    let kept = seen.clone();
    let app = axum::Router::new().route(
        "/graphql",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, axum::Json(body): axum::Json<Value>| {
                let header = |h: &str| {
                    headers
                        .get(h)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let (status, reply) = answer(&body, &header("authorization").unwrap_or_default());
                kept.0
                    .lock()
                    .expect("lock")
                    .push((body, header("idempotency-key")));
                let status = axum::http::StatusCode::from_u16(status).expect("a status");
                async move { (status, axum::Json(reply)) }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("{base}/graphql"), seen)
}

/// A server with `[apis.gh] graphql = URL, auth = { bearer_env = "GH_TOKEN" }` (the token set
/// when `token`) and an SQLite store in `dir`.
async fn gh_server(
    url: &str,
    token: bool,
    dir: &tempfile::TempDir,
    options: Options,
) -> Arc<State> {
    let file = dir.path().join("apiops.toml");
    let db = format!("sqlite://{}/m.db", dir.path().display());
    std::fs::write(
        &file,
        format!(
            "[database]\nurl = \"{db}\"\n\n[apis.gh]\ngraphql = \"{url}\"\nauth = {{ bearer_env = \"GH_TOKEN\" }}\n"
        ),
    )
    .expect("write the config");
    let env: apiops_config::Environment = if token {
        [("GH_TOKEN", CANARY)].into_iter().collect()
    } else {
        std::iter::empty::<(&str, &str)>().collect()
    };
    let loaded = apiops_config::load(&apiops_config::Sources {
        locations: &apiops_config::Locations::default(),
        explicit_file: Some(&file),
        env: &env,
        flags: apiops_config::FlagOverrides::default(),
    })
    .expect("the config loads");
    let store = apiops_store::open(&db).await.map(Arc::from);
    ApiopsMcp::new(
        Arc::new(loaded),
        options,
        store,
        crate::test_support::views(),
    )
    .state
}

/// Every result shown so far, as one text: where a leaked token would be.
fn shown(results: &[CallToolResult]) -> String {
    results
        .iter()
        .map(|r| serde_json::to_string(r).expect("a result serializes"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn queries_answer_data_beside_errors_and_the_errors_are_recorded() {
    let (url, seen) = endpoint().await;
    let dir = tempfile::tempdir().expect("dir");
    let state = gh_server(&url, true, &dir, Options::default()).await;
    let gql = |args: Value| {
        let state = Arc::clone(&state);
        async move { call(&state, "graphql_query", args).await }
    };
    let mut results = Vec::new();

    let r = gql(json!({"api": "gh", "query": "{ viewer { login } }"})).await;
    assert_eq!(r.is_error, Some(false), "{:#}", content(&r));
    let v = content(&r);
    assert_eq!(v["data"]["viewer"]["login"], "octo", "{v:#}");
    assert_eq!(
        (v["partial"].clone(), v["category"].clone()),
        (json!(false), Value::Null)
    );
    results.push(r);

    // Partial data: the data and its errors side by side, the category from the typed error.
    let r = gql(json!({"api": "gh", "query": "query Broken { ok broken }"})).await;
    assert_eq!(r.is_error, Some(false), "{:#}", content(&r));
    let v = content(&r);
    assert_eq!(v["data"]["ok"], true, "{v:#}");
    assert_eq!(v["partial"], true, "{v:#}");
    assert_eq!(v["category"], "bad_params", "{v:#}");
    assert_eq!(v["errors"][0]["path"], json!(["broken"]), "{v:#}");
    assert!(
        v["messages"][0]
            .as_str()
            .is_some_and(|m| m.contains("field failed")),
        "{v:#}"
    );
    results.push(r);

    // Errors without data, and a 401: tool errors with their category.
    let r = gql(json!({"api": "gh", "query": "{ onlyerrors }"})).await;
    assert_error(&r, "provider_error", "auth");
    results.push(r);
    let r = gql(json!({"api": "gh", "query": "{ denied }"})).await;
    assert_error(&r, "provider_error", "auth");
    results.push(r);

    // all: three pages, the nodes flat, endCursor fed to $after.
    let r = gql(json!({
        "api": "gh",
        "query": "query Repos($first: Int!, $after: String) { viewer { repositories(first: $first, after: $after) { nodes { name } edges { node { name } } pageInfo { hasNextPage endCursor } } } }",
        "variables": {"first": 2},
        "all": true,
    }))
    .await;
    assert_eq!(r.is_error, Some(false), "{:#}", content(&r));
    let v = content(&r);
    let names: Vec<&str> = v["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(|n| n["name"].as_str())
        .collect();
    assert_eq!(names, ["r1", "r2", "r3", "r4", "r5"], "{v:#}");
    assert_eq!(
        (v["count"].clone(), v["pages"].clone()),
        (json!(5), json!(3))
    );
    assert_eq!(v["truncated"], false);
    let afters: Vec<Value> = seen
        .all()
        .iter()
        .filter(|(b, _)| b["query"].as_str().unwrap_or("").contains("Repos"))
        .map(|(b, _)| b["variables"]["after"].clone())
        .collect();
    assert_eq!(afters, [Value::Null, json!("c1"), json!("c2")]);
    results.push(r);

    // The three failures are in the event log, under the API's name and the operation's label.
    let store = state.store().expect("store");
    let events = store.events(&EventFilter::default()).await.expect("events");
    let mut kept: Vec<(String, String)> = events
        .iter()
        .map(|e| (e.resource_id.clone(), e.category.as_str().to_owned()))
        .collect();
    kept.sort();
    assert_eq!(
        kept,
        [
            ("query (unnamed)".to_owned(), "auth".to_owned()),
            ("query (unnamed)".to_owned(), "auth".to_owned()),
            ("query Broken".to_owned(), "bad_params".to_owned()),
        ],
        "{events:?}"
    );
    assert!(events.iter().all(|e| e.service.as_str() == "gh"));
    let logged = format!("{events:?}");
    assert!(
        !logged.contains(CANARY),
        "the token reached the log: {logged}"
    );
    let text = shown(&results);
    assert!(!text.contains(CANARY), "the token leaked: {text}");
}

/// Asserts `r` is a tool error of `kind` and `category` whose message says `want`.
fn refused_saying(r: &CallToolResult, kind: &str, category: &str, want: &str) {
    let e = assert_error(r, kind, category);
    assert!(
        e["message"].as_str().is_some_and(|m| m.contains(want)),
        "{want}: {e:#}"
    );
}

#[tokio::test]
async fn bad_documents_and_variables_send_nothing() {
    let (url, seen) = endpoint().await;
    let dir = tempfile::tempdir().expect("dir");
    let state = gh_server(&url, true, &dir, Options::default()).await;
    let q = "query($first: Int!) { viewer { login } }";
    let cases = [
        (
            json!({"api": "gh", "query": q, "variables": {"first": "many"}}),
            "32-bit integer",
        ),
        (
            json!({"api": "gh", "query": q, "variables": {"first": 2.5}}),
            "32-bit integer",
        ),
        (
            json!({"api": "gh", "query": q, "variables": {"first": null}}),
            "non-null",
        ),
        (
            json!({"api": "gh", "query": q, "variables": {"last": 1}}),
            "declares no $last",
        ),
        (
            json!({"api": "gh", "query": "subscription { s }"}),
            "subscription",
        ),
        (
            json!({"api": "gh", "query": "query A { a } query B { b }"}),
            "more than one operation",
        ),
        (json!({"api": "gh", "query": "{ unclosed"}), "not closed"),
        (json!({"api": "gh", "query": q, "all": true}), "cursor"),
        (
            json!({"api": "gh", "query": "mutation { m }", "all": true}),
            "this is a mutation",
        ),
        (json!({"api": "nope", "query": q}), "no API \"nope\""),
    ];
    let mut results = Vec::new();
    for (args, want) in cases {
        let r = call(&state, "graphql_query", args.clone()).await;
        refused_saying(&r, "invalid_arguments", "bad_params", want);
        results.push(r);
    }
    // call_api on a GraphQL endpoint names the tool to use.
    let r = call(
        &state,
        "call_api",
        json!({"api": "gh", "operation": "viewer"}),
    )
    .await;
    refused_saying(&r, "invalid_arguments", "bad_params", "graphql_query");
    let r = call(&state, "list_apis", json!({})).await;
    let listed = r
        .content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.clone());
    assert!(
        listed
            .as_deref()
            .is_some_and(|t| t.contains("gh (GraphQL: graphql_query, auth bearer)")),
        "{listed:?}"
    );
    // Without the token: named, nothing sent.
    let tokenless = gh_server(&url, false, &dir, Options::default()).await;
    let r = call(
        &tokenless,
        "graphql_query",
        json!({"api": "gh", "query": "{ a }"}),
    )
    .await;
    refused_saying(&r, "missing_credentials", "auth", "GH_TOKEN");
    results.push(r);
    assert!(seen.all().is_empty(), "nothing was sent: {:?}", seen.all());
    let text = shown(&results);
    assert!(!text.contains(CANARY), "the token leaked: {text}");
}

#[tokio::test]
async fn a_mutation_never_runs_without_a_person_then_runs_once_through_the_journal() {
    let (url, seen) = endpoint().await;
    let dir = tempfile::tempdir().expect("dir");
    let mutation =
        "mutation Star($id: ID!) { addStar(input: {starrableId: $id}) { clientMutationId } }";
    let args = json!({"api": "gh", "query": mutation, "variables": {"id": "R_1"}});
    let mut results = Vec::new();
    for transport in [Transport::Http, Transport::Stdio] {
        for allow_execute in [true, false] {
            for read_only in [true, false] {
                let options = Options {
                    read_only,
                    allow_execute,
                    transport,
                };
                let case =
                    format!("{transport:?} allow_execute={allow_execute} read_only={read_only}");
                let state = gh_server(&url, true, &dir, options).await;
                let r = call(&state, "graphql_query", args.clone()).await;
                assert_eq!(r.is_error, Some(false), "{case}: {:#}", content(&r));
                let v = content(&r);
                assert_eq!(v["trust"]["class"], "person", "{case}: {v:#}");
                assert_eq!(v["plan"]["operation"], "mutation Star", "{case}: {v:#}");
                assert!(
                    v["command"].as_str().is_some_and(|c| c.starts_with(
                        "apiops graphql gh --query @mutation.graphql --var id=R_1 --dry-run"
                    )),
                    "{case}: {v:#}"
                );
                let plan_id = v["plan_id"].as_str().expect("a plan id").to_owned();
                match (read_only, transport, state.api_next(&plan_id, "test").await) {
                    // Read-only, or over HTTP: only a person outside the agent's channel.
                    (true, _, Err(e)) | (false, Transport::Http, Err(e)) => {
                        let r = e.into_result();
                        let e = content(&r)["error"].clone();
                        assert_eq!(e["kind"], "confirmation_required", "{case}: {e:#}");
                        // It names what a person runs: the terminal command, or (a pending
                        // confirmation over HTTP) `apiops confirm` with the command beside it.
                        let m = e["message"].as_str().unwrap_or_default();
                        let pending = m.contains(&format!("apiops confirm {plan_id}"))
                            && e["details"]["command"]
                                .as_str()
                                .is_some_and(|c| c.starts_with("apiops graphql gh"));
                        assert!(m.contains("apiops graphql gh") || pending, "{case}: {e:#}");
                        results.push(r);
                    }
                    // Over stdio the person is asked; --allow-execute does not stand in.
                    (false, Transport::Stdio, Ok((_, next))) => assert!(
                        matches!(next, ApiNext::Ask { always: true, .. }),
                        "{case}: {next:?}"
                    ),
                    (_, _, other) => panic!("{case}: {other:?}"),
                }
                results.push(r);
                assert!(seen.mutations().is_empty(), "{case}: a mutation was sent");
            }
        }
    }

    // The person said yes (elicitation): sent once with the plan's key, then not again.
    let state = gh_server(&url, true, &dir, Options::default()).await;
    let r = call(&state, "graphql_query", args).await;
    let v = content(&r);
    let plan_id = v["plan_id"].as_str().expect("a plan id").to_owned();
    let key = v["plan"]["idempotency"][1]
        .as_str()
        .expect("a key")
        .to_owned();
    let (entry, _) = state.api_next(&plan_id, "test").await.expect("an API plan");
    let sent = state
        .run_api_plan(&plan_id, &entry, Via::Elicitation)
        .await
        .expect("sent");
    let s = content(&sent);
    assert_eq!(s["status"], "sent", "{s:#}");
    assert_eq!(
        s["answer"]["body"]["data"]["addStar"]["starred"], "R_1",
        "{s:#}"
    );
    let again = state
        .run_api_plan(&plan_id, &entry, Via::Elicitation)
        .await
        .expect("answered");
    assert_eq!(
        content(&again)["status"],
        "already_done",
        "{:#}",
        content(&again)
    );
    assert_eq!(seen.mutations(), [Some(key)], "once, with the plan's key");
    results.extend([r, sent, again]);
    let text = shown(&results);
    assert!(!text.contains(CANARY), "the token leaked: {text}");
}
