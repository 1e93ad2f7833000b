//! The Stripe account the simulator pretends to be: its account and balance objects, a few
//! hundred events over the 30 days before the anchor, and its webhook endpoints — all generated
//! from the seed, so the same seed and anchor give byte-identical JSON.
//!
//! The events follow what happens on a real account: a payment attempt emits a charge event
//! and a payment-intent event in the same second; failures carry Stripe's codes
//! (`card_declined` with `insufficient_funds`, `expired_card`...) where Stripe puts them
//! (`failure_code`, `outcome`, `last_payment_error`, `last_setup_error`); a share of events are
//! still undelivered (`pending_webhooks > 0`). The webhook endpoints carry the misconfigurations
//! an audit should find: one disabled, one subscribed to `*`, one pinned to an old API version,
//! one on plain HTTP and one on a private address.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::events::Event;
use super::webhook_endpoints::Endpoint;
use crate::rng;

/// The account's default API version (the version of the spec the shapes follow).
pub const API_VERSION: &str = "2023-08-16";

const DAY: i64 = 86_400;

/// A Stripe id with a shorter tail (customers, accounts), as Stripe writes them.
fn short_id(prefix: &str, len: usize, r: &mut fastrand::Rng) -> String {
    let full = rng::stripe_id(prefix, r);
    let cut = prefix.len() + 1 + len.min(24);
    full[..cut.min(full.len())].to_owned()
}

fn uuid(r: &mut fastrand::Rng) -> String {
    let a = r.u64(..);
    let b = r.u64(..);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// `GET /v1/account` for the seed.
pub(crate) fn account(seed: u64, anchor: i64) -> Value {
    let mut r = rng::for_purpose(seed, "stripe.account");
    let id = format!("acct_1{}", &rng::stripe_id("x", &mut r)[2..17]);
    let created = anchor - 700 * DAY - r.i64(0..100 * DAY);
    json!({
        "business_profile": {
            "mcc": "5734",
            "name": "Example Shop",
            "product_description": "Software subscriptions and add-ons",
            "support_email": "support@example.com",
            "support_phone": "+14155550123",
            "support_url": "https://example.com/support",
            "url": "https://example.com"
        },
        "business_type": "company",
        "capabilities": {"card_payments": "active", "transfers": "active"},
        "charges_enabled": true,
        "controller": {"type": "account"},
        "country": "US",
        "created": created,
        "default_currency": "usd",
        "details_submitted": true,
        "email": "ops@example.com",
        "external_accounts": {
            "data": [],
            "has_more": false,
            "object": "list",
            "url": format!("/v1/accounts/{id}/external_accounts")
        },
        "future_requirements": requirements(),
        "id": id,
        "metadata": {},
        "object": "account",
        "payouts_enabled": true,
        "requirements": requirements(),
        "settings": {
            "bacs_debit_payments": {},
            "branding": {"primary_color": null, "secondary_color": null},
            "card_issuing": {"tos_acceptance": {"date": null, "ip": null}},
            "card_payments": {
                "decline_on": {"avs_failure": false, "cvc_failure": true},
                "statement_descriptor_prefix": "EXSHOP",
                "statement_descriptor_prefix_kana": null,
                "statement_descriptor_prefix_kanji": null
            },
            "dashboard": {"display_name": "Example Shop", "timezone": "America/Los_Angeles"},
            "payments": {
                "statement_descriptor": "EXAMPLE SHOP",
                "statement_descriptor_kana": null,
                "statement_descriptor_kanji": null
            },
            "payouts": {
                "debit_negative_balances": true,
                "schedule": {"delay_days": 2, "interval": "daily"},
                "statement_descriptor": null
            },
            "sepa_debit_payments": {}
        },
        "tos_acceptance": {"date": created + 3_600, "ip": "203.0.113.7", "user_agent": null},
        "type": "standard"
    })
}

fn requirements() -> Value {
    json!({
        "alternatives": [],
        "current_deadline": null,
        "currently_due": [],
        "disabled_reason": null,
        "errors": [],
        "eventually_due": [],
        "past_due": [],
        "pending_verification": []
    })
}

/// `GET /v1/balance` for the seed.
pub(crate) fn balance(seed: u64) -> Value {
    let mut r = rng::for_purpose(seed, "stripe.balance");
    let available = r.i64(200_000..5_000_000);
    let pending = r.i64(10_000..900_000);
    json!({
        "available": [{"amount": available, "currency": "usd", "source_types": {"card": available}}],
        "connect_reserved": [{"amount": 0, "currency": "usd"}],
        "livemode": false,
        "object": "balance",
        "pending": [{"amount": pending, "currency": "usd", "source_types": {"card": pending}}]
    })
}

/// One generated webhook endpoint, and the problem it carries (if any).
struct EndpointSeed {
    age_days: i64,
    url: &'static str,
    events: &'static [&'static str],
    api_version: Option<&'static str>,
    disabled: bool,
    description: &'static str,
    team: &'static str,
}

