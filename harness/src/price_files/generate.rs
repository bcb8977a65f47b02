//! The price-file flow's input, generated deterministically by seed: per asset, one price
//! record every `interval_secs` of market time (the stream flow's price model, sampled five
//! times per interval for open, high, low, close, volume and the volume-weighted average), each
//! written as one file in a format drawn from the mix; forced jumps that make alerts
//! predictable; and the malformed files a scenario asks for.
//!
//! The formats are written here, not by the pipeline. Beside the files it keeps what the run
//! must produce: each file's record (or its kind of malformation) and the alerts, computed from
//! the records with the seed's rule.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tickflow_pipeline::price_files::layout;
use tickflow_pipeline::price_files::{record, MalformedKind, PriceRecord};
use tickflow_pipeline::source::price::{round, PricePath};
use tickflow_pipeline::source::{InstrumentSpec, JumpModel, MAX_PRICE};

/// Most files a run may have.
pub const MAX_FILES: u64 = 1_000_000;
/// Price samples per interval.
const SAMPLES: i64 = 5;

/// `[price_files]`: what to generate and how the analysis is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
        }
    }
}

/// Shares of the three formats (they must sum to 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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

    fn start_time(&self) -> Option<DateTime<Utc>> {
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
        if self.malformed.total() > self.total_files() {
            bad("malformed", "at most as many as there are files".into());
        }
        if !(1..=10_000).contains(&self.shuffle) {
            bad("shuffle", "within [1, 10000]".into());
        }
        if self.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
            bad("rate", "a positive number of files per second".into());
        }
        problems
    }
}

/// What the run must make of one file.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A record, to be found as CSV with these values.
    Record(PriceRecord),
    /// Not a record: quarantined with this kind.
    Malformed(MalformedKind),
}

/// One generated file.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceFile {
    /// Its key under the ingestion prefix.
    pub key: String,
    /// Its content.
    pub body: Vec<u8>,
    /// What the run must make of it.
    pub outcome: Outcome,
}

/// An alert the run must publish.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedAlert {
    /// The asset.
    pub asset: String,
    /// Market time of the previous record.
    pub previous_date: DateTime<Utc>,
    /// Market time of the record that moved.
    pub latest_date: DateTime<Utc>,
    /// The change, percent.
    pub change_pct: f64,
}

/// Generates every file of `settings` from `seed`, in upload order (market order shuffled
/// within windows of `shuffle`).
pub fn generate(settings: &PriceFileSettings, seed: u64) -> Vec<PriceFile> {
    let start = settings.start_time().unwrap_or_default();
    let interval = Duration::seconds(i64::from(settings.interval_secs));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let broken = malformed_positions(settings, &mut rng);
    let mut by_time: Vec<Vec<PriceFile>> = vec![Vec::new(); settings.files as usize];
    for (a, spec) in settings.assets.iter().enumerate() {
        let mut path = PricePath::new(spec);
        let mut asset_rng =
            ChaCha8Rng::seed_from_u64(seed ^ (a as u64 + 1).wrapping_mul(0x9e37_79b9));
        for (i, files) in by_time.iter_mut().enumerate() {
            let date = start + interval * i as i32;
            for jump in settings
                .forced_jumps
                .iter()
                .filter(|j| j.asset == spec.name && j.at_file as usize == i)
            {
                path.jump(jump.pct);
            }
            let record = bar(
                &spec.name,
                date,
                interval,
                &mut path,
                &settings.jumps,
                &mut asset_rng,
            );
            let format = pick_format(settings.formats, &mut asset_rng);
            files.push(match broken.get(&(a, i)) {
                Some(kind) => malformed_file(&record, *kind, format),
                None => well_formed_file(record, format),
            });
        }
    }
    let mut files: Vec<PriceFile> = by_time.into_iter().flatten().collect();
    for window in files.chunks_mut(settings.shuffle.max(1) as usize) {
        window.shuffle(&mut rng);
    }
    files
}

/// One interval's bar: five samples of the price path.
fn bar(
    asset: &str,
    date: DateTime<Utc>,
    interval: Duration,
    path: &mut PricePath,
    jumps: &JumpModel,
    rng: &mut ChaCha8Rng,
) -> PriceRecord {
    let step = interval.num_milliseconds() / SAMPLES;
    let (mut open, mut high, mut low, mut close) = (0.0, f64::MIN, f64::MAX, 0.0);
    let (mut volume, mut notional) = (0.0, 0.0);
    for k in 0..SAMPLES {
        path.step(date.timestamp_millis() + k * step, jumps, rng);
        // A tick is the least a price can be written as (a long fall would round to zero).
        let price = round(path.mid, 4).max(1e-4);
        let traded = round(rng.random_range(0.5..20.0), 4);
        if k == 0 {
            open = price;
        }
        high = f64::max(high, price);
        low = f64::min(low, price);
        close = price;
        volume += traded;
        notional += price * traded;
    }
    PriceRecord {
        asset: asset.to_string(),
        date,
        open,
        high,
        low,
        close,
        volume: round(volume, 4),
        weighted_average: round(notional / volume, 6).max(1e-6),
    }
}

