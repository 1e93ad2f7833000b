//! One configured API: its document, its operations index, and the resilient client every call
//! goes through (retries, breaker, rate gate, redacted logs, version pin, deprecation
//! detection: all apiops-client's). Here the pieces meet: [`Api::prepare`] checks a call
//! without sending anything, [`Api::send`] sends one request, [`Api::each_item`] follows a
//! listing's pages and hands its items over one at a time, [`Api::plan`] describes a write
//! before it runs, and [`Api::health`] times the health operation.

use std::time::{Duration, Instant, SystemTime};

use apiops_client::pagination::{Cursor, page_url};
use apiops_client::{ApiClient, ClientBuilder, ClientError, Method};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use crate::auth::ApiAuth;
use crate::error::{CallError, PagingError};
use crate::headroom::Headroom;
use crate::index::{IDEMPOTENCY_KEY, Index, OpClass, Operation};
use crate::paging::{NextPage, read_page};
use crate::request::{Body, PreparedRequest, prepare};
use crate::spec::Spec;

/// The largest answer body read (a page or a single answer).
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// What an API is configured with, secrets resolved.
#[derive(Debug, Clone, Default)]
pub struct ApiConfig {
    /// The name used on the command line.
    pub name: String,
    /// The base URL; the document's first server when `None`.
    pub base_url: Option<String>,
    /// The credentials.
    pub auth: ApiAuth,
    /// A version pin: `(header, value)` sent on every request.
    pub version: Option<(String, String)>,
    /// The header idempotency keys go in, when not `Idempotency-Key`.
    pub idempotency_header: Option<String>,
    /// The health operation (operationId or `METHOD /path`); the cheapest read otherwise.
    pub health: Option<String>,
}

/// One answer.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body: JSON, else the text as a string, else `null`.
    pub body: Value,
    /// Rate-limit headroom from the answer's headers.
    pub headroom: Headroom,
    /// The answer's `Link` header.
    #[serde(skip)]
    pub link: Option<String>,
    /// How long the call took, retries included.
    pub latency_ms: u64,
}

/// A write, described before it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WritePlan {
    /// The API's name.
    pub api: String,
    /// The operation's id.
    pub operation: String,
    /// Its summary.
    pub summary: String,
    /// Write or deletion.
    pub class: OpClass,
    /// The request, credentials not included.
    pub request: PreparedRequest,
    /// The idempotency header and key sent, when the operation declares one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency: Option<(String, String)>,
    /// Only a person may confirm it (a deletion).
    pub needs_person: bool,
    /// The document marks the operation deprecated.
    pub deprecated: bool,
    /// A stable id for this plan: the same call with the same inputs has the same id.
    pub plan_id: String,
    /// A GraphQL mutation: its answer is read by GraphQL's rules (`errors[]` fail it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub graphql: bool,
}

/// The health check's result.
#[derive(Debug, Clone, Serialize)]
pub struct ApiHealth {
    /// The API's name.
    pub api: String,
    /// The operation used.
    pub operation: String,
    /// `ok`, `degraded` (rate limited, or headroom under 10 %) or `down`.
    pub status: &'static str,
    /// The status code, when the API answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Latency of the call.
    pub latency_ms: u64,
    /// Rate-limit headroom.
    pub headroom: Headroom,
    /// What failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Deprecation or sunset notices seen.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deprecations: Vec<String>,
    /// The failure as the event log keeps it, when the check failed after sending.
    #[serde(skip)]
    pub event: Option<apiops_core::ErrorEvent>,
}

impl ApiHealth {
    /// The verdict in the built-in services' shape (the monitor's rules and the dashboard read
    /// it): `details` holds the operation, the status code and `rate_limit_headroom = "12.5%
    /// left"` when the API sent rate-limit headers.
    pub fn verdict(&self, service: apiops_core::Service) -> apiops_core::Health {
        use apiops_core::HealthStatus;
        let status = match self.status {
            "ok" => HealthStatus::Operational,
            "degraded" => HealthStatus::Degraded,
            _ => HealthStatus::Down,
        };
        let mut details = std::collections::BTreeMap::new();
        details.insert("operation".to_owned(), self.operation.clone());
        if let Some(s) = self.http_status {
            details.insert("http_status".to_owned(), s.to_string());
        }
        if let Some(share) = self.headroom.share() {
            details.insert(
                "rate_limit_headroom".to_owned(),
                format!("{:.1}% left", share * 100.0),
            );
        }
        apiops_core::Health {
            service,
            status,
            latency_ms: Some(self.latency_ms),
            details,
            warnings: self.deprecations.clone(),
            category: self.event.as_ref().map(|e| e.category),
            reason: self.error.clone(),
        }
    }
}

