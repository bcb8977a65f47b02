//! The pipeline's AWS resources as a value: provisioned idempotently, torn down completely.
//!
//! Every name carries the run id, so runs and tests share one LocalStack without seeing each
//! other's resources.

use std::time::Duration;

use aws_sdk_kinesis::types::StreamStatus;
use aws_sdk_sqs::types::QueueAttributeName;
use serde::Serialize;
use tickflow_pipeline::aws::{AwsError, Clients};
use tickflow_pipeline::resources::{Resources, Topics};
use tickflow_pipeline::retry::{Attempts, Backoff};

use crate::error::Result;
use crate::flows::stream::resources::delivery::{self, Buffering};
use crate::infra::topology::{
    delete_all, ensure_bucket, ensure_queue, ensure_topic, left_behind, new_run_id, notify_topic,
    queue_arn, subscribe_queue, KeyFilter,
};
use crate::runtime::wait;

/// Default shard count (as in the seeds).
pub const DEFAULT_SHARDS: i32 = 2;
/// Default receives before a message moves to the DLQ.
pub const DEFAULT_MAX_RECEIVE_COUNT: u32 = 3;
/// Default SQS visibility timeout in seconds.
pub const DEFAULT_VISIBILITY_TIMEOUT_SECS: u32 = 30;

/// What to provision for one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Topology {
    /// Unique per run; part of every resource name.
    pub run_id: String,
    /// Kinesis shard count.
    pub shards: i32,
    /// Redrive policy: receives before a message is dead-lettered.
    pub max_receive_count: u32,
    /// Main queue visibility timeout.
    pub visibility_timeout_secs: u32,
    /// A Firehose delivery stream to the state bucket, with these buffering hints (for the
    /// `firehose` consumer); `None` makes none.
    pub firehose: Option<Buffering>,
    /// A stream that exists already (filled by another producer): read, never created nor
    /// deleted. `None` creates the run's own.
    pub existing_stream: Option<String>,
}

/// SQS queues subscribed to each SNS topic, so that deliveries can be counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subscriptions {
    /// Receives the new-data topic.
    pub new_data: String,
    /// Receives the price-alert topic.
    pub price_alert: String,
    /// Receives the run-status topic.
    pub run_status: String,
}

/// A provisioned topology: the pipeline's resources plus the harness's observation queues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provisioned {
    /// What the pipeline is wired to.
    pub resources: Resources,
    /// Where SNS deliveries land.
    pub subscriptions: Subscriptions,
}

/// The run's topics, by what they carry; each has a queue subscribed, `sub-<topic>`.
const TOPICS: [&str; 3] = ["new-data", "price-alert", "run-status"];

impl Topology {
    /// A topology with a fresh run id and default settings.
    pub fn new() -> Self {
        Self::with_run_id(new_run_id())
    }

    /// A topology with the given run id and default settings.
    pub fn with_run_id(run_id: impl Into<String>) -> Self {
        Self {
            run_id: run_id.into(),
            shards: DEFAULT_SHARDS,
            max_receive_count: DEFAULT_MAX_RECEIVE_COUNT,
            visibility_timeout_secs: DEFAULT_VISIBILITY_TIMEOUT_SECS,
            firehose: None,
            existing_stream: None,
        }
    }

    /// The name of a resource of this run: `tickflow-<run>-<what>` (valid for every service).
    pub fn name(&self, what: &str) -> String {
        format!("tickflow-{}-{what}", self.run_id)
    }

    /// Creates every resource, or finds it already there; waits until the stream is ACTIVE.
    /// When a step fails, what was made is deleted again before the error is returned.
    ///
    /// # Errors
    /// The first AWS call that fails, naming service and operation.
    pub async fn provision(&self, clients: &Clients) -> Result<Provisioned> {
        match self.provision_all(clients).await {
            Ok(provisioned) => Ok(provisioned),
            Err(e) => {
                if let Err(left) = self.sweep(clients).await {
                    tracing::warn!(error = %left, "a failed provisioning left resources behind");
                }
                Err(e)
            }
        }
    }

