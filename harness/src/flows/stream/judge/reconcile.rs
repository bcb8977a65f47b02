//! Every record sent, accounted for: the ledger and the reconciliation.
//!
//! Reconciliation: every record sent, accounted for where its fate says it must be, unchanged,
//! and nothing else.
//!
//! The [`Ledger`] keeps, per event sent, its fate, how many copies went out, when it was due and
//! a 64-bit digest of the exact bytes sent (not the event: a million entries stay small). Records
//! without an event id (replayed rows that are not events) are kept by the digest of their
//! bytes. [`Found`] is what the read-back saw; [`Reconciliation::of`] compares the two.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use serde::Serialize;
use uuid::Uuid;

use crate::flows::stream::faults::Fate;
use crate::verdict::{digest, Digest};
use tickflow_pipeline::envelope;

/// One event sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// Where it must end.
    pub fate: Fate,
    /// Copies the producer sent (a duplicate fault sends two).
    pub copies: u16,
    /// When it was due, milliseconds after the ledger started (an open-model load stamps the
    /// scheduled time, so a backed-up pipeline cannot hide its own latency).
    pub due_ms: u32,
    /// [`digest`] of the record sent.
    pub digest: Digest,
}

/// A record sent without an event id (a replayed row that is not an event): expected in the
/// quarantine, found there by its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSent {
    /// Copies sent.
    pub copies: u32,
    /// Where the first copy came from, `file:line`.
    pub origin: String,
}

/// What a record sent is, for an example: its event's id, or the replayed row's origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentName<'a> {
    /// An event.
    Event(&'a Uuid),
    /// A replayed row that is not an event, by `file:line`.
    Row(&'a str),
}

impl std::fmt::Display for SentName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SentName::Event(id) => write!(f, "{id}"),
            SentName::Row(origin) => write!(f, "{origin}"),
        }
    }
}

/// What was sent.
#[derive(Debug)]
pub struct Ledger {
    started: Instant,
    /// Wall clock (epoch ms) at `started`, to compare with S3 write times.
    started_epoch_ms: i64,
    events: HashMap<Uuid, Sent>,
    raw: HashMap<Digest, RawSent>,
}

impl Ledger {
    /// An empty ledger starting now.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty ledger starting now, with room for `events` events (growing a million-entry
    /// table holds the old and the new one at once).
    pub fn with_capacity(events: usize) -> Self {
        Self {
            started: Instant::now(),
            started_epoch_ms: chrono::Utc::now().timestamp_millis(),
            events: HashMap::with_capacity(events),
            raw: HashMap::new(),
        }
    }

    /// The id of every event sent.
    pub fn ids(&self) -> impl Iterator<Item = &Uuid> {
        self.events.keys()
    }

    /// Every record sent, as a sink that stores records whole holds it: its digest, the copies
    /// sent, and what it is (an event, or a replayed row that is not one).
    pub fn records(&self) -> impl Iterator<Item = (Digest, u32, SentName<'_>)> {
        let events = self
            .events
            .iter()
            .map(|(id, sent)| (sent.digest, u32::from(sent.copies), SentName::Event(id)));
        let rows = self
            .raw
            .iter()
            .map(|(digest, raw)| (*digest, raw.copies, SentName::Row(raw.origin.as_str())));
        events.chain(rows)
    }

    /// Makes every event due at the epoch: for a lake judged after the fact, whose events were
    /// due at some unknown earlier time, so that a row's `processed_at` is held only to the
    /// judge's start (and to being a time).
    pub fn backdate(&mut self) {
        self.started_epoch_ms = 0;
    }

    /// Wall clock (epoch ms) when the ledger started: when the run's stages started.
    pub fn started_epoch_ms(&self) -> i64 {
        self.started_epoch_ms
    }

    /// When the ledger started: what due times count from.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Time since the ledger started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Records `copies` copies of the event `id`, sent as `record` with `fate`, due `due` after
    /// the ledger started. The same id recorded again adds copies (a replay source may hold an
    /// event twice; the pipeline must still keep one).
    pub fn record(&mut self, id: Uuid, fate: Fate, record: &[u8], copies: u16, due: Duration) {
        let due_ms = due.as_millis().min(u128::from(u32::MAX)) as u32;
        self.events
            .entry(id)
            .and_modify(|s| s.copies = s.copies.saturating_add(copies))
            .or_insert(Sent {
                fate,
                copies,
                due_ms,
                digest: digest(record),
            });
    }

