//! One pipeline run, start to finish: provision, start every stage, feed the generated (and
//! fault-injected) events, drain stage by stage, observe, reconcile, announce, tear down.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::bridge::{Bridge, Checkpoints};
use tickflow_pipeline::control::{self, Controller, Phase};
use tickflow_pipeline::event::MarketEvent;
use tickflow_pipeline::lake::Lake;
use tickflow_pipeline::notify::Notifier;
use tickflow_pipeline::processor::{EnrichHandler, EventSourceMapping};
use tickflow_pipeline::producer::{Outgoing, Producer};
use tickflow_pipeline::source::{Generator, GeneratorConfig};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::faults::{Fate, FaultSettings, Injector};
use crate::latency::LatencyHistogram;
use crate::load::LoadPlan;
use crate::observe;
use crate::reconcile::{Found, Ledger, Reconciliation};
use crate::replay::{self, Item, Pace, ReplaySpec};
use crate::report::{RunReport, SnsCounts, StageTimes};
use crate::settings::PipelineSettings;
use crate::topology::{new_run_id, Provisioned, Topology};

/// Where a run's events come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Source {
    /// The deterministic generator.
    Generate(GeneratorConfig),
    /// A recorded or CSV data set.
    Replay(ReplaySpec),
}

/// Everything a run needs to know.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunConfig {
    /// Name in reports and in the run-status subject (`<name>_Pipeline_Success`).
    pub name: String,
    /// The events to feed.
    pub source: Source,
    /// Seeds fault injection.
    pub seed: u64,
    /// Arrival schedule; the default feeds as fast as the pipeline takes events.
    pub load: LoadPlan,
    /// The pipeline's tunables.
    pub pipeline: PipelineSettings,
    /// Faults to inject.
    pub faults: FaultSettings,
    /// Keep the run's resources for inspection instead of tearing them down.
    pub keep_resources: bool,
    /// Longest any stage may take to drain.
    pub drain_timeout: Duration,
}

impl RunConfig {
    /// A run of `events` events from `seed` with default settings.
    pub fn new(name: impl Into<String>, events: u64, seed: u64) -> Self {
        Self {
            name: name.into(),
            source: Source::Generate(GeneratorConfig {
                events,
                seed,
                ..GeneratorConfig::default()
            }),
            seed,
            load: LoadPlan::default(),
            pipeline: PipelineSettings::default(),
            faults: FaultSettings::default(),
            keep_resources: false,
            drain_timeout: Duration::from_secs(600),
        }
    }
}

/// Runs the pipeline once against `clients`' endpoint and reports what happened.
///
/// # Errors
/// Provisioning or a stage failing, or a stage not draining within the timeout. A run whose
/// reconciliation fails is not an error: the report says so.
pub async fn run(clients: &Clients, config: &RunConfig) -> Result<RunReport> {
    let started = Instant::now();
    let calls_before = clients.calls.snapshot();
    let topology = Topology {
        shards: config.pipeline.shards,
        max_receive_count: config.pipeline.max_receive_count,
        visibility_timeout_secs: config.pipeline.visibility_timeout_secs,
        ..Topology::with_run_id(new_run_id())
    };
    let provisioned = topology.provision(clients).await?;
    let outcome = drive(clients, config, &topology, &provisioned, started)
        .await
        .map(|mut report| {
            report.aws_calls = crate::report::calls_since(&calls_before, &clients.calls.snapshot());
            report
        });
    if config.keep_resources {
        tracing::info!(run = %topology.run_id, "keeping the run's resources");
    } else if let Err(e) = topology.teardown(clients, &provisioned).await {
        tracing::warn!(error = %e, "teardown failed; the next run is unaffected (unique names)");
    }
    outcome
}

/// Stops every stage when dropped early (an error, Ctrl-C), so no task outlives the run.
struct Stages {
    controllers: Vec<Controller>,
}

impl Drop for Stages {
    fn drop(&mut self) {
        for c in &self.controllers {
            c.set(Phase::Stop);
        }
    }
}

