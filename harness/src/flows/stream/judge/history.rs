//! The stream run's history: where each event was seen, from the stages' taps and the lake.
//!
//! The producer reports what Kinesis accepted, the bridge what it sent to SQS and the
//! processor what it received ([`Tap`]); the judge adds what the lake and the DLQ hold, which
//! lake objects S3 announced, and what each sink reading the stream beside the bridge (raw
//! objects, Firehose) stored: a route that branches at Kinesis.
//! Events are kept by their position in the generator's order (their ids are the generator's
//! tag and the position), nine bytes per event and stage, so
//! only runs of generated events (the generator, and the web source's) have a history. When
//! the lake misses or repeats events, the verdict says for each where it was last seen.

use std::sync::Mutex;
use std::time::Instant;

use tickflow_pipeline::history::{Point, Tap};
use tickflow_pipeline::source::{event_id, position_of};
use uuid::Uuid;

use serde::Serialize;

use super::order::{Inversion, KeyOrder};
use super::reconcile::{Found, Ledger, Reconciliation, SentName};
use crate::flows::stream::faults::Fate;
use crate::flows::stream::progress::Sample;
use crate::verdict::history::{wall_clock, History, Position, Stage, StageId, Summary, Times};
use crate::verdict::{Digest, Failure};

/// Accepted by Kinesis.
pub const KINESIS: StageId = 0;
/// Sent to SQS by the bridge.
pub const SQS: StageId = 1;
/// Received from SQS by the processor.
pub const PROCESSOR: StageId = 2;
/// Written to the lake.
pub const LAKE: StageId = 3;
/// In a lake object whose creation S3 announced.
pub const ANNOUNCED: StageId = 4;
/// Dead-lettered (a clean event riding in a message with a poison one).
pub const DLQ: StageId = 5;
/// Stored by the raw consumer, which reads the stream beside the bridge.
pub const RAW: StageId = 6;
/// Stored by Firehose, from the Firehose consumer, which reads the stream beside the bridge.
pub const FIREHOSE: StageId = 7;
/// The path of an event that must end in the lake.
const TO_THE_LAKE: &[StageId] = &[KINESIS, SQS, PROCESSOR, LAKE, ANNOUNCED];
/// The path of a clean event the DLQ holds (its message carried a poison event).
const TO_THE_DLQ: &[StageId] = &[KINESIS, SQS, PROCESSOR, DLQ];
/// The path to the raw sink.
const TO_RAW: &[StageId] = &[KINESIS, RAW];
/// The path to the Firehose sink.
const TO_FIREHOSE: &[StageId] = &[KINESIS, FIREHOSE];
/// Stages past the lake's reconciliation: a loss there fails a check of its own (the
/// announcements', a sink's), which the history explains.
const BEYOND_THE_LAKE: &[StageId] = &[ANNOUNCED, RAW, FIREHOSE];

/// The stream flow's stages, as its history names them.
fn stages() -> Vec<Stage> {
    vec![
        Stage {
            name: "Kinesis",
            seen: "accepted from the producer",
            times: Times::AtLeastOnce,
        },
        Stage {
            name: "SQS",
            seen: "sent by the bridge",
            times: Times::AtLeastOnce,
        },
        Stage {
            name: "the processor",
            seen: "received",
            times: Times::AtLeastOnce,
        },
        Stage {
            name: "the lake",
            seen: "written",
            times: Times::ExactlyOnce,
        },
        Stage {
            name: "an announced object",
            seen: "announced by S3",
            times: Times::AtLeastOnce,
        },
        Stage {
            name: "the DLQ",
            seen: "dead-lettered",
            times: Times::AtLeastOnce,
        },
        Stage {
            name: "the raw sink",
            seen: "stored",
            times: Times::AtLeastOnce,
        },
        Stage {
            name: "the Firehose sink",
            seen: "stored",
            times: Times::AtLeastOnce,
        },
    ]
}

/// The route an event must take, an index into [`Recorder::paths`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Route {
    /// Through the processor into the lake, its object announced.
    Lake,
    /// Through the processor into the DLQ.
    Dlq,
    /// Not judged.
    None,
}

