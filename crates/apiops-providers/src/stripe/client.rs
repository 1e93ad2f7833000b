//! A thin typed client of the Stripe endpoints apiops uses: `GET /v1/balance`,
//! `GET /v1/events` (with its filters, and the raw undelivered events for re-delivery),
//! `GET /v1/webhook_endpoints` (list and one) and `POST /v1/webhook_endpoints/{id}` (update,
//! with a caller's `Idempotency-Key`), over the resilient
//! [`ApiClient`] (Bearer auth, `Stripe-Version` pin, `Idempotency-Key` on POSTs, the rate gate,
//! retries and the breaker are all the client's).
//!
//! Response types name their fields as the 2023-08-16 spec does and keep only what apiops
//! reads; unknown fields are ignored, so newer API versions still parse. Types that stand for
//! several objects ([`FailureObject`]) make every field optional. Lists are streamed page by
//! page ([`apiops_client::pagination`]), never collected whole. This module knows nothing of
//! normalization or classification.

use apiops_client::pagination::{self, PageStyle};
use apiops_client::{ApiClient, ClientError, Method};
use futures::{Stream, TryStreamExt};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Most items Stripe returns per list page.
pub const MAX_PAGE_SIZE: u8 = 100;

/// The typed Stripe client. Cheap to clone; clones share the rate gate and breaker.
#[derive(Debug, Clone)]
pub struct StripeClient {
    /// The configured HTTP stack (base URL `https://api.stripe.com` or a simulator's).
    api: ApiClient,
}

impl StripeClient {
    /// Wraps a configured client whose base URL is Stripe's API root (no `/v1`).
    pub fn new(api: ApiClient) -> Self {
        StripeClient { api }
    }

    /// The underlying HTTP client (breaker state, rate gate, deprecations).
    pub fn api(&self) -> &ApiClient {
        &self.api
    }

    /// `GET /v1/balance`: the cheapest authenticated call.
    pub async fn balance(&self) -> Result<Balance, ClientError> {
        self.api.get_json("/v1/balance", &[]).await
    }

    /// `GET /v1/events?limit=1`: the newest event, whose `api_version` is the account's default
    /// version when it was rendered.
    pub async fn latest_event(&self) -> Result<Option<Event<ObjectRef>>, ClientError> {
        let list: List<Event<ObjectRef>> = self
            .api
            .get_json("/v1/events", &[("limit", "1".to_owned())])
            .await?;
        Ok(list.data.into_iter().next())
    }

    /// `GET /v1/events` with `query`, page by page (`starting_after` paging), each event's
    /// `data.object` decoded as `O`.
    pub fn event_pages<O>(
        &self,
        query: &EventQuery,
    ) -> impl Stream<Item = Result<Vec<Event<O>>, ClientError>> + Send + 'static + use<O>
    where
        O: for<'de> Deserialize<'de> + Send + 'static,
    {
        pagination::pages(
            self.api.clone(),
            "/v1/events".to_owned(),
            query.params(),
            PageStyle::Stripe,
        )
    }

    /// `GET /v1/webhook_endpoints/{id}`: one endpoint. An id that is not a plain identifier
    /// is refused before any request.
    pub async fn webhook_endpoint(&self, id: &str) -> Result<WebhookEndpoint, ClientError> {
        let id = endpoint_id(id)?;
        self.api
            .get_json(&format!("/v1/webhook_endpoints/{id}"), &[])
            .await
            .map_err(|e| self.scrub(e))
    }

    /// `POST /v1/webhook_endpoints/{id}` (form-encoded): applies `update` — `disabled`, `url`,
    /// `enabled_events[]` — and returns the endpoint as it now is.
    ///
    /// Sent with `Idempotency-Key: {idempotency_key}` when given, so a plan step can derive a
    /// stable key and a re-run after a crash is replayed by Stripe instead of applied twice
    /// (Stripe keeps keys for 24 hours, refuses a key reused with other parameters with an
    /// `idempotency_error`, and a key is at most 255 characters). Without one the client
    /// generates a fresh key, good for its own retries only. Either way the request carries a
    /// key, so transient failures are retried by the client.
    pub async fn update_webhook_endpoint(
        &self,
        id: &str,
        update: &EndpointUpdate,
        idempotency_key: Option<&str>,
    ) -> Result<WebhookEndpoint, ClientError> {
        let id = endpoint_id(id)?;
        let form = update.form()?;
        let mut rb = self
            .api
            .request(Method::POST, &format!("/v1/webhook_endpoints/{id}"))
            .map_err(|e| self.scrub(e))?
            .form(&form);
        if let Some(key) = idempotency_key {
            rb = rb.header(IDEMPOTENCY_HEADER, valid_idempotency_key(key)?);
        }
        self.api.send_json(rb).await.map_err(|e| self.scrub(e))
    }

