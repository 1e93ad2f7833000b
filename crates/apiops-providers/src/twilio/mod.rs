//! Twilio: configuration, construction and the [`Provider`] implementation.
//!
//! Layout:
//! - this file: [`TwilioConfig`] (base URLs, credentials, concurrency, client tuning) and
//!   [`Twilio`], which validates it and implements [`Provider`];
//! - [`client`]: the typed client — one resilient client per Twilio host, and the calls
//!   operations make (search, buy, update and release numbers, send a message); it re-exports
//!   the records;
//! - `records`: the records apiops reads (serde), never a message body;
//! - `paging`: Twilio's own paging (one page decoded straight into records, the next-page
//!   cursor on the original request); the adaptive cap on pages in flight is
//!   [`apiops_client::rate::AdaptiveLimit`];
//! - [`classify`]: every Twilio error code to category, severity, retryable and remediation;
//! - `health`: the account and balance probe behind [`Provider::health`];
//! - `errors`: failed and undelivered messages, failed calls and Monitor alerts, scanned in
//!   concurrent time windows into [`ErrorEvent`](apiops_core::ErrorEvent)s;
//! - `audit`: phone numbers and messaging services checked for webhook and registration
//!   problems.
//!
//! Nothing here prints, and no secret (Account SID, token, API key or secret) reaches an
//! error, an event, a finding or a log line: they are registered with the client's redactor
//! and only ever shown masked.

mod audit;
pub mod classify;
pub mod client;
pub(crate) mod errors;
mod health;
mod paging;
mod records;
mod sources;

use apiops_core::{Classification, Finding, Health, Service};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::partial::{ScanRequest, ScanStream};
use crate::provider::{Progress, Provider, ProviderError};
use crate::tuning::ClientTuning;

pub use client::TwilioClient;

/// The most time windows scanned at once, whatever `max_concurrency` allows: each window holds
/// one page (up to 1,000 records) in flight, so this bounds a scan's memory.
pub const MAX_SCAN_CONCURRENCY: usize = 32;

/// `https://api.twilio.com`, the 2010-04-01 API.
pub const DEFAULT_API_URL: &str = "https://api.twilio.com";
/// `https://monitor.twilio.com`, alerts.
pub const DEFAULT_MONITOR_URL: &str = "https://monitor.twilio.com";
/// `https://messaging.twilio.com`, messaging services.
pub const DEFAULT_MESSAGING_URL: &str = "https://messaging.twilio.com";
/// `https://pricing.twilio.com`, prices.
pub const DEFAULT_PRICING_URL: &str = "https://pricing.twilio.com";

/// Everything the Twilio provider needs; the binary fills it from the validated configuration.
#[derive(Debug, Clone)]
pub struct TwilioConfig {
    /// Base of the 2010-04-01 API (`https://api.twilio.com`); `APIOPS_TWILIO_API_URL`.
    pub api_url: Url,
    /// Base of the Monitor API (alerts); `APIOPS_TWILIO_MONITOR_URL`.
    pub monitor_url: Url,
    /// Base of the Messaging API (services); `APIOPS_TWILIO_MESSAGING_URL`.
    pub messaging_url: Url,
    /// Base of the Pricing API; `APIOPS_TWILIO_PRICING_URL`.
    pub pricing_url: Url,
    /// `TWILIO_ACCOUNT_SID`: names the account in every 2010-API path, and is the Basic-auth
    /// user with the auth token. Always required.
    pub account_sid: Option<SecretString>,
    /// `TWILIO_AUTH_TOKEN`: the account's password; used unless an API key pair is set.
    pub auth_token: Option<SecretString>,
    /// `TWILIO_API_KEY`: an API key SID (`SK...`), preferred over the auth token with its
    /// secret, since it can be revoked alone.
    pub api_key: Option<SecretString>,
    /// `TWILIO_API_SECRET`: the API key's secret.
    pub api_secret: Option<SecretString>,
    /// Requests in flight at once per Twilio host (Twilio answers 429/20429 above the account's
    /// concurrency limit); scans use up to [`MAX_SCAN_CONCURRENCY`] of it.
    pub max_concurrency: usize,
    /// Timeouts, retries and breaker shared by every client.
    pub tuning: ClientTuning,
}

