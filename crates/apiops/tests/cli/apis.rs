//! `apiops api ...` and `apiops call` as a user runs them: a YAML document beside the config
//! file, operations listed and searched, a read and `--all` against a loopback server, writes
//! refused without a yes (exit 5) and shown with `--dry-run`, bad input refused with exit 2 and
//! a bad document with exit 7 — none of them sending a request — a missing credential variable
//! named (exit 8), and the credential never printed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::util::{Sandbox, run};

const CANARY: &str = "canary_pets_key_0123456789";

const PETS: &str = r#"openapi: 3.1.0
info: {title: Pets, version: "2"}
servers: [{url: "https://pets.example/v1"}]
paths:
  /pets:
    get:
      operationId: pets/list
      summary: List the pets
      parameters:
        - {name: starting_after, in: query, schema: {type: string}}
        - {name: limit, in: query, schema: {type: integer, maximum: 100}}
      responses: {"200": {description: ok}}
    post:
      operationId: pets/create
      summary: Create a pet
      parameters: [{name: Idempotency-Key, in: header, schema: {type: string}}]
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, required: [name], properties: {name: {type: string}}}}}
      responses: {"201": {description: created}}
  /pets/{id}:
    delete:
      operationId: pets/delete
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses: {"204": {description: gone}}
"#;

/// A loopback server paging 5 pets by twos, and creating pets; counts the requests it gets
/// and keeps the idempotency keys of the creations.
fn server(rt: &tokio::runtime::Runtime) -> (String, Arc<AtomicUsize>, Keys) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let keys = Keys::default();
    let seen = keys.clone();
    let created = hits.clone();
    let app = axum::Router::new().route(
        "/pets",
        axum::routing::get(
            move |axum::extract::Query(q): axum::extract::Query<
                std::collections::HashMap<String, String>,
            >| {
                counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    let after: usize = q
                        .get("starting_after")
                        .and_then(|s| s.strip_prefix("pet_"))
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    let end = (after + 2).min(5);
                    let data: Vec<serde_json::Value> = (after + 1..=end)
                        .map(|i| serde_json::json!({"id": format!("pet_{i}")}))
                        .collect();
                    axum::Json(serde_json::json!({"data": data, "has_more": end < 5}))
                }
            },
        )
        .post(move |headers: axum::http::HeaderMap| {
            created.fetch_add(1, Ordering::SeqCst);
            let key = headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            seen.0.lock().expect("lock").push(key);
            async move {
                (
                    axum::http::StatusCode::CREATED,
                    axum::Json(serde_json::json!({"id": "pet_new"})),
                )
            }
        }),
    );
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    rt.spawn(async move { axum::serve(listener, app).await });
    (base, hits, keys)
}

/// The idempotency keys the server saw, in order.
#[derive(Clone, Default)]
struct Keys(Arc<std::sync::Mutex<Vec<String>>>);

fn sandbox(base: &str) -> Sandbox {
    let sb = Sandbox::new();
    let config = sb.write_config(&format!(
        "[apis.pets]\nspec = \"specs/pets.yaml\"\nbase_url = \"{base}\"\nauth = {{ header = {{ name = \"X-Api-Key\", env = \"PETS_KEY\" }} }}\n\n[apis.broken]\nspec = \"specs/broken.yaml\"\n"
    ));
    let specs = config.parent().expect("dir").join("specs");
    std::fs::create_dir_all(&specs).expect("mkdir");
    std::fs::write(specs.join("pets.yaml"), PETS).expect("write");
    std::fs::write(
        specs.join("broken.yaml"),
        "openapi: 3.0.3\ninfo: {title: b, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n    A: {$ref: '#/components/schemas/A'}\n",
    )
    .expect("write");
    sb
}

