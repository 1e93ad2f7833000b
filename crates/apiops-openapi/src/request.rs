//! From `key=value` arguments and an optional body to a request that fits the operation: every
//! value checked against its parameter's schema (type, enum, bounds) and the body against the
//! body's schema (required properties, types, enums) before anything is sent; path parameters
//! percent-encoded into the path; query, header and body kept apart.
//!
//! Pure: no I/O. Credentials are not added here (the client's auth middleware and
//! [`crate::auth`] add them), so a [`PreparedRequest`] is safe to show in a plan.

use apiops_client::pagination::json_kind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::CallError;
use crate::index::{BodyEncoding, Location, Operation};
use crate::spec::Spec;

/// How deep body checks go into nested schemas (recursive schemas stop here).
const MAX_SCHEMA_DEPTH: usize = 24;

/// A request ready for the client: method, the path with its parameters filled in, query,
/// headers, body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreparedRequest {
    /// The HTTP method.
    pub method: String,
    /// The path, parameters substituted and percent-encoded.
    pub path: String,
    /// Query parameters, in argument order.
    pub query: Vec<(String, String)>,
    /// Header parameters.
    pub headers: Vec<(String, String)>,
    /// The body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
}

/// A request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "encoding", content = "value", rename_all = "snake_case")]
pub enum Body {
    /// Sent as JSON.
    Json(Value),
    /// Sent as `application/x-www-form-urlencoded`.
    Form(Vec<(String, String)>),
}

/// Checks `args` (in order; a name given twice is an array) and `body` against `op`, and
/// builds the request.
pub fn prepare(
    spec: &Spec,
    op: &Operation,
    args: &[(String, String)],
    body: Option<Value>,
) -> Result<PreparedRequest, CallError> {
    for (name, _) in args {
        if op.param(name).is_none() {
            let known: Vec<&str> = op.parameters.iter().map(|p| p.name.as_str()).collect();
            return Err(CallError::Param {
                name: name.clone(),
                location: None,
                reason: if known.is_empty() {
                    format!("{} takes no parameters", op.id)
                } else {
                    format!(
                        "not a parameter of {}; it takes: {}",
                        op.id,
                        known.join(", ")
                    )
                },
            });
        }
    }
    let mut path = op.path.clone();
    let mut query = Vec::new();
    let mut headers = Vec::new();
    for p in &op.parameters {
        let given: Vec<&str> = args
            .iter()
            .filter(|(n, _)| {
                *n == p.name || (p.location == Location::Header && n.eq_ignore_ascii_case(&p.name))
            })
            .map(|(_, v)| v.as_str())
            .collect();
        let fail = |reason: String| CallError::Param {
            name: p.name.clone(),
            location: Some(p.location.as_str().to_owned()),
            reason,
        };
        if given.is_empty() {
            if p.required {
                return Err(fail("required, and not given (-p NAME=VALUE)".into()));
            }
            continue;
        }
        let schema = spec.resolve(&p.schema).map_err(|e| fail(e.to_string()))?;
        let values = coerce(spec, schema, &given).map_err(fail)?;
        match p.location {
            Location::Path => {
                let [one] = values.as_slice() else {
                    return Err(fail("a path parameter takes one value".into()));
                };
                path = path.replace(&format!("{{{}}}", p.name), &encode_segment(one));
            }
            Location::Query => {
                query.extend(values.into_iter().map(|v| (p.name.clone(), v)));
            }
            Location::Header => headers.push((p.name.clone(), values.join(","))),
            Location::Cookie => {
                return Err(fail("cookie parameters are not sent by apiops".into()));
            }
        }
    }
    let body = match (&op.body, body) {
        (None, Some(_)) => {
            return Err(CallError::Body {
                pointer: String::new(),
                reason: format!("{} takes no request body", op.id),
            });
        }
        (Some(b), None) if b.required => {
            return Err(CallError::Body {
                pointer: String::new(),
                reason: format!("{} needs a body ({}): pass --body", op.id, b.media_type),
            });
        }
        (_, None) => None,
        (Some(b), Some(value)) => {
            check_value(spec, &b.schema, &value, &mut String::new(), 0)?;
            Some(match b.encoding {
                BodyEncoding::Json => Body::Json(value),
                BodyEncoding::Form => Body::Form(form_pairs(&value)?),
            })
        }
    };
    Ok(PreparedRequest {
        method: op.method.clone(),
        path,
        query,
        headers,
        body,
    })
}

/// The values of one parameter, checked against `schema` and rendered as text: arrays take
/// repeated or comma-separated values.
fn coerce(spec: &Spec, schema: &Value, given: &[&str]) -> Result<Vec<String>, String> {
    let kind = schema_type(schema);
    if kind == Some("array") {
        let item = schema
            .get("items")
            .map(|i| spec.resolve(i).map_err(|e| e.to_string()))
            .transpose()?
            .unwrap_or(&Value::Null);
        let mut out = Vec::new();
        for g in given {
            for part in g.split(',') {
                out.push(scalar(item, part)?);
            }
        }
        return Ok(out);
    }
    match given {
        [one] => Ok(vec![scalar(schema, one)?]),
        _ => Err("given more than once, but takes one value".into()),
    }
}

