//! The producer: events aggregated per shard and put into Kinesis.
//!
//! Producer -> Kinesis: aggregates user records per shard (KPL format), batches them into
//! `PutRecords` calls of at most 500 records and 5 MiB, and retries only the entries that failed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use md5::{Digest, Md5};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::aws::{AwsError, Clients};
use crate::chaos::{Chaos, Stage};
use crate::compress::Compression;
use crate::error::{Error, Result};
use crate::history::{record_id, Point, Tap};
use crate::kpl::{Aggregator, MAX_KINESIS_RECORD, MAX_PARTITION_KEY};
use crate::metrics::{catalogue, Metrics};
use crate::resend::{self, Again, Tried};
use crate::retry::Backoff;

/// Largest aggregate when records are compressed: zstd does about 14x on 400 KB of events
/// and 17x on 4 MB, and an aggregate that still compresses past the record limit is split.
pub const MAX_COMPRESSED_AGGREGATE: usize = 4 * 1024 * 1024;
/// Most records in one `PutRecords` call.
pub const MAX_BATCH_RECORDS: usize = 500;
/// Most bytes (data and keys) in one `PutRecords` call.
pub const MAX_BATCH_BYTES: usize = 5 * 1024 * 1024;

/// The AWS calls the producer makes: its shard map, then its puts.
pub const CALLS: &[crate::chaos::Call] = &[
    (crate::chaos::Service::Kinesis, "ListShards"),
    (crate::chaos::Service::Kinesis, "PutRecords"),
];

/// A record for Kinesis: the producer's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The instrument, so that one instrument's events stay ordered on one shard.
    pub partition_key: String,
    /// The serialised event (or whatever a fault put there).
    pub data: Vec<u8>,
}

/// Producer settings.
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// Aggregate many events into one Kinesis record (KPL format); off puts one record each.
    pub aggregate: bool,
    /// Largest aggregated record, magic and digest included.
    pub max_aggregate_bytes: usize,
    /// Longest a record waits in a partial aggregate or batch before it is sent.
    pub linger: Duration,
    /// `PutRecords` calls in flight at once, at most one per shard: a shard takes its records
    /// in the order they were produced.
    pub concurrency: usize,
    /// Compress each Kinesis record (see [`crate::compress`]).
    pub compression: Compression,
    /// Retry policy for failed entries and throttling.
    pub backoff: Backoff,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        Self {
            aggregate: true,
            max_aggregate_bytes: MAX_KINESIS_RECORD - MAX_PARTITION_KEY,
            linger: Duration::from_millis(100),
            concurrency: 4,
            compression: Compression::None,
            backoff: Backoff::default(),
        }
    }
}

/// What the producer did, for reports; shared so progress can be read while it runs.
#[derive(Debug, Default)]
pub struct ProducerStats {
    /// User records (events) accepted by Kinesis.
    pub user_records: AtomicU64,
    /// Kinesis records accepted (aggregates count once).
    pub kinesis_records: AtomicU64,
    /// Bytes of record data accepted.
    pub bytes: AtomicU64,
    /// `PutRecords` calls made.
    pub calls: AtomicU64,
    /// Entries or calls retried.
    pub retries: AtomicU64,
    /// Of those, throttled ones (`ProvisionedThroughputExceededException`).
    pub throttles: AtomicU64,
}

/// One entry of a pending batch, with how many user records it carries.
struct Entry {
    partition_key: String,
    data: Vec<u8>,
    user_records: u64,
    /// The ids of its user records, when the producer reports to a tap (empty otherwise).
    ids: Vec<Uuid>,
}

/// An open shard's hash-key range, for routing partition keys the way Kinesis does.
#[derive(Debug, Clone, Copy)]
struct ShardRange {
    start: u128,
    end: u128,
}

/// The producer stage.
pub struct Producer {
    clients: Clients,
    stream: String,
    config: ProducerConfig,
    stats: Arc<ProducerStats>,
    checkpoints: Option<Barriers>,
    chaos: Option<Arc<Chaos>>,
    tap: Option<Arc<dyn Tap>>,
}

