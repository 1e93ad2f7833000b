//! What `health`, `errors` and `demo` show beside their results: each provider's public status
//! page ([`apiops_providers::status_page`]) and the wait a rate limit asked for
//! ([`apiops_providers::wait`]). Neither changes a verdict or an exit code.
//!
//! Which status page is read: the service's `status_url` setting (`APIOPS_<SERVICE>_STATUS_URL`)
//! when set; otherwise the provider's public page, but only while the service's API URL is the
//! provider's own — apiops pointed at a simulator or a mock never reaches out to a real page.

use std::time::SystemTime;

use apiops_core::Service;
use apiops_providers::Provider;
use apiops_providers::status_page::{self, StatusPage};
use apiops_providers::wait::RetryWait;
use serde::Serialize;
use url::Url;

use crate::config::Settings;

/// The wait one service's rate limit asks for.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ServiceWait {
    pub(crate) service: Service,
    #[serde(flatten)]
    pub(crate) wait: RetryWait,
    /// "resets in 42 s, retry after 2026-12-07 10:15:42 UTC".
    pub(crate) text: String,
}

/// Status pages and rate-limit waits of the services checked.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct ServiceNotes {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) rate_limits: Vec<ServiceWait>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) status_pages: Vec<StatusPage>,
}

impl ServiceNotes {
    pub(crate) fn wait_of(&self, service: Service) -> Option<&ServiceWait> {
        self.rate_limits.iter().find(|w| w.service == service)
    }

    pub(crate) fn page_of(&self, service: Service) -> Option<&StatusPage> {
        self.status_pages.iter().find(|p| p.service == service)
    }
}

/// The status page to read for `service`, if any (see the module's rule).
pub(crate) fn status_url(settings: &Settings, service: Service) -> Option<Url> {
    let (configured, api, own_host) = match service {
        Service::Twilio => (
            &settings.twilio.status_url,
            &settings.twilio.api_url,
            "api.twilio.com",
        ),
        Service::Stripe => (
            &settings.stripe.status_url,
            &settings.stripe.api_url,
            "api.stripe.com",
        ),
        Service::Openai => (
            &settings.openai.status_url,
            &settings.openai.base_url,
            "api.openai.com",
        ),
        Service::Api(_) => return None,
    };
    match configured {
        Some(url) => Some(url.clone()),
        None if api.scheme() == "https" && api.host_str() == Some(own_host) => {
            status_page::default_url(service)
        }
        None => None,
    }
}

/// Reads the status pages of `providers`' services.
pub(crate) async fn status_pages(
    settings: &Settings,
    providers: &[Box<dyn Provider>],
) -> Vec<StatusPage> {
    let pages: Vec<(Service, Url)> = providers
        .iter()
        .filter_map(|p| status_url(settings, p.service()).map(|u| (p.service(), u)))
        .collect();
    status_page::read_all(&pages).await
}

/// The waits `providers`' rate limits ask for, as of now.
pub(crate) fn waits(providers: &[Box<dyn Provider>]) -> Vec<ServiceWait> {
    let now = SystemTime::now();
    providers
        .iter()
        .filter_map(|p| {
            let wait = RetryWait::until(p.rate_limited_until(now)?, now)?;
            Some(ServiceWait {
                service: p.service(),
                text: wait.describe(),
                wait,
            })
        })
        .collect()
}

/// Both, for the services of `providers`.
pub(crate) async fn gather(settings: &Settings, providers: &[Box<dyn Provider>]) -> ServiceNotes {
    ServiceNotes {
        status_pages: status_pages(settings, providers).await,
        rate_limits: waits(providers),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(env: &[(&str, &str)]) -> Settings {
        let env: crate::config::Environment = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        crate::config::load(&crate::config::Sources {
            locations: &crate::config::Locations::default(),
            explicit_file: None,
            env: &env,
            flags: Default::default(),
        })
        .expect("settings")
        .settings
    }

    #[test]
    fn real_pages_only_for_real_apis_unless_configured() {
        let s = settings(&[]);
        assert_eq!(
            status_url(&s, Service::Twilio).map(|u| u.to_string()),
            Some("https://status.twilio.com/".to_owned())
        );
        // Pointed at a simulator, apiops never reaches for the real page.
        let s = settings(&[
            ("APIOPS_STRIPE_API_URL", "http://127.0.0.1:9/stripe"),
            ("OPENAI_BASE_URL", "http://127.0.0.1:9/openai/v1"),
        ]);
        assert_eq!(status_url(&s, Service::Stripe), None);
        assert_eq!(status_url(&s, Service::Openai), None);
        let s = settings(&[
            ("APIOPS_STRIPE_API_URL", "http://127.0.0.1:9/stripe"),
            (
                "APIOPS_STRIPE_STATUS_URL",
                "http://127.0.0.1:9/status/stripe",
            ),
        ]);
        assert_eq!(
            status_url(&s, Service::Stripe).map(|u| u.to_string()),
            Some("http://127.0.0.1:9/status/stripe/".to_owned())
        );
    }
}
