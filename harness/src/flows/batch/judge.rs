//! The batch flow's verdict, from what the run left (the table, the output object, the run logs
//! under `Logs/`, the run-status deliveries) and the trigger's count of turned-down triggers,
//! against what the generator says the run must produce.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::batch::{layout, RunSummary, TriggerStats};

use super::content::{differences, Contents, LineDigest};
use super::generate::Expected;
use super::report::BatchReport;
use super::topology::BatchResources;
use crate::error::{Error, Result};
use crate::verdict::{Checks, Failure};

/// Judges a batch run named `name`.
///
/// # Errors
/// The database or an AWS call failing while reading back.
pub(super) async fn judge(
    clients: &Clients,
    res: &BatchResources,
    name: &str,
    expected: &Expected,
    stats: &TriggerStats,
) -> Result<BatchReport> {
    let db = crate::postgres::connect(&res.database_url).await?;
    // One scan of the table: its rows per company and their content.
    let table_content = table_content(&db).await?;
    let table: BTreeMap<String, u64> = table_content
        .iter()
        .map(|(company, c)| (company.clone(), c.rows))
        .collect();
    let logs = run_logs(clients, &res.source_bucket).await?;
    let mut report = BatchReport {
        expected_rows: expected.rows(),
        table_rows: table.values().sum(),
        expected_bad_rows: expected.bad_rows,
        expected_bad_files: expected.bad_files,
        triggers: stats.triggers.load(Ordering::Relaxed),
        runs_started: logs.len() as u64,
        same_day_triggers: stats.same_day.load(Ordering::Relaxed),
        test_events: stats.test_events.load(Ordering::Relaxed),
        ..BatchReport::default()
    };
    let mut checks = Checks::default();
    let (runs, holds) = runs_check(&report);
    checks.record(runs, holds);
    report.status_subjects =
        crate::observe::run_status(clients, &res.status_queue, 1, crate::observe::SETTLE).await?;
    let (status, holds) = status_check(name, expected, &report.status_subjects);
    checks.record(status, holds);
    check_rows(&table, expected, &mut checks);
    report.rows_checked = report.table_rows;
    check_content("batch.table_content", expected, &table_content, &mut checks);
    report.run = logs.into_iter().next();
    let (log, holds) = log_check(res, expected, &mut report);
    checks.record(log, holds);
    if !expected.failure {
        check_output(clients, res, expected, &mut report, &mut checks).await;
    }
    report.add_checks(checks);
    Ok(report)
}

/// The run announced its outcome once: `Success`, or `Failure` where the input makes it fail.
fn status_check(name: &str, expected: &Expected, subjects: &[String]) -> (Failure, bool) {
    let outcome = if expected.failure {
        "Failure"
    } else {
        "Success"
    };
    let subject = format!("{name}_Pipeline_{outcome}");
    let check = Failure::new(
        "batch.run_status",
        format!("[{subject:?}]"),
        format!("{subjects:?}"),
    );
    (check, subjects == std::slice::from_ref(&subject))
}

/// The run's log exists and says the bad rows and files the input holds.
fn log_check(
    res: &BatchResources,
    expected: &Expected,
    report: &mut BatchReport,
) -> (Failure, bool) {
    let Some(run) = &report.run else {
        let check = Failure::new(
            "batch.log",
            format!(
                "a run log under s3://{}/{}",
                res.source_bucket,
                layout::LOGS
            ),
            "none",
        );
        return (check, false);
    };
    report.bad_rows = run.bad_rows;
    report.bad_files = run.bad_files;
    let check = Failure::new(
        "batch.bad_input",
        format!(
            "{} bad rows, {} bad files reported",
            expected.bad_rows, expected.bad_files
        ),
        format!("{} bad rows, {} bad files", run.bad_rows, run.bad_files),
    );
    let holds = (run.bad_rows, run.bad_files) == (expected.bad_rows, expected.bad_files);
    (check, holds)
}

/// The output object holds every row the table must, each as the input says.
async fn check_output(
    clients: &Clients,
    res: &BatchResources,
    expected: &Expected,
    report: &mut BatchReport,
    checks: &mut Checks,
) {
    let output = output_content(clients, &res.source_bucket).await;
    report.output_rows = output
        .as_ref()
        .map_or(0, |o| o.values().map(|c| c.rows).sum());
    checks.check(
        "batch.output_rows",
        report.output_rows == expected.rows(),
        expected.rows().to_string(),
        report.output_rows.to_string(),
    );
    match output {
        Ok(output) => check_content("batch.output_content", expected, &output, checks),
        Err(why) => checks.fail(
            "batch.output_content",
            format!(
                "s3://{}/{} with the table's header",
                res.source_bucket,
                layout::OUTPUT
            ),
            why,
        ),
    }
}

/// The run logs under `Logs/` (day markers aside), oldest first: one per run started.
///
/// # Errors
/// Listing or reading them failing; a log that is not a run summary.
async fn run_logs(clients: &Clients, bucket: &str) -> Result<Vec<RunSummary>> {
    let mut keys: Vec<String> = clients
        .object_keys(bucket)
        .await?
        .unwrap_or_default()
        .into_iter()
        .filter(|k| k.starts_with(layout::LOGS) && !k.starts_with(layout::RUN_MARKERS))
        .collect();
    keys.sort();
    let mut logs = Vec::new();
    for key in keys {
        let (_, body) = clients.get_object(bucket, &key).await?;
        let log = serde_json::from_slice(&body)
            .map_err(|e| Error::Input(format!("s3://{bucket}/{key}: not a run log: {e}")))?;
        logs.push(log);
    }
    Ok(logs)
}

