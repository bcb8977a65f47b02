//! The batch flow against real PostgreSQL and LocalStack.
//!
//! The batch flow against a real PostgreSQL and LocalStack: one transaction per run, so a failed
//! load leaves the table as it was and loading the same batch again replaces rows instead of
//! duplicating them; and every check of the batch verdict fails when a finished run is broken
//! its way.

use std::time::Duration;

use tickflow_harness::flows::batch::{
    run, run_and_keep, BatchInput, BatchRunConfig, BatchSettings, FinishedBatch,
};
use tickflow_harness::infra::postgres;
use tickflow_harness::verdict::Report as _;
use tickflow_pipeline::batch::layout::{self, COLUMNS, TABLE};
use tickflow_pipeline::batch::load::replace_rows;
use tickflow_pipeline::chaos::{FaultKind, FaultRule, Service, Stage};

use crate::support::{delete, put, within};

fn csv(rows: &[&str]) -> Vec<u8> {
    let mut out = COLUMNS.join(",").into_bytes();
    out.push(b'\n');
    for row in rows {
        out.extend_from_slice(row.as_bytes());
        out.push(b'\n');
    }
    out
}

async fn count(client: &tokio_postgres::Client) -> i64 {
    client
        .query_one(&format!("SELECT count(*) FROM {TABLE}"), &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_failed_load_leaves_the_table_as_it_was_and_a_second_load_replaces_its_rows() {
    let url = &postgres::shared::shared()
        .unwrap_or_else(|e| panic!("the batch tests need PostgreSQL: {e}"))
        .url;
    let mut client = postgres::connect(url).await.unwrap();
    let schema = format!("tickflow_test_{}", std::process::id());
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; SET search_path TO {schema}"
        ))
        .await
        .unwrap();
    let companies = ["ACME".to_string()];
    let good = csv(&[
        "2020-01-02,10,11,9,10.5,100,5.000000,0.500000,ACME",
        "2020-01-03,10,11,9,9.5,100,-5.000000,-0.500000,ACME",
    ]);
    assert_eq!(
        replace_rows(&mut client, &companies, &good).await.unwrap(),
        2
    );
    assert_eq!(
        replace_rows(&mut client, &companies, &good).await.unwrap(),
        2,
        "the same batch again"
    );
    assert_eq!(count(&client).await, 2, "replaced, not duplicated");

    // A value too long for VARCHAR(56), after a good row: the whole load is rolled back.
    let too_long = "x".repeat(57);
    let bad = csv(&[
        "2020-01-06,10,11,9,10.5,100,5.000000,0.500000,ACME",
        &format!("2020-01-07,10,11,9,10.5,{too_long},5.000000,0.500000,ACME"),
    ]);
    let error = replace_rows(&mut client, &companies, &bad)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("COPY"), "{error}");
    let dates: Vec<String> = client
        .query(&format!("SELECT stock_date FROM {TABLE} ORDER BY 1"), &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(dates, ["2020-01-02", "2020-01-03"], "the table as it was");
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}

/// Runs `change` on a kept batch run, judges it again, and returns the checks that failed.
async fn failing_after<F, Fut>(
    finished: &FinishedBatch,
    clients: &tickflow_pipeline::aws::Clients,
    change: F,
) -> Vec<String>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    change().await;
    let report = finished.rejudge(clients).await.unwrap();
    report.failures().iter().map(|f| f.check.clone()).collect()
}

