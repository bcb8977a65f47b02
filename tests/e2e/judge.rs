//! Every check can fail: finished runs corrupted on purpose.
//!
//! Every check can fail: a finished run is corrupted on purpose, one way at a time, judged again
//! from its resources, and must FAIL on exactly the checks that corruption breaks, naming what
//! and where; then the corruption is undone, and the run PASSes again at the end.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use tickflow_harness::flows::stream::driver::{run_and_keep, FinishedStream, StreamRunConfig};
use tickflow_harness::flows::stream::faults::FaultSettings;
use tickflow_harness::flows::stream::report::StreamReport;
use tickflow_harness::flows::stream::scenario::assert::evaluate;
use tickflow_harness::flows::stream::scenario::Expect;
use tickflow_harness::scenario;
use tickflow_harness::verdict::Failure;
use tickflow_harness::verdict::Report as _;
use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::event::{enrich, MarketEvent};
use tickflow_pipeline::source::{Generator, GeneratorConfig};

use crate::support::{clients, delete, failed_checks, run, stream_expect, within};

const LIMIT: Duration = Duration::from_secs(120);

/// A run with every fate (clean, malformed, poison), kept to be tampered with.
fn config() -> StreamRunConfig {
    let mut config = StreamRunConfig::new("e2e-judge", 3_000, 23);
    config.faults = FaultSettings {
        malformed_ratio: 0.03,
        poison_ratio: 0.003,
        ..FaultSettings::default()
    };
    config.pipeline.sqs_message_bytes = Some(16 * 1024);
    config.pipeline.visibility_timeout_secs = 2;
    config.pipeline.max_receive_count = 2;
    config.pipeline.flush_age_ms = 300;
    config.keep_resources = true;
    config
}

/// A scenario `[expect]` that states the clean run exactly, in every assertion kind.
fn exact_expectations(r: &StreamReport) -> Expect {
    let (mut data_objects, mut quarantine_objects) = (0, 0);
    for (name, p) in &r.judged.partitions {
        if name.starts_with("quarantine") {
            quarantine_objects += p.objects;
        } else {
            data_objects += p.objects;
        }
    }
    let c = &r.judged.reconciliation;
    let text = format!(
        r#"
[scenario]
name = "exact"
[generate]
events = 1
[expect]
found = {found}
quarantined = {quarantined}
dead_lettered = {dead}
[[expect.partitions]]
glob = "event_type=*/**"
objects = {data_objects}
events = {found}
required_fields = ["event_uuid", "created_datetime", "event_type", "event_subtype", "processed_at"]
[[expect.partitions]]
glob = "quarantine/**"
objects = {quarantine_objects}
events = {quarantine_rows}
[expect.queues]
main_visible = 0
main_in_flight = 0
dlq = {dlq}
[expect.sns]
new_data = "objects"
price_alert = {alerts}
run_status = 1
run_status_subject = "e2e-judge_Pipeline_Success"
[expect.latency]
p99_ms = 600000
"#,
        found = c.found,
        quarantined = c.quarantined,
        dead = c.dead_lettered,
        quarantine_rows = r.judged.quarantine_rows,
        dlq = r.judged.dlq.total(),
        alerts = r.judged.sns.price_alert,
    );
    stream_expect("exact.toml", &text)
}

/// Judges the run again; returns the failures (invariants and assertions) after checking that
/// exactly `checks` failed.
async fn judged(
    run: &FinishedStream,
    clients: &Clients,
    expect: &Expect,
    what: &str,
    checks: &[&str],
) -> Vec<Failure> {
    // Boxed: a rejudge is a large future, and the corruption test awaits many in a row.
    let report = within(LIMIT, what, Box::pin(run.rejudge(clients)))
        .await
        .unwrap();
    let mut failures = report.judged.verdict.failures().to_vec();
    failures.extend(evaluate(expect, &report));
    let got: BTreeSet<&str> = failures.iter().map(|f| f.check.as_str()).collect();
    let want: BTreeSet<&str> = checks.iter().copied().collect();
    assert_eq!(got, want, "{what}:\n{failures:#?}");
    assert_eq!(
        report.judged.verdict.passed(),
        report.judged.verdict.failures().is_empty(),
        "{what}"
    );
    let verdict = if report.judged.verdict.passed() {
        "PASS "
    } else {
        "FAIL "
    };
    assert!(report.summary_line().starts_with(verdict), "{what}");
    failures
}

fn failure<'a>(failures: &'a [Failure], check: &str) -> &'a Failure {
    failures.iter().find(|f| f.check == check).unwrap()
}

/// An S3 object as it was, to put back.
struct Saved {
    body: Vec<u8>,
    metadata: HashMap<String, String>,
}

async fn get(clients: &Clients, bucket: &str, key: &str) -> Saved {
    let (metadata, body) = clients.get_object(bucket, key).await.unwrap();
    Saved { body, metadata }
}

