//! Deterministic randomness: one seeded generator per purpose, derived from the run's seed, so
//! the same seed always yields byte-identical data whatever order things are generated in.

/// A generator for one purpose (`"twilio.messages"`, ...), derived from the seed.
pub fn for_purpose(seed: u64, purpose: &str) -> fastrand::Rng {
    // FNV-1a over the purpose, mixed with the seed.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in purpose.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    fastrand::Rng::with_seed(seed ^ h.rotate_left(17))
}

/// A Twilio-style SID: two-letter prefix + 32 lowercase hex digits.
pub fn twilio_sid(prefix: &str, rng: &mut fastrand::Rng) -> String {
    format!("{prefix}{:016x}{:016x}", rng.u64(..), rng.u64(..))
}

/// A Twilio-style SID derived from a number (stable per index, no generator needed).
pub fn twilio_sid_for(prefix: &str, seed: u64, index: u64) -> String {
    let mut r = fastrand::Rng::with_seed(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index);
    twilio_sid(prefix, &mut r)
}

/// A Stripe-style id: prefix + `_` + 24 alphanumerics.
pub fn stripe_id(prefix: &str, rng: &mut fastrand::Rng) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let tail: String = (0..24)
        .map(|_| char::from(ALPHABET[rng.usize(..ALPHABET.len())]))
        .collect();
    format!("{prefix}_{tail}")
}

/// Picks from weighted choices.
pub fn weighted<'a, T>(rng: &mut fastrand::Rng, choices: &'a [(T, u32)]) -> &'a T {
    let total: u32 = choices.iter().map(|(_, w)| *w).sum();
    let mut x = rng.u32(..total.max(1));
    for (item, w) in choices {
        if x < *w {
            return item;
        }
        x -= w;
    }
    &choices[choices.len() - 1].0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_per_seed_and_purpose() {
        let a: Vec<u64> = (0..5).map(|_| for_purpose(7, "x").u64(..)).collect();
        let mut r1 = for_purpose(7, "x");
        let mut r2 = for_purpose(7, "x");
        let mut r3 = for_purpose(7, "y");
        let mut r4 = for_purpose(8, "x");
        let s1 = twilio_sid("SM", &mut r1);
        assert_eq!(s1, twilio_sid("SM", &mut r2));
        assert_ne!(s1, twilio_sid("SM", &mut r3));
        assert_ne!(s1, twilio_sid("SM", &mut r4));
        assert_eq!(s1.len(), 34);
        assert!(
            s1[2..]
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(a.len(), 5);
        assert_eq!(twilio_sid_for("PN", 1, 5), twilio_sid_for("PN", 1, 5));
        assert_ne!(twilio_sid_for("PN", 1, 5), twilio_sid_for("PN", 1, 6));
        let id = stripe_id("we", &mut r1);
        assert!(id.starts_with("we_") && id.len() == 27);
        let mut r = for_purpose(1, "w");
        let picks: Vec<&str> = (0..1000)
            .map(|_| *weighted(&mut r, &[("a", 9), ("b", 1)]))
            .collect();
        let b = picks.iter().filter(|p| **p == "b").count();
        assert!((50..200).contains(&b), "{b}");
    }
}
