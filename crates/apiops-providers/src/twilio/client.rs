//! The typed Twilio client: one resilient [`ApiClient`] per Twilio host (api, monitor,
//! messaging, pricing), Basic auth with the Account SID and Auth Token or an API key SID and
//! secret, the records apiops reads (with serde), and paging that streams one page at a time.
//!
//! Paging is done here rather than with `apiops_client::pagination`, for three reasons:
//! - the next page is asked for with the cursor of Twilio's `next_page_uri` (2010 API) or
//!   `meta.next_page_url` (v1 APIs) — its `Page` and `PageToken` — added to the original
//!   request, whose path and filters stay ours. So a link cannot lead the credentials to
//!   another host nor change the filters, and a host-relative link (`/2010-04-01/...`) needs no
//!   resolving against a configured base that has a path of its own (the simulator's
//!   `http://127.0.0.1:PORT/twilio/api`), which joining it to the host root would get wrong;
//! - a page is decoded straight into typed records (bodies of messages are never decoded), not
//!   through an intermediate `serde_json::Value`, so a page of 1,000 messages costs little;
//! - a page is the unit of progress of a long scan, so it is fetched again when it failed
//!   transiently after the client's own retries, or came back cut short; and 429/20429 answers
//!   shrink an adaptive cap on page requests in flight (`AdaptiveLimit`), additive increase
//!   and multiplicative decrease, so a scan settles under the account's real concurrency limit.
//!
//! Writes (buy, update and release a number, send a message) are form-encoded POSTs and a
//! DELETE, as the 2010 API defines them. Twilio takes no idempotency key for them, so the client
//! never resends them: a purchase or a message happens at most once per call.
//!
//! Secrets: the Account SID, the token, the API key SID and its secret are all registered with
//! the client's redactor; every error leaving this module is scrubbed with it (targets and
//! bodies included), so none of them reaches an error message. This module does not classify,
//! normalize or judge anything: see `errors`, `health` and `audit`.

use std::sync::Arc;
use std::time::Duration;

use apiops_client::auth::Auth;
use apiops_client::clock::Clock;
use apiops_client::rate::{AdaptiveLimit, RateConfig};
use apiops_client::{ApiClient, ClientError, Method};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use super::paging::{Page, decode_error, fetch_page_once, page_cursor, page_size, with_cursor};
use super::records::AvailableNumbers;
pub use super::records::{
    Account, Alert, AvailableNumber, Balance, Call, Capabilities, IncomingPhoneNumber, Message,
    MessagingService, NumberPrice, NumberPrices, ServicePhoneNumber, TwilioErrorBody, body_digest,
};
use crate::provider::ProviderError;
use crate::tuning::ClientTuning;

/// Twilio's largest page.
pub const MAX_PAGE_SIZE: usize = 1000;

/// Attempts per page (the first included) after transient failures or a body cut short; each
/// attempt is itself retried by the client's middleware.
const PAGE_ATTEMPTS: u32 = 3;

/// Attempts per page answered 429/20429: "never processed and always safe to retry", and the
/// adaptive cap shrinks after each, so a scan converges instead of failing.
const RATE_LIMITED_PAGE_ATTEMPTS: u32 = 12;

/// Which Twilio host a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// `api.twilio.com`: the 2010-04-01 API.
    Api,
    /// `monitor.twilio.com`: alerts.
    Monitor,
    /// `messaging.twilio.com`: messaging services.
    Messaging,
    /// `pricing.twilio.com`: prices.
    Pricing,
}

impl Host {
    /// Every host, in a fixed order.
    pub const ALL: [Host; 4] = [Host::Api, Host::Monitor, Host::Messaging, Host::Pricing];

    /// The client name used in logs and metrics.
    pub fn client_name(self) -> &'static str {
        match self {
            Host::Api => "twilio.api",
            Host::Monitor => "twilio.monitor",
            Host::Messaging => "twilio.messaging",
            Host::Pricing => "twilio.pricing",
        }
    }
}

/// Which credential signs requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// Account SID + Auth Token.
    AuthToken,
    /// API key SID + secret; holds the masked key SID for display.
    ApiKey(String),
}

impl Credential {
    /// How health output names it ("auth token", "API key SK01...cdef").
    pub fn describe(&self) -> String {
        match self {
            Credential::AuthToken => "auth token".to_owned(),
            Credential::ApiKey(masked) => format!("API key {masked}"),
        }
    }
}

