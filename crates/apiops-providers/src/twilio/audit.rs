//! Twilio's configuration audit: every messaging service (and which numbers it holds), then
//! every incoming phone number, judged by pure rules ([`audit_number`], [`audit_service`]):
//!
//! - webhook URLs checked statically with [`webhook_url::check`]: not HTTPS, credentials in the
//!   URL, private, loopback, link-local or `localhost` addresses Twilio can never reach. No
//!   audited URL is ever resolved or requested (no SSRF, no side effects on the customer's
//!   servers);
//! - numbers: SMS or calls that nothing handles (no URL, TwiML application, trunk or messaging
//!   service), missing fallback URLs, a missing status callback, and numbers attached to
//!   nothing at all (orphaned: paid for every month, handling nothing — its monthly price is
//!   looked up in the pricing API for the remediation);
//! - messaging services: no inbound request URL while the service (not the number) handles
//!   inbound messages, missing fallback and status callback, no senders, and no US A2P 10DLC
//!   registration (messages from its US long codes fail with 30034);
//! - settings no API exposes (Messaging and Voice geographic permissions) as one console-only
//!   finding with the sentence of DESIGN.md §4.
//!
//! Severities: an unreachable URL that is in use is critical (every webhook fails); one that is
//! configured but unused, plain HTTP, credentials in URLs, unhandled traffic, orphans and 10DLC
//! are warnings; missing fallbacks and callbacks are info. Every finding's category is
//! `config`.

use std::collections::HashMap;

use apiops_client::redact::display_url;
use apiops_core::{Category, Finding, Service, Severity};
use futures::TryStreamExt;

use super::client::{IncomingPhoneNumber, MessagingService, NumberPrices, TwilioClient};
use crate::provider::ProviderError;
use crate::webhook_url::{self, UrlIssue};

/// Enumerates services and numbers and returns the findings, most severe first.
pub(crate) async fn run(client: &TwilioClient) -> Result<Vec<Finding>, ProviderError> {
    let mut services: Vec<MessagingService> = Vec::new();
    let mut pages = client.messaging_services();
    while let Some(page) = pages.try_next().await? {
        services.extend(page);
    }
    // Which services hold each number, by number SID and by E.164 (either may be what joins).
    let mut members: HashMap<String, Vec<usize>> = HashMap::new();
    let mut senders = vec![0usize; services.len()];
    for (i, service) in services.iter().enumerate() {
        let mut pages = client.service_phone_numbers(&service.sid);
        while let Some(page) = pages.try_next().await? {
            for number in page {
                senders[i] += 1;
                members.entry(number.sid).or_default().push(i);
                if let Some(e164) = number.phone_number {
                    members.entry(e164).or_default().push(i);
                }
            }
        }
    }
    let mut findings: Vec<Finding> = services
        .iter()
        .zip(&senders)
        .flat_map(|(s, &n)| audit_service(s, n))
        .collect();
    // (index of the orphan's finding, its country, its number type), priced at the end.
    let mut orphans: Vec<(usize, &'static str, &'static str)> = Vec::new();
    let mut pages = client.incoming_phone_numbers();
    while let Some(page) = pages.try_next().await? {
        for number in page {
            let mut held: Vec<usize> = members.get(&number.sid).cloned().unwrap_or_default();
            if let Some(e164) = &number.phone_number {
                held.extend(members.get(e164).into_iter().flatten().copied());
            }
            held.sort_unstable();
            held.dedup();
            let in_services: Vec<&MessagingService> =
                held.iter().filter_map(|&i| services.get(i)).collect();
            if is_orphaned(&number, &in_services)
                && let Some(e164) = set(&number.phone_number)
                && let Some(country) = country_of(e164)
            {
                orphans.push((findings.len(), country, number_type(e164)));
            }
            findings.extend(audit_number(&number, &in_services));
        }
    }
    price_orphans(client, &mut findings, &orphans).await;
    findings.push(geo_permissions_notice(&client.masked_account_sid()));
    // Stable: within a severity, the enumeration order stays.
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    Ok(findings)
}

