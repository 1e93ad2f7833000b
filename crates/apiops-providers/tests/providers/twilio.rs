//! The Twilio provider against the in-process simulator (and a server that answers malformed
//! JSON): health, the error scan cross-checked against an independent listing, rate-limit
//! storms, injected faults, empty histories, the audit's planted misconfigurations, and no
//! secret in anything the provider returns.

use std::collections::BTreeSet;
use std::time::Duration;

use apiops_core::{Category, ErrorEvent, HealthStatus, Severity};
use apiops_providers::twilio::{Twilio, TwilioClient, TwilioConfig};
use apiops_providers::{Provider, ProviderError, TimeWindow};
use apiops_sim::{RunningSim, SimConfig};
use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use url::Url;

use crate::common::{
    anchor, assert_malformed_json_is_a_clear_error, assert_no_secret, env, hours_to_anchor, page,
    rate_limited, scan, secret, seven_days, sim_config, start, tuning, twilio_config,
};
use crate::recorder::Recorder;

async fn sim(seed: u64, messages: usize) -> RunningSim {
    start(sim_config(seed, messages)).await
}

fn config(running: &RunningSim, max_concurrency: usize) -> TwilioConfig {
    twilio_config(running, max_concurrency, tuning())
}

fn twilio(running: &RunningSim, max_concurrency: usize) -> Twilio {
    Twilio::new(config(running, max_concurrency)).expect("twilio")
}

/// The account of [`twilio_at`]'s clients.
const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "token_0123456789abcdef0123456789";

/// A Twilio client whose four hosts are `base`, with [`SID`] and [`TOKEN`].
fn twilio_at(base: &str) -> Twilio {
    let url = Url::parse(base).expect("url");
    let mut c = TwilioConfig::official(secret(SID), secret(TOKEN)).expect("config");
    c.api_url = url.clone();
    c.monitor_url = url.clone();
    c.messaging_url = url.clone();
    c.pricing_url = url;
    c.tuning = tuning();
    Twilio::new(c).expect("twilio")
}

/// Every secret of the simulator's Twilio account, and the SID.
fn secrets(running: &RunningSim) -> Vec<String> {
    let c = &running.sim.state().creds;
    vec![
        c.twilio_account_sid.clone(),
        c.twilio_auth_token.clone(),
        c.twilio_api_key.clone(),
        c.twilio_api_secret.clone(),
    ]
}

/// Lists a 2010-API resource the way the SDKs do, one page at a time, without apiops.
async fn list_all(running: &RunningSim, resource: &str, key: &str, query: &str) -> Vec<Value> {
    let e = env(running);
    let (api, sid, token) = (
        &e["APIOPS_TWILIO_API_URL"],
        &e["TWILIO_ACCOUNT_SID"],
        &e["TWILIO_AUTH_TOKEN"],
    );
    let http = reqwest::Client::new();
    let mut url = format!("{api}/2010-04-01/Accounts/{sid}/{resource}?{query}");
    let mut out = Vec::new();
    loop {
        let page = page(http.get(&url).basic_auth(sid, Some(token))).await;
        out.extend(page[key].as_array().expect("items").iter().cloned());
        match page["next_page_uri"].as_str() {
            Some(next) => url = format!("{api}{next}"),
            None => break,
        }
    }
    out
}

fn rfc2822(v: &Value) -> Option<Timestamp> {
    jiff::fmt::rfc2822::parse(v.as_str()?)
        .ok()
        .map(|z| z.timestamp())
}

/// The SIDs of failed and undelivered messages sent in `w`, listed independently.
async fn expected_failed_messages(running: &RunningSim, w: TimeWindow) -> BTreeSet<String> {
    list_all(running, "Messages.json", "messages", "PageSize=1000")
        .await
        .iter()
        .filter(|m| matches!(m["status"].as_str(), Some("failed" | "undelivered")))
        .filter(|m| rfc2822(&m["date_sent"]).is_some_and(|t| w.since <= t && t < w.until))
        .map(|m| m["sid"].as_str().expect("sid").to_owned())
        .collect()
}

