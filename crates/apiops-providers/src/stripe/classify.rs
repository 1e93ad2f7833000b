//! Stripe's codes, classified: API error codes and types, card decline codes, payout failure
//! codes (as `payout:<code>`), dispute reasons (as `dispute:<reason>`), Radar outcome reasons,
//! the failure event types used when an event carries no code, and apiops' own
//! `webhook_delivery_failing`. Pure tables and lookups; nothing here does I/O.
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

use apiops_core::{Category, Classification, Severity};

use super::client::ApiErrors;

/// Prefix of payout failure codes in events (`payout:account_closed`).
pub const PAYOUT_PREFIX: &str = "payout:";

/// Prefix of dispute reasons in events (`dispute:fraudulent`).
pub const DISPUTE_PREFIX: &str = "dispute:";

/// apiops' code for an event Stripe has not delivered to every endpoint yet.
pub const WEBHOOK_DELIVERY_FAILING: &str = "webhook_delivery_failing";

use Category::{Auth, BadParams, Config, RateLimit, Transient};
use Severity::{Critical, Info, Warning};

/// (code, category, severity, retryable, remediation)
type Entry = (&'static str, Category, Severity, bool, &'static str);

const DECLINE_OTHER_METHOD: &str =
    "The issuer declined the card: ask the customer for another payment method.";

