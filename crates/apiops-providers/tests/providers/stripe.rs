//! The Stripe provider against the in-process simulator (and a server that answers malformed
//! JSON): health, wrong keys, the error scan cross-checked against an independent listing of
//! every event, undelivered events, sub-window boundaries, empty windows, the audit's planted
//! endpoint problems, 429 storms, injected faults, and no secret or personal data in anything
//! the provider returns.

use std::collections::BTreeMap;

use apiops_core::{Category, ErrorEvent, EventResult, HealthStatus, Severity};
use apiops_providers::stripe::{FAILURE_EVENT_TYPES, Stripe, StripeConfig};
use apiops_providers::{Provider, ProviderError, TimeWindow};
use apiops_sim::{RunningSim, SimConfig};
use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use secrecy::SecretString;
use serde_json::Value;
use url::Url;

use crate::common::{
    anchor, assert_empty_windows_give_no_events, assert_malformed_json_is_a_clear_error,
    assert_no_secret, env, list_cursor_pages, month, page, rate_limited, scan, secret,
    side_effects, sim_config, start, tuning,
};
use crate::recorder::Recorder;

/// A simulator whose Stripe rate limit is out of the way (tests of 429s set their own).
async fn sim(seed: u64) -> RunningSim {
    start(SimConfig {
        stripe_rate: 1_000,
        ..sim_config(seed, 10)
    })
    .await
}

/// A client of the API at `api_url` with `key`.
fn config_at(api_url: &str, key: &str) -> StripeConfig {
    let mut c = StripeConfig::official(secret(key)).expect("config");
    c.api_url = Url::parse(api_url).expect("url");
    c.tuning = tuning();
    c
}

fn config(running: &RunningSim, key: &str, requests_per_second: u32) -> StripeConfig {
    let mut c = config_at(&env(running)["APIOPS_STRIPE_API_URL"], key);
    c.requests_per_second = requests_per_second;
    c
}

fn stripe(running: &RunningSim) -> Stripe {
    let key = env(running)["STRIPE_SECRET_KEY"].clone();
    Stripe::new(config(running, &key, 200)).expect("stripe")
}

fn all_ok(items: Vec<Result<ErrorEvent, ProviderError>>) -> Vec<ErrorEvent> {
    items
        .into_iter()
        .map(|r| r.expect("no scan error"))
        .collect()
}

/// Every event of the account, listed page by page without apiops.
async fn list_all_events(running: &RunningSim) -> Vec<Value> {
    let e = env(running);
    list_cursor_pages(
        &format!("{}/v1/events", e["APIOPS_STRIPE_API_URL"]),
        &e["STRIPE_SECRET_KEY"],
        "starting_after",
    )
    .await
}

fn in_window(v: &Value, w: TimeWindow) -> bool {
    let t = v["created"].as_i64().expect("created");
    w.since.as_second() <= t && t < w.until.as_second()
}

/// (object ids of failure events, ids of undelivered events) in `w`, from the raw listing.
fn expected(all: &[Value], w: TimeWindow) -> (Vec<String>, Vec<String>) {
    let mut failures: Vec<String> = all
        .iter()
        .filter(|v| in_window(v, w))
        .filter(|v| FAILURE_EVENT_TYPES.contains(&v["type"].as_str().unwrap_or("")))
        .map(|v| v["data"]["object"]["id"].as_str().unwrap_or("").to_owned())
        .collect();
    let mut undelivered: Vec<String> = all
        .iter()
        .filter(|v| in_window(v, w))
        .filter(|v| v["pending_webhooks"].as_i64().unwrap_or(0) > 0)
        .map(|v| v["id"].as_str().unwrap_or("").to_owned())
        .collect();
    failures.sort();
    undelivered.sort();
    (failures, undelivered)
}

/// (resource ids of failure events, resource ids of undelivered events) found by apiops.
fn found(events: &[ErrorEvent]) -> (Vec<String>, Vec<String>) {
    let mut failures: Vec<String> = events
        .iter()
        .filter(|e| e.error_code != "webhook_delivery_failing")
        .map(|e| e.resource_id.clone())
        .collect();
    let mut undelivered: Vec<String> = events
        .iter()
        .filter(|e| e.error_code == "webhook_delivery_failing")
        .map(|e| e.resource_id.clone())
        .collect();
    failures.sort();
    undelivered.sort();
    (failures, undelivered)
}

