//! The verdict on a stream run, from its resources and its ledger alone.
//!
//! The verdict on a run, from its resources and its ledger alone: read the lake, the quarantine,
//! the queues and the notification queues back (changing nothing), reconcile with what was
//! sent, and check the invariants every run must meet. Because it needs nothing from the stages,
//! it judges a finished run again as well (after its resources were tampered with, in the tests
//! that prove every check can fail).

use super::history::{HistoryReport, Recorder};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::Serialize;
use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::notify::outbox::{self, PriceOutbox};
use tickflow_pipeline::notify::WatchConfig;
use tickflow_pipeline::s3_event::{self, Notice};

use crate::error::Result;
use crate::flows::stream::judge::alerts::{AlertWindows, PriceSums, WatchOutputs};
use crate::flows::stream::judge::lake::{self, LakeContents, PartitionSummary};
use crate::flows::stream::judge::reconcile::{Ledger, Reconciliation};
use crate::flows::stream::resources::topology::Provisioned;
use crate::observe::{self, QueueDepth};
use crate::verdict::latency::{Bucket, Latency, LatencyHistogram, Window};
use crate::verdict::{Checks, Failure, Verdict};

/// Longest a queue read may take.
const READ_LIMIT: Duration = Duration::from_secs(20);

/// SNS deliveries by topic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SnsCounts {
    /// New-data notifications (one per object).
    pub new_data: u64,
    /// Price-move alerts.
    pub price_alert: u64,
    /// Run-status messages.
    pub run_status: u64,
    /// Their subjects.
    pub run_status_subjects: Vec<String>,
    /// The symbol of each alert.
    pub alert_symbols: Vec<String>,
}

/// What judging a run found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Judgement {
    /// The invariants, failed and held (the report lists every check, not only the broken
    /// ones): `passed`, `failures` and `held` in its JSON.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Records accounted for.
    pub reconciliation: Reconciliation,
    /// Partition -> objects and rows (the quarantine included).
    pub partitions: BTreeMap<String, PartitionSummary>,
    /// Quarantine reason (`schema` or `rule`) -> rows.
    pub quarantine_reasons: BTreeMap<String, u64>,
    /// Rows in the quarantine (a malformed record sent twice is quarantined twice).
    pub quarantine_rows: u64,
    /// Records in dead-lettered messages.
    pub dead_lettered_records: u64,
    /// Main queue after the drain.
    pub main_queue: QueueDepth,
    /// Dead-letter queue after the drain.
    pub dlq: QueueDepth,
    /// Distinct messages read from the DLQ.
    pub dlq_messages: u64,
    /// SNS deliveries counted on the subscribed queues.
    pub sns: SnsCounts,
    /// Due -> created in S3 (the time S3's notification of the object gives), milliseconds,
    /// over the rows whose object S3 announced.
    pub latency_ms: Latency,
    /// The same latencies at two significant digits (the buckets holding any), for the
    /// distribution plot.
    pub latency_histogram: Vec<Bucket>,
    /// The same latencies by when their object was written (at most 120 windows), for the
    /// percentiles-over-time plot.
    pub latency_over_time: Vec<crate::verdict::latency::Window>,
    /// Rows whose latency is unknown (S3 announced no creation of their object).
    pub latency_unknown: u64,
    /// How the new-data notifications match the lake's objects.
    pub announced: Announcements,
    /// The price watch's window records, alerts and late output against the lake's prices.
    pub alerts: AlertWindows,
    /// How the price-alert notifications match the alert objects.
    pub alerts_announced: Announcements,
    /// Every event's history (a run of generated events): the distinct events each stage
    /// saw and the anomalies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryReport>,
}

/// New-data notifications matched with the objects of the lake by key: each object must be
/// announced exactly once, and nothing else announced (a count would let one object never
/// announced and another announced twice pass).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Announcements {
    /// Objects no notification names.
    pub unannounced: u64,
    /// Notifications beyond the first for an object.
    pub repeated: u64,
    /// Notifications that name no object of the lake (or nothing readable).
    pub stray: u64,
    /// A few of each, with the key.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
}

