//! Small pieces the typed clients share: scrubbing every registered secret out of a
//! [`ClientError`], checking an id before it becomes a path segment, decoding a response
//! body after its headers have been read (for calls whose headers matter, such as OpenAI's
//! `x-ratelimit-*`), ending a scan's stream at its first error, how a client's reads stand
//! (for health), and which code an error answer reports (`classify_answer`).

use apiops_client::redact::{Redactor, display_target};
use apiops_client::{ClientError, read_body};
use apiops_core::{Classification, HealthStatus};
use futures::stream::{self, Stream, StreamExt};
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;

/// `e` with every secret `redactor` knows scrubbed from its targets, bodies and messages
/// (see [`ClientError::redacted`]).
pub(crate) fn scrub(redactor: &Redactor, e: ClientError) -> ClientError {
    e.redacted(redactor)
}

/// How a client's reads stand now, for health (issue 17's "both stay observable"): the attempt
/// timeout a read gets from the recent latency, the hedges sent and won, and what the general
/// and the read retry budgets still allow — "attempt timeout 1s, hedges 2 sent and 1 won, retry
/// budget 10.0 left, read retry budget 50.0 left" (one detail: no `;` inside).
pub(crate) fn reads_detail(api: &apiops_client::ApiClient) -> String {
    use std::sync::atomic::Ordering;
    let stats = api.stats();
    let mut text = format!(
        "attempt timeout {:?}, hedges {} sent and {} won, retry budget {:.1} left",
        api.reads().current_attempt_timeout(),
        stats.hedges.load(Ordering::Relaxed),
        stats.hedges_won.load(Ordering::Relaxed),
        api.retry_budget_balance(),
    );
    if let Some(read) = api.read_retry_budget_balance() {
        text.push_str(&format!(", read retry budget {read:.1} left"));
    }
    text
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

/// Passes items through until the first error, which it yields, then ends without polling the
/// source again (so a failed listing does not start the next one: a partial history must not
/// look complete).
pub(crate) fn end_at_first_error<T, E, S>(
    source: S,
) -> impl Stream<Item = Result<T, E>> + Send + 'static
where
    T: Send + 'static,
    E: Send + 'static,
    S: Stream<Item = Result<T, E>> + Send + 'static,
{
    stream::unfold(
        (Box::pin(source), false),
        |(mut source, failed)| async move {
            if failed {
                return None;
            }
            let item = source.next().await?;
            let failed = item.is_err();
            Some((item, (source, failed)))
        },
    )
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
    let target = display_target(resp.url());
    let bytes = read_body(resp, method).await?;
    let value = serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode {
        method: method.to_owned(),
        target,
        reason: e.to_string(),
    })?;
    Ok((headers, value))
}

/// The code to report for an error answer with `code` and `kind` (its `type`) at `status`, and
/// its classification: the `code` when it has one, classified by `classify`; otherwise the
/// `type` (`http_error` when it has none either), classified by `by_type`.
pub(crate) fn classify_answer(
    code: Option<&str>,
    kind: Option<&str>,
    status: u16,
    classify: fn(&str, Option<u16>) -> Classification,
    by_type: impl FnOnce(&str) -> Classification,
) -> (String, Classification) {
    if let Some(code) = code.filter(|c| !c.is_empty()) {
        return (code.to_owned(), classify(code, Some(status)));
    }
    let kind = kind.filter(|k| !k.is_empty()).unwrap_or("http_error");
    (kind.to_owned(), by_type(kind))
}

/// The health verdict for a probe that got no answer from `provider` it could use: down, with
/// what went wrong.
pub(crate) fn unanswered(provider: &str, err: &ClientError) -> (HealthStatus, String) {
    let reason = match err {
        ClientError::Decode { .. } => {
            format!("{provider} answered with a body apiops cannot read: {err}")
        }
        ClientError::Transport { .. } => format!("no answer from {provider}: {err}"),
        other => other.to_string(),
    };
    (HealthStatus::Down, reason)
}

/// An HTTP error answer from `target`, as a health probe's tests receive it.
#[cfg(test)]
pub(crate) fn status_error(target: &str, code: u16, body: &str) -> ClientError {
    ClientError::Status {
        method: "GET".into(),
        target: target.into(),
        status: code,
        body: body.into(),
        retry_after: None,
    }
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

    #[tokio::test]
    async fn a_stream_ends_at_its_first_error_without_polling_on() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let polled = Arc::new(AtomicUsize::new(0));
        let p = Arc::clone(&polled);
        let source =
            stream::iter(vec![Ok(1), Err("boom"), Ok(2), Err("again")]).inspect(move |_| {
                p.fetch_add(1, Ordering::SeqCst);
            });
        let got: Vec<Result<i32, &str>> = end_at_first_error(source).collect().await;
        assert_eq!(got, vec![Ok(1), Err("boom")]);
        assert_eq!(polled.load(Ordering::SeqCst), 2);
        let clean: Vec<Result<i32, &str>> = end_at_first_error(stream::iter(vec![Ok(1), Ok(2)]))
            .collect()
            .await;
        assert_eq!(clean, vec![Ok(1), Ok(2)]);
    }

    #[test]
    fn path_segments_are_plain_identifiers() {
        assert_eq!(path_segment("we_123-abc"), Some("we_123-abc"));
        for bad in ["", "../x", "a/b", "a?b", "a b", "é", &"x".repeat(201)] {
            assert_eq!(path_segment(bad), None, "{bad}");
        }
    }
}
