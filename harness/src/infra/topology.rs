//! The helpers every flow's topology is built from.
//!
//! The helpers every flow's topology is built from: queues, buckets, topics, S3 notifications
//! with the policies AWS needs, and deletion that tries everything and names what it left.

use aws_sdk_sqs::types::QueueAttributeName;
use tickflow_pipeline::aws::{AwsError, Clients};

use crate::error::{Error, Result};

/// A short unique run id: lowercase, so it is valid in bucket names.
pub fn new_run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// Creates queue `name` with `attributes`, or brings an existing one's attributes in line;
/// returns its URL.
pub(crate) async fn ensure_queue(
    clients: &Clients,
    name: &str,
    attributes: Vec<(QueueAttributeName, String)>,
) -> Result<String> {
    let mut request = clients.sqs.create_queue().queue_name(name);
    for (key, value) in attributes.clone() {
        request = request.attributes(key, value);
    }
    match request.send().await {
        Ok(out) => Ok(out.queue_url.unwrap_or_default()),
        // An existing queue with other attributes: look it up and bring the attributes in line.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_queue_name_exists()) =>
        {
            let url = clients
                .sqs
                .get_queue_url()
                .queue_name(name)
                .send()
                .await
                .map_err(AwsError::of("sqs", "GetQueueUrl"))?
                .queue_url
                .unwrap_or_default();
            let mut set = clients.sqs.set_queue_attributes().queue_url(&url);
            for (key, value) in attributes {
                set = set.attributes(key, value);
            }
            set.send()
                .await
                .map_err(AwsError::of("sqs", "SetQueueAttributes"))?;
            Ok(url)
        }
        Err(e) => Err(AwsError::of("sqs", "CreateQueue")(e).into()),
    }
}

/// The ARN of a queue (never parsed from the URL, whose host is LocalStack's internal name).
pub async fn queue_arn(clients: &Clients, url: &str) -> Result<String> {
    let mut attrs = clients
        .queue_attributes(url, &[QueueAttributeName::QueueArn])
        .await?;
    Ok(attrs
        .remove(&QueueAttributeName::QueueArn)
        .unwrap_or_default())
}

/// Creates `bucket`, or finds it already ours.
pub(crate) async fn ensure_bucket(clients: &Clients, bucket: &str) -> Result<()> {
    match clients.s3.create_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()
            }) =>
        {
            Ok(())
        }
        Err(e) => Err(AwsError::of("s3", "CreateBucket")(e).into()),
    }
}

/// Creates topic `name` (idempotent in SNS); returns its ARN.
pub(crate) async fn ensure_topic(clients: &Clients, name: &str) -> Result<String> {
    let out = clients
        .sns
        .create_topic()
        .name(name)
        .send()
        .await
        .map_err(AwsError::of("sns", "CreateTopic"))?;
    Ok(out.topic_arn.unwrap_or_default())
}

/// Subscribes a queue to a topic, with the queue policy real SQS needs to accept SNS messages.
pub(crate) async fn subscribe_queue(
    clients: &Clients,
    topic_arn: &str,
    queue_url: &str,
) -> Result<()> {
    let arn = queue_arn(clients, queue_url).await?;
    allow_sends(clients, queue_url, &arn, "sns.amazonaws.com", topic_arn).await?;
    clients
        .sns
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(arn)
        .send()
        .await
        .map_err(AwsError::of("sns", "Subscribe"))?;
    Ok(())
}

/// Deletes every object of `bucket`, then the bucket; a bucket already gone is fine.
pub(crate) async fn empty_and_delete_bucket(clients: &Clients, bucket: &str) -> Result<()> {
    let Some(keys) = clients.object_keys(bucket).await? else {
        return Ok(()); // already gone
    };
    // DeleteObjects takes at most 1,000 keys, a ListObjectsV2 page's worth.
    for chunk in keys.chunks(1_000) {
        let ids: Vec<_> = chunk
            .iter()
            .filter_map(|k| {
                aws_sdk_s3::types::ObjectIdentifier::builder()
                    .key(k)
                    .build()
                    .ok()
            })
            .collect();
        let delete = aws_sdk_s3::types::Delete::builder()
            .set_objects(Some(ids))
            .quiet(true)
            .build()
            .map_err(|e| AwsError::of("s3", "DeleteObjects")(e))?;
        clients
            .s3
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(AwsError::of("s3", "DeleteObjects"))?;
    }
    clients
        .s3
        .delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .map_err(AwsError::of("s3", "DeleteBucket"))?;
    Ok(())
}

