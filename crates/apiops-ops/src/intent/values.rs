//! The values a request carries, each checked: phone numbers (normalized to E.164), area codes,
//! durations, URLs, Stripe and Twilio ids, model names, event types, countries.

use std::time::Duration;

use super::lexicon::{self, CALLING_CODES};

/// A value that looked like one of ours but is not valid: what was written, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Bad {
    /// What it was meant to be.
    pub(super) what: BadKind,
    /// The sentence saying what is wrong, without a final period.
    pub(super) reason: String,
}

/// Which kind of value a [`Bad`] is, so that only the operations using it ask about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BadKind {
    /// A phone number.
    Number,
    /// An area code.
    AreaCode,
    /// A URL.
    Url,
    /// A Stripe endpoint id.
    Endpoint,
    /// A time window.
    Duration,
}

impl Bad {
    pub(super) fn new(what: BadKind, reason: String) -> Bad {
        Bad { what, reason }
    }

    /// The noun a question about it uses ("which number did you mean?").
    pub(super) fn noun(&self) -> &'static str {
        match self.what {
            BadKind::Number => "number",
            BadKind::AreaCode => "area code",
            BadKind::Url => "URL",
            BadKind::Endpoint => "endpoint",
            BadKind::Duration => "time window",
        }
    }
}

/// The most digits an E.164 number has.
const E164_MAX_DIGITS: usize = 15;
/// The fewest digits accepted after `+` (the same bound as structured requests).
const E164_MIN_DIGITS: usize = 8;

/// Normalizes a phone number written as `+14155550100`, `+1 (415) 555-0100`, `(415) 555-0100`,
/// `415-555-0100`, `415.555.0100` or `14155550100` to E.164. Numbers without `+` are taken as
/// North American only when that reading is the only one (10 digits, or 11 starting with 1);
/// anything else is an error saying why, never a guess.
pub(super) fn e164(raw: &str) -> Result<String, Bad> {
    let bad = |why: &str| Bad::new(BadKind::Number, format!("\"{raw}\" {why}"));
    let trimmed = raw.trim();
    let plus = trimmed.starts_with('+');
    let body = trimmed.strip_prefix('+').unwrap_or(trimmed);
    if body.contains('+') {
        return Err(bad("is not a phone number"));
    }
    if let Some(c) = body
        .chars()
        .find(|c| !c.is_ascii_digit() && !matches!(c, ' ' | '-' | '.' | '(' | ')'))
    {
        return Err(bad(&format!("is not a phone number (it has {c:?})")));
    }
    let digits: String = body.chars().filter(char::is_ascii_digit).collect();
    let checked = if plus {
        international(&digits)
    } else {
        national(&digits)
    };
    checked.map_err(bad)
}

/// Digits written after `+`.
fn international(digits: &str) -> Result<String, &'static str> {
    if digits.starts_with('0') {
        return Err("is not a valid E.164 number: a country code never starts with 0");
    }
    if digits.len() < E164_MIN_DIGITS {
        return Err("is not a valid E.164 number: too few digits");
    }
    if digits.len() > E164_MAX_DIGITS {
        return Err("is not a valid E.164 number: more than 15 digits");
    }
    if let Some(nanp) = digits.strip_prefix('1') {
        nanp_check(nanp)?;
    }
    Ok(format!("+{digits}"))
}

/// Digits written without `+`: North American, or unclear.
fn national(digits: &str) -> Result<String, &'static str> {
    let nanp = match digits.len() {
        10 => digits,
        11 if digits.starts_with('1') => &digits[1..],
        0..=7 => {
            return Err("is too short for a phone number: give it in E.164, like +14155550100");
        }
        _ => {
            return Err(
                "is not a North American number and has no country code: give it in E.164, like +442079460958",
            );
        }
    };
    nanp_check(nanp)?;
    Ok(format!("+1{nanp}"))
}