const ENDPOINTS: &[EndpointSeed] = &[
    // Pinned to an API version older than the account's.
    EndpointSeed {
        age_days: 910,
        url: "https://legacy.example.com/hooks/stripe",
        events: &["charge.succeeded", "customer.created", "invoice.paid"],
        api_version: Some("2020-08-27"),
        disabled: false,
        description: "Legacy CRM sync",
        team: "crm",
    },
    // Disabled: its events go nowhere.
    EndpointSeed {
        age_days: 520,
        url: "https://old-analytics.example.com/stripe",
        events: &["charge.refunded", "charge.succeeded"],
        api_version: None,
        disabled: true,
        description: "Analytics export (disabled after repeated delivery failures)",
        team: "data",
    },
    // Healthy.
    EndpointSeed {
        age_days: 410,
        url: "https://api.example.com/webhooks/stripe",
        events: &[
            "charge.dispute.created",
            "charge.failed",
            "charge.succeeded",
            "invoice.payment_failed",
            "payment_intent.payment_failed",
            "payment_intent.succeeded",
            "payout.failed",
        ],
        api_version: None,
        disabled: false,
        description: "Payments service",
        team: "payments",
    },
    // Subscribed to every event.
    EndpointSeed {
        age_days: 300,
        url: "https://billing.example.com/stripe/events",
        events: &["*"],
        api_version: None,
        disabled: false,
        description: "Billing (all events)",
        team: "billing",
    },
    // Plain HTTP.
    EndpointSeed {
        age_days: 200,
        url: "http://shop.example.com/stripe-webhook",
        events: &["checkout.session.completed", "payment_intent.succeeded"],
        api_version: None,
        disabled: false,
        description: "Storefront",
        team: "web",
    },
    // A private address Stripe cannot reach.
    EndpointSeed {
        age_days: 120,
        url: "https://10.20.0.15/stripe/webhook",
        events: &["payout.failed", "payout.paid"],
        api_version: None,
        disabled: false,
        description: "Internal payouts worker",
        team: "finance",
    },
];

/// The webhook endpoints for the seed, oldest first.
pub(crate) fn webhook_endpoints(seed: u64, anchor: i64) -> Vec<Endpoint> {
    let mut r = rng::for_purpose(seed, "stripe.webhook_endpoints");
    ENDPOINTS
        .iter()
        .map(|e| Endpoint {
            id: rng::stripe_id("we", &mut r),
            created: anchor - e.age_days * DAY - r.i64(0..DAY),
            url: e.url.to_owned(),
            enabled_events: e.events.iter().map(|ev| (*ev).to_owned()).collect(),
            disabled: e.disabled,
            api_version: e.api_version.map(str::to_owned),
            description: Some(e.description.to_owned()),
            metadata: BTreeMap::from([("team".to_owned(), e.team.to_owned())]),
        })
        .collect()
}

/// What happened on the account, each emitting one or two events.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scenario {
    PaymentSucceeded,
    PaymentFailed,
    CustomerCreated,
    InvoicePaid,
    InvoicePaymentFailed,
    PayoutPaid,
    PayoutFailed,
    SetupFailed,
    DisputeCreated,
    ChargeRefunded,
}

