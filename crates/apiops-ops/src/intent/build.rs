//! An action and a clause's features -> the operation with its parameters, or the question
//! that a missing, invalid or ambiguous parameter raises.

use std::time::Duration;

use apiops_core::Service;

use super::Intent;
use super::decide::Action;
use super::features::{Features, UrlKind, dedup};
use super::lexicon::Obj;
use super::values::{self, BadKind};
use crate::catalog::{
    DEFAULT_SINCE, DEFAULT_TEST_EVENT, DEFAULT_TEST_MODEL, EndpointRef, NumberUrls, OpKind,
    Operation, UsagePeriod,
};

/// The default number of search results (the catalog's).
const DEFAULT_LIMIT: u32 = 5;
/// The most search results a request may ask for.
const MAX_LIMIT: u64 = 50;
/// How long Stripe keeps events.
const STRIPE_RETENTION: Duration = Duration::from_secs(30 * 86_400);

/// A question about one operation's parameters.
#[derive(Debug)]
struct Question {
    kind: OpKind,
    question: String,
    candidates: Vec<String>,
}

/// A parameter step: the value, or the question that stops the request.
type Step<T> = Result<T, Question>;

/// Builds the operation `action` with the parameters `f` carries.
pub(super) fn build(action: Action, f: &Features) -> Intent {
    let built = match action {
        Action::Search => search(f),
        Action::Buy => buy(f),
        Action::Release => release(f),
        Action::UpdateNumber => update_number(f),
        Action::UpdateEndpoint => update_endpoint(f),
        Action::SendSms => send_sms(f),
        Action::SendEvent => send_event(f),
        Action::ListFailed => list_failed(f),
        Action::ListEndpoints => Ok(Operation::StripeListEndpoints),
        Action::SetEndpoint(enabled) => set_endpoint(f, enabled),
        Action::Resend => resend(f),
        Action::ListModels => Ok(Operation::OpenaiListModels),
        Action::RateLimits => Ok(Operation::OpenaiCheckRateLimits),
        Action::TestCompletion => test_completion(f),
        Action::Audit => audit(f),
        Action::Health => Ok(Operation::HealthCheck {
            services: services_of(f),
        }),
        Action::Config(webhooks_only) => Ok(Operation::AuditConfig {
            services: services_of(f),
            webhooks_only,
        }),
        Action::Webhooks => webhooks(f),
        Action::Usage => usage(f),
    };
    match built {
        Ok(operation) => Intent::Run { operation },
        Err(q) => Intent::Ask {
            kind: Some(q.kind),
            question: q.question,
            candidates: q.candidates,
        },
    }
}

fn ask(kind: OpKind, question: String, candidates: Vec<String>) -> Question {
    Question {
        kind,
        question,
        candidates,
    }
}

/// A question about the first invalid value of the kinds the operation uses.
fn no_bad_values(kind: OpKind, f: &Features, kinds: &[BadKind]) -> Step<()> {
    match f.bad.iter().find(|b| kinds.contains(&b.what)) {
        Some(b) => Err(ask(
            kind,
            format!("{}; which {} did you mean?", b.reason, b.noun()),
            Vec::new(),
        )),
        None => Ok(()),
    }
}

/// At most one of `items`: more is a question with one candidate request per item.
fn at_most_one<T: Clone + PartialEq + std::fmt::Display>(
    kind: OpKind,
    items: &[T],
    plural: &str,
    request: impl Fn(&T) -> String,
) -> Step<Option<T>> {
    let items = dedup(items.iter().cloned());
    match items.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        many => Err(ask(
            kind,
            format!(
                "The request names {} {plural} ({}), and I do one at a time: which one?",
                many.len(),
                many.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            many.iter().map(&request).collect(),
        )),
    }
}

