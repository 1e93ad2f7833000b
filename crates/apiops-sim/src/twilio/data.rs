//! Twilio's generated data: the fixed tables (area codes, bodies, error codes), the compact
//! records of messages, calls and alerts, and the account's numbers and messaging services with
//! their share of misconfigurations. Everything is derived from the seed and the anchor, so the
//! same pair always yields the same records.
//!
//! Records are small (a few bytes of integers and indices per message); their JSON shape is
//! built per request by `render`, never stored. This file is not the HTTP layer and holds no
//! mutable state.

//!
//! Layout: this file holds the records of messages and calls and their generation;
//! `data/tables.rs` the fixed tables and the seeds of numbers and services; `data/alerts.rs`
//! the Monitor alerts.

mod alerts;
mod tables;

pub(crate) use alerts::*;
pub(crate) use tables::*;

use crate::rng;

/// How far back generated traffic goes.
/// The default span of generated history (tests use it; the simulator takes `SimConfig::history`).
#[cfg(test)]
pub(crate) const WINDOW_SECS: u32 = 7 * 86_400;

/// Unit of Twilio's SMS price per segment, in 1/100,000 USD (`-0.00790`).
pub(crate) const SMS_PRICE_E5: u32 = 790;

/// Where a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Sent through the API.
    OutboundApi,
    /// Received from a recipient.
    Inbound,
    /// A TwiML reply to an inbound message.
    OutboundReply,
}

impl Direction {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Direction::OutboundApi => "outbound-api",
            Direction::Inbound => "inbound",
            Direction::OutboundReply => "outbound-reply",
        }
    }
}

/// A message's status, as Twilio names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MessageStatus {
    Delivered,
    Sent,
    Sending,
    Undelivered,
    Failed,
    Received,
}

impl MessageStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Delivered => "delivered",
            MessageStatus::Sent => "sent",
            MessageStatus::Sending => "sending",
            MessageStatus::Undelivered => "undelivered",
            MessageStatus::Failed => "failed",
            MessageStatus::Received => "received",
        }
    }
}

/// One generated message, compact: everything else is derived from its position.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Message {
    /// Seconds between `date_sent` and the anchor; the list is sorted by it (newest first).
    pub(crate) age: u32,
    /// The other party: an index into the recipient pool ([`peer_number`]).
    pub(crate) peer: u32,
    /// The account's number used (index into [`NUMBER_SEEDS`]).
    pub(crate) number: u8,
    pub(crate) direction: Direction,
    pub(crate) status: MessageStatus,
    /// 0 = none, else an index + 1 into [`MESSAGE_ERRORS`].
    pub(crate) error: u8,
    /// Index into [`OUTBOUND_BODIES`] or [`INBOUND_BODIES`] by direction.
    pub(crate) body: u8,
}

/// A call's status, as Twilio names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallStatus {
    Completed,
    Busy,
    NoAnswer,
    Failed,
    Canceled,
    InProgress,
}

impl CallStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CallStatus::Completed => "completed",
            CallStatus::Busy => "busy",
            CallStatus::NoAnswer => "no-answer",
            CallStatus::Failed => "failed",
            CallStatus::Canceled => "canceled",
            CallStatus::InProgress => "in-progress",
        }
    }

    /// The status named `s` in a `Status` filter.
    pub(crate) fn parse(s: &str) -> Option<CallStatus> {
        [
            CallStatus::Completed,
            CallStatus::Busy,
            CallStatus::NoAnswer,
            CallStatus::Failed,
            CallStatus::Canceled,
            CallStatus::InProgress,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// One generated call, compact.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call {
    /// Seconds between `start_time` and the anchor; sorted by it (newest first).
    pub(crate) age: u32,
    pub(crate) peer: u32,
    pub(crate) number: u8,
    /// Outbound (`outbound-api`) or inbound.
    pub(crate) inbound: bool,
    pub(crate) status: CallStatus,
    /// Seconds talked (0 unless completed).
    pub(crate) duration: u16,
}

/// A number for sale.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AvailableNumber {
    /// Index into [`AREA_CODES`].
    pub(crate) area: usize,
    /// The last four digits (the exchange is always 555).
    pub(crate) line: u16,
    pub(crate) sms: bool,
    pub(crate) mms: bool,
    pub(crate) voice: bool,
}

impl AvailableNumber {
    /// E.164 form.
    pub(crate) fn e164(&self) -> String {
        let code = AREA_CODES.get(self.area).map_or(0, |a| a.code);
        format!("+1{code}555{:04}", self.line)
    }
}

