//! A batch run's report: the verdict, what the table, the output and the log hold against what
//! the generator says they must, the triggers seen, and the timings.

use std::fmt::Write as _;

use serde::Serialize;
use tickflow_pipeline::batch::RunSummary;

use crate::verdict::Failure;

/// What a batch run did and whether it held.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BatchReport {
    /// The pipeline's name.
    pub name: String,
    /// Unique id in every resource name.
    pub run_id: String,
    /// The verdict: no failure.
    pub passed: bool,
    /// Every check that did not hold.
    pub failures: Vec<Failure>,
    /// Company files generated.
    pub companies: u32,
    /// Companies listed to keep.
    pub kept: u32,
    /// Rows the table must hold.
    pub expected_rows: u64,
    /// Rows it holds.
    pub table_rows: u64,
    /// Data rows of the output object.
    pub output_rows: u64,
    /// Rows the run could not read (it says), and how many were made unreadable.
    pub bad_rows: u64,
    /// See `bad_rows`.
    pub expected_bad_rows: u64,
    /// Files the run could not read (it says), and how many were made so.
    pub bad_files: u64,
    /// See `bad_files`.
    pub expected_bad_files: u64,
    /// Rows of the table compared, every column, with what the input says.
    pub rows_checked: u64,
    /// `.SUCCESS` notifications the trigger received.
    pub triggers: u64,
    /// Runs started.
    pub runs_started: u64,
    /// Triggers turned down because the day had its run.
    pub same_day_triggers: u64,
    /// `s3:TestEvent` messages skipped.
    pub test_events: u64,
    /// Run-status subjects delivered.
    pub status_subjects: Vec<String>,
    /// The run's own summary (its log).
    pub run: Option<RunSummary>,
    /// Seconds to upload the input.
    pub upload_secs: f64,
    /// Seconds from the trigger to the run's end.
    pub run_secs: f64,
    /// Seconds for everything.
    pub elapsed_secs: f64,
    /// The harness process's CPU time and peak memory (the run's stages included).
    pub resources: crate::verdict::ResourceUse,
    /// A plain `psql` `COPY` of the same output, measured after the run (only in a PostgreSQL
    /// container tickflow started).
    pub psql_ceiling: Option<crate::flows::batch::ceiling::Ceiling>,
}

impl BatchReport {
    /// `PASS <name> rows=... table=... bad_rows=... bad_files=... runs=... elapsed=...s`.
    pub fn summary_line(&self) -> String {
        format!(
            "{} {} rows={} table={} bad_rows={} bad_files={} runs={} elapsed={:.1}s",
            if self.passed { "PASS" } else { "FAIL" },
            self.name,
            self.expected_rows,
            self.table_rows,
            self.bad_rows,
            self.bad_files,
            self.runs_started,
            self.elapsed_secs
        )
    }

    /// The report as text.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "batch run {} ({})", self.name, self.run_id);
        let _ = writeln!(
            out,
            "  input      {} company files, {} kept; upload {:.1}s",
            self.companies, self.kept, self.upload_secs
        );
        let _ = writeln!(
            out,
            "  table      {} rows (expected {}), output {} rows; every row and column of both compared with the input",
            self.table_rows, self.expected_rows, self.output_rows
        );
        let _ = writeln!(
            out,
            "  bad input  {} rows (made {}), {} files (made {})",
            self.bad_rows, self.expected_bad_rows, self.bad_files, self.expected_bad_files
        );
        let _ = writeln!(
            out,
            "  triggers   {} .SUCCESS, {} run(s) started, {} turned down the same day, {} test events",
            self.triggers, self.runs_started, self.same_day_triggers, self.test_events
        );
        let _ = writeln!(out, "  status     {:?}", self.status_subjects);
        if let Some(run) = &self.run {
            let rate = run.rows_loaded as f64 / run.total_secs.max(1e-9);
            let _ = writeln!(
                out,
                "  timings    run {:.2}s = {:.0} rows/s (reading and transforming {:.2}s, waiting on COPY and the output upload {:.2}s), trigger to end {:.2}s",
                run.total_secs, rate, run.extract_secs, run.load_secs, self.run_secs
            );
            let r = &self.resources;
            let _ = writeln!(
                out,
                "  harness    CPU {:.1}s user + {:.1}s system, peak RSS {:.0} MiB",
                r.cpu_user_secs, r.cpu_system_secs, r.peak_rss_mib
            );
            if let Some(c) = &self.psql_ceiling {
                let run_rate = run.rows_loaded as f64 / run.total_secs.max(1e-9);
                let _ = writeln!(
                    out,
                    "  ceiling    psql COPY of the same {} rows: {:.2}s = {:.0} rows/s; the run (read, transform, COPY) {:.0} rows/s = {:.2}x of it",
                    c.rows, c.secs, c.rows_per_sec(), run_rate, run_rate / c.rows_per_sec().max(1e-9)
                );
            }
            if let Some(reason) = &run.reason {
                let _ = writeln!(out, "  failure    {reason}");
            }
        }
        out
    }
}
