//! Infrastructure faults against LocalStack.
//!
//! Infrastructure faults against LocalStack: each durable-state claim proved by crashing a stage
//! and starting a new one in a new task with nothing shared in memory (and shown to fail without
//! the durable state), a fired list replayed exactly with `--faults-from`, and a failing scenario
//! shrunk.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tickflow_harness::commands::shrink::{render, shrink, ShrinkConfig};
use tickflow_harness::flows::stream::driver::{run, StreamRunConfig};
use tickflow_harness::flows::stream::judge::fired::schedule_from_report;
use tickflow_harness::flows::stream::resources::topology::{Provisioned, Topology};
use tickflow_harness::flows::stream::scenario::StreamFile;
use tickflow_harness::verdict::Report as _;
use tickflow_pipeline::aws::{Claim, Clients};
use tickflow_pipeline::bridge::{pack, Bridge, BridgeConfig, Checkpoints};
use tickflow_pipeline::chaos::{fired_signature, Chaos, FaultKind, FaultRule, Service, Stage};
use tickflow_pipeline::compress::Compression;
use tickflow_pipeline::control::{self, Phase};
use tickflow_pipeline::envelope;
use tickflow_pipeline::esm::{EsmConfig, EventSourceMapping};
use tickflow_pipeline::event::MarketEvent;
use tickflow_pipeline::lake::{Lake, LakeConfig};
use tickflow_pipeline::notify::WatchConfig;
use tickflow_pipeline::processor::recovery::written_keys;
use tickflow_pipeline::processor::{EnrichHandler, HandlerFaults};
use tickflow_pipeline::producer::{Outgoing, Producer, ProducerConfig};
use tickflow_pipeline::source::{Generator, GeneratorConfig};

use crate::support::{clients, delete, stream_expect, within};

const LIMIT: Duration = Duration::from_secs(300);

fn events(n: u64, seed: u64) -> Vec<MarketEvent> {
    Generator::new(GeneratorConfig {
        events: n,
        seed,
        ..Default::default()
    })
    .collect()
}

fn crash(stage: Stage, at: u64) -> Arc<Chaos> {
    Arc::new(Chaos::new(
        0,
        vec![FaultRule {
            stage: Some(stage),
            at: vec![at],
            ..FaultRule::new(FaultKind::Crash)
        }],
    ))
}

async fn provision(clients: &Clients) -> (Topology, Provisioned) {
    let topology = Topology {
        visibility_timeout_secs: 2,
        ..Topology::new()
    };
    let p = within(LIMIT, "provision", topology.provision(clients))
        .await
        .unwrap();
    (topology, p)
}

/// Events sent to SQS by one bridge over `stream`, draining from its checkpoints.
async fn bridge_once(
    clients: &Clients,
    p: &Provisioned,
    checkpoints: Checkpoints,
    chaos: Option<Arc<Chaos>>,
) -> (u64, tickflow_pipeline::Result<()>) {
    let res = &p.resources;
    let config = BridgeConfig {
        get_records_limit: 200,
        ..BridgeConfig::default()
    };
    let mut bridge = Bridge::new(
        clients.clone(),
        &res.stream,
        &res.queue_url,
        config,
        checkpoints,
    );
    if let Some(chaos) = chaos {
        bridge = bridge.with_chaos(chaos);
    }
    let stats = bridge.stats();
    let (ctl, control) = control::channel();
    ctl.set(Phase::Drain);
    // A task of its own: whatever the bridge held in memory ends with it.
    let outcome = within(LIMIT, "bridge", tokio::spawn(bridge.run(control)))
        .await
        .unwrap();
    (stats.user_records.load(Ordering::Relaxed), outcome)
}

#[tokio::test]
async fn a_crashed_bridge_resumes_from_its_durable_checkpoints_and_without_them_reads_it_all_again()
{
    let clients = clients().await;
    let (topology, p) = provision(&clients).await;
    let res = &p.resources;
    const EVENTS: u64 = 2_000;
    let producer = Producer::new(
        clients.clone(),
        &res.stream,
        ProducerConfig {
            aggregate: false, // one Kinesis record per event: batches of 200 events
            ..ProducerConfig::default()
        },
    );
    let (tx, rx) = tokio::sync::mpsc::channel(EVENTS as usize);
    for e in events(EVENTS, 3) {
        tx.try_send(Outgoing {
            partition_key: e.instrument().to_string(),
            data: e.to_json(),
        })
        .unwrap();
    }
    drop(tx);
    within(LIMIT, "produce", producer.run(rx)).await.unwrap();
    let durable = || Checkpoints::in_s3(clients.clone(), &res.state_bucket, "checkpoints/");

    let (before, crashed) =
        bridge_once(&clients, &p, durable(), Some(crash(Stage::Bridge, 3))).await;
    assert!(
        matches!(
            crashed,
            Err(tickflow_pipeline::Error::Crashed(Stage::Bridge))
        ),
        "{crashed:?}"
    );
    let (after, outcome) = bridge_once(&clients, &p, durable(), None).await;
    outcome.unwrap();
    // The successor sends again only the batch sent but not checkpointed when the first died.
    let resent = before + after - EVENTS;
    assert!(
        after < EVENTS,
        "resumed from a checkpoint: {after} of {EVENTS}"
    );
    assert!(
        (1..=200).contains(&resent),
        "only the unacknowledged batch again: {resent}"
    );

    // Without durable checkpoints a new bridge starts from the oldest record: the claim fails.
    let (from_scratch, outcome) = bridge_once(&clients, &p, Checkpoints::in_memory(), None).await;
    outcome.unwrap();
    assert_eq!(
        from_scratch, EVENTS,
        "a bridge without durable state reads everything again"
    );
    within(LIMIT, "teardown", topology.teardown(&clients, &p))
        .await
        .unwrap();
}

