//! The high-level, validated settings every command receives: typed durations, URLs, counts and
//! secrets, one struct per top-level config table. Built once at start by [`super::load`]; no
//! command reads the environment or a config file itself.
//!
//! Each section's `Deserialize` reads its table of the layered config (validating each value as
//! it goes, see [`super::values`]); [`Settings::problems`] then checks ranges and what involves
//! several keys.
//! `Serialize` renders the effective config for `apiops config show` with every secret masked,
//! so it is safe to print by construction.
//!
//! `[monitor]`, the longest section, is in `monitor` ([`MonitorSettings`]).

use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::time::Duration;

use apiops_core::Category;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use super::values;
use crate::output::{ColorMode, Format};

mod monitor;

pub use monitor::MonitorSettings;

/// Everything apiops is configured with. (Deserialized section by section by the loader, so
/// that each section's problems are reported.)
#[derive(Debug, Serialize)]
pub struct Settings {
    /// How results are printed.
    pub output: OutputSettings,
    /// The resilient HTTP client every provider uses.
    pub client: ClientSettings,
    /// The circuit breaker each provider host gets.
    pub breaker: BreakerSettings,
    /// Twilio: endpoints, credentials, concurrency.
    pub twilio: TwilioSettings,
    /// Stripe: endpoint, credentials, version pin, rate.
    pub stripe: StripeSettings,
    /// OpenAI (or a compatible server): endpoint, credentials, rate.
    pub openai: OpenAiSettings,
    /// Where events, journals and webhooks are stored.
    pub database: DatabaseSettings,
    /// What apiops may do without asking.
    pub policy: PolicySettings,
    /// `apiops serve`'s scheduled checks, alert rules, sinks and auto-fix.
    pub monitor: MonitorSettings,
    /// `apiops serve`'s server limits and store health.
    pub serve: ServeSettings,
    /// How long `apiops serve` keeps raw webhook payloads and the event log.
    pub retention: RetentionSettings,
    /// `[apis.NAME]`: any API described by an OpenAPI document, by name.
    pub apis: std::collections::BTreeMap<String, crate::apis::ApiSettings>,
}

/// `[serve]`: the limits `apiops serve` holds every connection and request to, and how long a
/// webhook waits for the store before it is answered 503.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServeSettings {
    /// A request's head (request line and headers) must arrive within this.
    #[serde(with = "values::duration")]
    pub header_read_timeout: Duration,
    /// A whole request, body and answer included, must finish within this (408 otherwise).
    #[serde(with = "values::duration")]
    pub request_timeout: Duration,
    /// A keep-alive connection with no request is closed after this (or header_read_timeout,
    /// whichever is shorter).
    #[serde(with = "values::duration")]
    pub idle_timeout: Duration,
    /// Connections open at once; more are closed as they arrive.
    pub max_connections: usize,
    /// Webhook requests handled at once; more are answered 503 with Retry-After.
    pub max_webhook_requests: usize,
    /// Dashboard, /metrics, /mcp and /healthz requests handled at once; more get 503.
    pub max_other_requests: usize,
    /// How long a webhook waits for its commit before it is answered 503 (the provider
    /// retries; an event committed after that is a duplicate then).
    #[serde(with = "values::duration")]
    pub commit_timeout: Duration,
    /// Largest Twilio callback body accepted (Twilio's callbacks are a few KiB).
    pub max_twilio_body: usize,
    /// Most form parameters in a Twilio callback.
    pub max_form_params: usize,
}

impl ServeSettings {
    /// The server's limits.
    pub fn limits(&self) -> crate::Limits {
        crate::Limits {
            header_read_timeout: self.header_read_timeout,
            request_timeout: self.request_timeout,
            idle_timeout: self.idle_timeout,
            max_connections: self.max_connections,
            max_webhook_requests: self.max_webhook_requests,
            max_other_requests: self.max_other_requests,
        }
    }

