//! The JSON shapes of the v1 APIs: Monitor alerts (generated and raised at run time), messaging
//! Services and their numbers, and phone-number pricing with its price table. ISO 8601 dates,
//! absolute `url`s built from the request's origin, Twilio's field order.

use serde::Serialize;

use super::iso8601;
use crate::twilio::data::{self, AlertKind, AlertResource, Hook};
use crate::twilio::state::{LiveAlert, OwnedNumber, Service, TwilioState};
/// A Monitor alert; the instance fetch adds the request/response details.
#[derive(Debug, Serialize)]
pub(crate) struct AlertView {
    pub(crate) account_sid: String,
    pub(crate) alert_text: String,
    pub(crate) api_version: &'static str,
    pub(crate) date_created: String,
    pub(crate) date_generated: String,
    pub(crate) date_updated: String,
    pub(crate) error_code: String,
    pub(crate) log_level: &'static str,
    pub(crate) more_info: String,
    /// Never null: the spec's enum has no null (Twilio reports POST for non-webhook alerts).
    pub(crate) request_method: &'static str,
    pub(crate) request_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) request_variables: Option<String>,
    pub(crate) resource_sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) response_body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) response_headers: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) request_headers: Option<String>,
    pub(crate) sid: String,
    pub(crate) url: String,
    pub(crate) service_sid: Option<String>,
}

/// A messaging Service (`messaging.v1.service`).
#[derive(Debug, Serialize)]
pub(crate) struct ServiceView {
    pub(crate) account_sid: String,
    pub(crate) friendly_name: String,
    pub(crate) sid: String,
    pub(crate) date_created: String,
    pub(crate) date_updated: String,
    pub(crate) sticky_sender: bool,
    pub(crate) mms_converter: bool,
    pub(crate) smart_encoding: bool,
    pub(crate) fallback_to_long_code: bool,
    pub(crate) area_code_geomatch: bool,
    pub(crate) validity_period: u32,
    pub(crate) scan_message_content: &'static str,
    pub(crate) synchronous_validation: bool,
    pub(crate) inbound_request_url: Option<String>,
    pub(crate) inbound_method: String,
    pub(crate) fallback_url: Option<String>,
    pub(crate) fallback_method: String,
    pub(crate) status_callback: Option<String>,
    pub(crate) usecase: String,
    pub(crate) us_app_to_person_registered: bool,
    pub(crate) use_inbound_webhook_on_number: bool,
    pub(crate) links: std::collections::BTreeMap<&'static str, String>,
    pub(crate) url: String,
}

/// A number in a messaging service (`messaging.v1.service.phone_number`).
#[derive(Debug, Serialize)]
pub(crate) struct ServiceNumberView {
    pub(crate) account_sid: String,
    pub(crate) service_sid: String,
    pub(crate) sid: String,
    pub(crate) date_created: String,
    pub(crate) date_updated: String,
    pub(crate) phone_number: String,
    pub(crate) country_code: &'static str,
    pub(crate) capabilities: Vec<&'static str>,
    pub(crate) url: String,
}

/// One price of `phone_number_prices`. The spec types the prices as numbers (its
/// `overrideType` makes the SDKs read them as strings either way).
#[derive(Debug, Serialize)]
pub(crate) struct NumberPrice {
    pub(crate) number_type: &'static str,
    pub(crate) base_price: f64,
    pub(crate) current_price: f64,
}

/// Phone-number pricing for a country.
#[derive(Debug, Serialize)]
pub(crate) struct NumberPricingView {
    pub(crate) country: &'static str,
    pub(crate) iso_country: &'static str,
    pub(crate) phone_number_prices: Vec<NumberPrice>,
    pub(crate) price_unit: &'static str,
    pub(crate) url: String,
}

impl TwilioState {
    /// The generated alert at `pos`; `detail` adds the instance-only fields. `origin` is the
    /// absolute base the Monitor API is served under (`http://host/twilio/monitor`).
    pub(crate) fn alert_view(&self, pos: usize, origin: &str, detail: bool) -> Option<AlertView> {
        let a = self.generated.alerts.get(pos)?;
        let at = self.anchor - i64::from(a.age);
        Some(self.render_alert(a, self.alert_sids.sid(pos), (at, at + 1), origin, detail))
    }

    /// An alert raised at run time: generated and created in the same second.
    pub(crate) fn live_alert_view(&self, l: &LiveAlert, origin: &str, detail: bool) -> AlertView {
        self.render_alert(&l.alert, l.sid.clone(), (l.at, l.at), origin, detail)
    }

