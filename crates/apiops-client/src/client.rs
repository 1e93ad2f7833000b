//! [`ClientBuilder`] assembles the middleware stack for one API; [`ApiClient`] sends requests
//! through it and turns every failure into a [`ClientError`].

use std::sync::Arc;
use std::time::Duration;

use apiops_core::text::truncate;
use reqwest::{Method, Response};
use reqwest_middleware::{ClientWithMiddleware, RequestBuilder};
use serde::de::DeserializeOwned;
use url::Url;

use crate::bodies::Body;

use std::sync::atomic::{AtomicU64, Ordering};

use http::{HeaderName, HeaderValue};
use secrecy::SecretString;

use crate::auth::{Auth, AuthMiddleware};
use crate::breaker::{BreakerConfig, BreakerMiddleware, BreakerState, Breakers};
use crate::cassette::{Cassette, CassetteMiddleware};
use crate::clock::Clock;
use crate::error::{ClientError, TransportKind};
use crate::idempotency::IdempotencyMiddleware;
use crate::rate::{RateConfig, RateGate, RateGateMiddleware};
use crate::reads::{AttemptTimeoutMiddleware, HedgeMiddleware, ReadPolicy, ReadState};
use crate::redact::{Redactor, display_target};
use crate::retry::{RetryBudget, RetryMiddleware, RetryPolicy};
use crate::trace::TraceMiddleware;
use crate::version::{DeprecationNotice, Deprecations, VersionMiddleware};

/// How much of an error response's body a [`ClientError::Status`] keeps (after redaction).
const MAX_ERROR_BODY_CHARS: usize = 2048;

/// Counters shared by every clone of a client.
#[derive(Debug, Default)]
pub struct ClientStats {
    /// Logical requests started.
    pub requests: AtomicU64,
    /// Retries sent.
    pub retries: AtomicU64,
    /// Hedged copies of slow reads sent.
    pub hedges: AtomicU64,
    /// Hedged copies whose answer was the one used.
    pub hedges_won: AtomicU64,
}

/// Configures and builds an [`ApiClient`]. Every piece has a safe default: 5 s connect and 30 s
/// total timeouts, 3 attempts with full-jitter backoff from 250 ms capped at 20 s, a retry
/// budget of 10 % of traffic plus 10, a breaker per host, no quota, no auth, and reads timed,
/// hedged and retried as [`ReadPolicy::default`] says.
#[derive(Debug)]
pub struct ClientBuilder {
    name: String,
    base_url: String,
    connect_timeout: Duration,
    timeout: Duration,
    auth: Auth,
    retry: RetryPolicy,
    budget: (f64, u32),
    reads: ReadPolicy,
    breaker: Option<BreakerConfig>,
    rate: RateConfig,
    idempotency_header: Option<HeaderName>,
    pins: Vec<(HeaderName, HeaderValue)>,
    user_agent: String,
    redact: Vec<SecretString>,
    cassette: Option<Cassette>,
    clock: Clock,
}

impl ClientBuilder {
    /// The time source (default `tokio::time`; tests inject a manual clock).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Connect timeout (default 5 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Total timeout per attempt (default 30 s).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// The credential scheme.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// The retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The retry budget: `ratio` of a retry per request plus `min_reserve`.
    pub fn retry_budget(mut self, ratio: f64, min_reserve: u32) -> Self {
        self.budget = (ratio, min_reserve);
        self
    }

    /// How reads are timed, hedged and retried ([`ReadPolicy::off`] makes them like any
    /// request).
    pub fn reads(mut self, policy: ReadPolicy) -> Self {
        self.reads = policy;
        self
    }

    /// Breaker thresholds; `None` disables the breaker.
    pub fn breaker(mut self, config: Option<BreakerConfig>) -> Self {
        self.breaker = config;
        self
    }

    /// The rate gate's limits.
    pub fn rate(mut self, config: RateConfig) -> Self {
        self.rate = config;
        self
    }

    /// Sends a generated idempotency key in `header` on every POST that lacks one, and lets
    /// such POSTs be retried.
    pub fn idempotency_header(mut self, header: &str) -> Result<Self, ClientError> {
        let name = HeaderName::from_bytes(header.as_bytes())
            .map_err(|_| ClientError::InvalidRequest(format!("bad header name {header:?}")))?;
        self.idempotency_header = Some(name);
        Ok(self)
    }