fn pick_format(mix: FormatMix, rng: &mut ChaCha8Rng) -> &'static str {
    let draw: f64 = rng.random();
    if draw < mix.json {
        "json"
    } else if draw < mix.json + mix.xml || mix.text == 0.0 {
        "xml"
    } else {
        "txt"
    }
}

/// Which (asset, file) pairs are malformed, and how: distinct, drawn by seed.
fn malformed_positions(
    settings: &PriceFileSettings,
    rng: &mut ChaCha8Rng,
) -> BTreeMap<(usize, usize), MalformedKind> {
    let m = settings.malformed;
    let kinds = std::iter::repeat_n(MalformedKind::Unparsable, m.unparsable as usize)
        .chain(std::iter::repeat_n(
            MalformedKind::MissingField,
            m.missing_field as usize,
        ))
        .chain(std::iter::repeat_n(
            MalformedKind::UnknownFormat,
            m.unknown_format as usize,
        ))
        .chain(std::iter::repeat_n(
            MalformedKind::TooLarge,
            m.too_large as usize,
        ));
    let mut picked = BTreeMap::new();
    for kind in kinds {
        if picked.len() as u64 >= settings.total_files() {
            break;
        }
        loop {
            let at = (
                rng.random_range(0..settings.assets.len()),
                rng.random_range(0..settings.files as usize),
            );
            if let std::collections::btree_map::Entry::Vacant(slot) = picked.entry(at) {
                slot.insert(kind);
                break;
            }
        }
    }
    picked
}

fn key(record: &PriceRecord, ext: &str) -> String {
    format!(
        "{}{}/{}.{ext}",
        layout::INGESTION,
        record.asset,
        layout::stamp(record.date)
    )
}

fn well_formed_file(record: PriceRecord, format: &str) -> PriceFile {
    PriceFile {
        key: key(&record, format),
        body: render(&record, format, None).into_bytes(),
        outcome: Outcome::Record(record),
    }
}

fn malformed_file(record: &PriceRecord, kind: MalformedKind, format: &str) -> PriceFile {
    let (key, body) = match kind {
        MalformedKind::UnknownFormat => (
            key(record, "bin"),
            [&[0u8, 0x9f, 0x92, 0x96][..], b"price snapshot"].concat(),
        ),
        MalformedKind::Unparsable => {
            let format = if format == "txt" { "json" } else { format };
            let text = render(record, format, None);
            // Cut before the end: unclosed braces and elements.
            (
                key(record, format),
                text.as_bytes()[..text.len() / 2].to_vec(),
            )
        }
        MalformedKind::TooLarge => {
            let mut text = render(record, "txt", None);
            text.push_str(&format!("# {}\n", "-".repeat(record::MAX_FILE_BYTES)));
            (key(record, "txt"), text.into_bytes())
        }
        MalformedKind::MissingField | MalformedKind::InvalidField => (
            key(record, format),
            render(record, format, Some("weightedAverage")).into_bytes(),
        ),
    };
    PriceFile {
        key,
        body,
        outcome: Outcome::Malformed(kind),
    }
}

/// `record` in `format` (`json`, `xml`, `txt`), without the field `leave_out`.
fn render(record: &PriceRecord, format: &str, leave_out: Option<&str>) -> String {
    let fields = [
        (
            "date",
            match format {
                "json" => record.date.timestamp().to_string(),
                _ => record.date.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            },
        ),
        ("open", record.open.to_string()),
        ("high", record.high.to_string()),
        ("low", record.low.to_string()),
        ("close", record.close.to_string()),
        ("volume", record.volume.to_string()),
        ("weightedAverage", record.weighted_average.to_string()),
    ];
    let kept = fields.iter().filter(|(name, _)| Some(*name) != leave_out);
    match format {
        "json" => {
            let mut object = serde_json::Map::new();
            object.insert("asset".into(), record.asset.clone().into());
            for (name, value) in kept {
                let value = match name {
                    &"date" => serde_json::Value::from(record.date.timestamp()),
                    _ => serde_json::from_str(value).unwrap_or(serde_json::Value::Null),
                };
                object.insert((*name).into(), value);
            }
            serde_json::Value::Object(object).to_string()
        }
        "xml" => {
            let children: String = kept.map(|(n, v)| format!("  <{n}>{v}</{n}>\n")).collect();
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<price asset=\"{}\">\n{children}</price>\n", record.asset)
        }
        _ => {
            let lines: String = kept.map(|(n, v)| format!("{n}: {v}\n")).collect();
            format!(
                "# {} price record\nasset: {}\n{lines}",
                record.asset, record.asset
            )
        }
    }
}

