//! What one step does at the provider: the call each step action makes (buy, release or
//! update a number, send, point or enable an endpoint, re-deliver or send a test event), with
//! the state checks that keep a resumed step from acting twice, and how provider failures are
//! recorded.

use super::*;

impl Executor<'_> {
    pub(super) async fn perform(
        &self,
        plan: &Plan,
        step: &Step,
        interrupted_at: Option<Timestamp>,
    ) -> Result<Performed, Failure> {
        let s = self.services;
        match &step.action {
            StepAction::BuyNumber { number, urls } => {
                let client = s.twilio().map_err(Failure::from)?.client();
                if let Some(n) = client
                    .find_owned_number(number)
                    .await
                    .map_err(Failure::twilio)?
                {
                    return Ok(Performed::unchanged(
                        vec![n.sid],
                        format!(
                            "{number} is already owned (bought in an interrupted run or elsewhere)"
                        ),
                    ));
                }
                let form: Vec<(&str, &str)> = urls
                    .fields()
                    .iter()
                    .filter_map(|(k, v)| v.map(|v| (*k, v)))
                    .collect();
                let n = client
                    .buy_number(number, &form)
                    .await
                    .map_err(Failure::twilio)?;
                Ok(Performed::changed(
                    vec![n.sid.clone()],
                    format!(
                        "bought {} ({})",
                        n.phone_number.as_deref().unwrap_or(number),
                        n.sid
                    ),
                ))
            }
            StepAction::ReleaseNumber { sid, number } => {
                let client = s.twilio().map_err(Failure::from)?.client();
                // State first: the number as the account has it now (planned by SID; a plan
                // that found it already released has none, so it is looked up by number).
                let current = if sid.is_empty() {
                    client
                        .find_owned_number(number)
                        .await
                        .map_err(Failure::twilio)?
                } else {
                    match client.owned_number(sid).await {
                        Err(e) if e.status() == Some(404) => None,
                        Err(e) => return Err(Failure::twilio(e)),
                        Ok(n) => Some(n),
                    }
                };
                let Some(current) = current else {
                    return Ok(Performed::unchanged(
                        vec![sid.clone()],
                        format!("{number} is not on the account (read just now)"),
                    ));
                };
                client
                    .release_number(&current.sid)
                    .await
                    .map_err(Failure::twilio)?;
                Ok(Performed::changed(
                    vec![current.sid.clone()],
                    format!("released {number}"),
                ))
            }
            StepAction::UpdateNumber { sid, number, urls } => {
                let client = s.twilio().map_err(Failure::from)?.client();
                let current = client.owned_number(sid).await.map_err(Failure::twilio)?;
                if crate::resolve::urls_in_place(&current, urls) {
                    return Ok(Performed::unchanged(
                        vec![sid.clone()],
                        format!("{number}'s URLs are already as asked (read just now)"),
                    ));
                }
                let form: Vec<(&str, &str)> = urls
                    .fields()
                    .iter()
                    .filter_map(|(k, v)| v.map(|v| (*k, v)))
                    .collect();
                client
                    .update_number(sid, &form)
                    .await
                    .map_err(Failure::twilio)?;
                Ok(Performed::changed(
                    vec![sid.clone()],
                    format!("updated {number}"),
                ))
            }
            StepAction::SendSms { from, to, body } => {
                let client = s.twilio().map_err(Failure::from)?.client();
                if let Some(since) = interrupted_at
                    && let Some(sid) = sent_since(client, from, to, body, since).await?
                {
                    return Ok(Performed::unchanged(
                        vec![sid],
                        format!("already sent to {to} before the interruption"),
                    ));
                }
                let m = client
                    .send_message(from, to, body)
                    .await
                    .map_err(Failure::twilio)?;
                Ok(Performed::changed(
                    vec![m.sid.clone()],
                    format!("sent to {to} ({})", m.status.as_deref().unwrap_or("queued")),
                ))
            }
            StepAction::UpdateEndpoint {
                id,
                disabled,
                url,
                events,
            } => {
                let client = s.stripe().map_err(Failure::from)?.client();
                let current = client.webhook_endpoint(id).await.map_err(Failure::stripe)?;
                if crate::resolve::endpoint_matches(
                    &current,
                    *disabled,
                    url.as_ref(),
                    events.as_ref(),
                ) {
                    return Ok(Performed::unchanged(
                        vec![id.clone()],
                        format!(
                            "{id} is already {} as asked (read just now)",
                            current.status
                        ),
                    ));
                }
                // Same key for every attempt of this step of this plan (a resumed plan keeps
                // its planning time); a new plan (--new, or after the repeat window) gets a new
                // key, so Stripe does not replay the first run's answer.
                let key = format!(
                    "apiops-{}-{}-{}",
                    plan.key,
                    plan.planned_at.as_nanosecond(),
                    step.index
                );
                let update = EndpointUpdate {
                    disabled: *disabled,
                    url: url.clone(),
                    enabled_events: events.clone(),
                };
                let ep = client
                    .update_webhook_endpoint(id, &update, Some(&key))
                    .await
                    .map_err(Failure::stripe)?;
                Ok(Performed::changed(
                    vec![ep.id.clone()],
                    format!("{} is now {} ({})", ep.id, ep.status, ep.url),
                ))
            }
            StepAction::SendTestEvent {
                endpoint,
                url,
                event_type,
            } => {
                let stripe = s.stripe().map_err(Failure::from)?;
                let id = format!(
                    "evt_test_{}",
                    short_hash(&format!("{}:{}", plan.key, step.index))
                );
                let event = test_event(&id, event_type, stripe.api_version(), (self.now)());
                let status = self.deliver(url, &event).await?;
                Ok(Performed::changed(
                    vec![id, endpoint.clone()],
                    format!("{url} answered {status}"),
                ))
            }
            StepAction::DeliverEvent { event_id, to, .. } => {
                let stripe = s.stripe().map_err(Failure::from)?;
                let event: serde_json::Value = stripe
                    .client()
                    .api()
                    .get_json(&format!("/v1/events/{}", path_segment(event_id)), &[])
                    .await
                    .map_err(Failure::stripe)?;
                let status = self.deliver(to, &event).await?;
                Ok(Performed::changed(
                    vec![event_id.clone()],
                    format!("{to} answered {status}"),
                ))
            }
            StepAction::TestCompletion { model } => {
                let openai = s.openai().map_err(Failure::from)?;
                let check = openai
                    .client()
                    .test_completion(model)
                    .await
                    .map_err(Failure::openai)?;
                Ok(Performed::changed(
                    Vec::new(),
                    format!(
                        "{} answered; {} tokens used",
                        check.model, check.usage.total_tokens
                    ),
                ))
            }
        }
    }

    /// POSTs a Stripe event, signed with the webhook secret, to `url`; returns the status.
    pub(super) async fn deliver(
        &self,
        url: &str,
        event: &serde_json::Value,
    ) -> Result<u16, Failure> {
        let secret = self.services.stripe_webhook_secret.as_ref().ok_or_else(|| {
            Failure::plain(
                "no Stripe webhook signing secret: set STRIPE_WEBHOOK_SECRET (whsec_...) to sign events",
            )
        })?;
        let pinned = guard_target(url, self.services.allow_private_targets).await?;
        let body = serde_json::to_vec(event).map_err(|e| Failure::plain(&e.to_string()))?;
        let header =
            apiops_webhooks::signature::stripe::sign(&body, secret.expose_secret(), (self.now)());
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(15));
        if let Some((host, addr)) = &pinned {
            builder = builder.resolve(host, *addr);
        }
        let client = builder
            .build()
            .map_err(|e| Failure::plain(&format!("HTTP client: {e}")))?;
        let resp = client
            .post(url)
            .header("content-type", "application/json")
            .header("stripe-signature", header)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                Failure::plain(&format!("POST {}: {}", display_url(url), e.without_url()))
            })?;
        let status = resp.status().as_u16();
        if resp.status().is_success() {
            Ok(status)
        } else {
            Err(Failure {
                error: format!("{} answered {status}", display_url(url)),
                code: Some(status.to_string()),
                category: Some(apiops_core::Classification::fallback(Some(status)).category),
            })
        }
    }
}

