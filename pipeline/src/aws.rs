//! The SDK clients every stage shares, and the error naming the call that failed.
//!
//! The AWS SDK clients every stage uses, built once from one `SdkConfig`, and the error that says
//! which service call failed.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_s3::error::ProvideErrorMetadata as _;
use aws_sdk_sqs::types::{ChangeMessageVisibilityBatchRequestEntry, QueueAttributeName};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use crate::calls::{CallCounter, CallStats};
use crate::chaos::{Chaos, FaultInterceptor, FaultyHttpClient, Service};
use crate::metrics::Metrics;

/// One client per service the pipeline talks to. Cheap to clone (each is an `Arc` inside).
#[derive(Debug, Clone)]
pub struct Clients {
    /// Market data enters here.
    pub kinesis: aws_sdk_kinesis::Client,
    /// The bridge feeds the processor through SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// The data lake.
    pub s3: aws_sdk_s3::Client,
    /// Notifications: new data, price alerts, run status.
    pub sns: aws_sdk_sns::Client,
    /// The fan-out consumer's delivery stream.
    pub firehose: aws_sdk_firehose::Client,
    /// Metrics and alarms (the stages' metrics are published through it, never faulted).
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// Where the stages record their metrics: off unless the run asked for them.
    pub metrics: Metrics,
    /// Attempts per service, counted by an interceptor on each client.
    pub calls: Arc<CallStats>,
    /// What the clients were built from, to build faulty ones beside them.
    config: aws_config::SdkConfig,
}

impl Clients {
    /// Builds the clients from a shared configuration. S3 uses path-style addressing, which
    /// LocalStack and any custom endpoint need (virtual-host style would put the bucket in DNS).
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self::build(config, Arc::new(CallStats::default()), None)
    }

    /// Clients like these whose calls suffer `chaos`'s fault schedule, for the stages of a run
    /// (the harness keeps the healthy ones to provision and judge). Calls are counted with
    /// these clients' counters.
    pub fn with_chaos(&self, chaos: Arc<Chaos>) -> Self {
        Self {
            metrics: self.metrics.clone(),
            ..Self::build(&self.config, self.calls.clone(), Some(chaos))
        }
    }

    /// Whether these clients talk to AWS itself (no endpoint override), where the services
    /// publish their own metrics.
    pub fn on_aws(&self) -> bool {
        self.config.endpoint_url().is_none()
    }

    /// These clients, whose stages record their metrics into `metrics`.
    pub fn with_metrics(&self, metrics: Metrics) -> Self {
        Self {
            metrics,
            ..self.clone()
        }
    }

    /// [`Clients::with_chaos`] when there is a schedule, else these clients as they are.
    pub fn faulted_by(&self, chaos: Option<&Arc<Chaos>>) -> Self {
        match chaos {
            Some(chaos) => self.with_chaos(chaos.clone()),
            None => self.clone(),
        }
    }

    fn build(
        config: &aws_config::SdkConfig,
        calls: Arc<CallStats>,
        chaos: Option<Arc<Chaos>>,
    ) -> Self {
        let counter = |service| CallCounter::new(service, calls.clone());
        let faults = |service| chaos.clone().map(|c| FaultInterceptor::new(service, c));
        let http = chaos.is_some().then(|| {
            // The SDK's own default when the configuration names none (hyper 1, rustls).
            let inner = config.http_client().unwrap_or_else(|| {
                aws_smithy_http_client::Builder::new()
                    .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                        aws_smithy_http_client::tls::rustls_provider::CryptoMode::AwsLc,
                    ))
                    .build_https()
            });
            SharedHttpClient::new(FaultyHttpClient::new(inner))
        });
        let mut kinesis =
            aws_sdk_kinesis::config::Builder::from(config).interceptor(counter("kinesis"));
        let mut sqs = aws_sdk_sqs::config::Builder::from(config).interceptor(counter("sqs"));
        let mut s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .interceptor(counter("s3"));
        let mut sns = aws_sdk_sns::config::Builder::from(config).interceptor(counter("sns"));
        let mut firehose =
            aws_sdk_firehose::config::Builder::from(config).interceptor(counter("firehose"));
        if let Some(http) = http {
            kinesis = kinesis.http_client(http.clone());
            sqs = sqs.http_client(http.clone());
            s3 = s3.http_client(http.clone());
            sns = sns.http_client(http.clone());
            firehose = firehose.http_client(http);
        }
        if let Some(i) = faults(Service::Kinesis) {
            kinesis = kinesis.interceptor(i);
        }
        if let Some(i) = faults(Service::Sqs) {
            sqs = sqs.interceptor(i);
        }
        if let Some(i) = faults(Service::S3) {
            s3 = s3.interceptor(i);
        }
        if let Some(i) = faults(Service::Sns) {
            sns = sns.interceptor(i);
        }
        if let Some(i) = faults(Service::Firehose) {
            firehose = firehose.interceptor(i);
        }
        Self {
            kinesis: aws_sdk_kinesis::Client::from_conf(kinesis.build()),
            sqs: aws_sdk_sqs::Client::from_conf(sqs.build()),
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            sns: aws_sdk_sns::Client::from_conf(sns.build()),
            firehose: aws_sdk_firehose::Client::from_conf(firehose.build()),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            metrics: Metrics::default(),
            calls,
            config: config.clone(),
        }
    }
}

