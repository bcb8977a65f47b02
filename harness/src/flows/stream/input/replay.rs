//! Replaying recorded JSONL or CSV data through the pipeline.
//!
//! Replaying recorded or CSV data through the pipeline: JSONL of events (as `tickflow record`
//! writes), a stock CSV with `date, open, high, low, close, volume` columns (the batch seed's
//! layout), or a CSV of event records with an `event_name` column.
//!
//! The format is decided by content, not by the file's name (a Kaggle `aapl.us.txt` is a CSV);
//! stock-bar headers of tickflow, Kaggle (`...,OpenInt`) and Yahoo (`...,Adj Close,...`) are
//! recognised. A row that does not make a valid event is sent as it is, entered in the ledger
//! by its bytes, and must end in the quarantine with the reason: a replay loses nothing, and
//! never stops on one bad row. A source that is not a readable file, or holds no event at all,
//! is an error before anything is sent.

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

/// The slowest and fastest replay factors: a thousand times slower than the data's own pace, a
/// billion times faster (beyond, waits overflow or round to nothing).
pub const FACTORS: (f64, f64) = (1e-3, 1e9);

impl Pace {
    /// The data's pace times `factor`.
    ///
    /// # Errors
    /// A factor outside [`FACTORS`] (or not a number).
    pub fn scaled(factor: f64) -> std::result::Result<Self, String> {
        if (FACTORS.0..=FACTORS.1).contains(&factor) {
            Ok(Pace::Scaled(factor))
        } else {
            Err(format!(
                "a speed factor must be within [{}, {}], got {factor:?}",
                FACTORS.0, FACTORS.1
            ))
        }
    }
}

/// A replay source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplaySpec {
    /// JSONL or CSV file.
    pub path: PathBuf,
    /// Pace.
    pub pace: Pace,
    /// Symbol for stock CSVs without a `symbol` column (default: the file name up to its first
    /// `.`, upper-cased: `aapl.us.txt` is `AAPL`).
    pub symbol: Option<String>,
    /// The format; `None` decides by content (a line starting with `{` is JSONL, anything else
    /// a CSV with a header), whatever the file's extension.
    pub format: Option<Format>,
}

/// A replay source's format.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One JSON event per line.
    Jsonl,
    /// A header, then rows: stock bars or event records.
    Csv,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text {
            "jsonl" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            other => Err(format!("a format is csv or jsonl, got {other:?}")),
        }
    }
}

/// The items of a replay, read one at a time; an item that cannot be read ends it with an error.
pub type Items = Box<dyn Iterator<Item = Result<Item>> + Send>;

/// Opens a replay source as a stream of items, after [`check`]ing it.
///
/// # Errors
/// As [`check`].
pub fn open(spec: &ReplaySpec) -> Result<Items> {
    check(spec)?;
    items(spec)
}

/// Checks that a replay source is a readable file with at least one event in it (reading up to
/// its first event).
///
/// # Errors
/// The path is not a readable file, is empty, is a CSV whose header matches no known layout, or
/// holds no row that is an event.
pub fn check(spec: &ReplaySpec) -> Result<()> {
    let mut scan = items(spec)?;
    let mut rows = 0u64;
    loop {
        match scan.next() {
            Some(Ok(Item::Event(_))) => return Ok(()),
            Some(Ok(Item::Raw { .. })) => rows += 1,
            Some(Err(e)) => return Err(e),
            None => {
                return Err(Error::Input(format!(
                "{}: no row is an event ({rows} rows, none of them an event{}): nothing to replay",
                spec.path.display(),
                layout_hint(spec)
            )))
            }
        }
    }
}

fn layout_hint(spec: &ReplaySpec) -> &'static str {
    match spec.format {
        Some(Format::Jsonl) => "; --format jsonl was given",
        _ => "",
    }
}

/// The items of a source, without the check that one is an event.
fn items(spec: &ReplaySpec) -> Result<Items> {
    let path = &spec.path;
    let name = path.display().to_string();
    let io = |e: std::io::Error| Error::Input(format!("{name}: {e}"));
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return Err(Error::Input(format!(
            "{name} is a directory: replay takes one JSONL or CSV file"
        )));
    }
    if !meta.is_file() {
        return Err(Error::Input(format!("{name} is not a regular file")));
    }
    let mut reader = BufReader::new(File::open(path).map_err(io)?);
    let format = match spec.format {
        Some(format) => format,
        None => sniff(&mut reader)
            .map_err(io)?
            .ok_or_else(|| Error::Input(format!("{name} is empty: nothing to replay")))?,
    };
    match format {
        Format::Jsonl => Ok(jsonl(reader, name)),
        Format::Csv => csv_rows(reader, spec, name),
    }
}

