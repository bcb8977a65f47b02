//! A price-file run's report.
//!
//! A price-file run's report: the verdict, what each prefix, the quarantine and the alert topic
//! hold against what the generator says they must, what the steps counted, and the timings
//! beside LocalStack's own PutObject-plus-notification ceiling.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::liveness::Liveness;
use crate::render::html::table;
use crate::render::timeline::{progress_svg, Timeline};
use crate::verdict::fault_rules::FaultsOfRun;
use crate::verdict::history::Summary;
use crate::verdict::{FactClass, FactRules, Measurement, Report, Tally, Verdict};

/// What a price-file run did and whether it held.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PriceFilesReport {
    /// The pipeline's name.
    pub name: String,
    /// Unique id in every resource name.
    pub run_id: String,
    /// Its checks, failed and held (`passed`, `failures`, `held` in its JSON).
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Assets.
    pub assets: usize,
    /// Price files uploaded.
    pub files: u64,
    /// Of those, price records (the rest are malformed).
    pub expected_records: u64,
    /// Malformed files made.
    pub expected_malformed: u64,
    /// Objects under the ingestion prefix.
    pub ingested_objects: u64,
    /// CSV objects under the analysis prefix.
    pub csv_objects: u64,
    /// Objects in the quarantine.
    pub quarantined_objects: u64,
    /// Files found as CSV.
    pub found_as_csv: u64,
    /// Files found quarantined.
    pub found_quarantined: u64,
    /// Files found nowhere.
    pub missing: u64,
    /// Files found more than once (as CSV and quarantined, or twice).
    pub twice: u64,
    /// CSV or quarantine objects that name no uploaded file.
    pub unknown: u64,
    /// CSV rows whose values were compared with the generated record.
    pub values_checked: u64,
    /// Quarantined files by kind, as the quarantine says.
    pub quarantine_kinds: BTreeMap<String, u64>,
    /// Alerts the records call for.
    pub expected_alerts: u64,
    /// Alerts delivered to the subscribed queue.
    pub alerts: u64,
    /// `s3:TestEvent` messages the steps skipped.
    pub test_events: u64,
    /// Times a record waited for its predecessor.
    pub waits: u64,
    /// Records compared across a gap (their predecessor never came).
    pub gaps: u64,
    /// Each asset's first record.
    pub first_records: u64,
    /// Times each step was started again after a crash (a fault schedule's): ETL, analysis.
    pub restarts: [u64; 2],
    /// Messages the steps left behind, by queue.
    pub queues: BTreeMap<String, u64>,
    /// Seconds to upload every file.
    pub upload_secs: f64,
    /// Seconds from the first upload to the last record analysed.
    pub run_secs: f64,
    /// Seconds for everything.
    pub elapsed_secs: f64,
    /// The harness process's CPU time and peak memory (the steps included).
    pub resources: crate::verdict::ResourceUse,
    /// LocalStack's PutObject-plus-notification ceiling, measured before and after the run
    /// when asked.
    pub ceilings: Vec<Measurement>,
    /// What the fault schedule fired, rule by rule, and the calls the steps made (absent
    /// without a schedule).
    #[serde(skip_serializing_if = "FaultsOfRun::is_empty")]
    pub faults: FaultsOfRun,
    /// Its steps' counts over the run, sampled (the report page's progress chart).
    pub timeline: Timeline,
    /// Whether both steps drained, or where they stood still.
    pub liveness: Liveness,
    /// Where each file was seen on its way (absent when a run is judged again afterwards).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Summary>,
}

impl PriceFilesReport {
    /// Files through the pipeline per second (upload to analysis).
    pub fn files_per_sec(&self) -> f64 {
        self.files as f64 / self.run_secs.max(1e-9)
    }