impl Saved {
    /// Puts the object as it was at `key` (its own, to restore it, or another).
    async fn put(&self, clients: &Clients, bucket: &str, key: &str) {
        put(clients, bucket, key, self.body.clone(), &self.metadata).await;
    }
}

async fn put(
    clients: &Clients,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    meta: &HashMap<String, String>,
) {
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body))
        .set_metadata(Some(meta.clone()))
        .send()
        .await
        .unwrap();
}

/// Removes `bucket`'s event notifications: what the test writes there is not announced.
async fn silence(clients: &Clients, bucket: &str) {
    clients
        .s3
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(aws_sdk_s3::types::NotificationConfiguration::builder().build())
        .send()
        .await
        .unwrap();
}

/// Deletes the messages of `queue` whose body contains `marker`; leaves the others visible.
async fn remove_messages(clients: &Clients, queue: &str, marker: &str) -> usize {
    let mut removed = 0;
    let mut others = Vec::new();
    for _ in 0..20 {
        let messages = crate::support::receive(clients, queue, Some(30)).await;
        if messages.is_empty() {
            break;
        }
        for m in messages {
            let receipt = m.receipt_handle().unwrap().to_string();
            if m.body().unwrap_or_default().contains(marker) {
                clients
                    .sqs
                    .delete_message()
                    .queue_url(queue)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .unwrap();
                removed += 1;
            } else {
                others.push(receipt);
            }
        }
    }
    for receipt in others {
        clients
            .sqs
            .change_message_visibility()
            .queue_url(queue)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
    }
    removed
}

/// Waits (up to 10 s) until `queue` holds a message whose body contains `marker`, and leaves
/// it there.
async fn wait_for_delivery(clients: &Clients, queue: &str, marker: &str) {
    for _ in 0..100 {
        let peeked = tickflow_harness::observe::peek_all(
            clients,
            queue,
            Duration::from_secs(10),
            Duration::ZERO,
        )
        .await
        .unwrap();
        if peeked.bodies().iter().any(|b| b.contains(marker)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{marker:?} never reached {queue}");
}

async fn publish(clients: &Clients, topic: &str, subject: &str, message: &str) {
    clients
        .sns
        .publish()
        .topic_arn(topic)
        .subject(subject)
        .message(message)
        .send()
        .await
        .unwrap();
}

async fn send(clients: &Clients, queue: &str, body: &str) {
    clients
        .sqs
        .send_message()
        .queue_url(queue)
        .message_body(body)
        .send()
        .await
        .unwrap();
}

/// Takes one message off `queue` (deleted) and returns its body.
async fn take_one(clients: &Clients, queue: &str) -> String {
    let out = clients
        .sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(1)
        .visibility_timeout(60)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let message = out.messages.unwrap().remove(0);
    clients
        .sqs
        .delete_message()
        .queue_url(queue)
        .receipt_handle(message.receipt_handle().unwrap())
        .send()
        .await
        .unwrap();
    message.body().unwrap().to_string()
}

/// Waits (up to 10 s) until `queue` holds `count` messages.
async fn wait_for_count(clients: &Clients, queue: &str, count: usize) {
    tickflow_harness::observe::wait_for_messages(
        clients,
        queue,
        count as u64,
        Duration::from_secs(10),
    )
    .await;
}

/// Rewrites the lines of a JSONL body through `edit` (line index, row).
fn edit_rows(
    body: &[u8],
    mut edit: impl FnMut(usize, &mut serde_json::Map<String, serde_json::Value>),
) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, line) in body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        let mut row: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(line).unwrap();
        edit(i, &mut row);
        out.extend(serde_json::to_vec(&row).unwrap());
        out.push(b'\n');
    }
    out
}

