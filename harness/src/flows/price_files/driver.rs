//! Drives one price-file run, start to verdict.
//!
//! Drives one price-file run: provision the bucket and its notifications, start the ETL and
//! analysis steps (each a handler behind an event source mapping), upload the files (paced by
//! `rate` when given), wait until every file was transformed and analysed (or nothing moves any
//! more), drain both steps, judge, tear down.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tickflow_pipeline::aws::{AwsError, Clients};
use tickflow_pipeline::chaos::{Chaos, FaultRule, Stage};
use tickflow_pipeline::control::Control;
use tickflow_pipeline::esm::{EsmConfig, EventSourceMapping, Handler};
use tickflow_pipeline::history::ObjectTap;
use tickflow_pipeline::price_files::{
    Alert, AnalysisConfig, AnalysisHandler, EtlHandler, PriceFileStats,
};
use tickflow_pipeline::stages::{supervise, StageError, StageSet};

use super::generate::{Outcome, PriceFile};
use super::history::FileRecorder;
use super::liveness::{Liveness, Stuck};
use super::report::PriceFilesReport;
use super::settings::PriceFileSettings;
use super::topology::PriceFileResources;
use super::{ceiling, generate, judge, topology};
use crate::error::{Error, Result};
use crate::runtime::sampler::Sampler;
use crate::runtime::wait::{self, Stillness};
use crate::verdict::fault_rules::StageFaults;

/// Uploads in flight.
const UPLOADS: usize = 16;
/// Longest a run may take (its uploads are paced to end within it).
const RUN_LIMIT: Duration = Duration::from_secs(super::settings::MAX_UPLOAD_SECS as u64);
/// Most objects the ceiling beside a run puts.
const CEILING_OBJECTS: u64 = 2_000;

/// Everything a price-file run needs to know.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceFilesRunConfig {
    /// The pipeline's name (`<name>_Price_Alert`).
    pub name: String,
    /// Seeds the generator.
    pub seed: u64,
    /// What to generate and the analysis settings.
    pub settings: PriceFileSettings,
    /// Measure LocalStack's PutObject-plus-notification ceiling beside the run.
    pub measure_ceiling: bool,
    /// Faults on the steps' AWS calls, decided by `seed`.
    pub faults: Vec<FaultRule>,
}

/// Runs the price-file flow once against `clients`, judges it and tears it down.
///
/// # Errors
/// Provisioning or an upload failing, a step failing, or the run exceeding its limit. A run
/// that breaks an invariant is not an error: the report says FAIL and why.
pub async fn run(clients: &Clients, config: &PriceFilesRunConfig) -> Result<PriceFilesReport> {
    let finished = run_and_keep(clients, config).await?;
    let report = finished.report.clone();
    finished.teardown(clients).await;
    Ok(report)
}

/// A finished price-file run whose resources are still there, to be judged again.
pub struct FinishedPriceFiles {
    /// The report of the run as it finished.
    pub report: PriceFilesReport,
    /// The run's resources.
    pub resources: PriceFileResources,
    files: Vec<PriceFile>,
    alerts: Vec<Alert>,
}

impl FinishedPriceFiles {
    /// Judges the run again from what its resources hold now.
    ///
    /// # Errors
    /// An AWS call failing while reading back.
    pub async fn rejudge(&self, clients: &Clients) -> Result<PriceFilesReport> {
        let expected = judge::Expected {
            files: &self.files,
            alerts: &self.alerts,
        };
        let judged = judge::judge(clients, &self.resources, &expected, None).await?;
        Ok(PriceFilesReport {
            name: self.report.name.clone(),
            run_id: self.report.run_id.clone(),
            ..judged
        })
    }

    /// Deletes the run's resources (failures are logged).
    pub async fn teardown(self, clients: &Clients) {
        topology::teardown(clients, &self.resources).await;
    }
}

/// Runs the price-file flow once and keeps its resources; on an error they are torn down here.
///
/// # Errors
/// As [`run`].
pub async fn run_and_keep(
    clients: &Clients,
    config: &PriceFilesRunConfig,
) -> Result<FinishedPriceFiles> {
    let started = Instant::now();
    let run_id = crate::infra::topology::new_run_id();
    let res = topology::provision(clients, &run_id).await?;
    let files = generate::generate(&config.settings, config.seed);
    let alerts = generate::expected_alerts(&files, config.settings.threshold_pct);
    match drive(clients, &res, config, &files, &alerts).await {
        Ok(mut report) => {
            report.name = config.name.clone();
            report.run_id = run_id;
            report.assets = config.settings.assets.len();
            report.elapsed_secs = started.elapsed().as_secs_f64();
            Ok(FinishedPriceFiles {
                report,
                resources: res,
                files,
                alerts,
            })
        }
        Err(e) => {
            topology::teardown(clients, &res).await;
            Err(e)
        }
    }
}

