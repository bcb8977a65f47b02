//! The stream's sinks side by side: the lake (the bridge -> SQS -> processor path), the raw
//! consumer's objects (one per `GetRecords` batch) and the objects Firehose wrote for the
//! Firehose consumer, each read back on its own and reconciled against the ledger by each
//! record's bytes: every event sent must be there, as many times as it was sent, and nothing
//! else. Firehose cannot overwrite, so its sink may hold more copies, never more than its
//! consumer left unacknowledged when it crashed.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde::Serialize;
use tickflow_pipeline::aws::{AwsError, Clients};

use crate::error::Result;
use crate::flows::stream::delivery::{FIREHOSE_ERROR_PREFIX, FIREHOSE_PREFIX};
use crate::flows::stream::reconcile::Ledger;
use crate::latency::LatencyHistogram;
use crate::verdict::{digest, Digest, Failure};

/// Where the raw consumer stores its objects, in the state bucket.
pub const RAW_PREFIX: &str = "raw/";
/// Examples a failure lists at most.
const EXAMPLES: usize = 3;
/// The checks the sinks' reconciliation makes, by name.
pub const CHECKS: [&str; 2] = ["sinks.raw", "sinks.firehose"];
/// How long the judge waits for Firehose's last objects beyond its buffering interval.
const FIREHOSE_GRACE: Duration = Duration::from_secs(30);
/// Pause between two listings while waiting for Firehose.
const POLL: Duration = Duration::from_millis(500);

/// One sink, as the comparison shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SinkReport {
    /// `lake`, `raw` or `firehose`.
    pub sink: String,
    /// Calls that wrote to the sink: lake uploads, raw `PutObject`s, `PutRecordBatch`es.
    pub calls: u64,
    /// Objects written.
    pub objects: u64,
    /// Bytes stored.
    pub bytes: u64,
    /// Mean object size, bytes.
    pub mean_object_bytes: u64,
    /// 99th percentile of object sizes, bytes.
    pub p99_object_bytes: u64,
    /// Records stored (lines).
    pub events: u64,
    /// Events per object.
    pub events_per_object: f64,
    /// Events sent that the sink does not hold.
    pub missing: u64,
    /// Copies beyond those sent.
    pub duplicated: u64,
    /// Copies beyond those sent that the sink may hold: events its consumer delivered but had
    /// not checkpointed when it crashed (0 for a sink that overwrites).
    pub redelivered: u64,
    /// What a reader should know about how the objects came to be.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What a sink's objects hold.
#[derive(Debug, Default)]
struct SinkRead {
    sizes: Vec<u64>,
    /// Digest of each line -> times found.
    lines: HashMap<Digest, u32>,
}

impl SinkRead {
    fn events(&self) -> u64 {
        self.lines.values().map(|n| u64::from(*n)).sum()
    }

    /// Whether every event of `ledger` is there at least once.
    fn holds_all(&self, ledger: &Ledger) -> bool {
        ledger.ids().all(|id| {
            ledger
                .get(id)
                .is_some_and(|sent| self.lines.contains_key(&sent.digest))
        })
    }
}

/// Every object under `prefix` in `bucket`, as (key, size).
///
/// # Errors
/// A failing S3 call, or a bucket that does not exist.
async fn list(clients: &Clients, bucket: &str, prefix: &str) -> Result<Vec<(String, u64)>> {
    let objects = clients.objects_under(bucket, prefix).await?;
    Ok(objects.ok_or_else(|| AwsError {
        service: "s3",
        operation: "ListObjectsV2",
        message: format!("bucket {bucket} does not exist"),
    })?)
}