/// What a run's history shows: the distinct events each stage saw, the anomalies with the
/// first of each, and the events through each stage over the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HistoryReport {
    /// The stages, the anomalies and their first examples.
    #[serde(flatten)]
    pub summary: Summary,
    /// Events first sent to SQS before an event of their partition key fed earlier (what
    /// `[expect] ordered` holds to 0); `None` in a consume-only run, whose stream another
    /// producer filled in an order tickflow does not know.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_of_order: Option<u64>,
    /// The first of them, a line each with the pair.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub out_of_order_examples: Vec<String>,
    /// Distinct events into Kinesis, SQS and the lake by each second (the report's chart:
    /// `timeline` in the JSON).
    #[serde(skip)]
    pub through: Vec<Sample>,
}

/// What the stages' taps report to, during a run of generated events.
#[derive(Debug)]
pub struct Recorder {
    tag: [u8; 8],
    /// Whether the run's producer puts the events (a consume-only run reads a stream someone
    /// else filled: its history starts at SQS).
    producing: bool,
    started: Instant,
    started_epoch_ms: i64,
    /// When the recorder started, ms after the run did (the report's clock).
    offset_ms: u64,
    history: Mutex<History>,
    /// Each event's partition key and the order events were first sent to SQS.
    order: Mutex<KeyOrder>,
    /// The paths to the sinks reading the stream beside the bridge that the run has.
    sinks: Vec<&'static [StageId]>,
}

impl Tap for Recorder {
    fn saw(&self, point: Point, ids: &[Uuid]) {
        let stage = match point {
            Point::Accepted => KINESIS,
            Point::SentToSqs => SQS,
            Point::Received => PROCESSOR,
        };
        let at = self.ms_since_start();
        let positions: Vec<Option<Position>> = ids.iter().map(|id| self.position(*id)).collect();
        if stage == SQS {
            let mut order = self.order.lock().unwrap_or_else(|e| e.into_inner());
            order.sent(positions.iter().flatten().copied());
        }
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        for (&id, position) in ids.iter().zip(positions) {
            match position {
                Some(p) => history.saw(stage, p, at),
                None => history.saw_unknown(stage, id, at),
            }
        }
    }
}

impl Recorder {
    /// A recorder of the events a generator of ids `tag` makes, from now, in a run that
    /// started at `run_started`; `producing` when the run's own producer puts them into
    /// Kinesis.
    pub fn new(tag: [u8; 8], producing: bool, run_started: Instant) -> Self {
        Self {
            tag,
            producing,
            offset_ms: run_started.elapsed().as_millis() as u64,
            started: Instant::now(),
            started_epoch_ms: chrono::Utc::now().timestamp_millis(),
            history: Mutex::new(History::new(stages())),
            order: Mutex::new(KeyOrder::default()),
            sinks: Vec::new(),
        }
    }

    /// The same, in a run whose raw consumer (`raw`) and Firehose consumer (`firehose`) read
    /// the stream beside the bridge: every event must reach their sinks too.
    pub fn with_sinks(mut self, raw: bool, firehose: bool) -> Self {
        self.sinks = [(raw, TO_RAW), (firehose, TO_FIREHOSE)]
            .into_iter()
            .filter_map(|(has, path)| has.then_some(path))
            .collect();
        self
    }

    /// What a sink reading the stream (`RAW` or `FIREHOSE`) holds, by each line's digest: each
    /// event of the `ledger` seen there as often as its record is.
    pub fn stored(
        &self,
        sink: StageId,
        lines: &std::collections::HashMap<Digest, u32>,
        ledger: &Ledger,
    ) {
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        for (digest, _, name) in ledger.records() {
            let (SentName::Event(id), Some(&times)) = (name, lines.get(&digest)) else {
                continue;
            };
            if let Some(p) = self.position(*id) {
                for _ in 0..times.min(255) {
                    history.saw(sink, p, 0);
                }
            }
        }
    }

    /// Event `id` was fed with partition key `key` (the producer's order is the positions').
    pub fn fed(&self, id: Uuid, key: &str) {
        if let Some(p) = self.position(id) {
            let mut order = self.order.lock().unwrap_or_else(|e| e.into_inner());
            order.fed(p, key);
        }
    }

