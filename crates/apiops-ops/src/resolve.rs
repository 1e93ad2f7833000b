//! Planning's reads: turning what was asked ("a number in 415", "the failing endpoint") into
//! exact resources, and finding steps whose effect is already in place.

use std::time::Duration;

use apiops_core::{Service, Severity};
use apiops_providers::Provider;
use apiops_providers::stripe::client::EventQuery;
use apiops_providers::twilio::client::IncomingPhoneNumber;
use apiops_providers::webhook_url;
use futures::{StreamExt, TryStreamExt};
use jiff::Timestamp;

use crate::catalog::{EndpointRef, NumberUrls};
use crate::error::OpsError;
use crate::plan::{Cost, Planned, StepAction};
use crate::services::Services;

/// Most undelivered events one re-delivery plan takes.
pub const MAX_REDELIVERIES: usize = 1_000;

/// The buy step: a specific number (already owned -> done), or the first available one in an
/// area code.
pub(crate) async fn buy(
    services: &Services,
    number: Option<&str>,
    area_code: Option<u16>,
    country: &str,
    urls: &NumberUrls,
) -> Result<(StepAction, Planned), OpsError> {
    let client = services.twilio()?.client();
    let number = match (number, area_code) {
        (Some(n), _) => {
            if let Some(owned) = client.find_owned_number(n).await? {
                return Ok((
                    StepAction::BuyNumber {
                        number: n.to_owned(),
                        urls: urls.clone(),
                    },
                    Planned::AlreadyDone {
                        reason: format!("{n} is already owned by this account"),
                        resource_ids: vec![owned.sid],
                    },
                ));
            }
            n.to_owned()
        }
        (None, Some(code)) => {
            let available = client
                .available_numbers(country, Some(code), None, 1)
                .await?;
            let first = available.into_iter().next().ok_or_else(|| {
                OpsError::Invalid(format!(
                    "no numbers are available in area code {code} ({country}); try a nearby area code"
                ))
            })?;
            first.phone_number
        }
        (None, None) => {
            return Err(OpsError::Ambiguous {
                question: "Which number, or which area code?".into(),
                candidates: vec![
                    "buy a phone number in 415".into(),
                    "buy +14155550123".into(),
                ],
            });
        }
    };
    Ok((
        StepAction::BuyNumber {
            number,
            urls: urls.clone(),
        },
        Planned::ToDo,
    ))
}

/// A local number's monthly price, from Twilio's pricing API.
pub(crate) async fn number_price(services: &Services, country: &str) -> Cost {
    let unavailable = |why: String| Cost {
        amount: None,
        currency: None,
        per: "month".into(),
        source: why,
    };
    let Ok(twilio) = services.twilio() else {
        return unavailable("Twilio is not configured".into());
    };
    match twilio.client().number_prices(country).await {
        Ok(prices) => {
            let local = prices
                .phone_number_prices
                .iter()
                .find(|p| p.number_type.as_deref() == Some("local"))
                .or_else(|| prices.phone_number_prices.first());
            match local {
                Some(p) => Cost {
                    amount: p.current_price.clone().or_else(|| p.base_price.clone()),
                    currency: prices.price_unit.clone().map(|c| c.to_ascii_uppercase()),
                    per: "month".into(),
                    source: format!(
                        "Twilio Pricing API, {} number in {country}",
                        p.number_type.as_deref().unwrap_or("phone")
                    ),
                },
                None => unavailable(format!("Twilio lists no number prices for {country}")),
            }
        }
        Err(e) => unavailable(format!("the Twilio Pricing API did not answer: {e}")),
    }
}

/// The risks of the URLs being set (not HTTPS, unreachable, embedded credentials).
pub(crate) fn url_risks(urls: &NumberUrls) -> Vec<String> {
    urls.fields()
        .iter()
        .filter_map(|(name, v)| v.map(|v| (name, v)))
        .flat_map(|(name, v)| {
            webhook_url::check(Some(v))
                .into_iter()
                .map(move |issue| format!("{name}: {}", issue.describe()))
        })
        .collect()
}