/// Checkpoint barriers: every `every` records the producer sends everything it holds, waits
/// until Kinesis has taken all of it, and acknowledges those records to its source, which then
/// need not keep them for a successor.
#[derive(Debug, Clone)]
struct Barriers {
    every: u64,
    acknowledged: Arc<AtomicU64>,
}

impl Producer {
    /// A producer for `stream`.
    pub fn new(clients: Clients, stream: impl Into<String>, config: ProducerConfig) -> Self {
        Self {
            clients,
            stream: stream.into(),
            config,
            stats: Arc::default(),
            checkpoints: None,
            chaos: None,
            tap: None,
        }
    }

    /// Every `every` records, flushes and waits until they are all in Kinesis, then adds them
    /// to `acknowledged` (records this producer took from its input that are durable): what a
    /// source replays to a successor after a crash is what was never acknowledged.
    pub fn with_checkpoints(mut self, every: u64, acknowledged: Arc<AtomicU64>) -> Self {
        self.checkpoints = Some(Barriers {
            every: every.max(1),
            acknowledged,
        });
        self
    }

    /// Reports every event Kinesis accepted to `tap` (the run's history).
    pub fn with_tap(mut self, tap: Arc<dyn Tap>) -> Self {
        self.tap = Some(tap);
        self
    }

    /// Dies at its crash point (a `PutRecords` call accepted, its answer not yet taken) when
    /// `chaos` says so.
    pub fn with_chaos(mut self, chaos: Arc<Chaos>) -> Self {
        self.chaos = Some(chaos);
        self
    }

    /// Counts into `stats`.
    pub fn with_stats(mut self, stats: Arc<ProducerStats>) -> Self {
        self.stats = stats;
        self
    }

    /// Live counters.
    pub fn stats(&self) -> Arc<ProducerStats> {
        self.stats.clone()
    }

    /// Sends everything that arrives on `input` until it closes, then flushes and returns.
    ///
    /// # Errors
    /// An AWS call that still fails after the retry budget; nothing is dropped silently.
    pub async fn run(self, mut input: mpsc::Receiver<Outgoing>) -> Result<()> {
        let shards = self.shard_ranges().await?;
        let mut packer = Packer::new(
            shards,
            self.config.aggregate,
            self.config.max_aggregate_bytes,
        );
        packer.keep_ids = self.tap.is_some();
        let mut lanes = Lanes::new(packer.shards.len(), self.config.concurrency);
        let mut deadline = tokio::time::Instant::now() + self.config.linger;
        let mut received = 0u64;
        loop {
            let next = tokio::select! {
                item = input.recv() => Step::Input(item),
                _ = tokio::time::sleep_until(deadline) => Step::Linger,
                Some(done) = lanes.calls.join_next(), if !lanes.calls.is_empty() => {
                    Step::Done(done)
                }
            };
            // What is ready to send, whether this record is a barrier (everything up to it
            // acknowledged before going on), and whether input ended.
            let (ready, barrier, closing) = match next {
                Step::Done(done) => {
                    lanes.settle(done)?;
                    lanes.send_free(&self);
                    continue;
                }
                Step::Input(Some(record)) => {
                    received += 1;
                    let barrier = self
                        .checkpoints
                        .as_ref()
                        .is_some_and(|b| received.is_multiple_of(b.every));
                    let mut ready = packer.add(record);
                    if barrier {
                        ready.extend(packer.flush());
                    }
                    (ready, barrier, false)
                }
                // Linger expired: send partial aggregates so a slow stream still flows.
                Step::Linger => {
                    deadline = tokio::time::Instant::now() + self.config.linger;
                    (packer.flush(), false, false)
                }
                Step::Input(None) => (packer.flush(), false, true),
            };
            for entry in seal_all(self.config.compression, ready).await? {
                let shard = route(&packer.shards, &entry.partition_key);
                lanes.push(&self, shard, entry).await?;
            }
            lanes.send_free(&self);
            if let (true, Some(b)) = (barrier, &self.checkpoints) {
                lanes.drain(&self).await?;
                b.acknowledged.store(received, Ordering::Release);
            }
            if closing {
                break;
            }
        }
        lanes.drain(&self).await?;
        if let Some(b) = &self.checkpoints {
            b.acknowledged.store(received, Ordering::Release);
        }
        Ok(())
    }

