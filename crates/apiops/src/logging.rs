//! Log output: `tracing` events go to stderr, never stdout (stdout is for results, which may be
//! JSON piped into another program). The level comes from `-v`/`-q`, else from `APIOPS_LOG`
//! (`tracing_subscriber::EnvFilter` syntax, e.g. `apiops_client=debug`), else warnings only.
//! Color follows the same choice as stdout (`anstream` strips it when stderr is not a terminal
//! or `NO_COLOR` is set).

use tracing_subscriber::EnvFilter;

use crate::config::{Environment, env::LOG_FILTER};

const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
const DEFAULT_LEVEL: usize = 2;

/// The filter directive for `verbose` minus `quiet` steps from the default (`warn`).
fn level(verbose: u8, quiet: u8) -> &'static str {
    let index = (DEFAULT_LEVEL + usize::from(verbose))
        .saturating_sub(usize::from(quiet))
        .min(LEVELS.len() - 1);
    LEVELS[index]
}

/// Installs the global subscriber. Flags win over `APIOPS_LOG`; an invalid `APIOPS_LOG` is
/// reported as a warning and ignored rather than stopping the command.
pub(crate) fn init(verbose: u8, quiet: u8, env: &Environment) {
    let from_env = (verbose == 0 && quiet == 0)
        .then(|| env.get(LOG_FILTER))
        .flatten();
    let (filter, invalid) = match from_env.map(EnvFilter::try_new) {
        Some(Ok(filter)) => (filter, None),
        Some(Err(e)) => (EnvFilter::new(level(0, 0)), Some(e)),
        None => (EnvFilter::new(level(verbose, quiet)), None),
    };
    // Fails only if a subscriber is already installed, which leaves logging working anyway.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(anstream::stderr)
        .with_ansi(true)
        .try_init();
    if let Some(e) = invalid {
        tracing::warn!("{LOG_FILTER} is not a valid log filter, ignoring it: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_moves_from_warn() {
        assert_eq!(level(0, 0), "warn");
        assert_eq!(level(1, 0), "info");
        assert_eq!(level(2, 0), "debug");
        assert_eq!(level(3, 0), "trace");
        assert_eq!(level(9, 0), "trace");
        assert_eq!(level(0, 1), "error");
        assert_eq!(level(0, 2), "off");
        assert_eq!(level(0, 9), "off");
        assert_eq!(level(2, 1), "info");
    }
}
