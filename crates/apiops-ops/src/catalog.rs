//! The operations catalog: every operation apiops can perform, typed, with what it needs and
//! what it does to the world. The intent parser produces these, the LLM planner may only pick
//! among them, the plan is built from them and the gate judges them by their [`OpSpec`].

use std::time::Duration;

use apiops_core::{Category, Service};
pub use apiops_providers::usage::{UsageBy, UsagePeriod};
use serde::{Deserialize, Serialize};

/// How much harm a mistaken run could do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Reads only.
    None,
    /// Changes something small and easily undone (a test message, a test event).
    Low,
    /// Changes live configuration (a webhook URL, an endpoint's state).
    Medium,
    /// Spends money or destroys something that cannot be recovered.
    High,
}

impl Risk {
    /// The word shown in plans.
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::None => "none",
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
        }
    }
}

/// Which operation, without its parameters: the catalog's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum OpKind {
    /// `twilio.numbers.search`
    TwilioSearchNumbers,
    /// `twilio.numbers.buy`
    TwilioBuyNumber,
    /// `twilio.numbers.release`
    TwilioReleaseNumber,
    /// `twilio.numbers.update`
    TwilioUpdateNumber,
    /// `twilio.messages.send_test`
    TwilioSendTestSms,
    /// `twilio.messages.list_failed`
    TwilioListFailedMessages,
    /// `stripe.endpoints.list`
    StripeListEndpoints,
    /// `stripe.endpoints.enable`
    StripeEnableEndpoint,
    /// `stripe.endpoints.disable`
    StripeDisableEndpoint,
    /// `stripe.endpoints.update`
    StripeUpdateEndpoint,
    /// `stripe.endpoints.send_test_event`
    StripeSendTestEvent,
    /// `stripe.events.resend_undelivered`
    StripeResendUndelivered,
    /// `openai.models.list`
    OpenaiListModels,
    /// `openai.rate_limits.check`
    OpenaiCheckRateLimits,
    /// `openai.completions.test`
    OpenaiTestCompletion,
    /// `health.check`: credentials, status, latency, quota and headroom of each service.
    HealthCheck,
    /// `config.audit`: the configuration audit (all of it, or its webhook part).
    AuditConfig,
    /// `webhooks.audit`: webhook issues — the error audit and the webhook part of the
    /// configuration audit.
    AuditWebhooks,
    /// `usage.report`: usage and spend per service, in each provider's units.
    UsageReport,
    /// `errors.audit`: the error audit, for questions like "why are calls failing".
    AuditErrors,
}

/// What the catalog says of one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OpSpec {
    /// Which operation.
    pub kind: OpKind,
    /// Its stable name (`twilio.numbers.buy`): the LLM planner's tool name, the journal's key.
    pub name: &'static str,
    /// The service it acts on; `None` for cross-service operations.
    pub service: Option<Service>,
    /// One line for humans and for the LLM planner's tool description.
    pub summary: &'static str,
    /// Its parameters, for help, questions and the LLM planner's schema.
    pub params: &'static [ParamSpec],
    /// What it changes in the world; empty for reads.
    pub side_effects: &'static str,
    /// How much harm a mistaken run could do.
    pub risk: Risk,
    /// Whether what it does can be undone.
    pub reversible: bool,
    /// Spends money on a purchase: never automatic.
    pub purchase: bool,
    /// Deletes or releases something: never automatic.
    pub deletion: bool,
    /// Touches credentials: never automatic.
    pub auth: bool,
    /// Costs money per call (a completion), without being a purchase.
    pub costs_money: bool,
    /// The error category it can fix, for the auto-fix policy; `None` if it fixes none.
    pub fixes: Option<Category>,
}

impl OpSpec {
    /// Whether it only reads.
    pub fn read_only(&self) -> bool {
        self.risk == Risk::None
    }
}

/// A parameter of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ParamSpec {
    /// Its name in structured requests and in the LLM planner's schema.
    pub name: &'static str,
    /// What it is.
    pub help: &'static str,
    /// Whether the operation cannot be planned without it.
    pub required: bool,
}

