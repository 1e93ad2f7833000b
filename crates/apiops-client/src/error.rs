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

impl ClientError {
    /// The failure's category in the taxonomy, from its kind and HTTP status (never from its
    /// message): what callers and agents act on.
    pub fn category(&self) -> apiops_core::Category {
        use apiops_core::Category;
        match self {
            ClientError::Status { status, .. } => {
                apiops_core::Classification::fallback(Some(*status)).category
            }
            ClientError::Transport { .. }
            | ClientError::CircuitOpen { .. }
            | ClientError::Decode { .. } => Category::Transient,
            ClientError::Auth(_) => Category::Auth,
            ClientError::GraphQl { .. } | ClientError::InvalidRequest(_) => Category::BadParams,
            ClientError::ReplayMiss { .. } | ClientError::Cassette(_) => Category::Config,
        }
    }

    /// This error with every secret `redactor` knows scrubbed from every text it carries
    /// (targets, bodies, messages, GraphQL errors). The match is exhaustive: a new variant does
    /// not compile until it says what it scrubs.
    pub fn redacted(self, redactor: &crate::redact::Redactor) -> ClientError {
        let s = |t: String| redactor.redact(&t).into_owned();
        match self {
            ClientError::Transport {
                method,
                target,
                kind,
                message,
            } => ClientError::Transport {
                method,
                target: s(target),
                kind,
                message: s(message),
            },
            ClientError::Status {
                method,
                target,
                status,
                body,
                retry_after,
            } => ClientError::Status {
                method,
                target: s(target),
                status,
                body: s(body),
                retry_after,
            },
            ClientError::CircuitOpen { host, retry_in } => ClientError::CircuitOpen {
                host: s(host),
                retry_in,
            },
            ClientError::ReplayMiss {
                cassette,
                method,
                target,
                key,
            } => ClientError::ReplayMiss {
                cassette: s(cassette),
                method,
                target: s(target),
                key: s(key),
            },
            ClientError::Decode {
                method,
                target,
                reason,
            } => ClientError::Decode {
                method,
                target: s(target),
                reason: s(reason),
            },
            ClientError::GraphQl {
                messages,
                errors,
                data,
            } => ClientError::GraphQl {
                messages: messages.into_iter().map(s).collect(),
                errors: redact_json(redactor, errors),
                data: data.map(|d| redact_json(redactor, d)),
            },
            ClientError::Auth(m) => ClientError::Auth(s(m)),
            ClientError::InvalidRequest(m) => ClientError::InvalidRequest(s(m)),
            ClientError::Cassette(m) => ClientError::Cassette(s(m)),
        }
    }
}

/// `value` with every string in it redacted.
fn redact_json(redactor: &crate::redact::Redactor, value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(t) => Value::String(redactor.redact(&t).into_owned()),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| redact_json(redactor, v))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, redact_json(redactor, v)))
                .collect(),
        ),
        other => other,
    }
}

impl From<ClientError> for reqwest_middleware::Error {
    fn from(e: ClientError) -> Self {
        reqwest_middleware::Error::middleware(e)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use apiops_core::Category;
    use secrecy::SecretString;

    use super::*;
    use crate::redact::Redactor;

    const CANARY: &str = "sk_live_canary_0123456789abcdef";

    fn every_variant(text: &str) -> Vec<ClientError> {
        vec![
            ClientError::Transport {
                method: "GET".into(),
                target: format!("h/{text}"),
                kind: TransportKind::Timeout,
                message: text.into(),
            },
            ClientError::Status {
                method: "GET".into(),
                target: format!("h/{text}"),
                status: 401,
                body: text.into(),
                retry_after: None,
            },
            ClientError::CircuitOpen {
                host: text.into(),
                retry_in: Duration::from_secs(1),
            },
            ClientError::ReplayMiss {
                cassette: text.into(),
                method: "GET".into(),
                target: text.into(),
                key: text.into(),
            },
            ClientError::Decode {
                method: "GET".into(),
                target: text.into(),
                reason: text.into(),
            },
            ClientError::GraphQl {
                messages: vec![text.into()],
                errors: serde_json::json!([{"message": text, "path": [text]}]),
                data: Some(serde_json::json!({"k": text})),
            },
            ClientError::Auth(text.into()),
            ClientError::InvalidRequest(text.into()),
            ClientError::Cassette(text.into()),
        ]
    }

    #[test]
    fn redaction_reaches_every_text_of_every_variant() {
        let r = Redactor::new([SecretString::from(CANARY.to_owned())]);
        for e in every_variant(&format!("before {CANARY} after")) {
            let e = e.redacted(&r);
            let shown = format!("{e:?} {e}");
            assert!(!shown.contains(CANARY), "{shown}");
        }
    }

    #[test]
    fn categories_come_from_the_kind_and_status_not_the_text() {
        let status = |s: u16| ClientError::Status {
            method: "GET".into(),
            target: "h/p".into(),
            status: s,
            body: "HTTP 401 says the text, but the status decides".into(),
            retry_after: None,
        };
        assert_eq!(status(401).category(), Category::Auth);
        assert_eq!(status(429).category(), Category::RateLimit);
        assert_eq!(status(400).category(), Category::BadParams);
        assert_eq!(status(503).category(), Category::Transient);
        let cats: Vec<Category> = every_variant("HTTP 401")
            .iter()
            .map(ClientError::category)
            .collect();
        assert_eq!(
            cats,
            vec![
                Category::Transient,
                Category::Auth,
                Category::Transient,
                Category::Config,
                Category::Transient,
                Category::BadParams,
                Category::Auth,
                Category::BadParams,
                Category::Config,
            ]
        );
    }
}