fn secrets(running: &RunningSim) -> Vec<String> {
    let c = &running.sim.state().creds;
    vec![c.stripe_secret_key.clone(), c.stripe_webhook_secret.clone()]
}

fn assert_clean(text: &str, secrets: &[String]) {
    assert_no_secret(text, secrets);
    assert!(
        !text.contains("@example.com"),
        "an email leaked into: {text}"
    );
}

#[tokio::test]
async fn stripe_health_is_operational_with_balance_and_key_mode() {
    let running = sim(31).await;
    let h = stripe(&running).health().await;
    assert_eq!(h.status, HealthStatus::Operational, "{h:?}");
    assert!(h.reason.is_none());
    assert!(h.latency_ms.is_some());
    assert_eq!(h.details["mode"], "test");
    assert_eq!(h.details["key_type"], "secret");
    assert_eq!(h.details["api_version"], "2023-08-16");
    assert_eq!(h.details["breaker"], "closed");
    assert!(h.details["available"].ends_with(" USD"), "{:?}", h.details);
    assert!(h.details["pending"].ends_with(" USD"), "{:?}", h.details);
    assert!(h.warnings.is_empty(), "{:?}", h.warnings);
    assert_clean(&format!("{h:?}"), &secrets(&running));
}

#[tokio::test]
async fn stripe_wrong_key_is_down_and_never_shows_the_key() {
    let running = sim(32).await;
    let wrong = "sk_test_wrongkey0123456789abcdefWXYZ";
    let s = Stripe::new(config(&running, wrong, 200)).expect("stripe");
    let h = s.health().await;
    assert_eq!(h.status, HealthStatus::Down);
    let reason = h.reason.clone().expect("reason");
    assert!(reason.contains("HTTP 401"), "{reason}");
    assert!(reason.contains("credentials"), "{reason}");
    let shown = format!("{h:?}");
    assert!(
        !shown.contains(wrong) && !shown.contains("sk_test_wr") && !shown.contains("WXYZ"),
        "{shown}"
    );
    let (items, _) = scan(&s, month()).await;
    assert_eq!(items.len(), 1);
    let err = items[0].as_ref().expect_err("an error").to_string();
    assert!(err.contains("401"), "{err}");
    assert!(!err.contains(wrong), "{err}");
    let audit = s.audit().await.expect_err("audit fails").to_string();
    assert!(audit.contains("401") && !audit.contains(wrong), "{audit}");
}

#[tokio::test]
async fn stripe_errors_over_30_days_match_an_independent_listing() {
    let running = sim(33).await;
    let all = list_all_events(&running).await;
    let (want_failures, want_undelivered) = expected(&all, month());
    assert!(want_failures.len() > 20, "the simulator plants failures");
    assert!(
        !want_undelivered.is_empty(),
        "the simulator plants undelivered events"
    );

    let (items, progress) = scan(&stripe(&running), month()).await;
    let events = all_ok(items);
    let (got_failures, got_undelivered) = found(&events);
    assert_eq!(got_failures, want_failures);
    assert_eq!(got_undelivered, want_undelivered);
    let (pages, _, matched) = progress.snapshot();
    assert_eq!(matched, events.len() as u64);
    assert!(pages >= 2, "{pages}");

    let codes: BTreeMap<&str, usize> = events.iter().fold(BTreeMap::new(), |mut m, e| {
        *m.entry(e.error_code.as_str()).or_insert(0) += 1;
        m
    });
    assert!(codes.keys().any(|c| c.starts_with("payout:")), "{codes:?}");
    assert!(codes.keys().any(|c| c.starts_with("dispute:")), "{codes:?}");
    assert!(codes.contains_key("insufficient_funds"), "{codes:?}");
    assert!(
        !codes.contains_key("card_declined"),
        "declines carry their decline code: {codes:?}"
    );
    let s = stripe(&running);
    for e in &events {
        let c = s.classify(&e.error_code, None);
        assert!(c.known, "unknown code {}", e.error_code);
        assert_eq!(e.category, c.category, "{}", e.error_code);
        assert!(month().since <= e.timestamp && e.timestamp < month().until);
        if e.error_code == "webhook_delivery_failing" {
            assert_eq!(e.category, Category::Config);
            assert_eq!(e.resource_type, "event");
            assert_eq!(e.result, EventResult::Pending);
            assert!(
                e.context.starts_with("webhook delivery failing"),
                "{}",
                e.context
            );
        } else {
            assert_eq!(e.result, EventResult::Failed);
            assert!(e.context.contains("event evt_"), "{}", e.context);
        }
        assert_clean(&e.context, &secrets(&running));
    }
}