async fn expected_failed_calls(running: &RunningSim, w: TimeWindow) -> BTreeSet<String> {
    list_all(running, "Calls.json", "calls", "PageSize=1000")
        .await
        .iter()
        .filter(|c| c["status"] == "failed")
        .filter(|c| rfc2822(&c["start_time"]).is_some_and(|t| w.since <= t && t < w.until))
        .map(|c| c["sid"].as_str().expect("sid").to_owned())
        .collect()
}

fn sids_of(events: &[ErrorEvent], resource_type: &str) -> BTreeSet<String> {
    events
        .iter()
        .filter(|e| e.resource_type == resource_type)
        .map(|e| e.resource_id.clone())
        .collect()
}

/// Whether `text` holds a whole E.164 number (`+` and 8 digits or more in a row).
fn has_whole_phone_number(text: &str) -> bool {
    text.split('+')
        .skip(1)
        .any(|rest| rest.chars().take_while(char::is_ascii_digit).count() >= 8)
}

#[tokio::test]
async fn health_is_operational_against_the_simulator() {
    let running = sim(11, 300).await;
    let twilio = twilio(&running, 100);
    let h = twilio.health().await;
    assert_eq!(h.status, HealthStatus::Operational, "{h:?}");
    assert_eq!(h.reason, None);
    assert!(h.latency_ms.is_some());
    let balance: f64 = h.details["balance"].parse().expect("balance is a number");
    assert!(balance > 0.0);
    assert_eq!(h.details["currency"], "USD");
    assert_eq!(h.details["account_status"], "active");
    assert_eq!(h.details["account_type"], "Full");
    assert_eq!(h.details["breaker.twilio.api"], "closed");
    assert_eq!(h.details["credential"], "auth token");
    assert!(h.details["account"].contains("..."), "the SID is masked");
    assert!(
        h.details.contains_key("concurrent_requests"),
        "{:?}",
        h.details
    );
    let json = serde_json::to_string(&h).expect("json");
    assert_no_secret(&json, &secrets(&running));
    running.stop().await;
}

#[tokio::test]
async fn api_key_credentials_work_and_are_preferred() {
    let running = sim(12, 100).await;
    let creds = running.sim.state().creds.clone();
    let mut c = config(&running, 10);
    c.api_key = secret(&creds.twilio_api_key);
    c.api_secret = secret(&creds.twilio_api_secret);
    c.auth_token = secret("not-the-token-0123456789abcdef");
    let twilio = Twilio::new(c).expect("twilio");
    let h = twilio.health().await;
    assert_eq!(h.status, HealthStatus::Operational, "{h:?}");
    assert!(
        h.details["credential"].starts_with("API key SK"),
        "{:?}",
        h.details
    );
    assert_no_secret(
        &serde_json::to_string(&h).expect("json"),
        &secrets(&running),
    );
    running.stop().await;
}

#[tokio::test]
async fn a_wrong_token_is_down_with_20003_and_never_shows_the_token() {
    let running = sim(13, 100).await;
    let wrong = "wrong_token_0123456789abcdef0123";
    let mut c = config(&running, 10);
    c.auth_token = secret(wrong);
    let twilio = Twilio::new(c).expect("twilio");
    let h = twilio.health().await;
    assert_eq!(h.status, HealthStatus::Down);
    assert_eq!(h.reason.as_deref(), Some("credentials rejected (20003)"));
    let json = serde_json::to_string(&h).expect("json");
    assert!(!json.contains(wrong), "{json}");
    assert_no_secret(&json, &secrets(&running));

    // The error scan fails clearly too, without the token.
    let (results, _) = scan(&twilio, seven_days()).await;
    let err = results
        .iter()
        .find_map(|r| r.as_ref().err())
        .expect("an error");
    let text = err.to_string();
    assert!(text.contains("401") && text.contains("20003"), "{text}");
    assert!(!text.contains(wrong), "{text}");
    assert_no_secret(&text, &secrets(&running));
    assert_eq!(results.len(), 1, "rejected credentials end the whole scan");
    running.stop().await;
}

