//! One failed check, the unit every verdict is made of.

use serde::Serialize;

/// The liveness check's name in every flow: whether the run finished, apart from the safety
/// checks that say whether what it did was right.
pub const LIVENESS: &str = "liveness";

/// One failed check: an invariant of every run, or an assertion of a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// What was checked, e.g. `partitions[event_type=forex/**].events`.
    pub check: String,
    /// What the scenario (or the invariant) expects.
    pub expected: String,
    /// What the run produced.
    pub actual: String,
    /// Where, for a few of the offending records (`s3://bucket/key:line: ...`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
}

impl Failure {
    /// Whether this is the liveness check (the run did not finish), not a safety check.
    pub fn is_liveness(&self) -> bool {
        self.check == LIVENESS
    }

    /// A failure without examples.
    pub fn new(check: &str, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Self {
            check: check.to_string(),
            expected: expected.into(),
            actual: actual.into(),
            examples: Vec::new(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: expected {}, got {}",
            self.check, self.expected, self.actual
        )?;
        for example in &self.examples {
            write!(f, "\n      {example}")?;
        }
        Ok(())
    }
}
