//! The pipeline's stages for one run, wired, started and drained.
//!
//! The pipeline's stages for one run: wired to the run's resources, started as tokio tasks,
//! restarted from durable state when a fault schedule crashes them, drained one after the
//! other, and stopped if the run ends early.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tickflow_pipeline::history::Tap;

use futures_util::FutureExt as _;
use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::bridge::{Bridge, BridgeStats, Checkpoints, Sink};
use tickflow_pipeline::chaos::{Chaos, Stage};
use tickflow_pipeline::control::Control;
use tickflow_pipeline::esm::{EsmStats, EventSourceMapping};
use tickflow_pipeline::lake::{Lake, LakeStats};
use tickflow_pipeline::notify::PriceOutbox;
use tickflow_pipeline::processor::handler::HandlerStats;
use tickflow_pipeline::processor::{EnrichHandler, HandlerFaults};
use tickflow_pipeline::producer::{Outgoing, Producer, ProducerStats};
use tickflow_pipeline::resources::Resources;
use tickflow_pipeline::retry::Backoff;
use tickflow_pipeline::stages::{supervise, StageSet};
use tokio::sync::mpsc;

use super::upstream::{self, Upstream};
use crate::error::{Error, Result};
use crate::flows::stream::judge::sinks::RAW_PREFIX;
use crate::flows::stream::report::{FanOutCounts, RestartCounts, StageStats, StageTimes};
use crate::flows::stream::settings::{Consumer, PipelineSettings};

/// Events the feed may queue ahead of the producer.
const FEED_BUFFER: usize = 8_192;
/// The raw consumer's stage name.
const RAW_STAGE: &str = "raw consumer";
/// The Firehose consumer's stage name.
const FIREHOSE_STAGE: &str = "firehose consumer";

/// The running stages: producer, bridge and processor, drained in that order and stopped when
/// dropped.
pub(super) struct Stages {
    set: StageSet,
    /// Every stage's live counters.
    pub(super) stats: Stats,
}

/// Times each stage was started again after a crash.
#[derive(Debug, Default)]
pub struct Restarts {
    /// Producer restarts.
    pub producer: AtomicU64,
    /// Bridge restarts.
    pub bridge: AtomicU64,
    /// Processor restarts.
    pub processor: AtomicU64,
    /// Raw consumer restarts.
    pub raw: AtomicU64,
    /// Firehose consumer restarts.
    pub firehose: AtomicU64,
}

/// Every stage's live counters.
#[derive(Clone, Default)]
pub(super) struct Stats {
    pub(super) producer: Arc<ProducerStats>,
    pub(super) bridge: Arc<BridgeStats>,
    pub(super) esm: Arc<EsmStats>,
    pub(super) handler: Arc<HandlerStats>,
    pub(super) lake: Arc<LakeStats>,
    pub(super) restarts: Arc<Restarts>,
    /// The raw consumer's counters (a bridge's, delivering to S3).
    pub(super) raw: Arc<BridgeStats>,
    /// The Firehose consumer's counters (a bridge's, delivering to Firehose).
    pub(super) firehose: Arc<BridgeStats>,
}

impl Stats {
    /// What the progress display reads.
    pub(super) fn counters(&self) -> crate::flows::stream::progress::Counters {
        crate::flows::stream::progress::Counters {
            produced: self.producer.clone(),
            bridged: self.bridge.clone(),
            processed: self.handler.clone(),
            lake: self.lake.clone(),
        }
    }

    /// A number that grows whenever any stage moves an event on (puts, sends, invocations,
    /// deletes, writes, restarts): what the liveness watchdog watches.
    pub(super) fn moved(&self) -> u64 {
        use std::sync::atomic::Ordering::Relaxed;
        let restarts = &self.restarts;
        [
            self.producer.user_records.load(Relaxed),
            self.bridge.user_records.load(Relaxed),
            self.raw.messages.load(Relaxed),
            self.firehose.messages.load(Relaxed),
            self.esm.invocations.load(Relaxed),
            self.esm.deleted.load(Relaxed),
            self.handler.events.load(Relaxed),
            self.handler.duplicates.load(Relaxed),
            self.lake.objects.load(Relaxed),
            restarts.producer.load(Relaxed),
            restarts.bridge.load(Relaxed),
            restarts.processor.load(Relaxed),
            restarts.raw.load(Relaxed),
            restarts.firehose.load(Relaxed),
        ]
        .iter()
        .fold(0u64, |sum, n| sum.wrapping_add(*n))
    }

