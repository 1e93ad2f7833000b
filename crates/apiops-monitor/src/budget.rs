//! Spend budgets (`[monitor] budgets = { twilio = "200 USD/month" }`): what one says (an exact
//! amount, a currency, a period of a UTC day, ISO week or calendar month), its strict parsing,
//! and when its current period began. Pure; the usage job (`usage.rs`) compares the spend of
//! the current period against it, and the settings parse it through [`Budget::parse`].

use std::fmt;

use apiops_providers::usage::Decimal;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// The period a budget covers: the current UTC day, ISO week (from Monday) or calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BudgetPeriod {
    /// Since midnight UTC.
    Day,
    /// Since Monday, midnight UTC.
    Week,
    /// Since the first of the month, midnight UTC.
    Month,
}

impl BudgetPeriod {
    /// Every period, shortest first.
    pub const ALL: &'static [BudgetPeriod] =
        &[BudgetPeriod::Day, BudgetPeriod::Week, BudgetPeriod::Month];

    /// `day`, `week`, `month`.
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetPeriod::Day => "day",
            BudgetPeriod::Week => "week",
            BudgetPeriod::Month => "month",
        }
    }

    /// The first day of the period that `today` falls in.
    pub fn first_day(self, today: Date) -> Date {
        match self {
            BudgetPeriod::Day => today,
            BudgetPeriod::Week => {
                let back = i64::from(today.weekday().to_monday_zero_offset());
                today
                    .checked_sub(jiff::Span::new().days(back))
                    .unwrap_or(today)
            }
            BudgetPeriod::Month => today.first_of_month(),
        }
    }

    /// `today`, `this week`, `this month`.
    pub fn current(self) -> &'static str {
        match self {
            BudgetPeriod::Day => "today",
            BudgetPeriod::Week => "this week",
            BudgetPeriod::Month => "this month",
        }
    }
}

impl fmt::Display for BudgetPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A spend budget: at most `amount` of `currency` per `period`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    /// More than zero.
    pub amount: Decimal,
    /// Three upper-case letters (ISO 4217).
    pub currency: String,
    /// The period it renews over.
    pub period: BudgetPeriod,
}

/// What a budget must look like, for error messages.
/// A budget text that does not parse: the text, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?}: {why}")]
pub struct BudgetError {
    /// The text, trimmed.
    pub text: String,
    /// What is wrong.
    pub why: BudgetWhy,
}

/// What is wrong with a budget text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BudgetWhy {
    /// No `/PERIOD`.
    #[error("it has no period: {EXPECTED}")]
    NoPeriod,
    /// A period other than day, week or month.
    #[error("the period {0:?} is not day, week or month")]
    Period(String),
    /// Not `AMOUNT CURRENCY` before the slash.
    #[error("{EXPECTED}")]
    Shape,
    /// An amount that is not plain digits.
    #[error("the amount {0:?} is not a number like 200 or 49.99")]
    Amount(String),
    /// Zero.
    #[error("the amount must be more than zero")]
    NotPositive,
    /// Not a three-letter code.
    #[error("the currency {0:?} is not a three-letter code such as USD")]
    Currency(String),
}

const EXPECTED: &str =
    "expected \"AMOUNT CURRENCY/PERIOD\" such as \"200 USD/month\" (PERIOD: day, week or month)";

