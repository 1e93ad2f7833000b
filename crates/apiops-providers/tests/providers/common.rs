//! What the provider tests share (`tests/usage.rs` too): a simulator anchored at one instant,
//! clients' settings for its accounts, short client timeouts,
//! time windows up to the anchor, scans, counters of the simulator, secret checks, listings
//! read without apiops, and the checks every provider passes against a server that answers
//! with JSON cut short.

use std::collections::HashMap;
use std::time::Duration;

use apiops_core::{ErrorEvent, HealthStatus};
use apiops_providers::stripe::StripeConfig;
use apiops_providers::twilio::TwilioConfig;
use apiops_providers::{ClientTuning, Progress, Provider, ProviderError, TimeWindow};
use apiops_sim::{RunningSim, SimConfig, Simulator};
use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use secrecy::SecretString;
use serde_json::Value;
use url::Url;

/// The instant the simulator's data ends at.
pub(crate) fn anchor() -> Timestamp {
    "2026-11-25T10:00:00Z".parse().expect("anchor")
}

/// Simulator settings at [`anchor`] with `seed` and `messages` Twilio messages.
pub(crate) fn sim_config(seed: u64, messages: usize) -> SimConfig {
    SimConfig {
        seed,
        anchor: anchor(),
        messages,
        ..SimConfig::default()
    }
}

pub(crate) async fn start(config: SimConfig) -> RunningSim {
    Simulator::new(config)
        .expect("sim config")
        .start()
        .await
        .expect("sim start")
}

/// Short timeouts and delays, so injected hangs and retries cost little.
pub(crate) fn tuning() -> ClientTuning {
    ClientTuning {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(3),
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(500),
        ..ClientTuning::default()
    }
}

/// The simulator's variables: URLs and credentials.
pub(crate) fn env(running: &RunningSim) -> HashMap<&'static str, String> {
    running.env_vars().into_iter().collect()
}

pub(crate) fn secret(v: &str) -> Option<SecretString> {
    Some(SecretString::from(v.to_owned()))
}

/// A Twilio client's settings for the simulator's account: its four hosts and credentials,
/// `max_concurrency` calls at once, with `tuning`.
pub(crate) fn twilio_config(
    running: &RunningSim,
    max_concurrency: usize,
    tuning: ClientTuning,
) -> TwilioConfig {
    let e = env(running);
    let url = |k: &str| Url::parse(&e[k]).expect("url");
    TwilioConfig {
        api_url: url("APIOPS_TWILIO_API_URL"),
        monitor_url: url("APIOPS_TWILIO_MONITOR_URL"),
        messaging_url: url("APIOPS_TWILIO_MESSAGING_URL"),
        pricing_url: url("APIOPS_TWILIO_PRICING_URL"),
        account_sid: secret(&e["TWILIO_ACCOUNT_SID"]),
        auth_token: secret(&e["TWILIO_AUTH_TOKEN"]),
        api_key: None,
        api_secret: None,
        max_concurrency,
        tuning,
    }
}

/// A Stripe client's settings for the simulator's account (its secret key and host), with
/// `tuning`.
pub(crate) fn stripe_config(running: &RunningSim, tuning: ClientTuning) -> StripeConfig {
    let e = env(running);
    let mut c = StripeConfig::official(secret(&e["STRIPE_SECRET_KEY"])).expect("config");
    c.api_url = Url::parse(&e["APIOPS_STRIPE_API_URL"]).expect("url");
    c.tuning = tuning;
    c
}

/// The `hours` before [`anchor`], and the hour after it.
pub(crate) fn hours_to_anchor(hours: i64) -> TimeWindow {
    TimeWindow {
        since: anchor() - SignedDuration::from_hours(hours),
        until: anchor() + SignedDuration::from_hours(1),
    }
}

pub(crate) fn seven_days() -> TimeWindow {
    hours_to_anchor(7 * 24)
}

pub(crate) fn month() -> TimeWindow {
    hours_to_anchor(30 * 24)
}

