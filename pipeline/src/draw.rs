//! Seeded draws: a fault decision as a pure function of the seed.
//!
//! Seeded draws: a uniform number in [0, 1) from a seed and some bytes, so that a fault decision
//! is a pure function of what it is about (an event id, a call index) and the run's seed.

use md5::{Digest, Md5};

/// A uniform number in [0, 1) from `seed` and `parts` (hashed one after the other, so callers
/// separate variable-length parts themselves), the same on every machine and release.
pub fn uniform(seed: u64, parts: &[&[u8]]) -> f64 {
    let mut hasher = Md5::new();
    hasher.update(seed.to_le_bytes());
    for part in parts {
        hasher.update(part);
    }
    let digest = hasher.finalize();
    (u64::from_le_bytes(digest[..8].try_into().expect("8 bytes")) >> 11) as f64
        / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_uniform_and_stable() {
        let below: usize = (0u64..10_000)
            .filter(|i| uniform(7, &[&i.to_le_bytes()]) < 0.25)
            .count();
        assert!((2_300..2_700).contains(&below), "{below}");
        assert_eq!(uniform(7, &[b"a", b"bc"]), uniform(7, &[b"abc"]));
        assert_ne!(uniform(7, &[b"abc"]), uniform(8, &[b"abc"]));
    }
}
