//! Usage and spend, per provider, in each provider's own units: Twilio's Usage Records (spend
//! and volume by category), OpenAI's organization usage and costs (tokens and requests by
//! model or project, costs by line item; admin key only), and Stripe's balance transactions
//! (volume and fees by type, paged in constant memory).
//!
//! Layout:
//! - this file: the period asked about ([`UsagePeriod`] resolved into a [`Span`]), the grouping
//!   ([`UsageBy`]), exact decimal amounts ([`Decimal`]) and the report ([`UsageReport`],
//!   [`ServiceUsage`]) with its totals per currency;
//! - [`twilio`], [`openai`], [`stripe`]: one fetcher each, over the provider's typed client.
//!
//! Nothing here prints; the binary renders the report.

pub mod openai;
pub mod stripe;
pub mod twilio;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use apiops_core::Service;
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan as _, tz::TimeZone};
use serde::{Deserialize, Serialize};

/// The period a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "seconds")]
pub enum UsagePeriod {
    /// Since midnight UTC.
    Today,
    /// Since the first of this month, UTC.
    ThisMonth,
    /// The whole previous calendar month, UTC.
    LastMonth,
    /// The last so many seconds, up to now.
    Last(u64),
}

impl UsagePeriod {
    /// The default: the last 30 days.
    pub const DEFAULT: UsagePeriod = UsagePeriod::Last(30 * 86_400);

    /// The last `d`.
    pub fn last(d: Duration) -> Self {
        UsagePeriod::Last(d.as_secs().max(1))
    }

    /// `today`, `this-month`, `last-month` (also with `_` or a space).
    pub fn parse_named(s: &str) -> Option<Self> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['_', ' '], "-")
            .as_str()
        {
            "today" => Some(UsagePeriod::Today),
            "this-month" | "month" => Some(UsagePeriod::ThisMonth),
            "last-month" | "previous-month" => Some(UsagePeriod::LastMonth),
            _ => None,
        }
    }

    /// The instants it covers, seen at `now`.
    pub fn resolve(self, now: Timestamp) -> Span {
        let today = now.to_zoned(TimeZone::UTC).date();
        let midnight = |d: Date| {
            d.to_zoned(TimeZone::UTC)
                .map(|z| z.timestamp())
                .unwrap_or(now)
        };
        let first_of_month = today.first_of_month();
        let (start, end, label) = match self {
            UsagePeriod::Today => (midnight(today), now, format!("today ({today}, UTC)")),
            UsagePeriod::ThisMonth => (
                midnight(first_of_month),
                now,
                format!("this month ({first_of_month} to {today}, UTC)"),
            ),
            UsagePeriod::LastMonth => {
                let first = first_of_month
                    .checked_sub(1.month())
                    .unwrap_or(first_of_month);
                let last = first_of_month.yesterday().unwrap_or(first_of_month);
                (
                    midnight(first),
                    midnight(first_of_month),
                    format!("last month ({first} to {last}, UTC)"),
                )
            }
            UsagePeriod::Last(secs) => {
                let secs = i64::try_from(secs).unwrap_or(i64::MAX / 2);
                let start = now
                    .checked_sub(jiff::SignedDuration::from_secs(secs))
                    .unwrap_or(Timestamp::MIN);
                let start = start.max(Timestamp::UNIX_EPOCH);
                (
                    start,
                    now,
                    format!(
                        "the last {} ({} to {}, UTC)",
                        human_secs(secs.unsigned_abs()),
                        start.to_zoned(TimeZone::UTC).date(),
                        today
                    ),
                )
            }
        };
        Span {
            period: self,
            start,
            end,
            label,
        }
    }
}