    /// The report as text.
    fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "price-file run {} ({})", self.name, self.run_id);
        let _ = writeln!(
            out,
            "  input       {} files of {} asset(s): {} records, {} malformed; upload {:.1}s",
            self.files,
            self.assets,
            self.expected_records,
            self.expected_malformed,
            self.upload_secs
        );
        let _ = writeln!(
            out,
            "  objects     {} ingested, {} CSV, {} quarantined {:?}",
            self.ingested_objects,
            self.csv_objects,
            self.quarantined_objects,
            self.quarantine_kinds
        );
        let _ = writeln!(
            out,
            "  files       {} as CSV, {} quarantined, {} missing, {} twice, {} unknown; {} CSV rows compared",
            self.found_as_csv, self.found_quarantined, self.missing, self.twice, self.unknown, self.values_checked
        );
        let _ = writeln!(
            out,
            "  analysis    {} alerts (expected {}); {} first records, {} waits for a predecessor, {} gaps; {} test events",
            self.alerts, self.expected_alerts, self.first_records, self.waits, self.gaps, self.test_events
        );
        if self.restarts != [0, 0] {
            let _ = writeln!(
                out,
                "  recovery    ETL restarted {} time(s), analysis {} time(s) after a crash",
                self.restarts[0], self.restarts[1]
            );
        }
        if let Some(history) = &self.history {
            let _ = write!(out, "  history     {}", history.text(14));
        }
        let _ = writeln!(out, "  queues      {:?} left", self.queues);
        let _ = writeln!(out, "  liveness    {}", self.liveness.check().0.actual);
        let _ = writeln!(
            out,
            "  timings     upload to last analysis {:.2}s = {:.0} files/s; everything {:.1}s",
            self.run_secs,
            self.files_per_sec(),
            self.elapsed_secs
        );
        let r = &self.resources;
        let _ = writeln!(out, "  harness     {r}");
        for (when, c) in ["before", "after"].iter().zip(&self.ceilings) {
            let _ = writeln!(
                out,
                "  ceiling     {when} the run, {}: {} objects in {:.2}s = {:.0}/s; the pipeline is at {:.2}x of it",
                c.operation,
                c.items,
                c.seconds,
                c.items_per_sec(),
                self.files_per_sec() / c.items_per_sec().max(1e-9)
            );
        }
        out.push_str(&self.faults.text());
        out
    }
}

/// How parity classes a price-file report's facts.
const FACTS: FactRules = FactRules {
    classes: &[
        ("name", FactClass::Ignored),
        ("run_id", FactClass::Ignored),
        ("resources", FactClass::Ignored),
        ("ceilings", FactClass::Ignored),
        // Retries, and so ratio draws, follow the target's timing.
        ("faults", FactClass::Observed),
        ("upload_secs", FactClass::Timing),
        ("run_secs", FactClass::Timing),
        ("elapsed_secs", FactClass::Timing),
        // Waits for a predecessor follow the order notifications arrive in.
        ("waits", FactClass::Observed),
        ("restarts", FactClass::Observed),
        ("timeline", FactClass::Ignored),
        // The checks that held say what they saw, deliveries counted too.
        ("held", FactClass::Observed),
    ],
    compared_when_both: &[],
};

impl Report for PriceFilesReport {
    fn name(&self) -> &str {
        &self.name
    }

