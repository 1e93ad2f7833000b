//! Scripted faults: deterministic rules that make chosen requests fail, for tests of batches
//! and crash recovery ("the second purchase returns 500", "the message to +14155550102 resets
//! the connection", "every Stripe update hangs").
//!
//! A [`FaultRule`] matches a request by method, a substring of its path and optionally
//! substrings of its query and of its body; it lets the first `skip` matching requests through, then applies its
//! fault to the next `times` of them (all of them when `times` is absent). Rules are set from
//! Rust ([`crate::server::SimState::script_fault`], [`crate::RunningSim::script_fault`]) or over
//! HTTP:
//!
//! | route | effect |
//! |---|---|
//! | `POST /_sim/faults` | adds a rule (JSON body, see [`FaultRule`]; `query_contains` picks requests by their query, e.g. the pages of one time window); 201 with its index; 400 with a reason for a bad body; 403 when the simulator was allowed to listen beyond loopback |
//! | `GET /_sim/faults` | `{"rules": [...]}`: every rule with `matched` and `fired` counts |
//! | `DELETE /_sim/faults` | removes every rule: `{"cleared": n}` |
//!
//! The edge ([`crate::faults`]) consults the rules for requests under a provider prefix only,
//! after authentication, rate limits and latency and before the random `fault_rate`. Every rule
//! that matches a request counts it in its `matched`; the first rule whose window is open (more
//! than `skip` matches seen, fewer than `times` applications) applies its fault and counts it in
//! `fired`, and in `/_sim/stats` under `faults` like a random fault. At most one fault applies
//! to a request. Requests refused earlier (bad credentials, 429) never reach the rules.
//!
//! Matching is case-insensitive for the method and case-sensitive for substrings. The path is
//! the full request path, provider prefix included, without the query
//! (`/twilio/api/2010-04-01/Accounts/AC.../Messages.json`). `body_contains` is looked for in
//! the raw body and in its form-decoded text (`To=+14155550102&From=...`), so a phone number
//! matches whether the client percent-encoded its `+` or not; the body is only buffered when a
//! rule with `body_contains` matches the method and path.

use std::sync::{Arc, Mutex, PoisonError};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::faults::Fault;
use crate::server::SimState;

/// The largest body the edge buffers to look for `body_contains` (axum's default body limit,
/// which the handlers apply anyway).
const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// One scripted fault rule, as `POST /_sim/faults` takes it:
/// `{"method": "POST", "path_contains": "/Messages.json", "body_contains": "+14155550102",
/// "kind": "server_error", "skip": 1, "times": 1}`.
///
/// Only `kind` is required: without `method` any method matches, without `path_contains` any
/// provider path, without `body_contains` any body; `skip` defaults to 0 and an absent `times`
/// means forever. Unknown fields are refused, so a typo cannot silently widen a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// The HTTP method to match (case-insensitive); `None` matches any.
    #[serde(default)]
    pub method: Option<String>,
    /// A substring of the request path (provider prefix included); empty matches any path.
    #[serde(default)]
    pub path_contains: String,
    /// A substring of the raw or form-decoded request body; `None` matches any body.
    #[serde(default)]
    pub body_contains: Option<String>,
    /// A substring of the raw or decoded query string (`DateSent>=2026-11-24`, say: the
    /// requests of chosen time windows); `None` matches any query.
    #[serde(default)]
    pub query_contains: Option<String>,
    /// The fault to apply.
    pub kind: Fault,
    /// How many matching requests to let through before applying the fault.
    #[serde(default)]
    pub skip: u64,
    /// How many times to apply the fault once `skip` requests went through; `None` = forever.
    #[serde(default)]
    pub times: Option<u64>,
}

impl FaultRule {
    /// A rule applying `kind` to every request with `method` whose path contains
    /// `path_contains`, from the first one on, forever (narrow it with the builders below).
    pub fn new(kind: Fault, method: &str, path_contains: &str) -> Self {
        FaultRule {
            method: Some(method.to_owned()),
            path_contains: path_contains.to_owned(),
            body_contains: None,
            query_contains: None,
            kind,
            skip: 0,
            times: None,
        }
    }

    /// Lets the first `n` matching requests through.
    #[must_use]
    pub fn skip(mut self, n: u64) -> Self {
        self.skip = n;
        self
    }

