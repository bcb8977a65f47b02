//! The verdict on a run, from its resources and its ledger alone: read the lake, the quarantine,
//! the queues and the notification queues back (changing nothing), reconcile with what was
//! sent, and check the invariants every run must meet. Because it needs nothing from the stages,
//! it judges a finished run again as well (after its resources were tampered with, in the tests
//! that prove every check can fail).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use tickflow_pipeline::aws::Clients;

use crate::assert::Failure;
use crate::error::Result;
use crate::latency::{Bucket, Latency, LatencyHistogram};
use crate::observe::{self, LakeContents, PartitionSummary, QueueDepth};
use crate::reconcile::{Ledger, Reconciliation};
use crate::report::SnsCounts;
use crate::topology::Provisioned;

/// Longest a queue read may take.
const READ_LIMIT: Duration = Duration::from_secs(20);
/// How long to wait for SNS deliveries still on their way right after a run.
pub const SETTLE: Duration = Duration::from_secs(10);

/// What judging a run found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Judgement {
    /// Whether every invariant held.
    pub passed: bool,
    /// The invariants that did not hold.
    pub failures: Vec<Failure>,
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
    /// Due -> written to S3, milliseconds, over the rows whose object carries tickflow's
    /// write-time metadata.
    pub latency_ms: Latency,
    /// The same latencies in power-of-two buckets, for the distribution plot.
    pub latency_histogram: Vec<Bucket>,
    /// Rows whose latency is unknown (their object has no write-time metadata).
    pub latency_unknown: u64,
}

impl Judgement {
    /// Records the run-status deliveries' subjects (the status is announced after the verdict).
    pub fn set_run_status(&mut self, subjects: Vec<String>) {
        self.sns.run_status = subjects.len() as u64;
        self.sns.run_status_subjects = subjects;
    }
}

/// Judges the run that `ledger` recorded, from what `provisioned` holds now. `settle` is how
/// long SNS deliveries may still be on their way ([`SETTLE`] right after a run, zero when
/// judging a run again).
///
/// # Errors
/// A failing AWS call, or an object of the lake that does not decompress.
pub async fn judge(
    clients: &Clients,
    ledger: &Ledger,
    provisioned: &Provisioned,
    settle: Duration,
) -> Result<Judgement> {
    let res = &provisioned.resources;
    let subs = &provisioned.subscriptions;
    let linger = settle.min(Duration::from_secs(1));
    let (mut lake, dlq, alerts) = tokio::try_join!(
        observe::read_lake(clients, &res.bucket, ledger.len()),
        observe::peek_all(clients, &res.dlq_url, READ_LIMIT, Duration::ZERO),
        observe::peek_all(clients, &subs.price_alert, READ_LIMIT, linger),
    )?;
    lake.found.dead_letters = observe::dead_letters(&dlq.messages);
    let reconciliation = Reconciliation::of(ledger, &lake.found);
    let (latency, latency_unknown) = latencies(ledger, &lake);
    observe::wait_for_messages(clients, &subs.new_data, lake.objects(), settle).await;
    let new_data = observe::peek_all(clients, &subs.new_data, READ_LIMIT, linger).await?;
    let alerts = observe::deliveries(&alerts.bodies());
    let sns = SnsCounts {
        new_data: new_data.messages.len() as u64,
        price_alert: alerts.len() as u64,
        alert_symbols: alerts.iter().map(|d| alert_symbol(&d.message)).collect(),
        ..SnsCounts::default()
    };
    let mut judgement = Judgement {
        passed: false,
        failures: Vec::new(),
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
        latency_unknown,
        reconciliation,
        partitions: std::mem::take(&mut lake.partitions),
        quarantine_reasons: std::mem::take(&mut lake.quarantine_reasons),
    };
    judgement.failures = invariants(&judgement);
    judgement.passed = judgement.failures.is_empty();
    Ok(judgement)
}

/// The checks every run must pass, whatever its scenario says:
/// - the reconciliation holds (nothing missing, duplicated, misplaced, altered or unknown);
/// - the main queue is drained;
/// - every message of the DLQ was read (else its records could not be accounted for);
/// - one new-data notification per object written.
pub fn invariants(j: &Judgement) -> Vec<Failure> {
    let r = &j.reconciliation;
    let mut failures: Vec<Failure> = r
        .problems()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| Failure {
            check: format!("reconciliation.{name}"),
            expected: "0".into(),
            actual: n.to_string(),
            examples: r.examples.get(name).cloned().unwrap_or_default(),
        })
        .collect();
    if j.main_queue.total() > 0 {
        failures.push(Failure::new(
            "queues.main",
            "drained (0 visible, 0 in flight)",
            format!(
                "{} visible, {} in flight",
                j.main_queue.visible, j.main_queue.in_flight
            ),
        ));
    }
    if j.dlq_messages < j.dlq.total() {
        failures.push(Failure::new(
            "queues.dlq",
            format!("all {} messages read within {READ_LIMIT:?}", j.dlq.total()),
            format!("{} read", j.dlq_messages),
        ));
    }
    let objects: u64 = j.partitions.values().map(|p| p.objects).sum();
    if j.sns.new_data != objects {
        failures.push(Failure::new(
            "sns.new_data",
            format!("{objects} (one per object written)"),
            j.sns.new_data.to_string(),
        ));
    }
    failures
}

/// Latency of every sent row whose object says when it was written, and how many rows do not.
fn latencies(ledger: &Ledger, lake: &LakeContents) -> (LatencyHistogram, u64) {
    let mut unknown = 0;
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
                Some(at) => Some((at - due).max(0) as u64),
                None => {
                    unknown += u64::from(sighting.rows);
                    None
                }
            }
        })
        .collect();
    (histogram, unknown)
}

/// The run-status deliveries' subjects, waiting up to `settle` for at least `expected`.
///
/// # Errors
/// A failing SQS call.
pub async fn run_status(
    clients: &Clients,
    queue_url: &str,
    expected: u64,
    settle: Duration,
) -> Result<Vec<String>> {
    observe::wait_for_messages(clients, queue_url, expected, settle).await;
    let linger = settle.min(Duration::from_secs(1));
    let status = observe::peek_all(clients, queue_url, READ_LIMIT, linger).await?;
    Ok(observe::deliveries(&status.bodies())
        .into_iter()
        .map(|d| d.subject)
        .collect())
}

fn alert_symbol(message: &str) -> String {
    serde_json::from_str::<serde_json::Value>(message)
        .ok()
        .and_then(|v| v["symbol"].as_str().map(str::to_string))
        .unwrap_or_default()
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
        assert_eq!(failures[4].expected, "2 (one per object written)");
    }
}
