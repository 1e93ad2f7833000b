//! What a pending confirmation holds (the store's `Confirmation::plan_json`), read the same
//! way by `apiops confirm`, the dashboard's Pending confirmations page and the MCP server:
//!
//! - a catalog operation's [`Plan`], as it always was;
//! - a configured API's write ([`ApiWrite`], kept as `{"api_write": {...}, ...}`): the
//!   `WritePlan` itself (idempotency key included, so the run a person allowed is the one that
//!   is sent), the body as a person reads it (summarized, secrets masked) and who asked.
//!
//! A person's yes to an API write lets the agent's `execute_plan` send it (under the journal,
//! once); deciding it here runs nothing, because only the MCP server holds the API's client.

use apiops_client::redact::{Redactor, is_sensitive_header, is_sensitive_query_param};
use apiops_openapi::WritePlan;
use apiops_openapi::request::Body;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Plan;

/// Longest body shown to the person, in characters (the rest is cut with "…").
pub const MAX_BODY_SHOWN: usize = 600;

/// What a pending confirmation is about.
#[derive(Debug, Clone)]
pub enum Pending {
    /// A catalog operation's plan: a person's yes runs it at once.
    Operation(Box<Plan>),
    /// A configured API's write: a person's yes lets the agent's `execute_plan` send it.
    ApiWrite(Box<ApiWrite>),
}

impl Pending {
    /// Reads a confirmation's `plan_json`: an API write when it says so, else a catalog plan.
    pub fn parse(plan_json: &str) -> Result<Pending, serde_json::Error> {
        match serde_json::from_str::<ApiWrite>(plan_json) {
            Ok(w) => Ok(Pending::ApiWrite(Box::new(w))),
            Err(_) => {
                serde_json::from_str::<Plan>(plan_json).map(|p| Pending::Operation(Box::new(p)))
            }
        }
    }
}

/// A configured API's write waiting for a person, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiWrite {
    /// The write, exactly as it will be sent (credentials are never part of it).
    pub api_write: WritePlan,
    /// The body as a person reads it: summarized, secrets masked (`None` without a body).
    pub body_shown: Option<String>,
    /// The query and header parameters, sensitive values masked.
    pub params_shown: Vec<String>,
    /// Who asked: the MCP session.
    pub asked_by: String,
}

impl ApiWrite {
    /// The record of `plan` asked by `asked_by`, shown with `redactor`'s secrets (the API's
    /// credentials) scrubbed.
    pub fn new(plan: WritePlan, redactor: &Redactor, asked_by: &str) -> ApiWrite {
        let body_shown = plan.request.body.as_ref().map(|b| shown_body(b, redactor));
        let query = plan.request.query.iter().map(|(k, v)| {
            let v = if is_sensitive_query_param(k) {
                apiops_core::mask(v)
            } else {
                redactor.redact(v).into_owned()
            };
            format!("{k}={v}")
        });
        let headers = plan
            .request
            .headers
            .iter()
            .filter(|(k, _)| plan.idempotency.as_ref().is_none_or(|(h, _)| h != k))
            .map(|(k, v)| {
                let v = if is_sensitive_header(k) {
                    apiops_core::mask(v)
                } else {
                    redactor.redact(v).into_owned()
                };
                format!("{k}: {v}")
            });
        let params_shown = query.chain(headers).collect();
        ApiWrite {
            api_write: plan,
            body_shown,
            params_shown,
            asked_by: asked_by.to_owned(),
        }
    }

