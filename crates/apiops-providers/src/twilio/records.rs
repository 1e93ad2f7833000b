//! The Twilio records apiops reads, decoded with serde: accounts, balances, messages (never
//! their bodies), calls, Monitor alerts, numbers owned and for sale, messaging services,
//! prices, and Twilio's error document. Lenient where Twilio is (codes and prices that come
//! as numbers or strings).

use apiops_client::ClientError;
use serde::{Deserialize, Deserializer};

/// A code Twilio writes as a number on some resources and as a string on others.
fn code_or_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Code {
        Number(serde_json::Number),
        Text(String),
    }
    Ok(match Option::<Code>::deserialize(d)? {
        Some(Code::Number(n)) => Some(n.to_string()),
        Some(Code::Text(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    })
}

/// A value Twilio writes as a string (a price, a balance) that may come as a number.
fn text_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    code_or_none(d)
}

/// The Account resource (its `auth_token` field is deliberately not read).
#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    /// `AC...`.
    pub sid: String,
    /// The account's name.
    #[serde(default)]
    pub friendly_name: Option<String>,
    /// `active`, `suspended` or `closed`.
    #[serde(default)]
    pub status: Option<String>,
    /// `Trial` or `Full`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// The Balance resource.
#[derive(Debug, Clone, Deserialize)]
pub struct Balance {
    /// The balance, as Twilio writes it (`"12.34"`).
    #[serde(default, deserialize_with = "text_or_number")]
    pub balance: Option<String>,
    /// The currency (`USD`).
    #[serde(default)]
    pub currency: Option<String>,
}

/// A Message, without its body (never decoded, so it can never be shown).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Message {
    /// `SM...` or `MM...`.
    pub sid: String,
    /// queued, sending, sent, failed, delivered, undelivered, receiving, received...
    #[serde(default)]
    pub status: Option<String>,
    /// The error code when failed or undelivered.
    #[serde(default, deserialize_with = "code_or_none")]
    pub error_code: Option<String>,
    /// Twilio's text for the error.
    #[serde(default)]
    pub error_message: Option<String>,
    /// The recipient.
    #[serde(default)]
    pub to: Option<String>,
    /// The sender.
    #[serde(default)]
    pub from: Option<String>,
    /// SHA-256 (hex) of the text: enough to recognise a message apiops sent (an interrupted
    /// send), without keeping the text, which is personal data. See [`body_digest`].
    #[serde(default, rename = "body", deserialize_with = "digest_of_text")]
    pub body_sha256: Option<String>,
    /// `outbound-api`, `inbound`...
    #[serde(default)]
    pub direction: Option<String>,
    /// RFC 2822.
    #[serde(default)]
    pub date_sent: Option<String>,
    /// RFC 2822.
    #[serde(default)]
    pub date_created: Option<String>,
    /// RFC 2822.
    #[serde(default)]
    pub date_updated: Option<String>,
    /// The messaging service that sent it.
    #[serde(default)]
    pub messaging_service_sid: Option<String>,
    /// What it cost, as Twilio writes it (`"-0.00790"`); `None` until it is known.
    #[serde(default, deserialize_with = "text_or_number")]
    pub price: Option<String>,
    /// The currency of `price` (`USD`).
    #[serde(default)]
    pub price_unit: Option<String>,
}

/// A Call.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Call {
    /// `CA...`.
    pub sid: String,
    /// queued, ringing, in-progress, completed, busy, failed, no-answer, canceled.
    #[serde(default)]
    pub status: Option<String>,
    /// The callee.
    #[serde(default)]
    pub to: Option<String>,
    /// The caller.
    #[serde(default)]
    pub from: Option<String>,
    /// `inbound`, `outbound-api`...
    #[serde(default)]
    pub direction: Option<String>,
    /// RFC 2822.
    #[serde(default)]
    pub start_time: Option<String>,
    /// RFC 2822.
    #[serde(default)]
    pub date_created: Option<String>,
}

/// A Monitor alert.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Alert {
    /// `NO...`.
    pub sid: String,
    /// The error code (a string on this API).
    #[serde(default, deserialize_with = "code_or_none")]
    pub error_code: Option<String>,
    /// Form-encoded details (`Msg=...&url=...`).
    #[serde(default)]
    pub alert_text: Option<String>,
    /// `error`, `warning`, `notice`, `debug`.
    #[serde(default)]
    pub log_level: Option<String>,
    /// The resource the alert is about (`SM...`, `CA...`, `PN...`).
    #[serde(default)]
    pub resource_sid: Option<String>,
    /// The webhook URL Twilio requested, when one was involved.
    #[serde(default)]
    pub request_url: Option<String>,
    /// ISO 8601.
    #[serde(default)]
    pub date_generated: Option<String>,
    /// ISO 8601.
    #[serde(default)]
    pub date_created: Option<String>,
}

/// What a number can do.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
pub struct Capabilities {
    /// Calls.
    #[serde(default, alias = "Voice")]
    pub voice: bool,
    /// SMS.
    #[serde(default, alias = "SMS")]
    pub sms: bool,
    /// MMS.
    #[serde(default, alias = "MMS")]
    pub mms: bool,
    /// Fax.
    #[serde(default, alias = "Fax")]
    pub fax: bool,
}

