//! `[[alarms]]`: a CloudWatch metric alarm as a scenario declares it, and what is wrong with one.
//!
//! The keys are CloudWatch's own (`PutMetricAlarm`), with AWS's spelling of the statistic, the
//! comparison and the missing-data treatment, so that an alarm copied from a team's
//! CloudFormation reads the same. A dimension's value names the run's resource by its role
//! (`QueueName = "dlq"`): the run's names are made per run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tickflow_pipeline::metrics::catalogue::{self, Metric};

/// The statistic an alarm evaluates (CloudWatch's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Statistic {
    /// How many values.
    SampleCount,
    /// Their mean.
    Average,
    /// Their sum.
    Sum,
    /// The least.
    Minimum,
    /// The greatest.
    Maximum,
}

/// How the statistic is compared with the threshold (CloudWatch's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Comparison {
    /// `>=`.
    GreaterThanOrEqualToThreshold,
    /// `>`.
    GreaterThanThreshold,
    /// `<`.
    LessThanThreshold,
    /// `<=`.
    LessThanOrEqualToThreshold,
}

/// What a period without datapoints counts as (CloudWatch's `TreatMissingData`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum MissingData {
    /// Not evaluated: the alarm goes to `INSUFFICIENT_DATA` when every period is missing.
    #[default]
    #[serde(rename = "missing")]
    Missing,
    /// As breaching the threshold.
    #[serde(rename = "breaching")]
    Breaching,
    /// As within the threshold.
    #[serde(rename = "notBreaching")]
    NotBreaching,
    /// The alarm keeps its state.
    #[serde(rename = "ignore")]
    Ignore,
}

impl MissingData {
    /// CloudWatch's spelling.
    pub fn aws(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Breaching => "breaching",
            Self::NotBreaching => "notBreaching",
            Self::Ignore => "ignore",
        }
    }
}

/// One metric alarm of a scenario, provisioned with the run (its actions notify the run's alarm
/// topic) and deleted with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlarmSpec {
    /// Its name in the scenario and the report (letters, digits, `-` and `_`); the alarm made
    /// on the target is `<run>-<name>`.
    pub name: String,
    /// The metric's namespace, as AWS names it (`AWS/Kinesis`).
    pub namespace: String,
    /// The metric, as AWS names it (`GetRecords.IteratorAgeMilliseconds`).
    pub metric: String,
    /// The metric's dimension, by the role of the run's resource it names
    /// (`{ QueueName = "dlq" }`); the flow's first resource of that kind when absent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dimensions: BTreeMap<String, String>,
    /// The statistic evaluated over each period.
    pub statistic: Statistic,
    /// The period, seconds: 10, 30 or a multiple of 60 (what CloudWatch evaluates).
    pub period_secs: u32,
    /// How many periods are evaluated (default 1).
    #[serde(default = "one")]
    pub evaluation_periods: u32,
    /// How many of them must breach (default: all of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datapoints_to_alarm: Option<u32>,
    /// The threshold the statistic is compared with.
    pub threshold: f64,
    /// How the statistic is compared with the threshold.
    pub comparison: Comparison,
    /// What a period without datapoints counts as (default `missing`).
    #[serde(default)]
    pub missing_data: MissingData,
    /// Whether its ALARM and OK transitions notify the run's alarm topic (default true). An
    /// alarm that notifies nobody pages nobody: `[expect.alarms]` requires the notification.
    #[serde(default = "yes")]
    pub notify: bool,
}

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

/// The periods CloudWatch evaluates below a minute.
const SHORT_PERIODS: [u32; 2] = [10, 30];
/// The longest span an alarm may evaluate (periods × period), seconds: a run is shorter.
pub const MAX_SPAN_SECS: u32 = 3_600;
/// The longest alarm name tickflow makes (`<run>-<name>` within CloudWatch's 255).
const MAX_NAME: usize = 64;

