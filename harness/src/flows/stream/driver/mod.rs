//! One stream run, start to finish.
//!
//! One pipeline run, start to finish, as four steps a reader can find one by one: provision the
//! resources, start the [`stages`], [`feed`] them, drain them; then the [`crate::flows::stream::judge::invariants`] reads
//! everything back and gives the verdict, the run status is announced, and the resources are torn
//! down (or kept, to be judged again: [`FinishedStream`]).

pub mod alarms;
mod fan_out;
mod feed;
mod lake_only;
mod moments;
mod source;
mod stages;
mod upstream;
mod watchdog;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::chaos::{Chaos, Fired};
use tickflow_pipeline::notify::{Notifier, WatchConfig};
use tickflow_pipeline::source::GeneratorConfig;
use tickflow_pipeline::stages::StageSet;

use crate::error::Result;
use crate::flows::stream::faults::{Fate, FaultSettings};
use crate::flows::stream::input::arrival::LoadPlan;
use crate::flows::stream::input::web::source::{writer_name, Finished, Tables};
use crate::flows::stream::input::web::{self, WebReport};
use crate::flows::stream::judge::expectations::{Expectations, SomethingSent};
use crate::flows::stream::judge::history::Recorder;
use crate::flows::stream::judge::invariants::{self, Judgement};
use crate::flows::stream::judge::liveness::{Liveness, Stuck};
use crate::flows::stream::judge::reconcile::Ledger;
use crate::flows::stream::judge::{read_back, sinks};
use crate::flows::stream::progress::{self, Sample};
use crate::flows::stream::report::{StageStats, StageTimes, StreamReport};
use crate::flows::stream::resources::topology::{Provisioned, Topology};
use crate::flows::stream::settings::{Consumer, PipelineSettings};
use crate::infra::alarms::AlarmSet;
use crate::infra::postgres::faults::{self as db_faults, DatabaseFaults};
use crate::infra::topology::new_run_id;
use crate::observe;
use crate::verdict::fault_rules;
use crate::verdict::ResourceUse;
use fan_out::SinkReads;
use feed::{Fed, Feed, Input};
use moments::Moments;
pub use source::Source;
use stages::Stages;
use tickflow_pipeline::history::Tap;

/// Everything a run needs to know.
#[derive(Debug, Clone, Serialize)]
pub struct StreamRunConfig {
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
    /// Consume only: read this existing stream (filled by `tickflow produce`, another
    /// producer, or a deployed one) instead of producing. The source is regenerated only to
    /// know what the stream should hold; nothing is put, and the stream is left as it was.
    pub consume_from: Option<String>,
    /// Longest any stage may take to drain.
    pub drain_timeout: Duration,
    /// Keep every event's history (generated events only): where a lost event was last seen,
    /// and distinct events through each stage for the chart. Off saves nine bytes per event
    /// and stage.
    pub history: bool,
    /// The id of the LocalStack container tickflow started for this run, which an outage
    /// fault may pause; `None` for an endpoint tickflow does not own.
    #[serde(skip)]
    pub container: Option<String>,
    /// The id of the PostgreSQL container tickflow started for this run, which a `db_pause`
    /// fault of a web-sourced run pauses; `None` for a server tickflow does not own.
    #[serde(skip)]
    pub postgres_container: Option<String>,
    /// CloudWatch alarms made with the run, and what each must do; with any, the stages
    /// publish their metrics.
    pub alarms: crate::verdict::alarms::Alarms,
    /// A scenario's assertions, part of the verdict the run status announces ([`SomethingSent`]
    /// for a run set by flags).
    #[serde(skip)]
    pub expect: Arc<dyn Expectations>,
}

impl StreamRunConfig {
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
            consume_from: None,
            drain_timeout: Duration::from_secs(600),
            history: true,
            container: None,
            postgres_container: None,
            alarms: crate::verdict::alarms::Alarms::default(),
            expect: Arc::new(SomethingSent),
        }
    }
}

