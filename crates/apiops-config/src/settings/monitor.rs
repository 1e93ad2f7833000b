//! `[monitor]`: the settings of `apiops serve`'s scheduled jobs, alert rules (spend budgets
//! and spikes included), sinks and auto-fix back-off, and their checks of ranges and relations.
//! Mapped onto the plain `apiops_monitor::MonitorConfig` by the binary.

use std::num::NonZeroU32;
use std::time::Duration;

use apiops_core::Category;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::values;

/// `[monitor]`: what `apiops serve` checks on a schedule, when it alerts, where alerts go, and
/// how it backs off. Flat keys (so every one can be set as `APIOPS_MONITOR_<KEY>`).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorSettings {
    /// Whether `apiops serve` runs the scheduled jobs at all.
    pub enabled: bool,
    /// Health check of each configured service; zero turns the job off.
    #[serde(with = "values::duration")]
    pub health_every: Duration,
    /// Error audit of each service over the last interval; zero turns it off.
    #[serde(with = "values::duration")]
    pub errors_every: Duration,
    /// Configuration audit of each service; zero turns it off.
    #[serde(with = "values::duration")]
    pub audit_every: Duration,
    /// The usage job of each service whose spend can be read; zero turns it off.
    #[serde(with = "values::duration")]
    pub usage_every: Duration,
    /// Spend budgets per service (`"200 USD/month"`): `budget` fires when the current period's
    /// spend passes one.
    #[serde(with = "values::budgets")]
    pub budgets: std::collections::BTreeMap<apiops_core::Service, apiops_monitor::Budget>,
    /// `usage_anomaly` fires when today's spend is more than this many times the daily average
    /// of the previous `usage_anomaly_days`; 0 turns the rule off.
    pub usage_anomaly_factor: f64,
    /// The trailing window of `usage_anomaly`, in days before today.
    pub usage_anomaly_days: NonZeroU32,
    /// Today's spend under this never raises `usage_anomaly`.
    pub usage_anomaly_min_spend: f64,
    /// `usage_anomaly_min_spend` for the currencies named here (capitals), in their own units.
    #[serde(with = "values::min_spend_by_currency")]
    pub usage_anomaly_min_spend_by_currency: std::collections::BTreeMap<String, f64>,
    /// Consecutive `down` health checks before `service_down` fires.
    pub down_after: NonZeroU32,
    /// Consecutive non-operational checks (the last one not down) before `service_degraded`.
    pub degraded_after: NonZeroU32,
    /// Errors of a category in one error-audit window at or above which `errors` fires; a
    /// category left out (or 0) never alerts.
    #[serde(with = "values::error_thresholds")]
    pub error_thresholds: std::collections::BTreeMap<Category, u64>,
    /// Rate-limit headroom (percent of the limit left) under which `rate_limit_headroom` fires.
    pub headroom_below_percent: f64,
    /// Account balance (in its currency) under which `balance_low` fires; 0 turns it off.
    pub balance_floor: f64,
    /// Webhook requests rejected for their signature within `signature_window`, across
    /// instances, at or above which `signature_rejects` fires; 0 turns it off.
    pub signature_rejects: u64,
    /// The window of `signature_rejects`.
    #[serde(with = "values::duration")]
    pub signature_window: Duration,
    /// Whether a deprecation signal on a provider response raises `deprecation`.
    pub deprecations: bool,
    /// Whether a disabled webhook endpoint (from the config audit) raises `endpoint_disabled`.
    pub endpoint_disabled: bool,
    /// Whether the config audit also probes each webhook URL (`apiops audit --probe`'s
    /// request), raising `webhook_unreachable`. Off by default. Public addresses only: no
    /// setting lets the probe reach loopback or private addresses.
    pub probe_webhooks: bool,
    /// Whether alerts are written to the log.
    pub log_alerts: bool,
    /// Generic webhooks: each alert POSTed as JSON. Secret (the URL may carry a token).
    #[serde(with = "values::sink_urls")]
    pub webhook_urls: Vec<SecretString>,
    /// Slack-compatible incoming webhooks (`{"text": ...}`). Secret.
    #[serde(with = "values::sink_urls")]
    pub slack_urls: Vec<SecretString>,
    /// Lets sinks resolve to loopback, private or link-local addresses (off: a sink URL must not
    /// make apiops reach internal hosts).
    pub allow_private_sinks: bool,
    /// Attempts per notification and sink, the first included.
    pub sink_attempts: NonZeroU32,
    /// The first retry delay of a sink; doubled each attempt.
    #[serde(with = "values::duration")]
    pub sink_backoff: Duration,
    /// How long scheduled requests to a service pause when `rate_limit` auto-fix backs it off.
    #[serde(with = "values::duration")]
    pub rate_limit_backoff: Duration,
}

