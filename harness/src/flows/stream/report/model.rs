//! What a stream run's report holds.
//!
//! What a stream run's report holds: the verdict and reconciliation, the stages' figures and
//! times, the faults, the extra sinks and the web source.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use tickflow_pipeline::bridge::BridgeStats;
use tickflow_pipeline::calls::CallCounts;
use tickflow_pipeline::chaos::Fired;
use tickflow_pipeline::esm::EsmStats;
use tickflow_pipeline::lake::LakeStats;
use tickflow_pipeline::processor::handler::HandlerStats;
use tickflow_pipeline::producer::ProducerStats;

use crate::flows::stream::input::arrival::Schedule;
use crate::flows::stream::judge::invariants::Judgement;
use crate::verdict::ResourceUse;

/// The outcome of one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StreamReport {
    /// The run's name.
    pub name: String,
    /// Unique id in every resource name.
    pub run_id: String,
    /// The verdict and everything read back to reach it (flattened: the JSON report keeps
    /// `passed`, `reconciliation`, `partitions`, ... at its top level).
    #[serde(flatten)]
    pub judged: Judgement,
    /// Events sent malformed (expected in the quarantine).
    pub expected_quarantine: u64,
    /// Events that were poison to the handler (expected in the DLQ).
    pub expected_poison: u64,
    /// Extra copies the producer sent.
    pub duplicates_sent: u64,
    /// Replayed records that were not valid events (expected in the quarantine, without id).
    pub unparsed_records: u64,
    /// Target and achieved rates and schedule lag of a paced run.
    pub schedule: Option<Schedule>,
    /// Cumulative events per stage, sampled every second, for the throughput plot.
    pub timeline: Vec<crate::flows::stream::progress::Sample>,
    /// When each stage finished draining, seconds from the start.
    pub times: StageTimes,
    /// Per-stage counters.
    pub stats: StageStats,
    /// Wall time of the whole run.
    pub elapsed_secs: f64,
    /// The harness process's CPU time and peak memory (the whole process, LocalStack excluded).
    pub resources: ResourceUse,
    /// Attempts per AWS service during the run (provisioning and observation included,
    /// teardown not), with errors and throttles.
    pub aws_calls: BTreeMap<String, CallCounts>,
    /// Infrastructure faults that fired, in order: what `--faults-from` replays.
    pub faults_fired: Vec<Fired>,
    /// Scheduled outages and splits whose moment had not come when the stages drained (each
    /// fails `faults.rules`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_moments: Vec<String>,
    /// Each rule of the fault schedule with the faults it fired.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fault_rules: Vec<crate::verdict::fault_rules::RuleFires>,
    /// The calls the stages made through the fault schedule (`s3 PutObject` -> attempts): what
    /// a rule may name, counted (a run with a schedule).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fault_calls: BTreeMap<String, u64>,
    /// Each consumer's sink side by side, when the stream has more than the lake's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sinks: Vec<crate::flows::stream::judge::sinks::SinkReport>,
    /// The web source's requests, answers and tables (a run fed through `/logs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web: Option<crate::flows::stream::input::web::WebReport>,
    /// The existing stream a consume-only run read (nothing was produced).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumed_from: Option<String>,
    /// Whether the stages drained, or where the pipeline stopped moving (the liveness check).
    pub liveness: crate::flows::stream::judge::liveness::Liveness,
    /// What the scenario's alarms did, when it has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarms: Option<crate::verdict::alarms::AlarmsReport>,
    /// A lake judged alone: its bucket, and the checks it cannot show.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lake_only: Option<LakeOnly>,
}

/// What a judgement of an existing lake alone covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LakeOnly {
    /// The lake's bucket.
    pub bucket: String,
    /// The scenario's checks the lake alone does not show (queues, notifications, latency, the
    /// run status, dead letters): named, not passed.
    pub not_judged: Vec<String>,
}

