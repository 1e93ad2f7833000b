//! Stripe's configuration audit: every webhook endpoint (`GET /v1/webhook_endpoints`, paged)
//! checked for being disabled, subscribed to `*`, pinned to an API version older than the
//! reference (the account default, read from the newest event's `api_version`, or our pin when
//! that is newer), and pointing at a URL Stripe cannot or should not call (not HTTPS, private
//! or loopback addresses, local names, embedded credentials). No endpoint at all is a warning.
//!
//! The URL checks are static ([`crate::webhook_url::check`]): an audit never connects to an
//! audited URL. URLs in findings show scheme, host and path only. Settings no API exposes
//! (request logs, customer emails, Radar rules, a restricted key's permissions) get the
//! console-only sentence with `console_only = true`.

use apiops_client::redact::display_url;
use apiops_core::{Category, Finding, Service, Severity};
use futures::StreamExt;

use super::client::WebhookEndpoint;
use super::{KeyKind, Stripe};
use crate::provider::ProviderError;
use crate::webhook_url::{self, UrlIssue};

/// The version endpoints are compared with, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReferenceVersion {
    /// `2023-08-16` or `2024-09-30.acacia`.
    pub(crate) version: String,
    /// "the account's default version" or "the version apiops pins".
    pub(crate) source: &'static str,
}

/// Audits Stripe's webhook endpoints and console-only settings.
pub(crate) async fn run(stripe: &Stripe) -> Result<Vec<Finding>, ProviderError> {
    let client = stripe.client();
    // The account default is worth knowing but not worth failing the audit for.
    let account_version = client
        .latest_event()
        .await
        .ok()
        .flatten()
        .and_then(|e| e.api_version);
    let reference = reference_version(stripe.api_version(), account_version.as_deref());

    let mut findings = Vec::new();
    let mut endpoints = 0usize;
    let mut listing = std::pin::pin!(client.webhook_endpoints());
    while let Some(item) = listing.next().await {
        match item {
            Ok(endpoint) => {
                endpoints += 1;
                findings.extend(audit_endpoint(&endpoint, &reference));
            }
            Err(e) if e.status() == Some(403) && stripe.key_kind().is_restricted() => {
                findings.push(restricted_key_finding());
                findings.extend(standing_findings(stripe.key_kind()));
                return Ok(findings);
            }
            Err(e) => return Err(ProviderError::from(e)),
        }
    }
    if endpoints == 0 {
        findings.push(no_endpoint_finding());
    }
    findings.extend(standing_findings(stripe.key_kind()));
    Ok(findings)
}

/// The newer of our pin and the account default (by date; `None` when unknown).
pub(crate) fn reference_version(pinned: &str, account: Option<&str>) -> ReferenceVersion {
    match account.filter(|a| version_date(a).is_some()) {
        Some(a) if version_date(a) >= version_date(pinned) => ReferenceVersion {
            version: a.to_owned(),
            source: "the account's default version",
        },
        _ => ReferenceVersion {
            version: pinned.to_owned(),
            source: "the version apiops pins",
        },
    }
}

/// The `YYYY-MM-DD` a Stripe version starts with.
fn version_date(v: &str) -> Option<&str> {
    let d = v.get(..10)?;
    let b = d.as_bytes();
    let ok = b.iter().enumerate().all(|(i, c)| {
        if i == 4 || i == 7 {
            *c == b'-'
        } else {
            c.is_ascii_digit()
        }
    });
    ok.then_some(d)
}

