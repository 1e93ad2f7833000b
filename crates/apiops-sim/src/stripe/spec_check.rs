//! A small OpenAPI response-schema checker for the simulator's own tests: it resolves `$ref`,
//! and checks `type` (with 3.0 `nullable` and 3.1 `"null"`), `required`, `properties`,
//! `additionalProperties`, `items`, `enum`, `const`, `allOf`, `anyOf` and `oneOf` (exactly
//! one). It ignores `format`, `pattern` and numeric bounds. Like `openapi-schema-validator`,
//! it lets `nullable: true` excuse a `null` from `type` only: a `null` must still satisfy the
//! `anyOf`, `allOf` and `enum` beside it (so an optional object Stripe types as
//! `anyOf: [$ref], nullable: true` is better left out than sent as `null`). The full conformance test (Python,
//! `openapi-schema-validator`) lives in `tests/contract/`; this one runs with `cargo test`.
//!
//! The specs are read from `../shared/specs/` beside the repository; a test that cannot find
//! them says so and skips.

use std::path::PathBuf;

use serde_json::Value;

/// One loaded OpenAPI document.
#[derive(Debug)]
pub(crate) struct Spec {
    doc: Value,
}

/// Loads `../shared/specs/<relative>` (relative to the repository), or `None` when absent.
pub(crate) fn load(relative: &str) -> Option<Spec> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/specs")
        .join(relative);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("skipping spec check: {}: {e}", path.display());
            return None;
        }
    };
    match serde_json::from_str(&text) {
        Ok(doc) => Some(Spec { doc }),
        Err(e) => {
            eprintln!("skipping spec check: {}: {e}", path.display());
            None
        }
    }
}

impl Spec {
    /// The JSON schema of the `status` answer to `method path` (the spec's path template).
    pub(crate) fn response_schema(&self, path: &str, method: &str, status: u16) -> Option<&Value> {
        self.doc
            .get("paths")?
            .get(path)?
            .get(method.to_ascii_lowercase())?
            .get("responses")?
            .get(status.to_string())?
            .get("content")?
            .get("application/json")?
            .get("schema")
    }

    /// A component schema by name.
    pub(crate) fn component(&self, name: &str) -> Option<&Value> {
        self.doc.get("components")?.get("schemas")?.get(name)
    }

    /// Every way `value` departs from the response schema of `method path`, as `path: problem`
    /// lines; a missing schema is itself a problem.
    pub(crate) fn check_response(
        &self,
        path: &str,
        method: &str,
        status: u16,
        value: &Value,
    ) -> Vec<String> {
        match self.response_schema(path, method, status) {
            Some(schema) => self.check(schema, value),
            None => vec![format!("no {status} schema for {method} {path}")],
        }
    }

    /// Every way `value` departs from `schema`.
    pub(crate) fn check(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.walk(schema, value, "$", &mut errors);
        errors
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let mut s = schema;
        for _ in 0..32 {
            match s.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    let name = r.rsplit('/').next().unwrap_or_default();
                    match self.component(name) {
                        Some(target) => s = target,
                        None => return s,
                    }
                }
                None => return s,
            }
        }
        s
    }

    fn walk(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if schema.get("$ref").is_some() {
            errors.push(format!("{at}: unresolvable {}", schema["$ref"]));
            return;
        }
        let nullable_null = value.is_null() && schema.get("nullable") == Some(&Value::Bool(true));
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for s in all {
                self.walk(s, value, at, errors);
            }
        }
        for (keyword, exactly_one) in [("anyOf", false), ("oneOf", true)] {
            if let Some(branches) = schema.get(keyword).and_then(Value::as_array) {
                let passing = branches
                    .iter()
                    .filter(|b| self.check(b, value).is_empty())
                    .count();
                let ok = if exactly_one {
                    passing == 1
                } else {
                    passing >= 1
                };
                if !ok {
                    let detail: Vec<String> = branches
                        .iter()
                        .flat_map(|b| self.check(b, value).into_iter().take(2))
                        .take(6)
                        .collect();
                    errors.push(format!(
                        "{at}: {passing} branches of {keyword} match ({})",
                        detail.join("; ")
                    ));
                }
            }
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            errors.push(format!("{at}: {value} not in enum"));
        }
        if let Some(c) = schema.get("const")
            && c != value
        {
            errors.push(format!("{at}: {value} is not {c}"));
        }
        if let Some(t) = schema.get("type")
            && !nullable_null
            && !type_matches(t, value)
        {
            errors.push(format!("{at}: {value:.60} is not of type {t}"));
            return;
        }
        if let Some(obj) = value.as_object() {
            if let Some(required) = schema.get("required").and_then(Value::as_array) {
                for r in required.iter().filter_map(Value::as_str) {
                    if !obj.contains_key(r) {
                        errors.push(format!("{at}: missing required {r}"));
                    }
                }
            }
            let props = schema.get("properties").and_then(Value::as_object);
            for (k, v) in obj {
                let child = format!("{at}.{k}");
                match props.and_then(|p| p.get(k)) {
                    Some(s) => self.walk(s, v, &child, errors),
                    None => match schema.get("additionalProperties") {
                        Some(Value::Bool(false)) => {
                            errors.push(format!("{child}: not allowed"));
                        }
                        Some(extra) if extra.is_object() => self.walk(extra, v, &child, errors),
                        _ => {}
                    },
                }
            }
        }
        if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
            for (i, v) in arr.iter().enumerate() {
                self.walk(items, v, &format!("{at}[{i}]"), errors);
            }
        }
    }
}

fn type_matches(t: &Value, value: &Value) -> bool {
    match t {
        Value::Array(ts) => ts.iter().any(|t| type_matches(t, value)),
        Value::String(name) => match name.as_str() {
            "null" => value.is_null(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "object" => value.is_object(),
            "array" => value.is_array(),
            _ => true,
        },
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn catches_what_it_claims_to() {
        let spec = Spec {
            doc: json!({"components": {"schemas": {
                "thing": {
                    "type": "object",
                    "required": ["id", "kind"],
                    "properties": {
                        "id": {"type": "string"},
                        "kind": {"type": "string", "enum": ["a", "b"]},
                        "note": {"type": "string", "nullable": true},
                        "kind2": {"type": "string", "enum": ["a"], "nullable": true},
                        "address": {"anyOf": [{"type": "object"}], "nullable": true},
                        "n": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                        "tags": {"type": "array", "items": {"type": "string"}}
                    }
                }
            }}}),
        };
        let schema = json!({"$ref": "#/components/schemas/thing"});
        let good = json!({"id": "x", "kind": "a", "note": null, "n": null, "tags": ["t"]});
        assert!(spec.check(&schema, &good).is_empty());
        for bad in [
            json!({"kind": "a"}),
            json!({"id": "x", "kind": "c"}),
            json!({"id": 1, "kind": "a"}),
            json!({"id": "x", "kind": "a", "n": "1"}),
            json!({"id": "x", "kind": "a", "tags": [1]}),
            json!({"id": "x", "kind": "a", "kind2": null}),
            json!({"id": "x", "kind": "a", "address": null}),
        ] {
            assert!(!spec.check(&schema, &bad).is_empty(), "{bad}");
        }
    }
}