    fn flow(&self) -> &'static str {
        "price-files"
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
            ("files", self.files),
            ("csv", self.csv_objects),
            ("quarantined", self.quarantined_objects),
            ("alerts", self.alerts),
        ]
    }

    /// Files uploaded, found where they belong, found nowhere, found twice.
    fn tally(&self) -> Tally {
        Tally {
            unit: "files",
            sent: self.files,
            found: self.found_as_csv + self.found_quarantined,
            missing: self.missing,
            extra: self.twice + self.unknown,
        }
    }

    fn render_text(&self) -> String {
        self.text()
    }

    fn json_key(&self) -> &'static str {
        "price_files"
    }

    fn fact_rules(&self) -> FactRules {
        FACTS
    }

    /// The files, their CSV and quarantine, the values checked and the alerts the seed decided,
    /// and (with a schedule) what each fault rule fired. First records are counted per handling
    /// by the analysis: a fault that makes a message come back can count one twice, so they are
    /// left out of a faulted run's view.
    fn snapshot(&self) -> serde_json::Value {
        let mut view = serde_json::json!({
            "scenario": self.name,
            "flow": "price-files",
            "files": self.files,
            "csv_objects": self.csv_objects,
            "quarantined": self.quarantine_kinds,
            "values_checked": self.values_checked,
            "alerts": self.alerts,
            "first_records": self.first_records,
        });
        self.faults.snapshot_into(&mut view);
        if !self.faults.is_empty() {
            if let Some(fields) = view.as_object_mut() {
                fields.remove("first_records");
            }
        }
        view
    }

    fn markdown_details(&self) -> String {
        format!(
            "{} files: {} as CSV, {} quarantined, {} missing, {} twice, {} unknown; {} alerts (expected {}); {:.0} files/s\n",
            self.files, self.found_as_csv, self.found_quarantined, self.missing, self.twice,
            self.unknown, self.alerts, self.expected_alerts, self.files_per_sec()
        )
    }

    fn html_section(&self) -> String {
        let history = self
            .history
            .as_ref()
            .map(|h| h.html("Every file's history: files at each stage", &[], &[]));
        let sections: String = [
            ("Files", self.files_table()),
            ("Objects", self.objects_table()),
            ("Analysis", self.analysis_table()),
            ("Timings", self.timings_tables()),
            ("Faults", self.faults.html()),
            (
                "Progress",
                progress_svg(&self.timeline, "files and records", &self.faults.fired),
            ),
        ]
        .iter()
        .filter(|(_, table)| !table.is_empty())
        .map(|(heading, table)| format!("<h3>{heading}</h3>\n{table}"))
        .collect();
        sections + &history.unwrap_or_default()
    }
}

impl PriceFilesReport {
    /// Every file, and where it was found.
    fn files_table(&self) -> String {
        table(
            &[
                "uploaded",
                "records",
                "malformed",
                "as CSV",
                "quarantined",
                "missing",
                "twice",
                "unknown",
                "CSV rows compared",
            ],
            [[
                self.files,
                self.expected_records,
                self.expected_malformed,
                self.found_as_csv,
                self.found_quarantined,
                self.missing,
                self.twice,
                self.unknown,
                self.values_checked,
            ]],
        )
    }

    /// The objects under each prefix, and the quarantine's kinds.
    fn objects_table(&self) -> String {
        let prefixes = [
            ("ingested".to_string(), self.ingested_objects),
            ("CSV".to_string(), self.csv_objects),
            ("quarantine".to_string(), self.quarantined_objects),
        ];
        let kinds = self
            .quarantine_kinds
            .iter()
            .map(|(kind, n)| (format!("quarantined: {kind}"), *n));
        let rows = prefixes
            .into_iter()
            .chain(kinds)
            .map(|(what, n)| [what, n.to_string()]);
        table(&["prefix", "objects"], rows)
    }

    /// The alerts, and how the analysis found each record's predecessor.
    fn analysis_table(&self) -> String {
        table(
            &[
                "alerts",
                "expected",
                "first records",
                "waits for a predecessor",
                "gaps",
                "test events",
            ],
            [[
                self.alerts,
                self.expected_alerts,
                self.first_records,
                self.waits,
                self.gaps,
                self.test_events,
            ]],
        )
    }

    /// The run's rate beside the ceilings measured before and after it, and what it cost.
    fn timings_tables(&self) -> String {
        let run = [
            "the run".to_string(),
            format!("{:.2}", self.run_secs),
            format!("{:.0}", self.files_per_sec()),
            String::new(),
        ];
        let ceilings = ["before", "after"]
            .iter()
            .zip(&self.ceilings)
            .map(|(when, c)| {
                [
                    format!("ceiling {when}: {}", c.operation),
                    format!("{:.2}", c.seconds),
                    format!("{:.0}", c.items_per_sec()),
                    format!("{:.2}x", self.files_per_sec() / c.items_per_sec().max(1e-9)),
                ]
            });
        let rates = std::iter::once(run).chain(ceilings);
        let r = &self.resources;
        let cost = [[
            format!("{:.1}", self.upload_secs),
            format!("{:.1}", self.elapsed_secs),
            format!("{:.1}", r.cpu_user_secs + r.cpu_system_secs),
            format!("{:.0}", r.peak_rss_mib),
        ]];
        table(&["", "seconds", "files/s", "the run against it"], rates)
            + &table(&["upload s", "everything s", "CPU s", "peak RSS MiB"], cost)
    }
}
