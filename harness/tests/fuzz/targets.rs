//! The fuzz targets, one per parser.
//!
//! The fuzz targets: each takes raw bytes, drives one parser (and what a successful parse feeds)
//! and must return without panicking. Each returns whether the input went deep (parsed and was
//! used), so that such inputs join the corpus and are mutated further.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use tickflow_harness::flows::price_files::scenario::PriceFilesFile;
use tickflow_harness::flows::stream::input::replay::{self, Format, Item, Pace, ReplaySpec};
use tickflow_harness::flows::stream::scenario::StreamFile;
use tickflow_harness::scenario::{self, Scenario};
use tickflow_pipeline::event::enrich;
use tickflow_pipeline::kpl::{self, Aggregator, MAX_KINESIS_RECORD};
use tickflow_pipeline::lake::{partition, row};
use tickflow_pipeline::notify::{Admission, PriceWatch};
use tickflow_pipeline::price_files::{layout, record, PriceRecord};
use tickflow_pipeline::source::{Generator, GeneratorConfig};
use tickflow_pipeline::{compress, envelope};

/// Events a scenario input may generate at most (enough to step every price path).
const EVENTS_PER_INPUT: u64 = 300;

/// Scenario text: parsing, validation, and everything a valid file builds a run from.
pub fn scenario(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    let file = match scenario::parse("fuzz.toml", &text) {
        Ok(file) => file,
        Err(errors) => {
            assert!(!errors.is_empty(), "a rejected file says why");
            for e in errors {
                let _ = e.to_string();
            }
            return false;
        }
    };
    let plan = scenario::planned::planned(&file);
    assert!(
        plan.bounded(),
        "a file that validates plans a bounded run, got {plan:?}"
    );
    let s = Scenario {
        path: PathBuf::from("scenarios/fuzz.toml"),
        file,
    };
    if s.file.get::<StreamFile>().is_some() {
        let config = s
            .run_config()
            .unwrap_or_else(|e| panic!("a file that validates builds a run, got: {e}"));
        let settings = &config.pipeline;
        let _ = (
            settings.producer(),
            settings.bridge(),
            settings.esm(),
            settings.lake(),
        );
        let mut watch = PriceWatch::new(settings.watch());
        if let tickflow_harness::flows::stream::driver::Source::Generate(g) = &config.source {
            let mut g = g.clone();
            g.events = g.events.min(EVENTS_PER_INPUT);
            for event in Generator::new(g) {
                let _ = event.to_json();
                let _ = partition::data_prefix(event.kind().event_type(), event.created_at());
                let price = (event.instrument().into(), event.created_at(), 1.0, 1.0);
                if watch.admit(event.id(), &price) == Admission::Pending {
                    watch.confirm(&price);
                }
                watch.close_ready();
            }
            watch.finish();
        }
        for i in [0, 1, 2, 1_000, u64::MAX / 2, u64::MAX] {
            let _ = config.load.due(i);
        }
    }
    let price_files = s
        .file
        .get::<PriceFilesFile>()
        .and_then(|p| p.price_files.as_ref());
    if let Some(settings) = price_files {
        let mut settings = settings.clone();
        settings.files = settings.files.min(20);
        let files = tickflow_harness::flows::price_files::generate::generate(
            &settings,
            s.file.scenario.seed,
        );
        let _ = tickflow_harness::flows::price_files::generate::expected_alerts(
            &files,
            settings.threshold_pct,
        );
    }
    true
}

thread_local! {
    static FILE: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
}

/// A replay source file (its format decided by content, then forced each way): every item
/// read, none lost, no error but a clear one.
pub fn replay(data: &[u8]) -> bool {
    let path = FILE.with(|f| {
        f.borrow_mut()
            .get_or_insert_with(|| {
                let dir =
                    std::env::temp_dir().join(format!("tickflow-fuzz-{}", std::process::id()));
                std::fs::create_dir_all(&dir).unwrap();
                dir.join(
                    format!("{:?}.us.txt", std::thread::current().id()).replace(['(', ')'], ""),
                )
            })
            .clone()
    });
    std::fs::write(&path, data).unwrap();
    let mut deep = false;
    for format in [None, Some(Format::Csv), Some(Format::Jsonl)] {
        deep |= replay_as(&path, format);
    }
    deep
}

fn replay_as(path: &Path, format: Option<Format>) -> bool {
    let spec = ReplaySpec {
        path: path.to_path_buf(),
        pace: Pace::Full,
        symbol: None,
        format,
    };
    let Ok(items) = replay::open(&spec) else {
        return false;
    };
    let mut events = 0;
    for item in items {
        match item {
            Ok(Item::Event(e)) => {
                events += 1;
                e.validate().expect("replayed events are valid");
            }
            Ok(Item::Raw { .. }) => {}
            Err(e) => {
                let _ = e.to_string();
                break;
            }
        }
    }
    events > 0
}

/// KPL records: as they come, and framed with a valid magic and digest so that the protobuf
/// decoder itself is reached.
pub fn kpl(data: &[u8]) -> bool {
    let plain = kpl::deaggregate("pk", data);
    assert!(!plain.is_empty(), "a record is never lost");
    let mut framed = kpl::MAGIC.to_vec();
    framed.extend_from_slice(data);
    framed.extend_from_slice(&Md5::digest(data));
    kpl::deaggregate("pk", &framed).len() > 1
}

/// SQS bodies: as they come, and compressed as the bridge seals them.
pub fn envelope(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    let plain = envelope::decode(&text);
    let sealed = envelope::seal(text.into_owned(), compress::Compression::Zstd);
    let _ = envelope::decode(&sealed);
    let _ = compress::expand(data);
    plain.is_ok_and(|r| !r.is_empty())
}

