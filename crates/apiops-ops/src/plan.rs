//! Plans: an operation resolved against the live state of the account into concrete steps,
//! with what each changes, the risks and the cost where known.
//!
//! Planning reads (which number is available, which one the account owns, what an endpoint is
//! set to) and never writes. Steps whose effect is already in place are planned as already
//! done, so running a plan twice changes nothing the second time.

use apiops_core::Service;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::catalog::{EndpointRef, NumberUrls, OpKind, Operation};
use crate::error::OpsError;
use crate::services::Services;

/// One concrete thing to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum StepAction {
    /// Buy this exact number.
    BuyNumber {
        /// E.164.
        number: String,
        /// URLs to set on purchase.
        urls: NumberUrls,
    },
    /// Release an owned number.
    ReleaseNumber {
        /// `PN...`
        sid: String,
        /// E.164, for display.
        number: String,
    },
    /// Set an owned number's URLs.
    UpdateNumber {
        /// `PN...`
        sid: String,
        /// E.164, for display.
        number: String,
        /// What to set.
        urls: NumberUrls,
    },
    /// Send one SMS.
    SendSms {
        /// Owned number or `MG...` service.
        from: String,
        /// E.164 recipient.
        to: String,
        /// The text.
        body: String,
    },
    /// Change a Stripe webhook endpoint.
    UpdateEndpoint {
        /// `we_...`
        id: String,
        /// Disable (`Some(true)`) or enable (`Some(false)`).
        disabled: Option<bool>,
        /// New URL.
        url: Option<String>,
        /// New enabled events.
        events: Option<Vec<String>>,
    },
    /// POST a signed test event to a URL.
    SendTestEvent {
        /// `we_...`
        endpoint: String,
        /// Where.
        url: String,
        /// The event type.
        event_type: String,
    },
    /// Fetch a Stripe event and POST it, signed, to a receiver.
    DeliverEvent {
        /// `evt_...`
        event_id: String,
        /// The event type, for display.
        event_type: String,
        /// The receiver.
        to: String,
    },
    /// A minimal billed completion.
    TestCompletion {
        /// The model.
        model: String,
    },
}

impl StepAction {
    /// The service it acts on.
    pub fn service(&self) -> Service {
        match self {
            StepAction::BuyNumber { .. }
            | StepAction::ReleaseNumber { .. }
            | StepAction::UpdateNumber { .. }
            | StepAction::SendSms { .. } => Service::Twilio,
            StepAction::UpdateEndpoint { .. }
            | StepAction::SendTestEvent { .. }
            | StepAction::DeliverEvent { .. } => Service::Stripe,
            StepAction::TestCompletion { .. } => Service::Openai,
        }
    }

    /// One line for humans.
    pub fn describe(&self) -> String {
        match self {
            StepAction::BuyNumber { number, urls } => {
                let set = describe_urls(urls);
                if set.is_empty() {
                    format!("buy {number}")
                } else {
                    format!("buy {number} and set {set}")
                }
            }
            StepAction::ReleaseNumber { sid, number } => format!("release {number} ({sid})"),
            StepAction::UpdateNumber { sid, number, urls } => {
                format!("set {} on {number} ({sid})", describe_urls(urls))
            }
            StepAction::SendSms { from, to, body } => {
                format!("send \"{body}\" from {from} to {to}")
            }
            StepAction::UpdateEndpoint {
                id,
                disabled,
                url,
                events,
            } => {
                let mut parts = Vec::new();
                match disabled {
                    Some(true) => parts.push("disable".to_owned()),
                    Some(false) => parts.push("enable".to_owned()),
                    None => {}
                }
                if let Some(u) = url {
                    parts.push(format!("set url {u}"));
                }
                if let Some(e) = events {
                    parts.push(format!("set enabled_events {}", e.join(",")));
                }
                format!("endpoint {id}: {}", parts.join(", "))
            }
            StepAction::SendTestEvent {
                endpoint,
                url,
                event_type,
            } => format!("POST a signed test {event_type} event to {url} (endpoint {endpoint})"),
            StepAction::DeliverEvent {
                event_id,
                event_type,
                to,
            } => format!("deliver {event_id} ({event_type}) to {to}"),
            StepAction::TestCompletion { model } => {
                format!("one chat completion on {model} (max 5 output tokens)")
            }
        }
    }
}

