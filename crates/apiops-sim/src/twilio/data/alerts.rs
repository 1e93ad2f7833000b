//! Twilio Monitor alerts as compact records, and their generation: the kinds Twilio raises
//! (webhook retrieval and connection failures, invalid URLs, carrier errors...) in realistic
//! proportions, each pointing at a generated message, call, number or service.

use super::{Call, Direction, MESSAGE_ERRORS, Message, NUMBER_SEEDS, error_slot, recent_age};
use crate::rng;
/// What a Monitor alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AlertKind {
    /// 11200: the webhook answered with an HTTP error or timed out.
    HttpRetrieval,
    /// 11205: the webhook could not be connected to (private address, refused).
    HttpConnection,
    /// 12300: the webhook answered with a content type Twilio cannot use.
    ContentType,
    /// 12200: TwiML that does not follow the schema (a warning).
    SchemaWarning,
    /// 13227: a call to a region the geo permissions exclude (a warning).
    GeoPermission,
    /// A delivery error on a message (30007, 30034, 21610, 30003).
    Message(u32),
}

impl AlertKind {
    pub(crate) fn code(self) -> u32 {
        match self {
            AlertKind::HttpRetrieval => 11200,
            AlertKind::HttpConnection => 11205,
            AlertKind::ContentType => 12300,
            AlertKind::SchemaWarning => 12200,
            AlertKind::GeoPermission => 13227,
            AlertKind::Message(code) => code,
        }
    }

    pub(crate) fn log_level(self) -> &'static str {
        match self {
            AlertKind::SchemaWarning | AlertKind::GeoPermission => "warning",
            _ => "error",
        }
    }

    pub(crate) fn text(self) -> &'static str {
        match self {
            AlertKind::HttpRetrieval => "HTTP retrieval failure",
            AlertKind::HttpConnection => "HTTP connection failure",
            AlertKind::ContentType => "Invalid Content-Type",
            AlertKind::SchemaWarning => "Schema validation warning",
            AlertKind::GeoPermission => "Geo Permission configuration is not permitting call",
            AlertKind::Message(code) => MESSAGE_ERRORS
                .iter()
                .find(|e| e.code == code)
                .map_or("Unknown error", |e| e.message),
        }
    }
}

/// Which resource an alert points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AlertResource {
    /// A generated message, by position.
    Message(u32),
    /// A generated call, by position.
    Call(u32),
    /// One of the account's numbers (index into [`NUMBER_SEEDS`]).
    Number(u8),
}

/// Which of a number's URLs a webhook alert was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hook {
    Sms,
    Voice,
}

/// One generated Monitor alert.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Alert {
    /// Seconds between `date_generated` and the anchor; sorted by it (newest first).
    pub(crate) age: u32,
    pub(crate) kind: AlertKind,
    pub(crate) resource: AlertResource,
    /// For webhook alerts: the number whose URL failed, and which URL.
    pub(crate) hook: Option<(u8, Hook)>,
    /// For 11200: the HTTP status the webhook answered (0 = timed out).
    pub(crate) http_status: u16,
}

/// What kind of alert to make (before choosing the record it points at).
#[derive(Debug, Clone, Copy)]
pub(crate) enum AlertPick {
    Retrieval,
    Connection,
    ContentType,
    Schema,
    Geo,
    Msg(u32),
}

/// The account's mix of alerts.
const ALERT_KINDS: &[(AlertPick, u32)] = &[
    (AlertPick::Retrieval, 40),
    (AlertPick::Connection, 18),
    (AlertPick::Msg(30007), 10),
    (AlertPick::Msg(30034), 8),
    (AlertPick::Msg(21610), 6),
    (AlertPick::Msg(30003), 5),
    (AlertPick::ContentType, 5),
    (AlertPick::Schema, 5),
    (AlertPick::Geo, 3),
];

/// Webhook failures: (number, which URL, HTTP status; 0 = timeout) by weight.
const RETRIEVAL: &[((u8, Hook, u16), u32)] = &[
    ((2, Hook::Sms, 502), 45),
    ((0, Hook::Sms, 0), 20),
    ((0, Hook::Sms, 500), 10),
    ((5, Hook::Voice, 503), 15),
    ((4, Hook::Voice, 404), 10),
];
const CONNECTION: &[(u8, u32)] = &[(3, 60), (4, 40)];

impl AlertPick {
    /// A pick from the account's usual mix.
    pub(crate) fn from_mix(r: &mut fastrand::Rng) -> Self {
        *rng::weighted(r, ALERT_KINDS)
    }

    /// The pick that makes alerts with error `code`, if the simulator knows that code: the
    /// webhook and geo codes of the mix, or a message error of [`MESSAGE_ERRORS`].
    pub(crate) fn for_code(code: u32) -> Option<Self> {
        match code {
            11200 => Some(AlertPick::Retrieval),
            11205 => Some(AlertPick::Connection),
            12300 => Some(AlertPick::ContentType),
            12200 => Some(AlertPick::Schema),
            13227 => Some(AlertPick::Geo),
            c if error_slot(c) > 0 => Some(AlertPick::Msg(c)),
            _ => None,
        }
    }

    /// Every code [`AlertPick::for_code`] knows, for error messages.
    pub(crate) fn known_codes() -> Vec<u32> {
        let mut codes = vec![11200, 11205, 12200, 12300, 13227];
        codes.extend(MESSAGE_ERRORS.iter().map(|e| e.code));
        codes
    }
}

