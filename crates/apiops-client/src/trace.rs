//! The outermost middleware: one `tracing` event per logical request, so every call an API client
//! makes is visible in the logs with its outcome, latency and how many attempts it took; and its
//! metrics through the `metrics` facade (`apiops_http_requests_total{client,status}`,
//! `apiops_http_request_duration_seconds{client}`, `apiops_http_rate_limit_headroom_ratio`),
//! which cost nothing until a program installs a recorder.
//!
//! An event names the request by method, host and path only. It never carries headers, bodies or
//! the query string, and error messages go through the [`Redactor`] and URL redaction first; this
//! is not a wire dump for debugging payloads.

use std::sync::Arc;

use apiops_core::metric_names;
use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::error::{ClientError, TransportKind};
use crate::redact::{Redactor, redact_urls_in_text};

/// The `tracing` target of the request events.
pub const TRACE_TARGET: &str = "apiops_client";

/// Which attempt of a logical request this is, 1 for the first try. The retry middleware
/// inserts it into the request's extensions before each attempt; [`TraceMiddleware`] reports
/// the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt(pub u32);

/// Logs each request at INFO on target [`TRACE_TARGET`] with the fields `client`, `method`,
/// `host`, `path`, `latency_ms`, `attempt`, and either `status` or `error_kind` and `error`.
#[derive(Debug, Clone)]
pub struct TraceMiddleware {
    /// Which API client the request belongs to, so lines of several providers can be told apart.
    client_name: Arc<str>,
    /// Scrubs the client's secrets from paths and error messages before they are logged.
    redactor: Redactor,
}

impl TraceMiddleware {
    /// A middleware logging requests of client `client_name`, scrubbing with `redactor`.
    pub fn new(client_name: impl Into<Arc<str>>, redactor: Redactor) -> Self {
        TraceMiddleware {
            client_name: client_name.into(),
            redactor,
        }
    }
}

#[async_trait::async_trait]
impl Middleware for TraceMiddleware {
    async fn handle(
        &self,
        req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let method = req.method().clone();
        let url = req.url();
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => "?".to_owned(),
        };
        let path = self.redactor.redact(url.path()).into_owned();
        let started = tokio::time::Instant::now();

        let result = next.run(req, extensions).await;

        let elapsed = started.elapsed();
        let latency_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        let attempt = extensions.get::<Attempt>().map_or(1, |a| a.0);
        record_metrics(&self.client_name, &result, elapsed);
        match &result {
            Ok(resp) => tracing::info!(
                target: TRACE_TARGET,
                client = %self.client_name,
                method = %method,
                host = %host,
                path = %path,
                status = resp.status().as_u16(),
                latency_ms,
                attempt,
                "request done"
            ),
            Err(err) => {
                let (error_kind, message) = describe_error(err);
                let message = self.redactor.redact(&message).into_owned();
                tracing::info!(
                    target: TRACE_TARGET,
                    client = %self.client_name,
                    method = %method,
                    host = %host,
                    path = %path,
                    error_kind = %error_kind,
                    error = %message,
                    latency_ms,
                    attempt,
                    "request failed"
                );
            }
        }
        result
    }
}

/// The request's metrics (no-ops until a recorder is installed, as in `apiops serve`): one count
/// per logical request by client and status (the HTTP code, or what failed instead), its
/// latency, and the rate-limit headroom its response headers report. Labels are bounded: the
/// client's name, a status code or one of a few error kinds.
fn record_metrics(
    client: &Arc<str>,
    result: &reqwest_middleware::Result<Response>,
    elapsed: std::time::Duration,
) {
    let status: std::borrow::Cow<'static, str> = match result {
        Ok(resp) => resp.status().as_u16().to_string().into(),
        Err(err) => describe_kind(err).into(),
    };
    let client = metrics::SharedString::from(Arc::clone(client));
    metrics::counter!(
        metric_names::HTTP_REQUESTS_TOTAL,
        "client" => client.clone(),
        "status" => status
    )
    .increment(1);
    metrics::histogram!(metric_names::HTTP_REQUEST_DURATION_SECONDS, "client" => client.clone())
        .record(elapsed.as_secs_f64());
    if let Ok(resp) = result {
        let snapshot = crate::rate::RateLimitSnapshot::from_headers(resp.headers());
        if let Some(h) = snapshot.request_headroom() {
            metrics::gauge!(
                metric_names::HTTP_RATE_LIMIT_HEADROOM_RATIO,
                "client" => client.clone(),
                "limit" => "requests"
            )
            .set(h);
        }
        if let Some(h) = snapshot.token_headroom() {
            metrics::gauge!(
                metric_names::HTTP_RATE_LIMIT_HEADROOM_RATIO,
                "client" => client,
                "limit" => "tokens"
            )
            .set(h);
        }
    }
}

