//! The verdict every report carries.
//!
//! The verdict every report carries: the checks that failed and those that held. Whether a run
//! passed is what its failures say, never a flag of its own that could disagree with them.

use serde::ser::SerializeStruct as _;
use serde::Serialize;

use super::checks::Checks;
use super::failure::Failure;

/// A run's checks, failed and held, as every flow's report carries them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    failures: Vec<Failure>,
    held: Vec<Failure>,
}

impl Verdict {
    /// Every check held: no failure.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// Every check that did not hold.
    pub fn failures(&self) -> &[Failure] {
        &self.failures
    }

    /// Every check that held, with what it expected and what the run showed.
    pub fn held(&self) -> &[Failure] {
        &self.held
    }

    /// Adds `checks`, held and failed.
    pub fn add_checks(&mut self, checks: Checks) {
        self.held.extend(checks.held);
        self.failures.extend(checks.failed);
    }

    /// Adds one check, which held or not.
    pub fn add_check(&mut self, check: Failure, holds: bool) {
        match holds {
            true => self.held.push(check),
            false => self.failures.push(check),
        }
    }

    /// Adds checks that did not hold.
    pub fn add_failures(&mut self, failures: impl IntoIterator<Item = Failure>) {
        self.failures.extend(failures);
    }

    /// Adds checks that held.
    pub fn add_held(&mut self, held: impl IntoIterator<Item = Failure>) {
        self.held.extend(held);
    }
}

impl From<Checks> for Verdict {
    fn from(checks: Checks) -> Self {
        Self {
            failures: checks.failed,
            held: checks.held,
        }
    }
}

/// `passed`, `failures`, `held`: the fields every report's JSON has had (flattened into it).
impl Serialize for Verdict {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Verdict", 3)?;
        s.serialize_field("passed", &self.passed())?;
        s.serialize_field("failures", &self.failures)?;
        s.serialize_field("held", &self.held)?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_passes_exactly_when_nothing_failed_and_says_so_in_its_json() {
        let mut verdict = Verdict::default();
        assert!(verdict.passed());
        let mut checks = Checks::default();
        checks.check("found", true, "10", "10");
        verdict.add_checks(checks);
        assert!(verdict.passed());
        verdict.add_failures([Failure::new("missing", "0", "1")]);
        assert!(!verdict.passed());
        let json = serde_json::to_value(&verdict).unwrap();
        assert_eq!(json["passed"], false);
        assert_eq!(json["failures"][0]["check"], "missing");
        assert_eq!(json["held"][0]["check"], "found");
    }
}
