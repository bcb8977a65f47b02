//! `tickflow doctor`: one round trip through each service the stream flow uses.
//!
//! `tickflow doctor`: proves each AWS service the pipeline uses works on the target, with one
//! round trip each through a throwaway topology.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use tickflow_pipeline::aws::{AwsError, Clients};

use crate::error::Result;
use crate::flows::stream::resources::topology::{Provisioned, Topology};

/// One check's outcome.
#[derive(Debug, Clone)]
pub struct Check {
    /// `kinesis`, `sqs`, `s3`, `sns` or `topology`.
    pub service: &'static str,
    /// What was checked.
    pub check: String,
    /// `Ok` or what went wrong.
    pub result: std::result::Result<(), String>,
    /// How long it took.
    pub latency: Duration,
}

/// Runs every check against `clients`: provision, one round trip per service, teardown. Never
/// stops at the first failure, except that nothing can be checked without a topology.
pub async fn check_all(clients: &Clients, topology: &Topology) -> Vec<Check> {
    let mut checks = Vec::new();
    let provisioned = timed(
        &mut checks,
        "topology",
        "provision (stream, queues, bucket, topics)".into(),
        topology.provision(clients),
    )
    .await;
    let Some(p) = provisioned else {
        return checks;
    };
    let shards = topology.shards;
    timed(
        &mut checks,
        "kinesis",
        format!("put/get across {shards} shards"),
        kinesis_round_trip(clients, &p, shards as usize),
    )
    .await;
    timed(
        &mut checks,
        "sqs",
        "send/receive/delete".into(),
        sqs_round_trip(clients, &p),
    )
    .await;
    timed(
        &mut checks,
        "s3",
        "put/get/list".into(),
        s3_round_trip(clients, &p),
    )
    .await;
    timed(
        &mut checks,
        "sns",
        "publish -> subscribed queue".into(),
        sns_round_trip(clients, &p),
    )
    .await;
    timed(
        &mut checks,
        "cloudwatch",
        "put a datapoint/read it back".into(),
        cloudwatch_round_trip(clients, &p),
    )
    .await;
    timed(
        &mut checks,
        "topology",
        "teardown".into(),
        topology.teardown(clients, &p),
    )
    .await;
    checks
}

/// Renders the checks as an aligned table.
pub fn render_table(checks: &[Check]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10} {:<44} {:<6} {:>9}",
        "SERVICE", "CHECK", "RESULT", "LATENCY"
    );
    for c in checks {
        let result = if c.result.is_ok() { "OK" } else { "FAIL" };
        let ms = format!("{:.1} ms", c.latency.as_secs_f64() * 1e3);
        let _ = writeln!(
            out,
            "{:<10} {:<44} {:<6} {:>9}",
            c.service, c.check, result, ms
        );
        if let Err(e) = &c.result {
            let _ = writeln!(out, "           -> {e}");
        }
    }
    out
}

async fn timed<T>(
    checks: &mut Vec<Check>,
    service: &'static str,
    check: String,
    work: impl Future<Output = Result<T>>,
) -> Option<T> {
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(60), work).await;
    let latency = started.elapsed();
    let (result, value) = match outcome {
        Ok(Ok(v)) => (Ok(()), Some(v)),
        Ok(Err(e)) => (Err(e.to_string()), None),
        Err(_) => (Err("no answer within 60 s".to_string()), None),
    };
    checks.push(Check {
        service,
        check,
        result,
        latency,
    });
    value
}

/// Puts records under enough partition keys to reach every shard, then reads each shard back.
async fn kinesis_round_trip(clients: &Clients, p: &Provisioned, shards: usize) -> Result<()> {
    let stream = &p.resources.stream;
    let entries: Vec<_> = (0..16 * shards.max(1))
        .map(|i| {
            PutRecordsRequestEntry::builder()
                .partition_key(format!("doctor-{i}"))
                .data(Blob::new(format!("probe-{i}")))
                .build()
                .expect("data and partition key are set")
        })
        .collect();
    let put = clients
        .kinesis
        .put_records()
        .stream_name(stream)
        .set_records(Some(entries))
        .send()
        .await
        .map_err(AwsError::of("kinesis", "PutRecords"))?;
    if put.failed_record_count().unwrap_or(0) > 0 {
        return Err(doctor_error("kinesis", "PutRecords", "some records failed"));
    }
    let mut per_shard: BTreeMap<String, usize> = BTreeMap::new();
    for r in put.records() {
        *per_shard
            .entry(r.shard_id().unwrap_or_default().to_string())
            .or_default() += 1;
    }
    if per_shard.len() < shards {
        return Err(doctor_error(
            "kinesis",
            "PutRecords",
            &format!("records reached {} of {shards} shards", per_shard.len()),
        ));
    }
    for (shard, expected) in per_shard {
        let iterator = clients
            .trim_horizon(stream, &shard)
            .await?
            .unwrap_or_default();
        let got = clients
            .kinesis
            .get_records()
            .shard_iterator(iterator)
            .send()
            .await
            .map_err(AwsError::of("kinesis", "GetRecords"))?
            .records()
            .len();
        if got != expected {
            return Err(doctor_error(
                "kinesis",
                "GetRecords",
                &format!("shard {shard}: read {got} records, put {expected}"),
            ));
        }
    }
    Ok(())
}

