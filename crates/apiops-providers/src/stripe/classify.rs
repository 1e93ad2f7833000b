//! Stripe's codes, classified: API error codes and types, card decline codes, payout failure
//! codes (as `payout:<code>`), dispute reasons (as `dispute:<reason>`), Radar outcome reasons,
//! the failure event types used when an event carries no code, and apiops' own
//! `webhook_delivery_failing`. Pure tables and lookups; nothing here does I/O.
//!
//! This file holds the lookups; the tables (the dictionary) are in `classify/`:
//! `api_errors` (API error codes and types), `declines` (card declines and Radar reasons) and
//! `events` (failure event types, payout failures, dispute reasons).
//!
//! Choices worth knowing:
//! - Card declines are the customer's or the issuer's answer, not a fault of our configuration
//!   and not throttling, so they are `bad_params` at `info` (the transaction was not
//!   acceptable as sent). Fraud signals (`fraudulent`, `stolen_card`, `lost_card`,
//!   `pickup_card`, Radar blocks) are `bad_params` at `warning`: never retry them, and watch
//!   their rate. Issuer-side hiccups (`processing_error`, `try_again_later`,
//!   `issuer_not_available`, `reenter_transaction`) are `transient` and retryable.
//! - Payout failures and dispute reasons share spellings with decline codes
//!   (`insufficient_funds`, `fraudulent`, `account_closed`) but mean other things, so events
//!   carry them namespaced: `payout:account_closed`, `dispute:fraudulent`. A payout failure is
//!   our bank account's configuration (`config`, `critical`); a dispute is `bad_params` at
//!   `warning` (no category fits a cardholder's claim better: it is about one transaction, not
//!   our setup, and it needs an answer before its deadline).
//! - `rate_limit` (429) is `rate_limit`; `api_key_expired` and 401s are `auth`;
//!   `Stripe-Should-Retry` is honored by the client's retry policy, not here.
//! - An unknown code falls back by HTTP status ([`Classification::fallback`]) with
//!   `known = false`; an unknown `dispute:`/`payout:` suffix gets the generic dispute or payout
//!   entry, also with `known = false`.

mod api_errors;
mod declines;
mod events;

use apiops_core::{Category, Classification, Severity};

use super::client::ApiErrors;

/// Prefix of payout failure codes in events (`payout:account_closed`).
pub const PAYOUT_PREFIX: &str = "payout:";

/// Prefix of dispute reasons in events (`dispute:fraudulent`).
pub const DISPUTE_PREFIX: &str = "dispute:";

/// apiops' code for an event Stripe has not delivered to every endpoint yet.
pub const WEBHOOK_DELIVERY_FAILING: &str = "webhook_delivery_failing";

/// (code, category, severity, retryable, remediation)
type Entry = (&'static str, Category, Severity, bool, &'static str);

const DECLINE_OTHER_METHOD: &str =
    "The issuer declined the card: ask the customer for another payment method.";

use api_errors::API_ERRORS;
use declines::DECLINES;
use events::{DISPUTE_GENERIC, DISPUTES, EVENT_TYPES, PAYOUT_GENERIC, PAYOUTS};

/// The tables of codes without a prefix, in lookup order (the first row with the code wins):
/// API error codes and types, decline codes and Radar reasons, failure event types.
const CODES: [&[Entry]; 3] = [API_ERRORS, DECLINES, EVENT_TYPES];

/// Every row of [`CODES`], in lookup order.
fn codes() -> impl Iterator<Item = &'static Entry> {
    CODES.iter().flat_map(|table| table.iter())
}

