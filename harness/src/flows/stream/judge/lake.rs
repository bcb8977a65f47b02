//! The lake read back, every row checked.
//!
//! Reading the lake back: every object, in parallel, each row checked on its own (is it an
//! event, in its own partition, with the right enrichment?) and summarised for the
//! reconciliation (which ids, how many rows, the digest of what each carries).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};
use tickflow_pipeline::aws::{AwsError, Clients};
use tickflow_pipeline::compress;
use tickflow_pipeline::event::{EventKind, MarketEvent};
use tickflow_pipeline::lake::partition;
use tickflow_pipeline::lake::row::{self, LakeRow};
use tickflow_pipeline::notify::price_watch::{self, Price};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::error::Result;
use crate::flows::stream::judge::alerts::PriceSums;
use crate::flows::stream::judge::reconcile::{Found, Place, QuarantineRow, RowProblem, Sighting};
use crate::verdict::{digest, Digest};

/// Objects read at once.
const PARALLEL_READS: usize = 8;

/// One partition of the lake.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PartitionSummary {
    /// Objects in it.
    pub objects: u64,
    /// Rows in them.
    pub events: u64,
    /// Fields present in every row.
    pub common_fields: BTreeSet<String>,
    /// Rows whose event id an earlier row (of the data partitions, or of the quarantine) had.
    pub duplicate_rows: u64,
}

/// What the lake holds.
#[derive(Debug, Default)]
pub struct LakeContents {
    /// Partition (e.g. `event_type=forex/dt=2026-11-23/hour=14`) -> objects and rows.
    pub partitions: BTreeMap<String, PartitionSummary>,
    /// Quarantine reasons (the text before the first `:` detail) -> rows.
    pub quarantine_reasons: BTreeMap<String, u64>,
    /// Each object's write time (epoch ms), by object index: filled by the judge from S3's own
    /// notification of the object (never from what the pipeline says about itself).
    pub written_at: Vec<Option<i64>>,
    /// Rows, sightings and problems, for the reconciliation.
    pub found: Found,
    /// The prices of the events held, each event once, summed per window (when asked for):
    /// which windows should have alerted.
    pub prices: Option<PriceSums>,
    /// Quarantine ids seen so far (for `duplicate_rows` in the quarantine partitions).
    quarantine_ids: HashSet<Uuid>,
}

impl LakeContents {
    /// Rows in the quarantine.
    pub fn quarantine_rows(&self) -> u64 {
        self.found.quarantine.len() as u64
    }

    /// Objects in the data partitions and the quarantine.
    pub fn objects(&self) -> u64 {
        self.partitions.values().map(|p| p.objects).sum()
    }
}

/// Reads every object of `bucket`; `expected` is how many event ids it should hold (the table
/// of ids is sized for them up front). With `prices`, the events' prices are summed into them
/// (each event once).
///
/// # Errors
/// A failing S3 call, or an object that does not decompress.
pub async fn read_lake(
    clients: &Clients,
    bucket: &str,
    expected: usize,
    prices: Option<PriceSums>,
) -> Result<LakeContents> {
    let keys = clients.object_keys(bucket).await?.ok_or_else(|| AwsError {
        service: "s3",
        operation: "ListObjectsV2",
        message: format!("bucket {bucket} does not exist"),
    })?;
    let mut contents = LakeContents {
        prices,
        ..LakeContents::default()
    };
    let watching = contents.prices.is_some();
    contents.found.read_at_ms = chrono::Utc::now().timestamp_millis();
    contents.found.lake.reserve(expected);
    contents.found.objects = keys.iter().map(|k| format!("s3://{bucket}/{k}")).collect();
    contents.written_at = vec![None; keys.len()];
    let mut reads = JoinSet::new();
    let mut pending = keys.into_iter().enumerate();
    loop {
        while reads.len() < PARALLEL_READS {
            let Some((index, key)) = pending.next() else {
                break;
            };
            let (clients, bucket) = (clients.clone(), bucket.to_string());
            reads.spawn(async move {
                let body = get_object(&clients, &bucket, &key).await?;
                // Parsing a million rows is the reader's main cost: one object per blocking
                // thread, merged below.
                tokio::task::spawn_blocking(move || {
                    let mut object = ObjectRead::new(index as u32, key, watching);
                    object.absorb(&body);
                    object
                })
                .await
                .map_err(reader_error)
            });
        }
        let Some(done) = reads.join_next().await else {
            break;
        };
        contents.merge(done.map_err(reader_error)??);
    }
    Ok(contents)
}