#[tokio::test]
async fn stripe_sub_window_boundaries_count_each_event_once() {
    let running = sim(34).await;
    let all = list_all_events(&running).await;
    // Windows that start and end on the second of a failure event.
    let failure_times: Vec<i64> = all
        .iter()
        .filter(|v| FAILURE_EVENT_TYPES.contains(&v["type"].as_str().unwrap_or("")))
        .map(|v| v["created"].as_i64().expect("created"))
        .collect();
    let (lo, hi) = (failure_times[failure_times.len() - 1], failure_times[0]);
    let s = stripe(&running);
    for w in [
        TimeWindow {
            since: Timestamp::from_second(lo).expect("ts"),
            until: Timestamp::from_second(hi).expect("ts"),
        },
        TimeWindow {
            since: anchor() - SignedDuration::from_hours(6),
            until: anchor(),
        },
        TimeWindow {
            since: "2026-11-10T03:17:45.250Z".parse().expect("ts"),
            until: "2026-11-12T21:03:10.900Z".parse().expect("ts"),
        },
    ] {
        let (want_failures, want_undelivered) = expected(
            &all,
            TimeWindow {
                since: Timestamp::from_second(
                    w.since.as_second() + i64::from(w.since.subsec_nanosecond() > 0),
                )
                .expect("ts"),
                until: Timestamp::from_second(
                    w.until.as_second() + i64::from(w.until.subsec_nanosecond() > 0),
                )
                .expect("ts"),
            },
        );
        let (items, _) = scan(&s, w).await;
        let (got_failures, got_undelivered) = found(&all_ok(items));
        assert_eq!(got_failures, want_failures, "{w:?}");
        assert_eq!(got_undelivered, want_undelivered, "{w:?}");
    }
}

#[tokio::test]
async fn stripe_empty_windows_give_no_events() {
    let running = sim(35).await;
    assert_empty_windows_give_no_events(&stripe(&running)).await;
}

#[tokio::test]
async fn stripe_audit_finds_the_planted_endpoint_problems() {
    let running = sim(36).await;
    let findings = stripe(&running).audit().await.expect("audit");
    let titles: Vec<&str> = findings.iter().map(|f| f.title.as_str()).collect();
    let has = |needle: &str| titles.iter().any(|t| t.contains(needle));
    assert!(
        has("old-analytics.example.com/stripe is disabled"),
        "{titles:#?}"
    );
    assert!(
        has("billing.example.com/stripe/events subscribes to every event type"),
        "{titles:#?}"
    );
    assert!(
        has("legacy.example.com/hooks/stripe is pinned to API version 2020-08-27"),
        "{titles:#?}"
    );
    assert!(
        has("http://shop.example.com/stripe-webhook: the URL is not HTTPS"),
        "{titles:#?}"
    );
    assert!(has("10.20.0.15, a private address"), "{titles:#?}");
    assert!(has("Only test mode was audited"), "{titles:#?}");
    assert!(
        !has("api.example.com/webhooks/stripe"),
        "the clean endpoint has no finding: {titles:#?}"
    );
    let private = findings
        .iter()
        .find(|f| f.title.contains("10.20.0.15"))
        .expect("private");
    assert_eq!(private.severity, Severity::Critical);
    assert_eq!(private.resource_type, "webhook_endpoint");
    assert!(private.resource_id.starts_with("we_"));
    let console: Vec<_> = findings.iter().filter(|f| f.console_only).collect();
    assert_eq!(console.len(), 1);
    assert!(
        console[0]
            .remediation
            .starts_with("This setting is not available via the public API.")
    );
    for f in &findings {
        assert_clean(&format!("{f:?}"), &secrets(&running));
    }
    // Auditing never calls the audited URLs: only the simulator's list endpoints were used.
    let stats = running.sim.state().stats.snapshot();
    assert_eq!(
        stats.requests.get("stripe.webhook_endpoints.list"),
        Some(&1)
    );
    assert!(stats.side_effects.is_empty(), "{:?}", stats.side_effects);
}