async fn sqs_round_trip(clients: &Clients, p: &Provisioned) -> Result<()> {
    let body = format!("doctor-{}", uuid::Uuid::new_v4());
    let queue = &p.resources.queue_url;
    clients
        .sqs
        .send_message()
        .queue_url(queue)
        .message_body(&body)
        .send()
        .await
        .map_err(AwsError::of("sqs", "SendMessage"))?;
    let message = receive_one(clients, queue).await?;
    if message.body() != Some(body.as_str()) {
        return Err(doctor_error(
            "sqs",
            "ReceiveMessage",
            "received another body than sent",
        ));
    }
    clients
        .sqs
        .delete_message()
        .queue_url(queue)
        .receipt_handle(message.receipt_handle().unwrap_or_default())
        .send()
        .await
        .map_err(AwsError::of("sqs", "DeleteMessage"))?;
    Ok(())
}

async fn s3_round_trip(clients: &Clients, p: &Provisioned) -> Result<()> {
    let bucket = &p.resources.bucket;
    let key = "doctor/probe.txt";
    let body = format!("doctor-{}", uuid::Uuid::new_v4());
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body.clone().into_bytes().into())
        .send()
        .await
        .map_err(AwsError::of("s3", "PutObject"))?;
    let (_, got) = clients.get_object(bucket, key).await?;
    if got != body.as_bytes() {
        return Err(doctor_error(
            "s3",
            "GetObject",
            "read back other bytes than written",
        ));
    }
    let listed = clients
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix("doctor/")
        .send()
        .await
        .map_err(AwsError::of("s3", "ListObjectsV2"))?;
    if !listed.contents().iter().any(|o| o.key() == Some(key)) {
        return Err(doctor_error(
            "s3",
            "ListObjectsV2",
            "the object written is not listed",
        ));
    }
    Ok(())
}

async fn sns_round_trip(clients: &Clients, p: &Provisioned) -> Result<()> {
    let body = format!("doctor-{}", uuid::Uuid::new_v4());
    clients
        .sns
        .publish()
        .topic_arn(&p.resources.topics.run_status)
        .subject("doctor")
        .message(&body)
        .send()
        .await
        .map_err(AwsError::of("sns", "Publish"))?;
    let delivered = receive_one(clients, &p.subscriptions.run_status).await?;
    let envelope: serde_json::Value =
        serde_json::from_str(delivered.body().unwrap_or_default()).unwrap_or_default();
    if envelope["Message"].as_str() != Some(body.as_str()) {
        return Err(doctor_error(
            "sns",
            "Publish",
            "the subscribed queue got another message",
        ));
    }
    Ok(())
}

/// One datapoint put under `Tickflow/Doctor` (the run's stream as its dimension) and read back:
/// what a scenario's alarms need of CloudWatch.
async fn cloudwatch_round_trip(clients: &Clients, p: &Provisioned) -> Result<()> {
    use aws_sdk_cloudwatch::primitives::DateTime;
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, Statistic};
    let dimension = Dimension::builder()
        .name("StreamName")
        .value(&p.resources.stream)
        .build();
    let now = tickflow_pipeline::metrics::epoch_ms() / 1_000;
    let datum = MetricDatum::builder()
        .metric_name("DoctorRoundTrip")
        .dimensions(dimension.clone())
        .timestamp(DateTime::from_secs(now))
        .value(1.0)
        .build();
    clients
        .cloudwatch
        .put_metric_data()
        .namespace("Tickflow/Doctor")
        .metric_data(datum)
        .send()
        .await
        .map_err(AwsError::of("cloudwatch", "PutMetricData"))?;
    for _ in 0..10 {
        let out = clients
            .cloudwatch
            .get_metric_statistics()
            .namespace("Tickflow/Doctor")
            .metric_name("DoctorRoundTrip")
            .dimensions(dimension.clone())
            .start_time(DateTime::from_secs(now - 120))
            .end_time(DateTime::from_secs(now + 120))
            .period(60)
            .statistics(Statistic::SampleCount)
            .send()
            .await
            .map_err(AwsError::of("cloudwatch", "GetMetricStatistics"))?;
        if !out.datapoints().is_empty() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(doctor_error(
        "cloudwatch",
        "GetMetricStatistics",
        "the datapoint put was not read back within 5 s",
    ))
}

/// Receives one message, long-polling for up to ten seconds.
async fn receive_one(clients: &Clients, queue: &str) -> Result<aws_sdk_sqs::types::Message> {
    for _ in 0..5 {
        let out = clients
            .sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(1)
            .wait_time_seconds(2)
            .send()
            .await
            .map_err(AwsError::of("sqs", "ReceiveMessage"))?;
        if let Some(m) = out.messages.and_then(|mut m| m.pop()) {
            return Ok(m);
        }
    }
    Err(doctor_error(
        "sqs",
        "ReceiveMessage",
        "no message within 10 s",
    ))
}

fn doctor_error(service: &'static str, operation: &'static str, message: &str) -> crate::Error {
    AwsError {
        service,
        operation,
        message: message.to_string(),
    }
    .into()
}
