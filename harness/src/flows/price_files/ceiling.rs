//! The notification path's raw capacity, for the price-file flow.
//!
//! LocalStack's own ceiling for the price-file flow: small objects put into a bucket whose
//! notifications go to a queue, with the flow's upload concurrency, until every notification
//! has been received (and deleted). The flow does this twice per file (price file, CSV) plus
//! reads, so it is compared against this, measured before and after the run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use futures_util::StreamExt;
use tickflow_pipeline::aws::{AwsError, Clients};
use tickflow_pipeline::s3_event::{self, Notice};

use crate::error::{Error, Result};
use crate::infra::topology::{delete_all, ensure_bucket, ensure_queue, notify_queues, KeyFilter};
use crate::verdict::Measurement;

/// The prefix of the objects put.
const PREFIX: &str = "ceiling/";
/// The size of each object (a price file is a few hundred bytes).
const SIZE: usize = 300;
/// Consumers of the notifications (as many as the flow's ETL pollers).
const RECEIVERS: usize = 4;
/// Longest the notifications may take to arrive after the last put.
const ARRIVAL_LIMIT: Duration = Duration::from_secs(120);

/// Puts `objects` objects, `concurrency` at a time, into a throwaway bucket whose notifications
/// go to a throwaway queue, and times it until every notification was received.
///
/// # Errors
/// An AWS call failing, or notifications missing after [`ARRIVAL_LIMIT`].
pub async fn notified_puts(
    clients: &Clients,
    objects: u64,
    concurrency: usize,
) -> Result<Measurement> {
    let name = format!("tickflow-{}-ceiling", crate::infra::topology::new_run_id());
    ensure_bucket(clients, &name).await?;
    let queue = match ensure_queue(clients, &name, vec![]).await {
        Ok(queue) => queue,
        Err(e) => {
            clean_up(clients, &name, &[]).await;
            return Err(e);
        }
    };
    let measured = async {
        let filter = KeyFilter {
            prefix: Some(PREFIX.into()),
            suffix: None,
        };
        notify_queues(clients, &name, &[(&queue, filter)]).await?;
        // The set-up test event is not part of the measurement.
        clients
            .sqs
            .purge_queue()
            .queue_url(&queue)
            .send()
            .await
            .map_err(AwsError::of("sqs", "PurgeQueue"))?;
        measure(clients, &name, &queue, objects, concurrency).await
    }
    .await;
    clean_up(clients, &name, &[&queue]).await;
    measured
}

/// Deletes the throwaway bucket and queues (what is left is logged: names are unique).
async fn clean_up(clients: &Clients, bucket: &str, queues: &[&str]) {
    for problem in delete_all(clients, &[bucket], queues, &[]).await {
        tracing::warn!(%problem, "ceiling resources not deleted");
    }
}

async fn measure(
    clients: &Clients,
    bucket: &str,
    queue: &str,
    objects: u64,
    concurrency: usize,
) -> Result<Measurement> {
    let body = vec![b'x'; SIZE];
    let received = AtomicU64::new(0);
    let started = Instant::now();
    let puts = futures_util::stream::iter(0..objects)
        .map(|n| {
            let body = body.clone();
            async move {
                clients
                    .s3
                    .put_object()
                    .bucket(bucket)
                    .key(format!("{PREFIX}{n:08}"))
                    .body(body.into())
                    .send()
                    .await
                    .map_err(AwsError::of("s3", "PutObject"))
            }
        })
        .buffer_unordered(concurrency.max(1))
        .for_each(|done| {
            if let Err(e) = done {
                tracing::warn!(error = %e, "ceiling PutObject failed");
            }
            std::future::ready(())
        });
    let deadline = Instant::now() + ARRIVAL_LIMIT + Duration::from_secs(objects / 10);
    let receiver = || async {
        while received.load(Ordering::Relaxed) < objects && Instant::now() < deadline {
            receive_batch(clients, queue, &received).await?;
        }
        Ok::<_, Error>(())
    };
    let receivers = futures_util::future::try_join_all((0..RECEIVERS).map(|_| receiver()));
    let ((), receiving) = tokio::join!(puts, receivers);
    receiving?;
    let got = received.load(Ordering::Relaxed);
    if got < objects {
        return Err(Error::Timeout {
            what: format!("{objects} S3 notifications (got {got})"),
            after: ARRIVAL_LIMIT,
        });
    }
    Ok(Measurement {
        operation: format!("s3 PutObject {SIZE} B + notification x{concurrency}"),
        calls: objects,
        items: got,
        bytes: got * SIZE as u64,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Receives and deletes one batch of notifications, counting the objects they announce.
async fn receive_batch(clients: &Clients, queue: &str, received: &AtomicU64) -> Result<()> {
    let out = clients
        .sqs
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .map_err(AwsError::of("sqs", "ReceiveMessage"))?;
    let messages = out.messages.unwrap_or_default();
    let mut entries = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let created = s3_event::parse(message.body().unwrap_or_default())
            .into_iter()
            .filter(|n| matches!(n, Notice::Created { .. }))
            .count();
        received.fetch_add(created as u64, Ordering::Relaxed);
        if let Some(receipt) = message.receipt_handle() {
            entries.push(
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(receipt)
                    .build()
                    .expect("id and receipt handle are set"),
            );
        }
    }
    if !entries.is_empty() {
        clients
            .sqs
            .delete_message_batch()
            .queue_url(queue)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(AwsError::of("sqs", "DeleteMessageBatch"))?;
    }
    Ok(())
}