#[tokio::test]
async fn stripe_audit_without_endpoints_warns() {
    let running = sim(37).await;
    let e = env(&running);
    let http = reqwest::Client::new();
    let list = page(
        http.get(format!(
            "{}/v1/webhook_endpoints?limit=100",
            e["APIOPS_STRIPE_API_URL"]
        ))
        .bearer_auth(&e["STRIPE_SECRET_KEY"]),
    )
    .await;
    for ep in list["data"].as_array().expect("data") {
        let id = ep["id"].as_str().expect("id");
        http.delete(format!(
            "{}/v1/webhook_endpoints/{id}",
            e["APIOPS_STRIPE_API_URL"]
        ))
        .bearer_auth(&e["STRIPE_SECRET_KEY"])
        .send()
        .await
        .expect("delete")
        .error_for_status()
        .expect("deleted");
    }
    let findings = stripe(&running).audit().await.expect("audit");
    let none = findings
        .iter()
        .find(|f| f.title.starts_with("No webhook endpoint"))
        .expect("no-endpoint finding");
    assert_eq!(none.severity, Severity::Warning);
    assert!(
        !findings
            .iter()
            .any(|f| f.resource_type == "webhook_endpoint")
    );
}

/// The planted failures of the simulator seeded `seed`, listed from a twin that serves the same
/// data without limits or faults, so the simulator under test keeps its whole rate budget.
async fn planted(seed: u64, w: TimeWindow) -> (Vec<String>, Vec<String>) {
    let twin = sim(seed).await;
    let want = expected(&list_all_events(&twin).await, w);
    twin.stop().await;
    assert!(!want.0.is_empty(), "the simulator plants failures");
    want
}

/// Whether every item of sorted `part` is in sorted `whole`, as many times (a sub-multiset).
fn within_planted(part: &[String], whole: &[String]) -> bool {
    let mut rest = whole.iter();
    part.iter().all(|p| rest.any(|w| w == p))
}

#[tokio::test]
async fn stripe_quota_matching_the_limit_completes_without_429s() {
    let running = start(SimConfig {
        stripe_rate: 10,
        ..sim_config(38, 10)
    })
    .await;
    let (want_failures, want_undelivered) = planted(38, month()).await;
    let before = rate_limited(&running, "stripe");
    let key = env(&running)["STRIPE_SECRET_KEY"].clone();
    let s = Stripe::new(config(&running, &key, 8)).expect("stripe");
    let (items, _) = scan(&s, month()).await;
    let (got_failures, got_undelivered) = found(&all_ok(items));
    assert_eq!(got_failures, want_failures);
    assert_eq!(got_undelivered, want_undelivered);
    let after = rate_limited(&running, "stripe");
    assert!(
        after - before <= 2,
        "the quota kept the scan under the limit: {} 429s",
        after - before
    );
}

#[tokio::test]
async fn stripe_429_storm_completes_or_fails_clearly() {
    let running = start(SimConfig {
        stripe_rate: 3,
        ..sim_config(39, 10)
    })
    .await;
    let (want, _) = planted(39, month()).await;
    let key = env(&running)["STRIPE_SECRET_KEY"].clone();
    let s = Stripe::new(config(&running, &key, 100)).expect("stripe");
    let (items, _) = scan(&s, month()).await;
    assert!(rate_limited(&running, "stripe") > 0, "the storm happened");
    let got_so_far: Vec<ErrorEvent> = items
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .cloned()
        .collect();
    let (got, _) = found(&got_so_far);
    assert!(
        within_planted(&got, &want),
        "only planted failures: {got:?}"
    );
    // Each sub-window that could not be read is one clear error; the others are read.
    let errors: Vec<String> = items
        .iter()
        .filter_map(|r| r.as_ref().err().map(ToString::to_string))
        .collect();
    if errors.is_empty() {
        assert_eq!(got, want, "completed through backoff");
    }
    for text in errors {
        assert!(
            text.contains("429") || text.contains("circuit open"),
            "a clear rate-limit error: {text}"
        );
        assert!(!text.contains(&key), "{text}");
    }
}