impl TwilioConfig {
    /// A configuration for Twilio's own hosts with the given credentials, 100 requests in
    /// flight and the default tuning.
    pub fn official(
        account_sid: Option<SecretString>,
        auth_token: Option<SecretString>,
    ) -> Result<Self, ProviderError> {
        let parse = |u: &str| {
            Url::parse(u).map_err(|e| ProviderError::Config(format!("Twilio URL {u}: {e}")))
        };
        Ok(TwilioConfig {
            api_url: parse(DEFAULT_API_URL)?,
            monitor_url: parse(DEFAULT_MONITOR_URL)?,
            messaging_url: parse(DEFAULT_MESSAGING_URL)?,
            pricing_url: parse(DEFAULT_PRICING_URL)?,
            account_sid,
            auth_token,
            api_key: None,
            api_secret: None,
            max_concurrency: 100,
            tuning: ClientTuning::default(),
        })
    }
}

/// The Twilio provider.
#[derive(Debug, Clone)]
pub struct Twilio {
    client: TwilioClient,
    scan_concurrency: usize,
    /// Configuration worth a health warning that did not stop construction.
    notes: Vec<&'static str>,
}

/// A set, non-blank secret.
fn present(s: &Option<SecretString>) -> Option<&SecretString> {
    s.as_ref().filter(|v| !v.expose_secret().trim().is_empty())
}