    /// Ranges and relations of `[serve]`, as `(key, message)`.
    fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (key, d) in [
            ("serve.header_read_timeout", self.header_read_timeout),
            ("serve.request_timeout", self.request_timeout),
            ("serve.idle_timeout", self.idle_timeout),
            ("serve.commit_timeout", self.commit_timeout),
        ] {
            if d < Duration::from_millis(100) {
                out.push((key, "must be at least 100ms".into()));
            }
        }
        for (key, n) in [
            ("serve.max_connections", self.max_connections),
            ("serve.max_webhook_requests", self.max_webhook_requests),
            ("serve.max_other_requests", self.max_other_requests),
            ("serve.max_twilio_body", self.max_twilio_body),
            ("serve.max_form_params", self.max_form_params),
        ] {
            if n == 0 {
                out.push((key, "must be at least 1".into()));
            }
        }
        if self.commit_timeout >= self.request_timeout {
            out.push((
                "serve.commit_timeout",
                format!(
                    "{} is not shorter than serve.request_timeout ({}): a slow store would time the request out before it is answered 503",
                    humantime::format_duration(self.commit_timeout),
                    humantime::format_duration(self.request_timeout)
                ),
            ));
        }
        out
    }
}

/// `[output]`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSettings {
    /// The renderer commands use unless a flag says otherwise.
    pub format: Format,
    /// Whether stdout is colored; `auto` also honors `NO_COLOR`.
    pub color: ColorMode,
}

/// `[client]`: timeouts and retries, shared by all providers.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSettings {
    /// Bounds TCP + TLS setup, so a black-holed host fails fast instead of eating `timeout`.
    #[serde(with = "values::duration")]
    pub connect_timeout: Duration,
    /// Bounds one whole attempt, so a stalled response cannot hang a command.
    #[serde(with = "values::duration")]
    pub timeout: Duration,
    /// Attempts per request including the first; 1 disables retries.
    pub max_attempts: NonZeroU32,
    /// The scale of full-jitter exponential backoff.
    #[serde(with = "values::duration")]
    pub base_delay: Duration,
    /// Caps each backoff delay and any `Retry-After` the client agrees to wait.
    #[serde(with = "values::duration")]
    pub max_delay: Duration,
    /// Share of recent traffic retries may add (0..=1), so an outage never becomes a storm.
    pub retry_budget_ratio: f64,
    /// Retries always allowed per budget window, so a quiet client can still retry.
    pub retry_budget_min: u32,
    /// A read attempt gets this many times the recent p99 latency (0: adaptive timeouts off).
    pub read_timeout_multiplier: f64,
    /// The shortest adaptive read attempt timeout.
    #[serde(with = "values::duration")]
    pub read_timeout_floor: Duration,
    /// The most hedged reads, as a share of reads (0..=1; 0: no hedging).
    pub hedge_share: f64,
    /// Never hedge a read sooner than this.
    #[serde(with = "values::duration")]
    pub hedge_min_delay: Duration,
    /// Share of reads that may be retried once the general budget is spent (0..=1).
    pub read_retry_budget_ratio: f64,
    /// Read retries always allowed beyond the general budget.
    pub read_retry_budget_min: u32,
}

/// `[breaker]`: when a provider host is considered down and for how long.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerSettings {
    /// Failure share of the window (in (0, 1]) that opens the breaker.
    pub failure_rate: f64,
    /// Calls needed before the rate is judged, so two early failures do not open it.
    pub minimum_calls: NonZeroU32,
    /// How many recent calls the rate is computed over (at least `minimum_calls`).
    pub window: NonZeroU32,
    /// How long an open breaker refuses calls before admitting probes.
    #[serde(with = "values::duration")]
    pub cool_down: Duration,
    /// Probes admitted while half-open; all must succeed to close.
    pub half_open_probes: NonZeroU32,
}

/// `[twilio]`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioSettings {
    /// The core REST API (messages, calls, numbers owned, accounts). Ends with `/`.
    #[serde(with = "values::http_url")]
    pub api_url: Url,
    /// The provider's public status page (Statuspage's `api/v2/status.json` under it). Unset,
    /// the provider's own page is read only while the API URL is the provider's real one.
    #[serde(
        default,
        with = "values::optional_http_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub status_url: Option<Url>,
    /// The Monitor API (alerts, events). Ends with `/`.
    #[serde(with = "values::http_url")]
    pub monitor_url: Url,
    /// The Messaging API (services, A2P registrations). Ends with `/`.
    #[serde(with = "values::http_url")]
    pub messaging_url: Url,
    /// The Numbers API (regulatory bundles, hosted numbers). Ends with `/`.
    #[serde(with = "values::http_url")]
    pub numbers_url: Url,
    /// The Pricing API. Ends with `/`.
    #[serde(with = "values::http_url")]
    pub pricing_url: Url,
    /// The account every request is scoped to (`AC` + 32 hex digits); masked when shown.
    #[serde(
        default,
        with = "values::secret",
        skip_serializing_if = "Option::is_none"
    )]
    pub account_sid: Option<SecretString>,
    /// Basic-auth password when no API key pair is configured.
    #[serde(
        default,
        with = "values::secret",
        skip_serializing_if = "Option::is_none"
    )]
    pub auth_token: Option<SecretString>,
    /// API key SID (`SK...`), the Basic-auth user of the preferred credential.
    #[serde(
        default,
        with = "values::secret",
        skip_serializing_if = "Option::is_none"
    )]
    pub api_key: Option<SecretString>,
    /// The API key's secret.
    #[serde(
        default,
        with = "values::secret",
        skip_serializing_if = "Option::is_none"
    )]
    pub api_secret: Option<SecretString>,
    /// Requests in flight at once, below the account's concurrency limit.
    pub max_concurrency: NonZeroU32,
}

