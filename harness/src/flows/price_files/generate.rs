//! The price-file flow's input, generated deterministically by seed: per asset, one price
//! record every `interval_secs` of market time (the stream flow's price model, sampled five
//! times per interval for open, high, low, close, volume and the volume-weighted average), each
//! written as one file in a format drawn from the mix; forced jumps that make alerts
//! predictable; and the malformed files a scenario asks for.
//!
//! The formats are written here, not by the pipeline. Beside the files it keeps what the run
//! must produce: each file's record (or its kind of malformation) and the alerts, computed from
//! the records with the seed's rule.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tickflow_pipeline::price_files::layout;
use tickflow_pipeline::price_files::{record, Alert, MalformedKind, PriceRecord};
use tickflow_pipeline::source::price::{round, PricePath};
use tickflow_pipeline::source::JumpModel;

use super::settings::{FormatMix, PriceFileSettings};

/// Price samples per interval.
const SAMPLES: i64 = 5;

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
pub fn expected_alerts(files: &[PriceFile], threshold_pct: f64) -> Vec<Alert> {
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
                alerts.push(Alert {
                    asset: latest.asset.clone(),
                    previous_date: previous.date,
                    previous_weighted_average: previous.weighted_average,
                    latest_date: latest.date,
                    latest_weighted_average: latest.weighted_average,
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
    use crate::flows::price_files::settings::{FileJump, MalformedCounts};
    use std::collections::BTreeSet;
    use tickflow_pipeline::price_files::record::parse;
    use tickflow_pipeline::source::InstrumentSpec;

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
}
