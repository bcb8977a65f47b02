//! A parity comparison as people read it.
//!
//! A parity comparison as people read it: the two targets, the facts side by side (differences
//! marked), the observed facts, the quirks, the timings, and the verdict.

use std::fmt::Write as _;

use super::compare::{Parity, Row, Side};
use super::quirks::QUIRKS;

/// Longest value shown in a cell; longer ones are cut with `...`.
const CELL: usize = 40;

/// The text report of `parity` between `left` (A) and `right` (B).
pub fn render_text(scenario: &str, left: &Side, right: &Side, parity: &Parity) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "parity of {scenario}");
    let _ = writeln!(out, "  A  {} [{}]", left.header, left.emulator);
    let _ = writeln!(out, "  B  {} [{}]", right.header, right.emulator);
    section(&mut out, "facts both must agree on", &parity.compared);
    section(
        &mut out,
        "facts timing decides (shown, never a difference)",
        &parity.observed,
    );
    section(
        &mut out,
        "quirks (the README's table; each asked of both targets)",
        &parity.quirks,
    );
    for q in QUIRKS {
        let _ = writeln!(out, "  {}: {}", q.id, q.question);
    }
    for (name, side) in [("A", left), ("B", right)] {
        if let Err(e) = &side.quirks {
            let _ = writeln!(out, "  {name} could not be asked: {e}");
        }
    }
    let _ = writeln!(out, "\ntimings (seconds)");
    let _ = writeln!(out, "  {:<40} {:>10} {:>10} {:>7}", "WHAT", "A", "B", "B/A");
    for t in &parity.timings {
        let secs = |s: Option<f64>| s.map_or_else(|| "-".into(), |s| format!("{s:.2}"));
        let ratio = match (t.left, t.right) {
            (Some(a), Some(b)) if a > 0.0 => format!("{:.2}", b / a),
            _ => "-".into(),
        };
        let _ = writeln!(
            out,
            "  {:<40} {:>10} {:>10} {ratio:>7}",
            t.what,
            secs(t.left),
            secs(t.right)
        );
    }
    let _ = writeln!(out, "\n{}", verdict_line(parity));
    out
}

/// `parity holds: ...` or `parity FAILS: ...`, naming each failing row.
pub fn verdict_line(parity: &Parity) -> String {
    let failures = parity.failures();
    let documented = parity
        .quirks
        .iter()
        .filter(|r| r.agreement == super::compare::Agreement::Documented)
        .count();
    if failures.is_empty() {
        return format!(
            "parity holds: {} facts agree; {} documented quirks differ",
            parity.compared.len(),
            documented
        );
    }
    let named: Vec<String> = failures
        .iter()
        .map(|r| format!("{} (A {}, B {})", r.what, r.left, r.right))
        .collect();
    format!(
        "parity FAILS: {} of {} rows differ beyond the documented quirks: {}",
        failures.len(),
        parity.compared.len() + parity.quirks.len(),
        named.join("; ")
    )
}

/// One titled table of rows.
fn section(out: &mut String, title: &str, rows: &[Row]) {
    let _ = writeln!(out, "\n{title}");
    if rows.is_empty() {
        let _ = writeln!(out, "  (none)");
        return;
    }
    let width = rows
        .iter()
        .map(|r| r.what.chars().count())
        .max()
        .unwrap_or(0)
        .min(72);
    let header = format!("  {:<width$} {:<CELL$} {:<CELL$}", "WHAT", "A", "B");
    let _ = writeln!(out, "{}", header.trim_end());
    for r in rows {
        let line = format!(
            "  {:<width$} {:<CELL$} {:<CELL$} {}",
            r.what,
            cut(&r.left),
            cut(&r.right),
            r.agreement.marker()
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// `value`, cut to [`CELL`] characters.
fn cut(value: &str) -> String {
    if value.chars().count() <= CELL {
        return value.to_string();
    }
    let kept: String = value.chars().take(CELL - 3).collect();
    format!("{kept}...")
}

#[cfg(test)]
mod tests {
    use super::super::compare::{compare, Agreement};
    use super::super::facts::Facts;
    use super::*;
    use crate::infra::aws::emulator::Emulator;

    fn side(emulator: Emulator, alerts: &str) -> Side {
        let mut facts = Facts::default();
        facts.compared.insert("alerts".into(), alerts.into());
        facts.timings.insert("elapsed_secs".into(), 2.0);
        Side {
            header: format!("{emulator} at x"),
            emulator,
            facts,
            quirks: Err("bucket refused".into()),
        }
    }

    #[test]
    fn the_text_names_both_targets_marks_differences_and_gives_the_verdict() {
        let (a, b) = (side(Emulator::LocalStack, "4"), side(Emulator::Moto, "3"));
        let p = compare(&a, &b);
        let text = render_text("smoke", &a, &b, &p);
        assert!(text.contains("A  LocalStack at x [LocalStack]"), "{text}");
        assert!(text.contains("B  moto at x [moto]"), "{text}");
        let alerts = text
            .lines()
            .find(|l| l.trim_start().starts_with("alerts"))
            .unwrap();
        assert!(alerts.ends_with("DIFFERS"), "{alerts}");
        assert!(
            text.contains("A could not be asked: bucket refused"),
            "{text}"
        );
        let health = text.lines().find(|l| l.starts_with("  health ")).unwrap();
        assert!(health.ends_with("NOT ASKED"), "{health}");
        assert!(text.contains("elapsed_secs"), "{text}");
        assert!(text.contains("1.00"), "{text}");
        let verdict = text.trim_end().lines().last().unwrap();
        assert!(
            verdict.starts_with("parity FAILS: 5 of 5 rows"),
            "{verdict}"
        );
        assert!(verdict.contains("alerts (A 4, B 3)"), "{verdict}");
        assert!(p.compared.iter().any(|r| r.agreement == Agreement::Differs));
    }

    #[test]
    fn long_values_are_cut() {
        assert_eq!(cut("short"), "short");
        let long = "x".repeat(100);
        assert_eq!(cut(&long).chars().count(), CELL);
        assert!(cut(&long).ends_with("..."));
    }
}
