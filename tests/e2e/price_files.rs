//! The price-file flow against LocalStack.
//!
//! The price-file flow against a real LocalStack: the analysis waits for a record's predecessor
//! in market time (and compares with the wrong one when it does not wait), and every check of
//! the price-file verdict fails when a finished run is broken its way.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tickflow_harness::flows::price_files::settings::{FileJump, MalformedCounts};
use tickflow_harness::flows::price_files::{
    run_and_keep, topology, FinishedPriceFiles, PriceFileSettings, PriceFilesRunConfig,
};
use tickflow_harness::verdict::Report as _;
use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::esm::{Handler, SqsMessage};
use tickflow_pipeline::price_files::{
    layout, Alert, AnalysisConfig, AnalysisHandler, PriceFileStats, PriceRecord,
};
use tickflow_pipeline::source::InstrumentSpec;

use crate::support::{delete, put};

fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + chrono::Duration::minutes(minutes)
}

/// Puts the CSV object of `asset`'s record at `minutes` with weighted average `wa`, and returns
/// the S3 notification message that announces it.
async fn record(
    clients: &Clients,
    bucket: &str,
    asset: &str,
    minutes: i64,
    wa: f64,
    receive_count: u32,
) -> SqsMessage {
    let record = PriceRecord {
        asset: asset.into(),
        date: at(minutes),
        open: wa,
        high: wa,
        low: wa,
        close: wa,
        volume: 1.0,
        weighted_average: wa,
    };
    let key = layout::csv_key(asset, record.date);
    put(clients, bucket, &key, record.to_csv("source").into_bytes()).await;
    notice(&key, receive_count)
}

fn notice(key: &str, receive_count: u32) -> SqsMessage {
    SqsMessage {
        message_id: key.into(),
        receipt_handle: String::new(),
        body: serde_json::json!({"Records": [{
            "eventName": "ObjectCreated:Put",
            "eventTime": "2026-11-30T00:00:00.000Z",
            "s3": {"object": {"key": key}}
        }]})
        .to_string(),
        receive_count,
    }
}

