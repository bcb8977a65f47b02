//! The batch pipeline's trigger, as the seed's Lambda is triggered: an S3 `ObjectCreated`
//! notification (filtered on the `.SUCCESS` suffix) on the monitored bucket, delivered through
//! SQS, starts a run, at most one a day. The day is claimed with a conditional write of a marker
//! (`Logs/runs/<day>`, `If-None-Match: *`): a second `.SUCCESS` on the same day finds it and
//! starts nothing, even from another process. S3's `s3:TestEvent` (sent when a notification is
//! configured) is recognised and skipped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::job::BatchJob;
use super::layout;
use crate::aws::{AwsError, Clients};
use crate::control::{Control, Phase};
use crate::error::Result;
use crate::s3_event::{self, Notice};

/// What the trigger saw.
#[derive(Debug, Default)]
pub struct TriggerStats {
    /// `.SUCCESS` notifications received.
    pub triggers: AtomicU64,
    /// `s3:TestEvent` messages skipped.
    pub test_events: AtomicU64,
    /// Runs started.
    pub runs: AtomicU64,
    /// Runs finished (logged and announced).
    pub runs_done: AtomicU64,
    /// Triggers on a day that already had its run.
    pub same_day: AtomicU64,
    /// Messages that were not S3 notifications (kept count of, deleted).
    pub unrecognised: AtomicU64,
}

/// The trigger: polls its queue and runs the job.
pub struct Trigger {
    clients: Clients,
    queue_url: String,
    job: BatchJob,
    stats: Arc<TriggerStats>,
}

impl Trigger {
    /// A trigger on `queue_url` running `job`.
    pub fn new(clients: Clients, queue_url: impl Into<String>, job: BatchJob) -> Self {
        Self {
            clients,
            queue_url: queue_url.into(),
            job,
            stats: Arc::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> Arc<TriggerStats> {
        self.stats.clone()
    }

    /// Polls until [`Phase::Drain`] finds the queue empty, or [`Phase::Stop`].
    ///
    /// # Errors
    /// An SQS call failing after the SDK's retries.
    pub async fn run(self, control: Control) -> Result<()> {
        loop {
            if control.phase() == Phase::Stop {
                return Ok(());
            }
            let out = self
                .clients
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .map_err(AwsError::of("sqs", "ReceiveMessage"))?;
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() && control.phase() == Phase::Drain {
                return Ok(());
            }
            for message in messages {
                self.handle(message.body().unwrap_or_default()).await?;
                if let Some(receipt) = message.receipt_handle() {
                    self.clients
                        .sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(receipt)
                        .send()
                        .await
                        .map_err(AwsError::of("sqs", "DeleteMessage"))?;
                }
            }
        }
    }

    async fn handle(&self, body: &str) -> Result<()> {
        let notices = s3_event::parse(body);
        if notices.is_empty() {
            self.stats.unrecognised.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(body, "not an S3 notification; skipped");
        }
        for notice in notices {
            let (key, day) = match notice {
                Notice::Test => {
                    self.stats.test_events.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                Notice::Created { key, time } => {
                    let day = time.get(..10).unwrap_or_default().to_string();
                    (key, day)
                }
            };
            if !key.ends_with(layout::TRIGGER_SUFFIX) {
                continue; // LocalStack filters literally, as AWS does; be strict anyway
            }
            self.stats.triggers.fetch_add(1, Ordering::Relaxed);
            if !self.claim(&day).await? {
                self.stats.same_day.fetch_add(1, Ordering::Relaxed);
                tracing::info!(day, key, "a run already started today; trigger ignored");
                continue;
            }
            self.stats.runs.fetch_add(1, Ordering::Relaxed);
            let summary = self.job.run(&day).await;
            tracing::info!(
                day,
                success = summary.success,
                rows = summary.rows_loaded,
                "batch run done"
            );
            self.stats.runs_done.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Claims `day` for a run: `false` when a run already claimed it.
    async fn claim(&self, day: &str) -> Result<bool> {
        let key = format!("{}{day}", layout::RUN_MARKERS);
        let stamp = chrono::Utc::now().to_rfc3339().into_bytes();
        Ok(self
            .clients
            .create_object(&self.job.source_bucket, &key, stamp)
            .await?)
    }
}
