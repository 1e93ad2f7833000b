//! How each kind of setting is read from a config source and how it is shown again.
//!
//! Reading validates: a duration must parse as humantime, a service URL must be http(s), a
//! policy category must be one policy allows. A failure here becomes a serde error, to which
//! figment attaches the key path, so the message the user reads names the key.
//!
//! Showing masks: a secret serializes as `mask(value)` — first 4 and last 4 characters, or
//! nothing when short — which makes `Serialize` on the settings safe to print. Secret values never
//! appear in an error message either: a secret of the wrong type is reported without its value.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use apiops_core::{Category, mask};
use secrecy::{ExposeSecret, SecretString};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::Serializer;
use url::Url;

/// Accepts a string; any other scalar is refused with `expecting` and without echoing the value
/// (the value may be a secret).
struct Text {
    expecting: &'static str,
}

impl Text {
    fn refuse<E: de::Error>(&self, found: &str) -> E {
        E::custom(format_args!(
            "expected {}, found {found} (quote the value)",
            self.expecting
        ))
    }
}

impl Visitor<'_> for Text {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<String, E> {
        Err(self.refuse("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<String, E> {
        Err(self.refuse("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<String, E> {
        Err(self.refuse("a number"))
    }

    fn visit_i128<E: de::Error>(self, _: i128) -> Result<String, E> {
        Err(self.refuse("a number"))
    }

    fn visit_u128<E: de::Error>(self, _: u128) -> Result<String, E> {
        Err(self.refuse("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<String, E> {
        Err(self.refuse("a number"))
    }

    fn visit_char<E: de::Error>(self, v: char) -> Result<String, E> {
        Ok(v.to_string())
    }
}

fn text<'de, D: Deserializer<'de>>(d: D, expecting: &'static str) -> Result<String, D::Error> {
    d.deserialize_str(Text { expecting })
}

/// A humantime duration: `"250ms"`, `"30s"`, `"1h 30m"`.
pub mod duration {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let value = text(d, "a duration such as \"30s\" or \"250ms\"")?;
        humantime::parse_duration(value.trim())
            .map_err(|e| de::Error::custom(format_args!("invalid duration {value:?}: {e}")))
    }

    pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(*value))
    }
}

/// A service base URL: http or https, with a host, no embedded credentials; normalized to end
/// with `/` so that `Url::join("path")` appends instead of replacing the last segment.
pub mod http_url {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Url, D::Error> {
        let value = text(d, "an http(s) URL")?;
        parse(value.trim()).map_err(de::Error::custom)
    }

    pub fn serialize<S: Serializer>(value: &Url, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.as_str())
    }

    /// Parses and normalizes; the error never repeats a value that may hold a password.
    pub fn parse(value: &str) -> Result<Url, String> {
        let shown = if value.contains('@') {
            "(value hidden: it may hold credentials)".to_owned()
        } else {
            format!("{value:?}")
        };
        let mut url = Url::parse(value).map_err(|e| format!("invalid URL {shown}: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "invalid URL {shown}: the scheme must be http or https"
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("invalid URL {shown}: it has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "invalid URL {shown}: credentials do not belong in a URL; use the credential settings"
            ));
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Ok(url)
    }
}

/// An optional secret: the empty string counts as absent; shown masked.
pub mod secret {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
        let value = text(d, "a string")?;
        let value = value.trim();
        Ok((!value.is_empty()).then(|| SecretString::from(value)))
    }

    pub fn serialize<S: Serializer>(value: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(secret) => s.serialize_str(&mask(secret.expose_secret())),
            None => s.serialize_none(),
        }
    }
}

/// An optional identifier that is not secret (organization, project): empty counts as absent.
pub mod optional_text {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        let value = text(d, "a string")?;
        let value = value.trim();
        Ok((!value.is_empty()).then(|| value.to_owned()))
    }
}

/// An optional http(s) URL (a provider's status page): empty counts as absent.
pub mod optional_http_url {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
        let value = text(d, "an http(s) URL")?;
        let value = value.trim();
        if value.is_empty() {
            return Ok(None);
        }
        http_url::parse(value).map(Some).map_err(de::Error::custom)
    }

    pub fn serialize<S: Serializer>(value: &Option<Url>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(url) => s.serialize_str(url.as_str()),
            None => s.serialize_none(),
        }
    }
}

/// The database URL: `sqlite:...`, `postgres://...` or `postgresql://...`. Kept secret because a
/// PostgreSQL URL usually carries a password; shown with the password masked.
pub mod database_url {
    use super::*;