    /// The view of alert `a` with `sid`, generated and created at `(generated, created)`.
    fn render_alert(
        &self,
        a: &data::Alert,
        sid: String,
        (at, created): (i64, i64),
        origin: &str,
        detail: bool,
    ) -> AlertView {
        let code = a.kind.code();
        let hook = a.hook.and_then(|(n, h)| {
            let seed = data::NUMBER_SEEDS.get(usize::from(n))?;
            let url = match h {
                Hook::Sms => seed.sms_url,
                Hook::Voice => seed.voice_url,
            };
            (!url.is_empty()).then_some(url)
        });
        let resource_sid = match a.resource {
            AlertResource::Message(i) => Some(self.message_sids.sid(i as usize)),
            AlertResource::Call(i) => Some(self.call_sids.sid(i as usize)),
            AlertResource::Number(n) => self.number_sids.get(usize::from(n)).cloned(),
        };
        let service_sid = match a.resource {
            AlertResource::Message(i) => self
                .generated
                .messages
                .get(i as usize)
                .and_then(|m| data::NUMBER_SEEDS.get(usize::from(m.number)))
                .and_then(|n| n.service)
                .and_then(|s| self.service_sids.get(s))
                .cloned(),
            _ => None,
        };
        let level = a.kind.log_level();
        let msg = match (a.kind, a.http_status) {
            (AlertKind::HttpRetrieval, 0) => "Timeout",
            (AlertKind::HttpRetrieval, 404) => "Not Found",
            (AlertKind::HttpRetrieval, 500) => "Internal Server Error",
            (AlertKind::HttpRetrieval, 502) => "Bad Gateway",
            (AlertKind::HttpRetrieval, _) => "Service Unavailable",
            (AlertKind::HttpConnection, _) => "Connection refused",
            (kind, _) => kind.text(),
        };
        let mut text = url::form_urlencoded::Serializer::new(String::new());
        text.append_pair("Msg", msg);
        text.append_pair(
            "sourceComponent",
            match a.kind {
                AlertKind::Message(_) => "12000",
                AlertKind::GeoPermission => "13000",
                _ => "14100",
            },
        );
        text.append_pair("ErrorCode", &code.to_string());
        text.append_pair("LogLevel", &level.to_uppercase());
        if a.kind == AlertKind::HttpRetrieval && a.http_status != 0 {
            text.append_pair("httpResponse", &a.http_status.to_string());
        }
        if let Some(url) = hook {
            text.append_pair("url", url);
        }
        text.append_pair("EmailNotification", "false");
        let alert_text = text.finish();
        let (request_variables, response_body, response_headers, request_headers) = if detail {
            let vars = match a.resource {
                AlertResource::Message(i) => format!(
                    "MessageSid={}&AccountSid={}&ApiVersion=2010-04-01",
                    self.message_sids.sid(i as usize),
                    self.account_sid
                ),
                AlertResource::Call(i) => format!(
                    "CallSid={}&AccountSid={}&ApiVersion=2010-04-01",
                    self.call_sids.sid(i as usize),
                    self.account_sid
                ),
                AlertResource::Number(_) => format!("AccountSid={}", self.account_sid),
            };
            let body = match (a.kind, a.http_status) {
                (AlertKind::HttpRetrieval, 0) | (AlertKind::HttpConnection, _) => String::new(),
                (AlertKind::HttpRetrieval, s) => {
                    format!("<html><body><h1>{s} {msg}</h1></body></html>")
                }
                (AlertKind::ContentType, _) => "<html><body>OK</body></html>".to_owned(),
                _ => String::new(),
            };
            let headers = match a.kind {
                AlertKind::ContentType => "Content-Type=text%2Fhtml".to_owned(),
                AlertKind::HttpRetrieval if a.http_status != 0 => {
                    "Content-Type=text%2Fhtml".to_owned()
                }
                _ => String::new(),
            };
            (
                Some(vars),
                Some(body),
                Some(headers),
                Some("X-Twilio-Signature=redacted&User-Agent=TwilioProxy%2F1.1".to_owned()),
            )
        } else {
            (None, None, None, None)
        };
        AlertView {
            account_sid: self.account_sid.clone(),
            alert_text,
            api_version: "2010-04-01",
            date_created: iso8601(created),
            date_generated: iso8601(at),
            date_updated: iso8601(created),
            error_code: code.to_string(),
            log_level: level,
            more_info: format!("https://www.twilio.com/docs/errors/{code}"),
            request_method: "POST",
            request_url: hook.map(str::to_owned),
            request_variables,
            resource_sid,
            response_body,
            response_headers,
            request_headers,
            url: format!("{origin}/v1/Alerts/{sid}"),
            sid,
            service_sid,
        }
    }

