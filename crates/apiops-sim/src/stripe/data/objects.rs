//! The objects events carry, built by the generator: cards, payment methods and charges with
//! Stripe's failure codes where Stripe puts them, from the tables of decline codes, payout
//! failures and dispute reasons.

use serde_json::{Value, json};

use super::{API_VERSION, Gen, short_id, uuid};
use crate::rng;
use crate::stripe::events::Event;
/// A card decline: (code, decline_code, message, test card last4).
pub(super) type Decline = (&'static str, &'static str, &'static str, &'static str);

pub(super) const DECLINES: &[(Decline, u32)] = &[
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

pub(super) const PAYOUT_FAILURES: &[(&str, &str)] = &[
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

pub(super) const DISPUTE_REASONS: &[&str] = &[
    "fraudulent",
    "product_not_received",
    "duplicate",
    "subscription_canceled",
    "unrecognized",
];

/// One generated card: brand, last4, expiry.
pub(super) struct Card {
    pub(super) brand: &'static str,
    pub(super) last4: &'static str,
    pub(super) exp_month: u8,
    pub(super) exp_year: u16,
}

/// One card payment attempt: what its charge object is built from.
#[derive(Clone, Copy)]
pub(super) struct Attempt<'a> {
    pub(super) created: i64,
    pub(super) amount: i64,
    pub(super) customer: &'a str,
    pub(super) payment_intent: &'a str,
    pub(super) payment_method: &'a str,
    pub(super) card: &'a Card,
}

impl Gen {
    pub(super) fn id(&mut self, prefix: &str) -> String {
        rng::stripe_id(prefix, &mut self.r)
    }

    pub(super) fn customer(&mut self) -> String {
        let i = self.r.usize(..self.customers.len().max(1));
        self.customers.get(i).cloned().unwrap_or_default()
    }

    pub(super) fn amount(&mut self) -> i64 {
        let cents = *rng::weighted(&mut self.r, &[(0, 6), (99, 3), (50, 1)]);
        self.r.i64(5..400) * 100 + cents
    }

    pub(super) fn card(&mut self, last4: Option<&'static str>) -> Card {
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

    pub(super) fn api_request(&mut self) -> Value {
        let id = short_id("req", 14, &mut self.r);
        json!({"id": id, "idempotency_key": uuid(&mut self.r)})
    }

    pub(super) fn push(
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

    pub(super) fn payment_method(&mut self, card: &Card, customer: &str, created: i64) -> Value {
        let id = self.id("pm");
        json!({
            "billing_details": billing_details(),
            "card": card_json(card),
            "created": created,
            "customer": customer,
            "id": id,
            "livemode": false,
            "metadata": {},
            "object": "payment_method",
            "type": "card"
        })
    }

    pub(super) fn charge(&mut self, attempt: &Attempt<'_>, failure: Option<&Decline>) -> Value {
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
                "card": merged([card_json(card), json!({"network": card.brand})]),
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
}

/// One object from several `json!` parts (one literal of Stripe's size overflows the macro).
pub(super) fn merged<const N: usize>(parts: [Value; N]) -> Value {
    let mut all = serde_json::Map::new();
    for part in parts {
        if let Value::Object(m) = part {
            all.extend(m);
        }
    }
    Value::Object(all)
}

/// A payment method's `card`: brand, country, expiry, funding and last four digits.
fn card_json(card: &Card) -> Value {
    json!({
        "brand": card.brand,
        "country": "US",
        "exp_month": card.exp_month,
        "exp_year": card.exp_year,
        "funding": "credit",
        "last4": card.last4
    })
}

/// The `card_error` a declined payment or setup carries (its `last_payment_error` or
/// `last_setup_error`): the decline's codes and message, the code's `doc_url`, and the payment
/// method `pm`.
pub(super) fn card_error(decline: &Decline, pm: &Value) -> Value {
    let (code, decline_code, message, _) = decline;
    json!({
        "code": code,
        "decline_code": decline_code,
        "doc_url": format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-")),
        "message": message,
        "payment_method": pm,
        "type": "card_error"
    })
}

pub(super) fn billing_details() -> Value {
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
