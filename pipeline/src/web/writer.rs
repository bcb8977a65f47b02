//! The web source's database writer: group commits that survive a lost connection.
//!
//! One task writes every request's rows and log entry, many requests in one transaction (group
//! commit), so a request is answered only once its rows are durable. The database may end the
//! connection, stop answering (a paused server) or hold a lock past the connection's statement
//! timeout; the writer then:
//! - answers the rows it could not store with a failure (the request gets a 503), never a
//!   success it cannot vouch for;
//! - keeps every log entry and writes it once the database is back (an entry is lost only when
//!   the database stays away past the end of the run);
//! - when the connection was lost during a commit, reconnects, ends the old backend and asks
//!   the database whether the group's marker row is there before it answers: a commit whose
//!   answer was lost is a success, not a failure that would leave rows nobody was served.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::connection::{Connector, Live};
use super::insert;
use super::tables::{LoggedRequest, Schema};
use crate::event::MarketEvent;

/// Jobs one transaction takes at most.
const MAX_GROUP: usize = 512;
/// Longest one group commit may take before its connection is taken as lost.
const COMMIT_DEADLINE: Duration = Duration::from_secs(6);
/// Pause before log entries that could not be stored are tried again.
const RETRY_PAUSE: Duration = Duration::from_millis(250);
/// Longest the writer keeps trying to store the last log entries once the server stopped.
const FLUSH_DEADLINE: Duration = Duration::from_secs(30);

/// What the writer did, once every handle is gone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Transactions committed.
    pub commits: u64,
    /// Event rows written.
    pub rows: u64,
    /// `request_log` rows written.
    pub logged: u64,
    /// `request_log` rows that could not be written (the database stayed away past the end).
    pub logs_lost: u64,
    /// Groups not committed (their requests answered 503, their log entries kept).
    pub not_committed: u64,
    /// Connections opened again after one was lost.
    pub reconnects: u64,
}

impl StoreStats {
    /// Adds `other`'s figures: a writer's and its successor's, after a crash.
    pub fn add(&mut self, other: &StoreStats) {
        self.commits += other.commits;
        self.rows += other.rows;
        self.logged += other.logged;
        self.logs_lost += other.logs_lost;
        self.not_committed += other.not_committed;
        self.reconnects += other.reconnects;
    }
}

/// What the writer is asked to do.
pub(super) enum Job {
    /// Store one request's rows and say when they are committed.
    Rows {
        request_id: uuid::Uuid,
        events: Arc<[MarketEvent]>,
        done: oneshot::Sender<Result<(), String>>,
    },
    /// Store one `request_log` entry (nobody waits for it).
    Log(LoggedRequest),
}

/// Requests that arrived and whose `request_log` row is not committed yet: what a server that
/// dies now leaves unlogged.
pub(super) type Owed = Arc<Mutex<HashSet<uuid::Uuid>>>;

/// One request's rows, as a group commit stores them.
type RequestRows = (uuid::Uuid, Arc<[MarketEvent]>);

/// Who waits for a request's rows to be committed.
type Waiting = oneshot::Sender<Result<(), String>>;

/// How a group commit ended.
enum Outcome {
    /// Committed (perhaps found so after its answer was lost).
    Committed,
    /// Not committed: the database said why, or the group was found missing after a loss.
    NotCommitted(String),
    /// The connection was lost during the commit: nobody knows yet.
    Unknown(String),
}

/// The writer's state: its connection, its queue, the log entries it still owes.
pub(super) struct Writer {
    connector: Connector,
    schema: Schema,
    live: Option<Live>,
    rx: mpsc::Receiver<Job>,
    up: Arc<AtomicBool>,
    pending: Vec<LoggedRequest>,
    stats: StoreStats,
    /// Where committed log rows are crossed off, and the figures published after each group.
    reporting: Option<(Owed, Arc<Mutex<StoreStats>>)>,
}

impl Writer {
    /// A writer on `live`, reconnecting through `connector`; `up` says whether requests should
    /// queue rows at all (it is false while the writer reconnects).
    pub(super) fn new(
        connector: Connector,
        live: Live,
        schema: Schema,
        rx: mpsc::Receiver<Job>,
        up: Arc<AtomicBool>,
    ) -> Self {
        Self {
            connector,
            schema,
            live: Some(live),
            rx,
            up,
            pending: Vec::new(),
            stats: StoreStats::default(),
            reporting: None,
        }
    }

    /// Crosses each committed log row's request off `owed`, and publishes its figures to
    /// `stats` after each group.
    pub(super) fn reporting(mut self, owed: Owed, stats: Arc<Mutex<StoreStats>>) -> Self {
        self.reporting = Some((owed, stats));
        self
    }

    /// Publishes what was committed: the log rows' requests, the figures.
    fn report(&self, logged: &[LoggedRequest]) {
        if let Some((owed, stats)) = &self.reporting {
            let mut owed = owed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for entry in logged {
                owed.remove(&entry.request_id);
            }
            *stats
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = self.stats;
        }
    }

    /// Writes what is queued until every handle is gone, then the log entries still owed;
    /// returns its figures.
    pub(super) async fn run(mut self) -> StoreStats {
        while let Some(jobs) = self.next_jobs().await {
            self.write(jobs).await;
        }
        self.flush().await;
        self.stats
    }

