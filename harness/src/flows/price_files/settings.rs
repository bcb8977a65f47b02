//! `[price_files]`: what the price-file flow generates and how it runs.
//!
//! `[price_files]`: what the price-file flow generates (assets and their price model, files,
//! market-time interval, formats, forced jumps, malformed files, upload order and pace) and how
//! its analysis is set (threshold, how long a record waits for its predecessor), with the
//! checks that refuse impossible settings before a run.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tickflow_pipeline::source::{InstrumentSpec, JumpModel, MAX_PRICE};

/// Most files a run may have.
pub const MAX_FILES: u64 = 1_000_000;
/// Slowest upload pace, files/s (one every 1,000 s).
pub const MIN_RATE: f64 = 1e-3;
/// Fastest upload pace, files/s.
pub const MAX_RATE: f64 = 1e6;
/// Longest the uploads may take at their pace: a run ends at this limit.
pub const MAX_UPLOAD_SECS: f64 = 3_600.0;
/// `[price_files]`: what to generate and how the analysis is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PriceFileSettings {
    /// The assets and their price models (default: ETH at 3000, 60% a year).
    pub assets: Vec<InstrumentSpec>,
    /// Files per asset (a day of 5-minute files is 288).
    pub files: u32,
    /// Market time between an asset's files, seconds.
    pub interval_secs: u32,
    /// Market time of the first file, RFC 3339.
    pub start: String,
    /// Shares of the formats.
    pub formats: FormatMix,
    /// Random jumps of the price model (none by default, so alerts are the forced ones).
    pub jumps: JumpModel,
    /// Jumps at fixed files.
    pub forced_jumps: Vec<FileJump>,
    /// The analysis alerts above this absolute change, percent.
    pub threshold_pct: f64,
    /// Receives a record waits for its predecessor before a gap is taken as real.
    pub hold_receives: u32,
    /// Files that are not price records.
    pub malformed: MalformedCounts,
    /// Uploads are shuffled within windows of this many files (1 keeps market order), so that
    /// the pipeline cannot rely on arrival order even where S3 happens to keep it.
    pub shuffle: u32,
    /// Files uploaded per second of wall time; absent for as fast as possible.
    pub rate: Option<f64>,
    /// Seconds the steps may move nothing while a step's queue still holds messages before
    /// the run is declared stuck and FAILs `liveness` (default: 30 plus the longest `delay`
    /// fault).
    pub liveness_secs: Option<u32>,
}

impl Default for PriceFileSettings {
    fn default() -> Self {
        Self {
            assets: vec![InstrumentSpec {
                name: "ETH".into(),
                price: 3_000.0,
                drift: 0.0,
                volatility: 0.6,
                spread_bps: 0.0,
            }],
            files: 288,
            interval_secs: 300,
            start: "2026-11-23T00:00:00Z".into(),
            formats: FormatMix::default(),
            jumps: JumpModel {
                rate_per_day: 0.0,
                mean_pct: 0.0,
                std_pct: 0.0,
            },
            forced_jumps: Vec::new(),
            threshold_pct: 3.0,
            hold_receives: 5,
            malformed: MalformedCounts::default(),
            shuffle: 8,
            rate: None,
            liveness_secs: None,
        }
    }
}

/// Shares of the three formats (they must sum to 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FormatMix {
    /// JSON objects, the exchange's own shape.
    pub json: f64,
    /// XML documents.
    pub xml: f64,
    /// `field: value` text.
    pub text: f64,
}

impl Default for FormatMix {
    fn default() -> Self {
        Self {
            json: 0.5,
            xml: 0.25,
            text: 0.25,
        }
    }
}

/// A jump of `pct` percent of `asset`'s price just before its file number `at_file`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileJump {
    /// The asset.
    pub asset: String,
    /// Zero-based index of the asset's file.
    pub at_file: u32,
    /// Percentage move.
    pub pct: f64,
}

/// How many files of each kind are not price records.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields, default)]
pub struct MalformedCounts {
    /// Broken JSON or XML.
    pub unparsable: u32,
    /// A field missing.
    pub missing_field: u32,
    /// Neither JSON, XML nor text.
    pub unknown_format: u32,
    /// A valid record padded beyond the largest file the ETL step reads.
    pub too_large: u32,
}

impl MalformedCounts {
    fn total(&self) -> u64 {
        [
            self.unparsable,
            self.missing_field,
            self.unknown_format,
            self.too_large,
        ]
        .iter()
        .map(|n| u64::from(*n))
        .sum()
    }
}

impl PriceFileSettings {
    /// Files in all.
    pub fn total_files(&self) -> u64 {
        self.assets.len() as u64 * u64::from(self.files)
    }

    /// Market time of the first files (`None` when `start` is not RFC 3339).
    pub fn start_time(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.start)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// Problems, as (dotted key, message).
    pub fn check(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, message: String| {
            problems.push((format!("price_files.{key}"), message));
        };
        self.check_assets(&mut bad);
        self.check_files(&mut bad);
        self.check_analysis(&mut bad);
        problems
    }