    /// Records a record that is not an event, read from `origin`.
    pub fn record_raw(&mut self, record: &[u8], origin: &str) {
        self.raw
            .entry(digest(record))
            .and_modify(|r| r.copies += 1)
            .or_insert_with(|| RawSent {
                copies: 1,
                origin: origin.to_string(),
            });
    }

    /// Events recorded (distinct ids).
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Records without an id (distinct contents).
    pub fn raw_len(&self) -> usize {
        self.raw.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.raw.is_empty()
    }

    /// How many events had `fate`.
    pub fn count(&self, fate: Fate) -> usize {
        self.events.values().filter(|s| s.fate == fate).count()
    }

    /// What was recorded for `id`.
    pub fn get(&self, id: &Uuid) -> Option<&Sent> {
        self.events.get(id)
    }

    /// Wall-clock time (epoch ms) at which `id` was due.
    pub fn due_at_ms(&self, id: &Uuid) -> Option<i64> {
        self.events.get(id).map(|s| self.wall_ms(s))
    }

    /// Wall-clock time (epoch ms) at which `sent` was due.
    fn wall_ms(&self, sent: &Sent) -> i64 {
        self.started_epoch_ms + i64::from(sent.due_ms)
    }
}

impl Default for Ledger {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a row was read: an index into [`Found::objects`] and a 1-based line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Place {
    /// Index of the object.
    pub object: u32,
    /// Line in it.
    pub line: u32,
}

/// An event id's rows in the lake's data partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sighting {
    /// Rows carrying the id.
    pub rows: u32,
    /// [`digest`] of the first row's event in its sent form; `None` when that row is not an
    /// event once its enrichment is taken off.
    pub digest: Option<Digest>,
    /// Where the first row is.
    pub first: Place,
    /// The first row's `processed_at` (epoch ms), when it reads as a time (never 0: the
    /// niche keeps a sighting at 32 bytes, a million of them in the judge's table).
    pub processed_ms: Option<std::num::NonZeroI64>,
}

/// One quarantine row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineRow {
    /// The event id the row names, if any.
    pub id: Option<Uuid>,
    /// [`digest`] of the raw record it holds.
    pub digest: Digest,
    /// Where it is.
    pub place: Place,
}

/// One dead-lettered message and its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// SQS message id.
    pub message_id: String,
    /// Each record's event id (if it has one) and [`digest`].
    pub records: Vec<(Option<Uuid>, Digest)>,
}

/// A row-level problem the reader found on its own (without the ledger).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowProblem {
    /// A row in a partition other than the one its own kind and `created_at` give.
    Misplaced,
    /// A row whose enrichment does not match its event.
    Altered,
    /// A row that is not JSON, or names no event id.
    Unreadable,
}

/// Where records were found after the run.
#[derive(Debug, Default)]
pub struct Found {
    /// `s3://bucket/key` of every object read, indexed by [`Place::object`].
    pub objects: Vec<String>,
    /// Event id -> its rows in the lake's data partitions.
    pub lake: HashMap<Uuid, Sighting>,
    /// Quarantine rows.
    pub quarantine: Vec<QuarantineRow>,
    /// Dead-lettered messages.
    pub dead_letters: Vec<DeadLetter>,
    /// Problems of single rows: (what, count, up to [`EXAMPLES`] descriptions).
    pub row_problems: Vec<(RowProblem, u64, Vec<String>)>,
    /// When the read-back started (epoch ms): no row can have been processed later. Zero
    /// leaves that bound out.
    pub read_at_ms: i64,
}

/// Descriptions kept per kind of problem.
pub const EXAMPLES: usize = 5;

impl Found {
    /// `s3://bucket/key:line` of a place.
    pub fn at(&self, place: Place) -> String {
        let object = self
            .objects
            .get(place.object as usize)
            .map_or("?", String::as_str);
        format!("{object}:{}", place.line)
    }

    /// Counts a row problem, keeping the first few descriptions.
    pub fn row_problem(&mut self, kind: RowProblem, description: impl FnOnce() -> String) {
        let entry = match self.row_problems.iter_mut().find(|(k, ..)| *k == kind) {
            Some(entry) => entry,
            None => {
                self.row_problems.push((kind, 0, Vec::new()));
                self.row_problems.last_mut().expect("just pushed")
            }
        };
        entry.1 += 1;
        if entry.2.len() < EXAMPLES {
            entry.2.push(description());
        }
    }
}

