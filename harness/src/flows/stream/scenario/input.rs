//! What a stream scenario's file says its run is given.
//!
//! What a stream scenario's file says its run is given: the generator, the web source, the
//! load plan (read by the run, by validation and by the planned-run caps alike).

use tickflow_pipeline::source::GeneratorConfig;

use super::file::StreamFile;
use crate::flows::stream::input::arrival::LoadPlan;
use crate::flows::stream::input::web::settings::ENV_TOKEN;
use crate::flows::stream::input::web::{Callers, WebSpec};

impl StreamFile {
    /// The generator settings a scenario file describes (defaults for what it leaves out).
    ///
    /// # Errors
    /// A `start` that is not RFC 3339.
    pub fn generator_config(&self, seed: u64) -> Result<GeneratorConfig, String> {
        let g = &self.generate;
        let defaults = GeneratorConfig::default();
        let start_ms = match &g.start {
            Some(start) => chrono::DateTime::parse_from_rfc3339(start)
                .map_err(|e| format!("generate.start: {e}"))?
                .timestamp_millis(),
            None => defaults.start_ms,
        };
        Ok(GeneratorConfig {
            seed,
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
    pub fn web_spec(&self, seed: u64) -> Result<WebSpec, String> {
        let settings = self.web.clone().unwrap_or_default();
        let generator = GeneratorConfig {
            events: self.generate.events.unwrap_or(u64::MAX),
            mean_gap_ms: self
                .generate
                .mean_gap_ms
                .unwrap_or_else(|| settings.mean_gap_ms()),
            ..self.generator_config(seed)?
        };
        let load = self.load.as_ref();
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
    pub fn load_plan(&self) -> LoadPlan {
        self.load.clone().unwrap_or(LoadPlan {
            rate: self.generate.rate.filter(|r| *r > 0.0),
            ..LoadPlan::default()
        })
    }
}