/// The two steps, running: the ETL drains first, then the analysis (which the ETL's last CSV
/// objects feed); both stop when dropped.
struct Steps {
    stats: Arc<PriceFileStats>,
    restarts: Arc<Restarts>,
    set: StageSet,
}

/// Longest wait for a step's queue to hold still before the steps drain.
const QUIET_LIMIT: Duration = Duration::from_secs(30);

/// How long each step may take to drain.
const DRAIN_LIMIT: Duration = Duration::from_secs(120);

impl Steps {
    /// Starts both steps, each started again with fresh memory after a crash `chaos` schedules
    /// (a crashed Lambda's next invocation): its undeleted messages come back.
    fn start(
        clients: &Clients,
        res: &PriceFileResources,
        config: &PriceFilesRunConfig,
        (chaos, tap): (Option<&Arc<Chaos>>, Arc<dyn ObjectTap>),
    ) -> Self {
        let stats = Arc::new(PriceFileStats::default());
        let restarts = Arc::new(Restarts::default());
        let etl_esm = EsmConfig {
            concurrency: 4,
            wait_time_secs: 1,
            extend_visibility: Some(Duration::from_secs(u64::from(
                topology::ETL_VISIBILITY_SECS,
            ))),
            ..EsmConfig::default()
        };
        let analysis_config = AnalysisConfig {
            interval: chrono::Duration::seconds(i64::from(config.settings.interval_secs)),
            threshold_pct: config.settings.threshold_pct,
            hold_receives: config.settings.hold_receives,
        };
        let analysis_esm = EsmConfig {
            concurrency: 2,
            wait_time_secs: 1,
            extend_visibility: Some(Duration::from_secs(u64::from(
                topology::ANALYSIS_VISIBILITY_SECS,
            ))),
            ..EsmConfig::default()
        };
        let mut set = StageSet::new();
        let step = Step {
            clients: clients.clone(),
            chaos: chaos.cloned(),
            restarts: restarts.clone(),
        };
        let etl = {
            let (clients, bucket, stats) = (clients.clone(), res.bucket.clone(), stats.clone());
            let tap = tap.clone();
            move || {
                EtlHandler::new(clients.clone(), &bucket, stats.clone()).with_tap(Some(tap.clone()))
            }
        };
        set.start(
            "etl",
            step.clone()
                .supervised(Stage::Etl, res.etl_queue.clone(), etl_esm, etl),
        );
        let analysis = {
            let (clients, bucket, stats) = (clients.clone(), res.bucket.clone(), stats.clone());
            move || {
                AnalysisHandler::new(
                    clients.clone(),
                    &bucket,
                    analysis_config.clone(),
                    stats.clone(),
                )
                .with_tap(Some(tap.clone()))
            }
        };
        set.start(
            "analysis",
            step.supervised(
                Stage::Analysis,
                res.analysis_queue.clone(),
                analysis_esm,
                analysis,
            ),
        );
        Self {
            stats,
            restarts,
            set,
        }
    }
}

/// Restarts of each step after a crash.
#[derive(Debug, Default)]
struct Restarts {
    etl: AtomicU64,
    analysis: AtomicU64,
}

/// What each step's supervisor needs.
#[derive(Clone)]
struct Step {
    clients: Clients,
    chaos: Option<Arc<Chaos>>,
    restarts: Arc<Restarts>,
}

impl Step {
    /// The step's mapping on `queue`, each instance with a handler `fresh` makes, started again
    /// after each crash of `stage`.
    fn supervised<H, F>(
        self,
        stage: Stage,
        queue: String,
        esm: EsmConfig,
        fresh: F,
    ) -> impl FnOnce(Control) -> futures_util::future::BoxFuture<'static, tickflow_pipeline::Result<()>>
    where
        H: Handler + Send + Sync + 'static,
        F: Fn() -> H + Send + Sync + 'static,
    {
        move |control: Control| {
            Box::pin(async move {
                let restarts = match stage {
                    Stage::Etl => &self.restarts.etl,
                    _ => &self.restarts.analysis,
                };
                supervise(stage, restarts, || {
                    let mut mapping = EventSourceMapping::new(
                        self.clients.clone(),
                        &queue,
                        esm.clone(),
                        Arc::new(fresh()),
                    );
                    if let Some(chaos) = &self.chaos {
                        mapping = mapping.with_chaos(chaos.clone(), stage);
                    }
                    mapping.run(control.clone())
                })
                .await
            })
        }
    }
}

/// What the report's progress chart draws, in the sampler's order.
///
/// A step run again after a crash or a lost answer counts again: the lines may pass the files
/// uploaded, and say how much work the faults cost.
const PROGRESS: [&str; 4] = [
    "files uploaded",
    "ETL passes (repeats too)",
    "records analysed (repeats too)",
    "alerts announced",
];

