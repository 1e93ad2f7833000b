//! OpenAI's codes, classified: API error codes and types, batch error codes, fine-tuning job
//! error codes, and the codes apiops uses for a failed or expired job that carries none
//! (`batch_failed`, `batch_expired`, `fine_tuning_failed`). Pure tables and lookups.
//!
//! Choices worth knowing:
//! - `insufficient_quota` (HTTP 429, like throttling) is **not** a rate limit: the credits or the
//!   monthly budget are exhausted and no amount of waiting helps until someone changes the
//!   billing settings. It is `config` (an account setting, not a credential), `critical`, and
//!   not retryable; `exceeded_quota` and the billing codes are classified the same way.
//! - `rate_limit_exceeded` and the 429 types `requests`/`tokens` are `rate_limit`, `warning`,
//!   retryable after the reset the headers announce; the batch queue's
//!   `token_limit_exceeded` too.
//! - `model_not_found` and `unsupported_country_region_territory` are `config`: the request is
//!   fine, the model id or where it is sent from is not.
//! - Batch and fine-tuning input problems (`invalid_json_line`, `invalid_training_file`...) are
//!   `bad_params`; `batch_expired` is `transient` at `warning` (the work was not done in the
//!   completion window; resubmitting the rest usually succeeds).
//! - Unknown codes fall back by HTTP status ([`Classification::fallback`]) with
//!   `known = false`.

use apiops_core::{Category, Classification, Severity};

use super::client::ApiError;

/// apiops' code for a failed batch that lists no error.
pub const BATCH_FAILED: &str = "batch_failed";
/// apiops' code for an expired batch that lists no error (OpenAI's own code, too).
pub const BATCH_EXPIRED: &str = "batch_expired";
/// apiops' code for a failed fine-tuning job without an error code.
pub const FINE_TUNING_FAILED: &str = "fine_tuning_failed";

use Category::{Auth, BadParams, Config, RateLimit, Transient};
use Severity::{Critical, Info, Warning};

/// (code, category, severity, retryable, remediation)
type Entry = (&'static str, Category, Severity, bool, &'static str);

