//! From what a clause says to what it asks for: which operation (or none, or a question), with
//! the rules in the order they apply. Building the operation's parameters is in `build`.

use apiops_core::Service;

use super::Intent;
use super::features::Features;
use super::lexicon::{Obj, Verb};
use crate::catalog::OpKind;

/// An operation a clause asks for, before its parameters are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    /// `twilio.numbers.search`
    Search,
    /// `twilio.numbers.buy`
    Buy,
    /// `twilio.numbers.release`
    Release,
    /// `twilio.numbers.update`
    UpdateNumber,
    /// `stripe.endpoints.update`
    UpdateEndpoint,
    /// `twilio.messages.send_test`
    SendSms,
    /// `stripe.endpoints.send_test_event`
    SendEvent,
    /// `twilio.messages.list_failed`
    ListFailed,
    /// `stripe.endpoints.list`
    ListEndpoints,
    /// `stripe.endpoints.enable` (`true`) or `.disable`
    SetEndpoint(bool),
    /// `stripe.events.resend_undelivered`
    Resend,
    /// `openai.models.list`
    ListModels,
    /// `openai.rate_limits.check`
    RateLimits,
    /// `openai.completions.test`
    TestCompletion,
    /// `errors.audit`
    Audit,
    /// `health.check`
    Health,
    /// `config.audit` (`true`: its webhook part only)
    Config(bool),
    /// `webhooks.audit`
    Webhooks,
    /// `usage.report`
    Usage,
}

impl Action {
    /// Its catalog key.
    pub(super) fn kind(self) -> OpKind {
        match self {
            Action::Search => OpKind::TwilioSearchNumbers,
            Action::Buy => OpKind::TwilioBuyNumber,
            Action::Release => OpKind::TwilioReleaseNumber,
            Action::UpdateNumber => OpKind::TwilioUpdateNumber,
            Action::UpdateEndpoint => OpKind::StripeUpdateEndpoint,
            Action::SendSms => OpKind::TwilioSendTestSms,
            Action::SendEvent => OpKind::StripeSendTestEvent,
            Action::ListFailed => OpKind::TwilioListFailedMessages,
            Action::ListEndpoints => OpKind::StripeListEndpoints,
            Action::SetEndpoint(true) => OpKind::StripeEnableEndpoint,
            Action::SetEndpoint(false) => OpKind::StripeDisableEndpoint,
            Action::Resend => OpKind::StripeResendUndelivered,
            Action::ListModels => OpKind::OpenaiListModels,
            Action::RateLimits => OpKind::OpenaiCheckRateLimits,
            Action::TestCompletion => OpKind::OpenaiTestCompletion,
            Action::Audit => OpKind::AuditErrors,
            Action::Health => OpKind::HealthCheck,
            Action::Config(_) => OpKind::AuditConfig,
            Action::Webhooks => OpKind::AuditWebhooks,
            Action::Usage => OpKind::UsageReport,
        }
    }
}

/// What a clause comes to.
#[derive(Debug)]
pub(super) enum Decision {
    /// This operation; its parameters still to check.
    Act(Action),
    /// Already a question, or nothing in the catalog.
    Done(Intent),
    /// Nothing recognizable.
    Nothing,
}

/// Decides what a clause asks for.
pub(super) fn classify(f: &Features) -> Decision {
    if let Some(d) = out_of_scope(f) {
        return d;
    }
    let d = if let Some(d) = about_money(f) {
        d
    } else if f.why {
        Decision::Act(if about_webhooks(f) {
            Action::Webhooks
        } else {
            Action::Audit
        })
    } else if mutates(f) {
        classify_change(f)
    } else {
        classify_read(f)
    };
    match d {
        Decision::Act(a) => services_agree(a, f),
        other => other,
    }
}

/// A question about usage or money is the usage report, whatever else it says: it never plans
/// an action that spends ("how much did we spend on openai" is not a test completion). Asking
/// what buying costs searches numbers, which shows their monthly price.
fn about_money(f: &Features) -> Option<Decision> {
    // "how much headroom do we have" asks about rate limits, not money.
    if !f.usage || f.has(Obj::RateLimit) {
        return None;
    }
    if f.says(Verb::Buy) || f.available || f.says(Verb::Search) {
        return Some(Decision::Act(Action::Search));
    }
    Some(Decision::Act(Action::Usage))
}