#[tokio::test]
async fn errors_over_seven_days_match_an_independent_listing() {
    let running = sim(14, 3000).await;
    let w = seven_days();
    let want_messages = expected_failed_messages(&running, w).await;
    let want_calls = expected_failed_calls(&running, w).await;
    assert!(want_messages.len() > 20, "the simulator has failures");
    assert!(!want_calls.is_empty());

    let twilio = twilio(&running, 16);
    let (results, progress) = scan(&twilio, w).await;
    let events: Vec<ErrorEvent> = results
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("no failures");
    assert_eq!(sids_of(&events, "message"), want_messages);
    assert_eq!(
        events
            .iter()
            .filter(|e| e.resource_type == "message")
            .count(),
        want_messages.len(),
        "each failed message exactly once"
    );
    assert_eq!(sids_of(&events, "call"), want_calls);

    let alerts: Vec<&ErrorEvent> = events
        .iter()
        .filter(|e| e.resource_type == "alert")
        .collect();
    assert!(!alerts.is_empty());
    let alert_sids: BTreeSet<&str> = alerts.iter().map(|e| e.resource_id.as_str()).collect();
    assert_eq!(alert_sids.len(), alerts.len(), "alerts deduplicated by SID");
    assert!(alerts.iter().any(|e| e.error_code == "11200"));

    let (pages, items, matched) = progress.snapshot();
    assert_eq!(matched, events.len() as u64);
    assert!(
        pages > 0 && items >= 3000,
        "progress counted every page: {pages} {items}"
    );

    let secrets = secrets(&running);
    for e in &events {
        assert!(w.since <= e.timestamp && e.timestamp < w.until);
        assert!(!e.context.is_empty() && e.context.chars().count() <= 160);
        assert!(
            !has_whole_phone_number(&e.context),
            "unmasked number: {}",
            e.context
        );
        assert_no_secret(&serde_json::to_string(e).expect("json"), &secrets);
        let c = twilio.classify(&e.error_code, None);
        assert_eq!(c.category, e.category);
    }
    let spam = events
        .iter()
        .find(|e| e.error_code == "30007" && e.resource_type == "message")
        .expect("a 30007");
    assert_eq!(spam.category, Category::SpamBlocked);
    assert!(spam.context.contains("***"), "{}", spam.context);
    running.stop().await;
}

#[tokio::test]
async fn an_empty_history_gives_no_events() {
    let running = sim(15, 500).await;
    let twilio = twilio(&running, 8);
    let before = TimeWindow {
        since: anchor() - SignedDuration::from_hours(90 * 24),
        until: anchor() - SignedDuration::from_hours(60 * 24),
    };
    let (results, progress) = scan(&twilio, before).await;
    assert!(results.is_empty(), "{results:?}");
    assert_eq!(progress.snapshot().2, 0);
    let nothing = TimeWindow {
        since: anchor(),
        until: anchor(),
    };
    assert!(scan(&twilio, nothing).await.0.is_empty());
    running.stop().await;
}

#[tokio::test]
async fn a_429_storm_still_completes() {
    let running = start(SimConfig {
        twilio_concurrency: 2,
        latency: Duration::from_millis(20),
        ..sim_config(16, 1000)
    })
    .await;
    let w = hours_to_anchor(24);
    let want = expected_failed_messages(&running, w).await;
    let twilio = twilio(&running, 8);
    let (results, _) = scan(&twilio, w).await;
    assert!(rate_limited(&running, "twilio") > 0, "the storm happened");
    match results.into_iter().collect::<Result<Vec<ErrorEvent>, _>>() {
        Ok(events) => assert_eq!(sids_of(&events, "message"), want),
        Err(e) => {
            let text = e.to_string();
            assert!(text.contains("429"), "a clear rate-limit error: {text}");
            assert_no_secret(&text, &secrets(&running));
        }
    }
    running.stop().await;
}

