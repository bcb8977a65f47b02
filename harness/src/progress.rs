//! Live progress of a run: events per second through each stage and the bridge's lag, logged
//! once a second (`TICKFLOW_LOG=info` shows it).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use std::time::{Duration, Instant};

use tickflow_pipeline::bridge::BridgeStats;
use tickflow_pipeline::lake::LakeStats;
use tickflow_pipeline::processor::handler::HandlerStats;
use tickflow_pipeline::producer::ProducerStats;

/// The counters progress is read from.
pub struct Counters {
    /// Events accepted by Kinesis.
    pub produced: Arc<ProducerStats>,
    /// Events sent to SQS.
    pub bridged: Arc<BridgeStats>,
    /// Events written by the processor.
    pub processed: Arc<HandlerStats>,
    /// Objects written.
    pub lake: Arc<LakeStats>,
}

/// Cumulative events through each stage at one moment of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Sample {
    /// Milliseconds since the run started.
    pub at_ms: u64,
    /// Events accepted by Kinesis so far.
    pub kinesis: u64,
    /// Events sent to SQS so far.
    pub sqs: u64,
    /// Events written to S3 so far.
    pub s3: u64,
}

/// Samples every second (into `samples`, for the report's throughput plot) and logs them,
/// until aborted.
pub async fn report(counters: Counters, started: Instant, samples: Arc<Mutex<Vec<Sample>>>) {
    let mut last = (0, 0, 0);
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let now = (
            counters.produced.user_records.load(Ordering::Relaxed),
            counters.bridged.user_records.load(Ordering::Relaxed),
            counters.processed.events.load(Ordering::Relaxed),
        );
        tracing::info!(
            t = format!("{:.0}s", started.elapsed().as_secs_f64()),
            kinesis = now.0,
            sqs = now.1,
            s3 = now.2,
            kinesis_per_s = now.0 - last.0,
            sqs_per_s = now.1 - last.1,
            s3_per_s = now.2 - last.2,
            lag_ms = counters.bridged.millis_behind.load(Ordering::Relaxed),
            objects = counters.lake.objects.load(Ordering::Relaxed),
            "progress"
        );
        last = now;
        let sample = Sample {
            at_ms: started.elapsed().as_millis() as u64,
            kinesis: now.0,
            sqs: now.1,
            s3: now.2,
        };
        samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(sample);
    }
}