/// A failure of the lake reader itself (a task, or an object that does not decompress).
fn reader_error(reason: impl std::fmt::Display) -> crate::Error {
    crate::Error::Stage {
        stage: "lake reader".into(),
        reason: reason.to_string(),
    }
}

async fn get_object(clients: &Clients, bucket: &str, key: &str) -> Result<Vec<u8>> {
    let (_, body) = clients.get_object(bucket, key).await?;
    let body = compress::expand_object(key, body)
        .map_err(|e| reader_error(format!("s3://{bucket}/{key} does not decompress: {e}")))?;
    Ok(body)
}

/// One object's rows, read on their own.
#[derive(Debug)]
struct ObjectRead {
    index: u32,
    key: String,
    partition: String,
    summary: PartitionSummary,
    quarantine: bool,
    /// Data rows by id.
    ids: HashMap<Uuid, Sighting>,
    /// The price of each event read, once per id (when prices are watched).
    prices: Option<Vec<(Uuid, Price)>>,
    quarantine_rows: Vec<QuarantineRow>,
    reasons: BTreeMap<String, u64>,
    /// Row problems found, with their descriptions (`key:line: ...`).
    problems: Vec<(RowProblem, String)>,
    /// Fields of every row read the fast way (a bitmask over [`row::FIELDS`]), if any was.
    fast_fields: Option<u32>,
    /// Fields of every row read the generic way, if any was.
    slow_fields: Option<BTreeSet<String>>,
    /// The partition each row's event belongs in.
    own_partition: OwnPartition,
    /// What names the object, from its rows (`None` once a row names nothing).
    content: Option<partition::ContentId>,
}

/// The partition prefix an event belongs in, the last one kept: rows of an object mostly share
/// their hour, so most rows cost neither formatting nor an allocation.
#[derive(Debug, Default)]
struct OwnPartition {
    /// (kind, hour since the epoch, prefix) of the last event asked about.
    last: Option<(EventKind, i64, String)>,
}

impl OwnPartition {
    fn of(&mut self, event: &MarketEvent) -> &str {
        let (kind, hour) = (event.kind(), event.created_at().div_euclid(3_600_000));
        if !matches!(&self.last, Some((k, h, _)) if *k == kind && *h == hour) {
            let prefix = partition::data_prefix(kind.event_type(), event.created_at());
            self.last = Some((kind, hour, prefix));
        }
        self.last.as_ref().map_or("", |(_, _, prefix)| prefix)
    }
}

impl ObjectRead {
    fn new(index: u32, key: String, watching: bool) -> Self {
        Self {
            index,
            partition: partition::partition_of(&key).to_string(),
            quarantine: key.starts_with(partition::QUARANTINE),
            key,
            summary: PartitionSummary {
                objects: 1,
                ..PartitionSummary::default()
            },
            ids: HashMap::new(),
            prices: watching.then(Vec::new),
            quarantine_rows: Vec::new(),
            reasons: BTreeMap::new(),
            problems: Vec::new(),
            fast_fields: None,
            slow_fields: None,
            own_partition: OwnPartition::default(),
            content: Some(partition::ContentId::default()),
        }
    }

