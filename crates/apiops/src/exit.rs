//! The one place where outcomes and errors become process exit codes, and where those codes are
//! documented (the table in `apiops --help` is generated from [`Exit::ALL`]).
//!
//! A command returns `anyhow::Result<Exit>`: `Ok` carries a verdict that is not an error
//! (operational, degraded, down, partial batch); `Err` carries a failure, classified here by the
//! typed [`AppError`] (or [`ConfigError`]) found in its chain — anything else is a general
//! failure. Usage errors come from clap and keep clap's code 2.

use std::io;
use std::process::ExitCode;

use anstream::eprintln;
use apiops_core::Service;

use crate::config::ConfigError;
use crate::output;

/// A documented exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Everything worked; for checks, everything is operational.
    Ok,
    /// A failure with no more specific code (network, I/O, an unexpected provider answer).
    Failure,
    /// The command line was wrong (clap's own code).
    Usage,
    /// A check found a service degraded.
    Degraded,
    /// A check found a service down.
    Down,
    /// An action needs confirmation and none could be given (no terminal, no `--yes`).
    ConfirmationRequired,
    /// A batch finished with some items failed, or an error scan could not read some time
    /// windows; the output lists which.
    PartialBatch,
    /// The configuration is invalid, or `--config` names a missing file.
    Config,
    /// A command needs credentials that are not configured.
    MissingCredentials,
}

impl Exit {
    /// Every status, in code order.
    pub(crate) const ALL: [Exit; 9] = [
        Exit::Ok,
        Exit::Failure,
        Exit::Usage,
        Exit::Degraded,
        Exit::Down,
        Exit::ConfirmationRequired,
        Exit::PartialBatch,
        Exit::Config,
        Exit::MissingCredentials,
    ];

    /// The process exit code.
    pub(crate) fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::Degraded => 3,
            Exit::Down => 4,
            Exit::ConfirmationRequired => 5,
            Exit::PartialBatch => 6,
            Exit::Config => 7,
            Exit::MissingCredentials => 8,
        }
    }

    /// One line for the documentation table.
    pub(crate) fn meaning(self) -> &'static str {
        match self {
            Exit::Ok => "success (for checks: all operational)",
            Exit::Failure => "general failure",
            Exit::Usage => "usage error (bad flag or argument)",
            Exit::Degraded => "a checked service is degraded",
            Exit::Down => "a checked service is down",
            Exit::ConfirmationRequired => {
                "confirmation required but not given (no terminal and no --yes)"
            }
            Exit::PartialBatch => {
                "partial: some batch items failed, or some time windows of an error scan could not be read (see `errors --resume`)"
            }
            Exit::Config => "configuration error",
            Exit::MissingCredentials => "missing credentials",
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

/// The "Exit codes" section of `apiops --help`.
pub(crate) fn help() -> String {
    let mut text = String::from("Exit codes:\n");
    for exit in Exit::ALL {
        text.push_str(&format!("  {}  {}\n", exit.code(), exit.meaning()));
    }
    text
}

/// Failures a command reports on purpose, each with its own exit code. Carried inside
/// `anyhow::Error`; messages never include secret values.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AppError {
    /// The configuration could not be loaded.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A command needs credentials of `service` that are not set.
    #[error("{} credentials missing: set {}", .service.display_name(), .variables.join(", "))]
    MissingCredentials {
        /// Whose credentials.
        service: Service,
        /// The variables to set.
        variables: Vec<&'static str>,
    },
    /// An `[apis.NAME]` API names credential variables that are not set.
    #[error("{api} credentials missing: set {}", .variables.join(", "))]
    ApiCredentialsMissing {
        /// The API's name.
        api: String,
        /// The variables to set.
        variables: Vec<String>,
    },
    /// No service has credentials configured.
    #[error("{0}")]
    NothingConfigured(String),
    /// The arguments make sense to clap but not to the command (a value out of range...).
    #[error("{0}")]
    Usage(String),
    /// An action needs a person's confirmation and none could be asked for.
    #[error("{action} needs confirmation; run it from a terminal or pass --yes")]
    ConfirmationRequired {
        /// What would have been done.
        action: String,
    },
    /// Only a person can confirm this, and what was given does not count as their yes.
    #[error("{0}")]
    PersonRequired(String),
}

impl AppError {
    fn exit(&self) -> Exit {
        match self {
            AppError::Config(_) => Exit::Config,
            AppError::MissingCredentials { .. } | AppError::ApiCredentialsMissing { .. } => {
                Exit::MissingCredentials
            }
            AppError::ConfirmationRequired { .. } | AppError::PersonRequired(_) => {
                Exit::ConfirmationRequired
            }
            AppError::Usage(_) => Exit::Usage,
            AppError::NothingConfigured(_) => Exit::MissingCredentials,
        }
    }
}

/// The exit status an error maps to: the first typed error in its chain decides.
pub(crate) fn classify(error: &anyhow::Error) -> Exit {
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<AppError>() {
            return e.exit();
        }
        if cause.downcast_ref::<ConfigError>().is_some() {
            return Exit::Config;
        }
    }
    Exit::Failure
}

/// Whether the error is only that stdout was closed early (`apiops creds | head -1`): not a
/// failure worth a message.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Prints `error` to stderr and returns its exit code.
pub(crate) fn report(error: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(error) {
        return Exit::Ok.into();
    }
    let exit = classify(error);
    eprintln!(
        "{}error:{} {error:#}",
        output::BAD.render(),
        output::BAD.render_reset()
    );
    exit.into()
}

/// Prints a clap error (or the help/version it carries) and returns clap's code: 2 for usage
/// errors, 0 for `--help` and `--version`.
pub(crate) fn from_clap(error: &clap::Error) -> ExitCode {
    // Printing can only fail if the terminal is gone; the exit code still says what happened.
    let _ = error.print();
    let code = u8::try_from(error.exit_code()).unwrap_or(Exit::Usage.code());
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn codes_are_distinct_and_in_order() {
        for (i, exit) in Exit::ALL.iter().enumerate() {
            assert_eq!(usize::from(exit.code()), i, "{exit:?}");
        }
    }

    #[test]
    fn help_lists_every_code() {
        let help = help();
        for exit in Exit::ALL {
            assert!(
                help.contains(&format!("  {}  {}", exit.code(), exit.meaning())),
                "{help}"
            );
        }
    }

    #[test]
    fn errors_map_to_their_codes_through_context() {
        let config = anyhow::Error::from(AppError::from(ConfigError::FileNotFound("x".into())))
            .context("loading");
        assert_eq!(classify(&config), Exit::Config);
        let bare = anyhow::Error::from(ConfigError::FileNotFound("x".into()));
        assert_eq!(classify(&bare), Exit::Config);
        let creds = anyhow::Error::from(AppError::MissingCredentials {
            service: Service::Stripe,
            variables: vec!["STRIPE_SECRET_KEY"],
        });
        assert_eq!(classify(&creds), Exit::MissingCredentials);
        assert_eq!(
            creds.to_string(),
            "Stripe credentials missing: set STRIPE_SECRET_KEY"
        );
        let confirm = anyhow::Error::from(AppError::ConfirmationRequired {
            action: "buying +15551234567".into(),
        });
        assert_eq!(classify(&confirm), Exit::ConfirmationRequired);
        let other: anyhow::Result<()> = Err(io::Error::other("boom")).context("writing");
        assert_eq!(classify(&other.expect_err("error")), Exit::Failure);
    }

    #[test]
    fn broken_pipe_is_quiet() {
        let err = anyhow::Error::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(is_broken_pipe(&err));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }
}
