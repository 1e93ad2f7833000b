//! The usage report of `apiops usage`, `apiops do "usage..."` and the MCP `usage_report` tool:
//! the services selected from the settings, their figures from `apiops_providers::usage`,
//! those left out and why. The binary renders it and picks the exit code.

use apiops_core::Service;
use apiops_providers::ProviderError;
use apiops_providers::usage::{
    self, NoFigures, ServiceUsage, Sources, UsageBy, UsagePeriod, UsageReport,
};
use serde::Serialize;

use crate::Settings;

/// Why no usage report could be made.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// No service named, and none is configured: each service and what to set.
    #[error("no service is configured ({}); {}", .skipped.join("; "), crate::providers::NOTHING_CONFIGURED_HINT)]
    NothingConfigured {
        /// "Twilio: not configured: set ...", one per service.
        skipped: Vec<String>,
    },
    /// A service could not be set up for another reason (a bad URL...).
    #[error("setting up {}", .service.display_name())]
    Setup {
        /// Which service.
        service: Service,
        /// Why.
        #[source]
        source: ProviderError,
    },
}

/// The report for `services` (all configured when empty). A service named explicitly whose
/// credentials are missing is in the report with what to set; with none named, unconfigured
/// services are left out, and it is an error only when none is configured.
pub async fn report(
    settings: &Settings,
    services: &[Service],
    period: UsagePeriod,
    by: Option<UsageBy>,
) -> Result<UsageView, UsageError> {
    let explicit = !services.is_empty();
    let wanted: Vec<Service> = if explicit {
        let mut v = services.to_vec();
        v.sort();
        v.dedup();
        v
    } else {
        Service::ALL.to_vec()
    };
    let mut missing: Vec<ServiceUsage> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    let by_or = by.unwrap_or(UsageBy::Category);
    let mut absent = |service: Service, e: ProviderError| -> Result<(), UsageError> {
        match e {
            ProviderError::MissingCredentials { variables, .. } => {
                let why = NoFigures::NotConfigured { variables };
                if explicit {
                    missing.push(ServiceUsage::unavailable(service, "", by_or, why));
                } else {
                    skipped.push(format!("{}: {why}", service.display_name()));
                }
                Ok(())
            }
            other => Err(UsageError::Setup {
                service,
                source: other,
            }),
        }
    };
    let twilio = if wanted.contains(&Service::Twilio) {
        crate::providers::twilio(settings)
            .map(Some)
            .or_else(|e| absent(Service::Twilio, e).map(|()| None))?
    } else {
        None
    };
    let stripe = if wanted.contains(&Service::Stripe) {
        crate::providers::stripe(settings)
            .map(Some)
            .or_else(|e| absent(Service::Stripe, e).map(|()| None))?
    } else {
        None
    };
    let openai = if wanted.contains(&Service::Openai) {
        crate::providers::openai(settings)
            .map(Some)
            .or_else(|e| absent(Service::Openai, e).map(|()| None))?
    } else {
        None
    };
    if twilio.is_none() && stripe.is_none() && openai.is_none() && missing.is_empty() {
        return Err(UsageError::NothingConfigured { skipped });
    }
    let span = period.resolve(jiff::Timestamp::now());
    let by = by.unwrap_or(UsageBy::Category);
    let sources = Sources {
        twilio: twilio.as_ref(),
        stripe: stripe.as_ref(),
        openai: openai.as_ref(),
    };
    let mut entries = usage::collect(sources, &span, by).await;
    entries.extend(missing);
    entries.sort_by_key(|s| s.service);
    Ok(UsageView {
        report: UsageReport::new(span, entries),
        skipped,
    })
}

/// The report as every face shows it.
#[derive(Debug, Serialize)]
pub struct UsageView {
    /// The figures per service.
    #[serde(flatten)]
    pub report: UsageReport,
    /// Services left out (not configured, not asked for).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

impl UsageView {
    /// One line: the period and the spend per currency.
    pub fn summary(&self) -> String {
        format!(
            "usage for {}: spend {}",
            self.report.period.label,
            self.spend_text()
        )
    }

    /// The spend per currency (`12.50 USD, 3.00 EUR`), or `none`.
    pub fn spend_text(&self) -> String {
        let spend: Vec<String> = self
            .report
            .spend
            .iter()
            .map(|m| format!("{} {}", m.amount, m.currency))
            .collect();
        if spend.is_empty() {
            "none".to_owned()
        } else {
            spend.join(", ")
        }
    }
}
