//! The whole stream pipeline against LocalStack.
//!
//! The whole pipeline against LocalStack: reconciliation, layout, notifications, faults, and a
//! bridge restart.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tickflow_harness::flows::stream::driver::{run, StreamRunConfig};
use tickflow_harness::flows::stream::faults::FaultSettings;
use tickflow_harness::flows::stream::resources::topology::Topology;
use tickflow_harness::observe;
use tickflow_harness::verdict::Report as _;
use tickflow_pipeline::bridge::{Bridge, BridgeConfig, Checkpoints};
use tickflow_pipeline::control::{self, Phase};
use tickflow_pipeline::envelope;
use tickflow_pipeline::esm::{
    BatchResponse, EsmConfig, EventSourceMapping, Handler, HandlerError, SqsMessage,
};
use tickflow_pipeline::producer::{Outgoing, Producer, ProducerConfig};
use tickflow_pipeline::source::{Generator, GeneratorConfig};

use crate::support::{clients, within};

const LIMIT: Duration = Duration::from_secs(300);

#[tokio::test]
async fn ten_thousand_events_land_once_each_in_hive_partitions_with_notifications() {
    let clients = clients().await;
    let report = within(
        LIMIT,
        "10k run",
        run(&clients, &StreamRunConfig::new("e2e-smoke", 10_000, 7)),
    )
    .await
    .unwrap();
    let r = &report.judged.reconciliation;
    assert!(report.judged.verdict.passed(), "{}", report.render_text());
    assert_eq!(
        (r.events, r.found, r.missing, r.duplicated),
        (10_000, 10_000, 0, 0)
    );
    assert_eq!(
        (
            r.quarantined,
            r.dead_lettered,
            r.misplaced,
            r.altered,
            r.unknown
        ),
        (0, 0, 0, 0, 0)
    );

    // Seed 7 starts at the 14:30 UTC open on 2026-11-23 and spans about 100 s of market time.
    let expected: HashSet<String> = ["forex", "stock_price", "stock_news"]
        .iter()
        .map(|t| format!("event_type={t}/dt=2026-11-23/hour=14"))
        .collect();
    let partitions: HashSet<String> = report.judged.partitions.keys().cloned().collect();
    assert_eq!(partitions, expected);
    assert_eq!(
        report
            .judged
            .partitions
            .values()
            .map(|p| p.events)
            .sum::<u64>(),
        10_000
    );
    assert_eq!(report.judged.latency_unknown, 0);
    assert!(
        report.judged.verdict.failures().is_empty(),
        "{:?}",
        report.judged.verdict.failures()
    );

    let objects: u64 = report.judged.partitions.values().map(|p| p.objects).sum();
    assert_eq!(
        report.judged.sns.new_data, objects,
        "one new-data notification per object"
    );
    assert_eq!(
        report.judged.sns.run_status_subjects,
        ["e2e-smoke_Pipeline_Success"]
    );
    assert_eq!(
        report.judged.sns.price_alert as usize,
        report.judged.sns.alert_symbols.len()
    );
    assert_eq!(
        (
            report.judged.main_queue.visible,
            report.judged.main_queue.in_flight
        ),
        (0, 0)
    );
    assert_eq!(report.judged.dlq_messages, 0);
    assert!(
        report.stats.kinesis_records < 100,
        "events must be aggregated: {:?}",
        report.stats
    );
    assert!(report.judged.latency_ms.count == 10_000 && report.judged.latency_ms.p50 > 0);
    let services: Vec<&str> = report.aws_calls.keys().map(String::as_str).collect();
    assert_eq!(services, ["kinesis", "s3", "sns", "sqs"]);
    // Under parallel tests, LocalStack now and then answers a Kinesis call with HTTP 500 (its
    // kinesis-mock backend refusing a connection); the SDK retries it and the interceptor counts
    // the failed attempt. Zero is not guaranteed, rare retried failures are (the run passed).
    for (service, calls) in &report.aws_calls {
        assert!(
            calls.calls > 0 && calls.errors * 10 <= calls.calls,
            "{service}: {calls:?}"
        );
    }
    assert!(report.aws_calls["kinesis"].calls >= report.stats.put_records_calls);
    assert!(report.summary_line().starts_with(
        "PASS e2e-smoke events=10000 found=10000 missing=0 duplicated=0 quarantined=0 dead_lettered=0 misplaced=0 altered=0 unknown=0 elapsed="
    ));
}

