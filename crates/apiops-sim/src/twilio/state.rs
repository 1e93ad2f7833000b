//! Twilio's state: the generated records (immutable, shared without locks), the SID lookup
//! tables, and the mutable part behind one `RwLock` — owned numbers, numbers for sale,
//! messaging services, messages created through the API and alerts raised at run time — with
//! the operations that change it (buy, update, release, send, update a service, raise alerts)
//! and Twilio's validation errors for them. The requests those operations take are read from
//! their forms in `request`.
//!
//! Locks are held for the length of a lookup or a change, never across an `.await`. This file
//! does not speak HTTP (see `api` and `v1`) nor build JSON (see `render`).

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::http::StatusCode;

use super::data::{self, AvailableNumber, Generated};
use super::render::Capabilities;
use super::request::{NumberUpdate, SendRequest, ServiceUpdate, is_e164};
use crate::config::SimConfig;
use crate::rng;
use crate::server::Credentials;

/// A Twilio error answer: HTTP status, Twilio code, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TwilioError {
    pub(crate) status: StatusCode,
    pub(crate) code: u32,
    pub(crate) message: String,
}

impl TwilioError {
    /// A 400 with `code`.
    pub(crate) fn bad(code: u32, message: impl Into<String>) -> Self {
        TwilioError {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    /// Twilio's 404 for `path`.
    pub(crate) fn not_found(path: &str) -> Self {
        TwilioError {
            status: StatusCode::NOT_FOUND,
            code: 20404,
            message: format!("The requested resource {path} was not found"),
        }
    }
}

/// Finds a record's position from its SID without storing the SIDs: positions sorted by SID,
/// each SID recomputed from its position while searching (4 bytes per record).
#[derive(Debug)]
pub(crate) struct SidIndex {
    prefix: &'static str,
    seed: u64,
    by_sid: Vec<u32>,
}

impl SidIndex {
    /// SIDs `prefix` + hex for positions `0..len`, derived from `seed`.
    pub(crate) fn new(prefix: &'static str, seed: u64, len: usize) -> Self {
        let mut by_sid: Vec<u32> = (0..u32::try_from(len).unwrap_or(u32::MAX)).collect();
        by_sid.sort_by_cached_key(|&i| rng::twilio_sid_for(prefix, seed, u64::from(i)));
        SidIndex {
            prefix,
            seed,
            by_sid,
        }
    }

    /// The seed the SIDs derive from (also used to derive per-record details).
    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    /// The SID at `pos`.
    pub(crate) fn sid(&self, pos: usize) -> String {
        rng::twilio_sid_for(self.prefix, self.seed, pos as u64)
    }

    /// The position of `sid`, if it is one of ours.
    pub(crate) fn find(&self, sid: &str) -> Option<usize> {
        if !sid.starts_with(self.prefix) || sid.len() != 34 {
            return None;
        }
        self.by_sid
            .binary_search_by(|&i| self.sid(i as usize).as_str().cmp(sid))
            .ok()
            .and_then(|k| self.by_sid.get(k))
            .map(|&i| i as usize)
    }
}

/// A number the account owns.
#[derive(Debug, Clone)]
pub(crate) struct OwnedNumber {
    pub(crate) sid: String,
    pub(crate) phone_number: String,
    pub(crate) friendly_name: String,
    pub(crate) sms_url: String,
    pub(crate) sms_method: String,
    pub(crate) sms_fallback_url: String,
    pub(crate) sms_fallback_method: String,
    pub(crate) voice_url: String,
    pub(crate) voice_method: String,
    pub(crate) voice_fallback_url: String,
    pub(crate) voice_fallback_method: String,
    pub(crate) status_callback: String,
    pub(crate) status_callback_method: String,
    pub(crate) sms_application_sid: Option<String>,
    pub(crate) voice_application_sid: Option<String>,
    pub(crate) trunk_sid: Option<String>,
    pub(crate) voice_caller_id_lookup: bool,
    pub(crate) capabilities: Capabilities,
    pub(crate) created: i64,
    pub(crate) updated: i64,
    /// Index into the services of the messaging service it belongs to.
    pub(crate) service: Option<usize>,
}

impl OwnedNumber {
    /// A number as Twilio sets one up when it is bought at `created`: named after its
    /// national format, every URL empty and sent with POST, no application, trunk, caller-id
    /// lookup or messaging service.
    fn new(sid: String, phone_number: String, capabilities: Capabilities, created: i64) -> Self {
        OwnedNumber {
            sid,
            friendly_name: super::render::national_format(&phone_number),
            phone_number,
            sms_url: String::new(),
            sms_method: "POST".into(),
            sms_fallback_url: String::new(),
            sms_fallback_method: "POST".into(),
            voice_url: String::new(),
            voice_method: "POST".into(),
            voice_fallback_url: String::new(),
            voice_fallback_method: "POST".into(),
            status_callback: String::new(),
            status_callback_method: "POST".into(),
            sms_application_sid: None,
            voice_application_sid: None,
            trunk_sid: None,
            voice_caller_id_lookup: false,
            capabilities,
            created,
            updated: created,
            service: None,
        }
    }
}

/// A messaging service.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub(crate) sid: String,
    pub(crate) friendly_name: String,
    pub(crate) inbound_request_url: Option<String>,
    pub(crate) inbound_method: String,
    pub(crate) fallback_url: Option<String>,
    pub(crate) fallback_method: String,
    pub(crate) status_callback: Option<String>,
    pub(crate) use_inbound_webhook_on_number: bool,
    pub(crate) us_app_to_person_registered: bool,
    pub(crate) usecase: String,
    pub(crate) created: i64,
    pub(crate) updated: i64,
}

/// A message sent through the API (queued; it never leaves the simulator).
#[derive(Debug, Clone)]
pub(crate) struct CreatedMessage {
    pub(crate) sid: String,
    pub(crate) to: String,
    /// `None` when sent through a messaging service (Twilio picks the sender later).
    pub(crate) from: Option<String>,
    pub(crate) service: Option<String>,
    pub(crate) body: String,
    pub(crate) created: i64,
}

/// A Monitor alert raised at run time (`/_sim/twilio/alerts`).
#[derive(Debug, Clone)]
pub(crate) struct LiveAlert {
    pub(crate) sid: String,
    /// Unix seconds: generated and created.
    pub(crate) at: i64,
    /// What it is about (its `age` is unused).
    pub(crate) alert: data::Alert,
}

/// What changes while the simulator runs.
#[derive(Debug)]
pub(crate) struct Live {
    /// Owned numbers, oldest first.
    pub(crate) numbers: Vec<OwnedNumber>,
    /// For sale, by area code then line.
    pub(crate) available: Vec<AvailableNumber>,
    pub(crate) services: Vec<Service>,
    /// Oldest first (listings show them before every generated message).
    pub(crate) created: Vec<CreatedMessage>,
    /// Alerts raised at run time, oldest first (listings show them before the generated ones).
    pub(crate) alerts: Vec<LiveAlert>,
    /// Numbers bought so far (their SIDs derive from it).
    purchases: u64,
}

/// Twilio's data and state: generated messages, calls, alerts, numbers and services, and what
/// the API has changed since.
#[derive(Debug)]
pub struct TwilioState {
    pub(crate) account_sid: String,
    /// Served in the Account resource, as Twilio does.
    pub(crate) auth_token: String,
    /// Unix seconds of the anchor: "now" for the generated data.
    pub(crate) anchor: i64,
    pub(crate) seed: u64,
    /// How far back the generated traffic reaches, seconds.
    pub(crate) history: u32,
    pub(crate) generated: Generated,
    pub(crate) message_sids: SidIndex,
    pub(crate) call_sids: SidIndex,
    pub(crate) alert_sids: SidIndex,
    /// Derives recipient numbers from their pool index.
    pub(crate) peers_seed: u64,
    /// SIDs of the seeded numbers (kept for history even once released).
    pub(crate) number_sids: Vec<String>,
    pub(crate) service_sids: Vec<String>,
    pub(crate) account_created: i64,
    pub(crate) balance: String,
    live: RwLock<Live>,
}

/// A sub-seed for one purpose.
fn sub_seed(seed: u64, purpose: &str) -> u64 {
    rng::for_purpose(seed, purpose).u64(..)
}

impl TwilioState {
    /// Generates the data for `config` (deterministic for its seed and anchor) under the
    /// account in `creds`.
    pub fn generate(config: &SimConfig, creds: &Credentials) -> Self {
        let seed = config.seed;
        let anchor = config.anchor.as_second();
        let window = u32::try_from(config.history.as_secs()).unwrap_or(u32::MAX);
        let generated = data::generate(seed, config.messages, window);
        let message_sids = SidIndex::new(
            "SM",
            sub_seed(seed, "twilio.sids.messages"),
            generated.messages.len(),
        );
        let call_sids = SidIndex::new(
            "CA",
            sub_seed(seed, "twilio.sids.calls"),
            generated.calls.len(),
        );
        let alert_sids = SidIndex::new(
            "NO",
            sub_seed(seed, "twilio.sids.alerts"),
            generated.alerts.len(),
        );
        let mut r = rng::for_purpose(seed, "twilio.account");
        let number_sids: Vec<String> = data::NUMBER_SEEDS
            .iter()
            .map(|_| rng::twilio_sid("PN", &mut r))
            .collect();
        let service_sids: Vec<String> = data::SERVICE_SEEDS
            .iter()
            .map(|_| rng::twilio_sid("MG", &mut r))
            .collect();
        let balance = format!("{}.{:02}", r.u32(200..5000), r.u32(..100));
        let day = 86_400;
        let numbers = data::NUMBER_SEEDS
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let created = anchor - n.bought_days_ago * day - i64::from(r.u32(..day as u32));
                let voice_only = n.sms_url.is_empty() && !n.voice_url.is_empty();
                let capabilities = Capabilities {
                    voice: true,
                    sms: !voice_only,
                    mms: !voice_only,
                    fax: false,
                };
                let sid = number_sids.get(i).cloned().unwrap_or_default();
                let mut number = OwnedNumber::new(sid, data::seed_number(i), capabilities, created);
                number.friendly_name = n.friendly_name.to_owned();
                number.sms_url = n.sms_url.to_owned();
                number.sms_fallback_url = n.sms_fallback_url.to_owned();
                number.voice_url = n.voice_url.to_owned();
                number.voice_fallback_url = n.voice_fallback_url.to_owned();
                number.status_callback = n.status_callback.to_owned();
                number.updated =
                    created + i64::from(r.u32(..(n.bought_days_ago as u32) * 86_400 / 2 + 1));
                number.service = n.service;
                number
            })
            .collect();
        let services = data::SERVICE_SEEDS
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let created = anchor - s.created_days_ago * day - i64::from(r.u32(..day as u32));
                Service {
                    sid: service_sids.get(i).cloned().unwrap_or_default(),
                    friendly_name: s.friendly_name.to_owned(),
                    inbound_request_url: s.inbound_request_url.map(str::to_owned),
                    inbound_method: "POST".into(),
                    fallback_url: s.fallback_url.map(str::to_owned),
                    fallback_method: "POST".into(),
                    status_callback: s.status_callback.map(str::to_owned),
                    use_inbound_webhook_on_number: s.use_inbound_webhook_on_number,
                    us_app_to_person_registered: s.us_app_to_person_registered,
                    usecase: s.usecase.to_owned(),
                    created,
                    updated: created + i64::from(r.u32(..30 * day as u32)),
                }
            })
            .collect();
        let live = Live {
            numbers,
            available: generated.available.clone(),
            services,
            created: Vec::new(),
            alerts: Vec::new(),
            purchases: 0,
        };
        TwilioState {
            account_sid: creds.twilio_account_sid.clone(),
            auth_token: creds.twilio_auth_token.clone(),
            anchor,
            seed,
            history: window,
            generated,
            message_sids,
            call_sids,
            alert_sids,
            peers_seed: sub_seed(seed, "twilio.peers"),
            number_sids,
            service_sids,
            account_created: anchor - 1_600 * day,
            balance,
            live: RwLock::new(live),
        }
    }

    /// Reads the mutable state.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Live> {
        self.live.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Live> {
        self.live.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Now for things the API changes: the wall clock, never before the anchor, so created
    /// records sort after the generated ones.
    pub(crate) fn now(&self) -> i64 {
        jiff::Timestamp::now().as_second().max(self.anchor)
    }

    /// Buys `phone_number`, or the first number for sale in `area_code`; `config` sets its
    /// URLs and name. The number leaves the catalog and joins the account.
    pub(crate) fn buy(
        &self,
        phone_number: Option<&str>,
        area_code: Option<&str>,
        config: &NumberUpdate,
    ) -> Result<OwnedNumber, TwilioError> {
        let now = self.now();
        let mut live = self.write();
        let pos = match (phone_number, area_code) {
            (Some(p), _) => {
                if !is_e164(p) {
                    return Err(TwilioError::bad(
                        21421,
                        format!("PhoneNumber {p} is invalid."),
                    ));
                }
                live.available
                    .iter()
                    .position(|a| a.e164() == p)
                    .ok_or_else(|| {
                        TwilioError::bad(21422, format!("PhoneNumber {p} is not available."))
                    })?
            }
            (None, Some(code)) => {
                let code: u16 = code
                    .trim()
                    .parse()
                    .ok()
                    .filter(|c| (200..1000).contains(c))
                    .ok_or_else(|| {
                        TwilioError::bad(21451, format!("AreaCode {code} is invalid."))
                    })?;
                live.available
                    .iter()
                    .position(|a| data::AREA_CODES.get(a.area).is_some_and(|x| x.code == code))
                    .ok_or_else(|| {
                        TwilioError::bad(
                            21452,
                            format!("No phone numbers found in area code {code}."),
                        )
                    })?
            }
            (None, None) => {
                return Err(TwilioError::bad(
                    21421,
                    "A PhoneNumber or AreaCode is required.",
                ));
            }
        };
        let sold = live.available.remove(pos);
        live.purchases += 1;
        let sid = rng::twilio_sid_for(
            "PN",
            sub_seed(self.seed, "twilio.sids.purchases"),
            live.purchases,
        );
        let capabilities = Capabilities {
            voice: sold.voice,
            sms: sold.sms,
            mms: sold.mms,
            fax: false,
        };
        let mut number = OwnedNumber::new(sid, sold.e164(), capabilities, now);
        config.apply(&mut number);
        live.numbers.push(number.clone());
        Ok(number)
    }

    /// Applies `update` to the owned number `sid`.
    pub(crate) fn update_number(&self, sid: &str, update: &NumberUpdate) -> Option<OwnedNumber> {
        let now = self.now();
        let mut live = self.write();
        let n = live.numbers.iter_mut().find(|n| n.sid == sid)?;
        update.apply(n);
        n.updated = now;
        Some(n.clone())
    }

    /// Releases the owned number `sid`; false when the account has no such number.
    pub(crate) fn release(&self, sid: &str) -> bool {
        let mut live = self.write();
        let before = live.numbers.len();
        live.numbers.retain(|n| n.sid != sid);
        live.numbers.len() != before
    }

    /// An owned number by SID.
    pub(crate) fn number(&self, sid: &str) -> Option<OwnedNumber> {
        self.read().numbers.iter().find(|n| n.sid == sid).cloned()
    }

    /// Queues a message, after Twilio's checks.
    pub(crate) fn send(&self, req: &SendRequest) -> Result<CreatedMessage, TwilioError> {
        let to = req.to.as_deref().map(str::trim).unwrap_or("");
        if to.is_empty() {
            return Err(TwilioError::bad(21604, "A 'To' phone number is required."));
        }
        let to_number = to.strip_prefix("whatsapp:").unwrap_or(to);
        if !is_e164(to_number) {
            return Err(TwilioError::bad(
                21211,
                format!("Invalid 'To' Phone Number: {to}"),
            ));
        }
        let body = req.body.clone().unwrap_or_default();
        if body.is_empty() && !req.has_media {
            return Err(TwilioError::bad(21602, "Message body is required."));
        }
        if body.chars().count() > 1600 {
            return Err(TwilioError::bad(
                21617,
                "The concatenated message body exceeds the 1600 character limit.",
            ));
        }
        let now = self.now();
        let mut live = self.write();
        let service = match req
            .messaging_service_sid
            .as_deref()
            .filter(|s| !s.is_empty())
        {
            Some(mg) => match live.services.iter().find(|s| s.sid == mg) {
                Some(s) => Some(s.sid.clone()),
                None => {
                    return Err(TwilioError {
                        status: StatusCode::NOT_FOUND,
                        code: 21701,
                        message: format!("The Messaging Service Sid {mg} is invalid."),
                    });
                }
            },
            None => None,
        };
        let from = match req.from.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
            Some(f) => {
                let owned = live
                    .numbers
                    .iter()
                    .any(|n| n.phone_number == f && n.capabilities.sms);
                if !owned {
                    return Err(TwilioError::bad(
                        21606,
                        format!(
                            "The From phone number {f} is not a valid, SMS-capable inbound phone number or short code for your account."
                        ),
                    ));
                }
                Some(f.to_owned())
            }
            None if service.is_some() => None,
            None => {
                return Err(TwilioError::bad(
                    21603,
                    "A 'From' or 'MessagingServiceSid' parameter is required to send a message.",
                ));
            }
        };
        let index = u64::try_from(live.created.len()).unwrap_or(u64::MAX);
        let message = CreatedMessage {
            sid: rng::twilio_sid_for("SM", sub_seed(self.seed, "twilio.sids.created"), index),
            to: to.to_owned(),
            from,
            service,
            body,
            created: now,
        };
        live.created.push(message.clone());
        Ok(message)
    }

    /// Raises `count` Monitor alerts now: of error `code` when given (a code the simulator
    /// knows), else from the account's usual mix. Each points at a generated record that agrees
    /// with it, like the generated alerts. Returns their SIDs, oldest first; SIDs derive from
    /// the seed and the count of alerts raised so far.
    pub(crate) fn alerts_happen(
        &self,
        count: usize,
        code: Option<u32>,
    ) -> Result<Vec<String>, String> {
        let pick = match code {
            None => None,
            Some(c) => Some(data::AlertPick::for_code(c).ok_or_else(|| {
                let known: Vec<String> = data::AlertPick::known_codes()
                    .iter()
                    .map(u32::to_string)
                    .collect();
                format!(
                    "unknown error_code {c}: the simulator raises {}",
                    known.join(", ")
                )
            })?),
        };
        let pools = data::AlertPools::new(
            &self.generated.messages,
            &self.generated.calls,
            self.history,
        );
        let sid_seed = sub_seed(self.seed, "twilio.sids.live_alerts");
        let now = self.now();
        let mut live = self.write();
        let mut sids = Vec::with_capacity(count);
        for _ in 0..count {
            let index = u64::try_from(live.alerts.len()).unwrap_or(u64::MAX);
            let mut r = rng::for_purpose(self.seed, &format!("twilio.live_alerts.{index}"));
            let pick = pick.unwrap_or_else(|| data::AlertPick::from_mix(&mut r));
            let alert = pools.make(&mut r, pick, 0);
            let sid = rng::twilio_sid_for("NO", sid_seed, index);
            live.alerts.push(LiveAlert {
                sid: sid.clone(),
                at: now,
                alert,
            });
            sids.push(sid);
        }
        Ok(sids)
    }

    /// Applies `update` to messaging service `sid`.
    pub(crate) fn update_service(&self, sid: &str, update: &ServiceUpdate) -> Option<Service> {
        let now = self.now();
        let mut live = self.write();
        let s = live.services.iter_mut().find(|s| s.sid == sid)?;
        update.apply(s);
        s.updated = now;
        Some(s.clone())
    }
}
