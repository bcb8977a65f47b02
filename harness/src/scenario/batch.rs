//! The batch flow's adapter.
//!
//! The batch flow's adapter: a scenario's company files (generated or replayed) loaded into the
//! PostgreSQL the run was given, its `[expect.batch]` folded into the report.

use tickflow_pipeline::aws::Clients;

use super::expect;
use super::flow::{Flow, Infra};
use super::outcome::FlowReport;
use super::parse::Scenario;
use crate::flows::batch::{self, BatchInput, BatchRunConfig};
use crate::postgres;

/// Runs the batch flow.
pub(crate) struct BatchFlow;

impl Flow for BatchFlow {
    async fn run(
        &self,
        scenario: &Scenario,
        clients: &Clients,
        infra: Infra<'_>,
    ) -> Result<FlowReport, String> {
        let database = postgres::required(infra.postgres, "the batch flow loads into PostgreSQL")
            .map_err(|e| e.to_string())?;
        let config = BatchRunConfig {
            name: scenario.name().to_string(),
            seed: scenario.file.scenario.seed,
            input: scenario.batch_input(),
            ceiling_container: infra.postgres_container.map(str::to_string),
        };
        let mut report = batch::run(clients, database, &config)
            .await
            .map_err(|e| e.to_string())?;
        let checks = expect::evaluate_batch(&scenario.file.expect, &report);
        report.verdict.add_checks(checks);
        Ok(report.into())
    }
}

impl Scenario {
    /// Where a batch scenario's company files come from: a `[replay]` directory (relative to
    /// the file), else `[batch]` (or its defaults).
    pub fn batch_input(&self) -> BatchInput {
        match &self.file.replay {
            Some(replay) => BatchInput::Replay(self.relative(&replay.source)),
            None => BatchInput::Generate(self.file.batch.clone().unwrap_or_default()),
        }
    }
}
