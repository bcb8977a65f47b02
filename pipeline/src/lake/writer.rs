//! The lake writer: rows buffered per partition, each buffer one object.
//!
//! The lake writer: buffers rows per partition the way Firehose does (flush on size or age),
//! writes each buffer as one object, and tells every appender when its rows are durable.
//!
//! Objects are created only if their key is free (`If-None-Match: *`): a key is a digest of
//! the records an object holds, so an object already there holds them, and a retry after a
//! lost answer, or the same batch written again, creates nothing new. That is what makes the
//! bucket's S3 event notifications (the new-data notifications) exactly one per object.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::error::ProvideErrorMetadata as _;
use md5::{Digest, Md5};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use super::partition;
use crate::aws::{AwsError, Clients};
use crate::compress::Compression;
use crate::error::{Error, Result};
use crate::retry::{Attempts, Backoff};

/// S3 metadata key holding when an object was written (epoch ms), for end-to-end latency.
pub const WRITTEN_AT_META: &str = "tickflow-written-at";

/// Lake settings.
#[derive(Debug, Clone)]
pub struct LakeConfig {
    /// Flush a partition's buffer at this size (Firehose's buffering hint), default 5 MiB.
    pub flush_bytes: usize,
    /// ...or when its oldest row is this old.
    pub flush_age: Duration,
    /// `PutObject` calls in flight.
    pub upload_concurrency: usize,
    /// Retry policy for uploads.
    pub backoff: Backoff,
    /// Compress objects (`part-….jsonl.zst`), as Firehose's S3 compression option does.
    pub compression: Compression,
}

impl Default for LakeConfig {
    fn default() -> Self {
        Self {
            flush_bytes: 5 * 1024 * 1024,
            flush_age: Duration::from_secs(1),
            upload_concurrency: 4,
            backoff: Backoff::default(),
            compression: Compression::None,
        }
    }
}

/// Rows for one partition.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rows {
    /// The partition prefix (see [`partition::data_prefix`]).
    pub prefix: String,
    /// JSON lines, each ending in `\n`.
    pub lines: Vec<u8>,
    /// What identifies the rows (their event ids, or raw bytes for quarantine rows); the
    /// object key is derived from it.
    pub identity: Vec<u8>,
    /// Number of rows.
    pub count: usize,
}

/// Live counters.
#[derive(Debug, Default)]
pub struct LakeStats {
    /// Objects written.
    pub objects: AtomicU64,
    /// Rows written (data and quarantine).
    pub rows: AtomicU64,
    /// Of those, quarantined.
    pub quarantined: AtomicU64,
    /// Bytes written.
    pub bytes: AtomicU64,
    /// `PutObject` calls, retries included.
    pub calls: AtomicU64,
    /// Uploads retried.
    pub retries: AtomicU64,
}

type Ack = oneshot::Sender<std::result::Result<(), String>>;

struct Append {
    rows: Rows,
    ack: Ack,
}

/// A handle to the lake writer; cloned into every processor. The writer flushes everything and
/// ends when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct Lake {
    tx: mpsc::Sender<Append>,
    stats: Arc<LakeStats>,
}

impl Lake {
    /// Starts the writer task for `bucket`.
    pub fn spawn(
        clients: Clients,
        bucket: String,
        config: LakeConfig,
    ) -> (Lake, JoinHandle<Result<()>>) {
        Self::spawn_counting(clients, bucket, config, Arc::default())
    }

    /// [`Lake::spawn`], counting into `stats` (a restarted processor's writer keeps counting
    /// where the last one stopped).
    pub fn spawn_counting(
        clients: Clients,
        bucket: String,
        config: LakeConfig,
        stats: Arc<LakeStats>,
    ) -> (Lake, JoinHandle<Result<()>>) {
        let (tx, rx) = mpsc::channel(1024);
        let writer = Writer {
            clients,
            bucket,
            config,
            stats: stats.clone(),
            buffers: HashMap::new(),
            uploads: JoinSet::new(),
            lost: (0, None),
        };
        (Lake { tx, stats }, tokio::spawn(writer.run(rx)))
    }

    /// Counters.
    pub fn stats(&self) -> Arc<LakeStats> {
        self.stats.clone()
    }

