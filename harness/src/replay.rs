//! Replaying recorded or CSV data through the pipeline: JSONL of events (as `tickflow record`
//! writes), a stock CSV with `date, open, high, low, close, volume` columns (the batch seed's
//! layout), or a CSV of event records with an `event_name` column.
//!
//! A line that does not make a valid event is sent as it is and ends in the quarantine with
//! the reason: a replay loses nothing, and never stops on one bad row.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use serde::Serialize;
use tickflow_pipeline::event::{parse_record, MarketEvent, StockPrice};

use crate::error::{Error, Result};

/// What a run feeds into the pipeline, one item at a time.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A valid event.
    Event(MarketEvent),
    /// A record that is not a valid event; it is sent anyway, to be quarantined.
    Raw {
        /// Partition key to send it under.
        partition_key: String,
        /// The bytes as read (a CSV row is sent as its JSON rendering, or its text).
        data: Vec<u8>,
        /// Where it came from, `file:line`.
        origin: String,
    },
}

/// How fast to replay.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Pace {
    /// As fast as the pipeline takes it.
    Full,
    /// The data's own timestamps, times this factor (1 = original speed).
    Scaled(f64),
}

/// A replay source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplaySpec {
    /// JSONL or CSV file.
    pub path: PathBuf,
    /// Pace.
    pub pace: Pace,
    /// Symbol for stock CSVs without a `symbol` column (default: the file name, upper-cased).
    pub symbol: Option<String>,
}

/// Opens a replay source as a stream of items.
///
/// # Errors
/// The file cannot be read, or a CSV has a header that matches no known layout.
pub fn open(spec: &ReplaySpec) -> Result<Box<dyn Iterator<Item = Item> + Send>> {
    let path = &spec.path;
    let io = |e: std::io::Error| Error::Input(format!("{}: {e}", path.display()));
    let file = File::open(path).map_err(io)?;
    let name = path.display().to_string();
    let is_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if !is_csv {
        let lines = BufReader::new(file).lines().enumerate();
        return Ok(Box::new(lines.filter_map(move |(i, line)| {
            let line = line.ok()?;
            if line.trim().is_empty() {
                return None;
            }
            Some(classify(line.into_bytes(), format!("{name}:{}", i + 1)))
        })));
    }
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| Error::Input(format!("{name}:1: {e}")))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let column: HashMap<String, usize> = header
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, h)| (h, i))
        .collect();
    let layout = if column.contains_key("event_name") {
        Layout::Records
    } else if ["date", "close", "volume"]
        .iter()
        .all(|c| column.contains_key(*c))
    {
        Layout::StockBars
    } else {
        return Err(Error::Input(format!(
            "{name}:1: unknown CSV layout {header:?}: expected an `event_name` column (event records) \
             or `date, open, high, low, close, volume` (stock bars)"
        )));
    };
    let default_symbol = spec.symbol.clone().unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().to_ascii_uppercase())
            .unwrap_or_else(|| "STOCK".into())
    });
    let rows = reader.into_records().enumerate();
    Ok(Box::new(rows.map(move |(i, row)| {
        let origin = format!("{name}:{}", i + 2);
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                return Item::Raw {
                    partition_key: "replay".into(),
                    data: format!("unreadable CSV row: {e}").into_bytes(),
                    origin,
                }
            }
        };
        let fields: HashMap<&str, &str> = header
            .iter()
            .zip(row.iter())
            .map(|(h, v)| (h.as_str(), v.trim()))
            .collect();
        match layout {
            Layout::Records => classify(record_json(&fields), origin),
            Layout::StockBars => stock_bar(&fields, &default_symbol, &origin)
                .map(Item::Event)
                .unwrap_or_else(|| Item::Raw {
                    partition_key: default_symbol.clone(),
                    data: serde_json::to_vec(&fields).unwrap_or_default(),
                    origin,
                }),
        }
    })))
}

/// Market time of an item, for pacing.
pub fn item_time(item: &Item) -> Option<i64> {
    match item {
        Item::Event(e) => Some(e.created_at()),
        Item::Raw { .. } => None,
    }
}

enum Layout {
    Records,
    StockBars,
}

fn classify(data: Vec<u8>, origin: String) -> Item {
    match parse_record(&data) {
        Ok(event) => Item::Event(event),
        Err(_) => Item::Raw {
            partition_key: "replay".into(),
            data,
            origin,
        },
    }
}

/// A CSV row of an event record as JSON: numbers where the text is a number.
fn record_json(fields: &HashMap<&str, &str>) -> Vec<u8> {
    let object: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| {
            let value = if let Ok(i) = v.parse::<i64>() {
                i.into()
            } else if let Ok(f) = v.parse::<f64>() {
                f.into()
            } else {
                (*v).into()
            };
            (k.to_string(), value)
        })
        .collect();
    serde_json::to_vec(&object).unwrap_or_default()
}

