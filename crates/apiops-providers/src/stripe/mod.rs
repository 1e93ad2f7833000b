//! Stripe (`https://api.stripe.com`): configuration, the client it builds, and its
//! [`Provider`] implementation.
//!
//! Layout:
//! - this file: [`StripeConfig`], [`KeyKind`] and [`Stripe`], which wires the resilient client
//!   (Bearer auth, `Stripe-Version` pin, `Idempotency-Key` on every POST, a GCRA quota of
//!   `requests_per_second`) and delegates each capability to its module.
//! - [`client`]: the typed requests and responses (balance, events, webhook endpoints and
//!   their updates, undelivered events).
//! - [`classify`]: Stripe's codes (errors, declines, payouts, disputes) to categories.
//! - `health`: `GET /v1/balance`, key mode and kind, breaker, deprecations.
//! - `errors`: failure events and undelivered events in a window, in concurrent sub-windows.
//! - `audit`: webhook endpoints and console-only settings.
//!
//! Not here: deciding and journaling operations that change Stripe (`apiops-ops`; the client
//! only sends them), and webhook signature checks (`apiops-webhooks`).

mod audit;
pub mod classify;
pub mod client;
pub(crate) mod errors;
mod health;

use std::num::NonZeroU32;
use std::time::Duration;

use apiops_client::ApiClient;
use apiops_client::auth::Auth;
use apiops_client::rate::RateConfig;
use apiops_core::{Classification, Finding, Health, Service};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::partial::{ScanRequest, ScanStream};
use crate::provider::{Progress, Provider, ProviderError};
use crate::tuning::ClientTuning;

pub use client::StripeClient;
pub use errors::FAILURE_EVENT_TYPES;

/// The variable that holds the secret key.
pub const SECRET_KEY_VARIABLE: &str = "STRIPE_SECRET_KEY";

/// How apiops reaches Stripe.
#[derive(Debug, Clone)]
pub struct StripeConfig {
    /// The API root without `/v1` (`https://api.stripe.com`, or a simulator's `/stripe`).
    pub api_url: Url,
    /// A secret (`sk_`) or restricted (`rk_`) key; `None` when not configured.
    pub secret_key: Option<SecretString>,
    /// Sent as `Stripe-Version` on every request, so an account upgrade cannot change the
    /// shapes apiops parses; also the floor webhook endpoint versions are compared with.
    pub api_version: String,
    /// A steady quota kept under Stripe's limit (about 100/s live, 25/s test).
    pub requests_per_second: u32,
    /// Timeouts, retries and breaker shared with the other providers.
    pub tuning: ClientTuning,
}

/// Stripe's API root.
pub const DEFAULT_API_URL: &str = "https://api.stripe.com";

/// The API version apiops' types follow (the version of the spec they were checked against).
pub const DEFAULT_API_VERSION: &str = "2023-08-16";

impl StripeConfig {
    /// A configuration for Stripe's own host with `secret_key`, the default version pin, 25
    /// requests per second (Stripe's test-mode limit, safe in live mode too) and the default
    /// tuning.
    pub fn official(secret_key: Option<SecretString>) -> Result<Self, ProviderError> {
        Ok(StripeConfig {
            api_url: Url::parse(DEFAULT_API_URL)
                .map_err(|e| ProviderError::Config(format!("Stripe URL: {e}")))?,
            secret_key,
            api_version: DEFAULT_API_VERSION.to_owned(),
            requests_per_second: 25,
            tuning: ClientTuning::default(),
        })
    }
}

/// What a Stripe key's prefix says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `sk_live_`
    SecretLive,
    /// `sk_test_`
    SecretTest,
    /// `rk_live_`
    RestrictedLive,
    /// `rk_test_`
    RestrictedTest,
    /// Anything else (a publishable key, a typo).
    Unknown,
}

impl KeyKind {
    /// Reads the prefix of `key` (only the prefix is looked at).
    pub fn of(key: &str) -> Self {
        let key = key.trim();
        if key.starts_with("sk_live_") {
            KeyKind::SecretLive
        } else if key.starts_with("sk_test_") {
            KeyKind::SecretTest
        } else if key.starts_with("rk_live_") {
            KeyKind::RestrictedLive
        } else if key.starts_with("rk_test_") {
            KeyKind::RestrictedTest
        } else {
            KeyKind::Unknown
        }
    }

    /// `live`, `test` or `unknown`.
    pub fn mode(self) -> &'static str {
        match self {
            KeyKind::SecretLive | KeyKind::RestrictedLive => "live",
            KeyKind::SecretTest | KeyKind::RestrictedTest => "test",
            KeyKind::Unknown => "unknown",
        }
    }

    /// `secret`, `restricted` or `unknown`.
    pub fn label(self) -> &'static str {
        match self {
            KeyKind::SecretLive | KeyKind::SecretTest => "secret",
            KeyKind::RestrictedLive | KeyKind::RestrictedTest => "restricted",
            KeyKind::Unknown => "unknown",
        }
    }

    /// Whether the key is restricted (its permissions are set in the Dashboard).
    pub fn is_restricted(self) -> bool {
        matches!(self, KeyKind::RestrictedLive | KeyKind::RestrictedTest)
    }
}

/// The Stripe provider.
#[derive(Debug, Clone)]
pub struct Stripe {
    /// The typed client over the resilient stack.
    client: StripeClient,
    /// The pinned version (reported in health, compared in audits).
    api_version: String,
    /// The key's mode and kind, read once from its prefix.
    key_kind: KeyKind,
}

