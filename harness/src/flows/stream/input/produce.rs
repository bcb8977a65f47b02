//! Producing only: one load generator's share into an existing stream.
//!
//! Producing only: one load generator's share of a scenario's events, sent into an existing
//! stream. Several generators on several machines, each with its own `--partition i/n`, cover
//! the event space exactly once between them, deterministically. The consumer is a pipeline
//! deployed on AWS; the regenerated scenario is what it should reconcile against.

use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::Serialize;
use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::producer::{Outgoing, Producer, ProducerConfig};
use tickflow_pipeline::source::{Generator, GeneratorConfig};
use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::flows::stream::faults::{FaultSettings, Injector};
use crate::flows::stream::input::arrival::LoadPlan;

/// Generator `index` of `count`: it takes the events whose position is `index` modulo `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Partition {
    /// 0-based.
    pub index: u64,
    /// How many generators share the scenario.
    pub count: u64,
}

impl Partition {
    /// The whole event space.
    pub const WHOLE: Partition = Partition { index: 0, count: 1 };

    /// Whether the event at `position` is this generator's.
    pub fn owns(&self, position: u64) -> bool {
        position % self.count == self.index
    }
}

impl FromStr for Partition {
    type Err = String;

    /// `i/n` with `i < n`, e.g. `0/4`.
    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let parsed = text
            .split_once('/')
            .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((index, count)) if count > 0 && index < count => Ok(Partition { index, count }),
            _ => Err(format!("a partition is i/n with 0 <= i < n, got {text:?}")),
        }
    }
}

/// What one generator sent.
#[derive(Debug, Clone, Serialize)]
pub struct Produced {
    /// Its partition.
    pub partition: Partition,
    /// Events sent (duplicates injected by faults not counted).
    pub events: u64,
    /// Kinesis records they rode in.
    pub kinesis_records: u64,
    /// Seconds from the first event to the last accepted by Kinesis.
    pub seconds: f64,
}

/// Sends this partition's share of `generator`'s events, with `faults` applied, into `stream`
/// at the `load` schedule.
///
/// # Errors
/// A load plan that does not validate or whose schedule would run beyond its cap (before
/// anything is sent); a producer failure that outlasts its retries.
pub async fn produce(
    clients: &Clients,
    stream: &str,
    generator: GeneratorConfig,
    faults: &FaultSettings,
    load: &LoadPlan,
    producer: ProducerConfig,
    partition: Partition,
) -> Result<Produced> {
    let share = generator.events.div_ceil(partition.count);
    let problems: Vec<String> = load
        .check()
        .into_iter()
        .map(|(key, message)| format!("{key}: {message}"))
        .chain(load.check_span(share))
        .collect();
    if !problems.is_empty() {
        return Err(Error::Input(format!(
            "invalid load settings:\n  {}",
            problems.join("\n  ")
        )));
    }
    let seed = generator.seed;
    let producer = Producer::new(clients.clone(), stream, producer);
    let stats = producer.stats();
    let (tx, rx) = mpsc::channel::<Outgoing>(8_192);
    let task = tokio::spawn(producer.run(rx));
    let mut injector = Injector::new(faults, seed);
    let started = Instant::now();
    let mut events = 0u64;
    for (position, event) in Generator::new(generator).enumerate() {
        // Every generator draws the same faults for the same event: inject before filtering.
        let (_, records) = injector.apply(&event);
        if !partition.owns(position as u64) {
            continue;
        }
        if load.over(started.elapsed()) {
            break;
        }
        if let Some(due) = load.due(events) {
            if !load.wait_until(started, due).await {
                break; // the plan's duration ended first
            }
        }
        events += 1;
        for data in records {
            let key = event.instrument().to_string();
            if tx
                .send(Outgoing {
                    partition_key: key,
                    data,
                })
                .await
                .is_err()
            {
                break;
            }
        }
    }
    drop(tx);
    task.await.map_err(|e| Error::Stage {
        stage: "producer".into(),
        reason: e.to_string(),
    })??;
    Ok(Produced {
        partition,
        events,
        kinesis_records: stats
            .kinesis_records
            .load(std::sync::atomic::Ordering::Relaxed),
        seconds: started
            .elapsed()
            .max(Duration::from_micros(1))
            .as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_i_of_n() {
        assert_eq!("1/4".parse(), Ok(Partition { index: 1, count: 4 }));
        for bad in ["4/4", "1/0", "a/2", "3", "-1/2"] {
            assert!(bad.parse::<Partition>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn partitions_cover_every_position_exactly_once(count in 1u64..16, position in any::<u64>()) {
            let owners = (0..count).filter(|&index| Partition { index, count }.owns(position)).count();
            prop_assert_eq!(owners, 1);
        }
    }
}
