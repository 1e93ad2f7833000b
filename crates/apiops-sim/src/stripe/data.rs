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

//!
//! Layout: this file runs the generator (the scenarios' mix, the 30 days of events, events made
//! to happen at run time); `data/account.rs` builds the fixed objects, `data/objects.rs` the
//! objects events carry, `data/scenarios.rs` what each scenario emits.

mod account;
mod objects;
mod scenarios;

pub(crate) use account::{account, balance, webhook_endpoints};

use super::events::Event;
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

/// The state of one generation run.
struct Gen {
    r: fastrand::Rng,
    customers: Vec<String>,
    events: Vec<Event>,
    anchor: i64,
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