#[tokio::test]
async fn every_corruption_of_a_finished_batch_run_fails_its_check() {
    let clients = crate::support::clients().await;
    let url = &postgres::shared::shared().unwrap().url;
    let config = BatchRunConfig {
        name: "e2e-batch".into(),
        seed: 5,
        input: BatchInput::Generate(BatchSettings {
            companies: 6,
            days: 120,
            kept: Some(5),
            malformed_rows: 3,
            empty_files: 1,
            ..BatchSettings::default()
        }),
        postgres_container: None,
        faults: Vec::new(),
        load_attempts: tickflow_pipeline::batch::LOAD_ATTEMPTS,
        trigger_resumes: true,
        liveness_secs: None,
        alarms: Default::default(),
    };
    let finished = run_and_keep(&clients, url, &config).await.unwrap();
    assert!(
        finished.report.passed(),
        "{}",
        finished.report.render_text()
    );
    let res = &finished.resources;
    let db = postgres::connect(&res.database_url).await.unwrap();
    let bucket = res.source_bucket.clone();

    // A row deleted from the table (the last one: not a sampled one).
    let checks = failing_after(&finished, &clients, || async {
        db.batch_execute(&format!(
            "CREATE TEMP TABLE gone AS SELECT * FROM {TABLE} WHERE ctid = (SELECT max(ctid) FROM {TABLE}); \
             DELETE FROM {TABLE} WHERE ctid = (SELECT max(ctid) FROM {TABLE})"
        ))
        .await
        .unwrap();
    })
    .await;
    // The history says where: read whole by the run (its log), one row short in the table.
    assert_eq!(
        checks,
        [
            "batch.table_rows",
            "batch.rows_per_company",
            "batch.table_content",
            "history"
        ]
    );
    let report = finished.rejudge(&clients).await.unwrap();
    let history = report.failures().iter().find(|f| f.check == "history");
    let lines = history.map(|h| h.examples.clone()).unwrap_or_default();
    assert!(
        matches!(&lines[..], [line] if line.starts_with("lost 1 rows of ")
            && line.contains(": last seen in the run's log (")
            && line.ends_with(" rows read), 119 in the table")),
        "{lines:?}"
    );
    db.batch_execute(&format!("INSERT INTO {TABLE} SELECT * FROM gone"))
        .await
        .unwrap();

    // Every row and every column is judged, not a sample: each of these changes one or two
    // rows of a company and keeps the counts; each fails the table's content, and only that.
    db.batch_execute(&format!("CREATE TEMP TABLE saved AS SELECT * FROM {TABLE}"))
        .await
        .unwrap();
    let one_row = |company: &str, n: u32| {
        format!(
            "ctid = (SELECT ctid FROM {TABLE} WHERE company_name = '{company}' \
             ORDER BY stock_date OFFSET {n} LIMIT 1)"
        )
    };
    for (what, sql) in [
        (
            "a derived value changed in every row of one company",
            format!(
                "UPDATE {TABLE} SET value_change = '9' || value_change WHERE company_name = 'CO0001'"
            ),
        ),
        (
            "high and low swapped in one row",
            format!(
                "UPDATE {TABLE} SET high_value = low_value, low_value = high_value WHERE {}",
                one_row("CO0002", 37)
            ),
        ),
        (
            "a wrong date on one row",
            format!(
                "UPDATE {TABLE} SET stock_date = '1999-01-04' WHERE {}",
                one_row("CO0003", 61)
            ),
        ),
        (
            "one row twice and another of the same company gone",
            format!(
                "INSERT INTO {TABLE} SELECT * FROM {TABLE} WHERE {}; DELETE FROM {TABLE} WHERE {}",
                one_row("CO0004", 10),
                one_row("CO0004", 90)
            ),
        ),
    ] {
        let checks = failing_after(&finished, &clients, || async {
            db.batch_execute(&sql).await.unwrap();
        })
        .await;
        assert_eq!(checks, ["batch.table_content"], "{what}");
        db.batch_execute(&format!("TRUNCATE {TABLE}; INSERT INTO {TABLE} SELECT * FROM saved"))
            .await
            .unwrap();
    }

    // The output object: one value of one row changed, then the object gone.
    let (_, output) = clients.get_object(&bucket, layout::OUTPUT).await.unwrap();
    let text = String::from_utf8(output.clone()).unwrap();
    let line = text.lines().nth(40).unwrap();
    let fields: Vec<&str> = line.split(',').collect();
    let changed = line.replacen(
        &format!(",{},", fields[5]),
        &format!(",{},", fields[5].parse::<u64>().unwrap() + 1),
        1,
    );
    let tampered = text.replacen(line, &changed, 1).into_bytes();
    let checks = failing_after(&finished, &clients, || {
        put(&clients, &bucket, layout::OUTPUT, tampered)
    })
    .await;
    assert_eq!(checks, ["batch.output_content"]);
    let checks = failing_after(&finished, &clients, || async {
        delete(&clients, &bucket, layout::OUTPUT).await;
    })
    .await;
    assert_eq!(checks, ["batch.output_rows", "batch.output_content"]);
    put(&clients, &bucket, layout::OUTPUT, output).await;

    // The run's log: miscounting the bad input, then copied as if a second run had started,
    // then gone.
    let log_key = logs(&clients, &bucket).await.remove(0);
    let (_, log) = clients.get_object(&bucket, &log_key).await.unwrap();
    let mut summary: serde_json::Value = serde_json::from_slice(&log).unwrap();
    summary["bad_rows"] = 2.into();
    let miscounted = serde_json::to_vec(&summary).unwrap();
    let checks = failing_after(&finished, &clients, || {
        put(&clients, &bucket, &log_key, miscounted)
    })
    .await;
    // The status was announced with the log as it was: the two no longer agree.
    assert_eq!(checks, ["batch.bad_input", "batch.status_body"]);
    // A field the log must hold as the run was: its rows loaded.
    summary["bad_rows"] = log_value(&log, "bad_rows");
    summary["rows_loaded"] = (summary["rows_loaded"].as_u64().unwrap() + 1).into();
    let overcounted = serde_json::to_vec(&summary).unwrap();
    let checks = failing_after(&finished, &clients, || {
        put(&clients, &bucket, &log_key, overcounted)
    })
    .await;
    assert_eq!(checks, ["batch.log_fields", "batch.status_body"]);
    put(&clients, &bucket, &log_key, log.clone()).await;
    let copy = format!("{}zz-second-run.json", layout::LOGS);
    let checks = failing_after(&finished, &clients, || {
        put(&clients, &bucket, &copy, log.clone())
    })
    .await;
    assert_eq!(checks, ["batch.runs"]);
    delete(&clients, &bucket, &copy).await;
    let checks = failing_after(&finished, &clients, || async {
        delete(&clients, &bucket, &log_key).await;
    })
    .await;
    assert_eq!(checks, ["batch.runs", "batch.log", "batch.status_body"]);
    put(&clients, &bucket, &log_key, log).await;

    // A message left on the trigger queue.
    let checks = failing_after(&finished, &clients, || async {
        crate::support::leave_message(&clients, &res.trigger_queue).await;
    })
    .await;
    assert_eq!(checks, ["batch.trigger_queue"]);
    crate::support::purge(&clients, &res.trigger_queue).await;

    // Nothing left broken: it passes again. Then one run-status message too many.
    let again = finished.rejudge(&clients).await.unwrap();
    assert!(again.passed(), "{:?}", again.failures());
    // Every check was made, and each says what it saw.
    let held: Vec<&str> = again.held().iter().map(|f| f.check.as_str()).collect();
    assert_eq!(
        held,
        [
            "batch.runs",
            "batch.trigger_queue",
            "batch.run_status",
            "batch.table_rows",
            "batch.rows_per_company",
            "batch.table_content",
            "batch.bad_input",
            "batch.log_fields",
            "batch.status_body",
            "batch.output_rows",
            "batch.output_content"
        ]
    );
    let checks = failing_after(&finished, &clients, || async {
        clients
            .sns
            .publish()
            .topic_arn(&res.status_topic)
            .subject("e2e-batch_Pipeline_Success")
            .message("{}")
            .send()
            .await
            .unwrap();
        // SNS delivers to the subscribed queue on its own time: wait until both are there.
        for _ in 0..100 {
            let depth = tickflow_harness::observe::queue_depth(&clients, &res.status_queue).await;
            if depth.is_ok_and(|d| d.total() >= 2) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await;
    assert_eq!(checks, ["batch.run_status", "batch.status_body"]);
    finished.teardown(&clients, url).await;
}

/// A field of a run log as it was written.
fn log_value(log: &[u8], field: &str) -> serde_json::Value {
    let summary: serde_json::Value = serde_json::from_slice(log).unwrap();
    summary[field].clone()
}

async fn logs(clients: &tickflow_pipeline::aws::Clients, bucket: &str) -> Vec<String> {
    let mut keys: Vec<String> = clients
        .object_keys(bucket)
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .filter(|k| layout::is_run_log(k))
        .collect();
    keys.sort();
    keys
}

/// The output object is completed only once the table has committed its rows: a `COMMIT` that
/// fails (a deferred constraint that refuses the rows at commit time) leaves no output, and
/// the same run with the constraint gone writes both.
#[tokio::test]
async fn a_commit_that_fails_leaves_no_output_behind() {
    let clients = crate::support::clients().await;
    let url = &postgres::shared::shared()
        .unwrap_or_else(|e| panic!("the batch tests need PostgreSQL: {e}"))
        .url;
    let schema = format!("tickflow_commit_{}", std::process::id());
    let admin = postgres::connect(url).await.unwrap();
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};
             SET search_path TO {schema};
             {};
             CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$;
             CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON {TABLE}
               DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse();",
            layout::create_table()
        ))
        .await
        .unwrap();
    let bucket = format!("tickflow-commit-{}", uuid::Uuid::new_v4().simple());
    clients
        .s3
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    put(&clients, &bucket, layout::COMPANY_LIST, b"ACME\n".to_vec()).await;
    let stock = format!(
        "{}\n2020-01-02,10,11,9,10.5,10.5,100\n2020-01-03,10.5,11,9,9.5,9.5,100\n",
        layout::CSV_HEADER
    );
    put(
        &clients,
        &bucket,
        &layout::stock_key("ACME"),
        stock.into_bytes(),
    )
    .await;
    let separator = if url.contains('?') { '&' } else { '?' };
    let job = tickflow_pipeline::batch::BatchJob {
        clients: clients.clone(),
        source_bucket: bucket.clone(),
        name: "e2e-commit".into(),
        database_url: format!("{url}{separator}options=-c%20search_path%3D{schema}"),
        load_attempts: tickflow_pipeline::batch::LOAD_ATTEMPTS,
        chaos: None,
        progress: None,
    };
    let failed = job.run("2026-12-06").await.expect("announced");
    assert!(!failed.success, "{failed:?}");
    assert!(
        failed
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("COMMIT"),
        "{failed:?}"
    );
    assert_eq!(failed.output_key, None);
    let output = clients.get_object(&bucket, layout::OUTPUT).await;
    assert!(
        output.is_err(),
        "no output for rows the table does not hold"
    );
    admin
        .batch_execute(&format!(
            "DROP TRIGGER refuse_at_commit ON {schema}.{TABLE}"
        ))
        .await
        .unwrap();
    let done = job.run("2026-12-06").await.expect("announced");
    assert!(done.success, "{done:?}");
    assert_eq!(done.rows_loaded, 2);
    let (_, body) = clients.get_object(&bucket, layout::OUTPUT).await.unwrap();
    assert_eq!(String::from_utf8(body).unwrap().lines().count(), 3);
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}

