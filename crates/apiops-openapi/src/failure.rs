//! Reading an API's failure: its status and its error body, whatever shape the API chose —
//! RFC 9457 `application/problem+json`, `{"error": {...}}` (or OAuth's `{"error": "...",
//! "error_description"}`), `{"errors": [...]}`, a bare `{"message": ...}` (GitHub, PayPal), or
//! GraphQL's `errors[]` next to partial `data` — mapped into the taxonomy's [`Category`].
//!
//! Pure: a status and a body in, an [`ApiFailure`] out. The category comes from the status
//! first ([`Classification::fallback`]), then a code or type that says more (a 400 whose code
//! says "rate_limit" is a rate limit).

use std::fmt;

use apiops_client::ClientError;
use apiops_core::{Category, Classification};
use serde::Serialize;
use serde_json::Value;

/// The shape an error body had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyShape {
    /// RFC 9457 problem details (`type`, `title`, `status`, `detail`).
    Problem,
    /// `{"error": {...}}` or `{"error": "code", "error_description": ...}`.
    ErrorObject,
    /// `{"errors": [...]}`, possibly with a top-level `message`.
    ErrorList,
    /// GraphQL: `errors[]` beside `data`.
    GraphQl,
    /// A top-level `message` (and maybe `name`/`code`).
    Message,
    /// Not JSON, or JSON of no known shape.
    Other,
}

/// A failure as read from the status and body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiFailure {
    /// The HTTP status (GraphQL errors may come with a 200).
    pub status: Option<u16>,
    /// The taxonomy's category.
    pub category: Category,
    /// The API's own code or type, when it gave one.
    pub code: Option<String>,
    /// A one-line message for a person.
    pub message: String,
    /// How the body was shaped.
    pub shape: BodyShape,
    /// GraphQL's partial `data`, kept beside its errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial_data: Option<Value>,
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = self.status {
            write!(f, "HTTP {s} ")?;
        }
        write!(f, "[{}]", self.category.as_str())?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl ApiFailure {
    /// Reads a failed answer: `status` and the (already redacted) `body`.
    pub fn read(status: Option<u16>, body: &str) -> ApiFailure {
        let by_status = Classification::fallback(status).category;
        let json: Option<Value> = serde_json::from_str(body).ok();
        let (shape, code, message, partial_data) = match &json {
            Some(Value::Object(map)) => read_object(map),
            _ => (BodyShape::Other, None, first_line(body), None),
        };
        let category = refine(status, by_status, code.as_deref(), &message, shape);
        ApiFailure {
            status,
            category,
            code,
            message,
            shape,
            partial_data,
        }
    }

    /// The failure inside a client error, when the API answered (or sent GraphQL errors).
    pub fn from_client(error: &ClientError) -> Option<ApiFailure> {
        match error {
            ClientError::Status { status, body, .. } => Some(ApiFailure::read(Some(*status), body)),
            ClientError::GraphQl { errors, data, .. } => {
                let mut body = serde_json::Map::new();
                body.insert("errors".into(), errors.clone());
                // `data` even when null: it is what marks the body as a GraphQL answer, so
                // errors without data are read by their codes and messages like the others.
                body.insert("data".into(), data.clone().unwrap_or(Value::Null));
                Some(ApiFailure::read(None, &Value::Object(body).to_string()))
            }
            _ => None,
        }
    }
}

type Read = (BodyShape, Option<String>, String, Option<Value>);

fn read_object(map: &serde_json::Map<String, Value>) -> Read {
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    // GraphQL: errors[] together with a data key (even null).
    if let (Some(Value::Array(errors)), true) = (map.get("errors"), map.contains_key("data")) {
        let message = join_messages(errors);
        let code = errors
            .iter()
            .find_map(|e| text(e.pointer("/extensions/code")));
        let data = map.get("data").filter(|d| !d.is_null()).cloned();
        return (BodyShape::GraphQl, code, message, data);
    }
    // RFC 9457: any of its members marks it; `title` and `detail` make the message.
    if map.contains_key("type") && (map.contains_key("title") || map.contains_key("detail"))
        || map.contains_key("title") && map.contains_key("detail")
    {
        let title = text(map.get("title"));
        let detail = text(map.get("detail"));
        let message = match (title, detail) {
            (Some(t), Some(d)) => format!("{t}: {d}"),
            (Some(t), None) => t,
            (None, Some(d)) => d,
            (None, None) => String::new(),
        };
        let code = text(map.get("type")).filter(|t| t != "about:blank");
        return (BodyShape::Problem, code, message, None);
    }
    match map.get("error") {
        Some(Value::Object(e)) => {
            let code = text(e.get("code")).or_else(|| text(e.get("type")));
            let message = text(e.get("message")).unwrap_or_default();
            return (BodyShape::ErrorObject, code, message, None);
        }
        Some(Value::String(code)) => {
            let message = text(map.get("error_description"))
                .or_else(|| text(map.get("message")))
                .unwrap_or_default();
            return (BodyShape::ErrorObject, Some(code.clone()), message, None);
        }
        _ => {}
    }
    if let Some(Value::Array(errors)) = map.get("errors") {
        let listed = join_messages(errors);
        let message = match text(map.get("message")) {
            Some(m) if !listed.is_empty() => format!("{m}: {listed}"),
            Some(m) => m,
            None => listed,
        };
        let code = text(map.get("code")).or_else(|| {
            errors
                .iter()
                .find_map(|e| text(e.get("code")).or_else(|| text(e.get("type"))))
        });
        return (BodyShape::ErrorList, code, message, None);
    }
    if let Some(message) = text(map.get("message")) {
        let code = text(map.get("name")).or_else(|| text(map.get("code")));
        let details = map
            .get("details")
            .and_then(Value::as_array)
            .map(|d| join_messages(d))
            .unwrap_or_default();
        let message = if details.is_empty() {
            message
        } else {
            format!("{message}: {details}")
        };
        return (BodyShape::Message, code, message, None);
    }
    (BodyShape::Other, None, String::new(), None)
}

