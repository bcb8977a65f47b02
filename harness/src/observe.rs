//! Observing the pipeline from outside, through the same AWS APIs anyone would use: what is in
//! the lake, in the queues, and what SNS delivered.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use serde::Serialize;
use tickflow_pipeline::aws::{AwsError, Clients};
use tickflow_pipeline::lake::{partition, WRITTEN_AT_META};
use tickflow_pipeline::{compress, envelope};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::error::Result;
use crate::reconcile::Found;

/// One partition of the lake.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PartitionSummary {
    /// Objects in it.
    pub objects: u64,
    /// Rows in them.
    pub events: u64,
    /// Fields present in every row.
    pub common_fields: BTreeSet<String>,
    /// Rows whose event id an earlier row already had.
    pub duplicate_rows: u64,
}

/// What the lake holds.
#[derive(Debug, Default)]
pub struct LakeContents {
    /// Partition (e.g. `event_type=forex/dt=2026-11-23/hour=14`) -> objects and rows.
    pub partitions: BTreeMap<String, PartitionSummary>,
    /// Event id -> rows, over the data partitions.
    pub ids: HashMap<Uuid, u32>,
    /// Quarantine rows and the ids they name.
    pub quarantine_rows: u64,
    /// Ids named by quarantine rows.
    pub quarantined_ids: HashSet<Uuid>,
    /// Quarantine reasons (the text before the first `:` detail) -> rows.
    pub quarantine_reasons: BTreeMap<String, u64>,
    /// (event id, written-at epoch ms) for every data row, for latency.
    pub written_at: Vec<(Uuid, i64)>,
    /// Data rows missing a required field (`event_uuid`, `event_type`, `created_datetime`).
    pub rows_missing_fields: u64,
}

/// Reads every object of `bucket`.
///
/// # Errors
/// A failing S3 call.
pub async fn read_lake(clients: &Clients, bucket: &str) -> Result<LakeContents> {
    let keys = clients.object_keys(bucket).await?.ok_or_else(|| AwsError {
        service: "s3",
        operation: "ListObjectsV2",
        message: format!("bucket {bucket} does not exist"),
    })?;
    let mut contents = LakeContents::default();
    let mut reads = JoinSet::new();
    let mut pending = keys.into_iter();
    loop {
        while reads.len() < 8 {
            let Some(key) = pending.next() else { break };
            let (clients, bucket) = (clients.clone(), bucket.to_string());
            reads.spawn(async move {
                let (key, written_at, body) = get_object(&clients, &bucket, key).await?;
                // Parsing a million rows is the reader's main cost: one object per blocking
                // thread, merged below.
                tokio::task::spawn_blocking(move || {
                    let mut object = LakeContents::default();
                    absorb(&mut object, &key, written_at, &body);
                    object
                })
                .await
                .map_err(reader_error)
            });
        }
        let Some(done) = reads.join_next().await else {
            break;
        };
        let object = done.map_err(reader_error)??;
        contents.merge(object);
    }
    Ok(contents)
}

/// A failure of the lake reader itself (a task, or an object that does not decompress).
fn reader_error(reason: impl std::fmt::Display) -> crate::Error {
    crate::Error::Stage {
        stage: "lake reader".into(),
        reason: reason.to_string(),
    }
}

impl LakeContents {
    /// Adds one object's read: counts add up, common fields intersect, and each id already
    /// seen here is one more duplicate row in that object's partition (repeats inside the
    /// object were counted when it was read).
    fn merge(&mut self, object: LakeContents) {
        debug_assert!(object.partitions.len() <= 1, "one object, one partition");
        let mut repeats = 0;
        for (id, rows) in object.ids {
            let seen = self.ids.entry(id).or_default();
            repeats += u64::from(*seen > 0);
            *seen += rows;
        }
        for (name, theirs) in object.partitions {
            let ours = self.partitions.entry(name).or_default();
            if ours.events == 0 {
                ours.common_fields = theirs.common_fields;
            } else if theirs.events > 0 {
                ours.common_fields
                    .retain(|f| theirs.common_fields.contains(f));
            }
            ours.objects += theirs.objects;
            ours.events += theirs.events;
            ours.duplicate_rows += theirs.duplicate_rows + repeats;
        }
        self.quarantine_rows += object.quarantine_rows;
        self.quarantined_ids.extend(object.quarantined_ids);
        for (reason, rows) in object.quarantine_reasons {
            *self.quarantine_reasons.entry(reason).or_default() += rows;
        }
        self.written_at.extend(object.written_at);
        self.rows_missing_fields += object.rows_missing_fields;
    }
}