/// A step that worked.
pub(super) struct Performed {
    pub(super) ids: Vec<String>,
    pub(super) detail: String,
    pub(super) unchanged: bool,
}

impl Performed {
    pub(super) fn changed(ids: Vec<String>, detail: String) -> Self {
        Performed {
            ids,
            detail,
            unchanged: false,
        }
    }

    pub(super) fn unchanged(ids: Vec<String>, detail: String) -> Self {
        Performed {
            ids,
            detail,
            unchanged: true,
        }
    }
}

/// A step that failed.
pub(super) struct Failure {
    pub(super) error: String,
    pub(super) code: Option<String>,
    pub(super) category: Option<apiops_core::Category>,
}

impl Failure {
    pub(super) fn plain(msg: &str) -> Self {
        Failure {
            error: msg.to_owned(),
            code: None,
            category: None,
        }
    }

    /// A failure of `e`: the code and message of the provider's error body when it had them,
    /// the HTTP status and `e` itself otherwise.
    fn of(e: &apiops_client::ClientError, code: Option<String>, message: Option<String>) -> Self {
        Failure {
            category: Some(e.category()),
            code: code.or_else(|| e.status().map(|s| s.to_string())),
            error: message.unwrap_or_else(|| e.to_string()),
        }
    }

    pub(super) fn twilio(e: apiops_client::ClientError) -> Self {
        let body = apiops_providers::twilio::client::TwilioErrorBody::of(&e);
        let code = body.as_ref().and_then(|b| b.code.clone());
        let message = body.and_then(|b| b.message).filter(|m| !m.is_empty());
        Self::of(&e, code, message)
    }