impl Budget {
    /// Parses `200 USD/month`, `50.5 eur / day`, `1000 USD/week`. Strict: a positive amount in
    /// plain digits (no sign, exponent or thousands separator), a three-letter currency, and a
    /// period of `day`, `week` or `month`. The error says what was wrong, never guessing.
    pub fn parse(text: &str) -> Result<Budget, BudgetError> {
        let t = text.trim();
        let err = |why: BudgetWhy| BudgetError {
            text: t.to_owned(),
            why,
        };
        let (money, period) = t.split_once('/').ok_or_else(|| err(BudgetWhy::NoPeriod))?;
        let period = match period.trim().to_ascii_lowercase().as_str() {
            "day" => BudgetPeriod::Day,
            "week" => BudgetPeriod::Week,
            "month" => BudgetPeriod::Month,
            other => return Err(err(BudgetWhy::Period(other.to_owned()))),
        };
        let mut parts = money.split_whitespace();
        let (Some(amount), Some(currency), None) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(err(BudgetWhy::Shape));
        };
        let plain = !amount.is_empty()
            && amount.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && amount.bytes().filter(|b| *b == b'.').count() <= 1
            && amount.bytes().any(|b| b.is_ascii_digit());
        let value = Decimal::parse(amount)
            .filter(|_| plain)
            .ok_or_else(|| err(BudgetWhy::Amount(amount.to_owned())))?;
        if value <= Decimal::ZERO {
            return Err(err(BudgetWhy::NotPositive));
        }
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(err(BudgetWhy::Currency(currency.to_owned())));
        }
        Ok(Budget {
            amount: value,
            currency: currency.to_ascii_uppercase(),
            period,
        })
    }

    /// When the period containing `now` began (midnight UTC of its first day).
    pub fn period_start(&self, now: Timestamp) -> Date {
        self.period.first_day(now.to_zoned(TimeZone::UTC).date())
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.amount, self.currency, self.period)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_parse_strictly() {
        let b = Budget::parse("200 USD/month").expect("parse");
        assert_eq!(b.amount.to_string(), "200");
        assert_eq!(
            (b.currency.as_str(), b.period),
            ("USD", BudgetPeriod::Month)
        );
        assert_eq!(b.to_string(), "200 USD/month");
        let b = Budget::parse("  49.99 eur / Day ").expect("parse");
        assert_eq!(b.to_string(), "49.99 EUR/day");
        assert_eq!(
            Budget::parse("1000 gbp/week").expect("w").period,
            BudgetPeriod::Week
        );
        for (bad, why) in [
            ("200 USD", "has no period"),
            ("200 USD/year", "\"year\" is not day, week or month"),
            ("USD/month", "expected \"AMOUNT CURRENCY/PERIOD\""),
            ("200/month", "expected \"AMOUNT CURRENCY/PERIOD\""),
            ("200 US Dollars/month", "expected"),
            ("-5 USD/day", "is not a number"),
            ("1e3 USD/day", "is not a number"),
            ("1,000 USD/day", "is not a number"),
            ("1.2.3 USD/day", "is not a number"),
            (". USD/day", "is not a number"),
            ("0 USD/day", "more than zero"),
            ("0.000 USD/day", "more than zero"),
            ("5 US/day", "three-letter code"),
            ("5 U$D/day", "three-letter code"),
            ("", "has no period"),
        ] {
            let err = Budget::parse(bad).expect_err(bad);
            assert!(err.to_string().contains(why), "{bad:?}: {err}");
        }
        // Callers decide on the variant, never on the words.
        let why = |t: &str| Budget::parse(t).expect_err(t).why;
        assert_eq!(why("200 USD/year"), BudgetWhy::Period("year".into()));
        assert_eq!(why("0 USD/day"), BudgetWhy::NotPositive);
        assert_eq!(why("5 US/day"), BudgetWhy::Currency("US".into()));
    }

    #[test]
    fn periods_start_on_the_day_monday_and_first_of_the_month() {
        let now: Timestamp = "2026-03-19T15:00:00Z".parse().expect("ts"); // a Thursday
        let start = |p| {
            Budget {
                amount: Decimal::from_int(1),
                currency: "USD".into(),
                period: p,
            }
            .period_start(now)
            .to_string()
        };
        assert_eq!(start(BudgetPeriod::Day), "2026-03-19");
        assert_eq!(start(BudgetPeriod::Week), "2026-03-16");
        assert_eq!(start(BudgetPeriod::Month), "2026-03-01");
        // A Monday is its own week's start; a Sunday belongs to the week before.
        let monday: Date = "2026-03-16".parse().expect("d");
        assert_eq!(BudgetPeriod::Week.first_day(monday), monday);
        let sunday: Date = "2026-03-22".parse().expect("d");
        assert_eq!(BudgetPeriod::Week.first_day(sunday), monday);
    }
}