/// Puts `events` on the run's queue as the bridge would, 20 to a message.
async fn enqueue(clients: &Clients, queue_url: &str, events: &[MarketEvent]) {
    let elements: Vec<String> = events
        .iter()
        .map(|e| envelope::encode_record(&e.to_json()))
        .collect();
    let bodies: Vec<String> = elements
        .chunks(20)
        .flat_map(|chunk| pack::messages(chunk.to_vec(), 256 * 1024))
        .map(|body| envelope::seal(body, Compression::None))
        .collect();
    for chunk in bodies.chunks(10) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, body)| {
                aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
                    .unwrap()
            })
            .collect();
        clients
            .sqs
            .send_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .unwrap();
    }
}

/// One processor (handler, event source mapping, lake writer) in a task of its own, draining the
/// queue in batches of up to `batch_size` messages; `recover` makes it take what the lake holds
/// as written before its first batch.
async fn process_once(
    clients: &Clients,
    p: &Provisioned,
    batch_size: usize,
    chaos: Option<Arc<Chaos>>,
    recover: bool,
) -> tickflow_pipeline::Result<()> {
    let (clients, res) = (clients.clone(), p.resources.clone());
    let task = tokio::spawn(async move {
        let lake_config = LakeConfig {
            flush_age: Duration::from_millis(200),
            ..LakeConfig::default()
        };
        let (lake, writer) = Lake::spawn(clients.clone(), res.bucket.clone(), lake_config);
        let handler =
            EnrichHandler::new(lake, None, WatchConfig::default(), HandlerFaults::default());
        if recover {
            handler.recover(&clients, &res.bucket).await.unwrap();
        }
        let handler = Arc::new(handler);
        let config = EsmConfig {
            batch_size,
            concurrency: 1,
            wait_time_secs: 1,
            visibility_timeout_secs: Some(2),
            ..EsmConfig::default()
        };
        let mut esm =
            EventSourceMapping::new(clients.clone(), &res.queue_url, config, handler.clone());
        if let Some(chaos) = chaos {
            esm = esm.with_chaos(chaos, Stage::Processor);
        }
        let (ctl, control) = control::channel();
        ctl.set(Phase::Drain);
        let outcome = esm.run(control).await;
        drop(handler);
        writer.await.unwrap().unwrap();
        outcome
    });
    within(LIMIT, "processor", task).await.unwrap()
}

/// Rows in the lake and distinct records among them, after a processor crashed between its lake
/// write and its delete and a successor (recovering from the lake or not) drained the queue.
async fn lake_after_a_crash(recover: bool) -> (usize, usize) {
    let clients = clients().await;
    let (topology, p) = provision(&clients).await;
    enqueue(&clients, &p.resources.queue_url, &events(600, 4)).await;
    let crashed = process_once(&clients, &p, 5, Some(crash(Stage::Processor, 2)), false).await;
    assert!(
        matches!(
            crashed,
            Err(tickflow_pipeline::Error::Crashed(Stage::Processor))
        ),
        "{crashed:?}"
    );
    // Lake keys are digests of what an object holds: a batch written again exactly as before
    // would land on the same key. The successor starts once the crashed batch is visible again
    // and takes larger batches, as a restarted consumer may, so nothing hides a second write.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    process_once(&clients, &p, 10, None, recover).await.unwrap();
    let keys = written_keys(&clients, &p.resources.bucket).await.unwrap();
    let distinct: std::collections::HashSet<_> = keys.iter().collect();
    let counts = (keys.len(), distinct.len());
    within(LIMIT, "teardown", topology.teardown(&clients, &p))
        .await
        .unwrap();
    counts
}

#[tokio::test]
async fn a_crashed_processor_recovers_what_it_wrote_from_the_lake_and_without_it_writes_twice() {
    let (rows, distinct) = lake_after_a_crash(true).await;
    assert_eq!((rows, distinct), (600, 600), "each event once");
    // A successor with nothing but memory writes the crashed batches' events again.
    let (rows, distinct) = lake_after_a_crash(false).await;
    assert_eq!(distinct, 600);
    assert!(
        rows > 600,
        "without recovery the lake holds duplicates: {rows} rows"
    );
}

