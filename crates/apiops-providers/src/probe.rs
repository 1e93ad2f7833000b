//! Reachability of webhook URLs (`apiops audit --probe`): one request per URL, the way a
//! provider would meet it, through the SSRF guard ([`crate::outbound::pin_public`]).
//!
//! - `HEAD`, falling back to `GET` when the server refuses `HEAD` (405, 501); no body is sent
//!   and none is read; a 5 s timeout; redirects are reported, never followed; the user agent
//!   names apiops.
//! - The host is resolved once and the connection pinned to that address. A URL whose host is
//!   loopback, private, link-local or otherwise not public is reported as unreachable by policy
//!   and never contacted. The one exception is [`Prober::allowing_loopback_for_tests`]: loopback
//!   (and only loopback) for tests that run their own targets on 127.0.0.1.
//! - Outcomes: reachable; TLS error with the certificate's problem; DNS failure; timeout; no
//!   connection; or an HTTP status that would make the provider fail (4xx, 5xx, a redirect).
//! - [`probe_webhooks`] probes every webhook URL some providers hold, each URL once, and
//!   [`Probed::finding`] turns a URL the provider cannot use into an audit [`Finding`] (how
//!   `apiops serve`'s monitor reports it; `apiops audit --probe` shows the table).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use apiops_client::redact::display_url;
use apiops_core::{Category, Finding, Service, Severity};
use serde::Serialize;
use url::Url;

use crate::Provider;
use crate::outbound::{Refusal, pin_public};

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The server answered 2xx (or 405 to both `HEAD` and `GET`: it only takes `POST`).
    Reachable {
        /// The status.
        status: u16,
    },
    /// The guard refused the target: it was not contacted.
    UnreachableByPolicy {
        /// Why.
        reason: String,
    },
    /// Not an http(s) URL apiops can send to.
    Invalid {
        /// Why.
        reason: String,
    },
    /// The host does not resolve.
    DnsFailure {
        /// The resolver's error.
        reason: String,
    },
    /// The TLS handshake failed: the certificate's problem.
    TlsError {
        /// What is wrong with the certificate (or the handshake).
        problem: String,
    },
    /// No answer within the timeout.
    Timeout,
    /// The connection could not be made (refused, reset, unreachable).
    NoConnection {
        /// Why.
        reason: String,
    },
    /// The server answered with a status the provider treats as a failure.
    HttpStatus {
        /// The status.
        status: u16,
        /// Where a redirect points (providers do not follow it).
        #[serde(skip_serializing_if = "Option::is_none")]
        location: Option<String>,
    },
}

impl Outcome {
    /// True for [`Outcome::Reachable`].
    pub fn is_reachable(&self) -> bool {
        matches!(self, Outcome::Reachable { .. })
    }

    /// One line for a person.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Reachable { status: 405 } => {
                "reachable (405 to HEAD and GET: it takes POST only)".to_owned()
            }
            Outcome::Reachable { status } => format!("reachable (HTTP {status})"),
            Outcome::UnreachableByPolicy { reason } => {
                format!("unreachable by policy, not contacted: {reason}")
            }
            Outcome::Invalid { reason } => format!("not probed: {reason}"),
            Outcome::DnsFailure { reason } => format!("DNS failure: {reason}"),
            Outcome::TlsError { problem } => format!("TLS error: {problem}"),
            Outcome::Timeout => "timeout: no answer within 5 s".to_owned(),
            Outcome::NoConnection { reason } => format!("no connection: {reason}"),
            Outcome::HttpStatus {
                status,
                location: Some(to),
            } => format!("HTTP {status} redirect to {to}: providers do not follow redirects"),
            Outcome::HttpStatus { status, .. } if *status >= 500 => {
                format!("HTTP {status}: the server fails; the provider's deliveries will too")
            }
            Outcome::HttpStatus { status, .. } => {
                format!("HTTP {status}: the provider's requests will fail")
            }
        }
    }
}

/// One URL probed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeResult {
    /// The URL as shown (no credentials, no query).
    pub url: String,
    /// The method of the last request sent, if any was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<&'static str>,
    /// What it found.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// How long the probe took.
    pub latency_ms: u64,
}

/// Sends the probes.
#[derive(Debug, Clone)]
pub struct Prober {
    timeout: Duration,
    allow_loopback: bool,
}

impl Default for Prober {
    fn default() -> Self {
        Prober {
            timeout: Duration::from_secs(5),
            allow_loopback: false,
        }
    }
}

/// The user agent of every probe.
pub const USER_AGENT: &str = concat!(
    "apiops/",
    env!("CARGO_PKG_VERSION"),
    " (webhook reachability probe)"
);

impl Prober {
    /// The prober: 5 s per probe, public targets only.
    pub fn new() -> Self {
        Prober::default()
    }

    /// For tests only: also contacts loopback targets (127.0.0.0/8, ::1), so tests can run
    /// their own servers. Private, link-local and every other non-public range stay refused.
    #[doc(hidden)]
    pub fn allowing_loopback_for_tests(mut self) -> Self {
        self.allow_loopback = true;
        self
    }

