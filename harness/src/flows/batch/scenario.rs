//! What the batch flow reads of a scenario file, and how it judges its `[expect]`.
//!
//! A batch scenario generates its company files (`[batch]`) or replays a directory of them
//! (`[replay]`), and states `[expect.batch]` and the run-status subject; as a
//! [`FlowFile`] it runs the batch job into the PostgreSQL the run was given.

use std::collections::BTreeMap;

use futures_util::future::LocalBoxFuture;
use serde::Deserialize;
use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::chaos::{FaultKind, FaultRule, Stage};

use super::driver::{run, BatchInput, BatchRunConfig};
use super::generate::BatchSettings;
use super::report::BatchReport;
use crate::flows::flow::{FlowFile, Infra, RunOf, Sections, Written};
use crate::infra::postgres;
use crate::verdict::alarms::{AlarmExpect, AlarmSpec, Alarms};
use crate::verdict::expect::{glob_problem, Count, Reconciled};
use crate::verdict::fault_rules::{FaultSchedule, CALL_FAULTS, DATABASE_FAULTS};
use tickflow_pipeline::batch;

use crate::verdict::{Checks, FlowReport};

/// A batch scenario: company CSV files in S3 -> one PostgreSQL table, started by `.SUCCESS`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchFile {
    /// `[scenario]`, read by `scenario` (named here so that any other key is refused).
    #[serde(default, rename = "scenario")]
    #[schemars(skip)]
    pub meta: serde::de::IgnoredAny,
    /// The company files to generate (defaults when neither this nor `[replay]` is given).
    pub batch: Option<BatchSettings>,
    /// A directory of company files to load instead of generating.
    pub replay: Option<BatchReplay>,
    /// Faults on the batch stages' AWS calls (the harness's own uploads and read-back are not
    /// faulted).
    #[serde(default)]
    pub faults: FaultSchedule,
    /// CloudWatch metric alarms on the job's, the trigger's and its queue's metrics,
    /// provisioned with the run; with any, the stages publish their metrics.
    #[serde(default)]
    pub alarms: Vec<AlarmSpec>,
    /// What must hold afterwards.
    #[serde(default)]
    pub expect: BatchExpect,
}

/// `[replay]` of a batch scenario.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchReplay {
    /// A directory of company files, relative to the scenario.
    pub source: String,
}

/// A batch scenario's `[expect]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchExpect {
    /// The reconciliation holds (always: `false` is refused).
    #[serde(default)]
    pub reconciliation: Reconciled,
    /// The table's figures.
    #[serde(default)]
    pub batch: BatchCounts,
    /// The run status announced.
    #[serde(default)]
    pub sns: BatchSnsExpect,
    /// What each alarm of `[[alarms]]` must do, by its name; an alarm not named here must never
    /// reach ALARM.
    #[serde(default)]
    pub alarms: BTreeMap<String, AlarmExpect>,
}

/// `[expect.batch]`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchCounts {
    /// Rows in the table after the run.
    pub table_rows: Option<Count>,
    /// Rows the run reports it could not read.
    pub bad_rows: Option<Count>,
    /// Files the run reports it could not read.
    pub bad_files: Option<Count>,
}

/// `[expect.sns]` of a batch scenario.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchSnsExpect {
    /// Glob every run-status subject must match, e.g. `*_Pipeline_Success`.
    pub run_status_subject: Option<String>,
}

impl Sections for BatchFile {
    const FLOW: &'static str = "batch";
}

impl BatchExpect {
    /// Every assertion on a batch run's `report`, held or not.
    pub fn judge(&self, report: &BatchReport) -> Checks {
        let mut checks = Checks::default();
        let b = &self.batch;
        checks.count("batch.table_rows", &b.table_rows, report.table_rows);
        checks.count("batch.bad_rows", &b.bad_rows, report.bad_rows);
        checks.count("batch.bad_files", &b.bad_files, report.bad_files);
        checks.subjects(
            "sns.run_status_subject",
            &self.sns.run_status_subject,
            &report.status_subjects,
        );
        checks
    }
}

impl BatchFile {
    /// Where the company files come from: a `[replay]` directory (relative to `dir`), else
    /// `[batch]` (or its defaults).
    pub fn input(&self, dir: &std::path::Path) -> BatchInput {
        match &self.replay {
            Some(replay) => BatchInput::Replay(dir.join(&replay.source)),
            None => BatchInput::Generate(self.batch.clone().unwrap_or_default()),
        }
    }
}

impl FlowFile for BatchFile {
    fn check(&self, _: &Written) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        match (&self.batch, &self.replay) {
            (Some(_), Some(_)) => problems.push((
                "replay".into(),
                "a batch scenario generates its files ([batch]) or replays a directory \
                 ([replay]), not both"
                    .into(),
            )),
            (Some(batch), None) => problems.extend(batch.check()),
            (None, _) => {}
        }
        problems.extend(
            self.faults
                .check("batch", &kinds(), &Stage::BATCH, &calls()),
        );
        if let Some(subject) = &self.expect.sns.run_status_subject {
            problems.extend(glob_problem("expect.sns.run_status_subject", subject));
        }
        let alarms = Alarms::new(&self.alarms, &self.expect.alarms);
        problems.extend(alarms.check(super::alarms::ROLES, self.faults.schedule.len()));
        problems
    }

    fn services(&self) -> Vec<tickflow_pipeline::chaos::Service> {
        super::topology::SERVICES.to_vec()
    }

    fn pauses_postgres(&self) -> bool {
        self.faults
            .schedule
            .iter()
            .any(|r| r.kind == FaultKind::DbPause)
    }

    fn fault_schedule(&self) -> &[FaultRule] {
        &self.faults.schedule
    }

    fn replay_faults(&mut self, schedule: Vec<FaultRule>) -> Vec<(String, String)> {
        self.faults
            .replace(schedule, "batch", &kinds(), &Stage::BATCH, &calls())
    }

    /// The batch job loads into PostgreSQL.
    fn needs_postgres(&self) -> bool {
        true
    }

    fn run<'a>(
        &'a self,
        of: RunOf<'a>,
        clients: &'a Clients,
        infra: Infra<'a>,
    ) -> LocalBoxFuture<'a, Result<FlowReport, String>> {
        Box::pin(async move {
            let database =
                postgres::required(infra.postgres, "the batch flow loads into PostgreSQL")
                    .map_err(|e| e.to_string())?;
            let config = BatchRunConfig {
                name: of.name.to_string(),
                seed: of.seed,
                input: self.input(of.dir),
                postgres_container: infra.postgres_container.map(str::to_string),
                faults: self.faults.schedule.clone(),
                load_attempts: tickflow_pipeline::batch::LOAD_ATTEMPTS,
                trigger_resumes: true,
                liveness_secs: None,
                alarms: Alarms::new(&self.alarms, &self.expect.alarms),
            };
            let mut report = run(clients, database, &config)
                .await
                .map_err(|e| e.to_string())?;
            report.verdict.add_checks(self.expect.judge(&report));
            Ok(report.into())
        })
    }
}

/// The fault kinds the batch flow takes: call faults on its stages' calls, crashes of its
/// stages, and PostgreSQL's.
fn kinds() -> Vec<FaultKind> {
    [
        CALL_FAULTS,
        &[FaultKind::Crash, FaultKind::Stall],
        DATABASE_FAULTS,
    ]
    .concat()
}

/// The calls the batch stages make: what a fault rule may name.
fn calls() -> Vec<tickflow_pipeline::chaos::Call> {
    [tickflow_pipeline::esm::CALLS, batch::CALLS].concat()
}
