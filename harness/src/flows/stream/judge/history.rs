//! The stream run's history: where each event was seen, from the stages' taps and the lake.
//!
//! The producer reports what Kinesis accepted, the bridge what it sent to SQS and the
//! processor what it received ([`Tap`]); the judge adds what the lake and the DLQ hold. Events are kept by their position in the generator's order
//! (their ids are the generator's tag and the position), five bytes per event and stage, so
//! only runs of generated events (the generator, and the web source's) have a history. When
//! the lake misses or repeats events, the verdict says for each where it was last seen.

use std::sync::Mutex;
use std::time::Instant;

use tickflow_pipeline::history::{Point, Tap};
use tickflow_pipeline::source::{event_id, position_of};
use uuid::Uuid;

use super::reconcile::{Found, Ledger, Reconciliation};
use crate::flows::stream::faults::Fate;
use crate::verdict::history::{Anomalies, History, Position, Stage, StageId, Times};
use crate::verdict::Failure;

/// Accepted by Kinesis.
pub const KINESIS: StageId = 0;
/// Sent to SQS by the bridge.
pub const SQS: StageId = 1;
/// Received from SQS by the processor.
pub const PROCESSOR: StageId = 2;
/// Written to the lake.
pub const LAKE: StageId = 3;
/// Dead-lettered (a clean event riding in a message with a poison one).
pub const DLQ: StageId = 4;
/// The route of an event that must end in the lake.
const TO_THE_LAKE: &[StageId] = &[KINESIS, SQS, PROCESSOR, LAKE];
/// The route of a clean event the DLQ holds (its message carried a poison event).
const TO_THE_DLQ: &[StageId] = &[KINESIS, SQS, PROCESSOR, DLQ];

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
            name: "the DLQ",
            seen: "dead-lettered",
            times: Times::AtLeastOnce,
        },
    ]
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
    history: Mutex<History>,
}

impl Tap for Recorder {
    fn saw(&self, point: Point, ids: &[Uuid]) {
        let stage = match point {
            Point::Accepted => KINESIS,
            Point::SentToSqs => SQS,
            Point::Received => PROCESSOR,
        };
        let at = self.ms_since_start();
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        for &id in ids {
            match self.position(id) {
                Some(p) => history.saw(stage, p, at),
                None => history.saw_unknown(stage, id, at),
            }
        }
    }
}

impl Recorder {
    /// A recorder of the events a generator of ids `tag` makes, from now; `producing` when the
    /// run's own producer puts them into Kinesis.
    pub fn new(tag: [u8; 8], producing: bool) -> Self {
        Self {
            tag,
            producing,
            started: Instant::now(),
            started_epoch_ms: chrono::Utc::now().timestamp_millis(),
            history: Mutex::new(History::new(stages())),
        }
    }

    fn ms_since_start(&self) -> u32 {
        u32::try_from(self.started.elapsed().as_millis()).unwrap_or(u32::MAX)
    }

    fn position(&self, id: Uuid) -> Option<Position> {
        position_of(self.tag, id).and_then(|p| Position::try_from(p).ok())
    }

    /// Where each event the reconciliation of the run the `ledger` sent with what the lake
    /// `found` holds missed or found twice was last seen, as a failure (`None` when the
    /// reconciliation missed nothing and found nothing twice: the history explains a failure,
    /// it never makes one of its own).
    pub fn explain(
        &self,
        ledger: &Ledger,
        found: &Found,
        reconciliation: &Reconciliation,
    ) -> Option<Failure> {
        if reconciliation.missing + reconciliation.duplicated == 0 {
            return None;
        }
        let mut history = self
            .history
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for (id, sighting) in &found.lake {
            let Some(p) = self.position(*id) else {
                continue;
            };
            let at = sighting.processed_ms.map_or(0, |ms| {
                u32::try_from((ms.get() - self.started_epoch_ms).max(0)).unwrap_or(u32::MAX)
            });
            for _ in 0..sighting.rows.min(255) {
                history.saw(LAKE, p, at);
            }
        }
        // Positions the ledger holds (a web source may skip some: events taken by a refused
        // request are never sent).
        let mut dead_lettered = std::collections::HashSet::new();
        for letter in &found.dead_letters {
            for id in letter.records.iter().filter_map(|(id, _)| *id) {
                if let Some(p) = self.position(id) {
                    history.saw(DLQ, p, 0);
                    dead_lettered.insert(p);
                }
            }
        }
        let events = ledger
            .ids()
            .filter_map(|id| self.position(*id))
            .max()
            .map_or(0, |p| p as usize + 1);
        let from = usize::from(!self.producing);
        let route = |p: Position| match ledger.get(&event_id(self.tag, u64::from(p))) {
            Some(sent) if sent.fate == Fate::Clean && dead_lettered.contains(&p) => {
                &TO_THE_DLQ[from..]
            }
            Some(sent) if sent.fate == Fate::Clean => &TO_THE_LAKE[from..],
            _ => &[],
        };
        let found = history.check(events, route);
        if found.lost + found.duplicated == 0 {
            return None;
        }
        Some(self.failure(&history, &found))
    }

    fn failure(&self, history: &History, found: &Anomalies) -> Failure {
        let lines = history.render(
            found,
            |p| event_id(self.tag, u64::from(p)),
            |ms| self.clock(ms),
        );
        Failure {
            examples: lines,
            ..Failure::new(
                "history",
                match self.producing {
                    true => "every event accepted by Kinesis, sent to SQS by the bridge, received by the processor and written to the lake once",
                    false => "every event sent to SQS by the bridge, received by the processor and written to the lake once",
                },
                format!(
                    "lost {}, duplicated {}, from nowhere {}",
                    found.lost, found.duplicated, found.from_nowhere
                ),
            )
        }
    }

    /// `ms` after the start, as a UTC time of day with milliseconds.
    fn clock(&self, ms: u32) -> String {
        let at = self.started_epoch_ms + i64::from(ms);
        chrono::DateTime::from_timestamp_millis(at).map_or_else(
            || format!("+{ms} ms"),
            |t| t.format("%H:%M:%S%.3f").to_string(),
        )
    }
}