/// An IncomingPhoneNumber: what the audit reads. Unset URLs come as `""` or `null`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IncomingPhoneNumber {
    /// `PN...`.
    pub sid: String,
    /// E.164.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// The name the owner gave it.
    #[serde(default)]
    pub friendly_name: Option<String>,
    /// What it can do; `None` when Twilio did not say.
    #[serde(default)]
    pub capabilities: Option<Capabilities>,
    /// Inbound SMS webhook.
    #[serde(default)]
    pub sms_url: Option<String>,
    /// Called when `sms_url` fails.
    #[serde(default)]
    pub sms_fallback_url: Option<String>,
    /// Inbound call webhook.
    #[serde(default)]
    pub voice_url: Option<String>,
    /// Called when `voice_url` fails.
    #[serde(default)]
    pub voice_fallback_url: Option<String>,
    /// Call status callbacks.
    #[serde(default)]
    pub status_callback: Option<String>,
    /// A TwiML application handling SMS instead of `sms_url`.
    #[serde(default)]
    pub sms_application_sid: Option<String>,
    /// A TwiML application handling calls instead of `voice_url`.
    #[serde(default)]
    pub voice_application_sid: Option<String>,
    /// An Elastic SIP trunk handling calls.
    #[serde(default)]
    pub trunk_sid: Option<String>,
    /// `GET` or `POST`: how `sms_url` is called.
    #[serde(default)]
    pub sms_method: Option<String>,
    /// `GET` or `POST`: how `voice_url` is called.
    #[serde(default)]
    pub voice_method: Option<String>,
    /// The number's status (`in-use`).
    #[serde(default)]
    pub status: Option<String>,
    /// RFC 2822.
    #[serde(default)]
    pub date_created: Option<String>,
    /// RFC 2822.
    #[serde(default)]
    pub date_updated: Option<String>,
}

/// A local number for sale (`AvailablePhoneNumbers/{Country}/Local.json`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct AvailableNumber {
    /// E.164: what [`TwilioClient::buy_number`](super::client::TwilioClient::buy_number) takes.
    pub phone_number: String,
    /// The national format (`(415) 555-0100`).
    #[serde(default)]
    pub friendly_name: Option<String>,
    /// The city.
    #[serde(default)]
    pub locality: Option<String>,
    /// The state or province (`CA`).
    #[serde(default)]
    pub region: Option<String>,
    /// The postal code.
    #[serde(default)]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    pub iso_country: Option<String>,
    /// What it can do; `None` when Twilio did not say.
    #[serde(default)]
    pub capabilities: Option<Capabilities>,
}

/// The answer of an AvailablePhoneNumbers search.
#[derive(Debug, Deserialize)]
pub(super) struct AvailableNumbers {
    #[serde(default)]
    pub(super) available_phone_numbers: Vec<AvailableNumber>,
}

/// A messaging Service.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MessagingService {
    /// `MG...`.
    pub sid: String,
    /// Its name.
    #[serde(default)]
    pub friendly_name: Option<String>,
    /// Inbound message webhook; `null` disables inbound messages.
    #[serde(default)]
    pub inbound_request_url: Option<String>,
    /// Called when `inbound_request_url` fails.
    #[serde(default)]
    pub fallback_url: Option<String>,
    /// Delivery status callbacks.
    #[serde(default)]
    pub status_callback: Option<String>,
    /// True when each number's own webhook handles inbound messages instead.
    #[serde(default)]
    pub use_inbound_webhook_on_number: Option<bool>,
    /// Whether a US A2P 10DLC campaign is registered for it.
    #[serde(default)]
    pub us_app_to_person_registered: Option<bool>,
    /// The declared use case.
    #[serde(default)]
    pub usecase: Option<String>,
}

/// A number in a messaging service (`sid` is the IncomingPhoneNumber's `PN...`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServicePhoneNumber {
    /// `PN...`.
    pub sid: String,
    /// E.164.
    #[serde(default)]
    pub phone_number: Option<String>,
}

/// Monthly prices of phone numbers in one country.
#[derive(Debug, Clone, Deserialize)]
pub struct NumberPrices {
    /// The country's name.
    #[serde(default)]
    pub country: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    pub iso_country: Option<String>,
    /// One price per number type.
    #[serde(default)]
    pub phone_number_prices: Vec<NumberPrice>,
    /// The currency.
    #[serde(default)]
    pub price_unit: Option<String>,
}

/// The monthly price of one number type.
#[derive(Debug, Clone, Deserialize)]
pub struct NumberPrice {
    /// `local`, `mobile`, `toll free`...
    #[serde(default)]
    pub number_type: Option<String>,
    /// The list price.
    #[serde(default, deserialize_with = "text_or_number")]
    pub base_price: Option<String>,
    /// The price the account pays.
    #[serde(default, deserialize_with = "text_or_number")]
    pub current_price: Option<String>,
}

/// The digest [`Message::body_sha256`] holds for `text`.
pub fn body_digest(text: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

fn digest_of_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    Ok(text.map(|t| body_digest(&t)))
}

/// Twilio's error document `{code, message, more_info, status}`, read from an error body.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct TwilioErrorBody {
    /// Twilio's code (`20003`).
    #[serde(default, deserialize_with = "code_or_none")]
    pub code: Option<String>,
    /// Twilio's message.
    #[serde(default)]
    pub message: Option<String>,
}

impl TwilioErrorBody {
    /// The error document of a failed call, when the answer carried one.
    pub fn of(e: &ClientError) -> Option<TwilioErrorBody> {
        serde_json::from_str(e.body()?).ok()
    }
}