/// The reconciliation's verdict. Every record sent counts once, in the first place it is found:
/// the lake, then the quarantine, then the DLQ; so `found + quarantined + dead_lettered +
/// missing = events`. The other counts are problems: any of them above 0 fails the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    /// Records sent: events (distinct ids) and replayed rows that are not events.
    pub events: u64,
    /// Sent events found in the lake.
    pub found: u64,
    /// Sent records found nowhere (lake, quarantine, DLQ).
    pub missing: u64,
    /// Extra lake rows of events already in the lake, and quarantine rows of a record already
    /// quarantined (the processor claims a quarantined record by its bytes: once, whatever the
    /// copies sent).
    pub duplicated: u64,
    /// Sent records in the quarantine (and not in the lake).
    pub quarantined: u64,
    /// Sent records only in dead-lettered messages.
    pub dead_lettered: u64,
    /// Records found somewhere their fate rules out (a clean event quarantined; a malformed or
    /// poison event in the lake; a poison event quarantined), DLQ messages without a poison
    /// event, and rows in a partition other than their own.
    pub misplaced: u64,
    /// Rows and dead-lettered records whose content differs from what was sent, or whose
    /// enrichment is wrong for their event.
    pub altered: u64,
    /// Rows and records of events never sent, and rows that name no event.
    pub unknown: u64,
    /// What is wrong and where: a few examples of each problem, by its name (`missing`, ...).
    pub examples: BTreeMap<&'static str, Vec<String>>,
}

impl Reconciliation {
    /// Compares the ledger with what was found.
    pub fn of(ledger: &Ledger, found: &Found) -> Self {
        let mut judge = Tally {
            r: Reconciliation {
                events: (ledger.events.len() + ledger.raw.len()) as u64,
                ..Default::default()
            },
        };
        let quarantine = quarantine_by_id(ledger, found);
        let dead = DeadLetters::of(ledger, found, &mut judge);
        for (id, sent) in &ledger.events {
            let seen = Seen {
                lake: found.lake.get(id),
                quarantine: quarantine.get(id),
                dlq: dead.by_id.contains(id),
            };
            judge.event(id, sent, ledger.wall_ms(sent), &seen, found);
        }
        judge.raw_records(ledger, found, &dead);
        for (id, sighting) in &found.lake {
            if !ledger.events.contains_key(id) {
                judge.r.unknown += u64::from(sighting.rows);
                judge.example("unknown", || {
                    format!("{}: event {id} was never sent", found.at(sighting.first))
                });
            }
        }
        for row in &found.quarantine {
            let known = row.id.is_some_and(|id| ledger.events.contains_key(&id))
                || ledger.raw.contains_key(&row.digest);
            if !known {
                judge.r.unknown += 1;
                judge.example("unknown", || {
                    format!(
                        "{}: a quarantined record that was never sent",
                        found.at(row.place)
                    )
                });
            }
        }
        for (kind, count, examples) in &found.row_problems {
            let (field, name) = match kind {
                RowProblem::Misplaced => (&mut judge.r.misplaced, "misplaced"),
                RowProblem::Altered => (&mut judge.r.altered, "altered"),
                RowProblem::Unreadable => (&mut judge.r.unknown, "unknown"),
            };
            *field += count;
            for e in examples {
                judge.example(name, || e.clone());
            }
        }
        judge.r
    }

    /// The invariant of every run: every record sent is where its fate says, once, unchanged,
    /// and nothing else is there.
    pub fn holds(&self) -> bool {
        self.problems().iter().all(|(_, n)| *n == 0)
    }

