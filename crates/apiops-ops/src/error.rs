//! Why an operation could not be planned or run.

use apiops_client::ClientError;
use apiops_providers::ProviderError;
use apiops_store::StoreError;

/// Why an operation could not be planned or run. Messages never carry a secret: provider
/// errors arrive already scrubbed by the clients.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The request is incomplete or wrong; the message says what to change.
    #[error("{0}")]
    Invalid(String),
    /// More than one thing fits: a question and the candidates.
    #[error("{question}")]
    Ambiguous {
        /// What to ask.
        question: String,
        /// What the user may mean.
        candidates: Vec<String>,
    },
    /// The service has no credentials; the message names the variables.
    #[error("{0}")]
    NotConfigured(String),
    /// A provider call failed: the typed error (already scrubbed by the clients), its category
    /// from its type.
    #[error(transparent)]
    Provider(ProviderError),
    /// Another runner holds the plan's lease (another terminal, an agent's call, an instance
    /// of `apiops serve`): nothing was run here, so no step can run twice.
    #[error(
        "plan {key} is being run by another runner ({holder}) until {until} at the latest; nothing was done here: try again once it finishes (done steps are not repeated)"
    )]
    Busy {
        /// The plan's journal key.
        key: String,
        /// Who holds it.
        holder: String,
        /// When its lease lapses.
        until: jiff::Timestamp,
    },
    /// The journal could not be read or written: nothing is run without it.
    #[error("journal: {0}")]
    Store(#[from] StoreError),
}

impl From<ClientError> for OpsError {
    fn from(e: ClientError) -> Self {
        OpsError::Provider(ProviderError::Client(e))
    }
}

impl From<ProviderError> for OpsError {
    fn from(e: ProviderError) -> Self {
        match e {
            ProviderError::MissingCredentials { .. } => OpsError::NotConfigured(e.to_string()),
            other => OpsError::Provider(other),
        }
    }
}
