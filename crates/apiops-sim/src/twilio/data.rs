//! Twilio's generated data: the fixed tables (area codes, bodies, error codes), the compact
//! records of messages, calls and alerts, and the account's numbers and messaging services with
//! their share of misconfigurations. Everything is derived from the seed and the anchor, so the
//! same pair always yields the same records.
//!
//! Records are small (a few bytes of integers and indices per message); their JSON shape is
//! built per request by `render`, never stored. This file is not the HTTP layer and holds no
//! mutable state.

use crate::rng;

/// How far back generated traffic goes.
/// The default span of generated history (tests use it; the simulator takes `SimConfig::history`).
#[cfg(test)]
pub(crate) const WINDOW_SECS: u32 = 7 * 86_400;

/// Unit of Twilio's SMS price per segment, in 1/100,000 USD (`-0.00790`).
pub(crate) const SMS_PRICE_E5: u32 = 790;

/// A US area code with the facts the AvailablePhoneNumbers resource reports about it.
#[derive(Debug)]
pub(crate) struct AreaCode {
    pub(crate) code: u16,
    pub(crate) locality: &'static str,
    pub(crate) region: &'static str,
    pub(crate) rate_center: &'static str,
    pub(crate) lata: &'static str,
    pub(crate) postal_code: &'static str,
    pub(crate) latitude: f64,
    pub(crate) longitude: f64,
}

/// The area codes with numbers for sale (and where recipients live).
pub(crate) const AREA_CODES: &[AreaCode] = &[
    AreaCode {
        code: 415,
        locality: "San Francisco",
        region: "CA",
        rate_center: "SNFC CNTRL",
        lata: "722",
        postal_code: "94105",
        latitude: 37.7749,
        longitude: -122.4194,
    },
    AreaCode {
        code: 212,
        locality: "New York",
        region: "NY",
        rate_center: "NWYRCYZN01",
        lata: "132",
        postal_code: "10001",
        latitude: 40.7506,
        longitude: -73.9972,
    },
    AreaCode {
        code: 650,
        locality: "San Mateo",
        region: "CA",
        rate_center: "SNMATEO",
        lata: "722",
        postal_code: "94401",
        latitude: 37.563,
        longitude: -122.3255,
    },
    AreaCode {
        code: 510,
        locality: "Oakland",
        region: "CA",
        rate_center: "OKLD",
        lata: "722",
        postal_code: "94612",
        latitude: 37.8044,
        longitude: -122.2712,
    },
    AreaCode {
        code: 312,
        locality: "Chicago",
        region: "IL",
        rate_center: "CHCG",
        lata: "358",
        postal_code: "60601",
        latitude: 41.8857,
        longitude: -87.6229,
    },
    AreaCode {
        code: 646,
        locality: "New York",
        region: "NY",
        rate_center: "NWYRCYZN03",
        lata: "132",
        postal_code: "10011",
        latitude: 40.7411,
        longitude: -73.9897,
    },
    AreaCode {
        code: 213,
        locality: "Los Angeles",
        region: "CA",
        rate_center: "LSAN DA 01",
        lata: "730",
        postal_code: "90012",
        latitude: 34.0522,
        longitude: -118.2437,
    },
    AreaCode {
        code: 206,
        locality: "Seattle",
        region: "WA",
        rate_center: "SEATTLE",
        lata: "674",
        postal_code: "98101",
        latitude: 47.6062,
        longitude: -122.3321,
    },
    AreaCode {
        code: 305,
        locality: "Miami",
        region: "FL",
        rate_center: "MIAMI",
        lata: "460",
        postal_code: "33131",
        latitude: 25.7617,
        longitude: -80.1918,
    },
    AreaCode {
        code: 512,
        locality: "Austin",
        region: "TX",
        rate_center: "AUSTIN",
        lata: "558",
        postal_code: "78701",
        latitude: 30.2672,
        longitude: -97.7431,
    },
    AreaCode {
        code: 617,
        locality: "Boston",
        region: "MA",
        rate_center: "BOSTON",
        lata: "128",
        postal_code: "02108",
        latitude: 42.3601,
        longitude: -71.0589,
    },
    AreaCode {
        code: 720,
        locality: "Denver",
        region: "CO",
        rate_center: "DENVER",
        lata: "656",
        postal_code: "80202",
        latitude: 39.7392,
        longitude: -104.9903,
    },
];

/// How many numbers each area code has for sale at start.
pub(crate) const AVAILABLE_PER_AREA: usize = 20;

/// An error a message can end with: its code and the text Twilio reports with it.
#[derive(Debug)]
pub(crate) struct MessageError {
    pub(crate) code: u32,
    pub(crate) message: &'static str,
}

