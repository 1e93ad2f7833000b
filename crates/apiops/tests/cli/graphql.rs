//! `apiops graphql` as a user runs it against a loopback GraphQL endpoint (`[apis.gh] graphql =
//! URL`): a read, partial data shown beside its errors (exit 6) and kept for `apiops errors`,
//! `--all` through three pages of `pageInfo` streamed flat, a repeated cursor stopping the
//! listing, a mutation gated like any write (exit 5 without a yes, nothing sent; journaled
//! once with a stable idempotency key), bad input refused with exit 2 or 7 sending nothing, and
//! the bearer token never printed.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::util::{Sandbox, run};

const CANARY: &str = "canary_gh_token_0123456789abcdef";

/// One request the endpoint received.
#[derive(Clone)]
struct Request {
    body: Value,
    idempotency_key: Option<String>,
    authorization: Option<String>,
}

/// What the endpoint received, in order.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Request>>>);

impl Seen {
    fn len(&self) -> usize {
        self.all().len()
    }

    fn all(&self) -> Vec<Request> {
        self.0.lock().expect("lock").clone()
    }
}

/// Answers like a GraphQL server, by what the query asks for.
fn answer(body: &Value) -> Value {
    let query = body["query"].as_str().unwrap_or_default();
    let after = body["variables"]["after"].as_str();
    if query.contains("mutation") {
        return json!({"data": {"addStar": {"starred": body["variables"]["id"]}}});
    }
    if query.contains("broken") {
        return json!({
            "data": {"ok": true, "broken": null},
            "errors": [{"message": format!("field failed for token {CANARY}"), "path": ["broken"]}],
        });
    }
    if query.contains("flaky") {
        return match after {
            None => json!({
                "data": {"flaky": {"nodes": [{"n": 1}], "pageInfo": {"hasNextPage": true, "endCursor": "f1"}}},
                "errors": [{"message": "one item hidden", "path": ["flaky", "nodes", 1]}],
            }),
            _ => {
                json!({"data": {"flaky": {"nodes": [{"n": 2}], "pageInfo": {"hasNextPage": false, "endCursor": null}}}})
            }
        };
    }
    if query.contains("loop") {
        return json!({"data": {"loop": {"nodes": [{"n": 1}], "pageInfo": {"hasNextPage": true, "endCursor": "same"}}}});
    }
    if query.contains("repositories") {
        let conn = match after {
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
        return json!({"data": {"viewer": {"login": "octo", "repositories": conn}}});
    }
    json!({"data": {"viewer": {"login": "octo"}}})
}

fn server(rt: &tokio::runtime::Runtime) -> (String, Seen) {
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
                let reply = answer(&body);
                kept.0.lock().expect("lock").push(Request {
                    body,
                    idempotency_key: header("idempotency-key"),
                    authorization: header("authorization"),
                });
                async move { axum::Json(reply) }
            },
        ),
    );
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    rt.spawn(async move { axum::serve(listener, app).await });
    (base, seen)
}

fn sandbox(base: &str) -> Sandbox {
    let sb = Sandbox::new();
    let config = sb.write_config(&format!(
        "[database]\nurl = \"{}\"\n\n[apis.gh]\ngraphql = \"{base}/graphql\"\nauth = {{ bearer_env = \"GH_TOKEN\" }}\n\n[apis.rest]\nspec = \"rest.yaml\"\n",
        sb.sqlite_url("events.db")
    ));
    std::fs::write(
        config.parent().expect("dir").join("rest.yaml"),
        "openapi: 3.1.0\ninfo: {title: r, version: '1'}\nservers: [{url: 'http://127.0.0.1:9/'}]\npaths: {}\n",
    )
    .expect("write");
    sb
}

fn json_of(r: &super::util::Run) -> Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.all()))
}