fn lookup(table: &'static [Entry], code: &str) -> Option<&'static Entry> {
    table.iter().find(|e| e.0 == code)
}

fn from_entry(e: &Entry, known: bool) -> Classification {
    Classification {
        category: e.1,
        severity: e.2,
        retryable: e.3,
        remediation: e.4.to_owned(),
        known,
    }
}

/// Classifies a Stripe code as events and errors carry it: an API error code or type, a
/// decline code, `payout:<failure code>`, `dispute:<reason>`, a failure event type, or
/// [`WEBHOOK_DELIVERY_FAILING`]. Unknown codes fall back by `http_status`.
pub fn classify(code: &str, http_status: Option<u16>) -> Classification {
    let code = code.trim();
    if let Some(rest) = code.strip_prefix(PAYOUT_PREFIX) {
        return match lookup(PAYOUTS, rest) {
            Some(e) => from_entry(e, true),
            None => from_entry(&PAYOUT_GENERIC, false),
        };
    }
    if let Some(rest) = code.strip_prefix(DISPUTE_PREFIX) {
        return match lookup(DISPUTES, rest) {
            Some(e) => from_entry(e, true),
            None => from_entry(&DISPUTE_GENERIC, false),
        };
    }
    match codes().find(|e| e.0 == code) {
        Some(e) => from_entry(e, true),
        None => Classification::fallback(http_status),
    }
}

/// The code to report for an error answer and its classification: the error's `code` when it
/// has one; otherwise, for statuses that say more than Stripe's broad error `type` (401, 403,
/// 429, 5xx), the HTTP fallback under the type's name; otherwise the `type`.
pub fn classify_api_error(error: &ApiErrors, status: u16) -> (String, Classification) {
    let by_type = |kind: &str| {
        // A 5xx `api_error` is in the table; keep its more specific advice.
        let broad = matches!(status, 401 | 403 | 429) || status >= 500;
        if broad && !(status >= 500 && kind == "api_error") {
            Classification::fallback(Some(status))
        } else {
            classify(kind, Some(status))
        }
    };
    let (code, kind) = (error.code.as_deref(), error.kind.as_deref());
    crate::wire::classify_answer(code, kind, status, classify, by_type)
}

/// Every code the tables know, namespaced codes with their prefix (for documentation and
/// tests).
pub fn known_codes() -> impl Iterator<Item = String> {
    codes()
        .map(|e| e.0.to_owned())
        .chain(PAYOUTS.iter().map(|e| format!("{PAYOUT_PREFIX}{}", e.0)))
        .chain(DISPUTES.iter().map(|e| format!("{DISPUTE_PREFIX}{}", e.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Category::{Auth, BadParams, Config, RateLimit, Transient};
    use Severity::{Critical, Info, Warning};
    use proptest::prelude::*;

    #[test]
    fn table() {
        let cases: &[(&str, Option<u16>, Category, Severity, bool)] = &[
            ("card_declined", Some(402), BadParams, Info, false),
            ("insufficient_funds", None, BadParams, Info, false),
            ("expired_card", None, BadParams, Info, false),
            ("incorrect_cvc", None, BadParams, Info, false),
            ("processing_error", None, Transient, Info, true),
            ("fraudulent", None, BadParams, Warning, false),
            ("rate_limit", Some(429), RateLimit, Warning, true),
            ("api_key_expired", Some(401), Auth, Critical, false),
            ("authentication_required", None, BadParams, Info, false),
            ("idempotency_error", Some(400), BadParams, Info, false),
            ("idempotency_key_in_use", Some(409), Transient, Info, true),
            ("resource_missing", Some(404), BadParams, Info, false),
            ("parameter_missing", Some(400), BadParams, Info, false),
            (
                "parameter_invalid_integer",
                Some(400),
                BadParams,
                Info,
                false,
            ),
            ("payout:account_closed", None, Config, Critical, false),
            ("payout:insufficient_funds", None, Config, Warning, false),
            ("payout:could_not_process", None, Transient, Warning, true),
            ("dispute:fraudulent", None, BadParams, Warning, false),
            (
                "dispute:product_not_received",
                None,
                BadParams,
                Warning,
                false,
            ),
            ("highest_risk_level", None, BadParams, Warning, false),
            ("invoice.payment_failed", None, BadParams, Info, true),
            ("payout.failed", None, Config, Critical, false),
            (WEBHOOK_DELIVERY_FAILING, None, Config, Warning, true),
        ];
        for (code, status, category, severity, retryable) in cases {
            let c = classify(code, *status);
            assert_eq!(c.category, *category, "{code}");
            assert_eq!(c.severity, *severity, "{code}");
            assert_eq!(c.retryable, *retryable, "{code}");
            assert!(c.known, "{code}");
            assert!(!c.remediation.is_empty(), "{code}");
        }
    }

    #[test]
    fn namespaces_keep_shared_spellings_apart() {
        let decline = classify("insufficient_funds", None);
        let payout = classify("payout:insufficient_funds", None);
        let dispute = classify("dispute:insufficient_funds", None);
        assert_eq!(decline.category, BadParams);
        assert_eq!(payout.category, Config);
        assert_eq!(dispute.severity, Warning);
        assert_ne!(decline.remediation, payout.remediation);
        assert_ne!(payout.remediation, dispute.remediation);
    }

    #[test]
    fn unknown_codes_fall_back_and_say_so() {
        let c = classify("brand_new_code", Some(429));
        assert_eq!(c.category, RateLimit);
        assert!(!c.known);
        let c = classify("brand_new_code", Some(503));
        assert_eq!(c.category, Transient);
        assert!(c.retryable);
        assert_eq!(classify("brand_new_code", None).category, Transient);
        let c = classify("dispute:new_reason", None);
        assert_eq!(c.severity, Warning);
        assert!(!c.known);
        let c = classify("payout:new_failure", None);
        assert_eq!(c.category, Config);
        assert!(!c.known);
    }

    #[test]
    fn api_errors_prefer_code_then_status_then_type() {
        let err = |kind: &str, code: Option<&str>| ApiErrors {
            kind: Some(kind.to_owned()),
            code: code.map(str::to_owned),
            ..ApiErrors::default()
        };
        let (code, c) = classify_api_error(&err("invalid_request_error", None), 401);
        assert_eq!(code, "invalid_request_error");
        assert_eq!(c.category, Auth);
        let (code, c) = classify_api_error(&err("invalid_request_error", Some("rate_limit")), 429);
        assert_eq!(code, "rate_limit");
        assert!(c.known && c.category == RateLimit);
        let (code, c) = classify_api_error(&err("api_error", None), 500);
        assert_eq!(code, "api_error");
        assert!(c.known && c.retryable);
        let (code, c) = classify_api_error(&err("card_error", Some("card_declined")), 402);
        assert_eq!(code, "card_declined");
        assert_eq!(c.category, BadParams);
        let (code, c) = classify_api_error(&ApiErrors::default(), 400);
        assert_eq!(code, "http_error");
        assert_eq!(c.category, BadParams);
    }

    #[test]
    fn tables_have_no_duplicates_and_every_entry_has_advice() {
        let mut all: Vec<String> = known_codes().collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n, "duplicate codes");
        for code in known_codes() {
            let c = classify(&code, None);
            assert!(c.known, "{code}");
            assert!(c.remediation.ends_with('.'), "{code}: {}", c.remediation);
        }
    }

    proptest! {
        #[test]
        fn any_string_classifies(code in ".{0,80}", status in proptest::option::of(100u16..600)) {
            let c = classify(&code, status);
            let trimmed = code.trim();
            if known_codes().any(|k| k == trimmed) {
                // A listed code gets its own row whatever the status.
                prop_assert!(c.known);
                prop_assert_eq!(&c, &classify(trimmed, None));
                prop_assert_ne!(&c.remediation, &Classification::fallback(status).remediation);
            } else if trimmed.starts_with(PAYOUT_PREFIX) {
                prop_assert_eq!(c, from_entry(&PAYOUT_GENERIC, false));
            } else if trimmed.starts_with(DISPUTE_PREFIX) {
                prop_assert_eq!(c, from_entry(&DISPUTE_GENERIC, false));
            } else {
                // Anything else is exactly the status fallback, marked unknown.
                prop_assert_eq!(c, Classification::fallback(status));
            }
        }

        #[test]
        fn listed_codes_classify_as_their_row(index in 0usize..codes().count(), status in proptest::option::of(100u16..600)) {
            let e = codes().nth(index).expect("a row");
            let c = classify(&format!(" {} ", e.0), status);
            prop_assert_eq!(
                (c.category, c.severity, c.retryable, c.remediation.as_str(), c.known),
                (e.1, e.2, e.3, e.4, true)
            );
        }

        #[test]
        fn any_prefixed_string_classifies(rest in "[a-z_]{0,30}") {
            let dispute = classify(&format!("dispute:{rest}"), None);
            let payout = classify(&format!("payout:{rest}"), None);
            let (d, p) = (lookup(DISPUTES, &rest), lookup(PAYOUTS, &rest));
            prop_assert_eq!(&dispute, &from_entry(d.unwrap_or(&DISPUTE_GENERIC), d.is_some()));
            prop_assert_eq!(&payout, &from_entry(p.unwrap_or(&PAYOUT_GENERIC), p.is_some()));
            // The namespaces never fall back to the status table.
            prop_assert_ne!(&dispute.remediation, &Classification::fallback(None).remediation);
            prop_assert_ne!(&payout.remediation, &Classification::fallback(None).remediation);
        }
    }
}