/// `30d`, `6h`, `90m`.
fn human_secs(s: u64) -> String {
    match s {
        _ if s >= 86_400 && s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        _ if s >= 3600 && s.is_multiple_of(3600) => format!("{}h", s / 3600),
        _ if s >= 60 && s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

/// A period resolved at a given instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Span {
    /// What was asked.
    #[serde(rename = "asked")]
    pub period: UsagePeriod,
    /// From (inclusive).
    pub start: Timestamp,
    /// To (exclusive).
    pub end: Timestamp,
    /// The period in words, with its dates.
    pub label: String,
}

impl Span {
    /// The first day it touches (UTC).
    pub fn start_date(&self) -> Date {
        self.start.to_zoned(TimeZone::UTC).date()
    }

    /// The last day it touches (UTC; the end is exclusive).
    pub fn end_date(&self) -> Date {
        let last = self
            .end
            .checked_sub(jiff::SignedDuration::from_secs(1))
            .unwrap_or(self.end)
            .max(self.start);
        last.to_zoned(TimeZone::UTC).date()
    }
}

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageBy {
    /// One row per UTC day.
    Day,
    /// Twilio's usage categories, Stripe's transaction types, OpenAI's line items.
    Category,
    /// OpenAI models (the others group by category).
    Model,
    /// OpenAI projects (the others group by category).
    Project,
}

impl UsageBy {
    /// `day`, `category`, `model`, `project` (also plurals and `type`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "day" | "days" | "daily" => Some(UsageBy::Day),
            "category" | "categories" | "type" | "types" | "line-item" | "line_item" => {
                Some(UsageBy::Category)
            }
            "model" | "models" => Some(UsageBy::Model),
            "project" | "projects" => Some(UsageBy::Project),
            _ => None,
        }
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            UsageBy::Day => "day",
            UsageBy::Category => "category",
            UsageBy::Model => "model",
            UsageBy::Project => "project",
        }
    }
}

/// An exact decimal: billionths, in an `i128`. Prices and costs are added without rounding
/// drift; shown with as many decimals as they need.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Decimal(i128);

const SCALE: i128 = 1_000_000_000;

impl Decimal {
    /// Zero.
    pub const ZERO: Decimal = Decimal(0);

    /// A whole number.
    pub fn from_int(n: i64) -> Self {
        Decimal(i128::from(n).saturating_mul(SCALE))
    }

    /// `n` minor units of a currency with `exponent` decimals (Stripe's cents: 2).
    pub fn from_minor(n: i64, exponent: u32) -> Self {
        let div = 10i128.pow(exponent.min(9));
        Decimal(i128::from(n).saturating_mul(SCALE) / div)
    }

    /// Parses `-0.00790`, `12`, `1e-3` (a JSON number's text); `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.contains(['e', 'E']) {
            let f: f64 = s.parse().ok()?;
            return Self::from_f64(f);
        }
        let (neg, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        if int.is_empty() && frac.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || int.len() > 24
        {
            return None;
        }
        let whole: i128 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let mut f: i128 = 0;
        for (i, b) in frac.bytes().take(9).enumerate() {
            f += i128::from(b - b'0') * 10i128.pow(8 - i as u32);
        }
        let v = whole.checked_mul(SCALE)?.checked_add(f)?;
        Some(Decimal(if neg { -v } else { v }))
    }

    /// From a JSON number (its shortest round-trip text, so `0.06` is exactly 0.06).
    pub fn from_f64(f: f64) -> Option<Self> {
        if !f.is_finite() {
            return None;
        }
        let text = format!("{f}");
        if text.contains(['e', 'E']) {
            let v = (f * SCALE as f64).round();
            return (v.abs() < 1e30).then_some(Decimal(v as i128));
        }
        Self::parse(&text)
    }

    /// The absolute value.
    pub fn abs(self) -> Self {
        Decimal(self.0.saturating_abs())
    }

    /// Whether it is zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl std::ops::Add for Decimal {
    type Output = Decimal;
    fn add(self, o: Decimal) -> Decimal {
        Decimal(self.0.saturating_add(o.0))
    }
}

impl std::ops::AddAssign for Decimal {
    fn add_assign(&mut self, o: Decimal) {
        *self = *self + o;
    }
}

impl std::ops::Sub for Decimal {
    type Output = Decimal;
    fn sub(self, o: Decimal) -> Decimal {
        Decimal(self.0.saturating_sub(o.0))
    }
}

