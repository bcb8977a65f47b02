//! The pipeline's notifications: new data, price alerts, the run status.
//!
//! The pipeline's notifications. New data, price alerts, the batch run status and the price
//! files' alerts are S3 event notifications of objects the pipeline creates conditionally (each
//! lake object; each alert's object in the [`outbox`], beside the [`price_watch`]'s window
//! records and late prices; each [`announce`]ment), so each is announced exactly once whatever
//! is retried; the harness publishes the stream run's verdict to SNS ([`Notifier`]).

pub mod announce;
pub mod outbox;
pub mod price_watch;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::Serialize;

use crate::aws::{AwsError, Clients};
use crate::retry::Backoff;
pub use announce::announce;
pub use outbox::PriceOutbox;
pub use price_watch::{Admission, Alert, ClosedWindow, LatePrice, PriceWatch, WatchConfig};

/// Run-status messages published.
#[derive(Debug, Default)]
pub struct NotifyStats {
    /// Run-status messages.
    pub run_status: AtomicU64,
    /// Publishes that failed after retries.
    pub errors: AtomicU64,
}

/// Publishes run-status messages to SNS. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Notifier {
    clients: Clients,
    /// The run-status topic's ARN.
    topic: String,
    stats: Arc<NotifyStats>,
    backoff: Backoff,
}

impl Notifier {
    /// A notifier publishing to the run-status topic `topic` (an ARN).
    pub fn new(clients: Clients, topic: impl Into<String>) -> Self {
        Self {
            clients,
            topic: topic.into(),
            stats: Arc::default(),
            backoff: Backoff {
                max_attempts: 5,
                ..Backoff::default()
            },
        }
    }

    /// Counters.
    pub fn stats(&self) -> Arc<NotifyStats> {
        self.stats.clone()
    }

    /// Announces a run's outcome with Subject `<run>_Pipeline_Success` or
    /// `<run>_Pipeline_Failure` (the batch seed).
    ///
    /// # Errors
    /// When SNS does not take it after retries.
    pub async fn run_status(
        &self,
        run: &str,
        success: bool,
        summary: &impl Serialize,
    ) -> Result<(), AwsError> {
        let subject = run_status_subject(run, success);
        let message = serde_json::to_string(summary).expect("serialisable");
        self.publish(&subject, message).await?;
        self.stats.run_status.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn publish(&self, subject: &str, message: String) -> Result<(), AwsError> {
        let published = self
            .backoff
            .retry("publishing the run status", || async {
                self.clients
                    .sns
                    .publish()
                    .topic_arn(&self.topic)
                    .subject(subject)
                    .message(&message)
                    .send()
                    .await
                    .map_err(AwsError::of("sns", "Publish"))
            })
            .await;
        if let Err(error) = &published {
            tracing::warn!(%error, subject, "notification not published");
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
        }
        published.map(|_| ())
    }
}

/// `<run>_Pipeline_Success|Failure`, with the run name reduced to what SNS subjects allow
/// (printable ASCII, under 100 characters).
pub fn run_status_subject(run: &str, success: bool) -> String {
    let outcome = if success { "Success" } else { "Failure" };
    let clean: String = run
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .take(70)
        .collect();
    format!("{clean}_Pipeline_{outcome}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn subjects_follow_the_batch_seed() {
        assert_eq!(
            super::run_status_subject("smoke", true),
            "smoke_Pipeline_Success"
        );
        assert_eq!(
            super::run_status_subject("a b\n", false),
            "a_b__Pipeline_Failure"
        );
    }
}
