//! The batch flow's AWS resources for one run.
//!
//! The batch flow's resources for one run: the source bucket, the monitored bucket whose
//! `.SUCCESS` uploads notify the trigger queue (a real S3 notification), the run-status topic
//! that S3 notifies of each status announced in the source bucket, with a subscribed queue, and a database schema of its own (so runs side by side never share
//! a table).

use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::batch::layout;
use tickflow_pipeline::chaos::Service;

use crate::error::{Error, Result};
use crate::infra::topology::{
    delete_all, ensure_bucket, ensure_queue, ensure_topic, notify_queues, notify_topic,
    subscribe_queue, KeyFilter,
};

/// The AWS services the batch flow calls, for a target's readiness check.
pub const SERVICES: [Service; 3] = [Service::S3, Service::Sqs, Service::Sns];

/// Names, URLs and ARNs of one batch run's resources.
#[derive(Debug, Clone)]
pub struct BatchResources {
    /// Unique id in every name.
    pub run_id: String,
    /// `Stocks/`, `CompanyNames/`, `Output/`, `Logs/`.
    pub source_bucket: String,
    /// Where `.SUCCESS` is uploaded.
    pub monitored_bucket: String,
    /// The queue S3 notifies.
    pub trigger_queue: String,
    /// Run-status topic.
    pub status_topic: String,
    /// Queue subscribed to it.
    pub status_queue: String,
    /// The database schema of the run.
    pub schema: String,
    /// The database URL with the schema as its search path.
    pub database_url: String,
}

/// Creates every resource of a batch run.
///
/// # Errors
/// An AWS or database call failing.
pub async fn provision(
    clients: &Clients,
    database_url: &str,
    run_id: &str,
) -> Result<BatchResources> {
    let name = |what: &str| format!("tickflow-{run_id}-{what}");
    let source_bucket = name("source");
    let monitored_bucket = name("monitored");
    ensure_bucket(clients, &source_bucket).await?;
    ensure_bucket(clients, &monitored_bucket).await?;
    let trigger_queue = ensure_queue(clients, &name("trigger"), vec![]).await?;
    let on_success = KeyFilter {
        suffix: Some(layout::TRIGGER_SUFFIX.into()),
        ..KeyFilter::default()
    };
    notify_queues(clients, &monitored_bucket, &[(&trigger_queue, on_success)]).await?;
    let status_topic = ensure_topic(clients, &name("run-status")).await?;
    let status_queue = ensure_queue(clients, &name("sub-run-status"), vec![]).await?;
    subscribe_queue(clients, &status_topic, &status_queue).await?;
    let announced = KeyFilter {
        prefix: Some(layout::STATUS.into()),
        ..KeyFilter::default()
    };
    notify_topic(clients, &source_bucket, &status_topic, &announced).await?;
    let schema = format!("tickflow_{}", run_id.replace('-', "_"));
    let client = crate::infra::postgres::connect(database_url).await?;
    client
        .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .await
        .map_err(|e| Error::Database {
            what: format!("creating schema {schema}"),
            reason: e.to_string(),
        })?;
    Ok(BatchResources {
        run_id: run_id.to_string(),
        source_bucket,
        monitored_bucket,
        trigger_queue,
        status_topic,
        status_queue,
        database_url: with_search_path(database_url, &schema),
        schema,
    })
}

/// Deletes what [`provision`] made (failures are logged: names are unique).
pub async fn teardown(clients: &Clients, database_url: &str, res: &BatchResources) {
    let mut problems = delete_all(
        clients,
        &[&res.source_bucket, &res.monitored_bucket],
        &[&res.trigger_queue, &res.status_queue],
        &[&res.status_topic],
    )
    .await;
    match crate::infra::postgres::connect(database_url).await {
        Ok(client) => {
            let drop = format!("DROP SCHEMA IF EXISTS {} CASCADE", res.schema);
            if let Err(e) = client.batch_execute(&drop).await {
                problems.push(format!("dropping schema {}: {e}", res.schema));
            }
        }
        Err(e) => problems.push(e.to_string()),
    }
    for problem in problems {
        tracing::warn!(%problem, "batch teardown incomplete; the next run is unaffected");
    }
}

/// `url` with `schema` as the search path of every session.
fn with_search_path(url: &str, schema: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_rides_in_the_url() {
        assert_eq!(
            with_search_path("postgres://u:p@h:1/db", "s"),
            "postgres://u:p@h:1/db?options=-c%20search_path%3Ds"
        );
        assert!(with_search_path("postgres://h/db?sslmode=disable", "s").contains("&options="));
    }
}
