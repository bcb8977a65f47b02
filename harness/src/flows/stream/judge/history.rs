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
use super::read_back::ReadBack;
use super::reconcile::{Found, Ledger, Reconciliation, SentName};
use crate::flows::stream::faults::Fate;
use crate::flows::stream::progress::Sample;
use crate::verdict::history::{Clock, History, Position, Stage, StageId, Summary, Times};
use crate::verdict::{Digest, Failure};

/// Accepted by Kinesis.
pub const KINESIS: StageId = 0;
/// Read back from the stream on the judge's own iterators (only when the bridge did not send
/// on every event Kinesis accepted: [`Recorder::unsent`]).
pub const STREAM: StageId = 1;
/// Sent to SQS by the bridge.
pub const SQS: StageId = 2;
/// Received from SQS by the processor.
pub const PROCESSOR: StageId = 3;
/// Written to the lake.
pub const LAKE: StageId = 4;
/// In a lake object whose creation S3 announced.
pub const ANNOUNCED: StageId = 5;
/// Dead-lettered (a clean event riding in a message with a poison one).
pub const DLQ: StageId = 6;
/// Stored by the raw consumer, which reads the stream beside the bridge.
pub const RAW: StageId = 7;
/// Stored by Firehose, from the Firehose consumer, which reads the stream beside the bridge.
pub const FIREHOSE: StageId = 8;
/// The path of an event that must end in the lake.
const TO_THE_LAKE: &[StageId] = &[KINESIS, STREAM, SQS, PROCESSOR, LAKE, ANNOUNCED];
/// The path of a clean event the DLQ holds (its message carried a poison event).
const TO_THE_DLQ: &[StageId] = &[KINESIS, STREAM, SQS, PROCESSOR, DLQ];
/// The path to the raw sink.
const TO_RAW: &[StageId] = &[KINESIS, STREAM, RAW];
/// The path to the Firehose sink.
const TO_FIREHOSE: &[StageId] = &[KINESIS, STREAM, FIREHOSE];
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
            name: "the stream",
            seen: "read back, arrived",
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
    /// How the stream was read back on the judge's own iterators (only when the bridge did not
    /// send on every event Kinesis accepted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_back: Option<ReadBack>,
}

/// What the stages' taps report to, during a run of generated events.
#[derive(Debug)]
pub struct Recorder {
    tag: [u8; 8],
    /// Whether the run's producer puts the events (a consume-only run reads a stream someone
    /// else filled: its history starts at SQS).
    producing: bool,
    clock: Clock,
    /// When the recorder started, ms after the run did (the report's clock).
    offset_ms: u64,
    history: Mutex<History>,
    /// Each event's partition key and the order events were first sent to SQS.
    order: Mutex<KeyOrder>,
    /// The paths to the sinks reading the stream beside the bridge that the run has.
    sinks: Vec<&'static [StageId]>,
    /// The stream read back whole, when it was ([`STREAM`] is on the routes then).
    read_back: Mutex<Option<ReadBack>>,
}