#[test]
fn reads_page_and_writes_wait_for_a_yes() {
    let rt = super::util::runtime();
    let (base, hits, _) = server(&rt);
    let sb = sandbox(&base);
    let apiops = |args: &[&str]| run(sb.apiops().env("PETS_KEY", CANARY).args(args));

    let r = apiops(&["api", "ops", "pets", "list"]);
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(
        r.stdout.contains("pets/list") && !r.stdout.contains("pets/create"),
        "{}",
        r.stdout
    );
    let r = apiops(&["call", "pets", "pets/list", "--all"]);
    assert_eq!(r.code, Some(0), "{}", r.all());
    let ids: Vec<String> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json line")["id"].to_string())
        .collect();
    assert_eq!(ids.len(), 5, "{}", r.stdout);
    assert_eq!(hits.load(Ordering::SeqCst), 3);

    // Nothing below reaches the server.
    let before = hits.load(Ordering::SeqCst);
    let refused: [(&[&str], i32); 6] = [
        (
            &["call", "pets", "pets/create", "--body", r#"{"name":"Rex"}"#],
            5,
        ),
        (&["call", "pets", "pets/delete", "-p", "id=3"], 5),
        (&["call", "pets", "pets/lst"], 2),
        (&["call", "pets", "pets/list", "-p", "limit=lots"], 2),
        (
            &[
                "call",
                "pets",
                "pets/create",
                "--body",
                r#"{"nom":"Rex"}"#,
                "--yes",
            ],
            2,
        ),
        (&["call", "broken", "x"], 7),
    ];
    for (args, code) in refused {
        let r = apiops(args);
        assert_eq!(r.code, Some(code), "{args:?}: {}", r.all());
        assert!(!r.all().contains(CANARY), "{}", r.all());
    }
    let r = apiops(&["call", "pets", "pets/delete", "-p", "id=3"]);
    r.assert_stderr_has("only a person");
    let r = apiops(&["call", "broken", "x"]);
    assert!(
        r.stderr.contains("$ref cycle") && r.stderr.contains("broken.yaml"),
        "{}",
        r.stderr
    );
    let r = apiops(&[
        "--json",
        "call",
        "pets",
        "pets/create",
        "--body",
        r#"{"name":"Rex"}"#,
        "--dry-run",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.all());
    let plan: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(plan["plan"]["idempotency"][0], "Idempotency-Key");
    assert_eq!(hits.load(Ordering::SeqCst), before);
}

#[test]
fn credentials_come_from_the_named_variable_and_are_never_printed() {
    let sb = sandbox("http://127.0.0.1:9");
    let r = run(sb.apiops().args(["call", "pets", "pets/list"]));
    assert_eq!(r.code, Some(8), "{}", r.all());
    r.assert_stderr_has("PETS_KEY");
    // Listing the operations reads the document only: no credentials needed.
    let r = run(sb.apiops().args(["api", "ops", "pets"]));
    assert_eq!(r.code, Some(0), "{}", r.all());
    r.assert_stdout_has("pets/list");
    for args in [
        &["creds"][..],
        &["config", "show"],
        &["--json", "config", "show"],
        &["api", "list"],
    ] {
        let r = run(sb.apiops().env("PETS_KEY", CANARY).args(args));
        assert_eq!(r.code, Some(0), "{args:?}: {}", r.all());
        assert!(!r.all().contains(CANARY), "{args:?}: {}", r.all());
    }
    // `apiops health NAME` checks a configured API (nothing listens on port 9: down, exit 4).
    let r = run(sb.apiops().env("PETS_KEY", CANARY).args(["health", "pets"]));
    assert_eq!(r.code, Some(4), "{}", r.all());
    assert!(r.stdout.contains("pets: down (pets/list"), "{}", r.stdout);
    let r = run(sb.apiops().args(["health", "bogus"]));
    assert_eq!(r.code, Some(2), "{}", r.all());
    r.assert_stderr_has("twilio, openai, stripe, broken, pets");
    let r = run(sb.apiops().env("PETS_KEY", CANARY).args(["creds"]));
    assert!(
        r.stdout.contains("api pets") && r.stdout.contains("cana...6789"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_confirmed_write_is_journaled_sent_once_and_again_only_with_new() {
    let rt = super::util::runtime();
    let (base, hits, keys) = server(&rt);
    let sb = sandbox(&base);
    let create = |extra: &[&str]| {
        let mut args = vec![
            "call",
            "pets",
            "pets/create",
            "--body",
            r#"{"name":"Rex"}"#,
            "--yes",
        ];
        args.extend_from_slice(extra);
        run(sb.apiops().env("PETS_KEY", CANARY).args(&args))
    };
    let r = create(&[]);
    assert_eq!(r.code, Some(0), "{}", r.all());
    r.assert_stdout_has("Sent: HTTP 201");
    let r = create(&[]);
    assert_eq!(r.code, Some(0), "{}", r.all());
    r.assert_stdout_has("Not sent");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "the same write is sent once"
    );
    let r = create(&["--new"]);
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    let keys = keys.0.lock().expect("lock").clone();
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().all(|k| k.starts_with("apiops-")), "{keys:?}");
    assert_ne!(keys[0], keys[1], "--new is a new key");
}

#[test]
fn a_recorded_cassette_replays_with_no_network() {
    let rt = super::util::runtime();
    let (base, hits, _) = server(&rt);
    let sb = sandbox(&base);
    let cassette = sb.root().join("pets.cassette.json");
    let cassette_arg = cassette.to_str().expect("utf-8 path");
    let list = |flag: &str| {
        run(sb.apiops().env("PETS_KEY", CANARY).args([
            "call",
            "pets",
            "pets/list",
            "--all",
            flag,
            cassette_arg,
        ]))
    };
    let recorded = list("--record");
    assert_eq!(recorded.code, Some(0), "{}", recorded.all());
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    let text = std::fs::read_to_string(&cassette).expect("cassette written");
    assert!(
        !text.contains(CANARY),
        "the key is redacted in the cassette"
    );
    let replayed = list("--replay");
    assert_eq!(replayed.code, Some(0), "{}", replayed.all());
    assert_eq!(replayed.stdout, recorded.stdout);
    assert_eq!(hits.load(Ordering::SeqCst), 3, "the replay used no network");

    // Without the key: the replay needs none, the network call still names it (exit 8).
    let without = |flag: Option<&str>| {
        let mut args = vec!["call", "pets", "pets/list", "--all"];
        args.extend(flag.map(|f| [f, cassette_arg]).into_iter().flatten());
        run(sb.apiops().args(args))
    };
    let replayed = without(Some("--replay"));
    assert_eq!(replayed.code, Some(0), "{}", replayed.all());
    assert_eq!(replayed.stdout, recorded.stdout);
    let live = without(None);
    assert_eq!(live.code, Some(8), "{}", live.all());
    live.assert_stderr_has("PETS_KEY");
    assert_eq!(hits.load(Ordering::SeqCst), 3, "neither was sent");
}

/// An OAuth2 API recorded once (its token fetched from the token endpoint), then replayed with
/// the token URL pointing at a canary endpoint: the replay answers from the cassette and fetches
/// no token — neither endpoint is contacted.
#[test]
fn a_replay_fetches_no_oauth2_token() {
    let rt = super::util::runtime();
    let (base, hits, _) = server(&rt);
    let tokens = Arc::new(AtomicUsize::new(0));
    let canary = Arc::new(AtomicUsize::new(0));
    let (t, c) = (tokens.clone(), canary.clone());
    let app = axum::Router::new()
        .route(
            "/oauth/token",
            axum::routing::post(move || {
                t.fetch_add(1, Ordering::SeqCst);
                async {
                    axum::Json(serde_json::json!({"access_token": "tok_0123456789abcdef", "token_type": "Bearer", "expires_in": 3600}))
                }
            }),
        )
        .route(
            "/canary/token",
            axum::routing::post(move || {
                c.fetch_add(1, Ordering::SeqCst);
                async { axum::http::StatusCode::INTERNAL_SERVER_ERROR }
            }),
        );
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let auth_base = format!("http://{}", listener.local_addr().expect("addr"));
    rt.spawn(async move { axum::serve(listener, app).await });
    let sandbox_for = |token_path: &str| {
        let sb = Sandbox::new();
        let config = sb.write_config(&format!(
            "[apis.pets]\nspec = \"specs/pets.yaml\"\nbase_url = \"{base}\"\nauth = {{ oauth2 = {{ token_url = \"{auth_base}{token_path}\", client_id_env = \"PETS_ID\", client_secret_env = \"PETS_SECRET\" }} }}\n"
        ));
        let specs = config.parent().expect("dir").join("specs");
        std::fs::create_dir_all(&specs).expect("mkdir");
        std::fs::write(specs.join("pets.yaml"), PETS).expect("write");
        sb
    };
    let recording = sandbox_for("/oauth/token");
    let replaying = sandbox_for("/canary/token");
    let cassette = recording.root().join("pets.cassette.json");
    let cassette_arg = cassette.to_str().expect("utf-8 path");
    let list = |sb: &Sandbox, flag: &str| {
        run(sb
            .apiops()
            .env("PETS_ID", "client_id_0123")
            .env("PETS_SECRET", CANARY)
            .args(["call", "pets", "pets/list", "--all", flag, cassette_arg]))
    };
    let recorded = list(&recording, "--record");
    assert_eq!(recorded.code, Some(0), "{}", recorded.all());
    assert_eq!(
        tokens.load(Ordering::SeqCst),
        1,
        "the recording fetched one token"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    let text = std::fs::read_to_string(&cassette).expect("cassette written");
    assert!(
        !text.contains("tok_0123456789abcdef"),
        "the token is redacted"
    );
    assert!(!text.contains(CANARY), "the secret is redacted");

    let replayed = list(&replaying, "--replay");
    assert_eq!(replayed.code, Some(0), "{}", replayed.all());
    assert_eq!(replayed.stdout, recorded.stdout);
    assert_eq!(
        canary.load(Ordering::SeqCst),
        0,
        "the replay asked for no token"
    );
    assert_eq!(tokens.load(Ordering::SeqCst), 1);
    assert_eq!(hits.load(Ordering::SeqCst), 3, "the replay used no network");

    // Neither the client id nor the secret is needed to replay.
    let bare = run(replaying.apiops().args([
        "call",
        "pets",
        "pets/list",
        "--all",
        "--replay",
        cassette_arg,
    ]));
    assert_eq!(bare.code, Some(0), "{}", bare.all());
    assert_eq!(bare.stdout, recorded.stdout);
    assert_eq!(canary.load(Ordering::SeqCst), 0);
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}
