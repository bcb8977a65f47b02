//! Faults on the way in (malformed, duplicates, poison) and the schedule.
//!
//! Fault injection: on the way into the pipeline (malformed records, producer duplicates,
//! poison records), in the handler (transient failures), and in the infrastructure (the
//! `schedule`: AWS calls, crashes, outages), all chosen deterministically from the run's seed.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tickflow_pipeline::chaos::{Call, FaultRule};
use tickflow_pipeline::event::MarketEvent;
use tickflow_pipeline::processor::HandlerFaults;

use crate::verdict::fault_rules;

/// Which faults to inject: shares of the generated events, and a schedule of infrastructure
/// faults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FaultSettings {
    /// Share of events sent malformed (still carrying their id): they must be quarantined.
    pub malformed_ratio: f64,
    /// Share of events the producer sends twice: the lake must still hold each once.
    pub duplicate_ratio: f64,
    /// Share of the events not sent malformed that the handler always fails on: their
    /// messages must end in the DLQ.
    pub poison_ratio: f64,
    /// Share of SQS messages that fail transiently (drawn from the event ids they carry): they
    /// must succeed on a later delivery.
    pub transient_ratio: f64,
    /// How many deliveries a transient failure lasts (default 1). At `max_receive_count` or
    /// more, its clean events are dead-lettered: a run that must FAIL.
    pub transient_receives: u32,
    /// Infrastructure faults (`[[faults.schedule]]`), see [`FaultRule`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schedule: Vec<FaultRule>,
}

impl Default for FaultSettings {
    fn default() -> Self {
        Self {
            malformed_ratio: 0.0,
            duplicate_ratio: 0.0,
            poison_ratio: 0.0,
            transient_ratio: 0.0,
            transient_receives: 1,
            schedule: Vec::new(),
        }
    }
}

impl FaultSettings {
    /// The longest a delay fault hides a message, seconds (0 without one): the pipeline waits
    /// that long for it without being stuck.
    pub fn longest_delay_secs(&self) -> f64 {
        self.schedule
            .iter()
            .filter(|r| r.kind == tickflow_pipeline::chaos::FaultKind::Delay)
            .map(|r| r.for_secs)
            .fold(0.0, f64::max)
    }

    /// When the schedule's last moment (an outage, a pause, a lock, a split) is over, seconds
    /// after the stages start (0 without one): the pipeline may stand still until then.
    pub fn last_moment_secs(&self) -> f64 {
        self.schedule
            .iter()
            .filter(|r| r.fires_at_a_moment())
            .map(|r| r.after_secs + r.for_secs)
            .fold(0.0, f64::max)
    }

    /// The handler's side of these faults for a run seeded with `seed`.
    pub fn handler_faults(&self, seed: u64) -> HandlerFaults {
        HandlerFaults {
            poison_ratio: self.poison_ratio,
            transient_ratio: self.transient_ratio,
            transient_receives: self.transient_receives,
            seed,
        }
    }

    /// Replaces the schedule with `schedule` (a past run's fired faults, or part of its own)
    /// when the result passes [`FaultSettings::check`] and every rule names one of `calls`;
    /// else keeps it and returns the problems, as (dotted key, message).
    pub fn replace_schedule(
        &mut self,
        schedule: Vec<FaultRule>,
        calls: &[Call],
        database: bool,
    ) -> Vec<(String, String)> {
        let replaced = Self {
            schedule,
            ..self.clone()
        };
        let mut problems = replaced.check(database);
        problems.extend(fault_rules::check_targets(
            &replaced.schedule,
            calls,
            |_| "",
        ));
        if problems.is_empty() {
            *self = replaced;
        }
        problems
    }

    /// Problems with the ratios (each must lie in [0, 1]), as (key, message), the key dotted
    /// from the file's top (`faults.poison_ratio`). `database` says whether the run stores
    /// into PostgreSQL (the web source), which a database fault needs.
    pub fn check(&self, database: bool) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        for (name, value) in [
            ("malformed_ratio", self.malformed_ratio),
            ("duplicate_ratio", self.duplicate_ratio),
            ("poison_ratio", self.poison_ratio),
            ("transient_ratio", self.transient_ratio),
        ] {
            if !(0.0..=1.0).contains(&value) {
                let key = format!("faults.{name}");
                problems.push((
                    key.clone(),
                    format!("{key} must be within [0, 1], got {value}"),
                ));
            }
        }
        if self.transient_receives == 0 {
            problems.push((
                "faults.transient_receives".into(),
                "faults.transient_receives must be at least 1".into(),
            ));
        }
        problems.extend(fault_rules::schedule_problems(&self.schedule));
        use tickflow_pipeline::chaos::Stage;
        // The web source is a stage of its own only where there is one: with its database.
        let web = database.then_some(Stage::Web);
        let stages: Vec<Stage> = Stage::STREAM.into_iter().chain(web).collect();
        problems.extend(fault_rules::check_stages(&self.schedule, "stream", &stages));
        for (i, rule) in self.schedule.iter().enumerate() {
            if !rule.kind.is_database_fault() {
                continue;
            }
            if !database {
                problems.push((
                    format!("faults.schedule.{i}.kind"),
                    format!(
                        "a {} fault needs the run's PostgreSQL, and this stream run stores \
                         nothing there (only [source] kind = \"web\" does)",
                        rule.kind.name()
                    ),
                ));
            } else if !rule.at.is_empty() {
                problems.push((
                    format!("faults.schedule.{i}.at"),
                    format!(
                        "the web source's writer runs no COPY for `at` to count: give {} an \
                         `after_secs` instead",
                        rule.kind.name()
                    ),
                ));
            }
        }
        problems
    }
}