/// Finds an owned number by E.164 or `PN...` SID.
async fn owned(services: &Services, number: &str) -> Result<IncomingPhoneNumber, OpsError> {
    let client = services.twilio()?.client();
    let found = if number.starts_with("PN") {
        client.owned_number(number).await.map(Some).or_else(|e| {
            if e.status() == Some(404) {
                Ok(None)
            } else {
                Err(e)
            }
        })?
    } else {
        client.find_owned_number(number).await?
    };
    found.ok_or_else(|| OpsError::Invalid(format!("{number} is not a number this account owns")))
}

/// The release step: done already when the number is no longer owned.
pub(crate) async fn release(
    services: &Services,
    number: &str,
) -> Result<(StepAction, Planned), OpsError> {
    match owned(services, number).await {
        Ok(n) => Ok((
            StepAction::ReleaseNumber {
                number: n.phone_number.clone().unwrap_or_else(|| number.to_owned()),
                sid: n.sid,
            },
            Planned::ToDo,
        )),
        Err(OpsError::Invalid(_)) => Ok((
            StepAction::ReleaseNumber {
                sid: String::new(),
                number: number.to_owned(),
            },
            Planned::AlreadyDone {
                reason: format!("{number} is not owned by this account (already released?)"),
                resource_ids: Vec::new(),
            },
        )),
        Err(e) => Err(e),
    }
}

/// Whether every URL in `want` is already what `n` has.
pub(crate) fn urls_in_place(n: &IncomingPhoneNumber, want: &NumberUrls) -> bool {
    let have = NumberUrls {
        sms_url: n.sms_url.clone(),
        sms_fallback_url: n.sms_fallback_url.clone(),
        voice_url: n.voice_url.clone(),
        voice_fallback_url: n.voice_fallback_url.clone(),
        status_callback: n.status_callback.clone(),
    };
    want.fields()
        .iter()
        .zip(have.fields().iter())
        .all(|((_, w), (_, h))| w.is_none() || w == h)
}

/// The update step of one number: done already when its URLs are what is asked.
pub(crate) async fn update(
    services: &Services,
    number: &str,
    urls: &NumberUrls,
) -> Result<(StepAction, Planned), OpsError> {
    let n = owned(services, number).await?;
    let planned = if urls_in_place(&n, urls) {
        Planned::AlreadyDone {
            reason: "already set".into(),
            resource_ids: vec![n.sid.clone()],
        }
    } else {
        Planned::ToDo
    };
    Ok((
        StepAction::UpdateNumber {
            number: n.phone_number.clone().unwrap_or_else(|| number.to_owned()),
            sid: n.sid,
            urls: urls.clone(),
        },
        planned,
    ))
}

/// The sender of test SMS: the one given (it must be owned, or a messaging service), else the
/// first SMS-capable number the account owns.
pub(crate) async fn sender(services: &Services, from: Option<&str>) -> Result<String, OpsError> {
    if let Some(f) = from {
        if f.starts_with("MG") {
            return Ok(f.to_owned());
        }
        let n = owned(services, f).await?;
        return Ok(n.phone_number.unwrap_or_else(|| f.to_owned()));
    }
    let client = services.twilio()?.client();
    let mut pages = client.incoming_phone_numbers();
    while let Some(page) = pages.next().await {
        for n in page? {
            let sms = n.capabilities.as_ref().is_none_or(|c| c.sms);
            if sms && let Some(p) = n.phone_number {
                return Ok(p);
            }
        }
    }
    Err(OpsError::Invalid(
        "the account owns no SMS-capable number to send from; buy one first (\"buy a phone number in 415\") or pass --from"
            .into(),
    ))
}

