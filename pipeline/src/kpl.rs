//! The KPL aggregated-record format: many events in one Kinesis record.
//!
//! The Kinesis Producer Library's aggregated-record format, so that many events ride in one
//! Kinesis record and KCL or Lambda de-aggregation libraries can read what tickflow writes.
//!
//! Layout of an aggregated record: the magic bytes `F3 89 9A C2`, a protobuf `AggregatedRecord`,
//! then the MD5 digest of the protobuf bytes. Spec:
//! <https://github.com/awslabs/amazon-kinesis-producer/blob/master/aggregation-format.md>.

use std::collections::HashMap;

use md5::{Digest, Md5};
use prost::Message;

/// Prefix of every aggregated record.
pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
const DIGEST_LEN: usize = 16;
/// Largest Kinesis record (data plus partition key).
pub const MAX_KINESIS_RECORD: usize = 1024 * 1024;
/// Longest partition key Kinesis accepts.
pub const MAX_PARTITION_KEY: usize = 256;

/// The protobuf messages of the spec (proto2: required fields are always encoded).
mod proto {
    /// `message AggregatedRecord`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct AggregatedRecord {
        #[prost(string, repeated, tag = "1")]
        pub partition_key_table: Vec<String>,
        #[prost(string, repeated, tag = "2")]
        pub explicit_hash_key_table: Vec<String>,
        #[prost(message, repeated, tag = "3")]
        pub records: Vec<Record>,
    }

    /// `message Record`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Record {
        #[prost(uint64, required, tag = "1")]
        pub partition_key_index: u64,
        #[prost(uint64, optional, tag = "2")]
        pub explicit_hash_key_index: Option<u64>,
        #[prost(bytes = "vec", required, tag = "3")]
        pub data: Vec<u8>,
        #[prost(message, repeated, tag = "4")]
        pub tags: Vec<Tag>,
    }

    /// `message Tag` (read and ignored).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Tag {
        #[prost(string, required, tag = "1")]
        pub key: String,
        #[prost(string, optional, tag = "2")]
        pub value: Option<String>,
    }
}

/// One user record: what a producer put, before aggregation or after de-aggregation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// The user record's own partition key.
    pub partition_key: String,
    /// Its explicit hash key, when it had one.
    pub explicit_hash_key: Option<String>,
    /// The payload.
    pub data: Vec<u8>,
}

/// An aggregated record ready for `PutRecords`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregated {
    /// The first user record's key: all user records of one aggregate map to one shard.
    pub partition_key: String,
    /// Magic, protobuf and digest.
    pub data: Vec<u8>,
    /// How many user records it carries.
    pub count: usize,
}

/// Packs user records into one aggregated record, tracking its exact encoded size.
#[derive(Debug)]
pub struct Aggregator {
    max_bytes: usize,
    message: proto::AggregatedRecord,
    key_index: HashMap<String, u64>,
    /// Encoded protobuf size so far.
    proto_len: usize,
}

impl Aggregator {
    /// An aggregator whose records stay within `max_bytes` (magic and digest included).
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            message: proto::AggregatedRecord::default(),
            key_index: HashMap::new(),
            proto_len: 0,
        }
    }

    /// User records held.
    pub fn len(&self) -> usize {
        self.message.records.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.message.records.is_empty()
    }

    /// Encoded size of what is held, magic and digest included.
    pub fn size(&self) -> usize {
        MAGIC.len() + self.proto_len + DIGEST_LEN
    }

    /// Adds a user record if it fits; gives it back otherwise (the caller finishes this
    /// aggregate and starts another). A record too large for an empty aggregator is still
    /// taken, so that nothing is ever stuck; Kinesis then rejects it loudly.
    ///
    /// # Errors
    /// The record, unchanged, when it does not fit.
    pub fn try_add(&mut self, partition_key: &str, data: Vec<u8>) -> Result<(), Vec<u8>> {
        let new_key = !self.key_index.contains_key(partition_key);
        let key_bytes = if new_key {
            field_len(partition_key.len())
        } else {
            0
        };
        let index = self
            .key_index
            .get(partition_key)
            .copied()
            .unwrap_or(self.message.partition_key_table.len() as u64);
        let inner = 1 + varint_len(index) + field_len(data.len());
        let added = key_bytes + field_len(inner);
        if !self.is_empty() && self.size() + added > self.max_bytes {
            return Err(data);
        }
        if new_key {
            self.key_index.insert(partition_key.to_string(), index);
            self.message
                .partition_key_table
                .push(partition_key.to_string());
        }
        self.message.records.push(proto::Record {
            partition_key_index: index,
            explicit_hash_key_index: None,
            data,
            tags: Vec::new(),
        });
        self.proto_len += added;
        Ok(())
    }

    /// Encodes what is held and empties the aggregator; `None` when empty.
    pub fn finish(&mut self) -> Option<Aggregated> {
        if self.is_empty() {
            return None;
        }
        let message = std::mem::take(&mut self.message);
        self.key_index.clear();
        self.proto_len = 0;
        let count = message.records.len();
        let partition_key = message.partition_key_table[0].clone();
        Some(Aggregated {
            partition_key,
            data: frame(&message.encode_to_vec()),
            count,
        })
    }
}

/// Magic + protobuf + MD5(protobuf).
fn frame(proto_bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAGIC.len() + proto_bytes.len() + DIGEST_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(proto_bytes);
    out.extend_from_slice(&Md5::digest(proto_bytes));
    out
}

