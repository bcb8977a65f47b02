//! An SQS event source mapping with Lambda's semantics.
//!
//! An SQS event source mapping with Lambda's semantics: long polling, batch size, maximum
//! batching window, visibility timeout, concurrency, partial batch failures, and deletion only
//! of the messages the handler did not fail; under a fault schedule, its messages delivered
//! again or late (`delivery`).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName,
};
use tokio::sync::watch;
use tokio::task::JoinSet;

mod delivery;
mod message;
pub mod response;

pub use message::SqsMessage;
pub use response::{BatchResponse, ItemFailure};

use crate::aws::{AwsError, Clients};
use crate::chaos::{Chaos, Stage};
use crate::control::{Control, Phase};
use crate::error::{Error, Result};
use crate::metrics::catalogue;
use crate::retry::{Attempts, Backoff};
use response::failed_ids;

/// The AWS calls an event source mapping makes on its queue (receive, delete, keep invisible,
/// the queue's depth at the drain): every stage behind one makes them besides its own.
pub const CALLS: &[crate::chaos::Call] = &[
    (crate::chaos::Service::Sqs, "ReceiveMessage"),
    (crate::chaos::Service::Sqs, "DeleteMessageBatch"),
    (crate::chaos::Service::Sqs, "ChangeMessageVisibilityBatch"),
    (crate::chaos::Service::Sqs, "GetQueueAttributes"),
];

/// Event source mapping settings (names as in Lambda's `CreateEventSourceMapping`).
#[derive(Debug, Clone)]
pub struct EsmConfig {
    /// Most messages per handler invocation (Lambda allows up to 10,000 with a window).
    pub batch_size: usize,
    /// How long to keep gathering messages for a batch (`MaximumBatchingWindowInSeconds`).
    pub batching_window: Duration,
    /// Visibility timeout for received messages; `None` keeps the queue's.
    pub visibility_timeout_secs: Option<i32>,
    /// Concurrent pollers, each invoking the handler (Lambda's maximum concurrency).
    pub concurrency: usize,
    /// Long-poll wait of each `ReceiveMessage` (at most 20 s).
    pub wait_time_secs: i32,
    /// Keeps a batch's messages invisible for this long while the handler works on them,
    /// renewed at half of it (`ChangeMessageVisibility`): a slow write cannot let them reappear
    /// to another poller. `None` leaves them to the queue's visibility timeout.
    pub extend_visibility: Option<Duration>,
    /// How a poller retries SQS calls that failed after the SDK's own retries (as Lambda keeps
    /// polling through SQS errors); after `max_attempts` failures in a row it gives up, and the
    /// mapping fails with that error at once.
    pub retry: Backoff,
}

impl Default for EsmConfig {
    fn default() -> Self {
        Self {
            batch_size: 10,
            batching_window: Duration::ZERO,
            visibility_timeout_secs: None,
            concurrency: 2,
            wait_time_secs: 2,
            extend_visibility: None,
            retry: Backoff::default(),
        }
    }
}

/// Error a handler invocation returns; it fails the whole batch.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct HandlerError(pub String);

/// A Lambda-like function invoked with batches of messages.
pub trait Handler: Send + Sync + 'static {
    /// Processes a batch; returns the messages to leave for redelivery.
    fn handle<'a>(
        &'a self,
        batch: &'a [SqsMessage],
    ) -> impl Future<Output = std::result::Result<BatchResponse, HandlerError>> + Send + 'a;
}

/// Live counters.
#[derive(Debug, Default)]
pub struct EsmStats {
    /// Handler invocations.
    pub invocations: AtomicU64,
    /// Messages received (redeliveries included).
    pub received: AtomicU64,
    /// Messages deleted after success.
    pub deleted: AtomicU64,
    /// Messages left for redelivery.
    pub failed: AtomicU64,
    /// Invocations that returned an error.
    pub handler_errors: AtomicU64,
    /// `ReceiveMessage`, `DeleteMessageBatch` and `GetQueueAttributes` calls.
    pub calls: AtomicU64,
    /// Of those, calls that failed (after the SDK's retries) and were retried by the poller.
    pub call_retries: AtomicU64,
    /// `ChangeMessageVisibilityBatch` calls that kept a batch invisible while it was handled.
    pub visibility_renewals: AtomicU64,
}

