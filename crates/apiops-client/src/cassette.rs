//! Record and replay of HTTP exchanges, so provider tests run offline and deterministically:
//! record once against the real API (`APIOPS_CASSETTE=record`), replay in CI
//! (`APIOPS_CASSETTE=replay`) without touching the network.
//!
//! A cassette is a pretty-printed JSON file of interactions in the order they happened. Nothing
//! secret reaches it: request fields are normalized with secrets replaced by `REDACTED`, response
//! headers are limited to a few non-sensitive ones, every response string goes through the
//! [`Redactor`], and the host and port are replaced by placeholders, so one cassette replays
//! against any base URL. This is a test tool, not an HTTP cache: it does not honor cache headers,
//! and it stores bodies as text (a binary body is kept lossily).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use http::{Extensions, HeaderMap, HeaderName, HeaderValue, StatusCode, Version};
use reqwest::{Request, Response, ResponseBuilderExt};
use reqwest_middleware::{Middleware, Next};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::{Position, Url};

use crate::error::ClientError;
use crate::redact::{
    REDACTED, Redactor, is_rate_limit_header, is_sensitive_header, is_sensitive_query_param,
};

/// The environment variable choosing the [`CassetteMode`].
pub const CASSETTE_ENV: &str = "APIOPS_CASSETTE";

/// Stands for the recorded server's `scheme://host[:port]` in stored text.
pub const ORIGIN_PLACEHOLDER: &str = "{origin}";

/// Stands for the recorded server's `host[:port]` in stored text.
pub const HOST_PLACEHOLDER: &str = "{host}";

/// The cassette file format this code reads and writes.
const FORMAT: u32 = 1;

/// Whether requests go to the network, are recorded, or are served from a cassette.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CassetteMode {
    /// No cassette: requests pass through.
    #[default]
    Off,
    /// Requests go to the network and each exchange is appended to the cassette.
    Record,
    /// Requests are answered from the cassette; the network is never used.
    Replay,
}

impl CassetteMode {
    /// The mode named by [`CASSETTE_ENV`] (`record`, `replay` or `off`, any case); unset or empty
    /// means [`CassetteMode::Off`].
    pub fn from_env() -> Result<Self, ClientError> {
        match std::env::var(CASSETTE_ENV) {
            Ok(v) => Self::from_env_value(Some(&v)),
            Err(std::env::VarError::NotPresent) => Ok(CassetteMode::Off),
            Err(std::env::VarError::NotUnicode(_)) => Err(invalid_mode("(not UTF-8)")),
        }
    }

    /// The mode for a value of [`CASSETTE_ENV`], `None` when it is unset. Split out of
    /// [`CassetteMode::from_env`] so it can be tested without touching the process environment.
    pub fn from_env_value(value: Option<&str>) -> Result<Self, ClientError> {
        match value.map(str::trim) {
            None | Some("") => Ok(CassetteMode::Off),
            Some(v) => v.parse(),
        }
    }
}

impl FromStr for CassetteMode {
    type Err = ClientError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "off" => Ok(CassetteMode::Off),
            "record" => Ok(CassetteMode::Record),
            "replay" => Ok(CassetteMode::Replay),
            _ => Err(invalid_mode(s)),
        }
    }
}

fn invalid_mode(value: &str) -> ClientError {
    ClientError::Cassette(format!(
        "{CASSETTE_ENV}={value:?} is not valid; expected one of: record, replay, off"
    ))
}

/// A request as a cassette stores it: exactly the parts that identify it.
///
/// Every string is normalized: the server's origin and host replaced by the placeholders, each
/// registered secret replaced by [`REDACTED`] (not masked, so a replay run with other
/// credentials still matches), and each sensitive query value (see
/// [`is_sensitive_query_param`]) replaced by [`REDACTED`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// The HTTP method, upper case.
    pub method: String,
    /// The URL path as sent (percent-encoded), base path included.
    pub path: String,
    /// The decoded query parameters, sorted by name then value; stored as one form-encoded
    /// string (`a=1&b=2`) to keep the file readable.
    #[serde(with = "query_string")]
    pub query: Vec<(String, String)>,
    /// SHA-256 (hex) of the normalized body; `None` without a body, `"stream"` for a streaming
    /// body, which cannot be read without consuming it.
    pub body_sha256: Option<String>,
}

