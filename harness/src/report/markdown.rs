//! The Markdown report: one table of every scenario, what failed, then each flow's own details.

use std::fmt::Write as _;

use crate::scenario::Outcome;

/// The Markdown report.
pub fn markdown(outcomes: &[Outcome]) -> String {
    let mut md = String::from(
        "# tickflow scenario report\n\n| scenario | flow | result | sent | found | missing | extra | elapsed |\n|---|---|---|---:|---:|---:|---:|---:|\n",
    );
    for o in outcomes {
        let result = if o.passed() { "PASS" } else { "**FAIL**" };
        match o.report() {
            Some(r) => {
                let t = r.tally();
                let _ = writeln!(
                    md,
                    "| {} | {} | {result} | {} {} | {} | {} | {} | {:.1} s |",
                    o.name,
                    r.flow(),
                    t.sent,
                    t.unit,
                    t.found,
                    t.missing,
                    t.extra,
                    r.elapsed_secs()
                );
            }
            None => {
                let _ = writeln!(md, "| {} | | {result} | | | | | |", o.name);
            }
        }
    }
    for o in outcomes.iter().filter(|o| !o.passed()) {
        let _ = writeln!(md, "\n## {} failed\n", o.name);
        if let Some(e) = &o.error {
            let _ = writeln!(md, "- run error: {e}");
        }
        for f in o.failures() {
            let _ = writeln!(
                md,
                "- `{}`: expected {}, got {}",
                f.check, f.expected, f.actual
            );
        }
    }
    for o in outcomes {
        if let Some(r) = o.report() {
            let _ = write!(
                md,
                "\n## {} ({})\n\n{}",
                o.name,
                r.flow(),
                r.markdown_details()
            );
        }
    }
    md
}