/// The id of the endpoint meant: as given, or "the one that keeps failing". Stripe does not
/// say which endpoint a delivery failed on, so failing means what the audit can prove: when
/// disabling, an enabled endpoint with a critical finding (a URL Stripe cannot reach: private,
/// loopback or local address, unparseable); when enabling, a disabled endpoint. Not exactly
/// one: a question with the candidates.
pub(crate) async fn endpoint(
    services: &Services,
    which: &EndpointRef,
    enabling: bool,
) -> Result<String, OpsError> {
    let stripe = services.stripe()?;
    match which {
        EndpointRef::Id(id) => Ok(id.clone()),
        EndpointRef::Failing => {
            let endpoints: Vec<_> = stripe
                .client()
                .webhook_endpoints()
                .try_collect::<Vec<_>>()
                .await?;
            let findings = stripe.audit().await?;
            let wanted_status = if enabling { "disabled" } else { "enabled" };
            let failing: Vec<_> = endpoints
                .iter()
                .filter(|e| e.status == wanted_status)
                .filter(|e| {
                    enabling
                        || findings.iter().any(|f| {
                            f.service == Service::Stripe
                                && f.resource_id == e.id
                                && f.severity == Severity::Critical
                        })
                })
                .collect();
            match failing.as_slice() {
                [one] => Ok(one.id.clone()),
                [] => Err(OpsError::Ambiguous {
                    question: if enabling {
                        "No endpoint is disabled. Which endpoint?".to_owned()
                    } else {
                        "No enabled endpoint has an address Stripe cannot reach. Which endpoint?"
                            .to_owned()
                    },
                    candidates: endpoints
                        .iter()
                        .filter(|e| e.status == wanted_status)
                        .map(|e| format!("{} {} ({})", verb(enabling), e.id, e.url))
                        .collect(),
                }),
                many => Err(OpsError::Ambiguous {
                    question: format!("{} endpoints show problems. Which one?", many.len()),
                    candidates: many
                        .iter()
                        .map(|e| format!("{} {} ({})", verb(enabling), e.id, e.url))
                        .collect(),
                }),
            }
        }
    }
}

fn verb(enabling: bool) -> &'static str {
    if enabling {
        "enable stripe endpoint"
    } else {
        "disable stripe endpoint"
    }
}

/// An endpoint change: done already when the endpoint is already that way.
pub(crate) async fn endpoint_change(
    services: &Services,
    id: &str,
    disabled: Option<bool>,
    url: Option<String>,
    events: Option<Vec<String>>,
) -> Result<(StepAction, Planned), OpsError> {
    let current = services.stripe()?.client().webhook_endpoint(id).await?;
    let planned = if endpoint_matches(&current, disabled, url.as_ref(), events.as_ref()) {
        Planned::AlreadyDone {
            reason: format!("{id} is already {}", current.status),
            resource_ids: vec![id.to_owned()],
        }
    } else {
        Planned::ToDo
    };
    Ok((
        StepAction::UpdateEndpoint {
            id: id.to_owned(),
            disabled,
            url,
            events,
        },
        planned,
    ))
}

/// An endpoint's URL.
pub(crate) async fn endpoint_url(services: &Services, id: &str) -> Result<String, OpsError> {
    Ok(services.stripe()?.client().webhook_endpoint(id).await?.url)
}

/// One delivery step per event Stripe could not deliver since `since`.
pub(crate) async fn undelivered(
    services: &Services,
    since: Duration,
    to: &str,
    now: Timestamp,
) -> Result<Vec<(StepAction, Planned)>, OpsError> {
    let span = jiff::SignedDuration::try_from(since)
        .map_err(|_| OpsError::Invalid("the look-back is too long".into()))?;
    let from = now
        .checked_sub(span)
        .map_err(|_| OpsError::Invalid("the look-back is too long".into()))?;
    let query = EventQuery {
        delivery_success: Some(false),
        created_gte: Some(from.as_second()),
        limit: 100,
        ..EventQuery::default()
    };
    let mut pages = std::pin::pin!(
        services
            .stripe()?
            .client()
            .event_pages::<serde_json::Value>(&query)
    );
    let mut steps = Vec::new();
    while let Some(page) = pages.next().await {
        for e in page? {
            if steps.len() >= MAX_REDELIVERIES {
                return Err(OpsError::Invalid(format!(
                    "more than {MAX_REDELIVERIES} undelivered events: narrow --since"
                )));
            }
            steps.push((
                StepAction::DeliverEvent {
                    event_id: e.id.clone(),
                    event_type: e.kind.clone(),
                    to: to.to_owned(),
                },
                Planned::ToDo,
            ));
        }
    }
    Ok(steps)
}

