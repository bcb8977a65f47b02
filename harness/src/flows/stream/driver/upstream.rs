//! The producer's upstream, kept as a durable source would be.
//!
//! The producer's upstream, as a durable source would be (a log with a committed offset): it
//! keeps every record the producer has not acknowledged at a checkpoint barrier and hands them,
//! in order, to a successor when the producer crashes. Nothing of the producer's own memory
//! (partial aggregates, calls in flight) survives; what it had not acknowledged is sent again,
//! and the processor drops the copies.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tickflow_pipeline::producer::Outgoing;
use tokio::sync::mpsc;

/// Records the producer acknowledges at each checkpoint barrier.
pub(super) const BARRIER_EVERY: u64 = 2_000;

/// Records taken from the feed and not yet acknowledged by a producer.
pub(super) struct Upstream {
    feed: mpsc::Receiver<Outgoing>,
    pending: VecDeque<Outgoing>,
    feed_done: bool,
}

/// How one producer instance ended, as its upstream sees it.
pub(super) enum Handover {
    /// The feed ended and every record was handed over.
    Done,
    /// The producer stopped taking records (it crashed or failed): hand over again.
    Stopped,
}

impl Upstream {
    /// An upstream fed by `feed`.
    pub(super) fn new(feed: mpsc::Receiver<Outgoing>) -> Self {
        Self {
            feed,
            pending: VecDeque::new(),
            feed_done: false,
        }
    }

    /// Feeds one producer instance through `to`: first the records no earlier instance
    /// acknowledged, then the feed. Drops what `acknowledged` (the instance's count of durable
    /// records) covers as it goes.
    pub(super) async fn hand_over(
        &mut self,
        to: mpsc::Sender<Outgoing>,
        acknowledged: &AtomicU64,
    ) -> Handover {
        let mut taken = 0u64; // records of `pending` the instance has been given
        let mut dropped = 0u64; // ...of which acknowledged and dropped
        loop {
            let acked = acknowledged.load(Ordering::Acquire);
            while dropped < acked && !self.pending.is_empty() {
                self.pending.pop_front();
                dropped += 1;
                taken = taken.saturating_sub(1);
            }
            let next = if (taken as usize) < self.pending.len() {
                self.pending[taken as usize].clone()
            } else if self.feed_done {
                return Handover::Done; // dropping `to` tells the producer to flush and end
            } else {
                match self.feed.recv().await {
                    Some(record) => {
                        self.pending.push_back(record.clone());
                        record
                    }
                    None => {
                        self.feed_done = true;
                        continue;
                    }
                }
            };
            if to.send(next).await.is_err() {
                return Handover::Stopped;
            }
            taken += 1;
        }
    }
}

/// A fresh acknowledgement counter for a producer instance.
pub(super) fn counter() -> Arc<AtomicU64> {
    Arc::new(AtomicU64::new(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: u64) -> Outgoing {
        Outgoing {
            partition_key: "k".into(),
            data: i.to_string().into_bytes(),
        }
    }

    #[tokio::test]
    async fn a_successor_gets_exactly_what_was_not_acknowledged_then_the_rest() {
        let (feed_tx, feed_rx) = mpsc::channel(100);
        for i in 0..10 {
            feed_tx.send(record(i)).await.unwrap();
        }
        drop(feed_tx);
        let mut upstream = Upstream::new(feed_rx);

        // The first instance takes 6 records, acknowledges 4, then dies.
        let (tx, mut rx) = mpsc::channel(1);
        let acked = counter();
        let first = tokio::spawn({
            let acked = acked.clone();
            async move {
                let mut got = Vec::new();
                while got.len() < 6 {
                    got.push(rx.recv().await.unwrap());
                    if got.len() == 4 {
                        acked.store(4, Ordering::Release);
                    }
                }
                got
            }
        });
        assert!(matches!(
            upstream.hand_over(tx, &acked).await,
            Handover::Stopped
        ));
        assert_eq!(first.await.unwrap().len(), 6);

        // The successor starts from record 4: the two it lost, then the rest.
        let (tx, mut rx) = mpsc::channel(100);
        assert!(matches!(
            upstream.hand_over(tx, &counter()).await,
            Handover::Done
        ));
        let mut got = Vec::new();
        while let Some(r) = rx.recv().await {
            got.push(String::from_utf8(r.data).unwrap());
        }
        assert_eq!(got, ["4", "5", "6", "7", "8", "9"]);
    }
}