    fn absorb(&mut self, body: &[u8]) {
        let lines = body.split(|b| *b == b'\n').count();
        for (i, line) in body.split(|b| *b == b'\n').enumerate() {
            if line.is_empty() {
                // The piece after the last row's newline is empty; any other line is not a row.
                if i + 1 < lines {
                    let place = Place {
                        object: self.index,
                        line: i as u32 + 1,
                    };
                    self.content = None;
                    self.problem(
                        RowProblem::Unreadable,
                        place,
                        "an empty line, not a row".into(),
                    );
                }
                continue;
            }
            let place = Place {
                object: self.index,
                line: i as u32 + 1,
            };
            self.summary.events += 1;
            if !self.quarantine {
                if let Some((row, fields)) = row::read_row(line) {
                    self.fast_fields = Some(self.fast_fields.unwrap_or(u32::MAX) & fields);
                    self.data_row(row, place);
                    continue;
                }
            }
            let row = serde_json::from_slice::<Map<String, Value>>(line);
            let keys = row
                .as_ref()
                .map(|r| r.keys().cloned().collect())
                .unwrap_or_default();
            self.slow_fields = Some(match self.slow_fields.take() {
                None => keys,
                Some(common) => common.intersection(&keys).cloned().collect(),
            });
            let Ok(row) = row else {
                self.content = None;
                self.problem(RowProblem::Unreadable, place, "not a JSON object".into());
                continue;
            };
            if self.quarantine {
                self.quarantined(row, place);
            } else {
                self.data(row, place);
            }
        }
        self.summary.common_fields = self.common_fields();
        self.check_key();
    }

    /// The object's key must be the digest of the records it holds: what makes a retried or
    /// repeated write create nothing new (a renamed object is not the object written).
    fn check_key(&mut self) {
        let Some(content) = self.content.take() else {
            return; // a row that names nothing: reported already
        };
        let written = self
            .key
            .strip_suffix(tickflow_pipeline::compress::OBJECT_SUFFIX)
            .unwrap_or(&self.key);
        let named = content.key(&format!("{}/", self.partition));
        if written != named {
            let what = format!(
                "{}: the key is not the digest of the records the object holds (they name \
                 {named})",
                self.key
            );
            self.problems.push((RowProblem::Misplaced, what));
        }
    }

    /// The fields every row of the object has.
    fn common_fields(&self) -> BTreeSet<String> {
        let fast = self.fast_fields.map(|mask| {
            row::field_names(mask)
                .map(str::to_string)
                .collect::<BTreeSet<_>>()
        });
        match (fast, &self.slow_fields) {
            (Some(fast), Some(slow)) => fast.intersection(slow).cloned().collect(),
            (Some(fast), None) => fast,
            (None, Some(slow)) => slow.clone(),
            (None, None) => BTreeSet::new(),
        }
    }

    fn problem(&mut self, kind: RowProblem, place: Place, what: String) {
        self.problems
            .push((kind, format!("{}:{}: {what}", self.key, place.line)));
    }

    /// A data row the fast reader did not take: read generically, to say what is wrong with it.
    fn data(&mut self, row: Map<String, Value>, place: Place) {
        let Some(id) = event_uuid(&row) else {
            self.content = None;
            self.problem(RowProblem::Unreadable, place, "names no event_uuid".into());
            return;
        };
        match row::parse_row(row) {
            Ok(row) => self.data_row(row, place),
            // Not an event without its enrichment: altered, if it was sent.
            Err(_) => {
                if let Some(content) = &mut self.content {
                    content.update(id.as_bytes());
                }
                self.sight(id, None, place, None);
            }
        }
    }

    /// A data row that is an event: its enrichment and partition checked, its content digested.
    fn data_row(&mut self, row: LakeRow, place: Place) {
        let id = row.event.id();
        if let Some(content) = &mut self.content {
            content.update(id.as_bytes());
        }
        if let Err(e) = row.check_enrichment() {
            self.problem(RowProblem::Altered, place, format!("event {id}: {e}"));
        }
        let own = self.own_partition.of(&row.event);
        let elsewhere = (!self.key.starts_with(own)).then(|| own.trim_end_matches('/').to_string());
        if let Some(belongs) = elsewhere {
            self.problem(
                RowProblem::Misplaced,
                place,
                format!("event {id} belongs in {belongs}"),
            );
        }
        let processed = row.enrichment[3]
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .and_then(|t| std::num::NonZeroI64::new(t.timestamp_millis()));
        let first = self.sight(id, Some(digest(&row.event.to_json())), place, processed);
        if let (true, Some(prices)) = (first, &mut self.prices) {
            prices.extend(price_watch::price_of(&row.event).map(|p| (id, p)));
        }
    }