/// A batch fault rule that lists a call the run never makes fires nothing, and the run fails on
/// `faults.rules` however well it loaded: a schedule that did not happen proves nothing.
#[tokio::test]
async fn a_batch_fault_rule_that_never_fires_fails_the_run() {
    let clients = crate::support::clients().await;
    let url = &postgres::shared::shared().unwrap().url;
    let config = BatchRunConfig {
        name: "e2e-batch-silent-rule".into(),
        seed: 9,
        input: BatchInput::Generate(BatchSettings {
            companies: 3,
            days: 50,
            ..BatchSettings::default()
        }),
        postgres_container: None,
        faults: vec![FaultRule {
            service: Some(Service::S3),
            operation: Some("GetObject".into()),
            calls: vec![100_000],
            ..FaultRule::new(FaultKind::Throttle)
        }],
        load_attempts: tickflow_pipeline::batch::LOAD_ATTEMPTS,
        trigger_resumes: true,
        liveness_secs: None,
        alarms: Default::default(),
    };
    let report = run(&clients, url, &config).await.unwrap();
    let failed: Vec<&str> = report.failures().iter().map(|f| f.check.as_str()).collect();
    assert_eq!(failed, ["faults.rules"], "{}", report.render_text());
    assert_eq!(report.table_rows, 150, "the load itself was whole");
}

