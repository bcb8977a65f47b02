//! A scenario's outcome and the reports written for a set of them: JSON for machines,
//! Markdown for people, JUnit XML for CI.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::flows::stream::report::RunReport;
use crate::verdict::Failure;

/// What running one scenario came to.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Scenario name.
    pub name: String,
    /// Its file.
    pub file: String,
    /// The run's report; `None` when the run itself failed.
    pub report: Option<RunReport>,
    /// A batch run's report, for `flow = "batch"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<crate::flows::batch::BatchReport>,
    /// A price-file run's report, for `flow = "price-files"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_files: Option<crate::flows::price_files::PriceFilesReport>,
    /// Why the run failed, when it did.
    pub error: Option<String>,
    /// Assertions that did not hold.
    pub failures: Vec<Failure>,
}

impl Outcome {
    /// Wall time of the run, whichever flow ran it (0 when it did not complete).
    pub fn elapsed_secs(&self) -> f64 {
        match (&self.report, &self.batch, &self.price_files) {
            (Some(r), _, _) => r.elapsed_secs,
            (None, Some(b), _) => b.elapsed_secs,
            (None, None, Some(p)) => p.elapsed_secs,
            (None, None, None) => 0.0,
        }
    }

    /// Whether the scenario passed: the run completed and every assertion held.
    pub fn passed(&self) -> bool {
        (self.report.is_some() || self.batch.is_some() || self.price_files.is_some())
            && self.error.is_none()
            && self.failures.is_empty()
    }

    /// The one-line summary scripts read (`PASS|FAIL <name> events=... elapsed=...s`).
    pub fn summary_line(&self) -> String {
        let verdict = if self.passed() { "PASS" } else { "FAIL" };
        let line = match (&self.report, &self.batch, &self.price_files) {
            (Some(report), _, _) => Some(report.summary_line()),
            (None, Some(batch), _) => Some(batch.summary_line()),
            (None, None, Some(files)) => Some(files.summary_line()),
            (None, None, None) => None,
        };
        match line {
            Some(line) => {
                let rest = line.split_once(' ').map_or("", |(_, rest)| rest);
                format!("{verdict} {rest}")
            }
            None => format!(
                "{verdict} {} error={:?}",
                self.name,
                self.error.as_deref().unwrap_or("")
            ),
        }
    }
}

/// Writes `report.json`, `report.md`, `report.html` and `junit.xml` into `dir` (created if
/// needed).
///
/// # Errors
/// The directory or a file cannot be written.
pub fn write_reports(dir: &Path, outcomes: &[Outcome]) -> Result<()> {
    let io = |e: std::io::Error| Error::Input(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    let json = serde_json::to_vec_pretty(outcomes).expect("outcomes serialise");
    std::fs::write(dir.join("report.json"), json).map_err(io)?;
    std::fs::write(dir.join("report.md"), markdown(outcomes)).map_err(io)?;
    std::fs::write(dir.join("junit.xml"), junit(outcomes)).map_err(io)?;
    let reports: Vec<&RunReport> = outcomes.iter().filter_map(|o| o.report.as_ref()).collect();
    let html = crate::flows::stream::report::html::page("tickflow scenario report", &reports);
    std::fs::write(dir.join("report.html"), html).map_err(io)?;
    Ok(())
}

/// The summary table printed after a set of scenarios.
pub fn summary_table(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:<6} {:>9} {:>8} {:>8} {:>9}  FAILURES",
        "SCENARIO", "RESULT", "EVENTS", "MISSING", "DUPL", "ELAPSED"
    );
    for o in outcomes {
        let (events, missing, dup, elapsed) = match (&o.report, &o.batch, &o.price_files) {
            (Some(r), _, _) => {
                let c = &r.judged.reconciliation;
                (c.events, c.missing, c.duplicated, r.elapsed_secs)
            }
            // A batch run: rows expected, and rows missing from (or extra in) the table.
            (None, Some(b), _) => (
                b.expected_rows,
                b.expected_rows.saturating_sub(b.table_rows),
                b.table_rows.saturating_sub(b.expected_rows),
                b.elapsed_secs,
            ),
            // A price-file run: files uploaded, found nowhere, found twice.
            (None, None, Some(p)) => (p.files, p.missing, p.twice, p.elapsed_secs),
            (None, None, None) => (0, 0, 0, 0.0),
        };
        let result = if o.passed() { "PASS" } else { "FAIL" };
        let failures = o.failures.len() + usize::from(o.error.is_some());
        let _ = writeln!(
            out,
            "{:<16} {result:<6} {events:>9} {missing:>8} {dup:>8} {elapsed:>8.1}s  {failures}",
            o.name
        );
    }
    out
}

