//! A stream run's alarms: made, fed by the stages' metrics, settled, judged.
//!
//! A stream run's alarms: made with its resources, fed by the stages' metrics while they run,
//! settled before the drain, judged after it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::chaos::{FaultRule, Fired};
use tickflow_pipeline::metrics::publish::Publisher;
use tickflow_pipeline::metrics::queues::QueueDepths;
use tickflow_pipeline::metrics::Metrics;
use tickflow_pipeline::resources::Resources;
use tickflow_pipeline::stages::StageSet;

use crate::error::Result;
use crate::infra::alarms::{AlarmSet, POLL};
use crate::observe;
use crate::verdict::alarms::{self, AlarmExpect, AlarmSpec, AlarmsReport, Roles};
use crate::verdict::Failure;

/// The stream's resources an alarm's dimension may name, by role (the first the default).
pub const ROLES: Roles<'static> = &[
    ("StreamName", &["stream"]),
    ("QueueName", &["main", "dlq"]),
    ("FunctionName", &["processor"]),
];

/// A run's `[[alarms]]` and `[expect.alarms]`.
#[derive(Debug, Clone, Serialize)]
pub struct Alarms {
    /// The alarms to make.
    pub specs: Vec<AlarmSpec>,
    /// What each must do.
    pub expect: BTreeMap<String, AlarmExpect>,
    /// Whether the stages publish their metrics (default). Off, the alarms see no datapoint:
    /// how a pipeline that stopped emitting a metric looks to the alarms on it.
    pub publish: bool,
}

impl Default for Alarms {
    fn default() -> Self {
        Self {
            specs: Vec::new(),
            expect: BTreeMap::new(),
            publish: true,
        }
    }
}

impl Alarms {
    /// Whether the run has alarms (and so publishes its stages' metrics).
    pub fn any(&self) -> bool {
        !self.specs.is_empty()
    }

    /// The longest span an alarm evaluates, seconds.
    fn longest_span(&self) -> f64 {
        self.specs
            .iter()
            .map(AlarmSpec::span_secs)
            .fold(0.0, f64::max)
    }
}

/// The name of the run's resource `role` names.
fn resource(res: &Resources, role: &str) -> Option<String> {
    let queue = |url: &str| url.rsplit('/').next().map(str::to_string);
    match role {
        "stream" => Some(res.stream.clone()),
        "main" => queue(&res.queue_url),
        "dlq" => queue(&res.dlq_url),
        "processor" => Some(res.function.clone()),
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
    if !alarms.any() {
        return Ok(None);
    }
    let resolve = |role: &str| resource(res, role);
    let on_aws = clients.on_aws();
    let set = AlarmSet::provision(clients, run_id, &alarms.specs, ROLES, &resolve, on_aws).await?;
    Ok(Some(set))
}

/// Starts what publishes the stages' `metrics` while they run: the publisher, and (off AWS,
/// whose SQS publishes its own) the queues' depths.
pub fn publish(clients: &Clients, res: &Resources, metrics: &Metrics) -> StageSet {
    let mut set = StageSet::new();
    let on_aws = clients.on_aws();
    if !on_aws {
        let queues = [&res.queue_url, &res.dlq_url]
            .into_iter()
            .filter_map(|url| Some((url.rsplit('/').next()?.to_string(), url.clone())))
            .collect();
        let depths = QueueDepths {
            sqs: clients.sqs.clone(),
            metrics: metrics.clone(),
            queues,
            every: Duration::from_secs(2),
        };
        set.start("queue depths", |control| depths.run(control));
    }
    let publisher = Publisher {
        cloudwatch: clients.cloudwatch.clone(),
        metrics: metrics.clone(),
        on_aws,
        every: Duration::from_secs(1),
    };
    set.start("metrics", |control| publisher.run(control));
    set
}

/// Waits, stages running, until the alarms show what is expected of them; at least as long as
/// the longest alarm takes to evaluate the run's last datapoints, at most that three times
/// over plus the longest `within_secs` and a minute. Returns how long it waited, seconds.
///
/// # Errors
/// A failing `DescribeAlarmHistory` call.
pub async fn settle(clients: &Clients, set: &AlarmSet, alarms: &Alarms) -> Result<f64> {
    let span = alarms.longest_span();
    let within = alarms
        .expect
        .values()
        .filter_map(|e| e.within_secs)
        .fold(0.0, f64::max);
    let at_least = Duration::from_secs_f64(span) + 2 * POLL;
    let limit = Duration::from_secs_f64(3.0 * span + within + 60.0);
    let waited = observe::alarms::settle(clients, set, &alarms.expect, at_least, limit).await?;
    Ok(waited.as_secs_f64())
}

/// Reads what the alarms did since `run_start_ms` (epoch) and judges it: the report's part,
/// the failed checks and the held ones. `fired` and `stages_secs` place each fault rule's first
/// firing on the run's clock.
///
/// # Errors
/// A failing CloudWatch or SQS call.
pub async fn judge(
    clients: &Clients,
    set: &AlarmSet,
    alarms: &Alarms,
    run_start_ms: i64,
    (schedule, fired, stages_secs): (&[FaultRule], &[Fired], f64),
) -> Result<(AlarmsReport, Vec<Failure>, Vec<Failure>)> {
    let seen = observe::alarms::read(clients, set, run_start_ms).await?;
    let moment = |rule: usize| {
        let rule = schedule.get(rule.checked_sub(1)?)?;
        let first = fired.iter().find(|f| fired_by(rule, f))?;
        Some(stages_secs + first.at_ms as f64 / 1_000.0)
    };
    let (failed, held) = alarms::judge(&seen, &alarms.expect, &moment);
    let report = AlarmsReport {
        alarms: seen,
        ..AlarmsReport::default()
    };
    Ok((report, failed, held))
}

/// Whether `fired` is a firing of `rule`: its kind, and the service, operation and stage the
/// rule names.
fn fired_by(rule: &FaultRule, fired: &Fired) -> bool {
    rule.kind == fired.kind
        && rule.service.is_none_or(|s| Some(s) == fired.service)
        && rule
            .operation
            .as_ref()
            .is_none_or(|op| fired.operation.as_ref() == Some(op))
        && rule.stage.is_none_or(|s| Some(s) == fired.stage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickflow_pipeline::chaos::{FaultKind, Service};

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
        };
        for (_, roles) in ROLES {
            for role in *roles {
                assert!(resource(&res, role).is_some(), "{role}");
            }
        }
        assert_eq!(resource(&res, "dlq").as_deref(), Some("q-dlq"));
        assert_eq!(resource(&res, "lake"), None);
    }

    #[test]
    fn a_firing_belongs_to_the_rule_that_names_its_call() {
        let rule: FaultRule = toml::from_str(
            "kind = \"latency\"\nservice = \"kinesis\"\noperation = \"GetRecords\"\ncalls = [3]\nlatency_ms = 1000",
        )
        .unwrap();
        let mut fired = Fired::moment(FaultKind::Latency, 500, None);
        fired.service = Some(Service::Kinesis);
        fired.operation = Some("GetRecords".into());
        assert!(fired_by(&rule, &fired));
        fired.operation = Some("PutRecords".into());
        assert!(!fired_by(&rule, &fired));
    }
}
