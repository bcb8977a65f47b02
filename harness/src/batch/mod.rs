//! The batch flow, start to finish: provision, generate and upload the company files, start the
//! trigger, upload `.SUCCESS`, wait for the run, upload a second `.SUCCESS` the same day (which
//! must start nothing), then judge the table, the output and log objects and the run status
//! against what the generator says the run must produce, and tear down.

pub mod generate;
mod judge;
pub mod report;
pub mod topology;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use std::sync::Arc;
use tickflow_pipeline::aws::{AwsError, Clients};

use tickflow_pipeline::batch::{BatchJob, Trigger, TriggerStats};
use tickflow_pipeline::control::{self, Phase};
use tokio::task::JoinSet;

pub use generate::BatchSettings;
pub use report::BatchReport;

use crate::error::{Error, Result};
use generate::{InputFile, Sample};

/// Uploads in flight.
const UPLOADS: usize = 16;
/// Longest a run may take from its trigger.
const RUN_LIMIT: Duration = Duration::from_secs(600);
/// How long a second trigger may take to arrive and be turned down.
const SECOND_TRIGGER_LIMIT: Duration = Duration::from_secs(60);

/// Everything a batch run needs to know.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRunConfig {
    /// The pipeline's name (`<name>_Pipeline_Success`).
    pub name: String,
    /// Seeds the generator.
    pub seed: u64,
    /// What to generate.
    pub settings: BatchSettings,
    /// The PostgreSQL container to measure a plain `psql` `COPY` of the output in, beside the
    /// run (the database's own ceiling); none measured without it.
    pub ceiling_container: Option<String>,
}

/// Runs the batch flow once against `clients` and the database at `database_url`, judges it and
/// tears it down.
///
/// # Errors
/// Provisioning, an upload, or the trigger failing, or the run not happening in time. A run that
/// breaks an invariant is not an error: the report says FAIL and why.
pub async fn run(
    clients: &Clients,
    database_url: &str,
    config: &BatchRunConfig,
) -> Result<BatchReport> {
    let finished = run_and_keep(clients, database_url, config).await?;
    let report = finished.report.clone();
    finished.teardown(clients, database_url).await;
    Ok(report)
}

/// A finished batch run whose resources are still there, to be judged again or inspected.
pub struct FinishedBatch {
    /// The report of the run as it finished.
    pub report: BatchReport,
    /// The run's resources.
    pub resources: topology::BatchResources,
    name: String,
    expected: generate::Expected,
    stats: Arc<TriggerStats>,
}

impl FinishedBatch {
    /// Judges the run again from what its resources hold now.
    ///
    /// # Errors
    /// The database or an AWS call failing while reading back.
    pub async fn rejudge(&self, clients: &Clients) -> Result<BatchReport> {
        let judged = judge::judge(
            clients,
            &self.resources,
            &self.name,
            &self.expected,
            &self.stats,
        )
        .await?;
        Ok(BatchReport {
            name: self.report.name.clone(),
            run_id: self.report.run_id.clone(),
            ..judged
        })
    }

    /// Deletes the run's resources and schema (failures are logged).
    pub async fn teardown(self, clients: &Clients, database_url: &str) {
        topology::teardown(clients, database_url, &self.resources).await;
    }
}

/// Runs the batch flow once and keeps its resources; on an error they are torn down here.
///
/// # Errors
/// As [`run`].
pub async fn run_and_keep(
    clients: &Clients,
    database_url: &str,
    config: &BatchRunConfig,
) -> Result<FinishedBatch> {
    let started = Instant::now();
    let run_id = crate::topology::new_run_id();
    let res = topology::provision(clients, database_url, &run_id).await?;
    match drive(clients, &res, config, started).await {
        Ok((report, expected, stats)) => Ok(FinishedBatch {
            report,
            resources: res,
            name: config.name.clone(),
            expected,
            stats,
        }),
        Err(e) => {
            topology::teardown(clients, database_url, &res).await;
            Err(e)
        }
    }
}