/// What happened to one event on its way in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Sent as generated: expected in the lake.
    Clean,
    /// Sent malformed: expected in the quarantine.
    Malformed,
    /// Sent intact but poison to the handler: expected in the DLQ.
    Poison,
}

/// Applies [`FaultSettings`] to a stream of events.
#[derive(Debug)]
pub struct Injector {
    malformed_ratio: f64,
    duplicate_ratio: f64,
    handler: HandlerFaults,
    rng: ChaCha8Rng,
}

impl Injector {
    /// An injector whose choices follow `seed`.
    pub fn new(settings: &FaultSettings, seed: u64) -> Self {
        Self {
            malformed_ratio: settings.malformed_ratio,
            duplicate_ratio: settings.duplicate_ratio,
            handler: settings.handler_faults(seed),
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x7f4a_7c15_9e37_79b9),
        }
    }

    /// The records to send for `event` (one, or two for a duplicate) and its fate.
    pub fn apply(&mut self, event: &MarketEvent) -> (Fate, Vec<Vec<u8>>) {
        let u: f64 = self.rng.random();
        let (fate, record) = if u < self.malformed_ratio {
            let variant = self.rng.random_range(0..MALFORMATIONS);
            (Fate::Malformed, malform(event, variant))
        } else if self.handler.is_poison(&event.id()) {
            (Fate::Poison, event.to_json())
        } else {
            (Fate::Clean, event.to_json())
        };
        let duplicate = self.rng.random::<f64>() < self.duplicate_ratio;
        let records = if duplicate {
            vec![record.clone(), record]
        } else {
            vec![record]
        };
        (fate, records)
    }
}

const MALFORMATIONS: u32 = 5;

/// A malformed version of `event` that still names its `event_uuid`, so the quarantine can be
/// reconciled against what was sent.
fn malform(event: &MarketEvent, variant: u32) -> Vec<u8> {
    let mut value = serde_json::to_value(event).expect("events serialise");
    let map = value.as_object_mut().expect("events are objects");
    match variant {
        0 => {
            map.remove("created_at");
        }
        1 => {
            map.insert("unexpected_field".into(), true.into());
        }
        2 => {
            map.insert("event_name".into(), "crypto:tick".into());
        }
        3 => {
            // bid above ask (news has no quote: give it an out-of-range sentiment instead)
            if let (Some(bid), Some(ask)) = (map.get("bid").cloned(), map.get("ask").cloned()) {
                map.insert("bid".into(), ask);
                map.insert("ask".into(), bid);
            } else {
                map.insert("sentiment".into(), 7.5.into());
            }
        }
        _ => {
            let name = if map.contains_key("pair") {
                "pair"
            } else {
                "symbol"
            };
            map.insert(name.into(), 42.into());
        }
    }
    serde_json::to_vec(&value).expect("JSON values serialise")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickflow_pipeline::event::parse_record;
    use tickflow_pipeline::source::{Generator, GeneratorConfig};

    #[test]
    fn every_malformation_is_rejected_and_keeps_the_id() {
        for event in Generator::new(GeneratorConfig {
            events: 300,
            ..Default::default()
        }) {
            for variant in 0..MALFORMATIONS {
                let raw = malform(&event, variant);
                assert!(
                    parse_record(&raw).is_err(),
                    "variant {variant} passed: {}",
                    String::from_utf8_lossy(&raw)
                );
                let value: serde_json::Value = serde_json::from_slice(&raw).unwrap();
                assert_eq!(value["event_uuid"], event.id().to_string());
            }
        }
    }

    #[test]
    fn ratios_are_honoured_and_deterministic() {
        let settings = FaultSettings {
            malformed_ratio: 0.1,
            duplicate_ratio: 0.05,
            poison_ratio: 0.02,
            ..FaultSettings::default()
        };
        let run = || {
            let mut injector = Injector::new(&settings, 9);
            let mut counts = [0usize; 4];
            for event in Generator::new(GeneratorConfig {
                events: 20_000,
                ..Default::default()
            }) {
                let (fate, records) = injector.apply(&event);
                counts[fate as usize] += 1;
                counts[3] += records.len() - 1;
            }
            counts
        };
        let counts = run();
        assert_eq!(counts, run(), "same seed, same faults");
        let share = |n: usize| n as f64 / 20_000.0;
        assert!((share(counts[1]) - 0.1).abs() < 0.01, "{counts:?}");
        assert!((share(counts[2]) - 0.02 * 0.9).abs() < 0.005, "{counts:?}");
        assert!((share(counts[3]) - 0.05).abs() < 0.01, "{counts:?}");
    }
}
