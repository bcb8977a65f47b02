//! The liveness check: the pipeline drained, or where it stopped moving.
//!
//! Safety checks (the reconciliation, the history, the queues) say whether what the pipeline
//! did was right; this one says whether it finished. Once the input is fed and the fault
//! schedule's outages are over, a pipeline that owes events and passes none on for
//! `liveness_secs` is stuck: the run stops there, instead of waiting out its drain timeout, and
//! FAILs `liveness` naming the first stage that had not drained, with what each stage had
//! passed on.

use serde::Serialize;

use crate::flows::stream::progress::Sample;

/// How a stream run ended: drained, or stuck.
pub type Liveness = crate::verdict::liveness::Liveness<Stuck>;

/// Where and when a pipeline stopped moving.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stuck {
    /// The first stage, in pipeline order, that had not drained.
    pub stage: String,
    /// Seconds from the run's start when the pipeline last moved (or when events became owed
    /// and the schedule's outages were over, if later).
    pub idle_from_secs: f64,
    /// Seconds from the run's start when it was declared stuck.
    pub declared_secs: f64,
    /// Events each stage had passed on by then.
    pub through: Sample,
}

impl crate::verdict::liveness::Stuck for Stuck {
    const FINISHED: &'static str = "drained";

    fn expected(limit_secs: f64) -> String {
        format!(
            "every stage drains, the pipeline never passing nothing on for {limit_secs:.0} s \
             while events are owed"
        )
    }

    /// `stuck at the bridge: nothing moved for 20 s (from 12.3 s into the run); 4,000 events
    /// accepted by Kinesis, 1,200 sent to SQS, 1,200 written to S3`.
    fn describe(&self, _: f64) -> String {
        let t = &self.through;
        format!(
            "stuck at the {}: nothing moved for {:.1} s (from {:.1} s into the run); {} events \
             accepted by Kinesis, {} sent to SQS, {} written to S3",
            self.stage,
            self.declared_secs - self.idle_from_secs,
            self.idle_from_secs,
            t.kinesis,
            t.sqs,
            t.s3
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drained_run_holds_and_a_stuck_one_fails_naming_the_stage_and_the_counts() {
        let drained = Liveness {
            limit_secs: 20.0,
            stuck: None,
        };
        assert!(drained.check().1);
        let stuck = Liveness {
            stuck: Some(Stuck {
                stage: "bridge".into(),
                idle_from_secs: 3.0,
                declared_secs: 23.5,
                through: Sample {
                    at_ms: 23_500,
                    kinesis: 4_000,
                    sqs: 1_200,
                    s3: 1_100,
                },
            }),
            ..drained
        };
        let (failure, holds) = stuck.check();
        assert!(!holds);
        assert_eq!(failure.check, "liveness");
        assert!(
            failure
                .actual
                .starts_with("stuck at the bridge: nothing moved for 20.5 s"),
            "{}",
            failure.actual
        );
        assert!(failure
            .actual
            .contains("4000 events accepted by Kinesis, 1200 sent to SQS"));
        assert!(failure.expected.contains("20 s"));
    }
}