/// The resource policy that lets `service` do `action` on `resource` on behalf of `source_arn`
/// only: what AWS requires before S3 or SNS may deliver to a queue or a topic.
fn allow_service(
    service: &str,
    action: &str,
    resource: &str,
    source_arn: &str,
) -> serde_json::Value {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": action,
            "Resource": resource,
            "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}}
        }]
    })
}

/// Lets `service` (`sns.amazonaws.com`, `s3.amazonaws.com`) send to the queue on behalf of
/// `source_arn` only: AWS refuses the deliveries without this policy (LocalStack does not check).
async fn allow_sends(
    clients: &Clients,
    queue_url: &str,
    queue_arn: &str,
    service: &str,
    source_arn: &str,
) -> Result<()> {
    let policy = allow_service(service, "sqs:SendMessage", queue_arn, source_arn);
    clients
        .sqs
        .set_queue_attributes()
        .queue_url(queue_url)
        .attributes(QueueAttributeName::Policy, policy.to_string())
        .send()
        .await
        .map_err(AwsError::of("sqs", "SetQueueAttributes"))?;
    Ok(())
}

/// Which created objects an S3 notification delivers: literal key prefix and suffix (all that
/// S3, and LocalStack, match).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyFilter {
    /// Keys starting with this.
    pub prefix: Option<String>,
    /// Keys ending with this.
    pub suffix: Option<String>,
}

impl KeyFilter {
    /// The filter as S3 takes it; none when it has no rule (an empty `<S3Key/>` is refused as
    /// malformed XML by moto, and means nothing to AWS).
    fn rules(&self) -> Option<aws_sdk_s3::types::NotificationConfigurationFilter> {
        use aws_sdk_s3::types::{FilterRule, FilterRuleName, S3KeyFilter};
        let rules = [
            (FilterRuleName::Prefix, &self.prefix),
            (FilterRuleName::Suffix, &self.suffix),
        ]
        .into_iter()
        .filter_map(|(name, value)| {
            let value = value.as_ref()?;
            Some(FilterRule::builder().name(name).value(value).build())
        });
        let mut keys = S3KeyFilter::builder();
        let mut any = false;
        for rule in rules {
            keys = keys.filter_rules(rule);
            any = true;
        }
        any.then(|| {
            aws_sdk_s3::types::NotificationConfigurationFilter::builder()
                .key(keys.build())
                .build()
        })
    }
}

/// Makes S3 announce the objects created in `bucket` that `filter` matches on the SNS topic
/// `topic_arn` (a real `s3:ObjectCreated:*` notification, with the topic policy AWS needs).
/// This replaces the bucket's notification configuration.
///
/// # Errors
/// An AWS call failing.
pub(crate) async fn notify_topic(
    clients: &Clients,
    bucket: &str,
    topic_arn: &str,
    filter: &KeyFilter,
) -> Result<()> {
    notify(clients, bucket, &[], &[(topic_arn, filter)]).await
}

/// Makes S3 notify each queue of the objects created in `bucket` that its filter matches (a
/// real `s3:ObjectCreated:*` notification, one configuration per queue, with the queue policy
/// AWS needs). This replaces the bucket's notification configuration.
///
/// # Errors
/// An AWS call failing.
pub(crate) async fn notify_queues(
    clients: &Clients,
    bucket: &str,
    queues: &[(&str, KeyFilter)],
) -> Result<()> {
    let queues: Vec<(&str, &KeyFilter)> = queues.iter().map(|(url, f)| (*url, f)).collect();
    notify(clients, bucket, &queues, &[]).await
}