/// Price files: read as each format (and as the content says); a record survives its CSV, and
/// a file that is not one says which kind and why.
pub fn price_file(data: &[u8]) -> bool {
    let mut deep = false;
    for key in ["f.json", "f.xml", "f.txt", "f"] {
        match record::parse(key, data) {
            Ok(r) => {
                let csv = r.to_csv(key);
                let (back, source) = PriceRecord::from_csv(&csv)
                    .unwrap_or_else(|e| panic!("a record's own CSV reads back: {e}\n{csv}"));
                assert_eq!(source, key);
                assert_eq!(back.date, r.date, "{csv}");
                assert_eq!(
                    back.weighted_average.to_bits(),
                    r.weighted_average.to_bits(),
                    "{csv}"
                );
                let _ = layout::csv_key(&r.asset, r.date);
                deep = true;
            }
            Err(e) => assert!(!e.reason.is_empty(), "a malformed file says why"),
        }
    }
    let text = String::from_utf8_lossy(data);
    let _ = PriceRecord::from_csv(&text);
    let _ = layout::parse_csv_key(&text);
    let _ = tickflow_pipeline::s3_event::parse(&text);
    deep
}

/// Lake keys and rows: the partition parser and the row reader with its enrichment check.
pub fn lake(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    let (key, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let _ = partition::partition_of(key);
    if let Some(parsed) = partition::parse_data_key(key) {
        assert!(key.starts_with(&parsed.prefix()), "{key}");
    }
    let Ok(map) = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(rest) else {
        return false;
    };
    match row::parse_row(map) {
        Ok(row) => {
            let _ = row.check_enrichment();
            let _ = row.event.to_json();
            true
        }
        Err(_) => false,
    }
}

/// Valid inputs of each target, to mutate from.
pub mod seeds {
    use super::*;

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn events(n: u64) -> Vec<tickflow_pipeline::event::MarketEvent> {
        Generator::new(GeneratorConfig {
            events: n,
            ..GeneratorConfig::default()
        })
        .collect()
    }

    /// Every shipped scenario file, and files that set every key.
    pub fn scenario() -> Vec<Vec<u8>> {
        let dirs = [
            repo().join("scenarios"),
            repo().join("harness/tests/fuzz/seeds"),
        ];
        let mut seeds: Vec<Vec<u8>> = dirs
            .iter()
            .flat_map(|dir| std::fs::read_dir(dir).unwrap())
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| std::fs::read(p).unwrap())
            .collect();
        seeds.sort();
        seeds
    }

    /// The shipped CSV data, a Kaggle file, and recorded JSONL with a bad line.
    pub fn replay() -> Vec<Vec<u8>> {
        let data = repo().join("scenarios/data");
        let mut jsonl = Vec::new();
        for e in events(20) {
            jsonl.extend(e.to_json());
            jsonl.push(b'\n');
        }
        jsonl.extend_from_slice(b"{\"not\":\"an event\"}\n");
        vec![
            std::fs::read(data.join("stock-daily.csv")).unwrap(),
            std::fs::read(data.join("aapl.us.txt")).unwrap(),
            b"event_name,event_uuid,created_at,pair,bid,ask,mid\nforex:rate,6f1c1c1e-1111-4a4a-8b8b-000000000001,1795444200000,EUR/USD,1.08,1.0802,1.0801\n".to_vec(),
            jsonl,
        ]
    }

    /// Aggregates of a few events, whole and without their frame.
    pub fn kpl() -> Vec<Vec<u8>> {
        let mut aggregator = Aggregator::new(MAX_KINESIS_RECORD);
        for e in events(10) {
            aggregator.try_add(e.instrument(), e.to_json()).unwrap();
        }
        let record = aggregator.finish().unwrap().data;
        let proto = record[kpl::MAGIC.len()..record.len() - 16].to_vec();
        vec![record, proto]
    }

    /// Bodies as the bridge packs them, plain and compressed.
    pub fn envelope() -> Vec<Vec<u8>> {
        let elements: Vec<String> = events(5)
            .iter()
            .map(|e| envelope::encode_record(&e.to_json()))
            .chain([envelope::encode_record(&[0xff, 0x00, 0x7f])])
            .collect();
        let body = envelope::join(&elements);
        let sealed = envelope::seal(body.clone(), compress::Compression::Zstd);
        vec![body.into_bytes(), sealed.into_bytes()]
    }

    /// Generated price files of every format and kind of malformation.
    pub fn price_file() -> Vec<Vec<u8>> {
        use tickflow_harness::flows::price_files::generate;
        use tickflow_harness::flows::price_files::settings::{MalformedCounts, PriceFileSettings};
        let settings = PriceFileSettings {
            files: 12,
            malformed: MalformedCounts {
                unparsable: 2,
                missing_field: 1,
                unknown_format: 1,
                too_large: 0,
            },
            ..PriceFileSettings::default()
        };
        generate::generate(&settings, 3)
            .into_iter()
            .map(|f| f.body)
            .collect()
    }

    /// A data key and an enriched row of each kind.
    pub fn lake() -> Vec<Vec<u8>> {
        events(30)
            .iter()
            .map(|e| {
                let prefix = partition::data_prefix(e.kind().event_type(), e.created_at());
                let mut input = partition::object_key(&prefix, e.id().as_bytes()).into_bytes();
                input.push(b'\n');
                input.extend(enrich(e, chrono::Utc::now()));
                input
            })
            .collect()
    }
}