    /// Where to connect for `url`, or the outcome that ends the probe before any connection.
    async fn target(&self, url: &Url) -> Result<(String, SocketAddr), Outcome> {
        match pin_public(url, false).await {
            Ok(pinned) => Ok(pinned),
            Err(Refusal::NotPublic { ip, .. }) if self.allow_loopback && ip.is_loopback() => {
                // Every address must be loopback, and the one pinned is.
                match pin_public(url, true).await {
                    Ok((host, addr)) if addr.ip().is_loopback() => Ok((host, addr)),
                    Ok(_) | Err(_) => Err(Outcome::UnreachableByPolicy {
                        reason: format!("{ip} is not a public address"),
                    }),
                }
            }
            Err(e @ Refusal::NotPublic { .. }) => Err(Outcome::UnreachableByPolicy {
                reason: e.to_string(),
            }),
            Err(e @ (Refusal::Resolve { .. } | Refusal::NoAddress { .. })) => {
                Err(Outcome::DnsFailure {
                    reason: e.to_string(),
                })
            }
            Err(e) => Err(Outcome::Invalid {
                reason: e.to_string(),
            }),
        }
    }

    /// Probes one URL.
    pub async fn probe(&self, raw: &str) -> ProbeResult {
        let started = Instant::now();
        let shown = display_url(raw);
        let done = |method, outcome| ProbeResult {
            url: shown.clone(),
            method,
            outcome,
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        let url = match Url::parse(raw.trim()) {
            Ok(u) => u,
            Err(e) => {
                return done(
                    None,
                    Outcome::Invalid {
                        reason: format!("not a URL: {e}"),
                    },
                );
            }
        };
        let (host, addr) = match self.target(&url).await {
            Ok(t) => t,
            Err(outcome) => return done(None, outcome),
        };
        let client = match reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            .resolve(&host, addr)
            .no_proxy()
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                return done(
                    None,
                    Outcome::Invalid {
                        reason: e.to_string(),
                    },
                );
            }
        };
        let mut method = "HEAD";
        let mut result = client.head(url.clone()).send().await;
        if let Ok(resp) = &result
            && matches!(resp.status().as_u16(), 405 | 501)
        {
            method = "GET";
            result = client.get(url.clone()).send().await;
        }
        let outcome = match result {
            Ok(resp) => {
                let status = resp.status().as_u16();
                match status {
                    200..=299 => Outcome::Reachable { status },
                    405 if method == "GET" => Outcome::Reachable { status },
                    300..=399 => Outcome::HttpStatus {
                        status,
                        location: resp
                            .headers()
                            .get(reqwest::header::LOCATION)
                            .and_then(|l| l.to_str().ok())
                            .map(display_url),
                    },
                    _ => Outcome::HttpStatus {
                        status,
                        location: None,
                    },
                }
            }
            Err(e) => failure(&e),
        };
        done(Some(method), outcome)
    }

    /// Probes every URL, at most 8 at a time, in the order given. (Batches built in a loop,
    /// not a stream of closures, so the future stays `Send` for the monitor's tasks.)
    pub async fn probe_all(&self, urls: &[String]) -> Vec<ProbeResult> {
        let mut out = Vec::with_capacity(urls.len());
        for batch in urls.chunks(8) {
            let mut probes = Vec::with_capacity(batch.len());
            for url in batch {
                probes.push(self.probe(url));
            }
            out.extend(futures::future::join_all(probes).await);
        }
        out
    }
}

/// One webhook URL probed, and the resources that use it ("Twilio phone_number PN…: sms_url").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probed {
    /// What the probe found.
    #[serde(flatten)]
    pub result: ProbeResult,
    /// The resources holding this URL, each named with its service.
    pub resources: Vec<String>,
}

impl Probed {
    /// The audit finding of a URL `service`'s deliveries cannot reach; `None` when it is
    /// reachable. The resource is the URL as shown (no credentials, no query).
    pub fn finding(&self, service: Service) -> Option<Finding> {
        let outcome = &self.result.outcome;
        let severity = match outcome {
            Outcome::Reachable { .. } => return None,
            // Refused by policy or not a URL: the static audit names the address class and
            // the format; the probe only adds that it was not contacted.
            Outcome::UnreachableByPolicy { .. } | Outcome::Invalid { .. } => Severity::Warning,
            _ => Severity::Critical,
        };
        let used_by = if self.resources.is_empty() {
            String::new()
        } else {
            format!(" (used by {})", self.resources.join(", "))
        };
        Some(Finding {
            service,
            severity,
            category: Category::Config,
            resource_type: "webhook_url".to_owned(),
            resource_id: self.result.url.clone(),
            title: format!(
                "Webhook URL {}{used_by}: {}",
                self.result.url,
                outcome.describe()
            ),
            remediation: match outcome {
                Outcome::TlsError { .. } => "Serve a certificate from a trusted authority that names this host (the provider verifies it), or point the webhook at a URL that has one.".to_owned(),
                Outcome::HttpStatus { location: Some(_), .. } => "Point the webhook at the final URL: the provider does not follow redirects.".to_owned(),
                Outcome::UnreachableByPolicy { .. } => "Use a public https URL: the provider cannot reach a private, loopback or link-local address either.".to_owned(),
                _ => "Make sure the receiver is running and answers at this URL from the internet (DNS, firewall, routing), or point the webhook at one that does.".to_owned(),
            },
            console_only: false,
        })
    }
}