const fn param(name: &'static str, help: &'static str, required: bool) -> ParamSpec {
    ParamSpec {
        name,
        help,
        required,
    }
}

/// The services an operation across services reads.
const SERVICES: ParamSpec = param(
    "services",
    "twilio, stripe, openai (default: all configured)",
    false,
);

/// How far back an error read goes.
const SINCE: ParamSpec = param("since", "how far back, e.g. 6h (default 24h)", false);

const READ: OpSpec = OpSpec {
    kind: OpKind::AuditErrors,
    name: "",
    service: None,
    summary: "",
    params: &[],
    side_effects: "",
    risk: Risk::None,
    reversible: true,
    purchase: false,
    deletion: false,
    auth: false,
    costs_money: false,
    fixes: None,
};

/// Every operation, in the order help lists them.
pub const CATALOG: &[OpSpec] = &[
    OpSpec {
        kind: OpKind::TwilioSearchNumbers,
        name: "twilio.numbers.search",
        service: Some(Service::Twilio),
        summary: "Search phone numbers available to buy, with their monthly price",
        params: &[
            param("country", "ISO country code (default US)", false),
            param("area_code", "area code, e.g. 415", false),
            param("contains", "digits the number must contain", false),
            param("limit", "how many to show (default 5)", false),
        ],
        ..READ
    },
    OpSpec {
        kind: OpKind::TwilioBuyNumber,
        name: "twilio.numbers.buy",
        service: Some(Service::Twilio),
        summary: "Buy a phone number (a specific one, or the first available in an area code)",
        params: &[
            param("number", "the E.164 number to buy", false),
            param(
                "area_code",
                "buy the first available number in this area code",
                false,
            ),
            param("country", "ISO country code (default US)", false),
            param("sms_url", "the number's SMS webhook URL", false),
            param("voice_url", "the number's voice webhook URL", false),
        ],
        side_effects: "buys a phone number: a monthly charge on the Twilio account until released",
        risk: Risk::High,
        reversible: false,
        purchase: true,
        ..READ
    },
    OpSpec {
        kind: OpKind::TwilioReleaseNumber,
        name: "twilio.numbers.release",
        service: Some(Service::Twilio),
        summary: "Release (delete) a phone number the account owns",
        params: &[param("number", "the E.164 number or PN... SID", true)],
        side_effects: "releases the number: it stops receiving calls and messages and may not be recoverable",
        risk: Risk::High,
        reversible: false,
        deletion: true,
        ..READ
    },
    OpSpec {
        kind: OpKind::TwilioUpdateNumber,
        name: "twilio.numbers.update",
        service: Some(Service::Twilio),
        summary: "Set a number's SMS, voice, status-callback or fallback URLs",
        params: &[
            param("number", "the E.164 number or PN... SID", true),
            param("sms_url", "SMS webhook URL", false),
            param("sms_fallback_url", "SMS fallback URL", false),
            param("voice_url", "voice webhook URL", false),
            param("voice_fallback_url", "voice fallback URL", false),
            param("status_callback", "status callback URL", false),
        ],
        side_effects: "changes where Twilio sends this number's webhooks",
        risk: Risk::Medium,
        reversible: true,
        fixes: Some(Category::Config),
        ..READ
    },
    OpSpec {
        kind: OpKind::TwilioSendTestSms,
        name: "twilio.messages.send_test",
        service: Some(Service::Twilio),
        summary: "Send a test SMS to one or more numbers",
        params: &[
            param("to", "E.164 number(s) to send to", true),
            param(
                "from",
                "an owned number to send from (default: the first SMS-capable one)",
                false,
            ),
            param("body", "the text (default: a short test message)", false),
        ],
        side_effects: "sends a real SMS to each recipient (billed per segment)",
        risk: Risk::Low,
        reversible: false,
        costs_money: true,
        ..READ
    },
    OpSpec {
        kind: OpKind::TwilioListFailedMessages,
        name: "twilio.messages.list_failed",
        service: Some(Service::Twilio),
        summary: "List failed and undelivered messages with their error codes",
        params: &[SINCE],
        ..READ
    },
    OpSpec {
        kind: OpKind::StripeListEndpoints,
        name: "stripe.endpoints.list",
        service: Some(Service::Stripe),
        summary: "List webhook endpoints with their URL, status and events",
        ..READ
    },
    OpSpec {
        kind: OpKind::StripeEnableEndpoint,
        name: "stripe.endpoints.enable",
        service: Some(Service::Stripe),
        summary: "Enable a webhook endpoint",
        params: &[param("endpoint", "the we_... id (or \"failing\")", true)],
        side_effects: "Stripe starts sending events to the endpoint again",
        risk: Risk::Medium,
        reversible: true,
        fixes: Some(Category::Config),
        ..READ
    },
    OpSpec {
        kind: OpKind::StripeDisableEndpoint,
        name: "stripe.endpoints.disable",
        service: Some(Service::Stripe),
        summary: "Disable a webhook endpoint",
        params: &[param("endpoint", "the we_... id (or \"failing\")", true)],
        side_effects: "Stripe stops sending events to the endpoint until it is enabled again",
        risk: Risk::Medium,
        reversible: true,
        fixes: Some(Category::Config),
        ..READ
    },
    OpSpec {
        kind: OpKind::StripeUpdateEndpoint,
        name: "stripe.endpoints.update",
        service: Some(Service::Stripe),
        summary: "Change a webhook endpoint's URL or enabled events",
        params: &[
            param("endpoint", "the we_... id", true),
            param("url", "the new HTTPS URL", false),
            param(
                "events",
                "the event types to enable, comma-separated",
                false,
            ),
        ],
        side_effects: "changes where and which events Stripe delivers",
        risk: Risk::Medium,
        reversible: true,
        fixes: Some(Category::Config),
        ..READ
    },
    OpSpec {
        kind: OpKind::StripeSendTestEvent,
        name: "stripe.endpoints.send_test_event",
        service: Some(Service::Stripe),
        summary: "Send a signed test event to an endpoint's URL (built and signed by apiops)",
        params: &[
            param("endpoint", "the we_... id", true),
            param(
                "event_type",
                "the event type (default payment_intent.payment_failed)",
                false,
            ),
        ],
        side_effects: "POSTs one test event (livemode false) to the endpoint's URL",
        risk: Risk::Low,
        reversible: false,
        ..READ
    },
    OpSpec {
        kind: OpKind::StripeResendUndelivered,
        name: "stripe.events.resend_undelivered",
        service: Some(Service::Stripe),
        summary: "Fetch events Stripe could not deliver and deliver them, signed, to our receiver",
        params: &[
            param(
                "since",
                "how far back (default 24h; Stripe keeps 30 days)",
                false,
            ),
            param(
                "to",
                "the receiver's URL (default: the configured apiops serve URL)",
                false,
            ),
        ],
        side_effects: "POSTs each undelivered event to the receiver",
        risk: Risk::Low,
        reversible: false,
        fixes: Some(Category::Config),
        ..READ
    },
    OpSpec {
        kind: OpKind::OpenaiListModels,
        name: "openai.models.list",
        service: Some(Service::Openai),
        summary: "List the models the key can use",
        ..READ
    },
    OpSpec {
        kind: OpKind::OpenaiCheckRateLimits,
        name: "openai.rate_limits.check",
        service: Some(Service::Openai),
        summary: "Show rate-limit headroom (requests and tokens left, reset times)",
        ..READ
    },
    OpSpec {
        kind: OpKind::OpenaiTestCompletion,
        name: "openai.completions.test",
        service: Some(Service::Openai),
        summary: "Send a minimal test chat completion (a few tokens: it costs money)",
        params: &[param("model", "the model (default gpt-4o-mini)", false)],
        side_effects: "one billed completion request (max 5 output tokens)",
        risk: Risk::Low,
        reversible: false,
        costs_money: true,
        ..READ
    },
    OpSpec {
        kind: OpKind::HealthCheck,
        name: "health.check",
        service: None,
        summary: "Check each service's health: credentials, status, latency, quota or balance, rate-limit headroom",
        params: &[SERVICES],
        ..READ
    },
    OpSpec {
        kind: OpKind::AuditConfig,
        name: "config.audit",
        service: None,
        summary: "Audit configuration: numbers, messaging services, webhook URLs and endpoints, models, projects",
        params: &[
            SERVICES,
            param(
                "scope",
                "\"webhooks\" for webhook URLs and endpoints only (default: everything)",
                false,
            ),
        ],
        ..READ
    },
    OpSpec {
        kind: OpKind::AuditWebhooks,
        name: "webhooks.audit",
        service: None,
        summary: "Webhook issues: the error audit and the webhook part of the configuration audit",
        params: &[SERVICES, SINCE],
        ..READ
    },
    OpSpec {
        kind: OpKind::UsageReport,
        name: "usage.report",
        service: None,
        summary: "Usage and spend: Twilio by category, OpenAI tokens and costs, Stripe volume and fees",
        params: &[
            SERVICES,
            param(
                "period",
                "today, this-month, last-month (default: the last 30 days)",
                false,
            ),
            param("since", "how far back instead of a period, e.g. 7d", false),
            param("by", "day, category, model or project", false),
        ],
        ..READ
    },
    OpSpec {
        kind: OpKind::AuditErrors,
        name: "errors.audit",
        service: None,
        summary: "Audit recent errors: fetch, group, rank and suggest fixes",
        params: &[
            SERVICES,
            SINCE,
            param(
                "resource",
                "only this resource type: message, call, alert, ...",
                false,
            ),
        ],
        ..READ
    },
];

