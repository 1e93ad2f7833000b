//! The engine against a loopback server: paging by `Link` headers and by cursors (items
//! streamed across pages, a next link to another origin refused), a write's idempotency key (sent,
//! and the same for the same call), OAuth2 client credentials (a token fetched, then used),
//! a query-parameter key never shown in an error, bad input refused with no request sent, and
//! an error body read into the taxonomy.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use apiops_core::Category;
use apiops_openapi::{Api, ApiAuth, ApiConfig, CallError, Spec};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::SecretString;
use serde_json::{Value, json};

const CANARY: &str = "canary_query_key_0123456789";

/// One request the server saw: which route, its query, its headers.
type Request = (String, HashMap<String, String>, HeaderMap);

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Request>>>);

impl Seen {
    fn push(&self, what: &str, q: HashMap<String, String>, h: HeaderMap) {
        self.0.lock().expect("lock").push((what.to_owned(), q, h));
    }
    fn count(&self, what: &str) -> usize {
        self.0
            .lock()
            .expect("lock")
            .iter()
            .filter(|(w, ..)| w == what)
            .count()
    }
    fn headers(&self, what: &str) -> Vec<HeaderMap> {
        self.0
            .lock()
            .expect("lock")
            .iter()
            .filter(|(w, ..)| w == what)
            .map(|(.., h)| h.clone())
            .collect()
    }
}

struct Server {
    base: String,
    seen: Seen,
}

async fn serve(away: String) -> Server {
    let seen = Seen::default();
    let base_holder: Arc<Mutex<String>> = Arc::default();
    let b = base_holder.clone();
    let app = Router::new()
        // GitHub style: bare arrays and Link headers, 3 pages of 2.
        .route(
            "/repos",
            get({
                let b = b.clone();
                move |State(seen): State<Seen>, Query(q): Query<HashMap<String, String>>, h: HeaderMap| async move {
                    seen.push("repos", q.clone(), h);
                    let page: u64 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                    let base = b.lock().expect("lock").clone();
                    let items = json!([{"id": page * 10 + 1}, {"id": page * 10 + 2}]);
                    let mut resp = Json(items).into_response();
                    if page < 3 {
                        let link = format!("<{base}/repos?page={}&per_page=2>; rel=\"next\", <{base}/repos?page=3>; rel=\"last\"", page + 1);
                        resp.headers_mut().insert("link", link.parse().expect("header"));
                    }
                    resp.headers_mut().insert("x-ratelimit-limit", "5000".parse().expect("h"));
                    resp.headers_mut().insert("x-ratelimit-remaining", "4990".parse().expect("h"));
                    resp
                }
            }),
        )
        // A next link to another origin.
        .route(
            "/leak",
            get(move |State(seen): State<Seen>, h: HeaderMap| {
                let away = away.clone();
                async move {
                    seen.push("leak", HashMap::new(), h);
                    let mut resp = Json(json!([{"id": 1}])).into_response();
                    resp.headers_mut().insert("link", format!("<{away}/steal>; rel=\"next\"").parse().expect("h"));
                    resp
                }
            }),
        )
        // Stripe style: data + has_more + starting_after.
        .route(
            "/customers",
            get(|State(seen): State<Seen>, Query(q): Query<HashMap<String, String>>, h: HeaderMap| async move {
                seen.push("customers", q.clone(), h);
                let after: u64 = q.get("starting_after").and_then(|s| s.trim_start_matches("cus_").parse().ok()).unwrap_or(0);
                let items: Vec<Value> = (after + 1..=after + 3).filter(|i| *i <= 7).map(|i| json!({"id": format!("cus_{i}")})).collect();
                Json(json!({"object": "list", "data": items, "has_more": after + 3 < 7}))
            })
            .post(|State(seen): State<Seen>, h: HeaderMap, Json(body): Json<Value>| async move {
                seen.push("create", HashMap::new(), h);
                if body.get("email").and_then(Value::as_str) == Some("taken@example.com") {
                    return (StatusCode::CONFLICT, Json(json!({"type": "https://example.com/probs/taken", "title": "Conflict", "detail": "email taken"}))).into_response();
                }
                (StatusCode::CREATED, Json(json!({"id": "cus_new"}))).into_response()
            }),
        )
        .route(
            "/oauth2/token",
            post(|State(seen): State<Seen>, h: HeaderMap| async move {
                seen.push("token", HashMap::new(), h);
                Json(json!({"access_token": "tok_from_loopback_1234567", "token_type": "Bearer", "expires_in": 3600}))
            }),
        )
        .route(
            "/me",
            get(|State(seen): State<Seen>, Query(q): Query<HashMap<String, String>>, h: HeaderMap| async move {
                seen.push("me", q, h);
                (StatusCode::UNAUTHORIZED, Json(json!({"error": {"code": "invalid_api_key", "message": "Invalid API key"}})))
            }),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    *base_holder.lock().expect("lock") = base.clone();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server { base, seen }
}

fn spec() -> Spec {
    Spec::from_value(
        json!({
            "openapi": "3.0.3",
            "info": {"title": "Loop", "version": "1"},
            "paths": {
                "/repos": {"get": {"operationId": "repos/list", "parameters": [
                    {"name": "page", "in": "query", "schema": {"type": "integer"}},
                    {"name": "per_page", "in": "query", "schema": {"type": "integer", "maximum": 100}}
                ], "responses": {}}},
                "/leak": {"get": {"operationId": "leak", "responses": {}}},
                "/customers": {
                    "get": {"operationId": "customers/list", "parameters": [
                        {"name": "starting_after", "in": "query", "schema": {"type": "string"}},
                        {"name": "limit", "in": "query", "schema": {"type": "integer"}}
                    ], "responses": {}},
                    "post": {"operationId": "customers/create", "parameters": [
                        {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}
                    ], "requestBody": {"required": true, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["email"], "properties": {"email": {"type": "string"}}
                    }}}}, "responses": {}}
                },
                "/me": {"get": {"operationId": "me", "responses": {}}}
            }
        }),
        "loop.json",
    )
    .expect("spec")
}

