//! The providers as the settings describe them: each provider's client built from its section
//! and the shared `[client]` / `[breaker]` tuning, and the one place `Services` is made. Every
//! face (the CLI, `apiops serve`, the MCP server, the dashboard) builds its providers here.

use apiops_client::breaker::BreakerConfig;
use apiops_client::reads::ReadPolicy;
use apiops_core::Service;
use apiops_providers::openai::{OpenAi, OpenAiConfig};
use apiops_providers::scan::{self, SelectError, Selected};
use apiops_providers::stripe::{Stripe, StripeConfig};
use apiops_providers::twilio::{Twilio, TwilioConfig};
use apiops_providers::{ClientTuning, Provider, ProviderError};

use crate::Settings;

/// The shared client settings, from `[client]` and `[breaker]`.
pub fn tuning(settings: &Settings) -> ClientTuning {
    let c = &settings.client;
    let b = &settings.breaker;
    ClientTuning {
        connect_timeout: c.connect_timeout,
        timeout: c.timeout,
        max_attempts: c.max_attempts.get(),
        base_delay: c.base_delay,
        max_delay: c.max_delay,
        retry_budget_ratio: c.retry_budget_ratio,
        retry_budget_min: c.retry_budget_min,
        breaker: BreakerConfig {
            failure_rate: b.failure_rate,
            minimum_calls: b.minimum_calls.get() as usize,
            window: b.window.get() as usize,
            cool_down: b.cool_down,
            half_open_probes: b.half_open_probes.get(),
        },
        reads: ReadPolicy {
            timeout_multiplier: c.read_timeout_multiplier,
            timeout_floor: c.read_timeout_floor,
            hedge_share: c.hedge_share,
            hedge_min_delay: c.hedge_min_delay,
            read_budget_ratio: c.read_retry_budget_ratio,
            read_budget_min: c.read_retry_budget_min,
            ..ReadPolicy::default()
        },
        clock: Default::default(),
    }
}

/// Builds one provider from the settings.
pub fn build(service: Service, settings: &Settings) -> Result<Box<dyn Provider>, ProviderError> {
    Ok(match service {
        Service::Twilio => Box::new(twilio(settings)?),
        Service::Stripe => Box::new(stripe(settings)?),
        Service::Openai => Box::new(openai(settings)?),
        // A configured API is called through `apiops_openapi::Api`, not a `Provider`.
        Service::Api(name) => {
            return Err(ProviderError::Config(format!(
                "{name} is a configured API ([apis.{name}]), not a built-in provider"
            )));
        }
    })
}

/// What to do when no service is configured: the end of every "nothing configured" message.
pub const NOTHING_CONFIGURED_HINT: &str =
    "`apiops creds` shows what is set, `apiops demo` runs against the built-in simulator";

/// The services a check runs on (all configured ones when none is named), built from the
/// settings: see [`scan::select`].
pub fn select(settings: &Settings, requested: &[Service]) -> Result<Selected, SelectError> {
    scan::select(requested, |s| build(s, settings))
}

/// What a failed selection says, as the CLI and the MCP tools word it: "nothing configured"
/// ends with [`NOTHING_CONFIGURED_HINT`]; a setup error names its cause.
pub fn selection_message(e: &SelectError) -> String {
    match e {
        SelectError::NothingConfigured { .. } => format!("{e}; {NOTHING_CONFIGURED_HINT}"),
        SelectError::MissingCredentials { .. } => e.to_string(),
        SelectError::Setup { source, .. } => format!("{e}: {source}"),
    }
}

/// Twilio from the settings.
pub fn twilio(settings: &Settings) -> Result<Twilio, ProviderError> {
    let t = &settings.twilio;
    Twilio::new(TwilioConfig {
        api_url: t.api_url.clone(),
        monitor_url: t.monitor_url.clone(),
        messaging_url: t.messaging_url.clone(),
        pricing_url: t.pricing_url.clone(),
        account_sid: t.account_sid.clone(),
        auth_token: t.auth_token.clone(),
        api_key: t.api_key.clone(),
        api_secret: t.api_secret.clone(),
        max_concurrency: t.max_concurrency.get() as usize,
        tuning: tuning(settings),
    })
}

/// Stripe from the settings.
pub fn stripe(settings: &Settings) -> Result<Stripe, ProviderError> {
    let s = &settings.stripe;
    Stripe::new(StripeConfig {
        api_url: s.api_url.clone(),
        secret_key: s.secret_key.clone(),
        api_version: s.api_version.clone(),
        requests_per_second: s.requests_per_second.get(),
        tuning: tuning(settings),
    })
}

/// OpenAI from the settings.
pub fn openai(settings: &Settings) -> Result<OpenAi, ProviderError> {
    let o = &settings.openai;
    OpenAi::new(OpenAiConfig {
        base_url: o.base_url.clone(),
        api_key: o.api_key.clone(),
        admin_key: o.admin_key.clone(),
        organization: o.organization.clone(),
        project: o.project.clone(),
        requests_per_minute: o.requests_per_minute.map(|n| n.get()),
        tuning: tuning(settings),
    })
}

/// The providers operations use, built once from the settings (each one's reason when it is
/// not configured): the one place `Services` is made.
pub fn services(settings: &Settings) -> apiops_ops::Services {
    apiops_ops::Services::new(
        twilio(settings),
        stripe(settings),
        openai(settings),
        settings.stripe.webhook_secret.clone(),
    )
}
