//! The pipeline's tunables for one run, with the defaults in one place.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tickflow_pipeline::bridge::BridgeConfig;
use tickflow_pipeline::chaos::{Call, Service};
use tickflow_pipeline::compress::Compression;
use tickflow_pipeline::esm::EsmConfig;
use tickflow_pipeline::lake::LakeConfig;
use tickflow_pipeline::notify::WatchConfig;
use tickflow_pipeline::producer::{ProducerConfig, MAX_COMPRESSED_AGGREGATE};

use crate::flows::stream::judge::sinks;
use crate::flows::stream::resources::delivery::Buffering;

/// Longest price-alert window, seconds (30 days).
pub const MAX_ALERT_WINDOW_SECS: u64 = 2_592_000;

/// How the pipeline under test is configured for a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineSettings {
    /// Kinesis shard count.
    pub shards: i32,
    /// Aggregate many events per Kinesis record (KPL format); `false` puts one each.
    pub aggregate: bool,
    /// Longest an event waits in a partial aggregate before it is put, milliseconds (KPL's
    /// `RecordMaxBufferedTime`).
    pub linger_ms: u64,
    /// `none` or `zstd`: compress Kinesis records, SQS bodies and lake objects (LocalStack's
    /// Kinesis is bound by bytes).
    pub compression: Compression,
    /// Largest SQS message the bridge packs, bytes; `None` uses the queue's maximum.
    pub sqs_message_bytes: Option<usize>,
    /// Most SQS messages per handler invocation.
    pub batch_size: usize,
    /// Maximum batching window, milliseconds.
    pub batching_window_ms: u64,
    /// Main queue visibility timeout, seconds (also how long a failed message waits).
    pub visibility_timeout_secs: u32,
    /// Receives before a message moves to the DLQ.
    pub max_receive_count: u32,
    /// Lake buffer flush size, bytes.
    pub flush_bytes: usize,
    /// Lake buffer flush age, milliseconds.
    pub flush_age_ms: u64,
    /// Price alert threshold, percent.
    pub alert_threshold_pct: f64,
    /// Price alert window, seconds of market time.
    pub alert_window_secs: u64,
    /// How long, in market time past its end, a window stays open for prices processed out of
    /// order; a later price goes to the late output (`late/` in the state bucket) and counts in
    /// no window.
    pub alert_lateness_secs: u64,
    /// Concurrent processor invocations.
    pub concurrency: usize,
    /// Keep a batch's messages invisible while the handler works on them (renewed at half the
    /// visibility timeout); `false` lets them reappear when a slow write outlasts the timeout.
    pub extend_visibility: bool,
    /// The stream's consumers, each reading every shard from checkpoints of its own: `lake`
    /// (the bridge -> SQS -> processor path, always there: the verdict is built on it), `raw`
    /// (each `GetRecords` batch stored as one S3 object under `raw/`) and `firehose` (records
    /// forwarded to a Firehose delivery stream writing under `firehose/`).
    pub consumers: Vec<Consumer>,
    /// The delivery stream's buffering hint in megabytes (1 to 128): AWS writes an object once
    /// this much has arrived (LocalStack and moto write one per call whatever it says).
    pub firehose_buffer_mb: i32,
    /// The delivery stream's buffering hint in seconds (0 to 900): AWS writes an object at
    /// least this often; the judge waits this long, and 30 s more, for the last one.
    pub firehose_buffer_secs: i32,
    /// How long the pipeline may pass nothing on while events are owed (the input is fed, or
    /// waits for the producer), once the fault schedule's outages are over, seconds: then the
    /// run stops and FAILs `liveness`, naming the stage that had not drained. It must exceed
    /// `visibility_timeout_secs` (a crashed processor's messages come back only after it) and
    /// every delay fault's `for_secs`; by default twice the visibility timeout, the longest
    /// delay, and 30 s more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liveness_secs: Option<u32>,
    /// Most records each consumer's `GetRecords` asks for (Kinesis's `Limit`, 1 to 10,000;
    /// a Lambda event source's batch size): a small one makes a consumer that fell behind
    /// catch up over many calls, as a busy stream's does.
    pub get_records_limit: i32,
}

/// A consumer of the stream.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Consumer {
    /// Bridge -> SQS -> processor -> lake.
    Lake,
    /// One S3 object per `GetRecords` batch, as the streaming design's `write_to_s3` does.
    Raw,
    /// Records forwarded to a Firehose delivery stream, as the design's `send_to_firehose`
    /// does.
    Firehose,
}

