//! Values recorded between two flushes: one statistic set per metric, resource and second.
//!
//! A stage records a value per call it makes (never per event); the publisher sends each set as
//! one CloudWatch datum (`StatisticValues`), so that a million events cost a few hundred
//! datapoints, not a million.

use std::collections::HashMap;

use super::catalogue::{self, Metric};

/// Count, sum, minimum and maximum of the values recorded for one key (CloudWatch's
/// `StatisticSet`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// How many values.
    pub count: f64,
    /// Their sum.
    pub sum: f64,
    /// The least.
    pub min: f64,
    /// The greatest.
    pub max: f64,
}

impl Stats {
    fn of(value: f64) -> Self {
        Self {
            count: 1.0,
            sum: value,
            min: value,
            max: value,
        }
    }

    fn merge(&mut self, other: Stats) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

/// What a statistic set is kept by: the metric (its place in the catalogue), the resource (the
/// dimension's value) and the second (epoch seconds) the values were recorded in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// The metric's place in [`catalogue::ALL`].
    pub metric: usize,
    /// The dimension's value (a stream, function or queue name).
    pub resource: String,
    /// Epoch seconds.
    pub second: i64,
}

impl Key {
    /// The metric this key is of.
    pub fn metric(&self) -> &'static Metric {
        catalogue::ALL[self.metric]
    }
}

/// The statistic sets recorded since the last flush.
#[derive(Debug, Default)]
pub struct Aggregate {
    sets: HashMap<Key, Stats>,
}

impl Aggregate {
    /// Adds `value` of `metric` for `resource` at `second`.
    pub fn add(&mut self, metric: &Metric, resource: &str, second: i64, value: f64) {
        let key = Key {
            metric: catalogue::index(metric),
            resource: resource.to_string(),
            second,
        };
        self.merge(key, Stats::of(value));
    }

    fn merge(&mut self, key: Key, stats: Stats) {
        self.sets
            .entry(key)
            .and_modify(|s| s.merge(stats))
            .or_insert(stats);
    }

    /// Everything recorded so far, oldest second first; the aggregate is left empty.
    pub fn take(&mut self) -> Vec<(Key, Stats)> {
        let mut sets: Vec<_> = self.sets.drain().collect();
        sets.sort_by(|a, b| (a.0.second, &a.0).cmp(&(b.0.second, &b.0)));
        sets
    }

    /// Puts back sets a flush could not send, merged with what was recorded since; those older
    /// than `oldest` (epoch seconds) are dropped, and their number returned.
    pub fn put_back(&mut self, sets: Vec<(Key, Stats)>, oldest: i64) -> u64 {
        let mut dropped = 0;
        for (key, stats) in sets {
            if key.second < oldest {
                dropped += 1;
            } else {
                self.merge(key, stats);
            }
        }
        dropped
    }

    /// How many statistic sets are waiting.
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalogue::{INCOMING_BYTES, ITERATOR_AGE};

    #[test]
    fn values_of_one_metric_resource_and_second_make_one_set() {
        let mut agg = Aggregate::default();
        agg.add(&ITERATOR_AGE, "s", 10, 5.0);
        agg.add(&ITERATOR_AGE, "s", 10, 1.0);
        agg.add(&ITERATOR_AGE, "s", 11, 7.0);
        agg.add(&ITERATOR_AGE, "t", 10, 2.0);
        agg.add(&INCOMING_BYTES, "s", 10, 100.0);
        let sets = agg.take();
        assert_eq!(sets.len(), 4);
        let first = sets
            .iter()
            .find(|(k, _)| k.second == 10 && k.resource == "s" && k.metric() == &ITERATOR_AGE)
            .unwrap();
        let expected = Stats {
            count: 2.0,
            sum: 6.0,
            min: 1.0,
            max: 5.0,
        };
        assert_eq!(first.1, expected);
        assert_eq!(sets.last().unwrap().0.second, 11, "oldest first");
        assert!(agg.is_empty());
    }

    #[test]
    fn sets_put_back_merge_and_the_too_old_are_dropped() {
        let mut agg = Aggregate::default();
        agg.add(&ITERATOR_AGE, "s", 5, 1.0);
        agg.add(&ITERATOR_AGE, "s", 20, 1.0);
        let unsent = agg.take();
        agg.add(&ITERATOR_AGE, "s", 20, 3.0);
        assert_eq!(agg.put_back(unsent, 10), 1);
        let sets = agg.take();
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0].1.count, 2.0);
        assert_eq!(sets[0].1.max, 3.0);
    }
}
