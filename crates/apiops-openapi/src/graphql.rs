//! A GraphQL endpoint configured as `[apis.NAME] graphql = URL`, called through the same
//! [`Api`] (and so the same resilient client: auth, retries, breaker, redaction, cassettes) as
//! an OpenAPI-described API:
//!
//! - [`Document::parse`] reads what the query text says before anything is sent: one
//!   operation (`query`, `mutation`; a subscription is refused), its name, its variable
//!   definitions. No schema is needed and none is fetched.
//! - [`Document::variables`] types each `--var k=v` by the variable's declared type (`Int`,
//!   `Float`, `Boolean`, `String`/`ID`, lists and input objects as JSON); an undeclared or
//!   mistyped variable is refused, naming it.
//! - [`Api::graphql`] sends a query and reads the answer by GraphQL's rules: `data` with
//!   `errors[]` is partial data shown beside its errors ([`GraphQlAnswer::failure`] is what the
//!   event log keeps); errors without data are a failure.
//! - [`Api::graphql_plan`]: a mutation is a write, planned (stable plan id and idempotency key)
//!   and confirmed like any other; [`Api::execute`] reads its answer the same way.
//! - [`Api::graphql_each_node`]: cursor paging through `pageInfo { hasNextPage endCursor }`,
//!   one page in memory at a time, the connection found in the answer ([`connection`]).

use std::collections::HashSet;

use apiops_client::ClientError;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::api::{Api, WritePlan};
use crate::error::{CallError, PagingError};
use crate::index::{OpClass, Operation, PagingHint};
use crate::request::{Body, PreparedRequest};
use crate::spec::Spec;

mod document;

pub use document::{Document, GqlKind, VarDef};

/// The answer to a query: its data, and the errors that came with it (partial data).
#[derive(Debug, Clone, Serialize)]
pub struct GraphQlAnswer {
    /// `data`.
    pub data: Value,
    /// `errors[]`, empty when the query succeeded whole.
    pub errors: Vec<Value>,
    /// The errors' messages with their paths, redacted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<String>,
    /// How long the call took, retries included.
    pub latency_ms: u64,
}

impl GraphQlAnswer {
    /// True when `data` came with errors.
    pub fn partial(&self) -> bool {
        !self.errors.is_empty()
    }

    /// The errors as the failure the event log keeps (`None` when there are none).
    pub fn failure(&self) -> Option<CallError> {
        failure_of(&self.messages, &self.errors)
    }
}

fn failure_of(messages: &[String], errors: &[Value]) -> Option<CallError> {
    (!errors.is_empty()).then(|| {
        CallError::from_client(ClientError::GraphQl {
            messages: messages.to_vec(),
            errors: Value::Array(errors.to_vec()),
            data: None,
        })
    })
}

/// What a paged query went through.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Paged {
    /// Items handed over.
    pub items: u64,
    /// Pages read.
    pub pages: u64,
    /// The messages of errors that came with partial data on some page.
    pub messages: Vec<String>,
    /// Those errors.
    pub errors: Vec<Value>,
    /// The reader of the items asked to stop ([`PagingError::Stopped`]) before the last page.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stopped: bool,
}

impl Paged {
    /// The errors that came with partial data, as the failure the event log keeps.
    pub fn failure(&self) -> Option<CallError> {
        failure_of(&self.messages, &self.errors)
    }
}

/// What [`Api::health`] asks a GraphQL endpoint: the cheapest query every schema answers.
pub const HEALTH_QUERY: &str = "query { __typename }";

/// The most errors a paged query keeps.
const MAX_KEPT_ERRORS: usize = 100;

/// The most pages a paged query follows.
const MAX_PAGES: u64 = 1_000_000;

/// The connection in `data`: the object under the field `named` (at any depth) that has a
/// `pageInfo`, else the first object with a `pageInfo` (depth first, fields in name order).
pub fn connection<'a>(data: &'a Value, named: Option<&str>) -> Option<&'a Map<String, Value>> {
    let mut at = data;
    for step in connection_path(data, named)? {
        at = match step {
            PathStep::Key(k) => at.get(&k)?,
            PathStep::Index(i) => at.get(i)?,
        };
    }
    at.as_object()
}

