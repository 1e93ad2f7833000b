//! Counters of what the simulator served and did, per operation, so tests can prove that
//! nothing happened twice (one purchase, one charge) and benchmarks can count requests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

/// Requests and side effects per operation name (`twilio.messages.list`, ...).
#[derive(Debug, Default)]
pub struct Stats {
    inner: Mutex<Snapshot>,
}

/// A copy of the counters, as `/_sim/stats` serves it.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Snapshot {
    /// Requests received per operation (including rejected ones).
    pub requests: BTreeMap<String, u64>,
    /// State changes per operation (a number bought, a message created...).
    pub side_effects: BTreeMap<String, u64>,
    /// Requests answered 429 per provider.
    pub rate_limited: BTreeMap<String, u64>,
    /// Faults injected, per kind.
    pub faults: BTreeMap<String, u64>,
    /// Requests rejected for bad credentials, per provider.
    pub auth_failures: BTreeMap<String, u64>,
}

impl Snapshot {
    /// The state changes counted for operation `op` (0 when none).
    pub fn side_effect_count(&self, op: &str) -> u64 {
        self.side_effects.get(op).copied().unwrap_or(0)
    }
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(v) => *v += 1,
        None => {
            map.insert(key.to_owned(), 1);
        }
    }
}

impl Stats {
    fn with(&self, f: impl FnOnce(&mut Snapshot)) {
        let mut s = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s);
    }

    /// Counts a request for `op`.
    pub fn request(&self, op: &str) {
        self.with(|s| bump(&mut s.requests, op));
    }

    /// Counts a side effect of `op`.
    pub fn side_effect(&self, op: &str) {
        self.with(|s| bump(&mut s.side_effects, op));
    }

    /// Counts a 429 for `provider`.
    pub fn rate_limited(&self, provider: &str) {
        self.with(|s| bump(&mut s.rate_limited, provider));
    }

    /// Counts an injected fault of `kind`.
    pub fn fault(&self, kind: &str) {
        self.with(|s| bump(&mut s.faults, kind));
    }

    /// Counts an auth rejection for `provider`.
    pub fn auth_failure(&self, provider: &str) {
        self.with(|s| bump(&mut s.auth_failures, provider));
    }

    /// A copy of every counter.
    pub fn snapshot(&self) -> Snapshot {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