#[tokio::test]
async fn faults_from_a_report_replay_the_fired_list_exactly() {
    let clients = clients().await;
    let mut config = StreamRunConfig::new("e2e-faults-from", 2_000, 17);
    config.pipeline.sqs_message_bytes = Some(16 * 1024);
    config.pipeline.flush_age_ms = 300;
    config.pipeline.visibility_timeout_secs = 3;
    let ratio = |kind, service, operation: &str, ratio, to_call| FaultRule {
        service: Some(service),
        operation: Some(operation.to_string()),
        ratio,
        to_call: Some(to_call),
        ..FaultRule::new(kind)
    };
    config.faults.schedule = vec![
        ratio(
            FaultKind::ExpiredIterator,
            Service::Kinesis,
            "GetRecords",
            0.3,
            20,
        ),
        ratio(
            FaultKind::Throttle,
            Service::Sqs,
            "SendMessageBatch",
            0.5,
            4,
        ),
        FaultRule {
            service: Some(Service::S3),
            operation: Some("PutObject".into()),
            calls: vec![2, 3],
            ..FaultRule::new(FaultKind::ServerError)
        },
        FaultRule {
            stage: Some(Stage::Processor),
            at: vec![2],
            ..FaultRule::new(FaultKind::Crash)
        },
    ];
    let first = within(LIMIT, "the first run", run(&clients, &config))
        .await
        .unwrap();
    assert!(first.judged.verdict.passed(), "{}", first.render_text());
    assert!(first.faults_fired.len() >= 4, "{:?}", first.faults_fired);

    let report =
        std::env::temp_dir().join(format!("tickflow-faults-from-{}.json", std::process::id()));
    std::fs::write(&report, serde_json::to_vec(&first).unwrap()).unwrap();
    config.faults.schedule = schedule_from_report(&report, None).unwrap();
    let _ = std::fs::remove_file(&report);
    let replayed = within(LIMIT, "the replay", run(&clients, &config))
        .await
        .unwrap();
    assert!(
        replayed.judged.verdict.passed(),
        "{}",
        replayed.render_text()
    );
    assert_eq!(
        fired_signature(&replayed.faults_fired),
        fired_signature(&first.faults_fired),
        "the replay fires exactly the faults the first run fired"
    );
}

#[tokio::test]
async fn shrink_cuts_a_failing_scenario_down_to_a_much_smaller_one_that_still_fails() {
    let clients = clients().await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dead-lettered-clean-events.toml");
    let mut original = tickflow_harness::scenario::load(&path).unwrap();
    // Smaller than the fixture's 20,000 events, and one cheap fault to drop, to bound the time;
    // transient failures four times as likely, so that 500 events never pass by chance (a
    // message is dead-lettered when its draw is below the ratio: at 0.05, about one run in six
    // of 500 events had none).
    let stream: &mut StreamFile = original.file.get_mut().unwrap();
    stream.generate.events = Some(2_000);
    stream.faults.transient_ratio = 0.2;
    // Counts of the full scenario, as a scenario file states them: a shrinker that held every
    // candidate to them would see each halving "fail the same way" on the stale count, and end
    // at a small fault-free scenario that reproduces nothing.
    stream.expect = stream_expect("stale.toml",
        "[scenario]\nname = \"s\"\n[generate]\nevents = 1\n[expect]\nfound = 2000\nfaults_fired = 2\n");
    stream.faults.schedule = vec![FaultRule {
        service: Some(Service::S3),
        operation: Some("PutObject".into()),
        calls: vec![1, 2],
        ..FaultRule::new(FaultKind::Throttle)
    }];
    // Not below 500 events: under 2,000 the failure no longer repeats every run (a CI run saw
    // 250, 281 and 312 events pass once each, and then kept the throttling because the
    // candidate without it passed by chance at 312).
    let config = ShrinkConfig {
        runs: 1,
        min_failures: 1,
        min_events: 500,
    };
    let infra = tickflow_harness::scenario::Infra::default();
    let shrunk = within(LIMIT, "shrink", shrink(&original, &clients, infra, config))
        .await
        .unwrap();
    let steps = shrunk.steps.join("\n");
    let small: &StreamFile = shrunk.scenario.file.get().unwrap();
    let events = small.generate.events.unwrap();
    assert!(
        events <= 500,
        "at most a quarter of 2,000 events: {events}\n{steps}"
    );
    assert!(
        small.faults.schedule.is_empty(),
        "the throttling is not needed for the failure\n{steps}"
    );
    assert_eq!(small.faults.transient_ratio, 0.2, "the cause stays");
    assert!(
        shrunk.failing_checks.contains("reconciliation.misplaced"),
        "{:?}",
        shrunk.failing_checks
    );
    assert!(
        !shrunk.failing_checks.contains("found"),
        "{:?}",
        shrunk.failing_checks
    );
    let text = render(&original, &shrunk, config).unwrap();
    let parsed = tickflow_harness::scenario::parse("shrunk.toml", &text).unwrap();
    let file: &StreamFile = parsed.get().unwrap();
    assert_eq!(
        file.generate.events,
        Some(events),
        "the file says what was found:\n{text}"
    );
    assert_eq!(
        file.expect.found, None,
        "no stale count in the file:\n{text}"
    );
}