impl Consumer {
    /// The name scenario files and reports use.
    pub fn name(self) -> &'static str {
        match self {
            Consumer::Lake => "lake",
            Consumer::Raw => "raw",
            Consumer::Firehose => "firehose",
        }
    }

    /// The AWS calls its stage makes beyond the lake path's: what a fault rule may name.
    pub fn calls(self) -> &'static [Call] {
        match self {
            Consumer::Lake => &[],
            Consumer::Raw => tickflow_pipeline::bridge::RAW_CALLS,
            Consumer::Firehose => tickflow_pipeline::bridge::FIREHOSE_CALLS,
        }
    }

    /// The AWS services it needs beyond the lake path's, for a target's readiness check.
    pub fn services(self) -> &'static [Service] {
        match self {
            Consumer::Lake | Consumer::Raw => &[],
            Consumer::Firehose => &[Service::Firehose],
        }
    }

    /// The check its sink's reconciliation makes, which a lake alone cannot show (the lake's
    /// own is the run's reconciliation).
    pub fn sink_check(self) -> Option<&'static str> {
        match self {
            Consumer::Lake => None,
            Consumer::Raw => Some(sinks::RAW_CHECK),
            Consumer::Firehose => Some(sinks::FIREHOSE_CHECK),
        }
    }
}

impl Default for PipelineSettings {
    fn default() -> Self {
        Self {
            shards: 2,
            aggregate: true,
            linger_ms: 100,
            compression: Compression::None,
            sqs_message_bytes: None,
            batch_size: 10,
            batching_window_ms: 0,
            visibility_timeout_secs: 30,
            max_receive_count: 3,
            flush_bytes: 5 * 1024 * 1024,
            flush_age_ms: 1_000,
            alert_threshold_pct: 2.0,
            alert_window_secs: 60,
            alert_lateness_secs: 300,
            concurrency: 4,
            extend_visibility: true,
            consumers: vec![Consumer::Lake],
            firehose_buffer_mb: 5,
            firehose_buffer_secs: 60,
            liveness_secs: None,
            get_records_limit: 10_000,
        }
    }
}

impl PipelineSettings {
    /// The settings for throughput: what `tickflow load` uses without a scenario, and what
    /// `scenarios/load-1m.toml` spells out. Four shards, compression end to end, aggregates
    /// filled for 250 ms, lake buffers flushed after 250 ms.
    pub fn throughput() -> Self {
        Self {
            shards: 4,
            compression: Compression::Zstd,
            linger_ms: 250,
            flush_age_ms: 250,
            ..Self::default()
        }
    }

