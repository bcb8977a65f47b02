//! A run's CloudWatch alarms: provisioned with their topic and its queue, read back, deleted.
//!
//! Each `[[alarms]]` entry becomes a metric alarm named `tickflow-<run>-<name>` on the metric
//! the scenario names, its dimension resolved to the run's resource. Its ALARM and OK actions
//! notify the run's alarm topic, to which a queue is subscribed: what an on-call engineer would
//! have received is read from there ([`crate::observe::alarms`]), and what the alarm did from its
//! state history.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, HistoryItemType, Statistic};
use tickflow_pipeline::aws::{AwsError, Clients};
use tickflow_pipeline::metrics::publish::Publisher;
use tickflow_pipeline::metrics::queues::QueueDepths;
use tickflow_pipeline::metrics::Metrics;
use tickflow_pipeline::stages::StageSet;

use crate::error::{Error, Result};
use crate::infra::topology::{delete_all, ensure_queue, ensure_topic, subscribe_queue};
use crate::verdict::alarms::{AlarmSpec, Alarms, Comparison, Roles, State, Statistic as Stat};

/// One alarm made on the target.
#[derive(Debug, Clone)]
pub struct Made {
    /// Its name in the scenario.
    pub name: String,
    /// Its name on the target.
    pub aws_name: String,
    /// The namespace, metric and dimension it reads (for the datapoints read back).
    pub namespace: String,
    /// The metric.
    pub metric: String,
    /// The dimension's name and the run's resource it names.
    pub dimension: (String, String),
}

/// A run's alarms, their topic and the queue subscribed to it.
#[derive(Debug, Clone)]
pub struct AlarmSet {
    /// The alarms, in the scenario's order.
    pub alarms: Vec<Made>,
    /// The topic their actions notify.
    pub topic_arn: String,
    /// The queue subscribed to the topic.
    pub queue_url: String,
}

/// One state change read from an alarm's history, epoch milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change {
    /// When.
    pub at_ms: i64,
    /// The state it left.
    pub from: State,
    /// The state it entered.
    pub to: State,
}

impl AlarmSet {
    /// Makes the alarm topic, its queue and every alarm of `alarms` on the run `run_id`'s
    /// resources (`resource` resolves a dimension and a role to the resource's name), when it
    /// has any. On AWS, an alarm on a metric tickflow publishes reads its `Tickflow/` namespace.
    ///
    /// # Errors
    /// A failing call, or a role no resource answers (validation refuses it before a run).
    pub async fn provision(
        clients: &Clients,
        run_id: &str,
        alarms: &Alarms,
        roles: Roles<'_>,
        resource: &(dyn Fn(&str, &str) -> Option<String> + Sync),
    ) -> Result<Option<Self>> {
        if !alarms.any() {
            return Ok(None);
        }
        let on_aws = clients.on_aws();
        let topic_arn = ensure_topic(clients, &format!("tickflow-{run_id}-alarms")).await?;
        let queue_url =
            ensure_queue(clients, &format!("tickflow-{run_id}-sub-alarms"), vec![]).await?;
        let mut set = AlarmSet {
            alarms: Vec::new(),
            topic_arn,
            queue_url,
        };
        if let Err(e) = subscribe_queue(clients, &set.topic_arn, &set.queue_url).await {
            set.teardown(clients).await;
            return Err(e);
        }
        for spec in &alarms.specs {
            match set
                .put(clients, run_id, spec, roles, resource, on_aws)
                .await
            {
                Ok(made) => set.alarms.push(made),
                Err(e) => {
                    set.teardown(clients).await;
                    return Err(e);
                }
            }
        }
        Ok(Some(set))
    }

    async fn put(
        &self,
        clients: &Clients,
        run_id: &str,
        spec: &AlarmSpec,
        roles: Roles<'_>,
        resource: &(dyn Fn(&str, &str) -> Option<String> + Sync),
        on_aws: bool,
    ) -> Result<Made> {
        let unresolved = || {
            Error::Input(format!(
                "alarm {}: its metric names no resource of this run",
                spec.name
            ))
        };
        let metric = spec.metric().ok_or_else(unresolved)?;
        let role = spec.role(roles).ok_or_else(unresolved)?;
        let value = resource(metric.dimension, role).ok_or_else(unresolved)?;
        let made = Made {
            name: spec.name.clone(),
            aws_name: format!("tickflow-{run_id}-{}", spec.name),
            namespace: metric.alarm_namespace(on_aws),
            metric: metric.name.to_string(),
            dimension: (metric.dimension.to_string(), value),
        };
        let dimension = Dimension::builder()
            .name(&made.dimension.0)
            .value(&made.dimension.1)
            .build();
        let actions = spec.notify.then(|| vec![self.topic_arn.clone()]);
        clients
            .cloudwatch
            .put_metric_alarm()
            .alarm_name(&made.aws_name)
            .alarm_description(format!("tickflow scenario alarm {}", spec.name))
            .namespace(&made.namespace)
            .metric_name(&made.metric)
            .dimensions(dimension)
            .statistic(statistic(spec.statistic))
            .period(spec.period_secs as i32)
            .evaluation_periods(spec.evaluation_periods as i32)
            .set_datapoints_to_alarm(spec.datapoints_to_alarm.map(|n| n as i32))
            .threshold(spec.threshold)
            .comparison_operator(comparison(spec.comparison))
            .treat_missing_data(spec.missing_data.aws())
            .actions_enabled(true)
            .set_alarm_actions(actions.clone())
            .set_ok_actions(actions)
            .send()
            .await
            .map_err(AwsError::of("cloudwatch", "PutMetricAlarm"))?;
        Ok(made)
    }