const SCENARIOS: &[(Scenario, u32)] = &[
    (Scenario::PaymentSucceeded, 44),
    (Scenario::PaymentFailed, 15),
    (Scenario::CustomerCreated, 10),
    (Scenario::InvoicePaid, 7),
    (Scenario::InvoicePaymentFailed, 5),
    (Scenario::PayoutPaid, 4),
    (Scenario::PayoutFailed, 2),
    (Scenario::SetupFailed, 3),
    (Scenario::DisputeCreated, 2),
    (Scenario::ChargeRefunded, 4),
];

/// A card decline: (code, decline_code, message, test card last4).
type Decline = (&'static str, &'static str, &'static str, &'static str);

const DECLINES: &[(Decline, u32)] = &[
    (
        (
            "card_declined",
            "insufficient_funds",
            "Your card has insufficient funds.",
            "9995",
        ),
        30,
    ),
    (
        (
            "card_declined",
            "generic_decline",
            "Your card was declined.",
            "0002",
        ),
        24,
    ),
    (
        (
            "card_declined",
            "do_not_honor",
            "Your card was declined.",
            "0002",
        ),
        6,
    ),
    (
        (
            "expired_card",
            "expired_card",
            "Your card has expired.",
            "0069",
        ),
        10,
    ),
    (
        (
            "incorrect_cvc",
            "incorrect_cvc",
            "Your card's security code is incorrect.",
            "0127",
        ),
        8,
    ),
    (
        (
            "card_declined",
            "lost_card",
            "Your card was declined.",
            "9987",
        ),
        3,
    ),
    (
        (
            "card_declined",
            "stolen_card",
            "Your card was declined.",
            "9979",
        ),
        2,
    ),
    (
        (
            "card_declined",
            "fraudulent",
            "Your card was declined.",
            "0019",
        ),
        4,
    ),
    (
        (
            "processing_error",
            "processing_error",
            "An error occurred while processing your card. Try again in a little bit.",
            "0119",
        ),
        4,
    ),
    (
        (
            "incorrect_number",
            "incorrect_number",
            "Your card number is incorrect.",
            "4241",
        ),
        3,
    ),
    (
        (
            "authentication_required",
            "authentication_required",
            "Your card was declined. This transaction requires authentication.",
            "3184",
        ),
        3,
    ),
];

const PAYOUT_FAILURES: &[(&str, &str)] = &[
    ("account_closed", "The bank account has been closed."),
    (
        "no_account",
        "The bank account details on file are probably incorrect. No bank account could be located with those details.",
    ),
    (
        "insufficient_funds",
        "Your Stripe account has insufficient funds to cover the payout.",
    ),
    (
        "could_not_process",
        "The bank could not process this payout.",
    ),
];

const DISPUTE_REASONS: &[&str] = &[
    "fraudulent",
    "product_not_received",
    "duplicate",
    "subscription_canceled",
    "unrecognized",
];

/// One generated card: brand, last4, expiry.
struct Card {
    brand: &'static str,
    last4: &'static str,
    exp_month: u8,
    exp_year: u16,
}

/// One card payment attempt: what its charge object is built from.
#[derive(Clone, Copy)]
struct Attempt<'a> {
    created: i64,
    amount: i64,
    customer: &'a str,
    payment_intent: &'a str,
    payment_method: &'a str,
    card: &'a Card,
}

/// The state of one generation run.
struct Gen {
    r: fastrand::Rng,
    customers: Vec<String>,
    events: Vec<Event>,
    anchor: i64,
}

impl Gen {
    fn id(&mut self, prefix: &str) -> String {
        rng::stripe_id(prefix, &mut self.r)
    }

    fn customer(&mut self) -> String {
        let i = self.r.usize(..self.customers.len().max(1));
        self.customers.get(i).cloned().unwrap_or_default()
    }

    fn amount(&mut self) -> i64 {
        let cents = *rng::weighted(&mut self.r, &[(0, 6), (99, 3), (50, 1)]);
        self.r.i64(5..400) * 100 + cents
    }