/// Message `m{n}` carrying `events`, delivered for the first time.
fn message_of(n: usize, events: &[MarketEvent]) -> tickflow_pipeline::esm::SqsMessage {
    tickflow_pipeline::esm::SqsMessage {
        message_id: format!("m{n}"),
        receipt_handle: format!("r{n}"),
        body: envelope::join(
            &events
                .iter()
                .map(|e| envelope::encode_record(&e.to_json()))
                .collect::<Vec<_>>(),
        ),
        receive_count: 1,
    }
}

/// A handler writing the lake in `bucket` through clients `chaos` faults, with `config`; and
/// the lake's writer, which ends once the handler is dropped.
fn faulted_handler(
    clients: &Clients,
    chaos: &Arc<Chaos>,
    bucket: &str,
    config: LakeConfig,
) -> (
    EnrichHandler,
    tokio::task::JoinHandle<tickflow_pipeline::Result<()>>,
) {
    let (lake, writer) = Lake::spawn(
        clients.with_chaos(chaos.clone()),
        bucket.to_string(),
        config,
    );
    let handler = EnrichHandler::new(lake, None, WatchConfig::default(), HandlerFaults::default());
    (handler, writer)
}

/// The lake in `bucket`, read back for `events` events: its rows per event and its objects.
async fn lake_rows(
    clients: &Clients,
    bucket: &str,
    events: usize,
) -> (HashMap<uuid::Uuid, u32>, usize) {
    let lake =
        tickflow_harness::flows::stream::judge::lake::read_lake(clients, bucket, events, None)
            .await
            .unwrap();
    let rows = lake
        .found
        .lake
        .iter()
        .map(|(id, s)| (*id, s.rows))
        .collect();
    (rows, lake.objects() as usize)
}

/// One handler invocation over two partitions (forex and stock prices), on a lake whose
/// uploads run one at a time with two attempts each (the SDK's three retries inside each), and
/// whose first upload meets `kind` on every attempt; then its message redelivered in a batch
/// with another one (as SQS recomposes batches, so that a partition rewritten would get another
/// key): the handler's results, the lake's rows per event, the events and the objects.
async fn one_upload_fails_every_attempt(
    kind: FaultKind,
) -> (
    Vec<Result<(), String>>,
    HashMap<uuid::Uuid, u32>,
    usize,
    usize,
) {
    use tickflow_pipeline::esm::Handler as _;
    let clients = clients().await;
    let (topology, p) = provision(&clients).await;
    let res = &p.resources;
    let batch: Vec<MarketEvent> = events(400, 12)
        .into_iter()
        .filter(|e| !matches!(e, MarketEvent::StockNews(_)))
        .collect();
    let (first, second) = batch.split_at(batch.len() / 2);
    let (first, second) = (message_of(1, first), message_of(2, second));
    // Every attempt of the first upload: 2 of the writer's, 3 of the SDK's inside each.
    let chaos = Arc::new(Chaos::new(
        0,
        vec![FaultRule {
            service: Some(Service::S3),
            operation: Some("PutObject".into()),
            calls: (1..=6).collect(),
            ..FaultRule::new(kind)
        }],
    ));
    let lake_config = LakeConfig {
        upload_concurrency: 1,
        flush_age: Duration::from_millis(100),
        backoff: tickflow_pipeline::retry::Backoff {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(10),
            max_attempts: 2,
        },
        ..LakeConfig::default()
    };
    let (handler, writer) = faulted_handler(&clients, &chaos, &res.bucket, lake_config);
    let mut results = Vec::new();
    for messages in [vec![first.clone()], vec![first, second]] {
        let handled = within(LIMIT, "handle", handler.handle(&messages)).await;
        results.push(handled.map(|_| ()).map_err(|e| e.to_string()));
    }
    drop(handler);
    within(LIMIT, "lake writer", writer).await.unwrap().unwrap();
    assert_eq!(chaos.fired().len(), 6, "{:?}", chaos.fired());
    let (rows, objects) = lake_rows(&clients, &res.bucket, batch.len()).await;
    topology.teardown(&clients, &p).await.unwrap();
    (results, rows, batch.len(), objects)
}

