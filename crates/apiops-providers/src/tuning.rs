//! The client settings every provider client shares: timeouts, retry policy and budget,
//! breaker thresholds, and how reads are timed, hedged and retried. The binary fills this from
//! the validated configuration.

use std::time::Duration;

use apiops_client::ClientBuilder;
use apiops_client::breaker::BreakerConfig;
use apiops_client::clock::Clock;
use apiops_client::reads::ReadPolicy;
use apiops_client::retry::{Backoff, RetryPolicy};

use crate::provider::ProviderError;

/// Shared client settings.
#[derive(Debug, Clone)]
pub struct ClientTuning {
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Total timeout per attempt.
    pub timeout: Duration,
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// First backoff ceiling.
    pub base_delay: Duration,
    /// Backoff cap, and the longest Retry-After honored.
    pub max_delay: Duration,
    /// Retry budget: share of traffic.
    pub retry_budget_ratio: f64,
    /// Retry budget: reserve.
    pub retry_budget_min: u32,
    /// Breaker thresholds.
    pub breaker: BreakerConfig,
    /// How reads are timed, hedged and retried beyond the general budget.
    pub reads: ReadPolicy,
    /// Time source (tests inject a manual clock).
    pub clock: Clock,
}

impl Default for ClientTuning {
    fn default() -> Self {
        ClientTuning {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            max_attempts: 3,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(20),
            retry_budget_ratio: 0.1,
            retry_budget_min: 10,
            breaker: BreakerConfig::default(),
            reads: ReadPolicy::default(),
            clock: Clock::default(),
        }
    }
}

impl ClientTuning {
    /// Applies these settings to a client builder.
    pub fn apply(&self, builder: ClientBuilder) -> Result<ClientBuilder, ProviderError> {
        let backoff = Backoff::new(self.base_delay, self.max_delay)
            .map_err(|e| ProviderError::Config(e.to_string()))?;
        let policy = RetryPolicy::new(self.max_attempts, backoff)
            .map_err(|e| ProviderError::Config(e.to_string()))?;
        Ok(builder
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .retry(policy)
            .retry_budget(self.retry_budget_ratio, self.retry_budget_min)
            .breaker(Some(self.breaker.clone()))
            .reads(self.reads.clone())
            .clock(self.clock.clone()))
    }
}
