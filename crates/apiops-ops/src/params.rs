//! Building an [`Operation`] from named parameters: what an LLM planner's tool call and an MCP
//! client's request carry. The same checks as the intent parser: E.164 numbers, area codes,
//! durations, `we_` ids; a missing required parameter is a question, not a default.

use std::time::Duration;

use apiops_core::Service;
use serde_json::{Map, Value};

use crate::catalog::{
    DEFAULT_SINCE, DEFAULT_TEST_EVENT, DEFAULT_TEST_MODEL, EndpointRef, NumberUrls, OpKind,
    Operation, UsageBy, UsagePeriod,
};
use crate::error::OpsError;

/// The JSON schema of an operation's parameters (for tool definitions).
pub fn schema(kind: OpKind) -> Value {
    let spec = kind.spec();
    let mut properties = Map::new();
    for p in spec.params {
        let ty = match p.name {
            "limit" | "area_code" => serde_json::json!({"type": "integer", "description": p.help}),
            "to" | "numbers" | "services" => serde_json::json!({
                "type": "array", "items": {"type": "string"}, "description": p.help
            }),
            _ => serde_json::json!({"type": "string", "description": p.help}),
        };
        properties.insert(p.name.to_owned(), ty);
    }
    let required: Vec<&str> = spec
        .params
        .iter()
        .filter(|p| p.required)
        .map(|p| p.name)
        .collect();
    serde_json::json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// Builds `kind` from `params`. Unknown parameters are refused (a typo must not be ignored).
pub fn build(kind: OpKind, params: &Map<String, Value>) -> Result<Operation, OpsError> {
    let spec = kind.spec();
    if let Some(unknown) = params
        .keys()
        .find(|k| !spec.params.iter().any(|p| p.name == k.as_str()))
    {
        return Err(OpsError::Invalid(format!(
            "{} has no parameter {unknown:?} (it takes: {})",
            spec.name,
            spec.params
                .iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let p = Params { kind, params };
    Ok(match kind {
        OpKind::TwilioSearchNumbers => Operation::TwilioSearchNumbers {
            country: p.country()?,
            area_code: p.area_code()?,
            contains: p.text("contains")?,
            limit: p.integer("limit")?.unwrap_or(5).clamp(1, 50) as u32,
        },
        OpKind::TwilioBuyNumber => {
            let number = p.e164_opt("number")?;
            let area_code = p.area_code()?;
            if number.is_none() && area_code.is_none() {
                return Err(p.ask(
                    "Which number, or which area code?",
                    &["buy a phone number in 415", "buy +14155550123"],
                ));
            }
            Operation::TwilioBuyNumber {
                number,
                area_code,
                country: p.country()?,
                urls: NumberUrls {
                    sms_url: p.url("sms_url")?,
                    voice_url: p.url("voice_url")?,
                    ..NumberUrls::default()
                },
            }
        }
        OpKind::TwilioReleaseNumber => Operation::TwilioReleaseNumber {
            number: p.number_ref("number")?,
        },
        OpKind::TwilioUpdateNumber => {
            let urls = NumberUrls {
                sms_url: p.url("sms_url")?,
                sms_fallback_url: p.url("sms_fallback_url")?,
                voice_url: p.url("voice_url")?,
                voice_fallback_url: p.url("voice_fallback_url")?,
                status_callback: p.url("status_callback")?,
            };
            if urls.is_empty() {
                return Err(p.ask(
                    "Which URL should be set (sms_url, voice_url, status_callback...)?",
                    &[],
                ));
            }
            Operation::TwilioUpdateNumber {
                numbers: vec![p.number_ref("number")?],
                urls,
            }
        }
        OpKind::TwilioSendTestSms => {
            let to = p.list("to")?;
            if to.is_empty() {
                return Err(p.ask(
                    "Send the test message to which number?",
                    &["send a test message to +14155550100"],
                ));
            }
            let to = to.iter().map(|t| e164(t)).collect::<Result<Vec<_>, _>>()?;
            Operation::TwilioSendTestSms {
                to,
                from: p.text("from")?,
                body: p.text("body")?,
            }
        }
        OpKind::TwilioListFailedMessages => Operation::TwilioListFailedMessages {
            since: p.duration("since")?.unwrap_or(DEFAULT_SINCE),
        },
        OpKind::StripeListEndpoints => Operation::StripeListEndpoints,
        OpKind::StripeEnableEndpoint | OpKind::StripeDisableEndpoint => {
            Operation::StripeSetEndpointEnabled {
                endpoint: p.endpoint_ref()?,
                enabled: kind == OpKind::StripeEnableEndpoint,
            }
        }
        OpKind::StripeUpdateEndpoint => {
            let url = p.url("url")?;
            let events = p.text("events")?.map(|e| {
                e.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            });
            if url.is_none() && events.is_none() {
                return Err(p.ask("Change the endpoint's url or its events?", &[]));
            }
            Operation::StripeUpdateEndpoint {
                endpoint: p.endpoint_id()?,
                url,
                events,
            }
        }
        OpKind::StripeSendTestEvent => Operation::StripeSendTestEvent {
            endpoint: p.endpoint_id()?,
            event_type: p
                .text("event_type")?
                .unwrap_or_else(|| DEFAULT_TEST_EVENT.to_owned()),
        },
        OpKind::StripeResendUndelivered => Operation::StripeResendUndelivered {
            since: p.duration("since")?.unwrap_or(DEFAULT_SINCE),
            to: p.url("to")?,
        },
        OpKind::OpenaiListModels => Operation::OpenaiListModels,
        OpKind::OpenaiCheckRateLimits => Operation::OpenaiCheckRateLimits,
        OpKind::OpenaiTestCompletion => Operation::OpenaiTestCompletion {
            model: p
                .text("model")?
                .unwrap_or_else(|| DEFAULT_TEST_MODEL.to_owned()),
        },
        OpKind::HealthCheck => Operation::HealthCheck {
            services: p.services()?,
        },
        OpKind::AuditConfig => Operation::AuditConfig {
            services: p.services()?,
            webhooks_only: match p.text("scope")?.as_deref() {
                None | Some("all" | "everything") => false,
                Some("webhooks" | "webhook") => true,
                Some(other) => {
                    return Err(OpsError::Invalid(format!(
                        "scope {other:?} is not \"webhooks\" or \"all\""
                    )));
                }
            },
        },
        OpKind::AuditWebhooks => Operation::AuditWebhooks {
            services: p.services()?,
            since: p.duration("since")?.unwrap_or(DEFAULT_SINCE),
        },
        OpKind::UsageReport => {
            let period = match (p.text("period")?, p.duration("since")?) {
                (Some(_), Some(_)) => {
                    return Err(OpsError::Invalid("give period or since, not both".into()));
                }
                (Some(name), None) => UsagePeriod::parse_named(&name).ok_or_else(|| {
                    OpsError::Invalid(format!(
                        "period {name:?} is not today, this-month or last-month"
                    ))
                })?,
                (None, Some(d)) => UsagePeriod::last(d),
                (None, None) => UsagePeriod::DEFAULT,
            };
            let by = p
                .text("by")?
                .map(|b| {
                    UsageBy::parse(&b).ok_or_else(|| {
                        OpsError::Invalid(format!(
                            "by {b:?} is not day, category, model or project"
                        ))
                    })
                })
                .transpose()?;
            Operation::UsageReport {
                services: p.services()?,
                period,
                by,
            }
        }
        OpKind::AuditErrors => Operation::AuditErrors {
            services: p.services()?,
            since: p.duration("since")?.unwrap_or(DEFAULT_SINCE),
            resource: p.text("resource")?,
        },
    })
}

struct Params<'a> {
    kind: OpKind,
    params: &'a Map<String, Value>,
}

impl Params<'_> {
    fn ask(&self, question: &str, candidates: &[&str]) -> OpsError {
        OpsError::Ambiguous {
            question: format!("{}: {question}", self.kind.name()),
            candidates: candidates.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    fn text(&self, name: &str) -> Result<Option<String>, OpsError> {
        match self.params.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(OpsError::Invalid(format!(
                "{name} must be a string, not {other}"
            ))),
        }
    }

    fn integer(&self, name: &str) -> Result<Option<u64>, OpsError> {
        match self.params.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| OpsError::Invalid(format!("{name} must be a positive integer"))),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| OpsError::Invalid(format!("{name} {s:?} is not a number"))),
            Some(other) => Err(OpsError::Invalid(format!(
                "{name} must be an integer, not {other}"
            ))),
        }
    }

    fn list(&self, name: &str) -> Result<Vec<String>, OpsError> {
        match self.params.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.trim().to_owned()),
                    other => Err(OpsError::Invalid(format!(
                        "{name} items must be strings, not {other}"
                    ))),
                })
                .collect(),
            Some(Value::String(s)) => Ok(s
                .split(',')
                .map(|x| x.trim().to_owned())
                .filter(|x| !x.is_empty())
                .collect()),
            Some(other) => Err(OpsError::Invalid(format!(
                "{name} must be a list of strings, not {other}"
            ))),
        }
    }

    fn services(&self) -> Result<Vec<Service>, OpsError> {
        self.list("services")?
            .iter()
            .map(|s| {
                s.parse::<Service>()
                    .map_err(|_| OpsError::Invalid(format!("unknown service {s:?}")))
            })
            .collect()
    }

    fn country(&self) -> Result<String, OpsError> {
        match self.text("country")? {
            None => Ok("US".into()),
            Some(c) if c.len() == 2 && c.chars().all(|x| x.is_ascii_alphabetic()) => {
                Ok(c.to_ascii_uppercase())
            }
            Some(c) => Err(OpsError::Invalid(format!(
                "country {c:?} is not a two-letter ISO code (US, GB, CA...)"
            ))),
        }
    }

    fn area_code(&self) -> Result<Option<u16>, OpsError> {
        match self.integer("area_code")? {
            None => Ok(None),
            Some(n) if (200..1000).contains(&n) => Ok(u16::try_from(n).ok()),
            Some(n) => Err(OpsError::Invalid(format!(
                "area code {n} is not a three-digit area code"
            ))),
        }
    }

    fn e164_opt(&self, name: &str) -> Result<Option<String>, OpsError> {
        self.text(name)?.map(|n| e164(&n)).transpose()
    }

    fn number_ref(&self, name: &str) -> Result<String, OpsError> {
        match self.text(name)? {
            None => Err(self.ask("Which number (E.164 or PN... SID)?", &[])),
            Some(n) if n.starts_with("PN") && n.len() == 34 => Ok(n),
            Some(n) => e164(&n),
        }
    }

    fn url(&self, name: &str) -> Result<Option<String>, OpsError> {
        match self.text(name)? {
            None => Ok(None),
            Some(u) => match url::Url::parse(&u) {
                Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(Some(u)),
                _ => Err(OpsError::Invalid(format!(
                    "{name} {u:?} is not an http(s) URL"
                ))),
            },
        }
    }

    fn duration(&self, name: &str) -> Result<Option<Duration>, OpsError> {
        self.text(name)?
            .map(|d| {
                parse_duration(&d).ok_or_else(|| {
                    OpsError::Invalid(format!("{name} {d:?} is not a duration like 6h"))
                })
            })
            .transpose()
    }

    fn endpoint_ref(&self) -> Result<EndpointRef, OpsError> {
        match self.text("endpoint")? {
            None => Err(self.ask(
                "Which endpoint (we_...), or \"failing\"?",
                &["disable the stripe endpoint that keeps failing"],
            )),
            Some(e) if e.eq_ignore_ascii_case("failing") => Ok(EndpointRef::Failing),
            Some(e) => endpoint_id(&e).map(EndpointRef::Id),
        }
    }

    fn endpoint_id(&self) -> Result<String, OpsError> {
        match self.text("endpoint")? {
            None => Err(self.ask("Which endpoint (we_...)?", &[])),
            Some(e) => endpoint_id(&e),
        }
    }
}