impl std::iter::Sum for Decimal {
    fn sum<I: Iterator<Item = Decimal>>(iter: I) -> Decimal {
        iter.fold(Decimal::ZERO, |a, b| a + b)
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.0 < 0;
        let v = self.0.unsigned_abs();
        let whole = v / SCALE as u128;
        let frac = v % SCALE as u128;
        let sign = if neg { "-" } else { "" };
        if frac == 0 {
            return write!(f, "{sign}{whole}");
        }
        let digits = format!("{frac:09}");
        write!(f, "{sign}{whole}.{}", digits.trim_end_matches('0'))
    }
}

impl Serialize for Decimal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        decimal_of(&v).ok_or_else(|| serde::de::Error::custom(format!("not a decimal: {v}")))
    }
}

/// A decimal from a JSON string or number.
pub fn decimal_of(v: &serde_json::Value) -> Option<Decimal> {
    match v {
        serde_json::Value::String(s) => Decimal::parse(s),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Some(Decimal::from_int(i)),
            None => n.as_f64().and_then(Decimal::from_f64),
        },
        _ => None,
    }
}

/// One figure of a row, in the provider's unit (`segments`, `minutes`, `tokens`, `usd`...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figure {
    /// What it measures: `count`, `usage`, `price`, `input_tokens`, `gross`, `fee`...
    pub name: String,
    /// The value.
    pub value: Decimal,
    /// The provider's unit for it (a currency for money, lower case as the provider writes it).
    pub unit: String,
}

impl Figure {
    /// A figure.
    pub fn new(name: &str, value: Decimal, unit: &str) -> Self {
        Figure {
            name: name.to_owned(),
            value,
            unit: unit.to_owned(),
        }
    }
}

/// One row: a category, model, project, type or day, and its figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRow {
    /// The group's key (`sms`, `gpt-4o-mini`, `proj_...`, `charge`, `2026-12-01`).
    pub key: String,
    /// Its figures, in a fixed order per provider.
    pub figures: Vec<Figure>,
}

impl UsageRow {
    /// The figure named `name`, if any.
    pub fn figure(&self, name: &str) -> Option<&Figure> {
        self.figures.iter().find(|f| f.name == name)
    }
}

/// A total of money in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// What it totals: `spend` (what the provider charges you), `gross`, `fees`, `net`.
    pub kind: String,
    /// Upper-case ISO code.
    pub currency: String,
    /// The amount.
    pub amount: Decimal,
}

/// Totals per (kind, currency), in a stable order.
#[derive(Debug, Clone, Default)]
pub struct Totals(BTreeMap<(String, String), Decimal>);

impl Totals {
    /// Adds `amount` of `currency` to `kind`.
    pub fn add(&mut self, kind: &str, currency: &str, amount: Decimal) {
        *self
            .0
            .entry((kind.to_owned(), currency.trim().to_ascii_uppercase()))
            .or_default() += amount;
    }

    /// The totals.
    pub fn into_money(self) -> Vec<Money> {
        self.0
            .into_iter()
            .map(|((kind, currency), amount)| Money {
                kind,
                currency,
                amount,
            })
            .collect()
    }
}

/// Why a service's usage has no figures. Serialized as its sentence, so the JSON report reads
/// the same as before the reason was typed; callers decide on the variant, never on the words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoFigures {
    /// The service's credentials are not set: the variables to set.
    #[error("not configured: set {}", variables.join(", "))]
    NotConfigured {
        /// The conventional variables.
        variables: Vec<&'static str>,
    },
    /// OpenAI's usage and costs need an organization admin key, and none is set.
    #[error("{}", openai::MISSING_ADMIN_KEY)]
    NoAdminKey,
    /// The provider failed or refused the request (a rejected key included): what it said,
    /// already redacted, after what was being read.
    #[error("{0}")]
    Failed(String),
}

impl NoFigures {
    /// Whether a credential to set would bring the figures (not a failure of the provider).
    pub fn needs_credentials(&self) -> bool {
        match self {
            NoFigures::NotConfigured { .. } | NoFigures::NoAdminKey => true,
            NoFigures::Failed(_) => false,
        }
    }
}