/// [`connection`], mutable.
fn connection_mut<'a>(
    data: &'a mut Value,
    named: Option<&str>,
) -> Option<&'a mut Map<String, Value>> {
    let mut at = data;
    for step in connection_path(at, named)? {
        at = match step {
            PathStep::Key(k) => at.get_mut(&k)?,
            PathStep::Index(i) => at.get_mut(i)?,
        };
    }
    at.as_object_mut()
}

enum PathStep {
    Key(String),
    Index(usize),
}

/// The steps from `data` to its connection.
fn connection_path(data: &Value, named: Option<&str>) -> Option<Vec<PathStep>> {
    fn walk(v: &Value, named: Option<&str>, here: bool, out: &mut Vec<PathStep>) -> bool {
        match v {
            Value::Object(m) => {
                if here && m.get("pageInfo").is_some_and(Value::is_object) {
                    return true;
                }
                for (k, c) in m {
                    out.push(PathStep::Key(k.clone()));
                    if walk(c, named, named.is_none_or(|n| n == k), out) {
                        return true;
                    }
                    out.pop();
                }
                false
            }
            Value::Array(items) => {
                for (i, c) in items.iter().enumerate() {
                    out.push(PathStep::Index(i));
                    if walk(c, named, here && named.is_none(), out) {
                        return true;
                    }
                    out.pop();
                }
                false
            }
            _ => false,
        }
    }
    let mut steps = Vec::new();
    walk(data, named, named.is_none(), &mut steps).then_some(steps)
}