const CODES: &[Entry] = &[
    // Credentials and organization.
    (
        "invalid_api_key",
        Auth,
        Critical,
        false,
        "The API key was rejected: create a key at platform.openai.com/api-keys and update OPENAI_API_KEY.",
    ),
    (
        "account_deactivated",
        Auth,
        Critical,
        false,
        "The OpenAI account is deactivated: contact OpenAI support.",
    ),
    (
        "insufficient_permissions",
        Auth,
        Critical,
        false,
        "The key lacks permission for this endpoint: use a key with the needed scopes, or OPENAI_ADMIN_KEY for /organization endpoints.",
    ),
    (
        "missing_scope",
        Auth,
        Critical,
        false,
        "The restricted key lacks a scope this endpoint needs: add the scope to the key or use another key.",
    ),
    (
        "mismatched_organization",
        Config,
        Critical,
        false,
        "OPENAI_ORG_ID does not match the key's organization: fix or unset it.",
    ),
    (
        "mismatched_project",
        Config,
        Critical,
        false,
        "OPENAI_PROJECT_ID does not match the key's project: fix or unset it.",
    ),
    (
        "unsupported_country_region_territory",
        Config,
        Critical,
        false,
        "OpenAI does not serve requests from this country or region: run the integration from a supported location.",
    ),
    (
        "model_not_found",
        Config,
        Critical,
        false,
        "The model does not exist or this project cannot use it: check the model id (and its shutdown date) and the project's model access.",
    ),
    // Billing: not throttling (see the module documentation).
    (
        "insufficient_quota",
        Config,
        Critical,
        false,
        "Credits or the monthly budget are exhausted (not a rate limit; retrying will not help): add credits or raise the budget in the billing settings.",
    ),
    (
        "billing_hard_limit_reached",
        Config,
        Critical,
        false,
        "The billing hard limit was reached: raise it in the billing settings.",
    ),
    (
        "billing_not_active",
        Config,
        Critical,
        false,
        "Billing is not active on the account: add a payment method in the billing settings.",
    ),
    (
        "exceeded_quota",
        Config,
        Critical,
        false,
        "The job would exceed the billing limit: add credits or raise the budget, then re-create the job.",
    ),
    // Throttling.
    (
        "rate_limit_exceeded",
        RateLimit,
        Warning,
        true,
        "Too many requests or tokens per minute: back off until the x-ratelimit reset, spread traffic, or raise the project's limits.",
    ),
    (
        "requests",
        RateLimit,
        Warning,
        true,
        "Too many requests per minute: back off until the x-ratelimit-reset-requests time, or raise the limit.",
    ),
    (
        "tokens",
        RateLimit,
        Warning,
        true,
        "Too many tokens per minute: back off until the x-ratelimit-reset-tokens time, send smaller requests, or raise the limit.",
    ),
    (
        "token_limit_exceeded",
        RateLimit,
        Warning,
        true,
        "The organization's enqueued batch token limit was reached: wait for in-progress batches to finish, then resubmit (or request a higher limit).",
    ),
    // Server side.
    (
        "server_error",
        Transient,
        Info,
        true,
        "OpenAI had a server error: retry with backoff; check status.openai.com if it persists.",
    ),
    (
        "engine_overloaded",
        Transient,
        Info,
        true,
        "The model is overloaded: retry with backoff.",
    ),
    (
        "service_unavailable",
        Transient,
        Info,
        true,
        "OpenAI is temporarily unavailable: retry with backoff.",
    ),
    (
        "timeout",
        Transient,
        Info,
        true,
        "The request timed out: retry, or lower the work per request.",
    ),
    (
        BATCH_EXPIRED,
        Transient,
        Warning,
        true,
        "The batch did not finish within its completion window: resubmit the unfinished requests (see the error file), in smaller batches if it recurs.",
    ),
    // Requests.
    (
        "invalid_request_error",
        BadParams,
        Info,
        false,
        "OpenAI rejected the request: check its parameters against the API reference.",
    ),
    (
        "context_length_exceeded",
        BadParams,
        Info,
        false,
        "The prompt plus the completion exceed the model's context window: shorten or summarize the input, or lower max tokens.",
    ),
    (
        "invalid_value",
        BadParams,
        Info,
        false,
        "A parameter has a value OpenAI does not accept: fix it (the error's param names it).",
    ),
    (
        "invalid_type",
        BadParams,
        Info,
        false,
        "A parameter has the wrong type: fix it (the error's param names it).",
    ),
    (
        "missing_required_parameter",
        BadParams,
        Info,
        false,
        "A required parameter is missing: add it (the error's param names it).",
    ),
    (
        "unknown_parameter",
        BadParams,
        Info,
        false,
        "OpenAI does not know a parameter: remove it or check the endpoint.",
    ),
    (
        "unsupported_parameter",
        BadParams,
        Info,
        false,
        "The model does not support a parameter (e.g. max_tokens on reasoning models): use the supported one.",
    ),
    (
        "unsupported_value",
        BadParams,
        Info,
        false,
        "The model does not support a value: use a supported one.",
    ),
    (
        "integer_above_max_value",
        BadParams,
        Info,
        false,
        "A number is above its maximum: lower it.",
    ),
    (
        "integer_below_min_value",
        BadParams,
        Info,
        false,
        "A number is below its minimum: raise it.",
    ),
    (
        "string_above_max_length",
        BadParams,
        Info,
        false,
        "A string is too long: shorten it.",
    ),
    (
        "content_policy_violation",
        BadParams,
        Info,
        false,
        "The request was refused by the safety system: change the input.",
    ),
    (
        "invalid_prompt",
        BadParams,
        Info,
        false,
        "The prompt was refused by the safety system: change the input.",
    ),
    // Batches.
    (
        "invalid_json_line",
        BadParams,
        Info,
        false,
        "A line of the batch input file is not valid JSON: fix the line the error names and resubmit.",
    ),
    (
        "invalid_file_format",
        BadParams,
        Info,
        false,
        "The input file is not valid JSONL in the expected format: fix it and resubmit.",
    ),
    (
        "empty_file",
        BadParams,
        Info,
        false,
        "The input file is empty: upload the requests and resubmit.",
    ),
    (
        "duplicate_custom_id",
        BadParams,
        Info,
        false,
        "Two requests in the batch share a custom_id: make them unique and resubmit.",
    ),
    (
        "invalid_url",
        BadParams,
        Info,
        false,
        "A request's url does not match the batch endpoint: fix the input file and resubmit.",
    ),
    (
        "invalid_method",
        BadParams,
        Info,
        false,
        "A request's method is not allowed in a batch: use POST and resubmit.",
    ),
    (
        BATCH_FAILED,
        BadParams,
        Info,
        false,
        "The batch failed validation without listing errors: check its input file against the batch format and resubmit.",
    ),
    // Fine-tuning jobs.
    (
        "invalid_training_file",
        BadParams,
        Info,
        false,
        "The training file is not in the expected format: fix the examples the message names and re-create the job.",
    ),
    (
        "invalid_validation_file",
        BadParams,
        Info,
        false,
        "The validation file is not in the expected format: fix it and re-create the job.",
    ),
    (
        "invalid_n_examples",
        BadParams,
        Info,
        false,
        "The training file has too few examples (at least 10): add examples and re-create the job.",
    ),
    (
        FINE_TUNING_FAILED,
        BadParams,
        Info,
        false,
        "The fine-tuning job failed without an error code: read its events (GET /fine_tuning/jobs/{id}/events) and re-create it.",
    ),
];