    fn card(&mut self, last4: Option<&'static str>) -> Card {
        let brand = *rng::weighted(
            &mut self.r,
            &[("visa", 60), ("mastercard", 30), ("amex", 10)],
        );
        let last4 = last4.unwrap_or(match brand {
            "mastercard" => "4444",
            "amex" => "8431",
            _ => "4242",
        });
        Card {
            brand,
            last4,
            exp_month: self.r.u8(1..=12),
            exp_year: self.r.u16(2027..=2031),
        }
    }

    fn api_request(&mut self) -> Value {
        let id = short_id("req", 14, &mut self.r);
        json!({"id": id, "idempotency_key": uuid(&mut self.r)})
    }

    fn push(
        &mut self,
        kind: &'static str,
        created: i64,
        object: Value,
        previous: Option<Value>,
        request: Value,
    ) {
        let id = self.id("evt");
        // Recent events may still be in delivery; a share of older ones never got through.
        let pending_webhooks = if self.anchor - created < 15 * 60 {
            1
        } else if self.r.u32(..100) < 7 {
            self.r.u32(1..=3)
        } else {
            0
        };
        let mut data = json!({ "object": object });
        if let Some(p) = previous {
            data["previous_attributes"] = p;
        }
        let body = json!({
            "api_version": API_VERSION,
            "created": created,
            "data": data,
            "id": id,
            "livemode": false,
            "object": "event",
            "pending_webhooks": pending_webhooks,
            "request": request,
            "type": kind,
        });
        self.events.push(Event {
            id,
            created,
            kind,
            pending_webhooks,
            body,
            undelivered: Vec::new(),
        });
    }

    fn payment_method(&mut self, card: &Card, customer: &str, created: i64) -> Value {
        let id = self.id("pm");
        json!({
            "billing_details": billing_details(),
            "card": {
                "brand": card.brand,
                "country": "US",
                "exp_month": card.exp_month,
                "exp_year": card.exp_year,
                "funding": "credit",
                "last4": card.last4
            },
            "created": created,
            "customer": customer,
            "id": id,
            "livemode": false,
            "metadata": {},
            "object": "payment_method",
            "type": "card"
        })
    }

    fn charge(&mut self, attempt: &Attempt<'_>, failure: Option<&Decline>) -> Value {
        let Attempt {
            created,
            amount,
            customer,
            payment_intent,
            payment_method: pm,
            card,
        } = *attempt;
        let id = self.id("ch");
        let (status, outcome) = match failure {
            None => (
                "succeeded",
                json!({
                    "network_status": "approved_by_network",
                    "reason": null,
                    "risk_level": "normal",
                    "risk_score": self.r.u8(5..60),
                    "seller_message": "Payment complete.",
                    "type": "authorized"
                }),
            ),
            Some((_, decline, _, _)) if *decline == "fraudulent" => (
                "failed",
                json!({
                    "network_status": "not_sent_to_network",
                    "reason": "highest_risk_level",
                    "risk_level": "highest",
                    "risk_score": self.r.u8(76..100),
                    "seller_message": "Stripe blocked this payment as too risky.",
                    "type": "blocked"
                }),
            ),
            Some((_, decline, _, _)) => (
                "failed",
                json!({
                    "network_status": "declined_by_network",
                    "reason": decline,
                    "risk_level": "normal",
                    "risk_score": self.r.u8(5..60),
                    "seller_message": format!("The bank returned the decline code `{decline}`."),
                    "type": "issuer_declined"
                }),
            ),
        };
        let ok = failure.is_none();
        let head = json!({
            "amount": amount,
            "amount_captured": if ok { amount } else { 0 },
            "amount_refunded": 0,
            "application": null,
            "application_fee": null,
            "application_fee_amount": null,
            "balance_transaction": if ok { Value::String(self.id("txn")) } else { Value::Null },
            "billing_details": billing_details(),
            "calculated_statement_descriptor": "EXAMPLE SHOP",
            "captured": ok,
            "created": created,
            "currency": "usd",
            "customer": customer,
            "description": "Subscription update",
            "disputed": false,
            "failure_balance_transaction": null,
            "failure_code": failure.map(|f| f.0),
            "failure_message": failure.map(|f| f.2),
            "fraud_details": {},
        });
        let tail = json!({
            "id": id,
            "livemode": false,
            "metadata": {},
            "object": "charge",
            "on_behalf_of": null,
            "outcome": outcome,
            "paid": ok,
            "payment_intent": payment_intent,
            "payment_method": pm,
            "payment_method_details": {
                "card": {
                    "brand": card.brand,
                    "country": "US",
                    "exp_month": card.exp_month,
                    "exp_year": card.exp_year,
                    "funding": "credit",
                    "last4": card.last4,
                    "network": card.brand
                },
                "type": "card"
            },
            "receipt_email": null,
            "receipt_number": null,
            "receipt_url": null,
            "refunded": false,
            "refunds": {
                "data": [],
                "has_more": false,
                "object": "list",
                "url": format!("/v1/charges/{id}/refunds")
            },
            "review": null,
            "shipping": null,
            "source_transfer": null,
            "statement_descriptor": null,
            "statement_descriptor_suffix": null,
            "status": status,
            "transfer_data": null,
            "transfer_group": null
        });
        merged([head, tail])
    }

