//! The price-file flow's verdict, from what the run left.
//!
//! The price-file flow's verdict, from what the run left (the bucket's prefixes, the
//! quarantine, the alerts delivered, the queues) against what the generator says the run must
//! produce. Every uploaded file must be found exactly once, as CSV with its record's values or
//! quarantined with its kind; every alert the records call for, and no other, must arrive once.
//! CSV objects are read with the harness's own reading of the format, not the pipeline's.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};
use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::price_files::analysis::Alert;
use tickflow_pipeline::price_files::etl::Quarantined;
use tickflow_pipeline::price_files::{layout, MalformedKind, PriceRecord};

use super::generate::{Outcome, PriceFile};
use super::history::FileRecorder;
use super::report::PriceFilesReport;
use super::topology::PriceFileResources;
use crate::error::{Error, Result};
use crate::observe;
use crate::verdict::{Checks, Failure};

/// Objects read at once.
const READS: usize = 32;

/// What the run must produce.
pub struct Expected<'a> {
    /// Every uploaded file and what it must become.
    pub files: &'a [PriceFile],
    /// The alerts.
    pub alerts: &'a [Alert],
}

/// Judges a price-file run from what its resources hold, with the `history` the run recorded
/// (none when judged again afterwards).
///
/// # Errors
/// An AWS call failing while reading back, or an object that cannot be read.
pub async fn judge(
    clients: &Clients,
    res: &PriceFileResources,
    expected: &Expected<'_>,
    history: Option<&FileRecorder>,
) -> Result<PriceFilesReport> {
    let keys = clients.object_keys(&res.bucket).await?.unwrap_or_default();
    let under = |prefix: &str| -> Vec<String> {
        keys.iter()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect()
    };
    let (ingested, csv_keys, quarantine_keys, alert_keys) = (
        under(layout::INGESTION),
        under(layout::ANALYSIS),
        under(layout::QUARANTINE),
        under(layout::ALERTS),
    );
    let records = expected
        .files
        .iter()
        .filter(|f| matches!(f.outcome, Outcome::Record(_)))
        .count() as u64;
    let mut report = PriceFilesReport {
        files: expected.files.len() as u64,
        expected_records: records,
        expected_malformed: expected.files.len() as u64 - records,
        ingested_objects: ingested.len() as u64,
        csv_objects: csv_keys.len() as u64,
        quarantined_objects: quarantine_keys.len() as u64,
        expected_alerts: expected.alerts.len() as u64,
        ..PriceFilesReport::default()
    };
    let mut checks = Checks::default();
    let (objects, holds) = objects_check(&report);
    checks.record(objects, holds);
    let csv = read_all(clients, &res.bucket, &csv_keys, read_csv).await?;
    let quarantined = read_all(clients, &res.bucket, &quarantine_keys, read_quarantine).await?;
    reconcile(expected.files, &csv, &quarantined, &mut report, &mut checks);
    report.alerts = check_alerts(clients, res, expected.alerts, &mut checks).await?;
    let objects = read_all(clients, &res.bucket, &alert_keys, read_alert).await?;
    check_alert_objects(expected.alerts, &objects, &mut checks);
    let (queues, holds) = queues_check(clients, res, &mut report).await?;
    checks.record(queues, holds);
    report.verdict.add_checks(checks);
    if let Some(history) = history {
        let failed = !report.verdict.passed();
        let (summary, explained) = history.judge(&csv_keys, &quarantine_keys, &alert_keys, failed);
        report.verdict.add_failures(explained);
        report.history = Some(summary);
    }
    Ok(report)
}