/// Whether the clause is about webhooks (Stripe's endpoints, or webhooks of any service).
fn about_webhooks(f: &Features) -> bool {
    f.has(Obj::Webhook) || (f.mentions_endpoint() && f.endpoint_ids.is_empty())
}

/// Whether the clause talks about errors or failures.
fn about_errors(f: &Features) -> bool {
    f.question || f.failing || f.failed || f.has(Obj::Error) || f.has(Obj::Alert)
}

/// Reads that name a capability rather than a resource: usage, health, webhook issues, the
/// configuration audit. `None` when the clause is about something else.
fn capability_read(f: &Features) -> Option<Decision> {
    let errors = about_errors(f);
    let traffic = [
        Obj::Message,
        Obj::Call,
        Obj::Event,
        Obj::Completion,
        Obj::Model,
    ]
    .iter()
    .any(|o| f.has(*o));
    if f.health && !f.failing && !f.failed && !f.has(Obj::Error) && !traffic {
        return Some(Decision::Act(Action::Health));
    }
    let webhooks = about_webhooks(f);
    // "the failing endpoint" alone asks what to do with it (see `failing_read`).
    let bare_failing_endpoint =
        f.verbs.is_empty() && !f.question && !f.has(Obj::Error) && !f.has(Obj::Webhook);
    if webhooks && errors && !bare_failing_endpoint {
        return Some(Decision::Act(Action::Webhooks));
    }
    if errors || f.has(Obj::RateLimit) {
        return None;
    }
    if f.config || (f.audit_word && !traffic) || (webhooks && f.says(Verb::Check)) {
        return Some(Decision::Act(Action::Config(webhooks)));
    }
    None
}

/// Things no operation does: a verb outside the catalog, an id of something else, or only
/// nouns outside the catalog.
fn out_of_scope(f: &Features) -> Option<Decision> {
    // "how much do we pay twilio" asks about money, not for a payment.
    let verbs: Vec<&String> = f
        .out_of_scope_verbs
        .iter()
        .filter(|v| !(f.usage && v.as_str() == "pay"))
        .collect();
    // "why did my refund fail" asks about errors; "refund ch_1" asks for a refund.
    if let (Some(v), false) = (verbs.first(), f.why) {
        return Some(unknown(format!("\"{v}\" is not an operation apiops has")));
    }
    if f.places_call {
        return Some(unknown(
            "Placing calls is not an operation apiops has".into(),
        ));
    }
    if let Some(what) = f.foreign_ids.first() {
        return Some(unknown(format!(
            "The request names a {what}, and no operation acts on a {what}"
        )));
    }
    let about_errors = f.question || f.failing || f.has(Obj::Error);
    let capability = f.usage || f.health || f.config;
    if let (Some(n), false, false) = (
        f.out_of_scope_nouns.first(),
        f.names_catalog_thing() || capability,
        about_errors,
    ) {
        return Some(unknown(format!(
            "No operation acts on \"{n}\" (apiops operates phone numbers, messages, webhook endpoints, events and models)"
        )));
    }
    None
}

/// Whether the clause asks for a change (or a test, which sends something, unless it is only
/// asked about).
fn mutates(f: &Features) -> bool {
    super::mood::CHANGES
        .iter()
        .any(|&v| f.says(v) && (v != Verb::Test || !f.question))
}

