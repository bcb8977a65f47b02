//! The metrics tickflow's stages publish, named and dimensioned as the AWS services name theirs.
//!
//! An alarm written for AWS reads the same here: `GetRecords.IteratorAgeMilliseconds` in
//! `AWS/Kinesis` by `StreamName`, `Errors` in `AWS/Lambda` by `FunctionName`, and so on. Where
//! the service publishes a metric itself on AWS (Kinesis, SQS), tickflow publishes it only on an
//! emulator; where the stage is tickflow's own (the Lambda-like handlers), AWS refuses the `AWS/`
//! namespace, so it is published under `Tickflow/` there ([`Metric::published_namespace`]).

/// The unit a metric is published in (CloudWatch's `StandardUnit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Counts of things.
    Count,
    /// Bytes.
    Bytes,
    /// Milliseconds.
    Milliseconds,
    /// Seconds.
    Seconds,
}

/// One metric: where it is published and by which dimension a stage tells its resource.
#[derive(Debug, PartialEq, Eq)]
pub struct Metric {
    /// The namespace AWS gives it (`AWS/Kinesis`).
    pub namespace: &'static str,
    /// Its name (`IncomingBytes`).
    pub name: &'static str,
    /// The one dimension tickflow publishes it by (`StreamName`).
    pub dimension: &'static str,
    /// The unit of its values.
    pub unit: Unit,
    /// Whether the AWS service publishes it itself, so that tickflow must not on AWS.
    pub published_by_aws: bool,
    /// What it measures, for the scenario reference and error messages.
    pub about: &'static str,
}

impl Metric {
    /// The namespace tickflow publishes this metric under: as AWS names it on an emulator;
    /// on AWS, `None` where the service publishes it itself, and `Tickflow/...` where the
    /// stage is tickflow's (AWS refuses `AWS/` namespaces in `PutMetricData`).
    pub fn published_namespace(&self, on_aws: bool) -> Option<String> {
        match (on_aws, self.published_by_aws) {
            (false, _) => Some(self.namespace.to_string()),
            (true, true) => None,
            (true, false) => Some(self.namespace.replacen("AWS/", "Tickflow/", 1)),
        }
    }

    /// The namespace an alarm on this metric reads on the target (`on_aws`): the service's own
    /// where it publishes the metric, tickflow's otherwise.
    pub fn alarm_namespace(&self, on_aws: bool) -> String {
        self.published_namespace(on_aws)
            .unwrap_or_else(|| self.namespace.to_string())
    }
}

const fn metric(
    namespace: &'static str,
    name: &'static str,
    dimension: &'static str,
    unit: Unit,
    published_by_aws: bool,
    about: &'static str,
) -> Metric {
    Metric {
        namespace,
        name,
        dimension,
        unit,
        published_by_aws,
        about,
    }
}

/// Records `PutRecords` accepted (user records are counted in `IncomingRecords` by the KPL's
/// aggregated records, as AWS counts them).
pub static INCOMING_RECORDS: Metric = metric(
    "AWS/Kinesis",
    "IncomingRecords",
    "StreamName",
    Unit::Count,
    true,
    "Kinesis records the producer's PutRecords calls put",
);
/// Bytes `PutRecords` accepted.
pub static INCOMING_BYTES: Metric = metric(
    "AWS/Kinesis",
    "IncomingBytes",
    "StreamName",
    Unit::Bytes,
    true,
    "bytes the producer's PutRecords calls put",
);
/// How far behind the stream's consumers read: the age of the last record each `GetRecords`
/// returned (0 for an empty answer).
pub static ITERATOR_AGE: Metric = metric(
    "AWS/Kinesis",
    "GetRecords.IteratorAgeMilliseconds",
    "StreamName",
    Unit::Milliseconds,
    true,
    "age of the last record each GetRecords returned (0 when caught up)",
);
/// Records `GetRecords` returned.
pub static GET_RECORDS_RECORDS: Metric = metric(
    "AWS/Kinesis",
    "GetRecords.Records",
    "StreamName",
    Unit::Count,
    true,
    "records the consumers' GetRecords calls returned",
);
/// Handler invocations of an event source mapping.
pub static INVOCATIONS: Metric = metric(
    "AWS/Lambda",
    "Invocations",
    "FunctionName",
    Unit::Count,
    false,
    "handler invocations (one per batch of messages)",
);
/// Invocations that failed their whole batch.
pub static ERRORS: Metric = metric(
    "AWS/Lambda",
    "Errors",
    "FunctionName",
    Unit::Count,
    false,
    "handler invocations that failed their whole batch",
);
/// How long each invocation took.
pub static DURATION: Metric = metric(
    "AWS/Lambda",
    "Duration",
    "FunctionName",
    Unit::Milliseconds,
    false,
    "how long each handler invocation took",
);
/// Messages a queue holds that can be received.
pub static VISIBLE: Metric = metric(
    "AWS/SQS",
    "ApproximateNumberOfMessagesVisible",
    "QueueName",
    Unit::Count,
    true,
    "messages a queue holds that can be received (the DLQ's depth)",
);
/// Messages received and not yet deleted.
pub static NOT_VISIBLE: Metric = metric(
    "AWS/SQS",
    "ApproximateNumberOfMessagesNotVisible",
    "QueueName",
    Unit::Count,
    true,
    "messages received and not yet deleted (in flight)",
);