fn api(base: &str, auth: ApiAuth) -> Api {
    let config = ApiConfig {
        name: "loop".into(),
        base_url: Some(base.to_owned()),
        auth,
        ..ApiConfig::default()
    };
    Api::new(config, spec(), Ok).expect("api")
}

async fn all(api: &Api, name: &str, args: &[(&str, &str)]) -> Result<Vec<Value>, CallError> {
    let args: Vec<(String, String)> = args
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    let (op, req) = api.prepare(name, &args, None)?;
    let mut items = Vec::new();
    api.each_item(op, req, &mut |v| {
        items.push(v);
        Ok(())
    })
    .await?;
    Ok(items)
}

#[tokio::test]
async fn link_headers_and_cursors_page_through_every_item() {
    let s = serve("http://127.0.0.2:9".into()).await;
    let api = api(&s.base, ApiAuth::None);
    let items = all(&api, "repos/list", &[("per_page", "2")])
        .await
        .expect("paged");
    let ids: Vec<u64> = items.iter().filter_map(|i| i["id"].as_u64()).collect();
    assert_eq!(ids, [11, 12, 21, 22, 31, 32]);
    assert_eq!(s.seen.count("repos"), 3);
    let items = all(&api, "customers/list", &[]).await.expect("paged");
    let ids: Vec<&str> = items.iter().filter_map(|i| i["id"].as_str()).collect();
    assert_eq!(
        ids,
        [
            "cus_1", "cus_2", "cus_3", "cus_4", "cus_5", "cus_6", "cus_7"
        ]
    );
    assert_eq!(s.seen.count("customers"), 3);
}

#[tokio::test]
async fn a_next_link_to_another_origin_is_refused() {
    let s = serve("http://127.0.0.2:9".into()).await;
    let api = api(&s.base, ApiAuth::None);
    let err = all(&api, "leak", &[]).await.expect_err("other origin");
    assert!(err.to_string().contains("away from"), "{err}");
    assert_eq!(s.seen.count("leak"), 1);
}

