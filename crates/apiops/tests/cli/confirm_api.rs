//! `apiops confirm` with a configured API's write waiting (what `call_api` records over MCP
//! HTTP): listed and shown masked with who asked; without a terminal nor `--yes` nothing is
//! decided (exit 5); `--yes` records the person's yes (the agent's `execute_plan` sends it),
//! `--refuse` a no; an expired one cannot be confirmed.

use apiops_openapi::request::Body;
use apiops_openapi::{OpClass, PreparedRequest, WritePlan};
use apiops_ops::pending::ApiWrite;
use apiops_store::{Confirmation, ConfirmationState, Store};

use super::util::{Sandbox, block, run};

const PASSWORD: &str = "hunter2hunter2hunter2";

/// The record of a pet's creation asked by MCP session `mcp-9`.
fn record() -> String {
    let plan = WritePlan {
        api: "pets".into(),
        operation: "pets/create".into(),
        summary: "Create a pet".into(),
        class: OpClass::Write,
        request: PreparedRequest {
            method: "POST".into(),
            path: "/pets".into(),
            query: Vec::new(),
            headers: vec![("Idempotency-Key".into(), "idem_42".into())],
            body: Some(Body::Json(
                serde_json::json!({"name": "Rex", "password": PASSWORD}),
            )),
        },
        idempotency: Some(("Idempotency-Key".into(), "idem_42".into())),
        needs_person: false,
        deprecated: false,
        plan_id: "p".into(),
        graphql: false,
    };
    ApiWrite::new(plan, &apiops_client::redact::Redactor::default(), "mcp-9").to_json()
}

/// Puts the record under a new id, expiring in `expires_in` seconds.
fn put(store: &dyn Store, expires_in: i64) -> String {
    let w: ApiWrite = serde_json::from_str(&record()).expect("record");
    let id = apiops_ops::ids::plan_id();
    let now = jiff::Timestamp::now();
    let c = Confirmation {
        id: id.clone(),
        session: "mcp-9".into(),
        plan_json: record(),
        summary: w.summary(),
        created_at: now,
        expires_at: now + jiff::SignedDuration::from_secs(expires_in),
        state: ConfirmationState::Pending,
        decided_by: None,
        decided_at: None,
    };
    assert!(block(store.confirmation_put(&c)).expect("put"));
    id
}

#[test]
fn an_api_write_is_confirmed_or_refused_by_a_person_and_sent_by_the_agent() {
    let sb = Sandbox::new();
    let db = sb.sqlite_url("c.db");
    let store = block(apiops_store::open(&db)).expect("store");
    let yes = put(store.as_ref(), 600);
    let no = put(store.as_ref(), 600);
    let late = put(store.as_ref(), -1);
    let apiops = |args: &[&str]| run(sb.apiops().env("APIOPS_DATABASE_URL", &db).args(args));

    let r = apiops(&["confirm"]);
    assert_eq!(r.code, Some(0), "{}", r.all());
    for id in [&yes, &no] {
        r.assert_stdout_has(id);
    }
    assert!(!r.stdout.contains(&late), "an expired one is not listed");
    r.assert_stdout_has("pets: POST /pets (pets/create)");
    r.assert_stdout_has("Asked by MCP session mcp-9");

    // No terminal, no --yes: shown, not decided.
    let r = apiops(&["confirm", &yes, "--json"]);
    assert_eq!(r.code, Some(5), "{}", r.all());
    let shown: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(shown["method"], "POST", "{shown:#}");
    assert_eq!(shown["state"], "pending", "{shown:#}");
    assert!(
        shown["body"].as_str().unwrap_or("").contains("hunt...ter2"),
        "{shown:#}"
    );
    let state = |id: &str| block(store.confirmation(id)).expect("read").expect("kept");
    assert_eq!(state(&yes).state, ConfirmationState::Pending);

    let r = apiops(&["confirm", &yes, "--yes"]);
    assert_eq!(r.code, Some(0), "{}", r.all());
    r.assert_stdout_has("execute_plan sends it now, once");
    r.assert_stdout_has("asked by MCP session mcp-9");
    let c = state(&yes);
    assert_eq!(
        (c.state, c.decided_by.as_deref()),
        (ConfirmationState::Confirmed, Some("terminal"))
    );
    // Asked again: it says so, and decides nothing anew.
    let r = apiops(&["confirm", &yes]);
    assert_eq!(r.code, Some(0), "{}", r.all());
    r.assert_stderr_has("was confirmed by terminal");

    let r = apiops(&["confirm", &no, "--refuse"]);
    assert_eq!(r.code, Some(5), "{}", r.all());
    assert_eq!(state(&no).state, ConfirmationState::Refused);
    let r = apiops(&["confirm", &no, "--yes"]);
    assert_eq!(r.code, Some(5), "{}", r.all());
    r.assert_stderr_has("it will not be sent");
    assert_eq!(state(&no).state, ConfirmationState::Refused);

    let r = apiops(&["confirm", &late, "--yes"]);
    assert_eq!(r.code, Some(2), "{}", r.all());
    r.assert_stderr_has("expired");
    assert_eq!(state(&late).state, ConfirmationState::Pending);

    for r in [apiops(&["confirm"]), apiops(&["confirm", &yes, "--json"])] {
        assert!(!r.all().contains(PASSWORD), "{}", r.all());
    }
}
