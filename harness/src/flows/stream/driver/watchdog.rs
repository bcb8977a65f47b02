//! Watches a running pipeline for the moment it stops moving while events are owed.
//!
//! The liveness phase's clock: every stage's counters are read four times a second; events are
//! owed once the feed is done (or while they wait for the producer), and no idle time counts
//! before the fault schedule's last outage is over. When nothing moved for the limit, the
//! pipeline is declared stuck: the feed and the drain stop waiting for it
//! ([`crate::flows::stream::judge::liveness`] says where it stopped). While the run's alarms
//! settle ([`Watching::hold`]), the pipeline owes nothing: it idles on purpose, and its idle time
//! counts again only from the hold's end.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tickflow_pipeline::producer::Outgoing;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::stages::Stats;

/// How often the counters are read.
const TICK: Duration = Duration::from_millis(250);

/// When a pipeline stopped moving: the start of the idle time, and when it was declared.
#[derive(Debug, Clone, Copy)]
pub(super) struct Idle {
    /// The last move, or when events became owed and the outages were over, if later.
    pub(super) from: Instant,
    /// When the limit was reached.
    pub(super) declared: Instant,
}

/// What the watchdog watches.
pub(super) struct Watchdog {
    /// How long the pipeline may pass nothing on while events are owed.
    pub(super) limit: Duration,
    /// No idle time counts before this moment (the schedule's last outage is over).
    pub(super) quiet_from: Instant,
    /// Every stage's counters: any change is a move.
    pub(super) stats: Stats,
    /// The producer's input: events wait there while the feed runs; closed once it is done.
    pub(super) input: mpsc::WeakSender<Outgoing>,
}

/// A running watchdog, stopped when dropped.
pub(super) struct Watching {
    task: JoinHandle<()>,
    stopped: Stopped,
    held: Arc<AtomicBool>,
}

/// No idle time counts while this lives (see [`Watching::hold`]).
pub(super) struct Hold(Arc<AtomicBool>);

impl Drop for Hold {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

/// The watchdog's verdict, for whoever must stop waiting on a stuck pipeline.
#[derive(Clone)]
pub(super) struct Stopped(watch::Receiver<Option<Idle>>);

impl Watchdog {
    /// Starts watching.
    pub(super) fn spawn(self) -> Watching {
        let (tx, rx) = watch::channel(None);
        let held = Arc::new(AtomicBool::new(false));
        let hold = held.clone();
        let task = tokio::spawn(async move {
            let idle = self.idle(&hold).await;
            tx.send_replace(Some(idle));
        });
        Watching {
            task,
            stopped: Stopped(rx),
            held,
        }
    }

    /// Resolves when the pipeline has passed nothing on for the limit while events were owed
    /// and no hold was on.
    async fn idle(self, held: &AtomicBool) -> Idle {
        let mut ticker = tokio::time::interval(TICK);
        let (mut last, mut moved_at) = (self.stats.moved(), Instant::now());
        let mut owed_since: Option<Instant> = None;
        loop {
            ticker.tick().await;
            let now = Instant::now();
            let moved = self.stats.moved();
            if moved != last || held.load(Ordering::Relaxed) {
                (last, moved_at) = (moved, now);
            }
            let owed = self
                .input
                .upgrade()
                .is_none_or(|input| input.capacity() < input.max_capacity());
            owed_since = owed.then(|| owed_since.unwrap_or(now));
            let Some(owed_since) = owed_since else {
                continue;
            };
            let from = moved_at.max(owed_since).max(self.quiet_from);
            if now.saturating_duration_since(from) >= self.limit {
                return Idle {
                    from,
                    declared: now,
                };
            }
        }
    }
}

impl Watching {
    /// Counts no idle time until the returned hold is dropped: the pipeline is left idle on
    /// purpose (the run's alarms settling while its stages still run).
    pub(super) fn hold(&self) -> Hold {
        self.held.store(true, Ordering::Relaxed);
        Hold(self.held.clone())
    }

