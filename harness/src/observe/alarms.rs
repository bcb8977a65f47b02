//! What a run's alarms did, and the wait for them to settle.
//!
//! What a run's alarms did: their state history joined with the notifications their topic
//! delivered, and the wait for them to settle before the stages stop.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tickflow_pipeline::aws::Clients;

use tickflow_pipeline::chaos::{FaultRule, Fired};

use crate::error::Result;
use crate::infra::alarms::{AlarmSet, Change, POLL};
use crate::observe::queues::{deliveries, peek_all};
use crate::runtime::wait::{poll, Look};
use crate::verdict::alarms::{
    self, AlarmExpect, AlarmSeen, Alarms, AlarmsReport, State, Transition,
};
use crate::verdict::Failure;

/// One notification the alarm topic delivered: the alarm (its name on the target) and the
/// states it moved between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// `AlarmName`.
    pub alarm: String,
    /// `OldStateValue`.
    pub from: State,
    /// `NewStateValue`.
    pub to: State,
}

/// The alarm notifications among SNS envelopes (anything else, such as the subscription's
/// confirmation, is left out).
pub fn notifications(bodies: &[String]) -> Vec<Notification> {
    deliveries(bodies)
        .into_iter()
        .filter_map(|d| {
            let v: serde_json::Value = serde_json::from_str(&d.message).ok()?;
            Some(Notification {
                alarm: v["AlarmName"].as_str()?.to_string(),
                from: State::parse(v["OldStateValue"].as_str()?)?,
                to: State::parse(v["NewStateValue"].as_str()?)?,
            })
        })
        .collect()
}

/// Each alarm's transitions (seconds since `run_start_ms`), each marked notified when the
/// topic delivered a notification of the same change: the k-th notification of a change
/// (alarm, from, to) notifies its k-th transition.
pub fn join(
    set: &AlarmSet,
    history: &BTreeMap<String, Vec<Change>>,
    notes: &[Notification],
    datapoints: Option<&BTreeMap<String, u64>>,
    run_start_ms: i64,
) -> Vec<AlarmSeen> {
    set.alarms
        .iter()
        .map(|alarm| {
            let mut unclaimed: Vec<&Notification> =
                notes.iter().filter(|n| n.alarm == alarm.aws_name).collect();
            let changes = history
                .get(&alarm.name)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let transitions = changes
                .iter()
                .map(|c| {
                    let claimed = unclaimed
                        .iter()
                        .position(|n| n.from == c.from && n.to == c.to);
                    if let Some(i) = claimed {
                        unclaimed.remove(i);
                    }
                    Transition {
                        at_secs: (c.at_ms - run_start_ms) as f64 / 1_000.0,
                        from: c.from,
                        to: c.to,
                        notified: claimed.is_some(),
                    }
                })
                .collect();
            AlarmSeen {
                name: alarm.name.clone(),
                transitions,
                datapoints: datapoints.and_then(|d| d.get(&alarm.name).copied()),
            }
        })
        .collect()
}

/// Reads what every alarm did since `run_start_ms` (epoch): its history, the notifications,
/// the datapoints its metric received.
///
/// # Errors
/// A failing CloudWatch or SQS call.
pub async fn read(clients: &Clients, set: &AlarmSet, run_start_ms: i64) -> Result<Vec<AlarmSeen>> {
    let history = set.history(clients).await?;
    let peeked = peek_all(
        clients,
        &set.queue_url,
        Duration::from_secs(30),
        Duration::from_secs(2),
    )
    .await?;
    let notes = notifications(&peeked.bodies());
    let datapoints = set.datapoints(clients, run_start_ms).await?;
    Ok(join(set, &history, &notes, Some(&datapoints), run_start_ms))
}

/// Whether what `expect` asks of each alarm has shown in `history` (an alarm that must fire has
/// fired, one that must clear has cleared after it), and every alarm was evaluated.
fn decided(
    set: &AlarmSet,
    history: &BTreeMap<String, Vec<Change>>,
    expect: &BTreeMap<String, AlarmExpect>,
) -> bool {
    set.alarms.iter().all(|alarm| {
        let changes = history
            .get(&alarm.name)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let evaluated = changes.iter().any(|c| c.to != State::INSUFFICIENT_DATA);
        let wanted = expect.get(&alarm.name).cloned().unwrap_or_default();
        let fired = changes.iter().position(|c| c.to == State::ALARM);
        let cleared = fired.is_some_and(|i| {
            changes[i..]
                .iter()
                .any(|c| c.from == State::ALARM && c.to == State::OK)
        });
        evaluated && (!wanted.fires || fired.is_some()) && (!wanted.clears || cleared)
    })
}

/// Waits, while the stages still run, until the alarms have had `at_least` to evaluate the
/// run's last datapoints and what `expect` asks has shown, or `limit` passes (what did not
/// show is then the judge's to report). Returns how long it waited.
///
/// # Errors
/// A failing `DescribeAlarmHistory` call.
pub async fn settle(
    clients: &Clients,
    set: &AlarmSet,
    expect: &BTreeMap<String, AlarmExpect>,
    at_least: Duration,
    limit: Duration,
) -> Result<Duration> {
    let started = Instant::now();
    let waited = poll(limit, POLL, || async {
        let history = set.history(clients).await?;
        let done = started.elapsed() >= at_least && decided(set, &history, expect);
        Ok(if done {
            Look::Ready(())
        } else {
            Look::NotYet(())
        })
    })
    .await?;
    if waited.is_err() {
        tracing::info!(
            secs = limit.as_secs_f64(),
            "alarms did not show what was expected in time"
        );
    }
    Ok(started.elapsed())
}