/// The alerts the run must publish: per asset, each record against the previous record in
/// market time (malformed files leave no record), alerting strictly above `threshold_pct`.
pub fn expected_alerts(files: &[PriceFile], threshold_pct: f64) -> Vec<ExpectedAlert> {
    let mut by_asset: BTreeMap<&str, Vec<&PriceRecord>> = BTreeMap::new();
    for file in files {
        if let Outcome::Record(record) = &file.outcome {
            by_asset.entry(&record.asset).or_default().push(record);
        }
    }
    let mut alerts = Vec::new();
    for records in by_asset.values_mut() {
        records.sort_by_key(|r| r.date);
        for pair in records.windows(2) {
            let (previous, latest) = (pair[0], pair[1]);
            let change = (latest.weighted_average - previous.weighted_average)
                / previous.weighted_average
                * 100.0;
            if change.abs() > threshold_pct {
                alerts.push(ExpectedAlert {
                    asset: latest.asset.clone(),
                    previous_date: previous.date,
                    latest_date: latest.date,
                    change_pct: change,
                });
            }
        }
    }
    alerts
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickflow_pipeline::price_files::record::parse;

    fn settings() -> PriceFileSettings {
        PriceFileSettings {
            assets: vec![
                InstrumentSpec {
                    name: "ETH".into(),
                    price: 3000.0,
                    drift: 0.0,
                    volatility: 0.6,
                    spread_bps: 0.0,
                },
                InstrumentSpec {
                    name: "BTC".into(),
                    price: 90_000.0,
                    drift: 0.0,
                    volatility: 0.5,
                    spread_bps: 0.0,
                },
            ],
            files: 100,
            forced_jumps: vec![
                FileJump {
                    asset: "ETH".into(),
                    at_file: 40,
                    pct: 8.0,
                },
                FileJump {
                    asset: "BTC".into(),
                    at_file: 70,
                    pct: -6.0,
                },
            ],
            malformed: MalformedCounts {
                unparsable: 3,
                missing_field: 2,
                unknown_format: 1,
                too_large: 1,
            },
            ..PriceFileSettings::default()
        }
    }

    #[test]
    fn files_are_deterministic_and_read_back_as_what_they_must_make() {
        let files = generate(&settings(), 9);
        assert_eq!(files, generate(&settings(), 9));
        assert_ne!(files, generate(&settings(), 10));
        assert_eq!(files.len(), 200);
        let keys: BTreeSet<&str> = files.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys.len(), 200, "every file has a key of its own");
        let mut kinds = BTreeMap::new();
        for file in &files {
            match (&file.outcome, parse(&file.key, &file.body)) {
                (Outcome::Record(want), Ok(got)) => assert_eq!(&got, want, "{}", file.key),
                (Outcome::Malformed(kind), Err(e)) => {
                    assert_eq!(&e.kind, kind, "{}: {e}", file.key);
                    *kinds.entry(format!("{kind:?}")).or_insert(0) += 1;
                }
                (want, got) => panic!("{}: expected {want:?}, read {got:?}", file.key),
            }
        }
        assert_eq!(kinds.values().sum::<i32>(), 7);
        let formats: BTreeSet<&str> = files
            .iter()
            .filter_map(|f| f.key.rsplit('.').next())
            .collect();
        assert_eq!(formats, BTreeSet::from(["bin", "json", "txt", "xml"]));
    }

    #[test]
    fn the_forced_jumps_are_the_alerts() {
        let files = generate(&settings(), 9);
        let alerts = expected_alerts(&files, 3.0);
        let moved: Vec<(&str, f64)> = alerts
            .iter()
            .map(|a| (a.asset.as_str(), a.change_pct.round()))
            .collect();
        assert_eq!(moved, [("BTC", -6.0), ("ETH", 8.0)], "{alerts:?}");
        assert!(expected_alerts(&files, 50.0).is_empty());
    }

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