/// The Markdown report.
pub fn markdown(outcomes: &[Outcome]) -> String {
    let mut md = String::from("# tickflow scenario report\n\n| scenario | result | events | found | missing | duplicated | quarantined | dead-lettered | p99 latency | elapsed |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for o in outcomes {
        let result = if o.passed() { "PASS" } else { "**FAIL**" };
        match &o.report {
            Some(r) => {
                let c = &r.judged.reconciliation;
                let _ = writeln!(
                    md,
                    "| {} | {result} | {} | {} | {} | {} | {} | {} | {} ms | {:.1} s |",
                    o.name,
                    c.events,
                    c.found,
                    c.missing,
                    c.duplicated,
                    c.quarantined,
                    c.dead_lettered,
                    r.judged.latency_ms.p99,
                    r.elapsed_secs
                );
            }
            None => match &o.batch {
                // A batch run: rows expected and in the table, bad input counted.
                Some(b) => {
                    let _ = writeln!(
                        md,
                        "| {} (batch) | {result} | {} rows | {} in table | | | {} bad rows | {} bad files | | {:.1} s |",
                        o.name, b.expected_rows, b.table_rows, b.bad_rows, b.bad_files, b.elapsed_secs
                    );
                }
                None => match &o.price_files {
                    // A price-file run: files, found as CSV, missing, twice, quarantined.
                    Some(p) => {
                        let _ = writeln!(
                            md,
                            "| {} (price files) | {result} | {} files | {} as CSV | {} | {} | {} | | | {:.1} s |",
                            o.name, p.files, p.found_as_csv, p.missing, p.twice, p.found_quarantined, p.elapsed_secs
                        );
                    }
                    None => {
                        let _ = writeln!(md, "| {} | {result} | | | | | | | | |", o.name);
                    }
                },
            },
        }
    }
    for o in outcomes.iter().filter(|o| !o.passed()) {
        let _ = writeln!(md, "\n## {} failed\n", o.name);
        if let Some(e) = &o.error {
            let _ = writeln!(md, "- run error: {e}");
        }
        for f in &o.failures {
            let _ = writeln!(
                md,
                "- `{}`: expected {}, got {}",
                f.check, f.expected, f.actual
            );
        }
    }
    for o in outcomes {
        if let Some(r) = &o.report {
            let _ = writeln!(
                md,
                "\n## {} partitions\n\n| partition | objects | events |\n|---|---:|---:|",
                o.name
            );
            for (partition, p) in &r.judged.partitions {
                let _ = writeln!(md, "| `{partition}` | {} | {} |", p.objects, p.events);
            }
        }
    }
    md
}

/// The JUnit XML report: one test suite, one test case per scenario.
pub fn junit(outcomes: &[Outcome]) -> String {
    let failed = outcomes.iter().filter(|o| !o.passed()).count();
    let total: f64 = outcomes.iter().map(Outcome::elapsed_secs).sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"tickflow\" tests=\"{}\" failures=\"{failed}\" time=\"{total:.3}\">",
        outcomes.len()
    );
    let _ = writeln!(
        xml,
        "  <testsuite name=\"scenarios\" tests=\"{}\" failures=\"{failed}\" time=\"{total:.3}\">",
        outcomes.len()
    );
    for o in outcomes {
        let time = o.elapsed_secs();
        let _ = write!(
            xml,
            "    <testcase classname=\"scenario\" name=\"{}\" file=\"{}\" time=\"{time:.3}\"",
            escape(&o.name),
            escape(&o.file)
        );
        if o.passed() {
            xml.push_str("/>\n");
            continue;
        }
        let mut lines: Vec<String> = o.failures.iter().map(ToString::to_string).collect();
        lines.extend(o.error.iter().map(|e| format!("run error: {e}")));
        let message = lines.first().cloned().unwrap_or_default();
        let _ = writeln!(
            xml,
            ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
            escape(&message),
            escape(&lines.join("\n"))
        );
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {
                format!("&#{};", c as u32)
            }
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed() -> Outcome {
        Outcome {
            name: "smoke".into(),
            file: "scenarios/smoke.toml".into(),
            report: None,
            batch: None,
            price_files: None,
            error: Some("LocalStack <down> & \"gone\"".into()),
            failures: vec![Failure::new("quarantined", "5", "4")],
        }
    }

    #[test]
    fn junit_escapes_and_counts_failures() {
        let xml = junit(&[failed()]);
        assert!(xml.contains("tests=\"1\" failures=\"1\""));
        assert!(xml.contains("<failure message=\"quarantined: expected 5, got 4\">"));
        assert!(xml.contains("LocalStack &lt;down&gt; &amp; &quot;gone&quot;"));
        assert!(!xml.contains("<down>"));
    }

    #[test]
    fn junit_times_are_real_for_every_flow() {
        let batch = Outcome {
            name: "b".into(),
            error: None,
            failures: Vec::new(),
            batch: Some(crate::flows::batch::BatchReport {
                passed: true,
                elapsed_secs: 12.5,
                ..Default::default()
            }),
            ..failed()
        };
        let prices = Outcome {
            name: "p".into(),
            error: None,
            failures: Vec::new(),
            price_files: Some(crate::flows::price_files::PriceFilesReport {
                passed: true,
                elapsed_secs: 30.25,
                ..Default::default()
            }),
            ..failed()
        };
        let xml = junit(&[batch, prices]);
        assert!(
            xml.contains("name=\"b\" file=\"scenarios/smoke.toml\" time=\"12.500\""),
            "{xml}"
        );
        assert!(xml.contains("time=\"30.250\""), "{xml}");
        assert!(
            xml.contains("tests=\"2\" failures=\"0\" time=\"42.750\""),
            "{xml}"
        );
    }

    #[test]
    fn markdown_lists_each_failure_with_expected_and_actual() {
        let md = markdown(&[failed()]);
        assert!(md.contains("| smoke | **FAIL** |"));
        assert!(md.contains("- `quarantined`: expected 5, got 4"));
        assert!(failed().summary_line().starts_with("FAIL smoke error="));
    }
}
