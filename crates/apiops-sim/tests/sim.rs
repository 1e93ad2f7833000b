//! The simulator's edge over HTTP: provider-shaped rate limits (Twilio concurrency 429/20429,
//! Stripe per-second 429, OpenAI RPM with x-ratelimit-* and Retry-After), auth errors, and
//! injected faults — random and scripted (`/_sim/faults`) — each counted in `/_sim/stats`;
//! side effects per operation; and tool calling in chat completions.

use std::collections::HashMap;
use std::time::Duration;

use apiops_sim::{Fault, FaultRule, RunningSim, SimConfig, Simulator};
use reqwest::Method;
use serde_json::{Value, json};

fn base() -> SimConfig {
    SimConfig {
        messages: 200,
        anchor: "2026-11-25T12:00:00Z".parse().expect("anchor"),
        ..SimConfig::default()
    }
}

/// Waits until `cond` holds, polling; the deadline only bounds a hang.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn twilio_refuses_requests_above_its_concurrency_cap_with_20429() {
    let api = Api::start_with_timeout(
        SimConfig {
            twilio_concurrency: 2,
            ..base()
        },
        Duration::from_secs(600),
    )
    .await;
    // Two requests hang in the simulator (a scripted fault), so the cap is reached for as long
    // as the test needs, whatever the machine's speed.
    api.sim
        .script_fault(FaultRule::new(Fault::Hang, "GET", ".json").times(2))
        .expect("rule");
    let hung: Vec<_> = (0..2)
        .map(|_| tokio::spawn(api.twilio(Method::GET, ".json").send()))
        .collect();
    eventually("two requests in flight", || {
        api.sim.scripted_faults()[0].fired == 2
    })
    .await;
    for _ in 0..6 {
        let r = api
            .twilio(Method::GET, ".json")
            .send()
            .await
            .expect("answered");
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["twilio-concurrent-requests"], "3");
        let body: serde_json::Value = r.json().await.expect("json");
        assert_eq!(body["code"], 20429);
    }
    let stats = api.stats().await;
    assert_eq!(stats["rate_limited"]["twilio"], 6);
    for h in hung {
        h.abort();
    }
}

#[tokio::test]
async fn stripe_limits_the_rate_and_openai_the_minute() {
    let api = Api::start(SimConfig {
        stripe_rate: 3,
        openai_rpm: Some(2),
        ..base()
    })
    .await;
    // Bursts of ten at once: a bucket of 3 refilled at 3/s lets through at most 3 plus what
    // refilled while the burst lasted, and refuses the rest with Stripe's 429. A very slow
    // machine may refill enough for a whole burst; the next one then tries again.
    let mut refused = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while refused == 0 {
        assert!(std::time::Instant::now() < deadline, "no burst was limited");
        let started = std::time::Instant::now();
        let burst = (0..10).map(|_| api.stripe(Method::GET, "/v1/balance").send());
        let responses = futures::future::join_all(burst).await;
        let lasted = started.elapsed().as_secs_f64();
        let mut ok = 0;
        for r in responses {
            let r = r.expect("answered");
            match r.status().as_u16() {
                200 => ok += 1,
                429 => {
                    let body: serde_json::Value = r.json().await.expect("json");
                    assert_eq!(body["error"]["code"], "rate_limit");
                    refused += 1;
                }
                other => panic!("unexpected {other}"),
            }
        }
        assert!(
            f64::from(ok) <= 3.0 + 3.0 * lasted + 1.0,
            "{ok} let through in {lasted:.2} s"
        );
    }
    assert_eq!(api.stats().await["rate_limited"]["stripe"], refused);

    let mut last = None;
    for i in 0..3 {
        let r = api
            .openai(Method::GET, "/models")
            .send()
            .await
            .expect("answered");
        let h = r.headers();
        assert_eq!(h["x-ratelimit-limit-requests"], "2");
        assert!(h.contains_key("x-ratelimit-reset-requests"));
        if i < 2 {
            assert_eq!(r.status(), 200);
            assert_eq!(
                h["x-ratelimit-remaining-requests"],
                (1 - i).to_string().as_str()
            );
        }
        last = Some(r);
    }
    let r = last.expect("third");
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
}

#[tokio::test]
async fn wrong_credentials_get_each_providers_own_error() {
    let api = Api::start(base()).await;
    let (client, env) = (&api.client, &api.env);
    let r = client
        .get(api.account_url(".json"))
        .basic_auth(&env["TWILIO_ACCOUNT_SID"], Some("wrong"))
        .send()
        .await
        .expect("answered");
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["code"], 20003);
    let r = client
        .get(format!("{}/v1/balance", env["APIOPS_STRIPE_API_URL"]))
        .bearer_auth("sk_test_wrong_key_000000000")
        .send()
        .await
        .expect("answered");
    assert_eq!(r.status(), 401);
    let text = r.text().await.expect("text");
    assert!(
        text.contains("invalid_request_error") && !text.contains("sk_test_wrong_key_000000000"),
        "{text}"
    );
    let r = client
        .get(format!("{}/models", env["OPENAI_BASE_URL"]))
        .bearer_auth("sk-wrong-0000000000000000")
        .send()
        .await
        .expect("answered");
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "invalid_api_key");
    let r = api
        .openai(Method::GET, "/organization/projects")
        .send()
        .await
        .expect("answered");
    assert_eq!(r.status(), 403, "admin endpoints need the admin key");
}

