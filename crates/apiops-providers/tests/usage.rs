//! Usage reports against a seeded simulator, checked against totals computed independently:
//! Twilio's Usage Records report must equal the sum of the prices of the messages and calls the
//! simulator lists (and its numbers at their listed monthly price); Stripe's must equal the sum
//! of the simulator's own balance transactions; OpenAI without an admin key says what to set.

use std::time::Duration;

use apiops_core::Service;
use apiops_providers::ClientTuning;
use apiops_providers::openai::{OpenAi, OpenAiConfig};
use apiops_providers::stripe::Stripe;
use apiops_providers::twilio::Twilio;
use apiops_providers::usage::{self, Decimal, Sources, UsageBy, UsagePeriod};
use apiops_sim::{RunningSim, SimConfig, Simulator};
use serde_json::Value;
use url::Url;

// The client settings the provider tests build for the simulator's accounts (only some of
// what that module holds is used here).
#[allow(dead_code)]
#[path = "providers/common.rs"]
mod common;

use common::{env, secret, stripe_config, twilio_config};

fn tuning() -> ClientTuning {
    ClientTuning {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(10),
        ..ClientTuning::default()
    }
}

async fn sim(seed: u64) -> RunningSim {
    Simulator::new(SimConfig {
        seed,
        messages: 3_000,
        ..SimConfig::default()
    })
    .expect("config")
    .start()
    .await
    .expect("start")
}

fn twilio(s: &RunningSim) -> Twilio {
    Twilio::new(twilio_config(s, 10, tuning())).expect("twilio")
}

fn stripe(s: &RunningSim) -> Stripe {
    let mut c = stripe_config(s, tuning());
    c.requests_per_second = 200;
    Stripe::new(c).expect("stripe")
}

/// Sends `request` and reads its JSON answer.
async fn json_of(request: reqwest::RequestBuilder) -> Value {
    let answer = request.send().await.expect("send");
    answer.json().await.expect("json")
}

/// Every item of a Twilio 2010 list, following `next_page_uri` (plain HTTP, not the provider).
async fn twilio_list(s: &RunningSim, path: &str, key: &str) -> Vec<Value> {
    let e = env(s);
    let api = e["APIOPS_TWILIO_API_URL"].clone();
    let http = reqwest::Client::new();
    let mut out = Vec::new();
    let mut next = Some(format!(
        "/2010-04-01/Accounts/{}/{path}?PageSize=1000",
        e["TWILIO_ACCOUNT_SID"]
    ));
    while let Some(uri) = next {
        let page = json_of(
            http.get(format!("{api}{uri}"))
                .basic_auth(&e["TWILIO_ACCOUNT_SID"], Some(&e["TWILIO_AUTH_TOKEN"])),
        )
        .await;
        out.extend(page[key].as_array().cloned().unwrap_or_default());
        next = page["next_page_uri"].as_str().map(str::to_owned);
    }
    out
}

fn price(v: &Value) -> Decimal {
    v["price"]
        .as_str()
        .and_then(Decimal::parse)
        .map(Decimal::abs)
        .unwrap_or_default()
}

fn figure(u: &usage::ServiceUsage, key: &str, name: &str) -> Decimal {
    u.rows
        .iter()
        .find(|r| r.key == key)
        .and_then(|r| r.figure(name))
        .map(|f| f.value)
        .unwrap_or_default()
}

#[tokio::test]
async fn twilio_usage_equals_the_prices_of_the_listed_messages_calls_and_numbers() {
    let s = sim(19).await;
    let t = twilio(&s);
    let span = UsagePeriod::Last(30 * 86_400).resolve(jiff::Timestamp::now());
    let report = usage::twilio::fetch(t.client(), &span, UsageBy::Category).await;
    assert_eq!(report.missing, None);

    // Independently: the messages and calls as the API lists them, and the numbers at the
    // pricing API's local price.
    let messages = twilio_list(&s, "Messages.json", "messages").await;
    let calls = twilio_list(&s, "Calls.json", "calls").await;
    let numbers = twilio_list(&s, "IncomingPhoneNumbers.json", "incoming_phone_numbers").await;
    assert!(messages.len() >= 3_000, "{} messages", messages.len());
    let priced: Vec<&Value> = messages.iter().filter(|m| m["price"].is_string()).collect();
    let sms_price: Decimal = priced.iter().map(|m| price(m)).sum();
    let segments: i64 = priced
        .iter()
        .map(|m| {
            m["num_segments"]
                .as_str()
                .and_then(|n| n.parse::<i64>().ok())
                .unwrap_or(0)
        })
        .sum();
    let priced_calls: Vec<&Value> = calls.iter().filter(|c| c["price"].is_string()).collect();
    let calls_price: Decimal = priced_calls.iter().map(|c| price(c)).sum();
    let numbers_price: Decimal = (0..numbers.len())
        .map(|_| Decimal::parse("1.15").expect("price"))
        .sum();

    assert_eq!(figure(&report, "sms", "price"), sms_price);
    assert_eq!(
        figure(&report, "sms", "count"),
        Decimal::from_int(priced.len() as i64)
    );
    assert_eq!(figure(&report, "sms", "usage"), Decimal::from_int(segments));
    assert_eq!(figure(&report, "calls", "price"), calls_price);
    assert_eq!(
        figure(&report, "calls", "count"),
        Decimal::from_int(priced_calls.len() as i64)
    );
    assert_eq!(figure(&report, "phonenumbers", "price"), numbers_price);
    assert_eq!(
        report.total("spend", "USD"),
        sms_price + calls_price + numbers_price
    );
    assert!(
        report.rows.iter().all(|r| r.key != "other"),
        "{:?}",
        report.rows
    );

    // By day: the same total, spread over days.
    let daily = usage::twilio::fetch(t.client(), &span, UsageBy::Day).await;
    assert_eq!(daily.total("spend", "USD"), report.total("spend", "USD"));
    assert!(daily.rows.len() >= 7, "{} days", daily.rows.len());
    s.stop().await;
}