    /// The assets: named once each, with a price model that stays positive.
    fn check_assets(&self, bad: &mut dyn FnMut(&str, String)) {
        let names: BTreeSet<&str> = self.assets.iter().map(|a| a.name.as_str()).collect();
        if self.assets.is_empty() || names.len() != self.assets.len() {
            bad("assets", "at least one, each name once".into());
        }
        for (i, asset) in self.assets.iter().enumerate() {
            let name_ok = (1..=16).contains(&asset.name.len())
                && asset
                    .name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            if !name_ok {
                bad(
                    &format!("assets.{i}.name"),
                    "1 to 16 upper-case letters or digits".into(),
                );
            }
            if !(asset.price.is_finite() && asset.price > 0.0 && asset.price <= MAX_PRICE) {
                bad(
                    &format!("assets.{i}.price"),
                    format!("must be positive and at most {MAX_PRICE}"),
                );
            }
            if !(0.0..=5.0).contains(&asset.volatility) || !asset.drift.is_finite() {
                bad(
                    &format!("assets.{i}.volatility"),
                    "volatility within [0, 5], drift finite".into(),
                );
            }
        }
    }

    /// The files: how many, how often, in which formats, how many malformed.
    fn check_files(&self, bad: &mut dyn FnMut(&str, String)) {
        if self.files == 0 || self.total_files() > MAX_FILES {
            bad(
                "files",
                format!("at least 1, and at most {MAX_FILES} files in all"),
            );
        }
        if !(1..=86_400).contains(&self.interval_secs) {
            bad("interval_secs", "within [1, 86400]".into());
        }
        if self.start_time().is_none() {
            bad("start", format!("{:?} is not RFC 3339", self.start));
        }
        let f = self.formats;
        let shares = [f.json, f.xml, f.text];
        if shares.iter().any(|s| !(0.0..=1.0).contains(s))
            || (shares.iter().sum::<f64>() - 1.0).abs() > 1e-6
        {
            bad(
                "formats",
                format!("shares within [0, 1] summing to 1, got {shares:?}"),
            );
        }
        if f.json + f.xml == 0.0 && self.malformed.unparsable > 0 {
            bad(
                "malformed.unparsable",
                "unparsable files are JSON or XML: give them a share".into(),
            );
        }
        if self.malformed.total() > self.total_files() {
            bad("malformed", "at most as many as there are files".into());
        }
        if !(1..=10_000).contains(&self.shuffle) {
            bad("shuffle", "within [1, 10000]".into());
        }
        if let Some(rate) = self.rate {
            let span = self.total_files() as f64 / rate;
            if !(MIN_RATE..=MAX_RATE).contains(&rate) {
                bad(
                    "rate",
                    format!("files per second within [{MIN_RATE}, {MAX_RATE}]"),
                );
            } else if span.is_nan() || span > MAX_UPLOAD_SECS {
                bad(
                    "rate",
                    format!(
                        "uploading {} files at {rate}/s takes {span:.0} s, beyond the run's \
                         limit of {MAX_UPLOAD_SECS} s",
                        self.total_files()
                    ),
                );
            }
        }
    }

    /// The analysis: forced jumps on known assets and files, its threshold and its waits.
    fn check_analysis(&self, bad: &mut dyn FnMut(&str, String)) {
        let names: BTreeSet<&str> = self.assets.iter().map(|a| a.name.as_str()).collect();
        for (i, jump) in self.forced_jumps.iter().enumerate() {
            if !names.contains(jump.asset.as_str())
                || jump.at_file >= self.files
                || !jump.pct.is_finite()
                || jump.pct <= -100.0
            {
                bad(
                    &format!("forced_jumps.{i}"),
                    "an asset of `assets`, a file below `files`, a pct above -100".into(),
                );
            }
        }
        if !(self.threshold_pct.is_finite() && self.threshold_pct > 0.0) {
            bad("threshold_pct", "must be positive".into());
        }
        if !(1..=8).contains(&self.hold_receives) {
            bad(
                "hold_receives",
                "within [1, 8] (the queue dead-letters at 10)".into(),
            );
        }
        if self
            .liveness_secs
            .is_some_and(|s| s == 0 || f64::from(s) > MAX_UPLOAD_SECS)
        {
            bad("liveness_secs", format!("within [1, {MAX_UPLOAD_SECS}]"));
        }
    }

    /// How long the steps may move nothing while files are owed: `liveness_secs`, or 30 s
    /// plus the longest a `delay` fault hides a message (`longest_delay_secs`).
    pub fn liveness(&self, longest_delay_secs: f64) -> std::time::Duration {
        let secs = match self.liveness_secs {
            Some(secs) => f64::from(secs),
            None => DEFAULT_LIVENESS_SECS + longest_delay_secs,
        };
        std::time::Duration::from_secs_f64(secs)
    }
}

/// What `liveness_secs` is beyond the longest delay when not given: longer than either step's
/// visibility timeout, so that a crashed step's message comes back within it.
pub const DEFAULT_LIVENESS_SECS: f64 = 30.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_settings_are_refused() {
        let bad = PriceFileSettings {
            files: 0,
            formats: FormatMix {
                json: 0.5,
                xml: 0.5,
                text: 0.5,
            },
            forced_jumps: vec![FileJump {
                asset: "DOGE".into(),
                at_file: 1,
                pct: 5.0,
            }],
            hold_receives: 0,
            ..PriceFileSettings::default()
        };
        let keys: Vec<String> = bad.check().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "price_files.files",
                "price_files.formats",
                "price_files.forced_jumps.0",
                "price_files.hold_receives"
            ]
            .map(String::from)
        );
    }
}
