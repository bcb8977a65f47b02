//! A web-sourced run's front end: its tables, its server and its callers.
//!
//! A web-sourced run's front end: its tables in PostgreSQL, the server that stores into them,
//! the relay that sends what was stored on to the producer's queue, and whoever calls the
//! server (the scheduler, or nobody but curl while `tickflow serve` waits for Ctrl-C). The
//! queue's receiver is what the feed reads; it ends once the callers are done, the server has
//! stopped, its writer has ended and the relay has sent the outbox to its end. The callers, the
//! database writer and the relay are stages of the front end's own [`StageSet`]: whichever way
//! a run ends, none outlives it.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tickflow_pipeline::chaos::Chaos;
use tickflow_pipeline::control::{Control, Phase};
use tickflow_pipeline::event::MarketEvent;
use tickflow_pipeline::metrics::Metrics;
use tickflow_pipeline::source::{Generator, GeneratorConfig};
use tickflow_pipeline::stages::StageSet;
use tickflow_pipeline::web::{Backlog, Connector, Schema, Token, WebConfig, WebStats};
use tokio::sync::{mpsc, oneshot};

use super::client::{Calls, Scheduler};
use super::process::{Process, ProcessStats};
use super::settings::WebSettings;
use crate::error::{Error, Result};
use crate::flows::stream::input::arrival::LoadPlan;
use crate::infra::postgres;

/// Most events between the relay and the producer (the backlog, `web.queue`, bounds what waits
/// in the database).
const RELAY_QUEUE: usize = 4_096;

/// Who calls the server during the run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Callers {
    /// The scheduler, `calls` times on `WebSpec::schedule`.
    Scheduler {
        /// Scheduled calls.
        calls: u64,
    },
    /// Anyone (curl, a load tool) until Ctrl-C or `secs`: `tickflow serve`.
    Anyone {
        /// Serve this long; `None` until Ctrl-C.
        secs: Option<f64>,
    },
}

/// What a web-sourced run is given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebSpec {
    /// `[web]`.
    pub settings: WebSettings,
    /// The market data `/logs` hands out, in order.
    pub generator: GeneratorConfig,
    /// When the scheduler's calls are due.
    pub schedule: LoadPlan,
    /// Who calls.
    pub callers: Callers,
    /// The PostgreSQL the tables go to.
    #[serde(skip)]
    pub postgres: Option<String>,
    /// The bearer token, when `settings.auth`.
    #[serde(skip)]
    pub token: Option<String>,
}

/// The front end of a run while it serves: the server, with its callers and its database
/// writer running as stages of their own (dropped with it, as on an early error of the run, they
/// stop).
#[derive(Debug)]
pub struct WebRun {
    /// Where the server listens.
    pub addr: std::net::SocketAddr,
    /// The server's counts.
    pub stats: Arc<WebStats>,
    /// Whether the scheduler called (rather than anyone, as under `tickflow serve`).
    scheduled: bool,
    stages: Stages,
    calls: oneshot::Receiver<Calls>,
    process: oneshot::Receiver<ProcessStats>,
}

/// The front end's stages (a newtype: [`StageSet`] says nothing of itself in `Debug`).
struct Stages(StageSet);

impl std::fmt::Debug for Stages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stages(web callers, web source)")
    }
}

/// Where a run's tables are, to read them back and drop them. They are made before the source
/// starts and dropped with the run's other resources, whichever way the run ends.
#[derive(Debug, Clone)]
pub struct Tables {
    /// The PostgreSQL URL.
    pub url: String,
    /// The run's schema.
    pub schema: Schema,
}

impl Tables {
    /// Creates run `run_id`'s schema and tables in `spec`'s PostgreSQL; what was made is
    /// dropped again when a step fails.
    ///
    /// # Errors
    /// No PostgreSQL, or the tables not created.
    pub async fn create(spec: &WebSpec, run_id: &str) -> Result<Self> {
        let who = "the web source stores its rows in PostgreSQL";
        let url = postgres::required(spec.postgres.as_deref(), who)?.to_string();
        let tables = Tables {
            url,
            schema: Schema::new(&schema_name(run_id))?,
        };
        let client = postgres::connect(&tables.url).await?;
        if let Err(e) = tables.schema.create(&client).await {
            tables.drop().await;
            return Err(e.into());
        }
        Ok(tables)
    }

    /// Drops the run's schema (a failure is logged: names are unique to the run).
    pub async fn drop(&self) {
        let dropped = match postgres::connect(&self.url).await {
            Ok(client) => self.schema.drop(&client).await.map_err(Error::from),
            Err(e) => Err(e),
        };
        if let Err(e) = dropped {
            tracing::warn!(error = %e, schema = self.schema.name(), "could not drop the web tables");
        }
    }
}

/// What the front end did, once it stopped.
#[derive(Debug)]
pub struct Served {
    /// Every call the scheduler made, with its answer.
    pub calls: Calls,
    /// What the web source's process did: its writers, its relays, its restarts.
    pub process: ProcessStats,
}

/// The front end once it stopped: ready to be judged.
#[derive(Debug)]
pub struct Finished {
    /// Where the server listened.
    pub addr: std::net::SocketAddr,
    /// The server's counts.
    pub stats: Arc<WebStats>,
    /// What it served.
    pub served: Served,
    /// Whether the scheduler called: its calls are then judged one by one.
    pub scheduled: bool,
}