    /// The record as `plan_json`.
    pub fn to_json(&self) -> String {
        // Strings and JSON values only: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// One line for the listings: the API, the method and path, the body shown, why a person.
    pub fn summary(&self) -> String {
        let p = &self.api_write;
        let mut s = format!(
            "{}: {} {} ({})",
            p.api, p.request.method, p.request.path, p.operation
        );
        if !self.params_shown.is_empty() {
            s.push_str(&format!(" [{}]", self.params_shown.join(", ")));
        }
        if let Some(b) = &self.body_shown {
            s.push_str(&format!(" with body {b}"));
        }
        s.push_str(&format!(
            ". Asked by MCP session {}. Needs a person: {}",
            self.asked_by,
            crate::apis::trust_of_write(p).why
        ));
        s
    }
}

/// A body as a person reads it: compact JSON (or `k=v&...` for a form) with the value of
/// every sensitive-looking field masked and `redactor`'s secrets scrubbed, cut at
/// [`MAX_BODY_SHOWN`] characters.
pub fn shown_body(body: &Body, redactor: &Redactor) -> String {
    let text = match body {
        Body::Json(v) => masked(v).to_string(),
        Body::Form(pairs) => pairs
            .iter()
            .map(|(k, v)| {
                let v = if is_sensitive_query_param(k) {
                    apiops_core::mask(v)
                } else {
                    v.clone()
                };
                format!("{k}={v}")
            })
            .collect::<Vec<_>>()
            .join("&"),
    };
    let text = redactor.redact(&text);
    if text.chars().count() > MAX_BODY_SHOWN {
        let cut: String = text.chars().take(MAX_BODY_SHOWN).collect();
        format!("{cut}…")
    } else {
        text.into_owned()
    }
}

/// `v` with the values of sensitive-looking keys masked, at any depth.
fn masked(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let shown = match v {
                        _ if !is_sensitive_query_param(k) => masked(v),
                        Value::String(s) => Value::String(apiops_core::mask(s)),
                        Value::Null => Value::Null,
                        _ => Value::String(apiops_core::secret::FULLY_MASKED.to_owned()),
                    };
                    (k.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(masked).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use apiops_openapi::{OpClass, PreparedRequest};
    use secrecy::SecretString;
    use serde_json::json;

    use super::*;

    fn plan(body: Option<Body>) -> WritePlan {
        WritePlan {
            api: "mail".into(),
            operation: "keys/create".into(),
            summary: "Create a key".into(),
            class: OpClass::Write,
            request: PreparedRequest {
                method: "POST".into(),
                path: "/keys".into(),
                query: vec![
                    ("dry".into(), "no".into()),
                    ("access_token".into(), "tok_0123456789abcdef".into()),
                ],
                headers: vec![
                    ("Idempotency-Key".into(), "idem_1".into()),
                    ("X-Team".into(), "ops".into()),
                ],
                body,
            },
            idempotency: Some(("Idempotency-Key".into(), "idem_1".into())),
            needs_person: false,
            deprecated: false,
            plan_id: "p1".into(),
            graphql: false,
        }
    }

    #[test]
    fn secrets_in_the_body_and_parameters_are_masked_and_the_plan_reads_back_whole() {
        let canary = "re_canary_secret_0123456789";
        let redactor = Redactor::new([SecretString::from(canary)]);
        let body = Body::Json(json!({
            "name": "ci",
            "password": "hunter2hunter2hunter2",
            "nested": [{"client_secret": 42, "note": format!("uses {canary}")}],
        }));
        let w = ApiWrite::new(plan(Some(body)), &redactor, "sess-1");
        let shown = w.body_shown.clone().expect("a body");
        assert!(shown.contains("\"name\":\"ci\""), "{shown}");
        assert!(shown.contains("hunt...ter2"), "{shown}");
        assert!(shown.contains("\"client_secret\":\"********\""), "{shown}");
        let summary = w.summary();
        for text in [&shown, &summary] {
            assert!(!text.contains(canary), "{text}");
            assert!(!text.contains("hunter2hunter2hunter2"), "{text}");
            assert!(!text.contains("tok_0123456789abcdef"), "{text}");
        }
        assert!(
            summary.contains("mail: POST /keys (keys/create)"),
            "{summary}"
        );
        assert!(summary.contains("dry=no"), "{summary}");
        assert!(summary.contains("X-Team: ops"), "{summary}");
        assert!(summary.contains("sess-1"), "{summary}");
        assert!(summary.contains("touches credentials"), "{summary}");
        // The record keeps the plan itself, and reads back as an API write.
        match Pending::parse(&w.to_json()).expect("parses") {
            Pending::ApiWrite(back) => assert_eq!(*back, w),
            Pending::Operation(p) => panic!("read as an operation: {p:?}"),
        }
    }

    #[test]
    fn a_long_or_form_body_is_cut_and_masked() {
        let r = Redactor::default();
        let long = Body::Json(json!({"text": "x".repeat(5_000)}));
        let shown = shown_body(&long, &r);
        assert_eq!(shown.chars().count(), MAX_BODY_SHOWN + 1);
        assert!(shown.ends_with('…'));
        let form = Body::Form(vec![
            ("To".into(), "+15550001".into()),
            ("api_key".into(), "key_0123456789abcdef".into()),
        ]);
        assert_eq!(shown_body(&form, &r), "To=+15550001&api_key=key_...cdef");
    }

    #[test]
    fn anything_else_is_not_an_api_write() {
        assert!(Pending::parse("{}").is_err());
        assert!(Pending::parse("not json").is_err());
        assert!(Pending::parse(r#"{"api_write": {"api": "x"}}"#).is_err());
    }
}