/// A short, stable name for what failed.
fn describe_kind(err: &reqwest_middleware::Error) -> &'static str {
    match err {
        reqwest_middleware::Error::Reqwest(e) => {
            transport_kind_name(crate::client::transport_kind(e))
        }
        reqwest_middleware::Error::Middleware(e) => match e.downcast_ref::<ClientError>() {
            Some(ClientError::Transport { kind, .. }) => transport_kind_name(*kind),
            Some(ClientError::Status { .. }) => "status",
            Some(ClientError::CircuitOpen { .. }) => "circuit_open",
            Some(ClientError::ReplayMiss { .. }) => "replay_miss",
            Some(ClientError::Auth(_)) => "auth",
            Some(ClientError::InvalidRequest(_)) => "invalid_request",
            Some(ClientError::Cassette(_)) => "cassette",
            Some(_) => "client",
            None => "middleware",
        },
    }
}

/// A short, stable name for what failed, and a message with every URL in it redacted.
fn describe_error(err: &reqwest_middleware::Error) -> (&'static str, String) {
    let kind = describe_kind(err);
    let mut message = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(err);
    while let Some(s) = source {
        let text = s.to_string();
        // anyhow and reqwest often repeat the inner message in the outer one.
        if !message.ends_with(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
        source = s.source();
    }
    (kind, redact_urls_in_text(&message).into_owned())
}

fn transport_kind_name(kind: TransportKind) -> &'static str {
    match kind {
        TransportKind::Timeout => "timeout",
        TransportKind::Connect => "connect",
        TransportKind::Reset => "reset",
        TransportKind::Body => "body",
        TransportKind::Other => "transport",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    use secrecy::SecretString;
    use tracing::instrument::WithSubscriber;
    use tracing_subscriber::fmt::MakeWriter;

    const QUERY_CANARY: &str = "canary-query-7f3a9c2e5b1d";
    const HEADER_CANARY: &str = "canary-header-4e8b0d6a2c9f";

    /// Collects everything the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Captured {
        fn text(&self) -> String {
            let bytes = self.0.lock().expect("log buffer lock").clone();
            String::from_utf8(bytes).expect("logs are UTF-8")
        }
    }

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .expect("log buffer lock")
                .extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;

        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    fn subscriber(captured: &Captured) -> impl tracing::Subscriber + Send + Sync + 'static {
        tracing_subscriber::fmt()
            .with_writer(captured.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish()
    }

    async fn serve() -> (String, tokio::task::JoinHandle<()>) {
        let app = axum::Router::new().route(
            "/v1/things",
            axum::routing::get(|| async { (axum::http::StatusCode::CREATED, "made") }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        (format!("http://{addr}"), task)
    }

    fn client(mw: TraceMiddleware) -> reqwest_middleware::ClientWithMiddleware {
        reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(mw)
            .build()
    }

    #[tokio::test]
    async fn logs_method_path_status_but_no_secrets() {
        let (base, server) = serve().await;
        let captured = Captured::default();
        let mw = TraceMiddleware::new("stripe", Redactor::default());
        let http = client(mw);
        let url = format!("{base}/v1/things?limit=2&api_key={QUERY_CANARY}");
        let resp = async {
            http.get(&url)
                .header("Authorization", format!("Bearer {HEADER_CANARY}"))
                .send()
                .await
        }
        .with_subscriber(subscriber(&captured))
        .await
        .expect("request succeeds");
        assert_eq!(resp.status().as_u16(), 201);
        server.abort();

        let logs = captured.text();
        assert_eq!(logs.lines().count(), 1, "one event per request: {logs}");
        for want in [
            "INFO",
            "apiops_client",
            "client=stripe",
            "method=GET",
            "path=/v1/things",
            "status=201",
            "latency_ms=",
            "attempt=1",
        ] {
            assert!(logs.contains(want), "missing {want:?} in {logs}");
        }
        assert!(!logs.contains(QUERY_CANARY), "query secret leaked: {logs}");
        assert!(
            !logs.contains(HEADER_CANARY),
            "header secret leaked: {logs}"
        );
        assert!(!logs.contains("limit=2"), "query string logged: {logs}");
    }

    /// Stands in for the retry middleware: marks the request as its third attempt.
    struct ThirdAttempt;

    #[async_trait::async_trait]
    impl Middleware for ThirdAttempt {
        async fn handle(
            &self,
            req: Request,
            extensions: &mut Extensions,
            next: Next<'_>,
        ) -> reqwest_middleware::Result<Response> {
            extensions.insert(Attempt(3));
            next.run(req, extensions).await
        }
    }

    #[tokio::test]
    async fn reports_the_attempt_set_by_inner_middleware() {
        let (base, server) = serve().await;
        let captured = Captured::default();
        let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(TraceMiddleware::new("openai", Redactor::default()))
            .with(ThirdAttempt)
            .build();
        async { http.get(format!("{base}/v1/things")).send().await }
            .with_subscriber(subscriber(&captured))
            .await
            .expect("request succeeds");
        server.abort();
        let logs = captured.text();
        assert!(logs.contains("attempt=3"), "{logs}");
    }

    #[tokio::test]
    async fn errors_are_logged_without_secrets() {
        // A port held by a socket that is bound but never listens: connecting is refused, and
        // no other test can take the port meanwhile (a dropped listener's port could be).
        let held = tokio::net::TcpSocket::new_v4().expect("socket");
        held.bind("127.0.0.1:0".parse().expect("addr"))
            .expect("bind");
        let port = held.local_addr().expect("local addr").port();

        let path_secret = "sk_live_pathsecret0123456789";
        let redactor = Redactor::new([SecretString::from(path_secret)]);
        let captured = Captured::default();
        let http = client(TraceMiddleware::new("twilio", redactor));
        let url = format!("http://127.0.0.1:{port}/v1/{path_secret}?token={QUERY_CANARY}");
        let result = async { http.get(&url).send().await }
            .with_subscriber(subscriber(&captured))
            .await;
        assert!(result.is_err());

        let logs = captured.text();
        assert!(logs.contains("request failed"), "{logs}");
        assert!(logs.contains("error_kind=connect"), "{logs}");
        assert!(logs.contains("path=/v1/sk_l...6789"), "{logs}");
        assert!(!logs.contains(QUERY_CANARY), "query secret leaked: {logs}");
        assert!(!logs.contains(path_secret), "path secret leaked: {logs}");
        drop(held);
    }

    #[test]
    fn middleware_errors_are_named_by_kind() {
        let err = reqwest_middleware::Error::from(ClientError::CircuitOpen {
            host: "api.example.com".into(),
            retry_in: std::time::Duration::from_secs(3),
        });
        let (kind, message) = describe_error(&err);
        assert_eq!(kind, "circuit_open");
        assert!(message.contains("api.example.com"), "{message}");

        let err = reqwest_middleware::Error::middleware(std::io::Error::other(
            "gave up on https://h/x?api_key=sk_9",
        ));
        let (kind, message) = describe_error(&err);
        assert_eq!(kind, "middleware");
        assert!(!message.contains("sk_9"), "{message}");
    }
}
