//! Where AWS implementations are known to differ, probed per target.
//!
//! Where AWS implementations are known to differ, each asked of a target by a probe: the
//! README's quirks table is this one, and a parity run shows every row answered by both targets.
//! A row is never taken on recollection: when a target answers otherwise than its row says,
//! parity fails and names the row.

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use tickflow_pipeline::aws::{AwsError, Clients};
use tickflow_pipeline::s3_event::{self, Notice};

use crate::error::{Error, Result};
use crate::infra::aws::emulator::Emulator;
use crate::infra::aws::http_get;
use crate::infra::aws::Target;
use crate::infra::topology::{self, KeyFilter};
use crate::runtime::wait::{self, Look};

/// One behaviour implementations differ on, and what each is known to answer.
#[derive(Debug, Clone, Copy)]
pub struct Quirk {
    /// Short name, as parity and the README show it.
    pub id: &'static str,
    /// What the probe asks.
    pub question: &'static str,
    /// Each implementation's documented answer; one not listed is shown but not held to one.
    pub expected: &'static [(Emulator, &'static str)],
}

impl Quirk {
    /// What `emulator` is documented to answer, if anything.
    pub fn expected_of(&self, emulator: Emulator) -> Option<&'static str> {
        self.expected
            .iter()
            .find(|(e, _)| *e == emulator)
            .map(|(_, a)| *a)
    }
}

/// The answer to a question the probe could not ask (no endpoint URL on AWS).
pub const NOT_ASKED: &str = "not asked";

/// Every quirk a probe asks about.
pub const QUIRKS: &[Quirk] = &[
    Quirk {
        id: "health",
        question: "GET /_localstack/health answers",
        expected: &[
            (Emulator::LocalStack, "answers"),
            (Emulator::Moto, "absent"),
            (Emulator::Aws, NOT_ASKED),
        ],
    },
    Quirk {
        id: "test-event",
        question: "configuring an S3 notification to SQS sends an s3:TestEvent",
        expected: &[
            (Emulator::LocalStack, "sent"),
            (Emulator::Moto, "sent"),
            (Emulator::Aws, "sent"),
        ],
    },
    Quirk {
        id: "notification-in-write",
        question: "an S3 notification is in the queue when PutObject returns",
        // LocalStack 4.14.0 answered "inside the write" on every parity run here, but nothing
        // promises it: it is shown, not held.
        expected: &[
            (Emulator::Moto, "inside the write"),
            (Emulator::Aws, "after the write"),
        ],
    },
    Quirk {
        id: "empty-key-filter",
        question: "a notification whose key filter has no rules is accepted",
        expected: &[
            (Emulator::LocalStack, "accepted"),
            (Emulator::Moto, "refused"),
        ],
    },
];

/// How long a notification may take to arrive after its write.
const DELIVERY_LIMIT: Duration = Duration::from_secs(10);

/// Asks `target` every question of [`QUIRKS`], in order, with a bucket and a queue of its own
/// (both named by `run_id`, deleted afterwards).
///
/// # Errors
/// A call the probes need failing (not a quirk: a target that cannot take part), or the
/// resources not being deleted.
pub async fn probe(target: &Target, clients: &Clients, run_id: &str) -> Result<Vec<String>> {
    let health = match target {
        Target::Aws => NOT_ASKED.to_string(),
        Target::Endpoint(url) => {
            match http_get::get(url, "/_localstack/health", Duration::from_secs(5)).await {
                Ok(a) if a.ok() => "answers".into(),
                _ => "absent".into(),
            }
        }
    };
    let bucket = format!("tickflow-quirks-{run_id}");
    topology::ensure_bucket(clients, &bucket).await?;
    let url = match topology::ensure_queue(clients, &bucket, Vec::new()).await {
        Ok(url) => url,
        Err(e) => {
            let _ = topology::delete_all(clients, &[&bucket], &[], &[]).await;
            return Err(e);
        }
    };
    let answers = notification_answers(clients, &bucket, &url).await;
    topology::left_behind(topology::delete_all(clients, &[&bucket], &[&url], &[]).await)?;
    let (test_event, in_write, empty_filter) = answers?;
    Ok(vec![health, test_event, in_write, empty_filter])
}

