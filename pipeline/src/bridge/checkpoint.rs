//! Per-shard sequence checkpoints: where a restarted bridge resumes.
//!
//! Kept in memory, or durably in S3 (one object per shard under a prefix of a state bucket), the
//! way the Kinesis Client Library keeps its leases in a table: a bridge that crashes and starts
//! again with nothing in memory resumes after the last checkpoint. Each write is conditional on
//! the object's current ETag (`If-Match`, or `If-None-Match: *` for the first), so a second
//! bridge that took over a shard cannot be overwritten by a stale one.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_s3::error::ProvideErrorMetadata;

use crate::aws::{AwsError, Clients};
use crate::error::{Error, Result};
use crate::retry::{Attempts, Backoff};

/// Where durable checkpoints live.
#[derive(Debug, Clone)]
struct Store {
    clients: Clients,
    bucket: String,
    prefix: String,
    backoff: Backoff,
}

#[derive(Debug, Clone)]
struct Mark {
    sequence: String,
    etag: Option<String>,
}

/// Shard id -> the sequence number of the last Kinesis record whose events are all in SQS.
///
/// Events after a checkpoint may be sent twice after a restart (at-least-once), never lost.
#[derive(Debug, Clone, Default)]
pub struct Checkpoints {
    marks: Arc<Mutex<BTreeMap<String, Mark>>>,
    store: Option<Store>,
}

impl Checkpoints {
    /// Checkpoints in memory only: shared by bridges of one process (a restart within it
    /// resumes, a new process starts from the oldest record).
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// Durable checkpoints: the objects `<prefix><shard>` of `bucket`, read by [`Self::load`].
    pub fn in_s3(clients: Clients, bucket: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self {
            marks: Arc::default(),
            store: Some(Store {
                clients,
                bucket: bucket.into(),
                prefix: prefix.into(),
                backoff: Backoff::default(),
            }),
        }
    }

    /// Reads every durable checkpoint (nothing to do in memory).
    ///
    /// # Errors
    /// Listing or reading the checkpoint objects failing after retries.
    pub async fn load(&self) -> Result<()> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let marks = store
            .backoff
            .retry("reading checkpoints", || store.read_all())
            .await?;
        *self.lock() = marks;
        Ok(())
    }

    /// The checkpoint of `shard`, if any.
    pub fn get(&self, shard: &str) -> Option<String> {
        self.lock().get(shard).map(|m| m.sequence.clone())
    }

    /// Records that everything up to `sequence` on `shard` is in SQS (durably when in S3).
    ///
    /// # Errors
    /// The write failing after retries, or another bridge having moved the checkpoint since
    /// this one read it (this one must stop: it no longer owns the shard).
    pub async fn set(&self, shard: &str, sequence: &str) -> Result<()> {
        let etag = match &self.store {
            None => None,
            Some(store) => {
                let current = self.lock().get(shard).and_then(|m| m.etag.clone());
                Some(store.write(shard, sequence, current).await?)
            }
        };
        self.lock().insert(
            shard.to_string(),
            Mark {
                sequence: sequence.to_string(),
                etag,
            },
        );
        Ok(())
    }

    /// A copy of every checkpoint, for reports.
    pub fn snapshot(&self) -> BTreeMap<String, String> {
        self.lock()
            .iter()
            .map(|(k, m)| (k.clone(), m.sequence.clone()))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Mark>> {
        self.marks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Store {
    async fn read_all(&self) -> std::result::Result<BTreeMap<String, Mark>, AwsError> {
        let mut marks = BTreeMap::new();
        let keys = self
            .clients
            .object_keys(&self.bucket)
            .await?
            .unwrap_or_default();
        for key in keys.iter().filter(|k| k.starts_with(&self.prefix)) {
            marks.insert(key[self.prefix.len()..].to_string(), self.read(key).await?);
        }
        Ok(marks)
    }

    /// Writes one checkpoint conditionally; returns its new ETag.
    async fn write(&self, shard: &str, sequence: &str, etag: Option<String>) -> Result<String> {
        let key = format!("{}{shard}", self.prefix);
        let mut attempts = Attempts::new(self.backoff);
        loop {
            let request = self
                .clients
                .s3
                .put_object()
                .bucket(&self.bucket)
                .key(&key)
                .body(sequence.as_bytes().to_vec().into());
            let request = match &etag {
                Some(etag) => request.if_match(etag),
                None => request.if_none_match("*"),
            };
            let error = match request.send().await {
                Ok(out) => return Ok(out.e_tag().unwrap_or_default().to_string()),
                Err(e) => e,
            };
            if error.code() == Some("PreconditionFailed") {
                // Our own earlier attempt may have landed and lost its answer: then the object
                // holds what we wrote, and we own it still.
                if let Ok(current) = self.read(&key).await {
                    if current.sequence == sequence {
                        return Ok(current.etag.unwrap_or_default());
                    }
                }
                return Err(Error::Stage(format!(
                    "bridge: the checkpoint s3://{}/{key} was moved by another bridge; this one \
                     stops",
                    self.bucket
                )));
            }
            let error = AwsError::of("s3", "PutObject")(error);
            if attempts.failed().await.is_err() {
                return Err(error.into());
            }
            tracing::debug!(attempt = attempts.failures(), %error, "retrying a checkpoint");
        }
    }

    async fn read(&self, key: &str) -> std::result::Result<Mark, AwsError> {
        let out = self.clients.open_object(&self.bucket, key).await?;
        let etag = out.e_tag().map(str::to_string);
        let body = out
            .body
            .collect()
            .await
            .map_err(AwsError::of("s3", "GetObject"))?
            .into_bytes();
        Ok(Mark {
            sequence: String::from_utf8_lossy(&body).trim().to_string(),
            etag,
        })
    }
}