/// Runs the pipeline once against `clients`' endpoint and reports what happened; tears the
/// resources down unless `config.keep_resources`.
///
/// # Errors
/// Provisioning or a stage failing, a source that cannot be read, or a stage not draining within
/// the timeout. A run that breaks an invariant is not an error: the report says FAIL and why.
pub async fn run(clients: &Clients, config: &StreamRunConfig) -> Result<StreamReport> {
    let finished = run_and_keep(clients, config).await?;
    let report = finished.report.clone();
    if config.keep_resources {
        tracing::info!(run = %report.run_id, "keeping the run's resources");
    } else {
        finished.teardown(clients).await;
    }
    Ok(report)
}

/// A finished run whose resources are still there: its report, and what judging it again
/// needs (the resources and the ledger of what was sent).
#[derive(Debug)]
pub struct FinishedStream {
    /// The report of the run as it finished.
    pub report: StreamReport,
    resources: RunResources,
    ledger: Ledger,
    expect: Arc<dyn Expectations>,
    /// The processor's price watch (to judge the alerts again).
    watch: WatchConfig,
    /// The verdict the run status announced.
    announced: bool,
}

/// Everything a run makes that outlives its stages: the AWS topology and the web source's
/// tables, made before the stages start and torn down together, whichever way the run ends.
#[derive(Debug)]
struct RunResources {
    topology: Topology,
    provisioned: Provisioned,
    web_tables: Option<Tables>,
    /// The scenario's alarms, their topic and its queue.
    alarms: Option<AlarmSet>,
}

impl RunResources {
    /// Provisions `config`'s topology and, for a web source, its tables; what was made is torn
    /// down again when a step fails.
    async fn provision(clients: &Clients, config: &StreamRunConfig) -> Result<Self> {
        let topology = Topology {
            shards: config.pipeline.shards,
            max_receive_count: config.pipeline.max_receive_count,
            visibility_timeout_secs: config.pipeline.visibility_timeout_secs,
            firehose: config.pipeline.firehose(),
            existing_stream: config.consume_from.clone(),
            ..Topology::with_run_id(new_run_id())
        };
        let provisioned = topology.provision(clients).await?;
        let mut made = RunResources {
            topology,
            provisioned,
            web_tables: None,
            alarms: None,
        };
        let (run_id, res) = (&made.topology.run_id, &made.provisioned.resources);
        match alarms::provision(clients, run_id, &config.alarms, res).await {
            Ok(set) => made.alarms = set,
            Err(e) => {
                made.teardown(clients).await;
                return Err(e);
            }
        }
        match config.source.provision(&made.topology.run_id).await {
            Ok(tables) => made.web_tables = tables,
            Err(e) => {
                made.teardown(clients).await;
                return Err(e);
            }
        }
        Ok(made)
    }

    /// Deletes everything (a failure is logged: names are unique, so the next run is
    /// unaffected).
    async fn teardown(&self, clients: &Clients) {
        if let Some(tables) = &self.web_tables {
            tables.drop().await;
        }
        if let Some(alarms) = &self.alarms {
            alarms.teardown(clients).await;
        }
        if let Err(e) = self.topology.teardown(clients, &self.provisioned).await {
            tracing::warn!(error = %e, "teardown failed; the next run is unaffected (unique names)");
        }
    }
}

impl FinishedStream {
    /// The run's resources.
    pub fn resources(&self) -> &Provisioned {
        &self.resources.provisioned
    }