    /// Pins an API version by sending `header: value` on every request.
    pub fn version_pin(mut self, header: &str, value: &str) -> Result<Self, ClientError> {
        let name = HeaderName::from_bytes(header.as_bytes())
            .map_err(|_| ClientError::InvalidRequest(format!("bad header name {header:?}")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| ClientError::InvalidRequest(format!("bad value for {header}")))?;
        self.pins.push((name, value));
        Ok(self)
    }

    /// The `User-Agent` (default `apiops/<version>`).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// More secret values to scrub from logs, errors and cassettes (the auth scheme's own
    /// secrets are always included).
    pub fn redact(mut self, secret: SecretString) -> Self {
        self.redact.push(secret);
        self
    }

    /// Records to or replays from a cassette.
    pub fn cassette(mut self, cassette: Option<Cassette>) -> Self {
        self.cassette = cassette;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<ApiClient, ClientError> {
        let base = parse_base(&self.base_url)?;
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .user_agent(self.user_agent.clone())
            .build()
            .map_err(|e| ClientError::InvalidRequest(e.without_url().to_string()))?;
        if let Some(b) = &self.breaker {
            b.validate()?;
        }
        let mut secrets = self.auth.secrets();
        secrets.extend(self.redact);
        let redactor = Redactor::new(secrets);
        let stats = Arc::new(ClientStats::default());
        let budget = Arc::new(RetryBudget::new(self.budget.0, self.budget.1)?);
        let read_budget = if self.reads.read_budget_ratio > 0.0 || self.reads.read_budget_min > 0 {
            Some(Arc::new(RetryBudget::new(
                self.reads.read_budget_ratio,
                self.reads.read_budget_min,
            )?))
        } else {
            None
        };
        let reads = Arc::new(ReadState::new(self.reads, self.timeout)?);
        let gate = Arc::new(RateGate::new(&self.rate, self.clock.clone())?);
        let breakers = self.breaker.map(|b| Breakers::new(b, self.clock.clone()));
        let deprecations = Deprecations::default();

        // Outermost first: trace -> cassette -> breaker -> idempotency -> retry -> rate gate
        // -> hedge -> auth -> version pin -> attempt timeout -> transport.
        let mut stack = reqwest_middleware::ClientBuilder::new(http)
            .with(TraceMiddleware::new(self.name.clone(), redactor.clone()));
        if let Some(cassette) = self.cassette {
            stack = stack.with(CassetteMiddleware::new(cassette, redactor.clone()));
        }
        if let Some(b) = &breakers {
            stack = stack.with(BreakerMiddleware {
                breakers: b.clone(),
                client: self.name.as_str().into(),
            });
        }
        if let Some(h) = &self.idempotency_header {
            stack = stack.with(IdempotencyMiddleware::new(h.clone()));
        }
        let inner = stack
            .with(RetryMiddleware {
                policy: self.retry,
                budget: Arc::clone(&budget),
                read_budget: read_budget.clone(),
                idempotency_header: self.idempotency_header,
                stats: Arc::clone(&stats),
                clock: self.clock.clone(),
                client: self.name.as_str().into(),
            })
            .with(RateGateMiddleware {
                gate: Arc::clone(&gate),
            })
            .with(HedgeMiddleware {
                state: Arc::clone(&reads),
                gate: Arc::clone(&gate),
                stats: Arc::clone(&stats),
                client: self.name.as_str().into(),
            })
            .with(AuthMiddleware { auth: self.auth })
            .with(VersionMiddleware {
                pins: self.pins,
                seen: deprecations.clone(),
            })
            .with(AttemptTimeoutMiddleware {
                state: Arc::clone(&reads),
            })
            .build();
        Ok(ApiClient {
            name: self.name.into(),
            base,
            inner,
            stats,
            budget,
            read_budget,
            reads,
            gate,
            breakers,
            deprecations,
            redactor,
        })
    }
}

fn parse_base(base: &str) -> Result<Url, ClientError> {
    let mut url = Url::parse(base)
        .map_err(|e| ClientError::InvalidRequest(format!("base URL {base:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ClientError::InvalidRequest(format!(
            "base URL {base:?}: scheme must be http or https"
        )));
    }
    // A base path is a prefix: "https://api.openai.com/v1" + "/models" is ".../v1/models".
    let trimmed = url.path().trim_end_matches('/').to_owned();
    url.set_path(&trimmed);
    Ok(url)
}

/// A configured client for one API. Cheap to clone; clones share breakers, budgets and gates.
#[derive(Debug, Clone)]
pub struct ApiClient {
    name: Arc<str>,
    base: Url,
    inner: ClientWithMiddleware,
    stats: Arc<ClientStats>,
    budget: Arc<RetryBudget>,
    read_budget: Option<Arc<RetryBudget>>,
    reads: Arc<ReadState>,
    gate: Arc<RateGate>,
    breakers: Option<Breakers>,
    deprecations: Deprecations,
    redactor: Redactor,
}

impl ApiClient {
    /// Starts configuring a client named `name` (used in logs and metrics) for `base_url`.
    pub fn builder(name: &str, base_url: &str) -> ClientBuilder {
        ClientBuilder {
            name: name.to_owned(),
            base_url: base_url.to_owned(),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            auth: Auth::None,
            retry: RetryPolicy::default(),
            budget: (0.1, 10),
            reads: ReadPolicy::default(),
            breaker: Some(BreakerConfig::default()),
            rate: RateConfig::default(),
            idempotency_header: None,
            pins: Vec::new(),
            user_agent: concat!("apiops/", env!("CARGO_PKG_VERSION")).to_owned(),
            redact: Vec::new(),
            cassette: None,
            clock: Clock::default(),
        }
    }

