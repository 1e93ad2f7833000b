//! The intent parser, by example: a table of phrasings with the exact answer each must get
//! (for a run, the exact operation; for a question, its kind and words; for an unknown, just
//! that), then properties over arbitrary text (it never panics, answers are well formed).

use std::time::Duration;

use apiops_core::Service;
use apiops_ops::catalog::{
    DEFAULT_SINCE, DEFAULT_TEST_EVENT, DEFAULT_TEST_MODEL, EndpointRef, NumberUrls, OpKind,
    Operation,
};
use apiops_ops::intent::{Intent, parse};
use proptest::prelude::*;

/// What a phrasing must give.
#[derive(Debug)]
enum Expect {
    /// Exactly this operation.
    Run(Operation),
    /// A question of this kind whose text contains this.
    Ask(Option<OpKind>, &'static str),
    /// Nothing in the catalog.
    Unknown,
}

use Expect::{Ask, Run, Unknown};

const N1: &str = "+14155550100";
const N2: &str = "+14155550101";

fn hours(h: u64) -> Duration {
    Duration::from_secs(h * 3600)
}

fn search(area: Option<u16>, country: &str, contains: Option<&str>, limit: u32) -> Expect {
    Run(Operation::TwilioSearchNumbers {
        country: country.into(),
        area_code: area,
        contains: contains.map(Into::into),
        limit,
    })
}

fn buy_area(area: u16) -> Expect {
    buy(None, Some(area), "US", NumberUrls::default())
}

fn buy(number: Option<&str>, area: Option<u16>, country: &str, urls: NumberUrls) -> Expect {
    Run(Operation::TwilioBuyNumber {
        number: number.map(Into::into),
        area_code: area,
        country: country.into(),
        urls,
    })
}

fn release(n: &str) -> Expect {
    Run(Operation::TwilioReleaseNumber { number: n.into() })
}

fn update(numbers: &[&str], urls: NumberUrls) -> Expect {
    Run(Operation::TwilioUpdateNumber {
        numbers: numbers.iter().map(|n| (*n).to_owned()).collect(),
        urls,
    })
}

fn sms_url(u: &str) -> NumberUrls {
    NumberUrls {
        sms_url: Some(u.into()),
        ..NumberUrls::default()
    }
}

fn sms(to: &[&str]) -> Expect {
    sms_full(to, None, None)
}

fn sms_full(to: &[&str], from: Option<&str>, body: Option<&str>) -> Expect {
    Run(Operation::TwilioSendTestSms {
        to: to.iter().map(|n| (*n).to_owned()).collect(),
        from: from.map(Into::into),
        body: body.map(Into::into),
    })
}

fn failed_messages(since: Duration) -> Expect {
    Run(Operation::TwilioListFailedMessages { since })
}

fn endpoint(id: Option<&str>, enabled: bool) -> Expect {
    Run(Operation::StripeSetEndpointEnabled {
        endpoint: id.map_or(EndpointRef::Failing, |i| EndpointRef::Id(i.into())),
        enabled,
    })
}

fn test_event(id: &str, event_type: &str) -> Expect {
    Run(Operation::StripeSendTestEvent {
        endpoint: id.into(),
        event_type: event_type.into(),
    })
}

fn resend(since: Duration, to: Option<&str>) -> Expect {
    Run(Operation::StripeResendUndelivered {
        since,
        to: to.map(Into::into),
    })
}

fn completion(model: &str) -> Expect {
    Run(Operation::OpenaiTestCompletion {
        model: model.into(),
    })
}

fn audit(services: &[Service], since: Duration, resource: Option<&str>) -> Expect {
    Run(Operation::AuditErrors {
        services: services.to_vec(),
        since,
        resource: resource.map(Into::into),
    })
}

fn webhook_issues(services: &[Service]) -> Expect {
    Run(Operation::AuditWebhooks {
        services: services.to_vec(),
        since: DEFAULT_SINCE,
    })
}

fn day() -> Duration {
    DEFAULT_SINCE
}

use Service::{Openai, Stripe, Twilio};

/// The table: (request, what it must give).
fn table() -> Vec<(&'static str, Expect)> {
    vec![
        // --- The issue's own examples.
        ("buy a phone number in 415", buy_area(415)),
        ("send a test message to +14155550100", sms(&[N1])),
        (
            "why are calls failing",
            audit(&[Twilio], day(), Some("call")),
        ),
        (
            "check Twilio errors for the last 6 hours",
            audit(&[Twilio], hours(6), None),
        ),
        (
            "disable the stripe endpoint that keeps failing",
            endpoint(None, false),
        ),
        // --- Phone numbers: E.164 and US formats.
        ("send a test message to (415) 555-0100", sms(&[N1])),
        ("send a test sms to 415-555-0100", sms(&[N1])),
        ("send a test text to +1 415 555 0100", sms(&[N1])),
        ("send a test sms to 415.555.0100", sms(&[N1])),
        ("text 4155550100", sms(&[N1])),
        ("sms 1-415-555-0100 please", sms(&[N1])),
        (
            "send a test sms to +44 20 7946 0958",
            sms(&["+442079460958"]),
        ),
        // --- Area codes.
        ("buy a number in area code 212", buy_area(212)),
        ("buy a 415 number", buy_area(415)),
        (
            "please buy me a new number in the 415 area code",
            buy_area(415),
        ),
        ("search numbers in 212", search(Some(212), "US", None, 5)),
        (
            "what numbers are available in 646",
            search(Some(646), "US", None, 5),
        ),
        ("search 415 numbers", search(Some(415), "US", None, 5)),
        (
            "search 10 numbers in 212 containing 555",
            search(Some(212), "US", Some("555"), 10),
        ),
        ("search numbers", search(None, "US", None, 5)),
        // --- Countries.
        ("search numbers in the UK", search(None, "GB", None, 5)),
        ("search numbers in GB", search(None, "GB", None, 5)),
        ("search numbers in Canada", search(None, "CA", None, 5)),
        (
            "find available numbers in the united kingdom",
            search(None, "GB", None, 5),
        ),
        ("search numbers in gb", search(None, "GB", None, 5)),
        (
            "buy +442079460958",
            buy(Some("+442079460958"), None, "GB", NumberUrls::default()),
        ),
        (
            "can you purchase +14155550100",
            buy(Some(N1), None, "US", NumberUrls::default()),
        ),
        ("BUY A NUMBER IN 415", buy_area(415)),
        // --- Durations.
        ("check errors since 2d", audit(&[], hours(48), None)),
        ("errors today", audit(&[], hours(24), None)),
        (
            "twilio errors last week",
            audit(&[Twilio], hours(7 * 24), None),
        ),
        ("show failed messages for 6h", failed_messages(hours(6))),
        (
            "check twilio errors for the past 30 minutes",
            audit(&[Twilio], Duration::from_secs(1800), None),
        ),
        (
            "which messages failed in the last hour",
            failed_messages(hours(1)),
        ),
        (
            "list failed sms since yesterday",
            failed_messages(hours(48)),
        ),
        (
            "any openai errors in the past two days",
            audit(&[Openai], hours(48), None),
        ),
        (
            "errors with sms in the last 90 minutes",
            audit(&[Twilio], Duration::from_secs(5400), Some("message")),
        ),
        ("errors 1h30m", audit(&[], Duration::from_secs(5400), None)),
        // --- Services and aliases.
        ("why are payments failing", audit(&[Stripe], day(), None)),
        ("what's wrong with stripe", audit(&[Stripe], day(), None)),
        // Whether a service works is the health check (issue 19).
        (
            "is twilio down",
            Run(Operation::HealthCheck {
                services: vec![Twilio],
            }),
        ),
        (
            "what is happening with openai",
            audit(&[Openai], day(), None),
        ),
        ("why is the llm failing", audit(&[Openai], day(), None)),
        (
            "why are my alerts firing",
            audit(&[Twilio], day(), Some("alert")),
        ),
        (
            // Webhook errors are webhook issues: errors and the webhook audit (issue 19).
            "show errors for webhook endpoints",
            webhook_issues(&[Stripe]),
        ),
        ("check errors", audit(&[], day(), None)),
        ("what\u{2019}s broken?", audit(&[], day(), None)),
        // --- Misspellings.
        ("twillio errors", audit(&[Twilio], day(), None)),
        ("twilo erors today", audit(&[Twilio], hours(24), None)),
        ("check strpe errors", audit(&[Stripe], day(), None)),
        (
            "stirpe webhok endpoints",
            Run(Operation::StripeListEndpoints),
        ),
        ("opneai models", Run(Operation::OpenaiListModels)),
        ("buy a phne numbr in 415", buy_area(415)),
        ("send a test mesage to +14155550100", sms(&[N1])),
        ("realease +14155550100", release(N1)),
        ("serch numbrs in 212", search(Some(212), "US", None, 5)),
        (
            "disable the endpont that keps failing",
            endpoint(None, false),
        ),
        ("resnd undelivered events", resend(DEFAULT_SINCE, None)),
        // --- Several recipients, a sender, a body.
        (
            "send a test sms to +14155550100 and +14155550101",
            sms(&[N1, N2]),
        ),
        (
            "send a test sms to +14155550100, +14155550101 and +14155550102",
            sms(&[N1, N2, "+14155550102"]),
        ),
        (
            "send a test sms from +14155550199 to +14155550100",
            sms_full(&[N1], Some("+14155550199"), None),
        ),
        (
            "send the test message to +14155550100 saying \u{201C}it works now\u{201D}",
            sms_full(&[N1], None, Some("it works now")),
        ),
        // --- Stripe endpoints.
        ("disable we_123", endpoint(Some("we_123"), false)),
        ("re-enable we_AbC9", endpoint(Some("we_AbC9"), true)),
        ("disable the failing endpoint", endpoint(None, false)),
        (
            "enable the stripe endpoint that keeps failing",
            endpoint(None, true),
        ),
        (
            "turn off the webhook that keeps failing",
            endpoint(None, false),
        ),
        (
            "list webhook endpoints",
            Run(Operation::StripeListEndpoints),
        ),
        (
            "show my stripe webhooks",
            Run(Operation::StripeListEndpoints),
        ),
        (
            "send a test event to we_123",
            test_event("we_123", DEFAULT_TEST_EVENT),
        ),
        (
            "send a charge.failed test event to we_123",
            test_event("we_123", "charge.failed"),
        ),
        (
            "update we_123 url to https://example.com/hook",
            Run(Operation::StripeUpdateEndpoint {
                endpoint: "we_123".into(),
                url: Some("https://example.com/hook".into()),
                events: None,
            }),
        ),
        (
            "change we_123 events to payment_intent.succeeded, charge.failed",
            Run(Operation::StripeUpdateEndpoint {
                endpoint: "we_123".into(),
                url: None,
                events: Some(vec![
                    "payment_intent.succeeded".into(),
                    "charge.failed".into(),
                ]),
            }),
        ),
        // --- Resending undelivered events.
        (
            "resend undelivered stripe events",
            resend(DEFAULT_SINCE, None),
        ),
        (
            "resend missed events since 3d to https://x.io/stripe",
            resend(hours(72), Some("https://x.io/stripe")),
        ),
        // --- Number URLs.
        (
            "set the sms url of +14155550100 to https://example.com/sms",
            update(&[N1], sms_url("https://example.com/sms")),
        ),
        (
            "set the sms url of +14155550100 to http://example.com/sms",
            update(&[N1], sms_url("http://example.com/sms")),
        ),
        (
            "set the sms url of +14155550100 to https://a.com/s and the voice url to https://a.com/v",
            update(
                &[N1],
                NumberUrls {
                    sms_url: Some("https://a.com/s".into()),
                    voice_url: Some("https://a.com/v".into()),
                    ..NumberUrls::default()
                },
            ),
        ),
        (
            "set the sms and voice urls of +14155550100 to https://a.com/x",
            update(
                &[N1],
                NumberUrls {
                    sms_url: Some("https://a.com/x".into()),
                    voice_url: Some("https://a.com/x".into()),
                    ..NumberUrls::default()
                },
            ),
        ),
        (
            "set the voice fallback url of (415) 555-0100 to https://a.com/f",
            update(
                &[N1],
                NumberUrls {
                    voice_fallback_url: Some("https://a.com/f".into()),
                    ..NumberUrls::default()
                },
            ),
        ),
        (
            "use https://a.com/st as the status callback of +14155550100",
            update(
                &[N1],
                NumberUrls {
                    status_callback: Some("https://a.com/st".into()),
                    ..NumberUrls::default()
                },
            ),
        ),
        (
            "set the sms url of +14155550100 and +14155550101 to https://a.com/s",
            update(&[N1, N2], sms_url("https://a.com/s")),
        ),
        (
            "buy a number in 415 and set its sms url to https://a.com/s",
            buy(None, Some(415), "US", sms_url("https://a.com/s")),
        ),
        (
            "purchase a 212 number with sms url https://a.com/s",
            buy(None, Some(212), "US", sms_url("https://a.com/s")),
        ),
        (
            "sms url of +14155550100 https://a.com/s",
            update(&[N1], sms_url("https://a.com/s")),
        ),
        // --- Releasing.
        ("release +14155550100", release(N1)),
        ("delete number +14155550100", release(N1)),
        ("get rid of 415-555-0100", release(N1)),
        (
            "release PN0123456789abcdef0123456789abcdef",
            release("PN0123456789abcdef0123456789abcdef"),
        ),
        // --- OpenAI.
        ("test completion with gpt-4o", completion("gpt-4o")),
        ("test completion", completion(DEFAULT_TEST_MODEL)),
        ("try GPT-4o-mini", completion("gpt-4o-mini")),
        ("run a test completion with o3-mini", completion("o3-mini")),
        ("rate limit headroom", Run(Operation::OpenaiCheckRateLimits)),
        (
            "how much headroom do I have",
            Run(Operation::OpenaiCheckRateLimits),
        ),
        (
            "check openai rate limits",
            Run(Operation::OpenaiCheckRateLimits),
        ),
        ("list models", Run(Operation::OpenaiListModels)),
        ("which models can I use", Run(Operation::OpenaiListModels)),
        (
            "search numbers in 415 with 555",
            search(Some(415), "US", Some("555"), 5),
        ),
        (
            "test the stripe webhook we_123",
            test_event("we_123", DEFAULT_TEST_EVENT),
        ),
        ("resend the test sms to +14155550100", sms(&[N1])),
        (
            "am I being throttled by openai",
            Run(Operation::OpenaiCheckRateLimits),
        ),
        (
            "buy a number in 415 with voice url https://a.com/v and sms url https://a.com/s",
            buy(
                None,
                Some(415),
                "US",
                NumberUrls {
                    sms_url: Some("https://a.com/s".into()),
                    voice_url: Some("https://a.com/v".into()),
                    ..NumberUrls::default()
                },
            ),
        ),
        // --- Failed messages.
        ("show failed messages", failed_messages(DEFAULT_SINCE)),
        ("undelivered messages", failed_messages(DEFAULT_SINCE)),
        ("show failed calls", audit(&[Twilio], day(), Some("call"))),
        ("twilio webhooks failing", webhook_issues(&[Twilio])),
        ("why are stripe webhooks failing", webhook_issues(&[Stripe])),
        (
            "what happened to my text messages today",
            audit(&[Twilio], hours(24), Some("message")),
        ),
        ("find the failing endpoint", webhook_issues(&[Stripe])),
        (
            "why can\u{2019}t I buy a number in 415?",
            audit(&[Twilio], day(), None),
        ),
        ("why did my refund fail", audit(&[Stripe], day(), None)),
        ("why is we_123 failing", audit(&[Stripe], day(), None)),
        // --- Mixed services in one audit; audits merged across clauses.
        (
            "errors for twilio and stripe in the last 2 hours",
            audit(&[Twilio, Stripe], hours(2), None),
        ),
        (
            "check errors for twilio, stripe and openai",
            audit(&[Twilio, Openai, Stripe], day(), None),
        ),
        (
            "check stripe errors and check twilio errors",
            audit(&[Twilio, Stripe], day(), None),
        ),
        (
            "why are calls and messages failing",
            audit(&[Twilio], day(), None),
        ),
        // --- Two operations in one request.
        (
            "buy a number and disable the stripe endpoint",
            Ask(None, "one operation at a time"),
        ),
        (
            "check errors and list models",
            Ask(None, "one operation at a time"),
        ),
        (
            "buy a number in 415 then send a test sms to +14155550100",
            Ask(None, "one operation at a time"),
        ),
        (
            "disable we_1 and enable we_2",
            Ask(None, "one operation at a time"),
        ),
        (
            "send a test sms to +14155550100 and disable we_1",
            Ask(None, "one operation at a time"),
        ),
        // --- Missing parameters.
        (
            "send a test message",
            Ask(Some(OpKind::TwilioSendTestSms), "Which number"),
        ),
        (
            "buy a number",
            Ask(Some(OpKind::TwilioBuyNumber), "Which area code or number"),
        ),
        (
            "buy a number in the UK",
            Ask(Some(OpKind::TwilioBuyNumber), "Which area code or number"),
        ),
        (
            "release a number",
            Ask(Some(OpKind::TwilioReleaseNumber), "Which number"),
        ),
        (
            "disable the stripe endpoint",
            Ask(Some(OpKind::StripeDisableEndpoint), "Which Stripe endpoint"),
        ),
        (
            "enable the endpoint",
            Ask(Some(OpKind::StripeEnableEndpoint), "Which Stripe endpoint"),
        ),
        (
            "update the sms url",
            Ask(Some(OpKind::TwilioUpdateNumber), "Which number"),
        ),
        (
            "set the sms url to https://a.com/s",
            Ask(Some(OpKind::TwilioUpdateNumber), "Which number should use"),
        ),
        (
            "point +14155550100 to https://a.com/x",
            Ask(Some(OpKind::TwilioUpdateNumber), "Which URL of the number"),
        ),
        (
            "send a test event to the failing endpoint",
            Ask(Some(OpKind::StripeSendTestEvent), "Which endpoint"),
        ),
        (
            "update the stripe endpoint url to https://a.com/x",
            Ask(Some(OpKind::StripeUpdateEndpoint), "Which Stripe endpoint"),
        ),
        (
            "update we_123",
            Ask(
                Some(OpKind::StripeUpdateEndpoint),
                "its URL or its enabled events",
            ),
        ),
        ("send a test", Ask(None, "What should the test go to")),
        (
            "show messages",
            Ask(
                Some(OpKind::TwilioListFailedMessages),
                "Only failed and undelivered",
            ),
        ),
        (
            "delete the number",
            Ask(Some(OpKind::TwilioReleaseNumber), "Which number"),
        ),
        // --- Ambiguous: a question, never a guess.
        ("is stripe ok", Ask(None, "What should I do with Stripe")),
        ("is twilio busy", Ask(None, "What should I do with Twilio")),
        (
            "buy +99912345678",
            Ask(
                Some(OpKind::TwilioBuyNumber),
                "Which country is +99912345678 in",
            ),
        ),
        (
            "buy a number in 415 with 555",
            Ask(
                Some(OpKind::TwilioBuyNumber),
                "search for one containing 555",
            ),
        ),
        ("numbers in 415", Ask(None, "search numbers in 415, or buy")),
        (
            "+14155550100",
            Ask(None, "What should I do with +14155550100"),
        ),
        ("stripe", Ask(None, "What should I do with Stripe")),
        ("gpt-4o", Ask(None, "test completion to gpt-4o")),
        (
            "the failing endpoint",
            Ask(None, "What should I do with the failing endpoint"),
        ),
        (
            "update the webhook url to https://a.com/x",
            Ask(None, "Which URL should change"),
        ),
        (
            "release +14155550100 and +14155550101",
            Ask(Some(OpKind::TwilioReleaseNumber), "one at a time"),
        ),
        (
            "disable we_1 and we_2",
            Ask(Some(OpKind::StripeDisableEndpoint), "one at a time"),
        ),
        (
            "test completion with gpt-4o and gpt-4o-mini",
            Ask(Some(OpKind::OpenaiTestCompletion), "2 models"),
        ),
        (
            "search numbers in 415 and 212",
            Ask(Some(OpKind::TwilioSearchNumbers), "2 area codes"),
        ),
        (
            "buy two numbers in 415",
            Ask(Some(OpKind::TwilioBuyNumber), "one number at a time"),
        ),
        (
            "buy 415 numbers",
            Ask(Some(OpKind::TwilioBuyNumber), "is 415 an area code"),
        ),
        (
            "buy +14155550100 in 212",
            Ask(Some(OpKind::TwilioBuyNumber), "not in area code 212"),
        ),
        (
            "buy +442079460958 in the US",
            Ask(Some(OpKind::TwilioBuyNumber), "not a number in US"),
        ),
        (
            "buy a number in 415 in the UK",
            Ask(
                Some(OpKind::TwilioBuyNumber),
                "US and Canadian numbers only",
            ),
        ),
        (
            "errors in the last 6 hours and last 2 hours",
            Ask(Some(OpKind::AuditErrors), "Which time window"),
        ),
        (
            "set the sms url of +14155550100 to https://a.com/s and https://a.com/t",
            Ask(Some(OpKind::TwilioUpdateNumber), "Which URL of the number"),
        ),
        // --- Invalid values: a question with the reason.
        (
            "send a test sms to +1234",
            Ask(
                Some(OpKind::TwilioSendTestSms),
                "\"+1234\" is not a valid E.164 number",
            ),
        ),
        (
            "send a test message to 555-0100",
            Ask(Some(OpKind::TwilioSendTestSms), "too short"),
        ),
        (
            "send a test message to 02079460958",
            Ask(Some(OpKind::TwilioSendTestSms), "no country code"),
        ),
        (
            "send a test sms to +10155550100",
            Ask(Some(OpKind::TwilioSendTestSms), "area code cannot start"),
        ),
        (
            "buy a number in area code 99",
            Ask(Some(OpKind::TwilioBuyNumber), "99 is not a valid area code"),
        ),
        (
            "release PN123",
            Ask(Some(OpKind::TwilioReleaseNumber), "not a phone number SID"),
        ),
        (
            "disable we_",
            Ask(
                Some(OpKind::StripeDisableEndpoint),
                "not a webhook endpoint id",
            ),
        ),
        (
            "set the sms url of +14155550100 to example.com/sms",
            Ask(Some(OpKind::TwilioUpdateNumber), "is not a URL"),
        ),
        (
            "set the sms url of +14155550100 to ftp://a.com/s",
            Ask(Some(OpKind::TwilioUpdateNumber), "not an http(s) URL"),
        ),
        (
            "resend events to localhost:8080/stripe",
            Ask(Some(OpKind::StripeResendUndelivered), "is not a URL"),
        ),
        (
            "errors in the last 0 hours",
            Ask(Some(OpKind::AuditErrors), "empty time window"),
        ),
        (
            "errors in the last 99999999999999 hours",
            Ask(Some(OpKind::AuditErrors), "longer than a year"),
        ),
        (
            "check errors since monday",
            Ask(Some(OpKind::AuditErrors), "\"since monday\""),
        ),
        (
            "resend undelivered stripe events from the last 2 months",
            Ask(
                Some(OpKind::StripeResendUndelivered),
                "Stripe keeps events for 30 days",
            ),
        ),
        (
            "search 100 numbers",
            Ask(Some(OpKind::TwilioSearchNumbers), "from 1 to 50"),
        ),
        // --- Gibberish and empty.
        ("", Unknown),
        ("   ", Unknown),
        ("asdf qwerty", Unknown),
        ("???", Unknown),
        ("hello", Unknown),
        ("what's the weather", Unknown),
        // --- Outside the catalog: never mapped to another operation.
        ("delete my stripe account", Unknown),
        ("refund charge ch_1", Unknown),
        ("create a customer", Unknown),
        ("cancel my subscription", Unknown),
        ("rotate my api key", Unknown),
        ("show my stripe balance", Unknown),
        ("call +14155550100", Unknown),
        ("delete the stripe endpoint", Unknown),
        ("delete we_123", Unknown),
        ("disable +14155550100", Unknown),
        ("disable twilio", Unknown),
        ("list stripe models", Unknown),
        ("twilio rate limits", Unknown),
        ("list my numbers", Unknown),
        ("send a test call to +14155550100", Unknown),
        ("resend failed messages", Unknown),
        ("check errors and refund ch_1", Unknown),
        ("why did SM0123456789abcdef0123456789abcdef fail", Unknown),
        ("buy a stripe endpoint", Unknown),
    ]
}

/// Checks one row; the failure says what came instead.
fn check(text: &str, expect: &Expect) -> Result<(), String> {
    let got = parse(text);
    let ok = match (expect, &got) {
        (Run(want), Intent::Run { operation }) => want == operation,
        (
            Ask(kind, words),
            Intent::Ask {
                kind: k, question, ..
            },
        ) => kind == k && question.contains(words),
        (Unknown, Intent::Unknown { .. }) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{text:?}\n  expected {expect:?}\n  got      {got:?}"
        ))
    }
}