/// The answers of the three notification questions.
async fn notification_answers(
    clients: &Clients,
    bucket: &str,
    queue_url: &str,
) -> Result<(String, String, String)> {
    let filter = KeyFilter {
        prefix: Some("in/".into()),
        suffix: None,
    };
    topology::notify_queues(clients, bucket, &[(queue_url, filter)]).await?;
    let test_event = if receive(clients, queue_url, 2)
        .await?
        .contains(&Notice::Test)
    {
        "sent"
    } else {
        "not sent"
    };
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key("in/probe.json")
        .body(ByteStream::from_static(b"{}"))
        .send()
        .await
        .map_err(AwsError::of("s3", "PutObject"))?;
    let created = |notices: &[Notice]| notices.iter().any(|n| matches!(n, Notice::Created { .. }));
    let in_write = if created(&receive(clients, queue_url, 0).await?) {
        "inside the write".to_string()
    } else {
        let arrived = wait::poll(DELIVERY_LIMIT, Duration::ZERO, || async {
            Ok(Look::from(
                created(&receive(clients, queue_url, 1).await?).then_some(()),
            ))
        })
        .await?;
        if arrived.is_ok() {
            "after the write".into()
        } else {
            format!("not within {DELIVERY_LIMIT:?}")
        }
    };
    let empty_filter = empty_filter_answer(clients, bucket, queue_url).await?;
    Ok((test_event.into(), in_write, empty_filter))
}

/// The notices of one receive (deleted as read), waiting at most `wait_secs`.
async fn receive(clients: &Clients, queue_url: &str, wait_secs: i32) -> Result<Vec<Notice>> {
    let out = clients
        .sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(wait_secs)
        .send()
        .await
        .map_err(AwsError::of("sqs", "ReceiveMessage"))?;
    let mut notices = Vec::new();
    for m in out.messages.unwrap_or_default() {
        notices.extend(s3_event::parse(m.body().unwrap_or_default()));
        if let Some(handle) = m.receipt_handle() {
            clients
                .sqs
                .delete_message()
                .queue_url(queue_url)
                .receipt_handle(handle)
                .send()
                .await
                .map_err(AwsError::of("sqs", "DeleteMessage"))?;
        }
    }
    Ok(notices)
}

/// Whether the bucket takes a queue notification whose key filter holds no rule.
async fn empty_filter_answer(clients: &Clients, bucket: &str, queue_url: &str) -> Result<String> {
    use aws_sdk_s3::types::{
        Event, NotificationConfiguration, NotificationConfigurationFilter, QueueConfiguration,
        S3KeyFilter,
    };
    let arn = topology::queue_arn(clients, queue_url).await?;
    let empty = NotificationConfigurationFilter::builder()
        .key(
            S3KeyFilter::builder()
                .set_filter_rules(Some(Vec::new()))
                .build(),
        )
        .build();
    let configuration = QueueConfiguration::builder()
        .queue_arn(arn)
        .events(Event::from("s3:ObjectCreated:*"))
        .filter(empty)
        .build()
        .map_err(|e| Error::Input(format!("notification configuration: {e}")))?;
    let answer = clients
        .s3
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(configuration)
                .build(),
        )
        .send()
        .await;
    Ok(if answer.is_ok() {
        "accepted"
    } else {
        "refused"
    }
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_quirk_has_a_distinct_id_and_documents_at_least_one_implementation() {
        let mut ids: Vec<&str> = QUIRKS.iter().map(|q| q.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), QUIRKS.len());
        assert!(QUIRKS.iter().all(|q| !q.expected.is_empty()));
        assert_eq!(
            QUIRKS[2].expected_of(Emulator::Moto),
            Some("inside the write")
        );
        assert_eq!(QUIRKS[3].expected_of(Emulator::Aws), None);
        assert_eq!(QUIRKS[2].expected_of(Emulator::LocalStack), None);
    }
}
