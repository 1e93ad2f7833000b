//! Twilio's error codes, classified: category, severity, whether a retry may succeed, and one
//! line telling a person what to do. Pure: no I/O, nothing but lookups.
//!
//! Three layers, first match wins:
//! 1. `TABLE`: our own verdict on every code in `reference/providers.md` and a few more that
//!    apiops meets often, plus the synthetic [`CALL_FAILED`] (a failed call carries no code).
//! 2. Twilio's whole error dictionary (1,953 codes), embedded from
//!    `data/twilio_errors.tsv` and parsed once on first use. A code found only there takes its
//!    remediation from the dictionary's first suggested solution and its category from these
//!    rules, in order:
//!    - keywords in the dictionary's message: authentication or an inactive account -> `auth`;
//!      "rate limit", "too many", "limit exceeded/reached", "queue overflow", "throughput",
//!      "per second", "quota exceeded" -> `rate_limit`; "spam", "filtered", "unsubscribed",
//!      "opted out", "blacklist", "blocked" -> `spam_blocked`; internal errors, "unavailable",
//!      "timeout", "try again", "unknown error" -> `transient`; geographic permissions -> `config`;
//!    - the dictionary's log type `CARRIER` -> `carrier`;
//!    - the code's range: 10xxx account and 11xxx–16xxx webhooks and TwiML -> `config`;
//!      20xxx–22xxx REST request validation -> `bad_params`; 300xx message delivery ->
//!      `carrier`; 301xx–309xx link shortening, toll-free and 10DLC registration -> `config`;
//!      31xxx voice SDK connections -> `transient`; 32xxx SIP -> `config`;
//!    - otherwise a dictionary `WARNING` -> `config`, an `ERROR` -> `bad_params` (most product
//!      API errors are "invalid X").
//!
//!    Severity is the category's default, capped at `warning` when the dictionary logs the code
//!    as a warning; only `rate_limit` and `transient` codes are retryable.
//! 3. Anything else (unknown numbers, non-numeric text) falls back by HTTP status with
//!    [`Classification::fallback`] and `known: false`.

use std::collections::HashMap;
use std::sync::LazyLock;

use apiops_core::{Category, Classification, Service, Severity};

/// The code apiops gives a failed call: Twilio's Call resource carries a status, not a code.
pub const CALL_FAILED: &str = "call_failed";

/// Twilio's documentation page for an error code.
pub fn docs_url(code: &str) -> String {
    format!("https://www.twilio.com/docs/api/errors/{code}")
}

/// Classifies a Twilio error code (`"30007"`), with the HTTP status of the answer that carried
/// it when there was one. Never fails: unknown codes fall back by status (see the module docs).
pub fn classify(code: &str, http_status: Option<u16>) -> Classification {
    let code = code.trim();
    if let Some(entry) = TABLE.iter().find(|e| e.code == code) {
        return entry.classification();
    }
    match code.parse::<u32>().ok().and_then(dictionary_entry) {
        Some(entry) => by_rule(entry),
        None => Classification::fallback(http_status),
    }
}

/// One entry of our own table.
#[derive(Debug)]
struct TableEntry {
    code: &'static str,
    category: Category,
    severity: Severity,
    retryable: bool,
    remediation: &'static str,
    /// Append the console-only sentence of DESIGN.md §4 (the fix is a Console-only setting).
    console_only: bool,
}

impl TableEntry {
    fn classification(&self) -> Classification {
        let remediation = if self.console_only {
            format!(
                "{} {}",
                self.remediation,
                Service::Twilio.console_only_notice()
            )
        } else {
            self.remediation.to_owned()
        };
        Classification {
            category: self.category,
            severity: self.severity,
            retryable: self.retryable,
            remediation,
            known: true,
        }
    }
}

const fn entry(
    code: &'static str,
    category: Category,
    severity: Severity,
    retryable: bool,
    remediation: &'static str,
) -> TableEntry {
    TableEntry {
        code,
        category,
        severity,
        retryable,
        remediation,
        console_only: false,
    }
}

const fn console_only(
    code: &'static str,
    category: Category,
    severity: Severity,
    remediation: &'static str,
) -> TableEntry {
    TableEntry {
        code,
        category,
        severity,
        retryable: false,
        remediation,
        console_only: true,
    }
}

use Category::{Auth, BadParams, Carrier, Config, RateLimit, SpamBlocked, Transient};
use Severity::{Critical, Info, Warning};