#[test]
fn every_phrasing_gets_its_exact_answer() {
    let rows = table();
    assert!(rows.len() >= 110, "only {} rows", rows.len());
    let mut seen = std::collections::HashSet::new();
    for (text, _) in &rows {
        assert!(seen.insert(*text), "{text:?} is in the table twice");
    }
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|(text, expect)| check(text, expect).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

/// The check itself can fail: a row with a wrong expectation is caught.
#[test]
fn a_wrong_expectation_fails() {
    assert!(check("buy a phone number in 415", &buy_area(212)).is_err());
    assert!(check("buy a phone number in 415", &Unknown).is_err());
    assert!(
        check(
            "send a test message",
            &Ask(Some(OpKind::TwilioSendTestSms), "nope")
        )
        .is_err()
    );
    assert!(check("send a test message", &Ask(None, "Which number")).is_err());
    assert!(check("asdf", &Ask(None, "")).is_err());
}

/// The candidates a question offers are requests that work: a complete operation when the
/// question is about one operation, and at least not "unknown" when it lists the clauses of a
/// request with several.
#[test]
fn candidates_and_examples_are_requests_that_work() {
    for (text, _) in table() {
        match parse(text) {
            Intent::Ask {
                kind, candidates, ..
            } => {
                for c in candidates {
                    let answer = parse(&c);
                    match kind {
                        Some(_) => assert!(
                            matches!(answer, Intent::Run { .. }),
                            "{text:?} offers {c:?}, which gives {answer:?}"
                        ),
                        None => assert!(
                            !matches!(answer, Intent::Unknown { .. }),
                            "{text:?} offers {c:?}, which gives {answer:?}"
                        ),
                    }
                }
            }
            Intent::Unknown { examples, .. } => {
                assert!(!examples.is_empty(), "{text:?}: no examples");
                for e in examples {
                    let answer = parse(&e);
                    assert!(
                        matches!(answer, Intent::Run { .. }),
                        "example {e:?} gives {answer:?}"
                    );
                }
            }
            Intent::Run { .. } => {}
        }
    }
}

/// Bits of requests, to build inputs that reach deep into the parser.
const PIECES: &[&str] = &[
    "buy",
    "send",
    "test",
    "release",
    "delete",
    "set",
    "disable",
    "enable",
    "resend",
    "check",
    "why",
    "list",
    "search",
    "and",
    "then",
    ",",
    ";",
    "\"",
    "'",
    "(",
    ")",
    "+",
    "-",
    ".",
    "to",
    "from",
    "in",
    "since",
    "last",
    "the",
    "a",
    "area",
    "code",
    "number",
    "numbers",
    "sms",
    "voice",
    "url",
    "fallback",
    "status",
    "callback",
    "endpoint",
    "we_",
    "we_1",
    "failing",
    "failed",
    "events",
    "models",
    "gpt-4o",
    "rate",
    "limit",
    "errors",
    "twilio",
    "stripe",
    "openai",
    "uk",
    "GB",
    "IN",
    "415",
    "99",
    "0",
    "6",
    "6h",
    "0h",
    "2d",
    "hours",
    "week",
    "today",
    "+14155550100",
    "+1",
    "(415)",
    "555-0100",
    "4155550100",
    "+1234",
    "https://a.com/x",
    "http://",
    "example.com",
    "ftp://x",
    "PN0123456789abcdef0123456789abcdef",
    "PN1",
    "ch_1",
    "charge.failed",
    "\u{201C}",
    "\u{2019}s",
    "\u{FF11}",
    "\u{200B}",
    "é",
    "ß",
    "\u{1F600}",
    "99999999999999999999",
    "٣",
    "twillio",
    "numbr",
    "x",
];

fn assembled() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::sample::select(PIECES).prop_map(str::to_owned),
            "[ -~]{0,6}",
            any::<char>().prop_map(String::from),
        ],
        0..16,
    )
    .prop_map(|parts| parts.join(" "))
}

