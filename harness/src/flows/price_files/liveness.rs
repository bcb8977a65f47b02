//! The price-file run's liveness check: both steps drained, or the step that stood still.
//!
//! The safety checks say whether what the steps made is right; this one says whether they
//! finished. Once every file is uploaded, steps that move nothing for `liveness_secs` while a
//! step's queue still holds messages are stuck: the run stops waiting there and FAILs
//! `liveness`, naming the first such step. Steps that stand still with empty queues have
//! drained (what they did not make is the safety checks' to say), and must then stop within
//! the same limit: a step that does not (a batch wedged for good) is stuck too.

use serde::Serialize;
use tickflow_pipeline::chaos::{FaultKind, FaultRule};

/// How a price-file run ended: drained, or stuck.
pub type Liveness = crate::verdict::liveness::Liveness<Stuck>;

/// Where and when the steps stood still.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stuck {
    /// The first step, ETL then analysis, whose queue still held messages.
    pub step: String,
    /// Messages its queue held (visible and in flight); 0 for a step that did not stop when
    /// asked to drain, nothing owed.
    pub messages: u64,
    /// Seconds it stood still (or was given to drain).
    pub idle_secs: f64,
    /// Distinct files the ETL step received by then, and records the analysis step received.
    pub transformed: u64,
    /// See `transformed`.
    pub analysed: u64,
    /// Files uploaded.
    pub files: u64,
    /// Records among them.
    pub records: u64,
}

impl crate::verdict::liveness::Stuck for Stuck {
    const FINISHED: &'static str = "drained";

    fn expected(limit_secs: f64) -> String {
        format!(
            "both steps drain, never moving nothing for {limit_secs:.0} s while a queue holds \
             messages"
        )
    }

    fn describe(&self, _: f64) -> String {
        let why = match self.messages {
            0 => "did not stop when asked to drain, with nothing owed".to_string(),
            n => format!(
                "nothing moved for {:.1} s with {n} messages in its queue",
                self.idle_secs
            ),
        };
        format!(
            "stuck at the {} step: {why}; {} of {} files received by the ETL step, {} of {} \
             records by the analysis step",
            self.step, self.transformed, self.files, self.analysed, self.records
        )
    }
}

/// The longest a `delay` fault of `schedule` hides a message, seconds (0 without one): the
/// steps wait that long for it without being stuck.
pub fn longest_delay_secs(schedule: &[FaultRule]) -> f64 {
    schedule
        .iter()
        .filter(|r| r.kind == FaultKind::Delay)
        .map(|r| r.for_secs)
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drained_steps_hold_and_a_stuck_one_fails_naming_it() {
        let drained = Liveness {
            limit_secs: 30.0,
            stuck: None,
        };
        assert_eq!(drained.check().0.actual, "drained");
        assert!(drained.check().1);
        let stuck = Liveness {
            stuck: Some(Stuck {
                step: "ETL".into(),
                messages: 1,
                idle_secs: 30.2,
                transformed: 29,
                analysed: 29,
                files: 30,
                records: 30,
            }),
            ..drained
        };
        let (failure, holds) = stuck.check();
        assert!(!holds);
        assert!(
            failure
                .actual
                .starts_with("stuck at the ETL step: nothing moved for 30.2 s with 1 messages"),
            "{}",
            failure.actual
        );
        assert!(failure.expected.contains("30 s"));
    }
}
