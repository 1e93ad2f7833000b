//! Unguessable identifiers (plan ids, confirmation handles, runner nonces), from the operating
//! system's CSPRNG.

/// `bytes` random bytes as lower-case hex. Falls back to a time-and-counter mix only if the
/// OS's generator fails (it does not on any supported platform); such ids are then unique but
/// not secret, and a warning says so.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    if let Err(e) = getrandom::fill(&mut buf) {
        tracing::warn!("the OS random generator failed ({e}): this id is unique, not secret");
        use sha2::Digest;
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let seed = format!(
            "{:?}/{}/{n}",
            std::time::SystemTime::now(),
            std::process::id()
        );
        let digest = sha2::Sha256::digest(seed.as_bytes());
        for (i, b) in buf.iter_mut().enumerate() {
            *b = digest[i % digest.len()];
        }
    }
    hex::encode(buf)
}

/// A plan id: `plan_` and 128 random bits.
pub fn plan_id() -> String {
    format!("plan_{}", random_hex(16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_long_distinct_hex() {
        let a = plan_id();
        let b = plan_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 5 + 32);
        assert!(a[5..].chars().all(|c| c.is_ascii_hexdigit()));
    }
}
