//! What a configured API's calls leave behind for `apiops errors NAME` and `apiops audit NAME`:
//! a failed call as the taxonomy's [`ErrorEvent`] (service = the API's name, category from
//! [`crate::failure`], the message redacted of the API's secrets), the generic fix of each
//! category, and the audit's findings — operations the document marks deprecated,
//! `Deprecation`/`Sunset` headers the API sent, and a base URL that is plain http to a host
//! other than loopback.
//!
//! Pure: the caller stores the events and keeps the notices (the binary, in the store).

use apiops_client::ClientError;
use apiops_client::version::DeprecationNotice;
use apiops_core::{
    ActionTaken, ApiName, Category, ErrorEvent, EventResult, Finding, Service, Severity,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::api::Api;
use crate::error::CallError;
use crate::index::Index;

/// The longest `context` kept in an event.
const MAX_CONTEXT: usize = 300;

/// The generic fix of a category: an API apiops has no dictionary for gets the category's.
pub fn fix_for(category: Category) -> &'static str {
    match category {
        Category::Auth => {
            "Check the API's credentials (the variables named under auth): rotate or re-issue the key, check its scopes"
        }
        Category::Config => {
            "Check the API's configuration: base_url, the version pin, the account's permissions for this operation"
        }
        Category::RateLimit => {
            "Slow down: fewer calls per minute, or wait for the window to reset (see apiops health NAME for the headroom)"
        }
        Category::BadParams => {
            "Check the parameters against the operation (apiops api ops NAME WORDS shows them)"
        }
        Category::Transient => {
            "The API failed or was unreachable: retry later; check its status page if it persists"
        }
        Category::Carrier | Category::SpamBlocked => {
            "The recipient or a filter refused it: check the recipient"
        }
    }
}

/// A notice of deprecation the API sent, as kept between runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenNotice {
    /// `host[:port]/path`.
    pub endpoint: String,
    /// The `Deprecation` header's value.
    pub deprecation: Option<String>,
    /// The `Sunset` header's value.
    pub sunset: Option<String>,
    /// The documentation link, when the API gave one.
    pub link: Option<String>,
    /// When apiops last saw it.
    pub seen_at: Timestamp,
}

impl SeenNotice {
    /// The client's notice, seen at `at`.
    pub fn new(n: &DeprecationNotice, at: Timestamp) -> SeenNotice {
        SeenNotice {
            endpoint: n.endpoint.clone(),
            deprecation: n.deprecation.clone(),
            sunset: n.sunset.clone(),
            link: n.link.clone(),
            seen_at: at,
        }
    }
}

/// Merges `new` into `kept` (one per endpoint, the latest wins), capped at `max` endpoints
/// (the most recently seen kept).
pub fn merge_notices(kept: &mut Vec<SeenNotice>, new: Vec<SeenNotice>, max: usize) {
    for n in new {
        kept.retain(|k| k.endpoint != n.endpoint);
        kept.push(n);
    }
    kept.sort_by(|a, b| b.seen_at.cmp(&a.seen_at).then(a.endpoint.cmp(&b.endpoint)));
    kept.truncate(max);
    kept.sort_by(|a, b| a.endpoint.cmp(&b.endpoint));
}

impl Api {
    /// The event of a call to `operation` that failed with `error` at `at`; `None` when
    /// nothing was sent (bad parameters, configuration, missing credentials).
    pub fn failure_event(
        &self,
        operation: &str,
        error: &CallError,
        at: Timestamp,
    ) -> Option<ErrorEvent> {
        let name = ApiName::new(self.name()).ok()?;
        let (code, category, message) = match error {
            CallError::Api { failure, .. } => (
                failure
                    .code
                    .clone()
                    .or_else(|| failure.status.map(|s| s.to_string()))
                    .unwrap_or_else(|| "graphql".to_owned()),
                failure.category,
                failure.to_string(),
            ),
            CallError::Client(e) => (client_code(e), e.category(), e.to_string()),
            // The reader of the items stopped the listing: nothing failed on the API's side.
            CallError::Paging(crate::PagingError::Stopped) => return None,
            CallError::Paging(m) => ("paging".to_owned(), Category::Transient, m.to_string()),
            _ => return None,
        };
        let context = self
            .client()
            .redactor()
            .redact(&format!("{operation}: {message}"))
            .chars()
            .take(MAX_CONTEXT)
            .collect();
        Some(ErrorEvent {
            timestamp: at,
            service: Service::Api(name),
            error_code: code.chars().take(100).collect(),
            category,
            severity: category.default_severity(),
            resource_type: "operation".to_owned(),
            resource_id: operation.to_owned(),
            context,
            action_taken: ActionTaken::None,
            result: EventResult::Failed,
        })
    }