async fn alert(clients: &Clients, bucket: &str, asset: &str, minutes: i64) -> Option<Alert> {
    let key = layout::alert_key(asset, at(minutes));
    let (_, body) = clients.get_object(bucket, &key).await.ok()?;
    Some(serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn the_analysis_waits_for_the_previous_record_in_market_time() {
    let clients = crate::support::clients().await;
    let res = topology::provision(&clients, &tickflow_harness::infra::topology::new_run_id())
        .await
        .unwrap();
    let bucket = &res.bucket;
    let stats = Arc::new(PriceFileStats::default());
    let analysis = |hold_receives| {
        AnalysisHandler::new(
            clients.clone(),
            bucket,
            AnalysisConfig {
                interval: chrono::Duration::minutes(5),
                threshold_pct: 3.0,
                hold_receives,
            },
            stats.clone(),
        )
    };
    let handler = analysis(5);

    // ETH at 0 and 10 minutes; the record at 5 minutes arrives last.
    record(&clients, bucket, "ETH", 0, 100.0, 1).await;
    let early = record(&clients, bucket, "ETH", 10, 110.0, 1).await;
    let held = handler.handle(std::slice::from_ref(&early)).await.unwrap();
    assert_eq!(held.batch_item_failures.len(), 1, "left for redelivery");
    assert_eq!(stats.held.load(Ordering::Relaxed), 1);
    assert!(alert(&clients, bucket, "ETH", 10).await.is_none());
    let late = record(&clients, bucket, "ETH", 5, 104.0, 1).await;
    assert!(handler
        .handle(&[late])
        .await
        .unwrap()
        .batch_item_failures
        .is_empty());
    let again = SqsMessage {
        receive_count: 2,
        ..early
    };
    assert!(handler
        .handle(&[again])
        .await
        .unwrap()
        .batch_item_failures
        .is_empty());
    let moved = alert(&clients, bucket, "ETH", 10).await.unwrap();
    assert_eq!(moved.previous_date, at(5), "compared with 00:05, not 00:00");
    assert!((moved.change_pct - (110.0 / 104.0 - 1.0) * 100.0).abs() < 1e-9);
    assert_eq!(
        alert(&clients, bucket, "ETH", 5)
            .await
            .unwrap()
            .previous_date,
        at(0)
    );

    // A record whose predecessor never comes is compared across the gap once it has waited.
    let gap = record(&clients, bucket, "ETH", 20, 120.0, 5).await;
    assert!(handler
        .handle(&[gap])
        .await
        .unwrap()
        .batch_item_failures
        .is_empty());
    assert_eq!(stats.gaps.load(Ordering::Relaxed), 1);
    assert_eq!(
        alert(&clients, bucket, "ETH", 20)
            .await
            .unwrap()
            .previous_date,
        at(10)
    );

    // Redelivered, an alerted record does not alert twice.
    let twice = notice(&layout::csv_key("ETH", at(20)), 6);
    handler.handle(&[twice]).await.unwrap();
    assert_eq!(stats.alerts.load(Ordering::Relaxed), 3);
    assert_eq!(stats.alerts_already_sent.load(Ordering::Relaxed), 1);

    // Without waiting (hold_receives = 1), the same arrival order compares the wrong records.
    let impatient = analysis(1);
    record(&clients, bucket, "BTC", 0, 100.0, 1).await;
    let early = record(&clients, bucket, "BTC", 10, 110.0, 1).await;
    impatient.handle(&[early]).await.unwrap();
    record(&clients, bucket, "BTC", 5, 104.0, 1).await;
    assert_eq!(
        alert(&clients, bucket, "BTC", 10)
            .await
            .unwrap()
            .previous_date,
        at(0),
        "arrival order, not market order"
    );
    topology::teardown(&clients, &res).await;
}

/// Runs `change` on a kept run, judges it again, and returns the checks that failed.
async fn failing_after<Fut: std::future::Future<Output = ()>>(
    finished: &FinishedPriceFiles,
    clients: &Clients,
    change: Fut,
) -> Vec<String> {
    change.await;
    let report = finished.rejudge(clients).await.unwrap();
    report.failures().iter().map(|f| f.check.clone()).collect()
}

fn asset(name: &str, price: f64) -> InstrumentSpec {
    InstrumentSpec {
        name: name.into(),
        price,
        drift: 0.0,
        volatility: 0.5,
        spread_bps: 0.0,
    }
}

#[tokio::test]
async fn every_corruption_of_a_finished_price_file_run_fails_its_check() {
    let clients = crate::support::clients().await;
    let config = PriceFilesRunConfig {
        name: "e2e-prices".into(),
        seed: 4,
        settings: PriceFileSettings {
            assets: vec![asset("ETH", 3000.0), asset("BTC", 90_000.0)],
            files: 40,
            forced_jumps: vec![FileJump {
                asset: "ETH".into(),
                at_file: 20,
                pct: 6.0,
            }],
            malformed: MalformedCounts {
                unparsable: 1,
                missing_field: 1,
                unknown_format: 1,
                too_large: 0,
            },
            hold_receives: 2,
            ..PriceFileSettings::default()
        },
        measure_ceiling: false,
        faults: Vec::new(),
    };
    let finished = run_and_keep(&clients, &config).await.unwrap();
    assert!(
        finished.report.passed(),
        "{}",
        finished.report.render_text()
    );
    assert_eq!(finished.report.alerts, 1);
    let res = &finished.resources;
    let bucket = res.bucket.clone();
    // The steps are stopped: what the test writes must not be announced to their queues, but
    // alert objects are still announced on the alert topic, as S3 announces the analysis's.
    let alerts = aws_sdk_s3::types::TopicConfiguration::builder()
        .topic_arn(&res.alert_topic)
        .events(aws_sdk_s3::types::Event::from("s3:ObjectCreated:*"))
        .filter(
            aws_sdk_s3::types::NotificationConfigurationFilter::builder()
                .key(
                    aws_sdk_s3::types::S3KeyFilter::builder()
                        .filter_rules(
                            aws_sdk_s3::types::FilterRule::builder()
                                .name(aws_sdk_s3::types::FilterRuleName::Prefix)
                                .value(layout::ALERTS)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .build()
        .unwrap();
    clients
        .s3
        .put_bucket_notification_configuration()
        .bucket(&bucket)
        .notification_configuration(
            aws_sdk_s3::types::NotificationConfiguration::builder()
                .topic_configurations(alerts)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let keys = clients.object_keys(&bucket).await.unwrap().unwrap();
    let csv_key = keys
        .iter()
        .find(|k| k.starts_with(layout::ANALYSIS))
        .unwrap()
        .clone();
    let quarantine_key = keys
        .iter()
        .find(|k| k.starts_with(layout::QUARANTINE))
        .unwrap()
        .clone();
    let (_, csv) = clients.get_object(&bucket, &csv_key).await.unwrap();
    let (_, quarantined) = clients.get_object(&bucket, &quarantine_key).await.unwrap();
    // The checks that fail with `body` as the quarantine entry.
    let quarantine_as = |body: Vec<u8>| {
        failing_after(
            &finished,
            &clients,
            put(&clients, &bucket, &quarantine_key, body),
        )
    };

    // A CSV object gone.
    let checks = failing_after(&finished, &clients, delete(&clients, &bucket, &csv_key)).await;
    assert_eq!(checks, ["price_files.objects", "price_files.missing"]);
    put(&clients, &bucket, &csv_key, csv.clone()).await;

    // A value changed (the weighted average's last digit).
    let text = String::from_utf8(csv.clone()).unwrap();
    let (record, source) = PriceRecord::from_csv(&text).unwrap();
    let altered = PriceRecord {
        weighted_average: record.weighted_average + 0.01,
        ..record.clone()
    };
    let body = altered.to_csv(&source).into_bytes();
    let checks = failing_after(&finished, &clients, put(&clients, &bucket, &csv_key, body)).await;
    assert_eq!(checks, ["price_files.values"]);
    put(&clients, &bucket, &csv_key, csv.clone()).await;

    // The same file written twice (a second CSV object naming it).
    let copy = layout::csv_key(&record.asset, at(60 * 24 * 365));
    let checks = failing_after(
        &finished,
        &clients,
        put(&clients, &bucket, &copy, csv.clone()),
    )
    .await;
    assert_eq!(checks, ["price_files.objects", "price_files.twice"]);
    delete(&clients, &bucket, &copy).await;

    // A CSV object moved to another key (its row unchanged): found once, but not where the
    // analysis looks for it by asset and market time.
    let elsewhere = layout::csv_key(&record.asset, at(60 * 24 * 400));
    let checks = failing_after(&finished, &clients, async {
        delete(&clients, &bucket, &csv_key).await;
        put(&clients, &bucket, &elsewhere, csv.clone()).await;
    })
    .await;
    assert_eq!(checks, ["price_files.values"]);
    delete(&clients, &bucket, &elsewhere).await;
    put(&clients, &bucket, &csv_key, csv.clone()).await;

    // A quarantined file with another kind, then one naming a file never uploaded.
    let mut entry: serde_json::Value = serde_json::from_slice(&quarantined).unwrap();
    let kind = if entry["kind"] == "unknown_format" {
        "unparsable"
    } else {
        "unknown_format"
    };
    entry["kind"] = kind.into();
    let body = serde_json::to_vec(&entry).unwrap();
    let checks = quarantine_as(body).await;
    assert_eq!(checks, ["price_files.values"]);
    put(&clients, &bucket, &quarantine_key, quarantined.clone()).await;
    // Its kind right, its reason no longer naming what is wrong with the file, or its size.
    let mut vague: serde_json::Value = serde_json::from_slice(&quarantined).unwrap();
    vague["reason"] = "something".into();
    let body = serde_json::to_vec(&vague).unwrap();
    let checks = quarantine_as(body).await;
    let kind = vague["kind"].as_str().unwrap_or_default().to_string();
    let named_nothing = kind == "unknown_format";
    if named_nothing {
        // An unknown format has nothing to name: an empty reason is what fails it.
        vague["reason"] = "".into();
        let body = serde_json::to_vec(&vague).unwrap();
        let checks = quarantine_as(body).await;
        assert_eq!(checks, ["price_files.values"], "{kind}");
    } else {
        assert_eq!(checks, ["price_files.values"], "{kind}");
    }
    vague = serde_json::from_slice(&quarantined).unwrap();
    vague["size"] = serde_json::json!(vague["size"].as_u64().unwrap() + 1);
    let body = serde_json::to_vec(&vague).unwrap();
    let checks = quarantine_as(body).await;
    assert_eq!(checks, ["price_files.values"]);
    put(&clients, &bucket, &quarantine_key, quarantined.clone()).await;
    entry["source_key"] = "crypto/01-data-ingestion/ETH/never.json".into();
    let stray = format!("{}ETH/never.json.json", layout::QUARANTINE);
    let body = serde_json::to_vec(&entry).unwrap();
    let checks = failing_after(&finished, &clients, put(&clients, &bucket, &stray, body)).await;
    assert_eq!(checks, ["price_files.objects", "price_files.unknown"]);
    delete(&clients, &bucket, &stray).await;

    // A message left in the ETL queue.
    let checks = failing_after(&finished, &clients, async {
        crate::support::leave_message(&clients, &res.etl_queue).await;
    })
    .await;
    assert_eq!(checks, ["price_files.queues"]);
    crate::support::purge(&clients, &res.etl_queue).await;

    // Nothing left broken: it passes again. Then an alert twice, then none at all.
    let again = finished.rejudge(&clients).await.unwrap();
    assert!(again.passed(), "{:?}", again.failures());
    // Every check was made, and each says what it saw.
    let held: Vec<&str> = again.held().iter().map(|f| f.check.as_str()).collect();
    assert_eq!(
        held,
        [
            "price_files.objects",
            "price_files.missing",
            "price_files.twice",
            "price_files.unknown",
            "price_files.values",
            "price_files.alerts",
            "price_files.alert_objects",
            "price_files.queues"
        ]
    );
    let object = keys.iter().find(|k| k.starts_with(layout::ALERTS)).unwrap();
    let (_, alert) = clients.get_object(&bucket, object).await.unwrap();
    // The alert written again with its latest weighted average zeroed: a second announcement,
    // and what both say is not the alert.
    let mut zeroed: serde_json::Value = serde_json::from_slice(&alert).unwrap();
    zeroed["latest_weighted_average"] = serde_json::json!(0.0);
    let body = serde_json::to_vec(&zeroed).unwrap();
    let checks = failing_after(&finished, &clients, announce(&clients, res, object, body)).await;
    assert_eq!(checks, ["price_files.alerts", "price_files.alert_objects"]);
    // Announced once, as it was: it passes.
    crate::support::empty_queue(&clients, &res.alert_queue).await;
    announce(&clients, res, object, alert.clone()).await;
    let again = finished.rejudge(&clients).await.unwrap();
    assert!(again.passed(), "{:?}", again.failures());
    // Written again as it was, as an announcer that does not create once would: two alerts.
    let checks = failing_after(
        &finished,
        &clients,
        announce(&clients, res, object, alert.clone()),
    )
    .await;
    assert_eq!(checks, ["price_files.alerts"]);
    crate::support::empty_queue(&clients, &res.alert_queue).await;
    announce(&clients, res, object, alert.clone()).await;
    // The object gone after its announcement.
    let checks = failing_after(&finished, &clients, delete(&clients, &bucket, object)).await;
    assert_eq!(checks, ["price_files.alerts", "price_files.alert_objects"]);
    crate::support::empty_queue(&clients, &res.alert_queue).await;
    announce(&clients, res, object, alert.clone()).await;
    // An alert object no record calls for, announced.
    let stray = format!("{}BTC/20991231T000000Z.json", layout::ALERTS);
    let checks = failing_after(
        &finished,
        &clients,
        announce(&clients, res, &stray, alert.clone()),
    )
    .await;
    assert_eq!(checks, ["price_files.alerts", "price_files.alert_objects"]);
    delete(&clients, &bucket, &stray).await;
    crate::support::empty_queue(&clients, &res.alert_queue).await;
    announce(&clients, res, object, alert.clone()).await;
    // S3 delivering the announcement twice (the same creation) is no second alert; a message
    // that is not an S3 notification is not an alert.
    let delivered = tickflow_harness::observe::peek_all(
        &clients,
        &res.alert_queue,
        Duration::from_secs(10),
        Duration::from_secs(1),
    )
    .await
    .unwrap();
    let notification = tickflow_harness::observe::deliveries(&delivered.bodies())
        .into_iter()
        .map(|d| d.message)
        .find(|m| m.contains(object.as_str()))
        .expect("the alert's notification");
    let checks = failing_after(&finished, &clients, async {
        publish_alert(&clients, &res.alert_topic, notification.clone()).await;
        tickflow_harness::observe::wait_for_messages(
            &clients,
            &res.alert_queue,
            3,
            Duration::from_secs(10),
        )
        .await;
    })
    .await;
    assert!(checks.is_empty(), "a repeated delivery: {checks:?}");
    let checks = failing_after(&finished, &clients, async {
        publish_alert(
            &clients,
            &res.alert_topic,
            String::from_utf8(alert.clone()).unwrap(),
        )
        .await;
    })
    .await;
    assert_eq!(checks, ["price_files.alerts"]);
    // One too many that arrives while the judge reads, after the expected one: the alerts
    // settle until nothing new arrives, so it is seen.
    crate::support::empty_queue(&clients, &res.alert_queue).await;
    announce(&clients, res, object, alert.clone()).await;
    let late = {
        let (clients, topic, message) = (clients.clone(), res.alert_topic.clone(), notification);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1_500)).await;
            // Another creation of the key: S3 names each write's request apart.
            let mut second: serde_json::Value = serde_json::from_str(&message).unwrap();
            let request = &mut second["Records"][0]["responseElements"]["x-amz-request-id"];
            *request = format!("0{}", request.as_str().unwrap_or_default()).into();
            publish_alert(&clients, &topic, second.to_string()).await;
        })
    };
    let checks = failing_after(&finished, &clients, async {}).await;
    late.await.unwrap();
    assert_eq!(checks, ["price_files.alerts"], "a late extra alert is seen");
    let checks = failing_after(&finished, &clients, async {
        crate::support::purge(&clients, &res.alert_queue).await;
    })
    .await;
    assert_eq!(checks, ["price_files.alerts"]);
    finished.teardown(&clients).await;
}

/// Writes `body` at `key` of the run's bucket, so that S3 announces it on the alert topic as it
/// announces the analysis's alerts, and waits for the announcement.
async fn announce(clients: &Clients, res: &topology::PriceFileResources, key: &str, body: Vec<u8>) {
    let before = tickflow_harness::observe::queue_depth(clients, &res.alert_queue)
        .await
        .unwrap()
        .total();
    put(clients, &res.bucket, key, body).await;
    let limit = Duration::from_secs(10);
    tickflow_harness::observe::wait_for_messages(clients, &res.alert_queue, before + 1, limit)
        .await;
}

/// Publishes `message` on the run's alert topic, as S3 would.
async fn publish_alert(clients: &Clients, topic: &str, message: String) {
    clients
        .sns
        .publish()
        .topic_arn(topic)
        .subject("Amazon S3 Notification")
        .message(message)
        .send()
        .await
        .unwrap();
}

/// A price file whose notification the ETL step loses (deleted unhandled, on purpose: `lose`)
/// FAILs the run, and the verdict says where the file was last seen: uploaded, never received
/// by the ETL step. The same run without the fault has every file at every stage of its path.
#[tokio::test]
async fn a_lost_notification_fails_the_run_saying_where_its_file_was_last_seen() {
    use tickflow_pipeline::chaos::{FaultKind, FaultRule, Stage};
    let clients = crate::support::clients().await;
    let mut config = PriceFilesRunConfig {
        name: "e2e-prices-lost".into(),
        seed: 6,
        settings: PriceFileSettings {
            assets: vec![asset("ETH", 3000.0)],
            files: 30,
            ..PriceFileSettings::default()
        },
        measure_ceiling: false,
        faults: Vec::new(),
    };
    let report = tickflow_harness::flows::price_files::run(&clients, &config)
        .await
        .unwrap();
    let text = report.render_text();
    assert!(report.passed(), "{text}");
    let history = report.history.as_ref().unwrap_or_else(|| panic!("{text}"));
    let seen: Vec<u64> = history.stages.iter().map(|s| s.events).collect();
    // Every file uploaded, through the ETL, as CSV (none quarantined), analysed; alerts as due.
    assert_eq!(seen[..5], [30, 30, 30, 0, 30], "{text}");
    assert_eq!(seen[5], report.expected_alerts, "{text}");

    // Three messages lost: one of them may be S3's set-up test event (it comes in any order).
    config.faults = vec![FaultRule {
        stage: Some(Stage::Etl),
        at: vec![3, 4, 5],
        ..FaultRule::new(FaultKind::Lose)
    }];
    let report = tickflow_harness::flows::price_files::run(&clients, &config)
        .await
        .unwrap();
    let text = report.render_text();
    assert!(!report.passed(), "{text}");
    // What a user sees (`--nocapture`): the README shows it.
    println!("{text}");
    let failures = report.failures();
    let history = failures.iter().find(|f| f.check == "history");
    let history = history.unwrap_or_else(|| panic!("{text}"));
    assert!(!history.examples.is_empty(), "{history}");
    for line in &history.examples {
        assert!(
            line.starts_with(&format!("lost {}", layout::INGESTION))
                && line.contains(": last seen in ingestion (uploaded at ")
                && line.ends_with("), never in the ETL step"),
            "{line}"
        );
    }
}

/// An ETL step wedged at its second batch (`stall`: no restart lifts it): its message comes
/// back to another poller after the visibility timeout, so nothing is owed, but the wedged
/// step never stops. Its drain is given `liveness_secs`, and the run FAILs `liveness` naming
/// the ETL step instead of waiting out the 120 s drain limit.
#[tokio::test]
async fn a_wedged_etl_step_fails_liveness_naming_it_within_the_limit() {
    use tickflow_pipeline::chaos::{FaultKind, FaultRule, Stage};
    let clients = crate::support::clients().await;
    let config = PriceFilesRunConfig {
        name: "e2e-prices-wedged".into(),
        seed: 8,
        settings: PriceFileSettings {
            assets: vec![asset("ETH", 3000.0)],
            files: 30,
            liveness_secs: Some(8),
            ..PriceFileSettings::default()
        },
        measure_ceiling: false,
        faults: vec![FaultRule {
            stage: Some(Stage::Etl),
            at: vec![2],
            ..FaultRule::new(FaultKind::Stall)
        }],
    };
    let started = std::time::Instant::now();
    let report = tickflow_harness::flows::price_files::run(&clients, &config)
        .await
        .unwrap();
    let text = report.render_text();
    let stuck = report.liveness.stuck.as_ref();
    assert_eq!(stuck.map(|s| s.step.as_str()), Some("ETL"), "{text}");
    let failures = report.failures();
    let liveness = failures.iter().find(|f| f.check == "liveness");
    let liveness = liveness.unwrap_or_else(|| panic!("{text}"));
    // The wedged batch's message came back to another poller and was handled: nothing is owed,
    // and the wedged one does not stop.
    assert!(
        liveness
            .actual
            .starts_with("stuck at the ETL step: did not stop when asked to drain"),
        "{liveness}"
    );
    // Well within the steps' drain limit (120 s) and the quiet waits before it.
    assert!(started.elapsed().as_secs() < 90, "{:?}", started.elapsed());
}
