//! The JSON shapes Twilio serves, as typed views built per request from the compact records:
//! every property the official specs list for Message, Call, IncomingPhoneNumber,
//! AvailablePhoneNumber, Account, Balance, Alert, messaging Service and phone-number pricing,
//! in Twilio's field order, with Twilio's types (RFC 2822 dates on the 2010 API, ISO 8601 on
//! v1, prices as strings, `error_code` as an integer on messages and a string on alerts).
//!
//! Views borrow nothing and are never cached: memory stays proportional to the data. This file
//! does not decide what is listed (see `paging`) nor handle requests.

//!
//! Layout: this file holds the formats and the 2010 API's views (Message, Call,
//! IncomingPhoneNumber, AvailablePhoneNumber, Account, Balance); `render/v1.rs` the v1 APIs'
//! (Alert, messaging Service and its numbers, phone-number pricing).

mod v1;

pub(crate) use v1::*;

use jiff::Timestamp;
use serde::Serialize;

use super::data::{self, MessageStatus};
use super::state::{CreatedMessage, OwnedNumber, TwilioState};

/// `Wed, 25 Nov 2026 10:00:00 +0000`, as the 2010 API writes dates.
pub(crate) fn rfc2822(secs: i64) -> String {
    Timestamp::from_second(secs)
        .map(|t| t.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string())
        .unwrap_or_default()
}