impl Tap for Recorder {
    fn saw(&self, point: Point, ids: &[Uuid]) {
        let stage = match point {
            Point::Accepted => KINESIS,
            Point::SentToSqs => SQS,
            Point::Received => PROCESSOR,
        };
        let at = self.clock.now_ms();
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
            clock: Clock::start(),
            history: Mutex::new(History::new(stages())),
            order: Mutex::new(KeyOrder::default()),
            sinks: Vec::new(),
            read_back: Mutex::new(None),
        }
    }

    /// Events Kinesis accepted that the bridge never sent to SQS: reading the stream back
    /// tells whether Kinesis held them (none in a consume-only run, whose history starts at
    /// SQS).
    pub fn unsent(&self) -> u64 {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        history.seen_but_not(KINESIS, SQS)
    }

    /// Events `ids` read back from the stream, each with when it arrived there (epoch ms).
    pub fn in_stream(&self, ids: impl IntoIterator<Item = (Uuid, i64)>) {
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        for (id, arrived_ms) in ids {
            let at = self.clock.since_start(arrived_ms);
            match self.position(id) {
                Some(p) => history.saw(STREAM, p, at),
                None => history.saw_unknown(STREAM, id, at),
            }
        }
    }

    /// How the stream was read back: when `read.complete`, its sightings are judged.
    pub fn stream_read(&self, read: ReadBack) {
        *self.read_back.lock().unwrap_or_else(|e| e.into_inner()) = Some(read);
    }

    /// Whether the stream was read back to its end.
    fn streamed(&self) -> bool {
        let read = self.read_back.lock().unwrap_or_else(|e| e.into_inner());
        read.as_ref().is_some_and(|r| r.complete)
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
        if !self.streamed() {
            // Read back in part: not judged.
            history.forget_stage(STREAM);
        }
        self.add_lake(&mut history, found, announced_at);
        let routes = self.routes(&mut history, ledger, found);
        let paths = self.paths();
        let slices: Vec<Vec<&[StageId]>> = paths
            .iter()
            .map(|route| route.iter().map(Vec::as_slice).collect())
            .collect();
        let anomalies = history.check(routes.len(), |p| &slices[routes[p as usize] as usize]);
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
                |ms| self.clock.wall(ms),
            ),
            out_of_order: inversions.as_ref().map(|i| i.count),
            out_of_order_examples: inversions
                .iter()
                .flat_map(|i| &i.examples)
                .map(|i| self.inversion_line(i))
                .collect(),
            through: self.through(&history),
            read_back: self
                .read_back
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        };
        let failure = explained.then(|| self.failure(&report.summary));
        (report, failure)
    }

    /// The routes an event may take: to the lake ([`Route::Lake`]) or to the DLQ, each with the
    /// paths to the sinks reading the stream, or none; of the stages the history sees (Kinesis
    /// when the run's producer put the events, the stream when it was read back).
    fn paths(&self) -> [Vec<Vec<StageId>>; 3] {
        let streamed = self.streamed();
        let seen = |s: &&StageId| match **s {
            KINESIS => self.producing,
            STREAM => streamed,
            _ => true,
        };
        let path = |p: &[StageId]| p.iter().filter(seen).copied().collect::<Vec<_>>();
        let with_sinks = |main: &[StageId]| {
            std::iter::once(path(main))
                .chain(self.sinks.iter().map(|p| path(p)))
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
        for (id, sighting) in &found.lake {
            let Some(p) = self.position(*id) else {
                continue;
            };
            let at = sighting
                .processed_ms
                .map_or(0, |ms| self.clock.since_start(ms.get()));
            for _ in 0..sighting.rows.min(255) {
                history.saw(LAKE, p, at);
            }
            if let Some(Some(ms)) = announced_at.get(sighting.first.object as usize) {
                history.saw(ANNOUNCED, p, self.clock.since_start(*ms));
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
        let mut expected = match (self.producing, self.streamed()) {
            (true, true) => {
                "every event accepted by Kinesis, in the stream, sent to SQS by the bridge"
            }
            (true, false) => "every event accepted by Kinesis, sent to SQS by the bridge",
            (false, _) => "every event sent to SQS by the bridge",
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
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tickflow_pipeline::history::Tap;

    use super::*;
    use crate::flows::stream::judge::reconcile::{Place, Sighting};

    const TAG: [u8; 8] = *b"history1";

    /// Three events: the first through to the lake, the second left in the stream by the
    /// bridge, the third accepted by Kinesis and never in the stream.
    fn judged(read: ReadBack) -> HistoryReport {
        let ids: Vec<Uuid> = (0..3).map(|p| event_id(TAG, p)).collect();
        let mut ledger = Ledger::new();
        for id in &ids {
            ledger.record(*id, Fate::Clean, id.as_bytes(), 1, Duration::ZERO);
        }
        let recorder = Recorder::new(TAG, true, Instant::now());
        recorder.saw(Point::Accepted, &ids);
        recorder.saw(Point::SentToSqs, &ids[..1]);
        recorder.saw(Point::Received, &ids[..1]);
        assert_eq!(recorder.unsent(), 2);
        let now = chrono::Utc::now().timestamp_millis();
        recorder.in_stream([(ids[0], now), (ids[1], now)]);
        recorder.stream_read(read);
        let mut found = Found::default();
        found.lake.insert(
            ids[0],
            Sighting {
                rows: 1,
                digest: None,
                first: Place { object: 0, line: 0 },
                processed_ms: std::num::NonZeroI64::new(now),
            },
        );
        let reconciliation = Reconciliation::of(&ledger, &found);
        let (report, failure) = recorder.judge(&ledger, &found, &[Some(now)], &reconciliation);
        assert!(failure.is_some(), "the lake misses two: explained");
        report
    }

    #[test]
    fn the_stream_read_back_tells_a_record_the_bridge_left_from_one_kinesis_lost() {
        let report = judged(ReadBack {
            complete: true,
            ..ReadBack::default()
        });
        let lines = &report.summary.examples;
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].contains(": last seen in the stream (read back, arrived at ")
                && lines[0].ends_with("), never in SQS"),
            "{lines:?}"
        );
        assert!(
            lines[1].contains(": last seen in Kinesis (accepted from the producer at ")
                && lines[1].ends_with("), never in the stream"),
            "{lines:?}"
        );
        let stages: Vec<&str> = report
            .summary
            .stages
            .iter()
            .map(|s| s.stage.as_str())
            .collect();
        assert_eq!(stages[..3], ["Kinesis", "the stream", "SQS"]);
    }

    #[test]
    fn a_read_back_that_did_not_reach_the_end_is_not_judged() {
        let report = judged(ReadBack::default());
        let lines = &report.summary.examples;
        assert!(
            lines
                .iter()
                .all(|l| l.ends_with("), never in SQS") && l.contains("last seen in Kinesis")),
            "{lines:?}"
        );
        assert!(report
            .summary
            .stages
            .iter()
            .all(|s| s.stage != "the stream"));
    }
}