#[tokio::test]
async fn a_write_carries_one_idempotency_key_stable_across_runs() {
    let s = serve("http://127.0.0.2:9".into()).await;
    let api = api(&s.base, ApiAuth::None);
    let body = || Some(json!({"email": "a@example.com"}));
    let (op, req) = api.prepare("customers/create", &[], body()).expect("ok");
    let plan = api.plan(op, req.clone(), None);
    let again = api.plan(op, req.clone(), None);
    let fresh = api.plan(op, req, Some("second"));
    assert_eq!(
        plan.idempotency, again.idempotency,
        "the same call has the same key"
    );
    assert_ne!(plan.idempotency, fresh.idempotency);
    let answer = api.execute(&plan).await.expect("created");
    assert_eq!(answer.status, 201);
    let sent = s.seen.headers("create");
    let key = plan.idempotency.as_ref().map(|(_, k)| k.as_str());
    assert_eq!(
        sent[0].get("idempotency-key").and_then(|v| v.to_str().ok()),
        key
    );
    // A conflict reads the problem+json body into the taxonomy.
    let (op, req) = api
        .prepare(
            "customers/create",
            &[],
            Some(json!({"email": "taken@example.com"})),
        )
        .expect("ok");
    let err = api
        .execute(&api.plan(op, req, None))
        .await
        .expect_err("conflict");
    assert!(err.to_string().contains("email taken"), "{err}");
}

#[tokio::test]
async fn bad_input_sends_nothing() {
    let s = serve("http://127.0.0.2:9".into()).await;
    let api = api(&s.base, ApiAuth::None);
    type Case = (&'static str, Vec<(String, String)>, Option<Value>);
    let bad: [Case; 4] = [
        ("repos/list", vec![("per_page".into(), "many".into())], None),
        ("repos/list", vec![("per_page".into(), "500".into())], None),
        (
            "customers/create",
            vec![],
            Some(json!({"name": "no email"})),
        ),
        ("customers/nope", vec![], None),
    ];
    for (name, args, body) in bad {
        let err = api.prepare(name, &args, body).expect_err(name);
        assert!(err.is_usage(), "{err}");
    }
    assert_eq!(s.seen.0.lock().expect("lock").len(), 0);
}

#[tokio::test]
async fn oauth2_client_credentials_fetch_a_token_and_use_it() {
    let s = serve("http://127.0.0.2:9".into()).await;
    let api = api(
        &s.base,
        ApiAuth::OAuth2 {
            token_url: "/oauth2/token".into(),
            client_id: SecretString::from("client_id_canary_0001"),
            client_secret: SecretString::from("client_secret_canary_0001"),
            scopes: vec![],
        },
    );
    all(&api, "customers/list", &[]).await.expect("paged");
    assert_eq!(s.seen.count("token"), 1, "one token for every page");
    let token_req = &s.seen.headers("token")[0];
    assert!(
        token_req
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Basic "))
    );
    for h in s.seen.headers("customers") {
        assert_eq!(
            h.get("authorization").and_then(|v| v.to_str().ok()),
            Some("Bearer tok_from_loopback_1234567")
        );
    }
}

#[tokio::test]
async fn a_query_key_is_sent_but_never_shown() {
    let s = serve("http://127.0.0.2:9".into()).await;
    let api = api(
        &s.base,
        ApiAuth::Query {
            name: "key".into(),
            value: SecretString::from(CANARY),
        },
    );
    let (op, req) = api.prepare("me", &[], None).expect("ok");
    assert_eq!(op.id, "me");
    let err = api.send(&req).await.expect_err("401");
    assert_eq!(err.category(), Category::Auth);
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(CANARY), "{shown}");
    assert!(shown.contains("Invalid API key"), "{shown}");
    let seen = s.seen.0.lock().expect("lock");
    assert_eq!(seen[0].1.get("key").map(String::as_str), Some(CANARY));
}

#[tokio::test]
async fn health_reports_latency_and_headroom() {
    let s = serve("http://127.0.0.2:9".into()).await;
    let mut config = ApiConfig {
        name: "loop".into(),
        base_url: Some(s.base.clone()),
        health: Some("GET /repos".into()),
        ..ApiConfig::default()
    };
    let api = Api::new(config.clone(), spec(), Ok).expect("api");
    let h = api.health().await.expect("health");
    assert_eq!((h.status, h.http_status), ("ok", Some(200)));
    assert_eq!(
        (h.headroom.remaining, h.headroom.limit),
        (Some(4990), Some(5000))
    );
    config.health = Some("me".into());
    let api = Api::new(config, spec(), Ok).expect("api");
    let h = api.health().await.expect("health");
    assert_eq!(h.status, "down");
    assert!(h.error.is_some_and(|e| e.contains("invalid_api_key")));
}