    fn ms_since_start(&self) -> u32 {
        u32::try_from(self.started.elapsed().as_millis()).unwrap_or(u32::MAX)
    }

    fn position(&self, id: Uuid) -> Option<Position> {
        position_of(self.tag, id).and_then(|p| Position::try_from(p).ok())
    }

    /// The run's history judged, once the stages stopped and the sinks reading the stream were
    /// [`stored`](Self::stored): the lake's and the DLQ's sightings (from what the judge
    /// `found`, each lake object announced at `announced_at`, epoch ms by object) join the
    /// taps', every event the `ledger` sent is walked along its route, and the report says how
    /// many distinct events each stage saw, the anomalies, and the events through Kinesis, SQS
    /// and the lake over the run. The failure says where each event the reconciliation, the
    /// announcements or a sink missed (or the lake found twice) was last seen (`None` when
    /// none did: the history explains a failure, it never makes one of its own).
    pub fn judge(
        &self,
        ledger: &Ledger,
        found: &Found,
        announced_at: &[Option<i64>],
        reconciliation: &Reconciliation,
    ) -> (HistoryReport, Option<Failure>) {
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        self.add_lake(&mut history, found, announced_at);
        let routes = self.routes(&mut history, ledger, found);
        let paths = self.paths();
        let anomalies = history.check(routes.len(), |p| &paths[routes[p as usize] as usize]);
        let beyond_the_lake: u64 = BEYOND_THE_LAKE.iter().map(|&s| anomalies.lost_at(s)).sum();
        let explained = (reconciliation.missing + reconciliation.duplicated > 0
            || beyond_the_lake > 0)
            && anomalies.lost + anomalies.duplicated > 0;
        let on_a_path: Vec<StageId> = paths
            .iter()
            .flatten()
            .flat_map(|path| path.iter().copied())
            .collect();
        // A consume-only run's stream was filled by another producer: its order is unknown.
        let inversions = self.producing.then(|| {
            self.order
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .inversions()
        });
        let report = HistoryReport {
            summary: history.summary(
                &anomalies,
                |s| on_a_path.contains(&s),
                |p| event_id(self.tag, u64::from(p)),
                |ms| self.clock(ms),
            ),
            out_of_order: inversions.as_ref().map(|i| i.count),
            out_of_order_examples: inversions
                .iter()
                .flat_map(|i| &i.examples)
                .map(|i| self.inversion_line(i))
                .collect(),
            through: self.through(&history),
        };
        let failure = explained.then(|| self.failure(&report.summary));
        (report, failure)
    }