#[tokio::test]
async fn stripe_injected_faults_complete_or_fail_clearly() {
    let running = start(SimConfig {
        stripe_rate: 1_000,
        // Low enough that some runs get through: a malformed 200 is not retried, and a scan
        // makes dozens of requests.
        fault_rate: 0.05,
        ..sim_config(40, 10)
    })
    .await;
    let (want_failures, want_undelivered) = planted(40, month()).await;
    let s = stripe(&running);
    let key = env(&running)["STRIPE_SECRET_KEY"].clone();
    let h = s.health().await;
    if h.status != HealthStatus::Operational {
        let reason = h.reason.clone().expect("a reason when not operational");
        assert!(!reason.contains(&key), "{reason}");
    }
    // Each run finds exactly the planted failures or names the sub-windows it could not read,
    // having found only planted ones; faults are random, so a few runs make at least one complete.
    let mut completed = false;
    for _ in 0..12 {
        // A fresh client each run: a breaker opened by one run's faults must not fail the next.
        let s = stripe(&running);
        let (items, _) = scan(&s, month()).await;
        let events: Vec<ErrorEvent> = items
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .cloned()
            .collect();
        let (got_failures, got_undelivered) = found(&events);
        assert!(
            within_planted(&got_failures, &want_failures),
            "{got_failures:?}"
        );
        assert!(
            within_planted(&got_undelivered, &want_undelivered),
            "{got_undelivered:?}"
        );
        if items.iter().any(Result::is_err) {
            for e in items.iter().filter_map(|r| r.as_ref().err()) {
                let text = e.to_string();
                assert!(!text.is_empty() && !text.contains(&key), "{text}");
            }
        } else {
            assert_eq!(
                got_failures, want_failures,
                "a complete run finds every failure"
            );
            assert_eq!(got_undelivered, want_undelivered);
            completed = true;
            break;
        }
    }
    assert!(completed, "no run completed through the faults");
    match s.audit().await {
        Ok(findings) => assert!(!findings.is_empty()),
        Err(e) => assert!(!e.to_string().contains(&key)),
    }
    let faults = running.sim.state().stats.snapshot().faults;
    assert!(!faults.is_empty(), "faults were injected");
}

