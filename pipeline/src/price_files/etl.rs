//! The ETL step: each price file to CSV, or to the quarantine.
//!
//! The ETL step (Glue in the seed): for each price file S3 announces under the ingestion prefix,
//! read it, normalise the record and write it as CSV under the analysis prefix (keyed by asset
//! and market time, so a redelivered file rewrites the same object), or write the file's place
//! and reason to the quarantine. A malformed file never stops the flow; an S3 call that fails
//! leaves the message for redelivery.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde::Serialize;

use super::layout;
use super::messages::{announced, each_message, PriceFileStats};
use super::record::{self, MalformedKind};
use crate::aws::{AwsError, Clients};
use crate::chaos::Stage;
use crate::esm::{BatchResponse, Handler, HandlerError, SqsMessage};
use crate::history::ObjectTap;

/// What a quarantine object holds.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Quarantined {
    /// The price file's key.
    pub source_key: String,
    /// What is wrong with it.
    pub kind: MalformedKind,
    /// The details.
    pub reason: String,
    /// Its size in bytes.
    pub size: usize,
}

/// The ETL handler.
pub struct EtlHandler {
    clients: Clients,
    bucket: String,
    stats: Arc<PriceFileStats>,
    tap: Option<Arc<dyn ObjectTap>>,
}

impl EtlHandler {
    /// A handler reading and writing `bucket`, counting into `stats`.
    pub fn new(clients: Clients, bucket: impl Into<String>, stats: Arc<PriceFileStats>) -> Self {
        Self {
            clients,
            bucket: bucket.into(),
            stats,
            tap: None,
        }
    }

    /// The same, telling `tap` each price file it is told of.
    pub fn with_tap(mut self, tap: Option<Arc<dyn ObjectTap>>) -> Self {
        self.tap = tap;
        self
    }

    /// Handles one message: every price file it announces.
    async fn message(&self, message: &SqsMessage) -> Result<bool, AwsError> {
        // S3 filters on the prefix; be strict anyway.
        for key in announced(&self.stats, message, self.tap.as_deref(), Stage::Etl) {
            if key.starts_with(layout::INGESTION) {
                self.transform(&key).await?;
            }
        }
        Ok(true)
    }

    /// One price file to its CSV object, or to the quarantine.
    async fn transform(&self, key: &str) -> Result<(), AwsError> {
        let object = match self.clients.open_object(&self.bucket, key).await {
            Ok(object) => object,
            Err(e) if e.message.contains("NoSuchKey") => {
                self.stats.vanished.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(key, "announced price file is gone; skipped");
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let size = usize::try_from(object.content_length().unwrap_or(0)).unwrap_or(usize::MAX);
        let parsed = if size > record::MAX_FILE_BYTES {
            Err(record::too_large(size)) // never held in memory
        } else {
            let body = object
                .body
                .collect()
                .await
                .map_err(AwsError::of("s3", "GetObject"))?
                .into_bytes();
            record::parse(key, &body)
        };
        let (out_key, out, counter) = match parsed {
            Ok(record) => (
                layout::csv_key(&record.asset, record.date),
                record.to_csv(key).into_bytes(),
                &self.stats.csv_written,
            ),
            Err(malformed) => {
                let quarantined = Quarantined {
                    source_key: key.to_string(),
                    kind: malformed.kind,
                    reason: malformed.reason,
                    size,
                };
                let json = serde_json::to_vec(&quarantined).expect("a quarantine entry serialises");
                (layout::quarantine_key(key), json, &self.stats.quarantined)
            }
        };
        self.clients
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(&out_key)
            .body(out.into())
            .send()
            .await
            .map_err(AwsError::of("s3", "PutObject"))?;
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

impl Handler for EtlHandler {
    async fn handle(&self, batch: &[SqsMessage]) -> Result<BatchResponse, HandlerError> {
        Ok(each_message(batch, "price file", |message| self.message(message)).await)
    }
}
