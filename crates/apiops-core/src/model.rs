//! The domain model: which service, what kind of failure, how bad, and the one normalized event
//! schema (DESIGN.md §2) that every failure anywhere becomes. Also the shapes of what apiops
//! reports: health per service, audit findings, grouped errors, and the report that holds them.
//!
//! Serialization is part of the contract: field names and enum spellings here are what `--json`,
//! the store and MCP clients see, so they are pinned by tests.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use crate::api_name::{ApiName, ApiNameError};

/// A value that did not name a known variant; carries what was given and what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {given:?}; expected one of: {expected}")]
pub struct ParseError {
    /// Which kind of value was being parsed ("service", "category", ...).
    pub what: &'static str,
    /// The text that did not parse.
    pub given: String,
    /// The accepted spellings, comma separated.
    pub expected: &'static str,
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical spelling, as serialized.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let lower = s.trim().to_ascii_lowercase();
                match lower.as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(ParseError {
                        what: $what,
                        given: s.to_owned(),
                        expected: concat!($($text, " "),+),
                    }),
                }
            }
        }
    };
}

/// A third-party service apiops operates: one of the three built in, or an API configured as
/// `[apis.NAME]` (any API with an OpenAPI document).
///
/// Serialized as its name (`"twilio"`, `"mail"`). Built-in names win: no API may be called
/// `twilio`, `openai` or `stripe`. [`FromStr`] accepts the built-in names only (what a
/// command line means by a service); [`Service::from_stored`] and deserialization also accept
/// an API's name, so a row or a JSON document holding one reads back as [`Service::Api`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// Twilio.
    Twilio,
    /// OpenAI.
    Openai,
    /// Stripe.
    Stripe,
    /// A configured API, by its name.
    Api(ApiName),
}

const BUILT_IN_NAMES: &str = "twilio openai stripe ";

impl Service {
    /// The three built-in services, in declaration order (configured APIs are not listed).
    pub const ALL: &'static [Service] = &[Service::Twilio, Service::Openai, Service::Stripe];

    /// The canonical spelling, as serialized: the built-in name or the API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Twilio => "twilio",
            Service::Openai => "openai",
            Service::Stripe => "stripe",
            Service::Api(name) => name.as_str(),
        }
    }

    /// The built-in service called `name` exactly (lowercase), if any.
    fn built_in(name: &str) -> Option<Service> {
        Service::ALL.iter().copied().find(|s| s.as_str() == name)
    }

    /// Reads a stored or serialized name back: a built-in service, or else a configured API
    /// (whose name must be valid, see [`ApiName::new`]).
    pub fn from_stored(name: &str) -> Result<Service, ParseError> {
        if let Some(s) = Service::built_in(name) {
            return Ok(s);
        }
        ApiName::new(name)
            .map(Service::Api)
            .map_err(|_| ParseError {
                what: "service",
                given: name.to_owned(),
                expected: "twilio openai stripe, or an API name (1 to 32 of a-z, 0-9, - and _)",
            })
    }

    /// The configured API's name, when this is one.
    pub fn api(self) -> Option<ApiName> {
        match self {
            Service::Api(name) => Some(name),
            _ => None,
        }
    }

    /// The name a person reads ("OpenAI", not "openai"; an API's configured name as is).
    pub fn display_name(self) -> &'static str {
        match self {
            Service::Twilio => "Twilio",
            Service::Openai => "OpenAI",
            Service::Stripe => "Stripe",
            Service::Api(name) => name.as_str(),
        }
    }

    /// The provider's console, for settings no public API exposes; none for a configured API
    /// (apiops knows its base URL, not where its settings are changed by hand).
    pub fn console_url(self) -> Option<&'static str> {
        match self {
            Service::Twilio => Some("https://console.twilio.com"),
            Service::Openai => Some("https://platform.openai.com/settings"),
            Service::Stripe => Some("https://dashboard.stripe.com"),
            Service::Api(_) => None,
        }
    }

    /// The sentence DESIGN.md §4 prescribes for a console-only setting.
    pub fn console_only_notice(self) -> String {
        match self.console_url() {
            Some(url) => format!(
                "This setting is not available via the public API. Please adjust manually in the {} Console at {url}.",
                self.display_name()
            ),
            None => format!(
                "This setting is not available via the public API. Please adjust manually in {}'s console.",
                self.display_name()
            ),
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Service {
    type Err = ParseError;
    /// A built-in service, in any case; an API's name is not accepted here (see
    /// [`Service::from_stored`]).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Service::built_in(&s.trim().to_ascii_lowercase()).ok_or_else(|| ParseError {
            what: "service",
            given: s.to_owned(),
            expected: BUILT_IN_NAMES,
        })
    }
}

impl Serialize for Service {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Service {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Service::from_stored(&name).map_err(serde::de::Error::custom)
    }
}