    /// Judges the run again from what its resources hold now: the report as it finished, with
    /// the verdict and everything read back replaced. The web source's checks and the extra
    /// sinks' are not read again: their failures carry over, so that judging again cannot turn
    /// them into a PASS.
    ///
    /// # Errors
    /// A failing AWS call.
    pub async fn rejudge(&self, clients: &Clients) -> Result<StreamReport> {
        let (ledger, provisioned) = (&self.ledger, &self.resources.provisioned);
        // Boxed: reading everything back is a large future, too large for a test's stack.
        let judgement = Box::pin(invariants::judge(
            clients,
            ledger,
            provisioned,
            Duration::ZERO,
            self.watch,
            None,
        ))
        .await?;
        let mut report = self.report.clone();
        // Only those checks' own failures: the scenario's assertions are judged again below.
        let not_read_again: Vec<crate::verdict::Failure> = report
            .judged
            .verdict
            .failures()
            .iter()
            .filter(|f| {
                let check = f.check.as_str();
                web::judge::CHECKS.contains(&check)
                    || sinks::CHECKS.contains(&check)
                    || check.starts_with("alarms.")
            })
            .cloned()
            .collect();
        report.judged = judgement;
        report.judged.verdict.add_failures(not_read_again);
        // Liveness is of the run, not of what it left: it carries over as it was.
        let (check, holds) = report.liveness.check();
        report.judged.verdict.add_check(check, holds);
        verdict_before_status(&mut report, self.expect.as_ref());
        let subs = &provisioned.subscriptions;
        let status = observe::run_status(clients, &subs.run_status, 0, Duration::ZERO).await?;
        verdict_after_status(&mut report, self.expect.as_ref(), self.announced, status);
        Ok(report)
    }

    /// Deletes the run's resources (a failure is logged: names are unique, so the next run is
    /// unaffected).
    pub async fn teardown(self, clients: &Clients) {
        self.resources.teardown(clients).await;
    }
}

/// Runs the pipeline once and keeps its resources, to be judged again or inspected; the caller
/// tears them down with [`FinishedStream::teardown`]. On an error they are torn down here.
///
/// # Errors
/// As [`run`].
pub async fn run_and_keep(clients: &Clients, config: &StreamRunConfig) -> Result<FinishedStream> {
    let started = Instant::now();
    let calls_before = clients.calls.snapshot();
    let resources = RunResources::provision(clients, config).await?;
    // Boxed: the driven future holds every stage's state, too large for a test thread's stack.
    match Box::pin(drive(clients, config, &resources, started)).await {
        Ok((fed, mut report, announced)) => {
            report.run_id = resources.topology.run_id.clone();
            report.aws_calls =
                crate::flows::stream::report::calls_since(&calls_before, &clients.calls.snapshot());
            Ok(FinishedStream {
                report,
                resources,
                ledger: fed.ledger,
                expect: config.expect.clone(),
                watch: config.pipeline.watch(),
                announced,
            })
        }
        Err(e) => {
            if !config.keep_resources {
                resources.teardown(clients).await;
            }
            Err(e)
        }
    }
}

