//! One runner per plan: a lease in the store, taken before the first step and renewed after
//! each (DESIGN.md §11: a racing second runner waits or is refused, never runs a step twice).
//!
//! A runner is named `host/pid/nonce`. A lease lapses after [`LEASE_TTL`] without renewal, so a
//! runner that vanished on another machine blocks the plan for that long at most; on the same
//! machine a holder whose process is gone (`kill -9`) is known dead at once and its lease is
//! taken over, so a resumed run does not wait.

use std::time::Duration;

use apiops_store::{Lease, Store};
use jiff::{SignedDuration, Timestamp};

use crate::error::OpsError;

/// How long a lease lasts without renewal.
pub const LEASE_TTL: SignedDuration = SignedDuration::from_mins(5);

/// How often a waiting runner looks again.
const POLL: Duration = Duration::from_millis(50);

/// A held lease; [`Held::release`] gives it up (a dropped lease lapses after [`LEASE_TTL`]).
#[derive(Debug, Clone)]
pub struct Held {
    key: String,
    holder: String,
}

impl Held {
    /// The runner's name.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Extends the lease; fails with [`OpsError::Busy`] if another runner took it over (this
    /// one was presumed dead), so the caller stops before its next step.
    pub async fn renew(&self, store: &dyn Store, now: Timestamp) -> Result<(), OpsError> {
        match store
            .journal_lease(&self.key, &self.holder, now, now + LEASE_TTL)
            .await?
        {
            Ok(()) => Ok(()),
            Err(other) => Err(busy(&self.key, other)),
        }
    }

    /// Gives the lease up.
    pub async fn release(self, store: &dyn Store) -> Result<(), OpsError> {
        store.journal_release(&self.key, &self.holder).await?;
        Ok(())
    }
}

fn busy(key: &str, lease: Lease) -> OpsError {
    OpsError::Busy {
        key: key.to_owned(),
        holder: lease.holder,
        until: lease.expires_at,
    }
}

/// This process's runner name: `host/pid/nonce` (the nonce from the OS's CSPRNG, so two runners
/// of one process differ).
pub fn runner_name() -> String {
    format!(
        "{}/{}/{}",
        host_name(),
        std::process::id(),
        crate::ids::random_hex(8)
    )
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty() && !h.contains('/'))
        .unwrap_or_else(|| "localhost".into())
}

/// Whether `holder` names a runner of this machine whose process is gone.
fn known_dead(holder: &str) -> bool {
    let mut parts = holder.split('/');
    let (Some(host), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    host == host_name()
        && pid != std::process::id()
        && cfg!(target_os = "linux")
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Takes the lease on `key` for `holder`, waiting up to `wait` for another live runner to
/// finish (0: refuse at once). `now` is read on every attempt.
pub async fn acquire(
    store: &dyn Store,
    key: &str,
    holder: &str,
    now: &(dyn Fn() -> Timestamp + Send + Sync),
    wait: Duration,
) -> Result<Held, OpsError> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let t = now();
        match store.journal_lease(key, holder, t, t + LEASE_TTL).await? {
            Ok(()) => {
                return Ok(Held {
                    key: key.to_owned(),
                    holder: holder.to_owned(),
                });
            }
            Err(current) if known_dead(&current.holder) => {
                if store
                    .journal_lease_steal(key, &current.holder, holder, t + LEASE_TTL)
                    .await?
                {
                    tracing::info!(
                        plan = key,
                        dead = current.holder,
                        "took over the lease of a runner whose process is gone"
                    );
                    return Ok(Held {
                        key: key.to_owned(),
                        holder: holder.to_owned(),
                    });
                }
            }
            Err(current) if tokio::time::Instant::now() >= deadline => {
                return Err(busy(key, current));
            }
            Err(_) => tokio::time::sleep(POLL).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runner_names_are_unique_and_local_ones_alive() {
        let a = runner_name();
        let b = runner_name();
        assert_ne!(a, b);
        // This process is alive.
        assert!(!known_dead(&a));
        // A process that cannot exist on this host is dead; another host's is never presumed so.
        let dead = format!("{}/4294967295/00", host_name());
        assert_eq!(known_dead(&dead), cfg!(target_os = "linux"));
        assert!(!known_dead("elsewhere.example/4294967295/00"));
        assert!(!known_dead("garbage"));
    }
}