/// A configured API, ready to call.
#[derive(Debug)]
pub struct Api {
    config: ApiConfig,
    spec: Spec,
    index: Index,
    client: ApiClient,
    query_auth: Option<(String, SecretString)>,
    idempotency_header: String,
    /// The GraphQL endpoint, when the API is one (`[apis.NAME] graphql = URL`): its health is
    /// a `query { __typename }` sent there.
    pub(crate) graphql: Option<String>,
}

impl Api {
    /// Indexes `spec` and builds the client: `tune` applies the shared client settings
    /// (timeouts, retries, breaker) to the builder.
    pub fn new(
        config: ApiConfig,
        spec: Spec,
        tune: impl FnOnce(ClientBuilder) -> Result<ClientBuilder, String>,
    ) -> Result<Api, CallError> {
        let idempotency_header = config
            .idempotency_header
            .clone()
            .unwrap_or_else(|| IDEMPOTENCY_KEY.to_owned());
        let index = Api::index_of(&spec, config.idempotency_header.as_deref())
            .map_err(|e| CallError::Config(e.to_string()))?;
        let base = match (&config.base_url, spec.first_server()) {
            (Some(b), _) => b.clone(),
            (None, Some(s)) if s.starts_with("http://") || s.starts_with("https://") => {
                s.to_owned()
            }
            _ => {
                return Err(CallError::Config(format!(
                    "{}: no base_url configured and the document names no absolute server URL",
                    config.name
                )));
            }
        };
        let base_url = Url::parse(&base)
            .map_err(|e| CallError::Config(format!("{}: base_url {base:?}: {e}", config.name)))?;
        let mut builder =
            ApiClient::builder(&config.name, &base).auth(config.auth.client_auth(&base_url)?);
        for secret in config.auth.extra_secrets() {
            builder = builder.redact(secret);
        }
        if let Some((h, v)) = &config.version {
            builder = builder
                .version_pin(h, v)
                .map_err(|e| CallError::Config(format!("{}: version pin: {e}", config.name)))?;
        }
        // POSTs carrying a key may be retried: only where the API reads the key.
        if index
            .operations()
            .iter()
            .any(|o| o.idempotency_header.is_some())
            || config.idempotency_header.is_some()
        {
            builder = builder
                .idempotency_header(&idempotency_header)
                .map_err(|e| CallError::Config(format!("{}: {e}", config.name)))?;
        }
        let builder = tune(builder).map_err(CallError::Config)?;
        let client = builder
            .build()
            .map_err(|e| CallError::Config(e.to_string()))?;
        let query_auth = match &config.auth {
            ApiAuth::Query { name, value } => Some((name.clone(), value.clone())),
            _ => None,
        };
        Ok(Api {
            config,
            spec,
            index,
            client,
            query_auth,
            idempotency_header,
            graphql: None,
        })
    }

    /// The operations of `spec` as [`Api::new`] indexes them (`idempotency_header`: the
    /// configured header, else `Idempotency-Key`), without building a client: listing the
    /// operations needs neither credentials nor the network.
    pub fn index_of(
        spec: &Spec,
        idempotency_header: Option<&str>,
    ) -> Result<Index, crate::SpecError> {
        Index::build(spec, Some(idempotency_header.unwrap_or(IDEMPOTENCY_KEY)))
    }

    /// The configured name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The document.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// The operations.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The header idempotency keys go in.
    pub fn idempotency_header(&self) -> &str {
        &self.idempotency_header
    }

    /// The client (its breaker, rate gate and deprecation notices).
    pub fn client(&self) -> &ApiClient {
        &self.client
    }

    /// The operation `name` and a request that fits it; nothing is sent.
    pub fn prepare(
        &self,
        name: &str,
        args: &[(String, String)],
        body: Option<Value>,
    ) -> Result<(&Operation, PreparedRequest), CallError> {
        let op = self.index.find(self.name(), name)?;
        let req = prepare(&self.spec, op, args, body)?;
        Ok((op, req))
    }