/// What [`TwilioClient::new`] needs, already validated by `Twilio::new`.
#[derive(Debug)]
pub(crate) struct ClientParts<'a> {
    pub(crate) urls: [&'a Url; 4],
    pub(crate) account_sid: SecretString,
    pub(crate) username: SecretString,
    pub(crate) password: SecretString,
    pub(crate) credential: Credential,
    pub(crate) extra_secrets: Vec<SecretString>,
    pub(crate) max_concurrency: usize,
    pub(crate) scan_concurrency: usize,
    pub(crate) tuning: &'a ClientTuning,
}

/// A typed client of Twilio's APIs. Cheap to clone; clones share breakers, gates and limits.
#[derive(Debug, Clone)]
pub struct TwilioClient {
    account_sid: SecretString,
    api: ApiClient,
    monitor: ApiClient,
    messaging: ApiClient,
    pricing: ApiClient,
    credential: Credential,
    max_concurrency: usize,
    limit: Arc<AdaptiveLimit>,
    clock: Clock,
    page_pause: Duration,
    page_pause_cap: Duration,
}

impl TwilioClient {
    /// Builds the four clients.
    pub(crate) fn new(parts: ClientParts<'_>) -> Result<Self, ProviderError> {
        let build =
            |host: Host, url: &Url| -> Result<ApiClient, ProviderError> {
                let mut builder = ApiClient::builder(host.client_name(), url.as_str())
                    .auth(Auth::Basic {
                        username: parts.username.clone(),
                        password: parts.password.clone(),
                    })
                    .rate(RateConfig {
                        max_concurrency: Some(parts.max_concurrency),
                        ..RateConfig::default()
                    })
                    .redact(parts.account_sid.clone())
                    .redact(parts.username.clone());
                for s in &parts.extra_secrets {
                    builder = builder.redact(s.clone());
                }
                parts.tuning.apply(builder)?.build().map_err(|e| {
                    ProviderError::Config(format!("Twilio {}: {e}", host.client_name()))
                })
            };
        let [api, monitor, messaging, pricing] = parts.urls;
        Ok(TwilioClient {
            api: build(Host::Api, api)?,
            monitor: build(Host::Monitor, monitor)?,
            messaging: build(Host::Messaging, messaging)?,
            pricing: build(Host::Pricing, pricing)?,
            account_sid: parts.account_sid,
            credential: parts.credential,
            max_concurrency: parts.max_concurrency,
            limit: Arc::new(AdaptiveLimit::new(parts.scan_concurrency)),
            clock: parts.tuning.clock.clone(),
            page_pause: parts.tuning.base_delay,
            page_pause_cap: parts.tuning.max_delay,
        })
    }

    /// The client of one host (for its breaker state, rate gate and deprecation notices).
    pub fn host(&self, host: Host) -> &ApiClient {
        match host {
            Host::Api => &self.api,
            Host::Monitor => &self.monitor,
            Host::Messaging => &self.messaging,
            Host::Pricing => &self.pricing,
        }
    }

    /// Which credential signs requests.
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// The configured cap on requests in flight per host.
    pub fn max_concurrency(&self) -> usize {
        self.max_concurrency
    }

    /// The adaptive cap on page requests in flight right now (at most the scan concurrency).
    pub fn current_page_limit(&self) -> usize {
        self.limit.current()
    }

    /// The Account SID, masked for display (`AC01...cdef`).
    pub fn masked_account_sid(&self) -> String {
        apiops_core::mask(self.account_sid.expose_secret())
    }

    /// `/2010-04-01/Accounts/{Sid}`, the root of every 2010-API path.
    pub fn account_path(&self) -> String {
        format!("/2010-04-01/Accounts/{}", self.account_sid.expose_secret())
    }

    /// Scrubs every registered secret from an error (targets, bodies, messages).
    pub fn scrub(&self, e: ClientError) -> ClientError {
        crate::wire::scrub(self.api.redactor(), e)
    }

    /// GETs one resource and decodes it.
    async fn get<T: DeserializeOwned>(&self, host: Host, path: &str) -> Result<T, ClientError> {
        self.host(host)
            .get_json(path, &[])
            .await
            .map_err(|e| self.scrub(e))
    }

    /// `GET /2010-04-01/Accounts/{Sid}.json`: the cheapest authenticated call.
    pub async fn account(&self) -> Result<Account, ClientError> {
        self.get(Host::Api, &format!("{}.json", self.account_path()))
            .await
    }

