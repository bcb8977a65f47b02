//! The handle requests store their rows and log entries through.
//!
//! Requests hand their rows and log entries to one writer ([`super::writer`]) that commits
//! many requests at once (group commit), so a request is answered only once its rows are
//! durable, without a transaction per request; while the writer reconnects, rows are refused at
//! once instead of queued.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use super::connection::Connector;
use super::error::WebError;
use super::tables::{LoggedRequest, Schema};
use super::writer::{Job, Owed, StoreStats, Writer};
use crate::event::MarketEvent;

/// Why rows were not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotStored {
    /// The writer's queue is full: the database is behind.
    Behind,
    /// The writer is gone (the server is stopping).
    Closed,
    /// The writer is reconnecting to the database.
    Down,
    /// The transaction failed.
    Failed(String),
}

/// The handle requests write through.
#[derive(Clone)]
pub struct Store {
    tx: mpsc::Sender<Job>,
    up: Arc<AtomicBool>,
    owed: Owed,
    stats: Arc<Mutex<StoreStats>>,
}

impl Store {
    /// A handle and its writer, connected through `connector` (every other connection under
    /// its name, a dead predecessor's, ended first), the queue `capacity` jobs deep. The writer is a future for the caller to run as a stage of its run (so that it
    /// stops with the run); it ends, with its figures, once every [`Store`] is dropped and the
    /// queue and the log entries it owes are written.
    ///
    /// # Errors
    /// [`WebError::Database`] when the first connection cannot be opened.
    pub async fn connect(
        connector: Connector,
        schema: Schema,
        capacity: usize,
    ) -> Result<
        (
            Self,
            impl std::future::Future<Output = StoreStats> + Send + 'static,
        ),
        WebError,
    > {
        let live = connector.open().await.map_err(|reason| {
            WebError::Config(format!("cannot connect to PostgreSQL: {reason}"))
        })?;
        connector.end_others(&live).await.map_err(|reason| {
            WebError::Config(format!("cannot end a dead writer's connections: {reason}"))
        })?;
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let up = Arc::new(AtomicBool::new(true));
        let (owed, stats) = (Owed::default(), Arc::<Mutex<StoreStats>>::default());
        let writer = Writer::new(connector, live, schema, rx, up.clone())
            .reporting(owed.clone(), stats.clone());
        let store = Store {
            tx,
            up,
            owed,
            stats,
        };
        Ok((store, writer.run()))
    }

    /// Request `id` arrived: its `request_log` row is owed until committed.
    pub fn arrived(&self, id: uuid::Uuid) {
        lock(&self.owed).insert(id);
    }

    /// Requests that arrived and whose `request_log` row is not committed: those a crash now
    /// leaves unlogged.
    pub fn unlogged(&self) -> Vec<uuid::Uuid> {
        lock(&self.owed).iter().copied().collect()
    }

    /// What the writer has done so far (its figures survive a writer that is killed).
    pub fn stats(&self) -> StoreStats {
        *lock(&self.stats)
    }

    /// Stores `events` (all or none) and returns once they are committed.
    ///
    /// # Errors
    /// [`NotStored`]: the queue is full or closed, the writer is reconnecting, or the
    /// transaction failed.
    pub async fn rows(
        &self,
        request_id: uuid::Uuid,
        events: std::sync::Arc<[MarketEvent]>,
    ) -> Result<(), NotStored> {
        if !self.up.load(Ordering::Acquire) {
            return Err(NotStored::Down);
        }
        let (done, stored) = oneshot::channel();
        let job = Job::Rows {
            request_id,
            events,
            done,
        };
        self.tx.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => NotStored::Behind,
            mpsc::error::TrySendError::Closed(_) => NotStored::Closed,
        })?;
        match stored.await {
            Ok(result) => result.map_err(NotStored::Failed),
            Err(_) => Err(NotStored::Closed),
        }
    }

    /// Queues a `request_log` row (waiting for room: no entry is dropped for being late).
    pub async fn log(&self, entry: LoggedRequest) {
        if self.tx.send(Job::Log(entry)).await.is_err() {
            tracing::warn!("the request log writer is gone; a request went unlogged");
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
