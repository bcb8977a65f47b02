//! Live progress of a run.
//!
//! Live progress of a run: a bar per stage (events, events/s, the bridge's lag) when stderr is
//! a terminal, and a log line a second (`TICKFLOW_LOG=info`) in any case.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use std::time::{Duration, Instant};

use tickflow_pipeline::bridge::BridgeStats;
use tickflow_pipeline::control::{Control, Phase};
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

/// Samples every second (into `samples`, for the report's throughput plot), logs them and
/// draws them, until `control` reaches [`Phase::Drain`]. `total` is the number of events
/// expected, when known.
pub async fn report(
    counters: Counters,
    started: Instant,
    samples: Arc<Mutex<Vec<Sample>>>,
    total: Option<u64>,
    mut control: Control,
) {
    let bars = Bars::new(total);
    let mut last = (0, 0, 0);
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = control.reached(Phase::Drain) => return,
        }
        let now = (
            counters.produced.user_records.load(Ordering::Relaxed),
            counters.bridged.user_records.load(Ordering::Relaxed),
            counters.processed.events.load(Ordering::Relaxed),
        );
        let rates = (now.0 - last.0, now.1 - last.1, now.2 - last.2);
        tracing::info!(
            t = format!("{:.0}s", started.elapsed().as_secs_f64()),
            kinesis = now.0,
            sqs = now.1,
            s3 = now.2,
            kinesis_per_s = rates.0,
            sqs_per_s = rates.1,
            s3_per_s = rates.2,
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
        if let Some(bars) = &bars {
            let lag_ms = counters.bridged.millis_behind.load(Ordering::Relaxed);
            bars.update(sample, rates, lag_ms);
        }
    }
}

/// The terminal bars; `None` when stderr is not a terminal.
struct Bars {
    stages: [indicatif::ProgressBar; 3],
    _group: indicatif::MultiProgress,
}

impl Bars {
    fn new(total: Option<u64>) -> Option<Self> {
        use std::io::IsTerminal as _;
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let group = indicatif::MultiProgress::new();
        let style = indicatif::ProgressStyle::with_template(
            "{prefix:>8} [{bar:40}] {pos:>9}/{len:9} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
        let stages = ["Kinesis", "SQS", "S3"].map(|name| {
            let bar = group.add(indicatif::ProgressBar::new(total.unwrap_or(0)));
            bar.set_style(style.clone());
            bar.set_prefix(name);
            bar
        });
        Some(Self {
            stages,
            _group: group,
        })
    }

    fn update(&self, sample: Sample, rates: (u64, u64, u64), lag_ms: u64) {
        let [kinesis, sqs, s3] = &self.stages;
        for (bar, position) in [
            (kinesis, sample.kinesis),
            (sqs, sample.sqs),
            (s3, sample.s3),
        ] {
            if bar.length() < Some(position) {
                bar.set_length(position); // unknown totals (duration-bound loads) grow with the run
            }
            bar.set_position(position);
        }
        kinesis.set_message(format!("{}/s", rates.0));
        sqs.set_message(format!("{}/s, lag {lag_ms} ms", rates.1));
        s3.set_message(format!("{}/s", rates.2));
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        for bar in &self.stages {
            bar.finish_and_clear();
        }
    }
}