fn lookup(code: &str) -> Option<&'static Entry> {
    CODES.iter().find(|e| e.0 == code)
}

/// Classifies an OpenAI code (an error `code` or `type`, a batch or fine-tuning error code).
/// Unknown codes fall back by `http_status`.
pub fn classify(code: &str, http_status: Option<u16>) -> Classification {
    match lookup(code.trim()) {
        Some(e) => Classification {
            category: e.1,
            severity: e.2,
            retryable: e.3,
            remediation: e.4.to_owned(),
            known: true,
        },
        None => Classification::fallback(http_status),
    }
}

/// The code to report for an error answer and its classification: the error's `code` when it
/// has one; otherwise its `type` when the table knows it (`requests`, `tokens`,
/// `insufficient_quota`, `server_error`), else the HTTP fallback under the type's name.
pub fn classify_api_error(error: &ApiError, status: u16) -> (String, Classification) {
    let by_type = |kind: &str| {
        let generic =
            kind == "invalid_request_error" && (matches!(status, 401 | 403 | 429) || status >= 500);
        if generic || lookup(kind).is_none() {
            Classification::fallback(Some(status))
        } else {
            classify(kind, Some(status))
        }
    };
    let (code, kind) = (error.code.as_deref(), error.kind.as_deref());
    crate::wire::classify_answer(code, kind, status, classify, by_type)
}