/// A duplicate message that meets an invocation still writing its events waits for that
/// write instead of going back to the queue: sent back, each meeting spent one of its receives,
/// and a duplicate that met a slow write `maxReceiveCount` times went to the DLQ with every
/// event written (a CI run of `fault-reset` under load).
#[tokio::test]
async fn a_duplicate_that_meets_a_slow_write_waits_for_it_and_is_not_sent_back() {
    use tickflow_pipeline::esm::Handler as _;
    let clients = clients().await;
    let (topology, p) = provision(&clients).await;
    let res = &p.resources;
    let batch: Vec<MarketEvent> = events(200, 31)
        .into_iter()
        .filter(|e| !matches!(e, MarketEvent::StockNews(_)))
        .collect();
    // The first upload takes 3 s: the duplicate comes while it is under way.
    let chaos = Arc::new(Chaos::new(
        0,
        vec![FaultRule {
            service: Some(Service::S3),
            operation: Some("PutObject".into()),
            calls: vec![1],
            latency_ms: 3_000,
            ..FaultRule::new(FaultKind::Latency)
        }],
    ));
    let lake_config = LakeConfig {
        flush_age: Duration::from_millis(100),
        ..LakeConfig::default()
    };
    let (handler, writer) = faulted_handler(&clients, &chaos, &res.bucket, lake_config);
    let (first, duplicate) = (vec![message_of(1, &batch)], vec![message_of(2, &batch)]);
    let late = async {
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        handler.handle(&duplicate).await
    };
    let (first, duplicate) = within(LIMIT, "handle", async {
        tokio::join!(handler.handle(&first), late)
    })
    .await;
    let stats = handler.stats();
    let counted = (
        stats.busy.load(Ordering::Relaxed),
        stats.busy_redelivered.load(Ordering::Relaxed),
        stats.duplicates.load(Ordering::Relaxed),
    );
    drop(handler);
    within(LIMIT, "lake writer", writer).await.unwrap().unwrap();
    assert_eq!(chaos.fired().len(), 1, "{:?}", chaos.fired());
    let none = tickflow_pipeline::esm::BatchResponse::default();
    assert_eq!(first.unwrap(), none);
    assert_eq!(
        duplicate.unwrap(),
        none,
        "the duplicate is done, not sent back"
    );
    assert_eq!(
        counted,
        (1, 0, batch.len() as u64),
        "busy once, then all skipped"
    );
    let (rows, _) = lake_rows(&clients, &res.bucket, batch.len()).await;
    assert_eq!(rows.len(), batch.len(), "every event in the lake");
    assert!(rows.values().all(|&n| n == 1), "each once");
    topology.teardown(&clients, &p).await.unwrap();
}

#[tokio::test]
async fn a_partition_whose_upload_fails_is_written_again_alone_and_nothing_twice() {
    let (results, rows, events, objects) =
        one_upload_fails_every_attempt(FaultKind::ServerError).await;
    assert!(
        results[0].is_err(),
        "one partition was not written: {results:?}"
    );
    assert_eq!(results[1], Ok(()), "the redelivery writes it");
    assert_eq!(rows.len(), events, "every event in the lake");
    assert!(
        rows.values().all(|&n| n == 1),
        "one row per event: {rows:?}"
    );
    // The durable partition once; then the failed one with the second message's rows, and the
    // second message's rows of the other.
    assert_eq!(objects, 3, "the durable partition is not written again");
}

#[tokio::test]
async fn an_upload_whose_every_answer_is_lost_is_durable_and_not_written_again() {
    let (results, rows, events, objects) = one_upload_fails_every_attempt(FaultKind::Reset).await;
    assert_eq!(results, [Ok(()), Ok(())], "the object landed each time");
    assert_eq!(rows.len(), events, "every event in the lake");
    assert!(
        rows.values().all(|&n| n == 1),
        "one row per event: {rows:?}"
    );
    assert_eq!(
        objects, 4,
        "two partitions for each message, the first's written once"
    );
}

#[tokio::test]
async fn a_moment_fault_is_recorded_when_it_starts_and_one_that_never_came_fails_the_run() {
    let clients = clients().await;
    let split = |after_secs: f64| FaultRule {
        after_secs,
        ..FaultRule::new(FaultKind::SplitShard)
    };
    // Paced over about three seconds: the split at 0.5 s happens while events flow.
    let mut early =
        tickflow_harness::flows::stream::driver::StreamRunConfig::new("e2e-split-early", 1_500, 4);
    early.load.rate = Some(500.0);
    early.faults.schedule = vec![split(0.5)];
    let report = crate::support::run(&clients, &early).await;
    assert!(report.judged.verdict.passed(), "{}", report.render_text());
    let fired = &report.faults_fired;
    assert_eq!(fired.len(), 1, "{fired:?}");
    // Recorded when the split started (not once the stream was active again; LocalStack's
    // split is quick with KINESIS_LATENCY=0, so the bound leaves room for a loaded machine).
    assert!((500..2_000).contains(&fired[0].at_ms), "{fired:?}");
    // Due after the run has drained: it cannot happen, and the run says so.
    let mut late =
        tickflow_harness::flows::stream::driver::StreamRunConfig::new("e2e-split-late", 300, 4);
    late.faults.schedule = vec![split(600.0)];
    let report = crate::support::run(&clients, &late).await;
    let checks = crate::support::failed_checks(&report);
    assert_eq!(checks, ["faults.rules"], "{}", report.render_text());
    assert!(report.faults_fired.is_empty());
    assert!(report.summary_line().starts_with("FAIL "));
}

