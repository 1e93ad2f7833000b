//! Twilio's request bodies for the operations: the form-encoded fields of a message to send, a
//! number to buy or update and a messaging service to update, read and validated with Twilio's
//! 400 errors (`is_e164`, booleans, URLs, HTTP methods). Pure: nothing here touches the state.

use super::state::{OwnedNumber, Service, TwilioError};

/// `+` and 2 to 15 digits, the first not 0.
pub(crate) fn is_e164(s: &str) -> bool {
    let Some(d) = s.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
}

/// The fields of a message to send.
#[derive(Debug, Default, Clone)]
pub(crate) struct SendRequest {
    pub(crate) to: Option<String>,
    pub(crate) from: Option<String>,
    pub(crate) messaging_service_sid: Option<String>,
    pub(crate) body: Option<String>,
    pub(crate) has_media: bool,
}

/// Changes to an owned number (`None` = unchanged). Validated before any is applied.
#[derive(Debug, Default, Clone)]
pub(crate) struct NumberUpdate {
    pub(crate) friendly_name: Option<String>,
    pub(crate) sms_url: Option<String>,
    pub(crate) sms_method: Option<String>,
    pub(crate) sms_fallback_url: Option<String>,
    pub(crate) sms_fallback_method: Option<String>,
    pub(crate) voice_url: Option<String>,
    pub(crate) voice_method: Option<String>,
    pub(crate) voice_fallback_url: Option<String>,
    pub(crate) voice_fallback_method: Option<String>,
    pub(crate) status_callback: Option<String>,
    pub(crate) status_callback_method: Option<String>,
    /// `Some(None)` clears.
    pub(crate) sms_application_sid: Option<Option<String>>,
    pub(crate) voice_application_sid: Option<Option<String>>,
    pub(crate) trunk_sid: Option<Option<String>>,
    pub(crate) voice_caller_id_lookup: Option<bool>,
}

impl NumberUpdate {
    /// Reads and validates the form fields of a number update or purchase.
    pub(crate) fn from_form(form: &[(String, String)]) -> Result<Self, TwilioError> {
        let url = |k: &str| form_url(form, k);
        let method = |k: &str| form_method(form, k);
        let sid = |k: &str, prefix: &str| -> Result<Option<Option<String>>, TwilioError> {
            match form_get(form, k) {
                None => Ok(None),
                Some(v) if v.trim().is_empty() => Ok(Some(None)),
                Some(v) => {
                    let v = v.trim();
                    let ok = v.len() == 34
                        && v.starts_with(prefix)
                        && v.bytes().skip(2).all(|b| b.is_ascii_hexdigit());
                    if ok {
                        Ok(Some(Some(v.to_owned())))
                    } else {
                        Err(TwilioError::bad(
                            20422,
                            format!("{k} {v} is not a valid SID"),
                        ))
                    }
                }
            }
        };
        let friendly_name = match form_get(form, "FriendlyName") {
            Some(v) if v.chars().count() > 64 => {
                return Err(TwilioError::bad(
                    20422,
                    "FriendlyName must be 64 characters or fewer",
                ));
            }
            v => v.map(str::to_owned),
        };
        let voice_caller_id_lookup = match form_get(form, "VoiceCallerIdLookup") {
            None => None,
            Some(v) => Some(parse_bool("VoiceCallerIdLookup", v)?),
        };
        Ok(NumberUpdate {
            friendly_name,
            sms_url: url("SmsUrl")?,
            sms_method: method("SmsMethod")?,
            sms_fallback_url: url("SmsFallbackUrl")?,
            sms_fallback_method: method("SmsFallbackMethod")?,
            voice_url: url("VoiceUrl")?,
            voice_method: method("VoiceMethod")?,
            voice_fallback_url: url("VoiceFallbackUrl")?,
            voice_fallback_method: method("VoiceFallbackMethod")?,
            status_callback: url("StatusCallback")?,
            status_callback_method: method("StatusCallbackMethod")?,
            sms_application_sid: sid("SmsApplicationSid", "AP")?,
            voice_application_sid: sid("VoiceApplicationSid", "AP")?,
            trunk_sid: sid("TrunkSid", "TK")?,
            voice_caller_id_lookup,
        })
    }