/// The table's rows, in all and per company, against the input's.
fn check_rows(table: &BTreeMap<String, u64>, expected: &Expected, checks: &mut Checks) {
    let total: u64 = table.values().sum();
    checks.check(
        "batch.table_rows",
        total == expected.rows(),
        expected.rows().to_string(),
        total.to_string(),
    );
    let companies: std::collections::BTreeSet<&String> =
        table.keys().chain(expected.per_company.keys()).collect();
    let wrong: Vec<String> = companies
        .into_iter()
        .filter_map(|c| {
            let (want, got) = (
                expected.per_company.get(c).copied().unwrap_or(0),
                table.get(c).copied().unwrap_or(0),
            );
            (want != got).then(|| format!("{c}: expected {want} rows, got {got}"))
        })
        .collect();
    checks.offenders(
        "batch.rows_per_company",
        "each company's rows",
        format!("{} companies differ", wrong.len()),
        wrong,
    );
}

/// Every row of the table, streamed out of the database (`COPY ... TO STDOUT`, the columns in
/// the output's order) and summed per company (a row without a company under `""`); nothing
/// when the table does not exist (a failed run may leave none).
async fn table_content(db: &tokio_postgres::Client) -> Result<Contents> {
    use futures_util::StreamExt as _;
    let query = |e: tokio_postgres::Error| Error::Database {
        what: "reading the table".into(),
        reason: e.to_string(),
    };
    let exists = db
        .query_one("SELECT to_regclass($1)::text", &[&layout::TABLE])
        .await
        .map_err(query)?
        .get::<_, Option<String>>(0)
        .is_some();
    if !exists {
        return Ok(Contents::new());
    }
    let sql = format!(
        "COPY (SELECT {} FROM {}) TO STDOUT WITH (FORMAT csv)",
        layout::COLUMNS.join(", "),
        layout::TABLE
    );
    let mut rows = std::pin::pin!(db.copy_out(&sql).await.map_err(query)?);
    let mut reader = LineDigest::default();
    while let Some(chunk) = rows.next().await {
        reader.feed(&chunk.map_err(query)?);
    }
    Ok(reader.finish())
}

/// Compares what `check` found with what every kept company's rows must hold.
fn check_content(check: &str, expected: &Expected, found: &Contents, checks: &mut Checks) {
    let wrong = differences(&expected.content, found);
    checks.offenders(
        check,
        "every row of the input, every column, with its derived values",
        format!("{} companies differ", wrong.len()),
        wrong,
    );
}

/// The output object's rows, streamed and summed per company, after its header; why not, when
/// it is missing or starts with another header.
async fn output_content(clients: &Clients, bucket: &str) -> std::result::Result<Contents, String> {
    let mut out = clients
        .open_object(bucket, layout::OUTPUT)
        .await
        .map_err(|e| e.to_string())?;
    let header = format!("{}\n", layout::COLUMNS.join(","));
    let mut head = Vec::new();
    let mut reader = LineDigest::default();
    while let Some(chunk) = out.body.next().await {
        let chunk = chunk.map_err(|e| format!("reading the output: {e}"))?;
        let mut rest = &chunk[..];
        if head.len() < header.len() {
            let take = (header.len() - head.len()).min(rest.len());
            head.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
        }
        reader.feed(rest);
    }
    if head != header.as_bytes() {
        return Err(format!("a header of {:?}", String::from_utf8_lossy(&head)));
    }
    Ok(reader.finish())
}
/// Two `.SUCCESS` objects were put: each must be received once, the first starting the day's
/// run and the second turned down. A trigger received again while its run lasted (its
/// visibility not renewed) would be a third, turned down too.
fn runs_check(report: &BatchReport) -> (Failure, bool) {
    let seen = (
        report.triggers,
        report.runs_started,
        report.same_day_triggers,
    );
    let check = Failure::new(
        "batch.runs",
        "2 triggers received once each: one run, the second .SUCCESS of the day turned down",
        format!(
            "{} triggers, {} runs, {} turned down",
            report.triggers, report.runs_started, report.same_day_triggers
        ),
    );
    (check, seen == (2, 1, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trigger_received_twice_or_a_second_run_fails_the_runs_check() {
        let report = |triggers, runs_started, same_day_triggers| BatchReport {
            triggers,
            runs_started,
            same_day_triggers,
            ..BatchReport::default()
        };
        let (held, holds) = runs_check(&report(2, 1, 1));
        assert!(holds);
        assert_eq!(held.actual, "2 triggers, 1 runs, 1 turned down");
        for (t, r, s) in [(3, 1, 2), (2, 2, 0), (1, 1, 0), (2, 1, 0)] {
            let (failure, holds) = runs_check(&report(t, r, s));
            assert!(!holds, "{failure:?}");
            assert_eq!(failure.check, "batch.runs");
        }
    }
}
