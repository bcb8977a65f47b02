//! A stream scenario's file, as the stream flow reads it, and the run it asks for.
//!
//! Everything a stream scenario gives besides `[scenario]`: the input sections, the pipeline's
//! tunables, the faults, the load plan and `[expect]`; and the [`StreamRunConfig`] they make.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::expect::Expect;
use super::sections::{Generate, Replay, SourceKind, SourceSection, Speed, SpeedName};
use crate::flows::flow::{RunOf, Sections};
use crate::flows::stream::driver::{Source, StreamRunConfig};
use crate::flows::stream::faults::FaultSettings;
use crate::flows::stream::input::arrival::LoadPlan;
use crate::flows::stream::input::replay::{Pace, ReplaySpec};
use crate::flows::stream::input::web::WebSettings;
use crate::flows::stream::settings::PipelineSettings;
use crate::verdict::alarms::{AlarmSpec, Alarms};

/// A stream scenario: market data -> Kinesis -> SQS -> processor -> S3 lake -> SNS.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamFile {
    /// `[scenario]`, read by `scenario` (named here so that any other key is refused).
    #[serde(default, rename = "scenario")]
    #[schemars(skip)]
    pub meta: serde::de::IgnoredAny,
    /// What to generate (ignored when `replay` is given, except `rate`).
    #[serde(default)]
    pub generate: Generate,
    /// Replay a recorded or CSV data set instead of generating.
    pub replay: Option<Replay>,
    /// Where the events come from (`generate` unless `[replay]` is given).
    pub source: Option<SourceSection>,
    /// The web source's server and scheduler (`[source] kind = "web"` only).
    pub web: Option<WebSettings>,
    /// The pipeline's tunables.
    #[serde(default)]
    pub pipeline: PipelineSettings,
    /// Faults to inject.
    #[serde(default)]
    pub faults: FaultSettings,
    /// Open-model arrival rates (overrides `[generate].rate`).
    pub load: Option<LoadPlan>,
    /// CloudWatch metric alarms on the stages' metrics, provisioned with the run; with any, the
    /// stages publish their metrics.
    #[serde(default)]
    pub alarms: Vec<AlarmSpec>,
    /// What must hold afterwards.
    #[serde(default)]
    pub expect: Expect,
}

impl Sections for StreamFile {
    const FLOW: &'static str = "stream";
    const KEEPS_HISTORY: bool = true;
}

impl StreamFile {
    /// Where the events come from: `[source] kind`, else `replay` when `[replay]` is given,
    /// else `generate`.
    pub fn source_kind(&self) -> SourceKind {
        match (&self.source, &self.replay) {
            (Some(s), _) => s.kind,
            (None, Some(_)) => SourceKind::Replay,
            (None, None) => SourceKind::Generate,
        }
    }

    /// The run this file asks for, named and seeded by `of`; a replay source is resolved
    /// relative to the file.
    ///
    /// # Errors
    /// Settings that validation would already have refused.
    pub fn run_config(&self, of: RunOf<'_>) -> Result<StreamRunConfig, String> {
        let source = match (&self.replay, self.source_kind()) {
            (_, SourceKind::Web) => Source::Web(Box::new(self.web_spec(of.seed)?)),
            (None, _) => Source::Generate(self.generator_config(of.seed)?),
            (Some(replay), _) => Source::Replay(ReplaySpec {
                path: of.dir.join(&replay.source),
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
            name: of.name.to_string(),
            source,
            seed: of.seed,
            load: self.load_plan(),
            pipeline: self.pipeline.clone(),
            faults: self.faults.clone(),
            keep_resources: false,
            consume_from: None,
            drain_timeout: Duration::from_secs(600),
            history: of.history,
            container: None,
            postgres_container: None,
            alarms: Alarms::new(&self.alarms, &self.expect.alarms),
            expect: Arc::new(self.expect.clone()),
        })
    }
}
