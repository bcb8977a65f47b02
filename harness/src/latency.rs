//! End-to-end latency in an HDR histogram: constant memory whatever the number of events, three
//! significant digits, and the two views the reports show (percentiles and plot buckets).

use hdrhistogram::Histogram;
use serde::Serialize;

/// Significant decimal digits kept for every value (0.1 % error, exact below 2,048 ms).
const SIGNIFICANT_DIGITS: u8 = 3;

/// Latencies in milliseconds, recorded one event at a time.
#[derive(Debug, Clone)]
pub struct LatencyHistogram(Histogram<u64>);

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self(Histogram::new(SIGNIFICANT_DIGITS).expect("3 significant digits are valid"))
    }
}

impl FromIterator<u64> for LatencyHistogram {
    fn from_iter<I: IntoIterator<Item = u64>>(samples: I) -> Self {
        let mut histogram = Self::default();
        for ms in samples {
            histogram.record(ms);
        }
        histogram
    }
}

impl LatencyHistogram {
    /// Adds one event's latency (the histogram grows to fit any value).
    pub fn record(&mut self, ms: u64) {
        // `record` resizes the histogram (auto-resize is on); only a value beyond u64's
        // range of buckets could fail, and that one is clamped.
        if self.0.record(ms).is_err() {
            self.0.saturating_record(ms);
        }
    }

    /// p50, p90, p99 and max, as HDR histograms report them (the highest value equivalent to
    /// the quantile's bucket).
    pub fn summary(&self) -> Latency {
        let h = &self.0;
        if h.is_empty() {
            return Latency::default();
        }
        Latency {
            count: h.len(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
        }
    }

    /// Power-of-two buckets from 1 ms up to the largest value, for the distribution plot.
    pub fn buckets(&self) -> Vec<Bucket> {
        if self.0.is_empty() {
            return Vec::new();
        }
        let top = self.0.max().max(1).next_power_of_two();
        let mut buckets: Vec<Bucket> =
            std::iter::successors(Some(1u64), |b| (*b < top).then(|| b * 2))
                .map(|le_ms| Bucket { le_ms, count: 0 })
                .collect();
        let last = buckets.len() - 1;
        for value in self.0.iter_recorded() {
            // Bucket k holds (2^(k-1), 2^k]; 0 and 1 ms go to the first.
            let ms = self.0.highest_equivalent(value.value_iterated_to());
            let index = (64 - ms.max(1).saturating_sub(1).leading_zeros()) as usize;
            buckets[index.min(last)].count += value.count_at_value();
        }
        buckets
    }
}

/// Latency percentiles, milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Latency {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Maximum.
    pub max: u64,
}

/// A latency bucket: how many samples were at most `le_ms` (and above the previous bucket).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// Upper bound, milliseconds (a power of two).
    pub le_ms: u64,
    /// Samples in the bucket.
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_powers_of_two_and_count_every_sample() {
        let samples = [0, 1, 2, 3, 4, 5, 1000, 1024, 1025];
        let h: LatencyHistogram = samples.into_iter().collect();
        let buckets = h.buckets();
        assert_eq!(buckets.first().map(|b| b.le_ms), Some(1));
        assert_eq!(buckets.last().map(|b| b.le_ms), Some(2048));
        assert_eq!(
            buckets.iter().map(|b| b.count).sum::<u64>(),
            samples.len() as u64
        );
        let count = |le| {
            buckets
                .iter()
                .find(|b| b.le_ms == le)
                .map_or(0, |b| b.count)
        };
        assert_eq!((count(1), count(2), count(4), count(8)), (2, 1, 2, 1));
        assert_eq!((count(1024), count(2048)), (2, 1));
        assert!(LatencyHistogram::default().buckets().is_empty());
    }

    #[test]
    fn percentiles_are_exact_below_two_seconds() {
        let l = (1..=100).collect::<LatencyHistogram>().summary();
        assert_eq!(
            (l.p50, l.p90, l.p99, l.max, l.count),
            (50, 90, 99, 100, 100)
        );
        assert_eq!(LatencyHistogram::default().summary(), Latency::default());
        assert_eq!(
            std::iter::once(7)
                .collect::<LatencyHistogram>()
                .summary()
                .p99,
            7
        );
    }

    #[test]
    fn large_latencies_keep_three_significant_digits() {
        let h: LatencyHistogram = [10, 123_456, 3_600_000].into_iter().collect();
        let l = h.summary();
        assert!(l.max.abs_diff(3_600_000) <= 3_600, "max {}", l.max);
        assert!(l.p50.abs_diff(123_456) <= 124, "p50 {}", l.p50);
        assert_eq!(h.buckets().iter().map(|b| b.count).sum::<u64>(), 3);
    }
}