    /// One `PutRecords` call of `batch` (with its retries), and the producer's crash point
    /// after it took effect.
    fn call(&self, batch: Vec<Entry>) -> impl std::future::Future<Output = Result<()>> + use<> {
        let (clients, stream, stats) = (
            self.clients.clone(),
            self.stream.clone(),
            self.stats.clone(),
        );
        let (backoff, chaos, tap) = (self.config.backoff, self.chaos.clone(), self.tap.clone());
        async move {
            let accepted = Accepted {
                stats: &stats,
                tap: tap.as_deref(),
                metrics: Some((&clients.metrics, stream.as_str())),
            };
            let result = put_with_retries(&clients, &stream, batch, backoff, accepted).await;
            if result.is_ok() && Chaos::crash_point_of(chaos.as_deref(), Stage::Producer).await {
                return Err(Error::Crashed(Stage::Producer));
            }
            result
        }
    }

    /// The open shards' hash-key ranges, in order.
    async fn shard_ranges(&self) -> Result<Vec<ShardRange>> {
        let mut ranges = Vec::new();
        for shard in self.clients.shards(&self.stream).await? {
            let open = shard
                .sequence_number_range()
                .is_none_or(|r| r.ending_sequence_number().is_none());
            if let (true, Some(range)) = (open, shard.hash_key_range()) {
                ranges.push(ShardRange {
                    start: range.starting_hash_key().parse().unwrap_or(0),
                    end: range.ending_hash_key().parse().unwrap_or(u128::MAX),
                });
            }
        }
        ranges.sort_by_key(|r| r.start);
        if ranges.is_empty() {
            ranges.push(ShardRange {
                start: 0,
                end: u128::MAX,
            });
        }
        Ok(ranges)
    }
}

/// Where the producer enters what Kinesis accepted: its counters, and the run's history.
#[derive(Clone, Copy)]
struct Accepted<'a> {
    stats: &'a ProducerStats,
    tap: Option<&'a dyn Tap>,
    /// Where `IncomingRecords` and `IncomingBytes` go, and the stream's name.
    metrics: Option<(&'a Metrics, &'a str)>,
}

/// Counts the entries `results` accepted (and reports their events to the tap); returns the
/// ones that failed.
fn count_accepted(
    batch: Vec<Entry>,
    results: &[aws_sdk_kinesis::types::PutRecordsResultEntry],
    accepted: Accepted<'_>,
) -> Vec<Entry> {
    let (stats, mut failed) = (accepted.stats, Vec::new());
    let (mut records, mut bytes) = (0u64, 0u64);
    for (entry, result) in batch.into_iter().zip(results) {
        match result.error_code() {
            None => {
                records += 1;
                bytes += entry.data.len() as u64;
                if let Some(tap) = accepted.tap {
                    tap.saw(Point::Accepted, &entry.ids);
                }
                stats
                    .user_records
                    .fetch_add(entry.user_records, Ordering::Relaxed);
                stats.kinesis_records.fetch_add(1, Ordering::Relaxed);
                stats
                    .bytes
                    .fetch_add(entry.data.len() as u64, Ordering::Relaxed);
            }
            Some(code) => {
                if code == "ProvisionedThroughputExceededException" {
                    stats.throttles.fetch_add(1, Ordering::Relaxed);
                }
                failed.push(entry);
            }
        }
    }
    if let Some((metrics, stream)) = accepted.metrics {
        metrics.record(&catalogue::INCOMING_RECORDS, stream, records as f64);
        metrics.record(&catalogue::INCOMING_BYTES, stream, bytes as f64);
    }
    failed
}

/// What woke the producer's loop.
enum Step {
    /// A record, or the end of the input.
    Input(Option<Outgoing>),
    /// The linger time passed.
    Linger,
    /// A call ended.
    Done(std::result::Result<(usize, Result<()>), tokio::task::JoinError>),
}