fn endpoint_id(e: &str) -> Result<String, OpsError> {
    if e.starts_with("we_")
        && e.len() > 3
        && e.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        Ok(e.to_owned())
    } else {
        Err(OpsError::Invalid(format!(
            "{e:?} is not a webhook endpoint id (we_...)"
        )))
    }
}

/// Checks an E.164 number: `+`, then 8 to 15 digits, the first not 0.
pub fn e164(n: &str) -> Result<String, OpsError> {
    let t = n.trim();
    let digits = t.strip_prefix('+').unwrap_or("");
    if (8..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0')
    {
        Ok(t.to_owned())
    } else {
        Err(OpsError::Invalid(format!(
            "{t:?} is not an E.164 phone number (like +14155550100)"
        )))
    }
}

/// A duration like `6h`, `30m`, `2d`, `90s`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let secs = match unit.trim() {
        "s" | "sec" | "secs" | "seconds" => n,
        "m" | "min" | "mins" | "minutes" => n.checked_mul(60)?,
        "h" | "hr" | "hrs" | "hour" | "hours" => n.checked_mul(3600)?,
        "d" | "day" | "days" => n.checked_mul(86_400)?,
        "w" | "week" | "weeks" => n.checked_mul(7 * 86_400)?,
        _ => return None,
    };
    (secs > 0).then(|| Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalog::CATALOG;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn every_operation_has_an_object_schema_naming_its_required_params() {
        for spec in CATALOG {
            let s = schema(spec.kind);
            assert_eq!(s["type"], "object");
            for p in spec.params {
                assert!(
                    s["properties"].get(p.name).is_some(),
                    "{}.{}",
                    spec.name,
                    p.name
                );
                let required = s["required"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|x| x == p.name));
                assert_eq!(required, p.required, "{}.{}", spec.name, p.name);
            }
        }
    }

    #[test]
    fn builds_operations_from_tool_arguments() {
        let op = build(OpKind::TwilioBuyNumber, &obj(json!({"area_code": 415}))).expect("op");
        assert_eq!(
            op,
            Operation::TwilioBuyNumber {
                number: None,
                area_code: Some(415),
                country: "US".into(),
                urls: NumberUrls::default(),
            }
        );
        let op = build(
            OpKind::TwilioSendTestSms,
            &obj(json!({"to": ["+14155550100", "+14155550101"]})),
        )
        .expect("op");
        assert!(matches!(op, Operation::TwilioSendTestSms { ref to, .. } if to.len() == 2));
        let op = build(
            OpKind::StripeDisableEndpoint,
            &obj(json!({"endpoint": "failing"})),
        )
        .expect("op");
        assert_eq!(
            op,
            Operation::StripeSetEndpointEnabled {
                endpoint: EndpointRef::Failing,
                enabled: false
            }
        );
        let op = build(
            OpKind::AuditErrors,
            &obj(json!({"services": ["twilio"], "since": "6h", "resource": "call"})),
        )
        .expect("op");
        assert_eq!(
            op,
            Operation::AuditErrors {
                services: vec![Service::Twilio],
                since: Duration::from_secs(6 * 3600),
                resource: Some("call".into()),
            }
        );
    }

    #[test]
    fn missing_or_bad_parameters_are_questions_or_clear_errors() {
        assert!(matches!(
            build(OpKind::TwilioBuyNumber, &Map::new()),
            Err(OpsError::Ambiguous { .. })
        ));
        assert!(matches!(
            build(OpKind::TwilioSendTestSms, &Map::new()),
            Err(OpsError::Ambiguous { .. })
        ));
        for (kind, params) in [
            (OpKind::TwilioBuyNumber, json!({"area_code": 99})),
            (OpKind::TwilioBuyNumber, json!({"number": "+1234"})),
            (OpKind::TwilioSendTestSms, json!({"to": ["hello"]})),
            (OpKind::StripeDisableEndpoint, json!({"endpoint": "ep_1"})),
            (
                OpKind::StripeUpdateEndpoint,
                json!({"endpoint": "we_1", "url": "javascript:x"}),
            ),
            (OpKind::AuditErrors, json!({"since": "soon"})),
            (OpKind::AuditErrors, json!({"services": ["paypal"]})),
            (OpKind::OpenaiListModels, json!({"typo": 1})),
        ] {
            let r = build(kind, &obj(params.clone()));
            assert!(matches!(r, Err(OpsError::Invalid(_))), "{params} -> {r:?}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("6h"), Some(Duration::from_secs(21_600)));
        assert_eq!(
            parse_duration("30 minutes"),
            Some(Duration::from_secs(1_800))
        );
        assert_eq!(parse_duration("2d"), Some(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("0h"), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("99999999999999999999h"), None);
    }
}
