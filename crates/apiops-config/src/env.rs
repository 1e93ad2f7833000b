//! Which environment variables configure apiops, and which config key each one sets.
//!
//! Two families: `APIOPS_<SECTION>_<KEY>` for any key of a known section (the first `_` after
//! the section name separates it from the key, so `APIOPS_CLIENT_CONNECT_TIMEOUT` is
//! `client.connect_timeout`), and the conventional credential variables the providers' own SDKs
//! read (`TWILIO_AUTH_TOKEN`, `OPENAI_API_KEY`, ...), mapped one by one. `APIOPS_*` variables that
//! are not config keys (`APIOPS_CASSETTE`, `APIOPS_LOG`, `APIOPS_CONFIG`) are left alone.
//!
//! The process environment is captured once into an [`Environment`] so that loading is a pure
//! function of its inputs and tests never touch the real environment.

use std::collections::BTreeMap;
use std::fmt;

/// The prefix of apiops' own variables.
pub const PREFIX: &str = "APIOPS_";

/// The top-level config tables; only these may be set through `APIOPS_<SECTION>_<KEY>`.
pub const SECTIONS: &[&str] = &[
    "output",
    "client",
    "breaker",
    "twilio",
    "stripe",
    "openai",
    "database",
    "policy",
    "monitor",
    "serve",
    "retention",
];

/// Variables with the apiops prefix that configure something other than the config file's keys;
/// listed so the intent is explicit (most are skipped because their "section" is not in
/// [`SECTIONS`]; `apiops serve`'s token variables are flags' variables, not `[serve]` keys).
pub const NOT_CONFIG_KEYS: &[&str] = &[
    "APIOPS_CASSETTE",
    "APIOPS_LOG",
    "APIOPS_CONFIG",
    "APIOPS_SERVE_TOKEN",
];

/// The variable holding the log filter (`tracing_subscriber::EnvFilter` syntax).
pub const LOG_FILTER: &str = "APIOPS_LOG";

/// The conventional variables of DESIGN.md §4, with the config key each sets.
pub const CONVENTIONAL: &[(&str, &str)] = &[
    ("TWILIO_ACCOUNT_SID", "twilio.account_sid"),
    ("TWILIO_AUTH_TOKEN", "twilio.auth_token"),
    ("TWILIO_API_KEY", "twilio.api_key"),
    ("TWILIO_API_SECRET", "twilio.api_secret"),
    ("OPENAI_API_KEY", "openai.api_key"),
    ("OPENAI_ADMIN_KEY", "openai.admin_key"),
    ("OPENAI_WEBHOOK_SECRET", "openai.webhook_secret"),
    ("OPENAI_BASE_URL", "openai.base_url"),
    ("OPENAI_ORG_ID", "openai.organization"),
    ("OPENAI_PROJECT_ID", "openai.project"),
    ("STRIPE_SECRET_KEY", "stripe.secret_key"),
    ("STRIPE_WEBHOOK_SECRET", "stripe.webhook_secret"),
];

/// Values per section and key, as the env layers hand them to figment (always strings; figment's
/// lossy extraction turns `"3"` into a number where a number is expected, and never touches a
/// secret).
pub type SectionValues = BTreeMap<String, BTreeMap<String, String>>;

