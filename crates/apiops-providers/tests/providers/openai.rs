//! The OpenAI provider against the in-process simulator (and a server that answers malformed
//! JSON): health with rate-limit headroom and the admin key, wrong keys, the error scan
//! cross-checked against independent listings of batches and fine-tuning jobs, empty windows,
//! the audit's deprecated models and throttled project, 429s, injected faults, and no secret in
//! anything the provider returns.

use std::time::Duration;

use apiops_client::clock::ManualClock;
use apiops_core::{Category, ErrorEvent, HealthStatus};
use apiops_providers::openai::{OpenAi, OpenAiConfig};
use apiops_providers::{Provider, ProviderError, TimeWindow};
use apiops_sim::{RunningSim, SimConfig};
use jiff::SignedDuration;
use serde_json::Value;
use url::Url;

use crate::common::{
    anchor, assert_empty_windows_give_no_events, assert_malformed_json_is_a_clear_error,
    assert_no_secret, env, list_cursor_pages, month, rate_limited, scan, secret, side_effects,
    sim_config, start, tuning,
};
use crate::recorder::Recorder;

async fn sim(seed: u64) -> RunningSim {
    start(sim_config(seed, 10)).await
}

/// A client of the API at `base_url` with `key`.
fn config_at(base_url: &str, key: &str) -> OpenAiConfig {
    let mut c = OpenAiConfig::official(secret(key)).expect("config");
    c.base_url = Url::parse(base_url).expect("url");
    c.tuning = tuning();
    c
}

fn config(running: &RunningSim, key: &str, admin: Option<&str>) -> OpenAiConfig {
    let mut c = config_at(&env(running)["OPENAI_BASE_URL"], key);
    c.admin_key = admin.and_then(secret);
    c
}

fn openai(running: &RunningSim, with_admin: bool) -> OpenAi {
    let e = env(running);
    let admin = with_admin.then(|| e["OPENAI_ADMIN_KEY"].clone());
    OpenAi::new(config(running, &e["OPENAI_API_KEY"], admin.as_deref())).expect("openai")
}

fn secrets(running: &RunningSim) -> Vec<String> {
    let c = &running.sim.state().creds;
    vec![
        c.openai_api_key.clone(),
        c.openai_admin_key.clone(),
        c.openai_webhook_secret.clone(),
    ]
}

/// Every item of a list endpoint, paged with `after`, without apiops.
async fn list_all(running: &RunningSim, path: &str) -> Vec<Value> {
    let e = env(running);
    list_cursor_pages(
        &format!("{}{path}", e["OPENAI_BASE_URL"]),
        &e["OPENAI_API_KEY"],
        "after",
    )
    .await
}

fn within(t: i64, w: TimeWindow) -> bool {
    w.since.as_second() <= t && t < w.until.as_second()
}

/// (resource id, code) of every failure in `w`, computed from the raw listings.
async fn expected(running: &RunningSim, w: TimeWindow) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for b in list_all(running, "/batches").await {
        let created = b["created_at"].as_i64().expect("created_at");
        let (t, default) = match b["status"].as_str() {
            Some("failed") => (b["failed_at"].as_i64().unwrap_or(created), "batch_failed"),
            Some("expired") => (
                b["expired_at"]
                    .as_i64()
                    .or(b["expires_at"].as_i64())
                    .unwrap_or(created),
                "batch_expired",
            ),
            _ => continue,
        };
        if !within(t, w) {
            continue;
        }
        let id = b["id"].as_str().expect("id").to_owned();
        let mut codes: Vec<String> = Vec::new();
        for e in b["errors"]["data"].as_array().into_iter().flatten() {
            let code = e["code"].as_str().unwrap_or(default).to_owned();
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        if codes.is_empty() {
            codes.push(default.to_owned());
        }
        out.extend(codes.into_iter().map(|c| (id.clone(), c)));
    }
    for j in list_all(running, "/fine_tuning/jobs").await {
        if j["status"] != "failed" {
            continue;
        }
        let t = j["finished_at"]
            .as_i64()
            .unwrap_or(j["created_at"].as_i64().expect("created_at"));
        if within(t, w) {
            let code = j["error"]["code"].as_str().unwrap_or("fine_tuning_failed");
            out.push((j["id"].as_str().expect("id").to_owned(), code.to_owned()));
        }
    }
    out.sort();
    out
}