/// A rule whose listed calls and passes come fires; one whose pass never comes (the run is
/// too short for it) fails `faults.rules`, naming it, and the report lists every rule's fires.
#[tokio::test]
async fn a_rule_that_never_fires_fails_the_run_and_each_rules_fires_are_listed() {
    let clients = clients().await;
    let mut config = StreamRunConfig::new("e2e-silent-rule", 500, 9);
    config.faults.schedule = vec![
        FaultRule {
            service: Some(Service::S3),
            operation: Some("PutObject".into()),
            calls: vec![1],
            ..FaultRule::new(FaultKind::Throttle)
        },
        FaultRule {
            stage: Some(Stage::Bridge),
            at: vec![1_000],
            ..FaultRule::new(FaultKind::Crash)
        },
    ];
    let report = crate::support::run(&clients, &config).await;
    assert_eq!(
        crate::support::failed_checks(&report),
        ["faults.rules"],
        "{}",
        report.render_text()
    );
    let fires: Vec<(usize, u64)> = report
        .fault_rules
        .iter()
        .map(|r| (r.rule, r.fired))
        .collect();
    assert_eq!(fires, [(0, 1), (1, 0)]);
    let failure = report
        .judged
        .verdict
        .failures()
        .iter()
        .find(|f| f.check == "faults.rules")
        .unwrap();
    assert_eq!(
        failure.examples,
        ["faults.schedule.1 (crash bridge at [1000]): fired nothing"]
    );
    let text = report.render_text();
    assert!(text.contains("faults.schedule.1"), "{text}");
    assert!(text.contains("0 (must fire)"), "{text}");
}

/// A failed delete is repeated at once. Left to the visibility timeout, it spent one of the
/// message's receives on finished work: with `maxReceiveCount` 1 the message's next receive
/// moved it, finished, to the DLQ.
#[tokio::test]
async fn a_failed_delete_is_repeated_and_spends_no_receive() {
    let clients = clients().await;
    let mut config = StreamRunConfig::new("e2e-failed-delete", 500, 29);
    // The SDK makes 3 attempts of a call, and the two invocations delete one call each: 6
    // failed attempts fail a call whole, however they interleave.
    config.faults.schedule = vec![FaultRule {
        service: Some(Service::Sqs),
        operation: Some("DeleteMessageBatch".into()),
        calls: (1..=6).collect(),
        ..FaultRule::new(FaultKind::ServerError)
    }];
    config.pipeline.max_receive_count = 1;
    let report = crate::support::run(&clients, &config).await;
    let fires: Vec<u64> = report.fault_rules.iter().map(|r| r.fired).collect();
    assert_eq!(fires, [6], "{}", report.render_text());
    assert!(
        crate::support::failed_checks(&report).is_empty(),
        "{}",
        report.render_text()
    );
    assert_eq!(report.judged.reconciliation.misplaced, 0);
}

/// A message the processor loses (deleted unhandled, on purpose: `lose`) FAILs the run, and
/// the verdict says where each of its events was last seen: sent to SQS by the bridge, never
/// received, never in the lake. With no such fault the same run has nothing to explain.
#[tokio::test]
async fn a_lost_message_fails_the_run_saying_where_its_events_were_last_seen() {
    let clients = clients().await;
    let mut config = StreamRunConfig::new("e2e-lost-message", 600, 41);
    config.pipeline.sqs_message_bytes = Some(16 * 1024);
    config.faults.schedule = vec![FaultRule {
        stage: Some(Stage::Processor),
        at: vec![2],
        ..FaultRule::new(FaultKind::Lose)
    }];
    let report = crate::support::run(&clients, &config).await;
    let missing = report.judged.reconciliation.missing;
    assert!(missing > 0, "{}", report.render_text());
    let failures = report.judged.verdict.failures();
    let history = failures
        .iter()
        .find(|f| f.check == "history")
        .unwrap_or_else(|| panic!("no history failure: {}", report.render_text()));
    assert_eq!(
        history.actual,
        format!("lost {missing}, duplicated 0, from nowhere 0"),
        "{}",
        report.render_text()
    );
    assert!(!history.examples.is_empty());
    for line in &history.examples {
        assert!(
            line.starts_with("lost ")
                && line.contains(": last seen in SQS (sent by the bridge at ")
                && line.ends_with("), never in the processor"),
            "{line}"
        );
    }
    // As the verdict prints it: the count, then an event a line.
    let printed = history.to_string();
    assert!(printed.contains("last seen in SQS"), "{printed}");
}