    /// Every webhook endpoint, newest first (the [`webhook_endpoints`](Self::webhook_endpoints)
    /// stream collected: an account has at most 16).
    pub async fn all_webhook_endpoints(&self) -> Result<Vec<WebhookEndpoint>, ClientError> {
        self.webhook_endpoints()
            .try_collect()
            .await
            .map_err(|e| self.scrub(e))
    }

    /// `GET /v1/events?delivery_success=false&created[gte]={since}`, item by item across pages
    /// of [`MAX_PAGE_SIZE`], newest first: events created since `since` (whole seconds) that
    /// have not reached every endpoint yet. Each is the full event object as Stripe sent it,
    /// so it can be re-delivered verbatim. Stripe lists events of the last 30 days only.
    pub fn undelivered_events(
        &self,
        since: Timestamp,
    ) -> impl Stream<Item = Result<Value, ClientError>> + Send + 'static + use<> {
        let query = EventQuery {
            created_gte: Some(since.as_second()),
            delivery_success: Some(false),
            limit: MAX_PAGE_SIZE,
            ..EventQuery::default()
        };
        let redactor = self.api.redactor().clone();
        pagination::paginate(
            self.api.clone(),
            "/v1/events".to_owned(),
            query.params(),
            PageStyle::Stripe,
        )
        .map_err(move |e| crate::wire::scrub(&redactor, e))
    }

    /// Scrubs the client's secrets from an error.
    fn scrub(&self, e: ClientError) -> ClientError {
        crate::wire::scrub(self.api.redactor(), e)
    }

    /// `GET /v1/webhook_endpoints`, item by item across pages of [`MAX_PAGE_SIZE`].
    pub fn webhook_endpoints(
        &self,
    ) -> impl Stream<Item = Result<WebhookEndpoint, ClientError>> + Send + 'static + use<> {
        pagination::paginate(
            self.api.clone(),
            "/v1/webhook_endpoints".to_owned(),
            vec![("limit".to_owned(), MAX_PAGE_SIZE.to_string())],
            PageStyle::Stripe,
        )
    }
}

/// The header Stripe reads idempotency keys from.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// Stripe's longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// `id` when it can be a path segment.
fn endpoint_id(id: &str) -> Result<&str, ClientError> {
    crate::wire::path_segment(id.trim()).ok_or_else(|| {
        ClientError::InvalidRequest(format!("webhook endpoint id {id:?} is not an identifier"))
    })
}

/// `key` when Stripe takes it: 1 to 255 visible ASCII characters.
fn valid_idempotency_key(key: &str) -> Result<&str, ClientError> {
    let ok = !key.is_empty()
        && key.len() <= MAX_IDEMPOTENCY_KEY_LEN
        && key.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(key)
    } else {
        Err(ClientError::InvalidRequest(format!(
            "an idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"
        )))
    }
}

/// Changes to a webhook endpoint; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointUpdate {
    /// `disabled`: `true` stops deliveries, `false` resumes them.
    pub disabled: Option<bool>,
    /// `url`: where events are sent.
    pub url: Option<String>,
    /// `enabled_events[]`: the event types, or `["*"]` for all; replaces the list. An empty
    /// list is refused (it would mean "no change" on the wire).
    pub enabled_events: Option<Vec<String>>,
}