/// Starts the stages, feeds and drains them, judges what they left, announces the verdict
/// (returned with the report: whether the run status said Success).
async fn drive(
    clients: &Clients,
    config: &StreamRunConfig,
    resources: &RunResources,
    started: Instant,
) -> Result<(Fed, StreamReport, bool)> {
    let provisioned = &resources.provisioned;
    let tables = resources.web_tables.as_ref();
    let alarm_set = resources.alarms.as_ref();
    let run_start_ms =
        tickflow_pipeline::metrics::epoch_ms() - started.elapsed().as_millis() as i64;
    let mut ran = Box::pin(run_stages(
        clients,
        config,
        (provisioned, tables, alarm_set),
        started,
    ))
    .await?;
    release_freed_memory();
    let reading = Instant::now();
    let redelivered = std::mem::take(&mut ran.firehose_redelivered);
    let sink_reads = SinkReads::read(
        clients,
        &config.pipeline,
        provisioned,
        &ran.figures,
        redelivered,
    )
    .await?;
    let ledger = &ran.fed.ledger;
    if let Some(history) = ran.history.as_deref() {
        sink_reads.tell(history, ledger);
        read_back_if_unsent(clients, &provisioned.resources.stream, history).await;
    }
    let (settle, watch) = (observe::SETTLE, config.pipeline.watch());
    let judgement = Box::pin(invariants::judge(
        clients,
        ledger,
        provisioned,
        settle,
        watch,
        ran.history.as_deref(),
    ))
    .await?;
    tracing::info!(
        secs = reading.elapsed().as_secs_f64(),
        "read back and judged"
    );
    let Ran {
        fed,
        times,
        timeline,
        figures,
        faults_fired,
        skipped_moments,
        fired_by_rule,
        fault_calls,
        firehose_redelivered: _,
        web,
        history: _,
        liveness,
        monitored,
    } = ran;
    // The events through each stage, from the history where there is one: distinct events,
    // where the stages' own counters count what a crash made them send again.
    let timeline = match judgement.history.as_ref().map(|h| &h.through) {
        Some(through) if !through.is_empty() => through.clone(),
        _ => timeline,
    };
    let mut report = assemble(config, &fed, judgement, timeline, times, figures);
    let (check, holds) = liveness.check();
    report.judged.verdict.add_check(check, holds);
    report.liveness = liveness;
    report.faults_fired = faults_fired;
    report.skipped_moments = skipped_moments;
    report.fault_rules = fault_rules::fires(&config.faults.schedule, &fired_by_rule);
    report.fault_calls = fault_calls;
    if let Some(set) = alarm_set {
        let placed = (
            config.faults.schedule.as_slice(),
            report.faults_fired.as_slice(),
            report.times.stages_started_secs,
        );
        let alarms = (set, &config.alarms);
        let judged =
            observe::alarms::judge_run(clients, alarms, run_start_ms, placed, monitored).await?;
        let (alarms_report, failed, held) = judged;
        report.judged.verdict.add_failures(failed);
        report.judged.verdict.add_held(held);
        report.alarms = Some(alarms_report);
    }
    Box::pin(sink_reads.judge(clients, provisioned, &mut report, &fed.ledger)).await?;
    if let (Some(front), Some(tables)) = (web, tables) {
        judge_web(&mut report, front, tables, &fed.ledger).await?;
    }
    verdict_before_status(&mut report, config.expect.as_ref());
    let passed = report.judged.verdict.passed();
    announce(clients, config, provisioned, &report, started).await?;
    let subscription = &provisioned.subscriptions.run_status;
    let status = observe::run_status(clients, subscription, 1, observe::SETTLE).await?;
    verdict_after_status(&mut report, config.expect.as_ref(), passed, status);
    report.times.total_secs = started.elapsed().as_secs_f64();
    report.elapsed_secs = report.times.total_secs;
    Ok((fed, report, passed))
}

/// Reads the stream back into `history` when Kinesis accepted events the bridge never sent on
/// (whether Kinesis still holds them is what a user looking for them asks first). A read that
/// fails is logged and left out: the history is then judged without it.
async fn read_back_if_unsent(clients: &Clients, stream: &str, history: &Recorder) {
    let unsent = history.unsent();
    if unsent == 0 {
        return;
    }
    tracing::info!(
        unsent,
        "events accepted by Kinesis and never sent on: reading the stream back"
    );
    let read = read_back::read_back(clients, stream, read_back::BUDGET, |ids| {
        history.in_stream(ids);
    });
    match read.await {
        Ok(read) => {
            tracing::info!("{}", read.describe());
            history.stream_read(read);
        }
        Err(e) => tracing::warn!(error = %e, "the stream could not be read back; not judged"),
    }
}