    pub(super) fn stripe(e: apiops_client::ClientError) -> Self {
        let body = apiops_providers::stripe::client::api_error(&e);
        let code = body
            .as_ref()
            .and_then(|b| b.code.clone().or_else(|| b.kind.clone()));
        Self::of(&e, code, body.and_then(|b| b.message))
    }

    pub(super) fn openai(e: apiops_client::ClientError) -> Self {
        let body = apiops_providers::openai::client::api_error(&e);
        let code = body
            .as_ref()
            .and_then(|b| b.code.clone().or_else(|| b.kind.clone()));
        // OpenAI's 401 message may echo part of the key: only the scrubbed error is shown.
        let message = body
            .filter(|_| e.status() != Some(401))
            .and_then(|b| b.message);
        Self::of(&e, code, message)
    }
}

impl From<OpsError> for Failure {
    fn from(e: OpsError) -> Self {
        Failure::plain(&e.to_string())
    }
}

/// Looks for a message with `body` from `from` to `to` created since `since` (an interrupted
/// send whose outcome the journal does not know). No date filter: Twilio filters on
/// `DateSent`, which a message still queued does not have; the list is newest first, so the
/// scan stops at the first message created before `since` (with a minute of clock slack).
pub(super) async fn sent_since(
    client: &apiops_providers::twilio::TwilioClient,
    from: &str,
    to: &str,
    body: &str,
    since: Timestamp,
) -> Result<Option<String>, Failure> {
    let mut query = vec![
        ("To".to_owned(), to.to_owned()),
        ("PageSize".to_owned(), "50".to_owned()),
    ];
    if !from.starts_with("MG") {
        query.push(("From".to_owned(), from.to_owned()));
    }
    let cutoff = since - jiff::SignedDuration::from_secs(60);
    let want = apiops_providers::twilio::client::body_digest(body);
    let mut pages = client.messages(query);
    let mut seen = 0;
    while let Some(page) = pages.next().await {
        for m in page.map_err(Failure::twilio)? {
            let created = m
                .date_created
                .as_deref()
                .and_then(|d| jiff::fmt::rfc2822::parse(d).ok())
                .map(|z| z.timestamp());
            if created.is_some_and(|c| c < cutoff) {
                return Ok(None);
            }
            if m.body_sha256.as_deref() == Some(want.as_str()) {
                return Ok(Some(m.sid));
            }
            seen += 1;
            if seen >= 1_000 {
                return Ok(None);
            }
        }
    }
    Ok(None)
}

/// Checks that apiops may POST to `url` (see [`apiops_providers::outbound::pin_public`]):
/// the host and the address checked, to pin the connection to.
pub(super) async fn guard_target(
    url: &str,
    allow_private: bool,
) -> Result<Option<(String, SocketAddr)>, Failure> {
    let parsed = url::Url::parse(url)
        .map_err(|e| Failure::plain(&format!("{}: not a URL ({e})", display_url(url))))?;
    match outbound::pin_public(&parsed, allow_private).await {
        Ok(pinned) => Ok(Some(pinned)),
        Err(e @ outbound::Refusal::NotPublic { .. }) => Err(Failure::plain(&format!(
            "{e}; refusing to send there (pass --allow-private-targets for a local receiver)"
        ))),
        Err(e) => Err(Failure::plain(&format!("{e}; refusing to send to it"))),
    }
}

pub(super) fn path_segment(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

pub(super) fn short_hash(s: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(s.as_bytes())[..12])
}

/// A Stripe test event of `event_type`, shaped like Stripe's (`object: event`, `livemode`
/// false, a minimal `data.object` of the type's object).
pub fn test_event(
    id: &str,
    event_type: &str,
    api_version: &str,
    now: Timestamp,
) -> serde_json::Value {
    let object = event_type.split('.').next().unwrap_or("object");
    let prefix = match object {
        "payment_intent" => "pi",
        "charge" => "ch",
        "invoice" => "in",
        "customer" => "cus",
        "payout" => "po",
        "checkout" => "cs",
        _ => "obj",
    };
    serde_json::json!({
        "id": id,
        "object": "event",
        "api_version": api_version,
        "created": now.as_second(),
        "livemode": false,
        "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "type": event_type,
        "data": {"object": {
            "id": format!("{prefix}_test_{}", id.trim_start_matches("evt_test_")),
            "object": object,
            "livemode": false,
            "metadata": {"apiops_test": "true"},
        }},
    })
}