impl EndpointUpdate {
    /// The form the spec defines: `disabled=true|false`, `url=...`, one `enabled_events[]`
    /// per type, in that order.
    pub fn form(&self) -> Result<Vec<(String, String)>, ClientError> {
        let mut form = Vec::new();
        if let Some(d) = self.disabled {
            form.push(("disabled".to_owned(), d.to_string()));
        }
        if let Some(url) = &self.url {
            form.push(("url".to_owned(), url.clone()));
        }
        if let Some(events) = &self.enabled_events {
            if events.is_empty() {
                return Err(ClientError::InvalidRequest(
                    "enabled_events cannot be empty: list event types, or \"*\" for all".to_owned(),
                ));
            }
            for e in events {
                form.push(("enabled_events[]".to_owned(), e.clone()));
            }
        }
        Ok(form)
    }
}

/// The filters of one `GET /v1/events` listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// `created[gte]`: unix seconds, inclusive.
    pub created_gte: Option<i64>,
    /// `created[lt]`: unix seconds, exclusive.
    pub created_lt: Option<i64>,
    /// `types[]`: event types (Stripe allows up to 20); empty means every type.
    pub types: Vec<String>,
    /// `delivery_success`: `Some(false)` lists events not yet delivered to every endpoint.
    pub delivery_success: Option<bool>,
    /// `limit`: page size, 1..=100.
    pub limit: u8,
}

impl EventQuery {
    /// The query parameters, in Stripe's bracket syntax.
    pub fn params(&self) -> Vec<(String, String)> {
        let mut p = Vec::new();
        if let Some(t) = self.created_gte {
            p.push(("created[gte]".to_owned(), t.to_string()));
        }
        if let Some(t) = self.created_lt {
            p.push(("created[lt]".to_owned(), t.to_string()));
        }
        for t in &self.types {
            p.push(("types[]".to_owned(), t.clone()));
        }
        if let Some(ok) = self.delivery_success {
            p.push(("delivery_success".to_owned(), ok.to_string()));
        }
        let limit = self.limit.clamp(1, MAX_PAGE_SIZE);
        p.push(("limit".to_owned(), limit.to_string()));
        p
    }
}

/// A Stripe list envelope.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct List<T> {
    /// The page's items.
    pub data: Vec<T>,
    /// Whether more items follow.
    pub has_more: bool,
}

/// `GET /v1/balance`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Balance {
    /// Funds available for payouts, per currency.
    pub available: Vec<BalanceAmount>,
    /// Funds not yet available, per currency.
    pub pending: Vec<BalanceAmount>,
    /// Whether the key (and so the balance) is live.
    pub livemode: bool,
}

/// One currency's amount in a balance.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BalanceAmount {
    /// In the currency's smallest unit.
    pub amount: i64,
    /// Lowercase ISO code.
    pub currency: String,
}

/// An event, its `data.object` decoded as `O`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Event<O> {
    /// `evt_...`
    pub id: String,
    /// The API version `data` was rendered with (the account default for most events).
    #[serde(default)]
    pub api_version: Option<String>,
    /// Unix seconds.
    pub created: i64,
    /// Whether it happened in live mode.
    #[serde(default)]
    pub livemode: bool,
    /// Endpoints it has not been delivered to yet.
    #[serde(default)]
    pub pending_webhooks: i64,
    /// `charge.failed`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The object the event is about.
    pub data: EventData<O>,
}

/// An event's `data`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EventData<O> {
    /// The object as of the event.
    pub object: O,
}

/// Just enough of any Stripe object to name it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ObjectRef {
    /// Its id, when it has one.
    #[serde(default)]
    pub id: Option<String>,
    /// Its type (`charge`, `payment_intent`...).
    #[serde(default)]
    pub object: Option<String>,
}

/// A field that is an id or, when expanded, the object itself.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Expandable {
    /// Not expanded: the id.
    Id(String),
    /// Expanded: the object (only its id is read).
    Object(ObjectRef),
}

impl Expandable {
    /// The referenced object's id.
    pub fn id(&self) -> Option<&str> {
        match self {
            Expandable::Id(id) => Some(id),
            Expandable::Object(o) => o.id.as_deref(),
        }
    }
}

