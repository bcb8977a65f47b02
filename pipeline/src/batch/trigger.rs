//! What starts a batch run: a `.SUCCESS` object's notification, at most one run a day.
//!
//! The batch pipeline's trigger, as the seed's Lambda is triggered: an S3 `ObjectCreated`
//! notification (filtered on the `.SUCCESS` suffix) on the monitored bucket, delivered through
//! SQS to an event source mapping (retries, visibility renewed while a run lasts), starts a run,
//! at most one a day. The day is claimed with a conditional write of a marker
//! (`Logs/runs/<day>`, `If-None-Match: *`) that names the SQS message which claimed it: a second
//! `.SUCCESS` on the same day (or S3 delivering the same one twice, as a second message) finds
//! it and starts nothing, even from another process; the same message delivered again (its
//! handler crashed, or failed to announce) finds its own claim and runs the day again, unless
//! the day's status was announced already. The load replaces the companies' rows in one
//! transaction and the status is announced once, so a run done again neither duplicates rows
//! nor announces twice. S3's `s3:TestEvent` (sent when a notification is configured) is
//! recognised and skipped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::job::BatchJob;
use super::layout;
use crate::aws::{Claim, Clients};
use crate::chaos::{Chaos, Stage};
use crate::control::Control;
use crate::error::Result;
use crate::esm::{BatchResponse, EsmConfig, EventSourceMapping, Handler, HandlerError, SqsMessage};
use crate::s3_event::{self, Notice};

/// How long a received trigger stays invisible, renewed at half of it for as long as its run
/// lasts: a run longer than this is never received (and so triggered) a second time.
pub const DEFAULT_VISIBILITY: Duration = Duration::from_secs(30);

/// What the trigger saw.
#[derive(Debug, Default)]
pub struct TriggerStats {
    /// `.SUCCESS` notifications received.
    pub triggers: AtomicU64,
    /// `s3:TestEvent` messages skipped.
    pub test_events: AtomicU64,
    /// Runs started.
    pub runs: AtomicU64,
    /// Deliveries of a trigger whose day it had claimed before (its handler crashed or failed
    /// to announce), that ran the day again.
    pub resumed: AtomicU64,
    /// Deliveries of a trigger whose day's status was announced already (its message was not
    /// deleted after the run): nothing run again.
    pub already_announced: AtomicU64,
    /// Runs finished (logged and announced).
    pub runs_done: AtomicU64,
    /// Triggers on a day that already had its run.
    pub same_day: AtomicU64,
    /// Messages that were not S3 notifications (kept count of, deleted).
    pub unrecognised: AtomicU64,
    /// Every `.SUCCESS` notification received, in order, with what it did: what a judge holds
    /// against the objects that were put, one by one.
    pub receipts: std::sync::Mutex<Vec<Receipt>>,
}

/// One `.SUCCESS` notification as the trigger received it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Receipt {
    /// The SQS message that carried it: the same message delivered again (after a crash, or a
    /// failed delete) is the same notification, not a second one.
    pub message_id: String,
    /// The object's key.
    pub key: String,
    /// S3's sequencer of that write of the key (a notification delivered twice has the same).
    pub sequencer: Option<String>,
    /// The day it was for.
    pub day: String,
    /// Whether it started the day's run (`false`: the day had its run already).
    pub started: bool,
}

/// The trigger: the job behind an event source mapping on its queue, as Lambda is triggered.
pub struct Trigger {
    clients: Clients,
    queue_url: String,
    job: BatchJob,
    stats: Arc<TriggerStats>,
    visibility: Duration,
    chaos: Option<Arc<Chaos>>,
    resumes: bool,
}

impl Trigger {
    /// A trigger on `queue_url` running `job`.
    pub fn new(clients: Clients, queue_url: impl Into<String>, job: BatchJob) -> Self {
        Self {
            clients,
            queue_url: queue_url.into(),
            job,
            stats: Arc::default(),
            visibility: DEFAULT_VISIBILITY,
            chaos: None,
            resumes: true,
        }
    }

    /// Whether a message delivered again knows the day's claim as its own and runs the day
    /// again (the default). `false` claims on every handling as a stranger would: a day whose
    /// first handling crashed is never run, which the judge must FAIL (the negative test's
    /// trigger).
    pub fn resuming(mut self, resumes: bool) -> Self {
        self.resumes = resumes;
        self
    }

    /// Counts into `stats` (a trigger started again after a crash keeps counting).
    pub fn with_stats(mut self, stats: Arc<TriggerStats>) -> Self {
        self.stats = stats;
        self
    }

    /// Dies at its crash point (after a run, before its message is deleted) when `chaos` says
    /// stage `trigger` crashes there: [`crate::Error::Crashed`] ends [`Trigger::run`].
    pub fn with_chaos(mut self, chaos: Arc<Chaos>) -> Self {
        self.chaos = Some(chaos);
        self
    }

    /// Keeps a received trigger invisible for `visibility` at a time (renewed at half of it)
    /// instead of [`DEFAULT_VISIBILITY`].
    pub fn with_visibility(mut self, visibility: Duration) -> Self {
        self.visibility = visibility;
        self
    }

    /// Counters.
    pub fn stats(&self) -> Arc<TriggerStats> {
        self.stats.clone()
    }

