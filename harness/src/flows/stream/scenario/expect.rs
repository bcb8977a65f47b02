//! The stream flow's `[expect]`: what a stream scenario says must hold afterwards.
//!
//! The stream flow's `[expect]` as a scenario file writes it: counts of what was sent and where
//! it went, partitions, queues, SNS deliveries, latency, faults, the web source's answers and
//! each sink's figures. Judged by [`super::assert`].

use serde::Deserialize;

use std::collections::BTreeMap;

use crate::verdict::alarms::AlarmExpect;
use crate::verdict::expect::{Count, Reconciled};

/// `[expect]`: assertions on what the run left behind.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The reconciliation holds (always: `false` is refused; kept so that files saying
    /// `true` stay valid).
    #[serde(default)]
    pub reconciliation: Reconciled,
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
    /// invocation was still writing past the handler's wait).
    pub redelivered: Option<Count>,
    /// Messages that met another invocation still writing some of their records, and waited
    /// for that write to end.
    pub busy: Option<Count>,
    /// Each partition key's events are sent on to SQS in the producer's order (what Kinesis
    /// promises per shard, kept by the producer and the bridge; the lake is written by
    /// concurrent invocations from a standard queue and keeps no order). Needs the run's
    /// history: generated events, `[scenario] history` on.
    #[serde(default)]
    pub ordered: bool,
    /// The web source's own assertions.
    #[serde(default)]
    pub web: WebExpect,
    /// What each alarm of `[[alarms]]` must do, by its name; an alarm not named here must never
    /// reach ALARM.
    #[serde(default)]
    pub alarms: BTreeMap<String, AlarmExpect>,
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
        sinks: &[crate::flows::stream::judge::sinks::SinkReport],
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
        web: &crate::flows::stream::input::web::WebReport,
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

impl Default for Expect {
    fn default() -> Self {
        Self {
            reconciliation: Reconciled,
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
            busy: None,
            ordered: false,
            web: WebExpect::default(),
            alarms: BTreeMap::new(),
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

const fn yes() -> bool {
    true
}
