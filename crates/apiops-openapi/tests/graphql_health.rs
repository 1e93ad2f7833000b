//! The health of a GraphQL endpoint (`[apis.NAME] graphql = URL`) against a loopback stub:
//! `query { __typename }` POSTed with the bearer token, the latency, status and rate-limit
//! headroom read from the answer's headers, and each failure given its category from the
//! typed error: a 401, `errors[]` without data (auth, rate limit), `errors[]` beside data, a
//! body that is no GraphQL answer. The token never shows in what the check reports.

use std::sync::{Arc, Mutex};

use apiops_core::Category;
use apiops_openapi::{Api, ApiAuth, ApiConfig};
use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde_json::{Value, json};

const CANARY: &str = "canary_graphql_token_0123456789";

/// What the stub received: the path, the body, the `Authorization` header.
type Seen = Arc<Mutex<Vec<(String, Value, Option<String>)>>>;

fn with_headers(mut resp: Response, headers: &[(&'static str, &str)]) -> Response {
    for (k, v) in headers {
        resp.headers_mut()
            .insert(*k, v.parse().expect("a header value"));
    }
    resp
}

/// Answers `path` as the case it names.
fn answer(path: &str) -> Response {
    match path {
        "/ok" => with_headers(
            Json(json!({"data": {"__typename": "Query"}})).into_response(),
            &[("x-ratelimit-limit", "5000"), ("x-ratelimit-remaining", "4000")],
        ),
        "/low" => with_headers(
            Json(json!({"data": {"__typename": "Query"}})).into_response(),
            &[("ratelimit", "limit=100, remaining=3, reset=30")],
        ),
        "/unauthorized" => (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": format!("Bad credentials for {CANARY}")})),
        )
            .into_response(),
        "/unauthenticated" => Json(json!({
            "data": null,
            "errors": [{"message": format!("token {CANARY} has expired"), "extensions": {"code": "UNAUTHENTICATED"}}],
        }))
        .into_response(),
        "/limited" => Json(json!({
            "data": null,
            "errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded", "extensions": {"code": "RATE_LIMITED"}}],
        }))
        .into_response(),
        "/partial" => Json(json!({
            "data": {"__typename": "Query"},
            "errors": [{"message": "a field failed", "path": ["viewer"]}],
        }))
        .into_response(),
        _ => "<html>not GraphQL</html>".into_response(),
    }
}

async fn stub() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let kept = Arc::clone(&seen);
    let app = axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: HeaderMap, Json(body): Json<Value>| {
            let auth = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            kept.lock()
                .expect("lock")
                .push((uri.path().to_owned(), body, auth));
            let resp = answer(uri.path());
            async move { resp }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, seen)
}

fn api(endpoint: &str) -> Api {
    let config = ApiConfig {
        name: "gh".into(),
        auth: ApiAuth::Bearer(SecretString::from(CANARY)),
        ..ApiConfig::default()
    };
    // None of the answers is retried (a 200, a 401): each case is one request.
    Api::graphql_endpoint(config, endpoint, Ok).expect("api")
}

#[tokio::test]
async fn a_graphql_endpoint_is_checked_with_typename_and_each_failure_has_its_category() {
    let (base, seen) = stub().await;
    // path, status, HTTP status, the failure's category
    let cases: [(&str, &str, Option<u16>, Option<Category>); 7] = [
        ("/ok", "ok", Some(200), None),
        ("/low", "degraded", Some(200), None),
        ("/unauthorized", "down", Some(401), Some(Category::Auth)),
        ("/unauthenticated", "down", Some(200), Some(Category::Auth)),
        ("/limited", "degraded", Some(200), Some(Category::RateLimit)),
        ("/partial", "degraded", Some(200), Some(Category::BadParams)),
        ("/html", "down", Some(200), Some(Category::Transient)),
    ];
    for (path, status, http_status, category) in cases {
        let h = api(&format!("{base}{path}"))
            .health()
            .await
            .expect("checked");
        assert_eq!(h.operation, "query { __typename }", "{path}");
        assert_eq!(
            (h.status, h.http_status),
            (status, http_status),
            "{path}: {h:?}"
        );
        assert_eq!(
            h.event.as_ref().map(|e| e.category),
            category,
            "{path}: {h:?}"
        );
        assert_eq!(h.error.is_some(), category.is_some(), "{path}: {h:?}");
        let shown = format!("{} {:?}", serde_json::to_string(&h).expect("json"), h.event);
        assert!(!shown.contains(CANARY), "{path}: the token leaked: {shown}");
    }
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), cases.len(), "one request a check");
    for (path, body, auth) in &seen {
        assert_eq!(body, &json!({"query": "query { __typename }"}), "{path}");
        assert_eq!(auth.as_deref(), Some(format!("Bearer {CANARY}").as_str()));
    }
}

#[tokio::test]
async fn the_headroom_is_read_from_the_headers() {
    let (base, _) = stub().await;
    let h = api(&format!("{base}/ok")).health().await.expect("checked");
    assert_eq!(
        (h.headroom.limit, h.headroom.remaining, h.headroom.source),
        (Some(5000), Some(4000), Some("x-ratelimit"))
    );
    let verdict = h.verdict(apiops_core::Service::Api(
        apiops_core::ApiName::new("gh").expect("name"),
    ));
    assert_eq!(verdict.details["rate_limit_headroom"], "80.0% left");
    assert_eq!(verdict.details["operation"], "query { __typename }");
    let low = api(&format!("{base}/low")).health().await.expect("checked");
    assert_eq!(low.headroom.share(), Some(0.03));
    assert_eq!(low.status, "degraded", "under 10 % left");
}
