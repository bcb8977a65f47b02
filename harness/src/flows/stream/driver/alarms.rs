//! A stream run's alarms: made on its resources, fed by its stages' metrics.
//!
//! What the stream's alarms may name (its stream, queues, processor and web source, by role)
//! and the stages that feed them; settling and judging them is every flow's
//! ([`crate::observe::alarms`]).

use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::metrics::Metrics;
use tickflow_pipeline::resources::Resources;
use tickflow_pipeline::stages::StageSet;

use crate::error::Result;
use crate::infra::alarms::{publishing, queue_name, AlarmSet};
use crate::verdict::alarms::{Alarms, Roles};

/// The stream's resources an alarm's dimension may name, by role (the first the default).
pub const ROLES: Roles<'static> = &[
    ("StreamName", &["stream"]),
    ("QueueName", &["main", "dlq"]),
    ("FunctionName", &["processor"]),
    ("LoadBalancer", &["web"]),
];

/// The name of the run's resource `role` names.
fn resource(res: &Resources, role: &str) -> Option<String> {
    match role {
        "stream" => Some(res.stream.clone()),
        "main" => queue_name(&res.queue_url),
        "dlq" => queue_name(&res.dlq_url),
        "processor" => Some(res.function.clone()),
        "web" => Some(res.web.clone()),
        _ => None,
    }
}

/// Makes the run's alarms on `res`, when it has any.
///
/// # Errors
/// A failing CloudWatch, SNS or SQS call.
pub async fn provision(
    clients: &Clients,
    run_id: &str,
    alarms: &Alarms,
    res: &Resources,
) -> Result<Option<AlarmSet>> {
    let resolve = |_: &str, role: &str| resource(res, role);
    AlarmSet::provision(clients, run_id, alarms, ROLES, &resolve).await
}

/// Starts what publishes the stages' `metrics` while they run, the queues' depths with them.
pub fn publish(clients: &Clients, res: &Resources, metrics: &Metrics) -> StageSet {
    publishing(clients, &[&res.queue_url, &res.dlq_url], metrics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_names_one_of_the_runs_resources() {
        let res = Resources {
            stream: "s".into(),
            queue_url: "http://h/000/q-main".into(),
            dlq_url: "http://h/000/q-dlq".into(),
            bucket: String::new(),
            state_bucket: String::new(),
            topics: tickflow_pipeline::resources::Topics {
                new_data: String::new(),
                price_alert: String::new(),
                run_status: String::new(),
            },
            delivery_stream: None,
            function: "f".into(),
            web: "w".into(),
        };
        for (_, roles) in ROLES {
            for role in *roles {
                assert!(resource(&res, role).is_some(), "{role}");
            }
        }
        assert_eq!(resource(&res, "dlq").as_deref(), Some("q-dlq"));
        assert_eq!(resource(&res, "lake"), None);
    }
}