    /// The verdict, to wait on.
    pub(super) fn stopped(&self) -> Stopped {
        self.stopped.clone()
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Stopped {
    /// A verdict that never comes: for a feed no pipeline drains (a lake judged alone).
    pub(super) fn never() -> Self {
        Self(watch::channel(None).1)
    }

    /// Resolves once the pipeline is declared stuck (never, if it is not).
    pub(super) async fn wait(&mut self) -> Idle {
        loop {
            if let Some(idle) = *self.0.borrow_and_update() {
                return idle;
            }
            if self.0.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }

    /// `step`'s output, or `None` when the pipeline is declared stuck first.
    pub(super) async fn unless_stuck<T>(
        &mut self,
        step: impl std::future::Future<Output = T>,
    ) -> Option<T> {
        tokio::select! {
            out = step => Some(out),
            _ = self.wait() => None,
        }
    }

    /// The verdict so far.
    pub(super) fn now(&self) -> Option<Idle> {
        *self.0.borrow()
    }

    /// A verdict and the call that declares the pipeline stuck at once (for tests).
    #[cfg(test)]
    pub(super) fn declarable() -> (impl FnOnce(), Self) {
        let (tx, rx) = watch::channel(None);
        let declare = move || {
            let now = Instant::now();
            tx.send_replace(Some(Idle {
                from: now,
                declared: now,
            }));
            std::mem::forget(tx); // kept open: the verdict stays
        };
        (declare, Self(rx))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;

    fn watch(limit_ms: u64, stats: &Stats, input: &mpsc::Sender<Outgoing>) -> Watching {
        Watchdog {
            limit: Duration::from_millis(limit_ms),
            quiet_from: Instant::now(),
            stats: stats.clone(),
            input: input.downgrade(),
        }
        .spawn()
    }

    #[tokio::test]
    async fn a_pipeline_that_owes_events_and_never_moves_is_declared_stuck_after_the_limit() {
        let stats = Stats::default();
        let (tx, _rx) = mpsc::channel(4);
        let watching = watch(300, &stats, &tx);
        drop(tx); // the feed is done: every event is owed
        let started = Instant::now();
        let idle = tokio::time::timeout(Duration::from_secs(10), watching.stopped().wait())
            .await
            .expect("declared");
        assert!(idle.declared - idle.from >= Duration::from_millis(300));
        assert!(idle.from >= started.checked_sub(Duration::from_millis(300)).unwrap());
    }

    #[tokio::test]
    async fn a_pipeline_that_moves_or_owes_nothing_is_not_declared_stuck() {
        let stats = Stats::default();
        let (tx, _rx) = mpsc::channel(4);
        // The feed is running and its input is empty: nothing is owed, however long.
        let idle_feed = watch(200, &stats, &tx);
        // The feed is done, but a stage keeps moving events on.
        let (done, _done_rx) = mpsc::channel(4);
        let moving = watch(1_000, &stats, &done);
        drop(done);
        for _ in 0..100 {
            stats.producer.user_records.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(idle_feed.stopped().now().is_none());
        assert!(moving.stopped().now().is_none());
        drop(tx);
    }

    #[tokio::test]
    async fn no_idle_time_counts_before_the_schedule_s_last_outage_is_over() {
        let stats = Stats::default();
        let (tx, _rx) = mpsc::channel(4);
        let watching = Watchdog {
            limit: Duration::from_millis(100),
            quiet_from: Instant::now() + Duration::from_millis(600),
            stats: stats.clone(),
            input: tx.downgrade(),
        }
        .spawn();
        drop(tx);
        let started = Instant::now();
        let idle = tokio::time::timeout(Duration::from_secs(10), watching.stopped().wait())
            .await
            .expect("declared");
        assert!(idle.declared.duration_since(started) >= Duration::from_millis(650));
    }

    #[tokio::test]
    async fn no_idle_time_counts_while_held_and_it_counts_again_after() {
        let stats = Stats::default();
        let (tx, _rx) = mpsc::channel(4);
        let watching = watch(200, &stats, &tx);
        drop(tx);
        let hold = watching.hold();
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(watching.stopped().now().is_none(), "held: not declared");
        let released = Instant::now();
        drop(hold);
        let idle = tokio::time::timeout(Duration::from_secs(10), watching.stopped().wait())
            .await
            .expect("declared once the hold ends");
        assert!(idle.from >= released.checked_sub(Duration::from_millis(260)).unwrap());
    }
}