#[tokio::test]
async fn every_corruption_of_a_finished_run_fails_its_checks_and_says_where() {
    let clients = clients().await;
    let run = within(LIMIT, "the run", run_and_keep(&clients, &config()))
        .await
        .unwrap();
    let clean = &run.report;
    assert!(clean.judged.verdict.passed(), "{}", clean.render_text());
    let r = &clean.judged.reconciliation;
    assert!(
        r.quarantined > 0 && r.dead_lettered > 0,
        "{}",
        clean.render_text()
    );
    let expect = exact_expectations(clean);
    assert!(
        evaluate(&expect, clean).is_empty(),
        "{:?}",
        evaluate(&expect, clean)
    );
    let res = run.resources().resources.clone();
    let subs = run.resources().subscriptions.clone();
    let bucket = res.bucket.as_str();
    // The run is over: what the test writes into the lake must not be announced by S3.
    silence(&clients, bucket).await;
    let keys = clients.object_keys(bucket).await.unwrap().unwrap();
    let data_key = keys
        .iter()
        .find(|k| k.starts_with("event_type=stock_price/"))
        .unwrap()
        .clone();
    let quarantine_key = keys
        .iter()
        .find(|k| k.starts_with("quarantine/"))
        .unwrap()
        .clone();
    let original = get(&clients, bucket, &data_key).await;
    let where_ = format!("s3://{bucket}/{data_key}");

    // 1. A lake object deleted: its events are missing.
    delete(&clients, bucket, &data_key).await;
    let f = judged(
        &run,
        &clients,
        &expect,
        "object deleted",
        &[
            "reconciliation.missing",
            // Its prices are gone from their windows too.
            "alerts.windows",
            "sns.new_data",
            "found",
            "partitions[event_type=*/**].objects",
            "partitions[event_type=*/**].events",
        ],
    )
    .await;
    assert!(
        failure(&f, "reconciliation.missing").examples[0]
            .contains("(clean) is in neither the lake"),
        "{f:?}"
    );
    original.put(&clients, bucket, &data_key).await;

    // 2. An object copied under a second key: every row twice.
    // Named to sort after the original ("z" after every hex digit): the first row of each
    // event, the one its latency is read from, stays in the announced original.
    let copy = data_key.replace("/part-", "/part-zz-copy-");
    original.put(&clients, bucket, &copy).await;
    let f = judged(
        &run,
        &clients,
        &expect,
        "object copied",
        &[
            "reconciliation.duplicated",
            // Under a key that is not the digest of what it holds.
            "reconciliation.misplaced",
            "sns.new_data",
            "partitions[event_type=*/**].objects",
            "partitions[event_type=*/**].events",
            "partitions[event_type=*/**].unique_ids",
        ],
    )
    .await;
    assert!(
        failure(&f, "reconciliation.duplicated").examples[0].contains("has 2 rows in the lake"),
        "{f:?}"
    );
    delete(&clients, bucket, &copy).await;

    // 3. An object moved to another partition: its rows are misplaced.
    let hour = data_key.split('/').nth(2).unwrap().to_string();
    let moved = data_key.replace(&hour, "hour=03");
    delete(&clients, bucket, &data_key).await;
    original.put(&clients, bucket, &moved).await;
    let f = judged(
        &run,
        &clients,
        &expect,
        "object moved",
        // Announced under its old key, found under another: matched by key, both are wrong,
        // and S3 never said when the moved object was created.
        &["reconciliation.misplaced", "sns.new_data", "latency"],
    )
    .await;
    let m = &failure(&f, "reconciliation.misplaced").examples[0];
    assert!(
        m.starts_with(&format!("s3://{bucket}/{moved}:1: event"))
            && m.contains("belongs in event_type=stock_price/dt="),
        "{m}"
    );
    delete(&clients, bucket, &moved).await;
    original.put(&clients, bucket, &data_key).await;

    // 4. One field of one row changed: altered, with the row's place.
    let tampered = edit_rows(&original.body, |i, row| {
        if i == 1 {
            let price = row["price"].as_f64().unwrap();
            row.insert("price".into(), (price + 0.01).into());
        }
    });
    put(&clients, bucket, &data_key, tampered, &original.metadata).await;
    let f = judged(
        &run,
        &clients,
        &expect,
        "price changed",
        // The price counts in its window's average as the lake holds it.
        &["reconciliation.altered", "alerts.windows"],
    )
    .await;
    let a = &failure(&f, "reconciliation.altered").examples[0];
    assert!(
        a.starts_with(&format!("{where_}:2: event")) && a.ends_with("differs from the record sent"),
        "{a}"
    );

    // 4b. The lake by its text and its keys (boxed: the test's future is large already).
    Box::pin(text_and_keys(
        &run, &clients, &expect, bucket, &data_key, &original,
    ))
    .await;

    // 5. Enrichment wrong or missing: altered, and a required field absent.
    let tampered = edit_rows(&original.body, |i, row| match i {
        0 => {
            row.insert("created_datetime".into(), "2001-01-01T00:00:00.000Z".into());
        }
        2 => {
            row.remove("processed_at");
        }
        3 => {
            // A time, but not one between the event's send and the judge's start.
            row.insert("processed_at".into(), "2001-01-01T00:00:00.000Z".into());
        }
        _ => {}
    });
    put(&clients, bucket, &data_key, tampered, &original.metadata).await;
    let f = judged(
        &run,
        &clients,
        &expect,
        "enrichment changed",
        &[
            "reconciliation.altered",
            "partitions[event_type=*/**].required_fields",
        ],
    )
    .await;
    let a = &failure(&f, "reconciliation.altered");
    assert_eq!(a.actual, "3");
    let says = |line: u32, what: &str| {
        let at = format!("{where_}:{line}: ");
        a.examples
            .iter()
            .any(|e| e.starts_with(&at) && e.contains(what))
    };
    assert!(says(4, "processed_at 2001-01-01"), "{a:?}");
    assert!(
        says(1, "created_datetime is \"2001-01-01T00:00:00.000Z\""),
        "{a:?}"
    );
    assert!(says(3, "processed_at is missing"), "{a:?}");

    // 6. An object S3 never announced: its latency is unknown, not 0 ms (latency is measured
    // on S3's clock, from the notification's time: what the pipeline stamps does not count).
    original.put(&clients, bucket, &data_key).await;
    let raw_key = data_key.replace('=', "%3D");
    let peeked =
        tickflow_harness::observe::peek_all(&clients, &subs.new_data, LIMIT, Duration::ZERO)
            .await
            .unwrap();
    let announcement = tickflow_harness::observe::deliveries(&peeked.bodies())
        .into_iter()
        .find(|d| d.message.contains(&raw_key))
        .unwrap()
        .message;
    assert_eq!(remove_messages(&clients, &subs.new_data, &raw_key).await, 1);
    let f = judged(
        &run,
        &clients,
        &expect,
        "notification gone",
        &["latency", "sns.new_data"],
    )
    .await;
    assert!(
        failure(&f, "latency")
            .actual
            .contains("rows in objects S3 announced no creation of"),
        "{f:?}"
    );
    put(
        &clients,
        bucket,
        &data_key,
        original.body.clone(),
        &HashMap::new(),
    )
    .await;
    publish(
        &clients,
        &res.topics.new_data,
        "Amazon S3 Notification",
        &announcement,
    )
    .await;
    wait_for_delivery(&clients, &subs.new_data, &raw_key).await;
    // What the pipeline stamps on its objects is not what latency is measured by.
    judged(&run, &clients, &expect, "metadata dropped", &[]).await;
    original.put(&clients, bucket, &data_key).await;

    // 7. A clean event put in the quarantine: misplaced.
    let clean_row: serde_json::Value =
        serde_json::from_slice(original.body.split(|b| *b == b'\n').next().unwrap()).unwrap();
    let clean_id = clean_row["event_uuid"].as_str().unwrap().to_string();
    let quarantine_row = serde_json::json!({"reason": "rule: tampered", "event_uuid": clean_id, "message_id": "x", "raw": "{}"});
    let planted = quarantine_key.replace("/part-", "/part-planted-");
    put(
        &clients,
        bucket,
        &planted,
        format!("{quarantine_row}\n").into_bytes(),
        &original.metadata,
    )
    .await;
    let f = judged(
        &run,
        &clients,
        &expect,
        "clean event quarantined",
        &[
            "reconciliation.misplaced",
            "sns.new_data",
            "partitions[quarantine/**].objects",
            "partitions[quarantine/**].events",
        ],
    )
    .await;
    assert!(
        failure(&f, "reconciliation.misplaced").examples[0].contains(&format!(
            "event {clean_id} (clean) belongs in the lake, found at s3://{bucket}/{planted}:1"
        )),
        "{f:?}"
    );
    delete(&clients, bucket, &planted).await;

    // 8. A row of an event never sent: unknown.
    let stranger: MarketEvent = Generator::new(GeneratorConfig {
        events: 1,
        seed: 999,
        ..Default::default()
    })
    .next()
    .unwrap();
    let stranger_key = format!(
        "{}part-stranger.jsonl",
        tickflow_pipeline::lake::partition::data_prefix(
            stranger.kind().event_type(),
            stranger.created_at()
        )
    );
    let mut row = enrich(&stranger, chrono::Utc::now());
    row.push(b'\n');
    put(&clients, bucket, &stranger_key, row, &original.metadata).await;
    let f = judged(
        &run,
        &clients,
        &expect,
        "stranger row",
        &[
            "reconciliation.unknown",
            "reconciliation.misplaced",
            "alerts.windows",
            "sns.new_data",
            "partitions[event_type=*/**].objects",
            "partitions[event_type=*/**].events",
        ],
    )
    .await;
    assert!(
        failure(&f, "reconciliation.unknown").examples[0]
            .contains(&format!("event {} was never sent", stranger.id())),
        "{f:?}"
    );
    delete(&clients, bucket, &stranger_key).await;

    // 9. A message removed from the DLQ: its events are missing.
    let message = take_one(&clients, &res.dlq_url).await;
    let f = judged(
        &run,
        &clients,
        &expect,
        "dead letter removed",
        &["reconciliation.missing", "dead_lettered", "queues.dlq"],
    )
    .await;
    let records = tickflow_pipeline::envelope::decode(&message).unwrap();
    let missing = failure(&f, "reconciliation.missing");
    assert_eq!(missing.actual, records.len().to_string(), "{f:?}");
    assert!(missing.examples[0].contains("is in neither the lake, the quarantine nor the DLQ"));
    send(&clients, &res.dlq_url, &message).await;

    // 10. A message left on the main queue: not drained.
    clients
        .sqs
        .send_message()
        .queue_url(&res.queue_url)
        .message_body("[\"left behind\"]")
        .send()
        .await
        .unwrap();
    judged(
        &run,
        &clients,
        &expect,
        "main queue not drained",
        &["queues.main", "queues.main_visible"],
    )
    .await;
    assert_eq!(
        remove_messages(&clients, &res.queue_url, "left behind").await,
        1
    );

    // 11. One SNS delivery too many, on each topic.
    for (topic, queue, subject, checks) in [
        (
            &res.topics.new_data,
            &subs.new_data,
            "new data",
            &["sns.new_data"][..],
        ),
        (
            &res.topics.price_alert,
            &subs.price_alert,
            "alert",
            &["sns.price_alert", "alerts.announced"][..],
        ),
        (
            &res.topics.run_status,
            &subs.run_status,
            "e2e-judge_Pipeline_Failure",
            &["sns.run_status", "sns.run_status_subject"][..],
        ),
    ] {
        clients
            .sns
            .publish()
            .topic_arn(topic)
            .subject(subject)
            .message("one too many")
            .send()
            .await
            .unwrap();
        // SNS delivers to the queue on its own time: judge once the extra message is there.
        wait_for_delivery(&clients, queue, "one too many").await;
        judged(&run, &clients, &expect, subject, checks).await;
        assert_eq!(remove_messages(&clients, queue, "one too many").await, 1);
    }

    // 12. One object never announced and another announced twice: the count still matches.
    let notes =
        tickflow_harness::observe::peek_all(&clients, &subs.new_data, LIMIT, Duration::ZERO)
            .await
            .unwrap();
    // S3's notifications of the lake's objects (the set-up test event aside): each names its
    // key URL-encoded, as it appears in the queue's bodies.
    let total = notes.messages.len();
    let notes: Vec<(String, String, String)> =
        tickflow_harness::observe::deliveries(&notes.bodies())
            .into_iter()
            .filter_map(|d| {
                let event: serde_json::Value = serde_json::from_str(&d.message).ok()?;
                let raw = event
                    .pointer("/Records/0/s3/object/key")?
                    .as_str()?
                    .to_string();
                let key = match tickflow_pipeline::s3_event::parse(&d.message).pop()? {
                    tickflow_pipeline::s3_event::Notice::Created { key, .. } => key,
                    tickflow_pipeline::s3_event::Notice::Test => return None,
                };
                Some((d.message, raw, key))
            })
            .collect();
    // A data object's notification is dropped (its rows' latency is then unknown too), another
    // object's doubled.
    let gone = notes
        .iter()
        .position(|(_, _, key)| key.starts_with("event_type="))
        .unwrap();
    let twice = (gone + 1) % notes.len();
    let ((dropped, dropped_raw, dropped_key), (doubled, doubled_raw, _)) =
        (&notes[gone], &notes[twice]);
    let dropped = dropped.clone();
    assert_eq!(
        remove_messages(&clients, &subs.new_data, dropped_raw).await,
        1
    );
    publish(
        &clients,
        &res.topics.new_data,
        "Amazon S3 Notification",
        doubled,
    )
    .await;
    wait_for_count(&clients, &subs.new_data, total).await;
    let f = judged(
        &run,
        &clients,
        &expect,
        "announced twice, never",
        // The object never announced has no creation time from S3 either.
        &["sns.new_data", "latency"],
    )
    .await;
    let n = failure(&f, "sns.new_data");
    assert!(
        n.examples
            .contains(&format!("s3://{bucket}/{dropped_key}: never announced")),
        "{n:?}"
    );
    assert!(
        n.actual
            .contains("1 objects never announced, 1 announced again"),
        "{n:?}"
    );
    assert_eq!(
        remove_messages(&clients, &subs.new_data, doubled_raw).await,
        2
    );
    publish(
        &clients,
        &res.topics.new_data,
        "Amazon S3 Notification",
        doubled,
    )
    .await;
    publish(
        &clients,
        &res.topics.new_data,
        "Amazon S3 Notification",
        &dropped,
    )
    .await;
    wait_for_count(&clients, &subs.new_data, total).await;

    // 13. A dead-lettered record changed: compared byte for byte with what was sent.
    let letter = take_one(&clients, &res.dlq_url).await;
    let mut records = tickflow_pipeline::envelope::decode(&letter).unwrap();
    let record = String::from_utf8(records[0].clone()).unwrap();
    records[0] = record
        .replacen("\"event_uuid\"", "\"tampered\":1,\"event_uuid\"", 1)
        .into_bytes();
    let encoded: Vec<String> = records
        .iter()
        .map(|r| tickflow_pipeline::envelope::encode_record(r))
        .collect();
    send(
        &clients,
        &res.dlq_url,
        &tickflow_pipeline::envelope::join(&encoded),
    )
    .await;
    let f = judged(
        &run,
        &clients,
        &expect,
        "dead letter changed",
        &["reconciliation.altered"],
    )
    .await;
    assert!(
        failure(&f, "reconciliation.altered").examples[0].contains("differs from the record sent"),
        "{f:?}"
    );
    assert_eq!(
        remove_messages(&clients, &res.dlq_url, &encoded[0]).await,
        1
    );
    send(&clients, &res.dlq_url, &letter).await;

    // 14. A clean message in the DLQ whose event also reached the lake: nothing excuses it.
    let sent = Generator::new(GeneratorConfig {
        events: 3_000,
        seed: 23,
        ..Default::default()
    })
    .find(|e| e.id().to_string() == clean_id)
    .unwrap()
    .to_json();
    let innocent_record = tickflow_pipeline::envelope::encode_record(&sent);
    let innocent = tickflow_pipeline::envelope::join(std::slice::from_ref(&innocent_record));
    send(&clients, &res.dlq_url, &innocent).await;
    let f = judged(
        &run,
        &clients,
        &expect,
        "clean message dead-lettered",
        &["reconciliation.misplaced", "queues.dlq"],
    )
    .await;
    assert!(
        failure(&f, "reconciliation.misplaced").examples[0].contains("carries no poison event"),
        "{f:?}"
    );
    assert_eq!(
        remove_messages(&clients, &res.dlq_url, &innocent_record).await,
        1
    );

    // 15. A second quarantine row for a malformed record, with other bytes: quarantined once,
    // every row compared (not only the first).
    let q = get(&clients, bucket, &quarantine_key).await;
    let first: serde_json::Value =
        serde_json::from_slice(q.body.split(|b| *b == b'\n').next().unwrap()).unwrap();
    let mut second = first.clone();
    second["raw"] = "tampered".into();
    let planted = quarantine_key.replace("/part-", "/part-second-");
    put(
        &clients,
        bucket,
        &planted,
        format!("{second}\n").into_bytes(),
        &q.metadata,
    )
    .await;
    let f = judged(
        &run,
        &clients,
        &expect,
        "quarantined twice, altered",
        &[
            "reconciliation.duplicated",
            "reconciliation.altered",
            "reconciliation.misplaced",
            "sns.new_data",
            "partitions[quarantine/**].objects",
            "partitions[quarantine/**].events",
            "partitions[quarantine/**].unique_ids",
        ],
    )
    .await;
    assert!(
        failure(&f, "reconciliation.altered").examples[0]
            .starts_with(&format!("s3://{bucket}/{planted}:1")),
        "{f:?}"
    );
    delete(&clients, bucket, &planted).await;

    // 16. Counts that could not fail before: a partition glob matching nothing, under a max.
    let nothing = stream_expect("nothing.toml",
        "[scenario]\nname = \"n\"\n[generate]\nevents = 1\n[[expect.partitions]]\nglob = \"event_type=crypto/**\"\nevents = { max = 10 }\n");
    let f = evaluate(&nothing, clean);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].check, "partitions[event_type=crypto/**]");

    // Every corruption undone: the same run passes again, judged from scratch.
    judged(&run, &clients, &expect, "restored", &[]).await;
    run.teardown(&clients).await;
}