/// The event source mapping: pollers that feed `handler`.
pub struct EventSourceMapping<H> {
    clients: Clients,
    queue_url: String,
    config: EsmConfig,
    handler: Arc<H>,
    stats: Arc<EsmStats>,
    chaos: Option<(Arc<Chaos>, Stage)>,
    /// The function's name in its metrics (`FunctionName`).
    function: String,
}

impl<H: Handler> EventSourceMapping<H> {
    /// A mapping from `queue_url` to `handler`.
    pub fn new(
        clients: Clients,
        queue_url: impl Into<String>,
        config: EsmConfig,
        handler: Arc<H>,
    ) -> Self {
        Self {
            clients,
            queue_url: queue_url.into(),
            config,
            handler,
            stats: Arc::default(),
            chaos: None,
            function: String::from("handler"),
        }
    }

    /// Names the function its Lambda-style metrics (`Invocations`, `Errors`, `Duration`) are
    /// published by (`FunctionName`).
    pub fn named(mut self, function: impl Into<String>) -> Self {
        self.function = function.into();
        self
    }

    /// Counts into `stats` (a restarted mapping keeps counting where the last one stopped).
    pub fn with_stats(mut self, stats: Arc<EsmStats>) -> Self {
        self.stats = stats;
        self
    }

    /// Dies at its crash point (the handler's writes durable, the batch not yet deleted) when
    /// `chaos` says `stage` crashes there: the whole mapping ends with [`Error::Crashed`] at
    /// once.
    pub fn with_chaos(mut self, chaos: Arc<Chaos>, stage: Stage) -> Self {
        self.chaos = Some((chaos, stage));
        self
    }

    /// Live counters.
    pub fn stats(&self) -> Arc<EsmStats> {
        self.stats.clone()
    }