/// Our verdicts, which win over the dictionary rules.
const TABLE: &[TableEntry] = &[
    // Credentials and account state.
    entry(
        "20003",
        Auth,
        Critical,
        false,
        "Check TWILIO_ACCOUNT_SID with TWILIO_AUTH_TOKEN (or the API key and secret): the pair was rejected; a rotated token or test credentials on live resources cause this.",
    ),
    entry(
        "20005",
        Auth,
        Critical,
        false,
        "The account is not active: check its status and balance in the Console.",
    ),
    entry(
        "20008",
        Auth,
        Critical,
        false,
        "Test credentials cannot reach this resource: use the live Account SID and Auth Token.",
    ),
    entry(
        "10001",
        Auth,
        Critical,
        false,
        "The account is not active (suspended or out of funds): add funds or contact Twilio support.",
    ),
    entry(
        "30002",
        Auth,
        Critical,
        false,
        "The account is suspended: contact Twilio support; nothing sends until it is reinstated.",
    ),
    // Throttling and queues.
    entry(
        "20429",
        RateLimit,
        Warning,
        true,
        "Too many concurrent requests: lower twilio.max_concurrency or spread the load; the request was never processed and is safe to retry.",
    ),
    entry(
        "30001",
        RateLimit,
        Warning,
        true,
        "The sender's queue overflowed (queued messages expire after 4 hours): slow the send rate or add senders through a Messaging Service.",
    ),
    entry(
        "21611",
        RateLimit,
        Warning,
        true,
        "The From number has too many queued messages: slow down or spread traffic over more senders with a Messaging Service.",
    ),
    entry(
        "30022",
        RateLimit,
        Warning,
        true,
        "US A2P 10DLC throughput exceeded: send no faster than the campaign's limit, or raise it through brand vetting.",
    ),
    entry(
        "30023",
        RateLimit,
        Warning,
        true,
        "US A2P 10DLC daily cap reached: wait for the reset at 00:00 Pacific, or raise the cap through brand vetting.",
    ),
    entry(
        "30027",
        RateLimit,
        Warning,
        true,
        "T-Mobile's daily limit for the brand is reached: wait for the daily reset and send critical messages first.",
    ),
    // The request itself.
    entry(
        "21211",
        BadParams,
        Info,
        false,
        "Invalid 'To' number: validate numbers as E.164 (+, country code, number) before sending.",
    ),
    entry(
        "21614",
        BadParams,
        Info,
        false,
        "'To' is not a mobile number: check it with the Lookup API and drop landlines from SMS lists.",
    ),
    entry(
        "21602",
        BadParams,
        Info,
        false,
        "The message has no body: send a Body or a MediaUrl.",
    ),
    entry(
        "21617",
        BadParams,
        Info,
        false,
        "The body exceeds 1,600 characters: shorten it or split it into several messages.",
    ),
    // Configuration: permissions, registrations, webhooks.
    console_only(
        "21408",
        Config,
        Critical,
        "Enable SMS to the recipient's region in Messaging Geographic Permissions.",
    ),
    entry(
        "21606",
        Config,
        Critical,
        false,
        "The From number cannot message this destination: send from an SMS-capable Twilio number or a Messaging Service.",
    ),
    entry(
        "21608",
        Config,
        Critical,
        false,
        "Trial account: verify the recipient's number in the Console, or upgrade the account.",
    ),
    entry(
        "30032",
        Config,
        Critical,
        false,
        "The toll-free number is not verified: complete toll-free verification before messaging the US and Canada.",
    ),
    entry(
        "30034",
        Config,
        Critical,
        false,
        "The sender is not registered for US A2P 10DLC: register the brand and campaign, and add the number to the campaign's Messaging Service.",
    ),
    entry(
        "30033",
        Config,
        Critical,
        false,
        "The A2P 10DLC campaign is suspended: ask Twilio support why and fix it before sending again.",
    ),
    entry(
        "30035",
        Config,
        Warning,
        true,
        "The number is still being registered for A2P 10DLC: resend once its registration completes.",
    ),
    entry(
        "30024",
        Config,
        Critical,
        false,
        "The numeric sender ID is not provisioned with the carrier: register it for this destination or send from another sender.",
    ),
    entry(
        "11200",
        Config,
        Critical,
        false,
        "Twilio could not fetch your webhook (an error status, or no answer within 15 s): fix the handler so it answers 2xx quickly, and set a fallback URL.",
    ),
    entry(
        "11205",
        Config,
        Warning,
        true,
        "Twilio could not connect to your webhook: make the host public and reachable over HTTPS (never a private or localhost address); a one-off blip may pass on retry.",
    ),
    entry(
        "12300",
        Config,
        Critical,
        false,
        "Your webhook answered with an unexpected Content-Type: return TwiML as text/xml or application/xml.",
    ),
    entry(
        "12200",
        Config,
        Warning,
        false,
        "Your TwiML failed schema validation: fix the element the alert names.",
    ),
    console_only(
        "13227",
        Config,
        Critical,
        "Enable the destination country in Voice Dialing Geographic Permissions.",
    ),
    console_only(
        "21215",
        Config,
        Critical,
        "Enable the destination country in Voice Dialing Geographic Permissions.",
    ),
    entry(
        "30010",
        Config,
        Warning,
        false,
        "The message cost more than its MaxPrice: raise or remove MaxPrice.",
    ),
    entry(
        "20404",
        Config,
        Warning,
        false,
        "The resource was not found: check the SID and the configured Twilio base URLs.",
    ),
    // Carriers and handsets.
    entry(
        "30003",
        Carrier,
        Warning,
        true,
        "The handset was unreachable (off or out of coverage): retry later; repeated failures mean a dead number.",
    ),
    entry(
        "30005",
        Carrier,
        Warning,
        false,
        "The carrier does not know the number (likely disconnected): remove it from your list.",
    ),
    entry(
        "30006",
        Carrier,
        Warning,
        false,
        "A landline or an unreachable carrier: check the number with the Lookup API and stop texting it.",
    ),
    entry(
        "30004",
        Carrier,
        Warning,
        false,
        "The message was blocked (by the recipient, the carrier or a block list): do not retry; confirm the recipient wants your messages.",
    ),
    entry(
        "30017",
        Carrier,
        Warning,
        true,
        "Carrier network congestion: retry later and spread sends over time instead of bursts.",
    ),
    entry(
        CALL_FAILED,
        Carrier,
        Warning,
        false,
        "Twilio could not complete the call (often a non-existent or unreachable number): check the number, and the call's Monitor alerts for the exact code.",
    ),
    // Spam filters and opt-outs.
    entry(
        "30007",
        SpamBlocked,
        Warning,
        false,
        "Filtered as spam: review the content (links, URL shorteners, wording) against Twilio's messaging policy and register the sender (A2P 10DLC or toll-free verification).",
    ),
    entry(
        "21610",
        SpamBlocked,
        Warning,
        false,
        "The recipient replied STOP: never retry; stop messaging them until they text START.",
    ),
    // Transient.
    entry(
        "30008",
        Transient,
        Info,
        true,
        "Unknown delivery error: retry once; if it persists for a destination, send Twilio support the Message SID.",
    ),
    entry(
        "20500",
        Transient,
        Info,
        true,
        "Twilio had an internal error: retry with backoff.",
    ),
    entry(
        "20503",
        Transient,
        Info,
        true,
        "Twilio is temporarily unavailable: retry with backoff and check status.twilio.com.",
    ),
];

