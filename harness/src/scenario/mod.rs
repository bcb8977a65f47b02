//! Declarative scenarios: `scenarios/*.toml` files that say what to generate (or replay), which
//! faults to inject and what must hold afterwards.

pub mod expect;
pub mod file;
mod locate;
pub mod outcome;
mod parse;

use std::time::Duration;

use tickflow_pipeline::source::GeneratorConfig;

pub use outcome::Outcome;
pub use parse::{load, parse, Scenario, ScenarioError};

use crate::flows::stream::driver::{RunConfig, Source};
use crate::flows::stream::replay::{Pace, ReplaySpec};
use file::{Flow, ScenarioFile, Speed, SpeedName};

/// The generator settings a scenario file describes (defaults for what it leaves out).
///
/// # Errors
/// A `start` that is not RFC 3339.
pub fn generator_config(file: &ScenarioFile) -> Result<GeneratorConfig, String> {
    let g = &file.generate;
    let defaults = GeneratorConfig::default();
    let start_ms = match &g.start {
        Some(start) => chrono::DateTime::parse_from_rfc3339(start)
            .map_err(|e| format!("generate.start: {e}"))?
            .timestamp_millis(),
        None => defaults.start_ms,
    };
    Ok(GeneratorConfig {
        seed: file.scenario.seed,
        events: g.events.unwrap_or(defaults.events),
        start_ms,
        mean_gap_ms: g.mean_gap_ms.unwrap_or(defaults.mean_gap_ms),
        mix: g.mix.unwrap_or(defaults.mix),
        stocks: g.stocks.clone().unwrap_or(defaults.stocks),
        pairs: g.pairs.clone().unwrap_or(defaults.pairs),
        jumps: g.jumps.unwrap_or(defaults.jumps),
        forced_jumps: g.forced_jumps.clone(),
        news_impact_pct: g.news_impact_pct.unwrap_or(defaults.news_impact_pct),
        session_utc_minutes: defaults.session_utc_minutes,
    })
}

impl Scenario {
    /// The scenario's name.
    pub fn name(&self) -> &str {
        &self.file.scenario.name
    }

    /// Whether the default `cargo test` skips it.
    pub fn heavy(&self) -> bool {
        self.file.scenario.heavy
    }

    /// Whether it pauses LocalStack (an `outage` fault): it then needs a container of its own,
    /// started by tickflow, that no other run shares.
    pub fn pauses_localstack(&self) -> bool {
        self.file
            .faults
            .schedule
            .iter()
            .any(|r| r.kind == tickflow_pipeline::chaos::FaultKind::Outage)
    }

    /// Where a batch scenario's company files come from: a `[replay]` directory (relative to
    /// the file), else `[batch]` (or its defaults).
    pub fn batch_input(&self) -> crate::flows::batch::BatchInput {
        match &self.file.replay {
            Some(replay) => crate::flows::batch::BatchInput::Replay(self.relative(&replay.source)),
            None => crate::flows::batch::BatchInput::Generate(
                self.file.batch.clone().unwrap_or_default(),
            ),
        }
    }

    /// `path` relative to the scenario file's directory.
    fn relative(&self, path: &str) -> std::path::PathBuf {
        self.path
            .parent()
            .unwrap_or_else(|| std::path::Path::new("."))
            .join(path)
    }

