//! The stream flow's input sections: `[source]`, `[generate]`, `[replay]`.
//!
//! The stream flow's input sections as a scenario file writes them: where the events come from
//! (`[source]`), what the generator makes (`[generate]`), and what a replay reads (`[replay]`).

use serde::Deserialize;
use tickflow_pipeline::source::{ForcedJump, InstrumentSpec, JumpModel, Mix};

/// `[source]`.
#[derive(Debug, Clone, Copy, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceSection {
    /// `generate`, `replay` or `web`.
    pub kind: SourceKind,
}

/// Where a stream run's events come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// The generator, fed straight to the producer.
    Generate,
    /// `[replay]`'s file.
    Replay,
    /// The generator behind the `/logs` web server, called on `[web]`'s schedule.
    Web,
}

/// `[generate]`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Generate {
    /// How many events (1 or more).
    pub events: Option<u64>,
    /// Share of each event kind; sums to 1.
    pub mix: Option<Mix>,
    /// Stocks and their price models (default: AAPL, MSFT, AMZN, NVDA, JPM).
    pub stocks: Option<Vec<InstrumentSpec>>,
    /// Currency pairs (default: EUR/USD, GBP/USD, USD/JPY, AUD/USD).
    pub pairs: Option<Vec<InstrumentSpec>>,
    /// Market time of the first event, RFC 3339 (default `2026-11-23T14:30:00Z`).
    pub start: Option<String>,
    /// Mean market time between events, milliseconds (default 10).
    pub mean_gap_ms: Option<f64>,
    /// Events per second fed into the pipeline; absent or 0 for as fast as it takes them.
    pub rate: Option<f64>,
    /// Random jumps.
    pub jumps: Option<JumpModel>,
    /// Jumps at fixed positions, to make price alerts predictable.
    #[serde(default)]
    pub forced_jumps: Vec<ForcedJump>,
    /// Percent move per unit of news sentiment (default 1).
    pub news_impact_pct: Option<f64>,
}

/// `[replay]`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    /// A JSONL file of events (from `tickflow record`) or a CSV file, relative to the scenario.
    pub source: String,
    /// `"full"` (as fast as possible), `"original"` (the data's own pace) or a number: the
    /// data's pace times that factor (`10` plays ten times faster).
    #[serde(default)]
    pub speed: Speed,
    /// Symbol for a stock CSV without a `symbol` column.
    pub symbol: Option<String>,
    /// `"csv"` or `"jsonl"`; absent decides by content.
    pub format: Option<crate::flows::stream::input::replay::Format>,
}

/// How fast a replay plays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Speed {
    /// `"full"` or `"original"`.
    Named(SpeedName),
    /// The data's own pace times this factor.
    Factor(f64),
    /// As fast as the pipeline takes it.
    #[default]
    #[serde(skip)]
    Full,
}

/// The named speeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SpeedName {
    /// As fast as the pipeline takes it.
    Full,
    /// At the pace of the data's timestamps.
    Original,
}
