//! GraphQL over the resilient client: a POST of `{"query", "variables"}` whose answer is read
//! by the spec's rules rather than by its status — a 200 carrying `errors[]` is an error, and
//! the partial `data` that came with it is kept for the caller.
//!
//! The reading is the pure [`interpret`]; [`graphql`] only sends and decodes. This is not a
//! GraphQL client library: no schema, no query building, no subscriptions, no batching. A non-2xx
//! answer stays a [`ClientError::Status`] like any other request.

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::client::ApiClient;
use crate::error::ClientError;
use crate::redact::display_target;

/// Sends `query` with `variables` (omitted when `null`) to the GraphQL endpoint at `path` (a
/// path under the client's base URL or an absolute URL) and decodes `data` into `T`.
///
/// A response with a non-empty `errors[]` is a [`ClientError::GraphQl`] carrying the messages
/// (redacted), the errors and any partial `data`; a response with neither is a
/// [`ClientError::Decode`].
pub async fn graphql<T: DeserializeOwned>(
    client: &ApiClient,
    path: &str,
    query: &str,
    variables: Value,
) -> Result<T, ClientError> {
    let url = client.url(path)?;
    let target = display_target(&url);
    let mut body = Map::new();
    body.insert("query".to_owned(), Value::String(query.to_owned()));
    if !variables.is_null() {
        body.insert("variables".to_owned(), variables);
    }
    let rb = client
        .request(Method::POST, url.as_str())?
        .json(&Value::Object(body));
    let answer: Value = client.send_json(rb).await?;
    let data = match interpret(answer, &target) {
        Ok(data) => data,
        Err(ClientError::GraphQl {
            messages,
            errors,
            data,
        }) => {
            let redactor = client.redactor();
            return Err(ClientError::GraphQl {
                messages: messages
                    .iter()
                    .map(|m| redactor.redact(m).into_owned())
                    .collect(),
                errors,
                data,
            });
        }
        Err(e) => return Err(e),
    };
    serde_json::from_value(data).map_err(|e| ClientError::Decode {
        method: Method::POST.to_string(),
        target,
        reason: format!("`data`: {e}"),
    })
}

/// Reads a GraphQL response `body` from `target` (the redacted host and path, for errors):
/// its `data` when there are no errors, [`ClientError::GraphQl`] when `errors` is present and
/// not empty (keeping `data` unless it is `null`), [`ClientError::Decode`] when the body is not
/// a GraphQL response.
///
/// An error without a string `message` is named by its JSON, so no error is lost from the
/// message list; an `errors` that is an object rather than the spec's array counts as one error.
pub fn interpret(body: Value, target: &str) -> Result<Value, ClientError> {
    let decode = |reason: &str| ClientError::Decode {
        method: Method::POST.to_string(),
        target: target.to_owned(),
        reason: reason.to_owned(),
    };
    let Value::Object(mut body) = body else {
        return Err(decode("a GraphQL response must be a JSON object"));
    };
    let data = body.remove("data").filter(|d| !d.is_null());
    let errors = match body.remove("errors") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(errors)) => errors,
        Some(one @ Value::Object(_)) => vec![one],
        Some(_) => return Err(decode("`errors` is neither an array nor an object")),
    };
    if !errors.is_empty() {
        let messages = errors.iter().map(error_message).collect();
        return Err(ClientError::GraphQl {
            messages,
            errors: Value::Array(errors),
            data,
        });
    }
    data.ok_or_else(|| decode("the response has neither `data` nor `errors`"))
}