impl WebRun {
    /// Starts the server in front of `tables`, its database writer, the relay and the callers;
    /// returns the front end and the queue the feed reads.
    ///
    /// # Errors
    /// No connection to PostgreSQL, the address not bound.
    pub async fn start(
        spec: &WebSpec,
        tables: &Tables,
        (chaos, metrics): (Option<Arc<Chaos>>, (Metrics, String)),
    ) -> Result<(Self, mpsc::Receiver<MarketEvent>)> {
        let settings = &spec.settings;
        let addr = settings
            .addr
            .parse()
            .map_err(|_| Error::Input(format!("web.addr {:?} is not an address", settings.addr)))?;
        let (queue, events) = mpsc::channel(settings.queue.min(RELAY_QUEUE));
        let stats = Arc::new(WebStats::default());
        let generator: Box<dyn Iterator<Item = MarketEvent> + Send> =
            Box::new(Generator::new(spec.generator.clone()));
        let mut process = Process {
            connector: Connector::new(&tables.url, &writer_name(tables.schema.name()))?,
            schema: tables.schema.clone(),
            db_queue: settings.db_queue,
            config: WebConfig {
                addr,
                max_batch: settings.max_batch,
                token: spec.token.as_deref().and_then(Token::new),
                chaos,
                metrics,
            },
            data: Arc::new(std::sync::Mutex::new(generator)),
            backlog: Arc::new(Backlog::new(settings.queue)),
            queue,
            stats: stats.clone(),
        };
        let first = process.start().await?;
        let addr = first.addr();
        let mut stages = StageSet::new();
        let (stop, stopped) = oneshot::channel();
        let (lived, process_rx) = oneshot::channel();
        stages.start("web source", |mut control| async move {
            let stats = process
                .live(first, stopped)
                .await
                .map_err(|e| tickflow_pipeline::Error::Stage(e.to_string()))?;
            let _ = lived.send(stats);
            control.reached(Phase::Drain).await;
            Ok(())
        });
        let scheduler = Scheduler {
            base: format!("http://{addr}"),
            batch: settings.batch,
            token: spec.token.clone(),
            refused: settings.refused,
            in_flight: settings.in_flight,
        };
        let (schedule, callers) = (spec.schedule.clone(), spec.callers);
        let scheduled = matches!(callers, Callers::Scheduler { .. });
        let (called, calls_rx) = oneshot::channel();
        let calling = async move {
            let calls = match callers {
                Callers::Scheduler { calls } => scheduler.run(&schedule, calls).await,
                Callers::Anyone { secs } => {
                    wait_for_the_end(secs).await;
                    Calls::default()
                }
            };
            let _ = stop.send(());
            calls
        };
        stages.start("web callers", |control| {
            until_drained(control, called, calling)
        });
        let run = WebRun {
            addr,
            stats,
            scheduled,
            stages: Stages(stages),
            calls: calls_rx,
            process: process_rx,
        };
        Ok((run, events))
    }

    /// Waits until one of the front end's stages fails (pending while they run as they should).
    pub async fn failure(&mut self) -> tickflow_pipeline::stages::StageError {
        self.stages.0.failure().await
    }

    /// Waits for the callers, the database writer and the relay to finish, each within `limit`
    /// (the queue has closed by then: the feed ended).
    ///
    /// # Errors
    /// A stage that ended abnormally or did not finish in time.
    pub async fn finish(self, limit: Duration) -> Result<Finished> {
        let WebRun {
            addr,
            stats,
            scheduled,
            stages: Stages(stages),
            mut calls,
            mut process,
        } = self;
        stages.drain(limit, |_| {}).await?;
        let ended = |what: &str| Error::Stage {
            stage: what.to_string(),
            reason: "ended without its figures".into(),
        };
        let calls = calls.try_recv().map_err(|_| ended("web callers"))?;
        let process = process.try_recv().map_err(|_| ended("web source"))?;
        Ok(Finished {
            addr,
            stats,
            served: Served { calls, process },
            scheduled,
        })
    }
}

/// A front-end stage: does `work`, hands its figures over `done`, and ends once the run drains
/// it (a stage that ended before would be one that failed).
async fn until_drained<T>(
    mut control: Control,
    done: oneshot::Sender<T>,
    work: impl std::future::Future<Output = T>,
) -> tickflow_pipeline::Result<()> {
    let _ = done.send(work.await);
    control.reached(Phase::Drain).await;
    Ok(())
}

/// Ctrl-C, or `secs` if given first.
async fn wait_for_the_end(secs: Option<f64>) {
    let limit = secs
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .unwrap_or(Duration::MAX);
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C: stopping the web server"),
        _ = tokio::time::sleep(limit.min(Duration::from_secs(100 * 365 * 86_400))) => {}
    }
}

/// The `application_name` of the web writer's connections for the tables in `schema`: what the
/// fault schedule finds it by.
pub fn writer_name(schema: &str) -> String {
    format!(
        "tickflow-web-{}",
        schema.trim_start_matches("tickflow_web_")
    )
}

/// The schema of a run's tables: `tickflow_web_` and the run id's letters and digits.
fn schema_name(run_id: &str) -> String {
    let id: String = run_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(40)
        .collect();
    format!("tickflow_web_{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_id_makes_a_valid_schema() {
        for id in ["a1b2c3", "Run-42_X", "", "é!"] {
            let name = schema_name(id);
            assert!(Schema::new(&name).is_ok(), "{name}");
        }
    }
}
