//! The price-file flow's adapter.
//!
//! The price-file flow's adapter: a scenario's `[price_files]` through S3 notifications, the ETL
//! and the analysis, its `[expect.price_files]` folded into the report.

use tickflow_pipeline::aws::Clients;

use super::expect;
use super::flow::{Flow, Infra};
use super::outcome::FlowReport;
use super::parse::Scenario;
use crate::flows::price_files::{self, PriceFilesRunConfig};

/// Runs the price-file flow.
pub(crate) struct PriceFilesFlow;

impl Flow for PriceFilesFlow {
    async fn run(
        &self,
        scenario: &Scenario,
        clients: &Clients,
        _: Infra<'_>,
    ) -> Result<FlowReport, String> {
        let config = PriceFilesRunConfig {
            name: scenario.name().to_string(),
            seed: scenario.file.scenario.seed,
            measure_ceiling: scenario.file.scenario.heavy,
            settings: scenario.file.price_files.clone().unwrap_or_default(),
        };
        let mut report = price_files::run(clients, &config)
            .await
            .map_err(|e| e.to_string())?;
        let checks = expect::evaluate_price_files(&scenario.file.expect, &report);
        report.verdict.add_checks(checks);
        Ok(report.into())
    }
}
