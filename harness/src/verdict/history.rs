//! Every event's history through a flow's stages, and the anomalies it shows.
//!
//! Where each event was seen, stage by stage, kept compactly enough for millions of events: per
//! stage and event position, how many times (saturating at 255) and when first and last
//! (milliseconds after the run started), nine bytes; ids that were never sent apart. [`History::check`] walks
//! each event's route (the stages it must pass, in order, which its fate decides) and finds:
//! - **lost**: the first stage of the route it never reached, with the last stage before it
//!   where it was seen, and when;
//! - **duplicated**: a stage that must see each event once and saw it more often;
//! - **from nowhere**: a sighting nothing before it explains: at a stage whose predecessor on
//!   the route never saw the event, at a stage off its route, or of an id never sent.
//!
//! A report lists per anomaly kind the count and the first events, with their last sighting:
//! what a user looking for a lost event needs first.

use std::fmt::Display;

use serde::Serialize;
use uuid::Uuid;

/// Examples each anomaly kind keeps.
pub const EXAMPLES: usize = 5;

/// How often an event may pass a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Times {
    /// At least once: a stream or a queue delivers again after a retry or a crash.
    AtLeastOnce,
    /// Exactly once: a sink that must hold each event once.
    ExactlyOnce,
}

/// A stage of a flow, as the history names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage {
    /// Its name: `Kinesis`, `SQS`, `lake`.
    pub name: &'static str,
    /// What a sighting there is: `sent by the bridge`.
    pub seen: &'static str,
    /// How often an event may be seen there.
    pub times: Times,
}

/// A stage's index in its history.
pub type StageId = usize;

/// The stages an event must pass: one path, in order, per branch of the flow it takes (the
/// lake's and a sink's that reads the stream beside it); the stages the paths share are judged
/// once. No path: an event the history does not judge.
pub type Route<'r> = &'r [&'r [StageId]];

/// An event's position in what was sent (0-based): its index in the ledger's order.
pub type Position = u32;

/// Positions a history keeps (past them, a sighting is counted, not kept).
pub const MAX_POSITIONS: usize = 1 << 30;

/// Where each event was seen. It grows with the positions seen: how many events were sent is
/// known only once the run is over, and given to [`History::check`].
#[derive(Debug, Clone)]
pub struct History {
    stages: Vec<Stage>,
    /// Per stage, per position: sightings (saturating).
    counts: Vec<Vec<u8>>,
    /// Per stage, per position: the last sighting, ms after the start.
    last_ms: Vec<Vec<u32>>,
    /// Per stage, per position: the first sighting, ms after the start.
    first_ms: Vec<Vec<u32>>,
    /// Sightings of ids that were never sent.
    unknown: Vec<(StageId, Uuid, u32)>,
    /// Sightings of a stage it does not have or of a position past [`MAX_POSITIONS`].
    out_of_range: u64,
}

/// A history's clock: sightings are kept as milliseconds after it started, and shown as the
/// time of day they were.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    started: std::time::Instant,
    started_epoch_ms: i64,
}

impl Clock {
    /// A clock started now.
    pub fn start() -> Self {
        Self {
            started: std::time::Instant::now(),
            started_epoch_ms: chrono::Utc::now().timestamp_millis(),
        }
    }

    /// Now, ms after the start.
    pub fn now_ms(&self) -> u32 {
        u32::try_from(self.started.elapsed().as_millis()).unwrap_or(u32::MAX)
    }

    /// A wall-clock time (epoch ms, another clock's: S3's, Kinesis's), ms after the start (0
    /// before it).
    pub fn since_start(&self, epoch_ms: i64) -> u32 {
        u32::try_from((epoch_ms - self.started_epoch_ms).max(0)).unwrap_or(u32::MAX)
    }

    /// `ms` after the start, as a UTC time of day with milliseconds: how a history's lines
    /// show a sighting's time.
    pub fn wall(&self, ms: u32) -> String {
        let at = self.started_epoch_ms + i64::from(ms);
        chrono::DateTime::from_timestamp_millis(at).map_or_else(
            || format!("+{ms} ms"),
            |t| t.format("%H:%M:%S%.3f").to_string(),
        )
    }
}