/// The items of a connection (`nodes`, else each `edges[].node`) and its next cursor (when
/// `pageInfo.hasNextPage` is true).
fn page_of(conn: &mut Map<String, Value>) -> (Vec<Value>, Option<String>) {
    let items = match conn.remove("nodes") {
        Some(Value::Array(nodes)) => nodes,
        _ => match conn.remove("edges") {
            Some(Value::Array(edges)) => edges
                .into_iter()
                .map(|mut e| e.get_mut("node").map(Value::take).unwrap_or(e))
                .collect(),
            _ => Vec::new(),
        },
    };
    let info = conn.get("pageInfo");
    let more = info
        .and_then(|i| i.get("hasNextPage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let cursor = info
        .and_then(|i| i.get("endCursor"))
        .and_then(Value::as_str)
        .filter(|_| more)
        .map(str::to_owned);
    (items, cursor)
}

/// A document with no operations: what an [`Api`] over a GraphQL endpoint indexes.
fn empty_spec() -> Result<Spec, CallError> {
    Spec::parse(
        br#"{"openapi":"3.1.0","info":{"title":"GraphQL endpoint","version":"graphql"},"paths":{}}"#,
        "graphql",
        1024,
    )
    .map_err(|e| CallError::Config(e.to_string()))
}

impl Api {
    /// An API over the GraphQL endpoint `endpoint` (`config.base_url` defaults to it). POSTs
    /// carry an idempotency key (the configured header, else `Idempotency-Key`), so a query may
    /// be retried like a read and a mutation's key is its plan's.
    pub fn graphql_endpoint(
        mut config: crate::ApiConfig,
        endpoint: &str,
        tune: impl FnOnce(apiops_client::ClientBuilder) -> Result<apiops_client::ClientBuilder, String>,
    ) -> Result<Api, CallError> {
        config.base_url.get_or_insert_with(|| endpoint.to_owned());
        config
            .idempotency_header
            .get_or_insert_with(|| crate::index::IDEMPOTENCY_KEY.to_owned());
        let mut api = Api::new(config, empty_spec()?, tune)?;
        api.graphql = Some(endpoint.to_owned());
        Ok(api)
    }

    /// The GraphQL endpoint, when this API is one.
    pub fn graphql_url(&self) -> Option<&str> {
        self.graphql.as_deref()
    }

    /// What fails a health answer of a GraphQL endpoint: its `errors[]` (with `true` when
    /// data came beside them), or a body that is no GraphQL answer.
    pub(crate) fn graphql_health_failure(
        &self,
        body: Value,
        endpoint: &str,
    ) -> Option<(CallError, bool)> {
        match self.read_graphql(body, endpoint) {
            Ok((_, errors, messages)) => failure_of(&messages, &errors).map(|e| (e, true)),
            Err(e) => Some((e, false)),
        }
    }

    /// The request of `query` with `variables` to `endpoint`; nothing is sent.
    pub fn graphql_request(
        endpoint: &str,
        query: &str,
        variables: Map<String, Value>,
    ) -> PreparedRequest {
        let mut body = json!({ "query": query });
        if !variables.is_empty() {
            body["variables"] = Value::Object(variables);
        }
        PreparedRequest {
            method: "POST".to_owned(),
            path: endpoint.to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Some(Body::Json(body)),
        }
    }

    /// Sends a query and reads its answer: partial data comes back with its errors; errors
    /// without data are a failure.
    pub async fn graphql(&self, req: &PreparedRequest) -> Result<GraphQlAnswer, CallError> {
        let answer = self.send(req).await?;
        let (data, errors, messages) = self.read_graphql(answer.body, &req.path)?;
        Ok(GraphQlAnswer {
            data,
            errors,
            messages,
            latency_ms: answer.latency_ms,
        })
    }

    /// `(data, errors, messages)` of a GraphQL answer's body.
    pub(crate) fn read_graphql(
        &self,
        body: Value,
        endpoint: &str,
    ) -> Result<(Value, Vec<Value>, Vec<String>), CallError> {
        let target = self
            .client()
            .url(endpoint)
            .map(|u| apiops_client::redact::display_target(&u))
            .unwrap_or_default();
        match apiops_client::graphql::interpret(body, &target) {
            Ok(data) => Ok((data, Vec::new(), Vec::new())),
            Err(ClientError::GraphQl {
                messages,
                errors,
                data,
            }) => {
                let redactor = self.client().redactor();
                let messages: Vec<String> = messages
                    .iter()
                    .map(|m| redactor.redact(m).into_owned())
                    .collect();
                // The errors are shown and kept: no secret the API echoes goes with them.
                let errors = serde_json::from_str(&redactor.redact(&errors.to_string()))
                    .unwrap_or(Value::Null);
                match data {
                    Some(data) => Ok((
                        data,
                        errors.as_array().cloned().unwrap_or_default(),
                        messages,
                    )),
                    None => Err(CallError::from_client(ClientError::GraphQl {
                        messages,
                        errors,
                        data: None,
                    })),
                }
            }
            Err(e) => Err(CallError::Client(e)),
        }
    }

    /// Plans a mutation: the operation is `mutation NAME`, the idempotency key derives from the
    /// API and the request (`fresh` salts it for a deliberate repeat).
    pub fn graphql_plan(
        &self,
        doc: &Document,
        req: PreparedRequest,
        fresh: Option<&str>,
    ) -> WritePlan {
        let op = Operation {
            id: doc.label(),
            method: "POST".to_owned(),
            path: req.path.clone(),
            summary: format!("GraphQL {}", doc.label()),
            tags: Vec::new(),
            class: OpClass::Write,
            parameters: Vec::new(),
            body: None,
            paging: PagingHint::default(),
            deprecated: false,
            idempotency_header: Some(self.idempotency_header().to_owned()),
            pointer: String::new(),
        };
        let mut plan = self.plan(&op, req, fresh);
        plan.graphql = true;
        plan
    }

    /// Follows `pageInfo` through every page of a query, handing each node to `on_item` as it
    /// comes: `cursor_var` takes each `endCursor`; the connection is the one under the field
    /// `connection`, else the first found. Stops when `hasNextPage` is false, when `on_item`
    /// answers [`PagingError::Stopped`] (then [`Paged::stopped`]), and with an error when the
    /// server hands out a cursor it already handed out.
    pub async fn graphql_each_node<F>(
        &self,
        req: PreparedRequest,
        cursor_var: &str,
        connection_name: Option<&str>,
        on_item: &mut F,
    ) -> Result<Paged, CallError>
    where
        // Generic so the future is `Send` when the reader is (a server task's).
        F: FnMut(Value) -> Result<(), CallError> + ?Sized,
    {
        let mut req = req;
        let mut seen: HashSet<String> = HashSet::new();
        let mut paged = Paged::default();
        while paged.pages < MAX_PAGES {
            let answer = self.send(&req).await?;
            let (mut data, errors, messages) = self.read_graphql(answer.body, &req.path)?;
            paged.pages += 1;
            // Kept up to a cap: a listing with errors on every page stays flat in memory.
            let room = MAX_KEPT_ERRORS.saturating_sub(paged.errors.len());
            paged.errors.extend(errors.into_iter().take(room));
            paged.messages.extend(messages.into_iter().take(room));
            let conn = connection_mut(&mut data, connection_name).ok_or_else(|| {
                CallError::Paging(PagingError::NoConnection(connection_name.map_or_else(
                    || "no object with a pageInfo in the answer".to_owned(),
                    |n| format!("no field {n} with a pageInfo in the answer"),
                )))
            })?;
            let (items, next) = page_of(conn);
            drop(data);
            for item in items {
                match on_item(item) {
                    Ok(()) => paged.items += 1,
                    // What was read so far, its errors included, is the reader's to keep.
                    Err(CallError::Paging(PagingError::Stopped)) => {
                        paged.stopped = true;
                        return Ok(paged);
                    }
                    Err(e) => return Err(e),
                }
            }
            let Some(cursor) = next else {
                return Ok(paged);
            };
            if !seen.insert(cursor.clone()) {
                return Err(CallError::Paging(PagingError::Repeated(format!(
                    "{cursor_var}={cursor}"
                ))));
            }
            if let Some(Body::Json(body)) = &mut req.body {
                body["variables"][cursor_var] = Value::String(cursor);
            }
        }
        Ok(paged)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_the_operation_table() {
        let cases: [(&str, GqlKind, Option<&str>, &[&str]); 6] = [
            ("{ viewer { login } }", GqlKind::Query, None, &[]),
            (
                "# a comment with mutation in it\nquery Repos($first: Int = 10, $after: String) { viewer { repositories(first: $first, after: $after) { nodes { name } } } }",
                GqlKind::Query,
                Some("Repos"),
                &["first:Int", "after:String"],
            ),
            (
                "mutation Star($id: ID!) @x(a: \"mutation\") { addStar(input: {starrableId: $id}) { clientMutationId } }",
                GqlKind::Mutation,
                Some("Star"),
                &["id:ID!"],
            ),
            (
                "query Q($ids: [ID!]! = [\"a\"], $f: Filter = {a: [1]}) { n } fragment F on T { x }",
                GqlKind::Query,
                Some("Q"),
                &["ids:[ID!]!", "f:Filter"],
            ),
            (
                "fragment F on T { x } mutation { m(s: \"\"\"block \" text\"\"\") { ...F } }",
                GqlKind::Mutation,
                None,
                &[],
            ),
            ("query { a(b: \"}\") }", GqlKind::Query, None, &[]),
        ];
        for (text, kind, name, vars) in cases {
            let doc = Document::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(doc.kind, kind, "{text}");
            assert_eq!(doc.name.as_deref(), name, "{text}");
            let got: Vec<String> = doc
                .variables
                .iter()
                .map(|v| format!("{}:{}", v.name, v.ty))
                .collect();
            assert_eq!(got, vars, "{text}");
        }
    }

    #[test]
    fn refuses_what_it_cannot_send_table() {
        let cases = [
            ("", "no query"),
            ("subscription { s }", "subscription"),
            ("query A { a } query B { b }", "more than one"),
            ("query { a", "not closed"),
            ("query ($a Int) { a }", "$name: Type"),
            ("{ a(s: \"open) }", "string"),
            ("SELECT * FROM users", "expected query"),
            ("query Q", "selection set"),
        ];
        for (text, want) in cases {
            match Document::parse(text) {
                Err(e @ CallError::Body { .. }) => {
                    assert!(e.to_string().contains(want), "{text:?}: {e}");
                    assert!(e.is_usage());
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn types_variables_by_their_declarations() {
        let doc = Document::parse(
            "query($n: Int!, $x: Float, $b: Boolean, $s: String, $id: ID, $l: [Int], $o: In, $e: Order) { a }",
        )
        .expect("parses");
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let got = doc
            .variables(&pairs(&[
                ("n", "3"),
                ("x", "1.5"),
                ("b", "true"),
                ("s", "42"),
                ("$id", "abc"),
                ("l", "[1,2]"),
                ("o", "{\"a\":1}"),
                ("e", "DESC"),
            ]))
            .expect("typed");
        assert_eq!(
            Value::Object(got),
            json!({"n": 3, "x": 1.5, "b": true, "s": "42", "id": "abc", "l": [1, 2], "o": {"a": 1}, "e": "DESC"})
        );
        for (k, v, want) in [
            ("n", "three", "32-bit integer"),
            ("n", "9999999999", "32-bit integer"),
            ("b", "yes", "true or false"),
            ("l", "1", "JSON list"),
            ("o", "{oops", "JSON"),
            ("nope", "1", "declares no $nope"),
        ] {
            match doc.variables(&pairs(&[(k, v)])) {
                Err(e @ CallError::Param { .. }) => {
                    assert!(e.to_string().contains(want), "{k}={v}: {e}")
                }
                other => panic!("{k}={v}: {other:?}"),
            }
        }
    }

    #[test]
    fn checks_json_variables_against_their_declarations() {
        let doc = Document::parse(
            "query($n: Int!, $x: Float, $b: Boolean, $s: String, $id: ID, $l: [Int!], $o: In, $e: Order) { a }",
        )
        .expect("parses");
        let given = json!({"n": 3, "x": 1.5, "b": true, "s": "42", "$id": 7, "l": [1, 2], "o": {"a": 1}, "e": "DESC"});
        let got = doc
            .json_variables(given.as_object().expect("object"))
            .expect("fits");
        assert_eq!(
            Value::Object(got),
            json!({"n": 3, "x": 1.5, "b": true, "s": "42", "id": 7, "l": [1, 2], "o": {"a": 1}, "e": "DESC"})
        );
        for (given, want) in [
            (json!({"n": "3"}), "32-bit integer"),
            (json!({"n": 1.5}), "32-bit integer"),
            (json!({"n": 9_999_999_999_i64}), "32-bit integer"),
            (json!({"n": null}), "non-null"),
            (json!({"b": "true"}), "true or false"),
            (json!({"s": 42}), "a string"),
            (json!({"id": true}), "a string or an integer"),
            (json!({"l": 1}), "JSON list"),
            (json!({"l": [1, null]}), "items are each a value"),
            (json!({"nope": 1}), "declares no $nope"),
        ] {
            match doc.json_variables(given.as_object().expect("object")) {
                Err(e @ CallError::Param { .. }) => {
                    assert!(e.to_string().contains(want), "{given}: {e}");
                    assert!(e.is_usage());
                }
                other => panic!("{given}: {other:?}"),
            }
        }
        let nullable = json!({"x": null, "l": null});
        assert!(
            doc.json_variables(nullable.as_object().expect("object"))
                .is_ok()
        );
    }

    #[test]
    fn finds_the_cursor_variable() {
        let of = |q: &str, named: Option<&str>| {
            Document::parse(q)
                .expect("parses")
                .cursor_var(named)
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            of("query($first: Int, $after: String) { a }", None),
            Ok("after".into())
        );
        assert_eq!(
            of("query($pageCursor: String) { a }", None),
            Ok("pageCursor".into())
        );
        assert_eq!(of("query($c: String) { a }", Some("$c")), Ok("c".into()));
        assert!(of("query($first: Int) { a }", None).is_err_and(|e| e.contains("--cursor-var")));
        assert!(
            of("query($aCursor: String, $bCursor: String) { a }", None)
                .is_err_and(|e| e.contains("more than one"))
        );
        assert!(
            of("query($c: String) { a }", Some("d")).is_err_and(|e| e.contains("does not declare"))
        );
    }

    #[test]
    fn finds_the_connection_and_its_items() {
        let data = json!({"viewer": {"login": "x", "repos": {"edges": [{"node": {"n": 1}}, {"node": {"n": 2}}],
            "pageInfo": {"hasNextPage": true, "endCursor": "c2"}}},
            "other": {"nodes": [{"o": 1}], "pageInfo": {"hasNextPage": false, "endCursor": "z"}}});
        assert!(
            connection(&data, None).is_some_and(|c| c.contains_key("nodes")),
            "other sorts first"
        );
        assert!(connection(&data, Some("repos")).is_some_and(|c| c.contains_key("edges")));
        assert!(connection(&data, Some("missing")).is_none());
        let mut d = data.clone();
        let conn = connection_mut(&mut d, Some("repos")).expect("found");
        assert_eq!(
            page_of(conn),
            (
                vec![json!({"n": 1}), json!({"n": 2})],
                Some("c2".to_owned())
            )
        );
        let mut d = data;
        let conn = connection_mut(&mut d, None).expect("found");
        assert_eq!(
            page_of(conn),
            (vec![json!({"o": 1})], None),
            "no next page: no cursor"
        );
    }
}
