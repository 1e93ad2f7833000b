//! The codes Stripe events carry: failure event types (for events with no code), apiops' own
//! [`WEBHOOK_DELIVERY_FAILING`], payout failure codes and dispute reasons (looked up without
//! their `payout:` / `dispute:` prefix), as [`Entry`] rows for [`super::classify`]. Data only.

use apiops_core::{Category, Severity};

use super::{DECLINE_OTHER_METHOD, Entry, WEBHOOK_DELIVERY_FAILING};

use Category::{BadParams, Config, Transient};
use Severity::{Critical, Info, Warning};
/// Failure event types and apiops' own code, looked up after the decline codes.
pub(super) const EVENT_TYPES: &[Entry] = &[
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

pub(super) const PAYOUT_GENERIC: Entry = (
    "",
    Config,
    Critical,
    false,
    "A payout failed: check the payout bank account in the Dashboard.",
);

/// Payout failure codes (the part after `payout:`).
pub(super) const PAYOUTS: &[Entry] = &[
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

pub(super) const DISPUTE_GENERIC: Entry = (
    "",
    BadParams,
    Warning,
    false,
    "A customer disputed a payment: submit evidence in the Dashboard before the due date, or accept it.",
);

/// Dispute reasons (the part after `dispute:`).
pub(super) const DISPUTES: &[Entry] = &[
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
