//! The simulator's knobs, with the defaults `apiops sim` uses.

use std::net::SocketAddr;
use std::time::Duration;

use jiff::Timestamp;

/// A setting that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where to listen; loopback unless `allow_non_loopback`.
    pub listen: SocketAddr,
    /// Permits a non-loopback listen address (explicit opt-in only).
    pub allow_non_loopback: bool,
    /// Added to every response, to model a provider's round trip.
    pub latency: Duration,
    /// Twilio: concurrent requests above this get 429 / 20429.
    pub twilio_concurrency: usize,
    /// Stripe: requests per second above this get 429.
    pub stripe_rate: u32,
    /// OpenAI: requests per minute (None = unlimited, headers still sent).
    pub openai_rpm: Option<u32>,
    /// Share of requests (0..=1) that get an injected fault.
    pub fault_rate: f64,
    /// Seed of all generated data and of fault choices.
    pub seed: u64,
    /// How many Twilio messages to generate.
    pub messages: usize,
    /// How far back the generated Twilio traffic reaches (denser toward the anchor).
    pub history: Duration,
    /// The "now" the data is generated around (messages over the days before it). Fixed in
    /// tests for byte-identical data; the current hour by default.
    pub anchor: Timestamp,
    /// Also serves the webhook probe's loopback test targets ([`crate::probe_targets`]), each
    /// added as a Stripe webhook endpoint when the simulator starts. Off by default: the data
    /// is then what it always was.
    pub probe_targets: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            allow_non_loopback: false,
            latency: Duration::ZERO,
            twilio_concurrency: 100,
            stripe_rate: 25,
            openai_rpm: None,
            fault_rate: 0.0,
            seed: 1,
            messages: 2_000,
            history: Duration::from_secs(7 * 86_400),
            anchor: current_hour(),
            probe_targets: false,
        }
    }
}

/// Now, rounded down to the hour, so runs within an hour see the same data.
pub fn current_hour() -> Timestamp {
    let now = Timestamp::now().as_second();
    Timestamp::from_second(now - now.rem_euclid(3600)).unwrap_or(Timestamp::UNIX_EPOCH)
}

impl SimConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.listen.ip().is_loopback() && !self.allow_non_loopback {
            return Err(ConfigError(format!(
                "refusing to listen on {}: not a loopback address (pass --allow-non-loopback to insist)",
                self.listen.ip()
            )));
        }
        if !(0.0..=1.0).contains(&self.fault_rate) || self.fault_rate.is_nan() {
            return Err(ConfigError(format!(
                "fault rate {} must be within 0..=1",
                self.fault_rate
            )));
        }
        if self.twilio_concurrency == 0 {
            return Err(ConfigError("twilio concurrency must be at least 1".into()));
        }
        if self.stripe_rate == 0 {
            return Err(ConfigError("stripe rate must be at least 1/s".into()));
        }
        if self.history.as_secs() < 60 || self.history.as_secs() > 366 * 86_400 {
            return Err(ConfigError(format!(
                "history {:?} must be between a minute and a year",
                self.history
            )));
        }
        if self.openai_rpm == Some(0) {
            return Err(ConfigError("openai rpm must be at least 1".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_non_loopback_unless_told() {
        let mut c = SimConfig {
            listen: "0.0.0.0:0".parse().expect("addr"),
            ..SimConfig::default()
        };
        assert!(c.validate().is_err());
        c.allow_non_loopback = true;
        assert!(c.validate().is_ok());
        for bad in [-0.1, 1.5, f64::NAN] {
            let c = SimConfig {
                fault_rate: bad,
                ..SimConfig::default()
            };
            assert!(c.validate().is_err(), "{bad}");
        }
        assert!(SimConfig::default().validate().is_ok());
        assert_eq!(current_hour().as_second() % 3600, 0);
    }
}
