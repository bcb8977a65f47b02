//! The pipeline's stages for one run: wired to the run's resources, started as tokio tasks,
//! drained one after the other, and stopped if the run ends early.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::bridge::{Bridge, BridgeStats, Checkpoints};
use tickflow_pipeline::control::{self, Controller, Phase};
use tickflow_pipeline::lake::{Lake, LakeStats};
use tickflow_pipeline::notify::Notifier;
use tickflow_pipeline::processor::esm::EsmStats;
use tickflow_pipeline::processor::handler::HandlerStats;
use tickflow_pipeline::processor::{EnrichHandler, EventSourceMapping};
use tickflow_pipeline::producer::{Outgoing, Producer, ProducerStats};
use tickflow_pipeline::resources::Resources;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::faults::FaultSettings;
use crate::report::{StageStats, StageTimes};
use crate::settings::PipelineSettings;

/// Events the feed may queue ahead of the producer.
const FEED_BUFFER: usize = 8_192;

/// The running stages.
pub(super) struct Stages {
    producer: JoinHandle<tickflow_pipeline::Result<()>>,
    bridge: JoinHandle<tickflow_pipeline::Result<()>>,
    esm: JoinHandle<tickflow_pipeline::Result<()>>,
    lake: JoinHandle<tickflow_pipeline::Result<()>>,
    handler: Arc<EnrichHandler>,
    guard: StopOnDrop,
    /// Every stage's live counters.
    pub(super) stats: Stats,
}

/// Every stage's live counters.
#[derive(Clone)]
pub(super) struct Stats {
    pub(super) producer: Arc<ProducerStats>,
    pub(super) bridge: Arc<BridgeStats>,
    pub(super) esm: Arc<EsmStats>,
    pub(super) handler: Arc<HandlerStats>,
    pub(super) lake: Arc<LakeStats>,
}

impl Stats {
    /// What the progress display reads.
    pub(super) fn counters(&self) -> crate::progress::Counters {
        crate::progress::Counters {
            produced: self.producer.clone(),
            bridged: self.bridge.clone(),
            processed: self.handler.clone(),
            lake: self.lake.clone(),
        }
    }

    /// Events through each stage so far, as the throughput plot samples them.
    pub(super) fn sample(&self, at_ms: u64) -> crate::progress::Sample {
        use std::sync::atomic::Ordering::Relaxed;
        crate::progress::Sample {
            at_ms,
            kinesis: self.producer.user_records.load(Relaxed),
            sqs: self.bridge.user_records.load(Relaxed),
            s3: self.handler.events.load(Relaxed),
        }
    }

    /// A snapshot of the counters.
    pub(super) fn collect(&self) -> StageStats {
        StageStats::collect(
            &self.producer,
            &self.bridge,
            &self.esm,
            &self.handler,
            &self.lake,
        )
    }
}

/// Stops the bridge and the processor when dropped early (an error, Ctrl-C), so no task
/// outlives the run.
struct StopOnDrop {
    bridge: Controller,
    esm: Controller,
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.bridge.set(Phase::Stop);
        self.esm.set(Phase::Stop);
    }
}

impl Stages {
    /// Starts every stage against `res`; returns them and the sender that feeds the producer.
    pub(super) fn start(
        clients: &Clients,
        res: &Resources,
        settings: &PipelineSettings,
        faults: &FaultSettings,
        seed: u64,
    ) -> (Self, mpsc::Sender<Outgoing>) {
        let notifier = Notifier::new(clients.clone(), res.topics.clone());
        let (lake, lake_task) = Lake::spawn(
            clients.clone(),
            res.bucket.clone(),
            settings.lake(),
            Some(notifier.clone()),
        );
        let lake_stats = lake.stats();
        let handler = Arc::new(EnrichHandler::new(
            lake,
            Some(notifier),
            settings.watch(),
            faults.handler_faults(seed),
        ));
        let (esm_ctl, esm_control) = control::channel();
        let esm = EventSourceMapping::new(
            clients.clone(),
            &res.queue_url,
            settings.esm(),
            handler.clone(),
        );
        let esm_stats = esm.stats();
        let esm_task = tokio::spawn(esm.run(esm_control));
        let (bridge_ctl, bridge_control) = control::channel();
        let bridge = Bridge::new(
            clients.clone(),
            &res.stream,
            &res.queue_url,
            settings.bridge(),
            Checkpoints::default(),
        );
        let bridge_stats = bridge.stats();
        let bridge_task = tokio::spawn(bridge.run(bridge_control));
        let producer = Producer::new(clients.clone(), &res.stream, settings.producer());
        let producer_stats = producer.stats();
        let (tx, rx) = mpsc::channel::<Outgoing>(FEED_BUFFER);
        let producer_task = tokio::spawn(producer.run(rx));
        let stages = Stages {
            stats: Stats {
                producer: producer_stats,
                bridge: bridge_stats,
                esm: esm_stats,
                handler: handler.stats(),
                lake: lake_stats,
            },
            producer: producer_task,
            bridge: bridge_task,
            esm: esm_task,
            lake: lake_task,
            handler,
            guard: StopOnDrop {
                bridge: bridge_ctl,
                esm: esm_ctl,
            },
        };
        (stages, tx)
    }

    /// Drains stage after stage once the feed has ended (its sender dropped): the producer
    /// empties into Kinesis, the bridge reads every shard dry, the processor empties the queue,
    /// the price watch closes its windows, the lake flushes. Each may take up to `limit`.
    ///
    /// # Errors
    /// A stage that failed, or did not drain within `limit`.
    pub(super) async fn drain(self, started: Instant, limit: Duration) -> Result<StageTimes> {
        join("producer", self.producer, limit).await?;
        let produced = started.elapsed();
        self.guard.bridge.set(Phase::Drain);
        join("bridge", self.bridge, limit).await?;
        let bridged = started.elapsed();
        self.guard.esm.set(Phase::Drain);
        join("processor", self.esm, limit).await?;
        self.handler.finish().await;
        drop(self.handler);
        join("lake writer", self.lake, limit).await?;
        Ok(StageTimes {
            produced_secs: produced.as_secs_f64(),
            bridged_secs: bridged.as_secs_f64(),
            processed_secs: started.elapsed().as_secs_f64(),
            total_secs: 0.0,
        })
    }
}

async fn join(
    stage: &str,
    task: JoinHandle<tickflow_pipeline::Result<()>>,
    limit: Duration,
) -> Result<()> {
    match tokio::time::timeout(limit, task).await {
        Err(_) => Err(Error::Timeout {
            what: format!("the {stage} to drain"),
            after: limit,
        }),
        Ok(Err(e)) => Err(Error::Stage {
            stage: stage.to_string(),
            reason: e.to_string(),
        }),
        Ok(Ok(result)) => result.map_err(Error::from),
    }
}