fn describe_urls(urls: &NumberUrls) -> String {
    urls.fields()
        .iter()
        .filter_map(|(name, v)| v.map(|v| format!("{name}={v}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a step is known to be before running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Planned {
    /// To do.
    ToDo,
    /// Its effect is already in place; nothing will be sent.
    AlreadyDone {
        /// What was found.
        reason: String,
        /// The resource ids involved.
        resource_ids: Vec<String>,
    },
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Its index in the plan.
    pub index: u32,
    /// What it does.
    pub action: StepAction,
    /// What was known when planning.
    pub planned: Planned,
}

/// What a plan is expected to cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cost {
    /// The amount, as the provider wrote it ("1.15").
    pub amount: Option<String>,
    /// ISO currency, upper case.
    pub currency: Option<String>,
    /// Per what ("month", "message segment", "request").
    pub per: String,
    /// Where the figure comes from, or why there is none.
    pub source: String,
}

/// An operation resolved into steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Derived from the operation as requested (see [`plan_key`]): the journal's key.
    pub key: String,
    /// What was asked, as given.
    pub request: String,
    /// The operation.
    pub operation: Operation,
    /// The operation's catalog name.
    pub name: String,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// What could go wrong, for the person confirming.
    pub risks: Vec<String>,
    /// The expected cost, when the operation costs money.
    pub cost: Option<Cost>,
    /// Whether the steps are independent items (a batch: each runs whatever the others do)
    /// or a sequence (a failure stops the rest).
    pub batch: bool,
    /// When it was planned.
    pub planned_at: Timestamp,
}

impl Plan {
    /// The steps that still need to run.
    pub fn to_do(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.planned == Planned::ToDo)
    }

    /// The operation's kind.
    pub fn kind(&self) -> OpKind {
        self.operation.kind()
    }
}

/// The journal key of an operation: a digest of its canonical JSON, so the same request maps
/// to the same key however it was phrased, and a re-run finds the plan it started.
pub fn plan_key(op: &Operation) -> String {
    let json = serde_json::to_string(op).unwrap_or_default();
    let digest = Sha256::digest(json.as_bytes());
    format!("{}:{}", op.kind().name(), &hex::encode(digest)[..24])
}

/// The journal key of a deliberate new run of the request keyed `base` (`--new`, `fresh`, or a
/// re-plan after an earlier run's effect vanished): `base~` and a suffix that sorts after every
/// earlier run's, so [`apiops_store::Store::journal_latest`] finds the newest.
pub fn run_key(base: &str, now: Timestamp) -> String {
    let nanos = u128::try_from(now.as_nanosecond()).unwrap_or(0);
    format!("{base}~{nanos:032}{}", crate::ids::random_hex(4))
}

/// The request key a plan's journal key belongs to ([`plan_key`] without a run suffix).
pub fn base_key(key: &str) -> &str {
    key.split_once('~').map_or(key, |(base, _)| base)
}