/// The format of what `reader` holds, by its first line that is not blank (left unconsumed);
/// `None` when there is none.
fn sniff(reader: &mut BufReader<File>) -> std::io::Result<Option<Format>> {
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok(None);
        }
        let text = buffer
            .strip_prefix(b"\xef\xbb\xbf".as_slice())
            .unwrap_or(buffer);
        match text.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => return Ok(Some(Format::Jsonl)),
            Some(_) => return Ok(Some(Format::Csv)),
            None => {
                let n = buffer.len();
                reader.consume(n); // only blanks so far
            }
        }
    }
}

/// JSONL lines as items (bytes, so a line that is not UTF-8 is replayed as it is, to be
/// quarantined).
fn jsonl(reader: BufReader<File>, name: String) -> Items {
    let mut failed = false;
    Box::new(
        reader
            .split(b'\n')
            .enumerate()
            .map_while(move |(i, line)| {
                if failed {
                    return None;
                }
                let origin = format!("{name}:{}", i + 1);
                Some(match line {
                    Err(e) => {
                        failed = true;
                        Some(Err(Error::Input(format!("{origin}: {e}"))))
                    }
                    Ok(mut line) => {
                        if line.last() == Some(&b'\r') {
                            line.pop();
                        }
                        (!line.iter().all(u8::is_ascii_whitespace))
                            .then(|| Ok(classify(line, origin)))
                    }
                })
            })
            .flatten(),
    )
}