    fn payment(&mut self, created: i64, failed: bool) {
        let customer = self.customer();
        let amount = self.amount();
        let decline = failed.then(|| *rng::weighted(&mut self.r, DECLINES));
        let card = self.card(decline.map(|d| d.3));
        let pi = self.id("pi");
        let pm = self.payment_method(&card, &customer, created - 5);
        let pm_id = pm["id"].as_str().unwrap_or_default().to_owned();
        let attempt = Attempt {
            created,
            amount,
            customer: &customer,
            payment_intent: &pi,
            payment_method: &pm_id,
            card: &card,
        };
        let charge = self.charge(&attempt, decline.as_ref());
        let charge_id = charge["id"].clone();
        let last_payment_error = match &decline {
            None => Value::Null,
            Some((code, decline_code, message, _)) => json!({
                "charge": charge_id,
                "code": code,
                "decline_code": decline_code,
                "doc_url": format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-")),
                "message": message,
                "payment_method": pm,
                "type": "card_error"
            }),
        };
        let head = json!({
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": if failed { 0 } else { amount },
            "application": null,
            "application_fee_amount": null,
            "automatic_payment_methods": {"enabled": true},
            "canceled_at": null,
            "cancellation_reason": null,
            "capture_method": "automatic",
            "confirmation_method": "automatic",
            "created": created - 8,
            "currency": "usd",
            "customer": customer,
            "description": "Subscription update",
        });
        let tail = json!({
            "id": pi,
            "last_payment_error": last_payment_error,
            "latest_charge": charge_id,
            "livemode": false,
            "metadata": {},
            "next_action": null,
            "object": "payment_intent",
            "on_behalf_of": null,
            "payment_method": if failed { Value::Null } else { Value::String(pm_id) },
            "payment_method_types": ["card"],
            "processing": null,
            "receipt_email": null,
            "review": null,
            "setup_future_usage": null,
            "shipping": null,
            "statement_descriptor": null,
            "statement_descriptor_suffix": null,
            "status": if failed { "requires_payment_method" } else { "succeeded" },
            "transfer_data": null,
            "transfer_group": null
        });
        let intent = merged([head, tail]);
        let request = self.api_request();
        let (charge_kind, intent_kind) = if failed {
            ("charge.failed", "payment_intent.payment_failed")
        } else {
            ("charge.succeeded", "payment_intent.succeeded")
        };
        self.push(charge_kind, created, charge, None, request.clone());
        self.push(intent_kind, created, intent, None, request);
    }

