//! The read operations: answered at once from the provider, with no plan and no confirmation.
//! Each answer is typed (the provider's own records); the faces render them (the CLI as a
//! table, MCP as the same table in JSON).
//!
//! The error audits (`audit_errors`, `twilio.messages.failed`) are reads too, but they are the
//! error scan of `apiops_providers::scan`, not a call here.

use std::sync::Arc;

use apiops_client::ClientError;
use apiops_core::Category;
use apiops_providers::ProviderError;
use apiops_providers::openai::client::{Model, RateLimitHeadroom};
use apiops_providers::stripe::client::WebhookEndpoint;
use apiops_providers::twilio::client::AvailableNumber;
use futures::TryStreamExt as _;

use crate::catalog::{OpKind, Operation};
use crate::services::Services;

/// What a read answered.
#[derive(Debug, Clone)]
pub enum ReadAnswer {
    /// `twilio.numbers.search`: numbers for sale.
    Numbers {
        /// The numbers, as Twilio listed them.
        numbers: Vec<AvailableNumber>,
        /// The monthly price of a local number in the country (`1.15 USD/month`), when Twilio's
        /// pricing answered.
        monthly_price: Option<String>,
    },
    /// `stripe.endpoints.list`: the account's webhook endpoints (URLs as Stripe holds them:
    /// render them through a display function, they may carry a token).
    Endpoints(Vec<WebhookEndpoint>),
    /// `openai.models.list`: the models the key can use.
    Models(Vec<Model>),
    /// `openai.rate_limits.check`: the headroom the last answer's headers report.
    RateLimits(RateLimitHeadroom),
}

/// Why a read could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The service it reads is not available (missing credentials, a bad setting).
    #[error(transparent)]
    Unavailable(Arc<ProviderError>),
    /// The provider call failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The operation changes something, or is an error audit (not answered here).
    #[error("{} is not a read", .0.name())]
    NotARead(OpKind),
}

impl ReadError {
    /// The failure's category in the taxonomy, from its type.
    pub fn category(&self) -> Category {
        match self {
            ReadError::Unavailable(e) => e.category(),
            ReadError::Client(e) => e.category(),
            ReadError::NotARead(_) => Category::BadParams,
        }
    }
}

fn unavailable(e: &Arc<ProviderError>) -> ReadError {
    ReadError::Unavailable(Arc::clone(e))
}

/// Answers a read: one or two provider calls, nothing written.
pub async fn read(services: &Services, op: &Operation) -> Result<ReadAnswer, ReadError> {
    Ok(match op {
        Operation::TwilioSearchNumbers {
            country,
            area_code,
            contains,
            limit,
        } => {
            let twilio = services.twilio.as_ref().map_err(unavailable)?;
            let client = twilio.client();
            let numbers = client
                .available_numbers(country, *area_code, contains.as_deref(), *limit as usize)
                .await?;
            // The price is a nicety: a failed pricing call leaves it unknown.
            let monthly_price = client.number_prices(country).await.ok().and_then(|p| {
                let unit = p
                    .price_unit
                    .clone()
                    .unwrap_or_default()
                    .to_ascii_uppercase();
                p.phone_number_prices
                    .iter()
                    .find(|x| x.number_type.as_deref() == Some("local"))
                    .and_then(|x| x.current_price.clone())
                    .map(|a| format!("{a} {unit}/month"))
            });
            ReadAnswer::Numbers {
                numbers,
                monthly_price,
            }
        }
        Operation::StripeListEndpoints => {
            let stripe = services.stripe.as_ref().map_err(unavailable)?;
            ReadAnswer::Endpoints(stripe.client().webhook_endpoints().try_collect().await?)
        }
        Operation::OpenaiListModels => {
            let openai = services.openai.as_ref().map_err(unavailable)?;
            ReadAnswer::Models(openai.client().models().await?.data)
        }
        Operation::OpenaiCheckRateLimits => {
            let openai = services.openai.as_ref().map_err(unavailable)?;
            ReadAnswer::RateLimits(openai.client().rate_limit_headroom().await?)
        }
        other => return Err(ReadError::NotARead(other.kind())),
    })
}