    /// Applies the fault `n` times only.
    #[must_use]
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }

    /// Matches only requests whose body contains `needle`.
    #[must_use]
    pub fn body_contains(mut self, needle: &str) -> Self {
        self.body_contains = Some(needle.to_owned());
        self
    }

    /// Matches only requests whose query contains `needle` (raw or decoded).
    #[must_use]
    pub fn query_contains(mut self, needle: &str) -> Self {
        self.query_contains = Some(needle.to_owned());
        self
    }

    /// Why the rule cannot work, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        if let Some(m) = &self.method
            && Method::from_bytes(m.as_bytes()).is_err()
        {
            return Err(format!("method {m:?} is not an HTTP method"));
        }
        if self.times == Some(0) {
            return Err("times must be at least 1 (omit it to apply the fault forever)".into());
        }
        if self.body_contains.as_deref() == Some("") {
            return Err("body_contains must not be empty (omit it to match any body)".into());
        }
        if self.query_contains.as_deref() == Some("") {
            return Err("query_contains must not be empty (omit it to match any query)".into());
        }
        Ok(())
    }

    /// Whether the method, path and query match (the body is checked separately).
    fn matches_head(&self, method: &Method, path: &str, query: &BodyText) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
            && path.contains(self.path_contains.as_str())
            && self
                .query_contains
                .as_deref()
                .is_none_or(|q| query.raw.contains(q) || query.decoded.contains(q))
    }

    /// Whether the body matches, given its texts (`None` when it was not buffered).
    fn matches_body(&self, body: Option<&BodyText>) -> bool {
        match (&self.body_contains, body) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(needle), Some(b)) => b.raw.contains(needle) || b.decoded.contains(needle),
        }
    }
}

/// A rule with its counters, as `GET /_sim/faults` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScriptedFault {
    /// The rule.
    #[serde(flatten)]
    pub rule: FaultRule,
    /// Requests that matched the rule (skipped ones included).
    pub matched: u64,
    /// Times the rule applied its fault.
    pub fired: u64,
}

impl ScriptedFault {
    /// Whether the next match applies the fault.
    fn open(&self) -> bool {
        self.matched > self.rule.skip && self.rule.times.is_none_or(|t| self.fired < t)
    }
}

/// The rules of one simulator, in the order they were added.
#[derive(Debug, Default)]
pub struct Script {
    rules: Mutex<Vec<ScriptedFault>>,
}

/// A buffered body (or a query string) as text: raw (lossy UTF-8) and form-decoded.
#[derive(Debug)]
struct BodyText {
    raw: String,
    decoded: String,
}

impl BodyText {
    fn of(bytes: &[u8]) -> Self {
        let decoded = url::form_urlencoded::parse(bytes)
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        BodyText {
            raw: String::from_utf8_lossy(bytes).into_owned(),
            decoded,
        }
    }
}

impl Script {
    /// Adds a rule (after checking it) and returns its index in the listing.
    pub fn add(&self, rule: FaultRule) -> Result<usize, String> {
        rule.check()?;
        let mut rules = self.rules.lock().unwrap_or_else(PoisonError::into_inner);
        rules.push(ScriptedFault {
            rule,
            matched: 0,
            fired: 0,
        });
        Ok(rules.len() - 1)
    }

    /// Removes every rule; returns how many there were.
    pub fn clear(&self) -> usize {
        let mut rules = self.rules.lock().unwrap_or_else(PoisonError::into_inner);
        let n = rules.len();
        rules.clear();
        n
    }

