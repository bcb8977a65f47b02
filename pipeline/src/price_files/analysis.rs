//! The analysis step: each record's weighted-average change, and its alert.
//!
//! The analysis step of the seed: for each CSV record S3 announces under the analysis prefix,
//! the absolute percentage change of its `weightedAverage` against the previous record of the
//! same asset in market time (not in arrival order), and an SNS alert when it is above the
//! threshold.
//!
//! S3 delivers notifications unordered. The previous record of one at time `t` is the one at
//! `t - interval`, found by its key; while it has not arrived, the record is left for
//! redelivery (Lambda's partial batch failure), up to `hold_receives` receives. After that the
//! gap is taken as real (its file was quarantined or never came) and the latest earlier record
//! is the previous one. Each alert is [`announce`]d: an object under the alerts prefix created
//! once, whose S3 notification on the alert topic is the alert, so a redelivered record, a
//! retried call or a lost answer never alerts twice and never loses one.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::layout;
use super::messages::{announced, each_message, PriceFileStats};
use super::record::PriceRecord;
use crate::aws::{AwsError, Clients};
use crate::chaos::Stage;
use crate::esm::{BatchResponse, Handler, HandlerError, SqsMessage};
use crate::history::ObjectTap;
use crate::notify::announce;

/// What the analysis needs to know.
#[derive(Debug, Clone)]
pub struct AnalysisConfig {
    /// Market time between an asset's records (5 minutes in the seed).
    pub interval: Duration,
    /// An alert when the absolute change is above this many percent.
    pub threshold_pct: f64,
    /// Receives a record waits for its predecessor before the gap is taken as real.
    pub hold_receives: u32,
}

/// One alert: an asset whose weighted average moved more than the threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The asset.
    pub asset: String,
    /// Market time of the previous record.
    pub previous_date: DateTime<Utc>,
    /// Its weighted average.
    pub previous_weighted_average: f64,
    /// Market time of the record that moved.
    pub latest_date: DateTime<Utc>,
    /// Its weighted average.
    pub latest_weighted_average: f64,
    /// `(latest - previous) / previous * 100`.
    pub change_pct: f64,
}

/// The percentage change from `previous` to `latest`.
pub fn change_pct(previous: f64, latest: f64) -> f64 {
    (latest - previous) / previous * 100.0
}

/// Whether a change of `change_pct` alerts at `threshold_pct` (strictly above, in either
/// direction).
pub fn alerts(change_pct: f64, threshold_pct: f64) -> bool {
    change_pct.abs() > threshold_pct
}

/// What became of one record.
enum Step {
    /// Analysed (alerted or not).
    Done,
    /// Its predecessor has not arrived: leave it for redelivery.
    Held,
}

/// The analysis handler.
pub struct AnalysisHandler {
    clients: Clients,
    bucket: String,
    config: AnalysisConfig,
    stats: Arc<PriceFileStats>,
    /// Weighted averages read so far, by asset and market time: most predecessors were read
    /// just before and need no second `GetObject`.
    seen: Mutex<HashMap<(String, DateTime<Utc>), f64>>,
    tap: Option<Arc<dyn ObjectTap>>,
}

impl AnalysisHandler {
    /// A handler reading `bucket`, counting into `stats`.
    pub fn new(
        clients: Clients,
        bucket: impl Into<String>,
        config: AnalysisConfig,
        stats: Arc<PriceFileStats>,
    ) -> Self {
        Self {
            clients,
            bucket: bucket.into(),
            config,
            stats,
            seen: Mutex::default(),
            tap: None,
        }
    }

    /// The same, telling `tap` each CSV record it is told of.
    pub fn with_tap(mut self, tap: Option<Arc<dyn ObjectTap>>) -> Self {
        self.tap = tap;
        self
    }

    /// Handles one message; `Ok(false)` leaves it for redelivery.
    async fn message(&self, message: &SqsMessage) -> Result<bool, AwsError> {
        let mut done = true;
        for key in announced(&self.stats, message, self.tap.as_deref(), Stage::Analysis) {
            if let Step::Held = self.analyse(&key, message.receive_count).await? {
                done = false;
            }
        }
        Ok(done)
    }

