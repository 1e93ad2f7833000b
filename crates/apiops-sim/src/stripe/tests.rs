//! Tests of the simulated Stripe API: generated data, the events filters and cursors, the
//! webhook endpoint writes with idempotency, and the answers over HTTP against the spec.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::data;
use super::events::list_events;
use super::request::Params;
use super::*;
use crate::config::SimConfig;
use crate::server::Credentials;
use crate::test_http::status_and_json;

fn config(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        anchor: "2026-11-25T12:00:00Z".parse().expect("anchor"),
        messages: 10,
        stripe_rate: 100_000,
        ..SimConfig::default()
    }
}

fn state(seed: u64) -> StripeState {
    let c = config(seed);
    StripeState::generate(&c, &Credentials::from_seed(c.seed))
}

fn snapshot(s: &StripeState) -> String {
    let endpoints: Vec<Value> = s
        .endpoints
        .lock()
        .expect("lock")
        .iter()
        .map(|e| e.to_json(None))
        .collect();
    let guard = s.events();
    let events: Vec<&Value> = guard.iter().map(|e| &e.body).collect();
    serde_json::to_string(&json!({
        "account": s.account,
        "balance": s.balance,
        "events": events,
        "endpoints": endpoints,
    }))
    .expect("json")
}

fn list(s: &StripeState, query: &str) -> Value {
    list_events(&s.events(), &Params::parse(query.as_bytes())).expect("list")
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|e| e["id"].as_str().expect("id").to_owned())
        .collect()
}

#[test]
fn generation_is_deterministic_and_realistic() {
    let a = state(7);
    assert_eq!(snapshot(&a), snapshot(&state(7)), "same seed, same bytes");
    assert_ne!(snapshot(&a), snapshot(&state(8)));

    let anchor = config(7).anchor.as_second();
    let all = a.events().clone();
    assert!(
        (250..700).contains(&a.events().len()),
        "{}",
        a.events().len()
    );
    assert!(
        a.events()
            .iter()
            .all(|e| e.created <= anchor && e.created > anchor - 30 * 86_400)
    );
    assert!(
        a.events().windows(2).all(|w| w[0].created >= w[1].created),
        "newest first"
    );
    let unique: HashSet<&str> = all.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(unique.len(), a.events().len());
    for kind in [
        "charge.failed",
        "payment_intent.payment_failed",
        "invoice.payment_failed",
        "payout.failed",
        "setup_intent.setup_failed",
        "charge.dispute.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "customer.created",
    ] {
        assert!(a.events().iter().any(|e| e.kind == kind), "no {kind}");
    }
    let undelivered = a.undelivered_event_count();
    assert!(
        undelivered > 0 && undelivered < a.events().len() / 4,
        "{undelivered}"
    );
    let declines: HashSet<&str> = all
        .iter()
        .filter(|e| e.kind == "payment_intent.payment_failed")
        .filter_map(|e| e.body["data"]["object"]["last_payment_error"]["decline_code"].as_str())
        .collect();
    assert!(declines.contains("insufficient_funds"), "{declines:?}");
    assert!(declines.len() >= 4, "{declines:?}");

    let endpoints = a.endpoints.lock().expect("lock").clone();
    assert!(endpoints.iter().any(|e| e.disabled));
    assert!(endpoints.iter().any(|e| e.enabled_events == ["*"]));
    assert!(
        endpoints
            .iter()
            .any(|e| e.api_version.as_deref() == Some("2020-08-27"))
    );
    assert!(endpoints.iter().any(|e| e.url.starts_with("http://")));
    assert!(endpoints.iter().any(|e| e.url.contains("//10.")));
    assert!(
        endpoints
            .iter()
            .any(|e| !e.disabled && e.url.starts_with("https://api.") && e.api_version.is_none())
    );
}