impl RecordedRequest {
    /// Describes `req` as a cassette stores and matches it.
    pub fn from_request(req: &Request, redactor: &Redactor) -> Self {
        let url = req.url();
        let normalize = |text: &str| -> String {
            redactor
                .redact_to_placeholder(&placeholders_in(text, url))
                .into_owned()
        };
        let mut query: Vec<(String, String)> = url
            .query_pairs()
            .map(|(name, value)| {
                let value = if is_sensitive_query_param(&name) {
                    REDACTED.to_owned()
                } else {
                    normalize(&value)
                };
                (normalize(&name), value)
            })
            .collect();
        query.sort();
        let body_sha256 = match req.body().map(|b| b.as_bytes()) {
            None | Some(Some([])) => None,
            Some(None) => Some("stream".to_owned()),
            Some(Some(bytes)) => Some(match std::str::from_utf8(bytes) {
                Ok(text) => hex::encode(Sha256::digest(normalize(text).as_bytes())),
                Err(_) => hex::encode(Sha256::digest(bytes)),
            }),
        };
        RecordedRequest {
            method: req.method().as_str().to_owned(),
            path: normalize(url.path()),
            query,
            body_sha256,
        }
    }

    /// The lookup key: method, path, sorted query and body hash, as
    /// `GET /v1/things?a=1&api_key=REDACTED body=-` (`-` when there is no body). Two requests
    /// with the same key are the same request as far as replay is concerned.
    pub fn key(&self) -> String {
        let body = self.body_sha256.as_deref().unwrap_or("-");
        format!("{} {} body={body}", self.method, self.target())
    }

    /// Path and query, as shown in errors.
    pub fn target(&self) -> String {
        if self.query.is_empty() {
            return self.path.clone();
        }
        format!("{}?{}", self.path, query_string::encode(&self.query))
    }
}

/// The query as one form-encoded string in the file.
mod query_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn encode(pairs: &[(String, String)]) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    }

    pub(super) fn serialize<S: Serializer>(
        pairs: &[(String, String)],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&encode(pairs))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<(String, String)>, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(url::form_urlencoded::parse(text.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect())
    }
}

/// A response as a cassette stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The kept headers (see [`is_recorded_header`]) by lower-case name, values redacted; several
    /// values of one header are joined with `, `.
    pub headers: BTreeMap<String, String>,
    /// The body as text, redacted, with the server's origin and host as placeholders.
    pub body: String,
}

impl RecordedResponse {
    /// Describes a response of a request to `url`, scrubbing with `redactor`.
    pub fn new(
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        url: &Url,
        redactor: &Redactor,
    ) -> Self {
        let scrub =
            |text: &str| -> String { redactor.redact(&placeholders_in(text, url)).into_owned() };
        let mut kept: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in headers {
            let Some(value) = value
                .to_str()
                .ok()
                .filter(|_| is_recorded_header(name.as_str()))
            else {
                continue;
            };
            kept.entry(name.as_str().to_owned())
                .and_modify(|v| {
                    v.push_str(", ");
                    v.push_str(&scrub(value));
                })
                .or_insert_with(|| scrub(value));
        }
        RecordedResponse {
            status: status.as_u16(),
            headers: kept,
            body: scrub(&String::from_utf8_lossy(body)),
        }
    }

    /// A live response for a request to `url`: placeholders filled in with `url`'s origin and
    /// host, and `url` as the response's URL.
    pub fn to_response(&self, url: &Url) -> Result<Response, ClientError> {
        let status = StatusCode::from_u16(self.status)
            .map_err(|_| ClientError::Cassette(format!("invalid status {}", self.status)))?;
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ClientError::Cassette(format!("invalid header name {name:?}")))?;
            let value = HeaderValue::from_str(&placeholders_out(value, url))
                .map_err(|_| ClientError::Cassette(format!("invalid value for header {name}")))?;
            headers.append(name, value);
        }
        let body = placeholders_out(&self.body, url).into_owned().into_bytes();
        rebuild_response(status, Version::HTTP_11, headers, url.clone(), body)
    }
}