    /// Every rule with its counters.
    pub fn list(&self) -> Vec<ScriptedFault> {
        self.rules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The fault the rules apply to `req`, if any, with the request to pass on (rebuilt when its
    /// body had to be buffered). `Err` is the answer when the body could not be read.
    pub(crate) async fn check(&self, req: Request) -> Result<(Request, Option<Fault>), Response> {
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let query = BodyText::of(req.uri().query().unwrap_or("").as_bytes());
        let needs_body = {
            let rules = self.rules.lock().unwrap_or_else(PoisonError::into_inner);
            let mut heads = rules
                .iter()
                .filter(|r| r.rule.matches_head(&method, &path, &query))
                .peekable();
            if heads.peek().is_none() {
                return Ok((req, None));
            }
            heads.any(|r| r.rule.body_contains.is_some())
        };
        let (req, body) = if needs_body {
            let (parts, body) = req.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
                return Err((
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "apiops-sim: the request body could not be read (over 2 MiB or cut short)",
                )
                    .into_response());
            };
            let text = BodyText::of(&bytes);
            (Request::from_parts(parts, Body::from(bytes)), Some(text))
        } else {
            (req, None)
        };
        let mut rules = self.rules.lock().unwrap_or_else(PoisonError::into_inner);
        let mut fault = None;
        for r in rules.iter_mut() {
            if !(r.rule.matches_head(&method, &path, &query) && r.rule.matches_body(body.as_ref()))
            {
                continue;
            }
            r.matched += 1;
            if fault.is_none() && r.open() {
                r.fired += 1;
                fault = Some(r.rule.kind);
            }
        }
        Ok((req, fault))
    }
}

/// `GET /_sim/faults`
pub(crate) async fn list(State(state): State<Arc<SimState>>) -> Response {
    axum::Json(json!({ "rules": state.edge.script.list() })).into_response()
}

/// `POST /_sim/faults`
pub(crate) async fn add(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    if state.config.allow_non_loopback {
        return refuse(
            StatusCode::FORBIDDEN,
            "scripted faults are refused when the simulator may listen beyond loopback",
        );
    }
    let rule = match serde_json::from_slice::<FaultRule>(&body) {
        Ok(r) => r,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("invalid fault rule: {e}")),
    };
    match state.edge.script.add(rule.clone()) {
        Ok(index) => (
            StatusCode::CREATED,
            axum::Json(json!({ "index": index, "rule": rule })),
        )
            .into_response(),
        Err(reason) => refuse(
            StatusCode::BAD_REQUEST,
            &format!("invalid fault rule: {reason}"),
        ),
    }
}

/// `DELETE /_sim/faults`
pub(crate) async fn clear(State(state): State<Arc<SimState>>) -> Response {
    axum::Json(json!({ "cleared": state.edge.script.clear() })).into_response()
}

