//! A batch run's alarms: what they may name, made on the run's resources, fed by its stages.
//!
//! A batch alarm names the run's job (`Tickflow/Batch` by `JobName`: rows loaded, failed runs,
//! run duration), its trigger (Lambda-style by `FunctionName`) or the trigger's queue (by
//! `QueueName`), by role; settling and judging them is every flow's
//! ([`crate::observe::alarms`]).

use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::batch::trigger::function_name;
use tickflow_pipeline::metrics::Metrics;
use tickflow_pipeline::stages::StageSet;

use super::topology::BatchResources;
use crate::error::Result;
use crate::infra::alarms::{publishing, queue_name, AlarmSet};
use crate::verdict::alarms::{Alarms, Roles};

/// The batch run's resources an alarm's dimension may name, by role.
pub const ROLES: Roles<'static> = &[
    ("JobName", &["job"]),
    ("FunctionName", &["trigger"]),
    ("QueueName", &["trigger"]),
];

/// The name of the run's resource `role` names under `dimension`.
fn resource(res: &BatchResources, dimension: &str, role: &str) -> Option<String> {
    match (dimension, role) {
        ("JobName", "job") => Some(res.source_bucket.clone()),
        ("FunctionName", "trigger") => Some(function_name(&res.source_bucket)),
        ("QueueName", "trigger") => queue_name(&res.trigger_queue),
        _ => None,
    }
}

/// Makes the run's alarms on `res`, when it has any.
///
/// # Errors
/// A failing CloudWatch, SNS or SQS call.
pub async fn provision(
    clients: &Clients,
    alarms: &Alarms,
    res: &BatchResources,
) -> Result<Option<AlarmSet>> {
    let resolve = |dimension: &str, role: &str| resource(res, dimension, role);
    AlarmSet::provision(clients, &res.run_id, alarms, ROLES, &resolve).await
}

/// Starts what publishes the stages' `metrics` while they run, the trigger queue's depth with
/// them.
pub fn publish(clients: &Clients, res: &BatchResources, metrics: &Metrics) -> StageSet {
    publishing(clients, &[&res.trigger_queue], metrics)
}
