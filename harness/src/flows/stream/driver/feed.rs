//! Feeding a run: each item, with its faults, handed to the producer when due.
//!
//! Feeding a run: each item of the source, with its faults injected, handed to the producer when
//! it is due, and entered in the ledger with its fate, copies, digest and due time.

use std::time::Duration;

use tickflow_pipeline::event::MarketEvent;
use tickflow_pipeline::producer::Outgoing;
use tokio::sync::mpsc;

use super::watchdog::Stopped;
use crate::error::Result;
use crate::flows::stream::faults::{FaultSettings, Injector};
use crate::flows::stream::input::arrival::{LoadPlan, Schedule, MAX_SECS};
use crate::flows::stream::input::replay::{self, Item, Pace};
use crate::flows::stream::judge::history::Recorder;
use crate::flows::stream::judge::reconcile::Ledger;
use crate::verdict::latency::LatencyHistogram;

/// What the feed did.
#[derive(Debug)]
pub(super) struct Fed {
    /// Every record sent.
    pub(super) ledger: Ledger,
    /// Extra copies sent by the duplicate fault.
    pub(super) duplicates_sent: u64,
    /// Replayed records that were not events.
    pub(super) unparsed_records: u64,
    /// Schedule figures of a paced feed.
    pub(super) schedule: Option<Schedule>,
}

/// Where a run's items come from: a source read in order, or the queue a web server fills.
pub(super) enum Input {
    /// Generated or replayed items.
    Items(replay::Items),
    /// Events the web source accepted (the server's 200s), until it stops.
    Queue(mpsc::Receiver<MarketEvent>),
}

impl Input {
    async fn next(&mut self) -> Option<Result<Item>> {
        match self {
            Input::Items(items) => items.next(),
            Input::Queue(queue) => queue.recv().await.map(|e| Ok(Item::Event(e))),
        }
    }
}

/// Where a run's items come from, and how fast they are due.
pub(super) struct Feed<'a> {
    pub(super) items: Input,
    pub(super) pace: Pace,
    pub(super) load: &'a LoadPlan,
    pub(super) faults: &'a FaultSettings,
    pub(super) seed: u64,
    /// Events expected, when known: the ledger is sized for them up front.
    pub(super) expected: usize,
    /// The run's history, told each event's partition key as it is fed.
    pub(super) history: Option<&'a Recorder>,
}

impl Feed<'_> {
    /// Hands every item to the producer through `tx`, each when it is due, until the items
    /// end or the pipeline is declared stuck (`stopped`: what was fed so far is kept).
    ///
    /// # Errors
    /// An item the source could not read (the run stops: nothing further is sent).
    pub(super) async fn run(self, tx: mpsc::Sender<Outgoing>, mut stopped: Stopped) -> Result<Fed> {
        let mut fed = Fed {
            ledger: Ledger::with_capacity(self.expected),
            duplicates_sent: 0,
            unparsed_records: 0,
            schedule: None,
        };
        let mut injector = Injector::new(self.faults, self.seed);
        let mut lag = LatencyHistogram::default();
        let (mut first_time, mut last_due, mut sent) = (None, Duration::ZERO, 0u64);
        let mut input = self.items;
        for i in 0u64.. {
            let Some(Some(item)) = stopped.unless_stuck(input.next()).await else {
                break;
            };
            if self.load.over(fed.ledger.elapsed()) {
                break;
            }
            let item = item?;
            let mut due = self.load.due(i);
            if let (Pace::Scaled(factor), Some(t)) = (self.pace, replay::item_time(&item)) {
                let first = *first_time.get_or_insert(t);
                let paced = Duration::try_from_secs_f64(
                    t.saturating_sub(first).max(0) as f64 / 1_000.0 / factor,
                )
                .unwrap_or(Duration::MAX);
                due = Some(due.map_or(paced, |d| d.max(paced)));
            }
            if let Some(due) = due {
                if due.as_secs_f64() > MAX_SECS {
                    return Err(crate::Error::Input(format!(
                        "{}: due {:.3e} s into the run on this schedule, beyond the cap of \
                         {MAX_SECS:.0e} s (a faster pace or a duration bounds it)",
                        describe(&item),
                        due.as_secs_f64()
                    )));
                }
                let waited = self.load.wait_until(fed.ledger.started(), due);
                if stopped.unless_stuck(waited).await != Some(true) {
                    break; // the plan's duration ended first, or the pipeline is stuck
                }
            }
            let stamp = due.unwrap_or_else(|| fed.ledger.elapsed());
            let id = match &item {
                Item::Event(event) => Some(event.id()),
                Item::Raw { .. } => None,
            };
            let (key, records) = fed.enter(item, &mut injector, stamp);
            if let (Some(history), Some(id)) = (self.history, id) {
                history.fed(id, &key);
            }
            for data in records {
                let outgoing = Outgoing {
                    partition_key: key.clone(),
                    data,
                };
                match stopped.unless_stuck(tx.send(outgoing)).await {
                    Some(Ok(())) => {}
                    // The producer ended early (its error is reported by the drain), or the
                    // pipeline is stuck (the liveness check says where).
                    Some(Err(_)) | None => return Ok(fed),
                }
            }
            if let Some(due) = due {
                lag.record(fed.ledger.elapsed().saturating_sub(due).as_millis() as u64);
                last_due = due;
            }
            sent += 1;
        }
        if sent > 0 && lag.summary().count > 0 {
            let achieved_rate = sent as f64 / fed.ledger.elapsed().as_secs_f64().max(1e-9);
            fed.schedule = Some(Schedule {
                target_rate: if last_due.is_zero() {
                    achieved_rate // one event: no schedule to speak of
                } else {
                    (sent - 1) as f64 / last_due.as_secs_f64()
                },
                achieved_rate,
                lag_ms: lag.summary(),
            });
        }
        Ok(fed)
    }
}