/// The calls each stage declares (what a fault rule may name) are every call it makes: a run of
/// every consumer, each consuming stage crashed once so that its recovery calls too, makes no
/// call through the fault layer that the declared tables lack.
#[tokio::test]
async fn every_call_the_stages_make_is_one_they_declare() {
    use tickflow_harness::flows::stream::settings::Consumer;
    let clients = clients().await;
    let mut config = StreamRunConfig::new("e2e-declared-calls", 2_000, 12);
    config.pipeline.consumers = vec![Consumer::Lake, Consumer::Raw, Consumer::Firehose];
    config.pipeline.firehose_buffer_secs = 0;
    let crash = |stage: Stage| FaultRule {
        stage: Some(stage),
        at: vec![2],
        ..FaultRule::new(FaultKind::Crash)
    };
    // The producer's re-sent records after a crash are copies the raw and Firehose sinks hold
    // beyond what was sent: its calls are made without one.
    config.faults.schedule = Stage::STREAM
        .into_iter()
        .filter(|s| *s != Stage::Producer)
        .map(crash)
        .collect();
    let report = crate::support::run(&clients, &config).await;
    assert!(report.judged.verdict.passed(), "{}", report.render_text());
    let declared: Vec<String> = config
        .pipeline
        .calls()
        .into_iter()
        .map(|(service, op)| format!("{} {op}", service.name()))
        .collect();
    let undeclared: Vec<&String> = report
        .fault_calls
        .keys()
        .filter(|call| !declared.contains(call))
        .collect();
    assert!(
        undeclared.is_empty(),
        "made but not declared: {undeclared:?}"
    );
    assert!(
        report.fault_calls.len() >= 10,
        "the stages called through the schedule: {:?}",
        report.fault_calls
    );
}

/// A lost answer on the claim's `PutObject`: the call took effect and the SDK's retry meets the
/// object its first attempt made. A plain conditional create reads that as another's claim (a
/// batch day that never runs, an alert never published); a claim recognises its own.
#[tokio::test]
async fn a_claim_whose_answer_was_lost_is_still_its_own() {
    let clients = clients().await;
    let bucket = format!("tickflow-claim-{}", uuid::Uuid::new_v4().simple());
    clients
        .s3
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let lost_answer = || {
        Arc::new(Chaos::new(
            0,
            vec![FaultRule {
                service: Some(Service::S3),
                operation: Some("PutObject".into()),
                calls: vec![1],
                ..FaultRule::new(FaultKind::Reset)
            }],
        ))
    };
    // The fault on purpose, without the recognition: the creator is told it was taken.
    let chaos = lost_answer();
    let plain = clients.with_chaos(chaos.clone());
    let created = within(
        LIMIT,
        "create",
        plain.create_object(&bucket, "plain", b"a".to_vec()),
    )
    .await
    .unwrap();
    assert_eq!(chaos.fired().len(), 1, "{:?}", chaos.fired());
    assert!(!created, "a lost answer makes a plain create look taken");
    // A claim under the same fault is its own, and another claimer's is refused.
    let chaos = lost_answer();
    let faulty = clients.with_chaos(chaos.clone());
    let mine = within(
        LIMIT,
        "claim",
        faulty.claim(&bucket, "day", b"mine".to_vec()),
    )
    .await;
    assert_eq!(chaos.fired().len(), 1, "{:?}", chaos.fired());
    assert_eq!(mine.unwrap(), Claim::Won, "the claim whose answer was lost");
    let theirs = within(
        LIMIT,
        "claim",
        clients.claim(&bucket, "day", b"theirs".to_vec()),
    )
    .await;
    assert_eq!(theirs.unwrap(), Claim::Taken, "a second claimer");
    for key in ["plain", "day"] {
        delete(&clients, &bucket, key).await;
    }
    clients
        .s3
        .delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
}

/// A bridge wedged at its second batch (`stall`: no retry or restart lifts it) FAILs the
/// liveness check within `liveness_secs` of the feed's end, naming the bridge, instead of
/// waiting out the drain timeout; the safety checks FAIL apart from it (events are missing,
/// and the history says they were last seen in the stream, which the judge read back, never
/// in SQS).
/// The same run with the bridge crashed instead of wedged drains and holds the check.
#[tokio::test]
async fn a_wedged_bridge_fails_liveness_naming_the_bridge_within_the_limit() {
    let clients = clients().await;
    let mut config = StreamRunConfig::new("e2e-wedged-bridge", 2_000, 43);
    config.pipeline.sqs_message_bytes = Some(16 * 1024);
    config.pipeline.visibility_timeout_secs = 5;
    config.pipeline.liveness_secs = Some(10);
    // Fed over 4 s: the bridge passes its crash point many times, and the wedged reader's
    // shard keeps receiving events it never sends on.
    config.load.rate = Some(500.0);
    let halt = |kind| FaultRule {
        stage: Some(Stage::Bridge),
        at: vec![2],
        ..FaultRule::new(kind)
    };
    config.faults.schedule = vec![halt(FaultKind::Stall)];
    let started = std::time::Instant::now();
    let report = crate::support::run(&clients, &config).await;
    let text = report.render_text();
    // What a user sees (`--nocapture`): the README shows it.
    println!("{text}");
    let stuck = report
        .liveness
        .stuck
        .as_ref()
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(stuck.stage, "bridge", "{text}");
    let idle = stuck.declared_secs - stuck.idle_from_secs;
    assert!((10.0..12.0).contains(&idle), "idle {idle} s: {text}");
    let failures = report.judged.verdict.failures();
    let liveness = failures.iter().find(|f| f.check == "liveness");
    let liveness = liveness.unwrap_or_else(|| panic!("{text}"));
    assert!(
        liveness.actual.starts_with("stuck at the bridge"),
        "{liveness}"
    );
    assert!(report.judged.reconciliation.missing > 0, "{text}");
    let history = failures.iter().find(|f| f.check == "history");
    let history = history.unwrap_or_else(|| panic!("{text}"));
    // The bridge left them behind, in the stream: the judge read it back to see.
    let last_seen = "last seen in the stream (read back, arrived at ";
    let said = |l: &String| l.contains(last_seen) && l.ends_with("), never in SQS");
    assert!(history.examples.iter().all(said), "{history}");
    let read = report
        .judged
        .history
        .as_ref()
        .and_then(|h| h.read_back.as_ref());
    assert!(read.is_some_and(|r| r.complete), "{text}");
    assert!(text.contains("\nliveness\n  stuck at the bridge"), "{text}");
    // Well within the 600 s drain timeout: the run stopped waiting at the limit.
    assert!(started.elapsed().as_secs() < 120, "{:?}", started.elapsed());

    config.name = "e2e-crashed-bridge".into();
    config.faults.schedule = vec![halt(FaultKind::Crash)];
    let report = crate::support::run(&clients, &config).await;
    assert!(report.judged.verdict.passed(), "{}", report.render_text());
    assert_eq!(report.liveness.stuck, None);
    let held = report
        .judged
        .verdict
        .held()
        .iter()
        .find(|f| f.check == "liveness");
    assert_eq!(held.map(|f| f.actual.as_str()), Some("drained"));
}

