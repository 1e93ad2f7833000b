//! The typed errors of this crate, split by who has to act: [`SpecError`] (the document or its
//! configuration is wrong: exit 7 in the CLI), [`CallError`] (the command line is wrong, the
//! credentials are missing, or the API answered with a failure).
//!
//! Messages name the file, the JSON pointer or the parameter, and never hold a secret: bodies
//! of failed calls went through the client's redactor before they reach here.

use apiops_client::ClientError;

use crate::failure::ApiFailure;

/// A document that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// The file could not be read.
    #[error("spec {source_name}: {reason}")]
    Read {
        /// The path or URL.
        source_name: String,
        /// What failed.
        reason: String,
    },
    /// The document is larger than the cap; it was not parsed.
    #[error("spec {source_name}: {size} bytes is over the limit of {max} bytes; not loaded")]
    TooLarge {
        /// The path or URL.
        source_name: String,
        /// Its size in bytes (at least; a download stops at the cap).
        size: u64,
        /// The cap.
        max: u64,
    },
    /// Neither JSON nor YAML.
    #[error("spec {source_name} does not parse: {reason}")]
    Parse {
        /// The path or URL.
        source_name: String,
        /// The parser's message (line and column).
        reason: String,
    },
    /// Parsed, but not an OpenAPI 3.0/3.1 document.
    #[error("spec {source_name}: {reason}")]
    Invalid {
        /// The path or URL.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// A `$ref` to another file or URL: not followed.
    #[error(
        "spec {source_name}: the $ref at {at} points to {target:?}, outside the document; only local references (#/...) are followed"
    )]
    ExternalRef {
        /// The path or URL.
        source_name: String,
        /// The JSON pointer of the `$ref`.
        at: String,
        /// What it points to.
        target: String,
    },
    /// A local `$ref` to nothing.
    #[error("spec {source_name}: the $ref at {at} points to {target}, which does not exist")]
    RefNotFound {
        /// The path or URL.
        source_name: String,
        /// The JSON pointer of the `$ref`.
        at: String,
        /// The missing target.
        target: String,
    },
    /// References that lead back to themselves.
    #[error("spec {source_name}: $ref cycle: {}", chain.join(" -> "))]
    RefCycle {
        /// The path or URL.
        source_name: String,
        /// The pointers in the loop, the first repeated at the end.
        chain: Vec<String>,
    },
}

/// Why a call was not made, or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// No operation has that operationId or `METHOD /path`.
    #[error("{api}: no operation {given:?}{}", suggest(suggestions))]
    UnknownOperation {
        /// The API's configured name.
        api: String,
        /// What was asked for.
        given: String,
        /// Close matches.
        suggestions: Vec<String>,
    },
    /// A parameter is missing, unknown, or of the wrong type; nothing was sent.
    #[error("parameter {name:?}{}: {reason}", location.as_ref().map(|l| format!(" ({l})")).unwrap_or_default())]
    Param {
        /// The parameter's name.
        name: String,
        /// Where it goes (`path`, `query`, `header`), when known.
        location: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// The request body is missing or does not fit the schema; nothing was sent.
    #[error("request body{}: {reason}", if pointer.is_empty() { String::new() } else { format!(" at {pointer}") })]
    Body {
        /// The JSON pointer inside the body (empty for the whole body).
        pointer: String,
        /// What is wrong.
        reason: String,
    },
    /// The API's configuration does not allow the call (no base URL, a credential variable
    /// that is not set...).
    #[error("{0}")]
    Config(String),
    /// A credential variable named in the configuration is not set.
    #[error("{api}: credential variable {variable} is not set")]
    MissingCredential {
        /// The API's configured name.
        api: String,
        /// The variable to set.
        variable: String,
    },
    /// The API answered with a failure, read from its status and body.
    #[error("{failure}")]
    Api {
        /// The failure as read.
        failure: Box<ApiFailure>,
        /// The client's error.
        #[source]
        source: ClientError,
    },
    /// No answer, or an answer the client could not use.
    #[error(transparent)]
    Client(ClientError),
    /// A page of a paginated listing could not be followed.
    #[error("paging: {0}")]
    Paging(#[source] PagingError),
}

/// Why a paginated listing stopped before its last page.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PagingError {
    /// The answer's body could not be read to its end.
    #[error("reading the answer: {0}")]
    Read(#[source] reqwest::Error),
    /// The answer is larger than one page may be.
    #[error("the answer is {bytes} bytes, over the limit of {limit}")]
    TooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The server handed out the next page it had already handed out.
    #[error("the server handed out the same next page again ({0}); stopping instead of looping")]
    Repeated(String),
    /// A next-page link that cannot be followed (not a URL, or another origin).
    #[error(transparent)]
    Link(#[from] apiops_client::pagination::PageError),
    /// A GraphQL answer holds no connection to page through.
    #[error("{0}")]
    NoConnection(String),
    /// The caller's item callback asked to stop (its own error is the caller's to keep).
    #[error("stopped by the reader of the items")]
    Stopped,
}

impl CallError {
    /// True when the request was refused before anything was sent because of the command
    /// line (exit 2).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            CallError::UnknownOperation { .. } | CallError::Param { .. } | CallError::Body { .. }
        )
    }

    /// The failure's category in the taxonomy.
    pub fn category(&self) -> apiops_core::Category {
        use apiops_core::Category;
        match self {
            CallError::UnknownOperation { .. }
            | CallError::Param { .. }
            | CallError::Body { .. } => Category::BadParams,
            CallError::Config(_) => Category::Config,
            CallError::MissingCredential { .. } => Category::Auth,
            CallError::Api { failure, .. } => failure.category,
            CallError::Client(e) => e.category(),
            CallError::Paging(_) => Category::Transient,
        }
    }

    /// A client error, read as an [`ApiFailure`] when the API answered.
    pub fn from_client(error: ClientError) -> CallError {
        match ApiFailure::from_client(&error) {
            Some(failure) => CallError::Api {
                failure: Box::new(failure),
                source: error,
            },
            None => CallError::Client(error),
        }
    }
}

fn suggest(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        "; `apiops api ops NAME WORDS` lists them".to_owned()
    } else {
        format!("; did you mean: {}", suggestions.join(", "))
    }
}