/// What every answer must look like.
fn well_formed(text: &str) -> Result<(), TestCaseError> {
    match parse(text) {
        Intent::Run { .. } => {}
        Intent::Ask {
            question,
            candidates,
            ..
        } => {
            prop_assert!(question.ends_with('?'), "{text:?}: {question:?}");
            // Each candidate runs as written (a question never offers an answer that only
            // asks again, as "NL\u{b}a" once offered "buy a phone number in NL"). The one
            // exception is the question about a request naming several operations: its
            // candidates are the person's own clauses ("buy"), which may ask a different
            // question, whose own candidates all run. Never a loop, never a longer chain.
            let several = question.contains("one operation at a time");
            for c in &candidates {
                match parse(c) {
                    Intent::Run { .. } => {}
                    Intent::Ask { question: next, .. } if !several => {
                        prop_assert!(false, "{text:?}: candidate {c:?} asks again: {next:?}");
                    }
                    Intent::Ask {
                        question: next,
                        candidates: then,
                        ..
                    } => {
                        prop_assert_ne!(&next, &question, "{:?}: candidate {:?} loops", text, c);
                        for t in &then {
                            prop_assert!(
                                matches!(parse(t), Intent::Run { .. }),
                                "{text:?}: candidate {c:?}, then {t:?}: {:?}",
                                parse(t)
                            );
                        }
                    }
                    other => prop_assert!(false, "{text:?}: candidate {c:?}: {other:?}"),
                }
            }
        }
        Intent::Unknown { reason, examples } => {
            prop_assert!(!reason.is_empty());
            prop_assert!(!examples.is_empty());
            // "Example requests that would work": each one does.
            for e in &examples {
                prop_assert!(
                    matches!(parse(e), Intent::Run { .. } | Intent::Ask { .. }),
                    "{text:?}: example {e:?}"
                );
            }
        }
    }
    prop_assert_eq!(parse(text), parse(text), "not deterministic: {:?}", text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_answers_any_text_and_never_runs_words_it_was_not_given(text in ".*") {
        // Total, and never a guess: text without a letter names no operation.
        let answer = parse(&text);
        if !text.chars().any(char::is_alphabetic) {
            prop_assert!(!matches!(answer, Intent::Run { .. }), "{text:?}: {answer:?}");
        }
        well_formed(&text)?;
    }

    #[test]
    fn answers_are_well_formed_on_arbitrary_text(text in ".{0,80}") {
        well_formed(&text)?;
    }

    #[test]
    fn answers_are_well_formed_on_request_like_text(text in assembled()) {
        well_formed(&text)?;
    }
}

#[test]
fn a_country_code_before_several_clauses_is_well_formed() {
    // Found by the property above: "IN" (India) and two clauses, one of them bare.
    for text in ["IN and buy", "in and buy", "IN and buy and send"] {
        if let Err(e) = well_formed(text) {
            panic!("{e}");
        }
    }
}

#[test]
fn very_long_and_odd_inputs_are_answered() {
    let long = "buy a number in 415 ".repeat(500);
    assert!(matches!(parse(&long), Intent::Unknown { .. }));
    for odd in [
        "9".repeat(1000),
        "+".repeat(300),
        "(".repeat(300),
        "\u{0}\u{7f}\u{feff}".to_owned(),
        String::new(),
    ] {
        match parse(&odd) {
            Intent::Unknown { reason, examples } => {
                assert!(!reason.is_empty() && !examples.is_empty(), "{odd:?}");
            }
            other => panic!("{odd:?} is no request: {other:?}"),
        }
    }
}

// --- Plain words that mean what they say: a change the request says not to make, or only
// asks about, is a question, never a run.

/// How a held-back request puts its action.
#[derive(Debug, Clone, Copy)]
enum Held {
    /// "don't", "never", "no need to", "stop sending".
    Not,
    /// "should I", "can I", "what happens if", a '?'.
    Asked,
}

use Held::{Asked, Not};
use OpKind::{
    OpenaiTestCompletion as TC, StripeDisableEndpoint as DIS, StripeEnableEndpoint as EN,
    StripeResendUndelivered as RS, StripeSendTestEvent as TE, StripeUpdateEndpoint as UE,
    TwilioBuyNumber as BUY, TwilioReleaseNumber as REL, TwilioSendTestSms as SMS,
    TwilioUpdateNumber as UPD,
};

/// Requests with a negation or a question about a change: (request, how, the operation when
/// it is clear; `None` where the request is not even clear about that).
fn held_back_table() -> Vec<(&'static str, Held, Option<OpKind>)> {
    vec![
        // --- Buying.
        ("don't buy a phone number in 415", Not, Some(BUY)),
        ("do not buy a number in 415", Not, Some(BUY)),
        ("dont buy a numbr in 415", Not, Some(BUY)),
        ("DON'T BUY A NUMBER IN 415", Not, Some(BUY)),
        ("Do NOT buy +442079460958", Not, Some(BUY)),
        ("never buy a number in area code 212", Not, Some(BUY)),
        ("I do not want to buy a number in 415", Not, Some(BUY)),
        ("please don\u{2019}t purchase +14155550100", Not, Some(BUY)),
        ("no need to buy a 415 number", Not, Some(BUY)),
        ("we shouldn't buy a phne number in 212", Not, Some(BUY)),
        ("I won't be buying a number in 415 today", Not, Some(BUY)),
        ("stop buying numbers in 415", Not, Some(BUY)),
        ("avoid purchasing a number in 646", Not, Some(BUY)),
        ("not now: buy a number in 415", Not, Some(BUY)),
        ("buy a number in 415? no, don't", Not, Some(BUY)),
        ("never purchase a number in the UK", Not, Some(BUY)),
        ("I'd rather not buy a number in 415", Not, Some(BUY)),
        (
            "do not buy a number in 415 and set its sms url to https://a.com/s",
            Not,
            Some(BUY),
        ),
        // --- Releasing.
        ("don't release +14155550100", Not, Some(REL)),
        ("do not release +14155550100", Not, Some(REL)),
        (
            "never release PN0123456789abcdef0123456789abcdef",
            Not,
            Some(REL),
        ),
        ("don't delete number +14155550100", Not, Some(REL)),
        ("do not get rid of 415-555-0100", Not, Some(REL)),
        ("dont realease +14155550100", Not, Some(REL)),
        ("I don't want to release (415) 555-0100", Not, Some(REL)),
        ("please never remove +14155550100", Not, Some(REL)),
        ("you shouldn't release +14155550100", Not, Some(REL)),
        ("release +14155550100? nope", Not, Some(REL)),
        ("no need to release +14155550100 anymore", Not, Some(REL)),
        ("Don't Release +1 (415) 555-0100", Not, Some(REL)),
        // --- A number's URLs.
        (
            "don't set the sms url of +14155550100 to https://example.com/sms",
            Not,
            Some(UPD),
        ),
        (
            "do not change the voice url of +14155550100 to https://a.com/v",
            Not,
            Some(UPD),
        ),
        (
            "never point +14155550100 to https://a.com/x",
            Not,
            Some(UPD),
        ),
        (
            "don't use https://a.com/st as the status callback of +14155550100",
            Not,
            Some(UPD),
        ),
        (
            "do not update the sms url of +14155550100 to https://a.com/s",
            Not,
            Some(UPD),
        ),
        (
            "I don't want to configure the sms url of +14155550100 to https://a.com/s",
            Not,
            Some(UPD),
        ),
        (
            "never sms url of +14155550100 https://a.com/s",
            Not,
            Some(UPD),
        ),
        // --- Test messages.
        ("don't send a test sms to +14155550100", Not, Some(SMS)),
        ("do not send a test message to +14155550100", Not, Some(SMS)),
        ("never send a test sms to +14155550100", Not, Some(SMS)),
        ("not now: send a test sms to +14155550100", Not, Some(SMS)),
        ("dont send a test mesage to +14155550100", Not, Some(SMS)),
        ("don't text +14155550100", Not, None),
        ("please do not sms +14155550100", Not, None),
        ("stop sending test messages to +14155550100", Not, Some(SMS)),
        (
            "I'd rather you didn't send a test sms to +14155550100",
            Not,
            Some(SMS),
        ),
        (
            "don't send the test message to +14155550100 saying \"it works now\"",
            Not,
            Some(SMS),
        ),
        (
            "never send a test sms from +14155550199 to +14155550100",
            Not,
            Some(SMS),
        ),
        (
            "no need to send a test sms to +14155550100 and +14155550101",
            Not,
            Some(SMS),
        ),
        ("send a test sms to +14155550100, don't", Not, Some(SMS)),
        // --- Enabling and disabling endpoints.
        ("don't enable we_123", Not, Some(EN)),
        ("do not re-enable we_AbC9", Not, Some(EN)),
        (
            "never turn on the webhook that keeps failing",
            Not,
            Some(EN),
        ),
        (
            "don't enable the stripe endpoint that keeps failing",
            Not,
            Some(EN),
        ),
        ("please don't reactivate we_123", Not, Some(EN)),
        ("don't disable we_123", Not, Some(DIS)),
        (
            "do not disable the stripe endpoint that keeps failing",
            Not,
            Some(DIS),
        ),
        (
            "never turn off the webhook that keeps failing",
            Not,
            Some(DIS),
        ),
        ("dont disable the endpont that keps failing", Not, Some(DIS)),
        ("I do not want to pause we_123", Not, Some(DIS)),
        ("avoid disabling we_123", Not, Some(DIS)),
        ("no need to deactivate we_123", Not, Some(DIS)),
        ("we won't disable we_123", Not, Some(DIS)),
        ("DO NOT DISABLE WE_123", Not, Some(DIS)),
        // --- Updating endpoints.
        (
            "don't update we_123 url to https://example.com/hook",
            Not,
            Some(UE),
        ),
        (
            "do not change we_123 events to charge.failed",
            Not,
            Some(UE),
        ),
        (
            "never modify the url of we_123 to https://a.com/x",
            Not,
            Some(UE),
        ),
        // --- Test events.
        ("don't send a test event to we_123", Not, Some(TE)),
        (
            "do not send a charge.failed test event to we_123",
            Not,
            Some(TE),
        ),
        ("never test the stripe webhook we_123", Not, Some(TE)),
        ("stop sending test events to we_123", Not, Some(TE)),
        // --- Resending undelivered events.
        ("don't resend undelivered stripe events", Not, Some(RS)),
        (
            "do not resend missed events since 3d to https://x.io/stripe",
            Not,
            Some(RS),
        ),
        ("never redeliver undelivered events", Not, Some(RS)),
        ("dont resnd undelivered events", Not, Some(RS)),
        (
            "no need to replay the undelivered stripe events",
            Not,
            Some(RS),
        ),
        // --- Test completions.
        ("don't test completion with gpt-4o", Not, Some(TC)),
        ("do not run a test completion with o3-mini", Not, Some(TC)),
        ("never try gpt-4o-mini", Not, Some(TC)),
        ("don't ping openai with a test completion", Not, Some(TC)),
        // --- Questions: buying.
        ("should I buy a phone number in 415?", Asked, Some(BUY)),
        ("should I buy a number in 415", Asked, Some(BUY)),
        ("can I buy a number in area code 212", Asked, Some(BUY)),
        ("would it be ok to purchase +14155550100?", Asked, Some(BUY)),
        ("what happens if I buy a number in 415", Asked, Some(BUY)),
        ("is it safe to buy a 415 number", Asked, Some(BUY)),
        ("do I need to buy a number in 415?", Asked, Some(BUY)),
        ("buy a phone number in 415?", Asked, Some(BUY)),
        ("Can you buy a number in 415?", Asked, Some(BUY)),
        ("how do I buy a number in 415", Asked, Some(BUY)),
        ("Should we purchase a number in 646", Asked, Some(BUY)),
        ("shuold I buy a phne number in 415?", Asked, Some(BUY)),
        // --- Questions: releasing.
        ("should I release +14155550100?", Asked, Some(REL)),
        ("can I release +14155550100", Asked, Some(REL)),
        ("is it safe to release +14155550100", Asked, Some(REL)),
        (
            "what happens if I delete number +14155550100",
            Asked,
            Some(REL),
        ),
        (
            "would it be wise to release PN0123456789abcdef0123456789abcdef",
            Asked,
            Some(REL),
        ),
        ("release +14155550100?", Asked, Some(REL)),
        ("do we need to get rid of 415-555-0100?", Asked, Some(REL)),
        // --- Questions: a number's URLs.
        (
            "should I set the sms url of +14155550100 to https://example.com/sms",
            Asked,
            Some(UPD),
        ),
        (
            "what happens if I change the voice url of +14155550100 to https://a.com/v",
            Asked,
            Some(UPD),
        ),
        (
            "set the sms url of +14155550100 to https://a.com/s?",
            Asked,
            Some(UPD),
        ),
        // --- Questions: test messages.
        ("can I send a test sms to +14155550100", Asked, Some(SMS)),
        (
            "would it be ok to send a test message to +14155550100",
            Asked,
            Some(SMS),
        ),
        ("should I text +14155550100?", Asked, None),
        ("send a test sms to +14155550100?", Asked, Some(SMS)),
        (
            "is it ok to send a test message to (415) 555-0100",
            Asked,
            Some(SMS),
        ),
        (
            "what would happen if I send a test sms to +14155550100",
            Asked,
            Some(SMS),
        ),
        // --- Questions: endpoints.
        ("can you disable we_123?", Asked, Some(DIS)),
        (
            "should I disable the stripe endpoint that keeps failing?",
            Asked,
            Some(DIS),
        ),
        ("what happens if I disable we_123", Asked, Some(DIS)),
        (
            "is it safe to turn off the webhook that keeps failing",
            Asked,
            Some(DIS),
        ),
        ("should we re-enable we_AbC9", Asked, Some(EN)),
        ("would it be ok to enable we_123?", Asked, Some(EN)),
        (
            "enable the stripe endpoint that keeps failing?",
            Asked,
            Some(EN),
        ),
        (
            "should I update we_123 url to https://example.com/hook",
            Asked,
            Some(UE),
        ),
        (
            "can we change we_123 events to payment_intent.succeeded, charge.failed?",
            Asked,
            Some(UE),
        ),
        ("should I send a test event to we_123?", Asked, Some(TE)),
        (
            "is it safe to send a charge.failed test event to we_123",
            Asked,
            Some(TE),
        ),
        // --- Said in other ways.
        ("hold off on buying a number in 415", Not, Some(BUY)),
        ("don't go ahead and buy a number in 415", Not, Some(BUY)),
        ("don't fire off a test sms to +14155550100", Not, Some(SMS)),
        (
            "I'm not running a test completion with gpt-4o",
            Not,
            Some(TC),
        ),
        ("forget about releasing +14155550100", Not, Some(REL)),
        (
            "under no circumstances release +14155550100",
            Not,
            Some(REL),
        ),
        ("donot buy a number in 415", Not, Some(BUY)),
        ("I'm not asking you to buy a number in 415", Not, Some(BUY)),
        ("never mind, buy a number in 415", Not, Some(BUY)),
        ("isn't it risky to release +14155550100", Not, Some(REL)),
        (
            "Could releasing +14155550100 break anything",
            Asked,
            Some(REL),
        ),
        (
            "releasing +14155550100 would be a bad idea",
            Asked,
            Some(REL),
        ),
        ("release +14155550100, would that be ok", Asked, Some(REL)),
        ("buy a number in 415, should I", Asked, Some(BUY)),
        ("maybe disable we_123", Asked, Some(DIS)),
        // --- Questions: resending, completions.
        (
            "should I resend undelivered stripe events?",
            Asked,
            Some(RS),
        ),
        (
            "is it safe to resend undelivered stripe events",
            Asked,
            Some(RS),
        ),
        (
            "do I need to resend missed events since 3d",
            Asked,
            Some(RS),
        ),
        (
            "what happens if I redeliver undelivered events",
            Asked,
            Some(RS),
        ),
        ("should I test completion with gpt-4o?", Asked, Some(TC)),
        ("can I run a test completion with o3-mini", Asked, Some(TC)),
        ("test completion with gpt-4o?", Asked, Some(TC)),
    ]
}

/// Whether an answer runs an operation that changes something.
fn runs_a_change(intent: &Intent) -> bool {
    matches!(intent, Intent::Run { operation } if !operation.spec().read_only())
}

/// Checks one held-back request; the failure says what came instead.
fn check_held_back(text: &str, held: Held, kind: Option<OpKind>) -> Result<(), String> {
    let got = parse(text);
    let fail = |why: &str| Err(format!("{text:?}: {why}\n  got {got:?}"));
    if runs_a_change(&got) {
        return fail("runs a change");
    }
    let Intent::Ask {
        kind: k,
        question,
        candidates,
    } = &got
    else {
        return if kind.is_none() {
            Ok(())
        } else {
            fail("not a question")
        };
    };
    if !question.ends_with('?') {
        return fail("the question does not end with '?'");
    }
    let Some(want) = kind else {
        return Ok(());
    };
    if *k != Some(want) {
        return fail(&format!("not a question about {want:?}"));
    }
    let words = match held {
        Not => "nothing will be planned",
        Asked => "apiops does not decide that for you",
    };
    if !question.contains(words) || !question.contains("--dry-run") {
        return fail(&format!(
            "the question does not say {words:?} and --dry-run"
        ));
    }
    if matches!(held, Asked) && !question.contains(want.spec().side_effects) {
        return fail("the question does not say what the operation does");
    }
    for c in candidates {
        let answer = parse(c);
        if !matches!(&answer, Intent::Run { operation } if operation.kind() == want) {
            return fail(&format!("the candidate {c:?} gives {answer:?}"));
        }
    }
    Ok(())
}

#[test]
fn negations_and_questions_about_a_change_never_run_it() {
    let rows = held_back_table();
    assert!(rows.len() >= 100, "only {} rows", rows.len());
    let mut seen = std::collections::HashSet::new();
    for (text, _, _) in &rows {
        assert!(seen.insert(*text), "{text:?} is in the table twice");
    }
    let kinds: std::collections::BTreeSet<OpKind> = rows.iter().filter_map(|r| r.2).collect();
    let changing = [BUY, REL, UPD, SMS, EN, DIS, UE, TE, RS, TC];
    assert_eq!(
        kinds,
        changing.into_iter().collect(),
        "not every change is covered"
    );
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|(text, held, kind)| check_held_back(text, *held, *kind).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

/// The check itself can fail.
#[test]
fn a_wrong_held_back_expectation_fails() {
    assert!(check_held_back("buy a phone number in 415", Not, Some(BUY)).is_err());
    assert!(check_held_back("don't buy a phone number in 415", Not, Some(REL)).is_err());
    assert!(check_held_back("don't buy a phone number in 415", Asked, Some(BUY)).is_err());
    assert!(check_held_back("should I buy a number in 415", Not, Some(BUY)).is_err());
}

/// The answer says why, and offers the request to run deliberately.
#[test]
fn the_answer_offers_the_plain_request() {
    let cases = [
        (
            "don't buy a phone number in 415",
            "buy a phone number in 415",
        ),
        (
            "I do not want to buy a number in 415",
            "buy a number in 415",
        ),
        (
            "not now: send a test sms to +14155550100",
            "send a test sms to +14155550100",
        ),
        ("dont buy a numbr in 415", "buy a numbr in 415"),
        ("should I release +14155550100?", "release +14155550100"),
        ("can you disable we_123?", "disable we_123"),
        ("what happens if I disable we_123", "disable we_123"),
        (
            "would it be ok to send a test sms to +14155550100",
            "send a test sms to +14155550100",
        ),
    ];
    for (text, plain) in cases {
        match parse(text) {
            Intent::Ask { candidates, .. } => {
                assert_eq!(candidates, vec![plain.to_owned()], "{text:?}");
            }
            other => panic!("{text:?} gives {other:?}"),
        }
    }
    let Intent::Ask { question, .. } = parse("don't buy a phone number in 415") else {
        panic!("not a question");
    };
    assert_eq!(
        question,
        "You asked not to buy a phone number, so nothing will be planned. Did you mean to see what it would do, with --dry-run (apiops do --dry-run \"buy a phone number in 415\")?"
    );
}

/// Reads answer questions and negations as they always have: that is what they are for.
#[test]
fn reads_are_not_held_back() {
    let reads = [
        (
            "why are calls failing?",
            audit(&[Twilio], day(), Some("call")),
        ),
        (
            "why aren't my messages delivered",
            audit(&[Twilio], day(), Some("message")),
        ),
        (
            "check twilio errors for the last 6 hours?",
            audit(&[Twilio], hours(6), None),
        ),
        (
            "list stripe endpoints that are not enabled",
            Run(Operation::StripeListEndpoints),
        ),
        (
            "don't worry, check stripe errors",
            audit(&[Stripe], day(), None),
        ),
        (
            "should I check stripe errors?",
            audit(&[Stripe], day(), None),
        ),
        (
            "what numbers are available in 646?",
            search(Some(646), "US", None, 5),
        ),
        ("can I see failed messages?", failed_messages(DEFAULT_SINCE)),
    ];
    for (text, expect) in &reads {
        if let Err(e) = check(text, expect) {
            panic!("{e}");
        }
    }
    // Whatever it maps to, it is not held back as a change.
    let got = parse("which numbers are not configured");
    assert!(
        !matches!(&got, Intent::Ask { question, .. } if question.contains("nothing will be planned")),
        "{got:?}"
    );
}

/// Requests that say "not" about a thing, not about the action, still run.
#[test]
fn negations_of_a_state_still_run() {
    let runs = [
        (
            "resend stripe events that were not delivered",
            resend(DEFAULT_SINCE, None),
        ),
        (
            "disable the stripe endpoint that is not working",
            endpoint(None, false),
        ),
        (
            "can you purchase +14155550100",
            buy(Some(N1), None, "US", NumberUrls::default()),
        ),
        ("can u buy a number in 415", buy_area(415)),
        (
            "could you please disable we_123",
            endpoint(Some("we_123"), false),
        ),
    ];
    for (text, expect) in &runs {
        if let Err(e) = check(text, expect) {
            panic!("{e}");
        }
    }
}

/// Every request of the table that runs a change, said not to or asked about, does not run.
#[test]
fn every_change_of_the_table_is_held_back_when_negated_or_asked() {
    let changes: Vec<&str> = table()
        .into_iter()
        .filter(|(_, e)| matches!(e, Run(op) if !op.spec().read_only()))
        .map(|(text, _)| text)
        .collect();
    assert!(changes.len() >= 40, "only {} changes", changes.len());
    let mut failures = Vec::new();
    for text in changes {
        let variants = [
            format!("don't {text}"),
            format!("do not {text}"),
            format!("never {text}"),
            format!("DON'T {text}"),
            format!("please do not {text}"),
            format!("should I {text}"),
            format!("{text}?"),
        ];
        for v in variants {
            let got = parse(&v);
            let bad_question =
                matches!(&got, Intent::Ask { question, .. } if !question.ends_with('?'));
            if runs_a_change(&got) || bad_question {
                failures.push(format!("{v:?} gives {got:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// A negation before any request, however it goes on, never runs a change.
    #[test]
    fn a_negated_request_never_runs_a_change(
        negation in prop::sample::select(&["don't", "do not", "never", "dont", "no need to", "I don't want to", "not now:"][..]),
        text in assembled(),
    ) {
        let request = format!("{negation} {text}");
        let got = parse(&request);
        prop_assert!(!runs_a_change(&got), "{:?} gives {:?}", request, got);
    }
}
