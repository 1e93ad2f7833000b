//! Provider status pages: what Twilio, Stripe and OpenAI say about their own health, read from
//! the Statuspage-style API each publishes — `api/v2/status.json` (the overall indicator), and
//! when available `api/v2/components.json` (only the components apiops uses are kept) and
//! `api/v2/incidents/unresolved.json` (ongoing incidents' titles). It is context for a person
//! reading a health check or an error audit: a page that cannot be read is a warning carried in
//! [`StatusPage::error`], never a failed check, and nothing here changes a health verdict.
//!
//! One GET per document, no credentials, a 5 s timeout, no redirects followed, a user agent
//! naming apiops. Which URL is read is the caller's choice ([`default_url`] is each provider's
//! public page); tests point it at the simulator's pages.

use std::time::Duration;

use apiops_core::Service;
use serde::{Deserialize, Serialize};
use url::Url;

/// What one status page says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusPage {
    /// Whose page.
    pub service: Service,
    /// The page read (scheme, host and path).
    pub url: String,
    /// Statuspage's indicator: `none`, `minor`, `major`, `critical` (or `maintenance`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicator: Option<String>,
    /// Its description ("All Systems Operational").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The components apiops uses, with their status.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<ComponentStatus>,
    /// Ongoing incidents.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<Incident>,
    /// Why the page could not be read, when it could not (a warning, not a failure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One component and its status (`operational`, `degraded_performance`, `partial_outage`,
/// `major_outage`, `under_maintenance`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentStatus {
    /// Its name on the page.
    pub name: String,
    /// Its status.
    pub status: String,
}

/// An ongoing incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// Its title.
    pub name: String,
    /// `investigating`, `identified`, `monitoring`, ...
    #[serde(default)]
    pub status: String,
    /// `none`, `minor`, `major`, `critical`.
    #[serde(default)]
    pub impact: String,
}

impl StatusPage {
    /// True when the page was read and reports anything but all-operational.
    pub fn is_disrupted(&self) -> bool {
        self.error.is_none()
            && (self.indicator.as_deref().is_some_and(|i| i != "none")
                || !self.incidents.is_empty()
                || self.components.iter().any(|c| c.status != "operational"))
    }

    /// One line: "All Systems Operational", or the description, the components not
    /// operational and the incidents' titles; or why the page could not be read.
    pub fn summary(&self) -> String {
        if let Some(e) = &self.error {
            return format!("status page not read ({e})");
        }
        let mut parts = vec![
            self.description
                .clone()
                .unwrap_or_else(|| "status unknown".to_owned()),
        ];
        for c in self.components.iter().filter(|c| c.status != "operational") {
            parts.push(format!("{}: {}", c.name, c.status.replace('_', " ")));
        }
        for i in &self.incidents {
            parts.push(format!("incident: {} ({})", i.name, i.status));
        }
        parts.join("; ")
    }

    /// "REST API: operational, Programmable Messaging: degraded performance".
    pub fn components_text(&self) -> String {
        self.components
            .iter()
            .map(|c| format!("{}: {}", c.name, c.status.replace('_', " ")))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The provider's public status page.
pub fn default_url(service: Service) -> Option<Url> {
    let text = match service {
        Service::Twilio => "https://status.twilio.com/",
        Service::Stripe => "https://status.stripe.com/",
        Service::Openai => "https://status.openai.com/",
        Service::Api(_) => return None,
    };
    Url::parse(text).ok()
}

/// Words naming the components apiops uses, matched case-insensitively in component names.
pub fn used_components(service: Service) -> &'static [&'static str] {
    match service {
        Service::Twilio => &["REST API", "Messaging", "SMS", "Voice"],
        Service::Stripe => &["API", "Webhooks"],
        Service::Openai => &["API", "Batch", "Chat Completions", "Responses"],
        Service::Api(_) => &[],
    }
}

/// The HTTP client status pages are read with: 5 s, no redirects, no cookies, apiops' agent.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!(
            "apiops/",
            env!("CARGO_PKG_VERSION"),
            " (status page)"
        ))
        .build()
}

#[derive(Deserialize)]
struct StatusDoc {
    status: Indicator,
}

