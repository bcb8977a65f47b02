//! The stream's sinks (lake, raw, Firehose) read back and reconciled.
//!
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
use crate::flows::stream::judge::reconcile::Ledger;
use crate::flows::stream::resources::delivery::{FIREHOSE_ERROR_PREFIX, FIREHOSE_PREFIX};
use crate::verdict::latency::LatencyHistogram;
use crate::verdict::{digest, Digest, Failure};

/// Where the raw consumer stores its objects, in the state bucket.
pub const RAW_PREFIX: &str = "raw/";
/// Examples a failure lists at most.
const EXAMPLES: usize = 3;
/// The checks the sinks' reconciliation makes, by name.
pub const CHECKS: [&str; 2] = [RAW_CHECK, FIREHOSE_CHECK];
/// The raw sink's check.
pub const RAW_CHECK: &str = "sinks.raw";
/// The Firehose sink's check.
pub const FIREHOSE_CHECK: &str = "sinks.firehose";
/// How long the judge waits for Firehose's last objects beyond its buffering interval.
const FIREHOSE_GRACE: Duration = Duration::from_secs(30);
/// How long Firehose's objects must hold still once there are as many as calls.
const FIREHOSE_QUIET: Duration = Duration::from_secs(2);
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

/// What a sink's objects hold, read back once for its reconciliation and the history.
#[derive(Debug, Default)]
pub struct SinkRead {
    sizes: Vec<u64>,
    /// Digest of each line -> times found.
    lines: HashMap<Digest, u32>,
}

impl SinkRead {
    /// Each line's digest, and how many times the sink holds it.
    pub fn lines(&self) -> &HashMap<Digest, u32> {
        &self.lines
    }

    fn events(&self) -> u64 {
        self.lines.values().map(|n| u64::from(*n)).sum()
    }