string_enum! {
    /// The taxonomy every provider error is normalized into.
    Category, "category" {
        /// Credentials wrong, expired, rotated, or the account not active.
        Auth => "auth",
        /// Something the user configured is wrong: URLs, permissions, registrations.
        Config => "config",
        /// Throttling or quota: back off and retry later.
        RateLimit => "rate_limit",
        /// The carrier or handset could not take the message.
        Carrier => "carrier",
        /// Filtered as spam, or the recipient opted out.
        SpamBlocked => "spam_blocked",
        /// The request itself was invalid.
        BadParams => "bad_params",
        /// Server errors and timeouts that may succeed on retry.
        Transient => "transient",
    }
}

impl Category {
    /// The default severity of DESIGN.md §2.
    pub fn default_severity(self) -> Severity {
        match self {
            Category::Auth | Category::Config => Severity::Critical,
            Category::RateLimit | Category::Carrier | Category::SpamBlocked => Severity::Warning,
            Category::BadParams | Category::Transient => Severity::Info,
        }
    }

    /// Whether policy may ever let apiops fix this category without a person (DESIGN.md §5).
    pub fn auto_fixable(self) -> bool {
        matches!(
            self,
            Category::Config | Category::RateLimit | Category::BadParams
        )
    }
}

string_enum! {
    /// How bad a failure or finding is. Ordered: `Info < Warning < Critical`.
    Severity, "severity" {
        Info => "info",
        Warning => "warning",
        Critical => "critical",
    }
}

impl Severity {
    /// The weight used to rank groups by frequency x severity.
    pub fn weight(self) -> u64 {
        match self {
            Severity::Info => 1,
            Severity::Warning => 3,
            Severity::Critical => 10,
        }
    }
}

string_enum! {
    /// What apiops did about an event.
    ActionTaken, "action" {
        None => "none",
        Retried => "retried",
        AutoFixed => "auto_fixed",
        Executed => "executed",
        Refused => "refused",
        Alerted => "alerted",
    }
}

string_enum! {
    /// The result of an event or of the action taken on it.
    EventResult, "result" {
        Success => "success",
        Failed => "failed",
        Pending => "pending",
    }
}

string_enum! {
    /// Overall state of a service.
    HealthStatus, "health status" {
        Operational => "operational",
        Degraded => "degraded",
        Down => "down",
    }
}

impl HealthStatus {
    /// The symbol of the seed report format.
    pub fn symbol(self) -> &'static str {
        match self {
            HealthStatus::Operational => "✓",
            HealthStatus::Degraded => "⚠",
            HealthStatus::Down => "✗",
        }
    }

    /// "✓ Operational", as the report's Health line shows it.
    pub fn label(self) -> &'static str {
        match self {
            HealthStatus::Operational => "✓ Operational",
            HealthStatus::Degraded => "⚠ Degraded",
            HealthStatus::Down => "✗ Down",
        }
    }
}

/// The one normalized record of a failure or an action (DESIGN.md §2), serialized with exactly
/// these fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorEvent {
    /// When it happened (the provider's time where it has one), ISO-8601 in UTC.
    pub timestamp: Timestamp,
    /// Which service it concerns.
    pub service: Service,
    /// The provider's own code ("30007", "card_declined", "429"), kept verbatim.
    pub error_code: String,
    /// The normalized category.
    pub category: Category,
    /// The severity, by default the category's.
    pub severity: Severity,
    /// The kind of resource affected ("message", "call", "webhook_endpoint", ...).
    pub resource_type: String,
    /// The provider's id of that resource, when there is one (empty otherwise).
    pub resource_id: String,
    /// A short human explanation; never a secret.
    pub context: String,
    /// What apiops did about it.
    pub action_taken: ActionTaken,
    /// How that ended.
    pub result: EventResult,
}

/// Health of one service at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// Which service.
    pub service: Service,
    /// The overall verdict.
    pub status: HealthStatus,
    /// Round-trip time of the authenticated probe, when one was made.
    pub latency_ms: Option<u64>,
    /// Facts worth showing: balance, quota, rate-limit headroom, breaker state, key kind.
    pub details: BTreeMap<String, String>,
    /// Configuration warnings seen while checking.
    pub warnings: Vec<String>,
    /// Why the service is not operational, when it is not.
    pub reason: Option<String>,
    /// The category of that reason in the taxonomy, set where the reason was found (from a
    /// typed error or a known condition), never read back from its text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
}

/// One thing a configuration audit found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Which service.
    pub service: Service,
    /// How bad.
    pub severity: Severity,
    /// Which category of problem it would cause.
    pub category: Category,
    /// The kind of resource ("phone_number", "webhook_endpoint", ...).
    pub resource_type: String,
    /// The resource's id.
    pub resource_id: String,
    /// One line: what is wrong.
    pub title: String,
    /// How to fix it.
    pub remediation: String,
    /// True when no public API can change it (the console-only sentence is in `remediation`).
    pub console_only: bool,
}

/// Errors of one service and code, aggregated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorGroup {
    /// Which service.
    pub service: Service,
    /// The provider's code.
    pub error_code: String,
    /// Its category.
    pub category: Category,
    /// Its severity.
    pub severity: Severity,
    /// How many events in the period.
    pub count: u64,
    /// The remediation of the classification table.
    pub suggested_fix: String,
    /// True when the code was not in the classification table (fell back by HTTP status).
    pub unknown: bool,
}

