//! The stream flow's adapter: a scenario's generator or replay, load, pipeline settings and
//! faults as a [`StreamRunConfig`], its `[expect]` judged by the run itself (before the run status is
//! announced).

use std::sync::Arc;
use std::time::Duration;

use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::source::GeneratorConfig;

use super::file::{ScenarioFile, SourceKind, Speed, SpeedName};
use super::{Flow, FlowReport, Infra, Scenario};
use crate::flows::stream::arrival::LoadPlan;
use crate::flows::stream::driver::{self, Source, StreamRunConfig};
use crate::flows::stream::replay::{Pace, ReplaySpec};
use crate::flows::stream::web::settings::ENV_TOKEN;
use crate::flows::stream::web::{Callers, WebSpec};

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

/// The web source a scenario file describes: `[web]` (or its defaults) in front of the
/// generator, which hands out as many events as are asked for; a market-time schedule unless
/// `[load]` is given. The PostgreSQL URL is the run's to fill in.
///
/// # Errors
/// A `start` that is not RFC 3339.
pub fn web_spec(file: &ScenarioFile) -> Result<WebSpec, String> {
    let settings = file.web.clone().unwrap_or_default();
    let generator = GeneratorConfig {
        events: file.generate.events.unwrap_or(u64::MAX),
        mean_gap_ms: file
            .generate
            .mean_gap_ms
            .unwrap_or_else(|| settings.mean_gap_ms()),
        ..generator_config(file)?
    };
    let load = file.load.as_ref();
    let token = settings.auth.then(|| {
        std::env::var(ENV_TOKEN)
            .ok()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
    });
    Ok(WebSpec {
        schedule: settings.schedule(load),
        callers: Callers::Scheduler {
            calls: settings.calls(load),
        },
        settings,
        generator,
        postgres: None,
        token,
    })
}

/// When a scenario's events are due: its `[load]`, else `[generate] rate` (0 or none: full
/// speed).
pub fn load_plan(file: &ScenarioFile) -> LoadPlan {
    file.load.clone().unwrap_or(LoadPlan {
        rate: file.generate.rate.filter(|r| *r > 0.0),
        ..LoadPlan::default()
    })
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