#[test]
fn events_filter_by_created_types_and_delivery() {
    let s = state(3);
    let all = s.events().clone();
    let mid = all[all.len() / 2].created;
    let newer = list(&s, &format!("created[gte]={mid}&limit=100"));
    let expected = all.iter().filter(|e| e.created >= mid).count().min(100);
    assert_eq!(newer["data"].as_array().map(Vec::len), Some(expected));
    assert!(
        newer["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|e| e["created"].as_i64() >= Some(mid))
    );
    let window = list(
        &s,
        &format!("created[gt]={}&created[lt]={mid}&limit=100", mid - 86_400),
    );
    for e in window["data"].as_array().expect("data") {
        let t = e["created"].as_i64().expect("created");
        assert!(t > mid - 86_400 && t < mid);
    }
    let exact = list(&s, &format!("created={mid}"));
    assert!(
        exact["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|e| e["created"] == mid)
    );
    assert!(!exact["data"].as_array().expect("data").is_empty());

    let failures = list(
        &s,
        "types[]=charge.failed&types[]=payout.failed&types[]=invoice.payment_failed&limit=100",
    );
    let kinds: HashSet<&str> = failures["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert!(kinds.contains("charge.failed"));
    assert!(
        kinds
            .iter()
            .all(|k| ["charge.failed", "payout.failed", "invoice.payment_failed"].contains(k))
    );
    // The SDKs send arrays with indexes.
    assert_eq!(
        ids(&list(
            &s,
            "types[0]=charge.failed&types[1]=payout.failed&limit=100"
        )),
        ids(&list(
            &s,
            "types[]=charge.failed&types[]=payout.failed&limit=100"
        ))
    );
    let group = list(&s, "type=charge.*&limit=100");
    assert!(
        group["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|e| e["type"].as_str().is_some_and(|t| t.starts_with("charge.")))
    );
    assert!(
        group["data"]
            .as_array()
            .expect("data")
            .iter()
            .any(|e| e["type"] == "charge.dispute.created" || e["type"] == "charge.failed")
    );

    let undelivered = list(&s, "delivery_success=false&limit=100");
    let n = undelivered["data"].as_array().expect("data").len();
    assert_eq!(n, s.undelivered_event_count().min(100));
    assert!(
        undelivered["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|e| e["pending_webhooks"].as_u64() > Some(0))
    );
}

#[test]
fn cursor_paging_walks_every_event_once() {
    let s = state(11);
    let mut seen = Vec::new();
    let mut query = "limit=7".to_owned();
    loop {
        let page = list(&s, &query);
        let page_ids = ids(&page);
        assert!(page_ids.len() <= 7);
        seen.extend(page_ids.iter().cloned());
        if page["has_more"] != true {
            break;
        }
        query = format!("limit=7&starting_after={}", page_ids.last().expect("last"));
    }
    let expected: Vec<String> = s.events().iter().map(|e| e.id.clone()).collect();
    assert_eq!(seen, expected, "every event once, newest first");

    // Backwards from the oldest, with ending_before, gives the same events.
    let mut back: Vec<String> = Vec::new();
    let mut before = expected.last().expect("an event").clone();
    back.push(before.clone());
    loop {
        let page = list(&s, &format!("limit=9&ending_before={before}"));
        let page_ids = ids(&page);
        for id in page_ids.iter().rev() {
            back.push(id.clone());
        }
        if page["has_more"] != true {
            break;
        }
        before = page_ids.first().expect("first").clone();
    }
    back.reverse();
    assert_eq!(back, expected);

    // A filtered walk sees exactly the filtered events.
    let mut failed = Vec::new();
    let mut query = "limit=5&type=charge.failed".to_owned();
    loop {
        let page = list(&s, &query);
        let page_ids = ids(&page);
        failed.extend(page_ids.iter().cloned());
        if page["has_more"] != true {
            break;
        }
        query = format!(
            "limit=5&type=charge.failed&starting_after={}",
            page_ids.last().expect("last")
        );
    }
    let expected: Vec<String> = s
        .events()
        .iter()
        .filter(|e| e.kind == "charge.failed")
        .map(|e| e.id.clone())
        .collect();
    assert_eq!(failed, expected);
}

#[test]
fn bad_event_queries_get_stripe_errors() {
    let s = state(5);
    for (query, param, code) in [
        ("limit=0", "limit", Some("parameter_invalid_integer")),
        ("limit=101", "limit", Some("parameter_invalid_integer")),
        ("limit=ten", "limit", Some("parameter_invalid_integer")),
        (
            "starting_after=evt_nope",
            "starting_after",
            Some("resource_missing"),
        ),
        (
            "ending_before=evt_nope",
            "ending_before",
            Some("resource_missing"),
        ),
        ("foo=bar", "foo", Some("parameter_unknown")),
        (
            "created[since]=1",
            "created[since]",
            Some("parameter_unknown"),
        ),
        (
            "created[gte]=yesterday",
            "created[gte]",
            Some("parameter_invalid_integer"),
        ),
        (
            "delivery_success=nope",
            "delivery_success",
            Some("parameter_invalid_boolean"),
        ),
    ] {
        let rejection = list_events(&s.events(), &Params::parse(query.as_bytes()))
            .err()
            .unwrap_or_else(|| panic!("{query} was accepted"));
        let (status, body) = (rejection.status, rejection.body);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body["error"]["type"], "invalid_request_error", "{query}");
        assert_eq!(body["error"]["param"], param, "{query}");
        assert_eq!(body["error"]["code"].as_str(), code, "{query}");
    }
}

/// A simulator on loopback and a client with the Stripe key.
struct Http {
    sim: crate::RunningSim,
    client: reqwest::Client,
    key: String,
}

impl Http {
    async fn start(seed: u64) -> Self {
        let sim = crate::test_http::start(config(seed)).await;
        let key = sim.sim.state().creds.stripe_secret_key.clone();
        Http {
            sim,
            client: reqwest::Client::new(),
            key,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/stripe{path}", self.sim.base_url())
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        status_and_json(self.client.get(self.url(path)).bearer_auth(&self.key)).await
    }

    async fn post(
        &self,
        path: &str,
        form: &[(&str, &str)],
        key: Option<&str>,
    ) -> (StatusCode, Option<String>, Value) {
        let mut req = self
            .client
            .post(self.url(path))
            .bearer_auth(&self.key)
            .form(form);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status();
        let replayed = resp
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (status, replayed, resp.json().await.expect("json"))
    }

    fn side_effects(&self, op: &str) -> u64 {
        self.sim.stats().side_effect_count(op)
    }
}

#[tokio::test]
async fn webhook_endpoint_update_changes_state() {
    let h = Http::start(21).await;
    let (status, listed) = h.get("/v1/webhook_endpoints").await;
    assert_eq!(status, StatusCode::OK);
    let first = listed["data"][0].clone();
    let id = first["id"].as_str().expect("id").to_owned();
    assert!(first.get("secret").is_none());
    let path = format!("/v1/webhook_endpoints/{id}");
    let (status, _, updated) = h
        .post(
            &path,
            &[
                ("enabled_events[0]", "charge.failed"),
                ("enabled_events[1]", "payout.failed"),
                ("disabled", "true"),
                ("description", "paused by apiops"),
                ("url", "https://hooks.example.com/new"),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["status"], "disabled");
    assert_eq!(updated["url"], "https://hooks.example.com/new");
    assert_eq!(
        updated["enabled_events"],
        json!(["charge.failed", "payout.failed"])
    );
    let (_, fetched) = h.get(&path).await;
    assert_eq!(fetched, updated, "the update is stored");
    assert_eq!(h.side_effects("stripe.webhook_endpoints.update"), 1);

    let (status, _, err) = h.post(&path, &[("disabled", "perhaps")], None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["param"], "disabled");
    let (status, _, err) = h.post(&path, &[("colour", "blue")], None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["code"], "parameter_unknown");
    assert_eq!(
        err["error"]["message"],
        "Received unknown parameter: colour"
    );
    let (status, _, err) = h
        .post(
            "/v1/webhook_endpoints/we_missing",
            &[("disabled", "false")],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["error"]["code"], "resource_missing");
    assert_eq!(h.side_effects("stripe.webhook_endpoints.update"), 1);

    // Create returns the secret once; the new endpoint lists first.
    let (status, _, created) = h
        .post(
            "/v1/webhook_endpoints",
            &[
                ("url", "https://hooks.example.com/apiops"),
                ("enabled_events[]", "*"),
                ("metadata[owner]", "apiops"),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert!(
        created["secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("whsec_"))
    );
    let (_, listed) = h.get("/v1/webhook_endpoints?limit=2").await;
    assert_eq!(listed["data"][0]["id"], created["id"]);
    assert!(listed["data"][0].get("secret").is_none());
    assert_eq!(listed["has_more"], true);
    let (status, err) = h.get("/v1/webhook_endpoints?starting_after=we_nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["param"], "starting_after");
    let (_, _, missing) = h
        .post("/v1/webhook_endpoints", &[("enabled_events[]", "*")], None)
        .await;
    assert_eq!(missing["error"]["code"], "parameter_missing");
    assert_eq!(missing["error"]["param"], "url");
    h.sim.stop().await;
}

#[tokio::test]
async fn idempotency_replays_the_first_result_and_refuses_other_parameters() {
    let h = Http::start(22).await;
    let (_, listed) = h.get("/v1/webhook_endpoints").await;
    let id = listed["data"][1]["id"].as_str().expect("id").to_owned();
    let path = format!("/v1/webhook_endpoints/{id}");
    let form = [("description", "first"), ("metadata[run]", "1")];
    let (s1, r1, b1) = h.post(&path, &form, Some("key-1")).await;
    assert_eq!((s1, r1.as_deref()), (StatusCode::OK, None));
    // Someone else changes the endpoint; the replay still answers what the first call did.
    h.post(&path, &[("description", "other")], None).await;
    let (s2, r2, b2) = h.post(&path, &form, Some("key-1")).await;
    assert_eq!((s2, r2.as_deref()), (StatusCode::OK, Some("true")));
    assert_eq!(b1, b2);
    assert_eq!(b2["description"], "first");
    assert_eq!(h.side_effects("stripe.webhook_endpoints.update"), 2);

    let (s3, _, b3) = h
        .post(&path, &[("description", "second")], Some("key-1"))
        .await;
    assert_eq!(s3, StatusCode::BAD_REQUEST);
    assert_eq!(b3["error"]["type"], "idempotency_error");
    assert!(b3["error"]["message"].as_str().is_some_and(|m| {
        m.starts_with("Keys for idempotent requests can only be used with the same parameters")
    }));
    let (s4, _, b4) = h.post("/v1/webhook_endpoints", &form, Some("key-1")).await;
    assert_eq!(s4, StatusCode::BAD_REQUEST);
    assert_eq!(b4["error"]["type"], "invalid_request_error");
    assert_eq!(h.side_effects("stripe.webhook_endpoints.update"), 2);

    // A create under a key happens once, however often it is retried.
    let create = [
        ("url", "https://hooks.example.com/once"),
        ("enabled_events[]", "charge.failed"),
    ];
    let before = h.sim.sim.state().stripe.webhook_endpoint_count();
    let (_, _, c1) = h
        .post("/v1/webhook_endpoints", &create, Some("create-1"))
        .await;
    let (_, r, c2) = h
        .post("/v1/webhook_endpoints", &create, Some("create-1"))
        .await;
    assert_eq!(r.as_deref(), Some("true"));
    assert_eq!(c1, c2, "same id, same secret");
    assert_eq!(h.side_effects("stripe.webhook_endpoints.create"), 1);
    assert_eq!(
        h.sim.sim.state().stripe.webhook_endpoint_count(),
        before + 1
    );

    // A request that failed validation saves nothing: the key can be used again, corrected.
    let (s5, _, _) = h.post(&path, &[("disabled", "maybe")], Some("key-2")).await;
    assert_eq!(s5, StatusCode::BAD_REQUEST);
    let (s6, r6, _) = h.post(&path, &[("disabled", "true")], Some("key-2")).await;
    assert_eq!((s6, r6), (StatusCode::OK, None));
    h.sim.stop().await;
}

#[tokio::test]
async fn http_auth_paging_and_unknown_urls() {
    let h = Http::start(23).await;
    let resp = h
        .client
        .get(h.url("/v1/balance"))
        .bearer_auth("sk_test_wrong_key_123456")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    let (status, page) = h.get("/v1/events?limit=100").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["object"], "list");
    assert_eq!(page["url"], "/v1/events");
    assert_eq!(page["has_more"], true);
    let mut total = page["data"].as_array().expect("data").len();
    let mut last = page["data"][99]["id"].as_str().expect("id").to_owned();
    loop {
        let (_, next) = h
            .get(&format!("/v1/events?limit=100&starting_after={last}"))
            .await;
        let data = next["data"].as_array().expect("data");
        total += data.len();
        if next["has_more"] != true {
            break;
        }
        last = data[data.len() - 1]["id"].as_str().expect("id").to_owned();
    }
    assert_eq!(total, h.sim.sim.state().stripe.event_count());
    let (status, undelivered) = h.get("/v1/events?delivery_success=false&limit=100").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!undelivered["data"].as_array().expect("data").is_empty());
    let id = page["data"][0]["id"].as_str().expect("id");
    let (status, one) = h.get(&format!("/v1/events/{id}")).await;
    assert_eq!((status, &one), (StatusCode::OK, &page["data"][0]));
    let (status, err) = h.get("/v1/events/evt_nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["error"]["code"], "resource_missing");

    let (status, err) = h.get("/v1/charges_that_do_not_exist").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(err["error"]["message"].as_str().is_some_and(|m| {
        m.starts_with("Unrecognized request URL (GET: /v1/charges_that_do_not_exist)")
    }));
    let stats = h.sim.sim.state().stats.snapshot();
    assert!(stats.requests.get("stripe.events.list").copied() >= Some(4));
    assert_eq!(
        stats.requests.get("stripe.events.retrieve").copied(),
        Some(2)
    );
    h.sim.stop().await;
}

#[tokio::test]
async fn answers_conform_to_the_spec() {
    let Some(spec) = spec_check::load("stripe/spec3.2023-08-16.json") else {
        return;
    };
    let h = Http::start(24).await;
    // Events made to happen at run time, one of each type, answer like the generated ones.
    let mut live = Vec::new();
    for kind in crate::live::STRIPE_EVENT_TYPES {
        live.extend(
            h.sim
                .sim
                .state()
                .stripe
                .happen(1, Some(kind))
                .expect("happens"),
        );
    }
    let anchor = config(24).anchor.as_second();
    let (_, endpoints) = h.get("/v1/webhook_endpoints").await;
    let we = endpoints["data"][0]["id"].as_str().expect("id").to_owned();
    let (_, events) = h.get("/v1/events?limit=100").await;
    let evt = events["data"][0]["id"].as_str().expect("id").to_owned();
    let mut problems = Vec::new();
    for (template, path) in [
        ("/v1/balance", "/v1/balance".to_owned()),
        ("/v1/account", "/v1/account".to_owned()),
        ("/v1/events", "/v1/events?limit=100".to_owned()),
        (
            "/v1/events",
            "/v1/events?delivery_success=false&limit=100".to_owned(),
        ),
        ("/v1/events/{id}", format!("/v1/events/{evt}")),
        ("/v1/webhook_endpoints", "/v1/webhook_endpoints".to_owned()),
        (
            "/v1/webhook_endpoints/{webhook_endpoint}",
            format!("/v1/webhook_endpoints/{we}"),
        ),
    ] {
        let (status, body) = h.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        problems.extend(
            spec.check_response(template, "get", 200, &body)
                .into_iter()
                .map(|p| format!("GET {path}: {p}")),
        );
    }
    let mut live_paths = vec![format!("/v1/events?created[gte]={anchor}&limit=100")];
    live_paths.extend(live.iter().map(|id| format!("/v1/events/{id}")));
    for path in live_paths {
        let template = if path.contains('?') {
            "/v1/events"
        } else {
            "/v1/events/{id}"
        };
        let (status, body) = h.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        problems.extend(
            spec.check_response(template, "get", 200, &body)
                .into_iter()
                .map(|p| format!("GET {path}: {p}")),
        );
    }
    let (_, _, updated) = h
        .post(
            &format!("/v1/webhook_endpoints/{we}"),
            &[("description", "spec")],
            None,
        )
        .await;
    problems.extend(spec.check_response(
        "/v1/webhook_endpoints/{webhook_endpoint}",
        "post",
        200,
        &updated,
    ));
    let (_, _, created) = h
        .post(
            "/v1/webhook_endpoints",
            &[("url", "https://x.example/h"), ("enabled_events[]", "*")],
            None,
        )
        .await;
    problems.extend(spec.check_response("/v1/webhook_endpoints", "post", 200, &created));
    let resp = h
        .client
        .delete(h.url(&format!("/v1/webhook_endpoints/{we}")))
        .bearer_auth(&h.key)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    let deleted: Value = resp.json().await.expect("json");
    problems.extend(spec.check_response(
        "/v1/webhook_endpoints/{webhook_endpoint}",
        "delete",
        200,
        &deleted,
    ));
    // Errors follow the spec's error document too.
    let (_, err) = h.get("/v1/events?limit=0").await;
    if let Some(schema) = spec.component("error") {
        problems.extend(spec.check(schema, &err));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The event objects inside carry what the event schemas of the failures need.
    let (_, fresh) = h
        .get(&format!("/v1/events?created[gte]={anchor}&limit=100"))
        .await;
    let fresh = fresh["data"].as_array().expect("data");
    assert_eq!(fresh.len(), live.len());
    for e in events["data"].as_array().expect("data").iter().chain(fresh) {
        let object = &e["data"]["object"];
        match e["type"].as_str() {
            Some("charge.failed") => {
                assert!(object["failure_code"].is_string(), "{e}");
                assert!(object["outcome"]["reason"].is_string(), "{e}");
            }
            Some("payment_intent.payment_failed") => {
                assert!(object["last_payment_error"]["code"].is_string(), "{e}");
            }
            Some("payout.failed") => assert!(object["failure_code"].is_string(), "{e}"),
            _ => {}
        }
    }
    h.sim.stop().await;
}

#[test]
fn every_live_type_has_a_scenario_that_emits_it() {
    for kind in crate::live::STRIPE_EVENT_TYPES {
        assert!(data::scenario_for(kind).is_some(), "{kind}");
        let s = state(2);
        let ids = s.happen(2, Some(kind)).expect("happens");
        assert_eq!(ids.len(), 2, "{kind}");
        assert!(s.events()[..2].iter().all(|e| e.kind == *kind), "{kind}");
    }
}

#[test]
fn events_happen_at_run_time_like_generated_ones() {
    let s = state(31);
    let anchor = config(31).anchor.as_second();
    let before = s.event_count();
    let undelivered = s.undelivered_event_count();
    let made = s.happen(40, None).expect("happens");
    assert_eq!(made.len(), 40);
    assert_eq!(s.event_count(), before + 40);
    let unique: HashSet<&String> = made.iter().collect();
    assert_eq!(unique.len(), 40);
    assert!(
        made.iter()
            .all(|id| id.starts_with("evt_") && id.len() == 28)
    );
    // Ids derive from the seed and the count of scenarios run, not from the clock.
    assert_eq!(state(31).happen(40, None).expect("happens"), made);
    assert_ne!(state(32).happen(40, None).expect("happens"), made);

    let all = s.events().clone();
    assert!(all.windows(2).all(|w| w[0].created >= w[1].created));
    let fresh: Vec<&super::events::Event> = all[..40].iter().rev().collect();
    assert_eq!(
        fresh.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        made.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(fresh.iter().all(|e| e.created >= anchor));
    // No loopback endpoint is subscribed: nothing to deliver, nothing pending.
    assert!(fresh.iter().all(|e| e.pending_webhooks == 0));
    assert_eq!(s.undelivered_event_count(), undelivered);
    let kinds: HashSet<&str> = fresh.iter().map(|e| e.kind).collect();
    assert!(kinds.iter().any(|k| k.contains("failed")), "{kinds:?}");
    assert!(kinds.iter().any(|k| k.ends_with("succeeded")), "{kinds:?}");

    // Failures carry what error normalization reads.
    let failed = s.happen(3, Some("charge.failed")).expect("happens");
    let intents = s
        .happen(3, Some("payment_intent.payment_failed"))
        .expect("happens");
    for e in s.events().iter().take(6) {
        let object = &e.body["data"]["object"];
        if failed.contains(&e.id) {
            assert_eq!(e.kind, "charge.failed");
            assert!(object["failure_code"].is_string(), "{}", e.body);
            assert!(object["outcome"]["reason"].is_string(), "{}", e.body);
            assert_eq!(object["status"], "failed");
        } else {
            assert!(intents.contains(&e.id));
            assert!(object["last_payment_error"]["decline_code"].is_string());
            assert_eq!(object["last_payment_error"]["type"], "card_error");
        }
        assert_eq!(e.body["pending_webhooks"], 0);
        assert_eq!(e.body["id"], e.id.as_str());
    }

    // The filters see them: only after they happen, by type, delivered.
    let newer = list(&s, &format!("created[gte]={anchor}&limit=100"));
    assert_eq!(ids(&newer).len(), 46);
    let older = list(&s, &format!("created[lt]={anchor}&limit=100"));
    assert!(ids(&older).iter().all(|id| !unique.contains(id)));
    let typed = list(
        &s,
        &format!("created[gte]={anchor}&types[]=charge.failed&limit=100"),
    );
    assert!(failed.iter().all(|id| ids(&typed).contains(id)));
    let delivered = list(
        &s,
        &format!("created[gte]={anchor}&delivery_success=true&limit=100"),
    );
    assert_eq!(ids(&delivered).len(), 46);

    let err = s.happen(1, Some("charge.exploded")).expect_err("unknown");
    assert!(err.contains("charge.failed"), "{err}");
}