    const SCHEMES: &[&str] = &["sqlite:", "postgres:", "postgresql:"];

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
        let value = text(d, "a database URL")?;
        let value = value.trim();
        if SCHEMES.iter().any(|s| value.starts_with(s)) {
            Ok(SecretString::from(value))
        } else {
            Err(de::Error::custom(
                "expected a URL starting with sqlite:, postgres: or postgresql: (value hidden: it may hold a password)",
            ))
        }
    }

    pub fn serialize<S: Serializer>(value: &SecretString, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&shown(value.expose_secret()))
    }

    /// The URL with its passwords masked (user part and `password=` parameters); a URL that
    /// does not parse is not shown at all (the store's rendering, the one place for it).
    pub fn shown(value: &str) -> String {
        apiops_store::shown_url(value)
    }
}

/// The categories `policy.auto_fix` lists: a list, or a comma-separated string (from the
/// environment). Only categories that policy may ever fix alone are accepted.
pub mod auto_fix {
    use super::*;

    const ALLOWED: &str = "only config, rate_limit and bad_params may be fixed automatically; auth problems, purchases and deletions are never automatic, whatever the configuration";

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeSet<Category>, D::Error> {
        d.deserialize_any(CategoriesVisitor)
    }

    /// Checks one listed name.
    pub fn category(name: &str) -> Result<Category, String> {
        match name.parse::<Category>() {
            Ok(c) if c.auto_fixable() => Ok(c),
            Ok(c) => Err(format!("{:?} cannot be listed: {ALLOWED}", c.as_str())),
            Err(_) => Err(format!(
                "{name:?} is not a category that can be listed: {ALLOWED}"
            )),
        }
    }

    struct CategoriesVisitor;

    impl<'de> Visitor<'de> for CategoriesVisitor {
        type Value = BTreeSet<Category>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of categories, such as [\"config\", \"rate_limit\"]")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| category(s).map_err(E::custom))
                .collect()
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut set = BTreeSet::new();
            while let Some(name) = seq.next_element::<String>()? {
                set.insert(category(name.trim()).map_err(de::Error::custom)?);
            }
            Ok(set)
        }
    }
}

/// A table keyed by name, from a file (`{ key = value }`) or from the environment
/// (`"key=value, key=value"`): the entries as written, in order, for the key's own module to
/// check. One reader for `error_thresholds`, `budgets` and `usage_anomaly_min_spend_by_currency`.
mod table {
    use serde::de::MapAccess;

    use super::*;

    /// A value as written: text from the environment, anything from a file.
    pub(super) enum Value {
        Text(String),
        Written(serde_json::Value),
    }

    /// The entries of the table at `d`; `pair` names the form of one (`"category=count"`) and
    /// `example` shows it, for the error about a part that is not one.
    pub(super) fn entries<'de, D: Deserializer<'de>>(
        d: D,
        pair: &'static str,
        example: &'static str,
    ) -> Result<Vec<(String, Value)>, D::Error> {
        d.deserialize_any(Entries { pair, example })
    }

    struct Entries {
        pair: &'static str,
        example: &'static str,
    }

    impl<'de> Visitor<'de> for Entries {
        type Value = Vec<(String, Value)>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a table, or a string such as \"{}\"", self.example)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            v.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|part| {
                    let (k, v) = part.split_once('=').ok_or_else(|| {
                        E::custom(format_args!(
                            "{part:?} is not {} (e.g. \"{}\")",
                            self.pair, self.example
                        ))
                    })?;
                    Ok((k.trim().to_owned(), Value::Text(v.trim().to_owned())))
                })
                .collect()
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(k) = map.next_key::<String>()? {
                out.push((k, Value::Written(map.next_value()?)));
            }
            Ok(out)
        }
    }
}

/// `monitor.error_thresholds`: a table `{ auth = 1, rate_limit = 50 }`, or from the environment
/// a string `"auth=1,rate_limit=50"`. Every key must be a category; every value a count.
pub mod error_thresholds {
    use std::collections::BTreeMap;

    use super::table::{self, Value};
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<Category, u64>, D::Error> {
        let entries = table::entries(d, "category=count", "auth=1,rate_limit=50")?;
        let mut out = BTreeMap::new();
        for (k, v) in entries {
            let c = category(&k).map_err(de::Error::custom)?;
            out.insert(c, threshold(c, &v).map_err(de::Error::custom)?);
        }
        Ok(out)
    }

    pub fn serialize<S: Serializer>(
        value: &BTreeMap<Category, u64>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(value.iter().map(|(k, v)| (k.as_str(), v)))
    }

    fn category(name: &str) -> Result<Category, String> {
        name.trim().parse::<Category>().map_err(|e| e.to_string())
    }

    fn count(category: Category, text: &str) -> Result<u64, String> {
        text.trim().parse::<u64>().map_err(|_| {
            format!("{category}: {text:?} is not a count (a whole number, 0 to never alert)")
        })
    }