/// Who logs a code, per Twilio's dictionary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogType {
    /// The customer's application or request.
    Application,
    /// Twilio's own platform.
    Twilio,
    /// A carrier downstream.
    Carrier,
}

/// One code of Twilio's error dictionary, as embedded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DictionaryEntry {
    /// The numeric code.
    pub code: u32,
    /// Who logs it, when the dictionary says.
    pub log_type: Option<LogType>,
    /// True when Twilio logs it as a warning rather than an error.
    pub warning: bool,
    /// Twilio's one-line message ("Message filtered").
    pub message: &'static str,
    /// The first sentence of Twilio's suggested solutions; empty when it has none.
    pub solution: &'static str,
}

/// The embedded dictionary: code, log type, log level, message, first solution sentence.
const DICTIONARY_TSV: &str = include_str!("../../data/twilio_errors.tsv");

static DICTIONARY: LazyLock<HashMap<u32, DictionaryEntry>> =
    LazyLock::new(|| parse_dictionary(DICTIONARY_TSV));

/// Parses the embedded TSV; lines that do not fit are skipped (a test pins the count).
fn parse_dictionary(text: &'static str) -> HashMap<u32, DictionaryEntry> {
    let mut out = HashMap::with_capacity(2048);
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut cols = line.splitn(5, '\t');
        let (Some(code), Some(log_type), Some(level), Some(message)) =
            (cols.next(), cols.next(), cols.next(), cols.next())
        else {
            continue;
        };
        let Ok(code) = code.parse::<u32>() else {
            continue;
        };
        let log_type = match log_type {
            "A" => Some(LogType::Application),
            "T" => Some(LogType::Twilio),
            "C" => Some(LogType::Carrier),
            _ => None,
        };
        out.insert(
            code,
            DictionaryEntry {
                code,
                log_type,
                warning: level == "W",
                message,
                solution: cols.next().unwrap_or(""),
            },
        );
    }
    out
}