/// Resolves `op` against the account into a plan. Reads only.
pub async fn plan(
    op: &Operation,
    request: &str,
    services: &Services,
    now: Timestamp,
) -> Result<Plan, OpsError> {
    let mut risks = Vec::new();
    let mut cost = None;
    let mut batch = false;
    let steps: Vec<(StepAction, Planned)> = match op {
        Operation::TwilioBuyNumber {
            number,
            area_code,
            country,
            urls,
        } => {
            let (action, planned) =
                crate::resolve::buy(services, number.as_deref(), *area_code, country, urls).await?;
            cost = Some(crate::resolve::number_price(services, country).await);
            risks.push(
                "a purchase: the number is billed monthly until released; it cannot be undone by this tool"
                    .into(),
            );
            risks.extend(crate::resolve::url_risks(urls));
            vec![(action, planned)]
        }
        Operation::TwilioReleaseNumber { number } => {
            risks.push(
                "a deletion: the number stops receiving calls and messages at once and may be taken by someone else"
                    .into(),
            );
            vec![crate::resolve::release(services, number).await?]
        }
        Operation::TwilioUpdateNumber { numbers, urls } => {
            if urls.is_empty() {
                return Err(OpsError::Invalid("no URL to set was given".into()));
            }
            risks.extend(crate::resolve::url_risks(urls));
            risks.push("webhooks for these numbers go to the new URLs at once".into());
            batch = numbers.len() > 1;
            let mut steps = Vec::new();
            for n in numbers {
                steps.push(crate::resolve::update(services, n, urls).await?);
            }
            steps
        }
        Operation::TwilioSendTestSms { to, from, body } => {
            if to.is_empty() {
                return Err(OpsError::Invalid("no recipient was given".into()));
            }
            let from = crate::resolve::sender(services, from.as_deref()).await?;
            let body = body
                .clone()
                .unwrap_or_else(|| crate::catalog::DEFAULT_TEST_SMS.to_owned());
            batch = true;
            risks.push(format!(
                "sends {} real SMS (billed per segment at the account's rate)",
                to.len()
            ));
            cost = Some(Cost {
                amount: None,
                currency: None,
                per: "message segment".into(),
                source: "the account's messaging rate (not fetched)".into(),
            });
            let mut seen = std::collections::BTreeSet::new();
            to.iter()
                .filter(|t| seen.insert(t.as_str()))
                .map(|t| {
                    (
                        StepAction::SendSms {
                            from: from.clone(),
                            to: t.clone(),
                            body: body.clone(),
                        },
                        Planned::ToDo,
                    )
                })
                .collect()
        }
        Operation::StripeSetEndpointEnabled { endpoint, enabled } => {
            let id = crate::resolve::endpoint(services, endpoint, *enabled).await?;
            if !enabled {
                risks.push(
                    "Stripe stops delivering events to this endpoint; missed events can be resent with stripe.events.resend_undelivered"
                        .into(),
                );
            }
            vec![crate::resolve::endpoint_change(services, &id, Some(!enabled), None, None).await?]
        }
        Operation::StripeUpdateEndpoint {
            endpoint,
            url,
            events,
        } => {
            if url.is_none() && events.is_none() {
                return Err(OpsError::Invalid("nothing to change was given".into()));
            }
            if let Some(u) = url {
                risks.extend(crate::resolve::url_risks(&NumberUrls {
                    sms_url: Some(u.clone()),
                    ..NumberUrls::default()
                }));
            }
            if events.as_ref().is_some_and(|e| e.iter().any(|x| x == "*")) {
                risks.push("enabled_events \"*\" sends every event type, including ones the receiver does not handle".into());
            }
            vec![
                crate::resolve::endpoint_change(
                    services,
                    endpoint,
                    None,
                    url.clone(),
                    events.clone(),
                )
                .await?,
            ]
        }
        Operation::StripeSendTestEvent {
            endpoint,
            event_type,
        } => {
            let url = crate::resolve::endpoint_url(services, endpoint).await?;
            risks.push("the receiver processes a test event (livemode false)".into());
            vec![(
                StepAction::SendTestEvent {
                    endpoint: endpoint.clone(),
                    url,
                    event_type: event_type.clone(),
                },
                Planned::ToDo,
            )]
        }
        Operation::StripeResendUndelivered { since, to } => {
            let to = match to {
                Some(t) => t.clone(),
                None => services.receiver_url.clone().ok_or_else(|| {
                    OpsError::Invalid(
                        "no receiver URL: pass --to with the receiver's Stripe webhook URL".into(),
                    )
                })?,
            };
            batch = true;
            risks.push(format!(
                "each event is POSTed to {to}; the receiver deduplicates by event id"
            ));
            crate::resolve::undelivered(services, *since, &to, now).await?
        }
        Operation::OpenaiTestCompletion { model } => {
            risks.push("a billed request (a few tokens)".into());
            cost = Some(Cost {
                amount: None,
                currency: Some("USD".into()),
                per: "request".into(),
                source: "a few input and at most 5 output tokens at the model's rate".into(),
            });
            vec![(
                StepAction::TestCompletion {
                    model: model.clone(),
                },
                Planned::ToDo,
            )]
        }
        Operation::TwilioSearchNumbers { .. }
        | Operation::TwilioListFailedMessages { .. }
        | Operation::StripeListEndpoints
        | Operation::OpenaiListModels
        | Operation::OpenaiCheckRateLimits
        | Operation::HealthCheck { .. }
        | Operation::AuditConfig { .. }
        | Operation::AuditWebhooks { .. }
        | Operation::UsageReport { .. }
        | Operation::AuditErrors { .. } => {
            return Err(OpsError::Invalid(format!(
                "{} only reads: it is run, not planned",
                op.kind().name()
            )));
        }
    };
    let steps = steps
        .into_iter()
        .enumerate()
        .map(|(i, (action, planned))| Step {
            index: u32::try_from(i).unwrap_or(u32::MAX),
            action,
            planned,
        })
        .collect();
    Ok(Plan {
        key: plan_key(op),
        request: request.to_owned(),
        operation: op.clone(),
        name: op.kind().name().to_owned(),
        steps,
        risks,
        cost,
        batch,
        planned_at: now,
    })
}

/// The resolved [`EndpointRef`] as an id, for display.
pub fn endpoint_label(e: &EndpointRef) -> String {
    match e {
        EndpointRef::Id(id) => id.clone(),
        EndpointRef::Failing => "the failing endpoint".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::NumberUrls;

    #[test]
    fn the_key_depends_on_the_operation_only() {
        let a = Operation::TwilioBuyNumber {
            number: None,
            area_code: Some(415),
            country: "US".into(),
            urls: NumberUrls::default(),
        };
        let b = Operation::TwilioBuyNumber {
            number: None,
            area_code: Some(212),
            country: "US".into(),
            urls: NumberUrls::default(),
        };
        assert_eq!(plan_key(&a), plan_key(&a.clone()));
        assert_ne!(plan_key(&a), plan_key(&b));
        assert!(plan_key(&a).starts_with("twilio.numbers.buy:"));
    }

    #[test]
    fn steps_describe_themselves() {
        let s = StepAction::UpdateEndpoint {
            id: "we_1".into(),
            disabled: Some(true),
            url: None,
            events: None,
        };
        assert_eq!(s.describe(), "endpoint we_1: disable");
        assert_eq!(s.service(), Service::Stripe);
        let b = StepAction::BuyNumber {
            number: "+14155550123".into(),
            urls: NumberUrls {
                sms_url: Some("https://x.example/sms".into()),
                ..NumberUrls::default()
            },
        };
        assert_eq!(
            b.describe(),
            "buy +14155550123 and set SmsUrl=https://x.example/sms"
        );
    }
}
