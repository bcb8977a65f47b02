//! What a run reports: the reconciliation, the lake's layout, queue depths, SNS deliveries,
//! latency and per-stage figures, for people (text) and scripts (the summary line, JSON).

pub mod html;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use tickflow_pipeline::bridge::BridgeStats;
use tickflow_pipeline::calls::CallCounts;
use tickflow_pipeline::chaos::Fired;
use tickflow_pipeline::lake::LakeStats;
use tickflow_pipeline::processor::esm::EsmStats;
use tickflow_pipeline::processor::handler::HandlerStats;
use tickflow_pipeline::producer::ProducerStats;

use crate::flows::stream::arrival::Schedule;
use crate::flows::stream::judge::Judgement;
use crate::verdict::ResourceUse;

/// The outcome of one run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
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
    /// fails the run).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_moments: Vec<String>,
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
        .collect()
}

/// Seconds from the run's start at which each stage had drained.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct StageTimes {
    /// Producer done: every event in Kinesis.
    pub produced_secs: f64,
    /// Bridge done: every event in SQS.
    pub bridged_secs: f64,
    /// Processor and lake done: every event in S3, the quarantine or the DLQ.
    pub processed_secs: f64,
    /// Including observation, reconciliation and notification.
    pub total_secs: f64,
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
    /// Prices that reached the price watch after their window closed (see
    /// [`HandlerStats::late_prices`]).
    pub late_prices: u64,
    /// Kinesis calls of the bridge that failed after the SDK's retries and were retried.
    pub bridge_call_retries: u64,
    /// Shards the bridge read to their end after a reshard closed them.
    pub closed_shards: u64,
    /// Messages the handler left for redelivery because another invocation was still writing
    /// some of their events.
    pub busy_messages: u64,
    /// Lake uploads retried.
    pub lake_retries: u64,
    /// Stages started again from durable state after a scheduled crash.
    pub restarts: RestartCounts,
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
            lake_retries: get(&lake.retries),
            restarts: RestartCounts::default(),
        }
    }
}

impl RunReport {
    /// `PASS <name> events=... found=... missing=... duplicated=... quarantined=...
    /// dead_lettered=... misplaced=... altered=... unknown=... elapsed=...s`: the line scripts
    /// read.
    pub fn summary_line(&self) -> String {
        let r = &self.judged.reconciliation;
        format!(
            "{} {} events={} found={} missing={} duplicated={} quarantined={} dead_lettered={} misplaced={} altered={} unknown={} elapsed={:.1}s",
            if self.judged.passed { "PASS" } else { "FAIL" },
            self.name,
            r.events,
            r.found,
            r.missing,
            r.duplicated,
            r.quarantined,
            r.dead_lettered,
            r.misplaced,
            r.altered,
            r.unknown,
            self.elapsed_secs
        )
    }

    /// Events per second from start to every event landed.
    pub fn events_per_sec(&self) -> f64 {
        self.judged.reconciliation.events as f64 / self.times.processed_secs.max(1e-9)
    }

