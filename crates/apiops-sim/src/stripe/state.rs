//! Stripe's state for one run: the generated account and balance (fixed), the events (the
//! generated ones and those made to happen since), the webhook endpoints, the idempotency
//! store and the balance transactions, each behind its own lock, with the counts and totals
//! tests and benchmarks read. It does not speak HTTP: the resource files serve it.

use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::Value;

use super::{balance, data, events, idempotency, webhook_endpoints};
use crate::config::SimConfig;
use crate::server::Credentials;
/// Stripe's data and state for one simulator run.
#[derive(Debug)]
pub struct StripeState {
    /// The `account` object (fixed for the run).
    pub(super) account: Value,
    /// The `balance` object (fixed for the run).
    pub(super) balance: Value,
    /// The events, newest first: the 30 days generated before the anchor, then (in front)
    /// those made to happen at run time.
    pub(super) events: RwLock<Vec<events::Event>>,
    /// Makes events happen at run time.
    pub(super) live: data::LiveEvents,
    /// Scenarios run at run time so far (the next one's events derive from the seed and it).
    pub(super) live_scenarios: AtomicU64,
    /// The secret webhook deliveries are signed with (`STRIPE_WEBHOOK_SECRET`); every
    /// endpoint shares it.
    pub(super) webhook_secret: String,
    /// Webhook endpoints, oldest first; changed by create, update and delete.
    pub(super) endpoints: Mutex<Vec<webhook_endpoints::Endpoint>>,
    /// Results of idempotent POSTs by key. Locked before `endpoints` whenever both are held.
    pub(super) idempotency: Mutex<idempotency::Store>,
    /// Ids and secrets of objects created at run time (seeded, so a replayed run gets the same).
    pub(super) ids: Mutex<fastrand::Rng>,
    /// Balance transactions, newest first: those the generated events imply, then history
    /// added at run time (older).
    pub(super) balance_transactions: RwLock<Vec<balance::Txn>>,
    /// Salts the balance transactions' ids (from the seed).
    pub(super) balance_salt: u64,
    /// The seed, for history added at run time.
    pub(super) seed: u64,
    /// The run's anchor (unix seconds): "now" for the generated data.
    pub(super) anchor: i64,
}

impl StripeState {
    /// Generates the account for `config` (deterministic for its seed and anchor).
    pub fn generate(config: &SimConfig, creds: &Credentials) -> Self {
        let anchor = config.anchor.as_second();
        let events = data::events(config.seed, anchor);
        StripeState {
            account: data::account(config.seed, anchor),
            balance: data::balance(config.seed),
            balance_transactions: RwLock::new(balance::from_events(&events)),
            balance_salt: crate::rng::for_purpose(config.seed, "stripe.balance_ids").u64(..),
            seed: config.seed,
            events: RwLock::new(events),
            live: data::LiveEvents::new(config.seed),
            live_scenarios: AtomicU64::new(0),
            webhook_secret: creds.stripe_webhook_secret.clone(),
            endpoints: Mutex::new(data::webhook_endpoints(config.seed, anchor)),
            idempotency: Mutex::new(idempotency::Store::default()),
            ids: Mutex::new(crate::rng::for_purpose(config.seed, "stripe.runtime")),
            anchor,
        }
    }

    /// How many events the account has: the generated ones (within the last 30 days of the
    /// anchor) and those made to happen since.
    pub fn event_count(&self) -> usize {
        self.events().len()
    }

    /// How many events are not yet delivered everywhere (`delivery_success=false` lists them).
    pub fn undelivered_event_count(&self) -> usize {
        self.events()
            .iter()
            .filter(|e| e.pending_webhooks > 0)
            .count()
    }

    /// Reads the events (newest first).
    pub(crate) fn events(&self) -> RwLockReadGuard<'_, Vec<events::Event>> {
        self.events.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn events_mut(&self) -> RwLockWriteGuard<'_, Vec<events::Event>> {
        self.events.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The webhook endpoints, locked (oldest first).
    pub(super) fn lock_endpoints(&self) -> MutexGuard<'_, Vec<webhook_endpoints::Endpoint>> {
        self.endpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The balance transactions, newest first.
    pub(crate) fn balance_transactions(&self) -> RwLockReadGuard<'_, Vec<balance::Txn>> {
        self.balance_transactions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn balance_salt(&self) -> u64 {
        self.balance_salt
    }

    /// Adds `count` older charges and refunds over `span` seconds before the oldest
    /// transaction; the new total.
    pub(super) fn add_balance_history(&self, count: usize, span: i64) -> usize {
        let mut txns = self
            .balance_transactions
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let oldest = txns.last().map_or(self.anchor, |t| t.created);
        let round = txns.len() as u64;
        txns.extend(balance::history(
            self.seed ^ round.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            oldest,
            span,
            count,
        ));
        txns.len()
    }

    /// Totals of the balance transactions created in `[from, to)`, per type: (type, count,
    /// gross cents, fee cents), sorted by type. What a usage report must add up to.
    pub fn balance_totals(&self, from: i64, to: i64) -> Vec<(&'static str, u64, i64, i64)> {
        let mut m: std::collections::BTreeMap<&'static str, (u64, i64, i64)> =
            std::collections::BTreeMap::new();
        for t in self
            .balance_transactions()
            .iter()
            .filter(|t| t.created >= from && t.created < to)
        {
            let e = m.entry(t.kind_name()).or_default();
            e.0 += 1;
            e.1 += t.amount;
            e.2 += t.fee;
        }
        m.into_iter().map(|(k, (n, a, f))| (k, n, a, f)).collect()
    }

    /// How many balance transactions there are.
    pub fn balance_transaction_count(&self) -> usize {
        self.balance_transactions().len()
    }

    /// How many webhook endpoints exist now.
    pub fn webhook_endpoint_count(&self) -> usize {
        self.lock_endpoints().len()
    }

    /// Replaces every webhook endpoint with one enabled endpoint per `(url, description)`
    /// (each subscribed to `charge.dispute.created` only), so nothing points outside the
    /// machine: the probe targets' endpoints.
    pub(crate) fn replace_endpoints(&self, endpoints: &[(String, String)]) {
        let mut r = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        let mut list = self.lock_endpoints();
        *list = endpoints
            .iter()
            .map(|(url, description)| webhook_endpoints::Endpoint {
                id: crate::rng::stripe_id("we", &mut r),
                created: self.anchor,
                url: url.clone(),
                enabled_events: vec!["charge.dispute.created".to_owned()],
                disabled: false,
                api_version: None,
                description: Some(description.clone()),
                metadata: Default::default(),
            })
            .collect();
    }

    /// The time stamped on objects created now: the wall clock, but never before the anchor, so
    /// new objects sort as the newest.
    pub(super) fn now(&self) -> i64 {
        jiff::Timestamp::now().as_second().max(self.anchor)
    }
}