#[tokio::test]
async fn injected_faults_are_each_kind_and_counted() {
    let api = Api::start_with_timeout(
        SimConfig {
            fault_rate: 1.0,
            seed: 5,
            ..base()
        },
        Duration::from_millis(800),
    )
    .await;
    let mut outcomes: HashMap<&str, u32> = HashMap::new();
    for _ in 0..40 {
        let r = api.openai(Method::GET, "/models").send().await;
        let kind = match r {
            Err(e) if e.is_timeout() => "timeout",
            Err(_) => "reset",
            Ok(r) => match r.status().as_u16() {
                500 | 503 => "5xx",
                200 => match r.json::<serde_json::Value>().await {
                    Ok(_) => "ok",
                    Err(_) => "malformed",
                },
                other => panic!("unexpected status {other}"),
            },
        };
        *outcomes.entry(kind).or_default() += 1;
    }
    assert_eq!(
        outcomes.get("ok"),
        None,
        "every request is faulted: {outcomes:?}"
    );
    for kind in ["5xx", "reset", "malformed", "timeout"] {
        assert!(
            outcomes.get(kind).copied().unwrap_or(0) > 0,
            "no {kind}: {outcomes:?}"
        );
    }
    let stats = api.stats().await;
    let counted: u64 = stats["faults"]
        .as_object()
        .expect("faults")
        .values()
        .filter_map(|v| v.as_u64())
        .sum();
    assert_eq!(counted, 40);
}

/// Sends `request` and checks the answer's status.
/// Sends `request` and reads its JSON answer.
async fn json_of(request: reqwest::RequestBuilder) -> Value {
    let r = request.send().await.expect("answered");
    r.json().await.expect("json")
}

async fn answered(request: reqwest::RequestBuilder, status: u16) -> reqwest::Response {
    let r = request.send().await.expect("answered");
    assert_eq!(r.status(), status);
    r
}

/// A client for one running simulator, with each provider's credentials.
struct Api {
    sim: RunningSim,
    env: HashMap<&'static str, String>,
    client: reqwest::Client,
}

impl Api {
    async fn start(config: SimConfig) -> Self {
        Api::start_with_timeout(config, Duration::from_secs(5)).await
    }

    /// With a client whose requests time out after `timeout`.
    async fn start_with_timeout(config: SimConfig, timeout: Duration) -> Self {
        let sim = Simulator::new(config)
            .expect("config")
            .start()
            .await
            .expect("start");
        let env = sim.env_vars().into_iter().collect();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .expect("client");
        Api { sim, env, client }
    }

    fn account_url(&self, rest: &str) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}{rest}",
            self.env["APIOPS_TWILIO_API_URL"], self.env["TWILIO_ACCOUNT_SID"]
        )
    }

    /// A request to `url` with the Twilio account's credentials.
    fn twilio_at(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.client.request(method, url).basic_auth(
            &self.env["TWILIO_ACCOUNT_SID"],
            Some(&self.env["TWILIO_AUTH_TOKEN"]),
        )
    }

    /// A request to the Twilio account's resource `rest`.
    fn twilio(&self, method: reqwest::Method, rest: &str) -> reqwest::RequestBuilder {
        self.twilio_at(method, &self.account_url(rest))
    }

    fn stripe(&self, method: reqwest::Method, rest: &str) -> reqwest::RequestBuilder {
        self.client
            .request(
                method,
                format!("{}{rest}", self.env["APIOPS_STRIPE_API_URL"]),
            )
            .bearer_auth(&self.env["STRIPE_SECRET_KEY"])
    }

    fn openai(&self, method: reqwest::Method, rest: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{rest}", self.env["OPENAI_BASE_URL"]))
            .bearer_auth(&self.env["OPENAI_API_KEY"])
    }

    async fn chat(&self, body: &Value) -> (u16, Value) {
        let r = self
            .openai(Method::POST, "/chat/completions")
            .json(body)
            .send()
            .await
            .expect("answered");
        let status = r.status().as_u16();
        (status, r.json().await.expect("json"))
    }

    /// An owned number that can send SMS.
    async fn sms_sender(&self) -> String {
        let page: Value = json_of(self.twilio(Method::GET, "/IncomingPhoneNumbers.json")).await;
        page["incoming_phone_numbers"]
            .as_array()
            .expect("numbers")
            .iter()
            .find(|n| n["capabilities"]["sms"] == true)
            .and_then(|n| n["phone_number"].as_str())
            .expect("an SMS number")
            .to_owned()
    }

    /// Sends one SMS; the HTTP status, or `None` when the connection failed.
    async fn send_sms(&self, from: &str, to: &str) -> Option<u16> {
        self.twilio(Method::POST, "/Messages.json")
            .form(&[("To", to), ("From", from), ("Body", "hello")])
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16())
    }

    async fn control(&self, method: reqwest::Method, body: Option<&str>) -> (u16, Value) {
        let mut req = self
            .client
            .request(method, format!("{}/_sim/faults", self.sim.base_url()));
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_owned());
        }
        let r = req.send().await.expect("answered");
        let status = r.status().as_u16();
        (status, r.json().await.expect("json"))
    }

    async fn stats(&self) -> Value {
        self.client
            .get(format!("{}/_sim/stats", self.sim.base_url()))
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("json")
    }
}

#[tokio::test]
async fn a_scripted_fault_skips_then_fires_then_stops_and_is_counted() {
    let api = Api::start(base()).await;
    let index = api
        .sim
        .script_fault(
            FaultRule::new(Fault::ServerError, "post", "/Messages.json")
                .skip(1)
                .times(1),
        )
        .expect("valid rule");
    assert_eq!(index, 0);
    let from = api.sms_sender().await;
    let mut statuses = Vec::new();
    for to in ["+14155550100", "+14155550101", "+14155550102"] {
        statuses.push(api.send_sms(&from, to).await);
    }
    assert_eq!(statuses, [Some(201), Some(500), Some(201)]);
    // Listing messages is a GET: the rule's method does not match.
    answered(api.twilio(Method::GET, "/Messages.json?PageSize=1"), 200).await;
    let rules = api.sim.scripted_faults();
    assert_eq!((rules[0].matched, rules[0].fired), (3, 1));
    let stats = api.stats().await;
    assert_eq!(stats["faults"]["server_error"], 1);
    assert_eq!(stats["side_effects"]["twilio.messages.create"], 2);
    assert_eq!(
        stats["requests"]["twilio.messages.create"], 2,
        "the faulted one never reached the handler"
    );
    assert_eq!(api.sim.stats().faults.get("server_error"), Some(&1));
    // Bad rules are refused from Rust too.
    assert!(
        api.sim
            .script_fault(FaultRule::new(Fault::Hang, "GET", "").times(0))
            .is_err()
    );
    assert_eq!(api.sim.clear_faults(), 1);
    assert_eq!(api.send_sms(&from, "+14155550103").await, Some(201));
}