/// The lake by its text and its keys: an id upper-cased (equal as a UUID, another string), a
/// blank line appended, the object renamed within its partition; each fails, saying where, and
/// the object is put back.
async fn text_and_keys(
    run: &FinishedStream,
    clients: &Clients,
    expect: &Expect,
    bucket: &str,
    data_key: &str,
    original: &Saved,
) {
    let text = String::from_utf8(original.body.clone()).unwrap();
    let id = text.split("\"event_uuid\":\"").nth(1).unwrap()[..36].to_string();
    let respelt = text.replacen(&id, &id.to_uppercase(), 1).into_bytes();
    put(clients, bucket, data_key, respelt, &original.metadata).await;
    let f = judged(
        run,
        clients,
        expect,
        "id respelt",
        // Not the event written: its price counts in no window either.
        &["reconciliation.altered", "alerts.windows"],
    )
    .await;
    assert!(
        failure(&f, "reconciliation.altered").examples[0].contains(&id),
        "{f:?}"
    );
    let mut padded = original.body.clone();
    padded.push(b'\n');
    put(clients, bucket, data_key, padded, &original.metadata).await;
    let f = judged(
        run,
        clients,
        expect,
        "blank line",
        &["reconciliation.unknown"],
    )
    .await;
    assert!(
        failure(&f, "reconciliation.unknown").examples[0].ends_with("an empty line, not a row"),
        "{f:?}"
    );
    original.put(clients, bucket, data_key).await;
    let (partition, _) = data_key.rsplit_once('/').unwrap();
    let renamed = format!("{partition}/part-00000000000000000000.jsonl");
    delete(clients, bucket, data_key).await;
    original.put(clients, bucket, &renamed).await;
    let f = judged(
        run,
        clients,
        expect,
        "object renamed",
        // Its notification names the key it was written under, which is gone.
        &["reconciliation.misplaced", "sns.new_data", "latency"],
    )
    .await;
    assert!(
        failure(&f, "reconciliation.misplaced").examples[0].contains("is not the digest"),
        "{f:?}"
    );
    delete(clients, bucket, &renamed).await;
    original.put(clients, bucket, data_key).await;
}