/// A raw consumer wedged at its second batch leaves the lake whole and its own sink short:
/// the verdict says the events the raw sink lacks were last seen in Kinesis, never in the raw
/// sink (the history's route branches at Kinesis), and `liveness` names the raw consumer.
#[tokio::test]
async fn a_wedged_raw_consumer_fails_its_branch_of_the_history_and_liveness() {
    use tickflow_harness::flows::stream::settings::Consumer;
    let clients = clients().await;
    let mut config = StreamRunConfig::new("e2e-wedged-raw", 2_000, 47);
    config.pipeline.consumers = vec![Consumer::Lake, Consumer::Raw];
    config.pipeline.liveness_secs = Some(10);
    config.load.rate = Some(500.0);
    config.faults.schedule = vec![FaultRule {
        stage: Some(Stage::Raw),
        at: vec![2],
        ..FaultRule::new(FaultKind::Stall)
    }];
    let report = crate::support::run(&clients, &config).await;
    let text = report.render_text();
    assert_eq!(report.judged.reconciliation.missing, 0, "{text}");
    let failures = report.judged.verdict.failures();
    let failed = |check: &str| failures.iter().find(|f| f.check == check);
    assert!(failed("sinks.raw").is_some(), "{text}");
    let stuck = report.liveness.stuck.as_ref();
    assert_eq!(
        stuck.map(|s| s.stage.as_str()),
        Some("raw consumer"),
        "{text}"
    );
    let history = failed("history").unwrap_or_else(|| panic!("{text}"));
    let last_seen = "last seen in Kinesis (accepted from the producer at ";
    let said = |l: &String| l.contains(last_seen) && l.ends_with("), never in the raw sink");
    assert!(!history.examples.is_empty(), "{history}");
    assert!(history.examples.iter().all(said), "{history}");
    let seen = report
        .judged
        .history
        .as_ref()
        .map(|h| h.summary.stages.clone());
    let raw = seen.iter().flatten().find(|s| s.stage == "the raw sink");
    let raw = raw.unwrap_or_else(|| panic!("{text}"));
    assert!(raw.events < 2_000, "{text}");
}

/// A split sends one key's events on out of the producer's order (the producer's shard map
/// goes stale and routes an aggregate by its first record's key, and the two children are read
/// at once): the history counts each event sent to SQS before an earlier one of its key and
/// names the pairs, which `[expect] ordered` FAILs on. Without a split (the scenarios that
/// crash the bridge, throttle and reset) the same check holds.
#[tokio::test]
async fn a_shard_split_sends_a_key_s_events_out_of_order_and_the_history_names_the_pairs() {
    let clients = clients().await;
    // Fed over 8 s, the split at 1 s: LocalStack takes up to seconds to split a shard under
    // load, and the children must take a good share of the events.
    let mut config = StreamRunConfig::new("e2e-split-order", 12_000, 29);
    config.load.rate = Some(1_500.0);
    config.faults.schedule = vec![FaultRule {
        after_secs: 1.0,
        ..FaultRule::new(FaultKind::SplitShard)
    }];
    let report = crate::support::run(&clients, &config).await;
    let text = report.render_text();
    assert!(report.judged.verdict.passed(), "{text}");
    let history = report
        .judged
        .history
        .as_ref()
        .unwrap_or_else(|| panic!("{text}"));
    assert!(history.out_of_order.is_some_and(|n| n > 0), "{text}");
    assert!(!history.out_of_order_examples.is_empty());
    for line in &history.out_of_order_examples {
        assert!(
            line.contains(" sent to SQS after ") && line.ends_with(", which was fed after it"),
            "{line}"
        );
    }
}
