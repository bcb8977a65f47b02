//! Where the stages record their metrics: off, or kept for the publisher.
//!

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use super::aggregate::Aggregate;
use super::catalogue::Metric;

/// Where a run's stages record their metrics: off (recording does nothing), or on, shared by
/// every clone and read by the run's publisher.
#[derive(Debug, Clone, Default)]
pub struct Metrics(Option<Arc<Shared>>);

#[derive(Debug, Default)]
pub(super) struct Shared {
    pub(super) aggregate: Mutex<Aggregate>,
    pub(super) stats: MetricsStats,
}

/// What the publisher did, for the report.
#[derive(Debug, Default)]
pub struct MetricsStats {
    /// Statistic sets (datums) CloudWatch accepted.
    pub datums: AtomicU64,
    /// `PutMetricData` calls that succeeded.
    pub calls: AtomicU64,
    /// `PutMetricData` calls that failed (their datums were kept for the next flush).
    pub failed_calls: AtomicU64,
    /// Statistic sets dropped after failing for longer than CloudWatch keeps a late datum.
    pub dropped: AtomicU64,
}

impl Metrics {
    /// Metrics recorded, for a publisher to send.
    pub fn on() -> Self {
        Self(Some(Arc::default()))
    }

    /// Metrics recorded when `on`, else off (recording does nothing).
    pub fn when(on: bool) -> Self {
        if on {
            Self::on()
        } else {
            Self::default()
        }
    }

    /// Whether anything recorded is kept.
    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// Records `value` of `metric` for `resource` (the dimension's value) now.
    pub fn record(&self, metric: &'static Metric, resource: &str, value: f64) {
        if let Some(shared) = &self.0 {
            let second = epoch_second();
            shared
                .aggregate
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .add(metric, resource, second, value);
        }
    }

    /// What the publisher did so far (zeros when off).
    pub fn published(&self) -> Published {
        let Some(shared) = &self.0 else {
            return Published::default();
        };
        let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
        let s = &shared.stats;
        Published {
            datums: load(&s.datums),
            calls: load(&s.calls),
            failed_calls: load(&s.failed_calls),
            dropped: load(&s.dropped),
        }
    }

    pub(super) fn shared(&self) -> Option<&Shared> {
        self.0.as_deref()
    }
}

/// A snapshot of [`MetricsStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Published {
    /// Statistic sets CloudWatch accepted.
    pub datums: u64,
    /// `PutMetricData` calls that succeeded.
    pub calls: u64,
    /// `PutMetricData` calls that failed.
    pub failed_calls: u64,
    /// Statistic sets dropped after failing too long.
    pub dropped: u64,
}

/// The current second since the epoch.
pub(super) fn epoch_second() -> i64 {
    epoch_ms().div_euclid(1_000)
}

/// Milliseconds since the epoch now (an arrival time's age is measured against it).
pub fn epoch_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_records_nothing_and_on_keeps_what_is_recorded() {
        let off = Metrics::default();
        off.record(&crate::metrics::catalogue::ERRORS, "f", 1.0);
        assert!(!off.is_on() && off.shared().is_none());
        let on = Metrics::on();
        on.clone()
            .record(&crate::metrics::catalogue::ERRORS, "f", 1.0);
        let shared = on.shared().unwrap();
        assert_eq!(shared.aggregate.lock().unwrap().len(), 1);
    }
}