#[tokio::test]
async fn faults_are_quarantined_dead_lettered_deduplicated_and_redelivered() {
    let clients = clients().await;
    let mut config = StreamRunConfig::new("e2e-faults", 3_000, 11);
    config.faults = FaultSettings {
        malformed_ratio: 0.05,
        duplicate_ratio: 0.05,
        poison_ratio: 0.002,
        transient_ratio: 0.2,
        ..FaultSettings::default()
    };
    config.pipeline.sqs_message_bytes = Some(16 * 1024);
    config.pipeline.visibility_timeout_secs = 2;
    config.pipeline.max_receive_count = 2;
    config.pipeline.flush_age_ms = 300;
    let report = within(LIMIT, "fault run", run(&clients, &config))
        .await
        .unwrap();
    let r = &report.judged.reconciliation;
    assert!(report.judged.verdict.passed(), "{}", report.render_text());
    assert_eq!(
        (r.missing, r.duplicated, r.misplaced),
        (0, 0, 0),
        "{}",
        report.render_text()
    );
    assert!(
        report.expected_quarantine > 100
            && report.expected_poison > 0
            && report.duplicates_sent > 100
    );
    assert_eq!(
        r.found + r.quarantined + r.dead_lettered,
        r.events,
        "each event in exactly one place"
    );
    // Malformed records are quarantined, except those riding in a poisoned message.
    assert!(r.quarantined <= report.expected_quarantine);
    assert!(r.quarantined + r.dead_lettered >= report.expected_quarantine);
    // Each malformed record is quarantined once, its duplicate copy and redeliveries too.
    assert_eq!(report.judged.quarantine_rows, r.quarantined);
    let reasons: Vec<&String> = report.judged.quarantine_reasons.keys().collect();
    assert_eq!(
        reasons,
        ["rule", "schema"],
        "{:?}",
        report.judged.quarantine_reasons
    );
    assert!(r.dead_lettered >= report.expected_poison);
    assert!(
        report.judged.dlq_messages > 0
            && report.judged.dlq.visible + report.judged.dlq.in_flight
                == report.judged.dlq_messages
    );
    assert!(
        report.stats.redelivered > 0,
        "transient failures must be redelivered"
    );
    assert!(report.stats.duplicates_skipped > 0);
    assert_eq!(
        (
            report.judged.main_queue.visible,
            report.judged.main_queue.in_flight
        ),
        (0, 0)
    );
}

#[tokio::test]
async fn one_record_per_event_without_aggregation_also_reconciles() {
    let clients = clients().await;
    let mut config = StreamRunConfig::new("e2e-raw", 600, 3);
    config.pipeline.aggregate = false;
    let report = within(LIMIT, "raw run", run(&clients, &config))
        .await
        .unwrap();
    assert!(report.judged.verdict.passed(), "{}", report.render_text());
    assert_eq!(report.stats.kinesis_records, 600);
    assert_eq!(report.judged.reconciliation.found, 600);
}

#[tokio::test]
async fn zstd_compressed_records_bodies_and_objects_reconcile_and_shrink() {
    let clients = clients().await;
    let mut plain = StreamRunConfig::new("e2e-plain", 4_000, 9);
    plain.pipeline.shards = 1;
    let mut packed = plain.clone();
    packed.name = "e2e-zstd".into();
    packed.pipeline.compression = tickflow_pipeline::compress::Compression::Zstd;
    let (a, b) = tokio::join!(run(&clients, &plain), run(&clients, &packed));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(
        a.judged.verdict.passed() && b.judged.verdict.passed(),
        "{}\n{}",
        a.render_text(),
        b.render_text()
    );
    assert_eq!(b.judged.reconciliation.found, 4_000);
    assert!(
        b.stats.kinesis_bytes * 3 < a.stats.kinesis_bytes,
        "zstd should carry well under a third of the bytes: {} vs {}",
        b.stats.kinesis_bytes,
        a.stats.kinesis_bytes
    );
    assert!(
        b.stats.lake_bytes * 3 < a.stats.lake_bytes,
        "zstd lake objects should be well under a third of the bytes: {} vs {}",
        b.stats.lake_bytes,
        a.stats.lake_bytes
    );
}