async fn get_object(
    clients: &Clients,
    bucket: &str,
    key: String,
) -> Result<(String, i64, Vec<u8>)> {
    let out = clients
        .s3
        .get_object()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .map_err(AwsError::of("s3", "GetObject"))?;
    let written_at = out
        .metadata()
        .and_then(|m| m.get(WRITTEN_AT_META))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let body = out
        .body
        .collect()
        .await
        .map_err(|e| AwsError {
            service: "s3",
            operation: "GetObject",
            message: e.to_string(),
        })?
        .into_bytes()
        .to_vec();
    let body = compress::expand_object(&key, body)
        .map_err(|e| reader_error(format!("s3://{bucket}/{key} does not decompress: {e}")))?;
    Ok((key, written_at, body))
}

fn absorb(contents: &mut LakeContents, key: &str, written_at: i64, body: &[u8]) {
    let partition = partition::partition_of(key).to_string();
    let quarantine = key.starts_with(partition::QUARANTINE);
    let summary = contents.partitions.entry(partition).or_default();
    summary.objects += 1;
    for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let row: serde_json::Value = serde_json::from_slice(line).unwrap_or_default();
        let fields = row.as_object();
        if summary.events == 0 {
            summary.common_fields = fields
                .map(|f| f.keys().cloned().collect())
                .unwrap_or_default();
        } else {
            summary
                .common_fields
                .retain(|k| fields.is_some_and(|f| f.contains_key(k)));
        }
        summary.events += 1;
        let id = row
            .get("event_uuid")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse::<Uuid>().ok());
        if quarantine {
            contents.quarantine_rows += 1;
            contents.quarantined_ids.extend(id);
            let reason = row
                .get("reason")
                .and_then(|r| r.as_str())
                .unwrap_or("(none)");
            let head = reason.split(':').next().unwrap_or(reason).to_string();
            *contents.quarantine_reasons.entry(head).or_default() += 1;
            continue;
        }
        if ["event_type", "created_datetime", "event_subtype"]
            .iter()
            .any(|f| row.get(f).is_none())
        {
            contents.rows_missing_fields += 1;
        }
        match id {
            Some(id) => {
                let seen = contents.ids.entry(id).or_default();
                *seen += 1;
                if *seen > 1 {
                    summary.duplicate_rows += 1;
                }
                contents.written_at.push((id, written_at));
            }
            None => contents.rows_missing_fields += 1,
        }
    }
}

/// Visible and in-flight messages of a queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueDepth {
    /// `ApproximateNumberOfMessages`.
    pub visible: u64,
    /// `ApproximateNumberOfMessagesNotVisible`.
    pub in_flight: u64,
}

/// The depth of `queue_url`.
///
/// # Errors
/// A failing SQS call.
pub async fn queue_depth(clients: &Clients, queue_url: &str) -> Result<QueueDepth> {
    let attrs = clients
        .queue_attributes(
            queue_url,
            &[
                QueueAttributeName::ApproximateNumberOfMessages,
                QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            ],
        )
        .await?;
    let get = |name| attrs.get(&name).and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok(QueueDepth {
        visible: get(QueueAttributeName::ApproximateNumberOfMessages),
        in_flight: get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    })
}

/// Receives every message of `queue_url`. With `consume` they are deleted (SNS delivery
/// queues); without, they are only hidden for a while, so the queue's depth still shows them
/// afterwards (the DLQ).
///
/// # Errors
/// A failing SQS call.
pub async fn receive_all(clients: &Clients, queue_url: &str, consume: bool) -> Result<Vec<String>> {
    let mut bodies = Vec::new();
    let mut empty_polls = 0;
    while empty_polls < 2 {
        let out = clients
            .sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(if empty_polls == 0 { 0 } else { 1 })
            .visibility_timeout(if consume { 30 } else { 2 })
            .send()
            .await
            .map_err(AwsError::of("sqs", "ReceiveMessage"))?;
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            empty_polls += 1;
            continue;
        }
        empty_polls = 0;
        for m in &messages {
            bodies.push(m.body().unwrap_or_default().to_string());
        }
        if consume {
            for chunk in messages.chunks(10) {
                let entries: Vec<_> = chunk
                    .iter()
                    .enumerate()
                    .filter_map(|(i, m)| {
                        aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                            .id(i.to_string())
                            .receipt_handle(m.receipt_handle().unwrap_or_default())
                            .build()
                            .ok()
                    })
                    .collect();
                clients
                    .sqs
                    .delete_message_batch()
                    .queue_url(queue_url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(AwsError::of("sqs", "DeleteMessageBatch"))?;
            }
        }
    }
    Ok(bodies)
}