/// API error codes and types, decline codes, Radar reasons and failure event types.
const CODES: &[Entry] = &[
    // Credentials and account.
    (
        "api_key_expired",
        Auth,
        Critical,
        false,
        "The API key has expired: roll a new key in the Dashboard and update STRIPE_SECRET_KEY.",
    ),
    (
        "platform_api_key_expired",
        Auth,
        Critical,
        false,
        "The platform's API key has expired: roll a new key and update the platform's configuration.",
    ),
    (
        "secret_key_required",
        Auth,
        Critical,
        false,
        "A publishable key was used where a secret key is required: set STRIPE_SECRET_KEY to an sk_ or rk_ key.",
    ),
    (
        "account_invalid",
        Config,
        Critical,
        false,
        "The Stripe-Account header names an account this key cannot act for: check the connected account id.",
    ),
    (
        "livemode_mismatch",
        Config,
        Critical,
        false,
        "A test-mode object was used with a live key (or the reverse): keep keys and object ids in the same mode.",
    ),
    (
        "testmode_charges_only",
        Config,
        Critical,
        false,
        "The account can only take test charges: finish activating it in the Dashboard before using live keys.",
    ),
    (
        "tls_version_unsupported",
        Config,
        Critical,
        false,
        "The client's TLS version is too old for Stripe: upgrade the TLS library.",
    ),
    (
        "country_unsupported",
        Config,
        Critical,
        false,
        "The account's country does not support this feature: check Stripe's country availability.",
    ),
    (
        "not_allowed_on_standard_account",
        Config,
        Critical,
        false,
        "This operation is not allowed on Standard connected accounts: use the connected account's own integration.",
    ),
    (
        "platform_account_required",
        Config,
        Critical,
        false,
        "Only Connect platforms can do this: use the platform's key.",
    ),
    (
        "payouts_not_allowed",
        Config,
        Critical,
        false,
        "Payouts are disabled on this account: check the account's requirements in the Dashboard.",
    ),
    (
        "transfers_not_allowed",
        Config,
        Critical,
        false,
        "Transfers are disabled on this account: check the account's capabilities.",
    ),
    (
        "instant_payouts_config_disabled",
        Config,
        Critical,
        false,
        "Instant Payouts are not enabled for this account: enable them in the Dashboard or use standard payouts.",
    ),
    (
        "payment_method_unactivated",
        Config,
        Critical,
        false,
        "This payment method type is not activated on the account: activate it in the Dashboard's payment method settings.",
    ),
    (
        "balance_insufficient",
        Config,
        Warning,
        false,
        "The available balance does not cover this transfer or payout: wait for pending funds or lower the amount.",
    ),
    // Throttling and concurrency.
    (
        "rate_limit",
        RateLimit,
        Warning,
        true,
        "Too many requests: back off exponentially and stay under Stripe's per-second limits.",
    ),
    (
        "lock_timeout",
        Transient,
        Info,
        true,
        "Another request was updating the same object: retry shortly with the same idempotency key.",
    ),
    (
        "idempotency_key_in_use",
        Transient,
        Info,
        true,
        "A request with the same idempotency key is still in flight: retry after it finishes.",
    ),
    (
        "card_decline_rate_limit_exceeded",
        RateLimit,
        Warning,
        false,
        "This card was declined too often in 24 hours: stop retrying it and ask the customer for another payment method.",
    ),
    // Error types, used when an error carries no code.
    (
        "api_error",
        Transient,
        Info,
        true,
        "Stripe had an internal problem: retry with the same idempotency key, and check status.stripe.com if it persists.",
    ),
    ("card_error", BadParams, Info, false, DECLINE_OTHER_METHOD),
    (
        "idempotency_error",
        BadParams,
        Info,
        false,
        "An idempotency key was reused with different parameters: use a fresh key for each distinct request.",
    ),
    (
        "invalid_request_error",
        BadParams,
        Info,
        false,
        "Stripe rejected the request as invalid: check its parameters against the API reference.",
    ),
    // Request problems.
    (
        "resource_missing",
        BadParams,
        Info,
        false,
        "No such object: check the id, and that it belongs to this account and mode (test or live).",
    ),
    (
        "resource_already_exists",
        BadParams,
        Info,
        false,
        "An object with this id already exists: retrieve it instead of creating it.",
    ),
    (
        "parameter_missing",
        BadParams,
        Info,
        false,
        "A required parameter is missing: add it (the error's param names it).",
    ),
    (
        "parameter_unknown",
        BadParams,
        Info,
        false,
        "Stripe does not know a parameter: check its spelling and the pinned API version.",
    ),
    (
        "parameter_invalid_empty",
        BadParams,
        Info,
        false,
        "A parameter was sent empty: send a value or leave it out.",
    ),
    (
        "parameter_invalid_integer",
        BadParams,
        Info,
        false,
        "A parameter must be an integer within range: fix the value.",
    ),
    (
        "parameter_invalid_string_blank",
        BadParams,
        Info,
        false,
        "A parameter is blank: send a value or leave it out.",
    ),
    (
        "parameter_invalid_string_empty",
        BadParams,
        Info,
        false,
        "A parameter is an empty string: send a value or leave it out.",
    ),
    (
        "parameters_exclusive",
        BadParams,
        Info,
        false,
        "Two parameters cannot be sent together: send only one.",
    ),
    (
        "url_invalid",
        BadParams,
        Info,
        false,
        "A URL parameter is not a valid URL: send an absolute https URL.",
    ),
    (
        "email_invalid",
        BadParams,
        Info,
        false,
        "An email address is malformed: validate it before sending.",
    ),
    (
        "amount_too_small",
        BadParams,
        Info,
        false,
        "The amount is below the minimum for the currency: raise it.",
    ),
    (
        "amount_too_large",
        BadParams,
        Info,
        false,
        "The amount is above the maximum: lower it or split the payment.",
    ),
    (
        "invalid_charge_amount",
        BadParams,
        Info,
        false,
        "The amount is not valid: send a positive integer in the smallest currency unit.",
    ),
    (
        "invalid_characters",
        BadParams,
        Info,
        false,
        "A field holds characters Stripe does not accept (often the statement descriptor): remove them.",
    ),
    (
        "postal_code_invalid",
        BadParams,
        Info,
        false,
        "The postal code is not valid: ask the customer to correct it.",
    ),
    (
        "country_code_invalid",
        BadParams,
        Info,
        false,
        "The country code is not valid: send a two-letter ISO code.",
    ),
    (
        "tax_id_invalid",
        BadParams,
        Info,
        false,
        "The tax id is not valid for its type: check its format.",
    ),
    (
        "token_already_used",
        BadParams,
        Info,
        false,
        "A token can be used once: create a new one, or save the payment method to a customer.",
    ),
    (
        "charge_already_captured",
        BadParams,
        Info,
        false,
        "The charge was already captured: nothing to do.",
    ),
    (
        "charge_already_refunded",
        BadParams,
        Info,
        false,
        "The charge was already refunded in full: nothing to do.",
    ),
    (
        "charge_disputed",
        BadParams,
        Info,
        false,
        "The charge is disputed and cannot be refunded: answer the dispute instead.",
    ),
    (
        "charge_expired_for_capture",
        BadParams,
        Info,
        false,
        "The authorization expired before capture: create a new payment.",
    ),
    (
        "intent_invalid_state",
        BadParams,
        Info,
        false,
        "The intent is not in a state that allows this: retrieve it and act on its status.",
    ),
    (
        "payment_intent_unexpected_state",
        BadParams,
        Info,
        false,
        "The PaymentIntent is not in a state that allows this: retrieve it and act on its status.",
    ),
    (
        "setup_intent_unexpected_state",
        BadParams,
        Info,
        false,
        "The SetupIntent is not in a state that allows this: retrieve it and act on its status.",
    ),
    (
        "status_transition_invalid",
        BadParams,
        Info,
        false,
        "The status change is not allowed: check the object's lifecycle.",
    ),
    (
        "out_of_inventory",
        BadParams,
        Info,
        false,
        "The item is out of stock: update inventory or the order.",
    ),
    (
        "payment_intent_authentication_failure",
        BadParams,
        Info,
        false,
        "The customer did not complete authentication (3D Secure): ask them to try again.",
    ),
    (
        "setup_intent_authentication_failure",
        BadParams,
        Info,
        false,
        "The customer did not complete authentication (3D Secure): ask them to try again.",
    ),
    (
        "payment_intent_payment_attempt_failed",
        BadParams,
        Info,
        false,
        "The payment attempt failed: ask the customer for another payment method.",
    ),
    (
        "payment_intent_payment_attempt_expired",
        BadParams,
        Info,
        false,
        "The customer did not finish the payment in time: start a new attempt.",
    ),
    (
        "setup_attempt_failed",
        BadParams,
        Info,
        false,
        "Saving the payment method failed: ask the customer for another one.",
    ),
    (
        "payment_method_provider_decline",
        BadParams,
        Info,
        false,
        "The payment provider declined: ask the customer for another payment method.",
    ),
    (
        "payment_method_customer_decline",
        BadParams,
        Info,
        false,
        "The customer declined the payment: nothing to retry.",
    ),
    (
        "payment_method_not_available",
        Transient,
        Info,
        true,
        "The payment method is temporarily unavailable: retry later or offer another method.",
    ),
    (
        "payment_method_provider_timeout",
        Transient,
        Info,
        true,
        "The payment provider timed out: retry with the same idempotency key.",
    ),
    (
        "payment_method_currency_mismatch",
        BadParams,
        Info,
        false,
        "The payment method does not support this currency: use another method or currency.",
    ),
    (
        "payment_method_unsupported_type",
        BadParams,
        Info,
        false,
        "The payment method type is not supported here: check the allowed payment_method_types.",
    ),
    (
        "bank_account_declined",
        BadParams,
        Info,
        false,
        "The bank account cannot be charged: ask the customer for another one.",
    ),
    (
        "bank_account_unusable",
        BadParams,
        Info,
        false,
        "The bank account cannot be used: ask the customer for another one.",
    ),
    (
        "bank_account_unverified",
        BadParams,
        Info,
        false,
        "The bank account is not verified yet: complete verification (microdeposits or instant).",
    ),
    (
        "bank_account_verification_failed",
        BadParams,
        Info,
        false,
        "Bank account verification failed: ask the customer to re-enter or re-verify it.",
    ),
    (
        "debit_not_authorized",
        BadParams,
        Info,
        false,
        "The customer's bank reports the debit was not authorized: collect a new mandate before retrying.",
    ),
    (
        "account_closed",
        BadParams,
        Info,
        false,
        "The customer's bank account is closed: ask for another payment method.",
    ),
    (
        "no_account",
        BadParams,
        Info,
        false,
        "The customer's bank account could not be found: ask them to check the details.",
    ),
    (
        "invalid_card_type",
        BadParams,
        Info,
        false,
        "This card type is not supported here: ask for another card.",
    ),
    (
        "invalid_number",
        BadParams,
        Info,
        false,
        "The card number is not valid: ask the customer to check it.",
    ),
    (
        "invalid_expiry_month",
        BadParams,
        Info,
        false,
        "The expiry month is not valid: ask the customer to check it.",
    ),
    (
        "invalid_expiry_year",
        BadParams,
        Info,
        false,
        "The expiry year is not valid: ask the customer to check it.",
    ),
    (
        "invalid_cvc",
        BadParams,
        Info,
        false,
        "The security code is not valid: ask the customer to check it.",
    ),
    (
        "incorrect_address",
        BadParams,
        Info,
        false,
        "The address does not match the card's: ask the customer to check it.",
    ),
    // Card declines (decline codes, and the error codes that mirror them).
    (
        "card_declined",
        BadParams,
        Info,
        false,
        DECLINE_OTHER_METHOD,
    ),
    (
        "generic_decline",
        BadParams,
        Info,
        false,
        "The issuer declined without a reason: the customer should call their bank or use another card.",
    ),
    (
        "do_not_honor",
        BadParams,
        Info,
        false,
        "The issuer declined without a reason: the customer should call their bank or use another card.",
    ),
    (
        "call_issuer",
        BadParams,
        Info,
        false,
        "The issuer asks the customer to call them: ask the customer to contact their bank.",
    ),
    (
        "approve_with_id",
        BadParams,
        Info,
        false,
        "The issuer could not authorize this payment: retry once; if it fails again, the customer should call their bank.",
    ),
    (
        "no_action_taken",
        BadParams,
        Info,
        false,
        "The issuer declined without a reason: the customer should call their bank or use another card.",
    ),
    (
        "insufficient_funds",
        BadParams,
        Info,
        false,
        "The card has insufficient funds: ask the customer for another payment method, or retry later (subscriptions: Smart Retries).",
    ),
    (
        "withdrawal_count_limit_exceeded",
        BadParams,
        Info,
        false,
        "The customer exceeded their card's limit: ask for another payment method.",
    ),
    (
        "card_velocity_exceeded",
        BadParams,
        Info,
        false,
        "The customer exceeded their card's balance or credit limit: ask for another payment method.",
    ),
    (
        "expired_card",
        BadParams,
        Info,
        false,
        "The card has expired: ask the customer to update their card.",
    ),
    (
        "incorrect_cvc",
        BadParams,
        Info,
        false,
        "The security code was wrong: ask the customer to re-enter it.",
    ),
    (
        "incorrect_number",
        BadParams,
        Info,
        false,
        "The card number was wrong: ask the customer to re-enter it.",
    ),
    (
        "incorrect_zip",
        BadParams,
        Info,
        false,
        "The postal code was wrong: ask the customer to re-enter it.",
    ),
    (
        "incorrect_pin",
        BadParams,
        Info,
        false,
        "The PIN was wrong: ask the customer to try again.",
    ),
    (
        "invalid_pin",
        BadParams,
        Info,
        false,
        "The PIN was not valid: ask the customer to try again.",
    ),
    (
        "pin_try_exceeded",
        BadParams,
        Info,
        false,
        "Too many wrong PIN attempts: the customer must use another card or contact their bank.",
    ),
    (
        "offline_pin_required",
        BadParams,
        Info,
        false,
        "The card needs a PIN: retry by inserting the card.",
    ),
    (
        "online_or_offline_pin_required",
        BadParams,
        Info,
        false,
        "The card needs a PIN: retry by inserting the card.",
    ),
    (
        "invalid_account",
        BadParams,
        Info,
        false,
        "The card or its account is not valid: ask for another payment method.",
    ),
    (
        "invalid_amount",
        BadParams,
        Info,
        false,
        "The issuer rejected the amount: check it, or ask the customer to call their bank.",
    ),
    (
        "currency_not_supported",
        BadParams,
        Info,
        false,
        "The card does not support this currency: charge in another currency or ask for another card.",
    ),
    (
        "card_not_supported",
        BadParams,
        Info,
        false,
        "The card does not support this kind of purchase: ask for another card.",
    ),
    (
        "transaction_not_allowed",
        BadParams,
        Info,
        false,
        "The card does not allow this purchase: ask for another card.",
    ),
    (
        "not_permitted",
        BadParams,
        Info,
        false,
        "The payment is not permitted on this card: ask for another payment method.",
    ),
    (
        "service_not_allowed",
        BadParams,
        Info,
        false,
        "The card does not allow this service: ask for another card.",
    ),
    (
        "duplicate_transaction",
        BadParams,
        Info,
        false,
        "An identical payment was made moments ago: check for a double submission before retrying.",
    ),
    (
        "new_account_information_available",
        BadParams,
        Info,
        false,
        "The card's details changed: ask the customer to update their card.",
    ),
    (
        "stop_payment_order",
        BadParams,
        Info,
        false,
        "The customer asked their bank to stop this payment: do not retry; contact the customer.",
    ),
    (
        "revocation_of_authorization",
        BadParams,
        Info,
        false,
        "The customer revoked this recurring payment: do not retry; contact the customer.",
    ),
    (
        "revocation_of_all_authorizations",
        BadParams,
        Info,
        false,
        "The customer revoked all recurring payments: do not retry; contact the customer.",
    ),
    (
        "do_not_try_again",
        BadParams,
        Info,
        false,
        "The issuer says never to retry this card: ask for another payment method.",
    ),
    (
        "authentication_required",
        BadParams,
        Info,
        false,
        "The issuer requires authentication (3D Secure): bring the customer on-session to confirm the payment.",
    ),
    (
        "testmode_decline",
        BadParams,
        Info,
        false,
        "A Stripe test card was used in live mode: the customer must use a real card.",
    ),
    (
        "fraudulent",
        BadParams,
        Warning,
        false,
        "The issuer suspects fraud: do not retry and do not tell the customer why; review the payment in Radar.",
    ),
    (
        "stolen_card",
        BadParams,
        Warning,
        false,
        "The card is reported stolen: do not retry and do not tell the customer why; review the payment in Radar.",
    ),
    (
        "lost_card",
        BadParams,
        Warning,
        false,
        "The card is reported lost: do not retry and do not tell the customer why; review the payment in Radar.",
    ),
    (
        "pickup_card",
        BadParams,
        Warning,
        false,
        "The issuer asks to retain the card (likely lost or stolen): do not retry; review the payment in Radar.",
    ),
    (
        "restricted_card",
        BadParams,
        Warning,
        false,
        "The card cannot be used (possibly reported lost or stolen): do not retry; ask for another payment method.",
    ),
    (
        "security_violation",
        BadParams,
        Warning,
        false,
        "The issuer flagged a security violation: do not retry; ask for another payment method.",
    ),
    (
        "merchant_blacklist",
        BadParams,
        Warning,
        false,
        "The payment matches your block list: do not retry; review it in Radar.",
    ),
    (
        "processing_error",
        Transient,
        Info,
        true,
        "A processing error at the issuer or network: retry the payment; if it keeps failing, use another method.",
    ),
    (
        "try_again_later",
        Transient,
        Info,
        true,
        "The issuer asks to retry later: retry after a short wait.",
    ),
    (
        "issuer_not_available",
        Transient,
        Info,
        true,
        "The issuer could not be reached: retry the payment.",
    ),
    (
        "reenter_transaction",
        Transient,
        Info,
        true,
        "The issuer could not process this payment: retry it.",
    ),
    // Radar outcomes (a charge's `outcome.reason` when Radar blocked it).
    (
        "highest_risk_level",
        BadParams,
        Warning,
        false,
        "Radar blocked the payment as highest risk: do not retry; review it in Radar.",
    ),
    (
        "elevated_risk_level",
        BadParams,
        Warning,
        false,
        "Radar flagged the payment as elevated risk: review it in Radar.",
    ),
    (
        "rule",
        BadParams,
        Warning,
        false,
        "One of your Radar rules blocked the payment: review the rule and the payment in Radar.",
    ),
    // Failure events that carry no code.
    (
        "charge.failed",
        BadParams,
        Info,
        false,
        DECLINE_OTHER_METHOD,
    ),
    (
        "payment_intent.payment_failed",
        BadParams,
        Info,
        false,
        "The payment failed: ask the customer for another payment method.",
    ),
    (
        "setup_intent.setup_failed",
        BadParams,
        Info,
        false,
        "Saving the payment method failed: ask the customer for another one.",
    ),
    (
        "invoice.payment_failed",
        BadParams,
        Info,
        true,
        "The invoice payment failed: Stripe retries it on the subscription's schedule; ask the customer to update their payment method.",
    ),
    (
        "payout.failed",
        Config,
        Critical,
        false,
        "A payout failed: check the payout bank account in the Dashboard.",
    ),
    (
        "charge.dispute.created",
        BadParams,
        Warning,
        false,
        "A customer disputed a payment: submit evidence in the Dashboard before the due date, or accept it.",
    ),
    // apiops' own code for undelivered events (see the module documentation).
    (
        WEBHOOK_DELIVERY_FAILING,
        Config,
        Warning,
        true,
        "A webhook endpoint is not acknowledging events: check that it answers 2xx within 10 seconds and verifies signatures with the right secret; Stripe retries for up to 3 days, after that fetch the events from GET /v1/events.",
    ),
];