/// One recorded exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interaction {
    /// What was asked.
    pub request: RecordedRequest,
    /// What came back.
    pub response: RecordedResponse,
}

/// Whether a response header is kept in a cassette: `content-type`, the retry signals
/// (`retry-after`, `retry-after-ms`, `x-should-retry`, `stripe-should-retry`), the rate-limit
/// signals (`x-ratelimit-*`, `ratelimit*`, `x-rate-limit-*`, `twilio-concurrent-requests`) and
/// the deprecation signals (`deprecation`, `sunset`), `link` (next pages, `rel="deprecation"`;
/// its URLs get the origin placeholders like bodies) — the headers the client and its callers
/// react to — and never a sensitive one ([`is_sensitive_header`]).
pub fn is_recorded_header(name: &str) -> bool {
    const KEPT: &[&str] = &[
        "content-type",
        "retry-after",
        "retry-after-ms",
        "x-should-retry",
        "stripe-should-retry",
        "twilio-concurrent-requests",
        "deprecation",
        "sunset",
        "link",
    ];
    let name = name.to_ascii_lowercase();
    (KEPT.contains(&name.as_str()) || is_rate_limit_header(&name)) && !is_sensitive_header(&name)
}

/// The on-disk shape of a cassette.
#[derive(Serialize, Deserialize)]
struct CassetteFile {
    /// The file format version, for a future change of shape.
    format: u32,
    interactions: Vec<Interaction>,
}

/// A cassette: a JSON file of recorded interactions, and the mode it is used in.
#[derive(Debug, Clone)]
pub struct Cassette {
    /// Where the cassette lives; named in every error about it.
    path: PathBuf,
    /// Whether it is being recorded or replayed.
    mode: CassetteMode,
    /// The exchanges, in the order they happened.
    interactions: Vec<Interaction>,
}

impl Cassette {
    /// Opens the cassette at `path` for `mode`. Replay reads the file now (an error if it is
    /// missing or malformed); Record starts empty and replaces the file on the first exchange;
    /// Off touches nothing.
    pub fn open(path: impl Into<PathBuf>, mode: CassetteMode) -> Result<Self, ClientError> {
        let path = path.into();
        let interactions = match mode {
            CassetteMode::Replay => load(&path)?,
            CassetteMode::Record | CassetteMode::Off => Vec::new(),
        };
        Ok(Cassette {
            path,
            mode,
            interactions,
        })
    }

    /// Opens the cassette at `path` in the mode [`CASSETTE_ENV`] names; `None` when it is off.
    pub fn from_env(path: impl Into<PathBuf>) -> Result<Option<Self>, ClientError> {
        match CassetteMode::from_env()? {
            CassetteMode::Off => Ok(None),
            mode => Self::open(path, mode).map(Some),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The mode it is used in.
    pub fn mode(&self) -> CassetteMode {
        self.mode
    }

    /// The recorded exchanges, oldest first.
    pub fn interactions(&self) -> &[Interaction] {
        &self.interactions
    }

    /// Appends an exchange (in memory; see [`Cassette::save`]).
    pub fn push(&mut self, interaction: Interaction) {
        self.interactions.push(interaction);
    }

    /// Writes the cassette, atomically: to a temporary file beside it, then renamed over it, so
    /// a crash never leaves half a cassette. Creates missing parent directories.
    pub fn save(&self) -> Result<(), ClientError> {
        let fail = |what: &str, e: std::io::Error| {
            ClientError::Cassette(format!("{}: cannot {what}: {e}", self.path.display()))
        };
        let file = CassetteFile {
            format: FORMAT,
            interactions: self.interactions.clone(),
        };
        let mut json = serde_json::to_string_pretty(&file)
            .map_err(|e| ClientError::Cassette(format!("{}: {e}", self.path.display())))?;
        json.push('\n');
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail("create its directory", e))?;
        }
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "cassette".to_owned());
        let tmp = self
            .path
            .with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        std::fs::write(&tmp, json).map_err(|e| fail("write", e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            fail("replace", e)
        })
    }
}

