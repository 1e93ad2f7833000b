//! OpenAI (`https://api.openai.com/v1`): configuration, the clients it builds, and its
//! [`Provider`] implementation.
//!
//! Layout:
//! - this file: [`OpenAiConfig`] and [`OpenAi`], which wires the resilient client (Bearer auth,
//!   `OpenAI-Organization`/`OpenAI-Project` headers when set, an optional requests-per-minute
//!   quota on top of the pause the `x-ratelimit-*` headers impose) and, when an admin key is
//!   set, a second client for the `/organization` endpoints.
//! - [`client`]: the typed requests and responses (models, batches, fine-tuning jobs,
//!   projects, project rate limits, rate-limit headroom, test and tool-calling completions).
//! - [`classify`]: OpenAI's codes to categories (`insufficient_quota` is not a rate limit).
//! - `health`: `GET /models`, rate-limit headroom, deprecated models, admin key, breaker.
//! - `errors`: failed and expired batches and failed fine-tuning jobs in a window.
//! - `audit`: deprecated models ([`DEPRECATED_MODELS`]), project rate limits, console-only
//!   settings.
//!
//! Health, error scans and audits never send a request that costs tokens; only the client's
//! explicit `test_completion` and `chat_with_tools` do.

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

pub use audit::{DEPRECATED_MODELS, DeprecatedModel};
pub use client::OpenAiClient;
pub use errors::{BATCH_LOOKBACK, FINE_TUNING_LOOKBACK};

/// The variable that holds the API key.
pub const API_KEY_VARIABLE: &str = "OPENAI_API_KEY";

/// How apiops reaches OpenAI.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// The API root including `/v1`, as the official SDKs read `OPENAI_BASE_URL`.
    pub base_url: Url,
    /// A project or user key; `None` when not configured.
    pub api_key: Option<SecretString>,
    /// An admin key, the only credential the `/organization` endpoints accept; optional.
    pub admin_key: Option<SecretString>,
    /// Sent as `OpenAI-Organization` when set (`org-...`).
    pub organization: Option<String>,
    /// Sent as `OpenAI-Project` when set (`proj_...`).
    pub project: Option<String>,
    /// A steady quota under the account's limit; `None` relies on the `x-ratelimit-*` headers.
    pub requests_per_minute: Option<u32>,
    /// Timeouts, retries and breaker shared with the other providers.
    pub tuning: ClientTuning,
}

/// OpenAI's API root, `/v1` included.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

impl OpenAiConfig {
    /// A configuration for OpenAI's own host with `api_key`, no admin key, organization,
    /// project or quota, and the default tuning.
    pub fn official(api_key: Option<SecretString>) -> Result<Self, ProviderError> {
        Ok(OpenAiConfig {
            base_url: Url::parse(DEFAULT_BASE_URL)
                .map_err(|e| ProviderError::Config(format!("OpenAI URL: {e}")))?,
            api_key,
            admin_key: None,
            organization: None,
            project: None,
            requests_per_minute: None,
            tuning: ClientTuning::default(),
        })
    }
}

/// The OpenAI provider.
#[derive(Debug, Clone)]
pub struct OpenAi {
    /// The client with the API key.
    client: OpenAiClient,
    /// The client with the admin key, when one is set.
    admin: Option<OpenAiClient>,
    /// The organization header sent, for health details.
    organization: Option<String>,
    /// The project header sent, for health details.
    project: Option<String>,
}

impl OpenAi {
    /// Builds the clients. A missing or blank API key is
    /// [`ProviderError::MissingCredentials`] naming `OPENAI_API_KEY`; a header value that cannot
    /// be sent or a zero rate is [`ProviderError::Config`]. A blank admin key counts as unset.
    pub fn new(config: OpenAiConfig) -> Result<Self, ProviderError> {
        let present = |k: Option<SecretString>| k.filter(|k| !k.expose_secret().trim().is_empty());
        let key = present(config.api_key).ok_or(ProviderError::MissingCredentials {
            service: Service::Openai,
            variables: vec![API_KEY_VARIABLE],
        })?;
        let admin_key = present(config.admin_key);
        let organization = config
            .organization
            .map(|o| o.trim().to_owned())
            .filter(|o| !o.is_empty());
        let project = config
            .project
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty());
        let quota = match config.requests_per_minute {
            None => None,
            Some(n) => Some((
                NonZeroU32::new(n).ok_or_else(|| {
                    ProviderError::Config(
                        "openai.requests_per_minute must be at least 1".to_owned(),
                    )
                })?,
                Duration::from_secs(60),
            )),
        };
        let rate = RateConfig {
            quota,
            max_concurrency: None,
            max_pause: Duration::from_secs(60),
        };
        let config_error = |e: apiops_client::ClientError| ProviderError::Config(e.to_string());