/// One batch per shard and at most one `PutRecords` call in flight per shard: a shard takes its
/// records in the order they were produced (an instrument's events stay in market order:
/// with calls to one shard racing, `load-1m`'s consumer saw prices hundreds of market seconds
/// out of order) while the other shards' calls go on, and a shard's batch grows while its call
/// is out, so backpressure makes calls larger rather than more.
struct Lanes {
    batches: Vec<Batch>,
    busy: Vec<bool>,
    /// Calls in flight, each ending with its shard.
    calls: JoinSet<(usize, Result<()>)>,
    /// Most calls in flight.
    limit: usize,
}

impl Lanes {
    fn new(shards: usize, limit: usize) -> Self {
        Self {
            batches: (0..shards).map(|_| Batch::default()).collect(),
            busy: vec![false; shards],
            calls: JoinSet::new(),
            limit: limit.max(1),
        }
    }

    /// Adds `entry` to `shard`'s batch; a batch it fills is sent first, once its lane is free.
    async fn push(&mut self, producer: &Producer, shard: usize, entry: Entry) -> Result<()> {
        if let Some(full) = self.batches[shard].push(entry) {
            while self.busy[shard] || self.calls.len() >= self.limit {
                self.settle_one().await?;
            }
            self.start(producer, shard, full);
        }
        Ok(())
    }

    /// Sends each waiting batch whose lane is free (within the limit of calls in flight).
    fn send_free(&mut self, producer: &Producer) {
        for shard in 0..self.batches.len() {
            if self.calls.len() >= self.limit {
                return;
            }
            if !self.busy[shard] && !self.batches[shard].entries.is_empty() {
                let batch = self.batches[shard].take();
                self.start(producer, shard, batch);
            }
        }
    }

    fn start(&mut self, producer: &Producer, shard: usize, batch: Vec<Entry>) {
        self.busy[shard] = true;
        let call = producer.call(batch);
        self.calls.spawn(async move { (shard, call.await) });
    }

    /// A call that ended: its lane is free; its error, if it failed.
    fn settle(
        &mut self,
        done: std::result::Result<(usize, Result<()>), tokio::task::JoinError>,
    ) -> Result<()> {
        let (shard, result) = done.map_err(|e| Error::Stage(format!("producer task: {e}")))?;
        self.busy[shard] = false;
        result
    }

    async fn settle_one(&mut self) -> Result<()> {
        match self.calls.join_next().await {
            Some(done) => self.settle(done),
            None => Ok(()),
        }
    }

    /// Sends everything and waits until Kinesis has taken all of it.
    async fn drain(&mut self, producer: &Producer) -> Result<()> {
        loop {
            self.send_free(producer);
            if self.calls.is_empty() {
                return Ok(());
            }
            self.settle_one().await?;
        }
    }
}

/// Turns records into Kinesis entries: KPL aggregates per shard, or one entry per record.
struct Packer {
    shards: Vec<ShardRange>,
    aggregate: bool,
    aggregators: Vec<Aggregator>,
    /// Keep each entry's user record ids (for a tap).
    keep_ids: bool,
    /// The ids in each shard's partial aggregate, when kept.
    pending_ids: Vec<Vec<Uuid>>,
}

impl Packer {
    fn new(shards: Vec<ShardRange>, aggregate: bool, max_aggregate_bytes: usize) -> Self {
        let aggregators = shards
            .iter()
            .map(|_| Aggregator::new(max_aggregate_bytes))
            .collect();
        Self {
            pending_ids: vec![Vec::new(); shards.len()],
            shards,
            aggregate,
            aggregators,
            keep_ids: false,
        }
    }

