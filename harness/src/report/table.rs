//! The summary table printed after a set of scenarios, one row per scenario whatever its flow.

use std::fmt::Write as _;

use crate::scenario::Outcome;
use crate::verdict::{verdict, Tally};

/// The summary table: what each run was given (in its flow's unit), what went missing and what
/// arrived twice, its time and its failures.
pub fn summary_table(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:<6} {:>15} {:>8} {:>8} {:>9}  FAILURES",
        "SCENARIO", "RESULT", "SENT", "MISSING", "DUPL", "ELAPSED"
    );
    for o in outcomes {
        let t = o.report().map(|r| r.tally()).unwrap_or_default();
        let sent = if t.unit.is_empty() {
            String::new()
        } else {
            format!("{} {}", t.sent, t.unit)
        };
        let Tally { missing, extra, .. } = t;
        let failures = o.failures().len() + usize::from(o.error.is_some());
        let _ = writeln!(
            out,
            "{:<16} {:<6} {sent:>15} {missing:>8} {extra:>8} {:>8.1}s  {failures}",
            o.name,
            verdict(o.passed()),
            o.elapsed_secs()
        );
    }
    out
}