/// A snapshot of the process environment. Its `Debug` lists names only, never values.
#[derive(Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl Environment {
    /// Captures the process environment, skipping variables whose name or value is not UTF-8.
    pub fn capture() -> Self {
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect()
    }

    /// The value of `name`, trimmed; `None` when unset or empty (empty counts as unset).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars
            .keys()
            .filter_map(|k| Some((k.as_str(), self.get(k)?)))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Environment {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Environment {
            vars: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Environment")
            .field("names", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The `(section, key)` an `APIOPS_*` variable sets, if it names a known section.
pub fn prefixed_key(name: &str) -> Option<(&'static str, String)> {
    let rest = name.strip_prefix(PREFIX)?;
    let (section, key) = rest.split_once('_')?;
    let section = SECTIONS.iter().find(|s| s.eq_ignore_ascii_case(section))?;
    if key.is_empty() || NOT_CONFIG_KEYS.contains(&name) {
        return None;
    }
    Some((section, key.to_ascii_lowercase()))
}

/// The `APIOPS_*` variable that sets a config key path (`["client", "timeout"]`).
pub fn prefixed_name(keys: &[&str]) -> String {
    format!("{PREFIX}{}", keys.join("_").to_ascii_uppercase())
}

/// The conventional variable that sets `key` ("twilio.auth_token"), if there is one.
pub fn conventional_name(key: &str) -> Option<&'static str> {
    CONVENTIONAL
        .iter()
        .find(|(_, k)| *k == key)
        .map(|(name, _)| *name)
}

/// The values the conventional credential variables set.
pub fn conventional_values(env: &Environment) -> SectionValues {
    let mut values = SectionValues::new();
    for (name, key) in CONVENTIONAL {
        if let (Some(value), Some((section, field))) = (env.get(name), key.split_once('.')) {
            values
                .entry(section.to_owned())
                .or_default()
                .insert(field.to_owned(), value.to_owned());
        }
    }
    values
}

/// The values the `APIOPS_<SECTION>_<KEY>` variables set.
pub fn prefixed_values(env: &Environment) -> SectionValues {
    let mut values = SectionValues::new();
    for (name, value) in env.iter() {
        if let Some((section, key)) = prefixed_key(name) {
            values
                .entry(section.to_owned())
                .or_default()
                .insert(key, value.to_owned());
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixed_names_map_to_section_and_key() {
        let table = [
            ("APIOPS_TWILIO_API_URL", Some(("twilio", "api_url"))),
            (
                "APIOPS_CLIENT_CONNECT_TIMEOUT",
                Some(("client", "connect_timeout")),
            ),
            ("APIOPS_DATABASE_URL", Some(("database", "url"))),
            ("APIOPS_POLICY_AUTO_FIX", Some(("policy", "auto_fix"))),
            ("APIOPS_CASSETTE", None),
            ("APIOPS_LOG", None),
            ("APIOPS_CONFIG", None),
            ("APIOPS_SIM_SEED", None),
            ("APIOPS_CLIENT", None),
            ("APIOPS_CLIENT_", None),
            ("TWILIO_AUTH_TOKEN", None),
        ];
        for (name, want) in table {
            let got = prefixed_key(name);
            assert_eq!(got.as_ref().map(|(s, k)| (*s, k.as_str())), want, "{name}");
            if let Some((section, key)) = got {
                assert_eq!(prefixed_name(&[section, &key]), name);
            }
        }
    }

    #[test]
    fn conventional_variables_cover_design_section_4() {
        for name in [
            "TWILIO_ACCOUNT_SID",
            "TWILIO_AUTH_TOKEN",
            "TWILIO_API_KEY",
            "TWILIO_API_SECRET",
            "OPENAI_API_KEY",
            "OPENAI_ADMIN_KEY",
            "OPENAI_WEBHOOK_SECRET",
            "OPENAI_BASE_URL",
            "STRIPE_SECRET_KEY",
            "STRIPE_WEBHOOK_SECRET",
        ] {
            assert!(CONVENTIONAL.iter().any(|(n, _)| *n == name), "{name}");
        }
        for (name, key) in CONVENTIONAL {
            assert_eq!(conventional_name(key), Some(*name));
            let section = key.split('.').next().unwrap_or_default();
            assert!(SECTIONS.contains(&section), "{key}");
        }
    }

    #[test]
    fn empty_values_count_as_unset_and_values_are_trimmed() {
        let env: Environment = [
            ("TWILIO_AUTH_TOKEN", "  "),
            ("STRIPE_SECRET_KEY", "sk_test_x\n"),
            ("APIOPS_CLIENT_TIMEOUT", ""),
            ("APIOPS_CLIENT_MAX_ATTEMPTS", " 5 "),
        ]
        .into_iter()
        .collect();
        let conventional = conventional_values(&env);
        assert!(!conventional.contains_key("twilio"));
        assert_eq!(conventional["stripe"]["secret_key"], "sk_test_x");
        let prefixed = prefixed_values(&env);
        assert_eq!(prefixed["client"].len(), 1);
        assert_eq!(prefixed["client"]["max_attempts"], "5");
    }

    #[test]
    fn debug_shows_names_not_values() {
        let env: Environment = [("TWILIO_AUTH_TOKEN", "canary_value_0123456789")]
            .into_iter()
            .collect();
        let text = format!("{env:?}");
        assert!(text.contains("TWILIO_AUTH_TOKEN"));
        assert!(!text.contains("canary"));
    }
}
