//! Per-key order: whether each partition key's events went on in the producer's order.
//!
//! Kinesis keeps a shard's records in the order they were put, and a partition key stays on one
//! shard until the shard is split: what it promises is per key. The feed enters each event, with
//! its key, in the order it hands them to the producer (a web source's relay hands them in
//! commit order, not in the order of their positions), the bridge's tap the order in which
//! events were first sent on to SQS; an event first sent before an event of its key fed
//! earlier is an inversion, reported as the pair. Ten bytes per event: its key's index, its
//! first send's rank, and its place in the feed.

use serde::Serialize;

use crate::verdict::history::Position;

/// Inversions kept as examples.
const EXAMPLES: usize = 5;

/// No send yet.
const UNSENT: u32 = u32::MAX;

/// Each event's key and the rank of its first send.
#[derive(Debug, Default)]
pub struct KeyOrder {
    /// Key names, by index.
    names: Vec<String>,
    /// Key name -> index.
    index: std::collections::HashMap<String, u16>,
    /// Per position: its key's index (`u16::MAX`: not fed, or past the key table).
    keys: Vec<u16>,
    /// Per position: the rank of its first send (`UNSENT`: none yet).
    ranks: Vec<u32>,
    /// The positions in the order they were fed.
    fed: Vec<Position>,
    /// First sends so far.
    sent: u32,
}

/// Two events of one key sent on out of the producer's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inversion {
    /// Their partition key.
    pub key: String,
    /// The event fed earlier, sent on later.
    pub earlier: Position,
    /// The later event, sent on first.
    pub later: Position,
}

/// What the order check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inversions {
    /// Events first sent before an earlier event of their key.
    pub count: u64,
    /// The first few, by key and position.
    pub examples: Vec<Inversion>,
}

impl KeyOrder {
    /// Event `position` was fed (after every event fed before) with partition key `key`.
    pub fn fed(&mut self, position: Position, key: &str) {
        self.fed.push(position);
        let next = self.names.len();
        let index = match self.index.get(key) {
            Some(&i) => i,
            None if next < usize::from(u16::MAX) => {
                self.names.push(key.to_string());
                self.index.insert(key.to_string(), next as u16);
                next as u16
            }
            None => u16::MAX, // more keys than the table holds: not judged
        };
        let p = position as usize;
        if p >= self.keys.len() {
            self.keys.resize(p + 1, u16::MAX);
        }
        self.keys[p] = index;
    }

    /// Events `positions` were sent on, in this order: each one's first send takes the next
    /// rank.
    pub fn sent(&mut self, positions: impl IntoIterator<Item = Position>) {
        for position in positions {
            let p = position as usize;
            if p >= self.ranks.len() {
                self.ranks.resize(p + 1, UNSENT);
            }
            if self.ranks[p] == UNSENT {
                self.ranks[p] = self.sent;
                self.sent = self.sent.saturating_add(1);
            }
        }
    }

    /// Every event first sent before an event of its key fed earlier (an event never sent is
    /// left to the history's `lost`).
    pub fn inversions(&self) -> Inversions {
        let mut found = Inversions::default();
        // Per key: the event sent latest so far, and its rank.
        let mut latest: Vec<Option<(Position, u32)>> = vec![None; self.names.len()];
        for &position in &self.fed {
            let p = position as usize;
            let key = self.keys[p];
            let rank = self.ranks.get(p).copied().unwrap_or(UNSENT);
            let Some(last) = latest.get_mut(usize::from(key)) else {
                continue;
            };
            if rank == UNSENT {
                continue;
            }
            match *last {
                Some((earlier, earlier_rank)) if earlier_rank > rank => {
                    found.count += 1;
                    if found.examples.len() < EXAMPLES {
                        found.examples.push(Inversion {
                            key: self.names[usize::from(key)].clone(),
                            earlier,
                            later: position,
                        });
                    }
                }
                _ => *last = Some((position, rank)),
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fed(keys: &[&str]) -> KeyOrder {
        let mut order = KeyOrder::default();
        for (p, key) in keys.iter().enumerate() {
            order.fed(p as Position, key);
        }
        order
    }

    #[test]
    fn events_sent_in_their_key_s_order_hold_however_the_keys_interleave() {
        let mut order = fed(&["A", "B", "A", "B"]);
        order.sent([1, 0, 3, 2]);
        assert_eq!(order.inversions(), Inversions::default());
    }

    #[test]
    fn an_event_sent_before_an_earlier_one_of_its_key_is_an_inversion_named_by_the_pair() {
        let mut order = fed(&["A", "B", "A", "A"]);
        order.sent([2, 1, 0, 3]);
        let found = order.inversions();
        assert_eq!(found.count, 1);
        assert_eq!(
            found.examples,
            [Inversion {
                key: "A".into(),
                earlier: 0,
                later: 2
            }]
        );
    }

    #[test]
    fn the_order_is_the_feed_s_not_the_positions() {
        // A web source's relay hands events on in commit order: 1 before 0.
        let mut order = KeyOrder::default();
        order.fed(1, "A");
        order.fed(0, "A");
        order.sent([1, 0]);
        assert_eq!(order.inversions().count, 0);
        order.sent([]);
        let mut swapped = KeyOrder::default();
        swapped.fed(1, "A");
        swapped.fed(0, "A");
        swapped.sent([0, 1]);
        let found = swapped.inversions();
        assert_eq!((found.examples[0].earlier, found.examples[0].later), (1, 0));
    }

    #[test]
    fn a_send_again_after_a_crash_is_not_an_inversion_and_an_unsent_event_is_left_out() {
        let mut order = fed(&["A", "A", "A"]);
        order.sent([0, 1]);
        order.sent([0, 1]); // a crashed bridge sends its last batch again
        assert_eq!(
            order.inversions().count,
            0,
            "event 2 never sent: lost, not out of order"
        );
        order.sent([2]);
        assert_eq!(order.inversions().count, 0);
    }

    proptest! {
        /// The check and a pairwise oracle agree on the events sent out of their key's order.
        #[test]
        fn the_check_agrees_with_a_pairwise_oracle(
            keys in proptest::collection::vec(0u8..3, 1..30),
            order in any::<u64>(),
        ) {
            let names: Vec<String> = keys.iter().map(|k| format!("k{k}")).collect();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let mut check = fed(&refs);
            let mut positions: Vec<Position> = (0..keys.len() as Position).collect();
            // A seeded shuffle of the send order.
            let mut state = order | 1;
            for i in (1..positions.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                positions.swap(i, (state % (i as u64 + 1)) as usize);
            }
            check.sent(positions.iter().copied());
            let rank = |p: usize| positions.iter().position(|&q| q as usize == p).unwrap();
            // An event is out of order when an earlier event of its key was sent after it and
            // no event between them already counted it: the check counts, per key, each event
            // sent before the latest-sent earlier one.
            let mut expected = 0u64;
            for p in 0..keys.len() {
                let latest_before = (0..p)
                    .filter(|&q| keys[q] == keys[p])
                    .map(rank)
                    .max();
                if latest_before.is_some_and(|r| r > rank(p)) {
                    expected += 1;
                }
            }
            prop_assert_eq!(check.inversions().count, expected);
        }
    }
}