#[tokio::test]
async fn injected_faults_complete_or_fail_clearly() {
    let faulty = start(SimConfig {
        fault_rate: 0.2,
        ..sim_config(17, 1000)
    })
    .await;
    // The planted failures, listed from a twin without faults: same seed, same data.
    let twin = sim(17, 1000).await;
    let w = hours_to_anchor(48);
    let want_messages = expected_failed_messages(&twin, w).await;
    let want_calls = expected_failed_calls(&twin, w).await;
    assert!(want_messages.len() > 5, "the simulator plants failures");
    twin.stop().await;

    let mut c = config(&faulty, 8);
    c.tuning.timeout = Duration::from_millis(700);
    let twilio = Twilio::new(c).expect("twilio");
    let secrets = secrets(&faulty);
    // Each run either finds exactly the planted failures or ends clearly; what it does find is
    // always planted. Faults are random, so a few runs make at least one complete.
    let mut completed = 0;
    for _ in 0..8 {
        let (results, _) = scan(&twilio, w).await;
        for e in results.iter().filter_map(|r| r.as_ref().err()) {
            let text = e.to_string();
            assert!(!text.trim().is_empty());
            assert_no_secret(&text, &secrets);
        }
        assert!(
            results.iter().filter(|r| r.is_err()).count() <= 3,
            "at most one failure per source"
        );
        let events: Vec<ErrorEvent> = results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .cloned()
            .collect();
        let (messages, calls) = (sids_of(&events, "message"), sids_of(&events, "call"));
        assert!(
            messages.is_subset(&want_messages),
            "only planted messages: {messages:?}"
        );
        assert!(
            calls.is_subset(&want_calls),
            "only planted calls: {calls:?}"
        );
        assert_eq!(
            events
                .iter()
                .filter(|e| e.resource_type == "message")
                .count(),
            messages.len(),
            "each failed message once"
        );
        if results.iter().all(Result::is_ok) {
            assert_eq!(
                messages, want_messages,
                "a complete run finds every planted message"
            );
            assert_eq!(calls, want_calls, "a complete run finds every planted call");
            completed += 1;
            break;
        }
    }
    assert!(completed > 0, "no run completed through the faults");
    let h = twilio.health().await;
    assert_no_secret(&serde_json::to_string(&h).expect("json"), &secrets);
    let faults: u64 = faulty.sim.state().stats.snapshot().faults.values().sum();
    assert!(faults > 0, "faults were injected");
    faulty.stop().await;
}

