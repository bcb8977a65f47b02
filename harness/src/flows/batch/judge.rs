//! The batch flow's verdict, from what the run left.
//!
//! The batch flow's verdict, from what the run left (the table, the output object, the run logs
//! under `Logs/`, the run-status announcements and their objects, the trigger queue) and the
//! `.SUCCESS` notifications the trigger received, one by one, against what the generator and
//! the two `.SUCCESS` objects put say the run must produce.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::batch::{layout, RunSummary, TriggerStats};

use super::content::{differences, Contents, LineDigest};
use super::generate::Expected;
use super::history;
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
    let db = crate::infra::postgres::connect(&res.database_url).await?;
    // One scan of the table: its rows per company and their content.
    let table_content = table_content(&db).await?;
    let table: BTreeMap<String, u64> = table_content
        .iter()
        .map(|(company, c)| (company.clone(), c.rows))
        .collect();
    let logs = run_logs(clients, &res.source_bucket).await?;
    let receipts = stats
        .receipts
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let mut report = BatchReport {
        expected_rows: expected.rows(),
        table_rows: table.values().sum(),
        expected_bad_rows: expected.bad_rows,
        expected_bad_files: expected.bad_files,
        triggers: stats.triggers.load(Ordering::Relaxed),
        runs_started: logs.len() as u64,
        same_day_triggers: stats.same_day.load(Ordering::Relaxed),
        test_events: stats.test_events.load(Ordering::Relaxed),
        receipts,
        trigger_queue_left: crate::observe::queue_depth(clients, &res.trigger_queue)
            .await?
            .total(),
        ..BatchReport::default()
    };
    let mut checks = Checks::default();
    let (runs, holds) = runs_check(&report);
    checks.record(runs, holds);
    checks.check(
        "batch.trigger_queue",
        report.trigger_queue_left == 0,
        "drained (0 messages)",
        format!("{} messages", report.trigger_queue_left),
    );
    let settle = crate::observe::SETTLE;
    let announced =
        crate::observe::announcements(clients, &res.status_queue, &res.source_bucket, 1, settle)
            .await?;
    let status = status_deliveries(announced);
    report.status_subjects = status.iter().map(|d| d.subject.clone()).collect();
    let (check, holds) = status_check(name, expected, &report.status_subjects);
    checks.record(check, holds);
    check_rows(&table, expected, &mut checks);
    report.rows_checked = report.table_rows;
    check_content("batch.table_content", expected, &table_content, &mut checks);
    let (log_key, run) = logs.into_iter().next().unzip();
    report.run = run;
    let (log, holds) = log_check(res, expected, &mut report);
    checks.record(log, holds);
    if let Some(run) = &report.run {
        let day = report
            .receipts
            .iter()
            .find(|r| r.started)
            .map(|r| r.day.as_str());
        let wrong = summary_differs(run, log_key.as_deref(), day, expected);
        checks.offenders(
            "batch.log_fields",
            "the run log says the run as it was: its day, outcome, companies, rows, output and key",
            format!("{} fields differ", wrong.len()),
            wrong,
        );
    }
    let (body, holds) = status_body_check(&status, report.run.as_ref());
    checks.record(body, holds);
    let output = check_output(clients, res, expected, &mut report, &mut checks).await;
    report.verdict.add_checks(checks);
    if !expected.failure {
        let read = report.run.as_ref().map(|r| &r.per_company);
        let stage = |name, seen, rows| history::Stage { name, seen, rows };
        let (summary, explained) = history::judge(
            &expected.per_company,
            stage("the run's log", "rows read", read),
            [
                stage("the output object", "rows written", output.as_ref()),
                stage("the table", "rows loaded", Some(&table)),
            ],
            !report.verdict.passed(),
        );
        report.verdict.add_failures(explained);
        report.history = Some(summary);
    }
    Ok(report)
}