/// The message error codes, index + 1 is what [`Message::error`] stores (0 = none).
pub(crate) const MESSAGE_ERRORS: &[MessageError] = &[
    MessageError {
        code: 30003,
        message: "Unreachable destination handset",
    },
    MessageError {
        code: 30005,
        message: "Unknown destination handset",
    },
    MessageError {
        code: 30006,
        message: "Landline or unreachable carrier",
    },
    MessageError {
        code: 30007,
        message: "Message filtered",
    },
    MessageError {
        code: 30008,
        message: "Unknown error",
    },
    MessageError {
        code: 30034,
        message: "US A2P 10DLC - Message from an Unregistered Number",
    },
    MessageError {
        code: 30032,
        message: "Toll-Free Number Has Not Been Verified",
    },
    MessageError {
        code: 30004,
        message: "Message blocked",
    },
    MessageError {
        code: 21610,
        message: "Attempt to send to unsubscribed recipient",
    },
    MessageError {
        code: 21211,
        message: "Invalid 'To' Phone Number",
    },
    MessageError {
        code: 21614,
        message: "'To' number is not a valid mobile number",
    },
    MessageError {
        code: 30001,
        message: "Queue overflow",
    },
    MessageError {
        code: 21408,
        message: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number",
    },
];

/// The entry of `code` in [`MESSAGE_ERRORS`], as stored (index + 1).
pub(crate) fn error_slot(code: u32) -> u8 {
    MESSAGE_ERRORS
        .iter()
        .position(|e| e.code == code)
        .and_then(|i| u8::try_from(i + 1).ok())
        .unwrap_or(0)
}

/// Weights of the codes of undelivered messages (carrier-side outcomes), as seen in real
/// traffic: unreachable handsets and spam filtering lead.
const UNDELIVERED_CODES: &[(u32, u32)] = &[
    (30003, 24),
    (30007, 20),
    (30006, 14),
    (30005, 12),
    (30008, 10),
    (30034, 10),
    (30004, 6),
    (30032, 4),
];

/// Weights of the codes of failed messages (refused before reaching a carrier).
const FAILED_CODES: &[(u32, u32)] = &[
    (21610, 40),
    (21211, 20),
    (30008, 10),
    (21614, 10),
    (30034, 10),
    (30001, 5),
    (21408, 5),
];

/// Outbound bodies; `{n}` placeholders are filled per message from its index.
pub(crate) const OUTBOUND_BODIES: &[&str] = &[
    "Your verification code is {6}. It expires in 10 minutes.",
    "Your order #{5} has shipped! Track it at https://example.com/t/{5}",
    "Reminder: your appointment is tomorrow at {1}:30 PM. Reply C to confirm or R to reschedule.",
    "Acme: 20% off everything this weekend only! Shop now at https://example.com/sale Reply STOP to opt out.",
    "Your table is ready. Please come to the host stand.",
    "Your payment of ${3}.{2} was received. Thank you!",
    "Thanks for contacting support. Your ticket #{5} has been created and an agent will reply within 24 hours. Reply HELP for help or STOP to unsubscribe. Msg&data rates may apply.",
    "Your code is {6}",
];

/// Inbound bodies (replies from recipients).
pub(crate) const INBOUND_BODIES: &[&str] = &[
    "Yes",
    "C",
    "STOP",
    "Thanks!",
    "What time do you open tomorrow?",
    "HELP",
    "R",
    "Is my order #{5} on its way?",
];

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

/// The account's numbers as first configured: the audit's test bed. Each is a
/// `+1{area}5550{1xx}` sample-style number.
#[derive(Debug)]
pub(crate) struct NumberSeed {
    pub(crate) area: u16,
    pub(crate) friendly_name: &'static str,
    pub(crate) sms_url: &'static str,
    pub(crate) sms_fallback_url: &'static str,
    pub(crate) voice_url: &'static str,
    pub(crate) voice_fallback_url: &'static str,
    pub(crate) status_callback: &'static str,
    /// Index into [`SERVICE_SEEDS`] of the messaging service it belongs to.
    pub(crate) service: Option<usize>,
    /// Days before the anchor it was bought.
    pub(crate) bought_days_ago: i64,
}

/// The phone number of seed `i`: `+1{area}55501{i:02}`.
pub(crate) fn seed_number(i: usize) -> String {
    let area = NUMBER_SEEDS.get(i).map_or(415, |n| n.area);
    format!("+1{area}55501{:02}", i % 100)
}

