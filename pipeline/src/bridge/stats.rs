//! The bridge's live counters, shared by its reader and its sinks.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::resend::Again;

/// Live counters.
#[derive(Debug, Default)]
pub struct BridgeStats {
    /// Kinesis records read.
    pub kinesis_records: AtomicU64,
    /// Bytes of Kinesis record data read (as stored: compressed when the producer compresses).
    pub kinesis_bytes: AtomicU64,
    /// User records (events) after de-aggregation, sent to SQS.
    pub user_records: AtomicU64,
    /// SQS messages sent.
    pub messages: AtomicU64,
    /// `GetRecords` and `SendMessageBatch` calls.
    pub calls: AtomicU64,
    /// Entries retried.
    pub retries: AtomicU64,
    /// Latest `MillisBehindLatest` seen on any shard.
    pub millis_behind: AtomicU64,
    /// Kinesis calls that failed after the SDK's retries and were retried by the bridge
    /// (expired iterators included).
    pub call_retries: AtomicU64,
    /// Shards read to their end after a split or merge closed them.
    pub closed_shards: AtomicU64,
    /// Events delivered but not checkpointed when the consumer crashed: read and delivered
    /// again by its successor. A sink that cannot overwrite (Firehose) holds at most this many
    /// extra copies.
    pub unacknowledged: AtomicU64,
    /// Those events' records, one entry per time each was left unacknowledged: a sink that
    /// cannot overwrite may hold each record that many more times, and no other record more
    /// than once per copy sent. Kept only by a consumer that may crash.
    pub redelivered: std::sync::Mutex<Vec<Vec<u8>>>,
}

impl BridgeStats {
    /// Counts entries about to be sent again (SQS messages, Firehose records).
    pub(crate) fn retried(&self, again: Again) {
        self.retries
            .fetch_add(again.entries as u64, Ordering::Relaxed);
    }
}