/// CSV rows as items: stock bars or event records, by the header.
fn csv_rows(reader: BufReader<File>, spec: &ReplaySpec, name: String) -> Result<Items> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let header: Vec<String> = reader
        .byte_headers()
        .map_err(|e| Error::Input(format!("{name}:1: {e}")))?
        .iter()
        .map(|h| {
            String::from_utf8_lossy(h)
                .trim()
                .trim_start_matches('\u{feff}')
                .to_ascii_lowercase()
        })
        .collect();
    let layout = Layout::of(&header).ok_or_else(|| {
        Error::Input(format!(
            "{name}:1: unknown CSV layout {header:?}: expected an `event_name` column (event \
             records) or `date`, `close` and `volume` columns (stock bars: tickflow's, Kaggle's \
             `Date,Open,High,Low,Close,Volume,OpenInt`, Yahoo's `Date,Open,High,Low,Close,Adj \
             Close,Volume`)"
        ))
    })?;
    let default_symbol = spec.symbol.clone().unwrap_or_else(|| {
        let file = spec
            .path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned());
        let stem = file
            .as_deref()
            .unwrap_or("STOCK")
            .split('.')
            .next()
            .unwrap_or("STOCK");
        stem.to_ascii_uppercase()
    });
    let mut failed = false;
    let rows = reader.into_byte_records().enumerate();
    Ok(Box::new(rows.map_while(move |(i, row)| {
        if failed {
            return None;
        }
        let origin = format!("{name}:{}", i + 2);
        let row = match row {
            Ok(row) => row,
            Err(e) if e.is_io_error() => {
                failed = true;
                return Some(Err(Error::Input(format!("{origin}: {e}"))));
            }
            Err(e) => {
                return Some(Ok(Item::Raw {
                    partition_key: default_symbol.clone(),
                    data: format!("{origin}: unreadable CSV row: {e}").into_bytes(),
                    origin,
                }))
            }
        };
        let texts: Option<Vec<&str>> = row.iter().map(|f| std::str::from_utf8(f).ok()).collect();
        let Some(texts) = texts else {
            let raw = row.iter().collect::<Vec<_>>().join(&b","[..]);
            return Some(Ok(Item::Raw {
                partition_key: default_symbol.clone(),
                data: raw,
                origin,
            }));
        };
        let fields: HashMap<&str, &str> = header
            .iter()
            .zip(texts)
            .map(|(h, v)| (h.as_str(), v.trim()))
            .collect();
        Some(Ok(match layout {
            Layout::Records => classify(record_json(&fields), origin),
            Layout::StockBars => stock_bar(&fields, &default_symbol, &origin)
                .map(Item::Event)
                .unwrap_or_else(|| Item::Raw {
                    partition_key: default_symbol.clone(),
                    data: serde_json::to_vec(&fields).unwrap_or_default(),
                    origin,
                }),
        }))
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

impl Layout {
    fn of(header: &[String]) -> Option<Self> {
        let has = |c: &str| header.iter().any(|h| h == c);
        if has("event_name") {
            Some(Layout::Records)
        } else if ["date", "close", "volume"].iter().all(|c| has(c)) {
            Some(Layout::StockBars)
        } else {
            None
        }
    }
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

    fn temp(name: &str, text: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tickflow-replay-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn spec(path: PathBuf, symbol: Option<&str>) -> ReplaySpec {
        ReplaySpec {
            path,
            pace: Pace::Full,
            symbol: symbol.map(str::to_string),
            format: None,
        }
    }

    fn items(path: PathBuf, symbol: Option<&str>) -> Vec<Item> {
        open(&spec(path, symbol))
            .unwrap()
            .collect::<Result<Vec<_>>>()
            .unwrap()
    }

    fn error(spec: &ReplaySpec) -> String {
        open(spec).err().expect("an error").to_string()
    }

    #[test]
    fn recorded_events_replay_identically_and_bad_lines_are_kept_raw() {
        let events: Vec<_> = Generator::new(GeneratorConfig {
            events: 50,
            ..Default::default()
        })
        .collect();
        let path = temp("rec.jsonl", b"");
        assert_eq!(record(events.clone().into_iter(), &path).unwrap(), 50);
        let mut text = std::fs::read(&path).unwrap();
        text.extend_from_slice(b"{\"not\": \"an event\"}\r\n\n\xff\xfe\n");
        std::fs::write(&path, text).unwrap();
        let got = items(path, None);
        assert_eq!(got.len(), 52);
        for (item, event) in got.iter().zip(&events) {
            assert_eq!(item, &Item::Event(event.clone()));
        }
        assert!(matches!(&got[50], Item::Raw { origin, data, .. }
            if origin.ends_with("rec.jsonl:51") && data == b"{\"not\": \"an event\"}"));
        assert!(matches!(&got[51], Item::Raw { data, .. } if data == b"\xff\xfe"));
    }

    #[test]
    fn stock_bars_become_quotes_with_stable_ids() {
        let csv = b"Date,Open,High,Low,Close,Volume\n2024-01-02,187.15,188.44,183.89,185.64,82488700\n2024-01-03,184.22,185.88,183.43,184.25,58414500\n2024-01-04,bad,1,1,oops,1\n";
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
    fn kaggle_and_yahoo_files_are_csv_whatever_their_name() {
        let kaggle = b"Date,Open,High,Low,Close,Volume,OpenInt\n2005-02-25,6.4987,6.6009,6.4668,6.5753,55766,0\n2005-02-28,6.6072,6.7669,6.5669,6.6695,83125,0\n";
        let got = items(temp("aapl.us.txt", kaggle), None);
        assert_eq!(got.len(), 2);
        assert!(matches!(&got[0], Item::Event(MarketEvent::StockPrice(q)) if &*q.symbol == "AAPL"));
        let yahoo = b"Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,187.15,188.44,183.89,185.64,184.9,82488700\n";
        let got = items(temp("MSFT", yahoo), None);
        assert!(
            matches!(&got[0], Item::Event(MarketEvent::StockPrice(q)) if &*q.symbol == "MSFT" && q.price == 185.64)
        );
    }

    #[test]
    fn event_record_csvs_and_unknown_layouts() {
        let csv = b"event_name,event_uuid,created_at,pair,bid,ask,mid\nforex:rate,6f1c1c1e-1111-4a4a-8b8b-000000000001,1795444200000,EUR/USD,1.08,1.0802,1.0801\n";
        let got = items(temp("fx.csv", csv), None);
        assert!(matches!(&got[0], Item::Event(MarketEvent::Forex(f)) if &*f.pair == "EUR/USD"));
        let e = error(&spec(temp("x.csv", b"a,b\n1,2\n"), None));
        assert!(e.contains("x.csv:1: unknown CSV layout"), "{e}");
    }

    #[test]
    fn directories_empty_files_and_sources_without_events_are_errors() {
        let dir = temp("x", b"").parent().unwrap().to_path_buf();
        assert!(
            error(&spec(dir, None)).ends_with("is a directory: replay takes one JSONL or CSV file")
        );
        assert!(
            error(&spec(temp("e.txt", b"\n  \n"), None)).ends_with("is empty: nothing to replay")
        );
        let missing = error(&spec(PathBuf::from("/no/such/file.csv"), None));
        assert!(
            missing.starts_with("/no/such/file.csv: No such file"),
            "{missing}"
        );
        let garbage = "Date,Open,High,Low,Close,Volume,OpenInt\n".to_string()
            + &"x,y,z,w,v,u,t\n".repeat(501);
        let e = error(&spec(temp("junk.us.txt", garbage.as_bytes()), None));
        assert!(
            e.ends_with("no row is an event (501 rows, none of them an event): nothing to replay"),
            "{e}"
        );
        let mut forced = spec(
            temp("bars.txt", b"Date,Close,Volume\n2024-01-02,1.5,10\n"),
            None,
        );
        forced.format = Some(Format::Jsonl);
        assert!(error(&forced).contains("--format jsonl was given"));
        forced.format = Some(Format::Csv);
        assert_eq!(open(&forced).unwrap().count(), 1);
    }
}
