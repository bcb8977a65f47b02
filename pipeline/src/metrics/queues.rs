//! The queues' depths sampled into metrics, where the target does not publish them itself.
//!
//! On AWS, SQS publishes `ApproximateNumberOfMessagesVisible` and `...NotVisible` every
//! minute; an emulator does not (or not at an alarm's period), so a run with metrics samples
//! its queues every [`QueueDepths::every`] and records what `GetQueueAttributes` says.

use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;

use super::catalogue::{NOT_VISIBLE, VISIBLE};
use super::recorder::Metrics;
use crate::control::{Control, Phase};

/// Samples the depths of `queues` (name, URL) until drained.
#[derive(Debug, Clone)]
pub struct QueueDepths {
    /// The client the depths are read with.
    pub sqs: aws_sdk_sqs::Client,
    /// Where the depths are recorded.
    pub metrics: Metrics,
    /// Each queue's name (the metric's `QueueName`) and URL.
    pub queues: Vec<(String, String)>,
    /// Time between samples.
    pub every: Duration,
}

impl QueueDepths {
    /// Samples until [`Phase::Drain`]. A failed read is logged and skipped (the queue's depth is
    /// then missing for that moment, as it would be from CloudWatch).
    ///
    /// # Errors
    /// None.
    pub async fn run(self, mut control: Control) -> crate::Result<()> {
        let wanted = [
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        ];
        loop {
            for (name, url) in &self.queues {
                let read = self
                    .sqs
                    .get_queue_attributes()
                    .queue_url(url)
                    .set_attribute_names(Some(wanted.to_vec()))
                    .send()
                    .await;
                match read {
                    Ok(out) => {
                        let attrs = out.attributes.unwrap_or_default();
                        let count = |a: &QueueAttributeName| {
                            attrs.get(a).and_then(|v| v.parse::<f64>().ok())
                        };
                        let metrics = &self.metrics;
                        if let Some(v) = count(&wanted[0]) {
                            metrics.record(&VISIBLE, name, v);
                        }
                        if let Some(v) = count(&wanted[1]) {
                            metrics.record(&NOT_VISIBLE, name, v);
                        }
                    }
                    Err(e) => {
                        let error = aws_sdk_sqs::error::DisplayErrorContext(&e);
                        tracing::debug!(%error, queue = name, "depth not sampled");
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = control.reached(Phase::Drain) => return Ok(()),
            }
        }
    }
}