const PAYOUT_GENERIC: Entry = (
    "",
    Config,
    Critical,
    false,
    "A payout failed: check the payout bank account in the Dashboard.",
);

/// Payout failure codes (the part after `payout:`).
const PAYOUTS: &[Entry] = &[
    (
        "account_closed",
        Config,
        Critical,
        false,
        "The payout bank account is closed: add a new bank account for payouts.",
    ),
    (
        "account_frozen",
        Config,
        Critical,
        false,
        "The payout bank account is frozen: contact the bank, or add another account.",
    ),
    (
        "bank_account_restricted",
        Config,
        Critical,
        false,
        "The payout bank account does not accept this kind of payout: add another account.",
    ),
    (
        "bank_ownership_changed",
        Config,
        Critical,
        false,
        "The payout bank account changed hands: add the new account details.",
    ),
    (
        "could_not_process",
        Transient,
        Warning,
        true,
        "The bank could not process the payout: Stripe retries; contact Stripe support if it keeps failing.",
    ),
    (
        "debit_not_authorized",
        Config,
        Critical,
        false,
        "Debits to the payout account are not authorized: authorize Stripe with the bank, or add another account.",
    ),
    (
        "declined",
        Config,
        Critical,
        false,
        "The bank declined the payout: contact the bank, or add another account.",
    ),
    (
        "incorrect_account_holder_address",
        Config,
        Critical,
        false,
        "The account holder's address does not match the bank's: correct it.",
    ),
    (
        "incorrect_account_holder_name",
        Config,
        Critical,
        false,
        "The account holder's name does not match the bank's: correct it.",
    ),
    (
        "incorrect_account_holder_tax_id",
        Config,
        Critical,
        false,
        "The account holder's tax id does not match the bank's: correct it.",
    ),
    (
        "insufficient_funds",
        Config,
        Warning,
        false,
        "The Stripe balance could not cover the payout (refunds or disputes drew it down): wait for funds or lower payout amounts.",
    ),
    (
        "invalid_account_number",
        Config,
        Critical,
        false,
        "The payout account number is wrong: correct the bank account details.",
    ),
    (
        "invalid_currency",
        Config,
        Critical,
        false,
        "The payout account does not take this currency: add an account in that currency.",
    ),
    (
        "no_account",
        Config,
        Critical,
        false,
        "The bank cannot find the payout account: correct the bank account details.",
    ),
    (
        "unsupported_card",
        Config,
        Critical,
        false,
        "The payout card does not accept payouts: add a bank account or another card.",
    ),
];