/// What S3's deliveries on a subscribed queue say, each message parsed once: the objects
/// created (key, `eventTime`), the set-up test events, and the messages that are not S3
/// notifications at all.
#[derive(Debug, Default)]
struct S3Deliveries {
    created: Vec<(String, String)>,
    test_events: usize,
    strays: Vec<String>,
}

impl S3Deliveries {
    fn of(messages: &[String]) -> Self {
        let mut d = S3Deliveries::default();
        for message in messages {
            let notices = s3_event::parse(message);
            if notices.is_empty() {
                d.strays.push(message.chars().take(120).collect());
            }
            for notice in notices {
                match notice {
                    Notice::Created { key, time, .. } => d.created.push((key, time)),
                    Notice::Test => d.test_events += 1,
                }
            }
        }
        d
    }

    /// Messages that announce something (the set-up test events aside).
    fn announcing(&self) -> u64 {
        (self.created.len() + self.strays.len()) as u64
    }

    /// When S3 says each of `objects` (`s3://bucket/key`) was created, by index: latency is
    /// measured on S3's clock, not on what the pipeline stamps on its own writes.
    fn created_at(&self, bucket: &str, objects: &[String]) -> Vec<Option<i64>> {
        let mut first: HashMap<String, i64> = HashMap::new();
        for (key, time) in &self.created {
            if let Ok(at) = chrono::DateTime::parse_from_rfc3339(time) {
                let at = at.timestamp_millis();
                let slot = first.entry(format!("s3://{bucket}/{key}")).or_insert(at);
                *slot = (*slot).min(at);
            }
        }
        objects.iter().map(|o| first.get(o).copied()).collect()
    }

    /// The symbols of the price alerts announced (an alert object's key names its symbol); a
    /// message that is not an S3 notification counts as an alert of no symbol.
    fn alert_symbols(&self) -> Vec<String> {
        let symbols = self
            .created
            .iter()
            .map(|(key, _)| outbox::symbol_of_key(key).unwrap_or_default().to_string());
        symbols
            .chain(self.strays.iter().map(|_| String::new()))
            .collect()
    }
}

impl Announcements {
    /// Matches the `messages` of new-data deliveries (S3 event notifications of `bucket`) with
    /// `objects` (`s3://bucket/key`). The test event S3 sends when the notification is set up
    /// names no object and is not counted.
    pub fn of(bucket: &str, objects: &[String], messages: &[String]) -> Self {
        Self::matching(bucket, objects, &S3Deliveries::of(messages))
    }

    fn matching(bucket: &str, objects: &[String], deliveries: &S3Deliveries) -> Self {
        let mut announced: HashMap<String, u64> = HashMap::new();
        let mut a = Announcements::default();
        let example = |examples: &mut Vec<String>, text: String| {
            if examples.len() < crate::flows::stream::judge::reconcile::EXAMPLES * 3 {
                examples.push(text);
            }
        };
        for text in &deliveries.strays {
            a.stray += 1;
            example(
                &mut a.examples,
                format!("a notification naming no object: {text:?}"),
            );
        }
        for (key, _) in &deliveries.created {
            *announced.entry(format!("s3://{bucket}/{key}")).or_default() += 1;
        }
        for object in objects {
            match announced.remove(object) {
                None => {
                    a.unannounced += 1;
                    example(&mut a.examples, format!("{object}: never announced"));
                }
                Some(n) if n > 1 => {
                    a.repeated += n - 1;
                    example(&mut a.examples, format!("{object}: announced {n} times"));
                }
                Some(_) => {}
            }
        }
        for (object, n) in announced {
            a.stray += n;
            example(
                &mut a.examples,
                format!("{object}: announced, but no such object exists"),
            );
        }
        a
    }

    /// Whether every object was announced once and nothing else.
    pub fn holds(&self) -> bool {
        self.unannounced == 0 && self.repeated == 0 && self.stray == 0
    }
}

impl Judgement {
    /// Records the run-status deliveries' subjects (the status is announced after the verdict).
    pub fn set_run_status(&mut self, subjects: Vec<String>) {
        self.sns.run_status = subjects.len() as u64;
        self.sns.run_status_subjects = subjects;
    }
}

