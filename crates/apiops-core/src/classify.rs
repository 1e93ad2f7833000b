//! What classifying a provider error yields, and the fallback for codes no table knows.
//!
//! Each provider's `classify.rs` (in `apiops-providers`; Stripe's tables in `stripe/classify/`)
//! holds its table; this module holds the shared result type and the HTTP-status fallback so
//! that an unknown code still classifies.

use serde::{Deserialize, Serialize};

use crate::model::{Category, Severity};

/// The verdict on one provider error code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    /// The normalized category.
    pub category: Category,
    /// The severity (the category's default unless the table says otherwise).
    pub severity: Severity,
    /// Whether the same request may succeed if simply retried later.
    pub retryable: bool,
    /// One line telling a person what to do.
    pub remediation: String,
    /// False when the code was not in the table and this came from the fallback.
    pub known: bool,
}

impl Classification {
    /// Classifies an error no table knows, by its HTTP status when there is one, else as
    /// `transient`.
    pub fn fallback(status: Option<u16>) -> Self {
        let (category, retryable, remediation) = match status {
            Some(401) => (
                Category::Auth,
                false,
                "Check the credentials: they were rejected.",
            ),
            Some(403) => (
                Category::Auth,
                false,
                "The credentials lack permission for this resource; check the key's scopes.",
            ),
            Some(404) => (
                Category::Config,
                false,
                "The resource or endpoint does not exist; check ids and configured URLs.",
            ),
            Some(408) => (
                Category::Transient,
                true,
                "The request timed out; retry with backoff.",
            ),
            Some(409) => (
                Category::Transient,
                true,
                "A conflicting request was in flight; retry with the same idempotency key.",
            ),
            Some(429) => (
                Category::RateLimit,
                true,
                "Too many requests; back off and honor Retry-After.",
            ),
            Some(s) if (400..500).contains(&s) => (
                Category::BadParams,
                false,
                "The request was rejected as invalid; check its parameters.",
            ),
            _ => (
                Category::Transient,
                true,
                "A provider-side or network failure; retry with backoff.",
            ),
        };
        Classification {
            category,
            severity: category.default_severity(),
            retryable,
            remediation: remediation.to_owned(),
            known: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_by_status() {
        let table = [
            (Some(401), Category::Auth, false),
            (Some(403), Category::Auth, false),
            (Some(404), Category::Config, false),
            (Some(400), Category::BadParams, false),
            (Some(422), Category::BadParams, false),
            (Some(408), Category::Transient, true),
            (Some(429), Category::RateLimit, true),
            (Some(500), Category::Transient, true),
            (Some(503), Category::Transient, true),
            (None, Category::Transient, true),
        ];
        for (status, category, retryable) in table {
            let c = Classification::fallback(status);
            assert_eq!(c.category, category, "{status:?}");
            assert_eq!(c.retryable, retryable, "{status:?}");
            assert_eq!(c.severity, category.default_severity());
            assert!(!c.known);
            assert!(!c.remediation.is_empty());
        }
    }
}