const DISPUTE_GENERIC: Entry = (
    "",
    BadParams,
    Warning,
    false,
    "A customer disputed a payment: submit evidence in the Dashboard before the due date, or accept it.",
);

/// Dispute reasons (the part after `dispute:`).
const DISPUTES: &[Entry] = &[
    (
        "bank_cannot_process",
        BadParams,
        Warning,
        false,
        "The bank could not process the payment: submit evidence it was authorized and delivered before the due date.",
    ),
    (
        "check_returned",
        BadParams,
        Warning,
        false,
        "A check payment was returned: collect payment another way, or submit evidence.",
    ),
    (
        "credit_not_processed",
        BadParams,
        Warning,
        false,
        "The customer expected a refund: show it was issued or not owed, or refund now.",
    ),
    (
        "customer_initiated",
        BadParams,
        Warning,
        false,
        "The customer asked their bank to reverse the payment: submit evidence before the due date.",
    ),
    (
        "debit_not_authorized",
        BadParams,
        Warning,
        false,
        "The customer says the debit was not authorized: submit the signed mandate before the due date.",
    ),
    (
        "duplicate",
        BadParams,
        Warning,
        false,
        "The customer says they were charged twice: show the charges are distinct, or refund the duplicate.",
    ),
    (
        "fraudulent",
        BadParams,
        Warning,
        false,
        "The cardholder says they did not make the payment: submit evidence (AVS/CVC results, delivery, customer history) before the due date, and review Radar rules.",
    ),
    (
        "general",
        BadParams,
        Warning,
        false,
        "A dispute without a specific reason: submit evidence before the due date.",
    ),
    (
        "incorrect_account_details",
        BadParams,
        Warning,
        false,
        "The bank says the account details were wrong: verify them and collect payment again.",
    ),
    (
        "insufficient_funds",
        BadParams,
        Warning,
        false,
        "The customer's account lacked funds when the debit settled: collect payment again.",
    ),
    (
        "product_not_received",
        BadParams,
        Warning,
        false,
        "The customer says they did not receive the product: submit proof of delivery before the due date.",
    ),
    (
        "product_unacceptable",
        BadParams,
        Warning,
        false,
        "The customer says the product was defective or not as described: submit the description and terms, or refund.",
    ),
    (
        "subscription_canceled",
        BadParams,
        Warning,
        false,
        "The customer says they had cancelled: submit the cancellation policy and proof of use, or refund.",
    ),
    (
        "unrecognized",
        BadParams,
        Warning,
        false,
        "The customer does not recognize the payment: make the statement descriptor recognizable, and submit evidence before the due date.",
    ),
];

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
    match lookup(CODES, code) {
        Some(e) => from_entry(e, true),
        None => Classification::fallback(http_status),
    }
}