/// Puts the monthly price of each orphaned number into its remediation, from the pricing API
/// (one request per country). Best effort: without a price the remediation stays generic.
async fn price_orphans(
    client: &TwilioClient,
    findings: &mut [Finding],
    orphans: &[(usize, &'static str, &'static str)],
) {
    let mut prices: HashMap<&'static str, Option<NumberPrices>> = HashMap::new();
    for &(index, country, kind) in orphans {
        if !prices.contains_key(country) {
            let fetched = client.number_prices(country).await.ok();
            prices.insert(country, fetched);
        }
        let Some(Some(table)) = prices.get(country) else {
            continue;
        };
        let price = table
            .phone_number_prices
            .iter()
            .find(|p| p.number_type.as_deref() == Some(kind))
            .and_then(|p| p.current_price.as_deref().or(p.base_price.as_deref()));
        if let (Some(price), Some(f)) = (price, findings.get_mut(index)) {
            let unit = table.price_unit.as_deref().unwrap_or("USD");
            f.remediation = format!(
                "Attach it to a webhook, application or messaging service, or release it to stop its monthly charge of {price} {unit} (a deletion: apiops never does it on its own)."
            );
        }
    }
}

/// The country whose number prices apply to `e164`, for the few calling codes that name one
/// country (`+1` is priced as the US: Canada and the Caribbean share it). `None` otherwise.
pub(crate) fn country_of(e164: &str) -> Option<&'static str> {
    const CODES: &[(&str, &str)] = &[
        ("+1", "US"),
        ("+44", "GB"),
        ("+61", "AU"),
        ("+49", "DE"),
        ("+33", "FR"),
        ("+34", "ES"),
        ("+39", "IT"),
        ("+31", "NL"),
        ("+46", "SE"),
        ("+353", "IE"),
        ("+52", "MX"),
        ("+55", "BR"),
        ("+81", "JP"),
        ("+65", "SG"),
    ];
    CODES
        .iter()
        .filter(|(code, _)| e164.starts_with(code))
        .max_by_key(|(code, _)| code.len())
        .map(|(_, iso)| *iso)
}

/// `toll free` for North American toll-free numbers, `local` otherwise: the pricing API's
/// number types.
pub(crate) fn number_type(e164: &str) -> &'static str {
    const TOLL_FREE: &[&str] = &["800", "833", "844", "855", "866", "877", "888"];
    match e164.strip_prefix("+1") {
        Some(rest) if TOLL_FREE.iter().any(|t| rest.starts_with(t)) => "toll free",
        _ => "local",
    }
}

/// Attached to nothing: no URL, application, trunk or messaging service.
pub(crate) fn is_orphaned(n: &IncomingPhoneNumber, services: &[&MessagingService]) -> bool {
    set(&n.sms_url).is_none()
        && set(&n.voice_url).is_none()
        && services.is_empty()
        && set(&n.sms_application_sid).is_none()
        && set(&n.voice_application_sid).is_none()
        && set(&n.trunk_sid).is_none()
}

