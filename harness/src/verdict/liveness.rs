//! The liveness check every flow makes: the run finished, or where it stood still.
//!
//! Safety checks say whether what a run did was right; this one says whether it finished. Each
//! flow watches its own stages and says, when they move nothing for its `liveness_secs` while
//! work is owed, where they stood still ([`Stuck`]); the check and its words are the same for
//! every flow, and apart from the safety checks in every output.

use serde::Serialize;

use super::failure::{Failure, LIVENESS};

/// Where a flow's run stood still, as the flow says it.
pub trait Stuck {
    /// What the check says of a run that finished: `drained`.
    const FINISHED: &'static str;

    /// What the check holds the run to, `limit_secs` its limit: `every stage drains, ...`.
    fn expected(limit_secs: f64) -> String;

    /// Where and how it stood still, `limit_secs` the limit it was held to.
    fn describe(&self, limit_secs: f64) -> String;
}

/// How a run ended: finished, or stuck where `S` says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Liveness<S> {
    /// How long the run may move nothing while work is owed, seconds.
    pub limit_secs: f64,
    /// Where it stood still, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stuck: Option<S>,
}

impl<S> Default for Liveness<S> {
    /// Held to no limit, not stuck: a report before its run ended.
    fn default() -> Self {
        Self {
            limit_secs: 0.0,
            stuck: None,
        }
    }
}

impl<S: Stuck> Liveness<S> {
    /// A run held to `limit_secs`, not stuck (yet).
    pub fn new(limit_secs: f64) -> Self {
        Self {
            limit_secs,
            stuck: None,
        }
    }

    /// The check: held when the run finished, failed saying where it stood still.
    pub fn check(&self) -> (Failure, bool) {
        let expected = S::expected(self.limit_secs);
        match &self.stuck {
            None => (Failure::new(LIVENESS, expected, S::FINISHED), true),
            Some(stuck) => (
                Failure::new(LIVENESS, expected, stuck.describe(self.limit_secs)),
                false,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct At(&'static str);

    impl Stuck for At {
        const FINISHED: &'static str = "drained";

        fn expected(limit_secs: f64) -> String {
            format!("done within {limit_secs:.0} s of quiet")
        }

        fn describe(&self, limit_secs: f64) -> String {
            format!("stuck at {} for {limit_secs:.1} s", self.0)
        }
    }

    #[test]
    fn a_finished_run_holds_and_a_stuck_one_fails_as_its_flow_says() {
        let mut liveness = Liveness::<At>::new(20.0);
        let (held, holds) = liveness.check();
        assert!(holds);
        assert_eq!(held.check, "liveness");
        assert_eq!(
            (held.expected.as_str(), held.actual.as_str()),
            ("done within 20 s of quiet", "drained")
        );
        liveness.stuck = Some(At("the bridge"));
        let (failed, holds) = liveness.check();
        assert!(!holds);
        assert_eq!(failed.actual, "stuck at the bridge for 20.0 s");
        assert!(failed.is_liveness());
    }
}
