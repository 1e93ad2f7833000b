//! The errors of the client layer, typed so callers can act on them: retry later, fix the
//! credentials, fix the request, or report the provider's answer.
//!
//! Every message names the request by method and a redacted target (host and path, never the
//! query or credentials); provider bodies kept here have already gone through the redactor.

use std::time::Duration;

/// What went wrong on the wire, when no HTTP response came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// The connect or total timeout expired.
    Timeout,
    /// The connection could not be made.
    Connect,
    /// The connection was reset or closed mid-exchange.
    Reset,
    /// The response body could not be read.
    Body,
    /// Anything else reqwest reported.
    Other,
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TransportKind::Timeout => "timed out",
            TransportKind::Connect => "connection failed",
            TransportKind::Reset => "connection reset",
            TransportKind::Body => "body read failed",
            TransportKind::Other => "transport error",
        })
    }
}

/// A failure of the client layer or an error answer from the API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// No HTTP response: timeout, refused or reset connection.
    #[error("{method} {target}: {kind}: {message}")]
    Transport {
        /// The HTTP method.
        method: String,
        /// Redacted host and path.
        target: String,
        /// What kind of failure.
        kind: TransportKind,
        /// reqwest's description, without the URL.
        message: String,
    },
    /// The API answered with a non-success status.
    #[error("{method} {target}: HTTP {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Status {
        /// The HTTP method.
        method: String,
        /// Redacted host and path.
        target: String,
        /// The HTTP status code.
        status: u16,
        /// The (redacted, truncated) response body: the provider's error document.
        body: String,
        /// The server's `Retry-After`, when it gave one.
        retry_after: Option<Duration>,
    },
    /// The circuit breaker for the host is open; nothing was sent.
    #[error("circuit open for {host}: too many recent failures; next probe in {retry_in:?}")]
    CircuitOpen {
        /// The host whose breaker is open.
        host: String,
        /// When the breaker will admit a probe.
        retry_in: Duration,
    },
    /// Replay mode found no recorded exchange for the request.
    #[error("cassette {cassette}: no recorded response for {method} {target} (key {key})")]
    ReplayMiss {
        /// The cassette file.
        cassette: String,
        /// The HTTP method.
        method: String,
        /// Redacted path and query.
        target: String,
        /// The lookup key that missed.
        key: String,
    },
    /// A 2xx response whose body was not what was expected.
    #[error("{method} {target}: malformed response body: {reason}")]
    Decode {
        /// The HTTP method.
        method: String,
        /// Redacted host and path.
        target: String,
        /// What did not parse.
        reason: String,
    },
    /// A GraphQL response with `errors[]`; any partial `data` is kept.
    #[error("GraphQL errors: {}", messages.join("; "))]
    GraphQl {
        /// The `message` of each error.
        messages: Vec<String>,
        /// The whole `errors` array.
        errors: serde_json::Value,
        /// The partial `data`, when the server sent any.
        data: Option<serde_json::Value>,
    },
    /// Credentials could not be obtained or applied (token endpoint failed, bad key material).
    #[error("authentication: {0}")]
    Auth(String),
    /// The request could not be built (bad URL, body that cannot be cloned for a retry...).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A cassette could not be read or written.
    #[error("cassette: {0}")]
    Cassette(String),
}

impl ClientError {
    /// The HTTP status, when the API answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The provider's error body, when the API answered with one.
    pub fn body(&self) -> Option<&str> {
        match self {
            ClientError::Status { body, .. } => Some(body),
            _ => None,
        }
    }

    /// Whether the failure is on the wire or the provider's side and might pass later.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Transport { .. } | ClientError::CircuitOpen { .. } => true,
            ClientError::Status { status, .. } => {
                matches!(status, 408 | 409 | 429) || *status >= 500
            }
            _ => false,
        }
    }
}

impl From<ClientError> for reqwest_middleware::Error {
    fn from(e: ClientError) -> Self {
        reqwest_middleware::Error::middleware(e)
    }
}