    /// Describes a write. The idempotency key derives from the API, the operation and the
    /// request, so running the same call again (after a crash, a timeout) sends the same key
    /// and the API does the work once; `fresh` salts it for a deliberate repeat.
    pub fn plan(&self, op: &Operation, req: PreparedRequest, fresh: Option<&str>) -> WritePlan {
        let mut hash = Sha256::new();
        hash.update(self.name().as_bytes());
        hash.update([0]);
        hash.update(op.id.as_bytes());
        hash.update([0]);
        hash.update(serde_json::to_vec(&req).unwrap_or_default());
        if let Some(salt) = fresh {
            hash.update([0]);
            hash.update(salt.as_bytes());
        }
        let digest = hex::encode(hash.finalize());
        let plan_id = format!("api_{}", &digest[..16]);
        let given = req
            .headers
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(&self.idempotency_header))
            .map(|(_, v)| v.clone());
        let idempotency = op.idempotency_header.as_ref().map(|h| {
            (
                h.clone(),
                given.unwrap_or_else(|| format!("apiops-{}", &digest[..32])),
            )
        });
        WritePlan {
            api: self.name().to_owned(),
            operation: op.id.clone(),
            summary: op.summary.clone(),
            class: op.class,
            request: req,
            idempotency,
            needs_person: op.class == OpClass::Delete,
            deprecated: op.deprecated,
            plan_id,
            graphql: false,
        }
    }

    /// Runs a planned write: its request with its idempotency key.
    pub async fn execute(&self, plan: &WritePlan) -> Result<Answer, CallError> {
        let mut req = plan.request.clone();
        if let Some((h, k)) = &plan.idempotency {
            req.headers
                .retain(|(name, _)| !name.eq_ignore_ascii_case(h));
            req.headers.push((h.clone(), k.clone()));
        }
        let answer = self.send(&req).await?;
        if plan.graphql {
            // Errors fail a mutation even beside partial data: the journal records it failed.
            let (data, errors, messages) = self.read_graphql(answer.body.clone(), &req.path)?;
            if !errors.is_empty() {
                return Err(CallError::from_client(ClientError::GraphQl {
                    messages,
                    errors: Value::Array(errors),
                    data: Some(data),
                }));
            }
        }
        Ok(answer)
    }

    /// Sends one request and reads its answer.
    pub async fn send(&self, req: &PreparedRequest) -> Result<Answer, CallError> {
        self.send_to(req, None).await
    }

    async fn send_to(&self, req: &PreparedRequest, url: Option<&Url>) -> Result<Answer, CallError> {
        let method = Method::from_bytes(req.method.as_bytes())
            .map_err(|_| CallError::Config(format!("method {:?}", req.method)))?;
        let mut rb = match url {
            Some(u) => self.client.request(method, u.as_str()),
            None => self.client.request(method, &req.path),
        }
        .map_err(CallError::Client)?;
        if url.is_none() {
            rb = rb.query(&req.query);
        }
        if let Some((name, value)) = &self.query_auth {
            rb = rb.query(&[(name.as_str(), value.expose_secret())]);
        }
        for (h, v) in &req.headers {
            rb = rb.header(h.as_str(), v.as_str());
        }
        rb = match &req.body {
            Some(Body::Json(v)) => rb.json(v),
            Some(Body::Form(pairs)) => rb.form(pairs),
            None => rb,
        };
        let started = Instant::now();
        let resp = self.client.send(rb).await.map_err(CallError::from_client)?;
        let status = resp.status().as_u16();
        let headroom = Headroom::from_headers(resp.headers(), SystemTime::now());
        let link = resp
            .headers()
            .get(http::header::LINK)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| CallError::Paging(PagingError::Read(e.without_url())))?;
        if bytes.len() > MAX_BODY_BYTES {
            return Err(CallError::Paging(PagingError::TooLarge {
                bytes: bytes.len(),
                limit: MAX_BODY_BYTES,
            }));
        }
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                Value::String(
                    self.client
                        .redactor()
                        .redact(&String::from_utf8_lossy(&bytes))
                        .into_owned(),
                )
            })
        };
        Ok(Answer {
            status,
            body,
            headroom,
            link,
            latency_ms: duration_ms(started.elapsed()),
        })
    }

    /// Follows every page of a read, handing each item to `on_item` as it comes: one page in
    /// memory at a time. Returns the number of items. Stops with an error when the server
    /// hands out the same next page twice in a row or a next link leaves the API's origin.
    pub async fn each_item(
        &self,
        op: &Operation,
        req: PreparedRequest,
        on_item: &mut dyn FnMut(Value) -> Result<(), CallError>,
    ) -> Result<u64, CallError> {
        if op.class != OpClass::Read {
            return Err(CallError::Config(format!(
                "{} is a {}: only reads are paged",
                op.id,
                op.class.as_str()
            )));
        }
        let first = self.client.url(&req.path).map_err(CallError::Client)?;
        let mut page_number = op.paging.page_param.as_ref().map(|p| {
            req.query
                .iter()
                .find(|(k, _)| k == p)
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(1)
        });
        let mut req = req;
        let mut url: Option<Url> = None;
        let mut last: Option<NextPage> = None;
        let mut count = 0u64;
        loop {
            let answer = self.send_to(&req, url.as_ref()).await?;
            let page = read_page(&op.paging, answer.body, answer.link.as_deref(), page_number);
            for item in page.items {
                count += 1;
                on_item(item)?;
            }
            let Some(next) = page.next else {
                return Ok(count);
            };
            if last.as_ref() == Some(&next) {
                return Err(CallError::Paging(PagingError::Repeated(show_next(&next))));
            }
            match &next {
                NextPage::Url(link) => {
                    let u = page_url(&first, self.client.base_url(), &Cursor::Url(link.clone()))
                        .map_err(|e| CallError::Paging(e.into()))?;
                    url = Some(u);
                    page_number = None;
                }
                NextPage::Param { name, value } => {
                    req.query.retain(|(k, _)| k != name);
                    req.query.push((name.clone(), value.clone()));
                    if op.paging.page_param.as_deref() == Some(name.as_str()) {
                        page_number = value.parse().ok();
                    }
                    url = None;
                }
            }
            last = Some(next);
        }
    }

    /// Calls the health operation once and reports latency, status and headroom. A GraphQL
    /// endpoint is asked `query { __typename }`, and `errors[]` in its answer fail the check
    /// with their category (beside data: degraded; without: down).
    pub async fn health(&self) -> Result<ApiHealth, CallError> {
        let (operation, req) = match &self.graphql {
            Some(endpoint) => (
                crate::graphql::HEALTH_QUERY.to_owned(),
                Api::graphql_request(endpoint, crate::graphql::HEALTH_QUERY, Default::default()),
            ),
            None => {
                let op = match &self.config.health {
                    Some(name) => self.index.find(self.name(), name)?,
                    None => self.index.cheapest_read().ok_or_else(|| {
                        CallError::Config(format!(
                            "{}: no GET without required parameters to check health with; set health = \"OPERATION\"",
                            self.name()
                        ))
                    })?,
                };
                (op.id.clone(), prepare(&self.spec, op, &[], None)?)
            }
        };
        let started = Instant::now();
        let result = self.send(&req).await;
        let deprecations = self
            .client
            .deprecations()
            .iter()
            .map(|d| d.message())
            .collect();
        let mut health = ApiHealth {
            api: self.name().to_owned(),
            operation,
            status: "ok",
            http_status: None,
            latency_ms: duration_ms(started.elapsed()),
            headroom: Headroom::default(),
            error: None,
            deprecations,
            event: None,
        };
        let failure = match result {
            Ok(answer) => {
                health.http_status = Some(answer.status);
                health.latency_ms = answer.latency_ms;
                health.headroom = answer.headroom;
                if health.headroom.share().is_some_and(|s| s < 0.1) {
                    health.status = "degraded";
                }
                match &self.graphql {
                    Some(_) => self.graphql_health_failure(answer.body, &req.path),
                    None => None,
                }
            }
            Err(e) => {
                health.http_status = match &e {
                    CallError::Api { failure, .. } => failure.status,
                    _ => None,
                };
                Some((e, false))
            }
        };
        if let Some((e, beside_data)) = failure {
            health.status = match e.category() {
                apiops_core::Category::RateLimit => "degraded",
                _ if beside_data => "degraded",
                _ => "down",
            };
            health.error = Some(e.to_string());
            health.event = self.failure_event(&health.operation, &e, jiff::Timestamp::now());
        }
        Ok(health)
    }
}