/// One text value checked against a scalar schema; returned normalized.
fn scalar(schema: &Value, text: &str) -> Result<String, String> {
    let value = match schema_type(schema) {
        Some("integer") => Value::from(
            text.trim()
                .parse::<i64>()
                .map_err(|_| format!("expected an integer, got {text:?}"))?,
        ),
        Some("number") => {
            let n: f64 = text
                .trim()
                .parse()
                .map_err(|_| format!("expected a number, got {text:?}"))?;
            serde_json::Number::from_f64(n)
                .map(Value::Number)
                .ok_or_else(|| format!("expected a finite number, got {text:?}"))?
        }
        Some("boolean") => match text.trim() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(format!("expected true or false, got {text:?}")),
        },
        _ => Value::String(text.to_owned()),
    };
    check_scalar(schema, &value)?;
    Ok(match value {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

/// `enum`, `minimum`/`maximum`, `minLength`/`maxLength` of a scalar.
fn check_scalar(schema: &Value, value: &Value) -> Result<(), String> {
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed
            .iter()
            .any(|a| a == value || loosely_equal(a, value))
    {
        let shown: Vec<String> = allowed.iter().map(show).collect();
        return Err(format!(
            "{} is not one of: {}",
            show(value),
            shown.join(", ")
        ));
    }
    if let Some(n) = value.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            return Err(format!("{n} is below the minimum {min}"));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            return Err(format!("{n} is above the maximum {max}"));
        }
    }
    if let Some(s) = value.as_str() {
        let len = s.chars().count() as u64;
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && len < min
        {
            return Err(format!("shorter than {min} characters"));
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && len > max
        {
            return Err(format!("longer than {max} characters"));
        }
    }
    Ok(())
}

fn loosely_equal(a: &Value, b: &Value) -> bool {
    matches!((a, b), (Value::Number(x), Value::Number(y)) if x.as_f64() == y.as_f64())
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The schema's type; 3.1's `type: [T, "null"]` counts as `T`.
fn schema_type(schema: &Value) -> Option<&str> {
    match schema.get("type")? {
        Value::String(t) => Some(t),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ => None,
    }
}

fn nullable(schema: &Value) -> bool {
    schema.get("nullable").and_then(Value::as_bool) == Some(true)
        || schema
            .get("type")
            .and_then(Value::as_array)
            .is_some_and(|ts| ts.iter().any(|t| t == "null"))
}

/// Checks a JSON value against a schema: type, enum, bounds, required properties, the
/// properties and items it knows. Composition (`allOf`, `oneOf`, `anyOf`) is checked for
/// `allOf` only; the others accept.
fn check_value(
    spec: &Spec,
    schema: &Value,
    value: &Value,
    at: &mut String,
    depth: usize,
) -> Result<(), CallError> {
    if depth > MAX_SCHEMA_DEPTH || schema.is_null() {
        return Ok(());
    }
    let fail = |at: &str, reason: String| CallError::Body {
        pointer: at.to_owned(),
        reason,
    };
    let schema = spec.resolve(schema).map_err(|e| fail(at, e.to_string()))?;
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            check_value(spec, s, value, at, depth + 1)?;
        }
    }
    if value.is_null() {
        return if nullable(schema) || schema_type(schema).is_none() {
            Ok(())
        } else {
            Err(fail(at, "must not be null".into()))
        };
    }
    let kind_ok = match schema_type(schema) {
        None => true,
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some(_) => true,
    };
    if !kind_ok {
        return Err(fail(
            at,
            format!(
                "expected {}, got {}",
                schema_type(schema).unwrap_or("?"),
                json_kind(value)
            ),
        ));
    }
    if !value.is_object() && !value.is_array() {
        return check_scalar(schema, value).map_err(|r| fail(at, r));
    }
    if let Value::Object(map) = value {
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for r in required.iter().filter_map(Value::as_str) {
                if !map.contains_key(r) {
                    return Err(fail(
                        &format!("{at}/{}", crate::spec::escape_token(r)),
                        "required property missing".into(),
                    ));
                }
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, v) in map {
                if let Some(s) = props.get(k) {
                    let len = at.len();
                    at.push('/');
                    at.push_str(&crate::spec::escape_token(k));
                    check_value(spec, s, v, at, depth + 1)?;
                    at.truncate(len);
                }
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            let len = at.len();
            at.push_str(&format!("/{i}"));
            check_value(spec, item_schema, v, at, depth + 1)?;
            at.truncate(len);
        }
    }
    Ok(())
}

