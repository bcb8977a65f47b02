//! The batch run's liveness check: the run finished, or where it stood still.
//!
//! The safety checks say whether the table and the output are right; this one says whether the
//! run finished. A run that moves nothing (no trigger received, no run started or done, no
//! company file sent into `COPY`) for `liveness_secs` before it finished is stuck: the harness
//! stops waiting there, instead of at its 600 s limit, and FAILs `liveness` naming where.

use serde::Serialize;

/// How a batch run ended: finished, or stuck.
pub type Liveness = crate::verdict::liveness::Liveness<Stuck>;

/// Where and when a batch run stood still.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stuck {
    /// `the trigger` (no run started) or `the batch job` (a run started and not done).
    pub stage: String,
    /// Company files sent into `COPY` by then (loads again included).
    pub files_loaded: u64,
    /// Company files the run must load.
    pub files: u64,
}

impl crate::verdict::liveness::Stuck for Stuck {
    const FINISHED: &'static str = "finished";

    fn expected(limit_secs: f64) -> String {
        format!("the run finishes, never moving nothing for {limit_secs:.0} s before it does")
    }

    fn describe(&self, limit_secs: f64) -> String {
        format!(
            "stuck at {}: nothing moved for {limit_secs:.1} s; {} of {} company files sent into \
             COPY",
            self.stage, self.files_loaded, self.files
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_run_holds_and_a_stuck_one_fails_naming_where() {
        let finished = Liveness {
            limit_secs: 60.0,
            stuck: None,
        };
        let (held, holds) = finished.check();
        assert!(holds);
        assert_eq!(held.actual, "finished");
        assert!(held.expected.contains("60 s"));
        let stuck = Liveness {
            stuck: Some(Stuck {
                stage: "the batch job".into(),
                files_loaded: 2,
                files: 5,
            }),
            ..finished
        };
        let (failure, holds) = stuck.check();
        assert!(!holds);
        assert_eq!(
            failure.actual,
            "stuck at the batch job: nothing moved for 60.0 s; 2 of 5 company files sent into COPY"
        );
    }
}