/// Requests the web source answered (an Application Load Balancer's, by `LoadBalancer`).
pub static REQUEST_COUNT: Metric = metric(
    "AWS/ApplicationELB",
    "RequestCount",
    "LoadBalancer",
    Unit::Count,
    false,
    "requests the web source answered",
);
/// Its 4xx answers (429 when its queue is full, 401, 400).
pub static TARGET_4XX: Metric = metric(
    "AWS/ApplicationELB",
    "HTTPCode_Target_4XX_Count",
    "LoadBalancer",
    Unit::Count,
    false,
    "the web source's 4xx answers (429 when its queue is full)",
);
/// Its 5xx answers (503 when its database is behind or away).
pub static TARGET_5XX: Metric = metric(
    "AWS/ApplicationELB",
    "HTTPCode_Target_5XX_Count",
    "LoadBalancer",
    Unit::Count,
    false,
    "the web source's 5xx answers (503 when its database is behind or away)",
);
/// How long each answer took, seconds.
pub static TARGET_RESPONSE_TIME: Metric = metric(
    "AWS/ApplicationELB",
    "TargetResponseTime",
    "LoadBalancer",
    Unit::Seconds,
    false,
    "how long each of the web source's answers took, seconds",
);

/// Rows a batch run loaded into the table.
pub static ROWS_LOADED: Metric = metric(
    "Tickflow/Batch",
    "RowsLoaded",
    "JobName",
    Unit::Count,
    false,
    "rows a batch run loaded into the table",
);
/// Batch runs that failed (announced `_Pipeline_Failure`).
pub static RUNS_FAILED: Metric = metric(
    "Tickflow/Batch",
    "RunsFailed",
    "JobName",
    Unit::Count,
    false,
    "batch runs that failed (1) or loaded (0)",
);
/// How long each batch run took, seconds.
pub static RUN_DURATION: Metric = metric(
    "Tickflow/Batch",
    "RunDuration",
    "JobName",
    Unit::Seconds,
    false,
    "how long each batch run took, seconds",
);

/// Every metric a stage publishes.
pub static ALL: [&Metric; 16] = [
    &INCOMING_RECORDS,
    &INCOMING_BYTES,
    &ITERATOR_AGE,
    &GET_RECORDS_RECORDS,
    &INVOCATIONS,
    &ERRORS,
    &DURATION,
    &VISIBLE,
    &NOT_VISIBLE,
    &REQUEST_COUNT,
    &TARGET_4XX,
    &TARGET_5XX,
    &TARGET_RESPONSE_TIME,
    &ROWS_LOADED,
    &RUNS_FAILED,
    &RUN_DURATION,
];

/// The metric named `name` in `namespace`, as AWS names both.
pub fn find(namespace: &str, name: &str) -> Option<&'static Metric> {
    ALL.iter()
        .copied()
        .find(|m| m.namespace == namespace && m.name == name)
}

/// Where a metric is in [`ALL`] (the aggregate's key).
pub(crate) fn index(metric: &Metric) -> usize {
    ALL.iter()
        .position(|m| std::ptr::eq(*m, metric))
        .expect("every published metric is in the catalogue")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for m in ALL {
            assert!(std::ptr::eq(find(m.namespace, m.name).unwrap(), m));
            assert!(std::ptr::eq(ALL[index(m)], m));
        }
        assert!(find("AWS/Kinesis", "IncomingBites").is_none());
    }

    #[test]
    fn aws_namespaces_are_kept_off_aws_only() {
        assert_eq!(
            INCOMING_BYTES.published_namespace(false).as_deref(),
            Some("AWS/Kinesis")
        );
        assert_eq!(INCOMING_BYTES.published_namespace(true), None);
        assert_eq!(INCOMING_BYTES.alarm_namespace(true), "AWS/Kinesis");
        assert_eq!(
            ERRORS.published_namespace(true).as_deref(),
            Some("Tickflow/Lambda")
        );
        assert_eq!(ERRORS.alarm_namespace(true), "Tickflow/Lambda");
    }
}