    /// The run this scenario asks for. A replay source is resolved relative to the file.
    ///
    /// # Errors
    /// Settings that [`load`] would already have rejected.
    pub fn run_config(&self) -> Result<RunConfig, String> {
        let file = &self.file;
        let source = match &file.replay {
            None => Source::Generate(generator_config(file)?),
            Some(replay) => Source::Replay(ReplaySpec {
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
        Ok(RunConfig {
            name: file.scenario.name.clone(),
            source,
            seed: file.scenario.seed,
            load: file
                .load
                .clone()
                .unwrap_or(crate::flows::stream::arrival::LoadPlan {
                    rate: file.generate.rate.filter(|r| *r > 0.0),
                    ..crate::flows::stream::arrival::LoadPlan::default()
                }),
            pipeline: file.pipeline.clone(),
            faults: file.faults.clone(),
            keep_resources: false,
            drain_timeout: Duration::from_secs(600),
            container: None,
            expect: std::sync::Arc::new(file.expect.clone()),
        })
    }
}

/// What a scenario runs on besides the AWS endpoint.
#[derive(Debug, Clone, Copy, Default)]
pub struct Infra<'a> {
    /// The id of the LocalStack container tickflow started (an outage fault pauses it).
    pub localstack_container: Option<&'a str>,
    /// The PostgreSQL URL the batch flow loads into.
    pub postgres: Option<&'a str>,
    /// The PostgreSQL container tickflow started: the batch flow measures a plain `psql` `COPY`
    /// in it as the database's ceiling.
    pub postgres_container: Option<&'a str>,
}

/// Runs a scenario against `clients`' endpoint (and `infra`) and judges the result, dispatching
/// on its flow. A run that fails to complete is a failed outcome (with the error), not a panic.
pub async fn execute(
    scenario: &Scenario,
    clients: &tickflow_pipeline::aws::Clients,
    infra: Infra<'_>,
) -> Outcome {
    let mut outcome = Outcome {
        name: scenario.name().to_string(),
        file: scenario.path.display().to_string(),
        report: None,
        batch: None,
        price_files: None,
        error: None,
        failures: Vec::new(),
    };
    match scenario.file.scenario.flow {
        Flow::Stream => execute_stream(scenario, clients, infra, &mut outcome).await,
        Flow::Batch => execute_batch(scenario, clients, infra, &mut outcome).await,
        Flow::PriceFiles => execute_price_files(scenario, clients, &mut outcome).await,
    }
    outcome
}

async fn execute_stream(
    scenario: &Scenario,
    clients: &tickflow_pipeline::aws::Clients,
    infra: Infra<'_>,
    outcome: &mut Outcome,
) {
    let config = match scenario.run_config() {
        Ok(config) => RunConfig {
            container: infra.localstack_container.map(str::to_string),
            ..config
        },
        Err(e) => {
            outcome.error = Some(e);
            return;
        }
    };
    match crate::flows::stream::driver::run(clients, &config).await {
        Ok(report) => {
            // The verdict includes the scenario's assertions (the run status announced it).
            outcome.failures = report.judged.failures.clone();
            outcome.report = Some(report);
        }
        Err(e) => outcome.error = Some(e.to_string()),
    }
}

async fn execute_batch(
    scenario: &Scenario,
    clients: &tickflow_pipeline::aws::Clients,
    infra: Infra<'_>,
    outcome: &mut Outcome,
) {
    let Some(database) = infra.postgres else {
        outcome.error = Some(format!(
            "the batch flow loads into PostgreSQL: let tickflow start `{}` or set {}",
            crate::postgres::DEFAULT_IMAGE,
            crate::postgres::ENV_URL
        ));
        return;
    };
    let config = crate::flows::batch::BatchRunConfig {
        name: scenario.name().to_string(),
        seed: scenario.file.scenario.seed,
        input: scenario.batch_input(),
        ceiling_container: infra.postgres_container.map(str::to_string),
    };
    match crate::flows::batch::run(clients, database, &config).await {
        Ok(report) => {
            outcome.failures = report.failures.clone();
            outcome
                .failures
                .extend(crate::scenario::expect::evaluate_batch(
                    &scenario.file.expect,
                    &report,
                ));
            outcome.batch = Some(report);
        }
        Err(e) => outcome.error = Some(e.to_string()),
    }
}

async fn execute_price_files(
    scenario: &Scenario,
    clients: &tickflow_pipeline::aws::Clients,
    outcome: &mut Outcome,
) {
    let settings = scenario.file.price_files.clone().unwrap_or_default();
    let config = crate::flows::price_files::PriceFilesRunConfig {
        name: scenario.name().to_string(),
        seed: scenario.file.scenario.seed,
        measure_ceiling: scenario.file.scenario.heavy,
        settings,
    };
    match crate::flows::price_files::run(clients, &config).await {
        Ok(report) => {
            outcome.failures = report.failures.clone();
            outcome
                .failures
                .extend(crate::scenario::expect::evaluate_price_files(
                    &scenario.file.expect,
                    &report,
                ));
            outcome.price_files = Some(report);
        }
        Err(e) => outcome.error = Some(e.to_string()),
    }
}