/// Every uploaded file is under the ingestion prefix, and each made either one CSV object or
/// one quarantine entry.
fn objects_check(report: &PriceFilesReport) -> (Failure, bool) {
    let counts = [
        ("ingested", report.files, report.ingested_objects),
        ("csv", report.expected_records, report.csv_objects),
        (
            "quarantined",
            report.expected_malformed,
            report.quarantined_objects,
        ),
    ];
    let show = |pick: fn(&(&str, u64, u64)) -> u64| {
        counts
            .iter()
            .map(|c| format!("{} {}", c.0, pick(c)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let check = Failure::new("price_files.objects", show(|c| c.1), show(|c| c.2));
    (check, counts.iter().all(|(_, want, got)| want == got))
}

/// Every step's queue drained (counting what is left into `report`).
async fn queues_check(
    clients: &Clients,
    res: &PriceFileResources,
    report: &mut PriceFilesReport,
) -> Result<(Failure, bool)> {
    for (queue, url) in res.pipeline_queues() {
        let depth = observe::queue_depth(clients, url).await?;
        if depth.total() > 0 {
            report.queues.insert(queue.to_string(), depth.total());
        }
    }
    let check = Failure::new(
        "price_files.queues",
        "every queue drained",
        match report.queues.len() {
            0 => "0 messages left".to_string(),
            _ => format!("{:?} messages left", report.queues),
        },
    );
    Ok((check, report.queues.is_empty()))
}

/// Reads every object of `keys` with `read`, several at once, keyed by object key.
async fn read_all<T>(
    clients: &Clients,
    bucket: &str,
    keys: &[String],
    read: fn(&str, &[u8]) -> std::result::Result<T, String>,
) -> Result<Vec<(String, T)>> {
    futures_util::stream::iter(keys)
        .map(|key| async move {
            let (_, body) = clients.get_object(bucket, key).await?;
            let value =
                read(key, &body).map_err(|e| Error::Input(format!("s3://{bucket}/{key}: {e}")))?;
            Ok::<_, Error>((key.clone(), value))
        })
        .buffer_unordered(READS)
        .try_collect()
        .await
}

/// A CSV object as the harness reads the format: the header, then one row of nine fields
/// whose last is the source key.
fn read_csv(_key: &str, body: &[u8]) -> std::result::Result<(PriceRecord, String), String> {
    let text = std::str::from_utf8(body).map_err(|_| "not UTF-8".to_string())?;
    let mut lines = text.split('\n');
    if lines.next() != Some(layout::CSV_HEADER) {
        return Err("another header".into());
    }
    let row = lines.next().unwrap_or_default();
    if lines.any(|l| !l.is_empty()) {
        return Err("more than one row".into());
    }
    let mut fields = row.splitn(9, ',');
    let mut next = || fields.next().unwrap_or_default();
    let asset = next().to_string();
    let date = DateTime::parse_from_rfc3339(next())
        .map_err(|e| format!("date: {e}"))?
        .with_timezone(&Utc);
    let mut number = || next().parse::<f64>().map_err(|e| format!("a number: {e}"));
    let record = PriceRecord {
        asset,
        date,
        open: number()?,
        high: number()?,
        low: number()?,
        close: number()?,
        volume: number()?,
        weighted_average: number()?,
    };
    Ok((record, next().to_string()))
}

fn read_quarantine(_key: &str, body: &[u8]) -> std::result::Result<Quarantined, String> {
    serde_json::from_slice(body).map_err(|e| format!("not a quarantine entry: {e}"))
}

/// An alert object's body: the alert as announced (`None` when it is not one).
fn read_alert(_key: &str, body: &[u8]) -> std::result::Result<Option<Alert>, String> {
    Ok(serde_json::from_slice(body).ok())
}

/// Every uploaded file found exactly once, as CSV with its values or quarantined with its kind.
fn reconcile(
    files: &[PriceFile],
    csv: &[(String, (PriceRecord, String))],
    quarantined: &[(String, Quarantined)],
    report: &mut PriceFilesReport,
    checks: &mut Checks,
) {
    let mut found = places(csv, quarantined, report);
    let read = Read {
        csv: csv.iter().map(|(k, (r, _))| (k.as_str(), r)).collect(),
        quarantine: quarantined.iter().map(|(k, q)| (k.as_str(), q)).collect(),
    };
    let mut findings = Findings::default();
    for file in files {
        let places = found.remove(file.key.as_str()).unwrap_or_default();
        match places[..] {
            [] => findings
                .missing
                .push(format!("{} is in neither CSV nor quarantine", file.key)),
            [place] => findings.judge(file, place, &read, report),
            _ => findings
                .twice
                .push(format!("{} found at {places:?}", file.key)),
        }
    }
    let unknown: Vec<String> = found
        .into_iter()
        .map(|(source, at)| format!("{at:?} name {source:?}, which was never uploaded"))
        .collect();
    report.missing = findings.missing.len() as u64;
    report.twice = findings.twice.len() as u64;
    report.unknown = unknown.len() as u64;
    for (check, list, expected) in [
        (
            "price_files.missing",
            findings.missing,
            "every file as CSV or quarantined",
        ),
        ("price_files.twice", findings.twice, "every file once"),
        ("price_files.unknown", unknown, "only uploaded files"),
        (
            "price_files.values",
            findings.wrong,
            "each file's record or kind",
        ),
    ] {
        checks.offenders(
            check,
            expected,
            format!("{} files differ", list.len()),
            list,
        );
    }
}

/// Where each uploaded file's key was found (its CSV objects and quarantine entries), counting
/// the quarantine's kinds into `report`.
fn places<'a>(
    csv: &'a [(String, (PriceRecord, String))],
    quarantined: &'a [(String, Quarantined)],
    report: &mut PriceFilesReport,
) -> HashMap<&'a str, Vec<&'a str>> {
    let mut found: HashMap<&str, Vec<&str>> = HashMap::new();
    for (key, (_, source)) in csv {
        found.entry(source.as_str()).or_default().push(key.as_str());
    }
    for (key, entry) in quarantined {
        found
            .entry(entry.source_key.as_str())
            .or_default()
            .push(key.as_str());
        *report
            .quarantine_kinds
            .entry(format!("{:?}", entry.kind))
            .or_default() += 1;
    }
    found
}

/// The CSV records and quarantine entries read back, by their object's key.
struct Read<'a> {
    csv: HashMap<&'a str, &'a PriceRecord>,
    quarantine: HashMap<&'a str, &'a Quarantined>,
}

/// What went wrong, file by file, one line each.
#[derive(Default)]
struct Findings {
    missing: Vec<String>,
    twice: Vec<String>,
    wrong: Vec<String>,
}

impl Findings {
    /// Judges `file`, found once at `place`: the right kind of object, at its home key, holding
    /// its record or saying its kind.
    fn judge(&mut self, file: &PriceFile, place: &str, read: &Read, report: &mut PriceFilesReport) {
        match (
            &file.outcome,
            read.csv.get(place),
            read.quarantine.get(place),
        ) {
            (Outcome::Record(want), Some(got), _) => {
                report.found_as_csv += 1;
                report.values_checked += 1;
                if *got != want {
                    self.wrong
                        .push(format!("{place}: expected {want:?}, got {got:?}"));
                }
                // Placed by asset and market time: the analysis finds a predecessor by key.
                let home = layout::csv_key(&want.asset, want.date);
                if place != home {
                    self.wrong.push(format!(
                        "{place}: the record of {} belongs at {home}",
                        file.key
                    ));
                }
            }
            (Outcome::Malformed(kind), _, Some(entry)) => {
                report.found_quarantined += 1;
                let home = layout::quarantine_key(&file.key);
                if place != home {
                    self.wrong.push(format!(
                        "{place}: the quarantine entry of {} belongs at {home}",
                        file.key
                    ));
                }
                if entry.kind != *kind {
                    self.wrong.push(format!(
                        "{}: expected quarantined as {kind:?}, got {:?} ({:?})",
                        file.key, entry.kind, entry.reason
                    ));
                } else if let Some(why) = reason_differs(file, *kind, entry) {
                    self.wrong.push(format!("{}: {why}", file.key));
                }
            }
            (Outcome::Record(_), None, Some(entry)) => {
                report.found_quarantined += 1;
                self.wrong.push(format!(
                    "{}: a price record, quarantined: {}",
                    file.key, entry.reason
                ));
            }
            (Outcome::Malformed(kind), Some(_), _) => {
                report.found_as_csv += 1;
                self.wrong.push(format!(
                    "{}: {kind:?}, yet written as CSV {place}",
                    file.key
                ));
            }
            _ => self.missing.push(format!(
                "{} points at {place}, which is unreadable",
                file.key
            )),
        }
    }
}

/// Whether a quarantine entry says what is wrong with `file` as it was made `kind`: its size,
/// and the evidence of the malformation (the field left out, the format that does not parse,
/// the size beyond the limit); `None` when it does.
fn reason_differs(file: &PriceFile, kind: MalformedKind, entry: &Quarantined) -> Option<String> {
    let size = file.body.len();
    if entry.size != size {
        return Some(format!(
            "quarantined as {} bytes, uploaded {size}",
            entry.size
        ));
    }
    let format = file
        .key
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_uppercase();
    let evidence = match kind {
        MalformedKind::MissingField | MalformedKind::InvalidField => "weightedAverage".to_string(),
        MalformedKind::Unparsable => format,
        MalformedKind::TooLarge => size.to_string(),
        MalformedKind::UnknownFormat => String::new(),
    };
    let says = !entry.reason.trim().is_empty() && entry.reason.contains(&evidence);
    (!says).then(|| {
        format!(
            "quarantined as {kind:?} with the reason {:?}, which does not name {evidence:?}",
            entry.reason
        )
    })
}

/// The alert objects against the expected alerts: one each, at its key, holding the alert as
/// announced, and no other.
fn check_alert_objects(
    expected: &[Alert],
    objects: &[(String, Option<Alert>)],
    checks: &mut Checks,
) {
    let mut found: BTreeMap<&str, Option<&Alert>> = objects
        .iter()
        .map(|(key, alert)| (key.as_str(), alert.as_ref()))
        .collect();
    let mut wrong = Vec::new();
    for want in expected {
        let key = layout::alert_key(&want.asset, want.latest_date);
        match found.remove(key.as_str()) {
            None => wrong.push(format!("{key}: no object for the alert")),
            Some(None) => wrong.push(format!("{key}: does not hold an alert")),
            Some(Some(alert)) => {
                wrong.extend(alert_differs(want, alert).map(|d| format!("{key}: {d}")))
            }
        }
    }
    wrong.extend(
        found
            .into_keys()
            .map(|key| format!("{key}: an alert object no alert calls for")),
    );
    checks.offenders(
        "price_files.alert_objects",
        format!("one object per alert ({}), holding it", expected.len()),
        format!("{} objects, {} differ", objects.len(), wrong.len()),
        wrong,
    );
}

/// How `got` differs from the alert `want` (`None`: it does not), within rounding.
fn alert_differs(want: &Alert, got: &Alert) -> Option<String> {
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300);
    let same = got.asset == want.asset
        && got.previous_date == want.previous_date
        && got.latest_date == want.latest_date
        && close(
            got.previous_weighted_average,
            want.previous_weighted_average,
        )
        && close(got.latest_weighted_average, want.latest_weighted_average)
        && (got.change_pct - want.change_pct).abs() <= 1e-6 * want.change_pct.abs().max(1.0);
    (!same).then(|| {
        format!(
            "says {} {} -> {} ({:.4}%), the records {} -> {} ({:.4}%)",
            got.asset,
            got.previous_weighted_average,
            got.latest_weighted_average,
            got.change_pct,
            want.previous_weighted_average,
            want.latest_weighted_average,
            want.change_pct
        )
    })
}

