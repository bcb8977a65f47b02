//! The relay: the web source's stored events sent on to the producer, from the outbox.
//!
//! What reaches the producer from the web source is what the database committed, read back
//! from the outbox ([`super::outbox`]) in commit order, never a copy held in the server's
//! memory: a server that dies between its commit and its answer leaves its events stored, and
//! a relay started after it sends them on from its saved position (what it sent after that
//! position is sent again, and the processor drops the copies). The relay survives a lost
//! connection as the writer does, and ends once the writer has ended and the outbox holds
//! nothing more.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::connection::{Connector, Live};
use super::outbox;
use super::tables::Schema;
use crate::event::{parse_record, MarketEvent};

/// Records read from the outbox at once.
const BATCH: i64 = 1_000;
/// Pause between two looks at an outbox that had nothing new.
const IDLE: Duration = Duration::from_millis(50);
/// First and longest pause after a database error.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(1));
/// Longest the relay keeps trying to reach the database once the writer has ended.
const END_DEADLINE: Duration = Duration::from_secs(30);

/// Events stored and not yet relayed, against the most the server lets wait: what decides
/// whether a request is refused with 429 instead of adding to a lag the producer cannot take.
/// The bound is checked before a request stores, so requests in flight together may pass it by
/// their own batches.
#[derive(Debug)]
pub struct Backlog {
    capacity: u64,
    stored: AtomicU64,
    relayed: AtomicU64,
}

impl Backlog {
    /// A backlog of at most about `capacity` events.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity as u64,
            stored: AtomicU64::new(0),
            relayed: AtomicU64::new(0),
        }
    }

    /// The most events it lets wait.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Events that may still be stored before requests are refused.
    pub fn room(&self) -> u64 {
        let waiting = (self.stored.load(Ordering::Acquire))
            .saturating_sub(self.relayed.load(Ordering::Acquire));
        self.capacity.saturating_sub(waiting)
    }

    /// Whether `events` more may be stored now.
    pub fn admits(&self, events: u64) -> bool {
        events <= self.room()
    }

    /// `events` were committed.
    pub fn stored(&self, events: u64) {
        self.stored.fetch_add(events, Ordering::AcqRel);
    }

    fn relayed(&self, events: u64) {
        self.relayed.fetch_add(events, Ordering::AcqRel);
    }
}

/// What the relay did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Records sent to the producer (again after a restart included).
    pub relayed: u64,
    /// Records that were not events (never expected: each was an event when stored).
    pub unreadable: u64,
    /// Connections opened again after one was lost.
    pub reconnects: u64,
    /// Whether it stopped with records perhaps left in the outbox: the database stayed away
    /// past the end, or the producer's queue closed.
    pub gave_up: bool,
}

impl RelayStats {
    /// Adds `other`'s figures: a relay's and its successor's, after a crash.
    pub fn add(&mut self, other: &RelayStats) {
        self.relayed += other.relayed;
        self.unreadable += other.unreadable;
        self.reconnects += other.reconnects;
        self.gave_up |= other.gave_up;
    }
}

/// Why a step of the relay stopped.
enum Stop {
    /// The database failed or went away.
    Database(String),
    /// Nobody reads the queue any more.
    Closed,
}

/// The relay: reads the outbox through its own connection, sends to `to`.
pub struct Relay {
    connector: Connector,
    schema: Schema,
    to: mpsc::Sender<MarketEvent>,
    backlog: Arc<Backlog>,
    live: Option<Live>,
    position: Option<i64>,
    stats: RelayStats,
    published: Arc<Mutex<RelayStats>>,
}

impl Relay {
    /// A relay of `schema`'s outbox to `to`, counting what it sends off `backlog`.
    pub fn new(
        connector: Connector,
        schema: Schema,
        to: mpsc::Sender<MarketEvent>,
        backlog: Arc<Backlog>,
    ) -> Self {
        Self {
            connector,
            schema,
            to,
            backlog,
            live: None,
            position: None,
            stats: RelayStats::default(),
            published: Arc::default(),
        }
    }

    /// Its figures as they stand, after every step (they outlive a relay that is killed).
    pub fn figures(&self) -> Arc<Mutex<RelayStats>> {
        self.published.clone()
    }

    /// Relays until `writer_done` says the writer has ended and the outbox holds nothing more;
    /// returns its figures (dropping the queue's sender: the producer's input ends).
    pub async fn run(mut self, writer_done: watch::Receiver<bool>) -> RelayStats {
        let mut pause = BACKOFF.0;
        let mut ended_at = None;
        loop {
            let ended = *writer_done.borrow();
            if ended {
                ended_at.get_or_insert_with(tokio::time::Instant::now);
            }
            let stepped = self.step().await;
            *self
                .published
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = self.stats;
            match stepped {
                Ok(0) if ended => break,
                Ok(0) => tokio::time::sleep(IDLE).await,
                Ok(_) => pause = BACKOFF.0,
                Err(Stop::Closed) => {
                    tracing::error!("the producer's queue closed: the relay stops");
                    self.stats.gave_up = true;
                    break;
                }
                Err(Stop::Database(reason)) => {
                    tracing::warn!(%reason, "the relay lost the database; it reconnects");
                    if self.live.take().is_some() {
                        self.stats.reconnects += 1;
                    }
                    if ended_at.is_some_and(|at| at.elapsed() > END_DEADLINE) {
                        tracing::error!(
                            "the database stayed away: the outbox was not relayed to its end"
                        );
                        self.stats.gave_up = true;
                        break;
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(BACKOFF.1);
                }
            }
        }
        self.stats
    }

    /// Sends the next records after the position, then saves it; how many there were.
    async fn step(&mut self) -> Result<usize, Stop> {
        if self.live.is_none() {
            self.live = Some(self.connector.open().await.map_err(Stop::Database)?);
        }
        let client = &self.live.as_ref().expect("opened above").client;
        let database = |e: tokio_postgres::Error| Stop::Database(e.to_string());
        let from = match self.position {
            Some(at) => at,
            None => outbox::position(client, &self.schema)
                .await
                .map_err(database)?,
        };
        self.position = Some(from);
        let records = outbox::after(client, &self.schema, from, BATCH)
            .await
            .map_err(database)?;
        let Some(&(last, _)) = records.last() else {
            return Ok(0);
        };
        for (seq, record) in &records {
            match parse_record(record) {
                Ok(event) => self.to.send(event).await.map_err(|_| Stop::Closed)?,
                Err(reason) => {
                    tracing::error!(seq, %reason, "an outbox record is not an event");
                    self.stats.unreadable += 1;
                }
            }
        }
        let count = records.len() as u64;
        self.backlog.relayed(count);
        self.stats.relayed += count;
        self.position = Some(last);
        // Not saved, the position is only older: a successor sends a few records again.
        if let Err(e) = outbox::save(client, &self.schema, last).await {
            tracing::warn!(error = %e, "the relay's position was not saved");
        }
        Ok(records.len())
    }
}