fn load(path: &Path) -> Result<Vec<Interaction>, ClientError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ClientError::Cassette(format!(
            "{}: cannot read ({e}); record it first with {CASSETTE_ENV}=record",
            path.display()
        ))
    })?;
    let file: CassetteFile = serde_json::from_str(&text)
        .map_err(|e| ClientError::Cassette(format!("{}: malformed: {e}", path.display())))?;
    if file.format != FORMAT {
        return Err(ClientError::Cassette(format!(
            "{}: format {} is not supported (expected {FORMAT})",
            path.display(),
            file.format
        )));
    }
    Ok(file.interactions)
}

/// Records exchanges into, or replays them from, a [`Cassette`]; passes requests through when
/// the cassette is off. Sits just inside the trace middleware, so a replayed request is logged
/// like a live one and no breaker, retry or rate gate sees it.
#[derive(Debug, Clone)]
pub struct CassetteMiddleware {
    /// Shared by the clones the middleware stack makes.
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// Copied out of the cassette so reading it needs no lock.
    mode: CassetteMode,
    /// Scrubs response text before it is written.
    redactor: Redactor,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    cassette: Cassette,
    /// Replay: the interactions recorded under each key, in order.
    by_key: HashMap<String, Vec<usize>>,
    /// Replay: how many times each key has been served.
    served: HashMap<String, usize>,
}

impl CassetteMiddleware {
    /// A middleware using `cassette`, scrubbing what it records with `redactor` (give it the
    /// client's redactor, so the client's credentials never reach the file).
    pub fn new(cassette: Cassette, redactor: Redactor) -> Self {
        let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, interaction) in cassette.interactions.iter().enumerate() {
            by_key.entry(interaction.request.key()).or_default().push(i);
        }
        CassetteMiddleware {
            shared: Arc::new(Shared {
                mode: cassette.mode,
                redactor,
                state: Mutex::new(State {
                    cassette,
                    by_key,
                    served: HashMap::new(),
                }),
            }),
        }
    }

    /// The mode the cassette is used in.
    pub fn mode(&self) -> CassetteMode {
        self.shared.mode
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves consistent data: every update is a
        // single push or counter bump.
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    async fn record(
        &self,
        req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let request = RecordedRequest::from_request(&req, &self.shared.redactor);
        let resp = next.run(req, extensions).await?;
        let status = resp.status();
        let version = resp.version();
        let headers = resp.headers().clone();
        let url = resp.url().clone();
        let body = resp.bytes().await?;
        let response = RecordedResponse::new(status, &headers, &body, &url, &self.shared.redactor);
        {
            let mut state = self.state();
            state.cassette.push(Interaction { request, response });
            state.cassette.save()?;
        }
        // The caller gets the live response, unredacted and with all its headers.
        Ok(rebuild_response(status, version, headers, url, body)?)
    }

    fn replay(&self, req: &Request) -> Result<Response, ClientError> {
        let request = RecordedRequest::from_request(req, &self.shared.redactor);
        let key = request.key();
        let recorded = {
            let mut state = self.state();
            let State {
                cassette,
                by_key,
                served,
            } = &mut *state;
            let Some(indices) = by_key.get(&key) else {
                let target = request.target();
                return Err(ClientError::ReplayMiss {
                    cassette: cassette.path.display().to_string(),
                    method: request.method,
                    target,
                    key,
                });
            };
            let count = served.entry(key).or_insert(0);
            // Repeated requests get the recorded answers in order, then the last one again.
            let pick = indices
                .get(*count)
                .or(indices.last())
                .and_then(|&i| cassette.interactions.get(i))
                .map(|i| i.response.clone());
            *count += 1;
            pick
        };
        let recorded = recorded.ok_or_else(|| ClientError::Cassette("corrupt index".to_owned()))?;
        recorded.to_response(req.url())
    }
}

#[async_trait::async_trait]
impl Middleware for CassetteMiddleware {
    async fn handle(
        &self,
        req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        match self.shared.mode {
            CassetteMode::Off => next.run(req, extensions).await,
            CassetteMode::Record => self.record(req, extensions, next).await,
            CassetteMode::Replay => Ok(self.replay(&req)?),
        }
    }
}