/// Checks the 10 digits of a North American number: area code and exchange start with 2-9.
fn nanp_check(ten: &str) -> Result<(), &'static str> {
    let bytes = ten.as_bytes();
    if bytes.len() != 10 {
        return Err("is not a valid E.164 number: +1 numbers have exactly 10 digits after the 1");
    }
    if !(b'2'..=b'9').contains(&bytes[0]) {
        return Err("is not a valid North American number: the area code cannot start with 0 or 1");
    }
    if !(b'2'..=b'9').contains(&bytes[3]) {
        return Err("is not a valid North American number: the exchange cannot start with 0 or 1");
    }
    Ok(())
}

/// Checks an area code: three digits, the first 2-9 (North American numbering).
pub(super) fn area_code(digits: &str) -> Result<u16, Bad> {
    let bad = || {
        Bad::new(
            BadKind::AreaCode,
            format!(
                "{digits} is not a valid area code: area codes have three digits, the first 2-9"
            ),
        )
    };
    let valid = digits.len() == 3
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with(['0', '1']);
    if !valid {
        return Err(bad());
    }
    digits.parse::<u16>().map_err(|_| bad())
}

/// The ISO country of an E.164 number, from its calling code (longest match), if known.
pub(super) fn country_of(e164: &str) -> Option<&'static str> {
    let digits = e164.strip_prefix('+')?;
    CALLING_CODES
        .iter()
        .filter(|(code, _)| digits.starts_with(code))
        .max_by_key(|(code, _)| code.len())
        .map(|(_, iso)| *iso)
}

/// The longest time window a request may name.
const MAX_WINDOW_SECS: u64 = 366 * 86_400;

/// Multiplies `n` by the seconds of a unit, refusing zero and more than a year.
pub(super) fn duration(n: u64, unit_secs: u64, raw: &str) -> Result<Duration, Bad> {
    match n.checked_mul(unit_secs) {
        Some(0) => Err(Bad::new(
            BadKind::Duration,
            format!("\"{raw}\" is an empty time window"),
        )),
        Some(secs) if secs <= MAX_WINDOW_SECS => Ok(Duration::from_secs(secs)),
        _ => Err(Bad::new(
            BadKind::Duration,
            format!("\"{raw}\" is longer than a year"),
        )),
    }
}

/// A compact duration: `6h`, `30m`, `2d`, `1w`, `90s`, `1h30m`, `30min`, `6hours`.
/// `None` if `s` is not written that way; an error if it is but says zero or overflows.
pub(super) fn compact_duration(s: &str) -> Option<Result<Duration, Bad>> {
    let mut total: u64 = 0;
    let mut rest = s;
    let mut overflow = false;
    if !rest.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    while !rest.is_empty() {
        let split = rest.find(|c: char| !c.is_ascii_digit())?;
        let (digits, tail) = rest.split_at(split);
        let end = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(end);
        let secs = match unit {
            "m" => 60,
            "s" => 1,
            other => lexicon::unit(other)?,
        };
        let n = digits.parse::<u64>().unwrap_or(u64::MAX);
        match n.checked_mul(secs).and_then(|v| v.checked_add(total)) {
            Some(v) => total = v,
            None => overflow = true,
        }
        rest = next;
    }
    Some(if overflow {
        Err(Bad::new(
            BadKind::Duration,
            format!("\"{s}\" is longer than a year"),
        ))
    } else {
        duration(total, 1, s)
    })
}

/// Checks a URL: `http://` or `https://` with a host. Non-HTTPS URLs are accepted here (the
/// planner flags them); anything else, including a bare `example.com/sms`, is an error.
pub(super) fn url(raw: &str) -> Result<String, Bad> {
    let bad = |why: &str| Bad::new(BadKind::Url, format!("\"{raw}\" {why}"));
    let lower = raw.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return Err(if lower.contains("://") {
            bad("is not an http(s) URL")
        } else {
            bad("is not a URL: write it in full, starting with https://")
        });
    }
    match url::Url::parse(raw) {
        Ok(u) if u.host_str().is_some_and(|h| !h.is_empty()) => Ok(raw.to_owned()),
        _ => Err(bad("is not a valid URL")),
    }
}