    /// Problems with the values, as (key, message), the key dotted from the file's top
    /// (`pipeline.shards`). Every bound is one a run can honour: beyond them a value is either
    /// refused by AWS (shards, message sizes, receive counts) or meaningless for a run (a window
    /// of centuries).
    pub fn check(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let bounds = [
            (
                "shards",
                (1..=1_000).contains(&self.shards),
                "within [1, 1000]",
            ),
            (
                "get_records_limit",
                (1..=10_000).contains(&self.get_records_limit),
                "within [1, 10000]",
            ),
            (
                "linger_ms",
                (1..=60_000).contains(&self.linger_ms),
                "within [1, 60000]",
            ),
            (
                "batch_size",
                (1..=10_000).contains(&self.batch_size),
                "within [1, 10000] (Lambda's limit for SQS)",
            ),
            (
                "batching_window_ms",
                self.batching_window_ms <= 300_000,
                "at most 300000 (Lambda's limit)",
            ),
            (
                "max_receive_count",
                (1..=1_000).contains(&self.max_receive_count),
                "within [1, 1000] (SQS's limit)",
            ),
            (
                "flush_bytes",
                (1..=128 * 1024 * 1024).contains(&self.flush_bytes),
                "within [1, 134217728] (Firehose's limit)",
            ),
            (
                "flush_age_ms",
                self.flush_age_ms <= 900_000,
                "at most 900000 (Firehose's limit)",
            ),
            (
                "concurrency",
                (1..=1_000).contains(&self.concurrency),
                "within [1, 1000]",
            ),
            (
                "alert_window_secs",
                (1..=MAX_ALERT_WINDOW_SECS).contains(&self.alert_window_secs),
                "within [1, 2592000] (30 days)",
            ),
            (
                "alert_lateness_secs",
                self.alert_lateness_secs <= MAX_ALERT_WINDOW_SECS,
                "at most 2592000 (30 days)",
            ),
            (
                "alert_threshold_pct",
                self.alert_threshold_pct > 0.0 && self.alert_threshold_pct <= 1e6,
                "positive (at most 1e6)",
            ),
            (
                "sqs_message_bytes",
                self.sqs_message_bytes
                    .is_none_or(|b| (1_024..=1_048_576).contains(&b)),
                "within [1024, 1048576] (SQS's limit)",
            ),
            (
                "firehose_buffer_mb",
                (1..=128).contains(&self.firehose_buffer_mb),
                "within [1, 128] (Firehose's limit)",
            ),
            (
                "firehose_buffer_secs",
                (0..=900).contains(&self.firehose_buffer_secs),
                "within [0, 900] (Firehose's limit)",
            ),
            (
                "visibility_timeout_secs",
                self.visibility_timeout_secs <= 43_200,
                "at most 43200 (12 h)",
            ),
        ];
        for (name, ok, range) in bounds {
            if !ok {
                let key = format!("pipeline.{name}");
                problems.push((key.clone(), format!("{key} must be {range}")));
            }
        }
        let mut consumers = self.consumers.clone();
        consumers.sort();
        consumers.dedup();
        if !self.consumers.contains(&Consumer::Lake) || consumers.len() != self.consumers.len() {
            problems.push((
                "pipeline.consumers".into(),
                "pipeline.consumers must name \"lake\" (the verdict is built on it) and each \
                 consumer once"
                    .into(),
            ));
        }
        let waits = self.flush_age_ms.saturating_add(self.batching_window_ms);
        if Duration::from_millis(waits)
            >= Duration::from_secs(u64::from(self.visibility_timeout_secs))
        {
            problems.push(("pipeline.visibility_timeout_secs".into(), format!(
                "pipeline.visibility_timeout_secs ({}) must exceed flush_age_ms + batching_window_ms ({waits} ms): \
                 messages would reappear while their events wait in the lake buffer",
                self.visibility_timeout_secs,
            )));
        }
        problems
    }

    /// The producer's configuration.
    pub fn producer(&self) -> ProducerConfig {
        let defaults = ProducerConfig::default();
        ProducerConfig {
            aggregate: self.aggregate,
            // Larger aggregates compress better; the producer splits any that do not fit.
            max_aggregate_bytes: match self.compression {
                Compression::None => defaults.max_aggregate_bytes,
                Compression::Zstd => MAX_COMPRESSED_AGGREGATE,
            },
            linger: Duration::from_millis(self.linger_ms),
            compression: self.compression,
            ..defaults
        }
    }

    /// The bridge's configuration.
    pub fn bridge(&self) -> BridgeConfig {
        BridgeConfig {
            max_message_bytes: self.sqs_message_bytes,
            compression: self.compression,
            get_records_limit: self.get_records_limit,
            ..BridgeConfig::default()
        }
    }

    /// The event source mapping's configuration: batches kept invisible, for the queue's
    /// visibility timeout at a time, while they are handled.
    pub fn esm(&self) -> EsmConfig {
        EsmConfig {
            batch_size: self.batch_size,
            batching_window: Duration::from_millis(self.batching_window_ms),
            concurrency: self.concurrency,
            extend_visibility: self
                .extend_visibility
                .then(|| Duration::from_secs(u64::from(self.visibility_timeout_secs.max(1)))),
            ..EsmConfig::default()
        }
    }

    /// How long the pipeline may pass nothing on while events are owed, when the longest delay
    /// fault hides a message `longest_delay_secs`.
    pub fn liveness(&self, longest_delay_secs: f64) -> Duration {
        match self.liveness_secs {
            Some(secs) => Duration::from_secs(u64::from(secs)),
            None => {
                Duration::from_secs(2 * u64::from(self.visibility_timeout_secs) + 30)
                    + Duration::try_from_secs_f64(longest_delay_secs).unwrap_or_default()
            }
        }
    }

    /// A problem with `liveness_secs` given the longest delay fault, as (key, message).
    pub fn check_liveness(&self, longest_delay_secs: f64) -> Option<(String, String)> {
        let secs = self.liveness_secs?;
        let floor = f64::from(self.visibility_timeout_secs).max(longest_delay_secs);
        (f64::from(secs) <= floor).then(|| {
            (
                "pipeline.liveness_secs".into(),
                format!(
                    "pipeline.liveness_secs ({secs}) must exceed visibility_timeout_secs ({}) and \
                     the longest delay fault's for_secs ({longest_delay_secs}): the pipeline \
                     waits that long for a message to come back without being stuck",
                    self.visibility_timeout_secs
                ),
            )
        })
    }