    /// The problem counts by name, in the order the summary line prints them.
    pub fn problems(&self) -> [(&'static str, u64); 5] {
        [
            ("missing", self.missing),
            ("duplicated", self.duplicated),
            ("misplaced", self.misplaced),
            ("altered", self.altered),
            ("unknown", self.unknown),
        ]
    }
}

/// Quarantine rows per event id: how many, where the first is, and the first whose bytes are
/// not the record sent (every row is compared, not only the first).
fn quarantine_by_id(ledger: &Ledger, found: &Found) -> HashMap<Uuid, QuarantineSighting> {
    let mut by_id: HashMap<Uuid, QuarantineSighting> = HashMap::new();
    for row in &found.quarantine {
        let Some(id) = row.id else { continue };
        let differs = ledger
            .events
            .get(&id)
            .is_some_and(|sent| sent.digest != row.digest);
        let seen = by_id.entry(id).or_insert(QuarantineSighting {
            rows: 0,
            first: row.place,
            altered: None,
        });
        seen.rows += 1;
        if differs && seen.altered.is_none() {
            seen.altered = Some(row.place);
        }
    }
    by_id
}

/// An event id's rows in the quarantine.
#[derive(Debug, Clone, Copy)]
struct QuarantineSighting {
    rows: u32,
    first: Place,
    /// The first row that does not hold the record sent.
    altered: Option<Place>,
}

/// Where one event was seen: its lake rows, its quarantine rows, and whether it was
/// dead-lettered.
struct Seen<'a> {
    lake: Option<&'a Sighting>,
    quarantine: Option<&'a QuarantineSighting>,
    dlq: bool,
}

impl Seen<'_> {
    /// Where the event is although its fate rules that out. Clean events belong in the lake,
    /// malformed ones in the quarantine, poison ones in the DLQ. (A DLQ message without a
    /// poison event is misplaced as a whole: [`DeadLetters::of`].)
    fn wrong_place(&self, fate: Fate) -> Option<Place> {
        let (lake, quarantine) = (self.lake.map(|l| l.first), self.quarantine.map(|q| q.first));
        match fate {
            Fate::Clean => quarantine,
            Fate::Malformed => lake,
            Fate::Poison => lake.or(quarantine),
        }
    }

    /// The lake row whose `processed_at` lies outside [due, read-back start] (with a second of
    /// slack below for the clocks' granularity), and that time.
    fn processed_out_of_time(&self, due_at_ms: i64, read_at_ms: i64) -> Option<(Place, i64)> {
        const SLACK_MS: i64 = 1_000;
        let lake = self.lake?;
        let at = lake.processed_ms?.get();
        let late = read_at_ms > 0 && at > read_at_ms;
        (at < due_at_ms - SLACK_MS || late).then_some((lake.first, at))
    }

    /// The place of a row that does not hold what was sent: the lake row of a clean or poison
    /// event, any quarantine row of a malformed one.
    fn altered(&self, sent: &Sent) -> Option<Place> {
        match sent.fate {
            Fate::Clean | Fate::Poison => self
                .lake
                .filter(|r| r.digest != Some(sent.digest))
                .map(|r| r.first),
            Fate::Malformed => self.quarantine.and_then(|q| q.altered),
        }
    }
}

/// Dead-lettered records: the event ids and the digests of records without one. A DLQ takes
/// whole messages, so a poison event's neighbours may go with it; a message that carries no
/// poison event had no reason to be dead-lettered, and is misplaced whatever became of its
/// records elsewhere. A record whose bytes are not what was sent is altered.
struct DeadLetters {
    by_id: HashSet<Uuid>,
    by_digest: HashSet<Digest>,
}

impl DeadLetters {
    fn of(ledger: &Ledger, found: &Found, judge: &mut Tally) -> Self {
        let mut dead = DeadLetters {
            by_id: HashSet::new(),
            by_digest: HashSet::new(),
        };
        for message in &found.dead_letters {
            let poisoned = message.records.iter().any(|(id, _)| {
                id.and_then(|id| ledger.events.get(&id))
                    .is_some_and(|s| s.fate == Fate::Poison)
            });
            if !poisoned {
                judge.r.misplaced += 1;
                judge.example("misplaced", || {
                    format!(
                        "DLQ message {} carries no poison event: its {} records belong in the \
                         lake or the quarantine",
                        message.message_id,
                        message.records.len()
                    )
                });
            }
            for (i, (id, digest)) in message.records.iter().enumerate() {
                let record = || format!("DLQ message {} record {}", message.message_id, i + 1);
                match id.and_then(|id| Some((id, ledger.events.get(&id)?))) {
                    Some((id, sent)) => {
                        dead.by_id.insert(id);
                        if sent.digest != *digest {
                            judge.r.altered += 1;
                            judge.example("altered", || {
                                format!("{}: event {id} differs from the record sent", record())
                            });
                        }
                    }
                    None if ledger.raw.contains_key(digest) => {
                        dead.by_digest.insert(*digest);
                    }
                    None => {
                        judge.r.unknown += 1;
                        judge.example("unknown", || format!("{}: never sent", record()));
                    }
                }
            }
        }
        dead
    }
}

