//! The `Report` every flow's report gives.
//!
//! The [`Report`] every flow's report gives, so that the summary line, the tables, Markdown,
//! JUnit and the HTML page are each written once, for every flow.

use std::any::Any;
use std::fmt::Write as _;

use super::facts::FactRules;
use super::failure::Failure;
use super::record::Verdict;

/// What every report has for being a plain value (`Clone`, `Serialize`): its JSON, a boxed copy,
/// and itself as its own type. Given to every [`Report`] by the impl below; no report writes it.
pub trait ReportObject {
    /// Its JSON, as `report.json` holds it.
    fn to_json(&self) -> serde_json::Value;
    /// A boxed copy.
    fn boxed(&self) -> Box<dyn Report>;
    /// Itself, to be looked at as its own type (`downcast_ref`).
    fn as_any(&self) -> &dyn Any;
}

impl<T: Report + Clone + serde::Serialize> ReportObject for T {
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self)
            .unwrap_or_else(|e| serde_json::json!({ "unserialisable": e.to_string() }))
    }

    fn boxed(&self) -> Box<dyn Report> {
        Box::new(self.clone())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// What every flow's report says, whatever the flow measured; the only way anything outside a
/// flow (the scenario outcome, the reports, parity, the snapshots) reads it.
pub trait Report: ReportObject + std::fmt::Debug + Send + Sync + 'static {
    /// The run's name.
    fn name(&self) -> &str;
    /// Which flow ran: `stream`, `batch`, `price-files`.
    fn flow(&self) -> &'static str;
    /// Its checks, failed and held (the scenario's assertions included).
    fn verdict(&self) -> &Verdict;
    /// The verdict: every check held.
    fn passed(&self) -> bool {
        self.verdict().passed()
    }
    /// Every check that did not hold (the scenario's assertions included).
    fn failures(&self) -> &[Failure] {
        self.verdict().failures()
    }
    /// Every check that held, with what it expected and what the run showed (the HTML page
    /// lists them beside the failures).
    fn held(&self) -> &[Failure] {
        self.verdict().held()
    }
    /// The faults the run fired, in order: what `--faults-from` replays and `shrink` pins.
    fn faults_fired(&self) -> Vec<tickflow_pipeline::chaos::Fired>;
    /// Wall time of the whole run.
    fn elapsed_secs(&self) -> f64;
    /// The `key=value` fields of the summary line, between the name and the elapsed time.
    fn summary_fields(&self) -> Vec<(&'static str, u64)>;
    /// What was sent and what became of it, for the summary table and the Markdown table.
    fn tally(&self) -> Tally;
    /// The report for people, as text.
    fn render_text(&self) -> String;
    /// The flow's own part of the Markdown report (headings at level 3), after the tables.
    fn markdown_details(&self) -> String;
    /// The flow's own section of the HTML page: its tables and plots (headings at level 3),
    /// self-contained, nothing fetched.
    fn html_section(&self) -> String;
    /// The key its JSON goes under in `report.json`, beside `name`, `file` and `error`
    /// (`report` is the stream flow's, where it has always been).
    fn json_key(&self) -> &'static str;
    /// How parity classes the facts of its JSON.
    fn fact_rules(&self) -> FactRules;
    /// What its scenario and seed fix, as the scenario tests snapshot it.
    fn snapshot(&self) -> serde_json::Value;

    /// The one line scripts read: `PASS|FAIL <name> key=value ... elapsed=<s>s`.
    fn summary_line(&self) -> String {
        let mut line = format!("{} {}", verdict(self.passed()), self.name());
        for (key, value) in self.summary_fields() {
            let _ = write!(line, " {key}={value}");
        }
        let _ = write!(line, " elapsed={:.1}s", self.elapsed_secs());
        line
    }
}

/// `PASS` or `FAIL`.
pub fn verdict(passed: bool) -> &'static str {
    if passed {
        "PASS"
    } else {
        "FAIL"
    }
}

/// What a run was given and what became of it, counted in the flow's own unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// What is counted: `events`, `rows`, `files`.
    pub unit: &'static str,
    /// How many were sent (or generated).
    pub sent: u64,
    /// How many arrived where they belong.
    pub found: u64,
    /// How many arrived nowhere.
    pub missing: u64,
    /// How many arrived more than once (or were never sent).
    pub extra: u64,
}