/// The negative twin of `scenarios/batch-fault-db.toml`: the server ends the loader's `COPY`,
/// and a loader that does not load again leaves the table without the run's rows and announces
/// a failure; the judge fails the run on it. The loader as shipped loads again and passes.
#[tokio::test]
async fn a_terminated_copy_fails_a_loader_that_does_not_load_again_and_not_one_that_does() {
    let clients = crate::support::clients().await;
    let url = &postgres::shared::shared().unwrap().url;
    let config = |load_attempts| BatchRunConfig {
        name: format!("e2e-batch-terminated-{load_attempts}"),
        seed: 12,
        input: BatchInput::Generate(BatchSettings {
            companies: 60,
            days: 2520,
            ..BatchSettings::default()
        }),
        postgres_container: None,
        faults: vec![FaultRule {
            at: vec![1],
            ..FaultRule::new(FaultKind::DbTerminate)
        }],
        load_attempts,
        trigger_resumes: true,
        liveness_secs: None,
        alarms: Default::default(),
    };
    let once = run(&clients, url, &config(1)).await.unwrap();
    let failed: Vec<&str> = once.failures().iter().map(|f| f.check.as_str()).collect();
    assert!(
        failed.contains(&"batch.table_rows") && failed.contains(&"batch.run_status"),
        "{}",
        once.render_text()
    );
    assert_eq!(once.faults.fired.len(), 1, "{}", once.render_text());
    let again = run(
        &clients,
        url,
        &config(tickflow_pipeline::batch::LOAD_ATTEMPTS),
    )
    .await
    .unwrap();
    assert!(again.passed(), "{}", again.render_text());
    assert_eq!(again.run.as_ref().map(|r| r.load_retries), Some(1));
}