/// The run's resources a flow's alarms may name, by dimension: (dimension, its roles), the
/// first role the default.
pub type Roles<'a> = &'a [(&'a str, &'a [&'a str])];

impl AlarmSpec {
    /// The catalogue's metric this alarm reads.
    pub fn metric(&self) -> Option<&'static Metric> {
        catalogue::find(&self.namespace, &self.metric)
    }

    /// The role of the run's resource its dimension names (the flow's default when absent).
    pub fn role<'a>(&'a self, roles: Roles<'a>) -> Option<&'a str> {
        let metric = self.metric()?;
        let (_, known) = roles.iter().find(|(d, _)| *d == metric.dimension)?;
        match self.dimensions.get(metric.dimension) {
            Some(role) => Some(role.as_str()),
            None => known.first().copied(),
        }
    }

    /// How long after a breach the alarm may take to say so, seconds: its evaluated span, and
    /// as long again for the evaluation's own schedule.
    pub fn span_secs(&self) -> f64 {
        2.0 * f64::from(self.period_secs) * f64::from(self.evaluation_periods)
    }

    /// What is wrong with the alarm at `alarms.{i}`, each a (dotted key, message), given the
    /// `roles` of the flow's resources.
    pub fn check(&self, i: usize, roles: Roles<'_>) -> Vec<(String, String)> {
        let key = |k: &str| format!("alarms.{i}.{k}");
        let mut problems = Vec::new();
        let name_ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if self.name.is_empty() || self.name.len() > MAX_NAME || !self.name.chars().all(name_ok) {
            problems.push((
                key("name"),
                format!(
                    "must be 1 to {MAX_NAME} letters, digits, '-' or '_', got {:?}",
                    self.name
                ),
            ));
        }
        match self.metric() {
            None => problems.push((key("metric"), unknown_metric(&self.namespace, &self.metric))),
            Some(metric) => problems.extend(self.check_dimensions(metric, roles, &key)),
        }
        let p = self.period_secs;
        if p == 0 || (p < 60 && !SHORT_PERIODS.contains(&p)) || (p >= 60 && !p.is_multiple_of(60)) {
            problems.push((
                key("period_secs"),
                format!(
                    "CloudWatch evaluates periods of 10, 30 or a multiple of 60 seconds, got {p}"
                ),
            ));
        }
        let n = self.evaluation_periods;
        if n == 0 || u64::from(n) * u64::from(p) > u64::from(MAX_SPAN_SECS) {
            problems.push((
                key("evaluation_periods"),
                format!("must be at least 1, and periods x period at most {MAX_SPAN_SECS} s, got {n} x {p} s"),
            ));
        }
        if let Some(m) = self.datapoints_to_alarm {
            if m == 0 || m > n {
                problems.push((
                    key("datapoints_to_alarm"),
                    format!("must be within [1, evaluation_periods = {n}], got {m}"),
                ));
            }
        }
        if !self.threshold.is_finite() {
            problems.push((key("threshold"), "must be a finite number".into()));
        }
        problems
    }

    fn check_dimensions(
        &self,
        metric: &Metric,
        roles: Roles<'_>,
        key: &dyn Fn(&str) -> String,
    ) -> Vec<(String, String)> {
        let Some((_, known)) = roles.iter().find(|(d, _)| *d == metric.dimension) else {
            let published: Vec<&str> = roles.iter().map(|(d, _)| *d).collect();
            return vec![(
                key("metric"),
                format!(
                    "{} {} is published by {}, which this flow has none of (it has {})",
                    metric.namespace,
                    metric.name,
                    metric.dimension,
                    published.join(", ")
                ),
            )];
        };
        let mut problems = Vec::new();
        for (dimension, role) in &self.dimensions {
            if dimension != metric.dimension {
                problems.push((
                    key(&format!("dimensions.{dimension}")),
                    format!(
                        "{} {} has one dimension, {}",
                        metric.namespace, metric.name, metric.dimension
                    ),
                ));
            } else if !known.contains(&role.as_str()) {
                problems.push((
                    key(&format!("dimensions.{dimension}")),
                    format!(
                        "names the run's resource by its role: one of {}, got {role:?}",
                        known.join(", ")
                    ),
                ));
            }
        }
        problems
    }
}

/// The message for a metric the catalogue does not have: the namespace's metrics, or the
/// namespaces.
fn unknown_metric(namespace: &str, name: &str) -> String {
    let of_namespace: Vec<&str> = catalogue::ALL
        .iter()
        .filter(|m| m.namespace == namespace)
        .map(|m| m.name)
        .collect();
    if !of_namespace.is_empty() {
        return format!(
            "no stage publishes {name} in {namespace}; its metrics are: {}",
            of_namespace.join(", ")
        );
    }
    let mut namespaces: Vec<&str> = catalogue::ALL.iter().map(|m| m.namespace).collect();
    namespaces.dedup();
    format!(
        "no stage publishes into {namespace}; the namespaces are: {}",
        namespaces.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLES: Roles<'static> = &[("StreamName", &["stream"]), ("QueueName", &["main", "dlq"])];

    fn alarm() -> AlarmSpec {
        AlarmSpec {
            name: "age".into(),
            namespace: "AWS/Kinesis".into(),
            metric: "GetRecords.IteratorAgeMilliseconds".into(),
            dimensions: BTreeMap::new(),
            statistic: Statistic::Maximum,
            period_secs: 10,
            evaluation_periods: 1,
            datapoints_to_alarm: None,
            threshold: 5_000.0,
            comparison: Comparison::GreaterThanThreshold,
            missing_data: MissingData::Missing,
            notify: true,
        }
    }

    fn keys(spec: &AlarmSpec) -> Vec<String> {
        spec.check(0, ROLES).into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn a_sound_alarm_has_no_problem_and_its_default_role() {
        let spec = alarm();
        assert!(keys(&spec).is_empty());
        assert_eq!(spec.role(ROLES), Some("stream"));
    }

    #[test]
    fn each_bad_value_is_named_by_its_key() {
        type Break = fn(&mut AlarmSpec);
        let cases: Vec<(Break, &str)> = vec![
            (|a| a.metric = "IncomingBites".into(), "alarms.0.metric"),
            (|a| a.namespace = "AWS/Lambda".into(), "alarms.0.metric"),
            (|a| a.period_secs = 15, "alarms.0.period_secs"),
            (|a| a.period_secs = 90, "alarms.0.period_secs"),
            (|a| a.evaluation_periods = 0, "alarms.0.evaluation_periods"),
            (
                |a| a.evaluation_periods = 400,
                "alarms.0.evaluation_periods",
            ),
            (
                |a| a.datapoints_to_alarm = Some(2),
                "alarms.0.datapoints_to_alarm",
            ),
            (|a| a.threshold = f64::NAN, "alarms.0.threshold"),
            (|a| a.name = "no spaces".into(), "alarms.0.name"),
            (
                |a| {
                    a.dimensions.insert("StreamName".into(), "lake".into());
                },
                "alarms.0.dimensions.StreamName",
            ),
            (
                |a| {
                    a.dimensions.insert("QueueName".into(), "dlq".into());
                },
                "alarms.0.dimensions.QueueName",
            ),
        ];
        for (break_it, key) in cases {
            let mut spec = alarm();
            break_it(&mut spec);
            assert_eq!(keys(&spec), [key], "{spec:?}");
        }
    }

    #[test]
    fn a_metric_of_a_resource_the_flow_lacks_is_refused() {
        let spec = AlarmSpec {
            namespace: "AWS/Lambda".into(),
            metric: "Errors".into(),
            ..alarm()
        };
        let problems = spec.check(3, ROLES);
        assert_eq!(problems[0].0, "alarms.3.metric");
        assert!(problems[0].1.contains("FunctionName"), "{}", problems[0].1);
    }

    #[test]
    fn a_role_names_one_of_the_flows_resources() {
        let mut spec = AlarmSpec {
            namespace: "AWS/SQS".into(),
            metric: "ApproximateNumberOfMessagesVisible".into(),
            ..alarm()
        };
        assert_eq!(spec.role(ROLES), Some("main"));
        spec.dimensions.insert("QueueName".into(), "dlq".into());
        assert_eq!(spec.role(ROLES), Some("dlq"));
        assert!(keys(&spec).is_empty());
    }
}