impl OpKind {
    /// Its catalog entry.
    pub fn spec(self) -> &'static OpSpec {
        CATALOG
            .iter()
            .find(|s| s.kind == self)
            .unwrap_or(&CATALOG[CATALOG.len() - 1])
    }

    /// Its stable name.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The operation a stable name denotes.
    pub fn from_name(name: &str) -> Option<OpKind> {
        CATALOG.iter().find(|s| s.name == name).map(|s| s.kind)
    }
}

/// Which Stripe webhook endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "by", content = "value")]
pub enum EndpointRef {
    /// `we_...`
    Id(String),
    /// The one that keeps failing: resolved at plan time, a question when not exactly one.
    Failing,
}

/// A number to act on: E.164 or a `PN...` SID.
pub type NumberRef = String;

/// The URLs of a Twilio number that an update may set (unset fields are left as they are).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NumberUrls {
    /// `SmsUrl`
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sms_url: Option<String>,
    /// `SmsFallbackUrl`
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sms_fallback_url: Option<String>,
    /// `VoiceUrl`
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub voice_url: Option<String>,
    /// `VoiceFallbackUrl`
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub voice_fallback_url: Option<String>,
    /// `StatusCallback`
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status_callback: Option<String>,
}

impl NumberUrls {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.fields().iter().all(|(_, v)| v.is_none())
    }

    /// `(Twilio form name, value)` of every field.
    pub fn fields(&self) -> [(&'static str, Option<&str>); 5] {
        [
            ("SmsUrl", self.sms_url.as_deref()),
            ("SmsFallbackUrl", self.sms_fallback_url.as_deref()),
            ("VoiceUrl", self.voice_url.as_deref()),
            ("VoiceFallbackUrl", self.voice_fallback_url.as_deref()),
            ("StatusCallback", self.status_callback.as_deref()),
        ]
    }
}