#[test]
fn reads_partial_data_pages_and_gated_mutations() {
    let rt = super::util::runtime();
    let (base, seen) = server(&rt);
    let sb = sandbox(&base);
    let apiops = |args: &[&str]| run(sb.apiops().env("GH_TOKEN", CANARY).args(args));
    let mut outputs = Vec::new();

    // A read.
    let r = apiops(&["--json", "graphql", "gh", "--query", "{ viewer { login } }"]);
    assert_eq!(r.code, Some(0), "{}", r.all());
    let v = json_of(&r);
    assert_eq!(v["data"]["viewer"]["login"], "octo", "{v}");
    assert_eq!(v["partial"], false, "{v}");
    let auths: Vec<Option<String>> = seen.all().into_iter().map(|r| r.authorization).collect();
    assert_eq!(auths, vec![Some(format!("Bearer {CANARY}"))]);
    outputs.push(r.all());

    // Partial data beside its errors: exit 6, in both formats, the token masked.
    let r = apiops(&["--json", "graphql", "gh", "--query", "{ ok broken }"]);
    assert_eq!(r.code, Some(6), "{}", r.all());
    let v = json_of(&r);
    assert_eq!(v["data"]["ok"], true, "{v}");
    assert_eq!(v["partial"], true, "{v}");
    assert_eq!(v["errors"].as_array().map(Vec::len), Some(1), "{v}");
    outputs.push(r.all());
    let r = apiops(&["graphql", "gh", "--query", "{ ok broken }"]);
    assert_eq!(r.code, Some(6), "{}", r.all());
    assert!(
        r.stdout.contains("\"ok\": true")
            && r.stdout.contains("Partial data")
            && r.stdout.contains("field failed"),
        "{}",
        r.all()
    );
    outputs.push(r.all());
    // The errors are kept: `apiops errors gh` shows them.
    let r = apiops(&["--json", "errors", "gh", "--since", "1h"]);
    assert_eq!(r.code, Some(0), "{}", r.all());
    let v = json_of(&r);
    // (Two failures of one operation within a second may be kept as one.)
    assert!(v["total_events"].as_u64().is_some_and(|n| n >= 1), "{v}");
    assert!(v.to_string().contains("query (unnamed)"), "{v}");
    outputs.push(r.all());

    // --all: three pages (nodes, then edges), five flat JSON lines, the cursor fed to $after.
    let file = sb.root().join("repos.graphql");
    std::fs::write(
        &file,
        "# paged\nquery Repos($first: Int!, $after: String) {\n  viewer { login repositories(first: $first, after: $after) { nodes { name } edges { node { name } } pageInfo { hasNextPage endCursor } } }\n}\n",
    )
    .expect("write");
    let at_file = format!("@{}", file.display());
    let before = seen.len();
    let r = apiops(&[
        "graphql", "gh", "--query", &at_file, "--var", "first=2", "--all",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.all());
    let names: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line")["name"].clone())
        .collect();
    assert_eq!(names, vec!["r1", "r2", "r3", "r4", "r5"], "{}", r.stdout);
    let vars: Vec<Value> = seen.all()[before..]
        .iter()
        .map(|r| r.body["variables"].clone())
        .collect();
    assert_eq!(
        vars,
        vec![
            json!({"first": 2}),
            json!({"first": 2, "after": "c1"}),
            json!({"first": 2, "after": "c2"})
        ]
    );
    outputs.push(r.all());

    // Partial data on a page: its items stream, the errors go to stderr, exit 6.
    let r = apiops(&[
        "graphql",
        "gh",
        "--query",
        "query($after: String) { flaky(after: $after) { nodes { n } pageInfo { hasNextPage endCursor } } }",
        "--all",
    ]);
    assert_eq!(r.code, Some(6), "{}", r.all());
    assert_eq!(r.stdout, "{\"n\":1}\n{\"n\":2}\n", "{}", r.all());
    assert!(
        r.stderr.contains("one item hidden (at flaky.nodes.1)"),
        "{}",
        r.all()
    );
    outputs.push(r.all());

    // A server handing out the same cursor again: stopped, not looped.
    let before = seen.len();
    let r = apiops(&[
        "graphql",
        "gh",
        "--query",
        "query($cursor: String) { loop(after: $cursor) { nodes { n } pageInfo { hasNextPage endCursor } } }",
        "--all",
    ]);
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert!(r.stderr.contains("same next page"), "{}", r.all());
    assert_eq!(seen.len() - before, 2, "one repeat, then stop");
    assert_eq!(r.stdout.lines().count(), 2, "{}", r.stdout);
    outputs.push(r.all());

    // A mutation is a write: no yes, nothing sent (exit 5); --dry-run shows the plan.
    let mutation =
        "mutation Star($id: ID!) { addStar(input: {starrableId: $id}) { clientMutationId } }";
    let before = seen.len();
    let r = apiops(&["graphql", "gh", "--query", mutation, "--var", "id=R_1"]);
    assert_eq!(r.code, Some(5), "{}", r.all());
    let r = apiops(&[
        "--json",
        "graphql",
        "gh",
        "--query",
        mutation,
        "--var",
        "id=R_1",
        "--dry-run",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.all());
    let plan = json_of(&r);
    assert_eq!(plan["plan"]["operation"], "mutation Star", "{plan}");
    assert_eq!(plan["confirmed"], false, "{plan}");
    let key = plan["plan"]["idempotency"][1]
        .as_str()
        .expect("a key")
        .to_owned();
    assert_eq!(seen.len(), before, "nothing sent without a yes");
    outputs.push(r.all());
    // Confirmed: sent once with the plan's key; the same write again is not sent again.
    let r = apiops(&[
        "--json", "graphql", "gh", "--query", mutation, "--var", "id=R_1", "--yes",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert_eq!(
        json_of(&r)["answer"]["body"]["data"]["addStar"]["starred"],
        "R_1"
    );
    let r = apiops(&[
        "graphql", "gh", "--query", mutation, "--var", "id=R_1", "--yes",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(r.stdout.contains("not sent again"), "{}", r.all());
    assert_eq!(seen.len(), before + 1);
    assert_eq!(
        seen.all().last().and_then(|r| r.idempotency_key.clone()),
        Some(key)
    );
    outputs.push(r.all());

    for out in &outputs {
        assert!(!out.contains(CANARY), "the token leaked: {out}");
    }
}

#[test]
fn bad_input_is_refused_before_sending() {
    let rt = super::util::runtime();
    let (base, seen) = server(&rt);
    let sb = sandbox(&base);
    let apiops = |args: &[&str]| run(sb.apiops().env("GH_TOKEN", CANARY).args(args));
    let q = "query($first: Int) { viewer { login } }";
    let cases: [(&[&str], i32, &str); 9] = [
        (
            &["graphql", "gh", "--query", "@/nonexistent/q.graphql"],
            2,
            "--query @/nonexistent/q.graphql",
        ),
        (
            &["graphql", "gh", "--query", q, "--var", "novalue"],
            2,
            "KEY=VALUE",
        ),
        (
            &["graphql", "gh", "--query", q, "--var", "first=many"],
            2,
            "\"first\"",
        ),
        (
            &["graphql", "gh", "--query", q, "--var", "last=1"],
            2,
            "declares no $last",
        ),
        (&["graphql", "gh", "--query", q, "--all"], 2, "--cursor-var"),
        (
            &["graphql", "gh", "--query", "subscription { s }"],
            2,
            "subscription",
        ),
        (&["graphql", "gh", "--query", "{ unclosed"], 2, "not closed"),
        (
            &["graphql", "rest", "--query", q],
            2,
            "not a GraphQL endpoint",
        ),
        (&["graphql", "nope", "--query", q], 2, "no API \"nope\""),
    ];
    for (args, code, want) in cases {
        let r = apiops(args);
        assert_eq!(r.code, Some(code), "{args:?}: {}", r.all());
        assert!(r.stderr.contains(want), "{args:?}: {}", r.all());
        assert!(!r.all().contains(CANARY), "{}", r.all());
    }
    // Without the token: exit 8, naming the variable.
    let r = run(sb.apiops().args(["graphql", "gh", "--query", q]));
    assert_eq!(r.code, Some(8), "{}", r.all());
    assert!(r.stderr.contains("GH_TOKEN"), "{}", r.all());
    assert_eq!(seen.len(), 0, "nothing was sent");

    // An endpoint that is not an http(s) URL is a configuration error (exit 7).
    let bad = Sandbox::new();
    bad.write_config("[apis.gh]\ngraphql = \"ftp://example.com/graphql\"\n");
    let r = run(bad.apiops().args(["graphql", "gh", "--query", q]));
    assert_eq!(r.code, Some(7), "{}", r.all());
    assert!(r.stderr.contains("apis.gh.graphql"), "{}", r.all());
}