    /// Events through each stage so far, as the throughput plot samples them.
    pub(super) fn sample(&self, at_ms: u64) -> crate::flows::stream::progress::Sample {
        use std::sync::atomic::Ordering::Relaxed;
        crate::flows::stream::progress::Sample {
            at_ms,
            kinesis: self.producer.user_records.load(Relaxed),
            sqs: self.bridge.user_records.load(Relaxed),
            s3: self.handler.events.load(Relaxed),
        }
    }

    /// The records the Firehose consumer delivered and left unacknowledged when it crashed,
    /// by digest, each as many times as it was left so.
    pub(super) fn redelivered(&self) -> std::collections::HashMap<crate::verdict::Digest, u32> {
        let records = self
            .firehose
            .redelivered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut by_digest = std::collections::HashMap::new();
        for record in records.iter() {
            *by_digest.entry(crate::verdict::digest(record)).or_default() += 1;
        }
        by_digest
    }

    /// A snapshot of the counters.
    pub(super) fn collect(&self) -> StageStats {
        let mut stats = StageStats::collect(
            &self.producer,
            &self.bridge,
            &self.esm,
            &self.handler,
            &self.lake,
        );
        stats.restarts = RestartCounts {
            producer: self.restarts.producer.load(Ordering::Relaxed),
            bridge: self.restarts.bridge.load(Ordering::Relaxed),
            processor: self.restarts.processor.load(Ordering::Relaxed),
            raw: self.restarts.raw.load(Ordering::Relaxed),
            firehose: self.restarts.firehose.load(Ordering::Relaxed),
        };
        stats.fan_out = FanOutCounts {
            lake_read_bytes: self.bridge.kinesis_bytes.load(Ordering::Relaxed),
            raw_read_bytes: self.raw.kinesis_bytes.load(Ordering::Relaxed),
            firehose_read_bytes: self.firehose.kinesis_bytes.load(Ordering::Relaxed),
            raw_objects: self.raw.messages.load(Ordering::Relaxed),
            firehose_calls: self.firehose.messages.load(Ordering::Relaxed),
            firehose_unacknowledged: self.firehose.unacknowledged.load(Ordering::Relaxed),
        };
        stats
    }
}

/// What every start of a stage is built from: nothing a crashed instance held in memory.
#[derive(Clone)]
struct Wiring {
    clients: Clients,
    resources: Resources,
    settings: PipelineSettings,
    handler_faults: HandlerFaults,
    chaos: Option<Arc<Chaos>>,
    /// Where the bridge and the processor report the events they saw (the run's history).
    tap: Option<Arc<dyn Tap>>,
    stats: Stats,
}

impl Stages {
    /// Starts every stage against `res`; returns them and the sender that feeds the producer.
    /// With a `chaos` schedule, the stages' AWS calls suffer its faults and its crashes restart
    /// them; with a `tap`, the bridge and the processor report the events they saw.
    pub(super) fn start(
        clients: &Clients,
        res: &Resources,
        settings: &PipelineSettings,
        handler_faults: HandlerFaults,
        (chaos, tap): (Option<Arc<Chaos>>, Option<Arc<dyn Tap>>),
    ) -> (Self, mpsc::Sender<Outgoing>) {
        let wiring = Wiring {
            clients: clients.faulted_by(chaos.as_ref()),
            resources: res.clone(),
            settings: settings.clone(),
            handler_faults,
            chaos,
            tap,
            stats: Stats::default(),
        };
        let (tx, rx) = mpsc::channel::<Outgoing>(FEED_BUFFER);
        let mut set = StageSet::new();
        // The producer drains when its input closes (the feed is done).
        let producer = match &wiring.chaos {
            Some(chaos) if chaos.crashes(Stage::Producer) => {
                wiring.clone().run_producer(rx).boxed()
            }
            _ => wiring.producer().run(rx).boxed(),
        };
        set.start("producer", |_| producer);
        let bridge = wiring.clone();
        set.start("bridge", |control| bridge.run_bridge(control));
        let processor = wiring.clone();
        set.start("processor", |control| processor.run_processor(control));
        if settings.has(Consumer::Raw) {
            let raw = wiring.clone();
            set.start(RAW_STAGE, |control| raw.run_raw(control));
        }
        if settings.has(Consumer::Firehose) {
            let firehose = wiring.clone();
            set.start(FIREHOSE_STAGE, |control| firehose.run_firehose(control));
        }
        let stages = Stages {
            stats: wiring.stats,
            set,
        };
        (stages, tx)
    }

    /// Resolves with the error of the first stage that ends while the run is still feeding
    /// (a stage ends early only when it cannot go on): the run stops at once with it, instead
    /// of waiting for a drain that cannot come.
    /// The first stage that fails (or ends) before the stages are drained.
    pub(super) async fn failure(&mut self) -> Error {
        self.set.failure().await.into()
    }

