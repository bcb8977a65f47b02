//! Faults at a moment of the run: an outage, a shard split.
//!
//! Faults that happen at a moment of the run rather than on a call: a LocalStack outage and a
//! shard split. Each fires `after_secs` into the run and is recorded in the fired list at the
//! moment it starts (so that a replay fires it at the same moment); one whose moment had not
//! come when the stages drained is reported as skipped, and fails the run: the scenario asked
//! for it.

use std::sync::Arc;
use std::time::Duration;

use tickflow_pipeline::aws::{AwsError, Clients};
use tickflow_pipeline::chaos::{Chaos, FaultKind, Fired};
use tickflow_pipeline::control::{self, Control, Controller, Phase};
use tokio::task::JoinSet;

use crate::error::{Error, Result};
use crate::infra::localstack::outage;

/// The moment faults of a run, running in the background.
pub(super) struct Moments {
    /// Each moment's task: what it was, if it was skipped.
    tasks: JoinSet<Result<Option<String>>>,
    /// Drain: the stages drained, a moment not yet due is skipped.
    controller: Controller,
}

/// Sleeps until `at`; `false` if the stages drained first (the fault is skipped).
async fn due(at: Duration, mut control: Control) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(at) => true,
        _ = control.reached(Phase::Drain) => false,
    }
}

impl Moments {
    /// Schedules every outage and split of `chaos`. An outage needs `container` (the id of the
    /// LocalStack container tickflow started).
    ///
    /// # Errors
    /// An outage scheduled without a container tickflow owns.
    pub(super) fn start(
        chaos: &Arc<Chaos>,
        clients: &Clients,
        stream: &str,
        container: Option<&str>,
    ) -> Result<Self> {
        let mut tasks = JoinSet::new();
        let (controller, watch) = control::channel();
        for (index, rule) in chaos.rules().iter().enumerate() {
            let at = Duration::from_secs_f64(rule.after_secs);
            let (chaos, watch) = (chaos.clone(), watch.clone());
            match rule.kind {
                FaultKind::Outage => {
                    let id = container.ok_or_else(|| {
                        Error::Input(
                            "an outage fault pauses the LocalStack container, and tickflow \
                             pauses only a container it started itself (not one given by \
                             AWS_ENDPOINT_URL, nor --target endpoint or aws)"
                                .into(),
                        )
                    })?;
                    let (id, length) = (id.to_string(), Duration::from_secs_f64(rule.for_secs));
                    tasks.spawn(async move {
                        if !due(at, watch).await {
                            return Ok(Some(skipped("outage", at)));
                        }
                        let fired = Fired::moment(
                            FaultKind::Outage,
                            chaos.elapsed_ms(),
                            Some(length.as_secs_f64()),
                        );
                        chaos.record(index, fired);
                        outage::pause_for(&id, length).await.map(|()| None)
                    });
                }
                FaultKind::SplitShard => {
                    let (clients, stream) = (clients.clone(), stream.to_string());
                    tasks.spawn(async move {
                        if !due(at, watch).await {
                            return Ok(Some(skipped("split_shard", at)));
                        }
                        // The moment it started, not when the stream is active again.
                        let started = chaos.elapsed_ms();
                        split_first_open_shard(&clients, &stream).await?;
                        chaos.record(index, Fired::moment(FaultKind::SplitShard, started, None));
                        Ok(None)
                    });
                }
                _ => {}
            }
        }
        Ok(Self { tasks, controller })
    }

    /// Skips the moments not yet due (the stages drained first) and waits for those under way
    /// (after an outage, the container runs again); returns what was skipped.
    ///
    /// # Errors
    /// An outage or split that failed.
    pub(super) async fn finish(mut self) -> Result<Vec<String>> {
        self.controller.set(Phase::Drain);
        let (mut first_error, mut skipped) = (None, Vec::new());
        while let Some(done) = self.tasks.join_next().await {
            let outcome = done.map_err(|e| Error::Stage {
                stage: "fault schedule".into(),
                reason: e.to_string(),
            });
            match outcome.and_then(|r| r) {
                Ok(Some(what)) => skipped.push(what),
                Ok(None) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        skipped.sort();
        first_error.map_or(Ok(skipped), Err)
    }
}

/// How a moment that never came is reported.
fn skipped(kind: &str, at: Duration) -> String {
    format!(
        "{kind} at {:.1} s: the stages had drained before",
        at.as_secs_f64()
    )
}

/// Splits the first open shard of `stream` at the middle of its hash range, then waits until the
/// stream is active again.
async fn split_first_open_shard(clients: &Clients, stream: &str) -> Result<()> {
    let shards = clients.shards(stream).await?;
    let open = shards
        .iter()
        .find(|s| {
            s.sequence_number_range()
                .is_none_or(|r| r.ending_sequence_number().is_none())
        })
        .ok_or_else(|| Error::Input(format!("stream {stream} has no open shard to split")))?;
    let range = open
        .hash_key_range()
        .ok_or_else(|| Error::Input(format!("shard {} has no hash key range", open.shard_id())))?;
    let start: u128 = range.starting_hash_key().parse().unwrap_or(0);
    let end: u128 = range.ending_hash_key().parse().unwrap_or(u128::MAX);
    let middle = start + (end - start) / 2 + 1;
    clients
        .kinesis
        .split_shard()
        .stream_name(stream)
        .shard_to_split(open.shard_id())
        .new_starting_hash_key(middle.to_string())
        .send()
        .await
        .map_err(AwsError::of("kinesis", "SplitShard"))?;
    tracing::info!(stream, shard = open.shard_id(), "shard split");
    for _ in 0..100 {
        let status = clients
            .kinesis
            .describe_stream_summary()
            .stream_name(stream)
            .send()
            .await
            .map_err(AwsError::of("kinesis", "DescribeStreamSummary"))?;
        let active = status
            .stream_description_summary()
            .is_some_and(|d| d.stream_status() == &aws_sdk_kinesis::types::StreamStatus::Active);
        if active {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(Error::Timeout {
        what: format!("stream {stream} to be active after a split"),
        after: Duration::from_secs(10),
    })
}