/// How apiops authenticates to Twilio, decided in one place.
#[derive(Debug, Clone, Copy)]
pub enum TwilioAuth<'a> {
    /// An API key pair: user = key SID, password = secret. Preferred: revocable and scoped.
    ApiKey {
        key: &'a SecretString,
        secret: &'a SecretString,
    },
    /// The account's auth token: user = account SID, password = token.
    AuthToken(&'a SecretString),
}

impl TwilioSettings {
    /// The credential to use: the API key pair when both halves are set, else the auth token.
    /// `None` when neither is complete. (The account SID is needed in both cases, separately.)
    pub fn auth(&self) -> Option<TwilioAuth<'_>> {
        match (&self.api_key, &self.api_secret, &self.auth_token) {
            (Some(key), Some(secret), _) => Some(TwilioAuth::ApiKey { key, secret }),
            (_, _, Some(token)) => Some(TwilioAuth::AuthToken(token)),
            _ => None,
        }
    }
}

/// `[stripe]`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StripeSettings {
    /// The API. Ends with `/`.
    #[serde(with = "values::http_url")]
    pub api_url: Url,
    /// The provider's public status page (Statuspage's `api/v2/status.json` under it). Unset,
    /// the provider's own page is read only while the API URL is the provider's real one.
    #[serde(
        default,
        with = "values::optional_http_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub status_url: Option<Url>,
    /// Secret (`sk_`) or restricted (`rk_`) key, Bearer auth.
    #[serde(
        default,
        with = "values::secret",
        skip_serializing_if = "Option::is_none"
    )]
    pub secret_key: Option<SecretString>,
    /// Verifies `Stripe-Signature` on incoming webhooks.
    #[serde(
        default,
        with = "values::secret",
        skip_serializing_if = "Option::is_none"
    )]
    pub webhook_secret: Option<SecretString>,
    /// Sent as `Stripe-Version`, so an account upgrade cannot change the responses we parse.
    pub api_version: String,
    /// Request rate kept under Stripe's limit.
    pub requests_per_second: NonZeroU32,
}

/// `[openai]`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAiSettings {
    /// The API root including `/v1` (the SDKs' `OPENAI_BASE_URL`). Ends with `/`, so
    /// `base_url.join("models")` is `.../v1/models`.
    #[serde(with = "values::http_url")]
    pub base_url: Url,
    /// The provider's public status page (Statuspage's `api/v2/status.json` under it). Unset,
    /// the provider's own page is read only while the API URL is the provider's real one.
    #[serde(
        default,
        with = "values::optional_http_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub status_url: Option<Url>,
    /// Project or user key, Bearer auth.
    #[serde(
        default,
        with = "values::secret",
        skip_serializing_if = "Option::is_none"
    )]
    pub api_key: Option<SecretString>,
    /// Admin key, the only credential the usage and costs endpoints accept.
    #[serde(
        default,
        with = "values::secret",
        skip_serializing_if = "Option::is_none"
    )]
    pub admin_key: Option<SecretString>,
    /// Verifies `webhook-signature` on incoming webhooks.
    #[serde(
        default,
        with = "values::secret",
        skip_serializing_if = "Option::is_none"
    )]
    pub webhook_secret: Option<SecretString>,
    /// Sent as `OpenAI-Organization` when set; not secret.
    #[serde(
        default,
        deserialize_with = "values::optional_text::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub organization: Option<String>,
    /// Sent as `OpenAI-Project` when set; not secret.
    #[serde(
        default,
        deserialize_with = "values::optional_text::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub project: Option<String>,
    /// A fixed pace to keep; `None` leaves pacing to the `x-ratelimit-*` headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<NonZeroU32>,
}