/// Every item (or error) of `p`'s error scan over `w`, and its progress.
pub(crate) async fn scan(
    p: &impl Provider,
    w: TimeWindow,
) -> (Vec<Result<ErrorEvent, ProviderError>>, Progress) {
    let progress = Progress::default();
    let items = p.errors(w, progress.clone()).collect().await;
    (items, progress)
}

pub(crate) fn assert_no_secret(text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(!text.contains(s.as_str()), "a secret leaked into: {text}");
    }
}

/// How many times the simulator carried out operation `op` (a side effect).
pub(crate) fn side_effects(running: &RunningSim, op: &str) -> u64 {
    running
        .sim
        .state()
        .stats
        .snapshot()
        .side_effects
        .get(op)
        .copied()
        .unwrap_or(0)
}

/// How many requests the simulator refused with a 429 for `service`.
pub(crate) fn rate_limited(running: &RunningSim, service: &str) -> u64 {
    running
        .sim
        .state()
        .stats
        .snapshot()
        .rate_limited
        .get(service)
        .copied()
        .unwrap_or(0)
}

/// One page of a listing, answered 2xx.
pub(crate) async fn page(request: reqwest::RequestBuilder) -> Value {
    request
        .send()
        .await
        .expect("page")
        .error_for_status()
        .expect("2xx")
        .json()
        .await
        .expect("json")
}

/// Every item of a cursor-paged list at `url` (`data` and `has_more`, the next page after the
/// last item's id in `cursor`), read page by page with bearer `key`, without apiops.
pub(crate) async fn list_cursor_pages(url: &str, key: &str, cursor: &str) -> Vec<Value> {
    let http = reqwest::Client::new();
    let mut out: Vec<Value> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut req = http.get(url).bearer_auth(key).query(&[("limit", "100")]);
        if let Some(a) = &after {
            req = req.query(&[(cursor, a.as_str())]);
        }
        let page = page(req).await;
        let data = page["data"].as_array().expect("data").clone();
        after = data
            .last()
            .and_then(|v| v["id"].as_str())
            .map(str::to_owned);
        out.extend(data);
        if page["has_more"] != Value::Bool(true) {
            break;
        }
    }
    out
}

/// A window after the data and an empty one: no events, nothing matched.
pub(crate) async fn assert_empty_windows_give_no_events(p: &impl Provider) {
    let future = TimeWindow {
        since: anchor() + SignedDuration::from_hours(24),
        until: anchor() + SignedDuration::from_hours(48),
    };
    let (items, progress) = scan(p, future).await;
    assert!(items.is_empty(), "{items:?}");
    assert_eq!(progress.snapshot().2, 0);
    let nothing = TimeWindow {
        since: anchor(),
        until: anchor(),
    };
    let (items, progress) = scan(p, nothing).await;
    assert!(items.is_empty());
    assert_eq!(progress.snapshot(), (0, 0, 0));
}

/// Against a server whose JSON is cut short (a [`crate::recorder::Recorder`]): health is down,
/// the scan over `w` gives one clear error per window it could not read — at least one per
/// source (`sources`), and nothing else — and the audit fails clearly; none of it panics or
/// shows any of `secrets`.
pub(crate) async fn assert_malformed_json_is_a_clear_error(
    p: &impl Provider,
    w: TimeWindow,
    sources: usize,
    secrets: &[&str],
) {
    let clean =
        |text: &str| text.contains("malformed") && !secrets.iter().any(|s| text.contains(s));
    let h = p.health().await;
    assert_eq!(h.status, HealthStatus::Down);
    let reason = h.reason.expect("reason");
    assert!(clean(&reason), "{reason}");
    let (items, _) = scan(p, w).await;
    assert!(items.len() >= sources, "an error per source: {items:?}");
    for item in &items {
        let text = item.as_ref().expect_err("an error").to_string();
        assert!(clean(&text), "{text}");
    }
    let audit = p
        .audit()
        .await
        .expect_err("audit fails clearly")
        .to_string();
    assert!(clean(&audit), "{audit}");
}