    async fn provision_all(&self, clients: &Clients) -> Result<Provisioned> {
        let stream = match &self.existing_stream {
            Some(existing) => existing.clone(),
            None => {
                let stream = self.name("events");
                ensure_stream(clients, &stream, self.shards).await?;
                stream
            }
        };

        let dlq_url = ensure_queue(clients, &self.name("dlq"), vec![]).await?;
        let dlq_arn = queue_arn(clients, &dlq_url).await?;
        let redrive = serde_json::json!({
            "deadLetterTargetArn": dlq_arn,
            "maxReceiveCount": self.max_receive_count.to_string(),
        });
        let queue_url = ensure_queue(
            clients,
            &self.name("queue"),
            vec![
                (QueueAttributeName::RedrivePolicy, redrive.to_string()),
                (
                    QueueAttributeName::VisibilityTimeout,
                    self.visibility_timeout_secs.to_string(),
                ),
            ],
        )
        .await?;

        let bucket = self.name("lake");
        ensure_bucket(clients, &bucket).await?;
        let state_bucket = self.name("state");
        ensure_bucket(clients, &state_bucket).await?;

        let mut topic_arns = Vec::new();
        let mut sub_urls = Vec::new();
        for kind in TOPICS {
            let topic = ensure_topic(clients, &self.name(kind)).await?;
            let sub_url = ensure_queue(clients, &self.name(&format!("sub-{kind}")), vec![]).await?;
            subscribe_queue(clients, &topic, &sub_url).await?;
            topic_arns.push(topic);
            sub_urls.push(sub_url);
        }
        let [new_data, price_alert, run_status] =
            <[String; 3]>::try_from(topic_arns).expect("three topics were created");
        let [sub_new, sub_alert, sub_status] =
            <[String; 3]>::try_from(sub_urls).expect("three subscription queues were created");
        // New data and alerts are announced by S3, once per object created: every object of
        // the lake, and the alert objects of the state bucket.
        notify_topic(clients, &bucket, &new_data, &KeyFilter::default()).await?;
        let alerts = KeyFilter {
            prefix: Some(tickflow_pipeline::notify::outbox::ALERTS.into()),
            suffix: None,
        };
        notify_topic(clients, &state_bucket, &price_alert, &alerts).await?;

        let delivery_stream = match self.firehose {
            Some(buffering) => {
                let name = self.name("firehose");
                // Boxed: the Firehose SDK's futures are large, and this one is rarely taken.
                Box::pin(delivery::ensure(clients, &name, &state_bucket, buffering)).await?;
                Some(name)
            }
            None => None,
        };
        wait_stream_active(clients, &stream).await?;
        Ok(Provisioned {
            resources: Resources {
                stream,
                queue_url,
                dlq_url,
                bucket,
                state_bucket,
                topics: Topics {
                    new_data,
                    price_alert,
                    run_status,
                },
                delivery_stream,
                function: self.name("processor"),
                web: self.name("web"),
            },
            subscriptions: Subscriptions {
                new_data: sub_new,
                price_alert: sub_alert,
                run_status: sub_status,
            },
        })
    }

    /// Deletes everything [`provision`](Self::provision) made (the buckets with their objects),
    /// every deletion tried whatever the others did. Resources already gone are fine.
    ///
    /// # Errors
    /// Every deletion that failed for another reason, together.
    pub async fn teardown(&self, clients: &Clients, provisioned: &Provisioned) -> Result<()> {
        let r = &provisioned.resources;
        let s = &provisioned.subscriptions;
        let mut problems: Vec<String> = Vec::new();
        if self.existing_stream.is_none() {
            problems.extend(delete_stream(clients, &r.stream).await.err());
        }
        if let Some(name) = &r.delivery_stream {
            problems.extend(delivery::delete(clients, name).await.err());
        }
        problems.extend(
            delete_all(
                clients,
                &[&r.bucket, &r.state_bucket],
                &[
                    &r.queue_url,
                    &r.dlq_url,
                    &s.new_data,
                    &s.price_alert,
                    &s.run_status,
                ],
                &[
                    &r.topics.new_data,
                    &r.topics.price_alert,
                    &r.topics.run_status,
                ],
            )
            .await,
        );
        left_behind(problems)
    }

