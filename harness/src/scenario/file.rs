//! The scenario file format.
//!
//! The scenario file format: what a `scenarios/*.toml` may say. Every key is documented in
//! `scenarios/README.md`; unknown keys and wrong types are errors with a position.

use serde::{Deserialize, Serialize};
use tickflow_pipeline::source::{ForcedJump, InstrumentSpec, JumpModel, Mix};

use crate::flows::stream::faults::FaultSettings;
use crate::flows::stream::settings::PipelineSettings;

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Name, description, seed.
    pub scenario: Meta,
    /// What to generate (ignored when `replay` is given, except `rate`).
    #[serde(default)]
    pub generate: Generate,
    /// Replay a recorded or CSV data set instead of generating.
    pub replay: Option<Replay>,
    /// Where the stream flow's events come from (`generate` unless `[replay]` is given).
    pub source: Option<SourceSection>,
    /// The web source's server and scheduler (`[source] kind = "web"` only).
    pub web: Option<crate::flows::stream::web::WebSettings>,
    /// The pipeline's tunables.
    #[serde(default)]
    pub pipeline: PipelineSettings,
    /// Faults to inject.
    #[serde(default)]
    pub faults: FaultSettings,
    /// Open-model arrival rates (overrides `[generate].rate`).
    pub load: Option<crate::flows::stream::arrival::LoadPlan>,
    /// What the batch flow generates (`flow = "batch"` only).
    pub batch: Option<crate::flows::batch::BatchSettings>,
    /// What the price-file flow generates (`flow = "price-files"` only).
    pub price_files: Option<crate::flows::price_files::PriceFileSettings>,
    /// What must hold afterwards.
    #[serde(default)]
    pub expect: Expect,
}

/// `[scenario]`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// Name in reports, test names and the run-status subject.
    pub name: String,
    /// One or two sentences on what the scenario shows.
    #[serde(default)]
    pub description: String,
    /// Seeds the generator and the fault injection.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Too slow for the default `cargo test` (run with `cargo test -- --ignored`).
    #[serde(default)]
    pub heavy: bool,
    /// Which pipeline the scenario runs.
    #[serde(default)]
    pub flow: FlowKind,
}

/// The pipelines tickflow simulates; each brings its own topology, stages, read-back and
/// assertions.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum FlowKind {
    /// Market data -> Kinesis -> SQS -> processor -> S3 lake -> SNS.
    #[default]
    Stream,
    /// Company CSV files in S3 -> one PostgreSQL table, triggered by `.SUCCESS`.
    Batch,
    /// Price files in S3 -> notification -> ETL to CSV -> notification -> analysis -> SNS.
    PriceFiles,
}

impl FlowKind {
    /// The name a scenario gives it (`flow = "..."`).
    pub fn name(self) -> &'static str {
        match self {
            FlowKind::Stream => "stream",
            FlowKind::Batch => "batch",
            FlowKind::PriceFiles => "price-files",
        }
    }
}

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

impl ScenarioFile {
    /// Where the stream flow's events come from: `[source] kind`, else `replay` when `[replay]`
    /// is given, else `generate`.
    pub fn source_kind(&self) -> SourceKind {
        match (&self.source, &self.replay) {
            (Some(s), _) => s.kind,
            (None, Some(_)) => SourceKind::Replay,
            (None, None) => SourceKind::Generate,
        }
    }
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
    pub format: Option<crate::flows::stream::replay::Format>,
}