/// Reads every object under `prefix` in `bucket`, its lines digested; until `ledger`'s every
/// event is there or `wait` has passed, lists again and reads the new objects.
///
/// # Errors
/// A failing S3 call.
async fn read_lines(
    clients: &Clients,
    bucket: &str,
    prefix: &str,
    ledger: &Ledger,
    wait: Duration,
) -> Result<SinkRead> {
    let deadline = Instant::now() + wait;
    let (mut read, mut seen) = (SinkRead::default(), HashSet::new());
    loop {
        for (key, _) in list(clients, bucket, prefix).await? {
            if !seen.insert(key.clone()) {
                continue;
            }
            let (_, body) = clients.get_object(bucket, &key).await?;
            read.sizes.push(body.len() as u64);
            for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                *read.lines.entry(digest(line)).or_default() += 1;
            }
        }
        if Instant::now() >= deadline || read.holds_all(ledger) {
            return Ok(read);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The lake's figures, from the listing of its data objects (the quarantine left out), with
/// the events the judge found there and the uploads that wrote them.
///
/// # Errors
/// A failing S3 call.
pub async fn lake(clients: &Clients, bucket: &str, found: u64, uploads: u64) -> Result<SinkReport> {
    let sizes: Vec<u64> = list(clients, bucket, "event_type=")
        .await?
        .into_iter()
        .map(|(_, size)| size)
        .collect();
    Ok(figures("lake", uploads, &sizes, found))
}

/// The raw sink's figures, and the failures of its reconciliation with `ledger`.
///
/// # Errors
/// A failing S3 call.
pub async fn raw(
    clients: &Clients,
    state_bucket: &str,
    ledger: &Ledger,
    puts: u64,
) -> Result<(SinkReport, Vec<Failure>)> {
    let read = read_lines(clients, state_bucket, RAW_PREFIX, ledger, Duration::ZERO).await?;
    let mut report = figures("raw", puts, &read.sizes, read.events());
    let failures = reconcile(&mut report, &read.lines, ledger);
    Ok((report, failures))
}

/// What the Firehose consumer did, for its sink's judgement.
#[derive(Debug, Clone, Copy)]
pub struct Forwarded {
    /// `PutRecordBatch` calls that Firehose answered.
    pub calls: u64,
    /// Events delivered but not checkpointed when the consumer crashed.
    pub unacknowledged: u64,
    /// The delivery stream's buffering interval: how long AWS may hold the last records.
    pub buffer_secs: u64,
}

/// The Firehose sink's figures (waiting for its last objects), and the failures of its
/// reconciliation with `ledger`: every event at least as many times as it was sent, at most
/// `unacknowledged` copies more, nothing else, and nothing in Firehose's error output.
///
/// # Errors
/// A failing S3 call.
pub async fn firehose(
    clients: &Clients,
    state_bucket: &str,
    ledger: &Ledger,
    forwarded: Forwarded,
) -> Result<(SinkReport, Vec<Failure>)> {
    let wait = Duration::from_secs(forwarded.buffer_secs) + FIREHOSE_GRACE;
    let read = read_lines(clients, state_bucket, FIREHOSE_PREFIX, ledger, wait).await?;
    let mut report = figures("firehose", forwarded.calls, &read.sizes, read.events());
    report.redelivered = forwarded.unacknowledged;
    report.note = Some(firehose_note(&report));
    let mut failures = reconcile(&mut report, &read.lines, ledger);
    let errors = list(clients, state_bucket, FIREHOSE_ERROR_PREFIX).await?;
    if !errors.is_empty() {
        failures.push(Failure::new(
            "sinks.firehose",
            format!("nothing in Firehose's error output ({FIREHOSE_ERROR_PREFIX})"),
            format!("{} objects, e.g. {}", errors.len(), errors[0].0),
        ));
    }
    Ok((report, failures))
}

/// How Firehose's objects relate to the calls that made them.
fn firehose_note(report: &SinkReport) -> String {
    let buffering = if report.objects >= report.calls {
        "one object per call: this target ignores Firehose's buffering hints (LocalStack and \
         moto do)"
    } else {
        "Firehose buffered calls into fewer objects"
    };
    format!(
        "{} PutRecordBatch calls made {} objects, {buffering}; at-least-once: a batch forwarded \
         again after a crash is stored again ({} events were unacknowledged)",
        report.calls, report.objects, report.redelivered
    )
}

/// Compares a sink's lines with the ledger: each event as many times as it was sent, and at
/// most `report.redelivered` copies more in all.
fn reconcile(
    report: &mut SinkReport,
    lines: &HashMap<Digest, u32>,
    ledger: &Ledger,
) -> Vec<Failure> {
    let (mut missing, mut duplicated) = (Vec::new(), Vec::new());
    let mut expected = 0u64;
    for id in ledger.ids() {
        let sent = ledger.get(id).expect("an id the ledger lists");
        expected += u64::from(sent.copies);
        match lines.get(&sent.digest).copied().unwrap_or(0) {
            0 => missing.push(id.to_string()),
            n if n > u32::from(sent.copies) => {
                duplicated.push((id.to_string(), n - u32::from(sent.copies)))
            }
            _ => {}
        }
    }
    report.missing = missing.len() as u64;
    report.duplicated = duplicated.iter().map(|(_, n)| u64::from(*n)).sum();
    let known = expected + report.duplicated;
    let unknown = report.events.saturating_sub(known);
    let too_many = report.duplicated > report.redelivered;
    if missing.is_empty() && !too_many && unknown == 0 {
        return Vec::new();
    }
    let shown: Vec<&str> = missing.iter().take(EXAMPLES).map(String::as_str).collect();
    let twice: Vec<&str> = duplicated
        .iter()
        .take(EXAMPLES)
        .map(|(id, _)| id.as_str())
        .collect();
    let allowed = match report.redelivered {
        0 => String::new(),
        n => format!(", at most {n} copies more (redelivered after crashes)"),
    };
    vec![Failure::new(
        &format!("sinks.{}", report.sink),
        format!("every event sent, as many times as it was sent ({expected} records){allowed}"),
        format!(
            "missing {} [{}]; {} extra copies [{}]; {unknown} records nobody sent",
            missing.len(),
            shown.join(", "),
            report.duplicated,
            twice.join(", ")
        ),
    )]
}

/// Calls, objects, bytes and events of a sink.
fn figures(sink: &str, calls: u64, sizes: &[u64], events: u64) -> SinkReport {
    let objects = sizes.len() as u64;
    let bytes: u64 = sizes.iter().sum();
    let histogram: LatencyHistogram = sizes.iter().copied().collect();
    SinkReport {
        sink: sink.into(),
        calls,
        objects,
        bytes,
        mean_object_bytes: bytes.checked_div(objects).unwrap_or(0),
        p99_object_bytes: histogram.summary().p99,
        events,
        events_per_object: events as f64 / objects.max(1) as f64,
        ..SinkReport::default()
    }
}

/// The comparison as text, one line per sink, then each sink's note.
pub fn render_text(sinks: &[SinkReport]) -> String {
    let mut out = String::from("sinks (one stream, each consumer from its own checkpoints)\n");
    for s in sinks {
        out.push_str(&format!(
            "  {:<8} {:>6} calls {:>6} objects  {:>10} bytes  mean {:>8} B  p99 {:>8} B  {:>8} events  {:>8.1} events/object  missing {}  extra {}\n",
            s.sink, s.calls, s.objects, s.bytes, s.mean_object_bytes, s.p99_object_bytes, s.events,
            s.events_per_object, s.missing, s.duplicated
        ));
    }
    for s in sinks {
        if let Some(note) = &s.note {
            out.push_str(&format!("  {}: {note}\n", s.sink));
        }
    }
    out
}

/// The comparison as an HTML table, each sink's note under it.
pub fn render_html(sinks: &[SinkReport]) -> String {
    let mut html = String::from("<h3>Sinks side by side</h3>\n");
    html.push_str(&crate::html::table(
        &[
            "sink",
            "calls",
            "objects",
            "bytes",
            "mean object B",
            "p99 object B",
            "events",
            "events/object",
            "missing",
            "extra copies",
        ],
        sinks.iter().map(|s| {
            [
                s.sink.clone(),
                s.calls.to_string(),
                s.objects.to_string(),
                s.bytes.to_string(),
                s.mean_object_bytes.to_string(),
                s.p99_object_bytes.to_string(),
                s.events.to_string(),
                format!("{:.1}", s.events_per_object),
                s.missing.to_string(),
                s.duplicated.to_string(),
            ]
        }),
    ));
    for s in sinks {
        if let Some(note) = &s.note {
            html.push_str(&format!(
                "<p><b>{}</b>: {}</p>\n",
                crate::html::escape(&s.sink),
                crate::html::escape(note)
            ));
        }
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::stream::faults::Fate;
    use std::time::Duration;

    fn ledger_of(records: &[&[u8]]) -> Ledger {
        let mut ledger = Ledger::new();
        for r in records {
            ledger.record(uuid::Uuid::new_v4(), Fate::Clean, r, 1, Duration::ZERO);
        }
        ledger
    }

    fn lines_of(records: &[&[u8]]) -> HashMap<Digest, u32> {
        let mut lines = HashMap::new();
        for r in records {
            *lines.entry(digest(r)).or_default() += 1;
        }
        lines
    }

    fn check(sent: &[&[u8]], stored: &[&[u8]]) -> (SinkReport, Vec<Failure>) {
        check_redelivered(sent, stored, 0)
    }

    fn check_redelivered(
        sent: &[&[u8]],
        stored: &[&[u8]],
        redelivered: u64,
    ) -> (SinkReport, Vec<Failure>) {
        let mut report = figures("raw", 2, &[10, 20], stored.len() as u64);
        report.redelivered = redelivered;
        let failures = reconcile(&mut report, &lines_of(stored), &ledger_of(sent));
        (report, failures)
    }

    #[test]
    fn a_sink_holding_each_event_once_passes() {
        let (report, failures) = check(&[b"a", b"b"], &[b"b", b"a"]);
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(
            (report.objects, report.bytes, report.mean_object_bytes),
            (2, 30, 15)
        );
        assert_eq!(report.events_per_object, 1.0);
    }

    #[test]
    fn a_missing_extra_or_unknown_record_fails() {
        let (report, failures) = check(&[b"a", b"b"], &[b"a"]);
        assert_eq!((report.missing, failures.len()), (1, 1));
        let (report, failures) = check(&[b"a", b"b"], &[b"a", b"a", b"b"]);
        assert_eq!((report.duplicated, failures.len()), (1, 1));
        let (_, failures) = check(&[b"a"], &[b"a", b"zzz"]);
        assert!(
            failures[0].actual.contains("1 records nobody sent"),
            "{failures:?}"
        );
    }

    #[test]
    fn copies_within_what_crashes_left_unacknowledged_pass_and_more_fail() {
        let sent: &[&[u8]] = &[b"a", b"b", b"c"];
        let (report, failures) = check_redelivered(sent, &[b"a", b"b", b"c", b"a", b"b"], 2);
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(report.duplicated, 2);
        let (_, failures) = check_redelivered(sent, &[b"a", b"b", b"c", b"a", b"b", b"c"], 2);
        assert_eq!(failures.len(), 1);
        assert!(
            failures[0].expected.contains("at most 2 copies more"),
            "{failures:?}"
        );
        let (_, failures) = check_redelivered(sent, &[b"a", b"b", b"a"], 5);
        assert!(failures[0].actual.starts_with("missing 1"), "{failures:?}");
    }

    #[test]
    fn the_firehose_note_says_whether_the_target_buffered() {
        let mut report = figures("firehose", 4, &[1, 1, 1, 1], 8);
        assert!(firehose_note(&report).contains("ignores Firehose's buffering hints"));
        report.objects = 1;
        assert!(firehose_note(&report).contains("buffered calls into fewer objects"));
    }
}
