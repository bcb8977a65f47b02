//! Where a run's events come from, and what each kind of source means.
//!
//! Where a run's events come from, and everything a kind of source means to the run, in one
//! place: the resources it makes beside the topology (a web source's tables), what the feed
//! reads and how fast, how many events to expect, and (a web source) its front end.

use std::sync::Arc;

use serde::Serialize;
use tickflow_pipeline::chaos::Chaos;
use tickflow_pipeline::metrics::Metrics;
use tickflow_pipeline::source::{Generator, GeneratorConfig};

use super::feed::Input;
use crate::error::{Error, Result};
use crate::flows::stream::input::arrival::LoadPlan;
use crate::flows::stream::input::replay::{self, Item, Pace, ReplaySpec};
use crate::flows::stream::input::web::source::Tables;
use crate::flows::stream::input::web::{WebRun, WebSpec};

/// Most ledger entries reserved up front (a run asked for more still grows past it).
const MAX_PRESIZE: usize = 50_000_000;

/// No pacing: each item is due as it comes.
static AS_THEY_COME: LoadPlan = LoadPlan {
    rate: None,
    ramp: None,
    steps: None,
    duration_secs: None,
};

/// Where a run's events come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Source {
    /// The deterministic generator.
    Generate(GeneratorConfig),
    /// A recorded or CSV data set.
    Replay(ReplaySpec),
    /// The market-data web server, called on a schedule (or by anyone, under `tickflow serve`).
    Web(Box<WebSpec>),
}

impl Source {
    /// What it makes beside the topology for run `run_id`: a web source's tables.
    ///
    /// # Errors
    /// No PostgreSQL, or the tables not created.
    pub(super) async fn provision(&self, run_id: &str) -> Result<Option<Tables>> {
        match self {
            Source::Web(spec) => Ok(Some(Tables::create(spec, run_id).await?)),
            Source::Generate(_) | Source::Replay(_) => Ok(None),
        }
    }

    /// What the feed reads: the items, or the queue of a web source started here in front of
    /// its `tables` (and dying where `chaos` says).
    ///
    /// # Errors
    /// A source that cannot be opened, a web source that cannot start (or has no tables: a lake
    /// judged alone cannot know what a web source's callers were given).
    pub(super) async fn open(
        &self,
        tables: Option<&Tables>,
        faulted: (Option<Arc<Chaos>>, (Metrics, String)),
    ) -> Result<(Input, Option<WebRun>)> {
        Ok(match self {
            Source::Generate(g) => {
                let events = Generator::new(g.clone()).map(|e| Ok(Item::Event(e)));
                (Input::Items(Box::new(events)), None)
            }
            Source::Replay(spec) => (Input::Items(replay::open(spec)?), None),
            Source::Web(spec) => {
                let tables = tables.ok_or_else(|| {
                    Error::Input(
                        "a web source's events are what its callers were given: only a run of \
                         it knows them"
                            .into(),
                    )
                })?;
                let (front, queue) = WebRun::start(spec, tables, faulted).await?;
                (Input::Queue(queue), Some(front))
            }
        })
    }

    /// The pace and the load plan the feed keeps: the run's `load` for what it generates or
    /// replays; none for a web source (its scheduler keeps the plan, its events are due as they
    /// arrive) or when only consuming (the events were sent before: entered at once).
    pub(super) fn pacing<'a>(&self, load: &'a LoadPlan, consuming: bool) -> (Pace, &'a LoadPlan) {
        match self {
            _ if consuming => (Pace::Full, &AS_THEY_COME),
            Source::Replay(spec) => (spec.pace, load),
            Source::Generate(_) => (Pace::Full, load),
            Source::Web(_) => (Pace::Full, &AS_THEY_COME),
        }
    }

    /// How many events the run will send, when that is known before it starts: a generator's,
    /// unless the load plan's duration ends the run first.
    pub(super) fn known_events(&self, load: &LoadPlan) -> Option<u64> {
        match self {
            Source::Generate(g) if load.duration_secs.is_none() => Some(g.events),
            _ => None,
        }
    }

    /// The tag of the generator's ids, when the events are generated (by the generator or the
    /// web source): their ids then give their positions, which a history keeps them by.
    pub(super) fn id_tag(&self) -> Option<[u8; 8]> {
        match self {
            Source::Generate(g) => Some(tickflow_pipeline::source::id_tag(g.seed)),
            Source::Web(spec) => Some(tickflow_pipeline::source::id_tag(spec.generator.seed)),
            Source::Replay(_) => None,
        }
    }

    /// Ledger entries to reserve up front.
    pub(super) fn presize(&self) -> usize {
        match self {
            Source::Generate(g) => usize::try_from(g.events).unwrap_or(0).min(MAX_PRESIZE),
            Source::Replay(_) | Source::Web(_) => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(events: u64) -> Source {
        Source::Generate(GeneratorConfig {
            events,
            ..GeneratorConfig::default()
        })
    }

    #[test]
    fn a_generator_is_paced_by_the_load_unless_only_consuming() {
        let load = LoadPlan {
            rate: Some(100.0),
            ..LoadPlan::default()
        };
        let (pace, plan) = generate(10).pacing(&load, false);
        assert_eq!((pace, plan.rate), (Pace::Full, Some(100.0)));
        let (_, plan) = generate(10).pacing(&load, true);
        assert_eq!(plan.rate, None, "events sent before are entered at once");
    }

    #[test]
    fn only_a_generator_without_a_duration_knows_its_events_ahead() {
        let unbounded = LoadPlan::default();
        assert_eq!(generate(10).known_events(&unbounded), Some(10));
        let timed = LoadPlan {
            rate: Some(5.0),
            duration_secs: Some(2.0),
            ..LoadPlan::default()
        };
        assert_eq!(generate(10).known_events(&timed), None);
        assert_eq!(generate(u64::MAX).presize(), MAX_PRESIZE);
    }
}