/// `[expect]`: assertions on what the run left behind.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The reconciliation holds (always: `false` is rejected; kept so that files saying
    /// `true` stay valid).
    #[serde(default = "yes")]
    pub reconciliation: bool,
    /// Records the run sent (events and replayed rows that are not events). Without it, a run
    /// must send at least one: a run that sent nothing has nothing to be judged on.
    pub sent: Option<Count>,
    /// Sent events found in the lake.
    pub found: Option<Count>,
    /// Sent events in the quarantine.
    pub quarantined: Option<Count>,
    /// Sent events only in the DLQ.
    pub dead_lettered: Option<Count>,
    /// Per partition glob.
    #[serde(default)]
    pub partitions: Vec<PartitionExpect>,
    /// Queue depths after the drain.
    #[serde(default)]
    pub queues: QueueExpect,
    /// SNS deliveries.
    #[serde(default)]
    pub sns: SnsExpect,
    /// End-to-end latency bounds.
    #[serde(default)]
    pub latency: LatencyExpect,
    /// Infrastructure faults that fired (`[[faults.schedule]]`): a fault scenario says that its
    /// faults happened, so that it cannot pass without them.
    pub faults_fired: Option<Count>,
    /// Stage restarts after scheduled crashes (every stage together).
    pub restarts: Option<Count>,
    /// Messages the processor left for redelivery (failed, or carrying records another
    /// invocation was still writing).
    pub redelivered: Option<Count>,
    /// The batch flow's own assertions.
    #[serde(default)]
    pub batch: BatchExpect,
    /// The price-file flow's own assertions.
    #[serde(default)]
    pub price_files: PriceFilesExpect,
    /// The web source's own assertions.
    #[serde(default)]
    pub web: WebExpect,
    /// Each sink's figures, with more consumers than the lake's.
    #[serde(default)]
    pub sinks: SinksExpect,
}

/// `[expect.sinks]`: one table per consumer's sink.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SinksExpect {
    /// The lake's data objects.
    #[serde(default)]
    pub lake: SinkExpect,
    /// The raw consumer's objects.
    #[serde(default)]
    pub raw: SinkExpect,
    /// The objects Firehose wrote.
    #[serde(default)]
    pub firehose: SinkExpect,
}

/// `[expect.sinks.<consumer>]`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SinkExpect {
    /// Objects in the sink.
    pub objects: Option<Count>,
    /// Records (lines) in the sink.
    pub events: Option<Count>,
    /// Mean object size, bytes (a range bounds it).
    pub mean_object_bytes: Option<Count>,
    /// Copies beyond those sent.
    pub extra_copies: Option<Count>,
}

impl SinksExpect {
    /// Each sink's assertions, by its consumer's name.
    pub fn named(&self) -> [(&'static str, &SinkExpect); 3] {
        [
            ("lake", &self.lake),
            ("raw", &self.raw),
            ("firehose", &self.firehose),
        ]
    }

    /// Each assertion with its key under `expect.sinks`, and the figure it is judged on (0 for
    /// a sink the report does not hold).
    pub fn figures(
        &self,
        sinks: &[crate::flows::stream::sinks::SinkReport],
    ) -> Vec<(String, Option<Count>, u64)> {
        let mut figures = Vec::new();
        for (name, expect) in self.named() {
            let empty = Default::default();
            let sink = sinks.iter().find(|s| s.sink == name).unwrap_or(&empty);
            figures.extend([
                (format!("{name}.objects"), expect.objects, sink.objects),
                (format!("{name}.events"), expect.events, sink.events),
                (
                    format!("{name}.mean_object_bytes"),
                    expect.mean_object_bytes,
                    sink.mean_object_bytes,
                ),
                (
                    format!("{name}.extra_copies"),
                    expect.extra_copies,
                    sink.duplicated,
                ),
            ]);
        }
        figures
    }
}

impl SinkExpect {
    /// Whether it asserts anything.
    pub fn is_set(&self) -> bool {
        *self != Self::default()
    }
}

/// `[expect.web]`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebExpect {
    /// Requests the scheduler made (refusals included).
    pub requests: Option<Count>,
    /// 200 answers.
    pub ok: Option<Count>,
    /// 429 answers (the queue to Kinesis full).
    pub too_many: Option<Count>,
    /// 503 answers (the database behind or failing).
    pub unavailable: Option<Count>,
    /// 401 answers.
    pub unauthorized: Option<Count>,
    /// 400 answers.
    pub bad_request: Option<Count>,
    /// Requests without an answer.
    pub errors: Option<Count>,
    /// Events in 200s.
    pub events_served: Option<Count>,
    /// Rows in `request_log`.
    pub request_log_rows: Option<Count>,
    /// Rows per market-data table.
    #[serde(default)]
    pub rows: WebRowsExpect,
}

/// `[expect.web.rows]`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebRowsExpect {
    /// Rows in `forex_rates`.
    pub forex_rates: Option<Count>,
    /// Rows in `stock_prices`.
    pub stock_prices: Option<Count>,
    /// Rows in `stock_news`.
    pub stock_news: Option<Count>,
}