/// One operation with its parameters: what a request asks for, before planning.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Operation {
    /// Search numbers available to buy.
    TwilioSearchNumbers {
        /// ISO country, upper case.
        country: String,
        /// Area code.
        area_code: Option<u16>,
        /// Digits the number contains.
        contains: Option<String>,
        /// How many.
        limit: u32,
    },
    /// Buy a number: `number`, or the first available in `area_code`.
    TwilioBuyNumber {
        /// A specific E.164 number.
        number: Option<String>,
        /// Or an area code.
        area_code: Option<u16>,
        /// ISO country, upper case.
        country: String,
        /// URLs to set on purchase.
        urls: NumberUrls,
    },
    /// Release a number.
    TwilioReleaseNumber {
        /// E.164 or `PN...`.
        number: NumberRef,
    },
    /// Update numbers' URLs (one step per number).
    TwilioUpdateNumber {
        /// E.164 or `PN...`, one or more.
        numbers: Vec<NumberRef>,
        /// What to set.
        urls: NumberUrls,
    },
    /// Send a test SMS to each recipient (one step each).
    TwilioSendTestSms {
        /// E.164 recipients.
        to: Vec<String>,
        /// Owned sender; `None` picks one at plan time.
        from: Option<String>,
        /// The text; `None` for the default test text.
        body: Option<String>,
    },
    /// List failed messages.
    TwilioListFailedMessages {
        /// How far back.
        #[serde(with = "humantime_serde_secs")]
        since: Duration,
    },
    /// List webhook endpoints.
    StripeListEndpoints,
    /// Enable or disable an endpoint.
    StripeSetEndpointEnabled {
        /// Which.
        endpoint: EndpointRef,
        /// Enable (`true`) or disable.
        enabled: bool,
    },
    /// Update an endpoint.
    StripeUpdateEndpoint {
        /// `we_...`
        endpoint: String,
        /// New URL.
        url: Option<String>,
        /// New enabled events.
        events: Option<Vec<String>>,
    },
    /// Send a signed test event.
    StripeSendTestEvent {
        /// `we_...`
        endpoint: String,
        /// The event type.
        event_type: String,
    },
    /// Resend undelivered events to our receiver.
    StripeResendUndelivered {
        /// How far back.
        #[serde(with = "humantime_serde_secs")]
        since: Duration,
        /// The receiver URL; `None` for the configured one.
        to: Option<String>,
    },
    /// List models.
    OpenaiListModels,
    /// Rate-limit headroom.
    OpenaiCheckRateLimits,
    /// A minimal completion.
    OpenaiTestCompletion {
        /// The model.
        model: String,
    },
    /// Health of the services.
    HealthCheck {
        /// Services (all configured when empty).
        services: Vec<Service>,
    },
    /// The configuration audit.
    AuditConfig {
        /// Services (all configured when empty).
        services: Vec<Service>,
        /// Only webhook URLs and endpoints.
        #[serde(default)]
        webhooks_only: bool,
    },
    /// Webhook issues: errors and the webhook part of the configuration audit.
    AuditWebhooks {
        /// Services (all configured when empty).
        services: Vec<Service>,
        /// How far back for errors.
        #[serde(with = "humantime_serde_secs")]
        since: Duration,
    },
    /// Usage and spend.
    UsageReport {
        /// Services (all configured when empty).
        services: Vec<Service>,
        /// The period.
        period: UsagePeriod,
        /// The grouping; `None` for each provider's default.
        by: Option<UsageBy>,
    },
    /// The error audit.
    AuditErrors {
        /// Services (all configured when empty).
        services: Vec<Service>,
        /// How far back.
        #[serde(with = "humantime_serde_secs")]
        since: Duration,
        /// Only this resource type (`call`, `message`...).
        resource: Option<String>,
    },
}