impl Serialize for NoFigures {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The usage of one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceUsage {
    /// Which service.
    pub service: Service,
    /// Where the figures come from (`Usage Records`, `balance transactions`...).
    pub source: String,
    /// How the rows are grouped.
    pub by: UsageBy,
    /// The rows, largest spend first (days in order).
    pub rows: Vec<UsageRow>,
    /// Totals per kind and currency.
    pub totals: Vec<Money>,
    /// What the figures mean or leave out, in sentences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Why there are no figures (a missing key, a refused request), when there are none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<NoFigures>,
}

impl ServiceUsage {
    /// A service without figures, and why.
    pub fn unavailable(service: Service, source: &str, by: UsageBy, why: NoFigures) -> Self {
        ServiceUsage {
            service,
            source: source.to_owned(),
            by,
            rows: Vec::new(),
            totals: Vec::new(),
            notes: Vec::new(),
            missing: Some(why),
        }
    }

    /// Its total of `kind` in `currency`, zero when absent.
    pub fn total(&self, kind: &str, currency: &str) -> Decimal {
        self.totals
            .iter()
            .filter(|m| m.kind == kind && m.currency.eq_ignore_ascii_case(currency))
            .map(|m| m.amount)
            .sum()
    }
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageReport {
    /// The period covered.
    pub period: Span,
    /// One entry per service asked about.
    pub services: Vec<ServiceUsage>,
    /// What the providers charge you, per currency, across services (Twilio's price, OpenAI's
    /// costs, Stripe's fees).
    pub spend: Vec<Money>,
}

impl UsageReport {
    /// Assembles the report and its cross-service spend.
    pub fn new(period: Span, services: Vec<ServiceUsage>) -> Self {
        let mut spend = Totals::default();
        for s in &services {
            for m in &s.totals {
                if m.kind == "spend" || (s.service == Service::Stripe && m.kind == "fees") {
                    spend.add("spend", &m.currency, m.amount);
                }
            }
        }
        UsageReport {
            period,
            services,
            spend: spend.into_money(),
        }
    }
}

/// The configured providers a report reads (`None`: not asked about, or not configured).
#[derive(Default, Clone, Copy)]
pub struct Sources<'a> {
    /// Twilio.
    pub twilio: Option<&'a crate::twilio::Twilio>,
    /// Stripe.
    pub stripe: Option<&'a crate::stripe::Stripe>,
    /// OpenAI.
    pub openai: Option<&'a crate::openai::OpenAi>,
}

impl fmt::Debug for Sources<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sources")
            .field("twilio", &self.twilio.is_some())
            .field("stripe", &self.stripe.is_some())
            .field("openai", &self.openai.is_some())
            .finish()
    }
}

/// Reads every source's usage over `span` concurrently, in service order.
pub async fn collect(sources: Sources<'_>, span: &Span, by: UsageBy) -> Vec<ServiceUsage> {
    let tw = async {
        match sources.twilio {
            Some(t) => vec![twilio::fetch(t.client(), span, by).await],
            None => Vec::new(),
        }
    };
    let st = async {
        match sources.stripe {
            Some(s) => vec![stripe::fetch(s.client(), span, by).await],
            None => Vec::new(),
        }
    };
    let oa = async {
        match sources.openai {
            Some(o) => openai::fetch(o, span, by).await,
            None => Vec::new(),
        }
    };
    let (tw, st, oa) = futures::join!(tw, st, oa);
    let mut out = tw;
    out.extend(oa);
    out.extend(st);
    out
}

/// Sorts rows by a money figure, largest first, then by key; days stay in date order.
pub(crate) fn sort_rows(rows: &mut [UsageRow], by: UsageBy, money: &str) {
    if by == UsageBy::Day {
        rows.sort_by(|a, b| a.key.cmp(&b.key));
        return;
    }
    rows.sort_by(|a, b| {
        let av = a.figure(money).map(|f| f.value.abs()).unwrap_or_default();
        let bv = b.figure(money).map(|f| f.value.abs()).unwrap_or_default();
        bv.cmp(&av).then(a.key.cmp(&b.key))
    });
}