    /// Each alarm's state changes so far, oldest first, by its scenario name.
    ///
    /// # Errors
    /// A failing `DescribeAlarmHistory` call.
    pub async fn history(&self, clients: &Clients) -> Result<BTreeMap<String, Vec<Change>>> {
        let mut all = BTreeMap::new();
        for alarm in &self.alarms {
            let mut changes = Vec::new();
            let mut pages = clients
                .cloudwatch
                .describe_alarm_history()
                .alarm_name(&alarm.aws_name)
                .history_item_type(HistoryItemType::StateUpdate)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(AwsError::of("cloudwatch", "DescribeAlarmHistory"))?;
                for item in page.alarm_history_items() {
                    let stamped = item.timestamp().and_then(|t| t.to_millis().ok());
                    let read = parse_history(item.history_data(), item.history_summary());
                    if let (Some(stamped), Some(read)) = (stamped, read) {
                        // LocalStack stamps a change with the time of the one before it; the
                        // evaluation that made it says when it was (AWS's stamp is never earlier).
                        let at_ms = read.queried_ms.map_or(stamped, |q| q.max(stamped));
                        changes.push(Change {
                            at_ms,
                            from: read.from,
                            to: read.to,
                        });
                    }
                }
            }
            changes.sort_by_key(|c| c.at_ms);
            all.insert(alarm.name.clone(), changes);
        }
        Ok(all)
    }

    /// How many datapoints each alarm's metric received from `from_ms` (epoch) until now.
    ///
    /// # Errors
    /// A failing `GetMetricStatistics` call.
    pub async fn datapoints(
        &self,
        clients: &Clients,
        from_ms: i64,
    ) -> Result<BTreeMap<String, u64>> {
        use aws_sdk_cloudwatch::primitives::DateTime;
        let start = from_ms.div_euclid(60_000) * 60;
        let end = tickflow_pipeline::metrics::epoch_ms().div_euclid(60_000) * 60 + 120;
        let period = i32::try_from((end - start).max(60)).unwrap_or(i32::MAX);
        let mut counts = BTreeMap::new();
        for alarm in &self.alarms {
            let dimension = Dimension::builder()
                .name(&alarm.dimension.0)
                .value(&alarm.dimension.1)
                .build();
            let out = clients
                .cloudwatch
                .get_metric_statistics()
                .namespace(&alarm.namespace)
                .metric_name(&alarm.metric)
                .dimensions(dimension)
                .start_time(DateTime::from_secs(start))
                .end_time(DateTime::from_secs(end))
                .period(period)
                .statistics(Statistic::SampleCount)
                .send()
                .await
                .map_err(AwsError::of("cloudwatch", "GetMetricStatistics"))?;
            let n: f64 = out
                .datapoints()
                .iter()
                .filter_map(|d| d.sample_count())
                .sum();
            counts.insert(alarm.name.clone(), n as u64);
        }
        Ok(counts)
    }

    /// Deletes the alarms, the topic and its queue; what could not be deleted is logged (the
    /// names are the run's own).
    pub async fn teardown(&self, clients: &Clients) {
        let names: Vec<String> = self.alarms.iter().map(|a| a.aws_name.clone()).collect();
        for chunk in names.chunks(100) {
            let deleted = clients
                .cloudwatch
                .delete_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .send()
                .await;
            if let Err(e) = deleted {
                let error = AwsError::of("cloudwatch", "DeleteAlarms")(e);
                tracing::warn!(%error, "alarms left behind");
            }
        }
        let problems = delete_all(clients, &[], &[&self.queue_url], &[&self.topic_arn]).await;
        for problem in problems {
            tracing::warn!(%problem, "alarm topic or queue left behind");
        }
    }
}