async fn drive(
    clients: &Clients,
    res: &PriceFileResources,
    config: &PriceFilesRunConfig,
    files: &[PriceFile],
    alerts: &[Alert],
) -> Result<PriceFilesReport> {
    let ceiling_objects = (files.len() as u64).min(CEILING_OBJECTS);
    let mut ceilings = Vec::new();
    if config.measure_ceiling {
        ceilings.push(ceiling::notified_puts(clients, ceiling_objects, UPLOADS).await?);
    }
    // The steps' calls suffer the schedule; the harness's uploads and read-back do not.
    let faults = StageFaults::new(config.seed, &config.faults);
    let stage_clients = faults.clients(clients);
    let history = Arc::new(FileRecorder::new(files, alerts));
    let tap = history.clone() as Arc<dyn ObjectTap>;
    let steps = Steps::start(&stage_clients, res, config, (faults.chaos(), tap));
    // Started with the faults' clock, so that the chart's markers fall where they fired.
    let uploaded = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stats, uploaded) = (steps.stats.clone(), uploaded.clone());
        Sampler::start(&PROGRESS, move || {
            let (through_etl, analysed) = progress(&stats);
            let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
            vec![n(&uploaded), through_etl, analysed, n(&stats.alerts)]
        })
    };
    let first_upload = Instant::now();
    let records = files
        .iter()
        .filter(|f| matches!(f.outcome, Outcome::Record(_)))
        .count() as u64;
    let mut upload_secs = 0.0;
    let owed = Owed {
        files: files.len() as u64,
        records,
    };
    let delay = super::liveness::longest_delay_secs(&config.faults);
    let mut liveness = Liveness {
        limit_secs: config.settings.liveness(delay).as_secs_f64(),
        stuck: None,
    };
    let Steps {
        stats,
        restarts,
        mut set,
    } = steps;
    let fed = async {
        let counted = Uploaded {
            count: &uploaded,
            history: &history,
        };
        upload(clients, &res.bucket, files, config.settings.rate, counted).await?;
        upload_secs = first_upload.elapsed().as_secs_f64();
        wait_until_done(clients, res, (&stats, &history), owed, liveness.limit_secs).await
    };
    tokio::select! {
        fed = fed => liveness.stuck = fed?,
        failed = set.failure() => return Err(failed.into()),
    }
    let run_secs = first_upload.elapsed().as_secs_f64();
    if liveness.stuck.is_some() {
        // A stuck step would not drain: the steps are stopped where they stand.
        drop(set);
    } else {
        // S3 may notify late under load (a CSV written again after a lost answer is announced
        // a second time): the steps drain once each queue's depth held still for a quiet
        // spell, not as soon as the last record was first analysed.
        for queue in [&res.etl_queue, &res.analysis_queue] {
            crate::observe::settle(clients, queue, 0, QUIET_LIMIT).await;
        }
        // Nothing is owed now: a step still busy after the liveness limit (a batch wedged
        // where a crash would have struck: `stall`) will not stop.
        let limit = Duration::from_secs_f64(liveness.limit_secs).min(DRAIN_LIMIT);
        match set.drain(limit, |_| {}).await {
            Err(StageError::Timeout { stage, after }) => {
                let stuck = owed.stuck(step_name(stage), 0, after.as_secs_f64(), &history);
                liveness.stuck = Some(stuck);
            }
            ended => ended?,
        }
    }
    let timeline = sampler.finish().await;
    // Again after the run: the emulator's pace drifts as it fills, so the run is compared
    // with both ends.
    if config.measure_ceiling {
        ceilings.push(ceiling::notified_puts(clients, ceiling_objects, UPLOADS).await?);
    }
    let expected = judge::Expected { files, alerts };
    let mut report = judge::judge(clients, res, &expected, Some(&history)).await?;
    report.timeline = timeline;
    report.test_events = stats.test_events.load(Ordering::Relaxed);
    report.waits = stats.held.load(Ordering::Relaxed);
    report.gaps = stats.gaps.load(Ordering::Relaxed);
    report.first_records = stats.first_records.load(Ordering::Relaxed);
    report.restarts = [
        restarts.etl.load(Ordering::Relaxed),
        restarts.analysis.load(Ordering::Relaxed),
    ];
    report.upload_secs = upload_secs;
    report.run_secs = run_secs;
    report.resources = crate::verdict::ResourceUse::now();
    report.ceilings = ceilings;
    report.faults = faults.judged(&mut report.verdict);
    let (check, holds) = liveness.check();
    report.verdict.add_check(check, holds);
    report.liveness = liveness;
    Ok(report)
}