/// Judges `run` again and checks that exactly `checks` failed; returns the failures.
async fn rejudged(
    run: &FinishedStream,
    clients: &Clients,
    what: &str,
    checks: &[&str],
) -> Vec<Failure> {
    // Boxed: a rejudge is a large future, and the corruption test awaits many in a row.
    let report = within(LIMIT, what, Box::pin(run.rejudge(clients)))
        .await
        .unwrap();
    let got: BTreeSet<&str> = failed_checks(&report).into_iter().collect();
    let want: BTreeSet<&str> = checks.iter().copied().collect();
    assert_eq!(got, want, "{what}:\n{}", report.render_text());
    report.judged.verdict.failures().to_vec()
}

/// The price watch is judged by what it wrote, not only counted: an alert missing, one no window
/// calls for, one whose average is zeroed, a window record that says another count, a late price
/// the lake does not hold, and an alert S3 never announced each fail, saying which; put right,
/// the run passes again.
#[tokio::test]
async fn a_missing_forged_or_unannounced_price_alert_fails_its_check() {
    let clients = clients().await;
    let scenario = scenario::load(std::path::Path::new("scenarios/price-alert.toml")).unwrap();
    let mut config = scenario.run_config().unwrap();
    config.keep_resources = true;
    let run = within(LIMIT, "the run", run_and_keep(&clients, &config))
        .await
        .unwrap();
    let clean = &run.report;
    assert!(clean.judged.verdict.passed(), "{}", clean.render_text());
    let alerts = &clean.judged.alerts;
    assert_eq!((alerts.implied, alerts.written), (3, 3), "{alerts:?}");
    let res = run.resources().resources.clone();
    let subs = run.resources().subscriptions.clone();
    let state = res.state_bucket.as_str();
    // From here on, what the test writes into the outbox must not be announced by S3.
    silence(&clients, state).await;
    let keys = clients
        .object_keys_under(state, tickflow_pipeline::notify::outbox::ALERTS)
        .await
        .unwrap()
        .unwrap();
    let key = keys
        .iter()
        .find(|k| k.ends_with("/MSFT.json"))
        .unwrap()
        .clone();
    let original = get(&clients, state, &key).await;

    // 1. An alert object deleted: its window alerts without it, and its notification names
    // nothing.
    delete(&clients, state, &key).await;
    let f = rejudged(
        &run,
        &clients,
        "alert deleted",
        &["alerts.windows", "alerts.announced"],
    )
    .await;
    let w = failure(&f, "alerts.windows");
    assert!(
        w.actual.contains("1 that differ from their window"),
        "{w:?}"
    );
    assert_eq!(
        w.examples,
        [format!(
            "{key}: its window alerts, and no alert was written"
        )]
    );
    assert_eq!(
        failure(&f, "alerts.announced").examples,
        [format!(
            "s3://{state}/{key}: announced, but no such object exists"
        )],
    );
    original.put(&clients, state, &key).await;
    rejudged(&run, &clients, "alert put back", &[]).await;

    // 2. An alert no window calls for, never announced.
    let forged = key.replace("/MSFT.json", "/ZZZ.json");
    original.put(&clients, state, &forged).await;
    let f = rejudged(
        &run,
        &clients,
        "alert forged",
        &["alerts.windows", "alerts.announced"],
    )
    .await;
    let w = failure(&f, "alerts.windows");
    assert!(
        w.examples.contains(&format!(
            "{forged}: written, but its window's record does not alert"
        )),
        "{w:?}"
    );
    assert!(
        failure(&f, "alerts.announced")
            .examples
            .contains(&format!("s3://{state}/{forged}: never announced")),
        "{f:?}"
    );
    delete(&clients, state, &forged).await;

    // 3. The alert's body with its average zeroed: the key is right, what it says is not.
    let mut body: serde_json::Value = serde_json::from_slice(&original.body).unwrap();
    body["vwap"] = serde_json::json!(0.0);
    let zeroed = serde_json::to_vec(&body).unwrap();
    put(&clients, state, &key, zeroed, &original.metadata).await;
    let f = rejudged(&run, &clients, "average zeroed", &["alerts.windows"]).await;
    let w = failure(&f, "alerts.windows");
    assert!(
        w.examples[0].starts_with(&format!("{key}: says ")) && w.examples[0].contains(" -> 0 ("),
        "{w:?}"
    );
    original.put(&clients, state, &key).await;

    // 4. The window's record says one price fewer than the lake holds for it.
    let (alert_window, _) = tickflow_pipeline::notify::outbox::parse_key(&key).unwrap();
    let records = clients
        .object_keys_under(state, tickflow_pipeline::notify::outbox::WINDOWS)
        .await
        .unwrap()
        .unwrap();
    let mut edited = None;
    for record_key in records {
        let saved = get(&clients, state, &record_key).await;
        let text = String::from_utf8(saved.body.clone()).unwrap();
        let mut found = None;
        let lines: Vec<String> = text
            .lines()
            .map(|line| {
                let mut record: serde_json::Value = serde_json::from_str(line).unwrap();
                if record["symbol"] == "MSFT" && record["window_start"] == alert_window {
                    let prices = record["prices"].as_u64().unwrap();
                    record["prices"] = serde_json::json!(prices - 1);
                    found = Some(prices);
                }
                record.to_string()
            })
            .collect();
        if let Some(prices) = found {
            let body = format!("{}\n", lines.join("\n")).into_bytes();
            put(&clients, state, &record_key, body, &saved.metadata).await;
            edited = Some((record_key, saved, prices));
            break;
        }
    }
    let (record_key, saved, prices) = edited.expect("the alert's window is recorded");
    let f = rejudged(&run, &clients, "record altered", &["alerts.windows"]).await;
    assert!(
        failure(&f, "alerts.windows").examples[0].contains(&format!(
            "{} prices recorded, {prices} in the lake",
            prices - 1
        )),
        "{f:?}"
    );
    put(&clients, state, &record_key, saved.body, &saved.metadata).await;

    // 5. A late price for an event the lake does not hold.
    let ghost = uuid::Uuid::from_u128(42);
    let late = serde_json::json!({
        "event_uuid": ghost, "symbol": "MSFT", "at_ms": 0, "window_start": 0, "price": 1.0,
        "weight": 1.0, "closed_through": 0
    });
    let late_key = format!("late/{ghost}.json");
    let body = serde_json::to_vec(&late).unwrap();
    put(&clients, state, &late_key, body, &HashMap::new()).await;
    let f = rejudged(&run, &clients, "late forged", &["alerts.late"]).await;
    assert_eq!(
        failure(&f, "alerts.late").examples,
        [format!(
            "{late_key}: the lake holds no such event with a price"
        )]
    );
    delete(&clients, state, &late_key).await;
    rejudged(&run, &clients, "outbox restored", &[]).await;

    // 6. An alert's notification lost: the alert is there, never announced; the scenario's
    // count and symbols fail with it.
    let marker = key.rsplit('/').next().unwrap_or_default().to_string();
    let notes =
        tickflow_harness::observe::peek_all(&clients, &subs.price_alert, LIMIT, Duration::ZERO)
            .await
            .unwrap();
    let note = notes
        .bodies()
        .into_iter()
        .find(|b| b.contains(&marker))
        .unwrap();
    assert_eq!(
        remove_messages(&clients, &subs.price_alert, &marker).await,
        1
    );
    rejudged(
        &run,
        &clients,
        "alert unannounced",
        &["alerts.announced", "sns.price_alert", "sns.alert_symbols"],
    )
    .await;
    send(&clients, &subs.price_alert, &note).await;
    wait_for_count(&clients, &subs.price_alert, 4).await;
    rejudged(&run, &clients, "restored", &[]).await;
    run.teardown(&clients).await;
}