/// Makes S3 notify queues (by URL) and SNS topics (by ARN) of the objects created in `bucket`
/// that each one's filter matches: real `s3:ObjectCreated:*` notifications, one configuration
/// per target, each with the policy AWS needs. This replaces the bucket's notification
/// configuration, so a bucket's targets are configured together.
///
/// # Errors
/// An AWS call failing.
pub(crate) async fn notify(
    clients: &Clients,
    bucket: &str,
    queues: &[(&str, &KeyFilter)],
    topics: &[(&str, &KeyFilter)],
) -> Result<()> {
    use aws_sdk_s3::types::{
        Event, NotificationConfiguration, QueueConfiguration, TopicConfiguration,
    };
    let source = format!("arn:aws:s3:::{bucket}");
    let invalid =
        |e: aws_sdk_s3::error::BuildError| Error::Input(format!("notification configuration: {e}"));
    let mut queue_configurations = Vec::new();
    for (url, filter) in queues {
        let arn = queue_arn(clients, url).await?;
        allow_sends(clients, url, &arn, "s3.amazonaws.com", &source).await?;
        let configuration = QueueConfiguration::builder()
            .queue_arn(arn)
            .events(Event::from("s3:ObjectCreated:*"))
            .set_filter(filter.rules())
            .build()
            .map_err(invalid)?;
        queue_configurations.push(configuration);
    }
    let mut topic_configurations = Vec::new();
    for (topic_arn, filter) in topics {
        let policy = allow_service("s3.amazonaws.com", "sns:Publish", topic_arn, &source);
        clients
            .sns
            .set_topic_attributes()
            .topic_arn(*topic_arn)
            .attribute_name("Policy")
            .attribute_value(policy.to_string())
            .send()
            .await
            .map_err(AwsError::of("sns", "SetTopicAttributes"))?;
        let configuration = TopicConfiguration::builder()
            .topic_arn(*topic_arn)
            .events(Event::from("s3:ObjectCreated:*"))
            .set_filter(filter.rules())
            .build()
            .map_err(invalid)?;
        topic_configurations.push(configuration);
    }
    clients
        .s3
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .set_queue_configurations(Some(queue_configurations))
                .set_topic_configurations(Some(topic_configurations))
                .build(),
        )
        .send()
        .await
        .map_err(AwsError::of("s3", "PutBucketNotificationConfiguration"))?;
    Ok(())
}

/// Every deletion that failed, as one error naming each.
pub(crate) fn left_behind(problems: Vec<String>) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Input(format!(
        "{} resources could not be deleted: {}",
        problems.len(),
        problems.join("; ")
    )))
}

/// Deletes buckets (emptied first), queues and topics, and returns what could not be deleted:
/// every deletion is tried, whatever failed before.
pub(crate) async fn delete_all(
    clients: &Clients,
    buckets: &[&str],
    queues: &[&str],
    topics: &[&str],
) -> Vec<String> {
    let mut problems = Vec::new();
    for bucket in buckets {
        if let Err(e) = empty_and_delete_bucket(clients, bucket).await {
            problems.push(e.to_string());
        }
    }
    for queue in queues {
        match clients.sqs.delete_queue().queue_url(*queue).send().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_queue_does_not_exist()) => {}
            Err(e) => problems.push(AwsError::of("sqs", "DeleteQueue")(e).to_string()),
        }
    }
    for topic in topics {
        if let Err(e) = clients.sns.delete_topic().topic_arn(*topic).send().await {
            problems.push(AwsError::of("sns", "DeleteTopic")(e).to_string());
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_without_rules_is_no_filter_and_one_with_a_prefix_is_one_rule() {
        assert!(KeyFilter::default().rules().is_none());
        let alerts = KeyFilter {
            prefix: Some("alerts/".into()),
            suffix: None,
        };
        let filter = alerts.rules().unwrap();
        let rules = filter.key().unwrap().filter_rules();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].value(), Some("alerts/"));
    }
}