/// How a run log differs from what the run must say: its day (the trigger's), outcome, reason,
/// companies, rows, rows per company, output and its own key.
fn summary_differs(
    run: &RunSummary,
    key: Option<&str>,
    day: Option<&str>,
    expected: &Expected,
) -> Vec<String> {
    let success = !expected.failure;
    let mut wrong = Vec::new();
    let mut field = |name: &str, holds: bool, said: String, due: String| {
        if !holds {
            wrong.push(format!("{name}: {said}, expected {due}"));
        }
    };
    field(
        "day",
        Some(run.day.as_str()) == day,
        run.day.clone(),
        format!("{day:?}"),
    );
    field(
        "success",
        run.success == success,
        run.success.to_string(),
        success.to_string(),
    );
    field(
        "reason",
        run.reason.as_ref().is_some_and(|r| !r.is_empty()) != success,
        format!("{:?}", run.reason),
        if success { "none" } else { "the reason" }.into(),
    );
    let (companies, rows, per_company) = match success {
        true => (
            expected.kept as usize,
            expected.rows(),
            expected.per_company.clone(),
        ),
        false => (0, 0, BTreeMap::new()),
    };
    field(
        "companies",
        run.companies == companies,
        run.companies.to_string(),
        companies.to_string(),
    );
    field(
        "rows_loaded",
        run.rows_loaded == rows,
        run.rows_loaded.to_string(),
        rows.to_string(),
    );
    if success {
        field(
            "per_company",
            run.per_company == per_company,
            format!("{} companies", run.per_company.len()),
            format!("{} companies, each with its rows", per_company.len()),
        );
    }
    let output = success.then(|| layout::OUTPUT.to_string());
    field(
        "output_key",
        run.output_key == output,
        format!("{:?}", run.output_key),
        format!("{output:?}"),
    );
    field(
        "log_key",
        Some(run.log_key.as_str()) == key,
        run.log_key.clone(),
        format!("{key:?}"),
    );
    wrong
}

/// The run-status announcements as deliveries: each status object's subject (from its key) and
/// body; any other object or message as it came, so that it counts against the run.
fn status_deliveries(found: crate::observe::Announcements) -> Vec<crate::observe::Delivery> {
    let objects = found.announced.into_iter().map(|a| {
        let subject = layout::parse_status_key(&a.key).map_or(a.key.as_str(), |(_, s)| s);
        crate::observe::Delivery {
            subject: subject.to_string(),
            message: String::from_utf8_lossy(&a.body.unwrap_or_default()).into_owned(),
        }
    });
    let strays = found
        .strays
        .into_iter()
        .map(|message| crate::observe::Delivery {
            subject: String::new(),
            message,
        });
    objects.chain(strays).collect()
}