#[tokio::test]
async fn stripe_malformed_json_is_a_clear_error_not_a_panic() {
    let server = Recorder::start(200, r#"{"object": "list", "data": [{"id": "evt_trunc"#).await;
    let key = "sk_test_malformed0123456789abcdef";
    let s = Stripe::new(config_at(&format!("{}/stripe", server.base), key)).expect("stripe");
    assert_malformed_json_is_a_clear_error(&s, month(), 1, &[key]).await;
}

#[tokio::test]
async fn stripe_missing_credentials_are_named() {
    for key in [None, Some(SecretString::from(String::new()))] {
        let c = StripeConfig::official(key).expect("config");
        match Stripe::new(c) {
            Err(e @ ProviderError::MissingCredentials { .. }) => {
                assert_eq!(
                    e.to_string(),
                    "Stripe credentials missing: set STRIPE_SECRET_KEY"
                );
            }
            other => panic!("expected missing credentials, got {other:?}"),
        }
    }
}

// ---- operations: webhook endpoints and undelivered events ----

use apiops_client::ClientError;
use apiops_providers::stripe::client::{EndpointUpdate, WebhookEndpoint, api_error};

/// An update that only disables (or enables) an endpoint.
fn disabled(disabled: bool) -> EndpointUpdate {
    EndpointUpdate {
        disabled: Some(disabled),
        ..EndpointUpdate::default()
    }
}

fn update_count(running: &RunningSim) -> u64 {
    side_effects(running, "stripe.webhook_endpoints.update")
}

#[tokio::test]
async fn stripe_endpoints_are_disabled_enabled_and_changed() {
    let running = sim(40).await;
    let s = stripe(&running);
    let c = s.client();
    let all = c.all_webhook_endpoints().await.expect("list");
    assert_eq!(
        all.len(),
        running.sim.state().stripe.webhook_endpoint_count()
    );
    let target = all
        .iter()
        .find(|e| e.status == "enabled")
        .expect("an enabled endpoint")
        .clone();
    let fetched = c.webhook_endpoint(&target.id).await.expect("retrieve");
    assert_eq!(
        (fetched.id.as_str(), fetched.url.as_str()),
        (target.id.as_str(), target.url.as_str())
    );

    let disable = disabled(true);
    let off = c
        .update_webhook_endpoint(&target.id, &disable, None)
        .await
        .expect("disable");
    assert_eq!(off.status, "disabled");
    assert_eq!(off.url, target.url, "nothing else changed");
    assert_eq!(
        c.webhook_endpoint(&target.id).await.expect("get").status,
        "disabled"
    );
    let on = c
        .update_webhook_endpoint(&target.id, &disabled(false), None)
        .await
        .expect("enable");
    assert_eq!(on.status, "enabled");

    let change = EndpointUpdate {
        disabled: None,
        url: Some("https://hooks.example.com/stripe/v2".into()),
        enabled_events: Some(vec!["charge.failed".into(), "payout.failed".into()]),
    };
    let changed = c
        .update_webhook_endpoint(&target.id, &change, Some("apiops-test-change-1"))
        .await
        .expect("change");
    let got: WebhookEndpoint = c.webhook_endpoint(&target.id).await.expect("get");
    for e in [&changed, &got] {
        assert_eq!(e.url, "https://hooks.example.com/stripe/v2");
        assert_eq!(e.enabled_events, ["charge.failed", "payout.failed"]);
        assert_eq!(e.status, "enabled");
    }
    assert_eq!(update_count(&running), 3);

    let missing = c
        .webhook_endpoint("we_doesnotexist")
        .await
        .expect_err("404");
    assert_eq!(missing.status(), Some(404));
    assert_eq!(
        api_error(&missing).and_then(|e| e.code).as_deref(),
        Some("resource_missing")
    );
    let bad_events = EndpointUpdate {
        enabled_events: Some(vec!["not an event".into()]),
        ..EndpointUpdate::default()
    };
    let refused = c
        .update_webhook_endpoint(&target.id, &bad_events, None)
        .await
        .expect_err("400");
    assert_eq!(refused.status(), Some(400));
    assert_eq!(
        api_error(&refused).and_then(|e| e.param).as_deref(),
        Some("enabled_events[0]"),
        "{refused}"
    );
    assert!(matches!(
        c.webhook_endpoint("../balance").await,
        Err(ClientError::InvalidRequest(_))
    ));
    assert_clean(&format!("{missing} {refused}"), &secrets(&running));
    running.stop().await;
}

#[tokio::test]
async fn stripe_an_idempotency_key_replays_instead_of_repeating() {
    let running = sim(41).await;
    let s = stripe(&running);
    let c = s.client();
    let id = c.all_webhook_endpoints().await.expect("list")[0].id.clone();
    let key = "apiops-plan-7-step-1";
    let disable = disabled(true);
    let first = c
        .update_webhook_endpoint(&id, &disable, Some(key))
        .await
        .expect("first");
    // Re-enabled behind the key's back: a replay must not disable it again.
    c.update_webhook_endpoint(&id, &disabled(false), None)
        .await
        .expect("enable");
    assert_eq!(update_count(&running), 2);
    let replay = c
        .update_webhook_endpoint(&id, &disable, Some(key))
        .await
        .expect("replay");
    assert_eq!(update_count(&running), 2, "the simulator replayed the key");
    assert_eq!(replay.status, first.status);
    assert_eq!(
        c.webhook_endpoint(&id).await.expect("get").status,
        "enabled"
    );
    let reuse = c
        .update_webhook_endpoint(
            &id,
            &EndpointUpdate {
                url: Some("https://other.example.com".into()),
                ..EndpointUpdate::default()
            },
            Some(key),
        )
        .await
        .expect_err("same key, other parameters");
    assert_eq!(reuse.status(), Some(400));
    assert_eq!(
        api_error(&reuse).and_then(|e| e.kind).as_deref(),
        Some("idempotency_error")
    );
    assert!(matches!(
        c.update_webhook_endpoint(&id, &disable, Some("has space"))
            .await,
        Err(ClientError::InvalidRequest(_))
    ));
    running.stop().await;
}

#[tokio::test]
async fn stripe_updates_send_the_form_and_the_key_on_the_wire() {
    let endpoint = r#"{"id": "we_1", "object": "webhook_endpoint", "url": "https://hooks.example.com/stripe", "enabled_events": ["charge.failed"], "status": "disabled", "api_version": null, "livemode": false, "description": null, "created": 1}"#;
    let server = Recorder::start(200, endpoint).await;
    let s =
        Stripe::new(config_at(&server.base, "sk_test_0123456789abcdefghijklmn")).expect("stripe");
    let update = EndpointUpdate {
        disabled: Some(true),
        url: Some("https://hooks.example.com/stripe".into()),
        enabled_events: Some(vec!["charge.failed".into(), "payout.failed".into()]),
    };
    let got = s
        .client()
        .update_webhook_endpoint("we_1", &update, Some("plan-7/step-1"))
        .await
        .expect("update");
    assert_eq!(got.status, "disabled");
    s.client()
        .update_webhook_endpoint("we_1", &update, None)
        .await
        .expect("update without a key");
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    let first = &seen[0];
    assert_eq!(
        (first.method.as_str(), first.target.as_str()),
        ("POST", "/v1/webhook_endpoints/we_1")
    );
    assert_eq!(
        first.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(first.header("idempotency-key"), Some("plan-7/step-1"));
    assert_eq!(first.header("stripe-version"), Some("2023-08-16"));
    assert_eq!(
        first.form(),
        vec![
            ("disabled".to_owned(), "true".to_owned()),
            (
                "url".to_owned(),
                "https://hooks.example.com/stripe".to_owned()
            ),
            ("enabled_events[]".to_owned(), "charge.failed".to_owned()),
            ("enabled_events[]".to_owned(), "payout.failed".to_owned()),
        ]
    );
    let generated = seen[1].header("idempotency-key").expect("a generated key");
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    assert_ne!(generated, "plan-7/step-1");
}

#[tokio::test]
async fn stripe_undelivered_events_come_back_whole_with_their_ids() {
    let running = sim(42).await;
    let c = stripe(&running).client().clone();
    let all = list_all_events(&running).await;
    let undelivered_since = |since: Timestamp| -> Vec<String> {
        let mut ids: Vec<String> = all
            .iter()
            .filter(|v| v["created"].as_i64().expect("created") >= since.as_second())
            .filter(|v| v["pending_webhooks"].as_i64().unwrap_or(0) > 0)
            .map(|v| v["id"].as_str().expect("id").to_owned())
            .collect();
        ids.sort();
        ids
    };
    for since in [
        anchor() - SignedDuration::from_hours(31 * 24),
        anchor() - SignedDuration::from_hours(24),
    ] {
        let events: Vec<Value> = c
            .undelivered_events(since)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .map(|r| r.expect("event"))
            .collect();
        let mut ids: Vec<String> = events
            .iter()
            .map(|v| v["id"].as_str().expect("id").to_owned())
            .collect();
        ids.sort();
        assert_eq!(ids, undelivered_since(since));
        for e in &events {
            assert_eq!(e["object"], "event");
            assert!(e["pending_webhooks"].as_i64().unwrap_or(0) > 0);
            assert!(e["type"].is_string() && e["data"]["object"].is_object());
            let raw = all.iter().find(|v| v["id"] == e["id"]).expect("listed");
            assert_eq!(raw, e, "verbatim");
        }
    }
    let month = c
        .undelivered_events(anchor() - SignedDuration::from_hours(31 * 24))
        .collect::<Vec<_>>()
        .await;
    assert!(!month.is_empty());
    assert_eq!(
        month.len(),
        running.sim.state().stripe.undelivered_event_count()
    );
    running.stop().await;
}