fn show_next(next: &NextPage) -> String {
    match next {
        NextPage::Url(u) => apiops_client::redact::display_url(u),
        NextPage::Param { name, value } => format!("{name}={value}"),
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use apiops_core::{ApiName, HealthStatus, Service};

    use super::*;

    fn health(status: &'static str, remaining: Option<u64>) -> ApiHealth {
        ApiHealth {
            api: "mail".into(),
            operation: "domains/list".into(),
            status,
            http_status: Some(200),
            latency_ms: 42,
            headroom: Headroom {
                limit: remaining.map(|_| 200),
                remaining,
                ..Headroom::default()
            },
            error: None,
            deprecations: vec!["Sunset 2027-01-01".into()],
            event: None,
        }
    }

    #[test]
    fn the_verdict_carries_status_headroom_and_notices() {
        let service = Service::Api(ApiName::new("mail").expect("name"));
        let ok = health("ok", Some(25)).verdict(service);
        assert_eq!(ok.status, HealthStatus::Operational);
        assert_eq!(ok.latency_ms, Some(42));
        assert_eq!(ok.details["operation"], "domains/list");
        assert_eq!(ok.details["http_status"], "200");
        assert_eq!(ok.details["rate_limit_headroom"], "12.5% left");
        assert_eq!(ok.warnings, ["Sunset 2027-01-01"]);
        let degraded = health("degraded", None).verdict(service);
        assert_eq!(degraded.status, HealthStatus::Degraded);
        assert!(!degraded.details.contains_key("rate_limit_headroom"));
        assert_eq!(
            health("down", None).verdict(service).status,
            HealthStatus::Down
        );
    }
}