impl MonitorSettings {
    /// `[monitor]` as the monitor's own configuration.
    pub fn monitor_config(&self) -> apiops_monitor::MonitorConfig {
        apiops_monitor::MonitorConfig {
            enabled: self.enabled,
            health_every: self.health_every,
            errors_every: self.errors_every,
            audit_every: self.audit_every,
            usage_every: self.usage_every,
            budgets: self.budgets.clone(),
            usage_anomaly_factor: self.usage_anomaly_factor,
            usage_anomaly_days: self.usage_anomaly_days,
            usage_anomaly_min_spend: self.usage_anomaly_min_spend,
            usage_anomaly_min_spend_by_currency: self.usage_anomaly_min_spend_by_currency.clone(),
            down_after: self.down_after,
            degraded_after: self.degraded_after,
            error_thresholds: self.error_thresholds.clone(),
            headroom_below_percent: self.headroom_below_percent,
            balance_floor: self.balance_floor,
            signature_rejects: self.signature_rejects,
            signature_window: self.signature_window,
            deprecations: self.deprecations,
            endpoint_disabled: self.endpoint_disabled,
            probe_webhooks: self.probe_webhooks,
            log_alerts: self.log_alerts,
            webhook_urls: self.webhook_urls.clone(),
            slack_urls: self.slack_urls.clone(),
            allow_private_sinks: self.allow_private_sinks,
            sink_attempts: self.sink_attempts,
            sink_backoff: self.sink_backoff,
            rate_limit_backoff: self.rate_limit_backoff,
        }
    }

    /// Ranges and relations of `[monitor]`, as `(key, message)`.
    pub(super) fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (key, d) in [
            ("monitor.health_every", self.health_every),
            ("monitor.errors_every", self.errors_every),
            ("monitor.audit_every", self.audit_every),
            ("monitor.usage_every", self.usage_every),
        ] {
            if !d.is_zero() && d < Duration::from_secs(1) {
                out.push((
                    key,
                    format!(
                        "{} is too short: use \"0s\" to turn the job off, or at least \"1s\"",
                        humantime::format_duration(d)
                    ),
                ));
            }
        }
        for (key, n) in [
            ("monitor.down_after", self.down_after),
            ("monitor.degraded_after", self.degraded_after),
        ] {
            if n.get() > 100 {
                out.push((key, format!("{n} checks is more than the limit of 100")));
            }
        }
        if !(0.0..=100.0).contains(&self.headroom_below_percent) {
            out.push((
                "monitor.headroom_below_percent",
                format!(
                    "{} is not a percentage between 0 and 100",
                    self.headroom_below_percent
                ),
            ));
        }
        if !(self.balance_floor >= 0.0 && self.balance_floor.is_finite()) {
            out.push((
                "monitor.balance_floor",
                format!("{} is not an amount of 0 or more", self.balance_floor),
            ));
        }
        let factor = self.usage_anomaly_factor;
        if !(factor == 0.0 || (factor > 1.0 && factor.is_finite())) {
            out.push((
                "monitor.usage_anomaly_factor",
                format!("{factor} is not 0 (off) or a factor above 1"),
            ));
        }
        if self.usage_anomaly_days.get() > 90 {
            out.push((
                "monitor.usage_anomaly_days",
                format!(
                    "{} days is more than the limit of 90",
                    self.usage_anomaly_days
                ),
            ));
        }
        if !(self.usage_anomaly_min_spend >= 0.0 && self.usage_anomaly_min_spend.is_finite()) {
            out.push((
                "monitor.usage_anomaly_min_spend",
                format!(
                    "{} is not an amount of 0 or more",
                    self.usage_anomaly_min_spend
                ),
            ));
        }
        if self.signature_rejects > 0 && self.signature_window.is_zero() {
            out.push((
                "monitor.signature_window",
                "must be longer than zero while monitor.signature_rejects is set".into(),
            ));
        }
        if self.sink_attempts.get() > 20 {
            out.push((
                "monitor.sink_attempts",
                format!("{} is more than the limit of 20", self.sink_attempts),
            ));
        }
        for (key, d) in [
            ("monitor.sink_backoff", self.sink_backoff),
            ("monitor.rate_limit_backoff", self.rate_limit_backoff),
        ] {
            if d.is_zero() {
                out.push((key, "must be longer than zero".into()));
            }
        }
        out
    }
}
