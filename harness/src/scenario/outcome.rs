//! What running one scenario came to: its flow's report (one [`FlowReport`], whichever the flow),
//! or the error that stopped the run.

use serde::ser::SerializeMap as _;
use serde::Serialize;

use crate::flows::batch::BatchReport;
use crate::flows::price_files::PriceFilesReport;
use crate::flows::stream::report::StreamReport;
use crate::verdict::{Failure, Report};

/// One flow's report: every consumer reads it through [`Report`], and only a flow's own view
/// (the snapshots, the CLI's `--json`) looks inside.
#[derive(Debug, Clone)]
pub enum FlowReport {
    /// A stream run's report.
    Stream(Box<StreamReport>),
    /// A batch run's report.
    Batch(Box<BatchReport>),
    /// A price-file run's report.
    PriceFiles(Box<PriceFilesReport>),
}

impl FlowReport {
    /// The report, as every flow's report reads.
    pub fn report(&self) -> &dyn Report {
        match self {
            Self::Stream(r) => r.as_ref(),
            Self::Batch(r) => r.as_ref(),
            Self::PriceFiles(r) => r.as_ref(),
        }
    }
}

impl From<StreamReport> for FlowReport {
    fn from(r: StreamReport) -> Self {
        Self::Stream(Box::new(r))
    }
}

impl From<BatchReport> for FlowReport {
    fn from(r: BatchReport) -> Self {
        Self::Batch(Box::new(r))
    }
}

impl From<PriceFilesReport> for FlowReport {
    fn from(r: PriceFilesReport) -> Self {
        Self::PriceFiles(Box::new(r))
    }
}

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

    /// A stream run's report.
    pub fn stream(&self) -> Option<&StreamReport> {
        match &self.report {
            Some(FlowReport::Stream(r)) => Some(r),
            _ => None,
        }
    }

    /// A batch run's report.
    pub fn batch(&self) -> Option<&BatchReport> {
        match &self.report {
            Some(FlowReport::Batch(r)) => Some(r),
            _ => None,
        }
    }

    /// A price-file run's report.
    pub fn price_files(&self) -> Option<&PriceFilesReport> {
        match &self.report {
            Some(FlowReport::PriceFiles(r)) => Some(r),
            _ => None,
        }
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

/// The JSON every report has had: `name`, `file`, `report` (a stream run's, else `null`), the
/// batch or price-file run's report under `batch` or `price_files`, `error` and `failures`.
impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry("file", &self.file)?;
        match &self.report {
            Some(FlowReport::Stream(r)) => map.serialize_entry("report", r)?,
            _ => map.serialize_entry("report", &None::<()>)?,
        }
        match &self.report {
            Some(FlowReport::Batch(r)) => map.serialize_entry("batch", r)?,
            Some(FlowReport::PriceFiles(r)) => map.serialize_entry("price_files", r)?,
            _ => {}
        }
        map.serialize_entry("error", &self.error)?;
        map.serialize_entry("failures", self.failures())?;
        map.end()
    }
}