impl Fed {
    /// Enters one item in the ledger; returns its partition key and the records to send.
    fn enter(
        &mut self,
        item: Item,
        injector: &mut Injector,
        due: Duration,
    ) -> (String, Vec<Vec<u8>>) {
        match item {
            Item::Event(event) => {
                let (fate, records) = injector.apply(&event);
                let copies = records.len() as u16;
                self.ledger
                    .record(event.id(), fate, &records[0], copies, due);
                self.duplicates_sent += u64::from(copies - 1);
                (partition_key(&event), records)
            }
            Item::Raw {
                partition_key,
                data,
                origin,
            } => {
                tracing::debug!(%origin, "replaying a record that is not a valid event");
                self.ledger.record_raw(&data, &origin);
                self.unparsed_records += 1;
                (partition_key, vec![data])
            }
        }
    }
}

/// Which item this is, for an error: its event id, or where a replayed record came from.
fn describe(item: &Item) -> String {
    match item {
        Item::Event(event) => format!("event {}", event.id()),
        Item::Raw { origin, .. } => origin.clone(),
    }
}

/// The Kinesis partition key: the instrument, so that each one stays ordered on one shard.
fn partition_key(event: &MarketEvent) -> String {
    event.instrument().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickflow_pipeline::source::{Generator, GeneratorConfig};

    fn generated(n: u64) -> impl Iterator<Item = MarketEvent> {
        Generator::new(GeneratorConfig {
            events: n,
            ..GeneratorConfig::default()
        })
    }

    static NO_FAULTS: std::sync::LazyLock<FaultSettings> =
        std::sync::LazyLock::new(FaultSettings::default);

    fn feed(items: Vec<Result<Item>>, load: &LoadPlan) -> Feed<'_> {
        Feed {
            items: Input::Items(Box::new(items.into_iter())),
            pace: Pace::Full,
            load,
            faults: &NO_FAULTS,
            seed: 1,
            expected: 0,
            history: None,
        }
    }

    /// Feeds 300 events at 1,000/s into a consumer that stalls for 300 ms after 100 of them.
    async fn stalled_feed() -> Fed {
        let load = LoadPlan {
            rate: Some(1_000.0),
            ..LoadPlan::default()
        };
        let items = generated(300).map(|e| Ok(Item::Event(e))).collect();
        let (tx, mut rx) = mpsc::channel(1);
        let consumer = tokio::spawn(async move {
            let mut n = 0;
            while rx.recv().await.is_some() {
                n += 1;
                if n == 100 {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            }
        });
        let fed = feed(items, &load).run(tx, Stopped::never()).await.unwrap();
        consumer.await.unwrap();
        fed
    }

    #[tokio::test]
    async fn an_open_model_stamps_due_times_and_shows_a_stall_as_lag() {
        let fed = stalled_feed().await;
        for (i, event) in generated(300).enumerate() {
            let due = fed.ledger.get(&event.id()).unwrap().due_ms;
            assert!(
                due.abs_diff(i as u32) <= 1,
                "event {i} stamped {due} ms, due at {i} ms"
            );
        }
        let s = fed.schedule.unwrap();
        assert!((s.target_rate - 1_000.0).abs() < 1.0, "{s:?}");
        assert!(s.lag_ms.max >= 250, "the stall shows as lag: {s:?}");
        assert!(s.achieved_rate < s.target_rate, "{s:?}");
    }

    #[tokio::test]
    async fn a_paced_feed_wakes_when_its_duration_ends_instead_of_sleeping_to_the_next_event() {
        // One event every 1,000 s, for 0.2 s: the second is due long after the plan ends.
        let load = LoadPlan {
            rate: Some(0.001),
            duration_secs: Some(0.2),
            ..LoadPlan::default()
        };
        let items = generated(3).map(|e| Ok(Item::Event(e))).collect();
        let (tx, _rx) = mpsc::channel(8);
        let started = std::time::Instant::now();
        let fed = tokio::time::timeout(
            Duration::from_secs(5),
            feed(items, &load).run(tx, Stopped::never()),
        )
        .await
        .expect("the feed ends at its duration")
        .unwrap();
        assert_eq!(fed.ledger.len(), 1, "only the first event was due");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn a_feed_blocked_by_a_wedged_producer_stops_when_the_pipeline_is_declared_stuck() {
        let items = generated(50).map(|e| Ok(Item::Event(e))).collect();
        let load = LoadPlan::default();
        // A producer that takes nothing: the feed blocks on its second record.
        let (tx, _rx) = mpsc::channel(1);
        let (declare, stopped) = Stopped::declarable();
        let feeding = tokio::spawn(async move { feed(items, &load).run(tx, stopped).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!feeding.is_finished(), "blocked on the full input");
        declare();
        let fed = tokio::time::timeout(Duration::from_secs(5), feeding)
            .await
            .expect("the feed stops once the pipeline is stuck")
            .unwrap()
            .unwrap();
        assert_eq!(fed.ledger.len(), 2, "what was fed so far is kept");
    }

    #[tokio::test]
    async fn a_replayed_event_due_beyond_the_cap_stops_the_feed_with_a_clear_error() {
        let mut events: Vec<MarketEvent> = generated(2).collect();
        // A second row a century of market time after the first, replayed at its own pace.
        let MarketEvent::Forex(late) = &mut events[1] else {
            panic!("the default mix starts with forex")
        };
        late.created_at += 100 * 365 * 86_400_000;
        let id = events[1].id();
        let items = events.into_iter().map(|e| Ok(Item::Event(e))).collect();
        let load = LoadPlan::default();
        let mut paced = feed(items, &load);
        paced.pace = Pace::Scaled(1.0);
        let (tx, _rx) = mpsc::channel(8);
        let error = tokio::time::timeout(Duration::from_secs(5), paced.run(tx, Stopped::never()))
            .await
            .expect("refused at once, not slept on")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!("event {id}: due 3.154e9 s into the run")),
            "{error}"
        );
        assert!(error.contains("beyond the cap of 1e7 s"), "{error}");
    }

    #[tokio::test]
    async fn replayed_rows_that_are_not_events_are_in_the_ledger() {
        let items: Vec<Result<Item>> = vec![
            Ok(Item::Raw {
                partition_key: "k".into(),
                data: b"not an event".to_vec(),
                origin: "f.csv:2".into(),
            }),
            Ok(Item::Event(generated(1).next().unwrap())),
        ];
        let (tx, mut rx) = mpsc::channel(8);
        let fed = feed(items, &LoadPlan::default())
            .run(tx, Stopped::never())
            .await
            .unwrap();
        assert_eq!((fed.ledger.len(), fed.ledger.raw_len()), (1, 1));
        assert_eq!(fed.unparsed_records, 1);
        assert!(fed.schedule.is_none(), "a full-speed feed has no schedule");
        assert_eq!(rx.recv().await.unwrap().data, b"not an event");
    }

    #[tokio::test]
    async fn an_unreadable_item_stops_the_feed_with_its_error() {
        let items: Vec<Result<Item>> = vec![
            Ok(Item::Event(generated(1).next().unwrap())),
            Err(crate::Error::Input("f.jsonl:2: Is a directory".into())),
            Ok(Item::Event(generated(2).nth(1).unwrap())),
        ];
        let (tx, _rx) = mpsc::channel(8);
        let e = feed(items, &LoadPlan::default())
            .run(tx, Stopped::never())
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "f.jsonl:2: Is a directory");
    }
}