    fn threshold(c: Category, v: &Value) -> Result<u64, String> {
        match v {
            Value::Text(t) | Value::Written(serde_json::Value::String(t)) => count(c, t),
            Value::Written(serde_json::Value::Number(n)) => n
                .as_u64()
                .ok_or_else(|| format!("{c}: {n} is not a count (0 or more)")),
            Value::Written(other) => Err(format!("{c}: expected a count, found {other}")),
        }
    }
}

/// `monitor.budgets`: a table `{ twilio = "200 USD/month", openai = "50 USD/day" }`, or from the
/// environment a string `"twilio=200 USD/month, openai=50 USD/day"`. Every key must be a
/// service whose spend apiops reads; every value a budget ([`apiops_monitor::Budget::parse`]).
pub mod budgets {
    use std::collections::BTreeMap;

    use apiops_core::Service;
    use apiops_monitor::Budget;

    use super::table::{self, Value};
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<Service, Budget>, D::Error> {
        let entries = table::entries(d, "service=budget", "twilio=200 USD/month")?;
        let mut out = BTreeMap::new();
        for (k, v) in entries {
            let s = service(&k).map_err(de::Error::custom)?;
            let text = match &v {
                Value::Text(t) | Value::Written(serde_json::Value::String(t)) => t,
                Value::Written(other) => {
                    return Err(de::Error::custom(format_args!(
                        "{s}: expected a budget in quotes such as \"200 USD/month\", found {other}"
                    )));
                }
            };
            let b = Budget::parse(text).map_err(|e| de::Error::custom(format_args!("{s}: {e}")))?;
            if out.insert(s, b).is_some() {
                return Err(de::Error::custom(format_args!("{s}: more than one budget")));
            }
        }
        Ok(out)
    }

    pub fn serialize<S: Serializer>(
        value: &BTreeMap<Service, Budget>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(value.iter().map(|(k, v)| (k.as_str(), v.to_string())))
    }

    fn service(name: &str) -> Result<Service, String> {
        let name = name.trim();
        name.parse::<Service>().map_err(|_| {
            let shown = if name.chars().count() > 40 {
                format!("{}…", name.chars().take(40).collect::<String>())
            } else {
                name.to_owned()
            };
            format!("unknown service {shown:?}: budgets are for twilio, stripe or openai")
        })
    }
}

/// `monitor.usage_anomaly_min_spend_by_currency`: the least spend that may raise
/// `usage_anomaly`, per currency, where one number for all would be wrong (5 JPY is about three
/// US cents). A table (`{ JPY = 800 }`), or from the environment `"JPY=800, KRW=7000"`. Codes are
/// three letters, kept in capitals; amounts are 0 or more.
pub mod min_spend_by_currency {
    use std::collections::BTreeMap;

    use super::table::{self, Value};
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
        let entries = table::entries(d, "CURRENCY=amount", "JPY=800")?;
        let mut out = BTreeMap::new();
        for (k, v) in entries {
            let code = currency(&k).map_err(de::Error::custom)?;
            let n = amount(&code, &v).map_err(de::Error::custom)?;
            if out.insert(code.clone(), n).is_some() {
                return Err(de::Error::custom(format_args!(
                    "{code}: more than one amount"
                )));
            }
        }
        Ok(out)
    }

    pub fn serialize<S: Serializer>(
        value: &BTreeMap<String, f64>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(value)
    }

    /// The code in capitals, when it is three ASCII letters.
    fn currency(code: &str) -> Result<String, String> {
        let code = code.trim();
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(code.to_ascii_uppercase())
        } else {
            let shown: String = code.chars().take(40).collect();
            Err(format!("{shown:?} is not a three-letter currency code"))
        }
    }

    fn amount(code: &str, v: &Value) -> Result<f64, String> {
        let n = match v {
            Value::Text(t) => t
                .parse::<f64>()
                .map_err(|_| format!("{code}: {t:?} is not a number"))?,
            Value::Written(w) => w
                .as_f64()
                .ok_or_else(|| format!("{code}: expected a number such as 800, found {w}"))?,
        };
        if n.is_finite() && n >= 0.0 {
            Ok(n)
        } else {
            Err(format!("{code}: {n} is not an amount of 0 or more"))
        }
    }
}

/// A list of sink URLs (`monitor.webhook_urls`, `monitor.slack_urls`): a list, or from the
/// environment a comma-separated string. Each must be http(s) with a host and no user name or
/// password. Secret: an incoming-webhook URL is itself the credential, so errors never repeat
/// one and `config show` shows only its scheme and host.
pub mod sink_urls {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SecretString>, D::Error> {
        d.deserialize_any(UrlsVisitor)
    }

    pub fn serialize<S: Serializer>(value: &[SecretString], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(value.iter().map(|u| shown(u.expose_secret())))
    }

