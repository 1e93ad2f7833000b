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

/// `--record` then `--replay`: a query, partial data beside its errors (the token the server
/// echoes in them redacted) and a three-page `--all`, recorded against the endpoint; the
/// endpoint's runtime is then dropped (its listener closed) and the replay answers the same
/// from the cassette alone. The cassette never holds the token.
#[test]
fn a_recorded_cassette_replays_with_the_endpoint_gone() {
    let rt = super::util::runtime();
    let (base, seen) = server(&rt);
    let sb = sandbox(&base);
    let apiops = |args: &[&str]| run(sb.apiops().env("GH_TOKEN", CANARY).args(args));
    // One cassette a run: recording starts a cassette anew.
    let cassettes: Vec<String> = (0..3)
        .map(|i| {
            sb.root()
                .join(format!("gh{i}.cassette.json"))
                .display()
                .to_string()
        })
        .collect();
    let paged = "query($after: String) { viewer { repositories(first: 2, after: $after) { nodes { name } pageInfo { hasNextPage endCursor } } } }";
    let runs: [(&[&str], i32); 3] = [
        (
            &["--json", "graphql", "gh", "--query", "{ viewer { login } }"],
            0,
        ),
        (&["--json", "graphql", "gh", "--query", "{ ok broken }"], 6),
        (&["graphql", "gh", "--query", paged, "--all"], 0),
    ];
    let mut recorded = Vec::new();
    for ((args, code), cassette) in runs.iter().zip(&cassettes) {
        let r = apiops(&[*args, &["--record", cassette]].concat());
        assert_eq!(r.code, Some(*code), "{args:?}: {}", r.all());
        recorded.push(r.stdout);
    }
    assert_eq!(seen.len(), 5, "1 + 1 + 3 pages recorded");
    let texts: Vec<String> = cassettes
        .iter()
        .map(|c| std::fs::read_to_string(c).expect("the cassette is written"))
        .collect();
    for text in &texts {
        assert!(
            !text.contains(CANARY),
            "the token reached the cassette: {text}"
        );
        assert!(!text.contains(&base), "the host is a placeholder: {text}");
    }
    assert!(
        texts[1].contains("field failed"),
        "the errors are recorded: {}",
        texts[1]
    );
    assert_eq!(
        texts[2].matches("\"request\"").count(),
        3,
        "three pages: {}",
        texts[2]
    );

    drop(rt);
    let refused = std::net::TcpStream::connect(base.trim_start_matches("http://"));
    assert!(refused.is_err(), "the endpoint is gone");
    for (((args, code), want), cassette) in runs.iter().zip(&recorded).zip(&cassettes) {
        let r = apiops(&[*args, &["--replay", cassette]].concat());
        assert_eq!(r.code, Some(*code), "{args:?}: {}", r.all());
        // The same output but the time taken.
        let timeless = |out: &str| -> Vec<String> {
            out.lines()
                .filter(|l| !l.contains("\"latency_ms\""))
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(timeless(&r.stdout), timeless(want), "{args:?}");
        assert!(!r.all().contains(CANARY), "{}", r.all());
    }
    let cassette = cassettes[0].as_str();
    // A query the cassette never saw is a clear miss, not a request.
    let r = apiops(&[
        "graphql",
        "gh",
        "--query",
        "{ viewer { id } }",
        "--replay",
        cassette,
    ]);
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert!(r.stderr.contains("cassette"), "{}", r.all());
    // Recording and replaying at once is refused.
    let r = apiops(&[
        "graphql", "gh", "--query", "{ a }", "--record", cassette, "--replay", cassette,
    ]);
    assert_eq!(r.code, Some(2), "{}", r.all());
}

/// `apiops api health NAME` for GraphQL endpoints on a loopback stub: `query { __typename }`
/// with the token; ok with the rate-limit headroom from the headers (exit 0); a 401 and an
/// `errors[]` answer down with the auth category (exit 4), kept for `apiops errors`; a rate
/// limit said in `errors[]` degraded (exit 3). The token never shows.
#[test]
fn graphql_health_reads_status_headroom_and_errors() {
    let rt = super::util::runtime();
    let seen = Seen::default();
    let kept = seen.clone();
    let app = axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: axum::http::HeaderMap, axum::Json(body): axum::Json<Value>| {
            kept.0.lock().expect("lock").push(Request {
                body,
                idempotency_key: None,
                authorization: headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
            });
            let typename = axum::Json(json!({"data": {"__typename": "Query"}}));
            let reply = match uri.path() {
                "/ok" => (
                    axum::http::StatusCode::OK,
                    [("x-ratelimit-limit", "5000"), ("x-ratelimit-remaining", "4999")],
                    typename,
                ),
                "/denied" => (
                    axum::http::StatusCode::UNAUTHORIZED,
                    [("x-ratelimit-limit", "60"), ("x-ratelimit-remaining", "59")],
                    axum::Json(json!({"message": format!("Bad credentials: {CANARY}")})),
                ),
                "/errors" => (
                    axum::http::StatusCode::OK,
                    [("x-ratelimit-limit", "5000"), ("x-ratelimit-remaining", "4000")],
                    axum::Json(json!({"data": null, "errors": [{"message": "This endpoint requires you to be authenticated.", "extensions": {"code": "UNAUTHENTICATED"}}]})),
                ),
                _ => (
                    axum::http::StatusCode::OK,
                    [("x-ratelimit-limit", "5000"), ("x-ratelimit-remaining", "0")],
                    axum::Json(json!({"data": null, "errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user"}]})),
                ),
            };
            async move { reply }
        },
    );
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    rt.spawn(async move { axum::serve(listener, app).await });
    let sb = Sandbox::new();
    let mut config = format!("[database]\nurl = \"{}\"\n", sb.sqlite_url("events.db"));
    for name in ["ok", "denied", "errors", "limited"] {
        config.push_str(&format!(
            "\n[apis.{name}]\ngraphql = \"{base}/{name}\"\nauth = {{ bearer_env = \"GH_TOKEN\" }}\n"
        ));
    }
    sb.write_config(&config);
    let apiops = |args: &[&str]| run(sb.apiops().env("GH_TOKEN", CANARY).args(args));

    // name, exit, status, category
    let cases = [
        ("ok", 0, "ok", None),
        ("denied", 4, "down", Some("auth")),
        ("errors", 4, "down", Some("auth")),
        ("limited", 3, "degraded", Some("rate_limit")),
    ];
    for (name, code, status, category) in cases {
        let r = apiops(&["--json", "api", "health", name]);
        assert_eq!(r.code, Some(code), "{name}: {}", r.all());
        let v = json_of(&r);
        assert_eq!(v["status"], status, "{name}: {v}");
        assert_eq!(v["operation"], "query { __typename }", "{name}: {v}");
        assert!(v["latency_ms"].is_u64(), "{name}: {v}");
        assert_eq!(v["error"].is_string(), category.is_some(), "{name}: {v}");
        assert!(
            !r.all().contains(CANARY),
            "{name}: the token leaked: {}",
            r.all()
        );
        if let Some(category) = category {
            let r = apiops(&["--json", "errors", name, "--since", "1h"]);
            assert_eq!(r.code, Some(0), "{}", r.all());
            assert!(r.stdout.contains(category), "{name}: {}", r.stdout);
            assert!(!r.all().contains(CANARY), "{}", r.all());
        }
    }
    let r = apiops(&["--json", "api", "health", "ok"]);
    let v = json_of(&r);
    assert_eq!(v["http_status"], 200, "{v}");
    assert_eq!(
        (&v["headroom"]["limit"], &v["headroom"]["remaining"]),
        (&json!(5000), &json!(4999)),
        "{v}"
    );
    let r = apiops(&["--json", "api", "health", "denied"]);
    assert_eq!(json_of(&r)["http_status"], 401);
    // The human form says the same.
    let r = apiops(&["api", "health", "limited"]);
    assert_eq!(r.code, Some(3), "{}", r.all());
    assert!(r.stdout.contains("degraded"), "{}", r.all());
    for req in seen.all() {
        assert_eq!(req.body, json!({"query": "query { __typename }"}));
        assert_eq!(req.authorization, Some(format!("Bearer {CANARY}")));
    }
}
