//! The price-file flow's AWS resources for one run.
//!
//! The price-file flow's resources for one run: the bucket, whose `ObjectCreated`
//! notifications on the ingestion and analysis prefixes go to one queue each (real S3
//! notifications); a dead-letter queue behind both; and the alert topic, which S3 notifies of
//! each alert object created (the alert's announcement), with a subscribed queue.

use aws_sdk_sqs::types::QueueAttributeName;
use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::chaos::Service;
use tickflow_pipeline::price_files::layout;

use crate::error::Result;
use crate::infra::topology::{
    delete_all, ensure_bucket, ensure_queue, ensure_topic, notify, queue_arn, subscribe_queue,
    KeyFilter,
};

/// Receives after which a message is dead-lettered.
pub const MAX_RECEIVE_COUNT: u32 = 10;
/// The AWS services the price-file flow calls, for a target's readiness check.
pub const SERVICES: [Service; 3] = [Service::S3, Service::Sqs, Service::Sns];
/// The ETL queue's visibility timeout: a price file left for redelivery (its ETL crashed, its
/// receive or delete failed) comes back after it. Shorter than the analysis's wait for a
/// predecessor (`hold_receives` x [`ANALYSIS_VISIBILITY_SECS`], 10 s by default), so that a file
/// delivered again once is still waited for, not taken as a gap; the ETL's mapping keeps a
/// slower file invisible for as long as it takes.
pub const ETL_VISIBILITY_SECS: u32 = 6;
/// The analysis queue's: how long a record held for its predecessor waits between receives.
pub const ANALYSIS_VISIBILITY_SECS: u32 = 2;

/// Names, URLs and ARNs of one price-file run's resources.
#[derive(Debug, Clone)]
pub struct PriceFileResources {
    /// Unique id in every name.
    pub run_id: String,
    /// The bucket of every prefix.
    pub bucket: String,
    /// Notified of price files.
    pub etl_queue: String,
    /// Notified of CSV records.
    pub analysis_queue: String,
    /// Behind both.
    pub dlq: String,
    /// Alerts.
    pub alert_topic: String,
    /// Queue subscribed to it.
    pub alert_queue: String,
}

impl PriceFileResources {
    /// The queues that must be empty once the run has drained, by name.
    pub fn pipeline_queues(&self) -> [(&'static str, &str); 3] {
        [
            ("etl", &self.etl_queue),
            ("analysis", &self.analysis_queue),
            ("dlq", &self.dlq),
        ]
    }
}

/// Creates every resource of a price-file run.
///
/// # Errors
/// An AWS call failing.
pub async fn provision(clients: &Clients, run_id: &str) -> Result<PriceFileResources> {
    let name = |what: &str| format!("tickflow-{run_id}-{what}");
    let bucket = name("prices");
    ensure_bucket(clients, &bucket).await?;
    let dlq = ensure_queue(clients, &name("dlq"), vec![]).await?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": queue_arn(clients, &dlq).await?,
        "maxReceiveCount": MAX_RECEIVE_COUNT.to_string(),
    })
    .to_string();
    let attributes = |visibility: u32| {
        vec![
            (QueueAttributeName::RedrivePolicy, redrive.clone()),
            (
                QueueAttributeName::VisibilityTimeout,
                visibility.to_string(),
            ),
        ]
    };
    let etl_queue = ensure_queue(clients, &name("etl"), attributes(ETL_VISIBILITY_SECS)).await?;
    let analysis_queue = ensure_queue(
        clients,
        &name("analysis"),
        attributes(ANALYSIS_VISIBILITY_SECS),
    )
    .await?;
    let prefix = |p: &str| KeyFilter {
        prefix: Some(p.into()),
        suffix: None,
    };
    let alert_topic = ensure_topic(clients, &name("price-alert")).await?;
    let alert_queue = ensure_queue(clients, &name("sub-price-alert"), vec![]).await?;
    subscribe_queue(clients, &alert_topic, &alert_queue).await?;
    notify(
        clients,
        &bucket,
        &[
            (&etl_queue, &prefix(layout::INGESTION)),
            (&analysis_queue, &prefix(layout::ANALYSIS)),
        ],
        &[(&alert_topic, &prefix(layout::ALERTS))],
    )
    .await?;
    Ok(PriceFileResources {
        run_id: run_id.to_string(),
        bucket,
        etl_queue,
        analysis_queue,
        dlq,
        alert_topic,
        alert_queue,
    })
}

/// Deletes what [`provision`] made (failures are logged: names are unique).
pub async fn teardown(clients: &Clients, res: &PriceFileResources) {
    let queues = [
        res.etl_queue.as_str(),
        &res.analysis_queue,
        &res.dlq,
        &res.alert_queue,
    ];
    let problems = delete_all(clients, &[&res.bucket], &queues, &[&res.alert_topic]).await;
    for problem in problems {
        tracing::warn!(%problem, "price-file teardown incomplete; the next run is unaffected");
    }
}