/// `[database]`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite:...` or `postgres://...`. Always set: when the user sets nothing it is a SQLite
    /// file in the user data directory (`sqlite://<data dir>/apiops.db?mode=rwc`; the directory
    /// may not exist yet). Secret because a PostgreSQL URL carries a password.
    #[serde(with = "values::database_url")]
    pub url: SecretString,
}

/// `[policy]`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySettings {
    /// Categories apiops may fix without confirmation; validated to a subset of
    /// `config`, `rate_limit`, `bad_params`.
    #[serde(deserialize_with = "values::auto_fix::deserialize")]
    pub auto_fix: BTreeSet<Category>,
    /// The most items (recipients, numbers, events) one plan may have before it needs a
    /// person's yes even where `--allow-execute` would stand in; 0: every change needs a person.
    pub batch_cap: usize,
}

impl PolicySettings {
    /// Whether a fix in `category` may run without a person confirming it.
    #[cfg(test)]
    pub fn may_auto_fix(&self, category: Category) -> bool {
        category.auto_fixable() && self.auto_fix.contains(&category)
    }

    /// The operations gate's policy.
    pub fn policy(&self) -> apiops_ops::Policy {
        apiops_ops::Policy::new(self.auto_fix.iter().copied()).0
    }
}

/// `[retention]`: what `apiops serve` deletes, and when. Pruning runs in the background in
/// small batches (see `crate::retention`).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// How long the raw payload of a processed webhook or polled event is kept (it may hold
    /// SMS bodies, phone numbers, e-mail addresses); its row and dedup key stay, so a late
    /// re-delivery is still a duplicate. Zero keeps payloads forever.
    #[serde(with = "values::duration")]
    pub payloads: Duration,
    /// How long the event log keeps an event, counted from the event's own time. Zero keeps
    /// events forever.
    #[serde(with = "values::duration")]
    pub events: Duration,
    /// Rows per pruning statement: small, so the store's writer is never held for long.
    pub batch: NonZeroU32,
}

impl RetentionSettings {
    /// `[retention]` as retention's own configuration.
    pub fn retention_config(&self) -> apiops_monitor::RetentionConfig {
        apiops_monitor::RetentionConfig {
            payloads: self.payloads,
            events: self.events,
            batch: self.batch,
        }
    }

    /// Ranges of `[retention]`, as `(key, message)`.
    fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (key, d) in [
            ("retention.payloads", self.payloads),
            ("retention.events", self.events),
        ] {
            if !d.is_zero() && d < Duration::from_secs(60) {
                out.push((
                    key,
                    format!(
                        "{} is too short: use \"0s\" to keep forever, or at least \"1m\"",
                        humantime::format_duration(d)
                    ),
                ));
            }
        }
        if self.batch.get() > 10_000 {
            out.push((
                "retention.batch",
                format!(
                    "{} rows is more than the limit of 10000 (a batch holds the store's writer)",
                    self.batch
                ),
            ));
        }
        out
    }
}

impl Settings {
    /// Every secret value these settings hold, for a [`Redactor`] of whatever shows text to
    /// people: the providers' credentials, both webhook secrets whole and each secret of a
    /// comma-separated rotation list on its own (either half of `whsec_a,whsec_b` may be what a
    /// message quotes), the database URL and its password in every form it may be written, and
    /// the monitor's sink URLs (which carry their tokens in the path).
    ///
    /// The one list of "every secret in the settings": a new secret key is added here, and every
    /// redactor built from it scrubs the new key too.
    ///
    /// [`Redactor`]: apiops_client::redact::Redactor
    pub fn secrets(&self) -> Vec<SecretString> {
        let (t, s, o) = (&self.twilio, &self.stripe, &self.openai);
        let single = [
            t.account_sid.as_ref(),
            t.auth_token.as_ref(),
            t.api_key.as_ref(),
            t.api_secret.as_ref(),
            s.secret_key.as_ref(),
            o.api_key.as_ref(),
            o.admin_key.as_ref(),
            Some(&self.database.url),
        ];
        let rotated = [s.webhook_secret.as_ref(), o.webhook_secret.as_ref()];
        let sinks = self
            .monitor
            .webhook_urls
            .iter()
            .chain(&self.monitor.slack_urls);
        let db_passwords = apiops_store::url_passwords(self.database.url.expose_secret())
            .into_iter()
            .map(SecretString::from);
        single
            .into_iter()
            .flatten()
            .chain(sinks)
            .cloned()
            .chain(rotated.into_iter().flatten().flat_map(|whole| {
                let parts = rotation_parts(Some(whole));
                std::iter::once(whole.clone()).chain(parts)
            }))
            .chain(db_passwords)
            .collect()
    }

