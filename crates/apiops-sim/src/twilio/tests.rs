//! Tests of the simulated Twilio: determinism, realistic proportions, paging that visits every
//! record once, date windows, purchases and sends with Twilio's errors, and the whole thing
//! over HTTP with Basic auth. Data volumes stay small so the suite stays fast.

use std::collections::{BTreeMap, HashSet};

use jiff::Timestamp;
use serde_json::Value;

use super::data::{self, MessageStatus};
use super::paging::Params;
use super::request::{NumberUpdate, SendRequest};
use super::state::TwilioState;
use crate::config::SimConfig;
use crate::server::Credentials;

fn anchor() -> Timestamp {
    "2026-11-25T10:00:00Z".parse().expect("anchor")
}

fn config(seed: u64, messages: usize) -> SimConfig {
    SimConfig {
        seed,
        messages,
        anchor: anchor(),
        ..SimConfig::default()
    }
}

fn state(seed: u64, messages: usize) -> TwilioState {
    TwilioState::generate(&config(seed, messages), &Credentials::from_seed(seed))
}

fn params(q: &str) -> Params {
    Params::parse(Some(q))
}

fn json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("serializes")
}

/// The query part of a relative or absolute link.
fn query_of(link: &str) -> String {
    link.split_once('?')
        .map(|(_, q)| q.to_owned())
        .unwrap_or_default()
}

/// Every message SID of a listing, following `next_page_uri` from `first_query`.
fn walk_messages(t: &TwilioState, first_query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut q = first_query.to_owned();
    for _ in 0..10_000 {
        let page = json(&t.messages_page(&params(&q)).expect("page"));
        out.extend(
            page["messages"]
                .as_array()
                .expect("messages")
                .iter()
                .cloned(),
        );
        match page["next_page_uri"].as_str() {
            Some(next) => {
                assert!(next.starts_with("/2010-04-01/Accounts/AC"), "{next}");
                q = query_of(next);
            }
            None => return out,
        }
    }
    panic!("paging did not end");
}

fn sent_at(m: &Value) -> i64 {
    let s = m["date_sent"].as_str().expect("date_sent");
    jiff::fmt::rfc2822::parse(s)
        .expect("rfc 2822")
        .timestamp()
        .as_second()
}

