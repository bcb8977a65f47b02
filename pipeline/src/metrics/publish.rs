//! The stage that sends what the run's stages recorded to CloudWatch, every second.
//!
//! Each flush takes every statistic set recorded since the last, groups them by namespace and
//! sends them in `PutMetricData` calls of at most [`MAX_DATUMS`] datums. A call that fails (the
//! target away for an outage) keeps its sets for the next flush: a metric is late, not lost,
//! unless it stays unsent for longer than CloudWatch accepts a late datum.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit, StatisticSet};

use super::aggregate::{Key, Stats};
use super::catalogue::Unit;
use super::recorder::{epoch_second, Metrics};
use crate::control::{Control, Phase};

/// Most datums in one `PutMetricData` call (CloudWatch's limit).
pub const MAX_DATUMS: usize = 1_000;
/// How late a datum CloudWatch still takes, seconds (two weeks; an hour is kept here).
const LATEST_KEPT_SECS: i64 = 3_600;

/// Sends the run's metrics, on a timer and once more when drained.
#[derive(Debug, Clone)]
pub struct Publisher {
    /// The client the metrics go through (a healthy one: faults target the pipeline's calls).
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// What the stages record.
    pub metrics: Metrics,
    /// Whether the target is AWS, where the services publish their own metrics.
    pub on_aws: bool,
    /// Time between flushes.
    pub every: Duration,
}

impl Publisher {
    /// Sends `metrics` through `cloudwatch` every second (`on_aws`: the target is AWS).
    pub fn every_second(
        cloudwatch: aws_sdk_cloudwatch::Client,
        metrics: Metrics,
        on_aws: bool,
    ) -> Self {
        Self {
            cloudwatch,
            metrics,
            on_aws,
            every: Duration::from_secs(1),
        }
    }

    /// Flushes every [`Publisher::every`] until drained, then once more.
    ///
    /// # Errors
    /// None: a failed flush is logged and retried with the next.
    pub async fn run(self, mut control: Control) -> crate::Result<()> {
        loop {
            let drained = tokio::select! {
                _ = tokio::time::sleep(self.every) => false,
                _ = control.reached(Phase::Drain) => true,
            };
            self.flush().await;
            if drained {
                return Ok(());
            }
        }
    }

    /// Sends everything recorded so far; what fails is kept for the next flush.
    pub async fn flush(&self) {
        let Some(shared) = self.metrics.shared() else {
            return;
        };
        let sets = shared
            .aggregate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let mut unsent = Vec::new();
        for (namespace, sets) in by_namespace(sets, self.on_aws) {
            for chunk in sets.chunks(MAX_DATUMS) {
                let datums = chunk.iter().map(|(k, s)| datum(k, s)).collect();
                let sent = self
                    .cloudwatch
                    .put_metric_data()
                    .namespace(&namespace)
                    .set_metric_data(Some(datums))
                    .send()
                    .await;
                let stats = &shared.stats;
                match sent {
                    Ok(_) => {
                        stats.calls.fetch_add(1, Ordering::Relaxed);
                        let n = chunk.len() as u64;
                        stats.datums.fetch_add(n, Ordering::Relaxed);
                    }
                    Err(e) => {
                        stats.failed_calls.fetch_add(1, Ordering::Relaxed);
                        let error = aws_sdk_cloudwatch::error::DisplayErrorContext(&e);
                        tracing::warn!(%error, namespace, "PutMetricData failed; kept for the next flush");
                        unsent.extend_from_slice(chunk);
                    }
                }
            }
        }
        if !unsent.is_empty() {
            let oldest = epoch_second() - LATEST_KEPT_SECS;
            let dropped = shared
                .aggregate
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .put_back(unsent, oldest);
            shared.stats.dropped.fetch_add(dropped, Ordering::Relaxed);
        }
    }
}

/// The sets grouped by the namespace each is published under on the target; those AWS
/// publishes itself are left out.
fn by_namespace(sets: Vec<(Key, Stats)>, on_aws: bool) -> BTreeMap<String, Vec<(Key, Stats)>> {
    let mut grouped: BTreeMap<String, Vec<(Key, Stats)>> = BTreeMap::new();
    for (key, stats) in sets {
        if let Some(namespace) = key.metric().published_namespace(on_aws) {
            grouped.entry(namespace).or_default().push((key, stats));
        }
    }
    grouped
}

fn datum(key: &Key, stats: &Stats) -> MetricDatum {
    let metric = key.metric();
    let unit = match metric.unit {
        Unit::Count => StandardUnit::Count,
        Unit::Bytes => StandardUnit::Bytes,
        Unit::Milliseconds => StandardUnit::Milliseconds,
        Unit::Seconds => StandardUnit::Seconds,
    };
    let dimension = Dimension::builder()
        .name(metric.dimension)
        .value(&key.resource)
        .build();
    let set = StatisticSet::builder()
        .sample_count(stats.count)
        .sum(stats.sum)
        .minimum(stats.min)
        .maximum(stats.max)
        .build();
    MetricDatum::builder()
        .metric_name(metric.name)
        .dimensions(dimension)
        .timestamp(DateTime::from_secs(key.second))
        .statistic_values(set)
        .unit(unit)
        .storage_resolution(1)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::aggregate::Aggregate;
    use crate::metrics::catalogue::{ERRORS, INCOMING_BYTES};

    #[test]
    fn sets_go_out_by_namespace_and_aws_keeps_its_own() {
        let mut agg = Aggregate::default();
        agg.add(&INCOMING_BYTES, "s", 1, 10.0);
        agg.add(&ERRORS, "f", 1, 1.0);
        let emulator = by_namespace(agg.take(), false);
        assert_eq!(
            emulator.keys().collect::<Vec<_>>(),
            ["AWS/Kinesis", "AWS/Lambda"]
        );
        agg.add(&INCOMING_BYTES, "s", 1, 10.0);
        agg.add(&ERRORS, "f", 1, 1.0);
        let aws = by_namespace(agg.take(), true);
        assert_eq!(aws.keys().collect::<Vec<_>>(), ["Tickflow/Lambda"]);
    }

    #[test]
    fn a_datum_carries_the_set_its_dimension_and_unit() {
        let key = Key {
            metric: crate::metrics::catalogue::index(&INCOMING_BYTES),
            resource: "stream-1".into(),
            second: 1_700_000_000,
        };
        let stats = Stats {
            count: 2.0,
            sum: 30.0,
            min: 10.0,
            max: 20.0,
        };
        let d = datum(&key, &stats);
        assert_eq!(d.metric_name(), Some("IncomingBytes"));
        assert_eq!(d.dimensions()[0].name(), Some("StreamName"));
        assert_eq!(d.dimensions()[0].value(), Some("stream-1"));
        assert_eq!(d.unit(), Some(&StandardUnit::Bytes));
        assert_eq!(d.statistic_values().unwrap().sum(), Some(30.0));
    }
}
