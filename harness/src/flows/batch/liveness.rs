//! The batch run's liveness check: the run finished, or where it stood still.
//!
//! The safety checks say whether the table and the output are right; this one says whether the
//! run finished. A run that moves nothing (no trigger received, no run started or done, no
//! company file sent into `COPY`) for `liveness_secs` before it finished is stuck: the harness
//! stops waiting there, instead of at its 600 s limit, and FAILs `liveness` naming where.

use serde::Serialize;

use crate::verdict::Failure;

/// The liveness check's name in the verdict.
pub const CHECK: &str = crate::verdict::LIVENESS;

/// How a batch run ended: finished, or stuck.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Liveness {
    /// How long the run may move nothing before it finished, seconds.
    pub limit_secs: f64,
    /// Where it stood still, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stuck: Option<Stuck>,
}

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

impl Liveness {
    /// The check: held when the run finished, failed naming where it stood still.
    pub fn check(&self) -> (Failure, bool) {
        let expected = format!(
            "the run finishes, never moving nothing for {:.0} s before it does",
            self.limit_secs
        );
        match &self.stuck {
            None => (Failure::new(CHECK, expected, "finished"), true),
            Some(s) => {
                let actual = format!(
                    "stuck at {}: nothing moved for {:.1} s; {} of {} company files sent into COPY",
                    s.stage, self.limit_secs, s.files_loaded, s.files
                );
                (Failure::new(CHECK, expected, actual), false)
            }
        }
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
        assert_eq!(
            finished.check(),
            (
                Failure::new(CHECK, finished.check().0.expected, "finished"),
                true
            )
        );
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