/// Counts and examples while reconciling.
struct Tally {
    r: Reconciliation,
}

impl Tally {
    fn example(&mut self, problem: &'static str, text: impl FnOnce() -> String) {
        let examples = self.r.examples.entry(problem).or_default();
        if examples.len() < EXAMPLES {
            examples.push(text());
        }
    }

    fn event(&mut self, id: &Uuid, sent: &Sent, due_at_ms: i64, seen: &Seen, found: &Found) {
        let fate = fate_name(sent.fate);
        if seen.lake.is_some() {
            self.r.found += 1;
        } else if seen.quarantine.is_some() {
            self.r.quarantined += 1;
        } else if seen.dlq {
            self.r.dead_lettered += 1;
        } else {
            self.r.missing += 1;
            self.example("missing", || {
                format!("event {id} ({fate}) is in neither the lake, the quarantine nor the DLQ")
            });
        }
        if let Some(l) = seen.lake.filter(|l| l.rows > 1) {
            self.r.duplicated += u64::from(l.rows - 1);
            self.example("duplicated", || {
                format!(
                    "event {id} has {} rows in the lake, the first at {}",
                    l.rows,
                    found.at(l.first)
                )
            });
        }
        // The processor claims a quarantined record by its bytes: copies sent are one row.
        if let Some(q) = seen.quarantine.filter(|q| q.rows > 1) {
            self.r.duplicated += u64::from(q.rows - 1);
            self.example("duplicated", || {
                format!(
                    "event {id} has {} quarantine rows ({} copies sent), the first at {}",
                    q.rows,
                    sent.copies,
                    found.at(q.first)
                )
            });
        }
        if let Some(place) = seen.wrong_place(sent.fate) {
            self.r.misplaced += 1;
            let at = found.at(place);
            let belongs = match sent.fate {
                Fate::Clean => "the lake",
                Fate::Malformed => "the quarantine",
                Fate::Poison => "the DLQ",
            };
            self.example("misplaced", || {
                format!("event {id} ({fate}) belongs in {belongs}, found at {at}")
            });
        }
        if let Some(place) = seen.altered(sent) {
            self.r.altered += 1;
            self.example("altered", || {
                format!(
                    "{}: event {id} differs from the record sent",
                    found.at(place)
                )
            });
        }
        if let Some((place, at)) = seen.processed_out_of_time(due_at_ms, found.read_at_ms) {
            self.r.altered += 1;
            self.example("altered", || {
                format!(
                    "{}: event {id}: processed_at {} is not between when it was due ({}) and \
                     when the judge started ({})",
                    found.at(place),
                    tickflow_pipeline::utc::iso8601(at),
                    tickflow_pipeline::utc::iso8601(due_at_ms),
                    tickflow_pipeline::utc::iso8601(found.read_at_ms)
                )
            });
        }
    }

    fn raw_records(&mut self, ledger: &Ledger, found: &Found, dead: &DeadLetters) {
        let mut quarantined: HashMap<Digest, u32> = HashMap::new();
        for row in &found.quarantine {
            *quarantined.entry(row.digest).or_default() += 1;
        }
        for (digest, sent) in &ledger.raw {
            let rows = quarantined.get(digest).copied().unwrap_or(0);
            if rows > 0 {
                self.r.quarantined += 1;
                // Claimed by its bytes: the same row sent twice is quarantined once.
                if rows > 1 {
                    self.r.duplicated += u64::from(rows - 1);
                    self.example("duplicated", || {
                        format!(
                            "{} is quarantined {rows} times (sent {})",
                            sent.origin, sent.copies
                        )
                    });
                }
            } else if dead.by_digest.contains(digest) {
                self.r.dead_lettered += 1;
            } else {
                self.r.missing += 1;
                self.example("missing", || {
                    format!("{} (not an event) is not in the quarantine", sent.origin)
                });
            }
        }
    }
}

fn fate_name(fate: Fate) -> &'static str {
    match fate {
        Fate::Clean => "clean",
        Fate::Malformed => "malformed",
        Fate::Poison => "poison",
    }
}

