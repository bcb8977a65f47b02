//! Forwarding a batch's records to a Firehose delivery stream.
//!
//! Forwarding a batch of user records to a Firehose delivery stream, as the streaming design's
//! `send_to_firehose` does: each record one line of newline-delimited JSON, packed into as few
//! `PutRecordBatch` calls as Firehose allows, the entries it refuses sent again.
//!
//! Firehose has no idempotent put: a batch forwarded again after a crash (between the put and
//! the consumer's checkpoint) is stored again. The sink is at-least-once, and the consumer
//! counts what it left unacknowledged so that a judge can bound the copies.

use std::sync::atomic::Ordering;

use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::Record;

use super::stats::BridgeStats;
use crate::aws::{AwsError, Clients};
use crate::error::{Error, Result};
use crate::resend::{self, Tried};
use crate::retry::Backoff;

/// Records per `PutRecordBatch` call, Firehose's limit.
pub const MAX_RECORDS: usize = 500;
/// Bytes per `PutRecordBatch` call, Firehose's limit (4 MiB).
pub const MAX_CALL_BYTES: usize = 4 * 1024 * 1024;
/// Bytes per record, Firehose's limit (1,000 KiB).
pub const MAX_RECORD_BYTES: usize = 1_000 * 1024;

/// Splits lines into calls of at most [`MAX_RECORDS`] records and [`MAX_CALL_BYTES`] bytes, in
/// order.
///
/// # Errors
/// A line longer than [`MAX_RECORD_BYTES`]: Firehose would refuse it, every time.
pub fn calls(lines: Vec<Vec<u8>>) -> Result<Vec<Vec<Vec<u8>>>> {
    let mut calls = Vec::new();
    let (mut current, mut bytes) = (Vec::new(), 0usize);
    for line in lines {
        if line.len() > MAX_RECORD_BYTES {
            return Err(Error::Stage(format!(
                "firehose: a record of {} bytes is over Firehose's {MAX_RECORD_BYTES}-byte limit",
                line.len()
            )));
        }
        if current.len() == MAX_RECORDS || bytes + line.len() > MAX_CALL_BYTES {
            calls.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += line.len();
        current.push(line);
    }
    if !current.is_empty() {
        calls.push(current);
    }
    Ok(calls)
}

/// Each user record as a line: its bytes and a newline.
pub fn lines(users: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    users
        .into_iter()
        .map(|mut user| {
            user.push(b'\n');
            user
        })
        .collect()
}

/// Sends every line to `delivery_stream`, call after call, each retried until Firehose has
/// taken all its entries.
///
/// # Errors
/// `PutRecordBatch` failing through the retries, or entries still refused after them.
pub async fn forward(
    clients: &Clients,
    delivery_stream: &str,
    users: Vec<Vec<u8>>,
    backoff: Backoff,
    stats: &BridgeStats,
) -> Result<()> {
    for call in calls(lines(users))? {
        put_batch(clients, delivery_stream, call, backoff, stats).await?;
    }
    Ok(())
}

/// One `PutRecordBatch`, retrying the entries Firehose answered with an error code.
async fn put_batch(
    clients: &Clients,
    delivery_stream: &str,
    lines: Vec<Vec<u8>>,
    backoff: Backoff,
    stats: &BridgeStats,
) -> Result<()> {
    let events = lines.len() as u64;
    let pending: Vec<Blob> = lines.into_iter().map(Blob::new).collect();
    let put = |pending: Vec<Blob>| async move {
        let records: Vec<Record> = pending
            .iter()
            .map(|data| {
                Record::builder()
                    .data(data.clone())
                    .build()
                    .expect("data is set")
            })
            .collect();
        stats.calls.fetch_add(1, Ordering::Relaxed);
        let sent = clients
            .firehose
            .put_record_batch()
            .delivery_stream_name(delivery_stream)
            .set_records(Some(records))
            .send()
            .await;
        let out = match sent {
            Ok(out) => out,
            Err(e) => {
                let error = AwsError::of("firehose", "PutRecordBatch")(e);
                let throttled = false;
                return Ok(Tried::Failed {
                    pending,
                    error,
                    throttled,
                });
            }
        };
        stats.messages.fetch_add(1, Ordering::Relaxed);
        if out.failed_put_count() == 0 {
            return Ok(Tried::Refused(Vec::new()));
        }
        let answers = out.request_responses();
        if answers.len() != pending.len() {
            return Err(Error::Stage(format!(
                "firehose: PutRecordBatch answered {} entries for {} records",
                answers.len(),
                pending.len()
            )));
        }
        Ok(Tried::Refused(
            pending
                .into_iter()
                .zip(answers)
                .filter(|(_, answer)| answer.error_code().is_some())
                .map(|(data, _)| data)
                .collect(),
        ))
    };
    let gave_up = |n, tries| format!("firehose: {n} records still refused after {tries} attempts");
    resend::until_taken(backoff, pending, put, |a| stats.retried(a), gave_up).await?;
    stats.user_records.fetch_add(events, Ordering::Relaxed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_record_becomes_a_line() {
        assert_eq!(
            lines(vec![b"{}".to_vec(), b"[1]".to_vec()]),
            [b"{}\n".to_vec(), b"[1]\n".to_vec()]
        );
    }

    #[test]
    fn a_record_over_firehose_s_limit_is_refused_with_its_size() {
        let error = calls(vec![vec![b'x'; MAX_RECORD_BYTES + 1]]).unwrap_err();
        assert!(error.to_string().contains("1024001 bytes"), "{error}");
    }

    #[test]
    fn a_full_call_starts_the_next() {
        let split = calls(vec![vec![b'x'; 10]; MAX_RECORDS + 1]).unwrap();
        assert_eq!(
            split.iter().map(Vec::len).collect::<Vec<_>>(),
            [MAX_RECORDS, 1]
        );
        let big = vec![b'x'; MAX_RECORD_BYTES];
        let split = calls(vec![big; 5]).unwrap();
        assert_eq!(split.iter().map(Vec::len).collect::<Vec<_>>(), [4, 1]);
    }

    proptest! {
        #[test]
        fn calls_keep_every_line_in_order_within_the_limits(
            sizes in proptest::collection::vec(0usize..300_000, 0..40)
        ) {
            let lines: Vec<Vec<u8>> = sizes
                .iter()
                .enumerate()
                .map(|(i, n)| vec![i as u8; *n])
                .collect();
            let split = calls(lines.clone()).unwrap();
            for call in &split {
                prop_assert!(!call.is_empty() && call.len() <= MAX_RECORDS);
                prop_assert!(call.iter().map(Vec::len).sum::<usize>() <= MAX_CALL_BYTES);
            }
            prop_assert_eq!(split.concat(), lines);
        }
    }
}