    /// Appends rows (several partitions at once) and waits until each batch is in S3 or has
    /// failed: one result per batch, in order (an empty batch is written at once). A batch
    /// whose upload failed after retries is not durable, and only its records may be written
    /// again; the others are (their source messages must not be acknowledged before all are).
    pub async fn append(&self, batches: Vec<Rows>) -> Vec<std::result::Result<(), String>> {
        let mut waits = Vec::with_capacity(batches.len());
        for rows in batches {
            if rows.count == 0 {
                waits.push(None);
                continue;
            }
            let (ack, wait) = oneshot::channel();
            let sent = self.tx.send(Append { rows, ack }).await;
            waits.push(Some(sent.map(|()| wait)));
        }
        let mut results = Vec::with_capacity(waits.len());
        for wait in waits {
            results.push(match wait {
                None => Ok(()),
                Some(Err(_)) => Err("the lake writer has stopped".to_string()),
                Some(Ok(wait)) => wait.await.unwrap_or_else(|_| {
                    Err("the lake writer stopped before the rows were written".to_string())
                }),
            });
        }
        results
    }
}

/// Uploads in a row that may fail after their retries before the writer gives up and ends
/// with the last one's error (which fails the processor, and the run, with it): one lost upload
/// is redelivered and written again; a lake that keeps refusing is not a lake.
const LOST_UPLOADS_IN_A_ROW: u32 = 3;

struct Buffer {
    lines: Vec<u8>,
    identity: partition::ContentId,
    count: usize,
    opened: Instant,
    acks: Vec<Ack>,
}

struct Writer {
    clients: Clients,
    bucket: String,
    config: LakeConfig,
    stats: Arc<LakeStats>,
    buffers: HashMap<String, Buffer>,
    uploads: JoinSet<Result<()>>,
    /// Uploads lost in a row (failed after their retries), and the last one's error.
    lost: (u32, Option<Error>),
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Append>) -> Result<()> {
        let tick = (self.config.flush_age / 4).max(Duration::from_millis(20));
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                append = rx.recv() => match append {
                    Some(Append { rows, ack }) => {
                        let prefix = rows.prefix.clone();
                        let buffer = self.buffers.entry(prefix.clone()).or_insert_with(|| Buffer {
                            lines: Vec::new(),
                            identity: partition::ContentId::default(),
                            count: 0,
                            opened: Instant::now(),
                            acks: Vec::new(),
                        });
                        buffer.lines.extend_from_slice(&rows.lines);
                        buffer.identity.update(&rows.identity);
                        buffer.count += rows.count;
                        buffer.acks.push(ack);
                        if buffer.lines.len() >= self.config.flush_bytes {
                            self.flush(&prefix).await?;
                        }
                    }
                    None => break,
                },
                _ = ticker.tick() => {
                    let due: Vec<String> = self
                        .buffers
                        .iter()
                        .filter(|(_, b)| b.opened.elapsed() >= self.config.flush_age)
                        .map(|(p, _)| p.clone())
                        .collect();
                    for prefix in due {
                        self.flush(&prefix).await?;
                    }
                }
                Some(done) = self.uploads.join_next(), if !self.uploads.is_empty() => {
                    self.settle(done)?;
                }
            }
        }
        let prefixes: Vec<String> = self.buffers.keys().cloned().collect();
        for prefix in prefixes {
            self.flush(&prefix).await?;
        }
        while let Some(done) = self.uploads.join_next().await {
            self.settle(done)?;
        }
        Ok(())
    }

    /// Counts a finished upload; the writer's error once [`LOST_UPLOADS_IN_A_ROW`] were lost.
    fn settle(
        &mut self,
        done: std::result::Result<Result<()>, tokio::task::JoinError>,
    ) -> Result<()> {
        match done.map_err(|e| Error::Stage(format!("lake upload task: {e}")))? {
            Ok(()) => self.lost = (0, None),
            Err(e) => self.lost = (self.lost.0 + 1, Some(e)),
        }
        match &mut self.lost {
            (n, last) if *n >= LOST_UPLOADS_IN_A_ROW => Err(last
                .take()
                .unwrap_or_else(|| Error::Stage("lake uploads failing".into()))),
            _ => Ok(()),
        }
    }

    /// Starts the upload of one partition's buffer, waiting for a free slot first.
    async fn flush(&mut self, prefix: &str) -> Result<()> {
        let Some(buffer) = self.buffers.remove(prefix) else {
            return Ok(());
        };
        while self.uploads.len() >= self.config.upload_concurrency.max(1) {
            if let Some(done) = self.uploads.join_next().await {
                self.settle(done)?;
            }
        }
        let key = buffer.identity.key(prefix);
        let upload = Upload {
            clients: self.clients.clone(),
            bucket: self.bucket.clone(),
            key,
            body: buffer.lines,
            compression: self.config.compression,
            count: buffer.count,
            backoff: self.config.backoff,
            stats: self.stats.clone(),
        };
        let acks = buffer.acks;
        self.uploads.spawn(async move {
            let result = upload.run().await;
            let said = result.as_ref().map(|_| ()).map_err(ToString::to_string);
            for ack in acks {
                let _ = ack.send(said.clone());
            }
            result
        });
        Ok(())
    }
}