/// The default test SMS text.
pub const DEFAULT_TEST_SMS: &str = "apiops test message";
/// The default model of a test completion.
pub const DEFAULT_TEST_MODEL: &str = "gpt-4o-mini";
/// The default Stripe test event type.
pub const DEFAULT_TEST_EVENT: &str = "payment_intent.payment_failed";
/// The default look-back of listing and audit operations.
pub const DEFAULT_SINCE: Duration = Duration::from_secs(24 * 3600);

impl Operation {
    /// Which catalog entry it is.
    pub fn kind(&self) -> OpKind {
        match self {
            Operation::TwilioSearchNumbers { .. } => OpKind::TwilioSearchNumbers,
            Operation::TwilioBuyNumber { .. } => OpKind::TwilioBuyNumber,
            Operation::TwilioReleaseNumber { .. } => OpKind::TwilioReleaseNumber,
            Operation::TwilioUpdateNumber { .. } => OpKind::TwilioUpdateNumber,
            Operation::TwilioSendTestSms { .. } => OpKind::TwilioSendTestSms,
            Operation::TwilioListFailedMessages { .. } => OpKind::TwilioListFailedMessages,
            Operation::StripeListEndpoints => OpKind::StripeListEndpoints,
            Operation::StripeSetEndpointEnabled { enabled: true, .. } => {
                OpKind::StripeEnableEndpoint
            }
            Operation::StripeSetEndpointEnabled { enabled: false, .. } => {
                OpKind::StripeDisableEndpoint
            }
            Operation::StripeUpdateEndpoint { .. } => OpKind::StripeUpdateEndpoint,
            Operation::StripeSendTestEvent { .. } => OpKind::StripeSendTestEvent,
            Operation::StripeResendUndelivered { .. } => OpKind::StripeResendUndelivered,
            Operation::OpenaiListModels => OpKind::OpenaiListModels,
            Operation::OpenaiCheckRateLimits => OpKind::OpenaiCheckRateLimits,
            Operation::OpenaiTestCompletion { .. } => OpKind::OpenaiTestCompletion,
            Operation::HealthCheck { .. } => OpKind::HealthCheck,
            Operation::AuditConfig { .. } => OpKind::AuditConfig,
            Operation::AuditWebhooks { .. } => OpKind::AuditWebhooks,
            Operation::UsageReport { .. } => OpKind::UsageReport,
            Operation::AuditErrors { .. } => OpKind::AuditErrors,
        }
    }

