//! The providers an operation may use, and how apiops itself sends HTTP to URLs it was given
//! (test events, re-deliveries).

use std::sync::Arc;

use apiops_providers::ProviderError;
use apiops_providers::openai::OpenAi;
use apiops_providers::stripe::Stripe;
use apiops_providers::twilio::Twilio;
use secrecy::SecretString;

use crate::error::OpsError;

/// The providers, each built from the settings or the typed reason it could not be (shared:
/// every operation that needs the provider reports the same error).
#[derive(Debug)]
pub struct Services {
    /// Twilio, or why not (missing credentials, named).
    pub twilio: Result<Twilio, Arc<ProviderError>>,
    /// Stripe, or why not.
    pub stripe: Result<Stripe, Arc<ProviderError>>,
    /// OpenAI, or why not.
    pub openai: Result<OpenAi, Arc<ProviderError>>,
    /// The Stripe webhook signing secret (`whsec_...`) that signs test events and
    /// re-deliveries.
    pub stripe_webhook_secret: Option<SecretString>,
    /// Where undelivered events go by default: apiops serve's Stripe receiver URL.
    pub receiver_url: Option<String>,
    /// Lets test events and re-deliveries go to loopback and private addresses (off by
    /// default: a URL from an API or a request must not turn apiops into an SSRF proxy).
    pub allow_private_targets: bool,
}

impl Services {
    /// The one constructor: the providers as built from the settings (or why each is not
    /// available) and the webhook signing secret; no receiver URL, private targets refused.
    pub fn new(
        twilio: Result<Twilio, ProviderError>,
        stripe: Result<Stripe, ProviderError>,
        openai: Result<OpenAi, ProviderError>,
        stripe_webhook_secret: Option<SecretString>,
    ) -> Self {
        Services {
            twilio: twilio.map_err(Arc::new),
            stripe: stripe.map_err(Arc::new),
            openai: openai.map_err(Arc::new),
            stripe_webhook_secret,
            receiver_url: None,
            allow_private_targets: false,
        }
    }

    /// Where undelivered events go by default (`apiops serve`'s Stripe receiver).
    pub fn with_receiver_url(mut self, url: Option<String>) -> Self {
        self.receiver_url = url;
        self
    }

    /// Whether test events and re-deliveries may go to loopback and private addresses.
    pub fn allowing_private_targets(mut self, allow: bool) -> Self {
        self.allow_private_targets = allow;
        self
    }

    /// Twilio, or the reason it is not configured.
    pub fn twilio(&self) -> Result<&Twilio, OpsError> {
        self.twilio
            .as_ref()
            .map_err(|e| OpsError::NotConfigured(e.to_string()))
    }

    /// Stripe, or the reason it is not configured.
    pub fn stripe(&self) -> Result<&Stripe, OpsError> {
        self.stripe
            .as_ref()
            .map_err(|e| OpsError::NotConfigured(e.to_string()))
    }

    /// OpenAI, or the reason it is not configured.
    pub fn openai(&self) -> Result<&OpenAi, OpsError> {
        self.openai
            .as_ref()
            .map_err(|e| OpsError::NotConfigured(e.to_string()))
    }
}