/// Uploads the files, several at once, at `rate` files per second when given.
async fn upload(
    clients: &Clients,
    bucket: &str,
    files: &[PriceFile],
    rate: Option<f64>,
    uploaded: Uploaded<'_>,
) -> Result<()> {
    use futures_util::{StreamExt, TryStreamExt};
    let started = Instant::now();
    futures_util::stream::iter(files.iter().enumerate())
        .map(|(i, file)| async move {
            // Validation keeps the last one due within the run's limit.
            let due = rate.and_then(|r| Duration::try_from_secs_f64(i as f64 / r).ok());
            if let Some(due) = due.and_then(|d| started.checked_add(d)) {
                tokio::time::sleep_until(due.into()).await;
            }
            clients
                .s3
                .put_object()
                .bucket(bucket)
                .key(&file.key)
                .body(file.body.clone().into())
                .send()
                .await
                .map_err(AwsError::of("s3", "PutObject"))?;
            uploaded.count.fetch_add(1, Ordering::Relaxed);
            uploaded.history.uploaded(i);
            Ok::<_, Error>(())
        })
        .buffer_unordered(UPLOADS)
        .try_collect::<()>()
        .await
}

/// Where an upload S3 took is counted: the progress chart's count, and the file's history.
#[derive(Clone, Copy)]
struct Uploaded<'a> {
    count: &'a AtomicU64,
    history: &'a FileRecorder,
}

/// A step as the verdict names it (the stage set's `etl` and `analysis`).
fn step_name(stage: &str) -> &str {
    match stage {
        "etl" => "ETL",
        other => other,
    }
}

/// Files transformed and records analysed so far.
fn progress(stats: &PriceFileStats) -> (u64, u64) {
    (
        stats.csv_written.load(Ordering::Relaxed) + stats.quarantined.load(Ordering::Relaxed),
        stats.analysed.load(Ordering::Relaxed),
    )
}

/// What the steps owe once every file is uploaded.
#[derive(Debug, Clone, Copy)]
struct Owed {
    files: u64,
    records: u64,
}

impl Owed {
    /// Stuck at `step` with `messages` in its queue after `idle_secs`, as far as `history` says
    /// the steps got.
    fn stuck(&self, step: &str, messages: u64, idle_secs: f64, history: &FileRecorder) -> Stuck {
        let (transformed, analysed) = history.steps_reached();
        Stuck {
            step: step.to_string(),
            messages,
            idle_secs,
            transformed,
            analysed,
            files: self.files,
            records: self.records,
        }
    }
}

/// Waits until every file went through the ETL step and every record through the analysis
/// (counts that repeats reach too) and both steps' queues are empty, or until nothing moved
/// (the counts, and the queues once the counts are reached) for `limit_secs`: stuck when a
/// step's queue still holds messages then (the first such step, with its counts), drained
/// when neither does (the judge then says what is missing).
///
/// # Errors
/// Neither within [`RUN_LIMIT`], or a queue's depth not read.
async fn wait_until_done(
    clients: &Clients,
    res: &PriceFileResources,
    (stats, history): (&PriceFileStats, &FileRecorder),
    owed: Owed,
    limit_secs: f64,
) -> Result<Option<Stuck>> {
    let limit = Duration::from_secs_f64(limit_secs);
    let queues = [("ETL", &res.etl_queue), ("analysis", &res.analysis_queue)];
    let still = std::cell::RefCell::new(Stillness::new(limit));
    let stuck = std::cell::RefCell::new(None);
    let (still_at, stuck_at) = (&still, &stuck);
    let what = || "the price files to be processed".to_string();
    wait::until(what, RUN_LIMIT, Duration::from_millis(250), || async move {
        let now = progress(stats);
        let counted = now.0 >= owed.files && now.1 >= owed.records;
        // The queues are read once the counts are reached, or to name a stuck step.
        let read_depths = || async {
            let mut depths = [0u64; 2];
            for (depth, (_, queue)) in depths.iter_mut().zip(&queues) {
                *depth = crate::observe::queue_depth(clients, queue).await?.total();
            }
            Ok::<_, Error>(depths)
        };
        let mut depths = [0u64; 2];
        if counted {
            depths = read_depths().await?;
            if depths == [0, 0] {
                return Ok(true);
            }
        }
        if !still_at.borrow_mut().held((now, depths)) {
            return Ok(false);
        }
        tracing::warn!(
            transformed = now.0,
            analysed = now.1,
            files = owed.files,
            records = owed.records,
            "nothing moved for {limit:?}; judging what the run left"
        );
        if !counted {
            depths = read_depths().await?;
        }
        let first = depths.iter().zip(&queues).find(|(d, _)| **d > 0);
        *stuck_at.borrow_mut() =
            first.map(|(&messages, (step, _))| owed.stuck(step, messages, limit_secs, history));
        Ok(true)
    })
    .await?;
    Ok(stuck.into_inner())
}
