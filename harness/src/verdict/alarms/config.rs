//! A run's alarms and what each must do, as every flow's run takes them, and their checks.
//!
//! The same for every flow that publishes metrics: the alarms of `[[alarms]]`, the
//! expectations of `[expect.alarms]`, and whether the stages publish their metrics at all.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::judge::AlarmExpect;
use super::spec::{AlarmSpec, Roles};

/// A run's `[[alarms]]` and `[expect.alarms]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// A file's alarms and their expectations, publishing.
    pub fn new(specs: &[AlarmSpec], expect: &BTreeMap<String, AlarmExpect>) -> Self {
        Self {
            specs: specs.to_vec(),
            expect: expect.clone(),
            ..Self::default()
        }
    }

    /// Whether the run has alarms (and so publishes its stages' metrics).
    pub fn any(&self) -> bool {
        !self.specs.is_empty()
    }

    /// The longest span an alarm evaluates, seconds.
    pub fn longest_span(&self) -> f64 {
        self.specs
            .iter()
            .map(AlarmSpec::span_secs)
            .fold(0.0, f64::max)
    }

    /// The longest `within_secs` asked, seconds.
    pub fn longest_within(&self) -> f64 {
        self.expect
            .values()
            .filter_map(|e| e.within_secs)
            .fold(0.0, f64::max)
    }

    /// Every problem of `[[alarms]]` and `[expect.alarms]`, as (dotted key, message): each
    /// alarm on a metric one of the flow's `roles` publishes, named once, and each expectation
    /// on a declared alarm and one of the `rules` fault rules.
    pub fn check(&self, roles: Roles<'_>, rules: usize) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut names = BTreeSet::new();
        for (i, alarm) in self.specs.iter().enumerate() {
            problems.extend(alarm.check(i, roles));
            if !names.insert(alarm.name.as_str()) {
                problems.push((
                    format!("alarms.{i}.name"),
                    format!("{:?} names another alarm too", alarm.name),
                ));
            }
        }
        let declared: Vec<&str> = names.into_iter().collect();
        for (name, expect) in &self.expect {
            problems.extend(expect.check(name, &declared, rules));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alarm_named_twice_is_refused_at_its_second_place() {
        let spec: AlarmSpec = toml::from_str(
            "name = \"a\"\nnamespace = \"AWS/SQS\"\nmetric = \"ApproximateNumberOfMessagesVisible\"\nstatistic = \"Maximum\"\nperiod_secs = 10\nthreshold = 0\ncomparison = \"GreaterThanThreshold\"",
        )
        .unwrap();
        let alarms = Alarms::new(&[spec.clone(), spec], &BTreeMap::new());
        let roles: Roles<'_> = &[("QueueName", &["main"])];
        let problems = alarms.check(roles, 0);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].0, "alarms.1.name");
        assert_eq!(alarms.longest_span(), 20.0);
    }
}