/// How many distinct events a stage saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageSeen {
    /// The stage, as the history names it.
    pub stage: String,
    /// Distinct events seen there.
    pub events: u64,
}

/// A judged history as a report shows it: the distinct events each stage saw, how many of
/// each anomaly, and the first of each with where it was last seen.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Each stage the history judges, in the flow's order.
    pub stages: Vec<StageSeen>,
    /// Events a stage of their route never saw, nor any after it (an event lost on two
    /// branches of its route counts twice).
    pub lost: u64,
    /// Events a stage that must see each once saw more often.
    pub duplicated: u64,
    /// Sightings nothing before them explains.
    pub from_nowhere: u64,
    /// The first events of each kind, a line each, with where each was last seen.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
}

impl Summary {
    /// `lost 0, duplicated 0, from nowhere 0`.
    pub fn counts(&self) -> String {
        format!(
            "lost {}, duplicated {}, from nowhere {}",
            self.lost, self.duplicated, self.from_nowhere
        )
    }

    /// The report page's section under `heading` (`Every file's history`): a table of the
    /// stages and the counts (with the `extra` columns a flow adds), then the examples and the
    /// `extra_lines`, a line each.
    pub fn html(&self, heading: &str, extra: &[(&str, String)], extra_lines: &[String]) -> String {
        use crate::render::html::{escape, table};
        let mut html = format!("<h3>{}</h3>\n", escape(heading));
        let (mut header, mut row): (Vec<String>, Vec<String>) = self
            .stages
            .iter()
            .map(|s| (s.stage.clone(), s.events.to_string()))
            .unzip();
        let counts = [
            ("lost", self.lost.to_string()),
            ("duplicated", self.duplicated.to_string()),
            ("from nowhere", self.from_nowhere.to_string()),
        ];
        for (kind, n) in counts.into_iter().chain(extra.iter().cloned()) {
            header.push(kind.to_string());
            row.push(n);
        }
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        html.push_str(&table(&header, [row]));
        let lines: Vec<&String> = self.examples.iter().chain(extra_lines).collect();
        if !lines.is_empty() {
            html.push_str("<ul class=\"history\">\n");
            for line in lines {
                html.push_str(&format!("<li><code>{}</code></li>\n", escape(line)));
            }
            html.push_str("</ul>\n");
        }
        html
    }

    /// The text report's `history` lines after its label: the stages, the counts, then each
    /// example indented by two more, every line but the first indented by `indent`.
    pub fn text(&self, indent: usize) -> String {
        let pad = " ".repeat(indent);
        let mut text = format!("{}\n{pad}{}\n", self.stages_line(), self.counts());
        for line in &self.examples {
            text.push_str(&format!("{pad}  {line}\n"));
        }
        text
    }

    /// `Kinesis 10, SQS 10`: the distinct events each stage saw.
    pub fn stages_line(&self) -> String {
        let stages: Vec<String> = self
            .stages
            .iter()
            .map(|s| format!("{} {}", s.stage, s.events))
            .collect();
        stages.join(", ")
    }
}

/// One event lost: never seen at `missing_at`, nor after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lost {
    /// The event.
    pub position: Position,
    /// The first stage of its route that never saw it.
    pub missing_at: StageId,
    /// The last stage before it that did, and when (`None`: no stage ever saw it).
    pub last_seen: Option<(StageId, u32)>,
}

/// One event seen more often than a stage allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duplicated {
    /// The event.
    pub position: Position,
    /// Where.
    pub stage: StageId,
    /// How often (255: at least).
    pub times: u8,
}

