//! The stream run's report as text: one function per part, in the order people read them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::model::StreamReport;

impl StreamReport {
    /// A human-readable report (without the summary line).
    pub(super) fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "run {} ({})", self.name, self.run_id);
        if let Some(stream) = &self.consumed_from {
            let _ = writeln!(
                out,
                "consumed only: read the existing stream {stream} (nothing produced), reconciled \
                 against the scenario regenerated from its seed"
            );
        }
        if let Some(lake) = &self.lake_only {
            let _ = writeln!(
                out,
                "lake only: judged s3://{} alone against the scenario regenerated from its seed; \
                 not judged (the lake does not show them): {}",
                lake.bucket,
                if lake.not_judged.is_empty() {
                    "-".to_string()
                } else {
                    lake.not_judged.join(", ")
                }
            );
        }
        self.render_reconciliation(&mut out);
        self.render_partitions(&mut out);
        if self.lake_only.is_some() {
            return out; // no stage ran, no queue or topic was read
        }
        self.render_history(&mut out);
        self.render_liveness(&mut out);
        if let Some(alarms) = &self.alarms {
            let _ = writeln!(out, "\nalarms");
            out.push_str(&alarms.text("  "));
        }
        self.render_queues(&mut out);
        self.render_sns(&mut out);
        self.render_latency(&mut out);
        self.render_stages(&mut out);
        self.render_faults(&mut out);
        out
    }

    /// What was sent, and what became of it.
    fn render_reconciliation(&self, out: &mut String) {
        let r = &self.judged.reconciliation;
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
    }

    /// Every event's history: the distinct events each stage saw, and the anomalies.
    fn render_history(&self, out: &mut String) {
        let Some(history) = &self.judged.history else {
            return;
        };
        let _ = writeln!(out, "\nhistory (distinct events seen at each stage)");
        let _ = writeln!(out, "  {}", history.summary.stages_line());
        let order = history.out_of_order.map_or_else(
            || "not known (another producer)".to_string(),
            |n| n.to_string(),
        );
        let _ = writeln!(
            out,
            "  {}; out of their key's order into SQS {order}",
            history.summary.counts()
        );
        if let Some(read) = &history.read_back {
            let _ = writeln!(out, "  {}", read.describe());
        }
        for line in history
            .summary
            .examples
            .iter()
            .chain(&history.out_of_order_examples)
        {
            let _ = writeln!(out, "    {line}");
        }
    }

    /// Whether the stages drained (the liveness check, apart from the safety checks above).
    fn render_liveness(&self, out: &mut String) {
        let (check, holds) = self.liveness.check();
        let _ = writeln!(out, "\nliveness");
        match holds {
            true => {
                let _ = writeln!(
                    out,
                    "  drained: no {:.0} s without a move while events were owed",
                    self.liveness.limit_secs
                );
            }
            false => {
                let _ = writeln!(out, "  {}", check.actual);
            }
        }
    }

    /// The lake's partitions and the quarantine's reasons.
    fn render_partitions(&self, out: &mut String) {
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
    }

    /// The queues once the stages drained.
    fn render_queues(&self, out: &mut String) {
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
    }

    /// What each SNS topic delivered.
    fn render_sns(&self, out: &mut String) {
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
        let _ = writeln!(out, "               {}", self.judged.alerts.describe());
        let _ = writeln!(
            out,
            "  run status   {:>6}  {}",
            self.judged.sns.run_status,
            self.judged.sns.run_status_subjects.join(" ")
        );
    }

    /// Latency from due to created in S3, and the schedule of a paced run.
    fn render_latency(&self, out: &mut String) {
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
    }

    /// When each stage drained, its counters, and what the run cost.
    fn render_stages(&self, out: &mut String) {
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
        let mb = |bytes: u64, secs: f64| {
            let mb = bytes as f64 / 1e6;
            format!(
                "read {mb:.1} MB from Kinesis ({:.2} MB/s)",
                mb / secs.max(1e-9)
            )
        };
        let _ = writeln!(
            out,
            "  bridge   {:>6.2}s  {} SQS messages, {} calls; {}",
            t.bridged_secs,
            s.sqs_messages,
            s.bridge_calls,
            mb(s.fan_out.lake_read_bytes, t.bridged_secs)
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
        if let Some(secs) = t.raw_secs {
            let objects = s.fan_out.raw_objects;
            let read = mb(s.fan_out.raw_read_bytes, secs);
            let _ = writeln!(
                out,
                "  raw      {secs:>6.2}s  {objects} objects put; {read}"
            );
        }
        if let Some(secs) = t.firehose_secs {
            let (calls, left) = (s.fan_out.firehose_calls, s.fan_out.firehose_unacknowledged);
            let _ = writeln!(
                out,
                "  firehose {secs:>6.2}s  {calls} PutRecordBatch calls, {left} events forwarded again after crashes; {}",
                mb(s.fan_out.firehose_read_bytes, secs)
            );
        }
        let _ = writeln!(
            out,
            "  throughput {:.0} events/s end to end",
            self.events_per_sec()
        );
        let r = &self.resources;
        let _ = writeln!(out, "  harness  {r}");
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
    }

    /// The faults that fired, grouped by kind and target, the restarts they caused, and each
    /// rule's fires.
    fn render_faults(&self, out: &mut String) {
        if !self.fault_rules.is_empty() {
            let _ = writeln!(out, "\nfault rules (fired, and what each must)");
            for [rule, what, fired] in crate::verdict::fault_rules::rows(&self.fault_rules) {
                let _ = writeln!(out, "  {rule:<20} {fired:>14}  {what}");
            }
        }
        if self.faults_fired.is_empty() {
            return;
        }
        let mut groups: BTreeMap<String, u64> = BTreeMap::new();
        for fired in &self.faults_fired {
            let target = match (&fired.service, &fired.operation, &fired.stage) {
                (Some(service), Some(op), _) => format!("{} {op}", service.name()),
                (_, _, Some(stage)) => stage.name().to_string(),
                _ if fired.kind.is_database_fault() => "postgres".to_string(),
                _ => "localstack".to_string(),
            };
            *groups
                .entry(format!("{} {target}", fired.kind.name()))
                .or_default() += 1;
        }
        let restarts = self.stats.restarts;
        let _ = writeln!(
            out,
            "\nfaults fired {} (restarts: producer {}, bridge {}, processor {}, raw {}, firehose {}; bridge Kinesis retries {}, lake upload retries {}, busy messages {} ({} sent back))",
            self.faults_fired.len(),
            restarts.producer,
            restarts.bridge,
            restarts.processor,
            restarts.raw,
            restarts.firehose,
            self.stats.bridge_call_retries,
            self.stats.lake_retries,
            self.stats.busy_messages,
            self.stats.busy_redelivered,
        );
        for (group, count) in groups {
            let _ = writeln!(out, "  {count:>6}  {group}");
        }
    }
}