/// What the account says of a step an earlier run journaled as done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Check {
    /// Its effect is on the account now (read just now).
    Holds(String),
    /// Its effect is no longer there: the earlier run does not count any more.
    Gone(String),
    /// A one-off (a message, a test event, a completion): nothing on the account to re-read,
    /// and it is never sent twice.
    OneOff(String),
}

/// Reads the account to tell whether a done step's effect still holds (DESIGN.md §11: the
/// account's state, not the journal, says what is done).
pub(crate) async fn still_holds(
    services: &Services,
    action: &StepAction,
) -> Result<Check, OpsError> {
    match action {
        StepAction::BuyNumber { number, .. } => {
            let client = services.twilio()?.client();
            Ok(match client.find_owned_number(number).await? {
                Some(n) => Check::Holds(format!("{number} is on the account ({})", n.sid)),
                None => Check::Gone(format!(
                    "{number} was bought in an earlier run but is no longer on the account"
                )),
            })
        }
        StepAction::ReleaseNumber { number, .. } => {
            let client = services.twilio()?.client();
            let owned = if number.starts_with("PN") {
                match client.owned_number(number).await {
                    Ok(n) => Some(n),
                    Err(e) if e.status() == Some(404) => None,
                    Err(e) => return Err(e.into()),
                }
            } else {
                client.find_owned_number(number).await?
            };
            Ok(match owned {
                None => Check::Holds(format!("{number} is not on the account")),
                Some(n) => Check::Gone(format!(
                    "{number} was released in an earlier run but is on the account again ({})",
                    n.sid
                )),
            })
        }
        StepAction::UpdateNumber { sid, number, urls } => {
            let client = services.twilio()?.client();
            Ok(match client.owned_number(sid).await {
                Ok(n) if urls_in_place(&n, urls) => {
                    Check::Holds(format!("{number}'s URLs are as set"))
                }
                Ok(_) => Check::Gone(format!(
                    "{number}'s URLs were set in an earlier run but have changed since"
                )),
                Err(e) if e.status() == Some(404) => Check::Gone(format!(
                    "{number} was updated in an earlier run but is no longer on the account"
                )),
                Err(e) => return Err(e.into()),
            })
        }
        StepAction::UpdateEndpoint {
            id,
            disabled,
            url,
            events,
        } => {
            let current = services.stripe()?.client().webhook_endpoint(id).await?;
            Ok(
                if endpoint_matches(&current, *disabled, url.as_ref(), events.as_ref()) {
                    Check::Holds(format!("{id} is {} as set", current.status))
                } else {
                    Check::Gone(format!(
                        "{id} was changed in an earlier run but is different now ({})",
                        current.status
                    ))
                },
            )
        }
        StepAction::SendSms { .. } => Ok(Check::OneOff("a message is never sent twice".into())),
        StepAction::SendTestEvent { .. } | StepAction::DeliverEvent { .. } => {
            Ok(Check::OneOff("a delivery is never sent twice".into()))
        }
        StepAction::TestCompletion { .. } => {
            Ok(Check::OneOff("a completion is never billed twice".into()))
        }
    }
}

/// Whether a Stripe endpoint is as a change would leave it.
pub(crate) fn endpoint_matches(
    current: &apiops_providers::stripe::client::WebhookEndpoint,
    disabled: Option<bool>,
    url: Option<&String>,
    events: Option<&Vec<String>>,
) -> bool {
    let status_ok = disabled.is_none_or(|d| (current.status == "disabled") == d);
    let url_ok = url.is_none_or(|u| *u == current.url);
    let events_ok = events.is_none_or(|e| {
        let mut a = e.clone();
        let mut b = current.enabled_events.clone();
        a.sort();
        b.sort();
        a == b
    });
    status_ok && url_ok && events_ok
}