/// What is wrong with one endpoint.
pub(crate) fn audit_endpoint(ep: &WebhookEndpoint, reference: &ReferenceVersion) -> Vec<Finding> {
    let shown = display_url(&ep.url);
    let finding = |severity, category, title: String, remediation: String| Finding {
        service: Service::Stripe,
        severity,
        category,
        resource_type: "webhook_endpoint".to_owned(),
        resource_id: ep.id.clone(),
        title,
        remediation,
        console_only: false,
    };
    let mut out = Vec::new();
    if ep.status == "disabled" {
        out.push(finding(
            Severity::Warning,
            Category::Config,
            format!("Webhook endpoint {shown} is disabled: Stripe sends it nothing"),
            format!(
                "Fix the receiver, then re-enable it (POST /v1/webhook_endpoints/{} with disabled=false), or delete it if it is no longer used.",
                ep.id
            ),
        ));
    }
    if ep.enabled_events.iter().any(|e| e == "*") {
        out.push(finding(
            Severity::Warning,
            Category::Config,
            format!("Webhook endpoint {shown} subscribes to every event type (`*`)"),
            "List only the event types the receiver handles: less load, and no surprises when Stripe adds new types.".to_owned(),
        ));
    }
    if let Some(v) = ep.api_version.as_deref() {
        let older = match (version_date(v), version_date(&reference.version)) {
            (Some(mine), Some(theirs)) => mine < theirs,
            _ => false,
        };
        if older {
            out.push(finding(
                Severity::Warning,
                Category::Config,
                format!(
                    "Webhook endpoint {shown} is pinned to API version {v}, older than {} ({})",
                    reference.source, reference.version
                ),
                "An endpoint's version cannot be changed: create an endpoint on the current version, move the receiver to it, then delete this one.".to_owned(),
            ));
        }
    }
    for issue in webhook_url::check(Some(&ep.url)) {
        let (severity, remediation) = match &issue {
            UrlIssue::NotHttps => (
                if ep.livemode {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                "Serve the receiver over HTTPS: Stripe requires it in live mode, and events carry payment data.",
            ),
            UrlIssue::EmbeddedCredentials => (
                Severity::Warning,
                "Remove the credentials from the URL; authenticate events by verifying Stripe-Signature with the endpoint's signing secret.",
            ),
            UrlIssue::LocalName(_) | UrlIssue::NonPublicAddress(..) => (
                Severity::Critical,
                "Stripe cannot reach private, loopback or local addresses: point the endpoint at a public HTTPS URL in front of the receiver.",
            ),
            UrlIssue::Missing | UrlIssue::Unparseable(_) => (
                Severity::Critical,
                "Set the endpoint's URL to the receiver's public HTTPS address.",
            ),
        };
        out.push(finding(
            severity,
            Category::Config,
            format!("Webhook endpoint {shown}: {}", issue.describe()),
            remediation.to_owned(),
        ));
    }
    out
}

fn no_endpoint_finding() -> Finding {
    Finding {
        service: Service::Stripe,
        severity: Severity::Warning,
        category: Category::Config,
        resource_type: "account".to_owned(),
        resource_id: String::new(),
        title: "No webhook endpoint is configured: failures reach you only by polling".to_owned(),
        remediation: "Create an endpoint for at least the failure events (charge.failed, payment_intent.payment_failed, invoice.payment_failed, payout.failed, charge.dispute.created) and point it at `apiops serve` or your receiver.".to_owned(),
        console_only: false,
    }
}

fn restricted_key_finding() -> Finding {
    Finding {
        service: Service::Stripe,
        severity: Severity::Warning,
        category: Category::Auth,
        resource_type: "api_key".to_owned(),
        resource_id: String::new(),
        title: "The restricted key may not read webhook endpoints, so they were not audited"
            .to_owned(),
        remediation: format!(
            "Grant the key 'Webhook Endpoints: Read'. {}",
            Service::Stripe.console_only_notice()
        ),
        console_only: true,
    }
}

/// Findings that hold whatever the endpoints: the console-only settings, and the mode audited.
fn standing_findings(kind: KeyKind) -> Vec<Finding> {
    let mut out = vec![Finding {
        service: Service::Stripe,
        severity: Severity::Info,
        category: Category::Config,
        resource_type: "account".to_owned(),
        resource_id: String::new(),
        title: "API request logs, customer emails for failed payments and receipts, and Radar rules can only be reviewed in the Dashboard".to_owned(),
        remediation: Service::Stripe.console_only_notice(),
        console_only: true,
    }];
    if kind.mode() == "test" {
        out.push(Finding {
            service: Service::Stripe,
            severity: Severity::Info,
            category: Category::Config,
            resource_type: "api_key".to_owned(),
            resource_id: String::new(),
            title: "Only test mode was audited: live-mode endpoints need a live key".to_owned(),
            remediation: "Run the audit with a live secret or restricted key to check live-mode webhook endpoints.".to_owned(),
            console_only: false,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(
        url: &str,
        events: &[&str],
        version: Option<&str>,
        status: &str,
    ) -> WebhookEndpoint {
        WebhookEndpoint {
            id: "we_1".into(),
            url: url.into(),
            enabled_events: events.iter().map(|e| (*e).to_owned()).collect(),
            status: status.into(),
            api_version: version.map(str::to_owned),
            livemode: false,
            description: None,
            created: 0,
        }
    }

    fn reference() -> ReferenceVersion {
        reference_version("2023-08-16", Some("2023-08-16"))
    }

    #[test]
    fn a_clean_endpoint_has_no_findings() {
        let ep = endpoint(
            "https://hooks.example.com/stripe",
            &["charge.failed"],
            None,
            "enabled",
        );
        assert!(audit_endpoint(&ep, &reference()).is_empty());
        let same = endpoint(
            "https://hooks.example.com/stripe",
            &["charge.failed"],
            Some("2023-08-16"),
            "enabled",
        );
        assert!(audit_endpoint(&same, &reference()).is_empty());
    }

    #[test]
    fn each_planted_problem_is_found() {
        let cases: &[(WebhookEndpoint, &str, Severity)] = &[
            (
                endpoint(
                    "https://a.example.com/x",
                    &["charge.failed"],
                    None,
                    "disabled",
                ),
                "is disabled",
                Severity::Warning,
            ),
            (
                endpoint("https://a.example.com/x", &["*"], None, "enabled"),
                "every event type",
                Severity::Warning,
            ),
            (
                endpoint(
                    "https://a.example.com/x",
                    &["charge.failed"],
                    Some("2020-08-27"),
                    "enabled",
                ),
                "older than the account's default version (2023-08-16)",
                Severity::Warning,
            ),
            (
                endpoint(
                    "http://a.example.com/x",
                    &["charge.failed"],
                    None,
                    "enabled",
                ),
                "not HTTPS",
                Severity::Warning,
            ),
            (
                endpoint("https://10.20.0.15/x", &["charge.failed"], None, "enabled"),
                "private address",
                Severity::Critical,
            ),
            (
                endpoint("https://localhost/x", &["charge.failed"], None, "enabled"),
                "cannot reach",
                Severity::Critical,
            ),
        ];
        for (ep, want, severity) in cases {
            let f = audit_endpoint(ep, &reference());
            assert_eq!(f.len(), 1, "{want}: {f:?}");
            assert!(f[0].title.contains(want), "{want}: {}", f[0].title);
            assert_eq!(f[0].severity, *severity, "{want}");
            assert_eq!(f[0].resource_type, "webhook_endpoint");
            assert!(!f[0].console_only);
        }
        let mut live = endpoint(
            "http://a.example.com/x",
            &["charge.failed"],
            None,
            "enabled",
        );
        live.livemode = true;
        assert_eq!(
            audit_endpoint(&live, &reference())[0].severity,
            Severity::Critical
        );
    }

    #[test]
    fn urls_in_findings_hide_credentials_and_queries() {
        let ep = endpoint(
            "https://user:hunter2@hooks.example.com/s?token=abc#f",
            &["x.y"],
            None,
            "enabled",
        );
        let f = audit_endpoint(&ep, &reference());
        assert!(!f.is_empty());
        for finding in &f {
            assert!(!finding.title.contains("hunter2"), "{}", finding.title);
            assert!(!finding.title.contains("token=abc"), "{}", finding.title);
        }
        assert_eq!(display_url("not a url"), "(unparseable URL)");
        assert_eq!(
            display_url("https://h.example:8443/p?q=1"),
            "https://h.example:8443/p"
        );
    }

    #[test]
    fn reference_is_the_newer_of_pin_and_account() {
        let r = reference_version("2023-08-16", Some("2024-09-30.acacia"));
        assert_eq!(r.version, "2024-09-30.acacia");
        let r = reference_version("2024-09-30.acacia", Some("2023-08-16"));
        assert_eq!(r.source, "the version apiops pins");
        let r = reference_version("2023-08-16", None);
        assert_eq!(r.version, "2023-08-16");
        let r = reference_version("2023-08-16", Some("garbage"));
        assert_eq!(r.version, "2023-08-16");
        assert_eq!(version_date("2024-09-30.acacia"), Some("2024-09-30"));
        assert_eq!(version_date("latest"), None);
    }

    #[test]
    fn standing_findings_use_the_console_sentence() {
        let f = standing_findings(KeyKind::SecretLive);
        assert_eq!(f.len(), 1);
        assert!(f[0].console_only);
        assert_eq!(f[0].remediation, Service::Stripe.console_only_notice());
        assert_eq!(standing_findings(KeyKind::SecretTest).len(), 2);
        assert!(
            restricted_key_finding()
                .remediation
                .ends_with(&Service::Stripe.console_only_notice())
        );
    }
}