/// The code to report for an error answer and its classification: the error's `code` when it
/// has one; otherwise, for statuses that say more than Stripe's broad error `type` (401, 403,
/// 429, 5xx), the HTTP fallback under the type's name; otherwise the `type`.
pub fn classify_api_error(error: &ApiErrors, status: u16) -> (String, Classification) {
    if let Some(code) = error.code.as_deref().filter(|c| !c.is_empty()) {
        return (code.to_owned(), classify(code, Some(status)));
    }
    let kind = error
        .kind
        .as_deref()
        .filter(|k| !k.is_empty())
        .unwrap_or("http_error");
    if matches!(status, 401 | 403 | 429) || status >= 500 {
        let mut c = Classification::fallback(Some(status));
        // A 5xx `api_error` is in the table; keep its more specific advice.
        if status >= 500 && kind == "api_error" {
            c = classify(kind, Some(status));
        }
        return (kind.to_owned(), c);
    }
    (kind.to_owned(), classify(kind, Some(status)))
}

/// Every code the tables know, namespaced codes with their prefix (for documentation and
/// tests).
pub fn known_codes() -> impl Iterator<Item = String> {
    CODES
        .iter()
        .map(|e| e.0.to_owned())
        .chain(PAYOUTS.iter().map(|e| format!("{PAYOUT_PREFIX}{}", e.0)))
        .chain(DISPUTES.iter().map(|e| format!("{DISPUTE_PREFIX}{}", e.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
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
        fn listed_codes_classify_as_their_row(index in 0usize..CODES.len(), status in proptest::option::of(100u16..600)) {
            let e = &CODES[index];
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
