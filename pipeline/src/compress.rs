//! Optional zstd compression, end to end: Kinesis records, SQS bodies and lake objects.
//!
//! LocalStack's Kinesis moves only about 1-3 MB/s on a 2-core machine, whatever the record
//! size, so bytes, not records, bound a local run; market events compress about 15x.
//! Production producers compress for the same reason (CloudWatch Logs puts gzip into Kinesis),
//! and Firehose compresses what it writes to S3.
//! - A compressed record is a zstd frame holding what would otherwise be the record (a KPL
//!   aggregate or one event); readers that see the zstd magic decompress first.
//! - SQS bodies: see [`crate::envelope::seal`].
//! - A compressed lake object is one zstd frame, its key ending in `.zst`; Athena reads it
//!   by that suffix.
//!
//! Off by default, so plain KCL consumers and any S3 reader take what tickflow writes as is.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// The zstd frame magic number, little-endian on the wire.
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];
/// zstd level for Kinesis records. Measured on the 1M-event scenario (750 KB aggregates):
/// level 1 gives 15.5 MB, level 9 12.4 MB for about 1.4 s more CPU, which LocalStack's Kinesis
/// repays twice over at about 1 MB/s.
pub const RECORD_LEVEL: i32 = 9;
/// Largest size a record or an SQS body may decompress to (a KPL aggregate is at most 1 MiB,
/// a body 1 MiB; leave room).
pub const MAX_DECOMPRESSED: usize = 64 * 1024 * 1024;

/// zstd level for lake objects: zstd's and Athena's default, fast and about 12x on rows.
pub const OBJECT_LEVEL: i32 = 3;
/// What a compressed lake object's key ends with; Athena picks the codec by it.
pub const OBJECT_SUFFIX: &str = ".zst";

/// Whether Kinesis records, SQS bodies and lake objects are compressed.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Everything as it is: KPL aggregates or single events, JSON bodies, JSON-lines objects.
    #[default]
    None,
    /// Records, bodies and objects are zstd frames (about 15x on market events).
    Zstd,
}

impl Compression {
    /// A Kinesis record's compressed form (at [`RECORD_LEVEL`]), when compression is on and
    /// that is shorter; `None` means the record goes as it is.
    pub fn compress_record(self, data: &[u8]) -> Option<Vec<u8>> {
        match self {
            Compression::None => None,
            Compression::Zstd => zstd::bulk::compress(data, RECORD_LEVEL)
                .ok()
                .filter(|frame| frame.len() < data.len()),
        }
    }

    /// Turns a lake object's key and body into what is written: with compression on, the body
    /// becomes one zstd frame and the key gains [`OBJECT_SUFFIX`] (`part-….jsonl.zst`).
    pub fn seal_object(self, key: &mut String, body: &mut Vec<u8>) {
        if self == Compression::Zstd {
            if let Ok(frame) = zstd::bulk::compress(body, OBJECT_LEVEL) {
                key.push_str(OBJECT_SUFFIX);
                *body = frame;
            }
        }
    }
}

/// A lake object's rows: decompressed when its key ends with [`OBJECT_SUFFIX`].
///
/// # Errors
/// When such an object is not a zstd frame.
pub fn expand_object(key: &str, body: Vec<u8>) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    if !key.ends_with(OBJECT_SUFFIX) {
        return Ok(body);
    }
    // Bounded: an object that expands without end (a zstd bomb) is an error, not an
    // allocation the size of what it claims.
    let limit = MAX_OBJECT_EXPANDED as u64;
    let mut plain = Vec::new();
    zstd::stream::read::Decoder::new(body.as_slice())?
        .take(limit + 1)
        .read_to_end(&mut plain)?;
    if plain.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "expands past {} MiB, more than any lake object holds",
                limit >> 20
            ),
        ));
    }
    Ok(plain)
}

/// Most bytes a lake object may expand to: twice the largest buffer a lake flushes (128 MiB),
/// as one append may carry a buffer past its flush size.
pub const MAX_OBJECT_EXPANDED: usize = 256 * 1024 * 1024;

/// The record's payload: decompressed when it is a zstd frame, as it is otherwise (also when
/// a frame does not decompress: it then travels on as a malformed record, never dropped).
pub fn expand(data: &[u8]) -> Cow<'_, [u8]> {
    if data.starts_with(&ZSTD_MAGIC) {
        if let Ok(plain) = zstd::bulk::decompress(data, MAX_DECOMPRESSED) {
            return Cow::Owned(plain);
        }
    }
    Cow::Borrowed(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_object_that_expands_past_the_limit_is_an_error() {
        // A frame of zeros that expands past the limit, a few hundred KiB compressed.
        let zeros = vec![0u8; MAX_OBJECT_EXPANDED + 1024];
        let bomb = zstd::bulk::compress(&zeros, 19).unwrap();
        drop(zeros);
        assert!(bomb.len() < MAX_OBJECT_EXPANDED / 100);
        let error = expand_object("p/part-1.jsonl.zst", bomb).unwrap_err();
        assert!(
            error.to_string().contains("expands past 256 MiB"),
            "{error}"
        );
    }

    #[test]
    fn sealed_objects_gain_the_suffix_and_expand_by_key() {
        let rows = b"{\"a\":1}\n".repeat(1000);
        let (mut key, mut body) = ("p/part-1.jsonl".to_string(), rows.clone());
        Compression::Zstd.seal_object(&mut key, &mut body);
        assert_eq!(key, "p/part-1.jsonl.zst");
        assert!(body.len() < rows.len() / 10);
        assert_eq!(expand_object(&key, body).unwrap(), rows);
        let (mut key, mut body) = ("p/part-1.jsonl".to_string(), rows.clone());
        Compression::None.seal_object(&mut key, &mut body);
        assert_eq!((key.as_str(), &body), ("p/part-1.jsonl", &rows));
        assert_eq!(expand_object(&key, body).unwrap(), rows);
        assert!(expand_object("p/part-2.jsonl.zst", b"not zstd".to_vec()).is_err());
    }

    proptest! {
        #[test]
        fn compressed_records_are_shorter_and_expand_to_the_original(
            data in prop::collection::vec(any::<u8>(), 0..4096),
            repeat in 1usize..64,
        ) {
            let data = data.repeat(repeat);
            if let Some(packed) = Compression::Zstd.compress_record(&data) {
                prop_assert!(packed.starts_with(&ZSTD_MAGIC));
                prop_assert!(packed.len() < data.len());
                let expanded = expand(&packed);
                prop_assert_eq!(expanded.as_ref(), data.as_slice());
            }
            prop_assert_eq!(Compression::None.compress_record(&data), None);
        }
    }

    #[test]
    fn repetitive_records_compress_and_random_ones_stay_as_they_are() {
        let events = b"{\"event_name\":\"forex:rate\",\"bid\":1.07997}\n".repeat(500);
        assert!(Compression::Zstd.compress_record(&events).is_some());
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        assert_eq!(Compression::Zstd.compress_record(&noise), None);
    }

    #[test]
    fn plain_and_broken_records_pass_through() {
        assert_eq!(expand(b"{\"a\":1}").as_ref(), b"{\"a\":1}");
        let mut broken = ZSTD_MAGIC.to_vec();
        broken.extend_from_slice(b"garbage");
        assert_eq!(expand(&broken).as_ref(), broken.as_slice());
    }
}