#[tokio::test]
async fn the_audit_finds_the_planted_misconfigurations() {
    let running = sim(18, 200).await;
    let twilio = twilio(&running, 10);
    let findings = twilio.audit().await.expect("audit");
    let find = |needle: &str| {
        findings
            .iter()
            .find(|f| f.title.contains(needle))
            .unwrap_or_else(|| panic!("no finding with {needle:?} in {findings:#?}"))
    };
    let legacy = find("(Legacy SMS): SMS URL http://legacy.example.com/sms");
    assert!(legacy.title.contains("not HTTPS"));
    assert_eq!(legacy.severity, Severity::Warning);
    let private = find("(Support line): SMS URL http://10.0.0.5/sms");
    assert_eq!(private.severity, Severity::Critical);
    let local = find("(Dev hook): SMS URL http://localhost/hook");
    assert_eq!(local.severity, Severity::Critical);
    let orphan = find("(Unused) is orphaned");
    assert_eq!(orphan.severity, Severity::Warning);
    assert!(
        orphan.remediation.contains("monthly charge of 1.15 USD"),
        "priced from the pricing API: {}",
        orphan.remediation
    );
    find("(IVR) has no voice fallback URL");
    find("(Legacy SMS) has no status callback");
    let ten_dlc = find("Marketing campaigns is not registered for US A2P 10DLC");
    assert_eq!(ten_dlc.severity, Severity::Warning);
    find("Marketing campaigns: inbound request URL http://marketing.example.com/inbound");
    find("Marketing campaigns has no status callback");
    let support = find("Customer support: inbound request URL http://10.0.0.5/inbound");
    assert!(support.title.ends_with("(configured but not used)"));
    assert!(
        !findings.iter().any(|f| f.title.contains("(Main line)")),
        "the well-configured number is clean"
    );
    let console: Vec<_> = findings.iter().filter(|f| f.console_only).collect();
    assert_eq!(console.len(), 1);
    assert!(
        console[0]
            .remediation
            .contains("Twilio Console at https://console.twilio.com")
    );
    for pair in findings.windows(2) {
        assert!(pair[0].severity >= pair[1].severity, "most severe first");
    }
    let secrets = secrets(&running);
    for f in &findings {
        assert!(!f.remediation.is_empty());
        assert_no_secret(&serde_json::to_string(f).expect("json"), &secrets);
    }
    running.stop().await;
}