/// The records of dead-lettered messages: each one's event id (if it names one) and digest. A
/// body that is not an envelope is one record.
pub fn dead_letters(messages: &[(String, String)]) -> Vec<DeadLetter> {
    messages
        .iter()
        .map(|(message_id, body)| {
            let records = envelope::decode(body).unwrap_or_else(|_| vec![body.as_bytes().to_vec()]);
            DeadLetter {
                message_id: message_id.clone(),
                records: records
                    .iter()
                    .map(|record| (record_id(record), digest(record)))
                    .collect(),
            }
        })
        .collect()
}

fn record_id(record: &[u8]) -> Option<uuid::Uuid> {
    serde_json::from_slice::<serde_json::Value>(record)
        .ok()?
        .get("event_uuid")?
        .as_str()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letters_name_each_record_and_keep_unreadable_bodies_whole() {
        let id = uuid::Uuid::from_u128(9);
        let event = format!(r#"{{"event_uuid":"{id}","x":1}}"#);
        let body = tickflow_pipeline::envelope::join(&[
            tickflow_pipeline::envelope::encode_record(event.as_bytes()),
            tickflow_pipeline::envelope::encode_record(b"garbage"),
        ]);
        let letters = dead_letters(&[("m1".into(), body), ("m2".into(), "not an envelope".into())]);
        assert_eq!(
            letters[0].records,
            [
                (Some(id), digest(event.as_bytes())),
                (None, digest(b"garbage"))
            ]
        );
        assert_eq!(letters[1].records, [(None, digest(b"not an envelope"))]);
    }

    const NOW: Duration = Duration::ZERO;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn record(n: u128) -> Vec<u8> {
        format!("record {n}").into_bytes()
    }

    /// A ledger of `fates` (ids 1..) and what a perfect pipeline leaves behind for it.
    fn perfect(fates: &[Fate]) -> (Ledger, Found) {
        let mut ledger = Ledger::new();
        let mut found = Found {
            objects: vec!["s3://lake/a".into()],
            ..Found::default()
        };
        for (i, fate) in fates.iter().enumerate() {
            let n = i as u128 + 1;
            ledger.record(id(n), *fate, &record(n), 1, NOW);
            let place = Place {
                object: 0,
                line: n as u32,
            };
            match fate {
                Fate::Clean => {
                    found.lake.insert(
                        id(n),
                        Sighting {
                            rows: 1,
                            digest: Some(digest(&record(n))),
                            first: place,
                            processed_ms: None,
                        },
                    );
                }
                Fate::Malformed => found.quarantine.push(QuarantineRow {
                    id: Some(id(n)),
                    digest: digest(&record(n)),
                    place,
                }),
                Fate::Poison => found.dead_letters.push(DeadLetter {
                    message_id: format!("m{n}"),
                    records: vec![(Some(id(n)), digest(&record(n)))],
                }),
            }
        }
        (ledger, found)
    }

    const FATES: [Fate; 5] = [
        Fate::Clean,
        Fate::Clean,
        Fate::Malformed,
        Fate::Poison,
        Fate::Clean,
    ];

    fn check(found: &Found, ledger: &Ledger) -> Reconciliation {
        let r = Reconciliation::of(ledger, found);
        assert_eq!(
            r.found + r.quarantined + r.dead_lettered + r.missing,
            r.events,
            "each record counts once: {r:?}"
        );
        r
    }

    #[test]
    fn a_perfect_run_holds() {
        let (ledger, found) = perfect(&FATES);
        let r = check(&found, &ledger);
        assert!(r.holds(), "{r:?}");
        assert_eq!(
            (r.events, r.found, r.quarantined, r.dead_lettered),
            (5, 3, 1, 1)
        );
        assert!(r.examples.is_empty());
    }

    #[test]
    fn a_lost_event_is_missing() {
        let (ledger, mut found) = perfect(&FATES);
        found.lake.remove(&id(2));
        let r = check(&found, &ledger);
        assert_eq!(r.missing, 1);
        assert!(!r.holds());
        assert!(r.examples["missing"][0].starts_with(&format!("event {} (clean)", id(2))));
    }

    #[test]
    fn extra_rows_are_duplicates_in_the_lake_and_the_quarantine() {
        let (ledger, mut found) = perfect(&FATES);
        found.lake.get_mut(&id(1)).unwrap().rows = 3;
        let again = found.quarantine[0].clone();
        found.quarantine.push(again);
        let r = check(&found, &ledger);
        assert_eq!(r.duplicated, 3, "{r:?}");
    }

    #[test]
    fn each_fate_has_its_place() {
        // A clean event quarantined.
        let (ledger, mut found) = perfect(&FATES);
        found.quarantine.push(QuarantineRow {
            id: Some(id(1)),
            digest: digest(b"anything"),
            place: Place::default(),
        });
        assert_eq!(check(&found, &ledger).misplaced, 1);
        // A malformed event in the lake.
        let (ledger, mut found) = perfect(&FATES);
        found.quarantine.clear();
        found.lake.insert(
            id(3),
            Sighting {
                rows: 1,
                digest: Some(digest(&record(3))),
                first: Place::default(),
                processed_ms: None,
            },
        );
        assert_eq!(check(&found, &ledger).misplaced, 1);
        // A poison event in the lake instead of the DLQ.
        let (ledger, mut found) = perfect(&FATES);
        found.dead_letters.clear();
        found.lake.insert(
            id(4),
            Sighting {
                rows: 1,
                digest: Some(digest(&record(4))),
                first: Place::default(),
                processed_ms: None,
            },
        );
        let r = check(&found, &ledger);
        assert_eq!((r.misplaced, r.missing), (1, 0), "{r:?}");
    }

    #[test]
    fn clean_events_may_share_a_poisoned_message_but_not_an_innocent_one() {
        let (ledger, mut found) = perfect(&FATES);
        found.lake.remove(&id(5));
        found.dead_letters[0]
            .records
            .push((Some(id(5)), digest(&record(5))));
        let r = check(&found, &ledger);
        assert!(r.holds(), "a poison event's neighbour: {r:?}");
        assert_eq!(r.dead_lettered, 2);

        let (ledger, mut found) = perfect(&FATES);
        found.lake.remove(&id(5));
        found.dead_letters.push(DeadLetter {
            message_id: "innocent".into(),
            records: vec![(Some(id(5)), digest(&record(5)))],
        });
        let r = check(&found, &ledger);
        assert_eq!(r.misplaced, 1, "dead-lettered without poison: {r:?}");
        assert!(
            r.examples["misplaced"][0].contains("DLQ message innocent carries no poison event"),
            "{r:?}"
        );
        // Also when its events reached the lake as well: nothing excuses the message.
        let (ledger, mut found) = perfect(&FATES);
        found.dead_letters.push(DeadLetter {
            message_id: "innocent".into(),
            records: vec![(Some(id(5)), digest(&record(5)))],
        });
        let r = check(&found, &ledger);
        assert_eq!((r.misplaced, r.found), (1, 3), "{r:?}");
    }

    #[test]
    fn a_dead_lettered_record_is_compared_byte_for_byte() {
        let (ledger, mut found) = perfect(&FATES);
        found.dead_letters[0].records[0].1 = digest(b"not what was sent");
        let r = check(&found, &ledger);
        assert_eq!((r.altered, r.dead_lettered), (1, 1), "{r:?}");
        assert!(
            r.examples["altered"][0].starts_with("DLQ message m4 record 1"),
            "{r:?}"
        );
    }

    #[test]
    fn a_malformed_record_is_quarantined_once_with_its_exact_bytes() {
        // Sent twice, claimed by its bytes: one row, and a second is a duplicate.
        let mut ledger = Ledger::new();
        ledger.record(id(3), Fate::Malformed, &record(3), 2, NOW);
        let row = QuarantineRow {
            id: Some(id(3)),
            digest: digest(&record(3)),
            place: Place::default(),
        };
        let once = Found {
            quarantine: vec![row.clone()],
            ..Found::default()
        };
        assert!(check(&once, &ledger).holds());
        let twice = Found {
            quarantine: vec![row.clone(), row.clone()],
            ..Found::default()
        };
        assert_eq!(check(&twice, &ledger).duplicated, 1);
        // A second row with other bytes is caught although the first is right.
        let other = QuarantineRow {
            digest: digest(b"other bytes"),
            place: Place { object: 0, line: 2 },
            ..row.clone()
        };
        let r = check(
            &Found {
                objects: vec!["s3://lake/q".into()],
                quarantine: vec![row, other],
                ..Found::default()
            },
            &ledger,
        );
        assert_eq!((r.altered, r.duplicated), (1, 1), "{r:?}");
        assert!(
            r.examples["altered"][0].starts_with("s3://lake/q:2"),
            "{r:?}"
        );
    }

    #[test]
    fn altered_content_is_caught_in_the_lake_and_the_quarantine() {
        let (ledger, mut found) = perfect(&FATES);
        found.lake.get_mut(&id(2)).unwrap().digest = Some(digest(b"something else"));
        found.quarantine[0].digest = digest(b"other bytes");
        let r = check(&found, &ledger);
        assert_eq!(r.altered, 2, "{r:?}");
        let (ledger, mut found) = perfect(&FATES);
        found.lake.get_mut(&id(1)).unwrap().digest = None;
        assert_eq!(check(&found, &ledger).altered, 1);
    }

    #[test]
    fn a_processed_at_before_the_event_was_due_or_after_the_judge_began_is_altered() {
        let (ledger, found) = perfect(&FATES);
        let due = ledger.due_at_ms(&id(1)).unwrap();
        for (processed, read_at, altered) in [
            (due + 5, due + 10, 0),
            (due - 500, due + 10, 0), // a second of slack below
            (due - 60_000, due + 10, 1),
            (due + 20, due + 10, 1),
            (due + 20, 0, 0), // no read-back time: no upper bound
        ] {
            let mut found = Found {
                objects: found.objects.clone(),
                lake: found.lake.clone(),
                quarantine: found.quarantine.clone(),
                dead_letters: found.dead_letters.clone(),
                read_at_ms: read_at,
                ..Found::default()
            };
            found.lake.get_mut(&id(1)).unwrap().processed_ms = std::num::NonZeroI64::new(processed);
            let r = check(&found, &ledger);
            assert_eq!(r.altered, altered, "{processed} {read_at}: {r:?}");
            if altered > 0 {
                assert!(r.examples["altered"][0].contains("processed_at"), "{r:?}");
            }
        }
    }

    #[test]
    fn a_sighting_stays_small_for_a_million_of_them() {
        assert_eq!(std::mem::size_of::<Sighting>(), 32);
    }

    #[test]
    fn records_never_sent_are_unknown() {
        let (ledger, mut found) = perfect(&FATES);
        found.lake.insert(
            id(99),
            Sighting {
                rows: 2,
                digest: None,
                first: Place::default(),
                processed_ms: None,
            },
        );
        found.quarantine.push(QuarantineRow {
            id: None,
            digest: digest(b"never sent"),
            place: Place::default(),
        });
        found.dead_letters[0]
            .records
            .push((Some(id(98)), digest(b"never sent")));
        let r = check(&found, &ledger);
        assert_eq!(r.unknown, 4, "{r:?}");
        assert!(!r.holds());
    }

    #[test]
    fn rows_without_ids_are_reconciled_by_their_bytes() {
        let mut ledger = Ledger::new();
        ledger.record_raw(b"not,an,event", "f.csv:4");
        ledger.record_raw(b"also bad", "f.csv:5");
        let mut found = Found::default();
        found.quarantine.push(QuarantineRow {
            id: None,
            digest: digest(b"not,an,event"),
            place: Place::default(),
        });
        let r = check(&found, &ledger);
        assert_eq!((r.events, r.quarantined, r.missing), (2, 1, 1));
        assert_eq!(
            r.examples["missing"],
            ["f.csv:5 (not an event) is not in the quarantine"]
        );
    }

    #[test]
    fn row_problems_count_towards_the_verdict() {
        let (ledger, mut found) = perfect(&FATES);
        found.row_problem(RowProblem::Misplaced, || "row x belongs in y".into());
        found.row_problem(RowProblem::Altered, || "row x: created_datetime".into());
        found.row_problem(RowProblem::Unreadable, || "row x: not JSON".into());
        let r = check(&found, &ledger);
        assert_eq!((r.misplaced, r.altered, r.unknown), (1, 1, 1));
        assert_eq!(r.examples.len(), 3);
    }

    #[test]
    fn duplicate_ids_in_a_source_add_copies() {
        let mut ledger = Ledger::new();
        ledger.record(id(1), Fate::Clean, b"x", 1, NOW);
        ledger.record(id(1), Fate::Clean, b"x", 1, Duration::from_secs(1));
        assert_eq!(ledger.len(), 1);
        assert_eq!(ledger.get(&id(1)).unwrap().copies, 2);
    }
}