    /// A human-readable report (without the summary line).
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let r = &self.judged.reconciliation;
        let _ = writeln!(out, "run {} ({})", self.name, self.run_id);
        let _ = writeln!(out, "\nreconciliation");
        for (label, value) in [
            ("events", r.events),
            ("found in lake", r.found),
            ("missing", r.missing),
            ("duplicated", r.duplicated),
            ("quarantined", r.quarantined),
            ("dead-lettered", r.dead_lettered),
            ("misplaced", r.misplaced),
            ("altered", r.altered),
            ("unknown", r.unknown),
        ] {
            let _ = writeln!(out, "  {label:<16} {value:>10}");
        }
        if self.expected_quarantine + self.expected_poison + self.duplicates_sent > 0 {
            let _ = writeln!(
                out,
                "  injected: {} malformed, {} poison, {} duplicate copies",
                self.expected_quarantine, self.expected_poison, self.duplicates_sent
            );
        }
        if self.unparsed_records > 0 {
            let _ = writeln!(
                out,
                "  replayed records that are not events: {}",
                self.unparsed_records
            );
        }
        let _ = writeln!(out, "\npartitions");
        for (partition, p) in &self.judged.partitions {
            let _ = writeln!(
                out,
                "  {partition:<52} {:>4} objects {:>9} events",
                p.objects, p.events
            );
        }
        for (reason, n) in &self.judged.quarantine_reasons {
            let _ = writeln!(out, "  quarantine reason {reason:<34} {n:>9} rows");
        }
        let _ = writeln!(out, "\nqueues after drain");
        let _ = writeln!(
            out,
            "  main   visible {:>6}  in flight {:>6}",
            self.judged.main_queue.visible, self.judged.main_queue.in_flight
        );
        let _ = writeln!(
            out,
            "  dlq    messages {:>5}  ({} read)",
            self.judged.dlq.total(),
            self.judged.dlq_messages
        );
        let _ = writeln!(out, "\nSNS deliveries");
        let _ = writeln!(out, "  new data     {:>6}", self.judged.sns.new_data);
        let mut per_symbol: BTreeMap<&str, usize> = BTreeMap::new();
        for symbol in &self.judged.sns.alert_symbols {
            *per_symbol.entry(symbol.as_str()).or_default() += 1;
        }
        let alerts: Vec<String> = per_symbol
            .iter()
            .map(|(s, n)| format!("{s} x{n}"))
            .collect();
        let _ = writeln!(
            out,
            "  price alerts {:>6}  {}",
            self.judged.sns.price_alert,
            alerts.join(", ")
        );
        if self.stats.late_prices > 0 {
            let _ = writeln!(
                out,
                "               {} prices arrived after their window closed and were left out",
                self.stats.late_prices
            );
        }
        let _ = writeln!(
            out,
            "  run status   {:>6}  {}",
            self.judged.sns.run_status,
            self.judged.sns.run_status_subjects.join(" ")
        );
        let l = &self.judged.latency_ms;
        let _ = writeln!(
            out,
            "\nlatency, due -> created in S3, by its notification (ms)"
        );
        let _ = writeln!(
            out,
            "  p50 {}  p90 {}  p99 {}  max {}",
            l.p50, l.p90, l.p99, l.max
        );
        if self.judged.latency_unknown > 0 {
            let _ = writeln!(
                out,
                "  unknown for {} rows (objects without write-time metadata)",
                self.judged.latency_unknown
            );
        }
        if let Some(s) = &self.schedule {
            let _ = writeln!(
                out,
                "  schedule: target {:.0} events/s, achieved {:.0} events/s, lag p50 {} p99 {} max {} ms",
                s.target_rate, s.achieved_rate, s.lag_ms.p50, s.lag_ms.p99, s.lag_ms.max
            );
        }
        let t = &self.times;
        let s = &self.stats;
        let _ = writeln!(out, "\nstages (seconds from start when drained)");
        let _ = writeln!(
            out,
            "  producer {:>6.2}s  {} Kinesis records ({:.1} MiB) in {} PutRecords calls ({} retries, {} throttled)",
            t.produced_secs,
            s.kinesis_records,
            s.kinesis_bytes as f64 / 1_048_576.0,
            s.put_records_calls,
            s.producer_retries,
            s.throttles
        );
        let _ = writeln!(
            out,
            "  bridge   {:>6.2}s  {} SQS messages, {} calls",
            t.bridged_secs, s.sqs_messages, s.bridge_calls
        );
        let _ = writeln!(
            out,
            "  process  {:>6.2}s  {} invocations, {} received, {} redelivered, {} visibility renewals, {} SQS calls retried, {} duplicates skipped, {} objects ({:.1} MiB)",
            t.processed_secs,
            s.invocations,
            s.received,
            s.redelivered,
            s.visibility_renewals,
            s.processor_call_retries,
            s.duplicates_skipped,
            s.objects,
            s.lake_bytes as f64 / 1_048_576.0
        );
        let _ = writeln!(
            out,
            "  throughput {:.0} events/s end to end",
            self.events_per_sec()
        );
        let r = &self.resources;
        let _ = writeln!(
            out,
            "  harness  CPU {:.1}s user + {:.1}s system, peak RSS {:.0} MiB",
            r.cpu_user_secs, r.cpu_system_secs, r.peak_rss_mib
        );
        let calls: Vec<String> = self
            .aws_calls
            .iter()
            .map(|(s, c)| {
                format!(
                    "{s} {} ({} errors, {} throttled)",
                    c.calls, c.errors, c.throttles
                )
            })
            .collect();
        let _ = writeln!(out, "  AWS calls  {}", calls.join(", "));
        self.render_faults(&mut out);
        out
    }

    /// The faults that fired, grouped by kind and target, and the restarts they caused.
    fn render_faults(&self, out: &mut String) {
        if self.faults_fired.is_empty() {
            return;
        }
        let mut groups: BTreeMap<String, u64> = BTreeMap::new();
        for fired in &self.faults_fired {
            let target = match (&fired.service, &fired.operation, &fired.stage) {
                (Some(service), Some(op), _) => format!("{} {op}", service.name()),
                (_, _, Some(stage)) => stage.name().to_string(),
                _ => "localstack".to_string(),
            };
            *groups
                .entry(format!("{} {target}", fired.kind.name()))
                .or_default() += 1;
        }
        let restarts = self.stats.restarts;
        let _ = writeln!(
            out,
            "\nfaults fired {} (restarts: producer {}, bridge {}, processor {}; bridge Kinesis retries {}, lake upload retries {}, busy messages {})",
            self.faults_fired.len(),
            restarts.producer,
            restarts.bridge,
            restarts.processor,
            self.stats.bridge_call_retries,
            self.stats.lake_retries,
            self.stats.busy_messages,
        );
        for (group, count) in groups {
            let _ = writeln!(out, "  {count:>6}  {group}");
        }
    }
}