    /// Adds `record`; returns the entries it completed (a full aggregate, or the record itself).
    fn add(&mut self, record: Outgoing) -> Vec<Entry> {
        let id = self.keep_ids.then(|| record_id(&record.data)).flatten();
        if !self.aggregate {
            return vec![Entry {
                partition_key: record.partition_key,
                data: record.data,
                user_records: 1,
                ids: id.into_iter().collect(),
            }];
        }
        let shard = route(&self.shards, &record.partition_key);
        let aggregator = &mut self.aggregators[shard];
        let pending = &mut self.pending_ids[shard];
        let full = match aggregator.try_add(&record.partition_key, record.data) {
            Ok(()) => None,
            Err(data) => {
                let full = aggregator
                    .finish()
                    .map(|a| aggregated_entry(a, std::mem::take(pending)));
                let _ = aggregator.try_add(&record.partition_key, data);
                full
            }
        };
        pending.extend(id);
        full.into_iter().collect()
    }

    /// Every partial aggregate, as entries.
    fn flush(&mut self) -> Vec<Entry> {
        self.aggregators
            .iter_mut()
            .zip(&mut self.pending_ids)
            .filter_map(|(a, ids)| Some(aggregated_entry(a.finish()?, std::mem::take(ids))))
            .collect()
    }
}

/// The next `PutRecords` call's entries, within its limits of count and bytes.
#[derive(Default)]
struct Batch {
    entries: Vec<Entry>,
    bytes: usize,
}

impl Batch {
    /// Adds `entry`; returns the batch before it when `entry` would not fit in it.
    fn push(&mut self, entry: Entry) -> Option<Vec<Entry>> {
        let size = entry.data.len() + entry.partition_key.len();
        let full = self.entries.len() == MAX_BATCH_RECORDS || self.bytes + size > MAX_BATCH_BYTES;
        let previous = full.then(|| self.take());
        self.bytes += size;
        self.entries.push(entry);
        previous
    }

    /// The batch's entries, leaving it empty.
    fn take(&mut self) -> Vec<Entry> {
        self.bytes = 0;
        std::mem::take(&mut self.entries)
    }
}

/// [`seal`] for every entry; compression (tens of milliseconds for a 4 MiB aggregate) runs on
/// the blocking pool rather than stalling the runtime's workers.
async fn seal_all(compression: Compression, entries: Vec<Entry>) -> Result<Vec<Entry>> {
    let light = compression == Compression::None || entries.is_empty();
    let seal_each = move || -> Vec<Entry> {
        entries
            .into_iter()
            .flat_map(|e| seal(compression, e))
            .collect()
    };
    if light {
        return Ok(seal_each());
    }
    tokio::task::spawn_blocking(seal_each)
        .await
        .map_err(|e| Error::Stage(format!("producer compression task: {e}")))
}

/// The entries to put for `entry`: compressed when that is on and shorter. An aggregate too
/// large for one Kinesis record even so (aggregates may be larger when compression is on, see
/// [`MAX_COMPRESSED_AGGREGATE`]) is split into aggregates that fit uncompressed, each sealed
/// the same way. A single record too large stays whole, for Kinesis to reject loudly.
fn seal(compression: Compression, entry: Entry) -> Vec<Entry> {
    let limit = MAX_KINESIS_RECORD - entry.partition_key.len();
    match compression.compress_record(&entry.data) {
        Some(frame) if frame.len() <= limit => {
            return vec![Entry {
                data: frame,
                ..entry
            }]
        }
        None if entry.data.len() <= limit => return vec![entry],
        _ if entry.user_records <= 1 => return vec![entry],
        _ => {}
    }
    let mut aggregator = Aggregator::new(MAX_KINESIS_RECORD - MAX_PARTITION_KEY);
    let (mut pieces, mut ids) = (Vec::new(), Vec::new());
    let keep_ids = !entry.ids.is_empty();
    for user in crate::kpl::deaggregate(&entry.partition_key, &entry.data) {
        let id = keep_ids.then(|| record_id(&user.data)).flatten();
        if let Err(data) = aggregator.try_add(&user.partition_key, user.data) {
            pieces.extend(
                aggregator
                    .finish()
                    .map(|a| aggregated_entry(a, std::mem::take(&mut ids))),
            );
            let _ = aggregator.try_add(&user.partition_key, data);
        }
        ids.extend(id);
    }
    pieces.extend(
        aggregator
            .finish()
            .map(|a| aggregated_entry(a, std::mem::take(&mut ids))),
    );
    pieces
        .into_iter()
        .map(|mut entry| {
            if let Some(frame) = compression.compress_record(&entry.data) {
                entry.data = frame;
            }
            entry
        })
        .collect()
}