    /// Deletes whatever of this run's resources exist, found by name: what a provisioning
    /// that failed half-way leaves (nothing is left behind to cost money on AWS).
    async fn sweep(&self, clients: &Clients) -> Result<()> {
        let mut problems: Vec<String> = Vec::new();
        if self.existing_stream.is_none() {
            problems.extend(delete_stream(clients, &self.name("events")).await.err());
        }
        if self.firehose.is_some() {
            problems.extend(
                delivery::delete(clients, &self.name("firehose"))
                    .await
                    .err(),
            );
        }
        let subscriptions = TOPICS.map(|kind| format!("sub-{kind}"));
        let mut queues = Vec::new();
        for kind in ["queue", "dlq"]
            .into_iter()
            .chain(subscriptions.iter().map(String::as_str))
        {
            let found = clients
                .sqs
                .get_queue_url()
                .queue_name(self.name(kind))
                .send()
                .await;
            if let Some(url) = found.ok().and_then(|q| q.queue_url) {
                queues.push(url);
            }
        }
        let ours = TOPICS.map(|kind| format!(":{}", self.name(kind)));
        let mut topics = Vec::new();
        let mut pages = clients.sns.list_topics().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(AwsError::of("sns", "ListTopics"))?;
            topics.extend(
                page.topics()
                    .iter()
                    .filter_map(|t| t.topic_arn())
                    .filter(|arn| ours.iter().any(|o| arn.ends_with(o.as_str())))
                    .map(str::to_string),
            );
        }
        let (lake, state) = (self.name("lake"), self.name("state"));
        let queues: Vec<&str> = queues.iter().map(String::as_str).collect();
        let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
        problems.extend(delete_all(clients, &[&lake, &state], &queues, &topics).await);
        left_behind(problems)
    }
}

impl Default for Topology {
    fn default() -> Self {
        Self::new()
    }
}

/// Creates the stream, or finds it there. LocalStack starts its Kinesis backend (kinesis-mock)
/// on the first Kinesis call and answers HTTP 500 until it listens; so server errors are retried
/// with backoff (a retry that finds the stream already created is done).
async fn ensure_stream(clients: &Clients, name: &str, shards: i32) -> Result<()> {
    let mut attempts = Attempts::new(Backoff::default());
    loop {
        let error = match clients
            .kinesis
            .create_stream()
            .stream_name(name)
            .shard_count(shards)
            .send()
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        if error
            .as_service_error()
            .is_some_and(|s| s.is_resource_in_use_exception())
        {
            return Ok(());
        }
        let server_error = error
            .raw_response()
            .is_some_and(|r| r.status().is_server_error());
        if !server_error || attempts.failed().await.is_err() {
            return Err(AwsError::of("kinesis", "CreateStream")(error).into());
        }
        let attempt = attempts.failures();
        tracing::warn!(
            attempt,
            stream = name,
            "CreateStream answered a server error; retrying"
        );
    }
}

async fn wait_stream_active(clients: &Clients, name: &str) -> Result<()> {
    let what = || format!("Kinesis stream {name} to become ACTIVE");
    let every = Duration::from_millis(100);
    wait::until(what, Duration::from_secs(60), every, || async {
        let summary = clients
            .kinesis
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await
            .map_err(AwsError::of("kinesis", "DescribeStreamSummary"))?;
        Ok(summary
            .stream_description_summary()
            .is_some_and(|d| d.stream_status() == &StreamStatus::Active))
    })
    .await
}

/// Deletes a stream; one already gone is fine.
async fn delete_stream(clients: &Clients, stream: &str) -> std::result::Result<(), String> {
    match clients
        .kinesis
        .delete_stream()
        .stream_name(stream)
        .enforce_consumer_deletion(true)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(AwsError::of("kinesis", "DeleteStream")(e).to_string()),
    }
}
