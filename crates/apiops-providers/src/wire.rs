//! Small pieces the typed clients share: scrubbing every registered secret out of a
//! [`ClientError`], checking an id before it becomes a path segment, and decoding a response
//! body after its headers have been read (for calls whose headers matter, such as OpenAI's
//! `x-ratelimit-*`).

use apiops_client::redact::Redactor;
use apiops_client::{ClientError, TransportKind};
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use url::Url;

/// `e` with every secret `redactor` knows scrubbed from its targets, bodies and messages
/// (see [`ClientError::redacted`]).
pub(crate) fn scrub(redactor: &Redactor, e: ClientError) -> ClientError {
    e.redacted(redactor)
}

/// `id` when it is safe as one path segment: 1 to 200 letters, digits, `_` or `-`. A value
/// taken from a response or a user can then never steer a request to another path.
pub(crate) fn path_segment(id: &str) -> Option<&str> {
    let ok = !id.is_empty()
        && id.len() <= 200
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then_some(id)
}

/// `host[:port]/path`: what an error may show of a URL (never its query).
pub(crate) fn target_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port() {
        Some(p) => format!("{host}:{p}{}", url.path()),
        None => format!("{host}{}", url.path()),
    }
}

/// The headers and decoded JSON body of a successful response (from [`ApiClient::send`]),
/// for calls whose headers matter. A body that cannot be read is a
/// [`ClientError::Transport`], one that does not decode a [`ClientError::Decode`].
///
/// [`ApiClient::send`]: apiops_client::ApiClient::send
pub(crate) async fn json_with_headers<T: DeserializeOwned>(
    method: &str,
    resp: reqwest::Response,
) -> Result<(HeaderMap, T), ClientError> {
    let headers = resp.headers().clone();
    let target = target_of(resp.url());
    let bytes = resp.bytes().await.map_err(|e| ClientError::Transport {
        method: method.to_owned(),
        target: target.clone(),
        kind: TransportKind::Body,
        message: e.without_url().to_string(),
    })?;
    let value = serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode {
        method: method.to_owned(),
        target,
        reason: e.to_string(),
    })?;
    Ok((headers, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn scrubs_every_text_field() {
        let secret = "AC0123456789abcdef0123456789abcdef";
        let r = Redactor::new([SecretString::from(secret.to_owned())]);
        let e = scrub(
            &r,
            ClientError::Status {
                method: "POST".into(),
                target: format!("h/2010-04-01/Accounts/{secret}/X.json"),
                status: 400,
                body: format!("{{\"message\": \"{secret}\"}}"),
                retry_after: None,
            },
        );
        assert!(!e.to_string().contains(secret), "{e}");
        let e = scrub(&r, ClientError::InvalidRequest(format!("bad {secret}")));
        assert!(!e.to_string().contains(secret), "{e}");
        let e = scrub(
            &r,
            ClientError::Decode {
                method: "GET".into(),
                target: secret.into(),
                reason: secret.into(),
            },
        );
        assert!(!e.to_string().contains(secret), "{e}");
    }

    #[test]
    fn path_segments_are_plain_identifiers() {
        assert_eq!(path_segment("we_123-abc"), Some("we_123-abc"));
        for bad in ["", "../x", "a/b", "a?b", "a b", "é", &"x".repeat(201)] {
            assert_eq!(path_segment(bad), None, "{bad}");
        }
    }
}