/// The run status was announced with the run's summary as its body: the run log, every field.
fn status_body_check(
    status: &[crate::observe::Delivery],
    run: Option<&RunSummary>,
) -> (Failure, bool) {
    let bodies: Vec<Option<RunSummary>> = status
        .iter()
        .map(|d| serde_json::from_str(&d.message).ok())
        .collect();
    let holds = run.is_some() && bodies.len() == 1 && bodies[0].as_ref() == run;
    let check = Failure::new(
        "batch.status_body",
        "one run status whose body is the run log",
        match (bodies.as_slice(), run) {
            ([Some(body)], Some(run)) if body == run => "the run log".to_string(),
            ([Some(_)], Some(_)) => "a summary other than the run log".to_string(),
            ([None], _) => "a body that is not a run summary".to_string(),
            (_, None) => "no run log to compare it with".to_string(),
            (many, _) => format!("{} deliveries", many.len()),
        },
    );
    (check, holds)
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

/// The output object holds every row the table must, each as the input says; a run that must
/// fail leaves none. Its rows per company, when it could be read.
async fn check_output(
    clients: &Clients,
    res: &BatchResources,
    expected: &Expected,
    report: &mut BatchReport,
    checks: &mut Checks,
) -> Option<history::Rows> {
    let output = output_content(clients, &res.source_bucket).await;
    let per_company = output.as_ref().ok().map(|o| {
        o.iter()
            .map(|(company, c)| (company.clone(), c.rows))
            .collect()
    });
    if expected.failure {
        let absent = output.is_err();
        report.output_rows = output.map_or(0, |o| o.values().map(|c| c.rows).sum());
        checks.check(
            "batch.output_rows",
            absent,
            "no output object (the run failed)",
            match absent {
                true => "none".to_string(),
                false => format!("an output of {} rows", report.output_rows),
            },
        );
        return per_company;
    }
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
    per_company
}

/// The run logs under `Logs/` (day markers and status announcements aside), oldest first, with their keys: one per run
/// started.
///
/// # Errors
/// Listing or reading them failing; a log that is not a run summary.
async fn run_logs(clients: &Clients, bucket: &str) -> Result<Vec<(String, RunSummary)>> {
    let mut keys: Vec<String> = clients
        .object_keys(bucket)
        .await?
        .unwrap_or_default()
        .into_iter()
        .filter(|k| layout::is_run_log(k))
        .collect();
    keys.sort();
    let mut logs = Vec::new();
    for key in keys {
        let (_, body) = clients.get_object(bucket, &key).await?;
        let log = serde_json::from_slice(&body)
            .map_err(|e| Error::Input(format!("s3://{bucket}/{key}: not a run log: {e}")))?;
        logs.push((key, log));
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
/// The two `.SUCCESS` objects put, in order: the first must start the day's run, the second
/// be turned down.
const TRIGGERS: [(&str, bool); 2] = [
    ("batch/first.SUCCESS", true),
    ("batch/second.SUCCESS", false),
];

/// Each `.SUCCESS` object put was received once, by key: the first starting the day's run, the
/// second turned down, and nothing else received (one received twice, or another object's,
/// fails; so does one lost while another is received twice, which totals would pass).
fn runs_check(report: &BatchReport) -> (Failure, bool) {
    let mut wrong = Vec::new();
    for (key, started) in TRIGGERS {
        let got: Vec<&tickflow_pipeline::batch::Receipt> =
            report.receipts.iter().filter(|r| r.key == key).collect();
        // A message delivered again (its handler crashed, or its delete failed) is the same
        // notification; a second message for the object is a second trigger.
        let mut messages: Vec<&str> = got.iter().map(|r| r.message_id.as_str()).collect();
        messages.sort_unstable();
        messages.dedup();
        match (messages.len(), got.iter().all(|r| r.started == started)) {
            (1, true) => {}
            (1, false) => wrong.push(format!(
                "{key}: {} the run",
                if started { "did not start" } else { "started" }
            )),
            (0, _) => wrong.push(format!("{key}: never received")),
            (many, _) => wrong.push(format!("{key}: received in {many} messages")),
        }
    }
    for other in report
        .receipts
        .iter()
        .filter(|r| !TRIGGERS.iter().any(|(k, _)| *k == r.key))
    {
        wrong.push(format!("{}: received, never put", other.key));
    }
    if report.runs_started != 1 {
        wrong.push(format!("{} run logs", report.runs_started));
    }
    let check = Failure {
        check: "batch.runs".into(),
        expected:
            "batch/first.SUCCESS received in one message (delivered again only after a crash \
             or a failed delete), starting the day's run; batch/second.SUCCESS likewise, turned \
             down; one run log"
                .into(),
        actual: format!(
            "{} received: {}",
            report.receipts.len(),
            report
                .receipts
                .iter()
                .map(|r| format!(
                    "{} ({})",
                    r.key,
                    if r.started { "started" } else { "turned down" }
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        examples: wrong.clone(),
    };
    (check, wrong.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_success_object_must_be_received_once_by_key() {
        let receipt = |key: &str, started: bool| tickflow_pipeline::batch::Receipt {
            message_id: format!("m-{key}"),
            key: key.into(),
            sequencer: None,
            day: "2026-12-06".into(),
            started,
        };
        let report = |receipts: Vec<tickflow_pipeline::batch::Receipt>| BatchReport {
            runs_started: 1,
            receipts,
            ..BatchReport::default()
        };
        let first = receipt("batch/first.SUCCESS", true);
        let second = receipt("batch/second.SUCCESS", false);
        let (held, holds) = runs_check(&report(vec![first.clone(), second.clone()]));
        assert!(holds, "{held:?}");
        // The second received twice and the first lost: the totals (2 received, 1 turned
        // down... ) could pass, the keys do not.
        let again = report(vec![first.clone(), first.clone(), second.clone()]);
        assert!(runs_check(&again).1, "the same message delivered again");
        let twice = tickflow_pipeline::batch::Receipt {
            message_id: "another".into(),
            ..second.clone()
        };
        let lost = report(vec![twice, second.clone()]);
        let (failure, holds) = runs_check(&lost);
        assert!(!holds);
        assert_eq!(
            failure.examples,
            [
                "batch/first.SUCCESS: never received",
                "batch/second.SUCCESS: received in 2 messages"
            ]
        );
        let started_twice = report(vec![
            first.clone(),
            tickflow_pipeline::batch::Receipt {
                started: false,
                ..first.clone()
            },
            second.clone(),
        ]);
        assert!(!runs_check(&started_twice).1);
        let stranger = report(vec![
            first.clone(),
            second.clone(),
            receipt("x.SUCCESS", false),
        ]);
        assert!(!runs_check(&stranger).1);
        let two_runs = BatchReport {
            runs_started: 2,
            ..report(vec![first, second])
        };
        assert!(!runs_check(&two_runs).1);
    }

    #[test]
    fn a_run_log_saying_another_run_fails_field_by_field() {
        let expected = Expected {
            kept: 2,
            per_company: BTreeMap::from([("A".into(), 3), ("B".into(), 4)]),
            ..Expected::default()
        };
        let run = RunSummary {
            day: "2026-12-06".into(),
            success: true,
            companies: 2,
            rows_loaded: 7,
            per_company: expected.per_company.clone(),
            output_key: Some(layout::OUTPUT.into()),
            log_key: "Logs/2026-12-06-1.json".into(),
            ..RunSummary::default()
        };
        let key = Some("Logs/2026-12-06-1.json");
        assert!(summary_differs(&run, key, Some("2026-12-06"), &expected).is_empty());
        let short = RunSummary {
            rows_loaded: 6,
            output_key: None,
            ..run.clone()
        };
        let wrong = summary_differs(&short, key, Some("2026-12-06"), &expected);
        assert_eq!(wrong.len(), 2, "{wrong:?}");
        assert!(
            wrong[0].starts_with("rows_loaded: 6, expected 7"),
            "{wrong:?}"
        );
        let delivery = |message: String| crate::observe::Delivery {
            subject: "x_Pipeline_Success".into(),
            message,
        };
        let same = [delivery(serde_json::to_string(&run).unwrap())];
        assert!(status_body_check(&same, Some(&run)).1);
        let other = [delivery(serde_json::to_string(&short).unwrap())];
        let (failure, holds) = status_body_check(&other, Some(&run));
        assert!(!holds);
        assert_eq!(failure.actual, "a summary other than the run log");
    }

    #[test]
    fn a_status_is_its_object_s_subject_and_body_and_anything_else_counts_against_the_run() {
        use crate::observe::{Announced, Announcements};
        let object = |key: &str, body: &str| Announced {
            key: key.into(),
            body: Some(body.as_bytes().to_vec()),
        };
        let found = Announcements {
            announced: vec![
                object(
                    &layout::status_key("2026-12-07", "b_Pipeline_Success"),
                    "{}",
                ),
                object("Logs/elsewhere.json", "x"),
            ],
            strays: vec!["plain".into()],
            ..Announcements::default()
        };
        let said: Vec<(String, String)> = status_deliveries(found)
            .into_iter()
            .map(|d| (d.subject, d.message))
            .collect();
        assert_eq!(
            said,
            [
                ("b_Pipeline_Success".to_string(), "{}".to_string()),
                ("Logs/elsewhere.json".into(), "x".into()),
                (String::new(), "plain".into())
            ]
        );
    }
}