    async fn analyse(&self, key: &str, receive_count: u32) -> Result<Step, AwsError> {
        let Some(latest) = self.read(key).await? else {
            tracing::warn!(key, "announced CSV is gone or not a price CSV; skipped");
            self.stats.vanished.fetch_add(1, Ordering::Relaxed);
            return Ok(Step::Done);
        };
        let previous = match self.previous(&latest, receive_count).await? {
            Lookup::Found(previous) => Some(previous),
            Lookup::First => None,
            Lookup::NotYet => {
                self.stats.held.fetch_add(1, Ordering::Relaxed);
                return Ok(Step::Held);
            }
        };
        self.stats.analysed.fetch_add(1, Ordering::Relaxed);
        let Some((previous_date, previous_wa)) = previous else {
            self.stats.first_records.fetch_add(1, Ordering::Relaxed);
            return Ok(Step::Done);
        };
        let change = change_pct(previous_wa, latest.weighted_average);
        if alerts(change, self.config.threshold_pct) {
            self.alert(&Alert {
                asset: latest.asset.clone(),
                previous_date,
                previous_weighted_average: previous_wa,
                latest_date: latest.date,
                latest_weighted_average: latest.weighted_average,
                change_pct: change,
            })
            .await?;
        }
        Ok(Step::Done)
    }

    /// The record in the CSV object at `key` (`None` when it is gone or not ours).
    async fn read(&self, key: &str) -> Result<Option<PriceRecord>, AwsError> {
        let body = match self.clients.get_object(&self.bucket, key).await {
            Ok((_, body)) => body,
            Err(e) if e.message.contains("NoSuchKey") => return Ok(None),
            Err(e) => return Err(e),
        };
        let Ok((record, _)) = PriceRecord::from_csv(&String::from_utf8_lossy(&body)) else {
            return Ok(None);
        };
        self.remember(&record);
        Ok(Some(record))
    }

    fn remember(&self, record: &PriceRecord) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.insert((record.asset.clone(), record.date), record.weighted_average);
    }

    /// The record before `latest` in market time.
    async fn previous(&self, latest: &PriceRecord, receive_count: u32) -> Result<Lookup, AwsError> {
        let at = latest.date - self.config.interval;
        let cached = {
            let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            seen.get(&(latest.asset.clone(), at)).copied()
        };
        if let Some(wa) = cached {
            return Ok(Lookup::Found((at, wa)));
        }
        if let Some(record) = self.read(&layout::csv_key(&latest.asset, at)).await? {
            return Ok(Lookup::Found((record.date, record.weighted_average)));
        }
        if receive_count < self.config.hold_receives {
            return Ok(Lookup::NotYet);
        }
        self.stats.gaps.fetch_add(1, Ordering::Relaxed);
        self.latest_before(latest).await
    }

    /// The latest record of the asset before `latest`, by listing its keys (a gap).
    async fn latest_before(&self, latest: &PriceRecord) -> Result<Lookup, AwsError> {
        let own = layout::csv_key(&latest.asset, latest.date);
        let prefix = format!("{}{}/", layout::ANALYSIS, latest.asset);
        let keys = self
            .clients
            .object_keys_under(&self.bucket, &prefix)
            .await?
            .ok_or_else(|| AwsError {
                service: "s3",
                operation: "ListObjectsV2",
                message: format!("NoSuchBucket: {}", self.bucket),
            })?;
        let best = keys.into_iter().filter(|k| *k < own).max();
        let Some(key) = best else {
            return Ok(Lookup::First);
        };
        Ok(match self.read(&key).await? {
            Some(record) => Lookup::Found((record.date, record.weighted_average)),
            None => Lookup::First,
        })
    }

    /// Announces the alert (once: its object's S3 notification is the alert).
    async fn alert(&self, alert: &Alert) -> Result<(), AwsError> {
        let key = layout::alert_key(&alert.asset, alert.latest_date);
        if announce(&self.clients, &self.bucket, &key, alert).await? {
            self.stats.alerts.fetch_add(1, Ordering::Relaxed);
        } else {
            self.stats
                .alerts_already_sent
                .fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// The previous record, as far as it is known.
enum Lookup {
    /// Its market time and weighted average.
    Found((DateTime<Utc>, f64)),
    /// There is none: the asset's first record.
    First,
    /// Not arrived yet.
    NotYet,
}

impl Handler for AnalysisHandler {
    async fn handle(&self, batch: &[SqsMessage]) -> Result<BatchResponse, HandlerError> {
        Ok(each_message(batch, "CSV record", |message| self.message(message)).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_alerts_strictly_above_the_threshold_either_way() {
        assert!((change_pct(100.0, 105.0) - 5.0).abs() < 1e-12);
        assert!(alerts(change_pct(100.0, 94.0), 5.0));
        assert!(!alerts(change_pct(100.0, 105.0) - 1e-9, 5.0));
        assert!(!alerts(change_pct(100.0, 101.0), 5.0));
    }
}