/// The stages that feed a run's alarms while its pipeline runs: the publisher of the stages'
/// `metrics`, and (off AWS, whose SQS publishes its own) the depths of `queues` (URLs).
pub fn publishing(clients: &Clients, queues: &[&str], metrics: &Metrics) -> StageSet {
    let mut set = StageSet::new();
    let on_aws = clients.on_aws();
    if !on_aws {
        let queues = queues
            .iter()
            .filter_map(|url| Some((queue_name(url)?, url.to_string())))
            .collect();
        let depths = QueueDepths {
            sqs: clients.sqs.clone(),
            metrics: metrics.clone(),
            queues,
            every: Duration::from_secs(2),
        };
        set.start("queue depths", |control| depths.run(control));
    }
    let publisher = Publisher::every_second(clients.cloudwatch.clone(), metrics.clone(), on_aws);
    set.start("metrics", |control| publisher.run(control));
    set
}

/// A queue's name from its URL (the metric's `QueueName`).
pub fn queue_name(url: &str) -> Option<String> {
    url.rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .map(str::to_string)
}

/// How long to wait between two readings of the alarms' history while they settle.
pub const POLL: Duration = Duration::from_secs(2);

/// What an alarm history item says of a change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Read {
    /// The state it left.
    pub from: State,
    /// The state it entered.
    pub to: State,
    /// When the evaluation that made it queried the metric (`stateReasonData.queryDate`),
    /// epoch milliseconds, where the item says.
    pub queried_ms: Option<i64>,
}

/// What an alarm history item records: its `HistoryData` JSON (`oldState.stateValue`,
/// `newState.stateValue`, `newState.stateReasonData.queryDate`), else its summary
/// (`Alarm updated from OK to ALARM`).
pub fn parse_history(data: Option<&str>, summary: Option<&str>) -> Option<Read> {
    let v: serde_json::Value = data
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_default();
    let state = |k: &str| State::parse(v[k]["stateValue"].as_str()?);
    let from_summary = || {
        let rest = summary?.strip_prefix("Alarm updated from ")?;
        let (from, to) = rest.split_once(" to ")?;
        Some((State::parse(from.trim())?, State::parse(to.trim())?))
    };
    let (from, to) = match (state("oldState"), state("newState")) {
        (Some(from), Some(to)) => (from, to),
        _ => from_summary()?,
    };
    Some(Read {
        from,
        to,
        queried_ms: query_date(&v["newState"]["stateReasonData"]),
    })
}

/// `queryDate` of a state's reason data (an object, or JSON in a string), epoch milliseconds.
fn query_date(reason: &serde_json::Value) -> Option<i64> {
    let parsed;
    let reason = match reason.as_str() {
        Some(text) => {
            parsed = serde_json::from_str::<serde_json::Value>(text).ok()?;
            &parsed
        }
        None => reason,
    };
    let date = reason["queryDate"].as_str()?;
    let at = chrono::DateTime::parse_from_str(date, "%Y-%m-%dT%H:%M:%S%.f%z").ok()?;
    Some(at.timestamp_millis())
}

fn statistic(s: Stat) -> Statistic {
    match s {
        Stat::SampleCount => Statistic::SampleCount,
        Stat::Average => Statistic::Average,
        Stat::Sum => Statistic::Sum,
        Stat::Minimum => Statistic::Minimum,
        Stat::Maximum => Statistic::Maximum,
    }
}

fn comparison(c: Comparison) -> ComparisonOperator {
    match c {
        Comparison::GreaterThanOrEqualToThreshold => {
            ComparisonOperator::GreaterThanOrEqualToThreshold
        }
        Comparison::GreaterThanThreshold => ComparisonOperator::GreaterThanThreshold,
        Comparison::LessThanThreshold => ComparisonOperator::LessThanThreshold,
        Comparison::LessThanOrEqualToThreshold => ComparisonOperator::LessThanOrEqualToThreshold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_items_give_their_states_from_the_data_or_the_summary() {
        let data = r#"{"version":"1.0","oldState":{"stateValue":"OK"},"newState":{"stateValue":"ALARM","stateReasonData":{"queryDate":"2026-12-08T00:21:34+0000"}}}"#;
        let read = parse_history(Some(data), None).unwrap();
        assert_eq!((read.from, read.to), (State::OK, State::ALARM));
        assert_eq!(read.queried_ms, Some(1_796_689_294_000));
        let quoted = r#"{"oldState":{"stateValue":"OK"},"newState":{"stateValue":"ALARM","stateReasonData":"{\"queryDate\":\"2026-12-08T00:21:34.500+0000\"}"}}"#;
        assert_eq!(
            parse_history(Some(quoted), None).unwrap().queried_ms,
            Some(1_796_689_294_500)
        );
        let summary = "Alarm updated from INSUFFICIENT_DATA to OK";
        let read = parse_history(Some("{}"), Some(summary)).unwrap();
        assert_eq!(
            (read.from, read.to, read.queried_ms),
            (State::INSUFFICIENT_DATA, State::OK, None)
        );
        assert_eq!(parse_history(None, Some("Alarm created")), None);
    }
}
