//! The Pending confirmations page with a configured API's write waiting (what `call_api`
//! records over MCP HTTP): shown masked with who asked, decided once with its CSRF token, and
//! never sent from here (the agent's `execute_plan` sends it); where agents hold the
//! dashboard's token, never decided here at all.

use apiops_openapi::request::Body;
use apiops_openapi::{OpClass, PreparedRequest, WritePlan};
use apiops_ops::pending::ApiWrite;

use super::*;

const PASSWORD: &str = "hunter2hunter2hunter2";

/// A write to the `mail` API creating a key, its body holding a password and [`CANARY`].
fn record() -> String {
    let plan = WritePlan {
        api: "mail".into(),
        operation: "keys/create".into(),
        summary: "Create a key".into(),
        class: OpClass::Write,
        request: PreparedRequest {
            method: "POST".into(),
            path: "/keys".into(),
            query: vec![("team".into(), "ops".into())],
            headers: vec![("Idempotency-Key".into(), "idem_0123".into())],
            body: Some(Body::Json(serde_json::json!({
                "name": "ci <b>bot</b>",
                "password": PASSWORD,
                "note": format!("rotate {CANARY}"),
            }))),
        },
        idempotency: Some(("Idempotency-Key".into(), "idem_0123".into())),
        needs_person: false,
        deprecated: false,
        plan_id: "p".into(),
        graphql: false,
    };
    ApiWrite::new(
        plan,
        &apiops_client::redact::Redactor::default(),
        "mcp-session-7",
    )
    .to_json()
}

#[tokio::test]
async fn an_api_write_is_shown_masked_and_a_yes_only_records_it_for_the_agent() {
    let a = app(open()).await;
    let c = http();
    let id = put(a.store.as_ref(), &record(), 10, 600).await;
    let refused_id = put(a.store.as_ref(), &record(), 10, 600).await;
    let html = a.page(&c, "/confirmations").await;
    let s = section(&html, &id);
    for want in [
        "<code>POST /keys</code> on <code>mail</code>",
        "<code>keys/create</code>",
        "team=ops",
        "hunt...ter2",
        "Idempotency-Key: idem_0123",
        "mcp-session-7",
        "touches credentials",
        "Confirm: the agent may send it",
        &html_escaped("ci <b>bot</b>"),
    ] {
        assert!(s.contains(want), "{want} in {s}");
    }
    assert!(!html.contains(PASSWORD), "{html}");
    assert!(!html.contains(CANARY), "{html}");
    assert!(!s.contains("Unreadable plan"), "{s}");

    // Another plan's token decides nothing.
    let other = a.dashboard.csrf.token(&refused_id);
    let (status, _) = post(&c, &a, &id, &[("csrf", &other), ("decision", "confirm")]).await;
    assert_eq!(status, 403);
    assert_eq!(
        state_of(a.store.as_ref(), &id).await.state,
        ConfirmationState::Pending
    );

    let token = a.dashboard.csrf.token(&id);
    let (status, body) = post(&c, &a, &id, &[("csrf", &token), ("decision", "confirm")]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("execute_plan sends it now, once"), "{body}");
    let decided = state_of(a.store.as_ref(), &id).await;
    assert_eq!(
        (decided.state, decided.decided_by.as_deref()),
        (ConfirmationState::Confirmed, Some("dashboard"))
    );
    // Decided once: a second yes (another tab) is a 409.
    let (status, _) = post(&c, &a, &id, &[("csrf", &token), ("decision", "confirm")]).await;
    assert_eq!(status, 409);

    let (status, _) = post(
        &c,
        &a,
        &refused_id,
        &[("csrf", &other), ("decision", "refuse")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        state_of(a.store.as_ref(), &refused_id).await.state,
        ConfirmationState::Refused
    );
    let html = a.page(&c, "/confirmations").await;
    assert!(html.contains("Nothing waits for confirmation."), "{html}");
}

#[tokio::test]
async fn where_agents_hold_the_token_an_api_write_is_never_decided_here() {
    let a = app_with(guarded(), apiops_config::test_loaded(&[]), false).await;
    let c = http();
    let id = put(a.store.as_ref(), &record(), 10, 600).await;
    let token = a.dashboard.csrf.token(&id);
    // The agent's own loopback tricks change nothing: the page refuses before reading the form.
    for (name, value) in [("host", "127.0.0.1:8080"), ("x-forwarded-for", "127.0.0.1")] {
        let r = a
            .post_to(&c, &id)
            .bearer_auth(TOKEN)
            .header(name, value)
            .form(&[("csrf", token.as_str()), ("decision", "confirm")])
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 403, "{name}");
    }
    assert_eq!(
        state_of(a.store.as_ref(), &id).await.state,
        ConfirmationState::Pending
    );
}