    /// `GET /2010-04-01/Accounts/{Sid}/Balance.json`.
    pub async fn balance(&self) -> Result<Balance, ClientError> {
        self.get(Host::Api, &format!("{}/Balance.json", self.account_path()))
            .await
    }

    /// `GET /v1/PhoneNumbers/Countries/{IsoCountry}` on the pricing host: monthly prices of
    /// phone numbers in a country.
    pub async fn number_prices(&self, iso_country: &str) -> Result<NumberPrices, ClientError> {
        let iso: String = iso_country
            .chars()
            .filter(char::is_ascii_alphabetic)
            .take(2)
            .collect::<String>()
            .to_ascii_uppercase();
        if iso.len() != 2 {
            return Err(ClientError::InvalidRequest(format!(
                "{iso_country:?} is not an ISO country code"
            )));
        }
        self.get(Host::Pricing, &format!("/v1/PhoneNumbers/Countries/{iso}"))
            .await
    }

    /// Pages of `GET .../Messages.json` with `query` (filters and `PageSize`).
    pub fn messages(
        &self,
        query: Vec<(String, String)>,
    ) -> BoxStream<'static, Result<Vec<Message>, ClientError>> {
        let path = format!("{}/Messages.json", self.account_path());
        self.pages(Host::Api, path, query, "messages")
    }

    /// Pages of `GET .../Calls.json` with `query`.
    pub fn calls(
        &self,
        query: Vec<(String, String)>,
    ) -> BoxStream<'static, Result<Vec<Call>, ClientError>> {
        let path = format!("{}/Calls.json", self.account_path());
        self.pages(Host::Api, path, query, "calls")
    }

    /// Pages of `GET .../IncomingPhoneNumbers.json`.
    pub fn incoming_phone_numbers(
        &self,
    ) -> BoxStream<'static, Result<Vec<IncomingPhoneNumber>, ClientError>> {
        let path = format!("{}/IncomingPhoneNumbers.json", self.account_path());
        self.pages(
            Host::Api,
            path,
            page_size(MAX_PAGE_SIZE),
            "incoming_phone_numbers",
        )
    }

    /// Pages of `GET /v1/Alerts` on the monitor host, with `query`.
    pub fn alerts(
        &self,
        query: Vec<(String, String)>,
    ) -> BoxStream<'static, Result<Vec<Alert>, ClientError>> {
        self.pages(Host::Monitor, "/v1/Alerts".to_owned(), query, "alerts")
    }

    /// Pages of `GET /v1/Services` on the messaging host.
    pub fn messaging_services(
        &self,
    ) -> BoxStream<'static, Result<Vec<MessagingService>, ClientError>> {
        self.pages(
            Host::Messaging,
            "/v1/Services".to_owned(),
            page_size(MAX_PAGE_SIZE),
            "services",
        )
    }

    /// Pages of `GET /v1/Services/{Sid}/PhoneNumbers`: the numbers in a messaging service.
    pub fn service_phone_numbers(
        &self,
        service_sid: &str,
    ) -> BoxStream<'static, Result<Vec<ServicePhoneNumber>, ClientError>> {
        let sid: String = service_sid
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        self.pages(
            Host::Messaging,
            format!("/v1/Services/{sid}/PhoneNumbers"),
            page_size(MAX_PAGE_SIZE),
            "phone_numbers",
        )
    }

    /// `GET .../AvailablePhoneNumbers/{Country}/Local.json`: up to `limit` local numbers for
    /// sale in `country` (ISO 3166-1 alpha-2), in `area_code` and whose digits contain
    /// `contains` (Twilio's pattern: digits, letters for keypad digits, `*` for any digit) when
    /// given. Twilio answers one page without paging links; `limit` is its `PageSize`
    /// (1..=1000), and a `limit` of 0 asks for nothing and sends nothing.
    pub async fn available_numbers(
        &self,
        country: &str,
        area_code: Option<u16>,
        contains: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AvailableNumber>, ClientError> {
        let iso = iso_country(country)?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(code) = area_code {
            query.push(("AreaCode", code.to_string()));
        }
        if let Some(pattern) = contains.map(str::trim).filter(|p| !p.is_empty()) {
            query.push(("Contains", pattern.to_owned()));
        }
        query.push(("PageSize", limit.clamp(1, MAX_PAGE_SIZE).to_string()));
        let path = format!(
            "{}/AvailablePhoneNumbers/{iso}/Local.json",
            self.account_path()
        );
        let list: AvailableNumbers = self
            .api
            .get_json(&path, &query)
            .await
            .map_err(|e| self.scrub(e))?;
        let mut numbers = list.available_phone_numbers;
        numbers.truncate(limit);
        Ok(numbers)
    }

    /// The account's number `e164`, if it owns it: `GET .../IncomingPhoneNumbers.json` with
    /// `PhoneNumber={e164}`. Twilio matches that filter as a pattern (a part of a number
    /// matches too), so only a record whose `phone_number` is exactly `e164` is returned.
    pub async fn find_owned_number(
        &self,
        e164: &str,
    ) -> Result<Option<IncomingPhoneNumber>, ClientError> {
        let number = e164.trim();
        if number.is_empty() {
            return Err(ClientError::InvalidRequest(
                "a phone number to look for is required".to_owned(),
            ));
        }
        let path = format!("{}/IncomingPhoneNumbers.json", self.account_path());
        let mut query = page_size(MAX_PAGE_SIZE);
        query.insert(0, ("PhoneNumber".to_owned(), number.to_owned()));
        let mut pages =
            self.pages::<IncomingPhoneNumber>(Host::Api, path, query, "incoming_phone_numbers");
        while let Some(page) = pages.next().await {
            if let Some(found) = page?
                .into_iter()
                .find(|n| n.phone_number.as_deref() == Some(number))
            {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// `GET .../IncomingPhoneNumbers/{Sid}.json`: one owned number (`PN...`). A number the
    /// account does not own is a 404 with Twilio code 20404.
    pub async fn owned_number(&self, sid: &str) -> Result<IncomingPhoneNumber, ClientError> {
        let sid = twilio_sid(sid, "PN")?;
        self.get(
            Host::Api,
            &format!("{}/IncomingPhoneNumbers/{sid}.json", self.account_path()),
        )
        .await
    }

    /// Buys `phone_number` (E.164, as listed by [`available_numbers`](Self::available_numbers)):
    /// `POST .../IncomingPhoneNumbers.json` with `PhoneNumber` and the configuration in `urls`,
    /// pairs of the spec's form fields ([`NUMBER_CONFIG_FIELDS`]: `SmsUrl`, `VoiceUrl`...).
    ///
    /// Sent exactly once. Twilio takes no idempotency key here, so the client never resends
    /// it (its retry layer only repeats GET/HEAD/OPTIONS and requests that carry a key), and
    /// this method does not loop either: a purchase is never retried blindly. After a failure
    /// without an answer (timeout, reset) the purchase may or may not have happened: check with
    /// [`find_owned_number`](Self::find_owned_number) before deciding to buy again. A number
    /// that is not for sale (already bought, by this account or another) is a 400 with Twilio
    /// code 21422.
    pub async fn buy_number(
        &self,
        phone_number: &str,
        urls: &[(&str, &str)],
    ) -> Result<IncomingPhoneNumber, ClientError> {
        let number = phone_number.trim();
        if number.is_empty() {
            return Err(ClientError::InvalidRequest(
                "a phone number to buy is required".to_owned(),
            ));
        }
        let mut form = vec![("PhoneNumber".to_owned(), number.to_owned())];
        form.extend(number_form(urls)?);
        self.post_form(
            &format!("{}/IncomingPhoneNumbers.json", self.account_path()),
            &form,
        )
        .await
    }

    /// Changes an owned number's configuration: `POST .../IncomingPhoneNumbers/{Sid}.json` with
    /// the pairs in `urls` ([`NUMBER_CONFIG_FIELDS`]; an empty value clears a URL). Not
    /// resent on failure (no idempotency key); setting the same values again is harmless.
    pub async fn update_number(
        &self,
        sid: &str,
        urls: &[(&str, &str)],
    ) -> Result<IncomingPhoneNumber, ClientError> {
        let sid = twilio_sid(sid, "PN")?;
        let form = number_form(urls)?;
        if form.is_empty() {
            return Err(ClientError::InvalidRequest(
                "a number update needs at least one field".to_owned(),
            ));
        }
        self.post_form(
            &format!("{}/IncomingPhoneNumbers/{sid}.json", self.account_path()),
            &form,
        )
        .await
    }

    /// Releases an owned number: `DELETE .../IncomingPhoneNumbers/{Sid}.json` (204). The
    /// number stops working at once and may be bought by anyone. Not resent on failure.
    pub async fn release_number(&self, sid: &str) -> Result<(), ClientError> {
        let sid = twilio_sid(sid, "PN")?;
        let path = format!("{}/IncomingPhoneNumbers/{sid}.json", self.account_path());
        let rb = self
            .api
            .request(Method::DELETE, &path)
            .map_err(|e| self.scrub(e))?;
        self.api.send(rb).await.map_err(|e| self.scrub(e))?;
        Ok(())
    }

    /// Sends an SMS: `POST .../Messages.json` with `To`, `Body` and `From`, or
    /// `MessagingServiceSid` when `from` is a messaging service SID (`MG...`). Returns the
    /// queued (or, through a service, accepted) message; its body is not decoded. Not resent
    /// on failure (no idempotency key), so a message is never sent twice by this client. An
    /// invalid `To` is a 400 with Twilio code 21211, a `From` the account cannot send from
    /// 21606.
    pub async fn send_message(
        &self,
        from: &str,
        to: &str,
        body: &str,
    ) -> Result<Message, ClientError> {
        let from = from.trim();
        let sender = if twilio_sid(from, "MG").is_ok() {
            "MessagingServiceSid"
        } else {
            "From"
        };
        let form = [
            ("To".to_owned(), to.trim().to_owned()),
            (sender.to_owned(), from.to_owned()),
            ("Body".to_owned(), body.to_owned()),
        ];
        self.post_form(&format!("{}/Messages.json", self.account_path()), &form)
            .await
    }

    /// POSTs a form to the 2010 API and decodes the answer; errors scrubbed.
    async fn post_form<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &[(String, String)],
    ) -> Result<T, ClientError> {
        let rb = self
            .api
            .request(Method::POST, path)
            .map_err(|e| self.scrub(e))?
            .form(form);
        self.api.send_json(rb).await.map_err(|e| self.scrub(e))
    }

    /// Streams the pages of a Twilio list, following the cursor of `next_page_uri` (2010 API)
    /// or `meta.next_page_url` (v1 APIs) until it is null. Lazy: a page is fetched when the
    /// previous one has been taken. On a failure the stream yields the (scrubbed) error and
    /// ends.
    pub fn pages<T>(
        &self,
        host: Host,
        path: String,
        query: Vec<(String, String)>,
        items_key: &'static str,
    ) -> BoxStream<'static, Result<Vec<T>, ClientError>>
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.pages_kept(host, path, query, items_key, Arc::new(Some))
            .map_ok(|(items, _)| items)
            .boxed()
    }

    /// [`Self::pages`], keeping of each item only what `keep` makes of it as the page is
    /// decoded, with the number of items each page held: a scan that keeps the failures never
    /// holds a page of decoded records. `keep` must not have side effects (a page cut short is
    /// decoded again).
    pub fn pages_kept<T, U>(
        &self,
        host: Host,
        path: String,
        query: Vec<(String, String)>,
        items_key: &'static str,
        keep: Arc<dyn Fn(T) -> Option<U> + Send + Sync>,
    ) -> BoxStream<'static, Result<(Vec<U>, usize), ClientError>>
    where
        T: DeserializeOwned + Send + 'static,
        U: Send + 'static,
    {
        let url = match self.host(host).url(&path) {
            Ok(url) => url,
            Err(e) => return stream::once(futures::future::ready(Err(self.scrub(e)))).boxed(),
        };
        let this = self.clone();
        let base_query = query.clone();
        stream::try_unfold(Some(query), move |state| {
            let this = this.clone();
            let url = url.clone();
            let base_query = base_query.clone();
            let keep = Arc::clone(&keep);
            async move {
                let Some(query) = state else {
                    return Ok(None);
                };
                let page = this
                    .fetch_page(host, &url, &query, items_key, &*keep)
                    .await?;
                let next = match page.next {
                    None => None,
                    Some(link) => {
                        let cursor = page_cursor(&link)
                            .map_err(|reason| this.scrub(decode_error(&url, reason)))?;
                        let next = with_cursor(&base_query, cursor);
                        if next == query {
                            return Err(this.scrub(decode_error(
                                &url,
                                "the server handed out the same page again; stopping instead of looping"
                                    .to_owned(),
                            )));
                        }
                        Some(next)
                    }
                };
                Ok(Some(((page.items, page.read), next)))
            }
        })
        .boxed()
    }

    /// Fetches one page, again after transient failures and 429s (see the module docs).
    async fn fetch_page<T: DeserializeOwned, U>(
        &self,
        host: Host,
        url: &Url,
        query: &[(String, String)],
        items_key: &'static str,
        keep: &(dyn Fn(T) -> Option<U> + Send + Sync),
    ) -> Result<Page<U>, ClientError> {
        let client = self.host(host);
        let mut attempt: u32 = 1;
        loop {
            let result = {
                let _slot = self.limit.acquire().await;
                fetch_page_once(client, url, query, items_key, keep).await
            };
            // The client retries 429s itself; a pause of its rate gate is how they show here.
            if client.rate_gate().paused_for().is_some() {
                self.limit.on_throttled(self.clock.now());
            }
            let e = match result {
                Ok(page) => {
                    self.limit.on_success(self.clock.now());
                    return Ok(page);
                }
                Err(e) => e,
            };
            let rate_limited = e.status() == Some(429);
            if rate_limited {
                self.limit.on_throttled(self.clock.now());
            }
            let again = match &e {
                ClientError::CircuitOpen { .. } => false,
                ClientError::Decode { .. } => attempt < PAGE_ATTEMPTS,
                _ if rate_limited => attempt < RATE_LIMITED_PAGE_ATTEMPTS,
                _ => e.is_transient() && attempt < PAGE_ATTEMPTS,
            };
            if !again {
                return Err(self.scrub(e));
            }
            tracing::debug!(
                target: "apiops_providers::twilio",
                attempt,
                error = %self.scrub(e),
                "page failed; fetching it again"
            );
            self.clock.sleep(self.pause_before(attempt)).await;
            attempt += 1;
        }
    }

    /// The pause before page attempt `attempt + 1`: exponential from the tuning's base delay.
    fn pause_before(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(8);
        self.page_pause
            .saturating_mul(factor)
            .min(self.page_pause_cap)
    }
}

/// The form fields that configure a number, as the spec names them for both
/// `POST .../IncomingPhoneNumbers.json` (purchase) and `POST .../IncomingPhoneNumbers/{Sid}.json`
/// (update). `AccountSid` (moving a number to another account) is deliberately not among them.
pub const NUMBER_CONFIG_FIELDS: &[&str] = &[
    "FriendlyName",
    "SmsUrl",
    "SmsMethod",
    "SmsFallbackUrl",
    "SmsFallbackMethod",
    "SmsApplicationSid",
    "VoiceUrl",
    "VoiceMethod",
    "VoiceFallbackUrl",
    "VoiceFallbackMethod",
    "VoiceApplicationSid",
    "VoiceCallerIdLookup",
    "VoiceReceiveMode",
    "StatusCallback",
    "StatusCallbackMethod",
    "TrunkSid",
    "IdentitySid",
    "AddressSid",
    "BundleSid",
    "EmergencyStatus",
    "EmergencyAddressSid",
];

/// The configuration pairs of a purchase or update as a form, refusing a field the spec does
/// not define for numbers and a field given twice.
fn number_form(pairs: &[(&str, &str)]) -> Result<Vec<(String, String)>, ClientError> {
    let mut form: Vec<(String, String)> = Vec::with_capacity(pairs.len());
    for (name, value) in pairs {
        if !NUMBER_CONFIG_FIELDS.contains(name) {
            return Err(ClientError::InvalidRequest(format!(
                "{name:?} is not a phone number setting (expected one of {})",
                NUMBER_CONFIG_FIELDS.join(", ")
            )));
        }
        if form.iter().any(|(k, _)| k == name) {
            return Err(ClientError::InvalidRequest(format!(
                "{name} is given more than once"
            )));
        }
        form.push(((*name).to_owned(), (*value).to_owned()));
    }
    Ok(form)
}

/// `sid` when it is a Twilio SID of `prefix` (`PN`, `MG`...): the prefix and 32 hexadecimal
/// digits, so it is safe in a path.
fn twilio_sid<'a>(sid: &'a str, prefix: &str) -> Result<&'a str, ClientError> {
    let sid = sid.trim();
    let ok = sid.len() == 34
        && sid.starts_with(prefix)
        && sid.bytes().skip(2).all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(sid)
    } else {
        Err(ClientError::InvalidRequest(format!(
            "{sid:?} is not a {prefix} SID ({prefix} and 32 hexadecimal digits)"
        )))
    }
}