    fn sight(
        &mut self,
        id: Uuid,
        digest: Option<Digest>,
        place: Place,
        processed: Option<std::num::NonZeroI64>,
    ) -> bool {
        match self.ids.entry(id) {
            std::collections::hash_map::Entry::Occupied(mut seen) => {
                seen.get_mut().rows += 1;
                false
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(Sighting {
                    rows: 1,
                    digest,
                    first: place,
                    processed_ms: processed,
                });
                true
            }
        }
    }

    fn quarantined(&mut self, row: Map<String, Value>, place: Place) {
        let reason = row
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("(none)");
        let head = reason.split(':').next().unwrap_or(reason).to_string();
        *self.reasons.entry(head).or_default() += 1;
        let Some(raw) = raw_record(row.get("raw")) else {
            self.content = None;
            self.problem(RowProblem::Unreadable, place, "holds no raw record".into());
            return;
        };
        match (
            &mut self.content,
            row.get("message_id").and_then(Value::as_str),
        ) {
            (Some(content), Some(message)) => {
                content.update(&raw);
                content.update(message.as_bytes());
            }
            _ => self.content = None,
        }
        self.quarantine_rows.push(QuarantineRow {
            id: event_uuid(&row),
            digest: digest(&raw),
            place,
        });
    }
}

fn event_uuid(row: &Map<String, Value>) -> Option<Uuid> {
    row.get("event_uuid")?.as_str()?.parse().ok()
}

/// The record a quarantine row holds: its text, or the bytes of `{"b64": ...}`.
fn raw_record(raw: Option<&Value>) -> Option<Vec<u8>> {
    match raw? {
        Value::String(text) => Some(text.as_bytes().to_vec()),
        Value::Object(o) => base64::engine::general_purpose::STANDARD
            .decode(o.get("b64")?.as_str()?)
            .ok(),
        _ => None,
    }
}