    fn refund(&mut self, created: i64) {
        let customer = self.customer();
        let amount = self.amount();
        let card = self.card(None);
        let pi = self.id("pi");
        let pm = self.id("pm");
        let charged = created - self.r.i64(DAY..10 * DAY);
        let attempt = Attempt {
            created: charged,
            amount,
            customer: &customer,
            payment_intent: &pi,
            payment_method: &pm,
            card: &card,
        };
        let mut charge = self.charge(&attempt, None);
        charge["amount_refunded"] = json!(amount);
        charge["refunded"] = json!(true);
        let request = self.api_request();
        self.push(
            "charge.refunded",
            created,
            charge,
            Some(json!({"amount_refunded": 0, "refunded": false})),
            request,
        );
    }

    fn customer_created(&mut self, created: i64, index: usize) {
        let id = self
            .customers
            .get(index % self.customers.len().max(1))
            .cloned()
            .unwrap_or_default();
        let n = index + 1;
        let customer = json!({
            "address": null,
            "balance": 0,
            "created": created,
            "currency": null,
            "default_source": null,
            "delinquent": false,
            "description": null,
            "discount": null,
            "email": format!("customer{n}@example.com"),
            "id": id,
            "invoice_prefix": format!("{:07X}", self.r.u32(..0x0fff_ffff)),
            "invoice_settings": {
                "custom_fields": null,
                "default_payment_method": null,
                "footer": null,
                "rendering_options": null
            },
            "livemode": false,
            "metadata": {},
            "name": format!("Customer {n}"),
            "next_invoice_sequence": 1,
            "object": "customer",
            "phone": null,
            "preferred_locales": [],
            "shipping": null,
            "tax_exempt": "none",
            "test_clock": null
        });
        let request = self.api_request();
        self.push("customer.created", created, customer, None, request);
    }

    fn invoice(&mut self, created: i64, failed: bool) {
        let customer = self.customer();
        let amount = self.amount();
        let attempts = if failed { self.r.u32(1..=4) } else { 1 };
        let id = self.id("in");
        let next_attempt = (failed && attempts < 4).then_some(created + 3 * DAY);
        let invoice = json!({
            "account_country": "US",
            "account_name": "Example Shop",
            "amount_due": amount,
            "amount_paid": if failed { 0 } else { amount },
            "amount_remaining": if failed { amount } else { 0 },
            "attempt_count": attempts,
            "attempted": true,
            "auto_advance": failed,
            "billing_reason": "subscription_cycle",
            "charge": self.id("ch"),
            "collection_method": "charge_automatically",
            "created": created - 3_600,
            "currency": "usd",
            "customer": customer,
            "customer_email": null,
            "hosted_invoice_url": format!("https://invoice.stripe.com/i/acct_sim/test_{id}"),
            "id": id,
            "last_finalization_error": null,
            "livemode": false,
            "metadata": {},
            "next_payment_attempt": next_attempt,
            "number": format!("{:04X}-{:04}", self.r.u16(..0xffff), self.r.u16(1..9999)),
            "object": "invoice",
            "paid": !failed,
            "payment_intent": self.id("pi"),
            "period_end": created - 3_600,
            "period_start": created - 3_600 - 30 * DAY,
            "status": if failed { "open" } else { "paid" },
            "subscription": self.id("sub"),
            "subtotal": amount,
            "total": amount
        });
        let kind = if failed {
            "invoice.payment_failed"
        } else {
            "invoice.paid"
        };
        self.push(
            kind,
            created,
            invoice,
            None,
            json!({"id": null, "idempotency_key": null}),
        );
    }

    fn payout(&mut self, created: i64, failed: bool) {
        let amount = self.r.i64(50_000..2_500_000);
        let failure = failed.then(|| PAYOUT_FAILURES[self.r.usize(..PAYOUT_FAILURES.len())]);
        let payout = json!({
            "amount": amount,
            "application_fee": null,
            "application_fee_amount": null,
            "arrival_date": created,
            "automatic": true,
            "balance_transaction": self.id("txn"),
            "created": created - 2 * DAY,
            "currency": "usd",
            "description": "STRIPE PAYOUT",
            "destination": self.id("ba"),
            "failure_balance_transaction": if failed { Value::String(self.id("txn")) } else { Value::Null },
            "failure_code": failure.map(|f| f.0),
            "failure_message": failure.map(|f| f.1),
            "id": self.id("po"),
            "livemode": false,
            "metadata": {},
            "method": "standard",
            "object": "payout",
            "original_payout": null,
            "reconciliation_status": if failed { "not_applicable" } else { "completed" },
            "reversed_by": null,
            "source_type": "card",
            "statement_descriptor": null,
            "status": if failed { "failed" } else { "paid" },
            "type": "bank_account"
        });
        let kind = if failed {
            "payout.failed"
        } else {
            "payout.paid"
        };
        self.push(
            kind,
            created,
            payout,
            None,
            json!({"id": null, "idempotency_key": null}),
        );
    }