/// An ISO 3166-1 alpha-2 code, upper-cased: exactly two ASCII letters.
fn iso_country(country: &str) -> Result<String, ClientError> {
    let c = country.trim();
    if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(c.to_ascii_uppercase())
    } else {
        Err(ClientError::InvalidRequest(format!(
            "{country:?} is not an ISO country code"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::super::paging::decode_page;
    use super::*;
    use serde_json::json;

    #[test]
    fn pages_decode_2010_and_v1_shapes() {
        let body = json!({
            "end": 1, "first_page_uri": "/x", "page": 0,
            "messages": [
                {"sid": "SM1", "status": "failed", "error_code": 30007, "body": "secret body", "to": "+14155550100"},
                {"sid": "SM2", "status": "delivered", "error_code": null}
            ],
            "next_page_uri": "/2010-04-01/Accounts/AC1/Messages.json?Page=1&PageToken=PASM2"
        });
        let page: Page<Message> =
            decode_page(body.to_string().as_bytes(), "messages").expect("page");
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.items[0].error_code.as_deref(), Some("30007"));
        assert_eq!(page.items[1].error_code, None);
        assert!(!format!("{:?}", page.items[0]).contains("secret body"));
        assert!(page.next.expect("next").contains("PageToken=PASM2"));

        let v1 = json!({"alerts": [{"sid": "NO1", "error_code": "11200"}],
                        "meta": {"next_page_url": null, "page": 0}});
        let page: Page<Alert> = decode_page(v1.to_string().as_bytes(), "alerts").expect("page");
        assert_eq!(page.items[0].error_code.as_deref(), Some("11200"));
        assert!(page.next.is_none());

        let last = json!({"calls": [], "next_page_uri": ""});
        let page: Page<Call> = decode_page(last.to_string().as_bytes(), "calls").expect("page");
        assert!(page.items.is_empty() && page.next.is_none());
    }

    #[test]
    fn malformed_pages_are_reasons_not_panics() {
        for (body, want) in [
            (r#"{"data": [{"id": "trunc"#, "EOF"),
            (r#"{"next_page_uri": null}"#, "missing field `messages`"),
            (r#"{"messages": {"sid": "x"}}"#, "invalid type"),
            (r#"[1, 2]"#, "invalid type"),
            (
                r#"{"messages": [{"status": "sent"}]}"#,
                "missing field `sid`",
            ),
            (r#"{"messages": []} trailing"#, "trailing"),
        ] {
            let err = decode_page::<Message>(body.as_bytes(), "messages").expect_err(body);
            assert!(err.contains(want), "{body}: {err}");
        }
    }

    #[test]
    fn next_links_give_their_cursor_and_nothing_else() {
        let link = "/2010-04-01/Accounts/ACaaaa/Calls.json?Status=completed&StartTime=2008-01-02&PageSize=2&Page=1&PageToken=PACA1";
        let cursor = page_cursor(link).expect("cursor");
        assert_eq!(
            cursor,
            vec![
                ("Page".to_owned(), "1".to_owned()),
                ("PageToken".to_owned(), "PACA1".to_owned())
            ]
        );
        let base = vec![
            ("Status".to_owned(), "failed".to_owned()),
            ("PageSize".to_owned(), "1000".to_owned()),
            ("Page".to_owned(), "0".to_owned()),
        ];
        let next = with_cursor(&base, cursor);
        assert_eq!(
            next,
            vec![
                ("Status".to_owned(), "failed".to_owned()),
                ("PageSize".to_owned(), "1000".to_owned()),
                ("Page".to_owned(), "1".to_owned()),
                ("PageToken".to_owned(), "PACA1".to_owned()),
            ],
            "our filters stay; the link's do not come along"
        );
        let absolute = "https://monitor.twilio.com/v1/Alerts?PageSize=50&Page=2&PageToken=PANO9#x";
        assert_eq!(page_cursor(absolute).expect("cursor").len(), 2);
        assert!(page_cursor("https://evil.example/steal").is_err());
        assert!(page_cursor("/x?PageSize=2").is_err());
    }

    #[test]
    fn error_bodies_and_lenient_fields() {
        let e = ClientError::Status {
            method: "GET".into(),
            target: "h/p".into(),
            status: 401,
            body: r#"{"code": 20003, "message": "Authenticate", "more_info": "x", "status": 401}"#
                .into(),
            retry_after: None,
        };
        let body = TwilioErrorBody::of(&e).expect("body");
        assert_eq!(body.code.as_deref(), Some("20003"));
        assert_eq!(body.message.as_deref(), Some("Authenticate"));
        let not_json = ClientError::Status {
            method: "GET".into(),
            target: "h/p".into(),
            status: 502,
            body: "<html>bad gateway</html>".into(),
            retry_after: None,
        };
        assert!(TwilioErrorBody::of(&not_json).is_none());
        let b: Balance = serde_json::from_value(json!({"balance": 12.5, "currency": "USD"}))
            .expect("numeric balance");
        assert_eq!(b.balance.as_deref(), Some("12.5"));
        let n: IncomingPhoneNumber = serde_json::from_value(
            json!({"sid": "PN1", "capabilities": {"SMS": true, "voice": true}, "sms_url": null}),
        )
        .expect("number");
        assert_eq!(
            n.capabilities,
            Some(Capabilities {
                voice: true,
                sms: true,
                mms: false,
                fax: false
            })
        );
        let a: Account = serde_json::from_value(
            json!({"sid": "AC1", "status": "active", "type": "Trial", "auth_token": "tok_secret_value"}),
        )
        .expect("account");
        assert_eq!(a.kind.as_deref(), Some("Trial"));
        assert!(!format!("{a:?}").contains("tok_secret_value"));
    }

    #[test]
    fn write_inputs_are_checked_before_sending() {
        let form =
            number_form(&[("SmsUrl", "https://a.example/sms"), ("VoiceUrl", "")]).expect("form");
        assert_eq!(
            form,
            vec![
                ("SmsUrl".to_owned(), "https://a.example/sms".to_owned()),
                ("VoiceUrl".to_owned(), String::new()),
            ]
        );
        assert!(number_form(&[("sms_url", "x")]).is_err(), "spec names only");
        assert!(
            number_form(&[("AccountSid", "AC1")]).is_err(),
            "no transfers"
        );
        assert!(number_form(&[("SmsUrl", "a"), ("SmsUrl", "b")]).is_err());
        let pn = "PN0123456789abcdef0123456789abcdef";
        assert_eq!(twilio_sid(pn, "PN").ok(), Some(pn));
        assert_eq!(twilio_sid(&format!(" {pn} "), "PN").ok(), Some(pn));
        for bad in [
            "",
            "PN123",
            "MG0123456789abcdef0123456789abcdef",
            "PN0123456789abcdef0123456789abcdeg",
            "PN0123456789abcdef0123456789abc/ef",
        ] {
            assert!(twilio_sid(bad, "PN").is_err(), "{bad}");
        }
        assert_eq!(iso_country(" us ").ok().as_deref(), Some("US"));
        for bad in ["", "USA", "U1", "../"] {
            assert!(iso_country(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn write_answers_decode() {
        let a: AvailableNumbers = serde_json::from_value(json!({
            "available_phone_numbers": [{
                "friendly_name": "(415) 555-0134", "phone_number": "+14155550134",
                "lata": "722", "locality": "San Francisco", "rate_center": "SNFC",
                "latitude": 37.7, "longitude": -122.4, "region": "CA", "postal_code": "94105",
                "iso_country": "US", "address_requirements": "none", "beta": false,
                "capabilities": {"voice": true, "SMS": true, "MMS": false}
            }],
            "uri": "/2010-04-01/Accounts/AC1/AvailablePhoneNumbers/US/Local.json"
        }))
        .expect("available");
        let n = &a.available_phone_numbers[0];
        assert_eq!(n.phone_number, "+14155550134");
        assert_eq!(n.region.as_deref(), Some("CA"));
        assert_eq!(
            n.capabilities,
            Some(Capabilities {
                voice: true,
                sms: true,
                mms: false,
                fax: false
            })
        );
        let m: Message = serde_json::from_value(json!({
            "sid": "SM1", "status": "sent", "price": "-0.00790", "price_unit": "USD",
            "error_code": null, "body": "do not keep me"
        }))
        .expect("message");
        assert_eq!(m.price.as_deref(), Some("-0.00790"));
        assert!(!format!("{m:?}").contains("do not keep me"));
        let p: IncomingPhoneNumber = serde_json::from_value(json!({
            "sid": "PN1", "phone_number": "+14155550134", "status": "in-use",
            "sms_url": "https://a.example/sms", "sms_method": "POST"
        }))
        .expect("number");
        assert_eq!(p.status.as_deref(), Some("in-use"));
        assert_eq!(p.sms_method.as_deref(), Some("POST"));
    }
}