        let mut builder = ApiClient::builder("openai", config.base_url.as_str())
            .auth(Auth::Bearer(key.clone()))
            .rate(rate.clone());
        if let Some(admin) = &admin_key {
            builder = builder.redact(admin.clone());
        }
        if let Some(org) = &organization {
            builder = builder
                .version_pin("OpenAI-Organization", org)
                .map_err(config_error)?;
        }
        if let Some(p) = &project {
            builder = builder
                .version_pin("OpenAI-Project", p)
                .map_err(config_error)?;
        }
        let api = config
            .tuning
            .apply(builder)?
            .build()
            .map_err(config_error)?;

        let admin = match admin_key {
            None => None,
            Some(admin) => {
                // Admin endpoints are organization-wide: no project header.
                let mut builder = ApiClient::builder("openai-admin", config.base_url.as_str())
                    .auth(Auth::Bearer(admin))
                    .redact(key)
                    .rate(rate);
                if let Some(org) = &organization {
                    builder = builder
                        .version_pin("OpenAI-Organization", org)
                        .map_err(config_error)?;
                }
                Some(OpenAiClient::new(
                    config
                        .tuning
                        .apply(builder)?
                        .build()
                        .map_err(config_error)?,
                ))
            }
        };
        Ok(OpenAi {
            client: OpenAiClient::new(api),
            admin,
            organization,
            project,
        })
    }

    /// The client with the API key.
    pub fn client(&self) -> &OpenAiClient {
        &self.client
    }

    /// The client with the admin key, when one is set.
    pub fn admin_client(&self) -> Option<&OpenAiClient> {
        self.admin.as_ref()
    }

    /// The `OpenAI-Organization` sent, if any.
    pub fn organization(&self) -> Option<&str> {
        self.organization.as_deref()
    }

    /// The `OpenAI-Project` sent, if any.
    pub fn project(&self) -> Option<&str> {
        self.project.as_deref()
    }
}

#[async_trait::async_trait]
impl Provider for OpenAi {
    fn service(&self) -> Service {
        Service::Openai
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

    fn rate_limited_until(&self, now: std::time::SystemTime) -> Option<std::time::SystemTime> {
        self.client.api().rate_gate().retry_at(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(key: Option<&str>, admin: Option<&str>) -> OpenAiConfig {
        OpenAiConfig {
            base_url: Url::parse("http://127.0.0.1:9/openai/v1/").expect("url"),
            api_key: key.map(SecretString::from),
            admin_key: admin.map(SecretString::from),
            organization: None,
            project: None,
            requests_per_minute: None,
            tuning: ClientTuning::default(),
        }
    }

    #[test]
    fn missing_key_names_the_variable() {
        for key in [None, Some(""), Some(" ")] {
            match OpenAi::new(config(key, Some("sk-admin-0123456789"))) {
                Err(ProviderError::MissingCredentials { service, variables }) => {
                    assert_eq!(service, Service::Openai);
                    assert_eq!(variables, vec!["OPENAI_API_KEY"]);
                }
                other => panic!("{key:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn admin_client_only_with_an_admin_key() {
        let o = OpenAi::new(config(Some("sk-0123456789abcdef"), None)).expect("openai");
        assert!(o.admin_client().is_none());
        let o = OpenAi::new(config(Some("sk-0123456789abcdef"), Some("  "))).expect("openai");
        assert!(o.admin_client().is_none());
        let o = OpenAi::new(config(
            Some("sk-0123456789abcdef"),
            Some("sk-admin-0123456789"),
        ))
        .expect("openai");
        assert!(o.admin_client().is_some());
        assert_eq!(
            o.client().api().url("/models").expect("url").as_str(),
            "http://127.0.0.1:9/openai/v1/models"
        );
        let shown = format!("{o:?}");
        assert!(
            !shown.contains("0123456789abcdef") && !shown.contains("sk-admin"),
            "{shown}"
        );
    }

    #[test]
    fn bad_settings_are_config_errors() {
        let mut c = config(Some("sk-0123456789abcdef"), None);
        c.requests_per_minute = Some(0);
        assert!(matches!(OpenAi::new(c), Err(ProviderError::Config(_))));
        let mut c = config(Some("sk-0123456789abcdef"), None);
        c.organization = Some("org\nx".into());
        assert!(matches!(OpenAi::new(c), Err(ProviderError::Config(_))));
        let mut c = config(Some("sk-0123456789abcdef"), None);
        c.organization = Some("  org-1 ".into());
        c.project = Some("".into());
        let o = OpenAi::new(c).expect("openai");
        assert_eq!(o.organization(), Some("org-1"));
        assert_eq!(o.project(), None);
    }
}
