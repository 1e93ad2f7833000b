//! What happens on the account, one scenario at a time: a payment (succeeded or failed), a
//! refund, a new customer, an invoice, a payout, a failed setup, a dispute. Each pushes the
//! events a real account would see, in the same second where Stripe emits them together.

use serde_json::{Value, json};

use super::objects::{Attempt, DECLINES, DISPUTE_REASONS, PAYOUT_FAILURES, card_error, merged};
use super::{DAY, Gen};
use crate::rng;
impl Gen {
    pub(super) fn payment(&mut self, created: i64, failed: bool) {
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
            Some(d) => merged([json!({"charge": charge_id}), card_error(d, &pm)]),
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

    pub(super) fn refund(&mut self, created: i64) {
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

    pub(super) fn customer_created(&mut self, created: i64, index: usize) {
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

    pub(super) fn invoice(&mut self, created: i64, failed: bool) {
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

    pub(super) fn payout(&mut self, created: i64, failed: bool) {
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

    pub(super) fn setup_failed(&mut self, created: i64) {
        let customer = self.customer();
        let decline = *rng::weighted(&mut self.r, DECLINES);
        let card = self.card(Some(decline.3));
        let pm = self.payment_method(&card, &customer, created - 5);
        let intent = json!({
            "application": null,
            "automatic_payment_methods": {"enabled": true},
            "cancellation_reason": null,
            "created": created - 30,
            "customer": customer,
            "description": null,
            "flow_directions": null,
            "id": self.id("seti"),
            "last_setup_error": card_error(&decline, &pm),
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

    pub(super) fn dispute(&mut self, created: i64) {
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