    /// The routes an event may take: to the lake ([`Route::Lake`]) or to the DLQ, each with the
    /// paths to the sinks reading the stream, or none; from the first stage the history sees.
    fn paths(&self) -> [Vec<&'static [StageId]>; 3] {
        let from = self.first_stage();
        let with_sinks = |main: &'static [StageId]| {
            std::iter::once(&main[from..])
                .chain(self.sinks.iter().map(|path| &path[from..]))
                .collect()
        };
        [with_sinks(TO_THE_LAKE), with_sinks(TO_THE_DLQ), Vec::new()]
    }

    /// The route each position the `ledger` sent must take (an index into [`Self::paths`]), by
    /// its fate and where `found` has it; sightings the history does not judge are forgotten.
    fn routes(&self, history: &mut History, ledger: &Ledger, found: &Found) -> Vec<Route> {
        let dead_lettered: std::collections::HashSet<Position> =
            history.positions_seen(DLQ).collect();
        // Positions the ledger holds (a web source may skip some: events taken by a refused
        // request are never sent).
        let events = ledger
            .ids()
            .filter_map(|id| self.position(*id))
            .max()
            .map_or(0, |p| p as usize + 1);
        let mut routes = Vec::with_capacity(events);
        for p in 0..events as Position {
            let id = event_id(self.tag, u64::from(p));
            let route = match ledger.get(&id) {
                Some(sent)
                    if sent.fate == Fate::Clean
                        && dead_lettered.contains(&p)
                        && !found.lake.contains_key(&id) =>
                {
                    Route::Dlq
                }
                Some(sent) if sent.fate == Fate::Clean => {
                    // A copy that rode with a poison event may be dead-lettered while another
                    // reached the lake: the reconciliation judges that, not the route.
                    history.forget_at(DLQ, p);
                    Route::Lake
                }
                Some(sent) if sent.fate == Fate::Poison => Route::Dlq,
                // A malformed record's id may or may not be read on its way: not judged.
                Some(_) => {
                    history.forget(p);
                    Route::None
                }
                None => Route::None,
            };
            routes.push(route);
        }
        routes
    }

    /// The first stage the history sees: Kinesis, or SQS in a consume-only run (another
    /// producer filled the stream).
    fn first_stage(&self) -> StageId {
        match self.producing {
            true => KINESIS,
            false => SQS,
        }
    }

    /// `AMZN: <id> sent to SQS after <id>, which was fed after it`.
    fn inversion_line(&self, inversion: &Inversion) -> String {
        format!(
            "{}: {} sent to SQS after {}, which was fed after it",
            inversion.key,
            event_id(self.tag, u64::from(inversion.earlier)),
            event_id(self.tag, u64::from(inversion.later)),
        )
    }

    /// The lake's rows (each as often as it is there, when its row was processed), the
    /// announcements of their objects (`announced_at`, epoch ms by object) and the DLQ's
    /// records, as sightings.
    fn add_lake(&self, history: &mut History, found: &Found, announced_at: &[Option<i64>]) {
        let since_start =
            |ms: i64| u32::try_from((ms - self.started_epoch_ms).max(0)).unwrap_or(u32::MAX);
        for (id, sighting) in &found.lake {
            let Some(p) = self.position(*id) else {
                continue;
            };
            let at = sighting.processed_ms.map_or(0, |ms| since_start(ms.get()));
            for _ in 0..sighting.rows.min(255) {
                history.saw(LAKE, p, at);
            }
            if let Some(Some(ms)) = announced_at.get(sighting.first.object as usize) {
                history.saw(ANNOUNCED, p, since_start(*ms));
            }
        }
        for letter in &found.dead_letters {
            for id in letter.records.iter().filter_map(|(id, _)| *id) {
                if let Some(p) = self.position(id) {
                    history.saw(DLQ, p, 0);
                }
            }
        }
    }

    /// Distinct events into Kinesis, SQS and the lake by each second of the run (each counted
    /// when it was first seen there), the report's chart.
    fn through(&self, history: &History) -> Vec<Sample> {
        let times = |stage| {
            let mut times = history.first_seen_at(stage);
            times.sort_unstable();
            times
        };
        let (kinesis, sqs, lake) = (times(KINESIS), times(SQS), times(LAKE));
        let end = [&kinesis, &sqs, &lake]
            .iter()
            .filter_map(|t| t.last().copied())
            .max()
            .unwrap_or(0);
        let by = |times: &[u32], ms: u32| times.partition_point(|&t| t <= ms) as u64;
        (1..=end.div_ceil(1_000).max(1))
            .map(|second| {
                let ms = (second * 1_000).min(end);
                Sample {
                    at_ms: u64::from(ms) + self.offset_ms,
                    kinesis: by(&kinesis, ms),
                    sqs: by(&sqs, ms),
                    s3: by(&lake, ms),
                }
            })
            .collect()
    }

    fn failure(&self, summary: &Summary) -> Failure {
        Failure {
            examples: summary.examples.clone(),
            ..Failure::new("history", self.expected(), summary.counts())
        }
    }

    /// What the history holds every event to, in words.
    fn expected(&self) -> String {
        let mut expected = match self.producing {
            true => "every event accepted by Kinesis, sent to SQS by the bridge",
            false => "every event sent to SQS by the bridge",
        }
        .to_string();
        expected.push_str(
            ", received by the processor and written to the lake once, in an announced object",
        );
        for path in &self.sinks {
            let stage = path[path.len() - 1];
            expected.push_str(&format!(", stored by {}", stages()[stage].name));
        }
        expected
    }

    /// `ms` after the start, as a UTC time of day with milliseconds.
    fn clock(&self, ms: u32) -> String {
        wall_clock(self.started_epoch_ms, ms)
    }
}