fn refuse(status: StatusCode, reason: &str) -> Response {
    (status, axum::Json(json!({ "error": reason }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, path: &str, body: &str) -> Request {
        Request::builder()
            .method(method)
            .uri(path)
            .body(Body::from(body.to_owned()))
            .expect("request")
    }

    async fn fault_of(script: &Script, method: &str, path: &str, body: &str) -> Option<Fault> {
        let (req, fault) = script
            .check(request(method, path, body))
            .await
            .expect("readable");
        // The body is passed on intact whether it was buffered or not.
        let passed = axum::body::to_bytes(req.into_body(), usize::MAX)
            .await
            .expect("body");
        assert_eq!(passed, body.as_bytes());
        fault
    }

    #[tokio::test]
    async fn skips_then_fires_then_stops() {
        let s = Script::default();
        s.add(
            FaultRule::new(Fault::ServerError, "post", "/Messages.json")
                .skip(1)
                .times(2),
        )
        .expect("valid");
        let mut got = Vec::new();
        for _ in 0..5 {
            got.push(fault_of(&s, "POST", "/twilio/api/x/Messages.json", "").await);
        }
        assert_eq!(
            got,
            [
                None,
                Some(Fault::ServerError),
                Some(Fault::ServerError),
                None,
                None
            ]
        );
        assert_eq!(
            fault_of(&s, "GET", "/twilio/api/x/Messages.json", "").await,
            None
        );
        let listed = s.list();
        assert_eq!((listed[0].matched, listed[0].fired), (5, 2));
    }

    #[tokio::test]
    async fn bodies_match_raw_or_form_decoded() {
        let s = Script::default();
        s.add(FaultRule::new(Fault::Reset, "POST", "Messages").body_contains("To=+14155550102"))
            .expect("valid");
        let hit = "To=%2B14155550102&From=%2B14155550100&Body=hi";
        let miss = "To=%2B14155550103&From=%2B14155550102&Body=hi";
        assert_eq!(fault_of(&s, "POST", "/twilio/Messages", miss).await, None);
        assert_eq!(
            fault_of(&s, "POST", "/twilio/Messages", hit).await,
            Some(Fault::Reset)
        );
        assert_eq!(s.list()[0].matched, 1);
        let json_rule = Script::default();
        json_rule
            .add(FaultRule::new(Fault::Hang, "POST", "").body_contains("\"model\":\"o3\""))
            .expect("valid");
        assert_eq!(
            fault_of(
                &json_rule,
                "POST",
                "/openai/v1/chat/completions",
                "{\"model\":\"o3\"}"
            )
            .await,
            Some(Fault::Hang)
        );
    }

    #[tokio::test]
    async fn queries_match_raw_or_decoded() {
        let s = Script::default();
        s.add(
            FaultRule::new(Fault::ServerError, "GET", "/Messages.json")
                .query_contains("DateSent>=2026-11-24"),
        )
        .expect("valid");
        let path = "/twilio/api/2010-04-01/Accounts/AC1/Messages.json";
        let hit = format!("{path}?DateSent%3E=2026-11-24T06%3A00%3A00Z&PageSize=1000");
        let miss = format!("{path}?DateSent%3E=2026-11-25T06%3A00%3A00Z&PageSize=1000");
        assert_eq!(fault_of(&s, "GET", &miss, "").await, None);
        assert_eq!(fault_of(&s, "GET", path, "").await, None, "no query");
        assert_eq!(
            fault_of(&s, "GET", &hit, "").await,
            Some(Fault::ServerError)
        );
        assert_eq!(s.list()[0].matched, 1);
        let raw = Script::default();
        raw.add(FaultRule::new(Fault::Reset, "GET", "").query_contains("PageSize=1000"))
            .expect("valid");
        assert_eq!(fault_of(&raw, "GET", &miss, "").await, Some(Fault::Reset));
        assert!(
            FaultRule::new(Fault::Hang, "GET", "")
                .query_contains("")
                .check()
                .is_err()
        );
    }

    #[tokio::test]
    async fn the_first_open_rule_applies_and_every_match_counts() {
        let s = Script::default();
        s.add(FaultRule::new(Fault::Unavailable, "GET", "/a").times(1))
            .expect("valid");
        s.add(FaultRule::new(Fault::Malformed, "GET", "/a").times(1))
            .expect("valid");
        assert_eq!(
            fault_of(&s, "GET", "/a", "").await,
            Some(Fault::Unavailable)
        );
        assert_eq!(fault_of(&s, "GET", "/a", "").await, Some(Fault::Malformed));
        assert_eq!(fault_of(&s, "GET", "/a", "").await, None);
        let counts: Vec<_> = s.list().iter().map(|r| (r.matched, r.fired)).collect();
        assert_eq!(counts, [(3, 1), (3, 1)]);
        assert_eq!(s.clear(), 2);
        assert!(s.list().is_empty());
    }

    #[test]
    fn rules_parse_from_json_and_bad_ones_are_refused() {
        let r: FaultRule = serde_json::from_str(
            r#"{"method":"POST","path_contains":"/Messages.json","kind":"server_error","skip":1,"times":1}"#,
        )
        .expect("parses");
        assert_eq!(
            r,
            FaultRule::new(Fault::ServerError, "POST", "/Messages.json")
                .skip(1)
                .times(1)
        );
        let any: FaultRule = serde_json::from_str(r#"{"kind":"hang"}"#).expect("parses");
        assert!(any.check().is_ok() && any.method.is_none() && any.times.is_none());
        for bad in [
            r#"{"kind":"explode"}"#,
            r#"{"method":"POST"}"#,
            r#"{"kind":"hang","skip":-1}"#,
            r#"{"kind":"hang","path":"/x"}"#,
            r#"[1]"#,
        ] {
            assert!(serde_json::from_str::<FaultRule>(bad).is_err(), "{bad}");
        }
        assert!(FaultRule::new(Fault::Hang, "PO ST", "").check().is_err());
        assert!(
            FaultRule::new(Fault::Hang, "GET", "")
                .times(0)
                .check()
                .is_err()
        );
        assert!(
            FaultRule::new(Fault::Hang, "GET", "")
                .body_contains("")
                .check()
                .is_err()
        );
    }
}
