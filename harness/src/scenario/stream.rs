//! The stream flow's adapter.
//!
//! The stream flow's adapter: a scenario's generator or replay, load, pipeline settings and
//! faults as a [`StreamRunConfig`], its `[expect]` judged by the run itself (before the run status is
//! announced).

use std::sync::Arc;
use std::time::Duration;

use tickflow_pipeline::aws::Clients;

use super::file::{SourceKind, Speed, SpeedName};
use super::flow::{Flow, Infra};
use super::outcome::FlowReport;
use super::parse::Scenario;
use super::stream_input::{generator_config, load_plan, web_spec};
use crate::flows::stream::driver::{self, Source, StreamRunConfig};
use crate::flows::stream::replay::{Pace, ReplaySpec};

/// Runs the stream flow.
pub(crate) struct StreamFlow;

impl Flow for StreamFlow {
    async fn run(
        &self,
        scenario: &Scenario,
        clients: &Clients,
        infra: Infra<'_>,
    ) -> Result<FlowReport, String> {
        let mut config = StreamRunConfig {
            container: infra.localstack_container.map(str::to_string),
            ..scenario.run_config()?
        };
        if let Source::Web(web) = &mut config.source {
            web.postgres = infra.postgres.map(str::to_string);
        }
        // The verdict includes the scenario's assertions (the run status announced it).
        let report = driver::run(clients, &config)
            .await
            .map_err(|e| e.to_string())?;
        Ok(report.into())
    }
}

impl Scenario {
    /// The run this scenario asks for. A replay source is resolved relative to the file.
    ///
    /// # Errors
    /// Settings that [`load`] would already have rejected.
    pub fn run_config(&self) -> Result<StreamRunConfig, String> {
        let file = &self.file;
        let source = match (&file.replay, file.source_kind()) {
            (_, SourceKind::Web) => Source::Web(Box::new(web_spec(file)?)),
            (None, _) => Source::Generate(generator_config(file)?),
            (Some(replay), _) => Source::Replay(ReplaySpec {
                path: self.relative(&replay.source),
                pace: match replay.speed {
                    Speed::Full | Speed::Named(SpeedName::Full) => Pace::Full,
                    Speed::Named(SpeedName::Original) => Pace::Scaled(1.0),
                    Speed::Factor(f) => Pace::scaled(f)?,
                },
                symbol: replay.symbol.clone(),
                format: replay.format,
            }),
        };
        Ok(StreamRunConfig {
            name: file.scenario.name.clone(),
            source,
            seed: file.scenario.seed,
            load: load_plan(file),
            pipeline: file.pipeline.clone(),
            faults: file.faults.clone(),
            keep_resources: false,
            consume_from: None,
            drain_timeout: Duration::from_secs(600),
            container: None,
            expect: Arc::new(file.expect.clone()),
        })
    }
}
