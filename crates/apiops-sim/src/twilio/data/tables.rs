//! Twilio's fixed tables: US area codes, the error codes of failed and undelivered messages
//! with their weights, message bodies, and the seeds of the account's numbers and messaging
//! services (with the misconfigurations the audit must find). Data only.
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
pub(super) const UNDELIVERED_CODES: &[(u32, u32)] = &[
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
pub(super) const FAILED_CODES: &[(u32, u32)] = &[
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
