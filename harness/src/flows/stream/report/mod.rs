//! A stream run's report.
//!
//! What a run reports: the reconciliation, the lake's layout, queue depths, SNS deliveries,
//! latency and per-stage figures ([`model`]), for people (text, [`html`]) and scripts (the
//! summary line, JSON), and what its seed fixes ([`seed`]: parity's facts, the snapshot).

pub mod html;
mod model;
mod seed;
mod text;

use std::fmt::Write as _;

pub use model::{
    calls_since, FanOutCounts, LakeOnly, RestartCounts, StageStats, StageTimes, StreamReport,
};

use crate::verdict::{FactRules, Report, Tally, Verdict};

impl Report for StreamReport {
    fn name(&self) -> &str {
        &self.name
    }

    fn flow(&self) -> &'static str {
        "stream"
    }

    fn verdict(&self) -> &Verdict {
        &self.judged.verdict
    }

    fn faults_fired(&self) -> Vec<tickflow_pipeline::chaos::Fired> {
        self.faults_fired.clone()
    }

    fn elapsed_secs(&self) -> f64 {
        self.elapsed_secs
    }

    fn summary_fields(&self) -> Vec<(&'static str, u64)> {
        let r = &self.judged.reconciliation;
        vec![
            ("events", r.events),
            ("found", r.found),
            ("missing", r.missing),
            ("duplicated", r.duplicated),
            ("quarantined", r.quarantined),
            ("dead_lettered", r.dead_lettered),
            ("misplaced", r.misplaced),
            ("altered", r.altered),
            ("unknown", r.unknown),
        ]
    }

    fn tally(&self) -> Tally {
        let r = &self.judged.reconciliation;
        Tally {
            unit: "events",
            sent: r.events,
            found: r.found,
            missing: r.missing,
            extra: r.duplicated,
        }
    }

    fn render_text(&self) -> String {
        let mut text = self.text();
        if !self.sinks.is_empty() {
            text.push_str(&crate::flows::stream::judge::sinks::render_text(
                &self.sinks,
            ));
        }
        if let Some(web) = &self.web {
            text.push_str(&web.render_text());
        }
        text
    }

    fn markdown_details(&self) -> String {
        let mut md = format!(
            "quarantined {}, dead-lettered {}, p99 latency {} ms\n\n| partition | objects | events |\n|---|---:|---:|\n",
            self.judged.reconciliation.quarantined,
            self.judged.reconciliation.dead_lettered,
            self.judged.latency_ms.p99
        );
        for (partition, p) in &self.judged.partitions {
            let _ = writeln!(md, "| `{partition}` | {} | {} |", p.objects, p.events);
        }
        md
    }

    fn html_section(&self) -> String {
        html::section(self)
    }

    fn json_key(&self) -> &'static str {
        "report"
    }

    fn fact_rules(&self) -> FactRules {
        seed::FACTS
    }

    fn snapshot(&self) -> serde_json::Value {
        seed::snapshot(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickflow_pipeline::calls::CallCounts;

    fn counts(calls: u64) -> CallCounts {
        CallCounts {
            calls,
            errors: 0,
            throttles: 0,
        }
    }

    #[test]
    fn idle_time_before_the_drain_is_left_out_of_each_stage_s_time() {
        let times = StageTimes {
            stages_started_secs: 2.0,
            produced_secs: 30.0,
            bridged_secs: 31.0,
            processed_secs: 32.0,
            raw_secs: Some(31.5),
            firehose_secs: None,
            total_secs: 40.0,
        };
        let less = times.less_idle(25.0);
        assert_eq!((less.produced_secs, less.processed_secs), (5.0, 7.0));
        assert_eq!((less.raw_secs, less.firehose_secs), (Some(6.5), None));
        assert_eq!(less.total_secs, 40.0, "the run's own time is kept");
        assert_eq!(
            times.less_idle(60.0).bridged_secs,
            2.0,
            "never before the stages started"
        );
    }

    #[test]
    fn calls_since_keeps_only_the_services_called_in_between() {
        let before = [("kinesis", counts(5)), ("firehose", counts(2))];
        let after = [
            ("kinesis", counts(9)),
            ("firehose", counts(2)),
            ("s3", counts(1)),
        ];
        let delta = calls_since(&before, &after);
        assert_eq!(delta.keys().collect::<Vec<_>>(), ["kinesis", "s3"]);
        assert_eq!(delta["kinesis"].calls, 4);
    }
}