    /// A messaging service; `origin` is `http://host/twilio/messaging`.
    pub(crate) fn service_view(&self, s: &Service, origin: &str) -> ServiceView {
        let url = format!("{origin}/v1/Services/{}", s.sid);
        let links = [
            ("phone_numbers", "PhoneNumbers"),
            ("short_codes", "ShortCodes"),
            ("alpha_senders", "AlphaSenders"),
            ("messages", "Messages"),
            ("us_app_to_person", "Compliance/Usa2p"),
            ("us_app_to_person_usecases", "Compliance/Usa2p/Usecases"),
            ("channel_senders", "ChannelSenders"),
            ("destination_alpha_senders", "DestinationAlphaSenders"),
        ]
        .into_iter()
        .map(|(k, v)| (k, format!("{url}/{v}")))
        .collect();
        ServiceView {
            account_sid: self.account_sid.clone(),
            friendly_name: s.friendly_name.clone(),
            sid: s.sid.clone(),
            date_created: iso8601(s.created),
            date_updated: iso8601(s.updated),
            sticky_sender: true,
            mms_converter: true,
            smart_encoding: true,
            fallback_to_long_code: false,
            area_code_geomatch: true,
            validity_period: 14_400,
            scan_message_content: "inherit",
            synchronous_validation: false,
            inbound_request_url: s.inbound_request_url.clone(),
            inbound_method: s.inbound_method.clone(),
            fallback_url: s.fallback_url.clone(),
            fallback_method: s.fallback_method.clone(),
            status_callback: s.status_callback.clone(),
            usecase: s.usecase.clone(),
            us_app_to_person_registered: s.us_app_to_person_registered,
            use_inbound_webhook_on_number: s.use_inbound_webhook_on_number,
            links,
            url,
        }
    }

    /// A number as a member of messaging service `service_sid`.
    pub(crate) fn service_number_view(
        &self,
        service_sid: &str,
        n: &OwnedNumber,
        origin: &str,
    ) -> ServiceNumberView {
        let mut capabilities = Vec::new();
        if n.capabilities.mms {
            capabilities.push("MMS");
        }
        if n.capabilities.sms {
            capabilities.push("SMS");
        }
        if n.capabilities.voice {
            capabilities.push("Voice");
        }
        ServiceNumberView {
            account_sid: self.account_sid.clone(),
            service_sid: service_sid.to_owned(),
            sid: n.sid.clone(),
            date_created: iso8601(n.created),
            date_updated: iso8601(n.updated),
            phone_number: n.phone_number.clone(),
            country_code: "US",
            capabilities,
            url: format!("{origin}/v1/Services/{service_sid}/PhoneNumbers/{}", n.sid),
        }
    }
}

/// A number type's monthly price: (type, base, current), in USD.
pub(crate) type NumberTypePrice = (&'static str, f64, f64);

/// Monthly prices of phone numbers in one country.
#[derive(Debug)]
pub(crate) struct CountryPrices {
    pub(crate) iso: &'static str,
    pub(crate) name: &'static str,
    pub(crate) prices: &'static [NumberTypePrice],
}

/// The countries with phone-number prices.
pub(crate) const NUMBER_PRICES: &[CountryPrices] = &[
    CountryPrices {
        iso: "US",
        name: "United States",
        prices: &[("local", 1.15, 1.15), ("toll free", 2.15, 2.15)],
    },
    CountryPrices {
        iso: "CA",
        name: "Canada",
        prices: &[("local", 1.15, 1.15), ("toll free", 2.15, 2.15)],
    },
    CountryPrices {
        iso: "GB",
        name: "United Kingdom",
        prices: &[
            ("local", 1.15, 1.15),
            ("mobile", 1.15, 1.15),
            ("national", 1.15, 1.15),
            ("toll free", 2.15, 2.15),
        ],
    },
    CountryPrices {
        iso: "AU",
        name: "Australia",
        prices: &[
            ("local", 3.0, 3.0),
            ("mobile", 6.5, 6.5),
            ("toll free", 16.0, 16.0),
        ],
    },
    CountryPrices {
        iso: "DE",
        name: "Germany",
        prices: &[
            ("local", 1.5, 1.5),
            ("mobile", 15.0, 15.0),
            ("national", 2.0, 2.0),
            ("toll free", 25.0, 25.0),
        ],
    },
];