#[tokio::test]
async fn a_run_that_sent_nothing_fails_unless_its_scenario_expects_nothing() {
    let clients = clients().await;
    let mut config = StreamRunConfig::new("e2e-sent-nothing", 100, 5);
    config.load.rate = Some(10.0);
    config.load.duration_secs = Some(1e-9);
    let report = run(&clients, &config).await;
    assert_eq!(
        report.judged.reconciliation.events,
        0,
        "{}",
        report.render_text()
    );
    let checks = failed_checks(&report);
    assert_eq!(checks, ["sent"], "{}", report.render_text());
    assert!(report.summary_line().starts_with("FAIL "));
    // Said on purpose, it is what the scenario expects.
    config.expect = std::sync::Arc::new(stream_expect(
        "nothing.toml",
        "[scenario]\nname = \"n\"\n[generate]\nevents = 1\n[expect]\nsent = 0\n",
    ));
    let report = run(&clients, &config).await;
    assert!(report.judged.verdict.passed(), "{}", report.render_text());
}

#[tokio::test]
async fn the_run_status_announces_the_whole_verdict_expectations_included() {
    let clients = clients().await;
    let mut config = StreamRunConfig::new("e2e-status", 200, 6);
    config.expect = std::sync::Arc::new(stream_expect(
        "wrong.toml",
        "[scenario]\nname = \"w\"\n[generate]\nevents = 1\n[expect]\nfound = 199\n",
    ));
    let report = run(&clients, &config).await;
    let checks = failed_checks(&report);
    assert_eq!(checks, ["found"], "{}", report.render_text());
    assert_eq!(
        report.judged.sns.run_status_subjects,
        ["e2e-status_Pipeline_Failure"],
        "the invariants held, the expectations did not: the status says Failure"
    );
    assert!(report.summary_line().starts_with("FAIL e2e-status "));
}
