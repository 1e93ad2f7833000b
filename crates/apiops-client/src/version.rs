//! API version pins and deprecation detection.
//!
//! A pin is a header sent on every request (`Stripe-Version: 2023-08-16`, `OpenAI-Beta: ...`),
//! so an account-level upgrade never changes the shapes we parse. Deprecation signals on
//! responses — the `Deprecation` header (RFC 9745), `Sunset` (RFC 8594) and
//! `Link: <...>; rel="deprecation"` — become [`DeprecationNotice`]s: logged once per endpoint
//! as a warning and kept for health reports and events.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use http::{Extensions, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};
use serde::Serialize;

/// What a response said about the endpoint's deprecation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeprecationNotice {
    /// `host[:port]/path` of the endpoint.
    pub endpoint: String,
    /// The `Deprecation` header's value (`@1688169599`, `true`, or a date).
    pub deprecation: Option<String>,
    /// The `Sunset` header's value (an HTTP date).
    pub sunset: Option<String>,
    /// The documentation link from `Link: <...>; rel="deprecation"`.
    pub link: Option<String>,
}

impl DeprecationNotice {
    /// A one-line warning for reports.
    pub fn message(&self) -> String {
        let mut s = format!("{} is deprecated", self.endpoint);
        if let Some(sunset) = &self.sunset {
            s.push_str(&format!("; sunset {sunset}"));
        }
        if let Some(link) = &self.link {
            s.push_str(&format!("; see {link}"));
        }
        s
    }
}

/// Finds the URL of the first `Link` entry whose `rel` includes `deprecation`.
pub fn deprecation_link(link_header: &str) -> Option<String> {
    let mut rest = link_header;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>')?;
        let target = &after[..end];
        let params_end = after[end..].find('<').map_or(after.len(), |i| end + i);
        let params = &after[end + 1..params_end];
        let is_deprecation = params.split(';').any(|p| {
            let p = p.trim().trim_end_matches(',').trim();
            p.strip_prefix("rel=").is_some_and(|v| {
                v.trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("deprecation"))
            })
        });
        if is_deprecation {
            return Some(target.to_owned());
        }
        rest = &after[params_end..];
    }
    None
}

/// Reads the deprecation signals of a response; `None` when there are none.
pub fn detect_deprecation(endpoint: &str, headers: &HeaderMap) -> Option<DeprecationNotice> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim().to_owned())
    };
    let deprecation = get("deprecation").filter(|v| !v.eq_ignore_ascii_case("false"));
    let sunset = get("sunset");
    let link = headers
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(deprecation_link);
    if deprecation.is_none() && sunset.is_none() && link.is_none() {
        return None;
    }
    Some(DeprecationNotice {
        endpoint: endpoint.to_owned(),
        deprecation,
        sunset,
        link,
    })
}

/// The deprecations a client has seen, one per endpoint, shared by its clones.
#[derive(Debug, Clone, Default)]
pub struct Deprecations(Arc<Mutex<BTreeMap<String, DeprecationNotice>>>);

impl Deprecations {
    /// Records a notice; true when the endpoint had none before (so it is logged once).
    pub fn record(&self, notice: DeprecationNotice) -> bool {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(notice.endpoint.clone(), notice).is_none()
    }

    /// Every notice seen, ordered by endpoint.
    pub fn all(&self) -> Vec<DeprecationNotice> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.values().cloned().collect()
    }
}

/// Sends the pinned version headers and records deprecation signals.
#[derive(Debug)]
pub struct VersionMiddleware {
    /// Headers set on every request unless the caller set them.
    pub(crate) pins: Vec<(HeaderName, HeaderValue)>,
    pub(crate) seen: Deprecations,
}

#[async_trait::async_trait]
impl Middleware for VersionMiddleware {
    async fn handle(
        &self,
        mut req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        for (name, value) in &self.pins {
            if !req.headers().contains_key(name) {
                req.headers_mut().insert(name.clone(), value.clone());
            }
        }
        let endpoint = crate::redact::display_target(req.url());
        let result = next.run(req, extensions).await;
        if let Ok(resp) = &result
            && let Some(notice) = detect_deprecation(&endpoint, resp.headers())
            && self.seen.record(notice.clone())
        {
            tracing::warn!(target: "apiops_client", endpoint = %notice.endpoint, "{}", notice.message());
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_table() {
        let cases = [
            (
                r#"<https://d.example/v1>; rel="deprecation""#,
                Some("https://d.example/v1"),
            ),
            (
                r#"<https://d.example/v1>; rel="deprecation"; type="text/html""#,
                Some("https://d.example/v1"),
            ),
            (
                r#"<https://n.example/?p=2>; rel="next", <https://d.example/x>; rel="deprecation""#,
                Some("https://d.example/x"),
            ),
            (r#"<https://n.example/?p=2>; rel="next""#, None),
            (
                r#"<https://a.example>; rel="alternate deprecation""#,
                Some("https://a.example"),
            ),
            (
                r#"<https://a.example>; rel=deprecation"#,
                Some("https://a.example"),
            ),
            ("garbage", None),
            ("<unterminated; rel=deprecation", None),
            ("", None),
        ];
        for (header, want) in cases {
            assert_eq!(deprecation_link(header).as_deref(), want, "{header}");
        }
    }

    #[test]
    fn detects_each_signal() {
        let mut h = HeaderMap::new();
        assert_eq!(detect_deprecation("h/p", &h), None);
        h.insert("deprecation", HeaderValue::from_static("@1688169599"));
        let n = detect_deprecation("h/p", &h).expect("notice");
        assert_eq!(n.deprecation.as_deref(), Some("@1688169599"));
        let mut h2 = HeaderMap::new();
        h2.insert(
            "sunset",
            HeaderValue::from_static("Sat, 31 Dec 2026 23:59:59 GMT"),
        );
        let n2 = detect_deprecation("h/p", &h2).expect("notice");
        assert!(n2.message().contains("sunset Sat, 31 Dec 2026"));
        let mut h3 = HeaderMap::new();
        h3.insert("deprecation", HeaderValue::from_static("false"));
        assert_eq!(detect_deprecation("h/p", &h3), None);
    }

    #[test]
    fn records_once_per_endpoint() {
        let d = Deprecations::default();
        let n = DeprecationNotice {
            endpoint: "a/b".into(),
            deprecation: Some("true".into()),
            sunset: None,
            link: None,
        };
        assert!(d.record(n.clone()));
        assert!(!d.record(n));
        assert_eq!(d.all().len(), 1);
    }
}