/// The object of a failure event: a charge, payment intent, setup intent, invoice, payout or
/// dispute. Only the fields apiops reads, all optional, named as in the spec.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct FailureObject {
    /// The object's id (`ch_`, `pi_`, `seti_`, `in_`, `po_`, `dp_`).
    pub id: Option<String>,
    /// The object's type.
    pub object: Option<String>,
    /// Amount in the smallest currency unit (charges, intents, payouts, disputes).
    pub amount: Option<i64>,
    /// Invoices: the amount due.
    pub amount_due: Option<i64>,
    /// Lowercase ISO currency.
    pub currency: Option<String>,
    /// The customer (an id, never their details).
    pub customer: Option<Expandable>,
    /// The object's status.
    pub status: Option<String>,
    /// Charges and payouts: the failure code.
    pub failure_code: Option<String>,
    /// Charges and payouts: the failure message.
    pub failure_message: Option<String>,
    /// Charges: the network's and Radar's verdict.
    pub outcome: Option<ChargeOutcome>,
    /// Payment intents: the last payment error.
    pub last_payment_error: Option<ApiErrors>,
    /// Setup intents: the last setup error.
    pub last_setup_error: Option<ApiErrors>,
    /// Charges, invoices, disputes: the payment intent.
    pub payment_intent: Option<Expandable>,
    /// Invoices, disputes: the charge.
    pub charge: Option<Expandable>,
    /// Invoices: payment attempts so far.
    pub attempt_count: Option<i64>,
    /// Invoices: when Stripe retries next (`None` when it will not).
    pub next_payment_attempt: Option<i64>,
    /// Disputes: the cardholder's reason.
    pub reason: Option<String>,
    /// Disputes: the evidence deadline.
    pub evidence_details: Option<DisputeEvidenceDetails>,
}

/// A charge's `outcome`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ChargeOutcome {
    /// `authorized`, `manual_review`, `issuer_declined`, `blocked`, `invalid`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The decline code (issuer declines) or Radar's reason (blocks).
    pub reason: Option<String>,
    /// `approved_by_network`, `declined_by_network`, ...
    pub network_status: Option<String>,
    /// Radar's risk level.
    pub risk_level: Option<String>,
    /// A description meant for the merchant.
    pub seller_message: Option<String>,
}

/// A dispute's `evidence_details`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct DisputeEvidenceDetails {
    /// Unix seconds; evidence after it is not considered.
    pub due_by: Option<i64>,
}

/// Stripe's error object (`api_errors` in the spec): in error answers and in
/// `last_payment_error` and friends.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ApiErrors {
    /// `api_error`, `card_error`, `idempotency_error`, `invalid_request_error`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The error code, when there is one.
    pub code: Option<String>,
    /// The issuer's decline code, for card declines.
    pub decline_code: Option<String>,
    /// A human message (may echo a masked key on auth errors: never shown as is).
    pub message: Option<String>,
    /// The parameter concerned.
    pub param: Option<String>,
    /// Documentation of the code.
    pub doc_url: Option<String>,
}

/// The body of an error answer: `{"error": {...}}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ErrorBody {
    /// The error.
    #[serde(default)]
    pub error: ApiErrors,
}

/// The Stripe error in a client error's (already redacted) body, when there is one.
pub fn api_error(err: &ClientError) -> Option<ApiErrors> {
    let body = err.body()?;
    serde_json::from_str::<ErrorBody>(body)
        .ok()
        .map(|b| b.error)
}