    /// The client's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// Shared counters.
    pub fn stats(&self) -> &ClientStats {
        &self.stats
    }

    /// Retries this client may still spend.
    pub fn retry_budget_balance(&self) -> f64 {
        self.budget.balance()
    }

    /// Retries reads may still spend once the general budget is empty (`None` without a read
    /// budget).
    pub fn read_retry_budget_balance(&self) -> Option<f64> {
        self.read_budget.as_ref().map(|b| b.balance())
    }

    /// How reads are timed and hedged now: the policy, the recent latency quantiles, the
    /// attempt timeout a read would get.
    pub fn reads(&self) -> &ReadState {
        &self.reads
    }

    /// The rate gate (last rate-limit headers, pause, free slots).
    pub fn rate_gate(&self) -> &RateGate {
        &self.gate
    }

    /// The breaker state of each host used so far.
    pub fn breaker_states(&self) -> Vec<(String, BreakerState)> {
        self.breakers
            .as_ref()
            .map(Breakers::states)
            .unwrap_or_default()
    }

    /// The breaker state for this client's base host.
    pub fn breaker_state(&self) -> BreakerState {
        let host = crate::breaker::host_key(&self.base);
        self.breakers
            .as_ref()
            .map_or(BreakerState::Closed, |b| b.state(&host))
    }

    /// Deprecation notices seen on responses.
    pub fn deprecations(&self) -> Vec<DeprecationNotice> {
        self.deprecations.all()
    }

    /// The redactor holding this client's secrets.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Resolves a path (`/v1/models`, appended to the base path) or an absolute URL.
    pub fn url(&self, path_or_url: &str) -> Result<Url, ClientError> {
        if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            return Url::parse(path_or_url)
                .map_err(|e| ClientError::InvalidRequest(format!("URL: {e}")));
        }
        let mut url = self.base.clone();
        let (path, query) = match path_or_url.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_or_url, None),
        };
        let joined = format!(
            "{}/{}",
            self.base.path().trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        url.set_path(&joined);
        url.set_query(query);
        Ok(url)
    }

    /// A request builder for `method` on a path or absolute URL.
    pub fn request(
        &self,
        method: Method,
        path_or_url: &str,
    ) -> Result<RequestBuilder, ClientError> {
        Ok(self.inner.request(method, self.url(path_or_url)?))
    }

    /// Sends a request; a non-2xx answer becomes [`ClientError::Status`].
    pub async fn send(&self, rb: RequestBuilder) -> Result<Response, ClientError> {
        let (method, target) = match rb.try_clone().and_then(|b| b.build().ok()) {
            Some(req) => (req.method().to_string(), display_target(req.url())),
            None => ("?".to_owned(), "?".to_owned()),
        };
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let resp = rb
            .send()
            .await
            .map_err(|e| map_middleware_error(e, &method, &target))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let retry_after =
            crate::retry::parse_retry_after(resp.headers(), std::time::SystemTime::now());
        let body = resp.text().await.unwrap_or_default();
        Err(ClientError::Status {
            method,
            target,
            status: status.as_u16(),
            body: truncate(&self.redactor.redact(&body), MAX_ERROR_BODY_CHARS),
            retry_after,
        })
    }

    /// Sends a request and decodes a JSON body.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        rb: RequestBuilder,
    ) -> Result<T, ClientError> {
        let resp = self.send(rb).await?;
        let target = display_target(resp.url());
        let bytes = read_body(resp, "response").await?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode {
            method: "response".to_owned(),
            target,
            reason: e.to_string(),
        })
    }

    /// GETs a path or URL with query parameters and decodes its JSON body.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path_or_url: &str,
        query: &[(&str, String)],
    ) -> Result<T, ClientError> {
        let rb = self.request(Method::GET, path_or_url)?.query(query);
        self.send_json(rb).await
    }
}

