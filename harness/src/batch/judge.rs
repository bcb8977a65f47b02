//! The batch flow's verdict, from what the run left (the table, the output object, the run logs
//! under `Logs/`, the run-status deliveries) and the trigger's count of turned-down triggers,
//! against what the generator says the run must produce.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::batch::{layout, RunSummary, TriggerStats};

use super::generate::Expected;
use super::report::BatchReport;
use super::topology::BatchResources;
use crate::assert::Failure;
use crate::error::{Error, Result};

/// Examples a failure lists.
const EXAMPLES: usize = 5;

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
    let table = rows_per_company(&db).await?;
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
    let summary = logs.into_iter().next();
    let mut failures = Vec::new();
    if report.runs_started != 1 || report.same_day_triggers < 1 {
        failures.push(Failure::new(
            "batch.runs",
            "one run, the second .SUCCESS of the day turned down",
            format!(
                "{} runs, {} turned down",
                report.runs_started, report.same_day_triggers
            ),
        ));
    }
    report.status_subjects =
        crate::judge::run_status(clients, &res.status_queue, 1, crate::judge::SETTLE).await?;
    let outcome = if expected.failure {
        "Failure"
    } else {
        "Success"
    };
    let subject = format!("{name}_Pipeline_{outcome}");
    if report.status_subjects != [subject.clone()] {
        failures.push(Failure::new(
            "batch.run_status",
            format!("[{subject:?}]"),
            format!("{:?}", report.status_subjects),
        ));
    }
    check_rows(&table, expected, &mut failures);
    report.samples_checked = check_samples(&db, expected, &mut failures).await?;
    if let Some(run) = &summary {
        report.bad_rows = run.bad_rows;
        report.bad_files = run.bad_files;
        if (run.bad_rows, run.bad_files) != (expected.bad_rows, expected.bad_files) {
            failures.push(Failure::new(
                "batch.bad_input",
                format!(
                    "{} bad rows, {} bad files reported",
                    expected.bad_rows, expected.bad_files
                ),
                format!("{} bad rows, {} bad files", run.bad_rows, run.bad_files),
            ));
        }
    } else {
        failures.push(Failure::new(
            "batch.log",
            format!(
                "a run log under s3://{}/{}",
                res.source_bucket,
                layout::LOGS
            ),
            "none",
        ));
    }
    if !expected.failure {
        report.output_rows = output_rows(clients, &res.source_bucket).await;
        if report.output_rows != expected.rows() {
            failures.push(Failure::new(
                "batch.output_rows",
                expected.rows().to_string(),
                report.output_rows.to_string(),
            ));
        }
    }
    report.run = summary;
    report.passed = failures.is_empty();
    report.failures = failures;
    Ok(report)
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

/// Rows of the table per company (none when the table does not exist).
async fn rows_per_company(db: &tokio_postgres::Client) -> Result<BTreeMap<String, u64>> {
    let query = |e: tokio_postgres::Error| Error::Input(format!("reading the table: {e}"));
    let exists = db
        .query_one("SELECT to_regclass($1)::text", &[&layout::TABLE])
        .await
        .map_err(query)?
        .get::<_, Option<String>>(0)
        .is_some();
    if !exists {
        return Ok(BTreeMap::new());
    }
    let sql = format!(
        "SELECT coalesce(company_name, ''), count(*) FROM {} GROUP BY 1",
        layout::TABLE
    );
    Ok(db
        .query(&sql, &[])
        .await
        .map_err(query)?
        .iter()
        .map(|row| (row.get::<_, String>(0), row.get::<_, i64>(1).max(0) as u64))
        .collect())
}

fn check_rows(table: &BTreeMap<String, u64>, expected: &Expected, failures: &mut Vec<Failure>) {
    let total: u64 = table.values().sum();
    if total != expected.rows() {
        failures.push(Failure::new(
            "batch.table_rows",
            expected.rows().to_string(),
            total.to_string(),
        ));
    }
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
    if !wrong.is_empty() {
        let mut failure = Failure::new(
            "batch.rows_per_company",
            "each company's rows",
            format!("{} companies differ", wrong.len()),
        );
        failure.examples = wrong.into_iter().take(EXAMPLES).collect();
        failures.push(failure);
    }
}

/// Checks the derived columns of the sampled rows against values computed from the generated
/// bars; returns how many were checked.
async fn check_samples(
    db: &tokio_postgres::Client,
    expected: &Expected,
    failures: &mut Vec<Failure>,
) -> Result<usize> {
    if expected.samples.is_empty() {
        return Ok(0);
    }
    // One scan for every sample (the table has no index: it is the seed's table as it is).
    let sql = format!(
        "SELECT company_name, stock_date, daily_percent_change, value_change FROM {} \
         WHERE (company_name, stock_date) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
        layout::TABLE
    );
    let companies: Vec<&str> = expected
        .samples
        .iter()
        .map(|s| s.company.as_str())
        .collect();
    let dates: Vec<&str> = expected.samples.iter().map(|s| s.date.as_str()).collect();
    let rows = db
        .query(&sql, &[&companies, &dates])
        .await
        .map_err(|e| Error::Input(format!("reading the table: {e}")))?;
    let mut found: BTreeMap<(String, String), Vec<(f64, f64)>> = BTreeMap::new();
    for row in &rows {
        let number = |i: usize| {
            row.get::<_, Option<String>>(i)
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN)
        };
        let key = (
            row.get::<_, Option<String>>(0).unwrap_or_default(),
            row.get::<_, Option<String>>(1).unwrap_or_default(),
        );
        found.entry(key).or_default().push((number(2), number(3)));
    }
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs().max(1.0);
    let mut wrong = Vec::new();
    for sample in &expected.samples {
        let key = (sample.company.clone(), sample.date.clone());
        let got = found.get(&key).map(Vec::as_slice).unwrap_or_default();
        let ok = matches!(got, [(pct, change)] if close(*pct, sample.daily_percent_change) && close(*change, sample.value_change));
        if !ok {
            wrong.push(format!(
                "{} {}: expected ({:.6}, {:.6}), got {got:?}",
                sample.company, sample.date, sample.daily_percent_change, sample.value_change
            ));
        }
    }
    if !wrong.is_empty() {
        let mut failure = Failure::new(
            "batch.derived_columns",
            "daily_percent_change and value_change of each sampled row",
            format!("{} of {} rows differ", wrong.len(), expected.samples.len()),
        );
        failure.examples = wrong.into_iter().take(EXAMPLES).collect();
        failures.push(failure);
    }
    Ok(expected.samples.len())
}

/// Data rows of the output object (0 when it is missing), counted as its body streams in.
async fn output_rows(clients: &Clients, bucket: &str) -> u64 {
    let Ok(mut out) = clients.open_object(bucket, layout::OUTPUT).await else {
        return 0;
    };
    let (mut lines, mut last) = (0u64, b'\n');
    while let Some(Ok(chunk)) = out.body.next().await {
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        last = chunk.last().copied().unwrap_or(last);
    }
    if last != b'\n' {
        lines += 1; // a last line without its newline
    }
    lines.saturating_sub(1) // the header
}