/// Whether `s` looks like a host or a path without a scheme (`example.com/sms`, `www.x.io`).
pub(super) fn looks_like_bare_url(s: &str) -> bool {
    const TLDS: &[&str] = &[
        "com", "net", "org", "io", "dev", "app", "co", "ai", "xyz", "cloud", "site", "tech",
        "info", "biz", "me", "sh", "run", "uk", "us", "de", "fr", "ca", "eu", "local", "test",
    ];
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("www.") || lower.starts_with("localhost") {
        return true;
    }
    let host = lower.split(['/', '?', '#', ':']).next().unwrap_or("");
    host.contains('.')
        && host
            .rsplit('.')
            .next()
            .is_some_and(|tld| TLDS.contains(&tld))
}

/// Checks a Stripe webhook endpoint id (`we_` and letters or digits).
pub(super) fn endpoint_id(raw: &str) -> Result<String, Bad> {
    let prefix_ok = raw.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("we_"));
    let rest = raw.get(3..).unwrap_or("");
    if prefix_ok && !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(format!("we_{rest}"))
    } else {
        Err(Bad::new(
            BadKind::Endpoint,
            format!("\"{raw}\" is not a webhook endpoint id (we_ followed by letters and digits)"),
        ))
    }
}

/// Whether `s` is a Twilio SID with `prefix`: the prefix and 32 hex digits.
fn is_sid(s: &str, prefix: &str) -> bool {
    s.len() == 34 && s.starts_with(prefix) && s[2..].chars().all(|c| c.is_ascii_hexdigit())
}

/// A phone number SID (`PN` + 32 hex digits), normalized to lower-case hex.
pub(super) fn number_sid(s: &str) -> Option<String> {
    is_sid(s, "PN").then(|| format!("PN{}", s[2..].to_ascii_lowercase()))
}

/// What an id of something the catalog does not act on is: a Stripe charge, a Twilio call...
pub(super) fn foreign_id(s: &str) -> Option<&'static str> {
    const STRIPE: &[(&str, &str)] = &[
        ("ch_", "charge"),
        ("pi_", "payment intent"),
        ("cus_", "customer"),
        ("sub_", "subscription"),
        ("in_", "invoice"),
        ("re_", "refund"),
        ("py_", "payment"),
        ("acct_", "account"),
        ("evt_", "event"),
        ("prod_", "product"),
        ("price_", "price"),
        ("pm_", "payment method"),
        ("src_", "source"),
        ("card_", "card"),
        ("tok_", "token"),
        ("txn_", "balance transaction"),
        ("po_", "payout"),
        ("dp_", "dispute"),
        ("seti_", "setup intent"),
        ("cs_", "checkout session"),
        ("sk_", "secret key"),
        ("rk_", "restricted key"),
        ("pk_", "publishable key"),
        ("whsec_", "webhook secret"),
    ];
    const TWILIO: &[(&str, &str)] = &[
        ("SM", "message"),
        ("MM", "message"),
        ("CA", "call"),
        ("AC", "account"),
        ("MG", "messaging service"),
        ("SK", "API key"),
    ];
    let lower = s.to_ascii_lowercase();
    let stripe = STRIPE.iter().find(|(p, _)| {
        lower.len() > p.len()
            && lower.starts_with(p)
            && lower[p.len()..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    let twilio = TWILIO.iter().find(|(p, _)| is_sid(s, p));
    stripe.or(twilio).map(|(_, what)| *what)
}

/// Whether `s` (lower case) is an OpenAI model name: `gpt-4o`, `gpt-4o-mini`, `gpt-4.1`,
/// `o3-mini`, `chatgpt-4o-latest`, `ft:gpt-4o-mini:org::id`...
pub(super) fn is_model(s: &str) -> bool {
    let chars_ok = s.chars().all(|c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | ':' | '_')
    });
    let gpt = s.starts_with("gpt-")
        || s.strip_prefix("gpt")
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        || s.starts_with("chatgpt-")
        || s.starts_with("ft:");
    let reasoning = ["o1", "o3", "o4"]
        .iter()
        .any(|p| s == *p || s.starts_with(&format!("{p}-")));
    let legacy = ["davinci-", "babbage-"].iter().any(|p| s.starts_with(p));
    chars_ok && s.len() <= 64 && (gpt || reasoning || legacy)
}