/// Twilio's dictionary entry for `code`, if the code exists.
pub fn dictionary_entry(code: u32) -> Option<&'static DictionaryEntry> {
    DICTIONARY.get(&code)
}

/// How many codes the embedded dictionary holds.
pub fn dictionary_len() -> usize {
    DICTIONARY.len()
}

/// Twilio's message for a code ("Message filtered"), when the dictionary has it.
pub fn message_for(code: &str) -> Option<&'static str> {
    code.trim()
        .parse::<u32>()
        .ok()
        .and_then(dictionary_entry)
        .map(|e| e.message)
        .filter(|m| !m.is_empty())
}

const AUTH_WORDS: &[&str] = &[
    "authenticat",
    "credential",
    "permission denied",
    "access token",
    "account not active",
    "account is not active",
    "inactive account",
    "account suspended",
    "unauthorized",
    "authorization failed",
    "forbidden",
    "api key",
];
const RATE_WORDS: &[&str] = &[
    "rate limit",
    "too many",
    "limit exceeded",
    "limit reached",
    "queue overflow",
    "throughput",
    "per second",
    "quota exceeded",
];
const SPAM_WORDS: &[&str] = &[
    "spam",
    "filtered",
    "unsubscribed",
    "opted out",
    "blacklist",
    "blocked",
];
const TRANSIENT_WORDS: &[&str] = &[
    "internal server error",
    "internal error",
    "internal failure",
    "unavailable",
    "timed out",
    "timeout",
    "try again",
    "unknown error",
];
const GEO_WORDS: &[&str] = &["geo permission", "geographic permission"];

/// The category a dictionary-only code gets (the rules of the module docs).
fn rule_category(e: &DictionaryEntry) -> Category {
    let message = e.message.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| message.contains(w));
    if has(AUTH_WORDS) {
        return Auth;
    }
    if has(RATE_WORDS) {
        return RateLimit;
    }
    if has(SPAM_WORDS) {
        return SpamBlocked;
    }
    if has(TRANSIENT_WORDS) {
        return Transient;
    }
    if has(GEO_WORDS) {
        return Config;
    }
    if e.log_type == Some(LogType::Carrier) {
        return Carrier;
    }
    match e.code {
        10_000..=16_999 => Config,
        20_000..=22_999 => BadParams,
        30_000..=30_099 => Carrier,
        30_100..=30_999 => Config,
        31_000..=31_999 => Transient,
        32_000..=32_999 => Config,
        _ if e.warning => Config,
        _ => BadParams,
    }
}

