//! What the price-file flow reads of a scenario file, and how it judges its `[expect]`.
//!
//! A price-file scenario gives `[price_files]` (what to upload, how fast) and states
//! `[expect.price_files]`; as a [`FlowFile`] it runs the files through S3 notifications, the
//! ETL and the analysis.

use futures_util::future::LocalBoxFuture;
use serde::Deserialize;
use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::chaos::{FaultKind, FaultRule, Stage};

use super::driver::{run, PriceFilesRunConfig};
use super::report::PriceFilesReport;
use super::settings::{PriceFileSettings, MAX_UPLOAD_SECS};
use crate::flows::flow::{FlowFile, Infra, Planned, PlannedFigure, RunOf, Sections, Written};
use crate::verdict::expect::{Count, Reconciled};
use crate::verdict::fault_rules::{FaultSchedule, CALL_FAULTS, DELIVERY_FAULTS};

use crate::verdict::{Checks, FlowReport};

/// A price-file scenario: price files in S3 -> notification -> ETL to CSV -> notification ->
/// analysis -> SNS.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceFilesFile {
    /// `[scenario]`, read by `scenario` (named here so that any other key is refused).
    #[serde(default, rename = "scenario")]
    #[schemars(skip)]
    pub meta: serde::de::IgnoredAny,
    /// What to upload and how fast (defaults when not given).
    pub price_files: Option<PriceFileSettings>,
    /// Faults on the steps' AWS calls (the harness's own uploads and read-back are not
    /// faulted).
    #[serde(default)]
    pub faults: FaultSchedule,
    /// What must hold afterwards.
    #[serde(default)]
    pub expect: PriceFilesExpect,
}

/// A price-file scenario's `[expect]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceFilesExpect {
    /// The reconciliation holds (always: `false` is refused).
    #[serde(default)]
    pub reconciliation: Reconciled,
    /// The run's figures.
    #[serde(default)]
    pub price_files: PriceFilesCounts,
}

/// `[expect.price_files]`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceFilesCounts {
    /// Alerts delivered.
    pub alerts: Option<Count>,
    /// CSV objects under the analysis prefix.
    pub csv_rows: Option<Count>,
    /// Files in the quarantine.
    pub quarantined: Option<Count>,
}

impl Sections for PriceFilesFile {
    const FLOW: &'static str = "price-files";
}

impl PriceFilesExpect {
    /// Every assertion on a price-file run's `report`, held or not.
    pub fn judge(&self, report: &PriceFilesReport) -> Checks {
        let mut checks = Checks::default();
        let p = &self.price_files;
        checks.count("price_files.alerts", &p.alerts, report.alerts);
        checks.count("price_files.csv_rows", &p.csv_rows, report.csv_objects);
        checks.count(
            "price_files.quarantined",
            &p.quarantined,
            report.quarantined_objects,
        );
        checks
    }
}

impl FlowFile for PriceFilesFile {
    fn check(&self, _: &Written) -> Vec<(String, String)> {
        let mut problems = self
            .price_files
            .as_ref()
            .map(PriceFileSettings::check)
            .unwrap_or_default();
        problems.extend(
            self.faults
                .check("price-files", &kinds(), &Stage::PRICE_FILES, &calls()),
        );
        let liveness = self.price_files.as_ref().and_then(|p| p.liveness_secs);
        let delay = super::liveness::longest_delay_secs(&self.faults.schedule);
        if liveness.is_some_and(|secs| f64::from(secs) <= delay) {
            problems.push((
                "price_files.liveness_secs".into(),
                format!("must exceed the longest delay fault ({delay} s): the steps wait that long without being stuck"),
            ));
        }
        problems
    }

    fn services(&self) -> Vec<tickflow_pipeline::chaos::Service> {
        super::topology::SERVICES.to_vec()
    }

    fn fault_schedule(&self) -> &[FaultRule] {
        &self.faults.schedule
    }

    fn replay_faults(&mut self, schedule: Vec<FaultRule>) -> Vec<(String, String)> {
        self.faults.replace(
            schedule,
            "price-files",
            &kinds(),
            &Stage::PRICE_FILES,
            &calls(),
        )
    }

    /// A paced upload takes at most [`MAX_UPLOAD_SECS`].
    fn planned(&self) -> Planned {
        let upload = self.price_files.as_ref().and_then(|p| {
            let files = p.total_files();
            p.rate.map(|rate| files.saturating_sub(1) as f64 / rate)
        });
        Planned {
            figures: upload
                .map(|secs| PlannedFigure {
                    what: "upload_secs",
                    value: secs,
                    cap: MAX_UPLOAD_SECS,
                })
                .into_iter()
                .collect(),
        }
    }

    fn run<'a>(
        &'a self,
        of: RunOf<'a>,
        clients: &'a Clients,
        _: Infra<'a>,
    ) -> LocalBoxFuture<'a, Result<FlowReport, String>> {
        Box::pin(async move {
            let config = PriceFilesRunConfig {
                name: of.name.to_string(),
                seed: of.seed,
                measure_ceiling: of.heavy,
                settings: self.price_files.clone().unwrap_or_default(),
                faults: self.faults.schedule.clone(),
            };
            let mut report = run(clients, &config).await.map_err(|e| e.to_string())?;
            report.verdict.add_checks(self.expect.judge(&report));
            Ok(report.into())
        })
    }
}

/// The fault kinds the price-file flow takes: call faults on its steps' calls, crashes of its
/// steps (or a step wedged for good: `stall`), and their messages delivered again or late.
fn kinds() -> Vec<FaultKind> {
    [
        CALL_FAULTS,
        &[FaultKind::Crash, FaultKind::Stall],
        DELIVERY_FAULTS,
    ]
    .concat()
}

/// The calls the price-file steps make: what a fault rule may name.
fn calls() -> Vec<tickflow_pipeline::chaos::Call> {
    [
        tickflow_pipeline::esm::CALLS,
        tickflow_pipeline::price_files::CALLS,
    ]
    .concat()
}