/// The `message` of one GraphQL error, with its `path` when it has one.
fn error_message(error: &Value) -> String {
    let Some(message) = error.get("message").and_then(Value::as_str) else {
        return error.to_string();
    };
    match error.get("path").and_then(Value::as_array) {
        Some(path) if !path.is_empty() => {
            let path: Vec<String> = path
                .iter()
                .map(|p| match p {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            format!("{message} (at {})", path.join("."))
        }
        _ => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use axum::Json;
    use axum::Router;
    use axum::routing::post;
    use serde_json::json;

    use super::*;

    #[test]
    fn interprets_responses_table() {
        let ok = |v: Value| -> Result<Value, (Vec<&'static str>, Option<Value>)> { Ok(v) };
        let gql = |m: Vec<&'static str>, d: Option<Value>| -> Result<Value, _> { Err((m, d)) };
        let cases = [
            (
                "data only",
                json!({"data": {"viewer": {"login": "a"}}}),
                ok(json!({"viewer": {"login": "a"}})),
            ),
            (
                "empty errors",
                json!({"data": {"x": 1}, "errors": []}),
                ok(json!({"x": 1})),
            ),
            (
                "null errors",
                json!({"data": {"x": 1}, "errors": null}),
                ok(json!({"x": 1})),
            ),
            (
                "errors with partial data",
                json!({"data": {"a": 1, "b": null}, "errors": [{"message": "no b", "path": ["b"]}]}),
                gql(vec!["no b (at b)"], Some(json!({"a": 1, "b": null}))),
            ),
            (
                "errors with null data",
                json!({"data": null, "errors": [{"message": "boom"}, {"message": "bang", "path": ["x", 0, "y"]}]}),
                gql(vec!["boom", "bang (at x.0.y)"], None),
            ),
            (
                "errors without data",
                json!({"errors": [{"extensions": {"code": "X"}}]}),
                gql(vec![r#"{"extensions":{"code":"X"}}"#], None),
            ),
            (
                "a single error object",
                json!({"errors": {"message": "rate limited"}}),
                gql(vec!["rate limited"], None),
            ),
        ];
        for (name, body, want) in cases {
            match (interpret(body, "h/graphql"), want) {
                (Ok(data), Ok(w)) => assert_eq!(data, w, "{name}"),
                (
                    Err(ClientError::GraphQl {
                        messages,
                        errors,
                        data,
                    }),
                    Err((m, d)),
                ) => {
                    assert_eq!(messages, m, "{name}");
                    assert_eq!(data, d, "{name}");
                    assert_eq!(errors.as_array().map(Vec::len), Some(m.len()), "{name}");
                }
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn rejects_non_graphql_bodies_table() {
        let cases = [
            ("not an object", json!([1, 2]), "JSON object"),
            ("nothing", json!({}), "neither"),
            ("null data, no errors", json!({"data": null}), "neither"),
            (
                "errors a string",
                json!({"errors": "oops"}),
                "neither an array",
            ),
        ];
        for (name, body, want) in cases {
            match interpret(body, "h/graphql") {
                Err(ClientError::Decode {
                    reason,
                    target,
                    method,
                }) => {
                    assert!(reason.contains(want), "{name}: {reason}");
                    assert_eq!((method.as_str(), target.as_str()), ("POST", "h/graphql"));
                }
                other => panic!("{name}: expected a decode error, got {other:?}"),
            }
        }
    }

    /// Answers like a GraphQL server: partial data and an error when asked for `broken`,
    /// otherwise echoes the variables.
    async fn endpoint(Json(req): Json<Value>) -> Json<Value> {
        let query = req["query"].as_str().unwrap_or_default();
        if query.contains("broken") {
            return Json(json!({
                "data": {"ok": true, "broken": null},
                "errors": [{"message": "field failed", "path": ["broken"]}],
            }));
        }
        Json(
            json!({"data": {"echo": req["variables"], "hasVariables": req.get("variables").is_some()}}),
        )
    }

    async fn client() -> ApiClient {
        let app = Router::new().route("/api/graphql", post(endpoint));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        ApiClient::builder("graphql-test", &format!("http://{addr}/api"))
            .build()
            .expect("client")
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Echo {
        echo: Value,
        has_variables: bool,
    }

    #[tokio::test]
    async fn graphql_posts_query_and_variables_and_decodes_data() {
        let c = client().await;
        let got: Echo = graphql(&c, "/graphql", "query($n: Int) { echo }", json!({"n": 3}))
            .await
            .expect("data");
        assert_eq!(
            got,
            Echo {
                echo: json!({"n": 3}),
                has_variables: true
            }
        );
        let got: Echo = graphql(&c, "/graphql", "{ echo }", Value::Null)
            .await
            .expect("data");
        assert!(!got.has_variables);
    }

    #[tokio::test]
    async fn graphql_errors_keep_the_partial_data() {
        let c = client().await;
        match graphql::<Value>(&c, "/graphql", "{ ok broken }", Value::Null).await {
            Err(ClientError::GraphQl { messages, data, .. }) => {
                assert_eq!(messages, vec!["field failed (at broken)"]);
                assert_eq!(data, Some(json!({"ok": true, "broken": null})));
            }
            other => panic!("expected GraphQL errors, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn graphql_reports_data_of_the_wrong_shape() {
        let c = client().await;
        match graphql::<Vec<u32>>(&c, "/graphql", "{ echo }", Value::Null).await {
            Err(ClientError::Decode { reason, target, .. }) => {
                assert!(reason.starts_with("`data`"), "{reason}");
                assert!(target.ends_with("/api/graphql"), "{target}");
            }
            other => panic!("expected a decode error, got {other:?}"),
        }
    }
}