impl LakeContents {
    /// Adds one object's read: counts add up, common fields intersect, and each id already
    /// seen is one more duplicate row in that object's partition.
    fn merge(&mut self, mut object: ObjectRead) {
        // An event's price counts once: from the first object read that holds it.
        if let (Some(sums), Some(prices)) = (&mut self.prices, object.prices.take()) {
            for (id, price) in prices {
                if !self.found.lake.contains_key(&id) {
                    sums.add(id, price);
                }
            }
        }
        let mut repeats = 0;
        for (id, theirs) in object.ids {
            match self.found.lake.get_mut(&id) {
                Some(ours) => {
                    repeats += u64::from(theirs.rows);
                    ours.rows += theirs.rows;
                    if (theirs.first.object, theirs.first.line)
                        < (ours.first.object, ours.first.line)
                    {
                        (ours.first, ours.digest, ours.processed_ms) =
                            (theirs.first, theirs.digest, theirs.processed_ms);
                    }
                }
                None => {
                    repeats += u64::from(theirs.rows - 1);
                    self.found.lake.insert(id, theirs);
                }
            }
        }
        for row in &object.quarantine_rows {
            if let Some(id) = row.id {
                repeats += u64::from(!self.quarantine_ids.insert(id));
            }
        }
        let ours = self.partitions.entry(object.partition).or_default();
        if ours.events == 0 {
            ours.common_fields = object.summary.common_fields;
        } else if object.summary.events > 0 {
            ours.common_fields
                .retain(|f| object.summary.common_fields.contains(f));
        }
        ours.objects += 1;
        ours.events += object.summary.events;
        ours.duplicate_rows += repeats;
        self.found.quarantine.extend(object.quarantine_rows);
        for (reason, rows) in object.reasons {
            *self.quarantine_reasons.entry(reason).or_default() += rows;
        }
        let bucket = self
            .found
            .objects
            .get(object.index as usize)
            .and_then(|o| o.strip_suffix(object.key.as_str()))
            .unwrap_or("")
            .to_string();
        for (kind, description) in object.problems {
            self.found
                .row_problem(kind, || format!("{bucket}{description}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickflow_pipeline::event::enrich;
    use tickflow_pipeline::source::{Generator, GeneratorConfig};

    fn rows(events: &[tickflow_pipeline::event::MarketEvent]) -> Vec<u8> {
        let mut body = Vec::new();
        for e in events {
            body.extend(enrich(e, chrono::Utc::now()));
            body.push(b'\n');
        }
        body
    }

    fn read(objects: &[(&str, Vec<u8>)]) -> LakeContents {
        read_watching(objects, None)
    }

    fn read_watching(objects: &[(&str, Vec<u8>)], window_ms: Option<i64>) -> LakeContents {
        let watch = |window_ms| tickflow_pipeline::notify::WatchConfig {
            window_ms,
            threshold_pct: 0.0001,
            lateness_ms: 0,
        };
        let mut contents = LakeContents {
            written_at: vec![None; objects.len()],
            prices: window_ms.map(|w| PriceSums::new(watch(w), Default::default())),
            ..LakeContents::default()
        };
        contents.found.objects = objects.iter().map(|(k, _)| format!("s3://b/{k}")).collect();
        for (i, (key, body)) in objects.iter().enumerate() {
            let watching = window_ms.is_some();
            let mut object = ObjectRead::new(i as u32, key.to_string(), watching);
            object.absorb(body);
            contents.merge(object);
        }
        contents
    }

    fn events(n: u64) -> Vec<tickflow_pipeline::event::MarketEvent> {
        Generator::new(GeneratorConfig {
            events: n,
            mix: tickflow_pipeline::source::Mix {
                forex: 1.0,
                stock_price: 0.0,
                stock_news: 0.0,
            },
            ..Default::default()
        })
        .collect()
    }

    const HOUR_14: &str = "event_type=forex/dt=2026-11-23/hour=14";

    /// The key the writer gives an object of `events` in `partition`.
    fn key_of(partition: &str, events: &[tickflow_pipeline::event::MarketEvent]) -> String {
        let mut content = partition::ContentId::default();
        events
            .iter()
            .for_each(|e| content.update(e.id().as_bytes()));
        content.key(&format!("{partition}/"))
    }

    #[test]
    fn an_object_renamed_padded_or_respelt_is_not_the_object_written() {
        let sent = events(5);
        let key = key_of(HOUR_14, &sent);
        let body = rows(&sent);
        let clean = read(&[(&key, body.clone())]);
        assert!(
            clean.found.row_problems.is_empty(),
            "{:?}",
            clean.found.row_problems
        );
        let problem = |c: &LakeContents| c.found.row_problems.clone();
        // Renamed within its partition.
        let renamed = read(&[(
            &format!("{HOUR_14}/part-0123456789abcdef0123.jsonl"),
            body.clone(),
        )]);
        let p = problem(&renamed);
        assert_eq!((p.len(), p[0].0), (1, RowProblem::Misplaced), "{p:?}");
        assert!(
            p[0].2[0].contains("the key is not the digest of the records"),
            "{p:?}"
        );
        // A blank line appended.
        let mut padded = body.clone();
        padded.push(b'\n');
        let p = problem(&read(&[(&key, padded)]));
        assert_eq!(p[0].0, RowProblem::Unreadable, "{p:?}");
        assert!(p[0].2[0].ends_with(":6: an empty line, not a row"), "{p:?}");
        // An id upper-cased: equal as a UUID, another string.
        let id = sent[0].id().to_string();
        let respelt = String::from_utf8(body)
            .unwrap()
            .replacen(&id, &id.to_uppercase(), 1);
        let contents = read(&[(&key, respelt.into_bytes())]);
        assert_eq!(
            contents.found.lake[&sent[0].id()].digest,
            None,
            "read as altered"
        );
        assert!(problem(&contents).is_empty(), "its key still names it");
    }

    #[test]
    fn each_events_price_counts_once_however_often_the_lake_holds_it() {
        let all = events(400);
        let body = rows(&all);
        let once = read_watching(&[("a", body.clone())], Some(100));
        let mut twice_in_one = body.clone();
        twice_in_one.extend(&body);
        let copied = read_watching(
            &[("a", body.clone()), ("b", twice_in_one.clone())],
            Some(100),
        );
        let implied = |c: &LakeContents| c.prices.as_ref().unwrap().expected();
        assert!(implied(&once).iter().any(|e| e.record.alert));
        assert_eq!(once.prices, copied.prices);
        let repeated = read_watching(&[("b", twice_in_one.clone())], Some(100));
        assert_eq!(once.prices, repeated.prices);
        let half = rows(&all[..200]);
        let fewer = read_watching(&[("a", half)], Some(100));
        assert_ne!(implied(&once), implied(&fewer));
        assert!(read(&[("a", body)]).prices.is_none());
    }

    #[test]
    fn rows_in_their_partition_are_sighted_with_the_digest_of_what_was_sent() {
        let sent = events(20);
        let (a, b) = sent.split_at(12);
        let contents = read(&[
            (&key_of(HOUR_14, a), rows(a)),
            (&key_of(HOUR_14, b), rows(b)),
        ]);
        assert!(
            contents.found.row_problems.is_empty(),
            "{:?}",
            contents.found.row_problems
        );
        assert_eq!(contents.found.lake.len(), 20);
        for e in &sent {
            let s = contents.found.lake[&e.id()];
            assert_eq!((s.rows, s.digest), (1, Some(digest(&e.to_json()))));
        }
        let p = &contents.partitions[HOUR_14];
        assert_eq!((p.objects, p.events, p.duplicate_rows), (2, 20, 0));
        assert!(p.common_fields.contains("created_datetime"));
    }

    #[test]
    fn a_row_in_another_partition_or_with_wrong_enrichment_is_a_problem() {
        let sent = events(3);
        let mut body = rows(&sent);
        let text = String::from_utf8(body.clone()).unwrap();
        let first = text.lines().next().unwrap();
        let mut row: Map<String, Value> = serde_json::from_str(first).unwrap();
        row.insert("event_type".into(), "stock_price".into());
        body.extend(serde_json::to_vec(&row).unwrap());
        body.extend(b"\nnot json\n{\"no\":\"id\"}\n");
        let contents = read(&[("event_type=forex/dt=2026-11-23/hour=15/part-a.jsonl", body)]);
        let problems: Vec<(RowProblem, u64)> = contents
            .found
            .row_problems
            .iter()
            .map(|(k, n, _)| (*k, *n))
            .collect();
        assert_eq!(
            problems,
            [
                (RowProblem::Misplaced, 4),
                (RowProblem::Altered, 1),
                (RowProblem::Unreadable, 2)
            ]
        );
        let (_, _, misplaced) = &contents.found.row_problems[0];
        assert!(
            misplaced[0]
                .starts_with("s3://b/event_type=forex/dt=2026-11-23/hour=15/part-a.jsonl:1: event")
                && misplaced[0].ends_with(&format!("belongs in {HOUR_14}")),
            "{misplaced:?}"
        );
        let (_, _, altered) = &contents.found.row_problems[1];
        assert!(
            altered[0].contains(":4: event")
                && altered[0].contains("event_type is \"stock_price\", expected \"forex\""),
            "{altered:?}"
        );
        assert_eq!(contents.found.lake[&sent[0].id()].rows, 2);
        assert_eq!(
            contents.partitions["event_type=forex/dt=2026-11-23/hour=15"].duplicate_rows,
            1
        );
    }

    #[test]
    fn quarantine_rows_keep_their_id_and_the_digest_of_the_raw_record() {
        let id = Uuid::from_u128(5);
        let q = format!(
            "{}\n{}\n{}\n",
            serde_json::json!({"reason": "schema: x", "event_uuid": id, "message_id": "m", "raw": "bad record"}),
            serde_json::json!({"reason": "rule: y", "event_uuid": null, "message_id": "m", "raw": {"b64": "AAEC"}}),
            serde_json::json!({"reason": "schema: x", "event_uuid": id, "message_id": "m", "raw": "bad record"}),
        );
        let contents = read(&[(
            "quarantine/dt=2026-11-30/hour=03/part-q.jsonl",
            q.into_bytes(),
        )]);
        let rows = &contents.found.quarantine;
        assert_eq!(rows.len(), 3);
        assert_eq!(
            (rows[0].id, rows[0].digest),
            (Some(id), digest(b"bad record"))
        );
        assert_eq!((rows[1].id, rows[1].digest), (None, digest(&[0, 1, 2])));
        assert_eq!(contents.quarantine_reasons["schema"], 2);
        assert_eq!(
            contents.partitions["quarantine/dt=2026-11-30/hour=03"].duplicate_rows,
            1
        );
    }
}