impl WebExpect {
    /// Each assertion with its key under `expect.web`, and the report's figure it is judged on.
    pub fn figures(
        &self,
        web: &crate::flows::stream::web::WebReport,
    ) -> Vec<(&'static str, Option<Count>, u64)> {
        let rows = |t: &str| web.rows.get(t).copied().unwrap_or(0);
        vec![
            ("requests", self.requests, web.requests),
            ("ok", self.ok, web.status("200")),
            ("too_many", self.too_many, web.status("429")),
            ("unavailable", self.unavailable, web.status("503")),
            ("unauthorized", self.unauthorized, web.status("401")),
            ("bad_request", self.bad_request, web.status("400")),
            ("errors", self.errors, web.errors),
            ("events_served", self.events_served, web.events_served),
            (
                "request_log_rows",
                self.request_log_rows,
                web.request_log_rows,
            ),
            (
                "rows.forex_rates",
                self.rows.forex_rates,
                rows("forex_rates"),
            ),
            (
                "rows.stock_prices",
                self.rows.stock_prices,
                rows("stock_prices"),
            ),
            ("rows.stock_news", self.rows.stock_news, rows("stock_news")),
        ]
    }
}

/// `[expect.price_files]`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceFilesExpect {
    /// Alerts delivered.
    pub alerts: Option<Count>,
    /// CSV objects under the analysis prefix.
    pub csv_rows: Option<Count>,
    /// Files in the quarantine.
    pub quarantined: Option<Count>,
}

/// `[expect.batch]`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchExpect {
    /// Rows in the table after the run.
    pub table_rows: Option<Count>,
    /// Rows the run reports it could not read.
    pub bad_rows: Option<Count>,
    /// Files the run reports it could not read.
    pub bad_files: Option<Count>,
}

impl Expect {
    /// Every count the section states, with its dotted key.
    pub fn counts(&self) -> Vec<(String, Count)> {
        let mut counts: Vec<(String, Option<Count>)> = vec![
            ("expect.sent".into(), self.sent),
            ("expect.found".into(), self.found),
            ("expect.quarantined".into(), self.quarantined),
            ("expect.dead_lettered".into(), self.dead_lettered),
            (
                "expect.queues.main_visible".into(),
                self.queues.main_visible,
            ),
            (
                "expect.queues.main_in_flight".into(),
                self.queues.main_in_flight,
            ),
            ("expect.queues.dlq".into(), self.queues.dlq),
            ("expect.sns.price_alert".into(), self.sns.price_alert),
            ("expect.sns.run_status".into(), self.sns.run_status),
            ("expect.faults_fired".into(), self.faults_fired),
            ("expect.restarts".into(), self.restarts),
            ("expect.redelivered".into(), self.redelivered),
            ("expect.batch.table_rows".into(), self.batch.table_rows),
            ("expect.batch.bad_rows".into(), self.batch.bad_rows),
            ("expect.batch.bad_files".into(), self.batch.bad_files),
            ("expect.price_files.alerts".into(), self.price_files.alerts),
            (
                "expect.price_files.csv_rows".into(),
                self.price_files.csv_rows,
            ),
            (
                "expect.price_files.quarantined".into(),
                self.price_files.quarantined,
            ),
        ];
        for (key, count, _) in self.web.figures(&Default::default()) {
            counts.push((format!("expect.web.{key}"), count));
        }
        for (key, count, _) in self.sinks.figures(&[]) {
            counts.push((format!("expect.sinks.{key}"), count));
        }
        if let Some(NewData::Count(c)) = self.sns.new_data {
            counts.push(("expect.sns.new_data".into(), Some(c)));
        }
        for (i, p) in self.partitions.iter().enumerate() {
            counts.push((format!("expect.partitions.{i}.objects"), p.objects));
            counts.push((format!("expect.partitions.{i}.events"), p.events));
        }
        counts
            .into_iter()
            .filter_map(|(key, count)| Some((key, count?)))
            .collect()
    }
}

impl Default for Expect {
    fn default() -> Self {
        Self {
            reconciliation: true,
            sent: None,
            found: None,
            quarantined: None,
            dead_lettered: None,
            partitions: Vec::new(),
            queues: QueueExpect::default(),
            sns: SnsExpect::default(),
            latency: LatencyExpect::default(),
            faults_fired: None,
            restarts: None,
            redelivered: None,
            batch: BatchExpect::default(),
            price_files: PriceFilesExpect::default(),
            web: WebExpect::default(),
            sinks: SinksExpect::default(),
        }
    }
}