/// Classifies a code found only in the dictionary.
fn by_rule(e: &DictionaryEntry) -> Classification {
    let category = rule_category(e);
    let mut severity = category.default_severity();
    if e.warning {
        severity = severity.min(Warning);
    }
    let code = e.code.to_string();
    let remediation = if e.solution.is_empty() {
        format!("{}: see {}", e.message, docs_url(&code))
    } else {
        e.solution.to_owned()
    };
    Classification {
        category,
        severity,
        retryable: matches!(category, RateLimit | Transient),
        remediation,
        known: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every code of `reference/providers.md` with the category the reference suggests.
    const REFERENCE: &[(&str, Category)] = &[
        ("20003", Auth),
        ("10001", Auth),
        ("30002", Auth),
        ("20429", RateLimit),
        ("30001", RateLimit),
        ("21611", RateLimit),
        ("30022", RateLimit),
        ("30023", RateLimit),
        ("30027", RateLimit),
        ("21211", BadParams),
        ("21614", BadParams),
        ("21602", BadParams),
        ("21617", BadParams),
        ("21408", Config),
        ("21606", Config),
        ("21608", Config),
        ("30032", Config),
        ("30034", Config),
        ("30033", Config),
        ("30035", Config),
        ("30024", Config),
        ("11200", Config),
        ("11205", Config),
        ("13227", Config),
        ("21215", Config),
        ("30003", Carrier),
        ("30005", Carrier),
        ("30006", Carrier),
        ("30004", Carrier),
        ("30007", SpamBlocked),
        ("21610", SpamBlocked),
        ("30008", Transient),
    ];

    #[test]
    fn every_reference_code_has_its_category_and_a_remediation() {
        for (code, category) in REFERENCE {
            let c = classify(code, None);
            assert_eq!(c.category, *category, "{code}");
            assert!(c.known, "{code}");
            assert!(!c.remediation.trim().is_empty(), "{code}");
            assert!(
                TABLE.iter().any(|e| e.code == *code),
                "{code} must be in our own table"
            );
        }
    }

    #[test]
    fn the_facts_the_brief_pins() {
        let c = classify("20003", Some(401));
        assert_eq!(
            (c.category, c.severity, c.retryable),
            (Auth, Critical, false)
        );
        let c = classify("30007", None);
        assert_eq!(c.category, SpamBlocked);
        let c = classify("21610", None);
        assert_eq!((c.category, c.retryable), (SpamBlocked, false));
        let c = classify("20429", Some(429));
        assert_eq!((c.category, c.retryable), (RateLimit, true));
        for code in ["10001", "30002"] {
            assert_eq!(classify(code, None).severity, Critical, "{code}");
        }
        let c = classify("30003", None);
        assert!(c.retryable, "an unreachable handset may come back");
        assert!(!classify("30005", None).retryable);
        assert!(classify("11205", None).retryable);
        // Only rate limits, transients and "wait and resend" codes are retryable.
        for e in TABLE {
            if matches!(e.category, RateLimit | Transient) {
                assert!(e.retryable, "{}", e.code);
            }
        }
    }

    #[test]
    fn geo_permission_fixes_carry_the_console_only_sentence() {
        let notice = Service::Twilio.console_only_notice();
        for code in ["21408", "13227", "21215"] {
            assert!(
                classify(code, None).remediation.ends_with(&notice),
                "{code}"
            );
        }
        assert!(!classify("30007", None).remediation.contains(&notice));
    }

    #[test]
    fn the_table_has_no_duplicates_and_its_numeric_codes_exist_in_the_dictionary() {
        let mut seen = std::collections::HashSet::new();
        for e in TABLE {
            assert!(seen.insert(e.code), "duplicate {}", e.code);
            assert!(!e.remediation.trim().is_empty(), "{}", e.code);
            if let Ok(n) = e.code.parse::<u32>() {
                assert!(
                    dictionary_entry(n).is_some(),
                    "{} not in the dictionary",
                    e.code
                );
            }
        }
    }

    #[test]
    fn the_whole_dictionary_is_embedded_and_every_code_classifies() {
        assert_eq!(dictionary_len(), 1953);
        let e = dictionary_entry(30007).expect("30007");
        assert_eq!(e.message, "Message filtered");
        assert_eq!(e.log_type, Some(LogType::Carrier));
        assert!(!e.warning);
        assert_eq!(message_for(" 30007 "), Some("Message filtered"));
        assert_eq!(message_for("nope"), None);
        for code in DICTIONARY.keys() {
            let c = classify(&code.to_string(), None);
            assert!(c.known, "{code}");
            assert!(!c.remediation.is_empty(), "{code}");
            assert!(!c.remediation.contains('\t') && !c.remediation.contains('\n'));
        }
    }

    #[test]
    fn dictionary_only_codes_follow_the_rules() {
        let cases: &[(&str, Category, Severity, bool)] = &[
            // log type CARRIER, logged as a warning: capped at warning.
            ("30025", Carrier, Warning, false),
            // "per second limit exceeded".
            ("50063", RateLimit, Warning, true),
            // "TCP connection timed out".
            ("11201", Transient, Info, true),
            // 11xxx webhooks and TwiML.
            ("11750", Config, Critical, false),
            // 21xxx request validation.
            ("21212", BadParams, Info, false),
            // 301xx-309xx registrations.
            ("30885", Config, Critical, false),
            // "Failed to authenticate with APNs".
            ("52145", Auth, Critical, false),
            // A product API error with no other hint.
            ("54507", BadParams, Info, false),
            // A warning with no other hint: config, capped at warning.
            ("52305", Config, Warning, false),
            // "Url is blacklisted".
            ("30111", SpamBlocked, Warning, false),
            // 31xxx voice SDK.
            ("31009", Transient, Info, true),
        ];
        for (code, category, severity, retryable) in cases {
            let c = classify(code, Some(400));
            assert!(
                TABLE.iter().all(|e| e.code != *code),
                "{code} must come from the rules"
            );
            assert_eq!(
                (c.category, c.severity, c.retryable),
                (*category, *severity, *retryable),
                "{code}"
            );
            assert!(c.known);
        }
        // The dictionary's solution becomes the remediation, or a pointer to the docs.
        assert_eq!(
            classify("21212", None).remediation,
            "Ensure your number is formatted in E.164 format"
        );
        let bare = classify("54507", None).remediation;
        assert!(
            bare.contains("https://www.twilio.com/docs/api/errors/54507"),
            "{bare}"
        );
    }

    #[test]
    fn unknown_codes_fall_back_by_status_and_are_marked_unknown() {
        let c = classify("99999", Some(429));
        assert_eq!((c.category, c.known), (RateLimit, false));
        let c = classify("not-a-code", Some(401));
        assert_eq!((c.category, c.known), (Auth, false));
        let c = classify("", None);
        assert_eq!((c.category, c.known), (Transient, false));
        let c = classify(CALL_FAILED, None);
        assert_eq!((c.category, c.known), (Carrier, true));
    }

    #[test]
    fn parse_skips_lines_that_do_not_fit() {
        let parsed = parse_dictionary(
            "# header\n\n1\tA\tE\tone\tfix\nx\tA\tE\tbad\t\n2\tC\n3\t-\tW\tthree\n",
        );
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[&1].solution, "fix");
        assert_eq!(parsed[&3].solution, "");
        assert!(parsed[&3].warning);
        assert_eq!(parsed[&3].log_type, None);
    }

    proptest! {
        #[test]
        fn any_string_classifies_without_panic(code in ".{0,24}", status in proptest::option::of(100u16..600)) {
            let c = classify(&code, status);
            let trimmed = code.trim();
            match (
                TABLE.iter().find(|e| e.code == trimmed),
                trimmed.parse::<u32>().ok().and_then(dictionary_entry),
            ) {
                (Some(row), _) => prop_assert_eq!(c, row.classification()),
                (None, Some(entry)) => prop_assert_eq!(c, by_rule(entry)),
                (None, None) => prop_assert_eq!(c, Classification::fallback(status)),
            }
        }

        #[test]
        fn any_number_classifies_and_known_means_listed(n in 0u32..1_000_000) {
            let code = n.to_string();
            let c = classify(&code, None);
            let row = TABLE.iter().find(|e| e.code == code);
            let listed = dictionary_entry(n).is_some() || row.is_some();
            prop_assert_eq!(c.known, listed);
            match (row, dictionary_entry(n)) {
                (Some(row), _) => prop_assert!(c.remediation.starts_with(row.remediation)),
                // Twilio's own advice, or a pointer to Twilio's page for the code.
                (None, Some(e)) if !e.solution.is_empty() => prop_assert_eq!(c.remediation.as_str(), e.solution),
                (None, Some(e)) => prop_assert_eq!(c.remediation, format!("{}: see {}", e.message, docs_url(&code))),
                (None, None) => prop_assert_eq!(c, Classification::fallback(None)),
            }
        }

        #[test]
        fn dictionary_codes_classify_by_their_entry(index in 0usize..1953) {
            let mut codes: Vec<u32> = DICTIONARY.keys().copied().collect();
            codes.sort_unstable();
            let code = codes[index % codes.len()];
            let entry = dictionary_entry(code).expect("listed");
            let c = classify(&code.to_string(), Some(500));
            prop_assert!(c.known);
            if !TABLE.iter().any(|e| e.code == code.to_string()) {
                prop_assert_eq!(c.category, rule_category(entry));
                prop_assert!(c.remediation == entry.solution || c.remediation.starts_with(entry.message));
                if entry.warning {
                    prop_assert!(c.severity <= Warning);
                }
            }
        }
    }
}