/// A form body from a JSON object: scalars as they are, arrays as repeated keys, nested
/// objects as `key[sub]` (the convention of Stripe-like form APIs).
fn form_pairs(value: &Value) -> Result<Vec<(String, String)>, CallError> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}[{k}]")
                    };
                    walk(&key, v, out);
                }
            }
            Value::Array(items) => {
                for v in items {
                    walk(prefix, v, out);
                }
            }
            Value::Null => {}
            Value::String(s) => out.push((prefix.to_owned(), s.clone())),
            other => out.push((prefix.to_owned(), other.to_string())),
        }
    }
    let Value::Object(_) = value else {
        return Err(CallError::Body {
            pointer: String::new(),
            reason: "a form body must be a JSON object".into(),
        });
    };
    let mut out = Vec::new();
    walk("", value, &mut out);
    Ok(out)
}

/// Percent-encodes one path segment: everything but RFC 3986's unreserved characters.
pub fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::Index;
    use serde_json::json;

    fn args(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn err_text(r: Result<PreparedRequest, CallError>) -> String {
        let e = r.expect_err("should be refused");
        assert!(e.is_usage(), "{e}");
        e.to_string()
    }

    #[test]
    fn builds_paths_queries_and_bodies() {
        let spec = crate::index::tests::pets();
        let index = Index::build(&spec, None).expect("index");
        let get = index.find("p", "GET /pets/{id}").expect("op");
        let r = prepare(&spec, get, &args(&[("id", "42")]), None).expect("ok");
        assert_eq!(r.path, "/pets/42");
        let list = index.find("p", "pets/list").expect("op");
        let r = prepare(
            &spec,
            list,
            &args(&[("limit", "10"), ("kind", "cat")]),
            None,
        )
        .expect("ok");
        assert_eq!(r.query, args(&[("limit", "10"), ("kind", "cat")]));
        let create = index.find("p", "pets/create").expect("op");
        let r = prepare(
            &spec,
            create,
            &args(&[("idempotency-key", "k1")]),
            Some(json!({"name": "Rex", "age": 3})),
        )
        .expect("ok");
        assert_eq!(r.headers, args(&[("Idempotency-Key", "k1")]));
        assert_eq!(r.body, Some(Body::Json(json!({"name": "Rex", "age": 3}))));
        assert_eq!(encode_segment("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn bad_parameters_are_named() {
        let spec = crate::index::tests::pets();
        let index = Index::build(&spec, None).expect("index");
        let get = index.find("p", "GET /pets/{id}").expect("op");
        let t = err_text(prepare(&spec, get, &[], None));
        assert!(t.contains("\"id\" (path)") && t.contains("required"), "{t}");
        let t = err_text(prepare(&spec, get, &args(&[("id", "ten")]), None));
        assert!(
            t.contains("\"id\"") && t.contains("expected an integer"),
            "{t}"
        );
        let list = index.find("p", "pets/list").expect("op");
        let t = err_text(prepare(&spec, list, &args(&[("kind", "bird")]), None));
        assert!(
            t.contains("\"kind\"") && t.contains("not one of: cat, dog"),
            "{t}"
        );
        let t = err_text(prepare(&spec, list, &args(&[("limit", "500")]), None));
        assert!(t.contains("\"limit\"") && t.contains("maximum 100"), "{t}");
        let t = err_text(prepare(&spec, list, &args(&[("colour", "red")]), None));
        assert!(
            t.contains("\"colour\"") && t.contains("not a parameter"),
            "{t}"
        );
        let t = err_text(prepare(&spec, list, &[], Some(json!({}))));
        assert!(t.contains("takes no request body"), "{t}");
    }

    #[test]
    fn bad_bodies_are_named_by_pointer() {
        let spec = crate::index::tests::pets();
        let index = Index::build(&spec, None).expect("index");
        let create = index.find("p", "pets/create").expect("op");
        let t = err_text(prepare(&spec, create, &[], None));
        assert!(t.contains("needs a body"), "{t}");
        let t = err_text(prepare(&spec, create, &[], Some(json!({"age": 3}))));
        assert!(t.contains("at /name") && t.contains("required"), "{t}");
        let t = err_text(prepare(
            &spec,
            create,
            &[],
            Some(json!({"name": "x", "age": "old"})),
        ));
        assert!(
            t.contains("at /age") && t.contains("expected integer"),
            "{t}"
        );
        let t = err_text(prepare(
            &spec,
            create,
            &[],
            Some(json!({"name": "x", "kind": "fish"})),
        ));
        assert!(t.contains("at /kind") && t.contains("not one of"), "{t}");
        let t = err_text(prepare(&spec, create, &[], Some(json!([1]))));
        assert!(t.contains("expected object"), "{t}");
    }

    #[test]
    fn form_bodies_flatten_objects() {
        let pairs = form_pairs(&json!({"a": 1, "b": ["x", "y"], "c": {"d": true}})).expect("ok");
        assert_eq!(
            pairs,
            args(&[("a", "1"), ("b", "x"), ("b", "y"), ("c[d]", "true")])
        );
    }
}