/// The calls made between two snapshots of [`tickflow_pipeline::calls::CallStats`].
pub fn calls_since(
    before: &[(&'static str, CallCounts)],
    after: &[(&'static str, CallCounts)],
) -> BTreeMap<String, CallCounts> {
    after
        .iter()
        .map(|(service, a)| {
            let b = before
                .iter()
                .find(|(s, _)| s == service)
                .map(|(_, c)| *c)
                .unwrap_or_default();
            let delta = CallCounts {
                calls: a.calls - b.calls,
                errors: a.errors - b.errors,
                throttles: a.throttles - b.throttles,
            };
            (service.to_string(), delta)
        })
        // A service the run never called (Firehose without its consumer) is not a row.
        .filter(|(_, delta)| delta.calls > 0)
        .collect()
}

/// Seconds from the run's start at which each stage had drained.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct StageTimes {
    /// Stages started (resources provisioned): where fault times and latency windows, counted
    /// from the stages' start, fall on the run's clock.
    pub stages_started_secs: f64,
    /// Producer done: every event in Kinesis.
    pub produced_secs: f64,
    /// Bridge done: every event in SQS.
    pub bridged_secs: f64,
    /// Processor and lake done: every event in S3, the quarantine or the DLQ.
    pub processed_secs: f64,
    /// Raw consumer done: every record in its objects (a run with `consumers` including `raw`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_secs: Option<f64>,
    /// Firehose consumer done: every record forwarded (a run with `consumers` including
    /// `firehose`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firehose_secs: Option<f64>,
    /// Including observation, reconciliation and notification.
    pub total_secs: f64,
}

impl StageTimes {
    /// These times less `idle_secs` the stages idled on purpose before their drain (the
    /// alarms settling): each stage's drain came that much later than its work.
    pub fn less_idle(self, idle_secs: f64) -> Self {
        let less = |secs: f64| (secs - idle_secs).max(self.stages_started_secs);
        Self {
            produced_secs: less(self.produced_secs),
            bridged_secs: less(self.bridged_secs),
            processed_secs: less(self.processed_secs),
            raw_secs: self.raw_secs.map(less),
            firehose_secs: self.firehose_secs.map(less),
            ..self
        }
    }
}

/// Counters of every stage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StageStats {
    /// Kinesis records put (aggregates count once).
    pub kinesis_records: u64,
    /// Bytes of Kinesis record data accepted (after compression).
    pub kinesis_bytes: u64,
    /// `PutRecords` calls.
    pub put_records_calls: u64,
    /// Producer retries (entries), throttled ones included.
    pub producer_retries: u64,
    /// Throttled entries.
    pub throttles: u64,
    /// SQS messages the bridge sent.
    pub sqs_messages: u64,
    /// Bridge API calls.
    pub bridge_calls: u64,
    /// Handler invocations.
    pub invocations: u64,
    /// Messages received by the processor (redeliveries included).
    pub received: u64,
    /// Messages the processor left for redelivery.
    pub redelivered: u64,
    /// SQS calls of the processor that failed after the SDK's retries and were retried.
    pub processor_call_retries: u64,
    /// `ChangeMessageVisibilityBatch` calls that kept batches invisible while handled.
    pub visibility_renewals: u64,
    /// Events skipped as already written.
    pub duplicates_skipped: u64,
    /// Objects the lake writer wrote.
    pub objects: u64,
    /// Bytes the lake writer wrote.
    pub lake_bytes: u64,
    /// Prices that reached the price watch after their window closed, as the processor counted
    /// them (see [`HandlerStats::late_prices`]; the judge reads the late output itself).
    pub late_prices: u64,
    /// Kinesis calls of the bridge that failed after the SDK's retries and were retried.
    pub bridge_call_retries: u64,
    /// Shards the bridge read to their end after a reshard closed them.
    pub closed_shards: u64,
    /// Messages that met another invocation still writing some of their events and waited
    /// for that write to end.
    pub busy_messages: u64,
    /// Busy messages left for redelivery because that write outlasted the handler's wait.
    pub busy_redelivered: u64,
    /// Lake uploads retried.
    pub lake_retries: u64,
    /// Stages started again from durable state after a scheduled crash.
    pub restarts: RestartCounts,
    /// The fan-out consumers' counters (zero without them).
    pub fan_out: FanOutCounts,
}

/// What the fan-out consumers did, for their sinks' judgement and the comparison of their reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FanOutCounts {
    /// Bytes of Kinesis record data the bridge (the lake's consumer) read.
    pub lake_read_bytes: u64,
    /// Bytes of Kinesis record data the raw consumer read.
    pub raw_read_bytes: u64,
    /// Bytes of Kinesis record data the Firehose consumer read.
    pub firehose_read_bytes: u64,
    /// Objects the raw consumer put.
    pub raw_objects: u64,
    /// `PutRecordBatch` calls Firehose answered.
    pub firehose_calls: u64,
    /// Events the Firehose consumer forwarded but had not checkpointed when it crashed.
    pub firehose_unacknowledged: u64,
}

/// Times each stage was started again after a crash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RestartCounts {
    /// Producer restarts.
    pub producer: u64,
    /// Bridge restarts.
    pub bridge: u64,
    /// Processor restarts.
    pub processor: u64,
    /// Raw consumer restarts.
    pub raw: u64,
    /// Firehose consumer restarts.
    pub firehose: u64,
}

impl RestartCounts {
    /// Every stage's restarts together.
    pub fn total(&self) -> u64 {
        self.producer + self.bridge + self.processor + self.raw + self.firehose
    }
}

impl StageStats {
    /// Reads the stages' live counters.
    pub fn collect(
        producer: &ProducerStats,
        bridge: &BridgeStats,
        esm: &EsmStats,
        handler: &HandlerStats,
        lake: &LakeStats,
    ) -> Self {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Self {
            kinesis_records: get(&producer.kinesis_records),
            kinesis_bytes: get(&producer.bytes),
            put_records_calls: get(&producer.calls),
            producer_retries: get(&producer.retries),
            throttles: get(&producer.throttles),
            sqs_messages: get(&bridge.messages),
            bridge_calls: get(&bridge.calls),
            invocations: get(&esm.invocations),
            received: get(&esm.received),
            redelivered: get(&esm.failed),
            processor_call_retries: get(&esm.call_retries),
            visibility_renewals: get(&esm.visibility_renewals),
            duplicates_skipped: get(&handler.duplicates),
            objects: get(&lake.objects),
            lake_bytes: get(&lake.bytes),
            late_prices: get(&handler.late_prices),
            bridge_call_retries: get(&bridge.call_retries),
            closed_shards: get(&bridge.closed_shards),
            busy_messages: get(&handler.busy),
            busy_redelivered: get(&handler.busy_redelivered),
            lake_retries: get(&lake.retries),
            restarts: RestartCounts::default(),
            fan_out: FanOutCounts::default(),
        }
    }
}

impl StreamReport {
    /// Events per second from start to every event landed.
    pub fn events_per_sec(&self) -> f64 {
        self.judged.reconciliation.events as f64 / self.times.processed_secs.max(1e-9)
    }
}
