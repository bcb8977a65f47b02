//! What running one scenario came to.
//!
//! What running one scenario came to: its flow's report (one [`FlowReport`], whichever the flow),
//! or the error that stopped the run.

use serde::ser::SerializeMap as _;
use serde::Serialize;

pub use crate::verdict::FlowReport;
use crate::verdict::{Failure, Report};

/// What running one scenario came to.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Scenario name.
    pub name: String,
    /// Its file.
    pub file: String,
    /// The flow's report; `None` when the run itself failed.
    pub report: Option<FlowReport>,
    /// Why the run failed, when it did.
    pub error: Option<String>,
}

impl Outcome {
    /// The report every flow's report gives, when the run completed.
    pub fn report(&self) -> Option<&dyn Report> {
        self.report.as_ref().map(FlowReport::report)
    }

    /// The report as its own type `R`, when the run completed with one.
    pub fn report_of<R: Report>(&self) -> Option<&R> {
        self.report.as_ref().and_then(FlowReport::get)
    }

    /// Every check that did not hold (the scenario's assertions included).
    pub fn failures(&self) -> &[Failure] {
        self.report().map_or(&[], |r| r.failures())
    }

    /// Wall time of the run, whichever flow ran it (0 when it did not complete).
    pub fn elapsed_secs(&self) -> f64 {
        self.report().map_or(0.0, |r| r.elapsed_secs())
    }

    /// Whether the scenario passed: the run completed and every check held.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.report().is_some_and(|r| r.passed())
    }

    /// The one-line summary scripts read (`PASS|FAIL <name> key=value ... elapsed=...s`).
    pub fn summary_line(&self) -> String {
        match (self.report(), &self.error) {
            (Some(report), None) => report.summary_line(),
            _ => format!(
                "FAIL {} error={:?}",
                self.name,
                self.error.as_deref().unwrap_or("")
            ),
        }
    }
}

/// The JSON every report has had: `name`, `file`, `report` (a stream run's, else `null`), any
/// other flow's report under its own key ([`Report::json_key`]), `error` and `failures`.
impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// Where a stream run's report has always gone, and `null` for any other flow's.
        const REPORT: &str = "report";
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry("file", &self.file)?;
        let report = self.report();
        match report {
            Some(r) if r.json_key() == REPORT => map.serialize_entry(REPORT, &r.to_json())?,
            _ => map.serialize_entry(REPORT, &None::<()>)?,
        }
        if let Some(r) = report.filter(|r| r.json_key() != REPORT) {
            map.serialize_entry(r.json_key(), &r.to_json())?;
        }
        map.serialize_entry("error", &self.error)?;
        map.serialize_entry("failures", self.failures())?;
        map.end()
    }
}
