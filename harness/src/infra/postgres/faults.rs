//! PostgreSQL faulted for real during a run: connections ended, server paused, tables locked.
//!
//! A flow's database faults, carried out on the real server while the stages run, never
//! simulated in the client. They act on the flow's database writer, found by the
//! `application_name` of its connections (the batch loader, the web source's writer):
//! - at `COPY`s (`at`): a watcher reads `pg_stat_activity` for the writer's `COPY ... FROM
//!   STDIN`, counts each one it sees start, and on those a rule lists ends its connection
//!   (`pg_terminate_backend`, as a server restart or an administrator does) or pauses the
//!   PostgreSQL container through the engine's API;
//! - at a moment (`after_secs`): every connection of the writer ended, or the container
//!   paused `for_secs`;
//! - a lock: `LOCK TABLE ... IN ACCESS EXCLUSIVE MODE` on the flow's tables, on a connection
//!   of its own, from its moment for its length.
//!
//! Each fault is recorded in the run's fired list as it happens.

use std::sync::Arc;
use std::time::Duration;

use tickflow_pipeline::chaos::{Chaos, FaultKind, FaultRule, Fired};
use tickflow_pipeline::control::{self, Control, Controller, Phase};
use tokio::task::JoinSet;

use crate::error::{Error, Result};
use crate::infra::localstack::outage;

/// How often the watcher looks for the writer's `COPY`.
const WATCH_EVERY: Duration = Duration::from_millis(20);

/// The database faults of a run, under way in the background.
pub struct DatabaseFaults {
    tasks: JoinSet<Result<()>>,
    controller: Controller,
}

/// Where the faults act: the run's database, the writer's connections, the tables, the
/// container.
pub struct Target<'a> {
    /// The run's database URL.
    pub database_url: &'a str,
    /// The `application_name` the flow's writer connects with.
    pub writer: &'a str,
    /// The tables a lock holds (schema-qualified where they need it); they exist before the
    /// faults start.
    pub tables: &'a [String],
    /// The PostgreSQL container tickflow started, for a pause.
    pub container: Option<&'a str>,
}

impl DatabaseFaults {
    /// Starts the watcher and the locks for the database rules of `chaos` (nothing without
    /// one).
    ///
    /// # Errors
    /// A pause asked of a PostgreSQL tickflow did not start.
    pub fn start(chaos: Option<&Arc<Chaos>>, target: &Target<'_>) -> Result<Self> {
        let (controller, watch) = control::channel();
        let mut tasks = JoinSet::new();
        let Some(chaos) = chaos else {
            return Ok(Self { tasks, controller });
        };
        let rules = chaos.rules();
        if rules.iter().any(|r| r.kind == FaultKind::DbPause) && target.container.is_none() {
            return Err(Error::Input(format!(
                "a db_pause fault pauses the PostgreSQL container, and tickflow pauses only a \
                 container it started itself (not one given by {})",
                super::config::ENV_URL
            )));
        }
        if rules.iter().any(fires_at_copies) {
            let watcher = Watcher {
                chaos: chaos.clone(),
                url: target.database_url.to_string(),
                writer: target.writer.to_string(),
                container: target.container.map(str::to_string),
            };
            tasks.spawn(watcher.run(watch.clone()));
        }
        for (index, rule) in rules.iter().enumerate() {
            if !rule.kind.is_database_fault() || !rule.fires_at_a_moment() {
                continue;
            }
            let moment = Moment {
                chaos: chaos.clone(),
                index,
                rule: rule.clone(),
                url: target.database_url.to_string(),
                writer: target.writer.to_string(),
                tables: target.tables.to_vec(),
                container: target.container.map(str::to_string),
            };
            tasks.spawn(moment.run(watch.clone()));
        }
        Ok(Self { tasks, controller })
    }

