//! The stream's sinks side by side: the lake (the bridge -> SQS -> processor path) and the raw
//! consumer's objects (one per `GetRecords` batch), each read back on its own. The raw sink is
//! reconciled against the ledger by each record's bytes: every event sent must be there, as
//! many times as it was sent, and nothing else.

use std::collections::HashMap;

use serde::Serialize;
use tickflow_pipeline::aws::{AwsError, Clients};

use crate::error::Result;
use crate::flows::stream::reconcile::Ledger;
use crate::latency::LatencyHistogram;
use crate::verdict::{digest, Digest, Failure};

/// Where the raw consumer stores its objects, in the state bucket.
pub const RAW_PREFIX: &str = "raw/";
/// Examples a failure lists at most.
const EXAMPLES: usize = 3;

/// One sink, as the comparison shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SinkReport {
    /// `lake` or `raw`.
    pub sink: String,
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
}

/// What a sink's objects hold.
#[derive(Debug, Default)]
struct SinkRead {
    sizes: Vec<u64>,
    /// Digest of each line -> times found.
    lines: HashMap<Digest, u32>,
}

/// Reads every object under `prefix` in `bucket` (lines digested when `lines`).
///
/// # Errors
/// A failing S3 call.
async fn read(clients: &Clients, bucket: &str, prefix: &str, lines: bool) -> Result<SinkRead> {
    let keys = clients
        .object_keys_under(bucket, prefix)
        .await?
        .ok_or_else(|| AwsError {
            service: "s3",
            operation: "ListObjectsV2",
            message: format!("bucket {bucket} does not exist"),
        })?;
    let mut read = SinkRead::default();
    for key in keys {
        let (_, body) = clients.get_object(bucket, &key).await?;
        read.sizes.push(body.len() as u64);
        if lines {
            for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                *read.lines.entry(digest(line)).or_default() += 1;
            }
        }
    }
    Ok(read)
}

/// The lake's figures: its data objects (the quarantine left out) and the events found there.
///
/// # Errors
/// A failing S3 call.
pub async fn lake(clients: &Clients, bucket: &str, found: u64) -> Result<SinkReport> {
    let read = read(clients, bucket, "event_type=", false).await?;
    Ok(figures("lake", &read.sizes, found))
}

/// The raw sink's figures, and the failures of its reconciliation with `ledger`.
///
/// # Errors
/// A failing S3 call.
pub async fn raw(
    clients: &Clients,
    state_bucket: &str,
    ledger: &Ledger,
) -> Result<(SinkReport, Vec<Failure>)> {
    let read = read(clients, state_bucket, RAW_PREFIX, true).await?;
    let events = read.lines.values().map(|n| u64::from(*n)).sum();
    let mut report = figures("raw", &read.sizes, events);
    let failures = reconcile(&mut report, &read.lines, ledger);
    Ok((report, failures))
}

/// Compares a sink's lines with the ledger: each event as many times as it was sent.
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
    let unknown = report.events.saturating_sub(expected + report.duplicated);
    let mut failures = Vec::new();
    if !missing.is_empty() || !duplicated.is_empty() || unknown > 0 {
        let shown: Vec<&str> = missing.iter().take(EXAMPLES).map(String::as_str).collect();
        let twice: Vec<&str> = duplicated
            .iter()
            .take(EXAMPLES)
            .map(|(id, _)| id.as_str())
            .collect();
        failures.push(Failure::new(
            &format!("sinks.{}", report.sink),
            format!("every event sent, exactly as many times as it was sent ({expected} records)"),
            format!(
                "missing {} [{}]; {} extra copies [{}]; {unknown} records nobody sent",
                missing.len(),
                shown.join(", "),
                report.duplicated,
                twice.join(", ")
            ),
        ));
    }
    failures
}

/// Objects, bytes and events of a sink.
fn figures(sink: &str, sizes: &[u64], events: u64) -> SinkReport {
    let objects = sizes.len() as u64;
    let bytes: u64 = sizes.iter().sum();
    let histogram: LatencyHistogram = sizes.iter().copied().collect();
    SinkReport {
        sink: sink.into(),
        objects,
        bytes,
        mean_object_bytes: bytes.checked_div(objects).unwrap_or(0),
        p99_object_bytes: histogram.summary().p99,
        events,
        events_per_object: events as f64 / objects.max(1) as f64,
        ..SinkReport::default()
    }
}

/// The comparison as text, one line per sink.
pub fn render_text(sinks: &[SinkReport]) -> String {
    let mut out = String::from("sinks (one stream, each consumer from its own checkpoints)\n");
    for s in sinks {
        out.push_str(&format!(
            "  {:<5} {:>6} objects  {:>10} bytes  mean {:>8} B  p99 {:>8} B  {:>8} events  {:>8.1} events/object  missing {}  extra {}\n",
            s.sink, s.objects, s.bytes, s.mean_object_bytes, s.p99_object_bytes, s.events,
            s.events_per_object, s.missing, s.duplicated
        ));
    }
    out
}

/// The comparison as an HTML table.
pub fn render_html(sinks: &[SinkReport]) -> String {
    let mut html = String::from("<h3>Sinks side by side</h3>\n");
    html.push_str(&crate::html::table(
        &[
            "sink",
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
        let mut report = figures("raw", &[10, 20], stored.len() as u64);
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
}