#[test]
fn same_seed_same_bytes_other_seed_other_data() {
    let render = |t: &TwilioState| -> String {
        let origin = "http://127.0.0.1:1/twilio/monitor";
        let parts = [
            serde_json::to_string(&t.messages_page(&params("PageSize=1000")).expect("m")),
            serde_json::to_string(&t.calls_page(&params("PageSize=200")).expect("c")),
            serde_json::to_string(&t.alerts_page(&params("PageSize=200"), origin).expect("a")),
            serde_json::to_string(&t.numbers_page(&params("")).expect("n")),
            serde_json::to_string(&t.services_page(&params(""), origin).expect("s")),
            serde_json::to_string(&t.available_page("US", &params("PageSize=1000")).expect("v")),
            serde_json::to_string(&t.account_view()),
        ];
        parts
            .into_iter()
            .map(|p| p.expect("json"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let a = render(&state(7, 3_000));
    let b = render(&state(7, 3_000));
    assert_eq!(a, b, "same seed and anchor must give byte-identical JSON");
    let c = render(&state(8, 3_000));
    assert_ne!(a, c);
    // Another anchor moves every date.
    let moved = TwilioState::generate(
        &SimConfig {
            anchor: "2026-11-26T10:00:00Z".parse().expect("t"),
            ..config(7, 3_000)
        },
        &Credentials::from_seed(7),
    );
    assert_ne!(a, render(&moved));
}

#[test]
fn status_and_error_mix_looks_like_real_traffic() {
    let t = state(11, 40_000);
    let msgs = &t.generated.messages;
    assert_eq!(msgs.len(), 40_000);
    let n = msgs.len() as f64;
    let count = |s: MessageStatus| msgs.iter().filter(|m| m.status == s).count() as f64;
    let failing = (count(MessageStatus::Failed) + count(MessageStatus::Undelivered)) / n;
    assert!(
        (0.008..0.03).contains(&failing),
        "failed+undelivered {failing}"
    );
    assert!(count(MessageStatus::Delivered) / n > 0.75);
    assert!(count(MessageStatus::Received) / n > 0.05);
    let mut codes: BTreeMap<u32, usize> = BTreeMap::new();
    for m in msgs {
        let failed = matches!(m.status, MessageStatus::Failed | MessageStatus::Undelivered);
        assert_eq!(failed, m.error > 0, "an error code exactly on failures");
        if m.error > 0 {
            let code = data::MESSAGE_ERRORS[usize::from(m.error) - 1].code;
            *codes.entry(code).or_default() += 1;
        }
    }
    for code in [
        30003, 30005, 30006, 30007, 30008, 21610, 21211, 30034, 30032,
    ] {
        assert!(
            codes.get(&code).copied().unwrap_or(0) > 0,
            "{code} missing: {codes:?}"
        );
    }
    let top = codes.iter().max_by_key(|(_, n)| **n).map(|(c, _)| *c);
    assert!(
        matches!(top, Some(30003 | 30034 | 30007 | 21610)),
        "{codes:?}"
    );
    // Denser recently: the last day holds more than a seventh of the traffic.
    let last_day = msgs.iter().filter(|m| m.age < 86_400).count() as f64 / n;
    assert!(last_day > 0.25, "{last_day}");
    assert!(
        msgs.windows(2).all(|w| w[0].age <= w[1].age),
        "newest first"
    );

    let calls = &t.generated.calls;
    for s in [
        data::CallStatus::Busy,
        data::CallStatus::NoAnswer,
        data::CallStatus::Failed,
        data::CallStatus::Completed,
    ] {
        assert!(calls.iter().any(|c| c.status == s), "{s:?}");
    }
    let alerts = &t.generated.alerts;
    let by_code = |code: u32| alerts.iter().filter(|a| a.kind.code() == code).count();
    assert!(by_code(11200) > by_code(11205));
    assert!(by_code(11205) > 0 && by_code(30007) > 0 && by_code(21610) > 0);
}

#[test]
fn every_message_page_is_followed_exactly_once() {
    let t = state(5, 2_345);
    let all = walk_messages(&t, "PageSize=100");
    assert_eq!(all.len(), 2_345);
    let sids: HashSet<&str> = all
        .iter()
        .map(|m| m["sid"].as_str().expect("sid"))
        .collect();
    assert_eq!(sids.len(), 2_345, "no duplicates");
    let times: Vec<i64> = all.iter().map(sent_at).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert!(times.iter().all(|&s| s <= anchor().as_second()));
    assert!(times.iter().all(|&s| s > anchor().as_second() - 7 * 86_400));

    // Page 0 envelope, as Twilio writes it.
    let first = json(&t.messages_page(&params("PageSize=100")).expect("page"));
    assert_eq!(first["page"], 0);
    assert_eq!(first["page_size"], 100);
    assert_eq!(first["start"], 0);
    assert_eq!(first["end"], 99);
    assert_eq!(first["previous_page_uri"], Value::Null);
    let account = &t.account_sid;
    assert_eq!(
        first["first_page_uri"],
        format!("/2010-04-01/Accounts/{account}/Messages.json?PageSize=100&Page=0")
    );
    let next = first["next_page_uri"].as_str().expect("next");
    assert!(next.contains("&Page=1&PageToken=PASM"), "{next}");

    // Previous from page 1 returns page 0.
    let second = json(&t.messages_page(&params(&query_of(next))).expect("page 1"));
    assert_eq!(second["start"], 100);
    let prev = second["previous_page_uri"].as_str().expect("previous");
    assert!(prev.contains("PageToken=PBSM"), "{prev}");
    let back = json(
        &t.messages_page(&params(&query_of(prev)))
            .expect("page 0 again"),
    );
    assert_eq!(back["messages"], first["messages"]);

    // Page numbers without a token still work (Twilio's legacy offset paging).
    let third = json(
        &t.messages_page(&params("PageSize=100&Page=2"))
            .expect("page 2"),
    );
    assert_eq!(third["messages"][0]["sid"], all[200]["sid"]);

    // Absurd page numbers neither panic nor wrap.
    let far = json(
        &t.messages_page(&params("PageSize=1000&Page=18446744073709551615"))
            .expect("far page"),
    );
    assert_eq!(far["messages"].as_array().map(Vec::len), Some(0));

    // A token naming nothing of ours is refused.
    let err = t
        .messages_page(&params("PageToken=PASM00000000000000000000000000000000"))
        .expect_err("bad token");
    assert_eq!(err.code, 21481);
}

#[test]
fn date_sent_filters_select_whole_days_and_instants() {
    let t = state(9, 3_000);
    let all = walk_messages(&t, "PageSize=1000");
    let day = "2026-11-23";
    let start: i64 = "2026-11-23T00:00:00Z"
        .parse::<Timestamp>()
        .expect("t")
        .as_second();
    let in_day = walk_messages(&t, &format!("DateSent={day}&PageSize=50"));
    let expected = all
        .iter()
        .filter(|m| (start..start + 86_400).contains(&sent_at(m)))
        .count();
    assert!(expected > 0);
    assert_eq!(in_day.len(), expected);
    assert!(
        in_day
            .iter()
            .all(|m| (start..start + 86_400).contains(&sent_at(m)))
    );

    // On or after, and on or before, partition the history around the day.
    let after = walk_messages(&t, &format!("DateSent%3E={day}&PageSize=1000"));
    let before = walk_messages(&t, "DateSent%3C=2026-11-22&PageSize=1000");
    assert_eq!(after.len() + before.len(), all.len());
    assert!(after.iter().all(|m| sent_at(m) >= start));
    assert!(before.iter().all(|m| sent_at(m) < start));

    // Instants are inclusive bounds (what the SDKs send for datetimes).
    let lo = start + 3_600;
    let hi = start + 7_200;
    let hour = walk_messages(
        &t,
        "DateSent>=2026-11-23T01:00:00Z&DateSent<=2026-11-23T02:00:00Z&PageSize=7",
    );
    let expected = all
        .iter()
        .filter(|m| (lo..=hi).contains(&sent_at(m)))
        .count();
    assert_eq!(hour.len(), expected);
    let page = json(
        &t.messages_page(&params("DateSent%3E=2026-11-23&PageSize=5"))
            .expect("page"),
    );
    let next = page["next_page_uri"].as_str().expect("next");
    assert!(
        next.contains("DateSent%3E=2026-11-23&PageSize=5&Page=1"),
        "{next}"
    );

    let err = t
        .messages_page(&params("DateSent=last-tuesday"))
        .expect_err("bad date");
    assert_eq!(err.status, axum::http::StatusCode::BAD_REQUEST);
}

#[test]
fn to_and_from_filters_match_both_directions() {
    let t = state(4, 2_000);
    let all = walk_messages(&t, "PageSize=1000");
    let ours = data::seed_number(0);
    let from_ours = walk_messages(&t, &format!("From=%2B{}&PageSize=1000", &ours[1..]));
    let expected = all.iter().filter(|m| m["from"] == ours.as_str()).count();
    assert!(expected > 0);
    assert_eq!(from_ours.len(), expected);
    let peer = all
        .iter()
        .find(|m| m["direction"] == "outbound-api")
        .and_then(|m| m["to"].as_str())
        .expect("a recipient")
        .to_owned();
    let to_peer = walk_messages(&t, &format!("To=%2B{}&PageSize=1000", &peer[1..]));
    assert_eq!(
        to_peer.len(),
        all.iter().filter(|m| m["to"] == peer.as_str()).count()
    );
    assert!(walk_messages(&t, "To=%2B19995550000").is_empty());
    // Twilio has no status filter on messages: the parameter changes nothing.
    let plain = json(&t.messages_page(&params("PageSize=20")).expect("page"));
    let status = json(
        &t.messages_page(&params("PageSize=20&Status=failed"))
            .expect("page"),
    );
    assert_eq!(plain, status);
}

#[test]
fn buying_moves_a_number_and_a_second_buy_fails() {
    let t = state(3, 100);
    let listed = json(
        &t.available_page("US", &params("AreaCode=415"))
            .expect("list"),
    );
    let numbers = listed["available_phone_numbers"].as_array().expect("list");
    assert_eq!(numbers.len(), data::AVAILABLE_PER_AREA);
    let pick = numbers[0]["phone_number"]
        .as_str()
        .expect("number")
        .to_owned();
    assert!(pick.starts_with("+1415555"));
    let owned_before = t.read().numbers.len();
    let bought = t
        .buy(Some(&pick), None, &NumberUpdate::default())
        .expect("bought");
    assert_eq!(bought.phone_number, pick);
    assert!(bought.sid.starts_with("PN"));
    assert_eq!(t.read().numbers.len(), owned_before + 1);
    let again = json(
        &t.available_page("US", &params("AreaCode=415"))
            .expect("list"),
    );
    let still: Vec<&str> = again["available_phone_numbers"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|n| n["phone_number"].as_str())
        .collect();
    assert_eq!(still.len(), data::AVAILABLE_PER_AREA - 1);
    assert!(!still.contains(&pick.as_str()));
    let err = t
        .buy(Some(&pick), None, &NumberUpdate::default())
        .expect_err("already owned");
    assert_eq!(err.code, 21422);
    assert_eq!(t.read().numbers.len(), owned_before + 1);

    // By area code; and an area code with nothing left.
    let by_area = t
        .buy(None, Some("650"), &NumberUpdate::default())
        .expect("bought by area code");
    assert!(by_area.phone_number.starts_with("+1650555"));
    assert_eq!(
        t.buy(None, Some("999"), &NumberUpdate::default())
            .expect_err("none")
            .code,
        21452
    );
    assert_eq!(
        t.buy(Some("12"), None, &NumberUpdate::default())
            .expect_err("bad")
            .code,
        21421
    );

    // Update, then release.
    let update = NumberUpdate::from_form(&[
        ("SmsUrl".into(), "https://hooks.example.com/new".into()),
        (
            "StatusCallback".into(),
            "https://hooks.example.com/status".into(),
        ),
    ])
    .expect("valid");
    let n = t.update_number(&bought.sid, &update).expect("updated");
    assert_eq!(n.sms_url, "https://hooks.example.com/new");
    assert!(NumberUpdate::from_form(&[("SmsUrl".into(), "not a url".into())]).is_err());
    assert!(NumberUpdate::from_form(&[("SmsMethod".into(), "PUT".into())]).is_err());
    assert!(t.release(&bought.sid));
    assert!(!t.release(&bought.sid));
    assert!(t.number(&bought.sid).is_none());
}

#[test]
fn sending_validates_like_twilio_and_lists_first() {
    let t = state(2, 300);
    let ours = data::seed_number(0);
    let req = |to: &str, from: Option<&str>, body: &str| SendRequest {
        to: Some(to.into()),
        from: from.map(str::to_owned),
        body: Some(body.into()),
        ..SendRequest::default()
    };
    let code = |r: SendRequest| t.send(&r).expect_err("refused").code;
    assert_eq!(code(req("", Some(&ours), "hi")), 21604);
    assert_eq!(code(req("555-1234", Some(&ours), "hi")), 21211);
    assert_eq!(code(req("+14155551234", Some(&ours), "")), 21602);
    assert_eq!(code(req("+14155551234", Some("+19998887777"), "hi")), 21606);
    assert_eq!(code(req("+14155551234", None, "hi")), 21603);
    // The IVR number is voice-only.
    assert_eq!(
        code(req("+14155551234", Some(&data::seed_number(5)), "hi")),
        21606
    );
    let sent = t
        .send(&req("+14155551234", Some(&ours), "hello"))
        .expect("sent");
    let page = json(&t.messages_page(&params("PageSize=2")).expect("page"));
    assert_eq!(page["messages"][0]["sid"], sent.sid.as_str());
    assert_eq!(page["messages"][0]["status"], "queued");
    assert_eq!(page["messages"][0]["date_sent"], Value::Null);
    assert_eq!(page["messages"][0]["num_segments"], "1");
    // Listed after it, the generated history goes on unchanged; and a date filter skips it.
    let filtered = json(
        &t.messages_page(&params("DateSent%3E=2026-11-01"))
            .expect("page"),
    );
    assert_ne!(filtered["messages"][0]["sid"], sent.sid.as_str());
    let all = walk_messages(&t, "PageSize=50");
    assert_eq!(all.len(), 301);
    let fetched = json(&t.message(&sent.sid).expect("fetch"));
    assert_eq!(fetched["to"], "+14155551234");

    let service = t.service_sids[0].clone();
    let via = t
        .send(&SendRequest {
            to: Some("+14155551234".into()),
            messaging_service_sid: Some(service.clone()),
            body: Some("via service".into()),
            ..SendRequest::default()
        })
        .expect("via a service");
    let view = json(&t.created_message_view(&via));
    assert_eq!(view["status"], "accepted");
    assert_eq!(view["messaging_service_sid"], service.as_str());
}

#[test]
fn the_account_carries_each_misconfiguration() {
    let t = state(1, 100);
    let numbers = json(&t.numbers_page(&params("")).expect("numbers"));
    let list = numbers["incoming_phone_numbers"].as_array().expect("list");
    assert_eq!(list.len(), 8);
    let any = |f: &dyn Fn(&Value) -> bool| list.iter().any(f);
    let s = |v: &Value, k: &str| v[k].as_str().unwrap_or("").to_owned();
    assert!(any(&|n| s(n, "sms_url").starts_with("http://")
        && !s(n, "sms_url").contains("10.0.0.5")
        && !s(n, "sms_url").contains("localhost")));
    assert!(any(&|n| s(n, "sms_url").contains("10.0.0.5")));
    assert!(any(&|n| s(n, "sms_url").contains("localhost")));
    assert!(any(
        &|n| !s(n, "sms_url").is_empty() && s(n, "status_callback").is_empty()
    ));
    assert!(any(
        &|n| !s(n, "voice_url").is_empty() && s(n, "voice_fallback_url").is_empty()
    ));
    assert!(
        list.iter().all(|n| s(n, "phone_number").starts_with("+1")
            && s(n, "phone_number")[5..].starts_with("555"))
    );
    // One number is attached to nothing.
    let live = t.read();
    let orphans = live
        .numbers
        .iter()
        .filter(|n| {
            n.sms_url.is_empty()
                && n.voice_url.is_empty()
                && n.service.is_none()
                && n.sms_application_sid.is_none()
                && n.voice_application_sid.is_none()
        })
        .count();
    assert_eq!(orphans, 1);
    drop(live);
    let services = json(
        &t.services_page(&params(""), "http://h/twilio/messaging")
            .expect("s"),
    );
    let services = services["services"].as_array().expect("services");
    assert_eq!(services.len(), 3);
    assert!(services.iter().any(|s| s["status_callback"].is_null()));
    assert!(
        services
            .iter()
            .any(|s| s["us_app_to_person_registered"] == false)
    );
    assert!(services.iter().any(|s| {
        s["inbound_request_url"]
            .as_str()
            .is_some_and(|u| u.contains("10.0.0.5"))
    }));
}

#[test]
fn alerts_page_with_absolute_links_and_filters() {
    let t = state(6, 6_000);
    let origin = "http://127.0.0.1:9/twilio/monitor";
    let mut seen = HashSet::new();
    let mut q = "PageSize=7".to_owned();
    loop {
        let page = json(&t.alerts_page(&params(&q), origin).expect("alerts"));
        assert_eq!(page["meta"]["key"], "alerts");
        for a in page["alerts"].as_array().expect("alerts") {
            assert!(seen.insert(a["sid"].as_str().expect("sid").to_owned()));
            assert!(a["url"].as_str().expect("url").starts_with(origin));
        }
        match page["meta"]["next_page_url"].as_str() {
            Some(next) => {
                assert!(next.starts_with(&format!("{origin}/v1/Alerts?")), "{next}");
                q = query_of(next);
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), t.generated.alerts.len());
    let warnings = json(
        &t.alerts_page(&params("LogLevel=warning&PageSize=1000"), origin)
            .expect("w"),
    );
    let warnings = warnings["alerts"].as_array().expect("alerts");
    assert!(!warnings.is_empty());
    assert!(warnings.iter().all(|a| a["log_level"] == "warning"));
    let recent = json(
        &t.alerts_page(
            &params("StartDate=2026-11-24T10:00:00Z&PageSize=1000"),
            origin,
        )
        .expect("recent"),
    );
    let start: Timestamp = "2026-11-24T10:00:00Z".parse().expect("t");
    for a in recent["alerts"].as_array().expect("alerts") {
        let at: Timestamp = a["date_generated"]
            .as_str()
            .expect("date")
            .parse()
            .expect("iso");
        assert!(at >= start);
    }
    let webhook = t
        .generated
        .alerts
        .iter()
        .position(|a| a.kind.code() == 11205)
        .expect("an 11205");
    let detail = json(&t.alert_view(webhook, origin, true).expect("alert"));
    let url = detail["request_url"].as_str().expect("url");
    assert!(
        url.contains("10.0.0.5") || url.contains("localhost"),
        "{url}"
    );
    assert!(
        detail["alert_text"]
            .as_str()
            .expect("text")
            .contains("ErrorCode=11205")
    );
}

/// Sends `request` and reads its JSON answer (`what` names it in a failure).
async fn json_of(request: reqwest::RequestBuilder, what: &str) -> Value {
    let answer = request.send().await.expect(what);
    answer.json().await.expect("json")
}

#[tokio::test]
async fn serves_over_http_with_basic_auth() {
    let sim = crate::Simulator::new(config(21, 500)).expect("config");
    let running = sim.start().await.expect("start");
    let base = running.base_url();
    let creds = Credentials::from_seed(21);
    let sid = creds.twilio_account_sid.clone();
    let http = reqwest::Client::new();
    let get = |url: String| {
        http.get(url)
            .basic_auth(&creds.twilio_account_sid, Some(&creds.twilio_auth_token))
    };
    let api = format!("{base}/twilio/api");

    let account: Value = json_of(
        get(format!("{api}/2010-04-01/Accounts/{sid}.json")),
        "account",
    )
    .await;
    assert_eq!(account["status"], "active");
    assert_eq!(account["type"], "Full");

    // Follow next_page_uri the way the SDKs do: API base + relative URI.
    let mut url = format!("{api}/2010-04-01/Accounts/{sid}/Messages.json?PageSize=200");
    let mut total = 0;
    loop {
        let resp = get(url.clone()).send().await.expect("page");
        assert_eq!(resp.status(), 200);
        let page: Value = resp.json().await.expect("json");
        total += page["messages"].as_array().expect("messages").len();
        match page["next_page_uri"].as_str() {
            Some(next) => url = format!("{api}{next}"),
            None => break,
        }
    }
    assert_eq!(total, 500);

    // Monitor: absolute next_page_url pointing back here.
    let alerts: Value = json_of(
        get(format!("{base}/twilio/monitor/v1/Alerts?PageSize=5")),
        "alerts",
    )
    .await;
    let next = alerts["meta"]["next_page_url"].as_str().expect("next");
    assert!(
        next.starts_with(&format!("{base}/twilio/monitor/v1/Alerts?")),
        "{next}"
    );
    let second = get(next.to_owned()).send().await.expect("second page");
    assert_eq!(second.status(), 200);

    // Send a message: 201, counted once as a side effect.
    let from = data::seed_number(0);
    let send = |form: &[(&str, &str)]| {
        http.post(format!("{api}/2010-04-01/Accounts/{sid}/Messages.json"))
            .basic_auth(&sid, Some(&creds.twilio_auth_token))
            .form(form)
            .send()
    };
    let to = ("To", "+14155551234");
    let resp = send(&[to, ("From", &from), ("Body", "hello")])
        .await
        .expect("send");
    assert_eq!(resp.status(), 201);
    let resp = send(&[to, ("From", &from)]).await.expect("send");
    assert_eq!(resp.status(), 400);
    let err: Value = resp.json().await.expect("json");
    assert_eq!(err["code"], 21602);
    assert_eq!(err["status"], 400);

    let services: Value = json_of(
        get(format!("{base}/twilio/messaging/v1/Services")),
        "services",
    )
    .await;
    assert_eq!(services["services"].as_array().expect("list").len(), 3);
    let prices: Value = json_of(
        get(format!(
            "{base}/twilio/pricing/v1/PhoneNumbers/Countries/US"
        )),
        "prices",
    )
    .await;
    assert_eq!(prices["price_unit"], "USD");
    assert_eq!(prices["phone_number_prices"][0]["number_type"], "local");

    let missing = get(format!("{api}/2010-04-01/Accounts/{sid}/Nope.json"))
        .send()
        .await
        .expect("404");
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.expect("json");
    assert_eq!(body["code"], 20404);

    let denied = http
        .get(format!("{api}/2010-04-01/Accounts/{sid}.json"))
        .basic_auth(&sid, Some("wrong"))
        .send()
        .await
        .expect("denied");
    assert_eq!(denied.status(), 401);

    let stats = running.sim.state().stats.snapshot();
    assert_eq!(stats.side_effects.get("twilio.messages.create"), Some(&1));
    assert_eq!(stats.requests.get("twilio.messages.create"), Some(&2));
    assert!(
        stats
            .requests
            .get("twilio.messages.list")
            .copied()
            .unwrap_or(0)
            >= 3
    );
    running.stop().await;
}

#[test]
fn alerts_raised_at_run_time_list_first_page_and_filter_by_date() {
    let t = state(6, 6_000);
    let origin = "http://127.0.0.1:9/twilio/monitor";
    let generated = t.generated.alerts.len();
    let filtered = t.alerts_happen(4, Some(30007)).expect("raise");
    let mixed = t.alerts_happen(20, None).expect("raise");
    assert_eq!(filtered.len(), 4);
    assert_eq!(mixed.len(), 20);
    // The same seed raises the same SIDs; they collide with nothing.
    let again = state(6, 6_000);
    assert_eq!(
        again.alerts_happen(4, Some(30007)).expect("raise"),
        filtered
    );
    let raised: Vec<String> = filtered.iter().chain(&mixed).cloned().collect();
    let mut newest_first = raised.clone();
    newest_first.reverse();

    // Listed first, newest first, then the generated ones; paging sees each once.
    let page = json(
        &t.alerts_page(&params("PageSize=1000"), origin)
            .expect("page"),
    );
    let sids: Vec<String> = page["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .map(|a| a["sid"].as_str().expect("sid").to_owned())
        .collect();
    assert_eq!(sids[..24], newest_first[..]);
    assert_eq!(sids.len(), generated + 24);
    let mut seen = Vec::new();
    let mut q = "PageSize=7".to_owned();
    loop {
        let page = json(&t.alerts_page(&params(&q), origin).expect("alerts"));
        for a in page["alerts"].as_array().expect("alerts") {
            seen.push(a["sid"].as_str().expect("sid").to_owned());
        }
        match page["meta"]["next_page_url"].as_str() {
            Some(next) => q = query_of(next),
            None => break,
        }
    }
    assert_eq!(
        seen, sids,
        "token paging crosses from raised to generated alerts"
    );

    // Shaped like the generated ones: dates now, the code asked for, a record it points at.
    let first = &page["alerts"][23];
    assert_eq!(first["sid"], filtered[0].as_str());
    assert_eq!(first["error_code"], "30007");
    assert_eq!(first["log_level"], "error");
    assert_eq!(first["date_created"], first["date_generated"]);
    let at: Timestamp = first["date_generated"]
        .as_str()
        .expect("date")
        .parse()
        .expect("iso");
    assert!(at >= anchor());
    assert!(
        first["resource_sid"]
            .as_str()
            .is_some_and(|s| s.len() == 34)
    );
    assert!(
        first["alert_text"]
            .as_str()
            .is_some_and(|s| s.contains("ErrorCode=30007"))
    );
    let detail = json(&t.alert(&filtered[0], origin, true).expect("fetch"));
    assert!(detail["request_variables"].is_string());
    assert_eq!(detail["sid"], filtered[0].as_str());

    // StartDate from the first raised alert: exactly the raised ones; EndDate before: none.
    let start = first["date_generated"].as_str().expect("date");
    let recent = json(
        &t.alerts_page(&params(&format!("StartDate={start}&PageSize=1000")), origin)
            .expect("recent"),
    );
    let recent: HashSet<&str> = recent["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .filter_map(|a| a["sid"].as_str())
        .collect();
    assert!(raised.iter().all(|s| recent.contains(s.as_str())));
    let before = (at - jiff::SignedDuration::from_secs(1)).to_string();
    let older = json(
        &t.alerts_page(&params(&format!("EndDate={before}&PageSize=1000")), origin)
            .expect("older"),
    );
    assert!(
        older["alerts"]
            .as_array()
            .expect("alerts")
            .iter()
            .all(|a| !raised.iter().any(|s| a["sid"] == s.as_str()))
    );
    let warnings = json(
        &t.alerts_page(&params("LogLevel=warning&PageSize=1000"), origin)
            .expect("w"),
    );
    assert!(
        warnings["alerts"]
            .as_array()
            .expect("alerts")
            .iter()
            .all(|a| a["log_level"] == "warning")
    );

    let err = t.alerts_happen(1, Some(99_999)).expect_err("unknown code");
    assert!(err.contains("30007"), "{err}");
    for code in data::AlertPick::known_codes() {
        assert!(t.alerts_happen(1, Some(code)).is_ok(), "{code}");
    }
}