/// The alerts delivered against the expected ones: each an S3 notification of an alert object
/// on the alert topic, the same (asset, previous, latest) pairs, each once, saying the records'
/// weighted averages and change. Returns how many arrived.
async fn check_alerts(
    clients: &Clients,
    res: &PriceFileResources,
    expected: &[Alert],
    checks: &mut Checks,
) -> Result<u64> {
    let found = observe::announcements(
        clients,
        &res.alert_queue,
        &res.bucket,
        expected.len() as u64,
        crate::observe::SETTLE,
    )
    .await?;
    let delivered = (found.announced.len() + found.strays.len()) as u64;
    let wrong = alerts_differ(expected, &found);
    checks.offenders(
        "price_files.alerts",
        format!("{} alerts, one per crossing", expected.len()),
        format!("{delivered} delivered, {} differ", wrong.len()),
        wrong,
    );
    Ok(delivered)
}

/// How the alerts announced differ from the expected ones: an alert missing, announced more than
/// once, not called for, or saying other values; an announcement that is not an alert object
/// holding its alert; a message that is no announcement.
fn alerts_differ(expected: &[Alert], found: &observe::Announcements) -> Vec<String> {
    type Pair = (String, DateTime<Utc>, DateTime<Utc>);
    let mut got: BTreeMap<Pair, Vec<Alert>> = BTreeMap::new();
    let mut wrong: Vec<String> = found
        .strays
        .iter()
        .map(|m| {
            format!(
                "not an S3 notification: {:?}",
                m.chars().take(120).collect::<String>()
            )
        })
        .collect();
    for announced in &found.announced {
        let alert = announced
            .body
            .as_deref()
            .and_then(|body| serde_json::from_slice::<Alert>(body).ok());
        match alert {
            Some(a) if layout::alert_key(&a.asset, a.latest_date) == announced.key => got
                .entry((a.asset.clone(), a.previous_date, a.latest_date))
                .or_default()
                .push(a),
            _ => wrong.push(format!(
                "{}: announced, but not an alert at its key",
                announced.key
            )),
        }
    }
    for want in expected {
        let pair = (want.asset.clone(), want.previous_date, want.latest_date);
        match got.remove(&pair).as_deref() {
            Some([one]) => wrong.extend(alert_differs(want, one).map(|d| format!("{pair:?}: {d}"))),
            Some(many) => wrong.push(format!(
                "{pair:?}: expected one alert of {:.4}%, got {}",
                want.change_pct,
                many.len()
            )),
            None => wrong.push(format!(
                "{pair:?}: expected an alert of {:.4}%, got none",
                want.change_pct
            )),
        }
    }
    wrong.extend(
        got.into_iter()
            .map(|(pair, alerts)| format!("{pair:?}: {} unexpected alert(s)", alerts.len())),
    );
    wrong
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::{Announced, Announcements};

    fn alert(asset: &str, minute: u32, change_pct: f64) -> Alert {
        let at = |m: u32| chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 7, 0, m, 0).unwrap();
        Alert {
            asset: asset.into(),
            previous_date: at(minute - 5),
            previous_weighted_average: 100.0,
            latest_date: at(minute),
            latest_weighted_average: 100.0 + change_pct,
            change_pct,
        }
    }

    fn announced(alert: &Alert) -> Announced {
        Announced {
            key: layout::alert_key(&alert.asset, alert.latest_date),
            body: Some(tickflow_pipeline::notify::announce::tokened(alert)),
        }
    }

    #[test]
    fn each_alert_must_be_announced_once_at_its_key_and_nothing_else() {
        let (a, b) = (alert("BTC", 10, 5.0), alert("ETH", 15, -4.0));
        let expected = [a.clone(), b.clone()];
        let found = |announced: Vec<Announced>, strays: Vec<String>| Announcements {
            announced,
            strays,
            ..Announcements::default()
        };
        let exact = found(vec![announced(&a), announced(&b)], vec![]);
        assert!(alerts_differ(&expected, &exact).is_empty());
        // Announced twice (two creations), once only, not at all, at another key, a stray.
        let twice = found(vec![announced(&a), announced(&a), announced(&b)], vec![]);
        assert!(alerts_differ(&expected, &twice)[0].contains("got 2"));
        let missing = found(vec![announced(&a)], vec![]);
        assert!(alerts_differ(&expected, &missing)[0].contains("got none"));
        let mut moved = announced(&b);
        moved.key = layout::alert_key("ETH", a.latest_date);
        let wrong = alerts_differ(&expected, &found(vec![announced(&a), moved], vec![]));
        assert_eq!(wrong.len(), 2, "{wrong:?}");
        assert!(wrong[0].contains("not an alert at its key"), "{wrong:?}");
        let stray = found(vec![announced(&a), announced(&b)], vec!["{}".into()]);
        assert!(alerts_differ(&expected, &stray)[0].contains("not an S3 notification"));
        let other = alert("ETH", 15, -4.5);
        let said = found(vec![announced(&a), announced(&other)], vec![]);
        assert_eq!(alerts_differ(&expected, &said).len(), 1);
    }
}