    /// Its catalog entry.
    pub fn spec(&self) -> &'static OpSpec {
        self.kind().spec()
    }
}

/// Durations as whole seconds in JSON (plans are journaled and compared by their JSON).
mod humantime_serde_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_kind_has_one_entry_with_a_unique_name() {
        let names: HashSet<_> = CATALOG.iter().map(|s| s.name).collect();
        assert_eq!(names.len(), CATALOG.len());
        let kinds: HashSet<_> = CATALOG.iter().map(|s| s.kind).collect();
        assert_eq!(kinds.len(), CATALOG.len());
        for s in CATALOG {
            assert_eq!(s.kind.spec().name, s.name);
            assert_eq!(OpKind::from_name(s.name), Some(s.kind));
            assert!(!s.summary.is_empty(), "{} has no summary", s.name);
        }
    }

    #[test]
    fn entries_are_consistent() {
        for s in CATALOG {
            // Anything that is not a read says what it changes.
            assert_eq!(s.read_only(), s.side_effects.is_empty(), "{}", s.name);
            if s.purchase || s.deletion {
                assert_eq!(s.risk, Risk::High, "{}", s.name);
                assert!(!s.reversible, "{}", s.name);
            }
            if let Some(c) = s.fixes {
                assert!(
                    c.auto_fixable(),
                    "{} fixes {c}, which is never automatic",
                    s.name
                );
            }
        }
    }

    #[test]
    fn the_catalog_names_its_purchase_and_deletion() {
        assert!(OpKind::TwilioBuyNumber.spec().purchase);
        assert!(OpKind::TwilioReleaseNumber.spec().deletion);
        assert!(OpKind::OpenaiTestCompletion.spec().costs_money);
        let purchases = CATALOG.iter().filter(|s| s.purchase).count();
        assert_eq!(purchases, 1);
    }

    #[test]
    fn operations_round_trip_through_json() {
        let ops = [
            Operation::TwilioBuyNumber {
                number: None,
                area_code: Some(415),
                country: "US".into(),
                urls: NumberUrls {
                    sms_url: Some("https://example.com/sms".into()),
                    ..NumberUrls::default()
                },
            },
            Operation::StripeSetEndpointEnabled {
                endpoint: EndpointRef::Failing,
                enabled: false,
            },
            Operation::AuditErrors {
                services: vec![Service::Twilio],
                since: Duration::from_secs(6 * 3600),
                resource: Some("call".into()),
            },
        ];
        for op in ops {
            let json = serde_json::to_string(&op).expect("json");
            let back: Operation = serde_json::from_str(&json).expect("parse");
            assert_eq!(back, op);
        }
        assert_eq!(
            Operation::StripeSetEndpointEnabled {
                endpoint: EndpointRef::Id("we_1".into()),
                enabled: true
            }
            .kind(),
            OpKind::StripeEnableEndpoint
        );
    }
}