/// The account's numbers. The misconfigurations are deliberate, one or two per kind: an
/// `http://` SMS URL, a missing status callback, private-address URLs, a voice URL without
/// fallback, and one number attached to nothing.
pub(crate) const NUMBER_SEEDS: &[NumberSeed] = &[
    NumberSeed {
        area: 415,
        friendly_name: "Main line",
        sms_url: "https://hooks.example.com/twilio/sms",
        sms_fallback_url: "https://backup.example.com/twilio/sms",
        voice_url: "https://hooks.example.com/twilio/voice",
        voice_fallback_url: "https://backup.example.com/twilio/voice",
        status_callback: "https://hooks.example.com/twilio/status",
        service: Some(0),
        bought_days_ago: 812,
    },
    NumberSeed {
        area: 415,
        friendly_name: "Notifications",
        sms_url: "https://hooks.example.com/twilio/sms",
        sms_fallback_url: "https://backup.example.com/twilio/sms",
        voice_url: "",
        voice_fallback_url: "",
        status_callback: "https://hooks.example.com/twilio/status",
        service: Some(0),
        bought_days_ago: 640,
    },
    NumberSeed {
        area: 415,
        friendly_name: "Legacy SMS",
        sms_url: "http://legacy.example.com/sms",
        sms_fallback_url: "",
        voice_url: "",
        voice_fallback_url: "",
        status_callback: "",
        service: None,
        bought_days_ago: 1490,
    },
    NumberSeed {
        area: 415,
        friendly_name: "Support line",
        sms_url: "http://10.0.0.5/sms",
        sms_fallback_url: "",
        voice_url: "https://hooks.example.com/twilio/voice",
        voice_fallback_url: "https://backup.example.com/twilio/voice",
        status_callback: "https://hooks.example.com/twilio/status",
        service: Some(2),
        bought_days_ago: 377,
    },
    NumberSeed {
        area: 415,
        friendly_name: "Dev hook",
        sms_url: "http://localhost/hook",
        sms_fallback_url: "",
        voice_url: "https://dev.example.com/voice",
        voice_fallback_url: "",
        status_callback: "",
        service: None,
        bought_days_ago: 95,
    },
    NumberSeed {
        area: 650,
        friendly_name: "IVR",
        sms_url: "",
        sms_fallback_url: "",
        voice_url: "https://ivr.example.com/voice",
        voice_fallback_url: "",
        status_callback: "https://ivr.example.com/status",
        service: None,
        bought_days_ago: 523,
    },
    NumberSeed {
        area: 212,
        friendly_name: "Marketing",
        sms_url: "https://hooks.example.com/twilio/sms",
        sms_fallback_url: "",
        voice_url: "",
        voice_fallback_url: "",
        status_callback: "",
        service: Some(1),
        bought_days_ago: 211,
    },
    NumberSeed {
        area: 510,
        friendly_name: "Unused",
        sms_url: "",
        sms_fallback_url: "",
        voice_url: "",
        voice_fallback_url: "",
        status_callback: "",
        service: None,
        bought_days_ago: 1022,
    },
];

/// A messaging service as first configured.
#[derive(Debug)]
pub(crate) struct ServiceSeed {
    pub(crate) friendly_name: &'static str,
    pub(crate) inbound_request_url: Option<&'static str>,
    pub(crate) fallback_url: Option<&'static str>,
    pub(crate) status_callback: Option<&'static str>,
    pub(crate) use_inbound_webhook_on_number: bool,
    pub(crate) us_app_to_person_registered: bool,
    pub(crate) usecase: &'static str,
    pub(crate) created_days_ago: i64,
}

/// The messaging services: one healthy, one unregistered for A2P 10DLC with an `http://`
/// inbound URL and no status callback, one whose inbound URL is a private address.
pub(crate) const SERVICE_SEEDS: &[ServiceSeed] = &[
    ServiceSeed {
        friendly_name: "Transactional notifications",
        inbound_request_url: Some("https://hooks.example.com/twilio/inbound"),
        fallback_url: Some("https://backup.example.com/twilio/inbound"),
        status_callback: Some("https://hooks.example.com/twilio/status"),
        use_inbound_webhook_on_number: false,
        us_app_to_person_registered: true,
        usecase: "account_notification",
        created_days_ago: 700,
    },
    ServiceSeed {
        friendly_name: "Marketing campaigns",
        inbound_request_url: Some("http://marketing.example.com/inbound"),
        fallback_url: None,
        status_callback: None,
        use_inbound_webhook_on_number: false,
        us_app_to_person_registered: false,
        usecase: "marketing",
        created_days_ago: 230,
    },
    ServiceSeed {
        friendly_name: "Customer support",
        inbound_request_url: Some("http://10.0.0.5/inbound"),
        fallback_url: None,
        status_callback: Some("https://hooks.example.com/twilio/status"),
        use_inbound_webhook_on_number: true,
        us_app_to_person_registered: true,
        usecase: "customer_care",
        created_days_ago: 400,
    },
];

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
fn recent_age(r: &mut fastrand::Rng, window: u32) -> u32 {
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

fn generate_alerts(seed: u64, messages: &[Message], calls: &[Call], window: u32) -> Vec<Alert> {
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