/// Pools of record positions, so alerts point at records that exist and agree with them.
#[derive(Debug)]
pub(crate) struct AlertPools<'a> {
    messages: &'a [Message],
    calls: &'a [Call],
    window: u32,
    /// Inbound messages per account number.
    inbound_to: Vec<Vec<u32>>,
    /// Messages per error slot.
    by_error: Vec<Vec<u32>>,
    /// Inbound calls per account number.
    calls_to: Vec<Vec<u32>>,
    /// Outbound calls.
    calls_out: Vec<u32>,
}

impl<'a> AlertPools<'a> {
    /// The pools over the generated `messages` and `calls` (`window`: the history's length).
    pub(crate) fn new(messages: &'a [Message], calls: &'a [Call], window: u32) -> Self {
        let mut inbound_to: Vec<Vec<u32>> = vec![Vec::new(); NUMBER_SEEDS.len()];
        let mut by_error: Vec<Vec<u32>> = vec![Vec::new(); MESSAGE_ERRORS.len() + 1];
        for (i, m) in messages.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            if m.direction == Direction::Inbound
                && let Some(pool) = inbound_to.get_mut(usize::from(m.number))
            {
                pool.push(i);
            }
            if let Some(pool) = by_error.get_mut(usize::from(m.error)) {
                pool.push(i);
            }
        }
        let mut calls_to: Vec<Vec<u32>> = vec![Vec::new(); NUMBER_SEEDS.len()];
        let mut calls_out: Vec<u32> = Vec::new();
        for (i, c) in calls.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            if !c.inbound {
                calls_out.push(i);
            } else if let Some(pool) = calls_to.get_mut(usize::from(c.number)) {
                pool.push(i);
            }
        }
        AlertPools {
            messages,
            calls,
            window,
            inbound_to,
            by_error,
            calls_to,
            calls_out,
        }
    }

    fn msg_age(&self, i: u32) -> u32 {
        self.messages.get(i as usize).map_or(0, |m| m.age)
    }

    fn call_age(&self, i: u32) -> u32 {
        self.calls.get(i as usize).map_or(0, |c| c.age)
    }

    /// An alert of kind `pick`, generated `lag` seconds after the record it points at.
    pub(crate) fn make(&self, r: &mut fastrand::Rng, pick: AlertPick, lag: u32) -> Alert {
        let pick_from = |r: &mut fastrand::Rng, pool: &[u32]| -> Option<u32> {
            (!pool.is_empty()).then(|| pool[r.usize(..pool.len())])
        };
        let window = self.window;
        match pick {
            AlertPick::Retrieval
            | AlertPick::Connection
            | AlertPick::ContentType
            | AlertPick::Schema => {
                let (number, hook, http_status, kind) = match pick {
                    AlertPick::Retrieval => {
                        let (n, h, s) = *rng::weighted(r, RETRIEVAL);
                        (n, h, s, AlertKind::HttpRetrieval)
                    }
                    AlertPick::Connection => (
                        *rng::weighted(r, CONNECTION),
                        Hook::Sms,
                        0,
                        AlertKind::HttpConnection,
                    ),
                    AlertPick::ContentType => (0, Hook::Sms, 200, AlertKind::ContentType),
                    _ => (5, Hook::Voice, 200, AlertKind::SchemaWarning),
                };
                let n = usize::from(number);
                let found = match hook {
                    Hook::Sms => pick_from(r, self.inbound_to.get(n).map_or(&[], Vec::as_slice))
                        .map(|i| (AlertResource::Message(i), self.msg_age(i))),
                    Hook::Voice => pick_from(r, self.calls_to.get(n).map_or(&[], Vec::as_slice))
                        .map(|i| (AlertResource::Call(i), self.call_age(i))),
                };
                let (resource, age) =
                    found.unwrap_or((AlertResource::Number(number), recent_age(r, window)));
                Alert {
                    age: age.saturating_sub(lag),
                    kind,
                    resource,
                    hook: Some((number, hook)),
                    http_status,
                }
            }
            AlertPick::Geo => {
                // Geo permissions stop calls going out.
                let (resource, age) = match pick_from(r, &self.calls_out) {
                    Some(i) => (AlertResource::Call(i), self.call_age(i)),
                    None => (AlertResource::Number(5), recent_age(r, window)),
                };
                Alert {
                    age: age.saturating_sub(lag),
                    kind: AlertKind::GeoPermission,
                    resource,
                    hook: None,
                    http_status: 0,
                }
            }
            AlertPick::Msg(code) => {
                let pool = self
                    .by_error
                    .get(usize::from(error_slot(code)))
                    .map_or(&[][..], Vec::as_slice);
                let (resource, age) = match pick_from(r, pool) {
                    Some(i) => (AlertResource::Message(i), self.msg_age(i)),
                    None => (AlertResource::Number(6), recent_age(r, window)),
                };
                Alert {
                    age: age.saturating_sub(lag),
                    kind: AlertKind::Message(code),
                    resource,
                    hook: None,
                    http_status: 0,
                }
            }
        }
    }
}

pub(super) fn generate_alerts(
    seed: u64,
    messages: &[Message],
    calls: &[Call],
    window: u32,
) -> Vec<Alert> {
    let mut r = rng::for_purpose(seed, "twilio.alerts");
    let count = 24 + messages.len() / 150;
    let pools = AlertPools::new(messages, calls, window);
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let pick = AlertPick::from_mix(&mut r);
        let lag = r.u32(1..15);
        out.push(pools.make(&mut r, pick, lag));
    }
    out.sort_by_key(|a| a.age);
    out
}