async fn drive(
    clients: &Clients,
    res: &topology::BatchResources,
    config: &BatchRunConfig,
    started: Instant,
) -> Result<(BatchReport, generate::Expected, Arc<TriggerStats>)> {
    let (mut expected, files) = generate::generate(&config.settings, config.seed);
    let uploading = Instant::now();
    upload(clients, &res.source_bucket, files, &mut expected.samples).await?;
    let upload_secs = uploading.elapsed().as_secs_f64();

    let job = BatchJob {
        clients: clients.clone(),
        source_bucket: res.source_bucket.clone(),
        name: config.name.clone(),
        status_topic: res.status_topic.clone(),
        database_url: res.database_url.clone(),
    };
    let trigger = Trigger::new(clients.clone(), &res.trigger_queue, job);
    let stats = trigger.stats();
    let (ctl, control) = control::channel();
    let task = tokio::spawn(trigger.run(control));
    let triggered = Instant::now();
    put_success(clients, &res.monitored_bucket, "first").await?;
    wait_for("the batch run", RUN_LIMIT, || {
        stats.runs_done.load(Ordering::Relaxed) > 0
    })
    .await?;
    let run_secs = triggered.elapsed().as_secs_f64();
    put_success(clients, &res.monitored_bucket, "second").await?;
    wait_for("the second trigger", SECOND_TRIGGER_LIMIT, || {
        stats.triggers.load(Ordering::Relaxed) >= 2
    })
    .await?;
    ctl.set(Phase::Drain);
    tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .map_err(|_| Error::Timeout {
            what: "the trigger to drain".into(),
            after: Duration::from_secs(60),
        })?
        .map_err(|e| Error::Stage {
            stage: "trigger".into(),
            reason: e.to_string(),
        })??;

    let mut report = judge::judge(clients, res, &config.name, &expected, &stats).await?;
    report.name = config.name.clone();
    report.run_id = res.run_id.clone();
    report.companies = config.settings.companies;
    report.kept = config.settings.kept();
    report.upload_secs = upload_secs;
    report.run_secs = run_secs;
    report.elapsed_secs = started.elapsed().as_secs_f64();
    report.resources = crate::report::ResourceUse::now();
    if let (Some(container), true) = (&config.ceiling_container, report.passed) {
        let measured = crate::postgres::ceiling::psql_copy(
            container,
            &res.schema,
            clients,
            &res.source_bucket,
            tickflow_pipeline::batch::layout::OUTPUT,
        )
        .await;
        match measured {
            Ok(ceiling) => report.psql_ceiling = Some(ceiling),
            Err(e) => tracing::warn!(error = %e, "the psql COPY ceiling was not measured"),
        }
    }
    Ok((report, expected, stats))
}

/// Uploads the generated files as they are made, several at once, keeping their samples.
async fn upload(
    clients: &Clients,
    bucket: &str,
    files: impl Iterator<Item = (InputFile, Vec<Sample>)>,
    samples: &mut Vec<Sample>,
) -> Result<()> {
    let mut puts = JoinSet::new();
    for (file, sampled) in files {
        samples.extend(sampled);
        if puts.len() >= UPLOADS {
            if let Some(done) = puts.join_next().await {
                done.map_err(|e| Error::Input(format!("upload task: {e}")))??;
            }
        }
        let (clients, bucket) = (clients.clone(), bucket.to_string());
        puts.spawn(async move {
            clients
                .s3
                .put_object()
                .bucket(&bucket)
                .key(&file.key)
                .body(file.body.into())
                .send()
                .await
                .map_err(AwsError::of("s3", "PutObject"))?;
            Ok::<_, Error>(())
        });
    }
    while let Some(done) = puts.join_next().await {
        done.map_err(|e| Error::Input(format!("upload task: {e}")))??;
    }
    Ok(())
}

/// Uploads a `.SUCCESS` object to the monitored bucket.
async fn put_success(clients: &Clients, bucket: &str, which: &str) -> Result<()> {
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(format!("batch/{which}.SUCCESS"))
        .body(Vec::new().into())
        .send()
        .await
        .map_err(AwsError::of("s3", "PutObject"))?;
    Ok(())
}

async fn wait_for(what: &str, limit: Duration, done: impl Fn() -> bool) -> Result<()> {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: what.to_string(),
                after: limit,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