    pub(crate) fn apply(&self, n: &mut OwnedNumber) {
        fn set(target: &mut String, value: &Option<String>) {
            if let Some(v) = value {
                target.clone_from(v);
            }
        }
        set(&mut n.friendly_name, &self.friendly_name);
        set(&mut n.sms_url, &self.sms_url);
        set(&mut n.sms_method, &self.sms_method);
        set(&mut n.sms_fallback_url, &self.sms_fallback_url);
        set(&mut n.sms_fallback_method, &self.sms_fallback_method);
        set(&mut n.voice_url, &self.voice_url);
        set(&mut n.voice_method, &self.voice_method);
        set(&mut n.voice_fallback_url, &self.voice_fallback_url);
        set(&mut n.voice_fallback_method, &self.voice_fallback_method);
        set(&mut n.status_callback, &self.status_callback);
        set(&mut n.status_callback_method, &self.status_callback_method);
        if let Some(v) = &self.sms_application_sid {
            n.sms_application_sid.clone_from(v);
        }
        if let Some(v) = &self.voice_application_sid {
            n.voice_application_sid.clone_from(v);
        }
        if let Some(v) = &self.trunk_sid {
            n.trunk_sid.clone_from(v);
            // Twilio: a trunk and a voice application exclude each other.
            if v.is_some() {
                n.voice_application_sid = None;
            }
        }
        if let Some(v) = self.voice_caller_id_lookup {
            n.voice_caller_id_lookup = v;
        }
    }
}

/// Changes to a messaging service (`None` = unchanged; an empty URL clears it).
#[derive(Debug, Default, Clone)]
pub(crate) struct ServiceUpdate {
    pub(crate) friendly_name: Option<String>,
    pub(crate) inbound_request_url: Option<Option<String>>,
    pub(crate) inbound_method: Option<String>,
    pub(crate) fallback_url: Option<Option<String>>,
    pub(crate) fallback_method: Option<String>,
    pub(crate) status_callback: Option<Option<String>>,
    pub(crate) use_inbound_webhook_on_number: Option<bool>,
}

impl ServiceUpdate {
    /// Reads and validates the form fields of a service update.
    pub(crate) fn from_form(form: &[(String, String)]) -> Result<Self, TwilioError> {
        // An empty URL clears the setting.
        let url = |k: &str| form_url(form, k).map(|v| v.map(|u| (!u.is_empty()).then_some(u)));
        let method = |k: &str| form_method(form, k);
        let use_on_number = match form_get(form, "UseInboundWebhookOnNumber") {
            None => None,
            Some(v) => Some(parse_bool("UseInboundWebhookOnNumber", v)?),
        };
        Ok(ServiceUpdate {
            friendly_name: form_get(form, "FriendlyName").map(str::to_owned),
            inbound_request_url: url("InboundRequestUrl")?,
            inbound_method: method("InboundMethod")?,
            fallback_url: url("FallbackUrl")?,
            fallback_method: method("FallbackMethod")?,
            status_callback: url("StatusCallback")?,
            use_inbound_webhook_on_number: use_on_number,
        })
    }

    pub(crate) fn apply(&self, s: &mut Service) {
        if let Some(v) = &self.friendly_name {
            s.friendly_name.clone_from(v);
        }
        if let Some(v) = &self.inbound_request_url {
            s.inbound_request_url.clone_from(v);
        }
        if let Some(v) = &self.inbound_method {
            s.inbound_method.clone_from(v);
        }
        if let Some(v) = &self.fallback_url {
            s.fallback_url.clone_from(v);
        }
        if let Some(v) = &self.fallback_method {
            s.fallback_method.clone_from(v);
        }
        if let Some(v) = &self.status_callback {
            s.status_callback.clone_from(v);
        }
        if let Some(v) = self.use_inbound_webhook_on_number {
            s.use_inbound_webhook_on_number = v;
        }
    }
}

/// `true`/`false` (any case), else a 400 naming `name`.
pub(crate) fn parse_bool(name: &str, v: &str) -> Result<bool, TwilioError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(TwilioError::bad(
            20422,
            format!("{name} must be true or false, not {v}"),
        )),
    }
}

/// The first value of form field `k`.
pub(crate) fn form_get<'a>(form: &'a [(String, String)], k: &str) -> Option<&'a str> {
    form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// Form field `k` as a webhook URL: absent, `""` (clear), or an absolute http(s) URL.
fn form_url(form: &[(String, String)], k: &str) -> Result<Option<String>, TwilioError> {
    match form_get(form, k).map(str::trim) {
        None => Ok(None),
        Some("") => Ok(Some(String::new())),
        Some(v) => {
            let ok = url::Url::parse(v)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
            if ok {
                Ok(Some(v.to_owned()))
            } else {
                Err(TwilioError::bad(
                    21502,
                    format!("{k} is not a valid URL: {v}"),
                ))
            }
        }
    }
}

/// Form field `k` as an HTTP method for a webhook: `GET` or `POST`.
fn form_method(form: &[(String, String)], k: &str) -> Result<Option<String>, TwilioError> {
    match form_get(form, k) {
        None => Ok(None),
        Some(v) => {
            let m = v.trim().to_ascii_uppercase();
            if m == "GET" || m == "POST" {
                Ok(Some(m))
            } else {
                Err(TwilioError::bad(
                    20422,
                    format!("{k} must be GET or POST, not {v}"),
                ))
            }
        }
    }
}