    /// Reads `key`'s lines into the tally.
    async fn absorb(&mut self, clients: &Clients, bucket: &str, key: &str) -> Result<()> {
        let (_, body) = clients.get_object(bucket, key).await?;
        self.sizes.push(body.len() as u64);
        for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            *self.lines.entry(digest(line)).or_default() += 1;
        }
        Ok(())
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

/// Reads every object under `prefix` in `bucket`, its lines digested.
///
/// # Errors
/// A failing S3 call.
async fn read_lines(clients: &Clients, bucket: &str, prefix: &str) -> Result<SinkRead> {
    let mut read = SinkRead::default();
    for (key, _) in list(clients, bucket, prefix).await? {
        read.absorb(clients, bucket, &key).await?;
    }
    Ok(read)
}

/// Reads Firehose's objects as they come, until its buffer interval (and [`FIREHOSE_GRACE`])
/// has passed since the last new one: AWS writes what it holds at least that often, so nothing
/// is still held then. A target that wrote one object per call (LocalStack, moto) has written
/// them all once there are as many objects as calls, and held still a moment.
///
/// # Errors
/// A failing S3 call.
pub async fn read_firehose(
    clients: &Clients,
    bucket: &str,
    forwarded: &Forwarded,
) -> Result<SinkRead> {
    let (calls, buffer) = (forwarded.calls, Duration::from_secs(forwarded.buffer_secs));
    let (mut read, mut seen) = (SinkRead::default(), HashSet::new());
    let mut last_new = Instant::now();
    loop {
        for (key, _) in list(clients, bucket, FIREHOSE_PREFIX).await? {
            if seen.insert(key.clone()) {
                read.absorb(clients, bucket, &key).await?;
                last_new = Instant::now();
            }
        }
        let quiet = last_new.elapsed();
        let one_per_call = seen.len() as u64 >= calls && quiet >= FIREHOSE_QUIET;
        if one_per_call || quiet >= buffer + FIREHOSE_GRACE {
            return Ok(read);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The lake's figures, from the listing of its data objects (the quarantine left out), with
/// what the reconciliation found there and the uploads that wrote them: its missing events and
/// its extra rows are the reconciliation's.
///
/// # Errors
/// A failing S3 call.
pub async fn lake(
    clients: &Clients,
    bucket: &str,
    found: &crate::flows::stream::judge::reconcile::Reconciliation,
    uploads: u64,
) -> Result<SinkReport> {
    let sizes: Vec<u64> = list(clients, bucket, "event_type=")
        .await?
        .into_iter()
        .map(|(_, size)| size)
        .collect();
    Ok(SinkReport {
        missing: found.missing,
        duplicated: found.duplicated,
        ..figures("lake", uploads, &sizes, found.found)
    })
}

/// The raw consumer's objects, read back.
///
/// # Errors
/// A failing S3 call.
pub async fn read_raw(clients: &Clients, state_bucket: &str) -> Result<SinkRead> {
    read_lines(clients, state_bucket, RAW_PREFIX).await
}

/// The raw sink's figures from what was `read`, and the failures of its reconciliation with
/// `ledger`.
pub fn raw(read: &SinkRead, ledger: &Ledger, puts: u64) -> (SinkReport, Vec<Failure>) {
    let mut report = figures("raw", puts, &read.sizes, read.events());
    let failures = reconcile(&mut report, &read.lines, ledger, &HashMap::new());
    (report, failures)
}

/// What the Firehose consumer did, for its sink's judgement.
#[derive(Debug, Clone, Default)]
pub struct Forwarded {
    /// `PutRecordBatch` calls that Firehose answered.
    pub calls: u64,
    /// The records the consumer delivered but had not checkpointed when it crashed, by digest,
    /// each as many times as it was left so: how many more copies of it Firehose may hold.
    pub redelivered: HashMap<Digest, u32>,
    /// The delivery stream's buffering interval: how long AWS may hold the last records.
    pub buffer_secs: u64,
}

/// The Firehose sink's figures from what was `read`, and the failures of its reconciliation
/// with `ledger`: every record as many times as it was sent, each at most as many copies more
/// as its batches were left unacknowledged, nothing else, and nothing in Firehose's error
/// output.
///
/// # Errors
/// A failing S3 call.
pub async fn firehose(
    clients: &Clients,
    state_bucket: &str,
    ledger: &Ledger,
    forwarded: &Forwarded,
    read: &SinkRead,
) -> Result<(SinkReport, Vec<Failure>)> {
    let mut report = figures("firehose", forwarded.calls, &read.sizes, read.events());
    report.redelivered = forwarded.redelivered.values().map(|n| u64::from(*n)).sum();
    report.note = Some(firehose_note(&report));
    let mut failures = reconcile(&mut report, &read.lines, ledger, &forwarded.redelivered);
    let errors = list(clients, state_bucket, FIREHOSE_ERROR_PREFIX).await?;
    if !errors.is_empty() {
        failures.push(Failure::new(
            FIREHOSE_CHECK,
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

/// Compares a sink's lines with the ledger: each record as many times as it was sent (a copy
/// short is missing), at most as many copies more as `redelivered` allows it, and every line
/// one of a record sent (lines are counted by digest: an unknown line never offsets a missing
/// copy).
fn reconcile(
    report: &mut SinkReport,
    lines: &HashMap<Digest, u32>,
    ledger: &Ledger,
    redelivered: &HashMap<Digest, u32>,
) -> Vec<Failure> {
    let (mut missing, mut beyond) = (Vec::new(), Vec::new());
    let (mut expected, mut sent) = (0u64, HashSet::new());
    report.missing = 0;
    report.duplicated = 0;
    for (digest, copies, name) in ledger.records() {
        expected += u64::from(copies);
        sent.insert(digest);
        let held = lines.get(&digest).copied().unwrap_or(0);
        if held < copies {
            report.missing += u64::from(copies - held);
            missing.push(name.to_string());
        } else if held > copies {
            let extra = held - copies;
            report.duplicated += u64::from(extra);
            let allowed = redelivered.get(&digest).copied().unwrap_or(0);
            if extra > allowed {
                beyond.push(format!("{name} x{}", extra - allowed));
            }
        }
    }
    let unknown: u64 = lines
        .iter()
        .filter(|(d, _)| !sent.contains(*d))
        .map(|(_, n)| u64::from(*n))
        .sum();
    if missing.is_empty() && beyond.is_empty() && unknown == 0 {
        return Vec::new();
    }
    missing.sort();
    beyond.sort();
    let allowed = match report.redelivered {
        0 => String::new(),
        n => format!(", each batch left unacknowledged by a crash at most once more ({n} copies)"),
    };
    vec![Failure::new(
        &format!("sinks.{}", report.sink),
        format!("every record sent, as many times as it was sent ({expected} records){allowed}"),
        format!(
            "missing {} copies [{}]; {} extra copies, {} beyond what crashes allow [{}]; \
             {unknown} records nobody sent",
            report.missing,
            missing
                .iter()
                .take(EXAMPLES)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            report.duplicated,
            beyond.len(),
            beyond
                .iter()
                .take(EXAMPLES)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
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
    html.push_str(&crate::render::html::table(
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
                crate::render::html::escape(&s.sink),
                crate::render::html::escape(note)
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

    /// A ledger of `records`, each sent once, or twice when it starts with `2`.
    fn ledger_of(records: &[&[u8]]) -> Ledger {
        let mut ledger = Ledger::new();
        for r in records {
            let copies = if r.starts_with(b"2") { 2 } else { 1 };
            ledger.record(uuid::Uuid::new_v4(), Fate::Clean, r, copies, Duration::ZERO);
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
        check_redelivered(sent, stored, &[])
    }

    /// `redelivered`: the records a crash left unacknowledged (each once more allowed).
    fn check_redelivered(
        sent: &[&[u8]],
        stored: &[&[u8]],
        redelivered: &[&[u8]],
    ) -> (SinkReport, Vec<Failure>) {
        let mut report = figures("raw", 2, &[10, 20], stored.len() as u64);
        let allowed = lines_of(redelivered);
        report.redelivered = redelivered.len() as u64;
        let failures = reconcile(&mut report, &lines_of(stored), &ledger_of(sent), &allowed);
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
    fn a_record_sent_twice_and_stored_once_is_missing_a_copy_that_no_stranger_offsets() {
        // "2x" was sent twice (a duplicate fault): one copy of it is not enough.
        let (report, failures) = check(&[b"a", b"2x"], &[b"a", b"2x"]);
        assert_eq!((report.missing, failures.len()), (1, 1), "{failures:?}");
        // A line nobody sent beside it is counted, not taken for the missing copy.
        let (report, failures) = check(&[b"a", b"2x"], &[b"a", b"2x", b"zzz"]);
        assert_eq!(report.missing, 1);
        assert!(
            failures[0].actual.contains("; 1 records nobody sent"),
            "{failures:?}"
        );
        let (_, failures) = check(&[b"a", b"2x"], &[b"a", b"2x", b"2x"]);
        assert!(failures.is_empty(), "{failures:?}");
    }

    #[test]
    fn copies_are_allowed_per_record_left_unacknowledged_and_no_other() {
        let sent: &[&[u8]] = &[b"a", b"b", b"c"];
        let (report, failures) =
            check_redelivered(sent, &[b"a", b"b", b"c", b"a", b"b"], &[b"a", b"b"]);
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(report.duplicated, 2);
        // As many extra copies in all, but of a record no crash left unacknowledged.
        let (_, failures) = check_redelivered(sent, &[b"a", b"b", b"c", b"a", b"c"], &[b"a", b"b"]);
        assert_eq!(failures.len(), 1);
        assert!(
            failures[0].actual.contains("1 beyond what crashes allow"),
            "{failures:?}"
        );
        assert!(
            failures[0]
                .expected
                .contains("at most once more (2 copies)"),
            "{failures:?}"
        );
        let (_, failures) = check_redelivered(sent, &[b"a", b"b", b"a"], &[b"a", b"b"]);
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