/// The checks a lake judged alone shows, by the start of their names: what it holds, against
/// what was sent (the reconciliation's invariants, and a scenario's counts of what it holds).
const LAKE_CHECKS: [&str; 5] = [
    "sent",
    "found",
    "quarantined",
    "partitions[",
    "reconciliation.",
];

/// Whether a lake judged alone shows `check` (queues, notifications, alerts, latency and the
/// run status it does not).
pub fn lake_shows(check: &str) -> bool {
    LAKE_CHECKS.iter().any(|p| check.starts_with(p))
}

/// The invariants a lake judged alone cannot show (queues, notifications, the price watch), by
/// name: what a lake-only judgement names as not judged.
pub fn invariants_a_lake_cannot_show() -> Vec<String> {
    invariant_checks(&Judgement::default())
        .into_iter()
        .map(|(check, _)| check.check)
        .filter(|c| !lake_shows(c))
        .collect()
}

/// Judges the run that `ledger` recorded, from what `provisioned` holds now. `settle` is how
/// long SNS deliveries may still be on their way ([`SETTLE`] right after a run, zero when
/// judging a run again); `watch` is how the processor watched prices; `history`, when the
/// stages' taps recorded one, says where each event the lake lacks was last seen.
///
/// # Errors
/// A failing AWS call, an object of the lake that does not decompress, or an output of the
/// price watch that is not what its key says.
pub async fn judge(
    clients: &Clients,
    ledger: &Ledger,
    provisioned: &Provisioned,
    settle: Duration,
    watch: WatchConfig,
    history: Option<&Recorder>,
) -> Result<Judgement> {
    let res = &provisioned.resources;
    let subs = &provisioned.subscriptions;
    let linger = settle.min(Duration::from_secs(1));
    let (outputs, alert_keys) = watch_outputs(clients, &res.state_bucket).await?;
    let alerts = async {
        let written = alert_keys.len() as u64;
        observe::settle(clients, &subs.price_alert, written, settle).await;
        observe::peek_all(clients, &subs.price_alert, READ_LIMIT, linger).await
    };
    let late = outputs.late.iter().map(|l| l.event_uuid).collect();
    let sums = PriceSums::new(watch, late);
    let (mut lake, dlq, alerts) = tokio::try_join!(
        lake::read_lake(clients, &res.bucket, ledger.len(), Some(sums)),
        observe::peek_all(clients, &res.dlq_url, READ_LIMIT, Duration::ZERO),
        alerts,
    )?;
    lake.found.dead_letters = crate::flows::stream::judge::reconcile::dead_letters(&dlq.messages);
    let reconciliation = Reconciliation::of(ledger, &lake.found);
    observe::settle(clients, &subs.new_data, lake.objects(), settle).await;
    let new_data = observe::peek_all(clients, &subs.new_data, READ_LIMIT, linger).await?;
    let new_data = S3Deliveries::of(&messages(&new_data));
    let announced = Announcements::matching(&res.bucket, &lake.found.objects, &new_data);
    lake.written_at = new_data.created_at(&res.bucket, &lake.found.objects);
    let (history, explained) = match history {
        Some(h) => {
            let (report, failure) = h.judge(ledger, &lake.found, &lake.written_at, &reconciliation);
            (Some(report), failure)
        }
        None => (None, None),
    };
    let (latency, latency_over_time, latency_unknown) = latencies(ledger, &lake);
    let alert_deliveries = S3Deliveries::of(&messages(&alerts));
    let alert_objects: Vec<String> = alert_keys
        .iter()
        .map(|key| format!("s3://{}/{key}", res.state_bucket))
        .collect();
    let alerts_announced =
        Announcements::matching(&res.state_bucket, &alert_objects, &alert_deliveries);
    let sums = lake.prices.take().unwrap_or_default();
    let alerts = AlertWindows::judge(&sums, &outputs);
    drop(sums);
    let alert_symbols = alert_deliveries.alert_symbols();
    let sns = SnsCounts {
        new_data: new_data.announcing(),
        price_alert: alert_symbols.len() as u64,
        alert_symbols,
        ..SnsCounts::default()
    };
    let mut judgement = Judgement {
        verdict: Verdict::default(),
        quarantine_rows: lake.quarantine_rows(),
        dead_lettered_records: lake
            .found
            .dead_letters
            .iter()
            .map(|d| d.records.len() as u64)
            .sum(),
        main_queue: observe::queue_depth(clients, &res.queue_url).await?,
        dlq: dlq.depth,
        dlq_messages: dlq.messages.len() as u64,
        sns,
        latency_ms: latency.summary(),
        latency_histogram: latency.buckets(),
        latency_over_time,
        latency_unknown,
        announced,
        alerts,
        alerts_announced,
        reconciliation,
        partitions: std::mem::take(&mut lake.partitions),
        quarantine_reasons: std::mem::take(&mut lake.quarantine_reasons),
        history,
    };
    let checks: Checks = invariant_checks(&judgement).into_iter().collect();
    judgement.verdict.add_checks(checks);
    judgement.verdict.add_failures(explained);
    Ok(judgement)
}