/// `[[expect.partitions]]`.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartitionExpect {
    /// Glob over partition paths, e.g. `event_type=forex/**` (`*` stays within a segment).
    pub glob: String,
    /// Objects in the matching partitions together.
    pub objects: Option<Count>,
    /// Rows in them together.
    pub events: Option<Count>,
    /// Fields every row must have.
    #[serde(default)]
    pub required_fields: Vec<String>,
    /// No event id twice (on by default).
    #[serde(default = "yes")]
    pub unique_ids: bool,
}

/// `[expect.queues]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueExpect {
    /// Visible messages left on the main queue.
    pub main_visible: Option<Count>,
    /// In-flight messages left on the main queue.
    pub main_in_flight: Option<Count>,
    /// Messages in the dead-letter queue.
    pub dlq: Option<Count>,
}

/// `[expect.sns]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnsExpect {
    /// New-data notifications: a count, or `"objects"` for exactly one per object written.
    pub new_data: Option<NewData>,
    /// Price alerts.
    pub price_alert: Option<Count>,
    /// Symbols of the price alerts, in any order.
    pub alert_symbols: Option<Vec<String>>,
    /// Run-status messages.
    pub run_status: Option<Count>,
    /// Glob every run-status subject must match, e.g. `*_Pipeline_Success`.
    pub run_status_subject: Option<String>,
}

/// `[expect.latency]`: upper bounds, milliseconds (handed to the producer -> in S3).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LatencyExpect {
    /// Median at most.
    pub p50_ms: Option<u64>,
    /// 99th percentile at most.
    pub p99_ms: Option<u64>,
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

/// Expected new-data notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum NewData {
    /// `"objects"`: one per object written.
    PerObject(PerObject),
    /// A count.
    Count(Count),
}

/// The word `objects`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PerObject {
    /// One notification per object.
    Objects,
}

/// An exact count (`5`) or a range (`{ min = 1, max = 9 }`, either bound optional).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Count {
    /// Exactly this many.
    Exact(u64),
    /// Within the bounds (inclusive).
    Range(Bounds),
}

/// Inclusive bounds of a [`Count`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    /// Lower bound.
    pub min: Option<u64>,
    /// Upper bound.
    pub max: Option<u64>,
}

impl Count {
    /// Checks that the count can fail: a range needs a bound, and `min <= max`.
    ///
    /// # Errors
    /// What is wrong with it.
    pub fn check(&self) -> Result<(), String> {
        match *self {
            Count::Range(Bounds {
                min: None,
                max: None,
            }) => Err("a range needs min, max or both (`{}` would accept anything)".into()),
            Count::Range(Bounds {
                min: Some(a),
                max: Some(b),
            }) if a > b => Err(format!("min ({a}) is above max ({b}): nothing can pass")),
            Count::Range(Bounds { min, max })
                if min.unwrap_or(0) == 0 && max.is_none_or(|m| m >= MAX_TOML_INTEGER) =>
            {
                Err(
                    "this range admits every count and so can never fail: give a min above 0 \
                     or a max"
                        .into(),
                )
            }
            _ => Ok(()),
        }
    }

    /// Whether `value` satisfies the count.
    pub fn admits(&self, value: u64) -> bool {
        match *self {
            Count::Exact(n) => value == n,
            Count::Range(Bounds { min, max }) => {
                min.is_none_or(|m| value >= m) && max.is_none_or(|m| value <= m)
            }
        }
    }
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Count::Exact(n) => write!(f, "{n}"),
            Count::Range(Bounds {
                min: Some(a),
                max: Some(b),
            }) => write!(f, "{a}..={b}"),
            Count::Range(Bounds {
                min: Some(a),
                max: None,
            }) => write!(f, ">= {a}"),
            Count::Range(Bounds {
                min: None,
                max: Some(b),
            }) => write!(f, "<= {b}"),
            Count::Range(Bounds {
                min: None,
                max: None,
            }) => write!(f, "any"),
        }
    }
}

/// The largest integer a TOML file can hold (TOML integers are signed 64-bit).
const MAX_TOML_INTEGER: u64 = i64::MAX as u64;

const fn default_seed() -> u64 {
    7
}

const fn yes() -> bool {
    true
}
