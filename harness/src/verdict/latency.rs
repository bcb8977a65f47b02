//! End-to-end latency in an HDR histogram.
//!
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

    /// The distribution at two significant digits (1 ms wide up to 100 ms, then 10 ms to 1 s,
    /// 100 ms to 10 s, ...: 90 buckets a decade), only the buckets that hold samples, in order:
    /// fine enough for a log-axis plot to show every mode, small enough for the JSON report.
    pub fn buckets(&self) -> Vec<Bucket> {
        let mut buckets: Vec<Bucket> = Vec::new();
        for value in self.0.iter_recorded() {
            let ms = self.0.highest_equivalent(value.value_iterated_to());
            let le_ms = bucket_ceiling(ms);
            match buckets.last_mut() {
                Some(last) if last.le_ms == le_ms => last.count += value.count_at_value(),
                _ => buckets.push(Bucket {
                    le_ms,
                    count: value.count_at_value(),
                }),
            }
        }
        buckets
    }
}

/// The width of the buckets holding values above 100 ms up to `ms`: a tenth of the power of
/// ten below.
fn step_below(ms: u64) -> u64 {
    let digits = (ms - 1).ilog10(); // ms > 100: at least 2
    10u64.pow(digits - 1)
}

/// The upper bound of the bucket holding `ms`: `ms` itself up to 100 (0 goes to 1), then `ms`
/// rounded up to two significant digits.
pub fn bucket_ceiling(ms: u64) -> u64 {
    if ms <= 100 {
        return ms.max(1);
    }
    let step = step_below(ms);
    ms.div_ceil(step) * step
}

/// The (exclusive) lower bound of the bucket whose upper bound is `le_ms`.
pub fn bucket_floor(le_ms: u64) -> u64 {
    if le_ms <= 100 {
        return le_ms.saturating_sub(1);
    }
    le_ms - step_below(le_ms)
}

/// The latency of the events written within one window of time: what the percentiles-over-time
/// plot draws.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Window {
    /// The window's end, milliseconds after the run's stages started.
    pub end_ms: u64,
    /// Its percentiles.
    #[serde(flatten)]
    pub latency: Latency,
}

/// Percentiles per window of `(written at ms, latency ms)` samples: windows of a whole number of
/// seconds, as few as needed for at most `most` of them (at least 1 s wide), empty ones left out.
pub fn windows(samples: &[(u64, u64)], most: usize) -> Vec<Window> {
    let Some(last) = samples.iter().map(|(at, _)| *at).max() else {
        return Vec::new();
    };
    let width_ms = (last / most.max(1) as u64 / 1_000 + 1) * 1_000;
    let mut by_window: std::collections::BTreeMap<u64, LatencyHistogram> = Default::default();
    for (at, ms) in samples {
        by_window.entry(at / width_ms).or_default().record(*ms);
    }
    by_window
        .into_iter()
        .map(|(k, h)| Window {
            end_ms: (k + 1) * width_ms,
            latency: h.summary(),
        })
        .collect()
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
    /// Upper bound, milliseconds (two significant digits; [`bucket_floor`] is the lower).
    pub le_ms: u64,
    /// Samples in the bucket.
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_have_two_significant_digits_and_count_every_sample() {
        let samples = [0, 1, 2, 2, 99, 100, 101, 1000, 1001, 5_507, 5_507];
        let h: LatencyHistogram = samples.into_iter().collect();
        let buckets = h.buckets();
        let shown: Vec<(u64, u64)> = buckets.iter().map(|b| (b.le_ms, b.count)).collect();
        assert_eq!(
            shown,
            [
                (1, 2),
                (2, 2),
                (99, 1),
                (100, 1),
                (110, 1),
                (1000, 1),
                (1100, 1),
                (5600, 2)
            ]
        );
        assert_eq!(
            buckets.iter().map(|b| b.count).sum::<u64>(),
            samples.len() as u64
        );
        assert!(LatencyHistogram::default().buckets().is_empty());
    }

    #[test]
    fn windows_are_whole_seconds_and_few_enough() {
        let samples: Vec<(u64, u64)> = (0..10_000u64).map(|i| (i, i / 100)).collect();
        let w = windows(&samples, 120);
        assert_eq!(w.len(), 10, "ten seconds in windows of 1 s");
        assert_eq!(
            (w[0].end_ms, w[0].latency.count, w[0].latency.max),
            (1_000, 1_000, 9)
        );
        let w = windows(&samples, 4);
        assert_eq!(
            w.iter().map(|w| w.end_ms).collect::<Vec<_>>(),
            [3_000, 6_000, 9_000, 12_000]
        );
        assert_eq!(w.iter().map(|w| w.latency.count).sum::<u64>(), 10_000);
        assert!(windows(&[], 10).is_empty());
    }

    #[test]
    fn bucket_bounds_tile_the_axis() {
        for (ms, ceiling, floor) in [
            (0, 1, 0),
            (100, 100, 99),
            (101, 110, 100),
            (1000, 1000, 990),
            (1001, 1100, 1000),
            (123_456, 130_000, 120_000),
        ] {
            assert_eq!(bucket_ceiling(ms), ceiling, "{ms}");
            assert_eq!(bucket_floor(ceiling), floor, "{ms}");
        }
        // Every value falls in (floor, ceiling] of its own bucket.
        for ms in 1..20_000u64 {
            let c = bucket_ceiling(ms);
            assert!(bucket_floor(c) < ms && ms <= c, "{ms}");
        }
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