#[tokio::test]
async fn partitioned_generators_together_produce_each_event_once() {
    let clients = clients().await;
    let topology = Topology::new();
    let p = within(LIMIT, "provision", topology.provision(&clients))
        .await
        .unwrap();
    let generator = GeneratorConfig {
        events: 1_500,
        seed: 31,
        ..Default::default()
    };
    let load = tickflow_harness::flows::stream::input::arrival::LoadPlan::default();
    let no_faults = FaultSettings::default();
    let mut sent = 0;
    for index in 0..3 {
        let partition =
            tickflow_harness::flows::stream::input::produce::Partition { index, count: 3 };
        let produced = tickflow_harness::flows::stream::input::produce::produce(
            &clients,
            &p.resources.stream,
            generator.clone(),
            &no_faults,
            &load,
            ProducerConfig::default(),
            partition,
        );
        sent += within(LIMIT, "produce a partition", produced)
            .await
            .unwrap()
            .events;
    }
    assert_eq!(sent, 1_500);

    let bridge = Bridge::new(
        clients.clone(),
        &p.resources.stream,
        &p.resources.queue_url,
        BridgeConfig::default(),
        Checkpoints::default(),
    );
    let (ctl, control) = control::channel();
    ctl.set(Phase::Drain);
    within(LIMIT, "bridge", bridge.run(control)).await.unwrap();
    let bodies = within(
        LIMIT,
        "read queue",
        observe::peek_all(
            &clients,
            &p.resources.queue_url,
            Duration::from_secs(60),
            Duration::ZERO,
        ),
    )
    .await
    .unwrap()
    .bodies();
    let mut got = Vec::new();
    for body in &bodies {
        for record in envelope::decode(body).unwrap() {
            got.push(
                tickflow_pipeline::event::parse_record(&record)
                    .unwrap()
                    .id(),
            );
        }
    }
    got.sort();
    let mut expected: Vec<_> = Generator::new(generator).map(|e| e.id()).collect();
    expected.sort();
    assert_eq!(
        got, expected,
        "the partitions must cover the scenario exactly once"
    );
    within(LIMIT, "teardown", topology.teardown(&clients, &p))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_restarted_bridge_resumes_from_its_checkpoints() {
    let clients = clients().await;
    let topology = Topology::new();
    let p = within(LIMIT, "provision", topology.provision(&clients))
        .await
        .unwrap();
    let res = &p.resources;
    let events: Vec<_> = Generator::new(GeneratorConfig {
        events: 3_000,
        seed: 5,
        ..Default::default()
    })
    .collect();

    let produce = |batch: &[tickflow_pipeline::event::MarketEvent]| {
        let producer = Producer::new(clients.clone(), &res.stream, ProducerConfig::default());
        let (tx, rx) = tokio::sync::mpsc::channel(batch.len());
        for e in batch {
            tx.try_send(Outgoing {
                partition_key: e.instrument().to_string(),
                data: e.to_json(),
            })
            .unwrap();
        }
        drop(tx);
        producer.run(rx)
    };
    let bridge_once = |checkpoints: Checkpoints| {
        let bridge = Bridge::new(
            clients.clone(),
            &res.stream,
            &res.queue_url,
            BridgeConfig::default(),
            checkpoints,
        );
        let stats = bridge.stats();
        let (ctl, control) = control::channel();
        ctl.set(Phase::Drain);
        // The controller lives as long as the bridge: a dropped one means stop.
        (stats, async move {
            let _ctl = ctl;
            bridge.run(control).await
        })
    };

    let checkpoints = Checkpoints::default();
    within(LIMIT, "produce first part", produce(&events[..2_000]))
        .await
        .unwrap();
    let (first, running) = bridge_once(checkpoints.clone());
    within(LIMIT, "first bridge", running).await.unwrap();
    assert_eq!(first.user_records.load(Ordering::Relaxed), 2_000);
    assert_eq!(checkpoints.snapshot().len(), 2, "one checkpoint per shard");

    within(LIMIT, "produce the rest", produce(&events[2_000..]))
        .await
        .unwrap();
    let (second, running) = bridge_once(checkpoints.clone());
    within(LIMIT, "restarted bridge", running).await.unwrap();
    assert_eq!(
        second.user_records.load(Ordering::Relaxed),
        1_000,
        "resumes after the checkpoint"
    );

    let bodies = within(
        LIMIT,
        "read queue",
        observe::peek_all(
            &clients,
            &res.queue_url,
            Duration::from_secs(60),
            Duration::ZERO,
        ),
    )
    .await
    .unwrap()
    .bodies();
    let mut ids = HashSet::new();
    for body in &bodies {
        for record in envelope::decode(body).unwrap() {
            let value: serde_json::Value = serde_json::from_slice(&record).unwrap();
            assert!(
                ids.insert(value["event_uuid"].as_str().unwrap().to_string()),
                "sent twice"
            );
        }
    }
    assert_eq!(ids.len(), 3_000);
    within(LIMIT, "teardown", topology.teardown(&clients, &p))
        .await
        .unwrap();
}

/// A handler slower than the queue's visibility timeout, recording each delivery it gets.
#[derive(Default)]
struct Slow {
    deliveries: std::sync::Mutex<Vec<(String, u32)>>,
}

impl Handler for Slow {
    async fn handle(&self, batch: &[SqsMessage]) -> Result<BatchResponse, HandlerError> {
        self.deliveries
            .lock()
            .unwrap()
            .extend(batch.iter().map(|m| (m.body.clone(), m.receive_count)));
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        Ok(BatchResponse::failing(Vec::new()))
    }
}

/// Sends one message to a fresh queue with a 1 s visibility timeout and lets an event source
/// mapping with a 2.5 s handler drain it; returns the deliveries the handler saw.
async fn deliveries_of_a_slow_batch(extend_visibility: Option<Duration>) -> Vec<(String, u32)> {
    let clients = clients().await;
    let topology = Topology {
        visibility_timeout_secs: 1,
        ..Topology::new()
    };
    let p = within(LIMIT, "provision", topology.provision(&clients))
        .await
        .unwrap();
    clients
        .sqs
        .send_message()
        .queue_url(&p.resources.queue_url)
        .message_body("slow")
        .send()
        .await
        .unwrap();
    let handler = Arc::new(Slow::default());
    let config = EsmConfig {
        concurrency: 2,
        wait_time_secs: 1,
        extend_visibility,
        ..EsmConfig::default()
    };
    let esm = EventSourceMapping::new(
        clients.clone(),
        &p.resources.queue_url,
        config,
        handler.clone(),
    );
    let (ctl, control) = control::channel();
    ctl.set(Phase::Drain);
    within(LIMIT, "drain", esm.run(control)).await.unwrap();
    within(LIMIT, "teardown", topology.teardown(&clients, &p))
        .await
        .unwrap();
    let deliveries = handler.deliveries.lock().unwrap().clone();
    deliveries
}

#[tokio::test]
async fn a_batch_handled_longer_than_its_visibility_timeout_is_kept_invisible() {
    let (kept, left) = tokio::join!(
        deliveries_of_a_slow_batch(Some(Duration::from_secs(1))),
        deliveries_of_a_slow_batch(None)
    );
    assert_eq!(kept, [("slow".to_string(), 1)], "renewed: delivered once");
    assert!(
        left.len() >= 2 && left.iter().any(|(_, count)| *count >= 2),
        "without renewal the message comes back while it is handled: {left:?}"
    );
}