/// A set, non-blank value.
fn set(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn finding(
    severity: Severity,
    resource_type: &str,
    resource_id: &str,
    title: String,
    remediation: &str,
) -> Finding {
    Finding {
        service: Service::Twilio,
        severity,
        category: Category::Config,
        resource_type: resource_type.to_owned(),
        resource_id: resource_id.to_owned(),
        title,
        remediation: remediation.to_owned(),
        console_only: false,
    }
}

/// One finding for a URL with issues (none when it looks fine): the issues joined, the worst
/// severity — critical when Twilio can never reach a URL it uses.
fn url_finding(
    url: &str,
    which: &str,
    in_use: bool,
    subject: &str,
    resource_type: &str,
    resource_id: &str,
) -> Option<Finding> {
    let issues = webhook_url::check(Some(url));
    if issues.is_empty() {
        return None;
    }
    let unreachable = issues.iter().any(|i| {
        matches!(
            i,
            UrlIssue::Unparseable(_) | UrlIssue::LocalName(_) | UrlIssue::NonPublicAddress(..)
        )
    });
    let severity = if unreachable && in_use {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let shown = display_url(url);
    let described: Vec<String> = issues.iter().map(UrlIssue::describe).collect();
    let mut title = format!("{subject}: {which} {shown}: {}", described.join("; "));
    if !in_use {
        title.push_str(" (configured but not used)");
    }
    let remediation = if unreachable {
        "Point it at a public HTTPS endpoint Twilio can reach (for development, a tunnel or a public load balancer), and validate X-Twilio-Signature there."
    } else if issues.contains(&UrlIssue::EmbeddedCredentials) {
        "Remove the user name and password from the URL; authenticate Twilio's requests by validating X-Twilio-Signature instead."
    } else {
        "Serve the webhook over HTTPS and update the URL, so requests and their signatures never travel in clear text."
    };
    Some(finding(
        severity,
        resource_type,
        resource_id,
        title,
        remediation,
    ))
}

/// The findings about one number; `services` are the messaging services that hold it.
pub(crate) fn audit_number(
    n: &IncomingPhoneNumber,
    services: &[&MessagingService],
) -> Vec<Finding> {
    const KIND: &str = "phone_number";
    let phone = set(&n.phone_number).unwrap_or(n.sid.as_str());
    let subject = match set(&n.friendly_name).filter(|f| *f != phone) {
        Some(name) => format!("{phone} ({name})"),
        None => phone.to_owned(),
    };
    // Twilio always sends capabilities; if it did not, assume the usual SMS + voice number.
    let caps = n.capabilities.unwrap_or(super::client::Capabilities {
        voice: true,
        sms: true,
        mms: false,
        fax: false,
    });
    let sms_url = set(&n.sms_url);
    let voice_url = set(&n.voice_url);
    let sms_app = set(&n.sms_application_sid);
    let voice_app = set(&n.voice_application_sid);
    let trunk = set(&n.trunk_sid);
    // A service whose own inbound URL is in force takes the number's inbound SMS.
    let service_takes_sms = services
        .iter()
        .any(|s| !s.use_inbound_webhook_on_number.unwrap_or(false));
    let number_sms_in_use = !service_takes_sms && sms_app.is_none();
    let voice_url_in_use = voice_app.is_none() && trunk.is_none();

    if is_orphaned(n, services) {
        return vec![finding(
            Severity::Warning,
            KIND,
            &n.sid,
            format!(
                "{subject} is orphaned: no SMS or voice URL, TwiML application, trunk or messaging service"
            ),
            "Attach it to a webhook, application or messaging service, or release it to stop its monthly charge (a deletion: apiops never does it on its own).",
        )];
    }

    let mut out = Vec::new();
    let urls = [
        (sms_url, "SMS URL", number_sms_in_use),
        (
            set(&n.sms_fallback_url),
            "SMS fallback URL",
            number_sms_in_use,
        ),
        (voice_url, "voice URL", voice_url_in_use),
        (
            set(&n.voice_fallback_url),
            "voice fallback URL",
            voice_url_in_use,
        ),
        (set(&n.status_callback), "status callback", true),
    ];
    for (url, which, in_use) in urls {
        if let Some(url) = url {
            out.extend(url_finding(url, which, in_use, &subject, KIND, &n.sid));
        }
    }

    let sms_handled = sms_url.is_some() || sms_app.is_some() || service_takes_sms;
    if caps.sms && !sms_handled {
        out.push(finding(
            Severity::Warning,
            KIND,
            &n.sid,
            format!(
                "{subject} can receive SMS but nothing handles them (no SMS URL, application or messaging service)"
            ),
            "Set an SMS URL or add the number to a messaging service, so inbound messages (STOP and HELP replies included) are not lost.",
        ));
    }
    let voice_handled = voice_url.is_some() || voice_app.is_some() || trunk.is_some();
    if caps.voice && !voice_handled {
        out.push(finding(
            Severity::Info,
            KIND,
            &n.sid,
            format!(
                "{subject} can receive calls but nothing answers them (no voice URL, application or trunk)"
            ),
            "Set a voice URL (even a short TwiML message or a redirect), or accept that callers hear an error.",
        ));
    }
    if sms_url.is_some() && number_sms_in_use && set(&n.sms_fallback_url).is_none() {
        out.push(finding(
            Severity::Info,
            KIND,
            &n.sid,
            format!("{subject} has no SMS fallback URL"),
            "Set an SMS fallback URL on another host, so inbound messages survive an outage of the primary webhook (11200).",
        ));
    }
    if voice_url.is_some() && voice_url_in_use && set(&n.voice_fallback_url).is_none() {
        out.push(finding(
            Severity::Info,
            KIND,
            &n.sid,
            format!("{subject} has no voice fallback URL"),
            "Set a voice fallback URL on another host, so calls are answered when the primary webhook fails.",
        ));
    }
    if (sms_url.is_some() || voice_url.is_some()) && set(&n.status_callback).is_none() {
        out.push(finding(
            Severity::Info,
            KIND,
            &n.sid,
            format!("{subject} has no status callback"),
            "Set a status callback URL so failures reach you as they happen, not only when apiops polls.",
        ));
    }
    out
}

/// The findings about one messaging service holding `senders` numbers.
pub(crate) fn audit_service(s: &MessagingService, senders: usize) -> Vec<Finding> {
    const KIND: &str = "messaging_service";
    let subject = match set(&s.friendly_name) {
        Some(name) => format!("Messaging service {name}"),
        None => format!("Messaging service {}", s.sid),
    };
    let numbers_take_inbound = s.use_inbound_webhook_on_number.unwrap_or(false);
    let mut out = Vec::new();
    match set(&s.inbound_request_url) {
        None if !numbers_take_inbound => out.push(finding(
            Severity::Warning,
            KIND,
            &s.sid,
            format!("{subject} has no inbound request URL: inbound messages to its numbers are dropped"),
            "Set the service's inbound request URL, or let each number's own SMS URL handle inbound messages (use_inbound_webhook_on_number).",
        )),
        None => {}
        Some(url) => out.extend(url_finding(
            url,
            "inbound request URL",
            !numbers_take_inbound,
            &subject,
            KIND,
            &s.sid,
        )),
    }
    match set(&s.fallback_url) {
        None if !numbers_take_inbound && set(&s.inbound_request_url).is_some() => {
            out.push(finding(
                Severity::Info,
                KIND,
                &s.sid,
                format!("{subject} has no fallback URL"),
                "Set a fallback URL on another host, so inbound messages survive an outage of the primary webhook.",
            ));
        }
        None => {}
        Some(url) => out.extend(url_finding(
            url,
            "fallback URL",
            !numbers_take_inbound,
            &subject,
            KIND,
            &s.sid,
        )),
    }
    match set(&s.status_callback) {
        None => out.push(finding(
            Severity::Info,
            KIND,
            &s.sid,
            format!("{subject} has no status callback"),
            "Set a status callback URL so delivery failures (30003, 30007...) reach you as they happen, not only when apiops polls.",
        )),
        Some(url) => out.extend(url_finding(
            url,
            "status callback",
            true,
            &subject,
            KIND,
            &s.sid,
        )),
    }
    if s.us_app_to_person_registered == Some(false) {
        out.push(finding(
            Severity::Warning,
            KIND,
            &s.sid,
            format!("{subject} is not registered for US A2P 10DLC"),
            "Register a brand and an A2P 10DLC campaign for this service; until then messages from its US long codes fail with 30034.",
        ));
    }
    if senders == 0 {
        out.push(finding(
            Severity::Info,
            KIND,
            &s.sid,
            format!("{subject} has no senders"),
            "Add a phone number or sender to it, or delete the unused service.",
        ));
    }
    out
}

/// Geographic permissions have no public API: say so, with the console-only sentence.
pub(crate) fn geo_permissions_notice(masked_account: &str) -> Finding {
    Finding {
        service: Service::Twilio,
        severity: Severity::Info,
        category: Category::Config,
        resource_type: "account".to_owned(),
        resource_id: masked_account.to_owned(),
        title: "Messaging and voice geographic permissions cannot be audited: destinations not enabled fail with 21408 (SMS) and 13227 (voice)".to_owned(),
        remediation: format!(
            "Review the enabled countries in Messaging and Voice Geo Permissions. {}",
            Service::Twilio.console_only_notice()
        ),
        console_only: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn number(v: serde_json::Value) -> IncomingPhoneNumber {
        serde_json::from_value(v).expect("number")
    }

    fn service(v: serde_json::Value) -> MessagingService {
        serde_json::from_value(v).expect("service")
    }

    fn titles(f: &[Finding]) -> Vec<String> {
        f.iter().map(|f| f.title.clone()).collect()
    }

    const CAPS: &str = r#"{"voice": true, "sms": true, "mms": true, "fax": false}"#;

    fn caps() -> serde_json::Value {
        serde_json::from_str(CAPS).expect("caps")
    }

    #[test]
    fn a_well_configured_number_has_no_findings() {
        let n = number(json!({
            "sid": "PN1", "phone_number": "+14155550100", "friendly_name": "Main line",
            "capabilities": caps(),
            "sms_url": "https://hooks.example.com/sms", "sms_fallback_url": "https://backup.example.com/sms",
            "voice_url": "https://hooks.example.com/voice", "voice_fallback_url": "https://backup.example.com/voice",
            "status_callback": "https://hooks.example.com/status"
        }));
        assert!(
            audit_number(&n, &[]).is_empty(),
            "{:?}",
            titles(&audit_number(&n, &[]))
        );
    }

    #[test]
    fn insecure_and_unreachable_urls_are_flagged() {
        let n = number(json!({
            "sid": "PN2", "phone_number": "+14155550102", "friendly_name": "Legacy SMS",
            "capabilities": caps(),
            "sms_url": "http://10.0.0.5/sms?token=hunter2", "voice_url": "http://legacy.example.com/voice",
            "voice_fallback_url": "https://localhost/hook",
            "status_callback": "https://u:p@hooks.example.com/status"
        }));
        let f = audit_number(&n, &[]);
        let t = titles(&f);
        let sms = f
            .iter()
            .find(|f| f.title.contains("SMS URL"))
            .expect("sms finding");
        assert_eq!(sms.severity, Severity::Critical);
        assert!(
            sms.title.contains("not HTTPS") && sms.title.contains("private"),
            "{}",
            sms.title
        );
        assert!(!sms.title.contains("hunter2"), "no query in titles");
        let voice = f
            .iter()
            .find(|f| f.title.contains(": voice URL"))
            .expect("voice");
        assert_eq!(voice.severity, Severity::Warning);
        assert!(
            t.iter()
                .any(|t| t.contains("voice fallback URL https://localhost/hook")),
            "{t:?}"
        );
        let cb = f
            .iter()
            .find(|f| f.title.contains("status callback"))
            .expect("callback");
        assert!(cb.title.contains("user name or password"), "{}", cb.title);
        assert!(!cb.title.contains("u:p@"));
        assert!(t.iter().any(|t| t.contains("no SMS fallback URL")));
        assert!(
            f.iter()
                .all(|f| f.category == Category::Config && !f.console_only)
        );
        assert!(
            f.iter()
                .all(|f| f.resource_type == "phone_number" && f.resource_id == "PN2")
        );
    }

    #[test]
    fn orphans_and_unhandled_traffic() {
        let orphan = number(json!({"sid": "PN3", "phone_number": "+15105550107",
                                   "friendly_name": "Unused", "capabilities": caps(),
                                   "sms_url": "", "voice_url": "", "status_callback": ""}));
        let f = audit_number(&orphan, &[]);
        assert_eq!(f.len(), 1);
        assert!(f[0].title.contains("orphaned"));
        assert_eq!(f[0].severity, Severity::Warning);
        // In a service: not orphaned, and the service takes its inbound SMS.
        let svc = service(json!({"sid": "MG1", "use_inbound_webhook_on_number": false}));
        let f = audit_number(&orphan, &[&svc]);
        let t = titles(&f);
        assert!(!t.iter().any(|t| t.contains("orphaned")), "{t:?}");
        assert!(
            !t.iter().any(|t| t.contains("nothing handles them")),
            "{t:?}"
        );
        assert!(
            t.iter().any(|t| t.contains("nothing answers them")),
            "{t:?}"
        );
        // A voice application: calls are handled.
        let app = number(json!({"sid": "PN4", "capabilities": caps(),
                                "voice_application_sid": "AP1", "sms_url": "https://h.example.com/s",
                                "sms_fallback_url": "https://b.example.com/s",
                                "status_callback": "https://h.example.com/c"}));
        assert!(
            audit_number(&app, &[]).is_empty(),
            "{:?}",
            titles(&audit_number(&app, &[]))
        );
        // Voice-only number with a voice URL: no SMS finding.
        let ivr = number(
            json!({"sid": "PN5", "capabilities": {"voice": true, "sms": false},
                                "voice_url": "https://ivr.example.com/voice",
                                "status_callback": "https://ivr.example.com/status"}),
        );
        let t = titles(&audit_number(&ivr, &[]));
        assert_eq!(t.len(), 1, "{t:?}");
        assert!(t[0].contains("no voice fallback URL"));
    }

    #[test]
    fn a_number_url_a_service_overrides_is_not_critical() {
        let n = number(json!({"sid": "PN6", "capabilities": caps(),
                              "sms_url": "http://10.0.0.5/sms",
                              "voice_url": "https://h.example.com/v", "voice_fallback_url": "https://b.example.com/v",
                              "status_callback": "https://h.example.com/c"}));
        let svc = service(json!({"sid": "MG1", "use_inbound_webhook_on_number": false}));
        let f = audit_number(&n, &[&svc]);
        assert_eq!(f.len(), 1, "{:?}", titles(&f));
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].title.ends_with("(configured but not used)"));
        let own = service(json!({"sid": "MG2", "use_inbound_webhook_on_number": true}));
        let f = audit_number(&n, &[&own]);
        assert_eq!(f[0].severity, Severity::Critical);
    }

    #[test]
    fn services() {
        let good = service(json!({
            "sid": "MG0", "friendly_name": "Transactional",
            "inbound_request_url": "https://hooks.example.com/in",
            "fallback_url": "https://backup.example.com/in",
            "status_callback": "https://hooks.example.com/status",
            "use_inbound_webhook_on_number": false, "us_app_to_person_registered": true
        }));
        assert!(audit_service(&good, 2).is_empty());
        let marketing = service(json!({
            "sid": "MG1", "friendly_name": "Marketing campaigns",
            "inbound_request_url": "http://marketing.example.com/inbound",
            "fallback_url": null, "status_callback": null,
            "use_inbound_webhook_on_number": false, "us_app_to_person_registered": false
        }));
        let f = audit_service(&marketing, 0);
        let t = titles(&f);
        assert!(
            t.iter()
                .any(|t| t.contains("inbound request URL") && t.contains("not HTTPS")),
            "{t:?}"
        );
        assert!(t.iter().any(|t| t.contains("no fallback URL")));
        assert!(t.iter().any(|t| t.contains("no status callback")));
        assert!(t.iter().any(|t| t.contains("10DLC")));
        assert!(t.iter().any(|t| t.contains("no senders")));
        let ten_dlc = f.iter().find(|f| f.title.contains("10DLC")).expect("10dlc");
        assert_eq!(ten_dlc.severity, Severity::Warning);
        assert!(ten_dlc.remediation.contains("30034"));
        assert!(f.iter().all(|f| f.resource_type == "messaging_service"));

        let support = service(json!({
            "sid": "MG2", "friendly_name": "Customer support",
            "inbound_request_url": "http://10.0.0.5/inbound",
            "status_callback": "https://hooks.example.com/status",
            "use_inbound_webhook_on_number": true, "us_app_to_person_registered": true
        }));
        let f = audit_service(&support, 1);
        assert_eq!(f.len(), 1, "{:?}", titles(&f));
        assert_eq!(f[0].severity, Severity::Warning, "unused by the service");
        let deaf = service(
            json!({"sid": "MG3", "status_callback": "https://h.example.com/s",
                                  "use_inbound_webhook_on_number": false}),
        );
        let f = audit_service(&deaf, 1);
        assert!(
            f[0].title.contains("no inbound request URL"),
            "{:?}",
            titles(&f)
        );
        assert_eq!(f[0].severity, Severity::Warning);
    }

    #[test]
    fn countries_and_number_types_for_prices() {
        assert_eq!(country_of("+14155550100"), Some("US"));
        assert_eq!(country_of("+447700900123"), Some("GB"));
        assert_eq!(country_of("+35312345678"), Some("IE"));
        assert_eq!(country_of("+99912345"), None);
        assert_eq!(number_type("+18005550100"), "toll free");
        assert_eq!(number_type("+14155550100"), "local");
        assert_eq!(number_type("+447700900123"), "local");
    }

    #[test]
    fn the_geo_notice_is_console_only() {
        let f = geo_permissions_notice("AC01...cdef");
        assert!(f.console_only);
        assert!(
            f.remediation
                .ends_with(&Service::Twilio.console_only_notice())
        );
        assert_eq!(f.resource_id, "AC01...cdef");
    }
}