/// The UTC day of a Unix time, `YYYY-MM-DD`.
pub(crate) fn day_of(secs: i64) -> String {
    Timestamp::from_second(secs)
        .map(|t| t.to_zoned(TimeZone::UTC).date().to_string())
        .unwrap_or_else(|_| "invalid-date".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_add_and_print_exactly() {
        let a = Decimal::parse("-0.00790").expect("a");
        let b = Decimal::parse("0.0079").expect("b");
        assert_eq!(a + b, Decimal::ZERO);
        assert_eq!(a.to_string(), "-0.0079");
        assert_eq!(Decimal::parse("12").expect("12").to_string(), "12");
        assert_eq!(Decimal::from_minor(1234, 2).to_string(), "12.34");
        assert_eq!(Decimal::from_minor(500, 0).to_string(), "500");
        assert_eq!(Decimal::from_f64(0.06).expect("f").to_string(), "0.06");
        let sum: Decimal = (0..1000).map(|_| Decimal::parse("0.1").expect("x")).sum();
        assert_eq!(sum.to_string(), "100");
        for bad in ["", "-", "1.2.3", "abc", "1,5", "."] {
            assert_eq!(Decimal::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn periods_resolve_to_their_dates() {
        let now: Timestamp = "2026-03-15T10:00:00Z".parse().expect("ts");
        let today = UsagePeriod::Today.resolve(now);
        assert_eq!(today.start.to_string(), "2026-03-15T00:00:00Z");
        assert_eq!(today.end_date().to_string(), "2026-03-15");
        let month = UsagePeriod::ThisMonth.resolve(now);
        assert_eq!(month.start_date().to_string(), "2026-03-01");
        let last = UsagePeriod::LastMonth.resolve(now);
        assert_eq!(last.start_date().to_string(), "2026-02-01");
        assert_eq!(last.end_date().to_string(), "2026-02-28");
        assert!(last.label.contains("2026-02-28"), "{}", last.label);
        let days = UsagePeriod::last(Duration::from_secs(30 * 86_400)).resolve(now);
        assert_eq!(days.start_date().to_string(), "2026-02-13");
        assert!(days.label.starts_with("the last 30d"), "{}", days.label);
    }

    #[test]
    fn spend_adds_twilio_price_openai_costs_and_stripe_fees_per_currency() {
        let now: Timestamp = "2026-03-15T10:00:00Z".parse().expect("ts");
        let svc = |service, kind: &str, cur: &str, amount: &str| ServiceUsage {
            service,
            source: String::new(),
            by: UsageBy::Category,
            rows: vec![],
            totals: vec![Money {
                kind: kind.into(),
                currency: cur.into(),
                amount: Decimal::parse(amount).expect("amount"),
            }],
            notes: vec![],
            missing: None,
        };
        let r = UsageReport::new(
            UsagePeriod::Today.resolve(now),
            vec![
                svc(Service::Twilio, "spend", "USD", "1.5"),
                svc(Service::Openai, "spend", "USD", "0.25"),
                svc(Service::Stripe, "fees", "USD", "3"),
                svc(Service::Stripe, "gross", "USD", "100"),
                svc(Service::Stripe, "fees", "EUR", "2"),
            ],
        );
        let spend: Vec<(String, String)> = r
            .spend
            .iter()
            .map(|m| (m.currency.clone(), m.amount.to_string()))
            .collect();
        assert_eq!(
            spend,
            vec![("EUR".into(), "2".into()), ("USD".into(), "4.75".into())]
        );
    }

    #[test]
    fn a_reason_without_figures_reads_and_serializes_as_its_sentence() {
        let unset = NoFigures::NotConfigured {
            variables: vec!["STRIPE_SECRET_KEY", "STRIPE_API_KEY"],
        };
        assert_eq!(
            unset.to_string(),
            "not configured: set STRIPE_SECRET_KEY, STRIPE_API_KEY"
        );
        assert_eq!(NoFigures::NoAdminKey.to_string(), openai::MISSING_ADMIN_KEY);
        let failed = NoFigures::Failed("Usage Records: HTTP 500".into());
        for (why, credential) in [
            (unset, true),
            (NoFigures::NoAdminKey, true),
            (failed, false),
        ] {
            assert_eq!(why.needs_credentials(), credential, "{why}");
            let u = ServiceUsage::unavailable(Service::Stripe, "", UsageBy::Day, why.clone());
            let json = serde_json::to_value(&u).expect("json");
            assert_eq!(json["missing"], why.to_string());
        }
    }
}