/// `^AC[0-9a-fA-F]{32}$`, as the API's paths require.
fn is_account_sid(s: &str) -> bool {
    s.len() == 34 && s.starts_with("AC") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

impl Twilio {
    /// Validates `config` and builds the clients. Fails with
    /// [`ProviderError::MissingCredentials`] naming exactly the variables to set, or
    /// [`ProviderError::Config`] for a malformed Account SID or API key, a zero concurrency or
    /// an unusable URL — never with a secret in the message.
    pub fn new(config: TwilioConfig) -> Result<Twilio, ProviderError> {
        let sid = present(&config.account_sid);
        let token = present(&config.auth_token);
        let key = present(&config.api_key);
        let secret = present(&config.api_secret);
        let mut missing: Vec<&'static str> = Vec::new();
        if sid.is_none() {
            missing.push("TWILIO_ACCOUNT_SID");
        }
        let mut notes = Vec::new();
        let pair = match (key, secret, token) {
            (Some(k), Some(s), _) => Some((k, s, true)),
            (_, _, Some(t)) => {
                if key.is_some() {
                    notes.push(
                        "TWILIO_API_KEY is set without TWILIO_API_SECRET: using the auth token",
                    );
                } else if secret.is_some() {
                    notes.push(
                        "TWILIO_API_SECRET is set without TWILIO_API_KEY: using the auth token",
                    );
                }
                sid.map(|s| (s, t, false))
            }
            (Some(_), None, None) => {
                missing.push("TWILIO_API_SECRET");
                None
            }
            (None, Some(_), None) => {
                missing.push("TWILIO_API_KEY");
                None
            }
            (None, None, None) => {
                missing.push("TWILIO_AUTH_TOKEN");
                None
            }
        };
        let (Some(sid), Some((username, password, with_key)), true) =
            (sid, pair, missing.is_empty())
        else {
            return Err(ProviderError::MissingCredentials {
                service: Service::Twilio,
                variables: missing,
            });
        };
        let sid_text = sid.expose_secret().trim();
        if !is_account_sid(sid_text) {
            return Err(ProviderError::Config(
                "TWILIO_ACCOUNT_SID must be \"AC\" followed by 32 hexadecimal digits".into(),
            ));
        }
        if with_key && !username.expose_secret().trim().starts_with("SK") {
            return Err(ProviderError::Config(
                "TWILIO_API_KEY must be an API key SID (\"SK\" followed by 32 hexadecimal digits)"
                    .into(),
            ));
        }
        if config.max_concurrency == 0 {
            return Err(ProviderError::Config(
                "twilio.max_concurrency must be at least 1".into(),
            ));
        }
        let credential = if with_key {
            client::Credential::ApiKey(apiops_core::mask(username.expose_secret().trim()))
        } else {
            client::Credential::AuthToken
        };
        let trimmed = |s: &SecretString| SecretString::from(s.expose_secret().trim().to_owned());
        let extra_secrets: Vec<SecretString> = [token, key, secret]
            .into_iter()
            .flatten()
            .map(trimmed)
            .collect();
        let scan_concurrency = config.max_concurrency.clamp(1, MAX_SCAN_CONCURRENCY);
        let client = TwilioClient::new(client::ClientParts {
            urls: [
                &config.api_url,
                &config.monitor_url,
                &config.messaging_url,
                &config.pricing_url,
            ],
            account_sid: trimmed(sid),
            username: trimmed(username),
            password: trimmed(password),
            credential,
            extra_secrets,
            max_concurrency: config.max_concurrency,
            scan_concurrency,
            tuning: &config.tuning,
        })?;
        Ok(Twilio {
            client,
            scan_concurrency,
            notes,
        })
    }

    /// The typed client (for operations and custom calls).
    pub fn client(&self) -> &TwilioClient {
        &self.client
    }

    /// How many time windows an error scan reads at once.
    pub fn scan_concurrency(&self) -> usize {
        self.scan_concurrency
    }
}

#[async_trait::async_trait]
impl Provider for Twilio {
    fn service(&self) -> Service {
        Service::Twilio
    }

    async fn health(&self) -> Health {
        health::check(&self.client, &self.notes).await
    }

    fn scan(&self, request: ScanRequest, progress: Progress) -> ScanStream {
        sources::scan(
            self.client.clone(),
            request,
            self.scan_concurrency,
            progress,
        )
    }

    async fn audit(&self) -> Result<Vec<Finding>, ProviderError> {
        audit::run(&self.client).await
    }

    fn classify(&self, code: &str, http_status: Option<u16>) -> Classification {
        classify::classify(code, http_status)
    }

    async fn webhook_urls(&self) -> Result<Vec<(String, String)>, ProviderError> {
        use futures::TryStreamExt as _;
        let mut out = Vec::new();
        let mut push = |resource: String, which: &str, url: &Option<String>| {
            if let Some(u) = url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
                out.push((format!("{resource}: {which}"), u.to_owned()));
            }
        };
        let mut pages = self.client.messaging_services();
        while let Some(page) = pages.try_next().await? {
            for s in page {
                let r = format!("messaging_service {}", s.sid);
                push(r.clone(), "inbound_request_url", &s.inbound_request_url);
                push(r.clone(), "fallback_url", &s.fallback_url);
                push(r, "status_callback", &s.status_callback);
            }
        }
        let mut pages = self.client.incoming_phone_numbers();
        while let Some(page) = pages.try_next().await? {
            for n in page {
                let r = format!("phone_number {}", n.sid);
                push(r.clone(), "sms_url", &n.sms_url);
                push(r.clone(), "sms_fallback_url", &n.sms_fallback_url);
                push(r.clone(), "voice_url", &n.voice_url);
                push(r.clone(), "voice_fallback_url", &n.voice_fallback_url);
                push(r, "status_callback", &n.status_callback);
            }
        }
        Ok(out)
    }

    fn rate_limited_until(&self, now: std::time::SystemTime) -> Option<std::time::SystemTime> {
        crate::wait::latest(
            client::Host::ALL
                .iter()
                .map(|h| self.client.host(*h).rate_gate()),
            now,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "AC0123456789abcdef0123456789abcdef";

    fn config(
        sid: Option<&str>,
        token: Option<&str>,
        key: Option<&str>,
        secret: Option<&str>,
    ) -> TwilioConfig {
        let s = |v: Option<&str>| v.map(|v| SecretString::from(v.to_owned()));
        let mut c = TwilioConfig::official(s(sid), s(token)).expect("config");
        c.api_key = s(key);
        c.api_secret = s(secret);
        c
    }

    fn missing(c: TwilioConfig) -> Vec<&'static str> {
        match Twilio::new(c) {
            Err(ProviderError::MissingCredentials { service, variables }) => {
                assert_eq!(service, Service::Twilio);
                variables
            }
            other => panic!("expected missing credentials, got {other:?}"),
        }
    }

    #[test]
    fn missing_credentials_name_exactly_what_is_missing() {
        assert_eq!(
            missing(config(None, None, None, None)),
            ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"]
        );
        assert_eq!(
            missing(config(Some(SID), None, None, None)),
            ["TWILIO_AUTH_TOKEN"]
        );
        assert_eq!(
            missing(config(Some(SID), Some("   "), None, None)),
            ["TWILIO_AUTH_TOKEN"]
        );
        assert_eq!(
            missing(config(None, Some("tok_0123456789abcdef"), None, None)),
            ["TWILIO_ACCOUNT_SID"]
        );
        assert_eq!(
            missing(config(Some(SID), None, Some("SK0123"), None)),
            ["TWILIO_API_SECRET"]
        );
        assert_eq!(
            missing(config(Some(SID), None, None, Some("secret_0123456789"))),
            ["TWILIO_API_KEY"]
        );
        assert_eq!(
            missing(config(
                None,
                None,
                Some("SK0123"),
                Some("secret_0123456789")
            )),
            ["TWILIO_ACCOUNT_SID"]
        );
        let text = Twilio::new(config(None, None, None, None))
            .expect_err("missing")
            .to_string();
        assert!(
            text.contains("TWILIO_ACCOUNT_SID") && text.contains("TWILIO_AUTH_TOKEN"),
            "{text}"
        );
    }

    #[test]
    fn credentials_are_validated_without_echoing_them() {
        let bad_sid = "ACnot-a-real-sid-but-a-secret-looking-value";
        let err = Twilio::new(config(
            Some(bad_sid),
            Some("tok_0123456789abcdef"),
            None,
            None,
        ))
        .expect_err("bad sid")
        .to_string();
        assert!(err.contains("TWILIO_ACCOUNT_SID"), "{err}");
        assert!(!err.contains(bad_sid), "{err}");
        let err = Twilio::new(config(
            Some(SID),
            None,
            Some("AK_secretish_value"),
            Some("s3cr3t_0123456789"),
        ))
        .expect_err("bad key")
        .to_string();
        assert!(
            err.contains("TWILIO_API_KEY") && !err.contains("AK_secretish_value"),
            "{err}"
        );
        let mut c = config(Some(SID), Some("tok_0123456789abcdef"), None, None);
        c.max_concurrency = 0;
        assert!(matches!(Twilio::new(c), Err(ProviderError::Config(_))));
    }

    #[test]
    fn the_api_key_is_preferred_and_partial_pairs_fall_back_to_the_token() {
        let key = "SK0123456789abcdef0123456789abcdef";
        let t = Twilio::new(config(
            Some(SID),
            Some("tok_0123456789abcdef"),
            Some(key),
            Some("secret_0123456789"),
        ))
        .expect("twilio");
        assert_eq!(
            t.client().credential(),
            &client::Credential::ApiKey("SK01...cdef".into())
        );
        let t = Twilio::new(config(
            Some(SID),
            Some("tok_0123456789abcdef"),
            Some(key),
            None,
        ))
        .expect("twilio");
        assert_eq!(t.client().credential(), &client::Credential::AuthToken);
        assert_eq!(t.notes.len(), 1);
        assert_eq!(t.client().masked_account_sid(), "AC01...cdef");
        assert_eq!(t.scan_concurrency(), MAX_SCAN_CONCURRENCY);
        assert!(!format!("{t:?}").contains("tok_0123456789abcdef"));
    }
}