    /// The stages, in the order they drain.
    pub(super) fn names(&self) -> Vec<&'static str> {
        self.set.names()
    }

    /// Drains the producer, then the bridge, then the processor, each within `limit`, entering
    /// each in `drained` with when it finished, in seconds from `started`.
    ///
    /// # Errors
    /// A stage that fails, ends early or does not drain in time.
    pub(super) async fn drain(
        self,
        started: Instant,
        limit: Duration,
        drained: &std::sync::Mutex<Drained>,
    ) -> Result<()> {
        self.set
            .drain(limit, |name| {
                let mut drained = drained.lock().unwrap_or_else(|e| e.into_inner());
                drained.push((name, started.elapsed().as_secs_f64()));
            })
            .await?;
        Ok(())
    }
}

/// The stages drained so far, each with when it finished (seconds from the run's start).
pub(super) type Drained = Vec<(&'static str, f64)>;

/// When each stage drained; a stage that did not (the run was declared stuck) at `otherwise`.
pub(super) fn times(drained: &Drained, otherwise: f64) -> StageTimes {
    let of = |stage: &str| {
        drained
            .iter()
            .find(|(name, _)| *name == stage)
            .map(|(_, s)| *s)
    };
    StageTimes {
        stages_started_secs: 0.0,
        produced_secs: of("producer").unwrap_or(otherwise),
        bridged_secs: of("bridge").unwrap_or(otherwise),
        processed_secs: of("processor").unwrap_or(otherwise),
        raw_secs: of(RAW_STAGE),
        firehose_secs: of(FIREHOSE_STAGE),
        total_secs: 0.0,
    }
}

impl Wiring {
    fn producer(&self) -> Producer {
        let producer = Producer::new(
            self.clients.clone(),
            &self.resources.stream,
            self.settings.producer(),
        )
        .with_stats(self.stats.producer.clone());
        let producer = match &self.tap {
            Some(tap) => producer.with_tap(tap.clone()),
            None => producer,
        };
        match &self.chaos {
            Some(chaos) => producer.with_chaos(chaos.clone()),
            None => producer,
        }
    }

    /// The producer, when the schedule crashes it: fed through an [`Upstream`] that keeps what
    /// it has not acknowledged at a checkpoint barrier, and started again after each crash with
    /// fresh memory, from those records.
    async fn run_producer(self, feed: mpsc::Receiver<Outgoing>) -> tickflow_pipeline::Result<()> {
        let mut upstream = Upstream::new(feed);
        loop {
            let acknowledged = upstream::counter();
            let producer = self
                .producer()
                .with_checkpoints(upstream::BARRIER_EVERY, acknowledged.clone());
            let (tx, rx) = mpsc::channel::<Outgoing>(FEED_BUFFER);
            let task = tokio::spawn(producer.run(rx));
            upstream.hand_over(tx, &acknowledged).await;
            let ended = task
                .await
                .map_err(|e| tickflow_pipeline::Error::Stage(format!("producer task: {e}")))?;
            match ended {
                Err(tickflow_pipeline::Error::Crashed(_)) => {
                    self.stats.restarts.producer.fetch_add(1, Ordering::Relaxed);
                    tracing::info!("restarting the producer from its upstream's checkpoint");
                }
                other => return other,
            }
        }
    }

    /// The bridge, started again after each crash with fresh memory: it resumes from its
    /// durable checkpoints in the state bucket.
    async fn run_bridge(self, control: Control) -> tickflow_pipeline::Result<()> {
        let restarts = &self.stats.restarts.bridge;
        supervise(Stage::Bridge, restarts, || {
            let checkpoints = Checkpoints::in_s3(
                self.clients.clone(),
                &self.resources.state_bucket,
                format!("checkpoints/{}/", self.resources.stream),
            );
            let mut bridge = Bridge::new(
                self.clients.clone(),
                &self.resources.stream,
                &self.resources.queue_url,
                self.settings.bridge(),
                checkpoints,
            )
            .with_stats(self.stats.bridge.clone());
            if let Some(chaos) = &self.chaos {
                bridge = bridge.with_chaos(chaos.clone());
            }
            if let Some(tap) = &self.tap {
                bridge = bridge.with_tap(tap.clone());
            }
            bridge.run(control.clone())
        })
        .await
    }

    /// The raw consumer: stores each batch as one object under `raw/` in the state bucket (a
    /// batch read again after a crash overwrites its own object).
    async fn run_raw(self, control: Control) -> tickflow_pipeline::Result<()> {
        let sink = Sink::Raw {
            bucket: self.resources.state_bucket.clone(),
            prefix: RAW_PREFIX.into(),
        };
        let (stats, restarts) = (&self.stats.raw, &self.stats.restarts.raw);
        self.run_consumer(Stage::Raw, sink, stats, restarts, control)
            .await
    }

    /// The Firehose consumer: forwards each batch to the run's delivery stream (a batch read
    /// again after a crash is forwarded again: at-least-once).
    async fn run_firehose(self, control: Control) -> tickflow_pipeline::Result<()> {
        let Some(delivery_stream) = self.resources.delivery_stream.clone() else {
            return Err(tickflow_pipeline::Error::Stage(
                "the firehose consumer has no delivery stream provisioned".into(),
            ));
        };
        let sink = Sink::Firehose { delivery_stream };
        let (stats, restarts) = (&self.stats.firehose, &self.stats.restarts.firehose);
        self.run_consumer(Stage::Firehose, sink, stats, restarts, control)
            .await
    }

    /// A fan-out consumer: a reader of every shard with checkpoints of its own
    /// (`consumers/<stage>/checkpoints/<stream>/` in the state bucket) delivering to `sink`;
    /// started again after each crash, it resumes from those checkpoints.
    async fn run_consumer(
        &self,
        stage: Stage,
        sink: Sink,
        stats: &Arc<BridgeStats>,
        restarts: &AtomicU64,
        control: Control,
    ) -> tickflow_pipeline::Result<()> {
        supervise(stage, restarts, || {
            let res = &self.resources;
            let checkpoints = Checkpoints::in_s3(
                self.clients.clone(),
                &res.state_bucket,
                format!("consumers/{}/checkpoints/{}/", stage.name(), res.stream),
            );
            let config = self.settings.bridge();
            let sink = sink.clone();
            let mut consumer =
                Bridge::to_sink(self.clients.clone(), &res.stream, sink, config, checkpoints)
                    .with_stats(stats.clone());
            if let Some(chaos) = &self.chaos {
                consumer = consumer.with_chaos(chaos.clone());
            }
            consumer.run(control.clone())
        })
        .await
    }

    /// The processor (event source mapping, handler and lake writer: one process), started
    /// again after each crash with fresh memory: it takes what the lake holds as written.
    async fn run_processor(self, control: Control) -> tickflow_pipeline::Result<()> {
        let restarts = &self.stats.restarts.processor;
        supervise(Stage::Processor, restarts, || {
            self.processor_once(control.clone())
        })
        .await
    }

    async fn processor_once(&self, control: Control) -> tickflow_pipeline::Result<()> {
        let res = &self.resources;
        let (lake, mut lake_task) = Lake::spawn_counting(
            self.clients.clone(),
            res.bucket.clone(),
            self.settings.lake(),
            self.stats.lake.clone(),
        );
        let outbox = PriceOutbox::new(self.clients.clone(), &res.state_bucket);
        let handler = EnrichHandler::new(
            lake,
            Some(outbox),
            self.settings.watch(),
            self.handler_faults,
        )
        .with_stats(self.stats.handler.clone());
        let handler = match &self.tap {
            Some(tap) => handler.with_tap(tap.clone()),
            None => handler,
        };
        let recovered = Backoff::default()
            .retry("recovering the processor from the lake", || {
                handler.recover(&self.clients, &res.bucket)
            })
            .await
            .map_err(|e| tickflow_pipeline::Error::Stage(e.to_string()))?;
        tracing::debug!(recovered, "processor started");
        let handler = Arc::new(handler);
        let mut esm = EventSourceMapping::new(
            self.clients.clone(),
            &res.queue_url,
            self.settings.esm(),
            handler.clone(),
        )
        .named(&res.function)
        .with_stats(self.stats.esm.clone());
        if let Some(chaos) = &self.chaos {
            esm = esm.with_chaos(chaos.clone(), Stage::Processor);
        }
        let writer_error = |e: tokio::task::JoinError| {
            tickflow_pipeline::Error::Stage(format!("lake writer task: {e}"))
        };
        let outcome = tokio::select! {
            outcome = esm.run(control) => outcome,
            // While the handler holds a handle, the writer ends only when it cannot go on:
            // the processor ends at once with its error, and the run with it.
            written = &mut lake_task => {
                return Err(written.map_err(writer_error)?.err().unwrap_or_else(|| {
                    tickflow_pipeline::Error::Stage("the lake writer ended early".into())
                }));
            }
        };
        let outcome = match outcome {
            Ok(()) => handler
                .finish()
                .await
                .map(drop)
                .map_err(|e| tickflow_pipeline::Error::Stage(e.to_string())),
            failed => failed,
        };
        // The writer ends once its last handle is gone; what was handed to it is written
        // (after a crash too: see the README on what a crash loses).
        drop(handler);
        let written = lake_task.await.map_err(writer_error)?;
        outcome.and(written)
    }
}