/// Waits, stages running, until a run's alarms show what is expected of them: at least as long
/// as the longest alarm takes to evaluate the run's last datapoints, at most that three times
/// over plus the longest `within_secs` and a minute. Returns how long it waited, seconds.
///
/// # Errors
/// A failing `DescribeAlarmHistory` call.
pub async fn settle_run(clients: &Clients, set: &AlarmSet, alarms: &Alarms) -> Result<f64> {
    let span = alarms.longest_span();
    let at_least = Duration::from_secs_f64(span) + 2 * POLL;
    let limit = Duration::from_secs_f64(3.0 * span + alarms.longest_within() + 60.0);
    let waited = settle(clients, set, &alarms.expect, at_least, limit).await?;
    Ok(waited.as_secs_f64())
}

/// Where a run's faults fired: its schedule, what fired (each `at_ms` after the stages
/// started) and when the stages started, seconds into the run.
pub type FaultsPlaced<'a> = (&'a [FaultRule], &'a [Fired], f64);

/// What the run's stages published for its alarms, and how long the alarms took to settle.
pub type Monitored = (tickflow_pipeline::metrics::Published, f64);

/// Reads what a run's alarms did since `run_start_ms` (epoch) and judges it: the report's part
/// (with what was `monitored`), the failed checks and the held ones.
///
/// # Errors
/// A failing CloudWatch or SQS call.
pub async fn judge_run(
    clients: &Clients,
    (set, alarms): (&AlarmSet, &Alarms),
    run_start_ms: i64,
    (schedule, fired, stages_secs): FaultsPlaced<'_>,
    (published, settle_secs): Monitored,
) -> Result<(AlarmsReport, Vec<Failure>, Vec<Failure>)> {
    let seen = read(clients, set, run_start_ms).await?;
    let moment = |rule: usize| {
        let rule = schedule.get(rule.checked_sub(1)?)?;
        let first = fired.iter().find(|f| fired_by(rule, f))?;
        Some(stages_secs + first.at_ms as f64 / 1_000.0)
    };
    let (failed, held) = alarms::judge(&seen, &alarms.expect, &moment);
    let report = AlarmsReport {
        alarms: seen,
        published,
        settle_secs,
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
    use crate::infra::alarms::Made;
    use tickflow_pipeline::chaos::{FaultKind, Service};

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
    use State::*;

    fn set() -> AlarmSet {
        AlarmSet {
            alarms: vec![Made {
                name: "age".into(),
                aws_name: "tickflow-r-age".into(),
                namespace: "AWS/Kinesis".into(),
                metric: "GetRecords.IteratorAgeMilliseconds".into(),
                dimension: ("StreamName".into(), "s".into()),
            }],
            topic_arn: "arn".into(),
            queue_url: "url".into(),
        }
    }

    fn envelope(alarm: &str, from: &str, to: &str) -> String {
        let message =
            serde_json::json!({"AlarmName": alarm, "OldStateValue": from, "NewStateValue": to});
        serde_json::json!({"Type": "Notification", "Subject": "ALARM", "Message": message.to_string()}).to_string()
    }

    #[test]
    fn notifications_mark_the_transitions_they_tell_of_once_each() {
        let change = |at_ms, from, to| Change { at_ms, from, to };
        let history = BTreeMap::from([(
            "age".to_string(),
            vec![
                change(1_000, INSUFFICIENT_DATA, OK),
                change(5_000, OK, ALARM),
                change(9_000, ALARM, OK),
                change(12_000, OK, ALARM),
            ],
        )]);
        let bodies = vec![
            envelope("tickflow-r-age", "OK", "ALARM"),
            envelope("tickflow-r-age", "ALARM", "OK"),
            envelope("tickflow-other-age", "OK", "ALARM"),
            "{\"Type\":\"SubscriptionConfirmation\"}".to_string(),
        ];
        let notes = notifications(&bodies);
        assert_eq!(notes.len(), 3);
        let seen = join(&set(), &history, &notes, None, 0);
        let notified: Vec<bool> = seen[0].transitions.iter().map(|t| t.notified).collect();
        assert_eq!(notified, [false, true, true, false]);
        assert_eq!(seen[0].transitions[1].at_secs, 5.0);
    }

    #[test]
    fn an_expectation_is_decided_once_it_shows() {
        let change = |at_ms, from, to| Change { at_ms, from, to };
        let expect = BTreeMap::from([(
            "age".to_string(),
            AlarmExpect {
                fires: true,
                clears: true,
                ..AlarmExpect::default()
            },
        )]);
        let mut history =
            BTreeMap::from([("age".to_string(), vec![change(1, INSUFFICIENT_DATA, OK)])]);
        assert!(!decided(&set(), &history, &expect));
        history.get_mut("age").unwrap().push(change(2, OK, ALARM));
        assert!(!decided(&set(), &history, &expect));
        history.get_mut("age").unwrap().push(change(3, ALARM, OK));
        assert!(decided(&set(), &history, &expect));
        assert!(decided(&set(), &history, &BTreeMap::new()));
    }
}