async fn drive(
    clients: &Clients,
    config: &RunConfig,
    topology: &Topology,
    provisioned: &Provisioned,
    started: Instant,
) -> Result<RunReport> {
    let res = &provisioned.resources;
    let settings = &config.pipeline;
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
        Some(notifier.clone()),
        settings.watch(),
        config.faults.handler_faults(config.seed),
    ));
    let handler_stats = handler.stats();

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
    let (tx, rx) = mpsc::channel::<Outgoing>(8_192);
    let producer_task = tokio::spawn(producer.run(rx));
    let stages = Stages {
        controllers: vec![bridge_ctl, esm_ctl],
    };
    let samples = Arc::new(std::sync::Mutex::new(Vec::new()));
    let progress = tokio::spawn(crate::progress::report(
        crate::progress::Counters {
            produced: producer_stats.clone(),
            bridged: bridge_stats.clone(),
            processed: handler_stats.clone(),
            lake: lake_stats.clone(),
        },
        started,
        samples.clone(),
        match &config.source {
            Source::Generate(g) if config.load.duration_secs.is_none() => Some(g.events),
            _ => None,
        },
    ));

    // Feed.
    let (items, pace): (Box<dyn Iterator<Item = Item> + Send>, Pace) = match &config.source {
        Source::Generate(g) => (
            Box::new(Generator::new(g.clone()).map(Item::Event)),
            Pace::Full,
        ),
        Source::Replay(spec) => (replay::open(spec)?, spec.pace),
    };
    let mut ledger = Ledger::new();
    let mut injector = Injector::new(config.faults, config.seed);
    let feed_started = Instant::now();
    let mut first_time = None;
    let (mut duplicates_sent, mut unparsed_records) = (0u64, 0u64);
    'feed: for (i, item) in items.enumerate() {
        if config.load.over(feed_started.elapsed()) {
            break;
        }
        let mut due = config.load.due(i as u64);
        if let (Pace::Scaled(factor), Some(t)) = (pace, replay::item_time(&item)) {
            let first = *first_time.get_or_insert(t);
            let paced = Duration::from_secs_f64((t - first).max(0) as f64 / 1_000.0 / factor);
            due = Some(due.map_or(paced, |d| d.max(paced)));
        }
        if let Some(wait) = due.and_then(|d| d.checked_sub(feed_started.elapsed())) {
            tokio::time::sleep(wait).await;
        }
        let (key, records) = match item {
            Item::Event(event) => {
                let (fate, records) = injector.apply(&event);
                ledger.record(event.id(), fate);
                duplicates_sent += records.len() as u64 - 1;
                (partition_key(&event), records)
            }
            Item::Raw {
                partition_key,
                data,
                origin,
            } => {
                tracing::debug!(%origin, "replaying a record that is not a valid event");
                unparsed_records += 1;
                (partition_key, vec![data])
            }
        };
        for data in records {
            let outgoing = Outgoing {
                partition_key: key.clone(),
                data,
            };
            if tx.send(outgoing).await.is_err() {
                break 'feed; // the producer ended early: its error is reported below
            }
        }
    }
    drop(tx);
    let limit = config.drain_timeout;
    join("producer", producer_task, limit).await?;
    let produced = started.elapsed();
    stages.controllers[0].set(Phase::Drain);
    join("bridge", bridge_task, limit).await?;
    let bridged = started.elapsed();
    stages.controllers[1].set(Phase::Drain);
    join("processor", esm_task, limit).await?;
    handler.finish().await;
    drop(handler);
    join("lake writer", lake_task, limit).await?;
    let processed = started.elapsed();
    progress.abort();
    let mut timeline = std::mem::take(
        &mut *samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    timeline.push(crate::progress::Sample {
        at_ms: processed.as_millis() as u64,
        kinesis: producer_stats
            .user_records
            .load(std::sync::atomic::Ordering::Relaxed),
        sqs: bridge_stats
            .user_records
            .load(std::sync::atomic::Ordering::Relaxed),
        s3: handler_stats
            .events
            .load(std::sync::atomic::Ordering::Relaxed),
    });
    drop(stages);

    // Observe and judge.
    let reading = Instant::now();
    // The DLQ read ends with a 1 s long poll on an empty queue: do it while the lake is read.
    let (mut contents, dlq_bodies) = tokio::try_join!(
        observe::read_lake(clients, &res.bucket),
        observe::receive_all(clients, &res.dlq_url, false)
    )?;
    tracing::info!(
        rows = contents.written_at.len(),
        secs = reading.elapsed().as_secs_f64(),
        "read the lake and the DLQ back"
    );
    let mut found = Found {
        lake: std::mem::take(&mut contents.ids),
        quarantined_ids: std::mem::take(&mut contents.quarantined_ids),
        quarantine_rows: contents.quarantine_rows,
        ..Found::default()
    };
    observe::dead_letters(&dlq_bodies, &mut found);
    let reconciliation = Reconciliation::of(&ledger, &found);
    tracing::info!(
        secs = reading.elapsed().as_secs_f64(),
        "lake read and reconciled"
    );
    let main_queue = observe::queue_depth(clients, &res.queue_url).await?;
    let dlq_depth = observe::queue_depth(clients, &res.dlq_url).await?;
    let latencies: LatencyHistogram = contents
        .written_at
        .iter()
        .filter_map(|(id, at)| ledger.sent_at_ms(id).map(|sent| (at - sent).max(0) as u64))
        .collect();
    let latency_histogram = latencies.buckets();
    let latency = latencies.summary();

    let passed = reconciliation.holds();
    let elapsed = started.elapsed();
    let summary = serde_json::json!({
        "run": config.name,
        "run_id": topology.run_id,
        "reconciliation": reconciliation,
        "elapsed_secs": elapsed.as_secs_f64(),
    });
    notifier.run_status(&config.name, passed, &summary).await?;

    // SNS deliveries, as the subscribed queues received them.
    let objects: u64 = contents.partitions.values().map(|p| p.objects).sum();
    let subs = &provisioned.subscriptions;
    let settle = Duration::from_secs(10);
    observe::wait_for_messages(clients, &subs.new_data, objects, settle).await;
    observe::wait_for_messages(clients, &subs.run_status, 1, settle).await;
    let new_data = observe::receive_all(clients, &subs.new_data, true).await?;
    let alerts =
        observe::deliveries(&observe::receive_all(clients, &subs.price_alert, true).await?);
    let status = observe::deliveries(&observe::receive_all(clients, &subs.run_status, true).await?);

    Ok(RunReport {
        name: config.name.clone(),
        run_id: topology.run_id.clone(),
        passed,
        reconciliation,
        expected_quarantine: ledger.count(Fate::Malformed) as u64,
        expected_poison: ledger.count(Fate::Poison) as u64,
        duplicates_sent,
        unparsed_records,
        partitions: contents.partitions,
        quarantine_reasons: contents.quarantine_reasons,
        quarantine_rows: contents.quarantine_rows,
        dead_lettered_records: found.dead_lettered_records,
        rows_missing_fields: contents.rows_missing_fields,
        main_queue,
        dlq: dlq_depth,
        dlq_messages: dlq_bodies.len() as u64,
        sns: SnsCounts {
            new_data: new_data.len() as u64,
            price_alert: alerts.len() as u64,
            run_status: status.len() as u64,
            run_status_subjects: status.into_iter().map(|d| d.subject).collect(),
            alert_symbols: alerts
                .into_iter()
                .map(|d| alert_symbol(&d.message))
                .collect(),
        },
        latency_ms: latency,
        latency_histogram,
        timeline,
        times: StageTimes {
            produced_secs: produced.as_secs_f64(),
            bridged_secs: bridged.as_secs_f64(),
            processed_secs: processed.as_secs_f64(),
            total_secs: elapsed.as_secs_f64(),
        },
        stats: crate::report::StageStats::collect(
            &producer_stats,
            &bridge_stats,
            &esm_stats,
            &handler_stats,
            &lake_stats,
        ),
        elapsed_secs: elapsed.as_secs_f64(),
        resources: crate::report::ResourceUse::now(),
        aws_calls: BTreeMap::new(),
    })
}

/// The Kinesis partition key: the instrument, so that each one stays ordered on one shard.
fn partition_key(event: &MarketEvent) -> String {
    event.instrument().to_string()
}

fn alert_symbol(message: &str) -> String {
    serde_json::from_str::<serde_json::Value>(message)
        .ok()
        .and_then(|v| v["symbol"].as_str().map(str::to_string))
        .unwrap_or_default()
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