/// What the price watch left in `state_bucket` (window records, late prices, alerts with their
/// bodies), and the alert objects' keys.
///
/// # Errors
/// A failing S3 call, or an object that is not what its key says.
async fn watch_outputs(
    clients: &Clients,
    state_bucket: &str,
) -> Result<(WatchOutputs, Vec<String>)> {
    let outbox = PriceOutbox::new(clients.clone(), state_bucket);
    let alert_keys = clients
        .object_keys_under(state_bucket, outbox::ALERTS)
        .await?
        .unwrap_or_default();
    let (records, late, bodies) = tokio::try_join!(
        outbox.windows(),
        outbox.late(),
        outbox::read_bodies(clients, state_bucket, alert_keys.clone()),
    )?;
    let alerts = alert_keys
        .iter()
        .cloned()
        .zip(bodies.iter().map(|b| serde_json::from_slice(b).ok()))
        .collect();
    Ok((
        WatchOutputs {
            records,
            late,
            alerts,
        },
        alert_keys,
    ))
}

/// Judges an existing lake alone (no stream, queues or topics to read): the reconciliation of
/// what `bucket` holds against `ledger`, its partitions and its quarantine. Events the pipeline
/// dead-lettered are missing here: the lake alone cannot show the DLQ.
///
/// # Errors
/// The bucket cannot be listed or read, or an object does not decompress.
pub async fn judge_lake(clients: &Clients, ledger: &Ledger, bucket: &str) -> Result<Judgement> {
    let mut lake = lake::read_lake(clients, bucket, ledger.len(), None).await?;
    let mut judgement = Judgement {
        reconciliation: Reconciliation::of(ledger, &lake.found),
        quarantine_rows: lake.quarantine_rows(),
        partitions: std::mem::take(&mut lake.partitions),
        quarantine_reasons: std::mem::take(&mut lake.quarantine_reasons),
        ..Judgement::default()
    };
    // Only the invariants a lake shows: the queues and notifications were not read.
    let checks: Checks = invariant_checks(&judgement)
        .into_iter()
        .filter(|(c, _)| lake_shows(&c.check))
        .collect();
    judgement.verdict.add_checks(checks);
    Ok(judgement)
}

/// The checks every run must pass, whatever its scenario says:
/// - the reconciliation holds (nothing missing, duplicated, misplaced, altered or unknown);
/// - the main queue is drained;
/// - every message of the DLQ was read (else its records could not be accounted for);
/// - one new-data notification per object written, one alert notification per alert written;
/// - an alert for each window the lake's prices call for and no other (when that is judged).
pub fn invariants(j: &Judgement) -> Vec<Failure> {
    invariant_checks(j)
        .into_iter()
        .filter(|(_, holds)| !holds)
        .map(|(check, _)| check)
        .collect()
}

