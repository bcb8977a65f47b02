//! Queues seen from outside: depths, and messages peeked and left.
//!
//! Queues seen from outside: depths, every message read within a time bound and left as it was
//! (so depth and contents agree and a finished run can be judged again), SNS deliveries and
//! dead-lettered records.

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use serde::Serialize;
use tickflow_pipeline::aws::{AwsError, Clients};
use tokio::time::Instant;

use crate::error::Result;
use crate::runtime::wait::{self, Look, Stillness};

/// Visible and in-flight messages of a queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueDepth {
    /// `ApproximateNumberOfMessages`.
    pub visible: u64,
    /// `ApproximateNumberOfMessagesNotVisible`.
    pub in_flight: u64,
}

impl QueueDepth {
    /// Every message the queue holds, visible or not.
    pub fn total(&self) -> u64 {
        self.visible + self.in_flight
    }
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

/// Every message of a queue, read once each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peeked {
    /// (message id, body), each message once.
    pub messages: Vec<(String, String)>,
    /// The queue's depth before reading.
    pub depth: QueueDepth,
}

impl Peeked {
    /// Whether every message the queue held was read.
    pub fn complete(&self) -> bool {
        self.messages.len() as u64 >= self.depth.total()
    }

    /// The bodies.
    pub fn bodies(&self) -> Vec<String> {
        self.messages.iter().map(|(_, b)| b.clone()).collect()
    }
}

/// Reads every message of `queue_url` and leaves the queue as it was: each message is hidden
/// for longer than the read may take (so none is read twice; ids are de-duplicated all the
/// same), then made visible again. Stops once as many distinct messages as the queue held were
/// read and a poll that waited `linger` for latecomers came back empty, after two empty polls
/// in a row, or at `limit`.
///
/// # Errors
/// A failing SQS call.
pub async fn peek_all(
    clients: &Clients,
    queue_url: &str,
    limit: Duration,
    linger: Duration,
) -> Result<Peeked> {
    let linger = i32::try_from(linger.as_secs().min(20)).unwrap_or(20);
    let depth = queue_depth(clients, queue_url).await?;
    let hide = i32::try_from(limit.as_secs() + 30)
        .unwrap_or(i32::MAX)
        .min(43_200);
    let deadline = Instant::now() + limit;
    let mut seen = HashSet::new();
    let mut peeked = Peeked {
        messages: Vec::new(),
        depth,
    };
    let mut receipts = Vec::new();
    let mut empty_polls = 0;
    while empty_polls < 2 && Instant::now() < deadline {
        let wait = match (peeked.complete(), empty_polls) {
            (true, _) => linger,
            (false, 0) => 0,
            (false, _) => 1,
        };
        let out = clients
            .sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait)
            .visibility_timeout(hide)
            .send()
            .await
            .map_err(AwsError::of("sqs", "ReceiveMessage"))?;
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            if peeked.complete() {
                break;
            }
            empty_polls += 1;
            continue;
        }
        empty_polls = 0;
        for m in messages {
            receipts.extend(m.receipt_handle().map(str::to_string));
            let id = m.message_id().unwrap_or_default().to_string();
            if seen.insert(id.clone()) {
                peeked
                    .messages
                    .push((id, m.body().unwrap_or_default().to_string()));
            }
        }
    }
    // Visible again at once: the queue is left as it was found.
    let receipts: Vec<&str> = receipts.iter().map(String::as_str).collect();
    clients.set_visibility(queue_url, &receipts, 0).await?;
    Ok(peeked)
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

/// Waits until `queue_url` holds at least `count` messages, or `limit` passes.
pub async fn wait_for_messages(clients: &Clients, queue_url: &str, count: u64, limit: Duration) {
    let every = Duration::from_millis(100);
    let _ = wait::poll(limit, every, || async {
        let depth = queue_depth(clients, queue_url).await;
        Ok(Look::from(
            depth.is_ok_and(|d| d.total() >= count).then_some(()),
        ))
    })
    .await;
}

/// How long a subscribed queue's depth must stay the same before its deliveries count as
/// settled: SNS delivers on its own time, and one delivery too many must be seen even when it
/// arrives after the expected ones.
pub const QUIET: Duration = Duration::from_secs(2);

/// Waits until `queue_url` holds at least `count` messages and then gains none for [`QUIET`],
/// or until `limit` passes (zero when judging a finished run again: nothing is on its way).
pub async fn settle(clients: &Clients, queue_url: &str, count: u64, limit: Duration) {
    let started = Instant::now();
    wait_for_messages(clients, queue_url, count, limit).await;
    let still = std::sync::Mutex::new(Stillness::new(QUIET.min(limit)));
    let left = limit.saturating_sub(started.elapsed());
    let _ = wait::poll(left, Duration::from_millis(200), || async {
        let depth = queue_depth(clients, queue_url)
            .await
            .ok()
            .map(|d| d.total());
        let mut still = still
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(Look::from(still.held(depth).then_some(())))
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completeness_compares_distinct_messages_with_the_depth() {
        let mut p = Peeked {
            messages: vec![("a".into(), "x".into())],
            depth: QueueDepth {
                visible: 1,
                in_flight: 1,
            },
        };
        assert!(!p.complete());
        p.messages.push(("b".into(), "y".into()));
        assert!(p.complete());
    }
}
