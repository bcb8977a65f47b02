//! A batch run's report.
//!
//! A batch run's report: the verdict, what the table, the output and the log hold against what
//! the generator says they must, the triggers seen, and the timings.

use std::fmt::Write as _;

use serde::Serialize;
use tickflow_pipeline::batch::RunSummary;

use super::liveness::Liveness;
use crate::render::html::table;
use crate::render::timeline::{progress_svg, Timeline};
use crate::verdict::alarms::AlarmsReport;
use crate::verdict::fault_rules::FaultsOfRun;
use crate::verdict::history::Summary;
use crate::verdict::{FactClass, FactRules, Report, Tally, Verdict};

/// What a batch run did and whether it held.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BatchReport {
    /// The pipeline's name.
    pub name: String,
    /// Unique id in every resource name.
    pub run_id: String,
    /// Its checks, failed and held (`passed`, `failures`, `held` in its JSON).
    #[serde(flatten)]
    pub verdict: Verdict,
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
    /// Times the trigger was started again after a crash (a fault schedule's).
    pub trigger_restarts: u64,
    /// Deliveries of a trigger whose run had not finished (a crash), that ran the day again.
    pub resumed_runs: u64,
    /// `s3:TestEvent` messages skipped.
    pub test_events: u64,
    /// Every `.SUCCESS` notification the trigger received, with what it did.
    pub receipts: Vec<tickflow_pipeline::batch::Receipt>,
    /// Messages left on the trigger queue after the drain.
    pub trigger_queue_left: u64,
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
    /// What the fault schedule fired, rule by rule, and the calls the stages made (absent
    /// without a schedule).
    #[serde(skip_serializing_if = "FaultsOfRun::is_empty")]
    pub faults: FaultsOfRun,
    /// Its steps' counts over the run, sampled (the report page's progress chart).
    pub timeline: Timeline,
    /// Whether the run finished, or where it stood still.
    pub liveness: Liveness,
    /// Each company file's rows, stage by stage (absent for a run that must fail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Summary>,
    /// What the scenario's alarms did, when it has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarms: Option<AlarmsReport>,
}

impl BatchReport {
    /// The report as text.
    fn text(&self) -> String {
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
        if let Some(history) = &self.history {
            let _ = write!(out, "  history    {}", history.text(13));
        }
        let _ = writeln!(out, "  liveness   {}", self.liveness.check().0.actual);
        if let Some(alarms) = &self.alarms {
            let _ = write!(out, "  alarms\n{}", alarms.text("    "));
        }
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
        let load_retries = self.run.as_ref().map_or(0, |r| r.load_retries);
        if load_retries + u32::from(self.trigger_restarts > 0) + u32::from(self.resumed_runs > 0)
            > 0
        {
            let _ = writeln!(
                out,
                "  recovery   {} trigger restart(s) after a crash, {} run(s) resumed from a trigger \
                 delivered again, {load_retries} load(s) again after the database connection was lost",
                self.trigger_restarts, self.resumed_runs
            );
        }
        if let Some(run) = &self.run {
            let rate = self.rows_per_sec().unwrap_or_default();
            let _ = writeln!(
                out,
                "  timings    run {:.2}s = {:.0} rows/s (reading and transforming {:.2}s, waiting on COPY and the output upload {:.2}s), trigger to end {:.2}s",
                run.total_secs, rate, run.extract_secs, run.load_secs, self.run_secs
            );
            let r = &self.resources;
            let _ = writeln!(out, "  harness    {r}");
            if let Some(c) = &self.psql_ceiling {
                let _ = writeln!(
                    out,
                    "  ceiling    psql COPY of the same {} rows: {:.2}s = {:.0} rows/s; the run (read, transform, COPY) {:.0} rows/s = {:.2}x of it",
                    c.rows, c.secs, c.rows_per_sec(), rate, rate / c.rows_per_sec().max(1e-9)
                );
            }
            if let Some(reason) = &run.reason {
                let _ = writeln!(out, "  failure    {reason}");
            }
        }
        out.push_str(&self.faults.text());
        out
    }
}

/// How parity classes a batch report's facts: everything is the seed's but ids, the ceiling,
/// the timings, the run's own log and what the held checks saw.
const FACTS: FactRules = FactRules {
    classes: &[
        ("name", FactClass::Ignored),
        ("run_id", FactClass::Ignored),
        ("resources", FactClass::Ignored),
        ("psql_ceiling", FactClass::Ignored),
        // Retries, and so ratio draws, follow the target's timing.
        ("faults", FactClass::Observed),
        // Restarts and resumed runs follow the crashes the schedule fired, and their timing.
        ("trigger_restarts", FactClass::Observed),
        ("resumed_runs", FactClass::Observed),
        ("timeline", FactClass::Ignored),
        ("upload_secs", FactClass::Timing),
        ("run_secs", FactClass::Timing),
        ("elapsed_secs", FactClass::Timing),
        ("run", FactClass::Observed),
        ("held", FactClass::Observed),
        // When an alarm's evaluation falls is the target's clock.
        ("alarms", FactClass::Observed),
    ],
    compared_when_both: &[],
};

impl BatchReport {
    /// Rows per second of the run itself (read, transform, COPY), when it ran.
    fn rows_per_sec(&self) -> Option<f64> {
        self.run
            .as_ref()
            .map(|run| run.rows_loaded as f64 / run.total_secs.max(1e-9))
    }
}

