//! Every check a judge makes, held or not.
//!
//! Every check a judge makes, held or not, each with what it expected and what the run showed:
//! the verdict is made of the failed ones, and the report lists both, so that a reader sees what
//! a check that held looked at, not only that it passed.

use super::failure::Failure;

/// How many offenders a failed check lists.
pub const EXAMPLES: usize = 5;

/// The checks of one run, as they are made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checks {
    /// Those that held.
    pub held: Vec<Failure>,
    /// Those that did not.
    pub failed: Vec<Failure>,
}

impl Checks {
    /// Records `check`, which held or not.
    pub fn record(&mut self, check: Failure, holds: bool) {
        if holds {
            self.held.push(check);
        } else {
            self.failed.push(check);
        }
    }

    /// Records the check named `check`, which held or not.
    pub fn check(
        &mut self,
        check: &str,
        holds: bool,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) {
        self.record(Failure::new(check, expected, actual), holds);
    }

    /// Records a check that failed.
    pub fn fail(&mut self, check: &str, expected: impl Into<String>, actual: impl Into<String>) {
        self.check(check, false, expected, actual);
    }

    /// Records a check over `offenders` (one line each, saying what and where): it holds when
    /// there are none, and fails listing the first [`EXAMPLES`] otherwise.
    pub fn offenders(
        &mut self,
        check: &str,
        expected: impl Into<String>,
        actual: impl Into<String>,
        offenders: Vec<String>,
    ) {
        let holds = offenders.is_empty();
        let mut entry = Failure::new(check, expected, actual);
        entry.examples = offenders.into_iter().take(EXAMPLES).collect();
        self.record(entry, holds);
    }

    /// Adds `other`'s checks after these.
    pub fn extend(&mut self, other: Checks) {
        self.held.extend(other.held);
        self.failed.extend(other.failed);
    }

    /// Whether every check held.
    pub fn passed(&self) -> bool {
        self.failed.is_empty()
    }
}

impl FromIterator<(Failure, bool)> for Checks {
    fn from_iter<I: IntoIterator<Item = (Failure, bool)>>(checks: I) -> Self {
        let mut all = Checks::default();
        for (check, holds) in checks {
            all.record(check, holds);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_check_lands_on_its_side_with_what_it_saw() {
        let mut checks = Checks::default();
        checks.check("a", true, "1", "1");
        checks.fail("b", "1", "2");
        checks.offenders("c", "none", "0 differ", Vec::new());
        let many: Vec<String> = (0..9).map(|i| format!("row {i}")).collect();
        checks.offenders("d", "none", "9 differ", many);
        let names = |v: &[Failure]| v.iter().map(|f| f.check.clone()).collect::<Vec<_>>();
        assert_eq!(names(&checks.held), ["a", "c"]);
        assert_eq!(names(&checks.failed), ["b", "d"]);
        assert_eq!(checks.failed[1].examples.len(), EXAMPLES);
        assert_eq!(checks.held[0].actual, "1");
        assert!(!checks.passed());
        let split: Checks = [(Failure::new("x", "", ""), true)].into_iter().collect();
        assert!(split.passed() && split.held.len() == 1);
    }
}