impl Stripe {
    /// Builds the client. A missing or blank key is
    /// [`ProviderError::MissingCredentials`] naming `STRIPE_SECRET_KEY`; an unusable version
    /// or a zero rate is [`ProviderError::Config`].
    pub fn new(config: StripeConfig) -> Result<Self, ProviderError> {
        let key = config
            .secret_key
            .filter(|k| !k.expose_secret().trim().is_empty())
            .ok_or(ProviderError::MissingCredentials {
                service: Service::Stripe,
                variables: vec![SECRET_KEY_VARIABLE],
            })?;
        let key_kind = KeyKind::of(key.expose_secret());
        let rate = NonZeroU32::new(config.requests_per_second).ok_or_else(|| {
            ProviderError::Config("stripe.requests_per_second must be at least 1".to_owned())
        })?;
        let api_version = config.api_version.trim().to_owned();
        if api_version.is_empty() {
            return Err(ProviderError::Config(
                "stripe.api_version must name a Stripe API version such as 2023-08-16".to_owned(),
            ));
        }
        let config_error = |e: apiops_client::ClientError| ProviderError::Config(e.to_string());
        let builder = ApiClient::builder("stripe", config.api_url.as_str())
            .auth(Auth::Bearer(key))
            .rate(RateConfig {
                quota: Some((rate, Duration::from_secs(1))),
                max_concurrency: None,
                max_pause: Duration::from_secs(60),
            })
            .idempotency_header("Idempotency-Key")
            .map_err(config_error)?
            .version_pin("Stripe-Version", &api_version)
            .map_err(config_error)?;
        let api = config
            .tuning
            .apply(builder)?
            .build()
            .map_err(config_error)?;
        Ok(Stripe {
            client: StripeClient::new(api),
            api_version,
            key_kind,
        })
    }

    /// The typed client (for operations and tests).
    pub fn client(&self) -> &StripeClient {
        &self.client
    }

    /// The key's mode and kind.
    pub fn key_kind(&self) -> KeyKind {
        self.key_kind
    }

    /// The pinned API version.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }
}

#[async_trait::async_trait]
impl Provider for Stripe {
    fn service(&self) -> Service {
        Service::Stripe
    }

    async fn health(&self) -> Health {
        health::check(self).await
    }

    fn scan(&self, request: ScanRequest, progress: Progress) -> ScanStream {
        errors::scan(self.client.clone(), request, progress)
    }

    async fn audit(&self) -> Result<Vec<Finding>, ProviderError> {
        audit::run(self).await
    }

    fn classify(&self, code: &str, http_status: Option<u16>) -> Classification {
        classify::classify(code, http_status)
    }

    async fn webhook_urls(&self) -> Result<Vec<(String, String)>, ProviderError> {
        use futures::TryStreamExt as _;
        let mut out = Vec::new();
        let mut listing = std::pin::pin!(self.client.webhook_endpoints());
        while let Some(ep) = listing.try_next().await? {
            out.push((format!("webhook_endpoint {}: url", ep.id), ep.url));
        }
        Ok(out)
    }

    fn rate_limited_until(&self, now: std::time::SystemTime) -> Option<std::time::SystemTime> {
        self.client.api().rate_gate().retry_at(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(key: Option<&str>) -> StripeConfig {
        StripeConfig {
            api_url: Url::parse("http://127.0.0.1:9/stripe").expect("url"),
            secret_key: key.map(SecretString::from),
            api_version: "2023-08-16".into(),
            requests_per_second: 25,
            tuning: ClientTuning::default(),
        }
    }

    #[test]
    fn missing_or_blank_key_names_the_variable() {
        for key in [None, Some(""), Some("  ")] {
            match Stripe::new(config(key)) {
                Err(ProviderError::MissingCredentials { service, variables }) => {
                    assert_eq!(service, Service::Stripe);
                    assert_eq!(variables, vec!["STRIPE_SECRET_KEY"]);
                }
                other => panic!("{key:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn bad_settings_are_config_errors_without_the_key() {
        let mut c = config(Some("sk_test_0123456789abcdef"));
        c.requests_per_second = 0;
        let err = Stripe::new(c).expect_err("zero rate");
        assert!(matches!(err, ProviderError::Config(_)));
        let mut c = config(Some("sk_test_0123456789abcdef"));
        c.api_version = "2023-08-16\n".into();
        assert!(Stripe::new(c).is_ok(), "trimmed");
        let mut c = config(Some("sk_test_0123456789abcdef"));
        c.api_version = "bad\u{7f}value".into();
        let err = Stripe::new(c).expect_err("bad header");
        assert!(!err.to_string().contains("0123456789abcdef"), "{err}");
    }

    #[test]
    fn key_kinds() {
        let cases = [
            ("sk_live_abc", KeyKind::SecretLive, "live", "secret"),
            ("sk_test_abc", KeyKind::SecretTest, "test", "secret"),
            ("rk_live_abc", KeyKind::RestrictedLive, "live", "restricted"),
            ("rk_test_abc", KeyKind::RestrictedTest, "test", "restricted"),
            ("pk_live_abc", KeyKind::Unknown, "unknown", "unknown"),
        ];
        for (key, kind, mode, label) in cases {
            let k = KeyKind::of(key);
            assert_eq!(k, kind, "{key}");
            assert_eq!(k.mode(), mode);
            assert_eq!(k.label(), label);
        }
        assert!(KeyKind::RestrictedTest.is_restricted());
        let s = Stripe::new(config(Some("rk_live_0123456789abcdef"))).expect("stripe");
        assert_eq!(s.key_kind(), KeyKind::RestrictedLive);
        assert_eq!(s.api_version(), "2023-08-16");
        assert!(!format!("{s:?}").contains("0123456789abcdef"));
    }
}