/// A stateless 64-bit mix (splitmix64) of a seed and an index: the per-record details that
/// are derived rather than stored (delays, body digits, recipient numbers).
pub(crate) fn mix(seed: u64, index: u64) -> u64 {
    let mut z = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The phone number of recipient `peer`, as (area code, line).
pub(crate) fn peer_parts(peers_seed: u64, peer: u32) -> (u16, u16) {
    let h = mix(peers_seed, u64::from(peer));
    let len = AREA_CODES.len() as u64;
    let code = AREA_CODES
        .get(usize::try_from(h % len).unwrap_or(0))
        .map_or(415, |a| a.code);
    // Lines 1000-9999: disjoint from the account's (01xx) and the ones for sale (02xx-09xx).
    let line = 1000 + u16::try_from((h >> 16) % 9000).unwrap_or(0);
    (code, line)
}

/// The E.164 number of recipient `peer`.
pub(crate) fn peer_number(peers_seed: u64, peer: u32) -> String {
    let (code, line) = peer_parts(peers_seed, peer);
    format!("+1{code}555{line:04}")
}

/// A random age within the window of `window` seconds, denser toward the anchor (recent traffic
/// is heavier).
pub(super) fn recent_age(r: &mut fastrand::Rng, window: u32) -> u32 {
    let u = r.f64();
    let age = f64::from(window.max(2) - 1) * u.powf(1.6);
    // In range by construction: 0 <= u^1.6 < 1.
    age as u32
}

/// The generated, immutable part of the Twilio data.
#[derive(Debug)]
pub(crate) struct Generated {
    /// Newest first.
    pub(crate) messages: Vec<Message>,
    /// Newest first.
    pub(crate) calls: Vec<Call>,
    /// Newest first.
    pub(crate) alerts: Vec<Alert>,
    /// For sale at start, ordered by area code then line.
    pub(crate) available: Vec<AvailableNumber>,
    /// Size of the recipient pool.
    pub(crate) peers: u32,
}

/// How many recipients `messages` messages are spread over (about eight each).
pub(crate) fn peer_count(messages: usize) -> u32 {
    u32::try_from((messages / 8).clamp(20, 50_000)).unwrap_or(50_000)
}

/// Generates every record for `messages` messages from `seed`.
pub(crate) fn generate(seed: u64, messages: usize, window: u32) -> Generated {
    let peers = peer_count(messages);
    let messages = generate_messages(seed, messages, peers, window);
    let calls = generate_calls(seed, (messages.len() / 10).max(40), peers, window);
    let alerts = generate_alerts(seed, &messages, &calls, window);
    let available = generate_available(seed);
    Generated {
        messages,
        calls,
        alerts,
        available,
        peers,
    }
}

fn generate_messages(seed: u64, count: usize, peers: u32, window: u32) -> Vec<Message> {
    let mut r = rng::for_purpose(seed, "twilio.messages");
    // Which of the account's numbers sends outbound traffic, and which receives replies.
    const OUTBOUND_FROM: &[(u8, u32)] = &[(0, 30), (1, 28), (6, 12), (3, 10), (2, 12), (4, 8)];
    const INBOUND_TO: &[(u8, u32)] = &[(0, 35), (3, 25), (2, 15), (6, 10), (4, 10), (1, 5)];
    const DIRECTIONS: &[(Direction, u32)] = &[
        (Direction::OutboundApi, 84),
        (Direction::Inbound, 12),
        (Direction::OutboundReply, 4),
    ];
    let mut out: Vec<Message> = Vec::with_capacity(count);
    for _ in 0..count {
        let age = recent_age(&mut r, window);
        let direction = *rng::weighted(&mut r, DIRECTIONS);
        let peer = r.u32(..peers.max(1));
        let (number, status, error, body) = if direction == Direction::Inbound {
            let n = *rng::weighted(&mut r, INBOUND_TO);
            let body = r.usize(..INBOUND_BODIES.len());
            (n, MessageStatus::Received, 0, body)
        } else {
            let n = *rng::weighted(&mut r, OUTBOUND_FROM);
            let body = r.usize(..OUTBOUND_BODIES.len());
            let (status, error) = outbound_outcome(&mut r, n, age);
            (n, status, error, body)
        };
        out.push(Message {
            age,
            peer,
            number,
            direction,
            status,
            error,
            body: u8::try_from(body).unwrap_or(0),
        });
    }
    out.sort_by_key(|m| m.age);
    out
}

/// Status and error of an outbound message from number `n`, `age` seconds before the anchor.
fn outbound_outcome(r: &mut fastrand::Rng, n: u8, age: u32) -> (MessageStatus, u8) {
    // Per 10,000: the Marketing number (an unregistered 10DLC service) fails far more often.
    let (undelivered, failed) = if n == 6 { (400, 90) } else { (100, 60) };
    let x = r.u32(..10_000);
    if x < undelivered {
        let code = if n == 6 && r.u32(..10) < 7 {
            30034
        } else {
            *rng::weighted(r, UNDELIVERED_CODES)
        };
        (MessageStatus::Undelivered, error_slot(code))
    } else if x < undelivered + failed {
        (
            MessageStatus::Failed,
            error_slot(*rng::weighted(r, FAILED_CODES)),
        )
    } else if age < 5 {
        (MessageStatus::Sending, 0)
    } else if age < 60 || x >= 9_700 {
        // Recent ones await their receipt; some carriers never send one.
        (MessageStatus::Sent, 0)
    } else {
        (MessageStatus::Delivered, 0)
    }
}

fn generate_calls(seed: u64, count: usize, peers: u32, window: u32) -> Vec<Call> {
    let mut r = rng::for_purpose(seed, "twilio.calls");
    const NUMBERS: &[(u8, u32)] = &[(5, 40), (0, 30), (3, 10), (4, 10), (2, 10)];
    const STATUSES: &[(CallStatus, u32)] = &[
        (CallStatus::Completed, 78),
        (CallStatus::NoAnswer, 9),
        (CallStatus::Busy, 6),
        (CallStatus::Failed, 4),
        (CallStatus::Canceled, 3),
    ];
    let mut out: Vec<Call> = Vec::with_capacity(count);
    for _ in 0..count {
        let age = recent_age(&mut r, window);
        let number = *rng::weighted(&mut r, NUMBERS);
        let inbound = r.u32(..100) < 45;
        let mut status = *rng::weighted(&mut r, STATUSES);
        let mut duration = if status == CallStatus::Completed {
            // Mostly short calls, a few long ones.
            let base = r.u16(5..240);
            if r.u32(..10) == 0 {
                base.saturating_mul(6)
            } else {
                base
            }
        } else {
            0
        };
        if status == CallStatus::Completed && u32::from(duration) > age {
            status = CallStatus::InProgress;
            duration = 0;
        }
        out.push(Call {
            age,
            peer: r.u32(..peers.max(1)),
            number,
            inbound,
            status,
            duration,
        });
    }
    out.sort_by_key(|c| c.age);
    out
}

fn generate_available(seed: u64) -> Vec<AvailableNumber> {
    let mut r = rng::for_purpose(seed, "twilio.available_numbers");
    let mut out = Vec::with_capacity(AREA_CODES.len() * AVAILABLE_PER_AREA);
    for area in 0..AREA_CODES.len() {
        // Distinct lines in 0200-0999, sorted, so listings read like Twilio's.
        let mut lines: Vec<u16> = Vec::with_capacity(AVAILABLE_PER_AREA);
        while lines.len() < AVAILABLE_PER_AREA {
            let line = r.u16(200..1000);
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
        lines.sort_unstable();
        for line in lines {
            let voice_only = r.u32(..10) == 0;
            out.push(AvailableNumber {
                area,
                line,
                sms: !voice_only,
                mms: !voice_only && r.u32(..5) != 0,
                voice: true,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_consistent() {
        assert_eq!(NUMBER_SEEDS.len(), 8);
        for n in NUMBER_SEEDS {
            if let Some(s) = n.service {
                assert!(s < SERVICE_SEEDS.len());
            }
        }
        assert_eq!(seed_number(0), "+14155550100");
        assert_eq!(seed_number(5), "+16505550105");
        for code in [30003, 30007, 21610, 21211, 30034, 30032] {
            assert!(error_slot(code) > 0, "{code}");
        }
        assert_eq!(error_slot(99999), 0);
    }

    #[test]
    fn peers_never_collide_with_the_account_or_the_catalog() {
        for p in 0..2_000 {
            let (_, line) = peer_parts(42, p);
            assert!((1000..10_000).contains(&line));
        }
        let g = generate(3, 0, WINDOW_SECS);
        assert!(g.messages.is_empty());
        assert_eq!(g.calls.len(), 40);
        assert_eq!(g.available.len(), AREA_CODES.len() * AVAILABLE_PER_AREA);
        assert!(g.available.iter().all(|a| (200..1000).contains(&a.line)));
    }
}