    /// The lake writer's configuration.
    pub fn lake(&self) -> LakeConfig {
        LakeConfig {
            flush_bytes: self.flush_bytes,
            flush_age: Duration::from_millis(self.flush_age_ms),
            compression: self.compression,
            ..LakeConfig::default()
        }
    }

    /// Whether `consumer` reads the stream.
    pub fn has(&self, consumer: Consumer) -> bool {
        self.consumers.contains(&consumer)
    }

    /// The delivery stream's buffering hints, when the `firehose` consumer runs.
    pub fn firehose(&self) -> Option<Buffering> {
        self.has(Consumer::Firehose).then_some(Buffering {
            size_mb: self.firehose_buffer_mb,
            interval_secs: self.firehose_buffer_secs,
        })
    }

    /// The AWS services the stream flow calls with these consumers, for a target's readiness
    /// check.
    pub fn services(&self) -> Vec<Service> {
        let mut services = vec![Service::Kinesis, Service::Sqs, Service::S3, Service::Sns];
        services.extend(self.consumers.iter().flat_map(|c| c.services()));
        services
    }

    /// The AWS calls the stream's stages make with these consumers: what a fault rule may
    /// name (the harness's own calls, and the run status it publishes, are made without faults).
    pub fn calls(&self) -> Vec<Call> {
        use tickflow_pipeline::{bridge, esm, processor, producer};
        let mut calls: Vec<Call> = [
            producer::CALLS,
            bridge::READ_CALLS,
            bridge::SQS_CALLS,
            esm::CALLS,
            processor::CALLS,
        ]
        .concat();
        calls.extend(self.consumers.iter().flat_map(|c| c.calls()));
        calls.sort();
        calls.dedup();
        calls
    }

    /// The price watch's configuration.
    pub fn watch(&self) -> WatchConfig {
        WatchConfig {
            window_ms: (self.alert_window_secs.clamp(1, MAX_ALERT_WINDOW_SECS) * 1_000) as i64,
            threshold_pct: self.alert_threshold_pct,
            lateness_ms: (self.alert_lateness_secs.min(MAX_ALERT_WINDOW_SECS) * 1_000) as i64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_1m_spells_out_the_throughput_settings() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/load-1m.toml");
        let file: toml::Table = std::fs::read_to_string(path)
            .expect("scenarios/load-1m.toml")
            .parse()
            .expect("valid TOML");
        let pipeline: PipelineSettings = file["pipeline"].clone().try_into().expect("settings");
        assert_eq!(pipeline, PipelineSettings::throughput());
        assert!(PipelineSettings::throughput().check().is_empty());
    }

    #[test]
    fn liveness_defaults_past_the_longest_legitimate_wait_and_refuses_one_below_it() {
        let settings = PipelineSettings {
            visibility_timeout_secs: 5,
            ..PipelineSettings::default()
        };
        assert_eq!(settings.liveness(0.0), Duration::from_secs(40));
        assert_eq!(settings.liveness(12.5), Duration::from_millis(52_500));
        assert_eq!(settings.check_liveness(12.5), None, "the default is fine");
        let short = PipelineSettings {
            liveness_secs: Some(10),
            ..settings
        };
        assert_eq!(short.liveness(30.0), Duration::from_secs(10), "as given");
        assert_eq!(short.check_liveness(0.0), None);
        let (key, problem) = short.check_liveness(12.5).expect("below a delay");
        assert_eq!(key, "pipeline.liveness_secs");
        assert!(problem.contains("(12.5)"), "{problem}");
        let at_visibility = PipelineSettings {
            liveness_secs: Some(5),
            ..short
        };
        assert!(at_visibility.check_liveness(0.0).is_some());
    }

    #[test]
    fn the_lateness_reaches_the_price_watch_and_is_bounded() {
        let sparse = PipelineSettings {
            alert_lateness_secs: 86_400,
            ..PipelineSettings::default()
        };
        assert_eq!(sparse.watch().lateness_ms, 86_400_000);
        assert!(sparse.check().is_empty());
        let too_long = PipelineSettings {
            alert_lateness_secs: MAX_ALERT_WINDOW_SECS + 1,
            ..PipelineSettings::default()
        };
        let problems = too_long.check();
        assert!(
            problems
                .iter()
                .any(|(k, _)| k.contains("alert_lateness_secs")),
            "{problems:?}"
        );
    }
}