/// A sighting nothing before it explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FromNowhere {
    /// Seen at `stage`, though `skipped`, before it on its route, never saw it.
    Skipped {
        /// The event.
        position: Position,
        /// Where it was seen.
        stage: StageId,
        /// The stage before it that never saw it.
        skipped: StageId,
    },
    /// Seen at `stage`, which its route does not pass.
    OffRoute {
        /// The event.
        position: Position,
        /// Where it was seen.
        stage: StageId,
    },
    /// An id never sent, seen at `stage`.
    NeverSent {
        /// The id.
        id: Uuid,
        /// Where it was seen.
        stage: StageId,
    },
    /// A position past the events sent, seen at `stage`.
    PastTheEnd {
        /// The position.
        position: Position,
        /// Where it was seen.
        stage: StageId,
    },
}

/// The anomalies of a history: per kind, how many and the first few.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Anomalies {
    /// Events lost (an event lost on two branches of its route twice).
    pub lost: u64,
    /// Of them, by the stage that never saw them.
    lost_by_stage: Vec<u64>,
    /// The first lost ones.
    pub lost_examples: Vec<Lost>,
    /// (event, stage) pairs seen too often.
    pub duplicated: u64,
    /// The first of them.
    pub duplicated_examples: Vec<Duplicated>,
    /// Sightings nothing explains.
    pub from_nowhere: u64,
    /// The first of them.
    pub from_nowhere_examples: Vec<FromNowhere>,
}

impl Anomalies {
    /// Whether the history is clean.
    pub fn is_empty(&self) -> bool {
        self.lost + self.duplicated + self.from_nowhere == 0
    }

    /// Events `stage` never saw, nor any stage after it on their way.
    pub fn lost_at(&self, stage: StageId) -> u64 {
        self.lost_by_stage.get(stage).copied().unwrap_or(0)
    }
}

fn keep<T>(examples: &mut Vec<T>, count: &mut u64, item: T) {
    *count += 1;
    if examples.len() < EXAMPLES {
        examples.push(item);
    }
}

impl History {
    /// An empty history through `stages`.
    pub fn new(stages: Vec<Stage>) -> Self {
        let n = stages.len();
        Self {
            stages,
            counts: vec![Vec::new(); n],
            last_ms: vec![Vec::new(); n],
            first_ms: vec![Vec::new(); n],
            unknown: Vec::new(),
            out_of_range: 0,
        }
    }

    /// The stages, in order.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// Event `position` seen at `stage`, `at_ms` after the start.
    pub fn saw(&mut self, stage: StageId, position: Position, at_ms: u32) {
        let p = position as usize;
        if stage >= self.stages.len() || p >= MAX_POSITIONS {
            self.out_of_range += 1;
            return;
        }
        if p >= self.counts[stage].len() {
            self.counts[stage].resize(p + 1, 0);
            self.last_ms[stage].resize(p + 1, 0);
            self.first_ms[stage].resize(p + 1, 0);
        }
        let count = &mut self.counts[stage][p];
        let first = &mut self.first_ms[stage][p];
        *first = if *count == 0 {
            at_ms
        } else {
            (*first).min(at_ms)
        };
        *count = count.saturating_add(1);
        let last = &mut self.last_ms[stage][p];
        *last = (*last).max(at_ms);
    }

    /// Forgets every sighting of `position`: an event the history does not judge (one sent
    /// malformed, whose id a stage may or may not read).
    pub fn forget(&mut self, position: Position) {
        for stage in 0..self.stages.len() {
            self.forget_at(stage, position);
        }
    }

    /// Forgets every sighting at `stage` (one the history does not judge after all).
    pub fn forget_stage(&mut self, stage: StageId) {
        if stage < self.stages.len() {
            self.counts[stage].clear();
            self.last_ms[stage].clear();
            self.first_ms[stage].clear();
        }
        self.unknown.retain(|(s, ..)| *s != stage);
    }

    /// Forgets the sightings of `position` at `stage`.
    pub fn forget_at(&mut self, stage: StageId, position: Position) {
        if let Some(count) = self
            .counts
            .get_mut(stage)
            .and_then(|c| c.get_mut(position as usize))
        {
            *count = 0;
        }
    }

