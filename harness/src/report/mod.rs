//! The reports of a set of scenario outcomes.
//!
//! The reports written for a set of scenario outcomes, each written once over every flow's
//! [`Report`](crate::verdict::Report): JSON for machines, the summary table and Markdown for
//! people, JUnit XML for CI, and a self-contained HTML page.

pub mod html;
pub mod junit;
pub mod markdown;
pub mod table;

use std::path::Path;

use crate::error::{Error, Result};
use crate::scenario::Outcome;

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
    std::fs::write(dir.join("report.md"), markdown::markdown(outcomes)).map_err(io)?;
    std::fs::write(dir.join("junit.xml"), junit::junit(outcomes)).map_err(io)?;
    let page = html::page("tickflow scenario report", outcomes);
    std::fs::write(dir.join("report.html"), page).map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::batch::BatchReport;
    use crate::flows::price_files::PriceFilesReport;
    use crate::verdict::{Checks, Failure};

    fn failed() -> Outcome {
        Outcome {
            name: "smoke".into(),
            file: "scenarios/smoke.toml".into(),
            report: None,
            error: Some("LocalStack <down> & \"gone\"".into()),
        }
    }

    fn batch(passed: bool) -> Outcome {
        let failures = if passed {
            Vec::new()
        } else {
            vec![Failure::new("batch.table_rows", "5", "4")]
        };
        Outcome {
            name: "b".into(),
            error: None,
            report: Some(
                BatchReport {
                    name: "b".into(),
                    verdict: Checks {
                        failed: failures,
                        held: Vec::new(),
                    }
                    .into(),
                    expected_rows: 5,
                    table_rows: 4,
                    elapsed_secs: 12.5,
                    ..Default::default()
                }
                .into(),
            ),
            ..failed()
        }
    }

    fn prices() -> Outcome {
        Outcome {
            name: "p".into(),
            error: None,
            report: Some(
                PriceFilesReport {
                    name: "p".into(),
                    files: 7,
                    found_as_csv: 7,
                    elapsed_secs: 30.25,
                    ..Default::default()
                }
                .into(),
            ),
            ..failed()
        }
    }

    #[test]
    fn junit_escapes_and_counts_failures() {
        let xml = junit::junit(&[failed()]);
        assert!(xml.contains("tests=\"1\" failures=\"1\""));
        assert!(xml.contains("<failure message=\"run error: LocalStack &lt;down&gt;"));
        assert!(xml.contains("LocalStack &lt;down&gt; &amp; &quot;gone&quot;"));
        assert!(!xml.contains("<down>"));
    }

    #[test]
    fn junit_times_are_real_for_every_flow() {
        let xml = junit::junit(&[batch(true), prices()]);
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
    fn a_flow_report_that_failed_fails_its_outcome_everywhere() {
        let o = batch(false);
        assert!(!o.passed());
        assert!(
            o.summary_line().starts_with("FAIL b rows=5 table=4 "),
            "{}",
            o.summary_line()
        );
        let md = markdown::markdown(std::slice::from_ref(&o));
        assert!(
            md.contains("| b | batch | **FAIL** | 5 rows | 4 | 1 | 0 | 12.5 s |"),
            "{md}"
        );
        assert!(
            md.contains("- `batch.table_rows`: expected 5, got 4"),
            "{md}"
        );
        let table = table::summary_table(std::slice::from_ref(&o));
        assert!(table.contains("FAIL"), "{table}");
        let xml = junit::junit(&[o]);
        assert!(xml.contains("failures=\"1\""), "{xml}");
    }

    #[test]
    fn markdown_lists_each_failure_with_expected_and_actual() {
        let md = markdown::markdown(&[failed()]);
        assert!(md.contains("| smoke | | **FAIL** |"), "{md}");
        assert!(md.contains("- run error: LocalStack"));
        assert!(failed().summary_line().starts_with("FAIL smoke error="));
    }

    /// The sections of a page, each with the number of data cells its tables hold.
    fn sections(page: &str) -> Vec<(String, usize)> {
        page.split("<section class=\"run\" data-flow=\"")
            .skip(1)
            .map(|s| {
                let flow = s.split('"').next().unwrap_or_default().to_string();
                let body = s.split("</section>").next().unwrap_or_default();
                (flow, body.matches("<td>").count())
            })
            .collect()
    }

    #[test]
    fn the_page_has_a_filled_section_for_every_flow_and_says_what_failed() {
        let page = html::page("t", &[batch(false), prices(), failed()]);
        let found = sections(&page);
        assert_eq!(found.len(), 3, "{page}");
        assert_eq!(found[0].0, "batch");
        assert!(found[0].1 >= 20, "the batch section's tables: {page}");
        assert_eq!(found[1].0, "price-files");
        assert!(found[1].1 >= 20, "the price-file section's tables: {page}");
        assert!(page.contains("<td>batch.table_rows</td><td>5</td><td>4</td>"));
        assert!(page.contains("<h3>Failed checks (1)</h3>"), "{page}");
        assert!(
            page.contains("<h3>Every check: 1 failed, 0 held</h3>"),
            "{page}"
        );
        assert!(page.contains("run error: LocalStack &lt;down&gt;"));
        assert_eq!(found[2], ("none".to_string(), 0));
    }

    fn stream(held: Vec<Failure>, failures: Vec<Failure>) -> Outcome {
        use crate::flows::stream::judge::invariants::Judgement;
        use crate::flows::stream::progress::Sample;
        use crate::flows::stream::report::StreamReport;
        let sample = |at_ms, n| Sample {
            at_ms,
            kinesis: n,
            sqs: n,
            s3: n,
        };
        let report = StreamReport {
            name: "s".into(),
            run_id: "r".into(),
            judged: Judgement {
                verdict: Checks {
                    failed: failures,
                    held,
                }
                .into(),
                latency_histogram: vec![crate::verdict::latency::Bucket { le_ms: 5, count: 2 }],
                ..Judgement::default()
            },
            timeline: vec![sample(1_000, 1), sample(2_000, 2)],
            elapsed_secs: 2.0,
            ..StreamReport::default()
        };
        Outcome {
            name: "s".into(),
            file: "s.toml".into(),
            report: Some(report.into()),
            error: None,
        }
    }

    #[test]
    fn a_stream_section_has_its_charts_and_lists_every_check() {
        let held = vec![Failure::new("found", "10000", "10000")];
        let page = html::page("t", &[stream(held.clone(), Vec::new())]);
        assert_eq!(page.matches("<svg class=\"chart\"").count(), 3, "{page}");
        assert!(
            page.contains("<h3>Every check: 0 failed, 1 held</h3>"),
            "{page}"
        );
        assert!(page.contains("<td>held</td><td>found</td><td>10000</td><td>10000</td>"));
        assert!(!page.contains("Failed checks"));
        let failed = vec![Failure::new("reconciliation.missing", "0", "3")];
        let page = html::page("t", &[stream(held, failed)]);
        assert!(page.contains("<h3>Failed checks (1)</h3>"), "{page}");
        assert!(page.contains(
            "<td class=\"failed\">FAILED</td><td>reconciliation.missing</td><td>0</td><td>3</td>"
        ));
        assert!(page.contains("<h3>Every check: 1 failed, 1 held</h3>"));
    }

    #[test]
    fn the_json_keeps_its_keys_for_every_flow() {
        let json = serde_json::to_value([batch(true), prices(), failed()]).unwrap();
        assert!(json[0]["report"].is_null() && json[0]["batch"]["expected_rows"] == 5);
        assert!(json[1]["report"].is_null() && json[1]["price_files"]["files"] == 7);
        assert!(json[2]["report"].is_null() && json[2]["error"].is_string());
        assert_eq!(json[0]["failures"], serde_json::json!([]));
    }
}
