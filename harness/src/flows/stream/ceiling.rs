//! The stream's raw capacity, measured with tight loops of calls.
//!
//! The stream's ceiling: tight loops of `PutRecords`, `GetRecords`, `SendMessageBatch` and
//! `PutObject` from the same SDK the pipeline uses, to compare a run's rates against.

use std::time::{Duration, Instant};

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use tickflow_pipeline::aws::{AwsError, Clients};

use super::resources::topology::Provisioned;
use crate::error::Result;
use crate::verdict::Measurement;

/// Tight loops of `PutRecords`, `SendMessageBatch` and `PutObject` on `p`'s stream, queue and
/// bucket, each for about `budget`.
///
/// # Errors
/// A failing AWS call.
pub async fn measure(
    clients: &Clients,
    p: &Provisioned,
    budget: Duration,
) -> Result<Vec<Measurement>> {
    let mut out = Vec::new();
    for (records, size) in [
        (500, 200),
        (100, 10 * 1024),
        (10, 100 * 1024),
        (4, 1000 * 1024),
    ] {
        out.push(kinesis(clients, &p.resources.stream, records, size, budget).await?);
    }
    out.push(kinesis_reads(clients, &p.resources.stream, budget).await?);
    for size in [200, 25 * 1024] {
        out.push(sqs(clients, &p.resources.queue_url, size, budget).await?);
    }
    out.push(s3(clients, &p.resources.bucket, 1024 * 1024, budget).await?);
    Ok(out)
}

async fn kinesis(
    clients: &Clients,
    stream: &str,
    records: usize,
    size: usize,
    budget: Duration,
) -> Result<Measurement> {
    let entries: Vec<_> = (0..records)
        .map(|i| {
            PutRecordsRequestEntry::builder()
                .partition_key(format!("k{i}"))
                .data(Blob::new(vec![b'x'; size]))
                .build()
                .expect("key and data are set")
        })
        .collect();
    let operation = format!("kinesis PutRecords {records} x {}", human(size));
    timed_loop(operation, budget, || async {
        let out = clients
            .kinesis
            .put_records()
            .stream_name(stream)
            .set_records(Some(entries.clone()))
            .send()
            .await
            .map_err(AwsError::of("kinesis", "PutRecords"))?;
        let ok = (records as i32 - out.failed_record_count().unwrap_or(0)) as u64;
        Ok((ok, ok * size as u64))
    })
    .await
}

/// `GetRecords` back to back over every shard, from the start, of what the `PutRecords` loops
/// wrote: the rate at which one reader drains the stream (what fan-out consumers share).
async fn kinesis_reads(clients: &Clients, stream: &str, budget: Duration) -> Result<Measurement> {
    let mut iterators = Vec::new();
    for shard in clients.shards(stream).await? {
        iterators.extend(clients.trim_horizon(stream, shard.shard_id()).await?);
    }
    let mut m = Measurement {
        operation: "kinesis GetRecords 10000, all shards".into(),
        calls: 0,
        items: 0,
        bytes: 0,
        seconds: 0.0,
    };
    let started = Instant::now();
    let mut shard = 0;
    while !iterators.is_empty() && started.elapsed() < budget {
        shard %= iterators.len();
        let out = clients
            .kinesis
            .get_records()
            .shard_iterator(&iterators[shard])
            .limit(10_000)
            .send()
            .await
            .map_err(AwsError::of("kinesis", "GetRecords"))?;
        m.calls += 1;
        m.items += out.records().len() as u64;
        m.bytes += out
            .records()
            .iter()
            .map(|r| r.data().as_ref().len() as u64)
            .sum::<u64>();
        let caught_up = out.records().is_empty() && out.millis_behind_latest().unwrap_or(0) == 0;
        match out.next_shard_iterator() {
            Some(next) if !caught_up => {
                iterators[shard] = next.to_string();
                shard += 1;
            }
            _ => {
                iterators.remove(shard);
            }
        }
    }
    m.seconds = started.elapsed().as_secs_f64();
    Ok(m)
}

async fn sqs(clients: &Clients, queue: &str, size: usize, budget: Duration) -> Result<Measurement> {
    let body = "x".repeat(size);
    let entries: Vec<_> = (0..10)
        .map(|i| {
            SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(&body)
                .build()
                .expect("id and body are set")
        })
        .collect();
    let operation = format!("sqs SendMessageBatch 10 x {}", human(size));
    let measured = timed_loop(operation, budget, || async {
        let out = clients
            .sqs
            .send_message_batch()
            .queue_url(queue)
            .set_entries(Some(entries.clone()))
            .send()
            .await
            .map_err(AwsError::of("sqs", "SendMessageBatch"))?;
        let ok = out.successful().len() as u64;
        Ok((ok, ok * size as u64))
    })
    .await;
    let _ = clients.sqs.purge_queue().queue_url(queue).send().await;
    measured
}

async fn s3(clients: &Clients, bucket: &str, size: usize, budget: Duration) -> Result<Measurement> {
    let body = vec![b'x'; size];
    let key = std::sync::atomic::AtomicU64::new(0);
    timed_loop(format!("s3 PutObject {}", human(size)), budget, || async {
        let n = key.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        clients
            .s3
            .put_object()
            .bucket(bucket)
            .key(format!("ceiling/{n}"))
            .body(body.clone().into())
            .send()
            .await
            .map_err(AwsError::of("s3", "PutObject"))?;
        Ok((1, size as u64))
    })
    .await
}

/// Calls `call` back to back for `budget`; each call reports the items and bytes it moved.
async fn timed_loop<F, Fut>(operation: String, budget: Duration, mut call: F) -> Result<Measurement>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(u64, u64)>>,
{
    let mut m = Measurement {
        operation,
        calls: 0,
        items: 0,
        bytes: 0,
        seconds: 0.0,
    };
    let started = Instant::now();
    while started.elapsed() < budget {
        let (items, bytes) = call().await?;
        m.calls += 1;
        m.items += items;
        m.bytes += bytes;
    }
    m.seconds = started.elapsed().as_secs_f64();
    Ok(m)
}

fn human(bytes: usize) -> String {
    if bytes >= 1024 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} B")
    }
}
