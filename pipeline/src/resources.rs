//! The AWS resources a pipeline run is wired to: what the harness provisions and the stages use.

use serde::Serialize;

/// Names, URLs and ARNs of one run's resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resources {
    /// Kinesis stream the producer writes and the bridge reads.
    pub stream: String,
    /// Main SQS queue between the bridge and the processor.
    pub queue_url: String,
    /// Dead-letter queue that the main queue's redrive policy feeds.
    pub dlq_url: String,
    /// S3 bucket of the data lake.
    pub bucket: String,
    /// S3 bucket of the stages' durable state (the bridge's checkpoints), kept apart from the
    /// lake so that the lake holds data only.
    pub state_bucket: String,
    /// SNS topic ARNs.
    pub topics: Topics,
    /// The Firehose delivery stream the `firehose` consumer forwards to, when it runs.
    pub delivery_stream: Option<String>,
    /// The processor's name as a function (its metrics' `FunctionName`), unique to the run.
    pub function: String,
    /// The web source's name as a load balancer (its metrics' `LoadBalancer`), unique to the
    /// run.
    pub web: String,
}

/// The three SNS topics of the pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Topics {
    /// One notification per object written to the lake.
    pub new_data: String,
    /// Price-move alerts.
    pub price_alert: String,
    /// One `<run>_Pipeline_Success|Failure` message per run.
    pub run_status: String,
}