impl Report for BatchReport {
    fn name(&self) -> &str {
        &self.name
    }

    fn flow(&self) -> &'static str {
        "batch"
    }

    fn verdict(&self) -> &Verdict {
        &self.verdict
    }

    fn faults_fired(&self) -> Vec<tickflow_pipeline::chaos::Fired> {
        self.faults.fired.clone()
    }

    fn elapsed_secs(&self) -> f64 {
        self.elapsed_secs
    }

    fn summary_fields(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("rows", self.expected_rows),
            ("table", self.table_rows),
            ("bad_rows", self.bad_rows),
            ("bad_files", self.bad_files),
            ("runs", self.runs_started),
        ]
    }

    /// Rows expected, and rows missing from (or extra in) the table.
    fn tally(&self) -> Tally {
        Tally {
            unit: "rows",
            sent: self.expected_rows,
            found: self.table_rows.min(self.expected_rows),
            missing: self.expected_rows.saturating_sub(self.table_rows),
            extra: self.table_rows.saturating_sub(self.expected_rows),
        }
    }

    fn render_text(&self) -> String {
        self.text()
    }

    fn json_key(&self) -> &'static str {
        "batch"
    }

    fn fact_rules(&self) -> FactRules {
        FACTS
    }

    /// The companies, rows and runs the seed decided, the run status it announced, and (with a
    /// schedule) what each fault rule fired.
    fn snapshot(&self) -> serde_json::Value {
        let mut view = serde_json::json!({
            "scenario": self.name,
            "flow": "batch",
            "companies": self.companies,
            "kept": self.kept,
            "table_rows": self.table_rows,
            "output_rows": self.output_rows,
            "bad_rows": self.bad_rows,
            "bad_files": self.bad_files,
            "rows_checked": self.rows_checked,
            "runs_started": self.runs_started,
            "run_status_subjects": self.status_subjects,
        });
        self.faults.snapshot_into(&mut view);
        if let Some(alarms) = &self.alarms {
            view["alarms_fired"] = alarms.fired();
        }
        view
    }

    fn markdown_details(&self) -> String {
        format!(
            "{} rows in the table (expected {}), {} in the output; {} bad rows (made {}), {} bad files (made {}); {} run(s) from {} trigger(s), {} turned down the same day\n",
            self.table_rows, self.expected_rows, self.output_rows, self.bad_rows,
            self.expected_bad_rows, self.bad_files, self.expected_bad_files,
            self.runs_started, self.triggers, self.same_day_triggers
        )
    }

    fn html_section(&self) -> String {
        let history = self.history.as_ref().map(|h| {
            h.html(
                "Every row's history: each company file's rows at each stage",
                &[],
                &[],
            )
        });
        let sections: String = [
            ("Rows", self.rows_table()),
            ("Triggers", self.triggers_table()),
            ("Timings", self.timings_table()),
            ("Faults", self.faults.html()),
            (
                "Progress",
                progress_svg(&self.timeline, "files and runs", &self.faults.fired),
            ),
        ]
        .iter()
        .filter(|(_, table)| !table.is_empty())
        .map(|(heading, table)| format!("<h3>{heading}</h3>\n{table}"))
        .collect();
        let alarms = self.alarms.as_ref().map(AlarmsReport::html);
        sections + &history.unwrap_or_default() + &alarms.unwrap_or_default()
    }
}

impl BatchReport {
    /// What the table and the output hold, and the bad input, against what they must.
    fn rows_table(&self) -> String {
        let rows = [
            ("table rows", self.expected_rows, self.table_rows),
            ("output rows", self.expected_rows, self.output_rows),
            ("bad rows", self.expected_bad_rows, self.bad_rows),
            ("bad files", self.expected_bad_files, self.bad_files),
            (
                "rows compared, every column",
                self.expected_rows,
                self.rows_checked,
            ),
        ];
        let rows = rows
            .iter()
            .map(|(what, want, got)| [what.to_string(), want.to_string(), got.to_string()]);
        table(&["", "expected", "found"], rows)
    }

    /// The triggers seen, the runs they started, and the run status announced.
    fn triggers_table(&self) -> String {
        table(
            &[
                ".SUCCESS seen",
                "runs started",
                "same-day turned down",
                "test events",
                "run status",
            ],
            [[
                self.triggers.to_string(),
                self.runs_started.to_string(),
                self.same_day_triggers.to_string(),
                self.test_events.to_string(),
                self.status_subjects.join(" "),
            ]],
        )
    }

    /// How long it took, beside a plain `psql` `COPY`, and what it cost.
    fn timings_table(&self) -> String {
        let r = &self.resources;
        let ceiling = self
            .psql_ceiling
            .as_ref()
            .map_or("not measured".to_string(), |c| {
                format!("{:.0} rows/s", c.rows_per_sec())
            });
        table(
            &[
                "upload s",
                "trigger to end s",
                "rows/s",
                "psql COPY ceiling",
                "CPU s",
                "peak RSS MiB",
            ],
            [[
                format!("{:.1}", self.upload_secs),
                format!("{:.2}", self.run_secs),
                self.rows_per_sec()
                    .map_or("-".to_string(), |r| format!("{r:.0}")),
                ceiling,
                format!("{:.1}", r.cpu_user_secs + r.cpu_system_secs),
                format!("{:.0}", r.peak_rss_mib),
            ]],
        )
    }
}
