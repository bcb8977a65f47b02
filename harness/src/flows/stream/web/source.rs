//! A web-sourced run's front end: its tables in PostgreSQL, the server in front of the
//! producer's queue, and whoever calls it (the scheduler, or nobody but curl while `tickflow
//! serve` waits for Ctrl-C). The queue's receiver is what the feed reads; it ends once the
//! callers are done and the server has stopped.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tickflow_pipeline::event::MarketEvent;
use tickflow_pipeline::source::{Generator, GeneratorConfig};
use tickflow_pipeline::web::{Schema, Store, StoreStats, Token, WebConfig, WebServer, WebStats};
use tokio::sync::mpsc;

use super::client::{Calls, Scheduler};
use super::settings::WebSettings;
use crate::error::{Error, Result};
use crate::flows::stream::arrival::LoadPlan;
use crate::postgres;

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

/// The front end of a run while it serves.
#[derive(Debug)]
pub struct WebRun {
    /// Where the server listens.
    pub addr: std::net::SocketAddr,
    /// The run's tables.
    pub tables: Tables,
    /// The server's counts.
    pub stats: Arc<WebStats>,
    /// Whether the scheduler called (rather than anyone, as under `tickflow serve`).
    scheduled: bool,
    callers: tokio::task::JoinHandle<Calls>,
    store: tokio::task::JoinHandle<StoreStats>,
}

/// Where a run's tables are, to read them back and drop them.
#[derive(Debug, Clone)]
pub struct Tables {
    /// The PostgreSQL URL.
    pub url: String,
    /// The run's schema.
    pub schema: Schema,
}

impl Tables {
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
    /// What the database writer committed.
    pub store: StoreStats,
}

/// The front end once it stopped: ready to be judged.
#[derive(Debug)]
pub struct Finished {
    /// Where the server listened.
    pub addr: std::net::SocketAddr,
    /// The run's tables.
    pub tables: Tables,
    /// The server's counts.
    pub stats: Arc<WebStats>,
    /// What it served.
    pub served: Served,
    /// Whether the scheduler called: its calls are then judged one by one.
    pub scheduled: bool,
}

impl WebRun {
    /// Creates the run's tables, starts the server and its callers; returns the front end and
    /// the queue the feed reads.
    ///
    /// # Errors
    /// No PostgreSQL, the tables not created, the address not bound.
    pub async fn start(
        spec: &WebSpec,
        run_id: &str,
    ) -> Result<(Self, mpsc::Receiver<MarketEvent>)> {
        let url = spec.postgres.clone().ok_or_else(|| {
            Error::Input(format!(
                "the web source stores its rows in PostgreSQL: let tickflow start `{}` or set {}",
                postgres::DEFAULT_IMAGE,
                postgres::ENV_URL
            ))
        })?;
        let schema = Schema::new(&schema_name(run_id))?;
        schema.create(&postgres::connect(&url).await?).await?;
        let settings = &spec.settings;
        let (store, store_task) = Store::start(
            postgres::connect(&url).await?,
            schema.clone(),
            settings.db_queue,
        );
        let (queue, events) = mpsc::channel(settings.queue);
        let stats = Arc::new(WebStats::default());
        let config = WebConfig {
            addr: settings.addr.parse().map_err(|_| {
                Error::Input(format!("web.addr {:?} is not an address", settings.addr))
            })?,
            max_batch: settings.max_batch,
            token: spec.token.as_deref().and_then(Token::new),
        };
        let data = Box::new(Generator::new(spec.generator.clone()));
        let server = WebServer::start(&config, data, queue, store, stats.clone()).await?;
        let addr = server.addr();
        let scheduler = Scheduler {
            base: format!("http://{addr}"),
            batch: settings.batch,
            token: spec.token.clone(),
            refused: settings.refused,
            in_flight: settings.in_flight,
        };
        let (schedule, callers) = (spec.schedule.clone(), spec.callers);
        let scheduled = matches!(callers, Callers::Scheduler { .. });
        let callers = tokio::spawn(async move {
            let calls = match callers {
                Callers::Scheduler { calls } => scheduler.run(&schedule, calls).await,
                Callers::Anyone { secs } => {
                    wait_for_the_end(secs).await;
                    Calls::default()
                }
            };
            if let Err(e) = server.stop().await {
                tracing::warn!(error = %e, "the web server did not stop cleanly");
            }
            calls
        });
        let run = WebRun {
            addr,
            tables: Tables { url, schema },
            stats,
            scheduled,
            callers,
            store: store_task,
        };
        Ok((run, events))
    }

    /// Waits for the callers and the database writer to finish (the queue has closed by then:
    /// the feed ended).
    ///
    /// # Errors
    /// A task that ended abnormally.
    pub async fn finish(self) -> Result<Finished> {
        let stage = |what: &str| {
            let what = what.to_string();
            move |e: tokio::task::JoinError| Error::Stage {
                stage: what,
                reason: e.to_string(),
            }
        };
        let calls = self.callers.await.map_err(stage("web scheduler"))?;
        let store = self.store.await.map_err(stage("web database writer"))?;
        Ok(Finished {
            addr: self.addr,
            tables: self.tables,
            stats: self.stats,
            served: Served { calls, store },
            scheduled: self.scheduled,
        })
    }
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