/// The negative twin of `scenarios/batch-fault-crash.toml`: the load dies mid-`COPY`, its
/// message comes back, and a trigger that does not know the day's claim as its own never runs
/// the day again: no rows, no status, and the judge fails the run on it (the trigger as shipped
/// resumes, and the scenario passes).
#[tokio::test]
async fn a_crashed_load_fails_a_trigger_that_does_not_resume() {
    let clients = crate::support::clients().await;
    let url = &postgres::shared::shared().unwrap().url;
    let config = BatchRunConfig {
        name: "e2e-batch-no-resume".into(),
        seed: 45,
        input: BatchInput::Generate(BatchSettings {
            companies: 12,
            days: 250,
            ..BatchSettings::default()
        }),
        postgres_container: None,
        faults: vec![FaultRule {
            stage: Some(tickflow_pipeline::chaos::Stage::Loader),
            at: vec![4],
            ..FaultRule::new(FaultKind::Crash)
        }],
        load_attempts: tickflow_pipeline::batch::LOAD_ATTEMPTS,
        trigger_resumes: false,
        liveness_secs: None,
        alarms: Default::default(),
    };
    let report = within(
        Duration::from_secs(300),
        "the run",
        run(&clients, url, &config),
    )
    .await
    .unwrap();
    let failed: Vec<&str> = report.failures().iter().map(|f| f.check.as_str()).collect();
    assert!(
        failed.contains(&"batch.run_status") && failed.contains(&"batch.table_rows"),
        "{}",
        report.render_text()
    );
    assert_eq!(report.faults.fired.len(), 1, "{}", report.render_text());
}

/// Two sessions creating the batch table at once (a loader and another loader, or the lock of
/// a `db_lock` fault) race in PostgreSQL's catalog even with `IF NOT EXISTS`; both must go on.
#[tokio::test]
async fn two_sessions_creating_the_table_at_once_both_go_on() {
    let url = &postgres::shared::shared().unwrap().url;
    let admin = postgres::connect(url).await.unwrap();
    let separator = if url.contains('?') { '&' } else { '?' };
    for round in 0..10 {
        let schema = format!("tickflow_race_{}_{round}", std::process::id());
        admin
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .unwrap();
        let in_schema = format!("{url}{separator}options=-c%20search_path%3D{schema}");
        let (a, b) = tokio::join!(postgres::connect(&in_schema), postgres::connect(&in_schema));
        let (a, b) = (a.unwrap(), b.unwrap());
        let (first, second) = tokio::join!(
            tickflow_pipeline::batch::load::ensure_table(&a),
            tickflow_pipeline::batch::load::ensure_table(&b)
        );
        assert!(first.is_ok() && second.is_ok(), "{first:?} {second:?}");
        admin
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .unwrap();
    }
}

/// A load wedged after its second company file went into `COPY` (`stall`: no reconnection or
/// restart lifts it): once nothing moves for `liveness_secs`, the harness stops waiting (instead
/// of at its 600 s limit) and FAILs `liveness` naming the batch job, with how far it got; the
/// table holds nothing of the run (its transaction never committed).
#[tokio::test]
async fn a_wedged_load_fails_liveness_naming_the_batch_job_within_the_limit() {
    let clients = crate::support::clients().await;
    let url = &postgres::shared::shared().unwrap().url;
    let config = BatchRunConfig {
        name: "e2e-batch-wedged".into(),
        seed: 9,
        input: BatchInput::Generate(BatchSettings {
            companies: 5,
            days: 60,
            ..BatchSettings::default()
        }),
        postgres_container: None,
        faults: vec![FaultRule {
            stage: Some(Stage::Loader),
            at: vec![2],
            ..FaultRule::new(FaultKind::Stall)
        }],
        load_attempts: tickflow_pipeline::batch::LOAD_ATTEMPTS,
        trigger_resumes: true,
        liveness_secs: Some(10.0),
        alarms: Default::default(),
    };
    let started = std::time::Instant::now();
    let report = tickflow_harness::flows::batch::run(&clients, url, &config)
        .await
        .unwrap();
    let text = report.render_text();
    let failures = report.failures();
    let liveness = failures.iter().find(|f| f.check == "liveness");
    let liveness = liveness.unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        liveness.actual,
        "stuck at the batch job: nothing moved for 10.0 s; 2 of 5 company files sent into COPY",
        "{text}"
    );
    assert_eq!(report.table_rows, 0, "{text}");
    assert!(started.elapsed().as_secs() < 120, "{:?}", started.elapsed());
}
