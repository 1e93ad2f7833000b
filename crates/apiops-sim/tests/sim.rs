//! The simulator's edge over HTTP: provider-shaped rate limits (Twilio concurrency 429/20429,
//! Stripe per-second 429, OpenAI RPM with x-ratelimit-* and Retry-After), auth errors, and
//! injected faults — each counted in `/_sim/stats`.

use std::collections::HashMap;
use std::time::Duration;

use apiops_sim::{RunningSim, SimConfig, Simulator};

async fn start(config: SimConfig) -> (RunningSim, HashMap<&'static str, String>) {
    let sim = Simulator::new(config)
        .expect("config")
        .start()
        .await
        .expect("start");
    let env = sim.env_vars().into_iter().collect();
    (sim, env)
}

fn base() -> SimConfig {
    SimConfig {
        messages: 200,
        anchor: "2026-11-25T12:00:00Z".parse().expect("anchor"),
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn twilio_refuses_requests_above_its_concurrency_cap_with_20429() {
    let (sim, env) = start(SimConfig {
        twilio_concurrency: 2,
        latency: Duration::from_millis(400),
        ..base()
    })
    .await;
    let url = format!(
        "{}/2010-04-01/Accounts/{}.json",
        env["APIOPS_TWILIO_API_URL"], env["TWILIO_ACCOUNT_SID"]
    );
    let client = reqwest::Client::new();
    let calls = (0..8).map(|_| {
        client
            .get(&url)
            .basic_auth(&env["TWILIO_ACCOUNT_SID"], Some(&env["TWILIO_AUTH_TOKEN"]))
            .send()
    });
    let responses = futures::future::join_all(calls).await;
    let mut ok = 0;
    let mut limited = 0;
    for r in responses {
        let r = r.expect("answered");
        match r.status().as_u16() {
            200 => ok += 1,
            429 => {
                assert!(r.headers().contains_key("twilio-concurrent-requests"));
                let body: serde_json::Value = r.json().await.expect("json");
                assert_eq!(body["code"], 20429);
                limited += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ok + limited, 8);
    assert!((1..=2).contains(&ok), "at most the cap in flight: {ok}");
    assert!(limited >= 6);
    let stats: serde_json::Value = reqwest::get(format!("{}/_sim/stats", sim.base_url()))
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    assert_eq!(stats["rate_limited"]["twilio"], limited);
}

#[tokio::test]
async fn stripe_limits_the_rate_and_openai_the_minute() {
    let (sim, env) = start(SimConfig {
        stripe_rate: 3,
        openai_rpm: Some(2),
        ..base()
    })
    .await;
    let client = reqwest::Client::new();
    let mut stripe_codes = Vec::new();
    for _ in 0..10 {
        let r = client
            .get(format!("{}/v1/balance", env["APIOPS_STRIPE_API_URL"]))
            .bearer_auth(&env["STRIPE_SECRET_KEY"])
            .send()
            .await
            .expect("answered");
        let status = r.status().as_u16();
        if status == 429 {
            let body: serde_json::Value = r.json().await.expect("json");
            assert_eq!(body["error"]["code"], "rate_limit");
        }
        stripe_codes.push(status);
    }
    assert!(stripe_codes.iter().filter(|s| **s == 200).count() >= 3);
    assert!(stripe_codes.contains(&429), "{stripe_codes:?}");

    let mut last = None;
    for i in 0..3 {
        let r = client
            .get(format!("{}/models", env["OPENAI_BASE_URL"]))
            .bearer_auth(&env["OPENAI_API_KEY"])
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
    drop(sim);
}

#[tokio::test]
async fn wrong_credentials_get_each_providers_own_error() {
    let (_sim, env) = start(base()).await;
    let client = reqwest::Client::new();
    let r = client
        .get(format!(
            "{}/2010-04-01/Accounts/{}.json",
            env["APIOPS_TWILIO_API_URL"], env["TWILIO_ACCOUNT_SID"]
        ))
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
    let r = client
        .get(format!("{}/organization/projects", env["OPENAI_BASE_URL"]))
        .bearer_auth(&env["OPENAI_API_KEY"])
        .send()
        .await
        .expect("answered");
    assert_eq!(r.status(), 403, "admin endpoints need the admin key");
}

#[tokio::test]
async fn injected_faults_are_each_kind_and_counted() {
    let (sim, env) = start(SimConfig {
        fault_rate: 1.0,
        seed: 5,
        ..base()
    })
    .await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(800))
        .build()
        .expect("client");
    let mut outcomes: HashMap<&str, u32> = HashMap::new();
    for _ in 0..40 {
        let r = client
            .get(format!("{}/models", env["OPENAI_BASE_URL"]))
            .bearer_auth(&env["OPENAI_API_KEY"])
            .send()
            .await;
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
    let stats: serde_json::Value = reqwest::get(format!("{}/_sim/stats", sim.base_url()))
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    let counted: u64 = stats["faults"]
        .as_object()
        .expect("faults")
        .values()
        .filter_map(|v| v.as_u64())
        .sum();
    assert_eq!(counted, 40);
}