    /// The deprecation notices the API has sent to this client, seen at `at`.
    pub fn notices(&self, at: Timestamp) -> Vec<SeenNotice> {
        self.client()
            .deprecations()
            .iter()
            .map(|n| SeenNotice::new(n, at))
            .collect()
    }
}

fn client_code(e: &ClientError) -> String {
    match e {
        ClientError::Transport { kind, .. } => kind.to_string(),
        ClientError::Status { status, .. } => status.to_string(),
        ClientError::CircuitOpen { .. } => "circuit_open".to_owned(),
        ClientError::Auth(_) => "auth".to_owned(),
        _ => "client".to_owned(),
    }
}

/// What `apiops audit NAME` finds: the operations `index` marks deprecated, the notices the
/// API sent (`seen`), and a base URL (`base_url`, else the document's first server) that is
/// plain http to a host other than loopback.
pub fn audit(
    api: ApiName,
    index: &Index,
    base_url: Option<&str>,
    seen: &[SeenNotice],
) -> Vec<Finding> {
    let service = Service::Api(api);
    let mut out = Vec::new();
    if let Some(base) = base_url
        && let Ok(url) = url::Url::parse(base)
        && url.scheme() == "http"
        && !url.host_str().is_some_and(is_loopback)
    {
        out.push(Finding {
            service,
            severity: Severity::Critical,
            category: Category::Config,
            resource_type: "base_url".to_owned(),
            resource_id: apiops_client::redact::display_url(url.as_str()),
            title: format!(
                "{api} is called over plain http: credentials and data cross the network unencrypted"
            ),
            remediation: format!("Set base_url = \"https://...\" under [apis.{api}]"),
            console_only: false,
        });
    }
    for n in seen {
        let mut title = format!("the API answered {} with a Deprecation header", n.endpoint);
        if let Some(s) = &n.sunset {
            title = format!("{title}; Sunset {s}");
        }
        if n.deprecation.is_none() && n.sunset.is_some() {
            title = format!(
                "the API answered {} with Sunset {}",
                n.endpoint,
                n.sunset.as_deref().unwrap_or("")
            );
        }
        out.push(Finding {
            service,
            severity: if n.sunset.is_some() {
                Severity::Critical
            } else {
                Severity::Warning
            },
            category: Category::Config,
            resource_type: "endpoint".to_owned(),
            resource_id: n.endpoint.clone(),
            title: format!("{title} (last seen {})", n.seen_at),
            remediation: match &n.link {
                Some(l) => format!("Move off it before the sunset; see {l}"),
                None => "Move off it before the sunset; see the API's changelog".to_owned(),
            },
            console_only: false,
        });
    }
    for op in index.operations().iter().filter(|o| o.deprecated) {
        out.push(Finding {
            service,
            severity: Severity::Warning,
            category: Category::Config,
            resource_type: "operation".to_owned(),
            resource_id: op.id.clone(),
            title: format!(
                "the document marks {} ({} {}) deprecated",
                op.id, op.method, op.path
            ),
            remediation: "Use its replacement (see the operation's description in the document)"
                .to_owned(),
            console_only: false,
        });
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(endpoint: &str, sunset: Option<&str>, at: &str) -> SeenNotice {
        SeenNotice {
            endpoint: endpoint.to_owned(),
            deprecation: Some("true".to_owned()),
            sunset: sunset.map(str::to_owned),
            link: None,
            seen_at: at.parse().expect("ts"),
        }
    }

    #[test]
    fn notices_merge_by_endpoint_and_keep_the_latest() {
        let mut kept = vec![notice("a/x", None, "2026-01-01T00:00:00Z")];
        merge_notices(
            &mut kept,
            vec![
                notice(
                    "a/x",
                    Some("Sat, 01 Aug 2026 00:00:00 GMT"),
                    "2026-02-01T00:00:00Z",
                ),
                notice("a/y", None, "2026-02-02T00:00:00Z"),
            ],
            10,
        );
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].endpoint, "a/x");
        assert!(kept[0].sunset.is_some());
        merge_notices(
            &mut kept,
            vec![notice("a/z", None, "2026-03-01T00:00:00Z")],
            2,
        );
        let names: Vec<&str> = kept.iter().map(|k| k.endpoint.as_str()).collect();
        assert_eq!(names, ["a/y", "a/z"], "the oldest seen is dropped first");
    }

    #[test]
    fn loopback_hosts() {
        for h in ["localhost", "127.0.0.1", "[::1]", "127.3.4.5"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["example.com", "10.0.0.1", "localhost.example.com"] {
            assert!(!is_loopback(h), "{h}");
        }
    }
}