    fn setup_failed(&mut self, created: i64) {
        let customer = self.customer();
        let decline = *rng::weighted(&mut self.r, DECLINES);
        let card = self.card(Some(decline.3));
        let pm = self.payment_method(&card, &customer, created - 5);
        let (code, decline_code, message, _) = decline;
        let intent = json!({
            "application": null,
            "automatic_payment_methods": {"enabled": true},
            "cancellation_reason": null,
            "created": created - 30,
            "customer": customer,
            "description": null,
            "flow_directions": null,
            "id": self.id("seti"),
            "last_setup_error": {
                "code": code,
                "decline_code": decline_code,
                "doc_url": format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-")),
                "message": message,
                "payment_method": pm,
                "type": "card_error"
            },
            "latest_attempt": self.id("setatt"),
            "livemode": false,
            "mandate": null,
            "metadata": {},
            "next_action": null,
            "object": "setup_intent",
            "on_behalf_of": null,
            "payment_method": null,
            "payment_method_types": ["card"],
            "single_use_mandate": null,
            "status": "requires_payment_method",
            "usage": "off_session"
        });
        let request = self.api_request();
        self.push("setup_intent.setup_failed", created, intent, None, request);
    }

    fn dispute(&mut self, created: i64) {
        let amount = self.amount();
        let reason = DISPUTE_REASONS[self.r.usize(..DISPUTE_REASONS.len())];
        let card = self.card(None);
        let dispute = json!({
            "amount": amount,
            "balance_transactions": [],
            "charge": self.id("ch"),
            "created": created,
            "currency": "usd",
            "evidence_details": {
                "due_by": created + 9 * DAY,
                "has_evidence": false,
                "past_due": false,
                "submission_count": 0
            },
            "id": self.id("dp"),
            "is_charge_refundable": false,
            "livemode": false,
            "metadata": {},
            "object": "dispute",
            "payment_intent": self.id("pi"),
            "payment_method_details": {
                "card": {"brand": card.brand, "network_reason_code": "10.4"},
                "type": "card"
            },
            "reason": reason,
            "status": "needs_response"
        });
        self.push(
            "charge.dispute.created",
            created,
            dispute,
            None,
            json!({"id": null, "idempotency_key": null}),
        );
    }
}

/// One object from several `json!` parts (one literal of Stripe's size overflows the macro).
fn merged<const N: usize>(parts: [Value; N]) -> Value {
    let mut all = serde_json::Map::new();
    for part in parts {
        if let Value::Object(m) = part {
            all.extend(m);
        }
    }
    Value::Object(all)
}

fn billing_details() -> Value {
    json!({
        "address": {
            "city": null,
            "country": "US",
            "line1": null,
            "line2": null,
            "postal_code": "94103",
            "state": null
        },
        "email": null,
        "name": null,
        "phone": null
    })
}

/// The account's customers: the first draws of the events generator.
fn customers(r: &mut fastrand::Rng) -> Vec<String> {
    (0..60).map(|_| short_id("cus", 14, r)).collect()
}