fn found(events: &[ErrorEvent]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = events
        .iter()
        .map(|e| (e.resource_id.clone(), e.error_code.clone()))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn openai_health_reports_models_headroom_and_admin_key() {
    let running = sim(51).await;
    let h = openai(&running, true).health().await;
    assert_eq!(h.status, HealthStatus::Operational, "{h:?}");
    assert!(h.latency_ms.is_some());
    let models = running.sim.state().openai.model_ids().len();
    assert_eq!(h.details["models"], models.to_string());
    assert!(
        h.details["requests_headroom"].contains("per minute left"),
        "{:?}",
        h.details
    );
    assert!(h.details.contains_key("tokens_headroom"), "{:?}", h.details);
    let deprecated = apiops_sim::openai::DEPRECATED_MODELS.len();
    assert!(
        h.details["deprecated_models_listed"].starts_with(&format!("{deprecated} (")),
        "{:?}",
        h.details
    );
    assert_eq!(h.details["admin_key"], "ok");
    assert_eq!(h.details["breaker"], "closed");
    assert_no_secret(&format!("{h:?}"), &secrets(&running));
    // Health never spends tokens.
    let stats = running.sim.state().stats.snapshot();
    assert!(!stats.requests.contains_key("openai.chat.create"));

    let without = openai(&running, false).health().await;
    assert_eq!(without.status, HealthStatus::Operational);
    assert_eq!(without.details["admin_key"], "not set");
}

#[tokio::test]
async fn openai_wrong_key_is_down_and_never_shows_the_key() {
    let running = sim(52).await;
    let wrong = "sk-wrong-0123456789abcdefWXYZ";
    let o = OpenAi::new(config(&running, wrong, None)).expect("openai");
    let h = o.health().await;
    assert_eq!(h.status, HealthStatus::Down);
    let reason = h.reason.clone().expect("reason");
    assert!(reason.contains("401 invalid_api_key"), "{reason}");
    let shown = format!("{h:?}");
    assert!(
        !shown.contains(wrong) && !shown.contains("sk-wron") && !shown.contains("WXYZ"),
        "{shown}"
    );
    let (items, _) = scan(&o, month()).await;
    assert_eq!(items.len(), 1);
    let err = items[0].as_ref().expect_err("an error").to_string();
    assert!(err.contains("401") && !err.contains(wrong), "{err}");
    let audit = o.audit().await.expect_err("audit fails").to_string();
    assert!(audit.contains("401") && !audit.contains(wrong), "{audit}");
}

#[tokio::test]
async fn openai_wrong_admin_key_degrades_and_is_not_shown() {
    let running = sim(53).await;
    let e = env(&running);
    let wrong_admin = "sk-admin-wrong-0123456789abcdef";
    let o = OpenAi::new(config(&running, &e["OPENAI_API_KEY"], Some(wrong_admin))).expect("openai");
    let h = o.health().await;
    assert_eq!(h.status, HealthStatus::Degraded, "{h:?}");
    assert_eq!(h.details["admin_key"], "rejected");
    let shown = format!("{h:?}");
    assert!(!shown.contains(wrong_admin), "{shown}");
    let findings = o
        .audit()
        .await
        .expect("the audit stands without the admin part");
    let admin = findings
        .iter()
        .find(|f| f.title.contains("could not be audited"))
        .expect("admin failure finding");
    assert_eq!(admin.category, Category::Auth);
    assert!(!format!("{findings:?}").contains(wrong_admin));
}

#[tokio::test]
async fn openai_errors_match_independent_listings() {
    let running = sim(54).await;
    let want = expected(&running, month()).await;
    assert!(
        want.iter().any(|(id, _)| id.starts_with("batch_")),
        "{want:?}"
    );
    assert!(
        want.iter().any(|(id, _)| id.starts_with("ftjob-")),
        "{want:?}"
    );
    let o = openai(&running, false);
    let (items, progress) = scan(&o, month()).await;
    let events: Vec<ErrorEvent> = items
        .into_iter()
        .map(|r| r.expect("no scan error"))
        .collect();
    assert_eq!(found(&events), want);
    let (pages, items_seen, matched) = progress.snapshot();
    assert_eq!(matched, events.len() as u64);
    assert!(pages >= 2 && items_seen > 0, "{pages} {items_seen}");
    for e in &events {
        let c = o.classify(&e.error_code, None);
        assert!(c.known, "unknown code {}", e.error_code);
        assert_eq!(e.category, c.category);
        assert!(month().since <= e.timestamp && e.timestamp < month().until);
        assert!(matches!(
            e.resource_type.as_str(),
            "batch" | "fine_tuning_job"
        ));
        assert_no_secret(&e.context, &secrets(&running));
    }
    assert!(events.iter().any(|e| e.error_code == "batch_expired"));

    // A week holds a subset, computed the same way.
    let week = TimeWindow {
        since: anchor() - SignedDuration::from_hours(7 * 24),
        until: anchor(),
    };
    let (items, _) = scan(&o, week).await;
    let events: Vec<ErrorEvent> = items
        .into_iter()
        .map(|r| r.expect("no scan error"))
        .collect();
    assert_eq!(found(&events), expected(&running, week).await);
}

#[tokio::test]
async fn openai_empty_windows_give_no_events() {
    let running = sim(55).await;
    assert_empty_windows_give_no_events(&openai(&running, false)).await;
}

#[tokio::test]
async fn openai_audit_finds_deprecated_models_and_the_throttled_project() {
    let running = sim(56).await;
    let findings = openai(&running, true).audit().await.expect("audit");
    for d in apiops_sim::openai::DEPRECATED_MODELS {
        assert!(
            findings
                .iter()
                .any(|f| f.resource_type == "model" && f.resource_id == d.id),
            "{} not flagged: {findings:#?}",
            d.id
        );
    }
    let limits: Vec<_> = findings
        .iter()
        .filter(|f| f.category == Category::RateLimit)
        .collect();
    assert_eq!(limits.len(), 1, "{limits:#?}");
    assert!(
        limits[0]
            .title
            .contains("'Support bot' limits gpt-4.1-mini to 3 requests"),
        "{}",
        limits[0].title
    );
    assert!(limits[0].resource_id.starts_with("proj_"));
    assert!(
        !findings
            .iter()
            .any(|f| f.title.contains("need OPENAI_ADMIN_KEY"))
    );
    let console: Vec<_> = findings.iter().filter(|f| f.console_only).collect();
    assert_eq!(console.len(), 1);
    assert!(
        console[0]
            .remediation
            .contains("OpenAI Console at https://platform.openai.com/settings")
    );
    assert_no_secret(&format!("{findings:?}"), &secrets(&running));
    let stats = running.sim.state().stats.snapshot();
    assert!(stats.side_effects.is_empty(), "{:?}", stats.side_effects);
}

#[tokio::test]
async fn openai_audit_without_admin_key_says_what_it_would_add() {
    let running = sim(57).await;
    let findings = openai(&running, false).audit().await.expect("audit");
    assert!(
        findings
            .iter()
            .any(|f| f.title.contains("need OPENAI_ADMIN_KEY"))
    );
    assert!(!findings.iter().any(|f| f.resource_type == "project"));
    assert!(findings.iter().any(|f| f.resource_type == "model"));
    let stats = running.sim.state().stats.snapshot();
    assert!(!stats.requests.contains_key("openai.projects.list"));
}

#[tokio::test]
async fn openai_429_is_a_clear_error() {
    let running = start(SimConfig {
        openai_rpm: Some(2),
        ..sim_config(58, 10)
    })
    .await;
    // A first client uses the minute's two requests; a second one, unaware, is refused. The
    // second one's time is a manual clock: its rate gate's pause after the 429 is recorded, not
    // waited out, so the simulator's minute cannot end in between.
    let (first, _) = scan(&openai(&running, false), month()).await;
    assert!(first.iter().all(Result::is_ok));
    let (manual, clock) = ManualClock::new();
    let mut c = config(&running, &env(&running)["OPENAI_API_KEY"], None);
    c.tuning.clock = clock;
    let (second, _) = scan(&OpenAi::new(c).expect("openai"), month()).await;
    // The gate paused for the Retry-After the 429 named (whole seconds, under the minute).
    assert!(
        manual.sleeps().iter().any(|d| *d >= Duration::from_secs(1)),
        "{:?}",
        manual.sleeps()
    );
    // Each list is a window of its own: both are named unread, each with the 429.
    assert_eq!(second.len(), 2, "{second:?}");
    for item in &second {
        let text = item.as_ref().expect_err("rate limited").to_string();
        assert!(
            text.contains("429") && text.contains("rate_limit_exceeded"),
            "{text}"
        );
        assert_no_secret(&text, &secrets(&running));
    }
    assert!(rate_limited(&running, "openai") >= 1);
}

#[tokio::test]
async fn openai_injected_faults_complete_or_fail_clearly() {
    let running = start(SimConfig {
        fault_rate: 0.2,
        ..sim_config(59, 10)
    })
    .await;
    // The planted failures, listed from a twin without faults: same seed, same data.
    let twin = sim(59).await;
    let want = expected(&twin, month()).await;
    twin.stop().await;
    assert!(!want.is_empty(), "the simulator plants failures");
    let o = openai(&running, true);
    let s = secrets(&running);
    let mut completed = 0;
    for _ in 0..8 {
        let h = o.health().await;
        assert_no_secret(&format!("{h:?}"), &s);
        if h.status != HealthStatus::Operational {
            assert!(h.reason.is_some());
        }
        let (items, _) = scan(&o, month()).await;
        let events: Vec<ErrorEvent> = items
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .cloned()
            .collect();
        let got = found(&events);
        assert!(
            got.iter().all(|g| want.contains(g)),
            "only planted failures: {got:?} of {want:?}"
        );
        // A list that fails is one error (its window unread); the other list is still read.
        if items.iter().any(Result::is_err) {
            for e in items.iter().filter_map(|r| r.as_ref().err()) {
                let text = e.to_string();
                assert!(!text.is_empty());
                assert_no_secret(&text, &s);
            }
        } else {
            assert_eq!(got, want, "a complete run finds every planted failure");
            completed += 1;
        }
        match o.audit().await {
            Ok(findings) => assert_no_secret(&format!("{findings:?}"), &s),
            Err(e) => assert_no_secret(&e.to_string(), &s),
        }
        if completed > 0 {
            break;
        }
    }
    assert!(completed > 0, "no run completed through the faults");
}

#[tokio::test]
async fn openai_malformed_json_is_a_clear_error_not_a_panic() {
    let server = Recorder::start(200, r#"{"object": "list", "data": [{"id": "batch_trunc"#).await;
    let key = "sk-malformed-0123456789abcdef";
    let o = OpenAi::new(config_at(&format!("{}/v1", server.base), key)).expect("openai");
    assert_malformed_json_is_a_clear_error(&o, month(), 2, &[key]).await;
}

#[tokio::test]
async fn openai_missing_credentials_are_named() {
    let c = OpenAiConfig::official(None).expect("config");
    match OpenAi::new(c) {
        Err(e @ ProviderError::MissingCredentials { .. }) => {
            assert_eq!(
                e.to_string(),
                "OpenAI credentials missing: set OPENAI_API_KEY"
            );
        }
        other => panic!("expected missing credentials, got {other:?}"),
    }
}

// ---- operations: test completion, headroom, tool calling ----

use apiops_client::ClientError;
use apiops_providers::openai::client::api_error;
use serde_json::json;

fn chat_count(running: &RunningSim) -> u64 {
    side_effects(running, "openai.chat.create")
}

#[tokio::test]
async fn openai_test_completion_returns_usage_and_headroom() {
    let running = start(SimConfig {
        openai_rpm: Some(50),
        ..sim_config(60, 10)
    })
    .await;
    let o = openai(&running, false);
    let c = o.client();

    // Free: GET /models carries the headers.
    let before = c.rate_limit_headroom().await.expect("headroom");
    assert!(before.is_known());
    assert_eq!(before.limit_requests, Some(50));
    assert_eq!(before.remaining_requests, Some(49));
    assert!(
        before
            .reset_requests
            .is_some_and(|d| d <= Duration::from_secs(60))
    );
    assert!(before.limit_tokens.is_some() && before.remaining_tokens.is_some());
    assert!(before.reset_tokens.is_some());
    assert_eq!(chat_count(&running), 0, "headroom costs no tokens");

    let check = c.test_completion("gpt-4o-mini").await.expect("completion");
    assert!(check.id.starts_with("chatcmpl-"), "{check:?}");
    assert_eq!(check.model, "gpt-4o-mini");
    assert!(check.usage.prompt_tokens > 0);
    assert!(
        (1..=5).contains(&check.usage.completion_tokens),
        "{check:?}"
    );
    assert_eq!(
        check.usage.total_tokens,
        check.usage.prompt_tokens + check.usage.completion_tokens
    );
    assert_eq!(check.finish_reason.as_deref(), Some("length"));
    assert_eq!(check.headroom.limit_requests, Some(50));
    assert_eq!(check.headroom.remaining_requests, Some(48));
    assert!(check.headroom.token_share().is_some());

    // A reasoning model takes max_completion_tokens (it would refuse max_tokens).
    let reasoning = c.test_completion("o3").await.expect("o3");
    assert_eq!(reasoning.model, "o3");
    assert_eq!(chat_count(&running), 2);

    let unknown = c.test_completion("gpt-9").await.expect_err("unknown model");
    assert_eq!(unknown.status(), Some(404));
    assert_eq!(
        api_error(&unknown).and_then(|e| e.code).as_deref(),
        Some("model_not_found")
    );
    assert!(matches!(
        c.test_completion(" ").await,
        Err(ClientError::InvalidRequest(_))
    ));
    assert_no_secret(&unknown.to_string(), &secrets(&running));
    running.stop().await;
}

fn planner_tools() -> Value {
    json!([{
        "type": "function",
        "function": {
            "name": "buy_phone_number",
            "description": "Buy a local phone number in an area code",
            "parameters": {
                "type": "object",
                "properties": {"area_code": {"type": "integer"}},
                "required": ["area_code"]
            }
        }
    }])
}

fn planner_messages() -> Value {
    json!([
        {"role": "system", "content": "You map operator requests to apiops operations."},
        {"role": "user", "content": "buy a phone number in area code 415"}
    ])
}

#[tokio::test]
async fn openai_chat_with_tools_returns_the_raw_answer() {
    let running = sim(61).await;
    let o = openai(&running, false);
    let answer = o
        .client()
        .chat_with_tools("gpt-4o-mini", planner_messages(), planner_tools())
        .await
        .expect("chat");
    assert_eq!(answer["object"], "chat.completion");
    assert_eq!(answer["model"], "gpt-4o-mini");
    let message = &answer["choices"][0]["message"];
    assert_eq!(message["role"], "assistant");
    // When the simulator answers with tool calls, they name an offered tool.
    if let Some(calls) = message["tool_calls"].as_array() {
        for call in calls {
            assert_eq!(call["function"]["name"], "buy_phone_number", "{answer}");
            let args: Value =
                serde_json::from_str(call["function"]["arguments"].as_str().expect("arguments"))
                    .expect("arguments are JSON");
            assert!(args.is_object(), "{answer}");
        }
    }
    assert!(
        answer["usage"]["total_tokens"]
            .as_u64()
            .is_some_and(|t| t > 0)
    );
    for (messages, tools) in [
        (json!("buy"), planner_tools()),
        (json!([]), planner_tools()),
        (planner_messages(), json!({"type": "function"})),
    ] {
        assert!(matches!(
            o.client()
                .chat_with_tools("gpt-4o-mini", messages, tools)
                .await,
            Err(ClientError::InvalidRequest(_))
        ));
    }
    assert_eq!(chat_count(&running), 1, "refused inputs are never sent");
    running.stop().await;
}

#[tokio::test]
async fn openai_completions_send_the_spec_fields_on_the_wire() {
    let canned = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": null,
            "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "buy_phone_number", "arguments": "{\"area_code\": 415}"}}]}}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}
    });
    let server = Recorder::start(200, &canned.to_string()).await;
    let o = OpenAi::new(config_at(
        &format!("{}/v1", server.base),
        "sk-test-0123456789abcdefWXYZ",
    ))
    .expect("openai");

    let answer = o
        .client()
        .chat_with_tools("gpt-4o-mini", planner_messages(), planner_tools())
        .await
        .expect("chat");
    assert_eq!(answer, canned, "returned verbatim");
    let check = o
        .client()
        .test_completion("gpt-4o-mini")
        .await
        .expect("check");
    assert_eq!(check.usage.total_tokens, 25);
    assert!(
        !check.headroom.is_known(),
        "this server sends no x-ratelimit headers"
    );

    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(
            (s.method.as_str(), s.target.as_str()),
            ("POST", "/v1/chat/completions")
        );
        assert_eq!(s.header("content-type"), Some("application/json"));
    }
    let tools_body: Value = serde_json::from_str(&seen[0].body).expect("json");
    assert_eq!(
        tools_body,
        json!({
            "model": "gpt-4o-mini",
            "messages": planner_messages(),
            "tools": planner_tools(),
            "tool_choice": "auto",
        })
    );
    let check_body: Value = serde_json::from_str(&seen[1].body).expect("json");
    assert_eq!(
        check_body,
        json!({
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "ping"}],
            "max_completion_tokens": 5,
        })
    );
}
