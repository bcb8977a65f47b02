//! One batch run, start to finish: extract, transform, load, log, announce.
//!
//! One batch run, start to finish: read the company list, extract and transform the kept
//! companies' files into `Output/historical_stock_data.csv`, load it into PostgreSQL, write the
//! run's log under `Logs/`, and announce `<Name>_Pipeline_Success` or `_Failure` with the reason,
//! once (an object whose S3 notification on the run-status topic is the announcement).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use bytes::Bytes;
use futures_util::StreamExt;

use super::error::BatchError;
use super::extract::{self, Extracted, Problem};
use super::layout::{self, COLUMNS};
use super::load::Loader;
use super::output::OutputUpload;
use crate::aws::{AwsError, Clients};
use crate::chaos::{Chaos, Stage};
use crate::metrics::catalogue;
use crate::notify::{announce, run_status_subject};

/// Where a run reads, writes and reports.
#[derive(Debug, Clone)]
pub struct BatchJob {
    /// AWS clients.
    pub clients: Clients,
    /// The bucket with `Stocks/`, `CompanyNames/`, `Output/` and `Logs/`.
    pub source_bucket: String,
    /// The pipeline's name: `<name>_Pipeline_Success`.
    pub name: String,
    /// The database, as a `postgres://` URL.
    pub database_url: String,
    /// Loads a run makes before it fails on a database that keeps losing its connection
    /// ([`LOAD_ATTEMPTS`]; 1: a loader that does not load again).
    pub load_attempts: u32,
    /// A fault schedule whose `crash` of stage `loader` kills the load after a company file
    /// went into `COPY` (none: it never crashes).
    pub chaos: Option<Arc<Chaos>>,
    /// Counts each company file sent into `COPY`, loads again included: how a watcher sees a
    /// long run move (none: not counted).
    pub progress: Option<Arc<std::sync::atomic::AtomicU64>>,
}

/// How many times a run loads (on a new connection each time) before a lost connection fails it.
pub const LOAD_ATTEMPTS: u32 = 3;

/// What a run did, as its log and its status message say.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The day the run is for (`YYYY-MM-DD`).
    pub day: String,
    /// Whether it loaded the table.
    pub success: bool,
    /// Why it failed.
    pub reason: Option<String>,
    /// Companies listed in `top_companies.txt`.
    pub companies: usize,
    /// Rows written to the output and copied into the table.
    pub rows_loaded: u64,
    /// Rows per company.
    pub per_company: BTreeMap<String, u64>,
    /// Rows that could not be read.
    pub bad_rows: u64,
    /// Files that could not be read.
    pub bad_files: u64,
    /// The first problems, with their places.
    pub problems: Vec<Problem>,
    /// The output object's key, once written.
    pub output_key: Option<String>,
    /// The log object's key.
    pub log_key: String,
    /// Seconds spent reading and transforming.
    pub extract_secs: f64,
    /// Seconds spent waiting on `COPY` and the output upload (they run while files are read).
    pub load_secs: f64,
    /// Seconds for the whole run.
    pub total_secs: f64,
    /// Loads begun again after the database connection was lost.
    #[serde(default)]
    pub load_retries: u32,
}

impl BatchJob {
    /// Runs once for `day`; always logs the outcome and announces it, once.
    ///
    /// # Errors
    /// The status not announced (S3 refusing it after the retries), or the load crashed at its
    /// crash point ([`crate::Error::Crashed`], nothing logged or announced): the caller leaves
    /// its trigger for redelivery, so that the day is run and announced again.
    pub async fn run(&self, day: &str) -> crate::Result<RunSummary> {
        let started = Instant::now();
        let mut summary = RunSummary {
            day: day.to_string(),
            log_key: format!(
                "{}{day}-{}.json",
                layout::LOGS,
                chrono::Utc::now().timestamp_millis()
            ),
            ..RunSummary::default()
        };
        match self.load(&mut summary).await {
            Ok(()) => summary.success = true,
            Err(BatchError::Crashed) => {
                tracing::warn!(day, "the load crashed; its trigger comes back");
                return Err(crate::Error::Crashed(Stage::Loader));
            }
            Err(error) => {
                tracing::warn!(%error, "batch run failed");
                summary.reason = Some(error.to_string());
            }
        }
        summary.total_secs = started.elapsed().as_secs_f64();
        self.record(&summary);
        if let Err(e) = self.write_log(&summary).await {
            tracing::warn!(error = %e, "batch run log not written");
        }
        let subject = run_status_subject(&self.name, summary.success);
        let key = layout::status_key(day, &subject);
        if !announce(&self.clients, &self.source_bucket, &key, &summary).await? {
            tracing::info!(key, "the day's status was announced before; not again");
        }
        Ok(summary)
    }

    /// Records a finished run's metrics (`Tickflow/Batch`, by the job's name: its source
    /// bucket, unique to the run): the rows it loaded, whether it failed, how long it took.
    fn record(&self, summary: &RunSummary) {
        let (metrics, job) = (&self.clients.metrics, self.source_bucket.as_str());
        metrics.record(&catalogue::ROWS_LOADED, job, summary.rows_loaded as f64);
        let failed = if summary.success { 0.0 } else { 1.0 };
        metrics.record(&catalogue::RUNS_FAILED, job, failed);
        metrics.record(&catalogue::RUN_DURATION, job, summary.total_secs);
    }