#[tokio::test]
async fn malformed_json_is_a_clear_error_not_a_panic() {
    let server = Recorder::start(200, r#"{"messages": [{"sid": "SM1", "status"#).await;
    let twilio = twilio_at(&server.base);
    // One error per source: messages, calls and alerts.
    assert_malformed_json_is_a_clear_error(&twilio, seven_days(), 3, &[SID, TOKEN]).await;
}

#[tokio::test]
async fn missing_credentials_are_named() {
    let running = sim(19, 10).await;
    let mut c = config(&running, 10);
    c.auth_token = None;
    match Twilio::new(c) {
        Err(ProviderError::MissingCredentials { variables, .. }) => {
            assert_eq!(variables, ["TWILIO_AUTH_TOKEN"]);
        }
        other => panic!("expected missing credentials, got {other:?}"),
    }
    running.stop().await;
}

// ---- operations: numbers and messages ----

/// Whether the account owns `number`.
async fn owns(client: &TwilioClient, number: &str) -> bool {
    let found = client.find_owned_number(number).await.expect("find");
    found.is_some()
}

/// Twilio's error code in a failed call's body.
fn twilio_code(e: &apiops_client::ClientError) -> Option<String> {
    apiops_providers::twilio::client::TwilioErrorBody::of(e).and_then(|b| b.code)
}

/// A simulator with seed `seed` for the operations tests, the provider on it, and the secrets
/// no output may show.
async fn operations_sim(seed: u64) -> (RunningSim, Twilio, Vec<String>) {
    let running = sim(seed, 50).await;
    let twilio = twilio(&running, 10);
    let secrets = secrets(&running);
    (running, twilio, secrets)
}

#[tokio::test]
async fn numbers_are_searched_bought_updated_and_released() {
    let (running, twilio, secrets) = operations_sim(20).await;
    let client = twilio.client();

    let any = client
        .available_numbers("US", None, None, 20)
        .await
        .expect("search");
    assert!(!any.is_empty() && any.len() <= 20, "{}", any.len());
    for n in &any {
        assert!(n.phone_number.starts_with("+1"), "{n:?}");
        assert_eq!(n.iso_country.as_deref(), Some("US"));
        assert!(n.friendly_name.is_some() && n.locality.is_some() && n.region.is_some());
        assert!(n.capabilities.is_some());
    }
    assert!(
        client
            .available_numbers("US", None, None, 0)
            .await
            .expect("nothing")
            .is_empty()
    );

    // An area-code search gives numbers in that area code only.
    let area: u16 = any[0].phone_number[2..5].parse().expect("area code");
    let in_area = client
        .available_numbers("us", Some(area), None, 50)
        .await
        .expect("area search");
    assert!(!in_area.is_empty());
    for n in &in_area {
        assert!(
            n.phone_number.starts_with(&format!("+1{area}")),
            "{} is not in {area}",
            n.phone_number
        );
    }
    let last4 = &in_area[0].phone_number[in_area[0].phone_number.len() - 4..];
    let by_pattern = client
        .available_numbers("US", Some(area), Some(last4), 50)
        .await
        .expect("pattern search");
    assert!(
        by_pattern
            .iter()
            .any(|n| n.phone_number == in_area[0].phone_number)
    );
    assert!(by_pattern.iter().all(|n| n.phone_number.contains(last4)));
    let bad_area = client
        .available_numbers("US", Some(42), None, 5)
        .await
        .expect_err("area code 042");
    assert_eq!(twilio_code(&bad_area).as_deref(), Some("21451"));

    // Buy one: owned afterwards, with the URL it was bought with.
    let pick = in_area[0].phone_number.clone();
    assert!(!owns(client, &pick).await, "{pick} is owned");
    let bought = client
        .buy_number(&pick, &[("SmsUrl", "https://hooks.example.com/sms")])
        .await
        .expect("buy");
    assert!(
        bought.sid.starts_with("PN") && bought.sid.len() == 34,
        "{bought:?}"
    );
    assert_eq!(bought.phone_number.as_deref(), Some(pick.as_str()));
    assert_eq!(
        bought.sms_url.as_deref(),
        Some("https://hooks.example.com/sms")
    );
    assert_eq!(bought.status.as_deref(), Some("in-use"));
    let owned = client
        .find_owned_number(&pick)
        .await
        .expect("find")
        .expect("owned after the purchase");
    assert_eq!(owned.sid, bought.sid);
    let still_for_sale = client
        .available_numbers("US", Some(area), Some(&pick[2..]), 50)
        .await
        .expect("search again");
    assert!(!still_for_sale.iter().any(|n| n.phone_number == pick));

    // Buying it again: Twilio's 21422, typed, without a secret.
    let again = client
        .buy_number(&pick, &[])
        .await
        .expect_err("already bought");
    assert_eq!(again.status(), Some(400), "{again}");
    assert_eq!(twilio_code(&again).as_deref(), Some("21422"), "{again}");
    assert_no_secret(&again.to_string(), &secrets);
    let unknown_field = client
        .buy_number(&pick, &[("sms_url", "https://x.example")])
        .await
        .expect_err("not a spec field");
    assert!(matches!(
        unknown_field,
        apiops_client::ClientError::InvalidRequest(_)
    ));

    // Update: the fetched number shows the new URLs.
    let updated = client
        .update_number(
            &bought.sid,
            &[
                ("SmsUrl", "https://ops.example.com/sms"),
                ("SmsMethod", "GET"),
                ("VoiceUrl", "https://ops.example.com/voice"),
                ("StatusCallback", "https://ops.example.com/status"),
            ],
        )
        .await
        .expect("update");
    assert_eq!(
        updated.sms_url.as_deref(),
        Some("https://ops.example.com/sms")
    );
    let fetched = client.owned_number(&bought.sid).await.expect("fetch");
    assert_eq!(
        fetched.sms_url.as_deref(),
        Some("https://ops.example.com/sms")
    );
    assert_eq!(fetched.sms_method.as_deref(), Some("GET"));
    assert_eq!(
        fetched.voice_url.as_deref(),
        Some("https://ops.example.com/voice")
    );
    assert_eq!(
        fetched.status_callback.as_deref(),
        Some("https://ops.example.com/status")
    );
    let bad_url = client
        .update_number(&bought.sid, &[("SmsUrl", "not a url")])
        .await
        .expect_err("bad URL");
    assert_eq!(twilio_code(&bad_url).as_deref(), Some("21502"));

    // Release: gone.
    client.release_number(&bought.sid).await.expect("release");
    assert!(!owns(client, &pick).await, "{pick} is owned");
    let gone = client
        .owned_number(&bought.sid)
        .await
        .expect_err("released");
    assert_eq!(gone.status(), Some(404));
    assert_eq!(twilio_code(&gone).as_deref(), Some("20404"));
    assert_no_secret(&gone.to_string(), &secrets);
    let twice = client
        .release_number(&bought.sid)
        .await
        .expect_err("released twice");
    assert_eq!(twilio_code(&twice).as_deref(), Some("20404"));
    assert!(matches!(
        client.owned_number("../Balance").await,
        Err(apiops_client::ClientError::InvalidRequest(_))
    ));

    let stats = running.sim.state().stats.snapshot();
    assert_eq!(stats.side_effects.get("twilio.numbers.buy"), Some(&1));
    assert_eq!(stats.side_effects.get("twilio.numbers.update"), Some(&1));
    assert_eq!(stats.side_effects.get("twilio.numbers.release"), Some(&1));
    running.stop().await;
}

/// Every item of a listing the client reads page by page.
async fn all_items<T>(
    pages: impl futures::Stream<Item = Result<Vec<T>, apiops_client::ClientError>>,
) -> Vec<T> {
    pages
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flat_map(|p| p.expect("a page"))
        .collect()
}

#[tokio::test]
async fn messages_are_sent_from_numbers_and_services_or_fail_with_their_code() {
    let (running, twilio, secrets) = operations_sim(21).await;
    let client = twilio.client();

    // An SMS-capable number the account owns.
    let numbers = all_items(client.incoming_phone_numbers()).await;
    let from = numbers
        .iter()
        .find(|n| n.capabilities.is_some_and(|c| c.sms))
        .and_then(|n| n.phone_number.clone())
        .expect("an SMS number");

    let sent = client
        .send_message(&from, "+14155550199", "apiops test message")
        .await
        .expect("send");
    assert!(
        sent.sid.starts_with("SM") && sent.sid.len() == 34,
        "{sent:?}"
    );
    assert_eq!(sent.status.as_deref(), Some("queued"));
    assert_eq!(sent.to.as_deref(), Some("+14155550199"));
    assert_eq!(sent.from.as_deref(), Some(from.as_str()));
    assert!(sent.error_code.is_none());
    assert!(
        !format!("{sent:?}").contains("apiops test message"),
        "body never kept"
    );

    // Through a messaging service: MessagingServiceSid instead of From.
    let services = all_items(client.messaging_services()).await;
    let mg = services.first().expect("a service").sid.clone();
    let via = client
        .send_message(&mg, "+14155550199", "hi")
        .await
        .expect("send via service");
    assert!(via.sid.starts_with("SM"));
    assert_eq!(via.messaging_service_sid.as_deref(), Some(mg.as_str()));
    assert_eq!(via.status.as_deref(), Some("accepted"));

    // Invalid recipient: 21211; a sender the account does not own: 21606.
    let bad_to = client
        .send_message(&from, "12345", "hi")
        .await
        .expect_err("invalid To");
    assert_eq!(bad_to.status(), Some(400));
    assert_eq!(twilio_code(&bad_to).as_deref(), Some("21211"), "{bad_to}");
    assert_no_secret(&bad_to.to_string(), &secrets);
    let bad_from = client
        .send_message("+19995550100", "+14155550199", "hi")
        .await
        .expect_err("not our number");
    assert_eq!(
        twilio_code(&bad_from).as_deref(),
        Some("21606"),
        "{bad_from}"
    );

    let stats = running.sim.state().stats.snapshot();
    assert_eq!(stats.side_effects.get("twilio.messages.create"), Some(&2));
    running.stop().await;
}

#[tokio::test]
async fn a_purchase_answered_500_is_sent_once_and_never_retried() {
    let server = Recorder::start(
        500,
        r#"{"code": 20500, "message": "An internal server error has occurred", "more_info": "https://www.twilio.com/docs/errors/20500", "status": 500}"#,
    )
    .await;
    let twilio = twilio_at(&server.base);
    let client = twilio.client();
    let (sid, token) = (SID, TOKEN);

    let e = client
        .buy_number(
            "+14155550134",
            &[("SmsUrl", "https://hooks.example.com/sms")],
        )
        .await
        .expect_err("500");
    assert_eq!(e.status(), Some(500));
    assert_eq!(twilio_code(&e).as_deref(), Some("20500"));
    let text = e.to_string();
    assert!(!text.contains(sid) && !text.contains(token), "{text}");

    let seen = server.seen();
    assert_eq!(
        seen.len(),
        1,
        "the purchase was sent exactly once: {seen:#?}"
    );
    let buy = &seen[0];
    assert_eq!(buy.method, "POST");
    assert_eq!(
        buy.target,
        format!("/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json")
    );
    assert_eq!(
        buy.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        buy.form(),
        vec![
            ("PhoneNumber".to_owned(), "+14155550134".to_owned()),
            (
                "SmsUrl".to_owned(),
                "https://hooks.example.com/sms".to_owned()
            ),
        ]
    );
    assert!(buy.header("idempotency-key").is_none());

    // The other writes are sent once too; a read of the same server is retried (the 500 is
    // retryable: only the method keeps the writes from being resent).
    let pn = "PN0123456789abcdef0123456789abcdef";
    client
        .update_number(pn, &[("VoiceUrl", "https://hooks.example.com/voice")])
        .await
        .expect_err("500");
    client.release_number(pn).await.expect_err("500");
    client
        .send_message("MG0123456789abcdef0123456789abcdef", "+14155550199", "hi")
        .await
        .expect_err("500");
    let seen = server.seen();
    assert_eq!(seen.len(), 4, "{seen:#?}");
    assert_eq!(seen[1].method, "POST");
    assert!(
        seen[1]
            .target
            .ends_with(&format!("/IncomingPhoneNumbers/{pn}.json"))
    );
    assert_eq!(seen[2].method, "DELETE");
    assert!(
        seen[2]
            .target
            .ends_with(&format!("/IncomingPhoneNumbers/{pn}.json"))
    );
    assert_eq!(
        seen[3].form(),
        vec![
            ("To".to_owned(), "+14155550199".to_owned()),
            (
                "MessagingServiceSid".to_owned(),
                "MG0123456789abcdef0123456789abcdef".to_owned()
            ),
            ("Body".to_owned(), "hi".to_owned()),
        ]
    );
    client.account().await.expect_err("500");
    assert_eq!(
        server.seen().len(),
        4 + tuning().max_attempts as usize,
        "a GET is retried"
    );
}

#[tokio::test]
async fn a_purchase_the_simulator_fails_with_500_is_sent_once() {
    use apiops_sim::{Fault, FaultRule};
    let running = sim(22, 50).await;
    running
        .script_fault(FaultRule::new(
            Fault::ServerError,
            "POST",
            "/IncomingPhoneNumbers.json",
        ))
        .expect("rule");
    let twilio = twilio(&running, 10);
    let client = twilio.client();
    let pick = client
        .available_numbers("US", None, None, 1)
        .await
        .expect("search")
        .remove(0)
        .phone_number;
    let e = client.buy_number(&pick, &[]).await.expect_err("500");
    assert_eq!(e.status(), Some(500));
    assert_eq!(twilio_code(&e).as_deref(), Some("20500"));
    let rules = running.scripted_faults();
    assert_eq!(rules[0].matched, 1, "sent once: {rules:?}");
    assert_eq!(rules[0].fired, 1);
    assert!(!owns(client, &pick).await, "{pick} is owned");
    let stats = running.sim.state().stats.snapshot();
    assert_eq!(stats.side_effects.get("twilio.numbers.buy"), None);
    running.stop().await;
}