    /// Polls until [`Phase::Drain`] finds the queue empty (nothing visible, nothing in flight),
    /// or [`Phase::Stop`].
    ///
    /// # Errors
    /// An SQS call that kept failing through [`EsmConfig::retry`] (SQS unreachable), returned as
    /// soon as the first poller gives up, without waiting for a drain that cannot come.
    pub async fn run(self, mut control: Control) -> Result<()> {
        let (empty_tx, empty_rx) = watch::channel(false);
        let shared = Arc::new(self);
        let mut pollers = JoinSet::new();
        for _ in 0..shared.config.concurrency.max(1) {
            let (esm, control, empty) = (shared.clone(), control.clone(), empty_rx.clone());
            pollers.spawn(async move { esm.poll(control, empty).await });
        }
        let monitor = async {
            control.reached(Phase::Drain).await;
            let mut empty_checks = 0;
            let mut attempts = Attempts::new(shared.config.retry);
            while control.phase() == Phase::Drain {
                match shared.queue_is_empty().await {
                    Ok(true) => empty_checks += 1,
                    Ok(false) => empty_checks = 0,
                    Err(e) => shared.retry_after(e, &mut attempts).await?,
                }
                if empty_checks >= 2 {
                    let _ = empty_tx.send(true);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            // Parked until the pollers end: only an error may finish the mapping early.
            std::future::pending::<Result<()>>().await
        };
        let joined = async {
            while let Some(done) = pollers.join_next().await {
                done.map_err(|e| Error::Stage(format!("poller task: {e}")))??;
            }
            Ok::<_, Error>(())
        };
        // The first error (a poller or the monitor giving up) ends the mapping at once; the
        // remaining pollers are aborted with the JoinSet.
        tokio::select! {
            monitored = monitor => monitored,
            joined = joined => joined,
        }
    }

    /// Counts a failed SQS call and waits before the next attempt; the error itself once
    /// `max_attempts` calls in a row have failed.
    async fn retry_after(&self, error: Error, attempts: &mut Attempts) -> Result<()> {
        if attempts.failed().await.is_err() {
            return Err(error);
        }
        self.stats.call_retries.fetch_add(1, Ordering::Relaxed);
        let attempt = attempts.failures();
        tracing::warn!(%error, attempt, "SQS call failed; the poller retries");
        Ok(())
    }

    async fn poll(&self, mut control: Control, mut empty: watch::Receiver<bool>) -> Result<()> {
        let mut attempts = Attempts::new(self.config.retry);
        loop {
            if control.phase() == Phase::Stop || *empty.borrow() {
                return Ok(());
            }
            let batch = tokio::select! {
                batch = self.gather() => batch,
                _ = control.reached(Phase::Stop) => return Ok(()),
                _ = empty.wait_for(|e| *e) => return Ok(()),
            };
            let batch = match batch {
                Ok(batch) => {
                    attempts.succeeded();
                    batch
                }
                Err(e) => {
                    self.retry_after(e, &mut attempts).await?;
                    continue;
                }
            };
            let batch = match &self.chaos {
                Some((chaos, stage)) if !batch.is_empty() => {
                    delivery::apply(&self.clients, &self.queue_url, chaos, *stage, batch).await
                }
                _ => batch,
            };
            if batch.is_empty() {
                continue;
            }
            self.stats.invocations.fetch_add(1, Ordering::Relaxed);
            self.stats
                .received
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            let invoked = std::time::Instant::now();
            let outcome = match self.config.extend_visibility {
                None => self.handler.handle(&batch).await,
                Some(timeout) => tokio::select! {
                    outcome = self.handler.handle(&batch) => outcome,
                    never = self.keep_invisible(&batch, timeout) => match never {},
                },
            };
            self.record_invocation(invoked.elapsed(), outcome.is_err());
            if let Err(e) = &outcome {
                self.stats.handler_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, messages = batch.len(), "handler failed the whole batch");
            }
            let ids: Vec<&str> = batch.iter().map(|m| m.message_id.as_str()).collect();
            let failed = failed_ids(&ids, &outcome);
            self.stats
                .failed
                .fetch_add(failed.len() as u64, Ordering::Relaxed);
            let done: Vec<&SqsMessage> = batch
                .iter()
                .filter(|m| !failed.contains(&m.message_id))
                .collect();
            if let (Ok(_), Some((chaos, stage))) = (&outcome, &self.chaos) {
                if chaos.crash_point(*stage).await {
                    return Err(Error::Crashed(*stage));
                }
            }
            self.delete(&done, &mut attempts).await?;
        }
    }

    /// Records one invocation as Lambda does: `Invocations`, `Errors` (1 when the handler failed
    /// the whole batch) and `Duration`.
    fn record_invocation(&self, took: Duration, failed: bool) {
        let (metrics, function) = (&self.clients.metrics, self.function.as_str());
        metrics.record(&catalogue::INVOCATIONS, function, 1.0);
        metrics.record(&catalogue::ERRORS, function, if failed { 1.0 } else { 0.0 });
        let ms = took.as_secs_f64() * 1_000.0;
        metrics.record(&catalogue::DURATION, function, ms);
    }

    /// Receives up to `batch_size` messages: one long poll, then more short polls while the
    /// batching window is open.
    async fn gather(&self) -> Result<Vec<SqsMessage>> {
        let mut batch = self
            .receive(self.config.wait_time_secs, self.config.batch_size)
            .await?;
        if batch.is_empty() || self.config.batching_window.is_zero() {
            return Ok(batch);
        }
        let deadline = tokio::time::Instant::now() + self.config.batching_window;
        while batch.len() < self.config.batch_size && tokio::time::Instant::now() < deadline {
            let more = self
                .receive(0, self.config.batch_size - batch.len())
                .await?;
            if more.is_empty() {
                tokio::time::sleep(Duration::from_millis(50).min(self.config.batching_window))
                    .await;
            }
            batch.extend(more);
        }
        Ok(batch)
    }

    async fn receive(&self, wait_secs: i32, want: usize) -> Result<Vec<SqsMessage>> {
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        let out = self
            .clients
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(want.clamp(1, 10) as i32)
            .wait_time_seconds(wait_secs.clamp(0, 20))
            .set_visibility_timeout(self.config.visibility_timeout_secs)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(AwsError::of("sqs", "ReceiveMessage"))?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| SqsMessage {
                receive_count: m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1),
                message_id: m.message_id.unwrap_or_default(),
                receipt_handle: m.receipt_handle.unwrap_or_default(),
                body: m.body.unwrap_or_default(),
            })
            .collect())
    }

    /// Deletes what the handler finished, each chunk retried until it is answered: a delete
    /// whose answer was lost may have taken effect, and repeating it is harmless, while leaving
    /// it to the visibility timeout would spend one of the message's `maxReceiveCount` receives
    /// on work already done (a few lost answers in a row moved finished messages to the DLQ).
    ///
    /// # Errors
    /// The last error once `attempts` ran out (SQS unreachable).
    async fn delete(&self, messages: &[&SqsMessage], attempts: &mut Attempts) -> Result<()> {
        for chunk in messages.chunks(10) {
            loop {
                match self.delete_chunk(chunk).await {
                    Ok(()) => {
                        attempts.succeeded();
                        break;
                    }
                    Err(e) => self.retry_after(e, attempts).await?,
                }
            }
        }
        Ok(())
    }

    async fn delete_chunk(&self, chunk: &[&SqsMessage]) -> Result<()> {
        let entries: Vec<_> = chunk
            .iter()
            .enumerate()
            .map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(&m.receipt_handle)
                    .build()
                    .expect("id and receipt handle are set")
            })
            .collect();
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        let out = self
            .clients
            .sqs
            .delete_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(AwsError::of("sqs", "DeleteMessageBatch"))?;
        self.stats
            .deleted
            .fetch_add(out.successful().len() as u64, Ordering::Relaxed);
        for failure in out.failed() {
            // The message comes back after its visibility timeout; the lake write is
            // idempotent and the handler dedupes, so this costs time, not correctness.
            tracing::warn!(code = failure.code(), "DeleteMessageBatch entry failed");
        }
        Ok(())
    }

    /// Renews the batch's invisibility every half `timeout`, for as long as it is polled (the
    /// handler's run). A failed renewal is logged: the message may then come back early, which
    /// the handler's claims make harmless.
    async fn keep_invisible(
        &self,
        batch: &[SqsMessage],
        timeout: Duration,
    ) -> std::convert::Infallible {
        let secs = i32::try_from(timeout.as_secs().clamp(1, 43_200)).unwrap_or(43_200);
        let receipts: Vec<&str> = batch.iter().map(|m| m.receipt_handle.as_str()).collect();
        let calls = batch.len().div_ceil(10) as u64;
        loop {
            tokio::time::sleep(timeout / 2).await;
            self.stats.calls.fetch_add(calls, Ordering::Relaxed);
            self.stats
                .visibility_renewals
                .fetch_add(calls, Ordering::Relaxed);
            let renewed = self
                .clients
                .set_visibility(&self.queue_url, &receipts, secs)
                .await;
            if let Err(error) = renewed {
                tracing::warn!(%error, "could not keep a batch invisible");
            }
        }
    }

    async fn queue_is_empty(&self) -> Result<bool> {
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        let attrs = self
            .clients
            .queue_attributes(
                &self.queue_url,
                &[
                    QueueAttributeName::ApproximateNumberOfMessages,
                    QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
                    QueueAttributeName::ApproximateNumberOfMessagesDelayed,
                ],
            )
            .await?;
        let count = |name: QueueAttributeName| attrs.get(&name).map(String::as_str) == Some("0");
        Ok(count(QueueAttributeName::ApproximateNumberOfMessages)
            && count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            && attrs.values().all(|v| v == "0"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control;

    struct AcceptAll;

    impl Handler for AcceptAll {
        async fn handle(
            &self,
            _batch: &[SqsMessage],
        ) -> std::result::Result<BatchResponse, HandlerError> {
            Ok(BatchResponse::failing(Vec::new()))
        }
    }

    #[tokio::test]
    async fn pollers_retry_sqs_errors_then_fail_the_mapping_at_once_with_the_error() {
        let config = EsmConfig {
            concurrency: 2,
            retry: Backoff {
                initial: Duration::from_millis(1),
                max: Duration::from_millis(10),
                max_attempts: 4,
            },
            ..EsmConfig::default()
        };
        let esm = EventSourceMapping::new(
            Clients::unreachable().await,
            "http://127.0.0.1:9/000000000000/q",
            config,
            Arc::new(AcceptAll),
        );
        let stats = esm.stats();
        // Never drained: before the fix, a dead poller left the mapping waiting for a drain.
        let (_controller, control) = control::channel();
        let outcome = tokio::time::timeout(Duration::from_secs(30), esm.run(control))
            .await
            .expect("the mapping fails at once instead of waiting for a drain");
        let error = outcome.unwrap_err().to_string();
        assert!(error.starts_with("sqs ReceiveMessage failed"), "{error}");
        assert!(stats.call_retries.load(Ordering::Relaxed) >= 3);
    }
}