    /// Whether `day`'s status has been announced (by an earlier delivery of its trigger whose
    /// message was not deleted, or a run restarted after it announced).
    ///
    /// # Errors
    /// The listing failing.
    pub async fn announced(&self, day: &str) -> Result<bool, AwsError> {
        let keys = self
            .clients
            .object_keys_under(&self.source_bucket, &layout::status_prefix(day))
            .await?;
        Ok(keys.is_some_and(|keys| !keys.is_empty()))
    }

    /// The run's steps, begun again from the start (a new connection, a new output upload) while
    /// the database connection is lost, up to `load_attempts` times: the lost attempt's
    /// transaction never committed and its output was aborted, so nothing is loaded twice.
    async fn load(&self, summary: &mut RunSummary) -> Result<(), BatchError> {
        let mut attempt = 1;
        loop {
            match self.steps(summary).await {
                Err(error) if error.is_connection_lost() && attempt < self.load_attempts => {
                    tracing::warn!(%error, attempt, "database connection lost; loading again");
                    *summary = RunSummary {
                        day: summary.day.clone(),
                        log_key: summary.log_key.clone(),
                        load_retries: summary.load_retries + 1,
                        ..RunSummary::default()
                    };
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt)))
                        .await;
                }
                done => return done,
            }
        }
    }

    async fn steps(&self, summary: &mut RunSummary) -> Result<(), BatchError> {
        let bucket = &self.source_bucket;
        let companies = extract::company_list(&self.clients, bucket).await?;
        summary.companies = companies.len();
        if companies.is_empty() {
            return Err(BatchError::Input(format!(
                "s3://{bucket}/{} lists no company",
                layout::COMPANY_LIST
            )));
        }
        let mut client = connect(&self.database_url).await?;
        let mut loader = Loader::begin(&mut client, &companies).await?;
        let mut output = OutputUpload::start(&self.clients, bucket, layout::OUTPUT).await?;
        let streamed = self
            .stream_rows(&companies, &mut loader, &mut output, summary)
            .await;
        if let Err(reason) = streamed {
            output.abort().await;
            return Err(reason); // the transaction rolls back when the loader is dropped
        }
        // The output is completed only once the table holds its rows: a commit that fails
        // leaves neither (the upload is aborted, never seen), not an output the table lacks.
        let committing = Instant::now();
        match loader.commit().await {
            Ok(rows) => summary.rows_loaded = rows,
            Err(e) => {
                output.abort().await;
                return Err(e);
            }
        }
        summary.load_secs += committing.elapsed().as_secs_f64();
        output.finish().await?;
        summary.output_key = Some(layout::OUTPUT.to_string());
        Ok(())
    }

    /// Reads the companies' files in list order and feeds each one's rows to the table and the
    /// output object as it goes; fails when no row could be read.
    async fn stream_rows(
        &self,
        companies: &[String],
        loader: &mut Loader<'_>,
        output: &mut OutputUpload,
        summary: &mut RunSummary,
    ) -> Result<(), BatchError> {
        let header = format!("{}\n", COLUMNS.join(","));
        loader.send(Bytes::from(header.clone())).await?;
        output.write(header.as_bytes()).await?;
        let mut extracted = Extracted::default();
        let mut files = std::pin::pin!(extract::files(
            &self.clients,
            &self.source_bucket,
            companies
        ));
        let mut reading = Instant::now();
        while let Some((company, fetched)) = files.next().await {
            let mut rows = Vec::new();
            extracted.read(&self.source_bucket, company, fetched, &mut rows);
            summary.extract_secs += reading.elapsed().as_secs_f64();
            let loading = Instant::now();
            output.write(&rows).await?;
            loader.send(Bytes::from(rows)).await?;
            summary.load_secs += loading.elapsed().as_secs_f64();
            if let Some(progress) = &self.progress {
                progress.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            if Chaos::crash_point_of(self.chaos.as_deref(), Stage::Loader).await {
                return Err(BatchError::Crashed); // the connection drops: nothing commits
            }
            reading = Instant::now();
        }
        summary.per_company = extracted.per_company.clone();
        summary.bad_rows = extracted.bad_rows;
        summary.bad_files = extracted.bad_files;
        summary.problems = extracted.problems.clone();
        if extracted.rows() == 0 {
            return Err(BatchError::Input(
                "no row of the listed companies could be read".into(),
            ));
        }
        Ok(())
    }

    async fn write_log(&self, summary: &RunSummary) -> Result<(), AwsError> {
        let body = serde_json::to_vec_pretty(summary).expect("summaries serialise");
        self.clients
            .s3
            .put_object()
            .bucket(&self.source_bucket)
            .key(&summary.log_key)
            .content_type("application/json")
            .body(body.into())
            .send()
            .await
            .map_err(AwsError::of("s3", "PutObject"))?;
        Ok(())
    }
}

/// A database connection, its driver task spawned.
async fn connect(url: &str) -> Result<tokio_postgres::Client, BatchError> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(BatchError::database("connecting to PostgreSQL"))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "PostgreSQL connection ended");
        }
    });
    Ok(client)
}
