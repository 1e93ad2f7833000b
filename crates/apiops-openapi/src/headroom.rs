//! Rate-limit headroom from whatever headers an API sends: the IETF `RateLimit` /
//! `RateLimit-Policy` fields (both the structured `"name";r=..;t=..` form and the older
//! `limit=, remaining=, reset=` form, and the `RateLimit-Limit`/`-Remaining`/`-Reset` trio),
//! `X-RateLimit-Limit`/`-Remaining`/`-Reset` (GitHub: reset as a Unix time), OpenAI's
//! per-requests headers (read by apiops-client's [`RateLimitSnapshot`]), and `Retry-After`.
//!
//! Pure: headers and the current time in, a [`Headroom`] out.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apiops_client::rate::RateLimitSnapshot;
use http::HeaderMap;
use serde::Serialize;

/// What the API said about its limits on one answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Headroom {
    /// Requests allowed per window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// Requests left in the window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
    /// Seconds until the window resets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reset_secs: Option<u64>,
    /// `Retry-After`, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// Which headers said it: `ratelimit`, `x-ratelimit`, `x-ratelimit-requests`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
}

impl Headroom {
    /// Reads `headers` at `now`.
    pub fn from_headers(headers: &HeaderMap, now: SystemTime) -> Headroom {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let num = |name: &str| get(name).and_then(|v| v.trim().parse::<u64>().ok());
        let retry_after_secs =
            apiops_client::retry::parse_retry_after(headers, now).map(|d| d.as_secs());
        let mut h = Headroom {
            retry_after_secs,
            ..Headroom::default()
        };
        if let Some(field) = get("ratelimit") {
            let (limit, remaining, reset) = structured(field);
            let policy_limit = get("ratelimit-policy").and_then(|p| param(first_item(p), "q"));
            h.limit = limit.or(policy_limit);
            h.remaining = remaining;
            h.reset_secs = reset;
            h.source = Some("ratelimit");
        } else if num("ratelimit-remaining").is_some() || num("ratelimit-limit").is_some() {
            h.limit = num("ratelimit-limit");
            h.remaining = num("ratelimit-remaining");
            h.reset_secs = num("ratelimit-reset");
            h.source = Some("ratelimit");
        } else if num("x-ratelimit-remaining").is_some() || num("x-ratelimit-limit").is_some() {
            h.limit = num("x-ratelimit-limit");
            h.remaining = num("x-ratelimit-remaining");
            h.reset_secs = num("x-ratelimit-reset").map(|r| seconds_until(r, now));
            h.source = Some("x-ratelimit");
        } else {
            let s = RateLimitSnapshot::from_headers(headers);
            if !s.is_empty() {
                h.limit = s.limit_requests;
                h.remaining = s.remaining_requests;
                h.reset_secs = s.reset_requests.map(|d| d.as_secs());
                h.source = Some("x-ratelimit-requests");
            }
        }
        h
    }

    /// Remaining requests as a share of the limit, when both are known.
    pub fn share(&self) -> Option<f64> {
        match (self.remaining, self.limit) {
            (Some(r), Some(l)) if l > 0 => Some((r as f64 / l as f64).min(1.0)),
            _ => None,
        }
    }

    /// True when nothing was said.
    pub fn is_empty(&self) -> bool {
        self.limit.is_none() && self.remaining.is_none() && self.retry_after_secs.is_none()
    }
}

/// A reset that is a Unix time (GitHub) becomes seconds from `now`; a small number already is.
fn seconds_until(reset: u64, now: SystemTime) -> u64 {
    // Anything past 2001 as a Unix time is a moment, not a delay.
    if reset > 1_000_000_000 {
        let at = UNIX_EPOCH + Duration::from_secs(reset);
        at.duration_since(now).map_or(0, |d| d.as_secs())
    } else {
        reset
    }
}

/// The first list member of a structured field (`"default";q=100;w=60, "burst";...`).
fn first_item(field: &str) -> &str {
    field.split(',').next().unwrap_or("")
}

/// A `;key=value` parameter of one structured item.
fn param(item: &str, key: &str) -> Option<u64> {
    item.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        (k.trim() == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// `RateLimit` in either draft's form: `"default";r=50;t=30` (limit from the policy) or
/// `limit=100, remaining=50, reset=30`.
fn structured(field: &str) -> (Option<u64>, Option<u64>, Option<u64>) {
    if field.contains("remaining=") || field.contains("limit=") {
        let mut out = (None, None, None);
        for part in field.split([',', ';']) {
            let Some((k, v)) = part.trim().split_once('=') else {
                continue;
            };
            let v = v.trim().parse().ok();
            match k.trim() {
                "limit" => out.0 = v,
                "remaining" => out.1 = v,
                "reset" => out.2 = v,
                _ => {}
            }
        }
        return out;
    }
    let item = first_item(field);
    (None, param(item, "r"), param(item, "t"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("header value"));
        }
        h
    }

    #[test]
    fn every_header_family_is_read() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let table: Vec<(HeaderMap, Headroom)> = vec![
            (
                headers(&[
                    ("ratelimit", "\"default\";r=50;t=30"),
                    ("ratelimit-policy", "\"default\";q=100;w=60"),
                ]),
                Headroom {
                    limit: Some(100),
                    remaining: Some(50),
                    reset_secs: Some(30),
                    retry_after_secs: None,
                    source: Some("ratelimit"),
                },
            ),
            (
                headers(&[("ratelimit", "limit=10, remaining=0, reset=5")]),
                Headroom {
                    limit: Some(10),
                    remaining: Some(0),
                    reset_secs: Some(5),
                    retry_after_secs: None,
                    source: Some("ratelimit"),
                },
            ),
            (
                headers(&[
                    ("ratelimit-limit", "60"),
                    ("ratelimit-remaining", "59"),
                    ("ratelimit-reset", "12"),
                ]),
                Headroom {
                    limit: Some(60),
                    remaining: Some(59),
                    reset_secs: Some(12),
                    retry_after_secs: None,
                    source: Some("ratelimit"),
                },
            ),
            (
                headers(&[
                    ("x-ratelimit-limit", "5000"),
                    ("x-ratelimit-remaining", "4999"),
                    ("x-ratelimit-reset", "1700000060"),
                ]),
                Headroom {
                    limit: Some(5000),
                    remaining: Some(4999),
                    reset_secs: Some(60),
                    retry_after_secs: None,
                    source: Some("x-ratelimit"),
                },
            ),
            (
                headers(&[
                    ("x-ratelimit-limit-requests", "500"),
                    ("x-ratelimit-remaining-requests", "499"),
                    ("x-ratelimit-reset-requests", "120ms"),
                ]),
                Headroom {
                    limit: Some(500),
                    remaining: Some(499),
                    reset_secs: Some(0),
                    retry_after_secs: None,
                    source: Some("x-ratelimit-requests"),
                },
            ),
            (
                headers(&[("retry-after", "7")]),
                Headroom {
                    retry_after_secs: Some(7),
                    ..Headroom::default()
                },
            ),
        ];
        for (h, want) in table {
            assert_eq!(Headroom::from_headers(&h, now), want, "{h:?}");
        }
        let h = Headroom::from_headers(
            &headers(&[
                ("x-ratelimit-limit", "100"),
                ("x-ratelimit-remaining", "25"),
            ]),
            now,
        );
        assert_eq!(h.share(), Some(0.25));
        assert!(Headroom::from_headers(&HeaderMap::new(), now).is_empty());
    }
}
