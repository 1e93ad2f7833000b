//! Retry policy (being written).
use std::time::{Duration, SystemTime};

/// Parses `retry-after-ms` or `Retry-After` (seconds or HTTP date) relative to `now`.
pub fn parse_retry_after(headers: &http::HeaderMap, now: SystemTime) -> Option<Duration> {
    let _ = (headers, now);
    None
}