/// Every invariant with what it expects, what the run showed, and whether it holds.
fn invariant_checks(j: &Judgement) -> Vec<(Failure, bool)> {
    let r = &j.reconciliation;
    let mut checks: Vec<(Failure, bool)> = r
        .problems()
        .into_iter()
        .map(|(name, n)| {
            let check = Failure {
                check: format!("reconciliation.{name}"),
                expected: "0".into(),
                actual: n.to_string(),
                examples: r.examples.get(name).cloned().unwrap_or_default(),
            };
            (check, n == 0)
        })
        .collect();
    checks.push((
        Failure::new(
            "queues.main",
            "drained (0 visible, 0 in flight)",
            format!(
                "{} visible, {} in flight",
                j.main_queue.visible, j.main_queue.in_flight
            ),
        ),
        j.main_queue.total() == 0,
    ));
    checks.push((
        Failure::new(
            "queues.dlq",
            format!("all {} messages read within {READ_LIMIT:?}", j.dlq.total()),
            format!("{} read", j.dlq_messages),
        ),
        j.dlq_messages >= j.dlq.total(),
    ));
    let objects: u64 = j.partitions.values().map(|p| p.objects).sum();
    let a = &j.announced;
    checks.push((
        Failure {
            check: "sns.new_data".into(),
            expected: format!("each of the {objects} objects announced once, nothing else"),
            actual: format!(
                "{} notifications: {} objects never announced, {} announced again, {} naming \
                 no object of the lake",
                j.sns.new_data, a.unannounced, a.repeated, a.stray
            ),
            examples: a.examples.clone(),
        },
        j.sns.new_data == objects && a.holds(),
    ));
    checks.extend(alert_checks(j));
    checks
}

/// The price alerts' checks: each alert object announced once and nothing else, and (unless
/// the rule said why not) the alerts written exactly those the lake's prices call for.
fn alert_checks(j: &Judgement) -> Vec<(Failure, bool)> {
    let (w, a) = (&j.alerts, &j.alerts_announced);
    let mut checks = vec![(
        Failure {
            check: "alerts.announced".into(),
            expected: format!(
                "each of the {} alert objects announced once, nothing else",
                w.written
            ),
            actual: format!(
                "{} notifications: {} alerts never announced, {} announced again, {} naming \
                 no alert object",
                j.sns.price_alert, a.unannounced, a.repeated, a.stray
            ),
            examples: a.examples.clone(),
        },
        j.sns.price_alert == w.written && a.holds(),
    )];
    checks.push((
        Failure {
            check: "alerts.windows".into(),
            expected: format!(
                "each of the {} windows the lake's prices make (less the late output) recorded \
                 with its prices, average, previous window and decision, no other; an alert, \
                 saying the same, for each of the {} whose change is beyond the threshold",
                w.windows, w.implied
            ),
            actual: format!(
                "{} recorded: {} windows without a record, {} no price makes, {} that differ; \
                 {} alerts written, {} that differ from their window",
                w.recorded, w.missing, w.unexpected, w.wrong, w.written, w.alerts_wrong
            ),
            examples: w.examples.clone(),
        },
        w.holds(),
    ));
    checks.push((
        Failure {
            check: "alerts.late".into(),
            expected: "each price that came after its window closed in the late output once, \
                       as the lake holds it"
                .into(),
            actual: format!("{} late prices, {} of them wrong", w.late, w.late_wrong),
            examples: w.late_examples.clone(),
        },
        w.late_wrong == 0,
    ));
    checks
}

/// The SNS `Message` of each delivery read from a subscribed queue.
fn messages(peeked: &observe::Peeked) -> Vec<String> {
    observe::deliveries(&peeked.bodies())
        .into_iter()
        .map(|d| d.message)
        .collect()
}