/// Every code the table knows.
pub fn known_codes() -> impl Iterator<Item = &'static str> {
    CODES.iter().map(|e| e.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        let cases: &[(&str, Option<u16>, Category, Severity, bool)] = &[
            ("invalid_api_key", Some(401), Auth, Critical, false),
            (
                "unsupported_country_region_territory",
                Some(403),
                Config,
                Critical,
                false,
            ),
            ("model_not_found", Some(404), Config, Critical, false),
            ("context_length_exceeded", Some(400), BadParams, Info, false),
            ("rate_limit_exceeded", Some(429), RateLimit, Warning, true),
            ("insufficient_quota", Some(429), Config, Critical, false),
            ("server_error", Some(500), Transient, Info, true),
            ("invalid_json_line", None, BadParams, Info, false),
            ("invalid_file_format", None, BadParams, Info, false),
            ("token_limit_exceeded", None, RateLimit, Warning, true),
            ("batch_expired", None, Transient, Warning, true),
            ("invalid_training_file", None, BadParams, Info, false),
            ("invalid_n_examples", None, BadParams, Info, false),
            ("exceeded_quota", None, Config, Critical, false),
            ("insufficient_permissions", Some(403), Auth, Critical, false),
        ];
        for (code, status, category, severity, retryable) in cases {
            let c = classify(code, *status);
            assert_eq!(c.category, *category, "{code}");
            assert_eq!(c.severity, *severity, "{code}");
            assert_eq!(c.retryable, *retryable, "{code}");
            assert!(c.known, "{code}");
        }
    }

    #[test]
    fn insufficient_quota_is_not_a_rate_limit() {
        let quota = classify("insufficient_quota", Some(429));
        assert_ne!(quota.category, RateLimit);
        assert!(!quota.retryable);
        assert_eq!(quota.severity, Critical);
        let err = ApiError {
            kind: Some("insufficient_quota".into()),
            code: None,
            ..ApiError::default()
        };
        let (code, c) = classify_api_error(&err, 429);
        assert_eq!(code, "insufficient_quota");
        assert_ne!(c.category, RateLimit);
        assert!(!c.retryable);
    }

    #[test]
    fn api_errors_prefer_code_then_known_type_then_status() {
        let err = |kind: Option<&str>, code: Option<&str>| ApiError {
            kind: kind.map(str::to_owned),
            code: code.map(str::to_owned),
            ..ApiError::default()
        };
        let (code, c) =
            classify_api_error(&err(Some("requests"), Some("rate_limit_exceeded")), 429);
        assert_eq!(code, "rate_limit_exceeded");
        assert_eq!(c.category, RateLimit);
        let (code, c) = classify_api_error(&err(Some("tokens"), None), 429);
        assert_eq!(code, "tokens");
        assert!(c.known);
        let (code, c) = classify_api_error(&err(Some("invalid_request_error"), None), 401);
        assert_eq!(code, "invalid_request_error");
        assert_eq!(c.category, Auth);
        let (code, c) = classify_api_error(&err(Some("invalid_request_error"), None), 400);
        assert_eq!(code, "invalid_request_error");
        assert_eq!(c.category, BadParams);
        let (code, c) = classify_api_error(&err(None, None), 503);
        assert_eq!(code, "http_error");
        assert_eq!(c.category, Transient);
        assert!(!c.known);
    }

    #[test]
    fn unknown_codes_fall_back() {
        let c = classify("something_new", Some(404));
        assert_eq!(c.category, Config);
        assert!(!c.known);
        assert_eq!(classify("something_new", None).category, Transient);
    }

    #[test]
    fn no_duplicates_and_advice_everywhere() {
        let mut all: Vec<&str> = known_codes().collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(n, all.len());
        for code in known_codes() {
            assert!(classify(code, None).remediation.ends_with('.'), "{code}");
        }
    }

    proptest! {
        #[test]
        fn any_string_classifies(code in ".{0,80}", status in proptest::option::of(100u16..600)) {
            let c = classify(&code, status);
            if known_codes().any(|k| k == code.trim()) {
                // A listed code gets its own row whatever the status: advice of its own, not
                // the status fallback's.
                prop_assert!(c.known);
                prop_assert_eq!(&c, &classify(code.trim(), None));
                prop_assert_ne!(&c.remediation, &Classification::fallback(status).remediation);
            } else {
                // Anything else is exactly the status fallback, marked unknown.
                prop_assert_eq!(c, Classification::fallback(status));
            }
        }

        #[test]
        fn listed_codes_classify_as_their_row(index in 0usize..CODES.len(), status in proptest::option::of(100u16..600)) {
            let e = &CODES[index];
            let c = classify(&format!(" {} ", e.0), status);
            prop_assert_eq!(
                (c.category, c.severity, c.retryable, c.remediation.as_str(), c.known),
                (e.1, e.2, e.3, e.4, true)
            );
        }
    }
}