/// A daily (or timestamped) stock bar as a quote at its close; the id is derived from the
/// symbol and time, so replaying the same file yields the same ids.
fn stock_bar(
    fields: &HashMap<&str, &str>,
    default_symbol: &str,
    origin: &str,
) -> Option<MarketEvent> {
    let symbol = fields
        .get("symbol")
        .filter(|s| !s.is_empty())
        .map_or(default_symbol, |s| s);
    let date = fields.get("date")?;
    let created_at = chrono::DateTime::parse_from_rfc3339(date)
        .map(|d| d.timestamp_millis())
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").map(|d| {
                d.and_hms_opt(21, 0, 0)
                    .expect("valid time")
                    .and_utc()
                    .timestamp_millis()
            })
        })
        .ok()?;
    let close: f64 = fields.get("close")?.parse().ok()?;
    let volume: f64 = fields.get("volume")?.parse().ok()?;
    let bid = (close * (1.0 - 0.0001) * 100.0).floor() / 100.0;
    let ask = ((close * (1.0 + 0.0001) * 100.0).ceil() / 100.0).max(bid + 0.01);
    let mut hasher = Md5::new();
    hasher.update(symbol.as_bytes());
    hasher.update(created_at.to_le_bytes());
    hasher.update(origin.rsplit(':').next().unwrap_or_default().as_bytes());
    let event = MarketEvent::StockPrice(StockPrice {
        event_uuid: uuid::Builder::from_md5_bytes(hasher.finalize().into()).into_uuid(),
        created_at,
        symbol: symbol.into(),
        price: close,
        bid,
        ask: (ask * 100.0).round() / 100.0,
        volume: volume.max(0.0) as u64,
    });
    event.validate().ok().map(|_| event)
}

/// Writes events as JSONL, one per line: what `tickflow record` produces and replay reads.
///
/// # Errors
/// The file cannot be written.
pub fn record(events: impl Iterator<Item = MarketEvent>, out: &Path) -> Result<u64> {
    use std::io::Write as _;
    let io = |e: std::io::Error| Error::Input(format!("{}: {e}", out.display()));
    let mut writer = std::io::BufWriter::new(File::create(out).map_err(io)?);
    let mut n = 0;
    for event in events {
        writer.write_all(&event.to_json()).map_err(io)?;
        writer.write_all(b"\n").map_err(io)?;
        n += 1;
    }
    writer.flush().map_err(io)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickflow_pipeline::source::{Generator, GeneratorConfig};

    fn temp(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tickflow-replay-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn items(path: PathBuf, symbol: Option<&str>) -> Vec<Item> {
        let spec = ReplaySpec {
            path,
            pace: Pace::Full,
            symbol: symbol.map(str::to_string),
        };
        open(&spec).unwrap().collect()
    }

    #[test]
    fn recorded_events_replay_identically_and_bad_lines_are_kept_raw() {
        let events: Vec<_> = Generator::new(GeneratorConfig {
            events: 50,
            ..Default::default()
        })
        .collect();
        let path = temp("rec.jsonl", "");
        assert_eq!(record(events.clone().into_iter(), &path).unwrap(), 50);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"not\": \"an event\"}\n");
        std::fs::write(&path, text).unwrap();
        let got = items(path, None);
        assert_eq!(got.len(), 51);
        for (item, event) in got.iter().zip(&events) {
            assert_eq!(item, &Item::Event(event.clone()));
        }
        assert!(matches!(&got[50], Item::Raw { origin, .. } if origin.ends_with("rec.jsonl:51")));
    }

    #[test]
    fn stock_bars_become_quotes_with_stable_ids() {
        let csv = "Date,Open,High,Low,Close,Volume\n2024-01-02,187.15,188.44,183.89,185.64,82488700\n2024-01-03,184.22,185.88,183.43,184.25,58414500\n2024-01-04,bad,1,1,oops,1\n";
        let first = items(temp("aapl.csv", csv), None);
        assert_eq!(first.len(), 3);
        let Item::Event(MarketEvent::StockPrice(q)) = &first[0] else {
            panic!("{:?}", first[0])
        };
        assert_eq!(
            (&*q.symbol, q.price, q.volume),
            ("AAPL", 185.64, 82_488_700)
        );
        assert!(q.bid < q.ask && q.bid <= q.price && q.price <= q.ask);
        assert!(matches!(&first[2], Item::Raw { origin, .. } if origin.ends_with("aapl.csv:4")));
        let again = items(temp("aapl.csv", csv), None);
        assert_eq!(first[..2], again[..2], "same file, same ids");
    }

    #[test]
    fn event_record_csvs_and_unknown_layouts() {
        let csv = "event_name,event_uuid,created_at,pair,bid,ask,mid\nforex:rate,6f1c1c1e-1111-4a4a-8b8b-000000000001,1795444200000,EUR/USD,1.08,1.0802,1.0801\n";
        let got = items(temp("fx.csv", csv), None);
        assert!(matches!(&got[0], Item::Event(MarketEvent::Forex(f)) if &*f.pair == "EUR/USD"));
        let spec = ReplaySpec {
            path: temp("x.csv", "a,b\n1,2\n"),
            pace: Pace::Full,
            symbol: None,
        };
        let error = open(&spec).err().unwrap().to_string();
        assert!(error.contains("x.csv:1: unknown CSV layout"), "{error}");
    }
}