#[tokio::test]
async fn a_body_rule_fails_the_one_message_whatever_the_order() {
    let api = Api::start(base()).await;
    api.sim
        .script_fault(
            FaultRule::new(Fault::Reset, "POST", "/Messages.json").body_contains("+14155550102"),
        )
        .expect("valid rule");
    let from = api.sms_sender().await;
    let targets = [
        "+14155550104",
        "+14155550102",
        "+14155550100",
        "+14155550103",
    ];
    let sends = targets.iter().map(|to| api.send_sms(&from, to));
    let outcomes = futures::future::join_all(sends).await;
    for (to, outcome) in targets.iter().zip(&outcomes) {
        if *to == "+14155550102" {
            assert_eq!(*outcome, None, "the connection to {to} is reset");
        } else {
            assert_eq!(*outcome, Some(201), "{to}");
        }
    }
    let stats = api.stats().await;
    assert_eq!(stats["faults"]["reset"], 1);
    assert_eq!(stats["side_effects"]["twilio.messages.create"], 3);
    let rules = api.sim.scripted_faults();
    assert_eq!((rules[0].matched, rules[0].fired), (1, 1));
}

#[tokio::test]
async fn faults_are_scripted_over_http_and_method_and_path_must_match() {
    let api = Api::start(base()).await;
    let (status, added) = api
        .control(
            Method::POST,
            Some(r#"{"method":"POST","path_contains":"/IncomingPhoneNumbers.json","kind":"unavailable","times":1}"#),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["index"], 0);
    let (status, _) = api
        .control(
            Method::POST,
            Some(r#"{"method":"DELETE","path_contains":"/webhook_endpoints/","kind":"malformed"}"#),
        )
        .await;
    assert_eq!(status, 201);
    // A GET of the same path passes; the POST (a purchase) gets Twilio's 503.
    answered(api.twilio(Method::GET, "/IncomingPhoneNumbers.json"), 200).await;
    let buy = || {
        api.twilio(Method::POST, "/IncomingPhoneNumbers.json")
            .form(&[("AreaCode", "415")])
            .send()
    };
    let r = buy().await.expect("answered");
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["code"], 20500);
    let r = buy().await.expect("answered");
    assert_eq!(r.status(), 201, "times: 1 — the retry goes through");
    let (status, listed) = api.control(Method::GET, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        listed["rules"][0],
        json!({"method": "POST", "path_contains": "/IncomingPhoneNumbers.json", "body_contains": null,
               "query_contains": null, "kind": "unavailable", "skip": 0, "times": 1, "matched": 2, "fired": 1})
    );
    assert_eq!(listed["rules"][1]["matched"], 0);
    assert_eq!(listed["rules"][1]["times"], Value::Null, "forever");
    let stats = api.stats().await;
    assert_eq!(
        stats["side_effects"]["twilio.numbers.buy"], 1,
        "exactly one purchase"
    );
    assert_eq!(stats["faults"]["unavailable"], 1);

    // Bad bodies get a 400 with the reason, never a panic.
    for (bad, needle) in [
        ("{\"kind\":", "EOF"),
        ("{\"kind\":\"explode\"}", "unknown variant"),
        (
            "{\"kind\":\"hang\",\"pathcontains\":\"/x\"}",
            "unknown field",
        ),
        ("{\"kind\":\"hang\",\"times\":0}", "times"),
        ("{\"kind\":\"hang\",\"method\":\"GE T\"}", "method"),
        ("[]", "invalid"),
        ("", "EOF"),
    ] {
        let (status, err) = api.control(Method::POST, Some(bad)).await;
        assert_eq!(status, 400, "{bad}: {err}");
        let reason = err["error"].as_str().unwrap_or_default();
        assert!(reason.contains(needle), "{bad}: {reason}");
    }
    let (status, cleared) = api.control(Method::DELETE, None).await;
    assert_eq!((status, cleared), (200, json!({"cleared": 2})));
    let (_, listed) = api.control(Method::GET, None).await;
    assert_eq!(listed, json!({"rules": []}));
}

#[tokio::test]
async fn a_scripted_hang_times_the_client_out_and_stopping_ends_it() {
    let api = Api::start(base()).await;
    api.sim
        .script_fault(FaultRule::new(Fault::Hang, "POST", "/v1/webhook_endpoints/").times(1))
        .expect("valid rule");
    let list: Value = json_of(api.stripe(Method::GET, "/v1/webhook_endpoints")).await;
    let id = list["data"][0]["id"]
        .as_str()
        .expect("an endpoint")
        .to_owned();
    let update = |description: &'static str| {
        api.stripe(Method::POST, &format!("/v1/webhook_endpoints/{id}"))
            .form(&[("description", description)])
            .timeout(Duration::from_millis(300))
            .send()
    };
    let err = update("first").await.expect_err("hangs");
    assert!(err.is_timeout(), "{err}");
    let r = update("second").await.expect("answered");
    assert_eq!(r.status(), 200);
    let stats = api.stats().await;
    assert_eq!(stats["faults"]["hang"], 1);
    assert_eq!(stats["side_effects"]["stripe.webhook_endpoints.update"], 1);

    // A hang still in flight when the simulator stops is dropped, not waited for.
    api.sim
        .script_fault(FaultRule::new(Fault::Hang, "GET", "/v1/balance"))
        .expect("valid rule");
    let client = reqwest::Client::new();
    let hanging = client
        .get(format!("{}/v1/balance", api.env["APIOPS_STRIPE_API_URL"]))
        .bearer_auth(&api.env["STRIPE_SECRET_KEY"])
        .send();
    let hanging = tokio::spawn(hanging);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopped = tokio::time::timeout(Duration::from_secs(10), api.sim.stop()).await;
    assert!(stopped.is_ok(), "stop waited for the hang");
    let outcome = tokio::time::timeout(Duration::from_secs(10), hanging)
        .await
        .expect("the hanging request ended")
        .expect("joined");
    assert!(outcome.is_err(), "the connection is dropped: {outcome:?}");
}

#[tokio::test]
async fn scripted_faults_cannot_be_set_when_the_listen_may_be_remote() {
    let api = Api::start(SimConfig {
        allow_non_loopback: true,
        ..base()
    })
    .await;
    let (status, err) = api.control(Method::POST, Some(r#"{"kind":"hang"}"#)).await;
    assert_eq!(status, 403);
    assert!(
        err["error"]
            .as_str()
            .is_some_and(|e| e.contains("loopback")),
        "{err}"
    );
    let (status, listed) = api.control(Method::GET, None).await;
    assert_eq!((status, listed), (200, json!({"rules": []})));
    // Only the HTTP control is refused; a test in-process may still script.
    assert!(
        api.sim
            .script_fault(FaultRule::new(Fault::Hang, "GET", "/x"))
            .is_ok()
    );
}

#[tokio::test]
async fn every_mutation_is_counted_as_a_side_effect() {
    let api = Api::start(base()).await;
    let from = api.sms_sender().await;
    assert_eq!(api.send_sms(&from, "+14155550100").await, Some(201));
    let r = answered(
        api.twilio(Method::POST, "/IncomingPhoneNumbers.json")
            .form(&[("AreaCode", "650")]),
        201,
    )
    .await;
    let bought: Value = r.json().await.expect("json");
    let sid = bought["sid"].as_str().expect("sid").to_owned();
    answered(
        api.twilio(Method::POST, &format!("/IncomingPhoneNumbers/{sid}.json"))
            .form(&[("FriendlyName", "renamed")]),
        200,
    )
    .await;
    answered(
        api.twilio(Method::DELETE, &format!("/IncomingPhoneNumbers/{sid}.json")),
        204,
    )
    .await;
    let r = answered(
        api.stripe(Method::POST, "/v1/webhook_endpoints").form(&[
            ("url", "https://example.com/hook"),
            ("enabled_events[]", "*"),
        ]),
        200,
    )
    .await;
    let created: Value = r.json().await.expect("json");
    let we = created["id"].as_str().expect("id").to_owned();
    answered(
        api.stripe(Method::POST, &format!("/v1/webhook_endpoints/{we}"))
            .form(&[("disabled", "true")]),
        200,
    )
    .await;
    answered(
        api.stripe(Method::DELETE, &format!("/v1/webhook_endpoints/{we}")),
        200,
    )
    .await;
    // A refused mutation is a request, not a side effect.
    let r = api
        .twilio(Method::POST, "/IncomingPhoneNumbers.json")
        .form(&[("AreaCode", "999")])
        .send()
        .await
        .expect("answered");
    assert!(r.status().is_client_error());
    let stats = api.stats().await;
    let effects = &stats["side_effects"];
    for op in [
        "twilio.messages.create",
        "twilio.numbers.buy",
        "twilio.numbers.update",
        "twilio.numbers.release",
        "stripe.webhook_endpoints.create",
        "stripe.webhook_endpoints.update",
        "stripe.webhook_endpoints.delete",
    ] {
        assert_eq!(effects[op], 1, "{op}: {stats}");
    }
    assert_eq!(stats["requests"]["twilio.numbers.buy"], 2);
}

/// Tools a planner could offer.
fn planner_tools() -> Value {
    json!([
        {"type": "function", "function": {
            "name": "twilio_numbers_buy",
            "description": "Buy a phone number in an area code",
            "parameters": {"type": "object", "properties": {
                "area_code": {"type": "string"}, "phone_number": {"type": "string"}}}}},
        {"type": "function", "function": {
            "name": "twilio_messages_create",
            "description": "Send an SMS message",
            "parameters": {"type": "object", "properties": {
                "to": {"type": "string"}, "from": {"type": "string"}, "body": {"type": "string"}},
                "required": ["to", "body"]}}},
        {"type": "function", "function": {
            "name": "stripe_webhook_endpoints_update",
            "description": "Point a Stripe webhook endpoint at a new URL",
            "parameters": {"type": "object", "properties": {
                "endpoint": {"type": "string"}, "url": {"type": "string", "format": "uri"}}}}},
        {"type": "function", "function": {
            "name": "twilio_messages_failed",
            "description": "List failed messages over a recent window",
            "parameters": {"type": "object", "properties": {"since": {"type": "string"}}}}}
    ])
}

fn user(text: &str) -> Value {
    json!([{"role": "system", "content": "You operate APIs."}, {"role": "user", "content": text}])
}

/// The single tool call of a completion: its name and parsed arguments.
fn called(done: &Value) -> (String, Value) {
    assert_eq!(done["choices"][0]["finish_reason"], "tool_calls", "{done}");
    let message = &done["choices"][0]["message"];
    assert_eq!(message["role"], "assistant");
    assert_eq!(message["content"], Value::Null);
    let calls = message["tool_calls"].as_array().expect("tool_calls");
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert!(
        call["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("call_")),
        "{call}"
    );
    assert_eq!(call["type"], "function");
    let arguments = call["function"]["arguments"]
        .as_str()
        .expect("a JSON string");
    (
        call["function"]["name"].as_str().expect("name").to_owned(),
        serde_json::from_str(arguments).expect("arguments are JSON"),
    )
}

#[tokio::test]
async fn chat_with_tools_calls_the_matching_tool_with_extracted_arguments() {
    let api = Api::start(base()).await;
    let ask = |text: &str| json!({"model": "gpt-4o-mini", "messages": user(text), "tools": planner_tools()});
    let cases = [
        (
            "Buy a new number in area code 415",
            "twilio_numbers_buy",
            json!({"area_code": "415"}),
        ),
        (
            "send an SMS from +14155550100 to +14155550102 saying the deploy is done",
            "twilio_messages_create",
            json!({"from": "+14155550100", "to": "+14155550102"}),
        ),
        (
            "point webhook endpoint we_1Abc2 at https://hooks.example.com/stripe.",
            "stripe_webhook_endpoints_update",
            json!({"endpoint": "we_1Abc2", "url": "https://hooks.example.com/stripe"}),
        ),
        (
            "which messages failed in the last 6h?",
            "twilio_messages_failed",
            json!({"since": "6h"}),
        ),
    ];
    for (text, tool, arguments) in cases {
        let (status, done) = api.chat(&ask(text)).await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(called(&done), (tool.to_owned(), arguments), "{text}");
        let usage = &done["usage"];
        assert_eq!(
            usage["total_tokens"].as_u64(),
            Some(
                usage["prompt_tokens"].as_u64().unwrap_or(0)
                    + usage["completion_tokens"].as_u64().unwrap_or(0)
            )
        );
        assert!(usage["completion_tokens"].as_u64().is_some_and(|t| t > 0));
    }
    // The same request twice: the same call (ids differ with the completion).
    let (_, a) = api.chat(&ask("Buy a new number in area code 415")).await;
    let (_, b) = api.chat(&ask("Buy a new number in area code 415")).await;
    assert_eq!(called(&a), called(&b));
    assert_ne!(
        a["choices"][0]["message"]["tool_calls"][0]["id"],
        b["choices"][0]["message"]["tool_calls"][0]["id"]
    );
    // The tool definitions count in the prompt.
    let (_, plain) = api
        .chat(
            &json!({"model": "gpt-4o-mini", "messages": user("Buy a new number in area code 415")}),
        )
        .await;
    assert!(a["usage"]["prompt_tokens"].as_u64() > plain["usage"]["prompt_tokens"].as_u64());
    // A named choice forces the tool.
    let (_, forced) = api
        .chat(&json!({"model": "gpt-4o-mini", "messages": user("area code 212 please"), "tools": planner_tools(),
                       "tool_choice": {"type": "function", "function": {"name": "twilio_messages_failed"}}}))
        .await;
    assert_eq!(
        called(&forced),
        ("twilio_messages_failed".to_owned(), json!({}))
    );
    let stats = api.stats().await;
    assert_eq!(stats["side_effects"]["openai.chat.create"], 8);
}

#[tokio::test]
async fn chat_with_tools_answers_plainly_when_nothing_fits_or_after_a_result() {
    let api = Api::start(base()).await;
    let (status, done) = api
        .chat(&json!({"model": "gpt-4o-mini", "messages": user("what is the weather in Paris?"), "tools": planner_tools()}))
        .await;
    assert_eq!(status, 200);
    let choice = &done["choices"][0];
    assert_eq!(choice["finish_reason"], "stop");
    assert!(choice["message"].get("tool_calls").is_none(), "{done}");
    let content = choice["message"]["content"].as_str().expect("text");
    assert!(
        content.contains("cannot map") && content.contains("twilio_numbers_buy"),
        "{content}"
    );

    // After the tool's result, the model reports instead of calling again.
    let messages = json!([
        {"role": "user", "content": "Buy a new number in area code 415"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
            "function": {"name": "twilio_numbers_buy", "arguments": "{\"area_code\":\"415\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"sid\": \"PN123\"}"}
    ]);
    let (status, done) = api
        .chat(&json!({"model": "gpt-4o-mini", "messages": messages, "tools": planner_tools()}))
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["choices"][0]["finish_reason"], "stop");
    assert!(
        done["choices"][0]["message"]["content"]
            .as_str()
            .is_some_and(|c| c.contains("twilio_numbers_buy"))
    );

    // tool_choice "none": the ordinary reply.
    let (_, none) = api
        .chat(&json!({"model": "gpt-4o-mini", "messages": user("Buy a number in 415"), "tools": planner_tools(), "tool_choice": "none"}))
        .await;
    assert_eq!(
        none["choices"][0]["message"]["content"],
        "This is a simulated reply from apiops-sim (gpt-4o-mini) to 2 message(s)."
    );

    // Without tools nothing changed.
    let (status, done) = api
        .chat(&json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Buy a number in 415"}], "max_tokens": 5}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(done["choices"][0]["finish_reason"], "length");
    assert_eq!(
        done["choices"][0]["message"]["content"],
        "This is a simulated "
    );
    assert!(done["choices"][0]["message"].get("tool_calls").is_none());
    assert_eq!(done["usage"]["completion_tokens"], 5);

    // Tools OpenAI would refuse are refused: a dotted name, a choice naming no offered tool.
    let (status, err) = api
        .chat(&json!({"model": "gpt-4o-mini", "messages": user("hi"),
                       "tools": [{"type": "function", "function": {"name": "twilio.numbers.buy"}}]}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["param"], "tools[0].function.name");
    let (status, err) = api
        .chat(&json!({"model": "gpt-4o-mini", "messages": user("hi"), "tool_choice": "auto"}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["param"], "tool_choice");
}

/// What a webhook receiver got: the `Stripe-Signature` header and the body of each request.
type Got = std::sync::Arc<std::sync::Mutex<Vec<(String, bytes::Bytes)>>>;

/// A tiny webhook receiver on loopback: records every request and answers `status`.
struct Receiver {
    addr: std::net::SocketAddr,
    got: Got,
    status: std::sync::Arc<std::sync::atomic::AtomicU16>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Listens on `addr` (port 0 for any).
    async fn start(addr: std::net::SocketAddr, got: Got) -> Self {
        use std::sync::atomic::{AtomicU16, Ordering};
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let status = std::sync::Arc::new(AtomicU16::new(200));
        let (g, s) = (got.clone(), status.clone());
        let app = axum::Router::new().route(
            "/hooks/stripe",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: bytes::Bytes| async move {
                    let signature = headers
                        .get("stripe-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    g.lock().expect("lock").push((signature, body));
                    axum::http::StatusCode::from_u16(s.load(Ordering::SeqCst)).expect("a status")
                },
            ),
        );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            addr,
            got,
            status,
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/hooks/stripe", self.addr)
    }

    /// The event ids received, in order.
    fn ids(&self) -> Vec<String> {
        received_ids(&self.got)
    }

    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

fn received_ids(got: &Got) -> Vec<String> {
    got.lock()
        .expect("lock")
        .iter()
        .map(|(_, body)| {
            let v: Value = serde_json::from_slice(body).expect("event JSON");
            v["id"].as_str().expect("id").to_owned()
        })
        .collect()
}

/// Checks a `Stripe-Signature` the way a receiver does: HMAC-SHA256 of `t.payload` under the
/// secret, hex, and a timestamp within five minutes.
fn verify_stripe_signature(secret: &str, header: &str, body: &[u8]) -> bool {
    use hmac::{KeyInit, Mac};
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = x.parse::<i64>().ok(),
            Some(("v1", x)) => v1.push(x.to_owned()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if (jiff::Timestamp::now().as_second() - t).abs() > 300 {
        return false;
    }
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let want = hex::encode(mac.finalize().into_bytes());
    v1.contains(&want)
}

impl Api {
    async fn sim_post(&self, path: &str, body: &str) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}{path}", self.sim.base_url()))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("answered");
        let status = r.status().as_u16();
        (status, r.json().await.expect("json"))
    }

    async fn stripe_get(&self, rest: &str) -> Value {
        let r = self
            .stripe(Method::GET, rest)
            .send()
            .await
            .expect("answered");
        assert_eq!(r.status(), 200, "{rest}");
        r.json().await.expect("json")
    }

    /// The ids of the events created at or after `t` passing `filters`, newest first.
    async fn events_since(&self, t: i64, filters: &str) -> Vec<String> {
        let page = self
            .stripe_get(&format!("/v1/events?created[gte]={t}&limit=100{filters}"))
            .await;
        page["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|e| e["id"].as_str().expect("id").to_owned())
            .collect()
    }

    /// Creates a webhook endpoint; returns the answer.
    async fn create_endpoint(&self, url: &str, events: &[&str]) -> Value {
        let mut form = vec![("url", url)];
        form.extend(events.iter().map(|e| ("enabled_events[]", *e)));
        let r = self
            .stripe(Method::POST, "/v1/webhook_endpoints")
            .form(&form)
            .send()
            .await
            .expect("answered");
        assert_eq!(r.status(), 200);
        r.json().await.expect("json")
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|s| s.as_str().expect("a string").to_owned())
        .collect()
}

/// The simulator's now: the wall clock, never before the anchor (so a window from here on
/// excludes every generated record).
fn sim_now() -> jiff::Timestamp {
    jiff::Timestamp::now().max(base().anchor)
}

fn reversed(v: &[String]) -> Vec<String> {
    v.iter().rev().cloned().collect()
}

#[tokio::test]
async fn stripe_events_happen_at_run_time_listed_filtered_and_delivered_signed() {
    let api = Api::start(base()).await;
    let secret = api.env["STRIPE_WEBHOOK_SECRET"].clone();
    let receiver = Receiver::start("127.0.0.1:0".parse().expect("addr"), Got::default()).await;
    let created = api
        .create_endpoint(
            &receiver.url(),
            &["charge.failed", "payment_intent.payment_failed"],
        )
        .await;
    assert_eq!(created["secret"], secret.as_str(), "the endpoint's secret");
    let t0 = sim_now().as_second();
    assert!(api.events_since(t0, "").await.is_empty(), "nothing yet");

    let (status, report) = api
        .sim_post(
            "/_sim/stripe/events",
            r#"{"count": 3, "type": "charge.failed"}"#,
        )
        .await;
    assert_eq!(status, 201, "{report}");
    let ids = strings(&report["ids"]);
    assert_eq!(ids.len(), 3);
    assert_eq!(strings(&report["delivered"]), ids);
    assert!(strings(&report["pending"]).is_empty());
    for e in report["events"].as_array().expect("events") {
        assert_eq!(e["type"], "charge.failed");
        assert_eq!(e["pending_webhooks"], 0);
        assert_eq!(e["delivered"], true);
        let attempts = e["attempts"].as_array().expect("attempts");
        assert_eq!(attempts.len(), 1, "only the loopback endpoint: {e}");
        assert_eq!(attempts[0]["endpoint"], created["id"]);
        assert_eq!(attempts[0]["status"], 200);
    }
    // Each was POSTed once, signed with the account's secret, as the event object.
    assert_eq!(receiver.ids(), ids);
    for (signature, body) in receiver.got.lock().expect("lock").iter() {
        assert!(
            verify_stripe_signature(&secret, signature, body),
            "{signature}"
        );
        assert!(!verify_stripe_signature("whsec_other", signature, body));
        let event: Value = serde_json::from_slice(body).expect("json");
        assert_eq!(event["object"], "event");
        assert_eq!(event["type"], "charge.failed");
        let charge = &event["data"]["object"];
        assert!(charge["failure_code"].is_string(), "{event}");
        assert!(charge["outcome"]["reason"].is_string(), "{event}");
    }

    // Listed newest first, like generated events, with every filter.
    assert_eq!(api.events_since(t0, "").await, reversed(&ids));
    assert_eq!(
        api.events_since(t0, "&delivery_success=true").await,
        reversed(&ids)
    );
    assert!(
        api.events_since(t0, "&delivery_success=false")
            .await
            .is_empty()
    );
    let older = api
        .stripe_get(&format!("/v1/events?created[lt]={t0}&limit=100"))
        .await;
    assert!(
        older["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|e| !ids.iter().any(|id| e["id"] == id.as_str()))
    );
    let page = api
        .stripe_get(&format!("/v1/events?created[gte]={t0}"))
        .await;
    let one = api.stripe_get(&format!("/v1/events/{}", ids[2])).await;
    assert_eq!(one, page["data"][0]);
    assert_eq!(one["pending_webhooks"], 0);

    // A type the endpoint is not subscribed to: nothing to deliver, nothing pending.
    let quiet = api
        .sim
        .stripe_events_happen(1, Some("customer.created"))
        .await
        .expect("happens");
    assert_eq!(receiver.ids().len(), 3);
    assert_eq!(
        api.events_since(t0, "&types[]=customer.created").await,
        quiet
    );
    assert_eq!(
        api.events_since(t0, "&types[]=charge.failed&types[]=payout.failed")
            .await,
        reversed(&ids)
    );
    assert_eq!(
        api.events_since(t0, "&delivery_success=true").await.len(),
        4
    );

    // The default mix: failures and successes, delivered where subscribed.
    let (status, mixed) = api
        .sim_post("/_sim/stripe/events", r#"{"count": 30}"#)
        .await;
    assert_eq!(status, 201, "{mixed}");
    assert_eq!(strings(&mixed["ids"]).len(), 30);
    let kinds: std::collections::HashSet<String> = mixed["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["type"].as_str().expect("type").to_owned())
        .collect();
    assert!(kinds.len() > 2, "{kinds:?}");
    assert_eq!(strings(&mixed["delivered"]).len(), receiver.ids().len() - 3);
    assert_eq!(api.events_since(t0, "").await.len(), 34);
    receiver.stop().await;
}

#[tokio::test]
async fn failed_deliveries_stay_pending_until_redelivered_once() {
    let api = Api::start(base()).await;
    let secret = api.env["STRIPE_WEBHOOK_SECRET"].clone();
    // A port nobody listens on yet: the receiver is down.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let url = format!("http://{addr}/hooks/stripe");
    api.create_endpoint(&url, &["*"]).await;
    let t0 = sim_now().as_second();

    let (status, report) = api
        .sim_post(
            "/_sim/stripe/events",
            r#"{"count": 2, "type": "payment_intent.payment_failed"}"#,
        )
        .await;
    assert_eq!(status, 201, "{report}");
    let ids = strings(&report["ids"]);
    assert!(strings(&report["delivered"]).is_empty());
    assert_eq!(strings(&report["pending"]), ids);
    for e in report["events"].as_array().expect("events") {
        assert_eq!(e["pending_webhooks"], 1);
        let error = e["attempts"][0]["error"].as_str().unwrap_or_default();
        assert!(error.contains("connection"), "{e}");
        assert_eq!(e["attempts"][0]["status"], Value::Null);
    }
    assert_eq!(
        api.events_since(t0, "&delivery_success=false").await,
        reversed(&ids)
    );
    assert!(
        api.events_since(t0, "&delivery_success=true")
            .await
            .is_empty()
    );
    let one = api.stripe_get(&format!("/v1/events/{}", ids[0])).await;
    assert_eq!(one["pending_webhooks"], 1);
    // Appended without delivery: pending too, and nothing sent.
    let (status, quiet) = api
        .sim_post(
            "/_sim/stripe/events",
            r#"{"type": "charge.failed", "deliver": false}"#,
        )
        .await;
    assert_eq!(status, 201, "{quiet}");
    let quiet = strings(&quiet["pending"]);
    assert_eq!(quiet.len(), 1);

    // The receiver comes up, answering 500 at first: still pending.
    let receiver = Receiver::start(addr, Got::default()).await;
    receiver
        .status
        .store(500, std::sync::atomic::Ordering::SeqCst);
    let retried = api.sim.stripe_redeliver().await;
    assert_eq!(retried.ids.len(), 3);
    assert!(retried.delivered.is_empty());
    assert_eq!(retried.pending.len(), 3);
    assert_eq!(
        retried.events[0].attempts[0].error.as_deref(),
        Some("HTTP 500 Internal Server Error")
    );
    assert_eq!(
        api.events_since(t0, "&delivery_success=false").await.len(),
        3
    );

    // Then 200: each event is delivered exactly once more, oldest first, and stops pending.
    receiver.got.lock().expect("lock").clear();
    receiver
        .status
        .store(200, std::sync::atomic::Ordering::SeqCst);
    let (status, retried) = api.sim_post("/_sim/stripe/redeliver", "").await;
    assert_eq!(status, 200, "{retried}");
    let mut all = ids.clone();
    all.extend(quiet.iter().cloned());
    assert_eq!(strings(&retried["ids"]), all);
    assert_eq!(strings(&retried["delivered"]), all);
    assert!(strings(&retried["pending"]).is_empty());
    assert_eq!(receiver.ids(), all);
    for (signature, body) in receiver.got.lock().expect("lock").iter() {
        assert!(verify_stripe_signature(&secret, signature, body));
        let event: Value = serde_json::from_slice(body).expect("json");
        assert_eq!(event["pending_webhooks"], 1, "as it stood when sent");
    }
    assert!(
        api.events_since(t0, "&delivery_success=false")
            .await
            .is_empty()
    );
    assert_eq!(
        api.events_since(t0, "&delivery_success=true").await,
        reversed(&all)
    );
    let one = api.stripe_get(&format!("/v1/events/{}", ids[0])).await;
    assert_eq!(one["pending_webhooks"], 0);
    // Nothing left to retry.
    let (_, again) = api.sim_post("/_sim/stripe/redeliver", "{}").await;
    assert!(strings(&again["ids"]).is_empty());
    assert_eq!(receiver.ids().len(), 3);
    receiver.stop().await;
}

#[tokio::test]
async fn bad_run_time_requests_get_a_400_with_the_reason() {
    let api = Api::start(base()).await;
    for (path, bad, needle) in [
        (
            "/_sim/stripe/events",
            r#"{"type": "charge.exploded"}"#,
            "unknown event type",
        ),
        ("/_sim/stripe/events", r#"{"count": 0}"#, "count 0"),
        ("/_sim/stripe/events", r#"{"count": 1001}"#, "1000"),
        ("/_sim/stripe/events", r#"{"count": "two"}"#, "invalid type"),
        (
            "/_sim/stripe/events",
            r#"{"kind": "charge.failed"}"#,
            "unknown field",
        ),
        ("/_sim/stripe/events", "[]", "JSON object"),
        ("/_sim/stripe/events", "{\"count\":", "EOF"),
        (
            "/_sim/stripe/redeliver",
            r#"{"all": true}"#,
            "unknown field",
        ),
        (
            "/_sim/twilio/alerts",
            r#"{"error_code": "99999"}"#,
            "unknown error_code",
        ),
        (
            "/_sim/twilio/alerts",
            r#"{"error_code": "3OOO7"}"#,
            "not a Twilio error code",
        ),
        ("/_sim/twilio/alerts", r#"{"count": -3}"#, "invalid value"),
        ("/_sim/twilio/alerts", "not json", "invalid request"),
    ] {
        let (status, err) = api.sim_post(path, bad).await;
        assert_eq!(status, 400, "{path} {bad}: {err}");
        let reason = err["error"].as_str().unwrap_or_default();
        assert!(reason.contains(needle), "{path} {bad}: {reason}");
    }
    assert!(api.sim.stripe_events_happen(0, None).await.is_err());
    assert!(api.sim.twilio_alerts_happen(1, Some(1)).is_err());
}

#[tokio::test]
async fn twilio_alerts_happen_at_run_time_and_list_with_start_date() {
    let api = Api::start(base()).await;
    let alerts_url = format!("{}/v1/Alerts", api.env["APIOPS_TWILIO_MONITOR_URL"]);
    let list = |query: String| {
        let request = api.twilio_at(Method::GET, &format!("{alerts_url}?{query}"));
        async move {
            let page: Value = answered(request, 200).await.json().await.expect("json");
            page["alerts"]
                .as_array()
                .expect("alerts")
                .iter()
                .map(|a| a["sid"].as_str().expect("sid").to_owned())
                .collect::<Vec<String>>()
        }
    };
    let t0 = sim_now();
    let start = t0.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    assert!(list(format!("StartDate={start}")).await.is_empty());

    let (status, raised) = api
        .sim_post(
            "/_sim/twilio/alerts",
            r#"{"count": 3, "error_code": "30007"}"#,
        )
        .await;
    assert_eq!(status, 201, "{raised}");
    let sids = strings(&raised["sids"]);
    assert_eq!(sids.len(), 3);
    for a in raised["alerts"].as_array().expect("alerts") {
        assert_eq!(a["error_code"], "30007");
        assert!(
            a["url"]
                .as_str()
                .is_some_and(|u| u.starts_with(&alerts_url))
        );
    }
    assert_eq!(list(format!("StartDate={start}")).await, reversed(&sids));
    assert_eq!(list("PageSize=3".into()).await, reversed(&sids));
    let before = (t0 - jiff::SignedDuration::from_secs(1))
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let older = list(format!("EndDate={before}&PageSize=1000")).await;
    assert!(!older.is_empty());
    assert!(older.iter().all(|s| !sids.contains(s)));

    let more = api.sim.twilio_alerts_happen(2, None).expect("raised");
    let mut all = sids.clone();
    all.extend(more);
    assert_eq!(list(format!("StartDate={start}")).await, reversed(&all));
    let one: Value = answered(
        api.twilio_at(Method::GET, &format!("{alerts_url}/{}", sids[0])),
        200,
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(one["sid"], sids[0].as_str());
    assert!(one["request_variables"].is_string());
}

#[tokio::test]
async fn run_time_events_are_refused_over_http_when_the_listen_may_be_remote() {
    let api = Api::start(SimConfig {
        allow_non_loopback: true,
        ..base()
    })
    .await;
    let before = api.sim.sim.state().stripe.event_count();
    for path in [
        "/_sim/stripe/events",
        "/_sim/stripe/redeliver",
        "/_sim/twilio/alerts",
    ] {
        let (status, err) = api.sim_post(path, "{}").await;
        assert_eq!(status, 403, "{path}");
        assert!(
            err["error"]
                .as_str()
                .is_some_and(|e| e.contains("loopback")),
            "{err}"
        );
    }
    assert_eq!(api.sim.sim.state().stripe.event_count(), before);
    // Only the HTTP control is refused; a test in-process may still make things happen.
    assert_eq!(
        api.sim
            .stripe_events_happen(1, None)
            .await
            .expect("happens")
            .len(),
        1
    );
}

#[tokio::test]
async fn a_hung_receiver_costs_one_timeout_and_leaves_every_event_pending() {
    let api = Api::start(base()).await;
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hang = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    api.create_endpoint(&format!("http://{addr}/hooks/stripe"), &["charge.failed"])
        .await;
    let report = api
        .sim
        .sim
        .state()
        .stripe_events_happen(&apiops_sim::live::StripeEventsRequest::new(
            3,
            Some("charge.failed"),
        ))
        .await
        .expect("happens");
    // One timeout, not three: the first delivery timed out, the others were not attempted
    // against the same hung receiver (no clock needed to tell).
    assert_eq!(report.pending, report.ids);
    let errors: Vec<&str> = report
        .events
        .iter()
        .map(|e| e.attempts[0].error.as_deref().unwrap_or_default())
        .collect();
    assert!(errors[0].starts_with("timed out"), "{errors:?}");
    assert!(
        errors[1..].iter().all(|e| e.contains("timed out earlier")),
        "{errors:?}"
    );
    hang.abort();
}