/// The time window: the one given, or the default; two different ones are a question.
fn since(kind: OpKind, f: &Features) -> Step<Duration> {
    no_bad_values(kind, f, &[BadKind::Duration])?;
    let all = dedup(f.durations.iter().copied());
    match all.as_slice() {
        [] => Ok(DEFAULT_SINCE),
        [one] => Ok(*one),
        many => Err(ask(
            kind,
            format!(
                "Which time window: {}?",
                many.iter()
                    .map(|d| format!("the last {}", human(*d)))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            Vec::new(),
        )),
    }
}

/// `6h`, `2d`, `30m`, `90s`.
pub(super) fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        _ if s >= 86_400 && s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        _ if s >= 3600 && s.is_multiple_of(3600) => format!("{}h", s / 3600),
        _ if s >= 60 && s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

/// The country: the one named, else `fallback`; two are a question.
fn country(kind: OpKind, f: &Features, fallback: &'static str) -> Step<&'static str> {
    Ok(at_most_one(kind, &f.countries, "countries", |c| {
        format!("search numbers in {c}")
    })?
    .unwrap_or(fallback))
}

/// The area code: cued ones ("in 415"), else a lone three-digit number.
fn area_code(kind: OpKind, f: &Features) -> Step<Option<u16>> {
    let request = |a: &u16| match kind {
        OpKind::TwilioBuyNumber => format!("buy a phone number in {a}"),
        _ => format!("search numbers in {a}"),
    };
    // "415 numbers": a count above the search limit cannot be meant, so a search reads an area
    // code; a purchase asks (buying hundreds of numbers is not a guess to make).
    if let (OpKind::TwilioBuyNumber, Some(d)) = (kind, f.count_or_area.first()) {
        return Err(ask(
            kind,
            format!("I buy one number at a time: is {d} an area code?"),
            vec![format!("buy a phone number in {d}")],
        ));
    }
    let all: Vec<u16> = f
        .area_codes
        .iter()
        .copied()
        .chain(
            f.loose
                .iter()
                .chain(&f.count_or_area)
                .filter_map(|d| values::area_code(d).ok()),
        )
        .collect();
    at_most_one(kind, &all, "area codes", request)
}

/// Area codes exist in the US and Canada only.
fn area_code_fits(kind: OpKind, area: Option<u16>, country: &str) -> Step<()> {
    match area {
        Some(a) if !matches!(country, "US" | "CA") => Err(ask(
            kind,
            format!(
                "Area codes apply to US and Canadian numbers only, and the request says {country}; which should it be, area code {a} or a number in {country}?"
            ),
            vec![
                format!("search numbers in {a}"),
                format!("search numbers in {country}"),
            ],
        )),
        _ => Ok(()),
    }
}

fn search(f: &Features) -> Step<Operation> {
    let kind = OpKind::TwilioSearchNumbers;
    no_bad_values(kind, f, &[BadKind::AreaCode])?;
    let country = country(kind, f, "US")?;
    let area = area_code(kind, f)?;
    area_code_fits(kind, area, country)?;
    let limit = match at_most_one(kind, &f.counts, "counts", |n| format!("search {n} numbers"))? {
        None => DEFAULT_LIMIT,
        Some(n) if (1..=MAX_LIMIT).contains(&n) => u32::try_from(n).unwrap_or(DEFAULT_LIMIT),
        Some(n) => {
            return Err(ask(
                kind,
                format!(
                    "{n} is not a number of results I can show: how many, from 1 to {MAX_LIMIT}?"
                ),
                vec![format!("search {MAX_LIMIT} numbers")],
            ));
        }
    };
    let contains = at_most_one(kind, &f.contains, "digit patterns", |c| {
        format!("search numbers containing {c}")
    })?;
    Ok(Operation::TwilioSearchNumbers {
        country: country.to_owned(),
        area_code: area,
        contains,
        limit,
    })
}

fn buy(f: &Features) -> Step<Operation> {
    let kind = OpKind::TwilioBuyNumber;
    no_bad_values(kind, f, &[BadKind::Number, BadKind::AreaCode, BadKind::Url])?;
    let area = area_code(kind, f)?;
    if f.counts.iter().any(|n| *n > 1) {
        let candidates = area
            .map(|a| vec![format!("buy a phone number in {a}")])
            .unwrap_or_default();
        return Err(ask(
            kind,
            "I buy one number at a time (each is a monthly charge): buy one?".into(),
            candidates,
        ));
    }
    if let Some(digits) = f.contains.first() {
        let place = area.map(|a| format!(" in {a}")).unwrap_or_default();
        return Err(ask(
            kind,
            format!(
                "A purchase takes the first available number: search for one containing {digits} first, then buy it by number?"
            ),
            vec![format!("search numbers{place} containing {digits}")],
        ));
    }
    let number = at_most_one(kind, &f.all_numbers(), "numbers", |n| format!("buy {n}"))?;
    let country = buy_country(kind, f, number.as_deref())?;
    let area = match (&number, area) {
        (Some(n), Some(a)) if !n.starts_with(&format!("+1{a}")) => {
            return Err(ask(
                kind,
                format!("{n} is not in area code {a}: which should I buy?"),
                vec![format!("buy {n}"), format!("buy a phone number in {a}")],
            ));
        }
        (Some(_), _) => None,
        (None, a) => a,
    };
    area_code_fits(kind, area, country)?;
    if number.is_none() && area.is_none() {
        return Err(which_number_to_buy(kind, f));
    }
    Ok(Operation::TwilioBuyNumber {
        number,
        area_code: area,
        country: country.to_owned(),
        urls: number_urls(kind, f, &[])?,
    })
}

/// The question when a purchase names neither a number nor an area code.
fn which_number_to_buy(kind: OpKind, f: &Features) -> Question {
    let candidates = match f.countries.first() {
        Some(c) if *c != "US" => vec![format!("search numbers in {c}")],
        _ => vec![
            "buy a phone number in 415".to_owned(),
            "search numbers".to_owned(),
        ],
    };
    ask(
        kind,
        "Which area code or number should I buy (search first to see what is available)?".into(),
        candidates,
    )
}

/// A purchase's country: the one named, else the number's, else US; they must agree.
fn buy_country(kind: OpKind, f: &Features, number: Option<&str>) -> Step<&'static str> {
    let named = at_most_one(kind, &f.countries, "countries", |c| {
        format!("search numbers in {c}")
    })?;
    let of_number = number.and_then(values::country_of);
    match (named, of_number, number) {
        (Some(c), Some(n), Some(num)) if c != n && !(n == "US" && matches!(c, "CA" | "PR")) => {
            Err(ask(
                kind,
                format!("{num} is not a number in {c}: which did you mean?"),
                vec![format!("buy {num}"), format!("search numbers in {c}")],
            ))
        }
        (Some(c), _, _) => Ok(c),
        (None, Some(n), _) => Ok(n),
        (None, None, Some(num)) => {
            Err(ask(kind, format!("Which country is {num} in?"), Vec::new()))
        }
        (None, None, None) => Ok("US"),
    }
}

fn release(f: &Features) -> Step<Operation> {
    let kind = OpKind::TwilioReleaseNumber;
    no_bad_values(kind, f, &[BadKind::Number])?;
    let targets = dedup(f.all_numbers().into_iter().chain(f.sids.iter().cloned()));
    match at_most_one(kind, &targets, "numbers", |n| format!("release {n}"))? {
        Some(number) => Ok(Operation::TwilioReleaseNumber { number }),
        None => Err(ask(
            kind,
            "Which number should be released (in E.164 like +14155550100, or its PN... SID)?"
                .into(),
            Vec::new(),
        )),
    }
}

fn update_number(f: &Features) -> Step<Operation> {
    let kind = OpKind::TwilioUpdateNumber;
    no_bad_values(kind, f, &[BadKind::Number, BadKind::Url])?;
    let numbers = dedup(f.all_numbers().into_iter().chain(f.sids.iter().cloned()));
    let urls: Vec<&str> = f.urls.iter().map(|(_, u)| u.as_str()).collect();
    let which: Vec<&str> = dedup(f.url_kinds.iter().map(|(_, k)| k.label()));
    let which = if which.is_empty() {
        "URL".to_owned()
    } else {
        which.join(" and ")
    };
    match (numbers.is_empty(), urls.is_empty()) {
        (true, true) => Err(ask(
            kind,
            format!("Which number should be updated, and what should its {which} be?"),
            Vec::new(),
        )),
        (true, false) => Err(ask(
            kind,
            format!("Which number should use {}?", urls.join(" and ")),
            Vec::new(),
        )),
        (false, true) => Err(ask(
            kind,
            format!("What should the {which} of {} be?", numbers.join(" and ")),
            Vec::new(),
        )),
        (false, false) => Ok(Operation::TwilioUpdateNumber {
            urls: number_urls(kind, f, &numbers)?,
            numbers,
        }),
    }
}

/// The URLs a request sets on a number, each paired with the URL kind said before it ("sms url
/// to A and voice url to B", "sms and voice url to A") or, failing that, after it ("A for sms").
fn number_urls(kind: OpKind, f: &Features, numbers: &[String]) -> Step<NumberUrls> {
    if f.urls.is_empty() {
        return Ok(NumberUrls::default());
    }
    let pairs = pair(f, true).or_else(|| pair(f, false));
    let Some(pairs) = pairs else {
        return Err(which_url_kind(kind, f, numbers));
    };
    let mut urls = NumberUrls::default();
    for (k, u) in pairs {
        let slot = match k {
            UrlKind::Sms => &mut urls.sms_url,
            UrlKind::SmsFallback => &mut urls.sms_fallback_url,
            UrlKind::Voice => &mut urls.voice_url,
            UrlKind::VoiceFallback => &mut urls.voice_fallback_url,
            UrlKind::StatusCallback => &mut urls.status_callback,
        };
        match slot {
            Some(old) if *old != u => {
                return Err(ask(
                    kind,
                    format!("Which should the {} be: {old} or {u}?", k.label()),
                    Vec::new(),
                ));
            }
            _ => *slot = Some(u),
        }
    }
    Ok(urls)
}

/// The question when URLs are given without saying which of the number's URLs they are.
fn which_url_kind(kind: OpKind, f: &Features, numbers: &[String]) -> Question {
    let url = f.urls.first().map(|(_, u)| u.as_str()).unwrap_or_default();
    let candidates = match (numbers, f.urls.len()) {
        ([n], 1) => vec![
            format!("set the sms url of {n} to {url}"),
            format!("set the voice url of {n} to {url}"),
        ],
        _ => Vec::new(),
    };
    ask(
        kind,
        format!(
            "Which URL of the number should {url} be: the SMS URL, the voice URL, a fallback URL or the status callback?"
        ),
        candidates,
    )
}

/// Pairs each URL with the kinds said just before it (`before`) or just after it; `None` if
/// some URL gets none.
fn pair(f: &Features, before: bool) -> Option<Vec<(UrlKind, String)>> {
    let mut out = Vec::new();
    for (n, (at, url)) in f.urls.iter().enumerate() {
        let (lo, hi) = if before {
            let lo = n.checked_sub(1).and_then(|p| f.urls.get(p)).map(|u| u.0);
            (lo, *at)
        } else {
            let hi = f.urls.get(n + 1).map_or(usize::MAX, |u| u.0);
            (Some(*at), hi)
        };
        let inside: Vec<(usize, UrlKind)> = f
            .url_kinds
            .iter()
            .copied()
            .filter(|(i, _)| lo.is_none_or(|lo| *i > lo) && *i < hi)
            .collect();
        let group = linked_group(f, &inside, before);
        if group.is_empty() {
            return None;
        }
        out.extend(group.into_iter().map(|k| (k, url.clone())));
    }
    Some(out)
}

/// The kinds nearest the URL and those listed with them ("sms and voice url").
fn linked_group(f: &Features, kinds: &[(usize, UrlKind)], before: bool) -> Vec<UrlKind> {
    let ordered: Vec<(usize, UrlKind)> = if before {
        kinds.iter().rev().copied().collect()
    } else {
        kinds.to_vec()
    };
    let Some(first) = ordered.first() else {
        return Vec::new();
    };
    let mut group = vec![first.1];
    let mut last = first.0;
    for (i, k) in ordered.iter().skip(1) {
        let (lo, hi) = if *i < last { (*i, last) } else { (last, *i) };
        if !(lo + 1..hi).all(|j| f.glue.contains(&j)) {
            break;
        }
        group.push(*k);
        last = *i;
    }
    dedup(group)
}

fn update_endpoint(f: &Features) -> Step<Operation> {
    let kind = OpKind::StripeUpdateEndpoint;
    no_bad_values(kind, f, &[BadKind::Endpoint, BadKind::Url])?;
    let Some(endpoint) = at_most_one(kind, &f.endpoint_ids, "endpoints", |e| {
        format!("update {e}")
    })?
    else {
        return Err(ask(
            kind,
            "Which Stripe endpoint (we_...) should be updated?".into(),
            vec!["list webhook endpoints".into()],
        ));
    };
    let urls: Vec<String> = f.urls.iter().map(|(_, u)| u.clone()).collect();
    let url = at_most_one(kind, &urls, "URLs", |u| {
        format!("set the url of {endpoint} to {u}")
    })?;
    let events = (!f.event_types.is_empty()).then(|| dedup(f.event_types.iter().cloned()));
    if url.is_none() && events.is_none() {
        return Err(ask(
            kind,
            format!("What should change on {endpoint}: its URL or its enabled events?"),
            Vec::new(),
        ));
    }
    Ok(Operation::StripeUpdateEndpoint {
        endpoint,
        url,
        events,
    })
}

fn send_sms(f: &Features) -> Step<Operation> {
    let kind = OpKind::TwilioSendTestSms;
    no_bad_values(kind, f, &[BadKind::Number])?;
    let to = dedup(f.recipients.iter().cloned());
    let from = at_most_one(kind, &f.senders, "senders", |n| {
        format!("send a test message from {n}")
    })?;
    if to.is_empty() {
        return Err(ask(
            kind,
            "Which number should the test message go to (in E.164, like +14155550100)?".into(),
            Vec::new(),
        ));
    }
    let body = at_most_one(kind, &f.bodies, "message texts", |b| format!("\"{b}\""))?;
    Ok(Operation::TwilioSendTestSms { to, from, body })
}

fn send_event(f: &Features) -> Step<Operation> {
    let kind = OpKind::StripeSendTestEvent;
    no_bad_values(kind, f, &[BadKind::Endpoint])?;
    let endpoint = at_most_one(kind, &f.endpoint_ids, "endpoints", |e| {
        format!("send a test event to {e}")
    })?;
    let Some(endpoint) = endpoint else {
        return Err(ask(
            kind,
            "Which endpoint (we_...) should get the test event?".into(),
            vec!["list webhook endpoints".into()],
        ));
    };
    let event_type = at_most_one(kind, &f.event_types, "event types", |t| {
        format!("send a {t} test event to {endpoint}")
    })?
    .unwrap_or_else(|| DEFAULT_TEST_EVENT.to_owned());
    Ok(Operation::StripeSendTestEvent {
        endpoint,
        event_type,
    })
}

fn set_endpoint(f: &Features, enabled: bool) -> Step<Operation> {
    let (kind, verb) = if enabled {
        (OpKind::StripeEnableEndpoint, "enable")
    } else {
        (OpKind::StripeDisableEndpoint, "disable")
    };
    no_bad_values(kind, f, &[BadKind::Endpoint])?;
    let id = at_most_one(kind, &f.endpoint_ids, "endpoints", |e| {
        format!("{verb} {e}")
    })?;
    let endpoint = match id {
        Some(id) => EndpointRef::Id(id),
        None if f.failing || f.failed => EndpointRef::Failing,
        None => {
            return Err(ask(
                kind,
                format!(
                    "Which Stripe endpoint should I {verb} (its we_... id, or \"the endpoint that keeps failing\")?"
                ),
                vec![
                    format!("{verb} the stripe endpoint that keeps failing"),
                    "list webhook endpoints".into(),
                ],
            ));
        }
    };
    Ok(Operation::StripeSetEndpointEnabled { endpoint, enabled })
}

fn resend(f: &Features) -> Step<Operation> {
    let kind = OpKind::StripeResendUndelivered;
    no_bad_values(kind, f, &[BadKind::Url])?;
    let since = since(kind, f)?;
    if since > STRIPE_RETENTION {
        return Err(ask(
            kind,
            format!(
                "Stripe keeps events for 30 days, not {}: resend the undelivered events of the last 30 days?",
                human(since)
            ),
            vec!["resend undelivered stripe events since 30d".into()],
        ));
    }
    let urls: Vec<String> = f.urls.iter().map(|(_, u)| u.clone()).collect();
    let to = at_most_one(kind, &urls, "receiver URLs", |u| {
        format!("resend undelivered stripe events to {u}")
    })?;
    Ok(Operation::StripeResendUndelivered { since, to })
}

fn list_failed(f: &Features) -> Step<Operation> {
    let since = since(OpKind::TwilioListFailedMessages, f)?;
    Ok(Operation::TwilioListFailedMessages { since })
}

fn test_completion(f: &Features) -> Step<Operation> {
    let kind = OpKind::OpenaiTestCompletion;
    let model = at_most_one(kind, &f.models, "models", |m| {
        format!("test completion with {m}")
    })?
    .unwrap_or_else(|| DEFAULT_TEST_MODEL.to_owned());
    Ok(Operation::OpenaiTestCompletion { model })
}

/// The services named or implied, in order.
fn services_of(f: &Features) -> Vec<Service> {
    let mut services: Vec<Service> = f.services.iter().chain(&f.implied).copied().collect();
    services.sort();
    services.dedup();
    services
}

fn webhooks(f: &Features) -> Step<Operation> {
    let since = since(OpKind::AuditWebhooks, f)?;
    Ok(Operation::AuditWebhooks {
        services: services_of(f),
        since,
    })
}

/// The usage report: a named period ("this month") over a time window ("last 7 days").
fn usage(f: &Features) -> Step<Operation> {
    let kind = OpKind::UsageReport;
    let period = match f.period {
        Some(p) => p,
        None => {
            let window = since(kind, f)?;
            if f.durations.is_empty() {
                UsagePeriod::DEFAULT
            } else {
                UsagePeriod::last(window)
            }
        }
    };
    Ok(Operation::UsageReport {
        services: services_of(f),
        period,
        by: f.group_by,
    })
}

fn audit(f: &Features) -> Step<Operation> {
    let since = since(OpKind::AuditErrors, f)?;
    let mut services: Vec<Service> = f.services.iter().chain(&f.implied).copied().collect();
    services.sort();
    services.dedup();
    let stripe_webhooks = f.has(Obj::Webhook) && services == [Service::Stripe];
    let resource = match f.resources.iter().collect::<Vec<_>>().as_slice() {
        [one] => Some((**one).to_owned()),
        [] if stripe_webhooks => Some("webhook_endpoint".to_owned()),
        _ => None,
    };
    Ok(Operation::AuditErrors {
        services,
        since,
        resource,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_shown_in_their_largest_whole_unit() {
        assert_eq!(human(Duration::from_secs(6 * 3600)), "6h");
        assert_eq!(human(Duration::from_secs(2 * 86_400)), "2d");
        assert_eq!(human(Duration::from_secs(90 * 60)), "90m");
        assert_eq!(human(Duration::from_secs(45)), "45s");
    }
}