impl Gen {
    /// Runs `scenario` at `t`; `new_customer` is the index of the customer a
    /// `CustomerCreated` introduces.
    fn run(&mut self, scenario: Scenario, t: i64, new_customer: usize) {
        match scenario {
            Scenario::PaymentSucceeded => self.payment(t, false),
            Scenario::PaymentFailed => self.payment(t, true),
            Scenario::CustomerCreated => self.customer_created(t, new_customer),
            Scenario::InvoicePaid => self.invoice(t, false),
            Scenario::InvoicePaymentFailed => self.invoice(t, true),
            Scenario::PayoutPaid => self.payout(t, false),
            Scenario::PayoutFailed => self.payout(t, true),
            Scenario::SetupFailed => self.setup_failed(t),
            Scenario::DisputeCreated => self.dispute(t),
            Scenario::ChargeRefunded => self.refund(t),
        }
    }
}

/// The events of the 30 days before `anchor`, newest first (ties: the later generated first).
pub(crate) fn events(seed: u64, anchor: i64) -> Vec<Event> {
    let mut r = rng::for_purpose(seed, "stripe.events");
    let customers = customers(&mut r);
    let scenarios = 230 + r.usize(..60);
    let span = 30 * DAY - 60;
    let mut times: Vec<i64> = (0..scenarios)
        .map(|_| anchor - 1 - r.i64(0..span))
        .collect();
    times.sort_unstable();
    let mut g = Gen {
        r,
        customers,
        events: Vec::new(),
        anchor,
    };
    let mut new_customers = 0;
    for t in times {
        let scenario = *rng::weighted(&mut g.r, SCENARIOS);
        g.run(scenario, t, new_customers);
        if matches!(scenario, Scenario::CustomerCreated) {
            new_customers += 1;
        }
    }
    // Generated oldest first; serve newest first, a later event before an earlier one of the
    // same second.
    let mut events = g.events;
    events.reverse();
    events
}

/// The scenario that emits events of `kind`, for the types events made to happen at run time
/// may have ([`crate::live::STRIPE_EVENT_TYPES`]; a payment emits its charge event and its
/// payment-intent event).
pub(crate) fn scenario_for(kind: &str) -> Option<Scenario> {
    Some(match kind {
        "charge.failed" | "payment_intent.payment_failed" => Scenario::PaymentFailed,
        "charge.succeeded" | "payment_intent.succeeded" => Scenario::PaymentSucceeded,
        "invoice.payment_failed" => Scenario::InvoicePaymentFailed,
        "invoice.paid" => Scenario::InvoicePaid,
        "payout.failed" => Scenario::PayoutFailed,
        "payout.paid" => Scenario::PayoutPaid,
        "setup_intent.setup_failed" => Scenario::SetupFailed,
        "charge.dispute.created" => Scenario::DisputeCreated,
        "charge.refunded" => Scenario::ChargeRefunded,
        "customer.created" => Scenario::CustomerCreated,
        _ => return None,
    })
}

/// Makes events happen at run time, with the generated account's customers and shapes.
#[derive(Debug)]
pub(crate) struct LiveEvents {
    seed: u64,
    customers: Vec<String>,
}

impl LiveEvents {
    /// The maker for the account generated from `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        let mut r = rng::for_purpose(seed, "stripe.events");
        LiveEvents {
            seed,
            customers: customers(&mut r),
        }
    }

    /// The events of the `index`-th scenario run at run time, at `now`, oldest first: only
    /// those of `kind` (from its scenario) when given, else a whole scenario picked from the
    /// account's usual mix. Deterministic for the seed, `index` and `now`.
    pub(crate) fn scenario(&self, index: u64, now: i64, kind: Option<&'static str>) -> Vec<Event> {
        let mut g = Gen {
            r: rng::for_purpose(self.seed, &format!("stripe.live.{index}")),
            customers: self.customers.clone(),
            events: Vec::new(),
            anchor: now,
        };
        let scenario = match kind.and_then(scenario_for) {
            Some(s) => s,
            None => *rng::weighted(&mut g.r, SCENARIOS),
        };
        // A customer created now is a new one.
        let fresh = short_id("cus", 14, &mut g.r);
        g.customers.push(fresh);
        let new_customer = g.customers.len() - 1;
        g.run(scenario, now, new_customer);
        let mut events = g.events;
        if let Some(k) = kind {
            events.retain(|e| e.kind == k);
        }
        events
    }
}