/// Expands a Kinesis record into its user records. A record without the magic prefix, or whose
/// digest or protobuf does not check out, is one plain user record (as the KCL treats it), so
/// nothing is lost: a corrupt aggregate surfaces downstream as a malformed record.
pub fn deaggregate(partition_key: &str, data: &[u8]) -> Vec<UserRecord> {
    let plain = || {
        vec![UserRecord {
            partition_key: partition_key.to_string(),
            explicit_hash_key: None,
            data: data.to_vec(),
        }]
    };
    if data.len() < MAGIC.len() + DIGEST_LEN || data[..MAGIC.len()] != MAGIC {
        return plain();
    }
    let (proto_bytes, digest) = data[MAGIC.len()..].split_at(data.len() - MAGIC.len() - DIGEST_LEN);
    if Md5::digest(proto_bytes).as_slice() != digest {
        return plain();
    }
    let Ok(message) = proto::AggregatedRecord::decode(proto_bytes) else {
        return plain();
    };
    let lookup = |table: &[String], index: u64| table.get(index as usize).cloned();
    let mut out = Vec::with_capacity(message.records.len());
    for record in message.records {
        let Some(key) = lookup(&message.partition_key_table, record.partition_key_index) else {
            return plain(); // an index outside the table: not a valid aggregate
        };
        out.push(UserRecord {
            partition_key: key,
            explicit_hash_key: record
                .explicit_hash_key_index
                .and_then(|i| lookup(&message.explicit_hash_key_table, i)),
            data: record.data,
        });
    }
    out
}

fn varint_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

/// Size of a length-delimited field with a one-byte tag.
fn field_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn b64(text: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap()
    }

    // Published vectors from KPL de-aggregation libraries' test suites.
    const NODE_VECTOR: &str = "84mawgoCcDEaGAgAGhQwMTIzNDU2Nzg5MDEyMzQ1NjdfQRoYCAAaFDAxMjM0NTY3ODkwMTIzNDU2N19CGhgIABoUMDEyMzQ1Njc4OTAxMjM0NTY3X0NHjL02iyRk3D+kO2UC2X6u";
    const PYTHON_VECTOR: &str = "84mawgoEcGstMAoEcGstMQoEcGstMhoTCAAaD3sibXNnIjoibGluZTAifRoTCAEaD3sibXNnIjoibGluZTEifRoTCAIaD3sibXNnIjoibGluZTIifZ8hyadI+v2KZPZrUGim6cQ=";
    const KPL_VECTOR: &str =
        "84mawgoFa2V5LTAaJQgAGiFUZXN0aW5nIEtQTCBBZ2dyZWdhdGVkIFJlY29yZCAxLTBlW2Hfd6iL1WkMbznr8jc2";

    fn encode(records: &[(&str, &[u8])]) -> Vec<u8> {
        let mut agg = Aggregator::new(MAX_KINESIS_RECORD);
        for (key, data) in records {
            agg.try_add(key, data.to_vec()).unwrap();
        }
        agg.finish().unwrap().data
    }

    #[test]
    fn decodes_published_vectors() {
        let records = deaggregate("outer", &b64(NODE_VECTOR));
        let data: Vec<_> = records
            .iter()
            .map(|r| String::from_utf8_lossy(&r.data))
            .collect();
        assert_eq!(
            data,
            [
                "012345678901234567_A",
                "012345678901234567_B",
                "012345678901234567_C"
            ]
        );
        assert!(records.iter().all(|r| r.partition_key == "p1"));

        let records = deaggregate("outer", &b64(PYTHON_VECTOR));
        let pairs: Vec<_> = records
            .iter()
            .map(|r| {
                (
                    r.partition_key.as_str(),
                    String::from_utf8_lossy(&r.data).into_owned(),
                )
            })
            .collect();
        assert_eq!(
            pairs,
            [
                ("pk-0", r#"{"msg":"line0"}"#.to_string()),
                ("pk-1", r#"{"msg":"line1"}"#.to_string()),
                ("pk-2", r#"{"msg":"line2"}"#.to_string()),
            ]
        );

        let records = deaggregate("outer", &b64(KPL_VECTOR));
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].partition_key, "key-0");
        assert_eq!(records[0].data, b"Testing KPL Aggregated Record 1-0");
    }

    #[test]
    fn encodes_byte_identical_to_published_vectors() {
        let node = encode(&[
            ("p1", b"012345678901234567_A"),
            ("p1", b"012345678901234567_B"),
            ("p1", b"012345678901234567_C"),
        ]);
        assert_eq!(node, b64(NODE_VECTOR));
        let python = encode(&[
            ("pk-0", br#"{"msg":"line0"}"#),
            ("pk-1", br#"{"msg":"line1"}"#),
            ("pk-2", br#"{"msg":"line2"}"#),
        ]);
        assert_eq!(python, b64(PYTHON_VECTOR));
    }

    #[test]
    fn tracked_size_is_the_encoded_size_and_stays_within_the_limit() {
        let mut agg = Aggregator::new(4_096);
        let mut taken = 0;
        for i in 0..1_000u32 {
            let key = format!("key-{}", i % 7);
            if agg.try_add(&key, vec![b'x'; (i % 300) as usize]).is_err() {
                break;
            }
            taken += 1;
        }
        let expected = agg.size();
        let out = agg.finish().unwrap();
        assert_eq!(out.count, taken);
        assert_eq!(out.data.len(), expected);
        assert!(out.data.len() <= 4_096);
        assert!(agg.is_empty());
    }

    #[test]
    fn plain_and_corrupt_records_pass_through_whole() {
        assert_eq!(deaggregate("k", b"{\"a\":1}")[0].data, b"{\"a\":1}");
        let mut corrupt = b64(NODE_VECTOR);
        let last = corrupt.len() - 1;
        corrupt[last] ^= 0xff;
        let records = deaggregate("k", &corrupt);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].data, corrupt);
        assert_eq!(records[0].partition_key, "k");
    }
}