    /// The next jobs (up to [`MAX_GROUP`]); with log entries owed, the wait is short.
    /// `None` once every handle is gone.
    async fn next_jobs(&mut self) -> Option<Vec<Job>> {
        let first = if self.pending.is_empty() {
            Some(self.rx.recv().await?)
        } else {
            tokio::select! {
                job = self.rx.recv() => Some(job?),
                _ = tokio::time::sleep(RETRY_PAUSE) => None,
            }
        };
        let mut jobs: Vec<Job> = first.into_iter().collect();
        while jobs.len() < MAX_GROUP {
            match self.rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        Some(jobs)
    }

    /// Commits `jobs` and the log entries owed in one transaction, and answers the rows.
    async fn write(&mut self, jobs: Vec<Job>) {
        let (mut rows, mut waiting): (Vec<RequestRows>, Vec<Waiting>) = (Vec::new(), Vec::new());
        let mut logs = std::mem::take(&mut self.pending);
        for job in jobs {
            match job {
                Job::Rows {
                    request_id,
                    events,
                    done,
                } => {
                    rows.push((request_id, events));
                    waiting.push(done);
                }
                Job::Log(entry) => logs.push(entry),
            }
        }
        let group = uuid::Uuid::new_v4();
        let outcome = match self.commit(group, &rows, &logs).await {
            Outcome::Unknown(reason) => {
                tracing::warn!(%reason, "the connection was lost during a commit");
                self.reconnect(Some(group))
                    .await
                    .unwrap_or(Outcome::Unknown(reason))
            }
            known => known,
        };
        match outcome {
            Outcome::Committed => {
                self.stats.commits += 1;
                self.stats.rows += rows.iter().map(|(_, e)| e.len() as u64).sum::<u64>();
                self.stats.logged += logs.len() as u64;
                self.report(&logs);
                for done in waiting {
                    let _ = done.send(Ok(()));
                }
            }
            Outcome::NotCommitted(reason) | Outcome::Unknown(reason) => {
                tracing::warn!(%reason, requests = rows.len(), entries = logs.len(), "a group was not stored");
                self.stats.not_committed += 1;
                self.report(&[]);
                // Entries that came while reconnecting are owed too: these go first.
                let came = std::mem::replace(&mut self.pending, logs);
                self.pending.extend(came);
                for done in waiting {
                    let _ = done.send(Err(reason.clone()));
                }
            }
        }
    }

    /// One group commit on the live connection (opened first if there is none).
    async fn commit(
        &mut self,
        group: uuid::Uuid,
        rows: &[RequestRows],
        logs: &[LoggedRequest],
    ) -> Outcome {
        if self.live.is_none() {
            if let Some(outcome) = self.reconnect(None).await {
                return outcome;
            }
        }
        let Some(live) = self.live.as_mut() else {
            return Outcome::NotCommitted("no connection to the database".into());
        };
        let insert = insert::insert(&mut live.client, &self.schema, group, rows, logs);
        match tokio::time::timeout(COMMIT_DEADLINE, insert).await {
            Ok(Ok(())) => Outcome::Committed,
            Ok(Err(e)) if e.is_closed() || live.client.is_closed() => {
                Outcome::Unknown(e.to_string())
            }
            Ok(Err(e)) => Outcome::NotCommitted(describe(&e)),
            Err(_) => Outcome::Unknown(format!("no answer within {COMMIT_DEADLINE:?}")),
        }
    }

    /// Drops the connection, opens another (refusing rows and keeping log entries meanwhile),
    /// and when `group` was being committed, finds out whether it was. `None` when no group
    /// was asked about, or when every handle went away and the database stayed away.
    async fn reconnect(&mut self, group: Option<uuid::Uuid>) -> Option<Outcome> {
        self.up.store(false, Ordering::Release);
        let lost = self.live.take().map(|live| live.pid);
        let Self {
            connector,
            schema,
            rx,
            pending,
            stats,
            ..
        } = self;
        let recovering = connector.recover(schema, lost, group);
        tokio::pin!(recovering);
        let mut queue_open = true;
        let mut closed_at = None;
        let recovered = loop {
            tokio::select! {
                recovered = &mut recovering => break Some(recovered),
                job = rx.recv(), if queue_open => match job {
                    Some(Job::Rows { done, .. }) => {
                        let _ = done.send(Err("the database is unavailable".into()));
                    }
                    Some(Job::Log(entry)) => pending.push(entry),
                    None => {
                        queue_open = false;
                        closed_at = Some(tokio::time::Instant::now());
                    }
                },
                _ = tokio::time::sleep(FLUSH_DEADLINE), if closed_at.is_some() => break None,
            }
        };
        let (live, committed) = recovered?;
        stats.reconnects += 1;
        tracing::info!(pid = live.pid, "reconnected to the database");
        self.live = Some(live);
        self.up.store(true, Ordering::Release);
        committed.map(|found| match found {
            true => Outcome::Committed,
            false => Outcome::NotCommitted("the database failed during the commit".into()),
        })
    }

    /// Stores the log entries still owed once every handle is gone, trying for at most
    /// [`FLUSH_DEADLINE`]; what is left then is counted lost.
    async fn flush(&mut self) {
        let deadline = tokio::time::Instant::now() + FLUSH_DEADLINE;
        while !self.pending.is_empty() && tokio::time::Instant::now() < deadline {
            self.write(Vec::new()).await;
            if !self.pending.is_empty() {
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
        if !self.pending.is_empty() {
            tracing::error!(entries = self.pending.len(), "request log entries lost");
            self.stats.logs_lost += self.pending.len() as u64;
        }
    }
}

/// A database error as the server gave it (its message and code), else the driver's words.
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}