    /// The positions `stage` saw.
    pub fn positions_seen(&self, stage: StageId) -> impl Iterator<Item = Position> + '_ {
        self.counts
            .get(stage)
            .into_iter()
            .flat_map(|c| c.iter().enumerate())
            .filter(|(_, &n)| n > 0)
            .map(|(p, _)| p as Position)
    }

    /// When each event `stage` saw was first seen there, ms after the start, in position order:
    /// what a chart of the events through each stage counts.
    pub fn first_seen_at(&self, stage: StageId) -> Vec<u32> {
        let (Some(counts), Some(times)) = (self.counts.get(stage), self.first_ms.get(stage)) else {
            return Vec::new();
        };
        counts
            .iter()
            .zip(times)
            .filter(|(&n, _)| n > 0)
            .map(|(_, &at)| at)
            .collect()
    }

    /// An id that was never sent, seen at `stage`.
    pub fn saw_unknown(&mut self, stage: StageId, id: Uuid, at_ms: u32) {
        self.unknown.push((stage, id, at_ms));
    }

    /// Sightings of a stage it does not have, or past [`MAX_POSITIONS`].
    pub fn out_of_range(&self) -> u64 {
        self.out_of_range
    }

    /// The history as a report shows it, `found` its anomalies: the stages `shown` keeps, each
    /// event named by `id_of` and each time by `clock` (as [`Self::render`]).
    pub fn summary<D: Display>(
        &self,
        found: &Anomalies,
        shown: impl Fn(StageId) -> bool,
        id_of: impl Fn(Position) -> D,
        clock: impl Fn(u32) -> String,
    ) -> Summary {
        Summary {
            stages: (0..self.stages.len())
                .filter(|&s| shown(s))
                .map(|s| StageSeen {
                    stage: self.stages[s].name.to_string(),
                    events: self.reached(s),
                })
                .collect(),
            lost: found.lost,
            duplicated: found.duplicated,
            from_nowhere: found.from_nowhere,
            examples: self.render(found, id_of, clock),
        }
    }

    /// How many distinct events `seen` saw that `not` never did.
    pub fn seen_but_not(&self, seen: StageId, not: StageId) -> u64 {
        let Some(counts) = self.counts.get(seen) else {
            return 0;
        };
        counts
            .iter()
            .enumerate()
            .filter(|&(p, &n)| n > 0 && self.count(not, p) == 0)
            .count() as u64
    }

    /// How many distinct events `stage` saw.
    pub fn reached(&self, stage: StageId) -> u64 {
        self.counts
            .get(stage)
            .map_or(0, |c| c.iter().filter(|&&n| n > 0).count() as u64)
    }

    /// Sightings of `position` at `stage`.
    fn count(&self, stage: StageId, p: usize) -> u8 {
        self.counts
            .get(stage)
            .and_then(|c| c.get(p))
            .copied()
            .unwrap_or(0)
    }

    /// The anomalies of the `events` events sent (positions `0..events`), each held to
    /// `route(position)`: the paths it must take, each stage of a path in order.
    pub fn check<'r>(&self, events: usize, route: impl Fn(Position) -> Route<'r>) -> Anomalies {
        let mut found = Anomalies::default();
        for p in 0..events.min(MAX_POSITIONS) {
            let position = p as Position;
            self.check_event(position, route(position), &mut found);
        }
        for (stage, counts) in self.counts.iter().enumerate() {
            for (p, _) in counts
                .iter()
                .enumerate()
                .skip(events)
                .filter(|(_, &n)| n > 0)
            {
                let item = FromNowhere::PastTheEnd {
                    position: p as Position,
                    stage,
                };
                keep(
                    &mut found.from_nowhere_examples,
                    &mut found.from_nowhere,
                    item,
                );
            }
        }
        for &(stage, id, _) in &self.unknown {
            let item = FromNowhere::NeverSent { id, stage };
            keep(
                &mut found.from_nowhere_examples,
                &mut found.from_nowhere,
                item,
            );
        }
        found
    }

    fn check_event(&self, position: Position, route: Route<'_>, found: &mut Anomalies) {
        let p = position as usize;
        let count = |s: StageId| self.count(s, p);
        // Stages judged already (bits): a gap two paths share is one anomaly.
        let (mut gaps, mut on_route) = (0u64, 0u64);
        for path in route {
            on_route |= path.iter().fold(0, |bits, &s| bits | 1u64 << s);
            if let Some(k) = path.iter().position(|&s| count(s) == 0) {
                if gaps & 1 << path[k] == 0 {
                    gaps |= 1 << path[k];
                    self.gap(position, route, path, k, found);
                }
            }
        }
        for stage in (0..self.stages.len()).filter(|&s| on_route & 1 << s != 0) {
            let times = count(stage);
            if self.stages[stage].times == Times::ExactlyOnce && times > 1 {
                let item = Duplicated {
                    position,
                    stage,
                    times,
                };
                keep(&mut found.duplicated_examples, &mut found.duplicated, item);
            }
        }
        for stage in (0..self.stages.len()).filter(|&s| on_route & 1 << s == 0 && count(s) > 0) {
            let item = FromNowhere::OffRoute { position, stage };
            keep(
                &mut found.from_nowhere_examples,
                &mut found.from_nowhere,
                item,
            );
        }
    }

    /// Event `position` never seen at `path[k]`, nor before it on `path`: lost there, or from
    /// nowhere where a later stage of a path of its `route` through it saw the event.
    fn gap(
        &self,
        position: Position,
        route: Route<'_>,
        path: &[StageId],
        k: usize,
        found: &mut Anomalies,
    ) {
        let p = position as usize;
        let count = |s: StageId| self.count(s, p);
        let later = route.iter().find_map(|other| {
            let at = other.iter().position(|&s| s == path[k])?;
            other[at..].iter().copied().find(|&s| count(s) > 0)
        });
        match later {
            // Seen further on: not lost, but something skipped the stage.
            Some(stage) => {
                let item = FromNowhere::Skipped {
                    position,
                    stage,
                    skipped: path[k],
                };
                keep(
                    &mut found.from_nowhere_examples,
                    &mut found.from_nowhere,
                    item,
                );
            }
            None => {
                let last_seen = k
                    .checked_sub(1)
                    .map(|before| (path[before], self.last_ms[path[before]][p]));
                let item = Lost {
                    position,
                    missing_at: path[k],
                    last_seen,
                };
                if found.lost_by_stage.len() <= path[k] {
                    found.lost_by_stage.resize(path[k] + 1, 0);
                }
                found.lost_by_stage[path[k]] += 1;
                keep(&mut found.lost_examples, &mut found.lost, item);
            }
        }
    }

    /// The anomalies' examples, a line each, every event named by `id_of` and every time shown
    /// by `clock` (ms after the start to a wall time), e.g. `lost 1f0c...: last seen in SQS
    /// (sent by the bridge at 14:32:07.113), never in the lake`.
    pub fn render<D: Display>(
        &self,
        found: &Anomalies,
        id_of: impl Fn(Position) -> D,
        clock: impl Fn(u32) -> String,
    ) -> Vec<String> {
        let name = |s: StageId| self.stages[s].name;
        let mut lines = Vec::new();
        for l in &found.lost_examples {
            let seen = match l.last_seen {
                Some((s, at)) => format!(
                    "last seen in {} ({} at {})",
                    name(s),
                    self.stages[s].seen,
                    clock(at)
                ),
                None => "never seen".to_string(),
            };
            lines.push(format!(
                "lost {}: {seen}, never in {}",
                id_of(l.position),
                name(l.missing_at)
            ));
        }
        for d in &found.duplicated_examples {
            lines.push(format!(
                "duplicated {}: {} times in {}",
                id_of(d.position),
                d.times,
                name(d.stage)
            ));
        }
        for f in &found.from_nowhere_examples {
            lines.push(match *f {
                FromNowhere::Skipped {
                    position,
                    stage,
                    skipped,
                } => format!(
                    "from nowhere {}: in {} though never in {}",
                    id_of(position),
                    name(stage),
                    name(skipped)
                ),
                FromNowhere::OffRoute { position, stage } => format!(
                    "from nowhere {}: in {}, off its route",
                    id_of(position),
                    name(stage)
                ),
                FromNowhere::NeverSent { id, stage } => {
                    format!("from nowhere {id}: in {}, never sent", name(stage))
                }
                FromNowhere::PastTheEnd { position, stage } => format!(
                    "from nowhere {}: in {}, never sent",
                    id_of(position),
                    name(stage)
                ),
            });
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{HashMap, HashSet};

    const KINESIS: StageId = 0;
    const SQS: StageId = 1;
    const LAKE: StageId = 2;
    const DLQ: StageId = 3;
    /// A sink that reads the stream beside the bridge.
    const RAW: StageId = 4;
    const TO_THE_LAKE: &[StageId] = &[KINESIS, SQS, LAKE];
    const TO_THE_DLQ: &[StageId] = &[KINESIS, SQS, DLQ];
    const TO_RAW: &[StageId] = &[KINESIS, RAW];
    const CLEAN: Route<'static> = &[TO_THE_LAKE];
    const DEAD: Route<'static> = &[TO_THE_DLQ];
    const BRANCHED: Route<'static> = &[TO_THE_LAKE, TO_RAW];

    #[test]
    fn each_stage_keeps_when_it_first_and_last_saw_an_event() {
        let mut h = History::new(stages());
        h.saw(SQS, 1, 300);
        h.saw(SQS, 1, 100);
        h.saw(SQS, 1, 200);
        h.saw(SQS, 3, 50);
        assert_eq!(h.first_seen_at(SQS), [100, 50], "positions 1 and 3");
        assert_eq!(h.positions_seen(SQS).collect::<Vec<_>>(), [1, 3]);
        let found = h.check(4, |_| &[&[SQS]]);
        assert_eq!(found.lost, 2, "positions 0 and 2");
        let mut gone = h.clone();
        gone.forget(1);
        assert_eq!(gone.first_seen_at(SQS), [50]);
        assert!(h.first_seen_at(LAKE).is_empty());
    }

    fn stages() -> Vec<Stage> {
        let stage = |name, seen, times| Stage { name, seen, times };
        vec![
            stage("Kinesis", "put by the producer", Times::AtLeastOnce),
            stage("SQS", "sent by the bridge", Times::AtLeastOnce),
            stage("lake", "written", Times::ExactlyOnce),
            stage("DLQ", "dead-lettered", Times::ExactlyOnce),
            stage("raw", "stored", Times::AtLeastOnce),
        ]
    }

    /// `events` events, each seen once at every stage of `route`.
    fn clean(events: usize, route: &[StageId]) -> History {
        let mut h = History::new(stages());
        for p in 0..events as Position {
            for (i, &s) in route.iter().enumerate() {
                h.saw(s, p, 10 * p + i as u32);
            }
        }
        h
    }

    #[test]
    fn a_clean_history_has_no_anomaly() {
        assert!(clean(100, TO_THE_LAKE).check(100, |_| CLEAN).is_empty());
        // Seen twice where at least once is enough: still clean.
        let mut h = clean(10, TO_THE_LAKE);
        h.saw(SQS, 3, 99);
        assert!(h.check(10, |_| CLEAN).is_empty());
    }

    #[test]
    fn a_loss_at_each_stage_names_the_last_stage_that_saw_it() {
        for (k, &missing) in TO_THE_LAKE.iter().enumerate() {
            let mut h = History::new(stages());
            for p in 0..3 {
                for &s in TO_THE_LAKE {
                    if !(p == 1 && TO_THE_LAKE[k..].contains(&s)) {
                        h.saw(s, p, 1_000 + s as u32);
                    }
                }
            }
            let found = h.check(3, |_| CLEAN);
            let last_seen = k
                .checked_sub(1)
                .map(|b| (TO_THE_LAKE[b], 1_000 + TO_THE_LAKE[b] as u32));
            assert_eq!(
                found.lost_examples,
                [Lost {
                    position: 1,
                    missing_at: missing,
                    last_seen
                }]
            );
            assert_eq!(
                (found.lost, found.duplicated, found.from_nowhere),
                (1, 0, 0)
            );
        }
    }

    #[test]
    fn a_duplicate_where_once_is_required_and_a_sighting_from_nowhere_fail() {
        let mut h = clean(5, TO_THE_LAKE);
        h.saw(LAKE, 2, 50);
        let found = h.check(5, |_| CLEAN);
        assert_eq!(
            found.duplicated_examples,
            [Duplicated {
                position: 2,
                stage: LAKE,
                times: 2
            }]
        );
        // In the lake without ever being in SQS: a tap missed it, or something made it up.
        let mut h = History::new(stages());
        h.saw(KINESIS, 0, 1);
        h.saw(LAKE, 0, 2);
        assert_eq!(
            h.check(1, |_| CLEAN).from_nowhere_examples,
            [FromNowhere::Skipped {
                position: 0,
                stage: LAKE,
                skipped: SQS
            }]
        );
        // Dead-lettered as well as written: off its route.
        let mut h = clean(1, TO_THE_LAKE);
        h.saw(DLQ, 0, 9);
        assert_eq!(
            h.check(1, |_| CLEAN).from_nowhere_examples,
            [FromNowhere::OffRoute {
                position: 0,
                stage: DLQ
            }]
        );
        let mut h = clean(1, TO_THE_DLQ);
        let stranger = Uuid::from_u128(7);
        h.saw_unknown(LAKE, stranger, 3);
        let found = h.check(1, |_| DEAD);
        assert_eq!(
            found.from_nowhere_examples,
            [FromNowhere::NeverSent {
                id: stranger,
                stage: LAKE
            }]
        );
    }

    #[test]
    fn the_report_says_where_a_lost_event_was_last_seen_and_when() {
        let mut h = clean(2, TO_THE_LAKE);
        let mut lost = History::new(stages());
        lost.saw(KINESIS, 0, 5);
        lost.saw(SQS, 0, 7_113);
        let found = lost.check(1, |_| CLEAN);
        let lines = lost.render(
            &found,
            |p| Uuid::from_u128(u128::from(p) + 1),
            |ms| format!("+{ms} ms"),
        );
        assert_eq!(
            lines,
            ["lost 00000000-0000-0000-0000-000000000001: last seen in SQS (sent by the bridge at +7113 ms), never in lake"]
        );
        h.saw(LAKE, 1, 9);
        let found = h.check(2, |_| CLEAN);
        let lines = h.render(
            &found,
            |p| Uuid::from_u128(u128::from(p)),
            |ms| ms.to_string(),
        );
        assert_eq!(
            lines,
            ["duplicated 00000000-0000-0000-0000-000000000001: 2 times in lake"]
        );
    }

    #[test]
    fn a_position_past_the_events_sent_is_from_nowhere_and_a_stage_it_lacks_is_counted() {
        let mut h = clean(2, TO_THE_LAKE);
        h.saw(LAKE, 2, 0);
        h.saw(9, 0, 0);
        assert_eq!(h.out_of_range(), 1);
        assert_eq!(h.reached(LAKE), 3);
        assert_eq!(
            h.check(2, |_| CLEAN).from_nowhere_examples,
            [FromNowhere::PastTheEnd {
                position: 2,
                stage: LAKE
            }]
        );
    }

    #[test]
    fn a_branch_is_judged_on_its_own_and_a_shared_stage_once() {
        let mut h = clean(3, TO_THE_LAKE);
        h.saw(RAW, 0, 1);
        h.saw(RAW, 2, 1);
        // 1 reached the lake but not the raw sink: lost there, last seen in Kinesis.
        let found = h.check(3, |_| BRANCHED);
        assert_eq!(
            found.lost_examples,
            [Lost {
                position: 1,
                missing_at: RAW,
                last_seen: Some((KINESIS, 10))
            }]
        );
        // Never in Kinesis, on either branch: one loss, not two.
        let h = History::new(stages());
        let found = h.check(1, |_| BRANCHED);
        assert_eq!((found.lost, found.from_nowhere), (1, 0));
        assert_eq!(found.lost_examples[0].missing_at, KINESIS);
        // In the raw sink though Kinesis never accepted it: from nowhere, not lost.
        let mut h = History::new(stages());
        h.saw(RAW, 0, 0);
        let found = h.check(1, |_| BRANCHED);
        assert_eq!((found.lost, found.from_nowhere), (0, 1));
        assert_eq!(
            found.from_nowhere_examples,
            [FromNowhere::Skipped {
                position: 0,
                stage: RAW,
                skipped: KINESIS
            }]
        );
        // The raw sink off the route of a run without it.
        let mut h = clean(1, TO_THE_LAKE);
        h.saw(RAW, 0, 0);
        assert_eq!(h.check(1, |_| CLEAN).from_nowhere, 1);
    }

    /// (event, stage) pairs.
    type Pairs = HashSet<(Position, StageId)>;

    /// The checker's answer from plain sets: per stage, the positions seen and how often; per
    /// event, the first stage each path lacks (a stage once), lost unless a later stage of a
    /// path through it saw the event.
    fn oracle(
        sightings: &[(StageId, Position)],
        events: usize,
        route: &dyn Fn(Position) -> Route<'static>,
    ) -> (Pairs, Pairs, u64) {
        let mut seen: HashMap<StageId, HashMap<Position, u32>> = HashMap::new();
        for &(s, p) in sightings {
            *seen.entry(s).or_default().entry(p).or_default() += 1;
        }
        let at = |s: StageId, p: Position| seen.get(&s).and_then(|m| m.get(&p)).copied();
        let (mut lost, mut twice, mut nowhere) = (HashSet::new(), HashSet::new(), 0);
        for p in 0..events as Position {
            let paths = route(p);
            let gaps: HashSet<StageId> = paths
                .iter()
                .filter_map(|path| path.iter().copied().find(|&s| at(s, p).is_none()))
                .collect();
            for gap in gaps {
                let seen_after = paths.iter().any(|path| {
                    path.iter()
                        .skip_while(|&&s| s != gap)
                        .any(|&s| at(s, p).is_some())
                });
                if seen_after {
                    nowhere += 1;
                } else {
                    lost.insert((p, gap));
                }
            }
            let on_route: HashSet<StageId> = paths.iter().flat_map(|p| p.iter().copied()).collect();
            for &s in &on_route {
                if stages()[s].times == Times::ExactlyOnce && at(s, p).unwrap_or(0) > 1 {
                    twice.insert((p, s));
                }
            }
            nowhere += (0..stages().len())
                .filter(|s| !on_route.contains(s) && at(*s, p).is_some())
                .count() as u64;
        }
        (lost, twice, nowhere)
    }

    proptest! {
        #[test]
        fn the_checker_agrees_with_a_set_based_oracle(
            events in 1usize..40,
            sightings in proptest::collection::vec((0usize..5, 0u32..40), 0..300),
            routes in proptest::collection::vec(0usize..3, 40),
        ) {
            let route = move |p: Position| [CLEAN, DEAD, BRANCHED][routes[p as usize]];
            let mut h = History::new(stages());
            let kept: Vec<(StageId, Position)> = sightings
                .into_iter()
                .filter(|&(_, p)| (p as usize) < events)
                .collect();
            for &(s, p) in &kept {
                h.saw(s, p, 0);
            }
            let found = h.check(events, &route);
            let (lost, twice, nowhere) = oracle(&kept, events, &route);
            prop_assert_eq!(found.lost, lost.len() as u64);
            prop_assert_eq!(found.duplicated, twice.len() as u64);
            prop_assert_eq!(found.from_nowhere, nowhere);
            for l in &found.lost_examples {
                prop_assert!(lost.contains(&(l.position, l.missing_at)));
            }
            for d in &found.duplicated_examples {
                prop_assert!(twice.contains(&(d.position, d.stage)));
            }
        }
    }
}