#[tokio::test]
async fn stripe_usage_equals_the_sum_of_the_balance_transactions_across_many_pages() {
    let s = sim(19).await;
    // A year of history on top of the 30 days the events imply: 12,000 more transactions.
    let added = json_of(
        reqwest::Client::new()
            .post(format!("{}/_sim/stripe/balance_transactions", s.base_url()))
            .json(&serde_json::json!({"count": 12_000, "days": 365})),
    )
    .await;
    assert_eq!(added["added"], 12_000);
    let st = stripe(&s);
    for period in [
        UsagePeriod::Last(400 * 86_400),
        UsagePeriod::Last(7 * 86_400),
    ] {
        let span = period.resolve(jiff::Timestamp::now());
        let report = usage::stripe::fetch(st.client(), &span, UsageBy::Category).await;
        assert_eq!(report.missing, None);
        let expected = s
            .sim
            .state()
            .stripe
            .balance_totals(span.start.as_second(), span.end.as_second());
        assert!(!expected.is_empty());
        let mut fees = 0i64;
        let mut gross = 0i64;
        for (kind, count, amount, fee) in &expected {
            assert_eq!(
                figure(&report, kind, "count"),
                Decimal::from_int(*count as i64),
                "{kind}"
            );
            assert_eq!(
                figure(&report, kind, "gross"),
                Decimal::from_minor(*amount, 2),
                "{kind}"
            );
            assert_eq!(
                figure(&report, kind, "fee"),
                Decimal::from_minor(*fee, 2),
                "{kind}"
            );
            fees += fee;
            gross += amount;
        }
        assert_eq!(report.rows.len(), expected.len());
        assert_eq!(report.total("fees", "USD"), Decimal::from_minor(fees, 2));
        assert_eq!(report.total("gross", "USD"), Decimal::from_minor(gross, 2));
        assert_eq!(
            report.total("net", "USD"),
            Decimal::from_minor(gross - fees, 2)
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn openai_without_an_admin_key_says_what_to_set_and_with_one_reports_costs() {
    let s = sim(19).await;
    let e = env(&s);
    let make = |admin: Option<&str>| {
        OpenAi::new(OpenAiConfig {
            base_url: Url::parse(&e["OPENAI_BASE_URL"]).expect("url"),
            api_key: secret(&e["OPENAI_API_KEY"]),
            admin_key: admin.and_then(secret),
            organization: None,
            project: None,
            requests_per_minute: None,
            tuning: tuning(),
        })
        .expect("openai")
    };
    let span = UsagePeriod::ThisMonth.resolve(jiff::Timestamp::now());
    let without = make(None);
    let entries = usage::collect(
        Sources {
            openai: Some(&without),
            ..Sources::default()
        },
        &span,
        UsageBy::Model,
    )
    .await;
    assert_eq!(entries.len(), 1);
    let missing = entries[0].missing.as_ref().expect("missing");
    assert_eq!(missing, &usage::NoFigures::NoAdminKey);
    assert!(
        missing.to_string().contains("OPENAI_ADMIN_KEY"),
        "{missing}"
    );
    // The JSON report still carries the sentence, as before the reason was typed.
    let json = serde_json::to_value(&entries[0]).expect("json");
    assert_eq!(json["missing"], usage::openai::MISSING_ADMIN_KEY);

    let with = make(Some(&e["OPENAI_ADMIN_KEY"]));
    let entries = usage::openai::fetch(&with, &span, UsageBy::Project).await;
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|u| u.missing.is_none()), "{entries:?}");
    let costs = &entries[1];
    assert_eq!(costs.service, Service::Openai);
    let row_sum: Decimal = costs
        .rows
        .iter()
        .filter_map(|r| r.figure("cost"))
        .map(|f| f.value)
        .sum();
    assert_eq!(costs.total("spend", "USD"), row_sum);
    assert!(row_sum > Decimal::ZERO);
    assert!(
        entries[0].rows.iter().all(|r| r.key.starts_with("proj_")),
        "{:?}",
        entries[0].rows
    );
    s.stop().await;
}