/// Counts the records (and the event ids among them) in dead-lettered message bodies.
pub fn dead_letters(bodies: &[String], found: &mut Found) {
    for body in bodies {
        let records = envelope::decode(body).unwrap_or_else(|_| vec![body.as_bytes().to_vec()]);
        for record in records {
            found.dead_lettered_records += 1;
            let id = serde_json::from_slice::<serde_json::Value>(&record)
                .ok()
                .and_then(|v| {
                    v.get("event_uuid")
                        .and_then(|u| u.as_str())
                        .and_then(|s| s.parse().ok())
                });
            if let Some(id) = id {
                *found.dead_lettered.entry(id).or_default() += 1;
            }
        }
    }
}

/// An SNS delivery as it arrives on a subscribed queue (the SNS JSON envelope).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// The `Subject`.
    pub subject: String,
    /// The `Message`.
    pub message: String,
}

/// Parses SNS envelopes; a body that is not one keeps its text as the message.
pub fn deliveries(bodies: &[String]) -> Vec<Delivery> {
    bodies
        .iter()
        .map(|b| {
            let v: serde_json::Value = serde_json::from_str(b).unwrap_or_default();
            Delivery {
                subject: v["Subject"].as_str().unwrap_or_default().to_string(),
                message: v["Message"]
                    .as_str()
                    .map_or_else(|| b.clone(), str::to_string),
            }
        })
        .collect()
}

/// Waits until `queue_url` holds at least `count` visible messages, or `limit` passes.
pub async fn wait_for_messages(clients: &Clients, queue_url: &str, count: u64, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        match queue_depth(clients, queue_url).await {
            Ok(depth) if depth.visible >= count => return,
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: u128, extra: &str) -> String {
        format!(
            r#"{{"event_uuid":"{}","event_type":"forex","event_subtype":"rate","created_datetime":"x"{extra}}}"#,
            Uuid::from_u128(id)
        )
    }

    fn read(key: &str, rows: &[String]) -> LakeContents {
        let mut object = LakeContents::default();
        absorb(&mut object, key, 7, rows.join("\n").as_bytes());
        object
    }

    #[test]
    fn merged_reads_equal_one_serial_read() {
        let a = (
            "event_type=forex/dt=2026-11-23/hour=14/part-a.jsonl",
            vec![row(1, r#","x":1"#), row(2, ""), row(2, "")],
        );
        let b = (
            "event_type=forex/dt=2026-11-23/hour=14/part-b.jsonl",
            vec![row(2, r#","x":1"#), row(3, r#","x":1"#)],
        );
        let c = (
            "event_type=forex/dt=2026-11-23/hour=15/part-c.jsonl",
            vec![row(1, ""), row(4, "")],
        );
        let mut serial = LakeContents::default();
        let mut merged = LakeContents::default();
        for (key, rows) in [&a, &b, &c] {
            absorb(&mut serial, key, 7, rows.join("\n").as_bytes());
            merged.merge(read(key, rows));
        }
        assert_eq!(merged.partitions, serial.partitions);
        assert_eq!(merged.ids, serial.ids);
        assert_eq!(merged.written_at.len(), 7);
        let p14 = &merged.partitions["event_type=forex/dt=2026-11-23/hour=14"];
        // 2 appears three times in hour 14; 1 repeats in hour 15.
        assert_eq!((p14.objects, p14.events, p14.duplicate_rows), (2, 5, 2));
        assert_eq!(
            merged.partitions["event_type=forex/dt=2026-11-23/hour=15"].duplicate_rows,
            1
        );
        assert!(!p14.common_fields.contains("x"));
        assert!(p14.common_fields.contains("event_uuid"));
    }
}
