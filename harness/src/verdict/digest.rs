//! The 64-bit digest judges compare contents by.

use std::hash::{Hash, Hasher};

/// The digest the judge compares contents by: a 64-bit hash of the bytes (SipHash with fixed
/// keys, stable within a process, which is where ledgers and read-backs meet). Never zero, so
/// that an optional digest costs no more memory than a digest.
pub fn digest(bytes: &[u8]) -> Digest {
    let mut hasher = std::hash::DefaultHasher::new();
    bytes.hash(&mut hasher);
    Digest::new(hasher.finish()).unwrap_or(Digest::MIN)
}

/// A [`digest`].
pub type Digest = std::num::NonZeroU64;