    /// What is wrong beyond single values: ranges and relations between keys, as
    /// `(key, message)` pairs. Empty when the settings are usable.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        let mut check = |ok: bool, key: &'static str, message: String| {
            if !ok {
                problems.push((key, message));
            }
        };
        let c = &self.client;
        for (key, d) in [
            ("client.connect_timeout", c.connect_timeout),
            ("client.timeout", c.timeout),
            ("client.base_delay", c.base_delay),
            ("client.read_timeout_floor", c.read_timeout_floor),
            ("breaker.cool_down", self.breaker.cool_down),
        ] {
            check(!d.is_zero(), key, "must be longer than zero".into());
        }
        check(
            c.base_delay <= c.max_delay,
            "client.base_delay",
            format!(
                "{} is longer than client.max_delay ({})",
                humantime::format_duration(c.base_delay),
                humantime::format_duration(c.max_delay)
            ),
        );
        check(
            (0.0..=1.0).contains(&c.retry_budget_ratio),
            "client.retry_budget_ratio",
            format!("{} is not between 0 and 1", c.retry_budget_ratio),
        );
        for (key, v) in [
            ("client.hedge_share", c.hedge_share),
            ("client.read_retry_budget_ratio", c.read_retry_budget_ratio),
        ] {
            check(
                (0.0..=1.0).contains(&v),
                key,
                format!("{v} is not between 0 and 1"),
            );
        }
        check(
            c.read_timeout_multiplier.is_finite() && c.read_timeout_multiplier >= 0.0,
            "client.read_timeout_multiplier",
            format!(
                "{} is not a number of at least 0 (0 turns adaptive timeouts off)",
                c.read_timeout_multiplier
            ),
        );
        let b = &self.breaker;
        check(
            b.failure_rate > 0.0 && b.failure_rate <= 1.0,
            "breaker.failure_rate",
            format!(
                "{} is not in (0, 1]: it is a share of failed calls",
                b.failure_rate
            ),
        );
        check(
            b.minimum_calls <= b.window,
            "breaker.minimum_calls",
            format!(
                "{} is more than breaker.window ({}), so the breaker could never open",
                b.minimum_calls, b.window
            ),
        );
        check(
            is_stripe_version(&self.stripe.api_version),
            "stripe.api_version",
            format!(
                "{:?} is not a Stripe API version such as \"2023-08-16\" or \"2024-09-30.acacia\"",
                self.stripe.api_version
            ),
        );
        problems.extend(self.monitor.problems());
        problems.extend(self.serve.problems());
        problems.extend(self.retention.problems());
        problems
    }
}

/// `YYYY-MM-DD`, optionally followed by `.name` (Stripe's release names since 2024).
fn is_stripe_version(v: &str) -> bool {
    let (date, name) = v.split_once('.').unwrap_or((v, "a"));
    let shape = date.len() == 10
        && date.char_indices().all(|(i, ch)| match i {
            4 | 7 => ch == '-',
            _ => ch.is_ascii_digit(),
        });
    shape && !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase())
}

/// The secrets of a webhook secret setting: during a rotation several are configured,
/// comma-separated, and a signature made with any of them is accepted. Blank parts are skipped;
/// `None` has none.
pub fn rotation_parts(value: Option<&SecretString>) -> Vec<SecretString> {
    value
        .map(|s| {
            s.expose_secret()
                .split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(|x| SecretString::from(x.to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripe_versions() {
        for ok in ["2023-08-16", "2024-09-30.acacia", "2025-03-31.basil"] {
            assert!(is_stripe_version(ok), "{ok}");
        }
        for bad in [
            "",
            "2023-8-16",
            "latest",
            "2023-08-16.",
            "2023-08-16.X",
            "20230816xx",
        ] {
            assert!(!is_stripe_version(bad), "{bad}");
        }
    }

    #[test]
    fn rotation_parts_are_trimmed_and_blanks_skipped() {
        let value = SecretString::from(" whsec_a ,, whsec_b,".to_owned());
        let parts: Vec<String> = rotation_parts(Some(&value))
            .iter()
            .map(|s| s.expose_secret().to_owned())
            .collect();
        assert_eq!(parts, ["whsec_a", "whsec_b"]);
        assert!(rotation_parts(None).is_empty());
    }
}
