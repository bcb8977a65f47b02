//! What a topic announced through S3: each object its deliveries name, with the object's body.
//!
//! Reading back announcements made as objects created once (the batch run status, the price
//! files' alerts, see `tickflow_pipeline::notify::announce`): every message a queue subscribed to
//! the topic holds, each S3 notification's objects read from the bucket, S3's set-up test
//! events counted apart, S3's own duplicate deliveries (the same notification, byte for byte: S3
//! delivers at least once, and subscribers drop the repeat) counted apart, and every other
//! message kept as it came (it is not an announcement, and judges count it against the run).

use std::time::Duration;

use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::s3_event::{self, Notice};

use super::queues::{deliveries, peek_all, settle};
use crate::error::Result;

/// Longest a queue read may take.
const READ_LIMIT: Duration = Duration::from_secs(20);

/// One announcement delivered: the object S3 said was created, and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announced {
    /// The object's key.
    pub key: String,
    /// Its body; `None` when it is gone (an announcement of nothing).
    pub body: Option<Vec<u8>>,
}

/// What a subscribed queue held.
#[derive(Debug, Default)]
pub struct Announcements {
    /// Each creation announced, once (a key written twice is here twice).
    pub announced: Vec<Announced>,
    /// Deliveries of a notification delivered before (the same message, byte for byte: the
    /// same write's request, time and key): S3's at-least-once delivery, not a second
    /// announcement. Not told apart by S3's sequencer, which LocalStack gives every write alike.
    pub repeated: usize,
    /// S3's `s3:TestEvent` deliveries (sent when the notification was configured).
    pub test_events: usize,
    /// Messages that are not S3 notifications, as they came.
    pub strays: Vec<String>,
}

/// The announcements on `queue_url` of objects in `bucket`, waiting up to `wait` for at least
/// `expected` messages, and leaving the queue as it was.
///
/// # Errors
/// A failing SQS or S3 call.
pub async fn announcements(
    clients: &Clients,
    queue_url: &str,
    bucket: &str,
    expected: u64,
    wait: Duration,
) -> Result<Announcements> {
    settle(clients, queue_url, expected, wait).await;
    let linger = wait.min(Duration::from_secs(1));
    let peeked = peek_all(clients, queue_url, READ_LIMIT.max(wait * 2), linger).await?;
    let mut found = Announcements::default();
    let mut seen = std::collections::HashSet::new();
    for delivery in deliveries(&peeked.bodies()) {
        let notices = s3_event::parse(&delivery.message);
        if notices.is_empty() {
            found.strays.push(delivery.message);
            continue;
        }
        if !seen.insert(delivery.message) {
            found.repeated += 1;
            continue;
        }
        for notice in notices {
            match notice {
                Notice::Test => found.test_events += 1,
                Notice::Created { key, .. } => {
                    let body = read(clients, bucket, &key).await?;
                    found.announced.push(Announced { key, body });
                }
            }
        }
    }
    Ok(found)
}

/// The body of `key`, `None` when it is gone.
async fn read(clients: &Clients, bucket: &str, key: &str) -> Result<Option<Vec<u8>>> {
    match clients.get_object(bucket, key).await {
        Ok((_, body)) => Ok(Some(body)),
        Err(e) if e.message.contains("NoSuchKey") => Ok(None),
        Err(e) => Err(e.into()),
    }
}