impl Clients {
    /// Every shard of `stream` (all `ListShards` pages), for the producer's routing and the
    /// bridge's readers.
    ///
    /// # Errors
    /// The `ListShards` call failing, e.g. for a stream that does not exist.
    pub async fn shards(
        &self,
        stream: &str,
    ) -> Result<Vec<aws_sdk_kinesis::types::Shard>, AwsError> {
        let mut shards = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let request = self.kinesis.list_shards();
            let request = match &token {
                Some(t) => request.next_token(t),
                None => request.stream_name(stream),
            };
            let out = request
                .send()
                .await
                .map_err(AwsError::of("kinesis", "ListShards"))?;
            token = out.next_token().map(str::to_string);
            shards.extend(out.shards.unwrap_or_default());
            if token.is_none() {
                return Ok(shards);
            }
        }
    }

    /// An iterator at the start of `shard` of `stream` (`TRIM_HORIZON`): for a reader of
    /// everything the shard holds (the ceiling's, `doctor`'s, the judge's read-back).
    ///
    /// # Errors
    /// The `GetShardIterator` call failing.
    pub async fn trim_horizon(
        &self,
        stream: &str,
        shard: &str,
    ) -> Result<Option<String>, AwsError> {
        let out = self
            .kinesis
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(shard)
            .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
            .send()
            .await
            .map_err(AwsError::of("kinesis", "GetShardIterator"))?;
        Ok(out.shard_iterator)
    }

    /// The `names` attributes of the queue at `url` (absent ones are missing from the map), for
    /// the bridge's message size, the topology's queue ARNs and every depth check.
    ///
    /// # Errors
    /// The `GetQueueAttributes` call failing.
    pub async fn queue_attributes(
        &self,
        url: &str,
        names: &[QueueAttributeName],
    ) -> Result<HashMap<QueueAttributeName, String>, AwsError> {
        let out = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .set_attribute_names(Some(names.to_vec()))
            .send()
            .await
            .map_err(AwsError::of("sqs", "GetQueueAttributes"))?;
        Ok(out.attributes.unwrap_or_default())
    }

    /// Every object key in `bucket` (all `ListObjectsV2` pages); `None` when the bucket does not
    /// exist (teardown finds nothing to do then, a reader reports it).
    ///
    /// # Errors
    /// The `ListObjectsV2` call failing otherwise.
    pub async fn object_keys(&self, bucket: &str) -> Result<Option<Vec<String>>, AwsError> {
        self.object_keys_under(bucket, "").await
    }

    /// Every key under `prefix` in `bucket` (all `ListObjectsV2` pages); `None` when the bucket
    /// does not exist.
    ///
    /// # Errors
    /// A failing `ListObjectsV2` call.
    pub async fn object_keys_under(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Option<Vec<String>>, AwsError> {
        let objects = self.objects_under(bucket, prefix).await?;
        Ok(objects.map(|objects| objects.into_iter().map(|(key, _)| key).collect()))
    }

    /// Every object under `prefix` in `bucket` as (key, size in bytes), from the listing alone;
    /// `None` when the bucket does not exist.
    ///
    /// # Errors
    /// A failing `ListObjectsV2` call.
    pub async fn objects_under(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Option<Vec<(String, u64)>>, AwsError> {
        let mut objects = Vec::new();
        let mut token = None;
        loop {
            let page = match self
                .s3
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .await
            {
                Ok(page) => page,
                Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_bucket()) => {
                    return Ok(None)
                }
                Err(e) => return Err(AwsError::of("s3", "ListObjectsV2")(e)),
            };
            objects.extend(page.contents().iter().filter_map(|o| {
                let size = o.size().unwrap_or(0).max(0) as u64;
                o.key().map(|key| (key.to_string(), size))
            }));
            token = page.next_continuation_token().map(str::to_string);
            if token.is_none() {
                return Ok(Some(objects));
            }
        }
    }

    /// Sets the visibility timeout of received messages, by receipt handle, ten to a
    /// `ChangeMessageVisibilityBatch` call. Every call is made even when one fails.
    ///
    /// # Errors
    /// The first call that failed.
    pub async fn set_visibility(
        &self,
        queue_url: &str,
        receipts: &[&str],
        secs: i32,
    ) -> Result<(), AwsError> {
        let mut first_error = None;
        for chunk in receipts.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, receipt)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(*receipt)
                        .visibility_timeout(secs)
                        .build()
                        .ok()
                })
                .collect();
            let sent = self
                .sqs
                .change_message_visibility_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await;
            if let Err(e) = sent {
                first_error.get_or_insert(AwsError::of("sqs", "ChangeMessageVisibilityBatch")(e));
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// One object's answer with its body still streaming: what readers of large objects (and of
    /// the ETag) start from.
    ///
    /// # Errors
    /// The `GetObject` call failing.
    pub async fn open_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, AwsError> {
        self.s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(AwsError::of("s3", "GetObject"))
    }

    /// Creates the object at `key` only if there is none (`If-None-Match: *`): `true` when
    /// this call created it, `false` when it was there already (a retry after a lost answer, or
    /// a second writer). What makes markers and notified objects exactly-once.
    ///
    /// # Errors
    /// The `PutObject` call failing otherwise.
    pub async fn create_object(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
    ) -> Result<bool, AwsError> {
        let put = self
            .s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .if_none_match("*")
            .body(body.into())
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("PreconditionFailed") => Ok(false),
            Err(e) => Err(AwsError::of("s3", "PutObject")(e)),
        }
    }

    /// Claims `key` by creating it with `body` only if there is none (`If-None-Match: *`).
    ///
    /// `body` must be this claimer's own (carry a token no other claimer writes): a create
    /// whose answer was lost took effect, and the SDK's retry then meets the object its own
    /// first attempt made; that object holds exactly `body`, so it is recognised as this
    /// claimer's, never read as another's claim (which would skip a batch day's run or an
    /// alert for good). A claim its holder gave up (deleted) meanwhile is
    /// tried again.
    ///
    /// # Errors
    /// A `PutObject` or `GetObject` call failing otherwise.
    pub async fn claim(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<Claim, AwsError> {
        const TRIES: usize = 3;
        for _ in 0..TRIES {
            if self.create_object(bucket, key, body.clone()).await? {
                return Ok(Claim::Won);
            }
            let held = match self.s3.get_object().bucket(bucket).key(key).send().await {
                Ok(out) => out.body.collect().await,
                Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => continue,
                Err(e) => return Err(AwsError::of("s3", "GetObject")(e)),
            };
            let held = held.map_err(AwsError::of("s3", "GetObject"))?.into_bytes();
            return Ok(if held.as_ref() == body.as_slice() {
                Claim::Won
            } else {
                Claim::Taken
            });
        }
        Ok(Claim::Taken)
    }

    /// The ETag of the object at `key`, `None` when there is none: how a writer whose answer
    /// was lost learns whether its `PutObject` took effect.
    ///
    /// # Errors
    /// The `HeadObject` call failing otherwise.
    pub async fn object_etag(&self, bucket: &str, key: &str) -> Result<Option<String>, AwsError> {
        match self.s3.head_object().bucket(bucket).key(key).send().await {
            Ok(out) => Ok(Some(out.e_tag().unwrap_or_default().to_string())),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(e) => Err(AwsError::of("s3", "HeadObject")(e)),
        }
    }

    /// One object's user metadata and whole body.
    ///
    /// # Errors
    /// The `GetObject` call, or reading its body, failing.
    pub async fn get_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<(HashMap<String, String>, Vec<u8>), AwsError> {
        let out = self.open_object(bucket, key).await?;
        let metadata = out.metadata().cloned().unwrap_or_default();
        let body = out
            .body
            .collect()
            .await
            .map_err(AwsError::of("s3", "GetObject"))?
            .into_bytes()
            .to_vec();
        Ok((metadata, body))
    }
}