    /// Polls its queue through an event source mapping (two pollers, as Lambda's, with the
    /// mapping's retries and visibility renewal) until [`crate::control::Phase::Drain`] finds the
    /// queue empty, or [`crate::control::Phase::Stop`]. A message whose handling failed (S3
    /// unreachable while claiming the day) is left for redelivery.
    ///
    /// # Errors
    /// SQS failing through the mapping's retries.
    pub async fn run(self, control: Control) -> Result<()> {
        let visibility = self.visibility;
        let config = EsmConfig {
            batch_size: 10,
            wait_time_secs: 1,
            concurrency: 2,
            visibility_timeout_secs: Some(
                i32::try_from(visibility.as_secs().max(1)).unwrap_or(43_200),
            ),
            extend_visibility: Some(visibility),
            ..EsmConfig::default()
        };
        let (clients, queue_url) = (self.clients.clone(), self.queue_url.clone());
        let chaos = self.chaos.clone();
        let function = function_name(&self.job.source_bucket);
        let mut mapping =
            EventSourceMapping::new(clients, queue_url, config, Arc::new(TriggerHandler(self)))
                .named(function);
        if let Some(chaos) = chaos {
            mapping = mapping.with_chaos(chaos, Stage::Trigger);
        }
        mapping.run(control).await
    }
}

/// The trigger's name as a function (its metrics' `FunctionName`): its job's source bucket's,
/// unique to the run, with `-trigger`.
pub fn function_name(source_bucket: &str) -> String {
    format!("{source_bucket}-trigger")
}

/// The trigger as the mapping's handler.
struct TriggerHandler(Trigger);

impl Handler for TriggerHandler {
    async fn handle(
        &self,
        batch: &[SqsMessage],
    ) -> std::result::Result<BatchResponse, HandlerError> {
        let mut failed = Vec::new();
        for message in batch {
            match self.0.handle(message).await {
                Ok(()) => {}
                // A crashed load is a crashed invocation: the whole batch comes back.
                Err(crate::Error::Crashed(stage)) => {
                    return Err(HandlerError(format!("{} crashed", stage.name())))
                }
                Err(error) => {
                    tracing::warn!(%error, "trigger not handled; left for redelivery");
                    failed.push(message.message_id.clone());
                }
            }
        }
        Ok(BatchResponse::failing(failed))
    }
}

impl Trigger {
    async fn handle(&self, message: &SqsMessage) -> Result<()> {
        let notices = s3_event::parse(&message.body);
        if notices.is_empty() {
            self.stats.unrecognised.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(body = message.body, "not an S3 notification; skipped");
        }
        for notice in notices {
            let (key, day, sequencer) = match notice {
                Notice::Test => {
                    self.stats.test_events.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                Notice::Created {
                    key,
                    time,
                    sequencer,
                } => {
                    let day = time.get(..10).unwrap_or_default().to_string();
                    (key, day, sequencer)
                }
            };
            if !key.ends_with(layout::TRIGGER_SUFFIX) {
                continue; // LocalStack filters literally, as AWS does; be strict anyway
            }
            self.stats.triggers.fetch_add(1, Ordering::Relaxed);
            let started = self.claim(&day, message, &key).await?;
            self.stats
                .receipts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(Receipt {
                    message_id: message.message_id.clone(),
                    key: key.clone(),
                    sequencer,
                    day: day.clone(),
                    started,
                });
            if !started {
                self.stats.same_day.fetch_add(1, Ordering::Relaxed);
                tracing::info!(day, key, "a run already started today; trigger ignored");
                continue;
            }
            self.run_day(&day, message.receive_count).await?;
        }
        Ok(())
    }

    /// Runs `day`, whose claim this trigger's message holds: again when the message comes back
    /// (its first handling crashed or did not announce), unless the day's status was announced.
    async fn run_day(&self, day: &str, receive_count: u32) -> Result<()> {
        if receive_count > 1 {
            if self.job.announced(day).await? {
                self.stats.already_announced.fetch_add(1, Ordering::Relaxed);
                tracing::info!(day, "the day's run was announced before; nothing run again");
                return Ok(());
            }
            self.stats.resumed.fetch_add(1, Ordering::Relaxed);
            tracing::info!(
                day,
                receive_count,
                "the day's run did not finish; run again"
            );
        }
        self.stats.runs.fetch_add(1, Ordering::Relaxed);
        let summary = self.job.run(day).await?;
        tracing::info!(
            day,
            success = summary.success,
            rows = summary.rows_loaded,
            "batch run done"
        );
        self.stats.runs_done.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Claims `day` for a run: `false` when another trigger claimed it. The marker names the
    /// message that claims it (its id, the object and the day), so that a claim whose answer was
    /// lost, or the same message delivered again, is still this trigger's, while another
    /// message (another `.SUCCESS`, or S3 delivering one twice) finds the day taken.
    async fn claim(&self, day: &str, message: &SqsMessage, object: &str) -> Result<bool> {
        let key = format!("{}{day}", layout::RUN_MARKERS);
        let mut holder = format!("{} {object} {day}", message.message_id);
        if !self.resumes {
            holder.push_str(&format!(" #{}", message.receive_count));
        }
        let claim = self
            .clients
            .claim(&self.job.source_bucket, &key, holder.into_bytes())
            .await?;
        Ok(claim == Claim::Won)
    }
}
