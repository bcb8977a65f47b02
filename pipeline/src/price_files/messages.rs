//! What both steps share: their counts, and how they read a batch of S3 notification messages.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::aws::AwsError;
use crate::chaos::Stage;
use crate::esm::{BatchResponse, SqsMessage};
use crate::history::ObjectTap;
use crate::s3_event::{self, Notice};

/// What the two steps did, counted live (the harness waits on these and reports them).
#[derive(Debug, Default)]
pub struct PriceFileStats {
    /// `s3:TestEvent` messages skipped.
    pub test_events: AtomicU64,
    /// Messages that were not S3 notifications (deleted, counted).
    pub unrecognised: AtomicU64,
    /// Price files written as CSV.
    pub csv_written: AtomicU64,
    /// Price files quarantined.
    pub quarantined: AtomicU64,
    /// Notifications for objects gone by the time they were read.
    pub vanished: AtomicU64,
    /// CSV records analysed.
    pub analysed: AtomicU64,
    /// Records analysed without a previous one (each asset's first).
    pub first_records: AtomicU64,
    /// Times a record was left for redelivery because its predecessor had not arrived.
    pub held: AtomicU64,
    /// Records compared with an earlier record than the one an interval before (a gap).
    pub gaps: AtomicU64,
    /// Alerts announced.
    pub alerts: AtomicU64,
    /// Alerts found already announced (a redelivered record), not announced again.
    pub alerts_already_sent: AtomicU64,
}

/// The keys of the objects one notification message announces, counting the set-up test events
/// and the messages that are not S3 notifications, and telling `tap` that `stage` received them
/// (both steps read their queue this way).
pub(super) fn announced(
    stats: &PriceFileStats,
    message: &SqsMessage,
    tap: Option<&dyn ObjectTap>,
    stage: Stage,
) -> Vec<String> {
    let notices = s3_event::parse(&message.body);
    if notices.is_empty() {
        stats.unrecognised.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(body = %message.body, "not an S3 notification; skipped");
    }
    let keys: Vec<String> = notices
        .into_iter()
        .filter_map(|notice| match notice {
            Notice::Test => {
                stats.test_events.fetch_add(1, Ordering::Relaxed);
                None
            }
            Notice::Created { key, .. } => Some(key),
        })
        .collect();
    if let Some(tap) = tap {
        tap.received(stage, &keys);
    }
    keys
}

/// Runs `step` on every message of a batch at once. The messages it did not finish
/// (`Ok(false)`) or failed (logged with `what`) are left for redelivery.
pub(super) async fn each_message<'a, F, Fut>(
    batch: &'a [SqsMessage],
    what: &str,
    step: F,
) -> BatchResponse
where
    F: Fn(&'a SqsMessage) -> Fut,
    Fut: Future<Output = Result<bool, AwsError>>,
{
    let done = futures_util::future::join_all(batch.iter().map(step)).await;
    let failed = batch
        .iter()
        .zip(done)
        .filter_map(|(message, done)| match done {
            Ok(true) => None,
            Ok(false) => Some(message.message_id.clone()),
            Err(error) => {
                tracing::warn!(%error, "{what} left for redelivery");
                Some(message.message_id.clone())
            }
        });
    BatchResponse::failing(failed)
}