impl ErrorGroup {
    /// The ranking score: frequency x severity weight.
    pub fn score(&self) -> u64 {
        self.count.saturating_mul(self.severity.weight())
    }
}

/// A whole report: health, error groups, findings and recommendations over a period.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Report {
    /// When it was produced.
    pub generated_at: Option<Timestamp>,
    /// The period it covers, as a person reads it ("Last 24 hours").
    pub period: String,
    /// Health per service checked.
    pub health: Vec<Health>,
    /// Error groups, ranked.
    pub groups: Vec<ErrorGroup>,
    /// Configuration findings.
    pub findings: Vec<Finding>,
    /// Numbered recommendations, most important first.
    pub recommendations: Vec<String>,
}

impl Report {
    /// The worst health status among the services, operational when none was checked.
    pub fn overall_status(&self) -> HealthStatus {
        self.health
            .iter()
            .map(|h| h.status)
            .max()
            .unwrap_or(HealthStatus::Operational)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> ErrorEvent {
        ErrorEvent {
            timestamp: "2026-11-25T10:00:00Z".parse().expect("timestamp"),
            service: Service::Twilio,
            error_code: "30007".into(),
            category: Category::SpamBlocked,
            severity: Severity::Warning,
            resource_type: "message".into(),
            resource_id: "SM0123".into(),
            context: "filtered".into(),
            action_taken: ActionTaken::None,
            result: EventResult::Failed,
        }
    }

    #[test]
    fn error_event_serializes_exactly_the_design_fields() {
        let json = serde_json::to_value(event()).expect("serialize");
        let keys: Vec<&str> = json
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        let mut want = vec![
            "timestamp",
            "service",
            "error_code",
            "category",
            "severity",
            "resource_type",
            "resource_id",
            "context",
            "action_taken",
            "result",
        ];
        want.sort_unstable();
        let mut got = keys.clone();
        got.sort_unstable();
        assert_eq!(got, want);
        assert_eq!(json["timestamp"], "2026-11-25T10:00:00Z");
        assert_eq!(json["category"], "spam_blocked");
        assert_eq!(json["action_taken"], "none");
    }

    #[test]
    fn error_event_round_trips_and_rejects_unknown_fields() {
        let e = event();
        let text = serde_json::to_string(&e).expect("serialize");
        let back: ErrorEvent = serde_json::from_str(&text).expect("deserialize");
        assert_eq!(back, e);
        let mut v = serde_json::to_value(&e).expect("value");
        v["extra"] = 1.into();
        assert!(serde_json::from_value::<ErrorEvent>(v).is_err());
    }

    #[test]
    fn default_severities_match_the_design() {
        let table = [
            (Category::Auth, Severity::Critical),
            (Category::Config, Severity::Critical),
            (Category::RateLimit, Severity::Warning),
            (Category::Carrier, Severity::Warning),
            (Category::SpamBlocked, Severity::Warning),
            (Category::BadParams, Severity::Info),
            (Category::Transient, Severity::Info),
        ];
        for (c, s) in table {
            assert_eq!(c.default_severity(), s, "{c}");
        }
        assert_eq!(table.len(), Category::ALL.len());
    }

    #[test]
    fn only_three_categories_are_auto_fixable() {
        let fixable: Vec<_> = Category::ALL.iter().filter(|c| c.auto_fixable()).collect();
        assert_eq!(
            fixable,
            [
                &Category::Config,
                &Category::RateLimit,
                &Category::BadParams
            ]
        );
    }

    #[test]
    fn enums_parse_their_spellings_and_reject_others() {
        for s in Service::ALL {
            assert_eq!(s.as_str().parse::<Service>(), Ok(*s));
            assert_eq!(s.as_str().to_uppercase().parse::<Service>(), Ok(*s));
        }
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>(), Ok(*c));
            let json = serde_json::to_string(c).expect("json");
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
        let err = "paypal".parse::<Service>().expect_err("unknown service");
        assert!(err.to_string().contains("twilio"), "{err}");
    }

    #[test]
    fn ranking_and_overall_status() {
        let g = |count, severity| ErrorGroup {
            service: Service::Stripe,
            error_code: "x".into(),
            category: Category::Transient,
            severity,
            count,
            suggested_fix: String::new(),
            unknown: false,
        };
        assert!(g(5, Severity::Critical).score() > g(40, Severity::Info).score());
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Critical);
        let mut r = Report::default();
        assert_eq!(r.overall_status(), HealthStatus::Operational);
        for status in [HealthStatus::Degraded, HealthStatus::Operational] {
            r.health.push(Health {
                service: Service::Openai,
                status,
                latency_ms: None,
                details: BTreeMap::new(),
                warnings: vec![],
                reason: None,
                category: None,
            });
        }
        assert_eq!(r.overall_status(), HealthStatus::Degraded);
    }

    #[test]
    fn console_only_sentence() {
        assert_eq!(
            Service::Stripe.console_only_notice(),
            "This setting is not available via the public API. Please adjust manually in the Stripe Console at https://dashboard.stripe.com."
        );
    }
}
