//! The pipeline's tunables for one run, with the defaults in one place.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tickflow_pipeline::bridge::BridgeConfig;
use tickflow_pipeline::compress::Compression;
use tickflow_pipeline::lake::LakeConfig;
use tickflow_pipeline::notify::WatchConfig;
use tickflow_pipeline::processor::EsmConfig;
use tickflow_pipeline::producer::{ProducerConfig, MAX_COMPRESSED_AGGREGATE};

/// How the pipeline under test is configured for a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Concurrent processor invocations.
    pub concurrency: usize,
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
            concurrency: 4,
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
    /// (`pipeline.shards`).
    pub fn check(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut positive = |name: &str, ok: bool| {
            if !ok {
                let key = format!("pipeline.{name}");
                problems.push((key.clone(), format!("{key} must be positive")));
            }
        };
        positive("shards", self.shards > 0);
        positive("linger_ms", self.linger_ms > 0);
        positive("batch_size", self.batch_size > 0);
        positive("max_receive_count", self.max_receive_count > 0);
        positive("flush_bytes", self.flush_bytes > 0);
        positive("concurrency", self.concurrency > 0);
        positive("alert_window_secs", self.alert_window_secs > 0);
        positive("alert_threshold_pct", self.alert_threshold_pct > 0.0);
        if self.sqs_message_bytes.is_some_and(|b| b < 1_024) {
            problems.push((
                "pipeline.sqs_message_bytes".into(),
                "pipeline.sqs_message_bytes must be at least 1024".into(),
            ));
        }
        if self.visibility_timeout_secs > 43_200 {
            problems.push((
                "pipeline.visibility_timeout_secs".into(),
                "pipeline.visibility_timeout_secs must be at most 43200 (12 h)".into(),
            ));
        }
        if Duration::from_millis(self.flush_age_ms + self.batching_window_ms)
            >= Duration::from_secs(u64::from(self.visibility_timeout_secs))
        {
            problems.push(("pipeline.visibility_timeout_secs".into(), format!(
                "pipeline.visibility_timeout_secs ({}) must exceed flush_age_ms + batching_window_ms ({} ms): \
                 messages would reappear while their events wait in the lake buffer",
                self.visibility_timeout_secs,
                self.flush_age_ms + self.batching_window_ms
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
            ..BridgeConfig::default()
        }
    }

    /// The event source mapping's configuration.
    pub fn esm(&self) -> EsmConfig {
        EsmConfig {
            batch_size: self.batch_size,
            batching_window: Duration::from_millis(self.batching_window_ms),
            concurrency: self.concurrency,
            ..EsmConfig::default()
        }
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

    /// The price watch's configuration.
    pub fn watch(&self) -> WatchConfig {
        WatchConfig {
            window_ms: self.alert_window_secs as i64 * 1_000,
            threshold_pct: self.alert_threshold_pct,
            ..WatchConfig::default()
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
}