/// Whether `s` (lower case) is a Stripe event type (`payment_intent.succeeded`,
/// `customer.subscription.updated`).
pub(super) fn is_event_type(s: &str) -> bool {
    const OBJECTS: &[&str] = &[
        "account",
        "application_fee",
        "balance",
        "billing_portal",
        "capability",
        "charge",
        "checkout",
        "coupon",
        "credit_note",
        "customer",
        "file",
        "identity",
        "invoice",
        "invoiceitem",
        "issuing_authorization",
        "issuing_card",
        "issuing_cardholder",
        "mandate",
        "payment_intent",
        "payment_link",
        "payment_method",
        "payout",
        "person",
        "plan",
        "price",
        "product",
        "promotion_code",
        "quote",
        "radar",
        "refund",
        "review",
        "setup_intent",
        "source",
        "subscription_schedule",
        "tax_rate",
        "terminal",
        "topup",
        "transfer",
    ];
    let mut parts = s.split('.');
    let first = parts.next().unwrap_or("");
    let rest: Vec<&str> = parts.collect();
    OBJECTS.contains(&first)
        && !rest.is_empty()
        && rest
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        match e164(raw) {
            Ok(n) => n,
            Err(b) => panic!("{raw}: {}", b.reason),
        }
    }

    #[test]
    fn e164_normalizes_common_formats() {
        for raw in [
            "+14155550100",
            "+1 415 555 0100",
            "+1 (415) 555-0100",
            "(415) 555-0100",
            "(415)555-0100",
            "415-555-0100",
            "415.555.0100",
            "4155550100",
            "14155550100",
            "1-415-555-0100",
        ] {
            assert_eq!(ok(raw), "+14155550100", "{raw}");
        }
        assert_eq!(ok("+44 20 7946 0958"), "+442079460958");
        assert_eq!(ok("+61291234567"), "+61291234567");
    }

    #[test]
    fn e164_refuses_what_it_cannot_be_sure_of() {
        for (raw, why) in [
            ("+1234", "too few digits"),
            ("+0441234567", "never starts with 0"),
            ("+1234567890123456", "more than 15"),
            ("+10155550100", "area code"),
            ("+14150550100", "exchange"),
            ("+1415555010", "exactly 10 digits"),
            ("555-0100", "too short"),
            ("02079460958", "no country code"),
            ("415555010012", "no country code"),
            ("+1415555x100", "not a phone number"),
            ("+1+415", "not a phone number"),
        ] {
            match e164(raw) {
                Ok(n) => panic!("{raw} became {n}"),
                Err(b) => {
                    assert_eq!(b.what, BadKind::Number);
                    assert!(b.reason.contains(why), "{raw}: {}", b.reason);
                }
            }
        }
    }

    #[test]
    fn area_codes_have_three_digits_the_first_two_to_nine() {
        assert_eq!(area_code("415"), Ok(415));
        assert_eq!(area_code("212"), Ok(212));
        for bad in ["99", "099", "112", "4155", "", "4a5"] {
            assert!(area_code(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn countries_come_from_calling_codes() {
        assert_eq!(country_of("+14155550100"), Some("US"));
        assert_eq!(country_of("+17875550100"), Some("PR"));
        assert_eq!(country_of("+442079460958"), Some("GB"));
        assert_eq!(country_of("+35312345678"), Some("IE"));
        assert_eq!(country_of("+99912345678"), None);
        assert_eq!(country_of("14155550100"), None);
    }

    #[test]
    fn compact_durations() {
        let secs = |s: &str| compact_duration(s).map(|r| r.map(|d| d.as_secs()).ok());
        assert_eq!(secs("6h"), Some(Some(6 * 3600)));
        assert_eq!(secs("30m"), Some(Some(1800)));
        assert_eq!(secs("30min"), Some(Some(1800)));
        assert_eq!(secs("2d"), Some(Some(2 * 86_400)));
        assert_eq!(secs("1w"), Some(Some(7 * 86_400)));
        assert_eq!(secs("90s"), Some(Some(90)));
        assert_eq!(secs("1h30m"), Some(Some(5400)));
        assert_eq!(secs("6hours"), Some(Some(6 * 3600)));
        // Zero and overflow are errors, not durations.
        assert_eq!(secs("0h"), Some(None));
        assert_eq!(secs("99999999999999999999d"), Some(None));
        // Not durations at all.
        for s in ["4o", "h6", "6", "6x", "", "gpt-4o", "6h-"] {
            assert_eq!(secs(s), None, "{s}");
        }
    }

    #[test]
    fn durations_refuse_zero_and_overflow() {
        assert_eq!(
            duration(6, 3600, "6 hours"),
            Ok(Duration::from_secs(21_600))
        );
        assert!(duration(0, 3600, "0 hours").is_err());
        assert!(duration(u64::MAX, 2, "many").is_err());
        assert!(duration(367, 86_400, "367 days").is_err());
        assert!(duration(366, 86_400, "366 days").is_ok());
    }

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert_eq!(
            url("https://example.com/sms"),
            Ok("https://example.com/sms".to_owned())
        );
        assert_eq!(
            url("http://example.com/Voice?x=1"),
            Ok("http://example.com/Voice?x=1".to_owned())
        );
        for bad in [
            "ftp://example.com",
            "https://",
            "example.com/sms",
            "https:// x",
            "sms",
        ] {
            assert!(url(bad).is_err(), "{bad}");
        }
        assert!(looks_like_bare_url("example.com/sms"));
        assert!(looks_like_bare_url("www.example.org"));
        assert!(!looks_like_bare_url("payment_intent.succeeded"));
    }

    #[test]
    fn ids() {
        assert_eq!(endpoint_id("we_123"), Ok("we_123".to_owned()));
        assert_eq!(endpoint_id("we_1MrAbC"), Ok("we_1MrAbC".to_owned()));
        assert!(endpoint_id("we_").is_err());
        assert!(endpoint_id("we_12-3").is_err());
        let sid = "PN0123456789abcdef0123456789ABCDEF";
        assert_eq!(
            number_sid(sid),
            Some("PN0123456789abcdef0123456789abcdef".to_owned())
        );
        assert_eq!(number_sid("PN123"), None);
        assert_eq!(foreign_id("ch_1"), Some("charge"));
        assert_eq!(foreign_id("cus_ABC"), Some("customer"));
        assert_eq!(
            foreign_id("SM0123456789abcdef0123456789abcdef"),
            Some("message")
        );
        assert_eq!(foreign_id("we_1"), None);
        assert_eq!(foreign_id("ch_"), None);
    }

    #[test]
    fn models_and_event_types() {
        for m in [
            "gpt-4o",
            "gpt-4o-mini",
            "gpt-4.1",
            "gpt4",
            "o3-mini",
            "o1",
            "chatgpt-4o-latest",
        ] {
            assert!(is_model(m), "{m}");
        }
        for m in ["gpt", "o5", "openai", "4o", "gpt 4"] {
            assert!(!is_model(m), "{m}");
        }
        assert!(is_event_type("payment_intent.succeeded"));
        assert!(is_event_type("customer.subscription.updated"));
        assert!(!is_event_type("example.com"));
        assert!(!is_event_type("charge."));
    }
}