/// The messages of a list of errors, `; `-joined: each one's `message` (or `description`,
/// `issue`, `detail`), with its `field`/`path` when it names one.
fn join_messages(errors: &[Value]) -> String {
    errors
        .iter()
        .filter_map(|e| match e {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => {
                let m = ["message", "description", "detail", "issue", "title"]
                    .iter()
                    .find_map(|k| o.get(*k).and_then(Value::as_str))?;
                let field = o
                    .get("field")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .or_else(|| {
                        o.get("path").and_then(Value::as_array).map(|p| {
                            p.iter()
                                .map(|s| s.as_str().map_or_else(|| s.to_string(), str::to_owned))
                                .collect::<Vec<_>>()
                                .join(".")
                        })
                    });
                Some(match field {
                    Some(f) if !f.is_empty() => format!("{m} ({f})"),
                    _ => m.to_owned(),
                })
            }
            _ => None,
        })
        .take(5)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The status's category, made more precise by what the code or message says.
fn refine(
    status: Option<u16>,
    by_status: Category,
    code: Option<&str>,
    message: &str,
    shape: BodyShape,
) -> Category {
    let words = format!("{} {}", code.unwrap_or(""), message).to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| words.contains(n));
    if status == Some(429) || has(&["rate limit", "rate_limit", "ratelimit", "too many requests"]) {
        return Category::RateLimit;
    }
    if matches!(status, Some(401 | 403))
        || has(&[
            "unauthorized",
            "unauthenticated",
            "invalid_client",
            "invalid_token",
            "authentication",
            "forbidden",
            "permission",
        ])
    {
        return Category::Auth;
    }
    if shape == BodyShape::GraphQl && status.is_none_or(|s| s < 400) {
        return Category::BadParams;
    }
    by_status
}

fn first_line(body: &str) -> String {
    let line = body.lines().next().unwrap_or("").trim();
    let mut out: String = line.chars().take(200).collect();
    if line.chars().count() > 200 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_body_shape_is_read() {
        /// status, body, shape, category, code, message
        type Case<'a> = (
            Option<u16>,
            &'a str,
            BodyShape,
            Category,
            Option<&'a str>,
            &'a str,
        );
        let table: &[Case] = &[
            (
                Some(404),
                r#"{"type":"https://example.com/probs/no-such-domain","title":"Not found","status":404,"detail":"domain d_1 does not exist"}"#,
                BodyShape::Problem,
                Category::Config,
                Some("https://example.com/probs/no-such-domain"),
                "Not found: domain d_1 does not exist",
            ),
            (
                Some(400),
                r#"{"error":{"type":"invalid_request_error","code":"parameter_missing","message":"Missing required param: amount."}}"#,
                BodyShape::ErrorObject,
                Category::BadParams,
                Some("parameter_missing"),
                "Missing required param: amount.",
            ),
            (
                Some(401),
                r#"{"error":"invalid_client","error_description":"Client Authentication failed"}"#,
                BodyShape::ErrorObject,
                Category::Auth,
                Some("invalid_client"),
                "Client Authentication failed",
            ),
            (
                Some(422),
                r#"{"message":"Validation Failed","errors":[{"resource":"Issue","field":"title","code":"missing_field","message":"title is missing"}]}"#,
                BodyShape::ErrorList,
                Category::BadParams,
                Some("missing_field"),
                "Validation Failed: title is missing (title)",
            ),
            (
                Some(200),
                r#"{"data":{"viewer":{"login":"octo","repo":null}},"errors":[{"message":"Could not resolve repo","path":["viewer","repo"],"extensions":{"code":"NOT_FOUND"}}]}"#,
                BodyShape::GraphQl,
                Category::BadParams,
                Some("NOT_FOUND"),
                "Could not resolve repo (viewer.repo)",
            ),
            (
                Some(400),
                r#"{"name":"INVALID_REQUEST","message":"Request is not well-formed.","debug_id":"abc","details":[{"field":"/name","issue":"MISSING_REQUIRED_PARAMETER","description":"A required field is missing."}]}"#,
                BodyShape::Message,
                Category::BadParams,
                Some("INVALID_REQUEST"),
                "Request is not well-formed.: A required field is missing. (/name)",
            ),
            (
                Some(403),
                r#"{"message":"API rate limit exceeded for 1.2.3.4.","documentation_url":"https://docs"}"#,
                BodyShape::Message,
                Category::RateLimit,
                None,
                "API rate limit exceeded for 1.2.3.4.",
            ),
            (
                Some(502),
                "<html>Bad gateway</html>",
                BodyShape::Other,
                Category::Transient,
                None,
                "<html>Bad gateway</html>",
            ),
        ];
        for (status, body, shape, category, code, message) in table {
            let f = ApiFailure::read(*status, body);
            assert_eq!(f.shape, *shape, "{body}");
            assert_eq!(f.category, *category, "{body}");
            assert_eq!(f.code.as_deref(), *code, "{body}");
            assert_eq!(f.message, *message, "{body}");
        }
    }

    #[test]
    fn graphql_keeps_partial_data() {
        let f = ApiFailure::read(
            Some(200),
            r#"{"data":{"a":1},"errors":[{"message":"b failed"}]}"#,
        );
        assert_eq!(f.partial_data, Some(serde_json::json!({"a": 1})));
        let f = ApiFailure::read(Some(200), r#"{"data":null,"errors":[{"message":"x"}]}"#);
        assert_eq!(f.partial_data, None);
    }
}