struct Upload {
    clients: Clients,
    bucket: String,
    key: String,
    body: Vec<u8>,
    compression: Compression,
    count: usize,
    backoff: Backoff,
    stats: Arc<LakeStats>,
}

impl Upload {
    async fn run(mut self) -> Result<()> {
        if self.compression != Compression::None {
            // Tens of milliseconds for a 5 MiB object: the blocking pool's work, not a worker's.
            let (compression, mut key, mut body) = (
                self.compression,
                std::mem::take(&mut self.key),
                std::mem::take(&mut self.body),
            );
            (self.key, self.body) = tokio::task::spawn_blocking(move || {
                compression.seal_object(&mut key, &mut body);
                (key, body)
            })
            .await
            .map_err(|e| Error::Stage(format!("lake compression task: {e}")))?;
        }
        let mut attempts = Attempts::new(self.backoff);
        loop {
            self.stats.calls.fetch_add(1, Ordering::Relaxed);
            let written_at = chrono::Utc::now().timestamp_millis().to_string();
            let result = self
                .clients
                .s3
                .put_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .content_type("application/x-ndjson")
                .metadata(WRITTEN_AT_META, written_at)
                .metadata("tickflow-events", self.count.to_string())
                .if_none_match("*")
                .body(self.body.clone().into())
                .send()
                .await;
            match result {
                Ok(_) => break,
                // The key is the records' digest: the object there holds these records.
                Err(e) if e.code() == Some("PreconditionFailed") => {
                    tracing::debug!(key = %self.key, "already written");
                    break;
                }
                Err(e) => {
                    let error = Error::Aws(AwsError::of("s3", "PutObject")(e));
                    if attempts.failed().await.is_ok() {
                        let attempt = attempts.failures();
                        tracing::debug!(attempt, key = %self.key, %error, "retrying");
                        self.stats.retries.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    // A call whose answer was lost may have taken effect: then the object is
                    // durable, and writing its rows again would write them twice.
                    if !self.landed().await {
                        return Err(error);
                    }
                    tracing::debug!(key = %self.key, "the upload's answer was lost; it landed");
                    break;
                }
            }
        }
        self.stats.objects.fetch_add(1, Ordering::Relaxed);
        self.stats
            .rows
            .fetch_add(self.count as u64, Ordering::Relaxed);
        self.stats
            .bytes
            .fetch_add(self.body.len() as u64, Ordering::Relaxed);
        if self.key.starts_with(partition::QUARANTINE) {
            self.stats
                .quarantined
                .fetch_add(self.count as u64, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Whether the object is in S3 with this upload's body (its ETag is the body's MD5, as for
    /// every single-part `PutObject`); `false` when that cannot be learnt after retries.
    async fn landed(&self) -> bool {
        let body_etag = format!("\"{:x}\"", Md5::digest(&self.body));
        let backoff = Backoff {
            max_attempts: self.backoff.max_attempts.min(5),
            ..self.backoff
        };
        let etag = backoff
            .retry("checking whether a lake upload landed", || {
                self.clients.object_etag(&self.bucket, &self.key)
            })
            .await;
        matches!(etag, Ok(Some(etag)) if etag == body_etag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(prefix: &str) -> Rows {
        Rows {
            prefix: prefix.into(),
            lines: b"{}\n".to_vec(),
            identity: prefix.as_bytes().to_vec(),
            count: 1,
        }
    }

    #[tokio::test]
    async fn each_batch_has_its_result_and_a_lake_that_keeps_refusing_ends_the_writer() {
        let config = LakeConfig {
            flush_age: Duration::from_millis(10),
            backoff: Backoff {
                initial: Duration::from_millis(1),
                max: Duration::from_millis(1),
                max_attempts: 1,
            },
            ..LakeConfig::default()
        };
        let (lake, task) = Lake::spawn(Clients::unreachable().await, "b".into(), config);
        let empty = Rows {
            prefix: "p0/".into(),
            ..Rows::default()
        };
        let results = lake.append(vec![empty, rows("p1/")]).await;
        assert!(
            results[0].is_ok(),
            "nothing to write is written: {results:?}"
        );
        assert!(
            results[1].as_ref().is_err_and(|e| e.contains("PutObject")),
            "{results:?}"
        );
        for i in 2..=LOST_UPLOADS_IN_A_ROW {
            let results = lake.append(vec![rows(&format!("p{i}/"))]).await;
            assert!(results[0].is_err(), "{results:?}");
        }
        // Still held by `lake`, the writer has ended on its own, with the uploads' error.
        let ended = tokio::time::timeout(Duration::from_secs(5), task).await;
        let error = ended.expect("the writer ends").unwrap().unwrap_err();
        assert!(error.to_string().contains("PutObject"), "{error}");
        drop(lake);
    }
}