/// The webhook URLs `p` holds, each with its resource named with the service; none (logged)
/// when they cannot be listed.
async fn webhook_urls_of(p: &dyn Provider) -> Vec<(String, String)> {
    let service = p.service();
    match p.webhook_urls().await {
        Ok(urls) => urls,
        Err(e) => {
            tracing::warn!("{}: listing webhook URLs: {e}", service.display_name());
            vec![]
        }
    }
    .into_iter()
    .map(|(resource, url)| (format!("{} {resource}", service.display_name()), url))
    .collect()
}

/// Probes every webhook URL `providers` hold, each URL once (in the order first found), with
/// the resources that use it. A provider whose URLs cannot be listed adds none (logged).
pub async fn probe_webhooks(providers: &[&dyn Provider], prober: &Prober) -> Vec<Probed> {
    let mut listing = Vec::with_capacity(providers.len());
    for p in providers {
        listing.push(webhook_urls_of(*p));
    }
    let lists = futures::future::join_all(listing).await;
    let mut order: Vec<String> = Vec::new();
    let mut holders: std::collections::HashMap<String, Vec<String>> = Default::default();
    for (resource, url) in lists.into_iter().flatten() {
        if !holders.contains_key(&url) {
            order.push(url.clone());
        }
        holders.entry(url).or_default().push(resource);
    }
    let results = prober.probe_all(&order).await;
    order
        .iter()
        .zip(results)
        .map(|(url, result)| Probed {
            resources: holders.remove(url).unwrap_or_default(),
            result,
        })
        .collect()
}

/// The outcome of a request that got no answer.
fn failure(e: &reqwest::Error) -> Outcome {
    if let Some(problem) = tls_problem(e) {
        return Outcome::TlsError { problem };
    }
    if e.is_timeout() {
        return Outcome::Timeout;
    }
    let mut reason = String::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    // The innermost cause says it best ("Connection refused (os error 111)").
    while let Some(s) = source {
        reason = s.to_string();
        source = s.source();
    }
    Outcome::NoConnection { reason }
}

/// The TLS problem somewhere in `e`'s chain of causes, described.
fn tls_problem(e: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(t) = s.downcast_ref::<rustls::Error>() {
            return Some(describe_tls(t));
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && let Some(t) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
        {
            return Some(describe_tls(t));
        }
        source = s.source();
    }
    // The rustls error may reach us only as text (wrapped by another layer); its wording is
    // rustls' own ("invalid peer certificate: UnknownIssuer").
    let mut innermost = String::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        innermost = s.to_string();
        source = s.source();
    }
    let lower = innermost.to_lowercase();
    if !(lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")) {
        return None;
    }
    let known = [
        (
            "UnknownIssuer",
            "the certificate is not signed by a trusted authority (self-signed or an incomplete chain)",
        ),
        ("Expired", "the certificate has expired"),
        ("NotValidYet", "the certificate is not valid yet"),
        ("NotValidForName", "the certificate does not name this host"),
        ("Revoked", "the certificate was revoked"),
    ];
    Some(
        known
            .iter()
            .find(|(k, _)| innermost.contains(k))
            .map_or(innermost.clone(), |(_, d)| (*d).to_owned()),
    )
}

fn describe_tls(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => {
                "the certificate is not signed by a trusted authority (self-signed or an incomplete chain)".to_owned()
            }
            C::Expired | C::ExpiredContext { .. } => "the certificate has expired".to_owned(),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "the certificate is not valid yet".to_owned()
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "the certificate does not name this host".to_owned()
            }
            C::Revoked => "the certificate was revoked".to_owned(),
            other => format!("invalid certificate: {other:?}"),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn non_public_targets_are_refused_before_any_connection() {
        let prober = Prober::new().allowing_loopback_for_tests();
        for url in [
            "http://10.0.0.5/sms",
            "https://192.168.1.10/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[fd00::1]/x",
        ] {
            let r = prober.probe(url).await;
            assert!(
                matches!(r.outcome, Outcome::UnreachableByPolicy { .. }),
                "{url}: {r:?}"
            );
            assert_eq!(r.method, None, "{url}: no request was sent");
        }
        let r = Prober::new().probe("ftp://example.com/x").await;
        assert!(matches!(r.outcome, Outcome::Invalid { .. }), "{r:?}");
        let r = Prober::new().probe("not a url").await;
        assert!(matches!(r.outcome, Outcome::Invalid { .. }), "{r:?}");
    }
}