/// Latency of every sent row whose object S3 announced (and by when it was written, in windows),
/// and how many rows' objects it did not.
fn latencies(ledger: &Ledger, lake: &LakeContents) -> (LatencyHistogram, Vec<Window>, u64) {
    let mut unknown = 0;
    let started = ledger.started_epoch_ms();
    let mut timed = Vec::new();
    let histogram = lake
        .found
        .lake
        .iter()
        .filter_map(|(id, sighting)| {
            let due = ledger.due_at_ms(id)?;
            match lake
                .written_at
                .get(sighting.first.object as usize)
                .copied()
                .flatten()
            {
                Some(at) => {
                    let ms = (at - due).max(0) as u64;
                    timed.push(((at - started).max(0) as u64, ms));
                    Some(ms)
                }
                None => {
                    unknown += u64::from(sighting.rows);
                    None
                }
            }
        })
        .collect();
    (
        histogram,
        crate::verdict::latency::windows(&timed, 120),
        unknown,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_invariant_fails_on_its_own_and_says_what_and_where() {
        assert!(invariants(&Judgement::default()).is_empty());
        let mut j = Judgement::default();
        j.reconciliation.missing = 2;
        j.reconciliation
            .examples
            .insert("missing", vec!["event e (clean) is in neither ...".into()]);
        j.reconciliation.unknown = 1;
        j.main_queue.in_flight = 1;
        j.dlq = QueueDepth {
            visible: 3,
            in_flight: 0,
        };
        j.dlq_messages = 2;
        j.partitions.insert(
            "event_type=forex/dt=2026-11-23/hour=14".into(),
            PartitionSummary {
                objects: 2,
                ..PartitionSummary::default()
            },
        );
        j.sns.new_data = 1;
        j.announced.unannounced = 1;
        let failures = invariants(&j);
        let checks: Vec<&str> = failures.iter().map(|f| f.check.as_str()).collect();
        assert_eq!(
            checks,
            [
                "reconciliation.missing",
                "reconciliation.unknown",
                "queues.main",
                "queues.dlq",
                "sns.new_data"
            ]
        );
        assert_eq!(
            failures[0].to_string(),
            "reconciliation.missing: expected 0, got 2\n      event e (clean) is in neither ..."
        );
        assert_eq!(failures[3].actual, "2 read");
        assert_eq!(
            failures[4].expected,
            "each of the 2 objects announced once, nothing else"
        );
    }

    #[test]
    fn the_alert_checks_fail_on_their_own() {
        let checks =
            |j: &Judgement| -> Vec<String> { invariants(j).into_iter().map(|f| f.check).collect() };
        let mut j = Judgement {
            alerts: AlertWindows {
                written: 2,
                recorded: 5,
                windows: 5,
                implied: 2,
                missing: 1,
                unexpected: 1,
                examples: vec!["MSFT in the window from 0: no record of the window".into()],
                ..AlertWindows::default()
            },
            ..Judgement::default()
        };
        j.sns.price_alert = 2;
        assert_eq!(checks(&j), ["alerts.windows"]);
        let f = &invariants(&j)[0];
        assert_eq!(
            f.actual,
            "5 recorded: 1 windows without a record, 1 no price makes, 0 that differ; 2 alerts \
             written, 0 that differ from their window"
        );
        assert_eq!(f.examples, j.alerts.examples);
        j.sns.price_alert = 1;
        j.alerts_announced.unannounced = 1;
        assert_eq!(checks(&j), ["alerts.announced", "alerts.windows"]);
        j.alerts = AlertWindows {
            late: 3,
            late_wrong: 1,
            ..AlertWindows::default()
        };
        j.sns.price_alert = 0;
        j.alerts_announced.unannounced = 0;
        assert_eq!(checks(&j), ["alerts.late"]);
    }

    #[test]
    fn announcements_are_matched_by_key_not_counted() {
        let objects = ["s3://lake/a=1".to_string(), "s3://lake/b".to_string()];
        let note = |key: &str| {
            format!(
                r#"{{"Records":[{{"eventName":"ObjectCreated:Put","eventTime":"t","s3":{{"object":{{"key":"{key}"}}}}}}]}}"#
            )
        };
        let test = r#"{"Service":"Amazon S3","Event":"s3:TestEvent"}"#.to_string();
        let a = Announcements::of("lake", &objects, &[test, note("a%3D1"), note("b")]);
        assert!(a.holds(), "keys decoded, the test event not counted: {a:?}");
        // One never announced and another twice: the count matches, the keys do not.
        let a = Announcements::of("lake", &objects, &[note("a%3D1"), note("a%3D1")]);
        assert_eq!((a.unannounced, a.repeated, a.stray), (1, 1, 0), "{a:?}");
        assert!(a
            .examples
            .iter()
            .any(|e| e == "s3://lake/b: never announced"));
        // Text that names no object, and an object the lake does not hold.
        let messages = [note("a%3D1"), note("b"), "one too many".into(), note("c")];
        let a = Announcements::of("lake", &objects, &messages);
        assert_eq!((a.unannounced, a.repeated, a.stray), (0, 0, 2), "{a:?}");
    }
}