/// `2026-11-25T10:00:00Z`, as the v1 APIs write dates.
pub(crate) fn iso8601(secs: i64) -> String {
    Timestamp::from_second(secs)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// `(415) 555-0100` for `+14155550100`; other numbers unchanged.
pub(crate) fn national_format(e164: &str) -> String {
    match e164.strip_prefix("+1") {
        Some(d) if d.len() == 10 && d.bytes().all(|b| b.is_ascii_digit()) => {
            format!("({}) {}-{}", &d[..3], &d[3..6], &d[6..])
        }
        _ => e164.to_owned(),
    }
}

/// A price of `e5` hundred-thousandths of a dollar charged: `-0.00790`.
pub(crate) fn charge(e5: u32) -> String {
    format!("-{}.{:05}", e5 / 100_000, e5 % 100_000)
}

/// How many SMS segments `body` takes: GSM-7 (160, or 153 per part) when plain ASCII,
/// UCS-2 (70, or 67 per part) otherwise.
pub(crate) fn segments(body: &str) -> u32 {
    let gsm = body
        .bytes()
        .all(|b| b == b'\n' || (0x20..0x7f).contains(&b));
    let len = u32::try_from(body.chars().count()).unwrap_or(u32::MAX);
    let (single, part) = if gsm { (160, 153) } else { (70, 67) };
    if len <= single { 1 } else { len.div_ceil(part) }
}

/// Fills `{n}` placeholders (n digits) from `h`.
fn fill(template: &str, mut h: u64) -> String {
    let mut out = String::with_capacity(template.len() + 8);
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '{' {
            let mut digits = String::new();
            for d in chars.by_ref() {
                if d == '}' {
                    break;
                }
                digits.push(d);
            }
            let n: u32 = digits.parse().unwrap_or(1).clamp(1, 9);
            let modulus = 10u64.pow(n);
            let floor = if n == 1 { 1 } else { 10u64.pow(n - 1) };
            let value = floor + h % (modulus - floor);
            h = data::mix(h, 1);
            out.push_str(&value.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// `subresource_uris` of a message.
#[derive(Debug, Serialize)]
pub(crate) struct MessageLinks {
    pub(crate) media: String,
    pub(crate) feedback: String,
}

/// The Message resource (`api.v2010.account.message`).
#[derive(Debug, Serialize)]
pub(crate) struct MessageView {
    pub(crate) account_sid: String,
    pub(crate) api_version: &'static str,
    pub(crate) body: String,
    pub(crate) date_created: String,
    pub(crate) date_sent: Option<String>,
    pub(crate) date_updated: String,
    pub(crate) direction: &'static str,
    pub(crate) error_code: Option<u32>,
    pub(crate) error_message: Option<&'static str>,
    pub(crate) from: Option<String>,
    pub(crate) messaging_service_sid: Option<String>,
    pub(crate) num_media: &'static str,
    pub(crate) num_segments: String,
    pub(crate) price: Option<String>,
    pub(crate) price_unit: &'static str,
    pub(crate) sid: String,
    pub(crate) status: &'static str,
    pub(crate) subresource_uris: MessageLinks,
    pub(crate) to: String,
    pub(crate) uri: String,
}

/// `subresource_uris` of a call.
#[derive(Debug, Serialize)]
pub(crate) struct CallLinks {
    pub(crate) notifications: String,
    pub(crate) recordings: String,
    pub(crate) payments: String,
    pub(crate) events: String,
    pub(crate) siprec: String,
    pub(crate) streams: String,
    pub(crate) transcriptions: String,
    pub(crate) user_defined_message_subscriptions: String,
    pub(crate) user_defined_messages: String,
}

/// The Call resource (`api.v2010.account.call`).
#[derive(Debug, Serialize)]
pub(crate) struct CallView {
    pub(crate) account_sid: String,
    pub(crate) answered_by: Option<&'static str>,
    pub(crate) api_version: &'static str,
    pub(crate) caller_name: Option<String>,
    pub(crate) date_created: String,
    pub(crate) date_updated: String,
    pub(crate) direction: &'static str,
    pub(crate) duration: Option<String>,
    pub(crate) end_time: Option<String>,
    pub(crate) forwarded_from: Option<String>,
    pub(crate) from: String,
    pub(crate) from_formatted: String,
    pub(crate) group_sid: Option<String>,
    pub(crate) parent_call_sid: Option<String>,
    pub(crate) phone_number_sid: Option<String>,
    pub(crate) price: Option<String>,
    pub(crate) price_unit: &'static str,
    pub(crate) sid: String,
    pub(crate) start_time: Option<String>,
    pub(crate) status: &'static str,
    pub(crate) subresource_uris: CallLinks,
    pub(crate) to: String,
    pub(crate) to_formatted: String,
    pub(crate) trunk_sid: Option<String>,
    pub(crate) uri: String,
    pub(crate) queue_time: &'static str,
}

/// `capabilities` of a number (2010 API).
#[derive(Debug, Serialize, Clone, Copy)]
pub(crate) struct Capabilities {
    pub(crate) voice: bool,
    pub(crate) sms: bool,
    pub(crate) mms: bool,
    pub(crate) fax: bool,
}

/// The IncomingPhoneNumber resource (`api.v2010.account.incoming_phone_number`). Unset URLs
/// are `""` and unset SIDs `null`, as Twilio serves them.
#[derive(Debug, Serialize)]
pub(crate) struct NumberView {
    pub(crate) account_sid: String,
    pub(crate) address_requirements: &'static str,
    pub(crate) address_sid: Option<String>,
    pub(crate) api_version: &'static str,
    pub(crate) beta: bool,
    pub(crate) capabilities: Capabilities,
    pub(crate) date_created: String,
    pub(crate) date_updated: String,
    pub(crate) emergency_status: &'static str,
    pub(crate) emergency_address_sid: Option<String>,
    pub(crate) emergency_address_status: &'static str,
    pub(crate) friendly_name: String,
    pub(crate) identity_sid: Option<String>,
    pub(crate) origin: &'static str,
    pub(crate) phone_number: String,
    pub(crate) sid: String,
    pub(crate) sms_application_sid: Option<String>,
    pub(crate) sms_fallback_method: String,
    pub(crate) sms_fallback_url: String,
    pub(crate) sms_method: String,
    pub(crate) sms_url: String,
    pub(crate) status_callback: String,
    pub(crate) status_callback_method: String,
    pub(crate) trunk_sid: Option<String>,
    pub(crate) uri: String,
    pub(crate) voice_application_sid: Option<String>,
    pub(crate) voice_caller_id_lookup: bool,
    pub(crate) voice_fallback_method: String,
    pub(crate) voice_fallback_url: String,
    pub(crate) voice_method: String,
    pub(crate) voice_url: String,
    pub(crate) bundle_sid: Option<String>,
    pub(crate) voice_receive_mode: &'static str,
    pub(crate) status: &'static str,
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
}

/// An AvailablePhoneNumber (Local) record.
#[derive(Debug, Serialize)]
pub(crate) struct AvailableView {
    pub(crate) friendly_name: String,
    pub(crate) phone_number: String,
    pub(crate) lata: &'static str,
    pub(crate) locality: &'static str,
    pub(crate) rate_center: &'static str,
    pub(crate) latitude: f64,
    pub(crate) longitude: f64,
    pub(crate) region: &'static str,
    pub(crate) postal_code: &'static str,
    pub(crate) iso_country: &'static str,
    pub(crate) address_requirements: &'static str,
    pub(crate) beta: bool,
    pub(crate) capabilities: Capabilities,
}

/// The Account resource.
#[derive(Debug, Serialize)]
pub(crate) struct AccountView {
    pub(crate) auth_token: String,
    pub(crate) date_created: String,
    pub(crate) date_updated: String,
    pub(crate) friendly_name: &'static str,
    pub(crate) owner_account_sid: String,
    pub(crate) sid: String,
    pub(crate) status: &'static str,
    pub(crate) subresource_uris: std::collections::BTreeMap<&'static str, String>,
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) uri: String,
}

/// The Balance resource.
#[derive(Debug, Serialize)]
pub(crate) struct BalanceView {
    pub(crate) account_sid: String,
    pub(crate) balance: String,
    pub(crate) currency: &'static str,
}

impl TwilioState {
    /// `/2010-04-01/Accounts/AC...`
    pub(crate) fn account_path(&self) -> String {
        format!("/2010-04-01/Accounts/{}", self.account_sid)
    }

    /// The generated message at `pos` (0 = newest).
    pub(crate) fn message_view(&self, pos: usize) -> Option<MessageView> {
        let m = self.generated.messages.get(pos)?;
        let h = data::mix(self.message_sids.seed(), pos as u64);
        let sid = self.message_sids.sid(pos);
        let sent = self.anchor - i64::from(m.age);
        let outbound = m.direction != data::Direction::Inbound;
        let ours = data::seed_number(usize::from(m.number));
        let peer = data::peer_number(self.peers_seed, m.peer);
        let (from, to) = if outbound { (ours, peer) } else { (peer, ours) };
        let template = if outbound {
            data::OUTBOUND_BODIES.get(usize::from(m.body))
        } else {
            data::INBOUND_BODIES.get(usize::from(m.body))
        }
        .copied()
        .unwrap_or("");
        let body = fill(template, h);
        let segs = segments(&body);
        let created = if outbound { sent - 1 } else { sent };
        let delay = i64::try_from(h % 20).unwrap_or(0);
        let updated = match m.status {
            MessageStatus::Delivered => sent + 2 + delay,
            MessageStatus::Undelivered => sent + 5 + delay * 6,
            MessageStatus::Failed => created,
            MessageStatus::Sent | MessageStatus::Sending | MessageStatus::Received => sent,
        };
        let price = match m.status {
            MessageStatus::Failed | MessageStatus::Sending => None,
            _ => Some(charge(data::SMS_PRICE_E5 * segs)),
        };
        let error = (m.error > 0)
            .then(|| data::MESSAGE_ERRORS.get(usize::from(m.error) - 1))
            .flatten();
        let service = data::NUMBER_SEEDS
            .get(usize::from(m.number))
            .and_then(|n| n.service)
            .and_then(|s| self.service_sids.get(s))
            .cloned();
        Some(self.message_shape(MessageParts {
            sid,
            body,
            segments: segs,
            created,
            sent: Some(sent),
            updated,
            direction: m.direction.as_str(),
            status: m.status.as_str(),
            error_code: error.map(|e| e.code),
            error_message: error.map(|e| e.message),
            from: Some(from),
            to,
            service,
            price,
        }))
    }

    /// A message created through the API.
    pub(crate) fn created_message_view(&self, m: &CreatedMessage) -> MessageView {
        self.message_shape(MessageParts {
            sid: m.sid.clone(),
            body: m.body.clone(),
            segments: segments(&m.body),
            created: m.created,
            sent: None,
            updated: m.created,
            direction: "outbound-api",
            status: if m.from.is_some() {
                "queued"
            } else {
                "accepted"
            },
            error_code: None,
            error_message: None,
            from: m.from.clone(),
            to: m.to.clone(),
            service: m.service.clone(),
            price: None,
        })
    }

    fn message_shape(&self, p: MessageParts) -> MessageView {
        let base = format!("{}/Messages/{}", self.account_path(), p.sid);
        MessageView {
            account_sid: self.account_sid.clone(),
            api_version: "2010-04-01",
            body: p.body,
            date_created: rfc2822(p.created),
            date_sent: p.sent.map(rfc2822),
            date_updated: rfc2822(p.updated),
            direction: p.direction,
            error_code: p.error_code,
            error_message: p.error_message,
            from: p.from,
            messaging_service_sid: p.service,
            num_media: "0",
            num_segments: p.segments.to_string(),
            price: p.price,
            price_unit: "USD",
            sid: p.sid,
            status: p.status,
            subresource_uris: MessageLinks {
                media: format!("{base}/Media.json"),
                feedback: format!("{base}/Feedback.json"),
            },
            to: p.to,
            uri: format!("{base}.json"),
        }
    }

    /// The generated call at `pos` (0 = newest).
    pub(crate) fn call_view(&self, pos: usize) -> Option<CallView> {
        let c = self.generated.calls.get(pos)?;
        let h = data::mix(self.call_sids.seed(), pos as u64);
        let sid = self.call_sids.sid(pos);
        let start = self.anchor - i64::from(c.age);
        let ring = 3 + i64::try_from(h % 25).unwrap_or(0);
        let ours = data::seed_number(usize::from(c.number));
        let peer = data::peer_number(self.peers_seed, c.peer);
        let (from, to) = if c.inbound {
            (peer, ours)
        } else {
            (ours, peer)
        };
        use data::CallStatus as S;
        let (start_time, end_time, duration, price) = match c.status {
            S::Completed => {
                let d = i64::from(c.duration);
                let minutes = u32::from(c.duration).div_ceil(60).max(1);
                let per_minute = if c.inbound { 850 } else { 1400 };
                (
                    Some(start),
                    Some(start + d),
                    Some(d.to_string()),
                    Some(charge(per_minute * minutes)),
                )
            }
            S::InProgress => (Some(start), None, None, None),
            S::Busy | S::NoAnswer | S::Failed => {
                (Some(start), Some(start + ring), Some("0".to_owned()), None)
            }
            S::Canceled => (None, Some(start + ring), Some("0".to_owned()), None),
        };
        let updated = end_time.unwrap_or(start);
        let base = format!("{}/Calls/{sid}", self.account_path());
        let link = |name: &str| format!("{base}/{name}.json");
        Some(CallView {
            account_sid: self.account_sid.clone(),
            answered_by: None,
            api_version: "2010-04-01",
            caller_name: None,
            date_created: rfc2822(start - 1),
            date_updated: rfc2822(updated),
            direction: if c.inbound { "inbound" } else { "outbound-api" },
            duration,
            end_time: end_time.map(rfc2822),
            forwarded_from: None,
            from_formatted: national_format(&from),
            from,
            group_sid: None,
            parent_call_sid: None,
            phone_number_sid: self.number_sids.get(usize::from(c.number)).cloned(),
            price,
            price_unit: "USD",
            start_time: start_time.map(rfc2822),
            status: c.status.as_str(),
            subresource_uris: CallLinks {
                notifications: link("Notifications"),
                recordings: link("Recordings"),
                payments: link("Payments"),
                events: link("Events"),
                siprec: link("Siprec"),
                streams: link("Streams"),
                transcriptions: link("Transcriptions"),
                user_defined_message_subscriptions: link("UserDefinedMessageSubscriptions"),
                user_defined_messages: link("UserDefinedMessages"),
            },
            to_formatted: national_format(&to),
            to,
            trunk_sid: None,
            uri: format!("{base}.json"),
            sid,
            queue_time: "0",
        })
    }

    /// An owned number.
    pub(crate) fn number_view(&self, n: &OwnedNumber) -> NumberView {
        NumberView {
            account_sid: self.account_sid.clone(),
            address_requirements: "none",
            address_sid: None,
            api_version: "2010-04-01",
            beta: false,
            capabilities: n.capabilities,
            date_created: rfc2822(n.created),
            date_updated: rfc2822(n.updated),
            emergency_status: "Inactive",
            emergency_address_sid: None,
            emergency_address_status: "unregistered",
            friendly_name: n.friendly_name.clone(),
            identity_sid: None,
            origin: "twilio",
            phone_number: n.phone_number.clone(),
            sid: n.sid.clone(),
            sms_application_sid: n.sms_application_sid.clone(),
            sms_fallback_method: n.sms_fallback_method.clone(),
            sms_fallback_url: n.sms_fallback_url.clone(),
            sms_method: n.sms_method.clone(),
            sms_url: n.sms_url.clone(),
            status_callback: n.status_callback.clone(),
            status_callback_method: n.status_callback_method.clone(),
            trunk_sid: n.trunk_sid.clone(),
            uri: format!(
                "{}/IncomingPhoneNumbers/{}.json",
                self.account_path(),
                n.sid
            ),
            voice_application_sid: n.voice_application_sid.clone(),
            voice_caller_id_lookup: n.voice_caller_id_lookup,
            voice_fallback_method: n.voice_fallback_method.clone(),
            voice_fallback_url: n.voice_fallback_url.clone(),
            voice_method: n.voice_method.clone(),
            voice_url: n.voice_url.clone(),
            bundle_sid: None,
            voice_receive_mode: "voice",
            status: "in-use",
            kind: "local",
        }
    }

    /// A number for sale.
    pub(crate) fn available_view(a: &data::AvailableNumber) -> AvailableView {
        let area = data::AREA_CODES.get(a.area);
        let phone_number = a.e164();
        AvailableView {
            friendly_name: national_format(&phone_number),
            phone_number,
            lata: area.map_or("", |x| x.lata),
            locality: area.map_or("", |x| x.locality),
            rate_center: area.map_or("", |x| x.rate_center),
            latitude: area.map_or(0.0, |x| x.latitude),
            longitude: area.map_or(0.0, |x| x.longitude),
            region: area.map_or("", |x| x.region),
            postal_code: area.map_or("", |x| x.postal_code),
            iso_country: "US",
            address_requirements: "none",
            beta: false,
            capabilities: Capabilities {
                voice: a.voice,
                sms: a.sms,
                mms: a.mms,
                fax: false,
            },
        }
    }

    /// The account.
    pub(crate) fn account_view(&self) -> AccountView {
        let base = self.account_path();
        let subresource_uris = [
            ("addresses", "Addresses"),
            ("applications", "Applications"),
            ("authorized_connect_apps", "AuthorizedConnectApps"),
            ("available_phone_numbers", "AvailablePhoneNumbers"),
            ("balance", "Balance"),
            ("calls", "Calls"),
            ("conferences", "Conferences"),
            ("connect_apps", "ConnectApps"),
            ("incoming_phone_numbers", "IncomingPhoneNumbers"),
            ("keys", "Keys"),
            ("messages", "Messages"),
            ("notifications", "Notifications"),
            ("outgoing_caller_ids", "OutgoingCallerIds"),
            ("queues", "Queues"),
            ("recordings", "Recordings"),
            ("short_codes", "SMS/ShortCodes"),
            ("signing_keys", "SigningKeys"),
            ("sip", "SIP"),
            ("transcriptions", "Transcriptions"),
            ("usage", "Usage"),
        ]
        .into_iter()
        .map(|(k, v)| (k, format!("{base}/{v}.json")))
        .collect();
        AccountView {
            auth_token: self.auth_token.clone(),
            date_created: rfc2822(self.account_created),
            date_updated: rfc2822(self.account_created + 86_400 * 30),
            friendly_name: "apiops simulator",
            owner_account_sid: self.account_sid.clone(),
            sid: self.account_sid.clone(),
            status: "active",
            subresource_uris,
            kind: "Full",
            uri: format!("{base}.json"),
        }
    }

    /// The balance.
    pub(crate) fn balance_view(&self) -> BalanceView {
        BalanceView {
            account_sid: self.account_sid.clone(),
            balance: self.balance.clone(),
            currency: "USD",
        }
    }
}

/// What differs between a generated and a created message.
struct MessageParts {
    sid: String,
    body: String,
    segments: u32,
    created: i64,
    sent: Option<i64>,
    updated: i64,
    direction: &'static str,
    status: &'static str,
    error_code: Option<u32>,
    error_message: Option<&'static str>,
    from: Option<String>,
    to: String,
    service: Option<String>,
    price: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_twilio() {
        assert_eq!(rfc2822(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(iso8601(86_400 + 61), "1970-01-02T00:01:01Z");
        assert_eq!(national_format("+14155550100"), "(415) 555-0100");
        assert_eq!(national_format("+447700900123"), "+447700900123");
        assert_eq!(charge(790), "-0.00790");
        assert_eq!(charge(1580), "-0.01580");
        assert_eq!(charge(123_456), "-1.23456");
        assert_eq!(segments("hi"), 1);
        assert_eq!(segments(&"a".repeat(160)), 1);
        assert_eq!(segments(&"a".repeat(161)), 2);
        assert_eq!(segments(&"é".repeat(71)), 2);
        let body = fill("code {6} and {1}", 12345);
        assert_eq!(body.len(), "code 123456 and 1".len(), "{body}");
        assert_eq!(fill("plain", 1), "plain");
    }
}