/// A `reqwest::Response` from parts, with `url` as its [`Response::url`] (without it reqwest
/// would report a dummy URL).
fn rebuild_response(
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
    url: Url,
    body: impl Into<reqwest::Body>,
) -> Result<Response, ClientError> {
    let mut builder = http::Response::builder()
        .status(status)
        .version(version)
        .url(url);
    if let Some(h) = builder.headers_mut() {
        *h = headers;
    }
    let response = builder
        .body(body.into())
        .map_err(|e| ClientError::Cassette(format!("cannot rebuild response: {e}")))?;
    Ok(Response::from(response))
}

/// `text` with `url`'s origin and then its `host[:port]` replaced by the placeholders.
fn placeholders_in<'a>(text: &'a str, url: &Url) -> Cow<'a, str> {
    let origin = url.origin().ascii_serialization();
    let authority = &url[Position::BeforeHost..Position::AfterPort];
    let mut out = Cow::Borrowed(text);
    if origin != "null" && out.contains(origin.as_str()) {
        out = Cow::Owned(out.replace(origin.as_str(), ORIGIN_PLACEHOLDER));
    }
    if !authority.is_empty() && out.contains(authority) {
        out = Cow::Owned(out.replace(authority, HOST_PLACEHOLDER));
    }
    out
}