fn aggregated_entry(a: crate::kpl::Aggregated, ids: Vec<Uuid>) -> Entry {
    Entry {
        partition_key: a.partition_key,
        data: a.data,
        user_records: a.count as u64,
        ids,
    }
}

/// The shard Kinesis will put `partition_key` on: MD5 of the key as a 128-bit number, looked up
/// in the shards' hash-key ranges.
fn route(shards: &[ShardRange], partition_key: &str) -> usize {
    let hash = u128::from_be_bytes(Md5::digest(partition_key.as_bytes()).into());
    shards
        .iter()
        .position(|s| s.start <= hash && hash <= s.end)
        .unwrap_or(0)
}

/// Puts a batch, retrying failed entries (and whole-call throttling) with backoff.
async fn put_with_retries(
    clients: &Clients,
    stream: &str,
    batch: Vec<Entry>,
    backoff: Backoff,
    accepted: Accepted<'_>,
) -> Result<()> {
    let stats = accepted.stats;
    let put = |batch: Vec<Entry>| async move {
        let entries: Vec<_> = batch
            .iter()
            .map(|e| {
                PutRecordsRequestEntry::builder()
                    .partition_key(&e.partition_key)
                    .data(Blob::new(e.data.clone()))
                    .build()
                    .expect("partition key and data are set")
            })
            .collect();
        stats.calls.fetch_add(1, Ordering::Relaxed);
        let response = clients
            .kinesis
            .put_records()
            .stream_name(stream)
            .set_records(Some(entries))
            .send()
            .await;
        Ok(match response {
            Ok(out) => Tried::Refused(count_accepted(batch, out.records(), accepted)),
            Err(e) => Tried::Failed {
                throttled: e
                    .as_service_error()
                    .is_some_and(|s| s.is_provisioned_throughput_exceeded_exception()),
                error: AwsError::of("kinesis", "PutRecords")(e),
                pending: batch,
            },
        })
    };
    let again = |again: Again| {
        let n = again.entries as u64;
        stats.retries.fetch_add(n, Ordering::Relaxed);
        if again.throttled {
            stats.throttles.fetch_add(n, Ordering::Relaxed);
        }
    };
    let gave_up =
        |n, tries| format!("producer: {n} records still failing after {tries} PutRecords attempts");
    resend::until_taken(backoff, batch, put, again, gave_up).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packer_keeps_each_entry_s_ids_in_order_when_asked_and_none_otherwise() {
        use crate::source::{Generator, GeneratorConfig};
        let events: Vec<_> = Generator::new(GeneratorConfig {
            events: 3_000,
            ..GeneratorConfig::default()
        })
        .collect();
        let whole = ShardRange {
            start: 0,
            end: u128::MAX,
        };
        for (aggregate, keep_ids) in [(true, true), (false, true), (true, false)] {
            let mut packer = Packer::new(vec![whole], aggregate, 64 * 1024);
            packer.keep_ids = keep_ids;
            let mut entries = Vec::new();
            for e in &events {
                entries.extend(packer.add(Outgoing {
                    partition_key: format!("key-{}", e.id().as_u128() % 7),
                    data: e.to_json(),
                }));
            }
            entries.extend(packer.flush());
            assert!(entries.len() > 1, "several aggregates");
            let ids: Vec<Uuid> = entries.iter().flat_map(|e| e.ids.clone()).collect();
            match keep_ids {
                true => {
                    assert_eq!(ids, events.iter().map(|e| e.id()).collect::<Vec<_>>());
                    assert!(entries.iter().all(|e| e.ids.len() as u64 == e.user_records));
                }
                false => assert!(ids.is_empty()),
            }
        }
    }

    #[test]
    fn routing_follows_kinesis_hash_ranges() {
        let half = u128::MAX / 2;
        let shards = [
            ShardRange {
                start: 0,
                end: half,
            },
            ShardRange {
                start: half + 1,
                end: u128::MAX,
            },
        ];
        // MD5("AAPL") starts with 0x7f..., MD5("MSFT") with 0xf5...: known digests.
        let hash = |k: &str| u128::from_be_bytes(Md5::digest(k.as_bytes()).into());
        for key in ["AAPL", "MSFT", "EUR/USD", "GBP/USD", "NVDA"] {
            let expected = usize::from(hash(key) > half);
            assert_eq!(route(&shards, key), expected, "{key}");
        }
        let used: std::collections::HashSet<_> = (0..64)
            .map(|i| route(&shards, &format!("key-{i}")))
            .collect();
        assert_eq!(used.len(), 2, "64 keys should reach both shards");
    }

    /// 60 records of 60 KB, each naming its id (`"event_uuid":"..."`) then noise
    /// (incompressible) or repeated text.
    fn big_aggregate(noisy: bool) -> (Entry, Vec<Vec<u8>>) {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let ids: Vec<Uuid> = (0..60u128).map(Uuid::from_u128).collect();
        let records: Vec<Vec<u8>> = (0..60)
            .map(|i| {
                let named = format!("{{\"event_uuid\":\"{}\",", ids[i]).into_bytes();
                named
                    .into_iter()
                    .chain((0..60_000).map(|j| {
                        if noisy {
                            state ^= state << 13;
                            state ^= state >> 7;
                            state ^= state << 17;
                            state as u8
                        } else {
                            let text = b"{\"symbol\":\"AAPL\",\"price\":190.0}";
                            text[(i + j) % text.len()]
                        }
                    }))
                    .collect()
            })
            .collect();
        let mut aggregator = Aggregator::new(MAX_COMPRESSED_AGGREGATE);
        for r in &records {
            aggregator
                .try_add("AAPL", r.clone())
                .expect("fits in 4 MiB");
        }
        (
            aggregated_entry(aggregator.finish().expect("not empty"), ids),
            records,
        )
    }

    fn unsealed(entries: &[Entry]) -> Vec<Vec<u8>> {
        entries
            .iter()
            .flat_map(|e| {
                let data = crate::compress::expand(&e.data);
                crate::kpl::deaggregate(&e.partition_key, &data)
            })
            .map(|u| u.data)
            .collect()
    }

    #[test]
    fn a_large_aggregate_that_does_not_compress_is_split_to_fit() {
        let (entry, records) = big_aggregate(true);
        assert!(entry.data.len() > MAX_KINESIS_RECORD);
        let sealed = seal(Compression::Zstd, entry);
        assert!(sealed.len() >= 4, "{} pieces", sealed.len());
        for e in &sealed {
            assert!(e.data.len() + e.partition_key.len() <= MAX_KINESIS_RECORD);
        }
        assert_eq!(sealed.iter().map(|e| e.user_records).sum::<u64>(), 60);
        assert_eq!(unsealed(&sealed), records);
        // Each piece names the ids of its own user records, in order, for the tap.
        for e in &sealed {
            assert_eq!(e.ids.len() as u64, e.user_records);
        }
        let ids: Vec<Uuid> = sealed.iter().flat_map(|e| e.ids.clone()).collect();
        assert_eq!(ids, (0..60u128).map(Uuid::from_u128).collect::<Vec<_>>());
    }

    #[test]
    fn a_large_aggregate_that_compresses_stays_one_record() {
        let (entry, records) = big_aggregate(false);
        let sealed = seal(Compression::Zstd, entry);
        assert_eq!(sealed.len(), 1);
        assert!(sealed[0].data.starts_with(&crate::compress::ZSTD_MAGIC));
        assert_eq!(unsealed(&sealed), records);
        let (entry, _) = big_aggregate(false);
        let (key, data) = (entry.partition_key.clone(), entry.data.clone());
        let plain = seal(Compression::None, entry);
        assert!(plain.len() > 1, "uncompressed, 3.6 MB must be split");
        assert!(plain.iter().all(|e| e.partition_key == key));
        assert!(plain.iter().all(|e| e.data.len() <= MAX_KINESIS_RECORD));
        assert!(data.len() > MAX_KINESIS_RECORD);
    }
}