    /// Stops watching (the stages drained) and waits for a pause or a lock under way to end.
    ///
    /// # Errors
    /// The watcher or a lock failing (its database calls, the engine's pause).
    pub async fn finish(mut self) -> Result<()> {
        self.controller.set(Phase::Drain);
        let mut first_error = None;
        while let Some(done) = self.tasks.join_next().await {
            let outcome = done.map_err(|e| Error::Stage {
                stage: "database faults".into(),
                reason: e.to_string(),
            });
            if let Err(e) = outcome.and_then(|r| r) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Whether `rule` fires on the writer's `COPY`s.
fn fires_at_copies(rule: &FaultRule) -> bool {
    rule.kind.fires_at_passes_or_a_moment() && !rule.at.is_empty()
}

/// Watches for the writer's `COPY`s and faults those the rules list.
struct Watcher {
    chaos: Arc<Chaos>,
    url: String,
    writer: String,
    container: Option<String>,
}

impl Watcher {
    async fn run(self, mut control: Control) -> Result<()> {
        let db = super::connect::connect(&self.url).await?;
        let query = "SELECT pid, query_start::text FROM pg_stat_activity \
                     WHERE application_name = $1 AND state = 'active' \
                     AND query ILIKE 'COPY % FROM STDIN%'";
        let mut seen: Vec<(i32, String)> = Vec::new();
        loop {
            tokio::select! {
                _ = control.reached(Phase::Drain) => return Ok(()),
                _ = tokio::time::sleep(WATCH_EVERY) => {}
            }
            let rows = db
                .query(query, &[&self.writer])
                .await
                .map_err(database("reading pg_stat_activity"))?;
            for row in rows {
                let copy: (i32, String) = (row.get(0), row.get(1));
                if seen.contains(&copy) {
                    continue;
                }
                seen.push(copy.clone());
                tracing::info!(pid = copy.0, pass = seen.len(), "the writer's COPY started");
                self.fault(&db, seen.len() as u64, copy.0).await?;
            }
        }
    }

    /// Faults the `pass`-th `COPY` (backend `pid`) as every rule listing it says.
    async fn fault(&self, db: &tokio_postgres::Client, pass: u64, pid: i32) -> Result<()> {
        for (index, rule) in self.chaos.rules().iter().enumerate() {
            if !fires_at_copies(rule) || !rule.at.contains(&pass) {
                continue;
            }
            let at_ms = self.chaos.elapsed_ms();
            match rule.kind {
                FaultKind::DbTerminate => {
                    db.query_one("SELECT pg_terminate_backend($1)", &[&pid])
                        .await
                        .map_err(database("pg_terminate_backend"))?;
                    tracing::info!(pid, pass, "the writer's COPY was terminated");
                    let fired = Fired::on_copy(FaultKind::DbTerminate, pass, at_ms, None);
                    self.chaos.record(index, fired);
                }
                FaultKind::DbPause => {
                    let length = Duration::from_secs_f64(rule.for_secs);
                    let fired =
                        Fired::on_copy(FaultKind::DbPause, pass, at_ms, Some(rule.for_secs));
                    self.chaos.record(index, fired);
                    tracing::info!(pass, ?length, "PostgreSQL paused during the writer's COPY");
                    let container = self.container.as_deref().unwrap_or_default();
                    outage::pause_for(container, length).await?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A rule that fires at a moment of the run: a termination, a pause or a lock.
struct Moment {
    chaos: Arc<Chaos>,
    index: usize,
    rule: FaultRule,
    url: String,
    writer: String,
    tables: Vec<String>,
    container: Option<String>,
}

impl Moment {
    async fn run(self, mut control: Control) -> Result<()> {
        let after = Duration::from_secs_f64(self.rule.after_secs);
        tokio::select! {
            _ = control.reached(Phase::Drain) => return Ok(()), // not due: fired nothing
            _ = tokio::time::sleep(after) => {}
        }
        let length = Duration::from_secs_f64(self.rule.for_secs);
        let lasting = self.rule.kind.lasts().then_some(self.rule.for_secs);
        let fired = Fired::moment(self.rule.kind, self.chaos.elapsed_ms(), lasting);
        match self.rule.kind {
            FaultKind::DbTerminate => {
                let db = super::connect::connect(&self.url).await?;
                let ended = db
                    .query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE application_name = $1",
                        &[&self.writer],
                    )
                    .await
                    .map_err(database("pg_terminate_backend"))?
                    .len();
                tracing::info!(ended, writer = %self.writer, "the writer's connections were ended");
                self.chaos.record(self.index, fired);
            }
            FaultKind::DbPause => {
                self.chaos.record(self.index, fired);
                tracing::info!(?length, "PostgreSQL paused");
                let container = self.container.as_deref().unwrap_or_default();
                outage::pause_for(container, length).await?;
            }
            FaultKind::DbLock => self.lock(fired, length).await?,
            _ => {}
        }
        Ok(())
    }

    /// Holds `LOCK TABLE` on the tables for `length`.
    async fn lock(&self, fired: Fired, length: Duration) -> Result<()> {
        let mut db = super::connect::connect(&self.url).await?;
        let tx = db.transaction().await.map_err(database("BEGIN"))?;
        let lock = format!(
            "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
            self.tables.join(", ")
        );
        tx.batch_execute(&lock)
            .await
            .map_err(database("LOCK TABLE"))?;
        self.chaos.record(self.index, fired);
        tracing::info!(?length, tables = ?self.tables, "tables locked");
        tokio::time::sleep(length).await;
        tx.commit().await.map_err(database("releasing the lock"))
    }
}

/// A database error of the fault schedule while doing `what`.
fn database(what: &'static str) -> impl Fn(tokio_postgres::Error) -> Error {
    move |e| Error::Database {
        what: format!("fault schedule: {what}"),
        reason: e.to_string(),
    }
}