/// What a [`Clients::claim`] came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This claimer holds it (its create took effect, answered or not).
    Won,
    /// Another claimer holds it.
    Taken,
}

#[cfg(test)]
impl Clients {
    /// Clients for an endpoint nobody listens on, without the SDK's own retries: every call
    /// fails at once (or gets only what a fault layer answers).
    pub(crate) async fn unreachable() -> Self {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .load()
            .await;
        Self::new(&config)
    }
}

/// A failed AWS call: which service, which operation and the SDK's full error chain.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{service} {operation} failed: {message}")]
pub struct AwsError {
    /// `kinesis`, `sqs`, `s3` or `sns`.
    pub service: &'static str,
    /// The API operation, e.g. `PutRecords`.
    pub operation: &'static str,
    /// The SDK error with its sources (the bare SDK `Display` says only "service error").
    pub message: String,
}

impl AwsError {
    /// Wraps an SDK error; use as `.map_err(AwsError::of("sqs", "SendMessageBatch"))`.
    pub fn of<E: std::error::Error>(
        service: &'static str,
        operation: &'static str,
    ) -> impl FnOnce(E) -> AwsError {
        move |e| AwsError {
            service,
            operation,
            message: chain(&e),
        }
    }
}

/// An error and its sources, each by its `Display`, joined by `: ` on one line: what went wrong
/// without the SDK's `Debug` dump of the whole response (which `DisplayErrorContext` appends).
fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let text = e.to_string();
        let part = metadata_message(&text).unwrap_or(&text);
        if !part.is_empty() && !message.ends_with(part) {
            message.push_str(": ");
            message.push_str(part);
        }
        source = e.source();
    }
    message
}

/// The message of the SDK's error metadata, whose `Display` is its whole `Debug` form
/// (`Error { code: "..", message: "..", aws_request_id: ".." }`); `None` for any other text.
/// The code is already in the text before it (`unhandled error (MalformedXML)`).
fn metadata_message(text: &str) -> Option<&str> {
    let fields = text.strip_prefix("Error {")?;
    let Some(start) = fields.find("message: \"") else {
        return Some("");
    };
    let rest = &fields[start + "message: \"".len()..];
    Some(rest.split_once('"').map_or(rest, |(message, _)| message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdk_s_error_metadata_becomes_its_message() {
        let dump = r#"Error { code: "MalformedXML", message: "The XML was not well-formed", aws_request_id: "Np7O" }"#;
        assert_eq!(metadata_message(dump), Some("The XML was not well-formed"));
        assert_eq!(
            metadata_message(r#"Error { code: "Throttling", aws_request_id: "x" }"#),
            Some("")
        );
        assert_eq!(metadata_message("connection refused"), None);
    }
}
