//! Hive-style partition prefixes and object keys.
//!
//! Hive-style partition prefixes and object keys, with every partition value sanitised so that
//! nothing in the data can escape its prefix.

use chrono::{DateTime, Utc};
use md5::{Digest, Md5};

/// Prefix of quarantined records.
pub const QUARANTINE: &str = "quarantine";
/// Hive's name for an empty partition value.
const EMPTY_VALUE: &str = "__HIVE_DEFAULT_PARTITION__";

/// Makes `value` safe as one path segment: every byte outside `[A-Za-z0-9_-]` becomes `%XX`
/// (as Hive escapes partition values), so `/`, `..`, control characters and `%` itself cannot
/// change the key's structure, and distinct values stay distinct.
pub fn sanitize(value: &str) -> String {
    if value.is_empty() {
        return EMPTY_VALUE.to_string();
    }
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `event_type=<type>/dt=<YYYY-MM-DD>/hour=<HH>/` for an event of `event_type` at `epoch_ms`.
pub fn data_prefix(event_type: &str, epoch_ms: i64) -> String {
    let (date, hour) = crate::utc::date_and_hour(epoch_ms);
    format!(
        "event_type={}/dt={}/hour={}/",
        sanitize(event_type),
        sanitize(&date),
        sanitize(&hour),
    )
}

/// `quarantine/dt=<YYYY-MM-DD>/hour=<HH>/` by processing time (a bad record's own time is
/// not to be trusted).
pub fn quarantine_prefix(now: DateTime<Utc>) -> String {
    format!(
        "{QUARANTINE}/dt={}/hour={}/",
        now.format("%Y-%m-%d"),
        now.format("%H")
    )
}

/// `<prefix>part-<digest>.jsonl`, where the digest covers what identifies the rows (their
/// event ids): the same batch always gets the same key, so rewriting it is idempotent, and
/// different batches get different keys.
pub fn object_key(prefix: &str, content_id: &[u8]) -> String {
    let digest = Md5::digest(content_id);
    let hex: String = digest.iter().take(10).map(|b| format!("{b:02x}")).collect();
    format!("{prefix}part-{hex}.jsonl")
}

/// What names an object: the identity of each record it holds, in order (an event's id bytes;
/// a quarantined record's bytes, then its message id), digested. The writer names what it
/// uploads by it, and a judge recomputes it from the rows it reads.
#[derive(Debug, Clone, Default)]
pub struct ContentId(Md5);

impl ContentId {
    /// Adds one record's identity.
    pub fn update(&mut self, identity: &[u8]) {
        self.0.update(identity);
    }

    /// The key of an object under `prefix` holding the records added (see [`object_key`]).
    pub fn key(self, prefix: &str) -> String {
        object_key(prefix, &self.0.finalize())
    }
}

/// The partition part of a key: everything before the file name.
pub fn partition_of(key: &str) -> &str {
    key.rsplit_once('/').map_or("", |(p, _)| p)
}

/// The values of a data object's key, `event_type=<t>/dt=<d>/hour=<h>/<file>`, as written
/// (still escaped): what a judge compares with the partition an event belongs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataKey<'a> {
    /// `event_type` value.
    pub event_type: &'a str,
    /// `dt` value.
    pub dt: &'a str,
    /// `hour` value.
    pub hour: &'a str,
    /// The object's file name.
    pub file: &'a str,
}

impl DataKey<'_> {
    /// The partition prefix these values make, as [`data_prefix`] writes it.
    pub fn prefix(&self) -> String {
        format!(
            "event_type={}/dt={}/hour={}/",
            self.event_type, self.dt, self.hour
        )
    }
}

/// Parses a data object's key; `None` for any other shape (the quarantine, a stray object, a
/// key with more or fewer segments, or a segment without its `name=`).
pub fn parse_data_key(key: &str) -> Option<DataKey<'_>> {
    let mut parts = key.split('/');
    let mut value = |name: &str| parts.next()?.strip_prefix(name)?.strip_prefix('=');
    let (event_type, dt, hour) = (value("event_type")?, value("dt")?, value("hour")?);
    let file = parts.next().filter(|f| !f.is_empty())?;
    parts.next().is_none().then_some(DataKey {
        event_type,
        dt,
        hour,
        file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn layout_is_hive_style() {
        // 2026-11-23 14:30 UTC
        assert_eq!(
            data_prefix("stock_price", 1_795_444_200_000),
            "event_type=stock_price/dt=2026-11-23/hour=14/"
        );
        let key = object_key("event_type=forex/dt=2026-11-23/hour=14/", b"ids");
        assert!(key.starts_with("event_type=forex/dt=2026-11-23/hour=14/part-"));
        assert!(key.ends_with(".jsonl"));
        assert_eq!(partition_of(&key), "event_type=forex/dt=2026-11-23/hour=14");
        let parsed = parse_data_key(&key).unwrap();
        assert_eq!(
            (parsed.event_type, parsed.dt, parsed.hour),
            ("forex", "2026-11-23", "14")
        );
        assert_eq!(parsed.prefix(), "event_type=forex/dt=2026-11-23/hour=14/");
        for other in [
            "quarantine/dt=2026-11-23/hour=14/part-1.jsonl",
            "event_type=forex/dt=2026-11-23/part-1.jsonl",
            "event_type=forex/dt=2026-11-23/hour=14/",
            "event_type=forex/dt=2026-11-23/hour=14/x/part-1.jsonl",
            "event_type=forex/dt=2026-11-23/hours=14/part-1.jsonl",
        ] {
            assert_eq!(parse_data_key(other), None, "{other}");
        }
    }

    #[test]
    fn hostile_values_stay_in_their_segment() {
        assert_eq!(sanitize("../x"), "%2E%2E%2Fx");
        assert_eq!(sanitize("a/b"), "a%2Fb");
        assert_eq!(sanitize("\n"), "%0A");
        assert_eq!(sanitize(""), EMPTY_VALUE);
    }

    proptest! {
        #[test]
        fn sanitised_values_are_single_safe_segments(value in any::<String>()) {
            let s = sanitize(&value);
            prop_assert!(!s.is_empty());
            prop_assert!(!s.contains('/') && s != "." && s != "..");
            prop_assert!(s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-%".contains(&b)));
            let prefix = data_prefix(&value, 0);
            prop_assert_eq!(prefix.matches('/').count(), 3);
            prop_assert!(prefix.starts_with("event_type="));
        }

        #[test]
        fn data_keys_round_trip_through_the_parser(
            event_type in any::<String>(), ms in any::<i64>(), ids in any::<Vec<u8>>(),
        ) {
            let key = object_key(&data_prefix(&event_type, ms), &ids);
            let parsed = parse_data_key(&key).expect("every written key parses");
            prop_assert_eq!(parsed.prefix(), data_prefix(&event_type, ms));
            prop_assert_eq!(parsed.event_type, sanitize(&event_type));
        }

        #[test]
        fn sanitising_is_injective(a in any::<String>(), b in any::<String>()) {
            prop_assume!(a != b && !a.is_empty() && !b.is_empty());
            prop_assert_ne!(sanitize(&a), sanitize(&b));
        }
    }
}
