//! The web source's process: server, database writer and relay, started again after a crash.
//!
//! The web source runs as one process would: its server, its database writer and its relay
//! share a fate. At the fault schedule's crash point the process dies (every connection closed,
//! the writer's queue and the relay's place in memory gone) and a new one starts on the same
//! address and tables: its writer first ends the dead one's database connections, its relay
//! sends the outbox on from the position the dead one saved. The market data goes on where it
//! was: it is the market's, not the server's.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tickflow_pipeline::event::MarketEvent;
use tickflow_pipeline::retry::{Attempts, Backoff};
use tickflow_pipeline::web::{
    Backlog, Connector, MarketData, Relay, RelayStats, Schema, Store, StoreStats, WebConfig,
    WebServer, WebStats,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::error::{Error, Result};

/// How a new life is tried after a crash: 20 attempts, half a second apart.
const RESTART: Backoff = Backoff {
    initial: Duration::from_millis(500),
    max: Duration::from_millis(500),
    max_attempts: 20,
};

/// What the process did over all its lives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessStats {
    /// The writers' figures, summed.
    pub store: StoreStats,
    /// The relays' figures, summed.
    pub relay: RelayStats,
    /// Times the process died and a new one started.
    pub restarts: u64,
}

impl ProcessStats {
    fn add(&mut self, store: StoreStats, relay: RelayStats) {
        self.store.add(&store);
        self.relay.add(&relay);
    }
}

/// Everything a new life of the process is made from.
pub(super) struct Process {
    pub(super) connector: Connector,
    pub(super) schema: Schema,
    pub(super) db_queue: usize,
    pub(super) config: WebConfig,
    pub(super) data: MarketData,
    pub(super) backlog: Arc<Backlog>,
    pub(super) queue: mpsc::Sender<MarketEvent>,
    pub(super) stats: Arc<WebStats>,
}

/// One life of the process.
pub(super) struct Life {
    server: WebServer,
    /// A handle of the writer's: its figures and the requests it still owes a log row.
    store: Store,
    writer: JoinHandle<StoreStats>,
    relay: JoinHandle<RelayStats>,
    relay_figures: Arc<Mutex<RelayStats>>,
}

impl Life {
    /// Where its server listens.
    pub(super) fn addr(&self) -> std::net::SocketAddr {
        self.server.addr()
    }

    /// Dies: the server's connections closed, the writer and the relay stopped where they
    /// were. Their figures so far go to `totals`; returns the requests it leaves unlogged.
    async fn kill(self, totals: &mut ProcessStats) -> Vec<uuid::Uuid> {
        self.server.kill().await;
        for task in [self.writer.abort_handle(), self.relay.abort_handle()] {
            task.abort();
        }
        let _ = self.writer.await;
        let _ = self.relay.await;
        let relay = *self
            .relay_figures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        totals.add(self.store.stats(), relay);
        self.store.unlogged()
    }

    /// Stops gracefully: the server lets its requests finish, the writer commits what it
    /// owes, the relay sends the outbox to its end.
    async fn stop(self, totals: &mut ProcessStats) -> Result<()> {
        if let Err(e) = self.server.stop().await {
            tracing::warn!(error = %e, "the web server did not stop cleanly");
        }
        drop(self.store);
        let ended = |what: &str, e: tokio::task::JoinError| Error::Stage {
            stage: what.to_string(),
            reason: e.to_string(),
        };
        let store = self
            .writer
            .await
            .map_err(|e| ended("web database writer", e))?;
        let relay = self.relay.await.map_err(|e| ended("web relay", e))?;
        totals.add(store, relay);
        Ok(())
    }
}

impl Process {
    /// Starts a life: the writer (which ends a dead predecessor's connections first), the
    /// relay from its saved position, the server on the configured address.
    ///
    /// # Errors
    /// No connection to PostgreSQL, the address not bound.
    pub(super) async fn start(&mut self) -> Result<Life> {
        let (store, writer) =
            Store::connect(self.connector.clone(), self.schema.clone(), self.db_queue).await?;
        let (writer_done, writer_ended) = watch::channel(false);
        let writer = tokio::spawn(async move {
            let stats = writer.await;
            let _ = writer_done.send(true);
            stats
        });
        let relay = Relay::new(
            self.connector.clone(),
            self.schema.clone(),
            self.queue.clone(),
            self.backlog.clone(),
        );
        let relay_figures = relay.figures();
        let relay = tokio::spawn(relay.run(writer_ended));
        let started = WebServer::start(
            &self.config,
            self.data.clone(),
            self.backlog.clone(),
            store.clone(),
            self.stats.clone(),
        )
        .await;
        let server = match started {
            Ok(server) => server,
            Err(e) => {
                writer.abort();
                relay.abort();
                return Err(e.into());
            }
        };
        // A new life listens where the last one did, wherever the first was given a port.
        self.config.addr = server.addr();
        Ok(Life {
            server,
            store,
            writer,
            relay,
            relay_figures,
        })
    }

    /// Lives `life`, and a new one after each crash, until `stop`; then stops the last one
    /// gracefully. Returns the figures of every life.
    ///
    /// # Errors
    /// A new life that could not start after [`RESTART`]'s attempts, or a stage of the
    /// last one that ended abnormally.
    pub(super) async fn live(
        mut self,
        mut life: Life,
        mut stop: oneshot::Receiver<()>,
    ) -> Result<ProcessStats> {
        let mut totals = ProcessStats::default();
        loop {
            tokio::select! {
                () = life.server.crashed() => {
                    let unlogged = life.kill(&mut totals).await;
                    self.stats
                        .cut
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .extend(unlogged);
                    totals.restarts += 1;
                    life = self.restart().await?;
                }
                _ = &mut stop => break,
            }
        }
        life.stop(&mut totals).await?;
        Ok(totals)
    }

    async fn restart(&mut self) -> Result<Life> {
        let mut attempts = Attempts::new(RESTART);
        loop {
            match self.start().await {
                Ok(life) => {
                    tracing::info!(addr = %life.addr(), "the web source started again");
                    return Ok(life);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the web source could not start again yet");
                    if attempts.failed().await.is_err() {
                        return Err(e);
                    }
                }
            }
        }
    }
}