/// Reads the web source's tables back, adds its report and its invariants' failures to
/// `report`.
async fn judge_web(
    report: &mut StreamReport,
    front: Finished,
    tables: &Tables,
    ledger: &Ledger,
) -> Result<()> {
    let back = web::tables::read(tables).await?;
    let arrivals = std::mem::take(
        &mut *front
            .stats
            .arrivals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let cut: std::collections::HashSet<uuid::Uuid> = front
        .stats
        .cut
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .copied()
        .collect();
    let calls = front.scheduled.then_some(&front.served.calls);
    let server = web::judge::ServerSide {
        arrivals: &arrivals,
        logs_lost: front.served.process.store.logs_lost,
        cut: &cut,
        restarts: front.served.process.restarts,
    };
    let failures = web::judge::judge(calls, ledger, &back, &server);
    report.judged.verdict.add_failures(failures);
    let addr = front.addr.to_string();
    report.web = Some(WebReport::new(addr, &front.served, &front.stats, &back));
    Ok(())
}

/// What the stages did, once they drained.
struct Ran {
    fed: Fed,
    times: StageTimes,
    timeline: Vec<Sample>,
    figures: StageStats,
    faults_fired: Vec<Fired>,
    skipped_moments: Vec<String>,
    /// Faults fired by each rule of the schedule.
    fired_by_rule: Vec<u64>,
    /// The stages' calls through the schedule, by `service operation`.
    fault_calls: std::collections::BTreeMap<String, u64>,
    /// The records the Firehose consumer left unacknowledged when it crashed, by digest.
    firehose_redelivered: HashMap<crate::verdict::Digest, u32>,
    web: Option<Finished>,
    /// Where each event was seen, when its ids are positional.
    history: Option<Arc<Recorder>>,
    /// Whether the stages drained, or where they stopped moving.
    liveness: Liveness,
    /// What the stages' metrics publisher sent, and how long the alarms took to settle.
    monitored: observe::alarms::Monitored,
}

/// Starts the stages (and the faults' moments), feeds them, and drains them in order.
async fn run_stages(
    clients: &Clients,
    config: &StreamRunConfig,
    (provisioned, tables, alarm_set): (&Provisioned, Option<&Tables>, Option<&AlarmSet>),
    started: Instant,
) -> Result<Ran> {
    let res = &provisioned.resources;
    let stages_started_secs = started.elapsed().as_secs_f64();
    let schedule = &config.faults.schedule;
    let chaos = (!schedule.is_empty()).then(|| Arc::new(Chaos::new(config.seed, schedule.clone())));
    let container = config.container.as_deref();
    let moments = match &chaos {
        Some(chaos) => Some(Moments::start(chaos, clients, &res.stream, container)?),
        None => None,
    };
    let database = match (tables, &chaos) {
        (Some(tables), Some(chaos)) => Some(web_database_faults(chaos, tables, config)?),
        _ => None,
    };
    let handler_faults = config.faults.handler_faults(config.seed);
    let history = config
        .source
        .id_tag()
        .filter(|_| config.history)
        .map(|tag| {
            let pipeline = &config.pipeline;
            let recorder = Recorder::new(tag, config.consume_from.is_none(), started).with_sinks(
                pipeline.has(Consumer::Raw),
                pipeline.has(Consumer::Firehose),
            );
            Arc::new(recorder)
        });
    let tap = history.clone().map(|h| h as Arc<dyn Tap>);
    let publishes = alarm_set.is_some() && config.alarms.publish;
    let metrics = tickflow_pipeline::metrics::Metrics::when(publishes);
    let publishing = publishes.then(|| alarms::publish(clients, res, &metrics));
    let (mut stages, tx) = Stages::start(
        &clients.with_metrics(metrics.clone()),
        res,
        &config.pipeline,
        handler_faults,
        (chaos.clone(), tap),
    );
    let stats = stages.stats.clone();
    let limit = config.pipeline.liveness(config.faults.longest_delay_secs());
    let watching = watch(limit, config, &stats, &tx);
    let mut stopped = watching.stopped();
    let samples = Arc::new(Mutex::new(Vec::new()));
    let total = config.source.known_events(&config.load);
    let mut display = StageSet::new();
    let (counters, sampled) = (stats.counters(), samples.clone());
    display.start("progress", move |control| async move {
        progress::report(counters, started, sampled, total, control).await;
        Ok(())
    });
    let web_metrics = (metrics.clone(), res.web.clone());
    let (input, mut front) = config
        .source
        .open(tables, (chaos.clone(), web_metrics))
        .await?;
    // Consuming only: the ledger is entered as the producer would have sent, into nothing; the
    // producer's input closes with the feed, as in any run.
    let (tx, producer_input) = match &config.consume_from {
        Some(_) => (discarding(), Some(tx)),
        None => (tx, None),
    };
    let front_failure = async {
        match &mut front {
            Some(front) => front.failure().await,
            None => std::future::pending().await,
        }
    };
    let fed = tokio::select! {
        fed = Feed { history: history.as_deref(), ..feed(config, input)? }.run(tx, stopped.clone()) => fed?,
        failed = stages.failure() => return Err(failed),
        failed = front_failure => return Err(failed.into()),
    };
    drop(producer_input);
    let web = match front {
        Some(front) => match stopped
            .unless_stuck(front.finish(config.drain_timeout))
            .await
        {
            Some(finished) => Some(finished?),
            None => None,
        },
        None => None,
    };
    if let Some(database) = database {
        database.finish().await?;
    }
    let (settle_secs, idle_secs) = match alarm_set {
        Some(set) => {
            // Idle first (every event moved on), so that the stages' times, less the quiet
            // time and the settle, are what they would have been without them.
            let was_quiet = quiet(&stats, config.drain_timeout).await;
            let _idle_on_purpose = watching.hold();
            let settled = observe::alarms::settle_run(clients, set, &config.alarms).await?;
            let quiet_secs = if was_quiet { QUIET.as_secs_f64() } else { 0.0 };
            (settled, settled + quiet_secs)
        }
        None => (0.0, 0.0),
    };
    let names = stages.names();
    let drained = Mutex::new(Vec::new());
    let drain = stages.drain(started, config.drain_timeout, &drained);
    let idle = match stopped.unless_stuck(drain).await {
        Some(finished) => finished.map(|()| None)?,
        None => stopped.now(),
    };
    let drained = drained.into_inner().unwrap_or_else(|e| e.into_inner());
    let liveness = Liveness {
        limit_secs: limit.as_secs_f64(),
        stuck: idle.map(|idle| stuck(idle, &names, &drained, started, &stats)),
    };
    drop(watching);
    let otherwise = started.elapsed().as_secs_f64();
    let times = StageTimes {
        stages_started_secs,
        ..stages::times(&drained, otherwise)
    }
    .less_idle(idle_secs);
    display.drain(config.drain_timeout, |_| {}).await?;
    if let Some(publishing) = publishing {
        publishing.drain(config.drain_timeout, |_| {}).await?;
    }
    let skipped_moments = match moments {
        Some(moments) => moments.finish().await?,
        None => Vec::new(),
    };
    let mut timeline = std::mem::take(&mut *samples.lock().unwrap_or_else(|e| e.into_inner()));
    timeline.push(stats.sample((times.processed_secs * 1_000.0) as u64));
    Ok(Ran {
        fed,
        times,
        timeline,
        figures: stats.collect(),
        faults_fired: chaos.as_ref().map(|c| c.fired()).unwrap_or_default(),
        fired_by_rule: chaos
            .as_ref()
            .map(|c| c.fired_by_rule())
            .unwrap_or_default(),
        fault_calls: chaos
            .map(|c| c.calls())
            .unwrap_or_default()
            .into_iter()
            .map(|(service, op, n)| (format!("{} {op}", service.name()), n))
            .collect(),
        skipped_moments,
        firehose_redelivered: stats.redelivered(),
        web,
        history,
        liveness,
        monitored: (metrics.published(), settle_secs),
    })
}

/// Waits until no stage has moved anything on for [`QUIET`], and says so; `false` once `limit`
/// passed first (a pipeline still moving, or stuck: the watchdog's to declare).
async fn quiet(stats: &stages::Stats, limit: Duration) -> bool {
    let mut still = crate::runtime::wait::Stillness::new(QUIET);
    let deadline = Instant::now() + limit;
    loop {
        if still.held(stats.moved()) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How long the stages must move nothing before the alarms settle.
const QUIET: Duration = Duration::from_secs(2);

/// The run's liveness watchdog: `limit` without a move while events wait for the producer or
/// the feed is done, counted once the schedule's last moment is over.
fn watch(
    limit: Duration,
    config: &StreamRunConfig,
    stats: &stages::Stats,
    input: &tokio::sync::mpsc::Sender<tickflow_pipeline::producer::Outgoing>,
) -> watchdog::Watching {
    let quiet = Duration::try_from_secs_f64(config.faults.last_moment_secs()).unwrap_or_default();
    watchdog::Watchdog {
        limit,
        quiet_from: Instant::now() + quiet,
        stats: stats.clone(),
        input: input.downgrade(),
    }
    .spawn()
}

/// Where the pipeline stopped, once the watchdog declared it `idle`: the first of the stages
/// (`names`, in drain order) not `drained`, and what each stage had passed on by then.
fn stuck(
    idle: watchdog::Idle,
    names: &[&'static str],
    drained: &stages::Drained,
    started: Instant,
    stats: &stages::Stats,
) -> Stuck {
    let stage = names.iter().find(|n| !drained.iter().any(|(d, _)| d == *n));
    let secs = |at: Instant| at.saturating_duration_since(started);
    Stuck {
        stage: stage.copied().unwrap_or("pipeline").to_string(),
        idle_from_secs: secs(idle.from).as_secs_f64(),
        declared_secs: secs(idle.declared).as_secs_f64(),
        through: stats.sample(secs(idle.declared).as_millis() as u64),
    }
}

/// The database faults of a web-sourced run: they act on the web writer's connections and
/// the run's tables.
fn web_database_faults(
    chaos: &Arc<Chaos>,
    tables: &Tables,
    config: &StreamRunConfig,
) -> Result<DatabaseFaults> {
    let writer = writer_name(tables.schema.name());
    let locked: Vec<String> = tickflow_pipeline::web::tables::request_tables()
        .iter()
        .map(|t| tables.schema.qualified(t))
        .collect();
    DatabaseFaults::start(
        Some(chaos),
        &db_faults::Target {
            database_url: &tables.url,
            writer: &writer,
            tables: &locked,
            container: config.postgres_container.as_deref(),
        },
    )
}

/// Judges the existing lake `bucket` alone (a deployed pipeline's, or a kept run's) against the
/// scenario `config` regenerates: no stages run and nothing is provisioned. Only the checks the
/// lake shows are judged; the others are named in the report's `lake_only`, never passed.
///
/// # Errors
/// The source cannot be read, or the bucket cannot be listed or read.
pub async fn judge_lake(
    clients: &Clients,
    config: &StreamRunConfig,
    bucket: &str,
) -> Result<StreamReport> {
    let started = Instant::now();
    // The events were sent before: their ledger is entered at once.
    let config = StreamRunConfig {
        load: LoadPlan::default(),
        ..config.clone()
    };
    let (input, _) = config.source.open(None, (None, Default::default())).await?;
    let stopped = watchdog::Stopped::never();
    let mut fed = feed(&config, input)?.run(discarding(), stopped).await?;
    fed.ledger.backdate();
    let judgement = invariants::judge_lake(clients, &fed.ledger, bucket).await?;
    let stats = StageStats::default();
    let mut report = assemble(
        &config,
        &fed,
        judgement,
        Vec::new(),
        StageTimes::default(),
        stats,
    );
    let expect = config.expect.as_ref();
    let mut failures = expect.before_status(&report);
    failures.extend(expect.on_status(&report));
    let unshown = lake_only::unshown(&config.pipeline, &config.faults);
    let (checks, not_judged) = lake_only::lake_checks(failures, expect.held(&report), unshown);
    report.judged.verdict.add_checks(checks);
    report.run_id = "lake-only".into();
    report.lake_only = Some(crate::flows::stream::report::LakeOnly {
        bucket: bucket.to_string(),
        not_judged,
    });
    report.elapsed_secs = started.elapsed().as_secs_f64();
    report.times.total_secs = report.elapsed_secs;
    Ok(report)
}

/// A sender whose records go nowhere: what a consume-only run's feed hands its records to.
fn discarding() -> tokio::sync::mpsc::Sender<tickflow_pipeline::producer::Outgoing> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(1_024);
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    tx
}

/// What feeds a run: its input's items, each when its source's pacing says.
fn feed(config: &StreamRunConfig, items: Input) -> Result<Feed<'_>> {
    let consuming = config.consume_from.is_some();
    let (pace, load) = config.source.pacing(&config.load, consuming);
    Ok(Feed {
        items,
        pace,
        load,
        faults: &config.faults,
        seed: config.seed,
        expected: config.source.presize(),
        history: None,
    })
}

/// Publishes the run status the verdict so far says, with the reconciliation as its message.
async fn announce(
    clients: &Clients,
    config: &StreamRunConfig,
    provisioned: &Provisioned,
    report: &StreamReport,
    started: Instant,
) -> Result<()> {
    let passed = report.judged.verdict.passed();
    let summary = serde_json::json!({
        "run": config.name,
        "passed": passed,
        "failed_checks": report.judged.verdict.failures().iter().map(|f| &f.check).collect::<Vec<_>>(),
        "reconciliation": report.judged.reconciliation,
        "elapsed_secs": started.elapsed().as_secs_f64(),
    });
    Notifier::new(clients.clone(), &provisioned.resources.topics.run_status)
        .run_status(&config.name, passed, &summary)
        .await?;
    Ok(())
}

/// The verdict the run status announces: the invariants (in `report.judged` already) and
/// every assertion of `expect` but those on the status itself.
fn verdict_before_status(report: &mut StreamReport, expect: &dyn Expectations) {
    let failures = expect.before_status(report);
    report.judged.verdict.add_failures(failures);
    if !report.fault_rules.is_empty() {
        let (check, holds) = fault_rules::check(&report.fault_rules, &report.skipped_moments);
        report.judged.verdict.add_check(check, holds);
    }
}

/// The rest of the verdict once the run status (`status`, the subjects read back) is known: it
/// was announced once and says the verdict it was announced from (`announced`), and the
/// assertions on it hold.
fn verdict_after_status(
    report: &mut StreamReport,
    expect: &dyn Expectations,
    announced: bool,
    status: Vec<String>,
) {
    report.judged.set_run_status(status);
    let mut failures = expect.on_status(report);
    let subjects = &report.judged.sns.run_status_subjects;
    match observe::run_status_announced(&report.name, announced, subjects) {
        Some(failed) => failures.push(failed),
        None => {
            let held = crate::verdict::Failure::new(
                "sns.run_status",
                "one run-status message, saying the verdict",
                format!("{subjects:?}"),
            );
            report.judged.verdict.add_held([held]);
        }
    }
    report.judged.verdict.add_failures(failures);
    let held = expect.held(report);
    report.judged.verdict.add_held(held);
}

/// Hands memory the drained stages freed back to the system before the judge allocates its own
/// (glibc keeps freed memory in its arenas otherwise: at a million events, the stages' buffers
/// and the judge's tables would add up in the harness's peak RSS).
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's arenas to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The report of a run from what the feed, the stages and the judge gave.
fn assemble(
    config: &StreamRunConfig,
    fed: &Fed,
    judgement: Judgement,
    timeline: Vec<Sample>,
    times: StageTimes,
    stats: StageStats,
) -> StreamReport {
    StreamReport {
        name: config.name.clone(),
        run_id: String::new(),
        judged: judgement,
        expected_quarantine: fed.ledger.count(Fate::Malformed) as u64,
        expected_poison: fed.ledger.count(Fate::Poison) as u64,
        duplicates_sent: fed.duplicates_sent,
        unparsed_records: fed.unparsed_records,
        schedule: fed.schedule,
        timeline,
        times,
        stats,
        elapsed_secs: times.total_secs,
        resources: ResourceUse::now(),
        consumed_from: config.consume_from.clone(),
        ..StreamReport::default()
    }
}