    /// `scheme://host[:port]/...`: where it goes, without the path or query that hold the token.
    pub fn shown(url: &str) -> String {
        apiops_monitor::shown_url(url)
    }

    /// Checks one URL (`n` counts from 1, for the message).
    pub fn check(n: usize, value: &str) -> Result<SecretString, String> {
        let url = Url::parse(value.trim()).map_err(|e| {
            format!("URL #{n} does not parse ({e}); value hidden: it may hold a token")
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("URL #{n}: the scheme must be http or https"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("URL #{n}: it has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "URL #{n}: a user name or password does not belong in a sink URL"
            ));
        }
        Ok(SecretString::from(value.trim().to_owned()))
    }

    struct UrlsVisitor;

    impl<'de> Visitor<'de> for UrlsVisitor {
        type Value = Vec<SecretString>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of http(s) URLs")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .enumerate()
                .map(|(i, s)| check(i + 1, s).map_err(E::custom))
                .collect()
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(url) = seq.next_element::<String>()? {
                out.push(check(out.len() + 1, &url).map_err(de::Error::custom)?);
            }
            Ok(out)
        }
    }
}

/// A duration flag or argument that is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// Not a duration ("24h", "30m", "7d").
    #[error("invalid duration {text:?}: {source}")]
    Invalid {
        /// The text given.
        text: String,
        /// Why it does not parse.
        #[source]
        source: humantime::DurationError,
    },
    /// Zero where a duration must be above it.
    #[error("the duration must be above zero")]
    Zero,
}

/// Parses a humantime duration flag that may be zero ("0s" turns a periodic task off).
pub fn parse_duration_or_zero(s: &str) -> Result<std::time::Duration, DurationError> {
    humantime::parse_duration(s.trim()).map_err(|source| DurationError::Invalid {
        text: s.to_owned(),
        source,
    })
}

/// Parses a humantime duration flag ("24h", "6h", "30m", "7d").
pub fn parse_duration(s: &str) -> Result<std::time::Duration, DurationError> {
    let d = parse_duration_or_zero(s)?;
    if d.is_zero() {
        return Err(DurationError::Zero);
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_end_with_a_slash() {
        let ok = [
            ("https://api.openai.com/v1", "https://api.openai.com/v1/"),
            ("https://api.twilio.com", "https://api.twilio.com/"),
            ("http://127.0.0.1:8080/x/", "http://127.0.0.1:8080/x/"),
        ];
        for (input, want) in ok {
            assert_eq!(http_url::parse(input).map(String::from), Ok(want.into()));
        }
        let bad = [
            ("ftp://example.com", "http or https"),
            ("not a url", "invalid URL \"not a url\""),
            ("https://user:hunter2secret@example.com", "credentials"),
            ("file:///etc/passwd", "http or https"),
        ];
        for (input, want) in bad {
            let err = http_url::parse(input).expect_err(input);
            assert!(err.contains(want), "{input}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn database_urls_show_without_password() {
        assert_eq!(
            database_url::shown("postgres://apiops:canary_pw_0123456789@db:5432/apiops"),
            "postgres://apiops:cana...6789@db:5432/apiops"
        );
        assert_eq!(
            database_url::shown("postgres://apiops:short@db/apiops"),
            "postgres://apiops:********@db/apiops"
        );
        assert_eq!(
            database_url::shown("sqlite:///home/u/.local/share/apiops/apiops.db?mode=rwc"),
            "sqlite:///home/u/.local/share/apiops/apiops.db?mode=rwc"
        );
        assert_eq!(
            database_url::shown("postgres://db/apiops?user=u&password=canary_pw_0123456789"),
            "postgres://db/apiops?user=u&password=cana...6789"
        );
        for unparseable in [
            "postgres://apiops:canary_pw_0123456789@[db/apiops",
            "postgres://db:port/apiops?password=canary_pw_0123456789",
        ] {
            let shown = database_url::shown(unparseable);
            assert_eq!(shown, apiops_store::UNPARSEABLE_URL, "{unparseable}");
        }
    }

    #[test]
    fn policy_accepts_only_fixable_categories() {
        for ok in ["config", "rate_limit", "bad_params", "RATE_LIMIT"] {
            assert!(auto_fix::category(ok).is_ok(), "{ok}");
        }
        for bad in [
            "auth",
            "transient",
            "carrier",
            "purchases",
            "deletions",
            "spam",
        ] {
            let err = auto_fix::category(bad).expect_err(bad);
            assert!(err.contains(bad), "{err}");
            assert!(err.contains("never automatic"), "{err}");
            assert!(
                err.contains("auth problems, purchases and deletions"),
                "{err}"
            );
        }
    }
}