/// `GET /v1/webhook_endpoints` items. The signing `secret` (returned only at creation) is
/// deliberately not modelled, so it can never be carried further.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct WebhookEndpoint {
    /// `we_...`
    pub id: String,
    /// Where Stripe sends events.
    pub url: String,
    /// Event types, or `["*"]` for all.
    #[serde(default)]
    pub enabled_events: Vec<String>,
    /// `enabled` or `disabled`.
    pub status: String,
    /// The pinned API version; `None` follows the account default.
    #[serde(default)]
    pub api_version: Option<String>,
    /// Live or test mode.
    #[serde(default)]
    pub livemode: bool,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    pub created: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn event_query_params_use_bracket_syntax() {
        let q = EventQuery {
            created_gte: Some(10),
            created_lt: Some(20),
            types: vec!["charge.failed".into(), "payout.failed".into()],
            delivery_success: Some(false),
            limit: 100,
        };
        assert_eq!(
            q.params(),
            vec![
                ("created[gte]".to_owned(), "10".to_owned()),
                ("created[lt]".to_owned(), "20".to_owned()),
                ("types[]".to_owned(), "charge.failed".to_owned()),
                ("types[]".to_owned(), "payout.failed".to_owned()),
                ("delivery_success".to_owned(), "false".to_owned()),
                ("limit".to_owned(), "100".to_owned()),
            ]
        );
        let clamped = EventQuery {
            limit: 0,
            ..EventQuery::default()
        };
        assert_eq!(clamped.params(), vec![("limit".to_owned(), "1".to_owned())]);
    }

    #[test]
    fn endpoint_updates_are_the_spec_form() {
        let u = EndpointUpdate {
            disabled: Some(false),
            url: Some("https://hooks.example.com/stripe".into()),
            enabled_events: Some(vec!["charge.failed".into(), "payout.failed".into()]),
        };
        assert_eq!(
            u.form().expect("form"),
            vec![
                ("disabled".to_owned(), "false".to_owned()),
                (
                    "url".to_owned(),
                    "https://hooks.example.com/stripe".to_owned()
                ),
                ("enabled_events[]".to_owned(), "charge.failed".to_owned()),
                ("enabled_events[]".to_owned(), "payout.failed".to_owned()),
            ]
        );
        assert!(EndpointUpdate::default().form().expect("empty").is_empty());
        let none = EndpointUpdate {
            enabled_events: Some(Vec::new()),
            ..EndpointUpdate::default()
        };
        assert!(none.form().is_err(), "an empty list is refused");
        assert!(valid_idempotency_key("plan-1/step-2").is_ok());
        for bad in ["", "has space", "é", &"k".repeat(256)] {
            assert!(valid_idempotency_key(bad).is_err(), "{bad}");
        }
        assert!(endpoint_id("we_1Abc").is_ok());
        assert!(endpoint_id("we_1/../balance").is_err());
    }

    #[test]
    fn failure_objects_parse_from_each_shape() {
        let charge = json!({"id": "ch_1", "object": "charge", "amount": 500, "currency": "usd",
            "customer": {"id": "cus_1", "object": "customer", "email": "x@example.com"},
            "failure_code": "card_declined", "outcome": {"type": "issuer_declined", "reason": "insufficient_funds"},
            "payment_intent": "pi_1"});
        let o: FailureObject = serde_json::from_value(charge).expect("charge");
        assert_eq!(o.customer.as_ref().and_then(Expandable::id), Some("cus_1"));
        assert_eq!(
            o.payment_intent.as_ref().and_then(Expandable::id),
            Some("pi_1")
        );
        assert_eq!(
            o.outcome.and_then(|x| x.reason).as_deref(),
            Some("insufficient_funds")
        );
        let dispute = json!({"id": "dp_1", "object": "dispute", "reason": "fraudulent",
            "evidence_details": {"due_by": 123, "has_evidence": false}, "charge": "ch_1"});
        let o: FailureObject = serde_json::from_value(dispute).expect("dispute");
        assert_eq!(o.evidence_details.and_then(|e| e.due_by), Some(123));
        let nulls =
            json!({"id": null, "customer": null, "outcome": null, "last_payment_error": null});
        assert!(serde_json::from_value::<FailureObject>(nulls).is_ok());
    }

    #[test]
    fn error_bodies_parse_and_garbage_does_not() {
        let err = ClientError::Status {
            method: "GET".into(),
            target: "api.stripe.com/v1/balance".into(),
            status: 401,
            body: r#"{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_****1234"}}"#.into(),
            retry_after: None,
        };
        let e = api_error(&err).expect("stripe error");
        assert_eq!(e.kind.as_deref(), Some("invalid_request_error"));
        assert!(e.code.is_none());
        let garbage = ClientError::Status {
            method: "GET".into(),
            target: "x".into(),
            status: 502,
            body: "<html>bad gateway</html>".into(),
            retry_after: None,
        };
        assert!(api_error(&garbage).is_none());
    }
}