/// A change: which one, from the verb, then the things named.
fn classify_change(f: &Features) -> Decision {
    let groups: Vec<&str> = [
        (f.says(Verb::Buy), "buy"),
        (f.says(Verb::Release) || f.says(Verb::Delete), "release"),
        (f.says(Verb::Update), "update"),
        (f.says(Verb::Send) || f.says(Verb::Resend), "send"),
        (f.says(Verb::Enable), "enable"),
        (f.says(Verb::Disable), "disable"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    match groups.as_slice() {
        [] => classify_send(f),
        ["buy"] => classify_buy(f),
        ["release"] => classify_delete(f),
        ["update"] => classify_update(f),
        ["send"] => classify_send(f),
        ["enable"] => classify_toggle(f, true),
        ["disable"] => classify_toggle(f, false),
        many => Decision::Done(Intent::Ask {
            kind: None,
            question: format!(
                "The request asks for several operations ({}); I run one operation at a time: which one?",
                many.join(", ")
            ),
            candidates: Vec::new(),
        }),
    }
}

/// Only phone numbers can be bought.
fn classify_buy(f: &Features) -> Decision {
    let other = [
        Obj::Endpoint,
        Obj::Event,
        Obj::Model,
        Obj::Completion,
        Obj::RateLimit,
    ]
    .iter()
    .any(|o| f.has(*o))
        || !f.endpoint_ids.is_empty()
        || !f.models.is_empty();
    if other {
        return Decision::Done(unknown_intent("Only phone numbers can be bought".into()));
    }
    Decision::Act(Action::Buy)
}

/// Deleting: a number is released; nothing else can be deleted.
fn classify_delete(f: &Features) -> Decision {
    if f.mentions_number() {
        return Decision::Act(Action::Release);
    }
    if f.mentions_endpoint() || f.has(Obj::Webhook) {
        return unknown(
            "Deleting a Stripe webhook endpoint is not an operation apiops has; it can disable one (\"disable we_...\")"
                .into(),
        );
    }
    if f.names_catalog_thing() || !f.says(Verb::Release) {
        return unknown(
            "Phone numbers are the only thing apiops can delete (\"release +14155550100\")".into(),
        );
    }
    Decision::Act(Action::Release)
}

/// Updating: a number's URLs, or an endpoint's URL or events.
fn classify_update(f: &Features) -> Decision {
    if !f.url_kinds.is_empty() || f.mentions_number() {
        return Decision::Act(Action::UpdateNumber);
    }
    let stripe = f.services.contains(&Service::Stripe);
    if f.mentions_endpoint() || !f.event_types.is_empty() || stripe {
        return Decision::Act(Action::UpdateEndpoint);
    }
    if !f.urls.is_empty() || f.has(Obj::Url) || f.has(Obj::Webhook) {
        return Decision::Done(Intent::Ask {
            kind: None,
            question: "Which URL should change: a Twilio number's (give the number and say sms or voice url) or a Stripe endpoint's (give its we_... id)?".into(),
            candidates: Vec::new(),
        });
    }
    unknown(
        "Only a number's webhook URLs and a Stripe endpoint's URL or events can be changed".into(),
    )
}

/// Enabling or disabling: only Stripe endpoints.
fn classify_toggle(f: &Features, enable: bool) -> Decision {
    let endpointish =
        f.mentions_endpoint() || f.has(Obj::Webhook) || f.services.contains(&Service::Stripe);
    let other = f.mentions_number()
        || [Obj::Message, Obj::Call, Obj::Model, Obj::Completion]
            .iter()
            .any(|o| f.has(*o));
    if !endpointish && other {
        return unknown("Only Stripe webhook endpoints can be enabled or disabled".into());
    }
    Decision::Act(Action::SetEndpoint(enable))
}

/// Sending, resending or testing: to a number, an endpoint or a model.
fn classify_send(f: &Features) -> Decision {
    let to_endpoint = f.has(Obj::Event)
        || f.mentions_endpoint()
        || f.has(Obj::Webhook)
        || !f.event_types.is_empty();
    let to_phone = f.has(Obj::Message) || f.mentions_number();
    let resend = f.says(Verb::Resend) && !f.says(Verb::Send);
    if resend || (f.failed && f.has(Obj::Event)) {
        return classify_resend(f);
    }
    if f.has(Obj::Call) && !f.has(Obj::Message) {
        return unknown("Test calls are not an operation apiops has".into());
    }
    match (to_endpoint, to_phone) {
        (true, true) => {
            return Decision::Done(Intent::Ask {
                kind: None,
                question:
                    "Should the test be an SMS to a phone number or a Stripe event to an endpoint?"
                        .into(),
                candidates: Vec::new(),
            });
        }
        (true, false) => return Decision::Act(Action::SendEvent),
        (false, true) => return Decision::Act(Action::SendSms),
        (false, false) => {}
    }
    let openai = f.has(Obj::Completion)
        || f.has(Obj::Model)
        || !f.models.is_empty()
        || f.services.contains(&Service::Openai)
        || f.implied.contains(&Service::Openai);
    if openai {
        return Decision::Act(Action::TestCompletion);
    }
    if f.has(Obj::RateLimit) {
        return Decision::Act(Action::RateLimits);
    }
    match f.services.iter().next() {
        Some(Service::Twilio) => Decision::Act(Action::SendSms),
        Some(Service::Stripe) => Decision::Act(Action::SendEvent),
        _ => Decision::Done(Intent::Ask {
            kind: None,
            question: "What should the test go to: a phone number (a test SMS), a Stripe endpoint (a test event) or an OpenAI model (a test completion)?".into(),
            candidates: vec![
                "send a test message to +14155550100".into(),
                "send a test event to we_123".into(),
                "test completion with gpt-4o-mini".into(),
            ],
        }),
    }
}

/// Resending: undelivered Stripe events; a test SMS to someone again is a test SMS.
fn classify_resend(f: &Features) -> Decision {
    if !f.recipients.is_empty() {
        return Decision::Act(Action::SendSms);
    }
    if f.has(Obj::Message) || f.has(Obj::Call) {
        return unknown(
            "Resending failed messages is not an operation apiops has (\"show failed messages\" lists them)".into(),
        );
    }
    Decision::Act(Action::Resend)
}

/// A read: a question about errors, a listing, a check.
fn classify_read(f: &Features) -> Decision {
    if let Some(d) = capability_read(f) {
        return d;
    }
    if f.question {
        return Decision::Act(Action::Audit);
    }
    if f.says(Verb::Check) {
        return Decision::Act(if f.has(Obj::RateLimit) {
            Action::RateLimits
        } else {
            Action::Audit
        });
    }
    if f.has(Obj::RateLimit) {
        return Decision::Act(Action::RateLimits);
    }
    if f.has(Obj::Completion) {
        return Decision::Act(Action::TestCompletion);
    }
    if !f.url_kinds.is_empty() && !f.urls.is_empty() && f.mentions_number() {
        // "the sms url of +1415... https://...": only an update uses all three.
        return Decision::Act(Action::UpdateNumber);
    }
    if f.has(Obj::Message) && f.failed && !f.failing {
        return Decision::Act(Action::ListFailed);
    }
    if f.failing || f.failed || f.has(Obj::Error) || f.has(Obj::Alert) {
        return failing_read(f);
    }
    if f.has(Obj::Model) {
        return Decision::Act(Action::ListModels);
    }
    if f.mentions_endpoint() && f.endpoint_ids.is_empty() || f.has(Obj::Webhook) {
        return Decision::Act(Action::ListEndpoints);
    }
    numbers_read(f).unwrap_or_else(|| values_only(f))
}

/// Something failing, without a change: the audit, unless "the failing endpoint" alone.
fn failing_read(f: &Features) -> Decision {
    let stripe_webhook = f.has(Obj::Webhook) && f.services.iter().all(|s| *s == Service::Stripe);
    let endpoint = f.mentions_endpoint() || stripe_webhook;
    if endpoint && f.verbs.is_empty() && !f.has(Obj::Error) {
        return Decision::Done(Intent::Ask {
            kind: None,
            question: "What should I do with the failing endpoint?".into(),
            candidates: vec![
                "disable the stripe endpoint that keeps failing".into(),
                "enable the stripe endpoint that keeps failing".into(),
                "check stripe errors".into(),
            ],
        });
    }
    Decision::Act(Action::Audit)
}

/// Numbers to search (or buy: a question).
fn numbers_read(f: &Features) -> Option<Decision> {
    let where_ = !f.area_codes.is_empty() || !f.countries.is_empty() || !f.contains.is_empty();
    let about_numbers = f.has(Obj::Number) || where_ || f.available || f.says(Verb::Search);
    if !about_numbers || !f.recipients.is_empty() {
        return None;
    }
    if f.says(Verb::Search) || f.available || (f.says(Verb::List) && where_) {
        return Some(Decision::Act(Action::Search));
    }
    if f.says(Verb::List) {
        return Some(unknown(
            "Listing the numbers the account owns is not an operation apiops has; it can search numbers available to buy (\"search numbers in 415\")".into(),
        ));
    }
    if where_ {
        // Every candidate offered must run as written: a purchase takes an area code's first
        // available number, but in a country (without an area code) it needs the number, so
        // there the only runnable answer is a search.
        if let Some(area) = f.area_codes.first() {
            return Some(Decision::Done(Intent::Ask {
                kind: None,
                question: format!("Should I search numbers in {area}, or buy one?"),
                candidates: vec![
                    format!("search numbers in {area}"),
                    format!("buy a phone number in {area}"),
                ],
            }));
        }
        let place = f
            .countries
            .first()
            .map(|c| format!(" in {c}"))
            .unwrap_or_default();
        return Some(Decision::Done(Intent::Ask {
            kind: None,
            question: format!(
                "A purchase needs an area code or the number itself: should I search numbers{place} first?"
            ),
            candidates: vec![format!("search numbers{place}")],
        }));
    }
    None
}

/// A request with values or service names but nothing to do with them: a question with the
/// requests that would use them.
fn values_only(f: &Features) -> Decision {
    let ask = |question: String, candidates: Vec<String>| {
        Decision::Done(Intent::Ask {
            kind: None,
            question,
            candidates,
        })
    };
    if f.has(Obj::Message) && f.says(Verb::List) {
        return Decision::Done(Intent::Ask {
            kind: Some(OpKind::TwilioListFailedMessages),
            question: "Only failed and undelivered messages can be listed: show those?".into(),
            candidates: vec!["show failed messages".into()],
        });
    }
    if let Some(n) = f.recipients.first() {
        return ask(
            format!("What should I do with {n}?"),
            vec![
                format!("send a test message to {n}"),
                format!("release {n}"),
            ],
        );
    }
    // A number's SID is not somewhere a message can go: releasing it is the one operation.
    if let Some(sid) = f.sids.first() {
        return ask(
            format!("What should I do with {sid}?"),
            vec![format!("release {sid}")],
        );
    }
    if let Some(id) = f.endpoint_ids.first() {
        return ask(
            format!("What should I do with {id}?"),
            vec![
                format!("disable {id}"),
                format!("enable {id}"),
                format!("send a test event to {id}"),
            ],
        );
    }
    if let Some(m) = f.models.first() {
        return ask(
            format!("Should I send a test completion to {m}?"),
            vec![format!("test completion with {m}")],
        );
    }
    if let Some((_, u)) = f.urls.first() {
        return ask(
            format!("Which number or Stripe endpoint should use {u}?"),
            Vec::new(),
        );
    }
    if let Some(s) = f.services.iter().next() {
        return ask(
            format!("What should I do with {}?", s.display_name()),
            service_examples(*s),
        );
    }
    Decision::Nothing
}

/// Requests that work, for a service.
fn service_examples(s: Service) -> Vec<String> {
    let list: &[&str] = match s {
        Service::Twilio => &[
            "check twilio errors",
            "show failed messages",
            "search numbers",
        ],
        Service::Stripe => &[
            "check stripe errors",
            "list webhook endpoints",
            "resend undelivered stripe events",
        ],
        Service::Openai => &["check openai errors", "list models", "rate limit headroom"],
        Service::Api(name) => {
            return vec![
                format!("apiops api ops {name}"),
                format!("apiops errors {name}"),
            ];
        }
    };
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// The operation's service must be the one named, if any is.
fn services_agree(a: Action, f: &Features) -> Decision {
    let spec = a.kind().spec();
    let Some(service) = spec.service else {
        return Decision::Act(a);
    };
    match f.services.iter().find(|s| **s != service) {
        Some(other) => unknown(format!(
            "{} acts on {}, but the request names {}",
            spec.name,
            service.display_name(),
            other.display_name()
        )),
        None => Decision::Act(a),
    }
}

fn unknown(reason: String) -> Decision {
    Decision::Done(unknown_intent(reason))
}

/// An [`Intent::Unknown`] with the usual examples.
pub(super) fn unknown_intent(reason: String) -> Intent {
    Intent::Unknown {
        reason,
        examples: super::examples(),
    }
}