/// The inverse of [`placeholders_in`] for the server being replayed against.
fn placeholders_out<'a>(text: &'a str, url: &Url) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(text);
    if out.contains(ORIGIN_PLACEHOLDER) {
        let origin = url.origin().ascii_serialization();
        out = Cow::Owned(out.replace(ORIGIN_PLACEHOLDER, &origin));
    }
    if out.contains(HOST_PLACEHOLDER) {
        let authority = &url[Position::BeforeHost..Position::AfterPort];
        out = Cow::Owned(out.replace(HOST_PLACEHOLDER, authority));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    use axum::extract::RawQuery;
    use axum::http::HeaderMap as AxumHeaders;
    use secrecy::SecretString;

    const AUTH_CANARY: &str = "sk_test_AUTHCANARY0123456789";
    const QUERY_CANARY: &str = "qk_test_QUERYCANARY987654321";

    fn redactor() -> Redactor {
        Redactor::new([
            SecretString::from(AUTH_CANARY),
            SecretString::from(QUERY_CANARY),
        ])
    }

    struct Server {
        base: String,
        port: u16,
        task: tokio::task::JoinHandle<()>,
    }

    impl Server {
        async fn stop(self) {
            self.task.abort();
            let _ = self.task.await;
        }
    }

    /// `/v1/echo` echoes the Authorization header and the query and links to the next page by
    /// absolute URL; `/v1/count` answers `n=1`, `n=2`...; `/v1/items` echoes a POST body.
    async fn serve() -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let base = format!("http://{addr}");
        let next_page = format!("{base}/v1/echo?page=2");
        let counter = Arc::new(AtomicU32::new(0));
        let app = axum::Router::new()
            .route(
                "/v1/echo",
                axum::routing::get(move |headers: AxumHeaders, RawQuery(query): RawQuery| {
                    let next_page = next_page.clone();
                    async move {
                        let auth = headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned();
                        let body = serde_json::json!({
                            "auth": auth,
                            "query": query.unwrap_or_default(),
                            "next": next_page,
                        });
                        (
                            [
                                ("content-type", "application/json".to_owned()),
                                ("x-ratelimit-remaining-requests", "42".to_owned()),
                                ("retry-after", "1".to_owned()),
                                ("set-cookie", format!("session={AUTH_CANARY}")),
                                ("x-echo-token", QUERY_CANARY.to_owned()),
                                ("x-request-id", "req_123".to_owned()),
                            ],
                            body.to_string(),
                        )
                    }
                }),
            )
            .route(
                "/v1/count",
                axum::routing::get(move || {
                    let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                    async move { format!("n={n}") }
                }),
            )
            .route(
                "/v1/items",
                axum::routing::post(|body: String| async move {
                    (axum::http::StatusCode::CREATED, body)
                }),
            );
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        Server {
            base,
            port: addr.port(),
            task,
        }
    }

    fn client(mw: CassetteMiddleware) -> reqwest_middleware::ClientWithMiddleware {
        reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(mw)
            .build()
    }

    /// GETs `url` with the canary as bearer token; the answer is a 200 from that very URL
    /// (`what` names the GET in a failure).
    async fn get_with_token(
        http: &reqwest_middleware::ClientWithMiddleware,
        url: &str,
        what: &str,
    ) -> Response {
        let answer = http
            .get(url)
            .header("authorization", format!("Bearer {AUTH_CANARY}"))
            .send()
            .await
            .expect(what);
        assert_eq!(answer.status().as_u16(), 200, "{what}");
        assert_eq!(answer.url().as_str(), url, "{what}");
        answer
    }

    /// The body of a plain GET of `url` (`what` names the GET in a failure).
    async fn get_text(
        http: &reqwest_middleware::ClientWithMiddleware,
        url: &str,
        what: &str,
    ) -> String {
        let answer = http.get(url).send().await.expect(what);
        answer.text().await.expect("body")
    }

    fn request(method: reqwest::Method, url: &str, body: Option<&str>) -> Request {
        let mut req = Request::new(method, Url::parse(url).expect("test URL parses"));
        if let Some(b) = body {
            *req.body_mut() = Some(reqwest::Body::from(b.to_owned()));
        }
        req
    }

    fn into_client_error(err: reqwest_middleware::Error) -> ClientError {
        match err {
            reqwest_middleware::Error::Middleware(e) => {
                e.downcast::<ClientError>().expect("a ClientError")
            }
            reqwest_middleware::Error::Reqwest(e) => panic!("unexpected transport error: {e}"),
        }
    }

    #[test]
    fn mode_from_env_value() {
        let cases: &[(Option<&str>, Option<CassetteMode>)] = &[
            (None, Some(CassetteMode::Off)),
            (Some(""), Some(CassetteMode::Off)),
            (Some("off"), Some(CassetteMode::Off)),
            (Some("record"), Some(CassetteMode::Record)),
            (Some(" Replay "), Some(CassetteMode::Replay)),
            (Some("REPLAY"), Some(CassetteMode::Replay)),
            (Some("play"), None),
            (Some("on"), None),
        ];
        for (value, want) in cases {
            match (CassetteMode::from_env_value(*value), want) {
                (Ok(got), Some(want)) => assert_eq!(got, *want, "value {value:?}"),
                (Err(e), None) => {
                    let msg = e.to_string();
                    assert!(msg.contains(CASSETTE_ENV), "{msg}");
                    assert!(msg.contains("record, replay, off"), "{msg}");
                }
                (got, want) => panic!("value {value:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn key_is_method_path_sorted_query_and_body_hash() {
        let r = redactor();
        let req = request(
            reqwest::Method::GET,
            &format!("http://127.0.0.1:4242/v1/x?b=2&api_key={AUTH_CANARY}&a=1&a=0"),
            None,
        );
        let recorded = RecordedRequest::from_request(&req, &r);
        assert_eq!(
            recorded.key(),
            "GET /v1/x?a=0&a=1&api_key=REDACTED&b=2 body=-"
        );

        // A secret in a path or in a non-sensitive parameter is replaced by the placeholder.
        let req = request(
            reqwest::Method::GET,
            &format!("https://api.example.com/v1/{AUTH_CANARY}?q={QUERY_CANARY}"),
            None,
        );
        let recorded = RecordedRequest::from_request(&req, &r);
        assert_eq!(recorded.target(), "/v1/REDACTED?q=REDACTED");
    }

    #[test]
    fn body_hash_ignores_which_secret_and_host_were_used() {
        let body_a =
            format!("{{\"token\":\"{AUTH_CANARY}\",\"cb\":\"http://127.0.0.1:4242/hook\"}}");
        let other_secret = "sk_test_OTHERSECRET000000000";
        let body_b =
            format!("{{\"token\":\"{other_secret}\",\"cb\":\"http://10.0.0.1:8080/hook\"}}");
        let a = RecordedRequest::from_request(
            &request(
                reqwest::Method::POST,
                "http://127.0.0.1:4242/v1/items",
                Some(&body_a),
            ),
            &redactor(),
        );
        let b = RecordedRequest::from_request(
            &request(
                reqwest::Method::POST,
                "http://10.0.0.1:8080/v1/items",
                Some(&body_b),
            ),
            &Redactor::new([SecretString::from(other_secret)]),
        );
        assert_eq!(a.key(), b.key());
        let c = RecordedRequest::from_request(
            &request(
                reqwest::Method::POST,
                "http://127.0.0.1:4242/v1/items",
                Some("{}"),
            ),
            &redactor(),
        );
        assert_ne!(a.key(), c.key());
        assert!(a.body_sha256.as_deref().is_some_and(|h| h.len() == 64));
    }

    #[test]
    fn recorded_headers() {
        let cases: &[(&str, bool)] = &[
            ("content-type", true),
            ("retry-after", true),
            ("x-ratelimit-remaining-requests", true),
            ("x-ratelimit-reset-tokens", true),
            ("twilio-concurrent-requests", true),
            ("Link", true),
            ("set-cookie", false),
            ("authorization", false),
            ("x-request-id", false),
            ("date", false),
        ];
        for (name, want) in cases {
            assert_eq!(is_recorded_header(name), *want, "header {name}");
        }
    }

    #[tokio::test]
    async fn records_without_secrets_or_host_then_replays_offline() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("cassettes").join("echo.json");
        let server = serve().await;
        let echo_url = format!("{}/v1/echo?z=1&api_key={QUERY_CANARY}", server.base);
        let items_url = format!("{}/v1/items", server.base);
        let post_body = format!("{{\"token\":\"{AUTH_CANARY}\"}}");

        let recording = Cassette::open(&path, CassetteMode::Record).expect("open for record");
        let http = client(CassetteMiddleware::new(recording, redactor()));
        let live = get_with_token(&http, &echo_url, "live GET").await;
        // The caller sees the live answer whole.
        assert!(live.headers().contains_key("set-cookie"));
        let live_body = live.text().await.expect("live body");
        assert!(live_body.contains(AUTH_CANARY) && live_body.contains(QUERY_CANARY));
        let live_post = http
            .post(&items_url)
            .body(post_body.clone())
            .send()
            .await
            .expect("live POST");
        assert_eq!(live_post.status().as_u16(), 201);
        let live_post_body = live_post.text().await.expect("live POST body");

        let file = std::fs::read_to_string(&path).expect("cassette written");
        for canary in [AUTH_CANARY, QUERY_CANARY] {
            assert!(!file.contains(canary), "{canary} in cassette:\n{file}");
        }
        assert!(
            !file.contains(&format!(":{}", server.port)),
            "port in cassette:\n{file}"
        );
        assert!(!file.contains("127.0.0.1"), "host in cassette:\n{file}");
        assert!(
            !file.contains("set-cookie") && !file.contains("x-echo-token"),
            "{file}"
        );
        assert!(!file.contains("x-request-id"), "{file}");
        for want in [
            "\"format\": 1",
            "x-ratelimit-remaining-requests",
            "\"query\": \"api_key=REDACTED&z=1\"",
            "sk_t...6789",
            "{origin}/v1/echo?page=2",
        ] {
            assert!(file.contains(want), "missing {want:?} in cassette:\n{file}");
        }
        // No temporary file left behind.
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().expect("parent"))
            .expect("list dir")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");

        let base = server.base.clone();
        server.stop().await;

        let replaying = Cassette::open(&path, CassetteMode::Replay).expect("open for replay");
        assert_eq!(replaying.interactions().len(), 2);
        let http = client(CassetteMiddleware::new(replaying, redactor()));
        let replayed = get_with_token(&http, &echo_url, "replayed GET").await;
        assert_eq!(
            replayed.headers().get("x-ratelimit-remaining-requests"),
            Some(&HeaderValue::from_static("42"))
        );
        assert_eq!(
            replayed.headers().get("content-type"),
            Some(&HeaderValue::from_static("application/json"))
        );
        let replayed_body = replayed.text().await.expect("replayed body");
        // The same body, as the redactor shows it; the next-page link points at this server.
        assert_eq!(replayed_body, redactor().redact(&live_body));
        assert!(replayed_body.contains(&format!("{base}/v1/echo?page=2")));

        let replayed_post = http
            .post(&items_url)
            .body(post_body)
            .send()
            .await
            .expect("replayed POST");
        assert_eq!(replayed_post.status().as_u16(), 201);
        assert_eq!(
            replayed_post.text().await.expect("replayed POST body"),
            redactor().redact(&live_post_body)
        );
    }

    #[tokio::test]
    async fn repeated_requests_replay_in_order_then_repeat_the_last() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("count.json");
        let server = serve().await;
        let url = format!("{}/v1/count", server.base);

        let http = client(CassetteMiddleware::new(
            Cassette::open(&path, CassetteMode::Record).expect("open"),
            redactor(),
        ));
        for want in ["n=1", "n=2"] {
            assert_eq!(get_text(&http, &url, "live").await, want);
        }
        server.stop().await;

        let http = client(CassetteMiddleware::new(
            Cassette::open(&path, CassetteMode::Replay).expect("open"),
            redactor(),
        ));
        for want in ["n=1", "n=2", "n=2"] {
            assert_eq!(get_text(&http, &url, "replay").await, want);
        }
    }

    #[tokio::test]
    async fn replay_miss_names_the_request() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("miss.json");
        let mut cassette = Cassette::open(&path, CassetteMode::Record).expect("open");
        cassette.push(Interaction {
            request: RecordedRequest::from_request(
                &request(reqwest::Method::GET, "http://127.0.0.1:9/v1/echo", None),
                &redactor(),
            ),
            response: RecordedResponse {
                status: 200,
                headers: BTreeMap::new(),
                body: "ok".to_owned(),
            },
        });
        cassette.save().expect("save");

        // Port 9 (discard): nothing listens, so a network attempt would fail differently.
        let http = client(CassetteMiddleware::new(
            Cassette::open(&path, CassetteMode::Replay).expect("open"),
            redactor(),
        ));
        let hit = http
            .get("http://127.0.0.1:9/v1/echo")
            .send()
            .await
            .expect("hit");
        assert_eq!(hit.text().await.expect("body"), "ok");

        let err = http
            .get(format!(
                "http://127.0.0.1:9/v1/other?api_key={QUERY_CANARY}"
            ))
            .send()
            .await
            .expect_err("a miss");
        let err = into_client_error(err);
        let shown = err.to_string();
        match err {
            ClientError::ReplayMiss {
                cassette,
                method,
                target,
                key,
            } => {
                assert_eq!(cassette, path.display().to_string());
                assert_eq!(method, "GET");
                assert_eq!(target, "/v1/other?api_key=REDACTED");
                assert_eq!(key, "GET /v1/other?api_key=REDACTED body=-");
            }
            other => panic!("expected ReplayMiss, got {other:?}"),
        }
        assert!(!shown.contains(QUERY_CANARY), "{shown}");
        assert!(
            shown.contains("miss.json") && shown.contains("/v1/other"),
            "{shown}"
        );
    }

    #[test]
    fn replay_of_a_missing_or_malformed_file_names_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("nope.json");
        let err = Cassette::open(&missing, CassetteMode::Replay).expect_err("missing");
        let msg = err.to_string();
        assert!(
            msg.contains("nope.json") && msg.contains("APIOPS_CASSETTE=record"),
            "{msg}"
        );

        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{not json").expect("write");
        let msg = Cassette::open(&bad, CassetteMode::Replay)
            .expect_err("malformed")
            .to_string();
        assert!(
            msg.contains("bad.json") && msg.contains("malformed"),
            "{msg}"
        );
    }

    #[tokio::test]
    async fn off_passes_through_and_writes_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("off.json");
        let server = serve().await;
        let http = client(CassetteMiddleware::new(
            Cassette::open(&path, CassetteMode::Off).expect("open"),
            redactor(),
        ));
        let body = http
            .get(format!("{}/v1/count", server.base))
            .send()
            .await
            .expect("live")
            .text()
            .await
            .expect("body");
        assert_eq!(body, "n=1");
        assert!(!path.exists());
        server.stop().await;
    }
}