/// The body of `resp`, read chunk by chunk into one buffer sized by its `Content-Length` (up to
/// 64 MiB ahead): a page never sits in memory twice, as collecting the chunks and then joining
/// them would leave it. It waits for room in the budget of bodies held at once
/// ([`crate::bodies`]) and holds its share until the [`Body`] is dropped. A body that breaks
/// off is a [`ClientError::Transport`] of kind [`TransportKind::Body`], named by `method` and
/// the response's target.
pub async fn read_body(mut resp: Response, method: &str) -> Result<Body, ClientError> {
    const MAX_AHEAD: u64 = 64 * 1024 * 1024;
    let length = resp
        .content_length()
        .map(|n| usize::try_from(n.min(MAX_AHEAD)).unwrap_or(0));
    let mut body = Body::for_length(length).await;
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => return Ok(body),
            Err(e) => {
                return Err(ClientError::Transport {
                    method: method.to_owned(),
                    target: display_target(resp.url()),
                    kind: TransportKind::Body,
                    message: e.without_url().to_string(),
                });
            }
        }
    }
}

/// Turns what the middleware stack returned into a [`ClientError`], keeping typed errors that
/// middlewares raised and stripping URLs from reqwest's messages.
pub(crate) fn map_middleware_error(
    e: reqwest_middleware::Error,
    method: &str,
    target: &str,
) -> ClientError {
    match e {
        reqwest_middleware::Error::Middleware(err) => match err.downcast::<ClientError>() {
            Ok(ce) => ce,
            Err(other) => ClientError::InvalidRequest(other.to_string()),
        },
        reqwest_middleware::Error::Reqwest(err) => transport_error(&err, method, target),
    }
}

/// Classifies a reqwest error as a [`ClientError::Transport`] without its URL.
pub(crate) fn transport_error(err: &reqwest::Error, method: &str, target: &str) -> ClientError {
    let kind = transport_kind(err);
    let mut message = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(err);
    while let Some(s) = source {
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&s.to_string());
        source = s.source();
    }
    // reqwest puts the URL (query included) in its Display; keep only what follows it.
    let message = strip_urls(&message);
    ClientError::Transport {
        method: method.to_owned(),
        target: target.to_owned(),
        kind,
        message,
    }
}

/// The kind of a reqwest failure.
pub(crate) fn transport_kind(err: &reqwest::Error) -> TransportKind {
    if err.is_timeout() {
        return TransportKind::Timeout;
    }
    if err.is_connect() {
        return TransportKind::Connect;
    }
    if err.is_body() || err.is_decode() {
        return TransportKind::Body;
    }
    let mut source: Option<&dyn std::error::Error> = Some(err);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            if matches!(
                io.kind(),
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof
            ) {
                return TransportKind::Reset;
            }
        }
        let text = s.to_string();
        if text.contains("connection closed") || text.contains("reset") {
            return TransportKind::Reset;
        }
        source = s.source();
    }
    TransportKind::Other
}

fn strip_urls(message: &str) -> String {
    message
        .split(' ')
        .map(|w| {
            let w2 = w.trim_matches(|c| c == '(' || c == ')');
            if w2.starts_with("http://") || w2.starts_with("https://") {
                "(url)"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_joins_paths_under_the_base_path() {
        let c = ApiClient::builder("t", "http://127.0.0.1:9/v1/")
            .build()
            .expect("client");
        assert_eq!(
            c.url("/models").expect("url").as_str(),
            "http://127.0.0.1:9/v1/models"
        );
        assert_eq!(
            c.url("models?limit=2").expect("url").as_str(),
            "http://127.0.0.1:9/v1/models?limit=2"
        );
        assert_eq!(
            c.url("https://other.example/x").expect("url").as_str(),
            "https://other.example/x"
        );
        assert!(ApiClient::builder("t", "ftp://x").build().is_err());
        assert!(ApiClient::builder("t", "not a url").build().is_err());
    }

    #[test]
    fn strips_urls_from_messages() {
        assert_eq!(
            strip_urls("error sending request for url (http://h/p?key=sekrit)"),
            "error sending request for url (url)"
        );
    }
}