#[derive(Deserialize)]
struct Indicator {
    indicator: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
struct ComponentsDoc {
    components: Vec<ComponentStatus>,
}

#[derive(Deserialize)]
struct IncidentsDoc {
    incidents: Vec<Incident>,
}

/// The page's root: `base` as given, or the part before `api/v2/...` when a document's URL
/// was given; always ending with `/`.
fn root(base: &Url) -> Url {
    let mut url = base.clone();
    let path = url.path().to_owned();
    let trimmed = match path.find("/api/v2/") {
        Some(i) => path[..=i].to_owned(),
        None if path.ends_with('/') => path,
        None => format!("{path}/"),
    };
    url.set_path(&trimmed);
    url.set_query(None);
    url.set_fragment(None);
    url
}

async fn get<T: for<'de> Deserialize<'de>>(
    http: &reqwest::Client,
    root: &Url,
    doc: &str,
) -> Result<T, String> {
    let url = root.join(doc).map_err(|e| e.to_string())?;
    let resp = http.get(url).send().await.map_err(describe)?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    let body = resp.bytes().await.map_err(describe)?;
    serde_json::from_slice(&body).map_err(|e| format!("not a Statuspage document: {e}"))
}

fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "no answer within 5 s".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        // Without the URL: the caller shows it once.
        e.without_url().to_string()
    }
}

/// Reads `service`'s status page under `base`: the status is required, components and
/// incidents are read when the page offers them.
pub async fn read(http: &reqwest::Client, service: Service, base: &Url) -> StatusPage {
    let root = root(base);
    let mut page = StatusPage {
        service,
        url: format!(
            "{}://{}{}",
            root.scheme(),
            root.host_str().unwrap_or(""),
            root.port().map(|p| format!(":{p}")).unwrap_or_default()
        ) + root.path(),
        indicator: None,
        description: None,
        components: vec![],
        incidents: vec![],
        error: None,
    };
    let (status, components, incidents) = futures::join!(
        get::<StatusDoc>(http, &root, "api/v2/status.json"),
        get::<ComponentsDoc>(http, &root, "api/v2/components.json"),
        get::<IncidentsDoc>(http, &root, "api/v2/incidents/unresolved.json"),
    );
    match status {
        Ok(doc) => {
            page.indicator = Some(doc.status.indicator);
            page.description = Some(doc.status.description).filter(|d| !d.is_empty());
        }
        Err(e) => {
            page.error = Some(e);
            return page;
        }
    }
    if let Ok(doc) = components {
        let words = used_components(service);
        page.components = doc
            .components
            .into_iter()
            .filter(|c| {
                let name = c.name.to_lowercase();
                words.iter().any(|w| name.contains(&w.to_lowercase()))
            })
            .collect();
    }
    if let Ok(doc) = incidents {
        page.incidents = doc.incidents;
    }
    page
}

/// Reads every `(service, page)` concurrently, in the order given.
pub async fn read_all(pages: &[(Service, Url)]) -> Vec<StatusPage> {
    let http = match http_client() {
        Ok(h) => h,
        Err(e) => {
            return pages
                .iter()
                .map(|(service, url)| StatusPage {
                    service: *service,
                    url: url.to_string(),
                    indicator: None,
                    description: None,
                    components: vec![],
                    incidents: vec![],
                    error: Some(e.to_string()),
                })
                .collect();
        }
    };
    futures::future::join_all(pages.iter().map(|(s, u)| read(&http, *s, u))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_found_from_a_page_or_a_document() {
        for (given, want) in [
            ("https://status.twilio.com", "https://status.twilio.com/"),
            (
                "https://status.twilio.com/api/v2/status.json",
                "https://status.twilio.com/",
            ),
            (
                "http://127.0.0.1:9/status/stripe",
                "http://127.0.0.1:9/status/stripe/",
            ),
        ] {
            let url = Url::parse(given).expect("url");
            assert_eq!(root(&url).as_str(), want, "{given}");
        }
    }

    #[test]
    fn a_summary_names_what_is_not_operational() {
        let mut page = StatusPage {
            service: Service::Twilio,
            url: "x".into(),
            indicator: Some("minor".into()),
            description: Some("Partially Degraded Service".into()),
            components: vec![
                ComponentStatus {
                    name: "REST API".into(),
                    status: "operational".into(),
                },
                ComponentStatus {
                    name: "Programmable Messaging".into(),
                    status: "degraded_performance".into(),
                },
            ],
            incidents: vec![Incident {
                name: "Delayed SMS".into(),
                status: "investigating".into(),
                impact: "minor".into(),
            }],
            error: None,
        };
        assert!(page.is_disrupted());
        assert_eq!(
            page.summary(),
            "Partially Degraded Service; Programmable Messaging: degraded performance; incident: Delayed SMS (investigating)"
        );
        page.error = Some("HTTP 500".into());
        assert!(!page.is_disrupted());
        assert_eq!(page.summary(), "status page not read (HTTP 500)");
    }
}
