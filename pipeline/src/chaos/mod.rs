//! Infrastructure faults on a deterministic schedule: AWS calls that fail, hang or lose their
//! answer, stages that crash, an emulator that goes away.
//!
//! A [`Chaos`] holds a run's fault rules and decides, per AWS call, whether a fault fires: a pure
//! function of the seed, the service, the operation and the call's index (counted per service
//! and operation), so the same seed gives the same decisions and a recorded list of fired faults
//! replays exactly ([`rules_from_fired`]). The decision is taken by an SDK interceptor and carried
//! out by a wrapper around the SDK's HTTP client ([`inject`]), so it works against any endpoint,
//! real AWS included. Stages ask [`Chaos::crash_point`] at the moment a crash hurts most.

mod inject;
mod reply;
pub mod rule;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use inject::{FaultInterceptor, FaultyHttpClient};
pub use rule::{Call, FaultKind, FaultRule, Service, Stage};

/// A fault that fired, as a report lists it and `--faults-from` replays it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fired {
    /// What went wrong.
    pub kind: FaultKind,
    /// Call faults: the service and operation, and the call's index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Service>,
    /// See `service`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// See `service`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<u64>,
    /// `latency` and `timeout`: how long the call was held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// `crash`: the stage and its pass through the crash point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
    /// See `stage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass: Option<u64>,
    /// `outage`: how long the container was paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_secs: Option<f64>,
    /// When it fired, milliseconds from the start of the run's stages.
    pub at_ms: u64,
}

impl Fired {
    /// A moment fault (`outage`, `split_shard`) that fired `at_ms` into the run.
    pub fn moment(kind: FaultKind, at_ms: u64, for_secs: Option<f64>) -> Self {
        Self {
            kind,
            service: None,
            operation: None,
            call: None,
            latency_ms: None,
            stage: None,
            pass: None,
            for_secs,
            at_ms,
        }
    }

    /// What this fault hit, for a report line: `s3 PutObject #12`, `processor pass 2`.
    pub fn target(&self) -> String {
        match (
            self.service,
            &self.operation,
            self.call,
            self.stage,
            self.pass,
        ) {
            (Some(s), op, Some(call), _, _) => {
                format!("{} {} #{call}", s.name(), op.as_deref().unwrap_or("*"))
            }
            (_, _, _, Some(stage), Some(pass)) => format!("{} pass {pass}", stage.name()),
            _ => "localstack".to_string(),
        }
    }
}

/// What the HTTP layer must do to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Injection {
    /// The fault.
    pub kind: FaultKind,
    /// Service of the call (the error body follows its protocol).
    pub service: Service,
    /// `latency`, `timeout`: how long to hold the call.
    pub latency_ms: u64,
}

#[derive(Debug, Default)]
struct State {
    calls: HashMap<(Service, String), u64>,
    passes: BTreeMap<Stage, u64>,
    fired_by_rule: Vec<u64>,
    fired: Vec<Fired>,
}

/// A run's fault schedule and the record of what fired; shared by every faulty client and
/// stage of the run.
#[derive(Debug)]
pub struct Chaos {
    seed: u64,
    rules: Vec<FaultRule>,
    started: Instant,
    state: Mutex<State>,
}

impl Chaos {
    /// A schedule of `rules` decided by `seed`; time is counted from now.
    pub fn new(seed: u64, rules: Vec<FaultRule>) -> Self {
        let state = State {
            fired_by_rule: vec![0; rules.len()],
            ..State::default()
        };
        Self {
            seed,
            rules,
            started: Instant::now(),
            state: Mutex::new(state),
        }
    }

    /// The rules, as declared.
    pub fn rules(&self) -> &[FaultRule] {
        &self.rules
    }

    /// Milliseconds since the schedule started.
    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Counts one attempt of `operation` on `service` and says which fault, if any, it gets.
    /// The first rule that picks the call wins.
    pub fn on_call(&self, service: Service, operation: &str) -> Option<Injection> {
        let mut state = self.lock();
        let index = {
            let count = state
                .calls
                .entry((service, operation.to_string()))
                .or_insert(0);
            *count += 1;
            *count
        };
        let (position, rule) = self.rules.iter().enumerate().find(|(i, rule)| {
            rule.kind.is_call_fault()
                && rule.targets(service, operation)
                && rule.limit.is_none_or(|l| state.fired_by_rule[*i] < l)
                && !(rule.kind == FaultKind::ExpiredIterator && operation != "GetRecords")
                && rule.picks(index, || {
                    crate::draw::uniform(
                        self.seed,
                        &[
                            &(*i as u64).to_le_bytes(),
                            service.name().as_bytes(),
                            b"/",
                            operation.as_bytes(),
                            &index.to_le_bytes(),
                        ],
                    )
                })
        })?;
        state.fired_by_rule[position] += 1;
        let timed = matches!(rule.kind, FaultKind::Latency | FaultKind::Timeout);
        state.fired.push(Fired {
            service: Some(service),
            operation: Some(operation.to_string()),
            call: Some(index),
            latency_ms: timed.then_some(rule.latency_ms),
            ..Fired::moment(rule.kind, self.elapsed_ms(), None)
        });
        tracing::debug!(
            kind = rule.kind.name(),
            service = service.name(),
            operation,
            index,
            "fault"
        );
        Some(Injection {
            kind: rule.kind,
            service,
            latency_ms: rule.latency_ms,
        })
    }

    /// A stage reached its crash point: whether it must die now. Passes are counted over the
    /// run, across restarts.
    pub fn crash_point(&self, stage: Stage) -> bool {
        let mut state = self.lock();
        let pass = {
            let count = state.passes.entry(stage).or_insert(0);
            *count += 1;
            *count
        };
        let rule = self.rules.iter().position(|r| {
            r.kind == FaultKind::Crash && r.stage == Some(stage) && r.at.contains(&pass)
        });
        let crash = rule.is_some();
        if let Some(rule) = rule {
            state.fired_by_rule[rule] += 1;
            state.fired.push(Fired {
                stage: Some(stage),
                pass: Some(pass),
                ..Fired::moment(FaultKind::Crash, self.elapsed_ms(), None)
            });
            tracing::info!(stage = stage.name(), pass, "crashing the stage");
        }
        crash
    }

    /// Whether any rule crashes `stage` (a stage that may crash keeps durable state).
    pub fn crashes(&self, stage: Stage) -> bool {
        self.rules
            .iter()
            .any(|r| r.kind == FaultKind::Crash && r.stage == Some(stage))
    }

    /// Records a fault the harness carried out itself (an outage, a split) for the rule at
    /// `rule` in the schedule.
    pub fn record(&self, rule: usize, fired: Fired) {
        let mut state = self.lock();
        if let Some(count) = state.fired_by_rule.get_mut(rule) {
            *count += 1;
        }
        state.fired.push(fired);
    }

    /// Every (service, operation) the stages called through the schedule, with how many
    /// attempts each: what a rule could have named.
    pub fn calls(&self) -> Vec<(Service, String, u64)> {
        let mut calls: Vec<(Service, String, u64)> = self
            .lock()
            .calls
            .iter()
            .map(|((service, op), n)| (*service, op.clone(), *n))
            .collect();
        calls.sort();
        calls
    }

    /// How many faults each rule fired, by its place in the schedule.
    pub fn fired_by_rule(&self) -> Vec<u64> {
        self.lock().fired_by_rule.clone()
    }

    /// Every fault that fired so far, in the order they fired.
    pub fn fired(&self) -> Vec<Fired> {
        self.lock().fired.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The rules that fire exactly `fired` again: each call fault pinned to its operation and call
/// index, each crash to its pass, each outage and split to its moment.
pub fn rules_from_fired(fired: &[Fired]) -> Vec<FaultRule> {
    let mut calls: BTreeMap<(FaultKind, Service, String, u64), Vec<u64>> = BTreeMap::new();
    let mut crashes: BTreeMap<Stage, Vec<u64>> = BTreeMap::new();
    let mut rules = Vec::new();
    for f in fired {
        match (f.service, &f.operation, f.call, f.stage, f.pass) {
            (Some(service), Some(op), Some(call), _, _) => calls
                .entry((f.kind, service, op.clone(), f.latency_ms.unwrap_or(0)))
                .or_default()
                .push(call),
            (_, _, _, Some(stage), Some(pass)) => crashes.entry(stage).or_default().push(pass),
            _ => rules.push(FaultRule {
                after_secs: f.at_ms as f64 / 1_000.0,
                for_secs: f.for_secs.unwrap_or(0.0),
                ..FaultRule::new(f.kind)
            }),
        }
    }
    for ((kind, service, operation, latency_ms), calls) in calls {
        rules.push(FaultRule {
            service: Some(service),
            operation: Some(operation),
            calls,
            latency_ms,
            ..FaultRule::new(kind)
        });
    }
    for (stage, at) in crashes {
        rules.push(FaultRule {
            stage: Some(stage),
            at,
            ..FaultRule::new(FaultKind::Crash)
        });
    }
    rules
}

/// The fired list in a canonical order, without times: what two runs of the same schedule must
/// agree on.
pub fn fired_signature(fired: &[Fired]) -> Vec<String> {
    let mut lines: Vec<String> = fired
        .iter()
        .map(|f| format!("{} {}", f.kind.name(), f.target()))
        .collect();
    lines.sort();
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ratio_rule(kind: FaultKind, service: Service, ratio: f64) -> FaultRule {
        FaultRule {
            service: Some(service),
            ratio,
            ..FaultRule::new(kind)
        }
    }

    fn run(chaos: &Chaos, calls: usize) -> Vec<Option<FaultKind>> {
        (0..calls)
            .map(|i| {
                let op = if i % 3 == 0 { "PutObject" } else { "GetObject" };
                chaos.on_call(Service::S3, op).map(|inj| inj.kind)
            })
            .collect()
    }

    #[test]
    fn same_seed_same_decisions_another_seed_others() {
        let rules = vec![ratio_rule(FaultKind::Throttle, Service::S3, 0.2)];
        let a = run(&Chaos::new(1, rules.clone()), 3_000);
        assert_eq!(a, run(&Chaos::new(1, rules.clone()), 3_000));
        assert_ne!(a, run(&Chaos::new(2, rules), 3_000));
        let fired = a.iter().flatten().count();
        assert!((500..700).contains(&fired), "{fired}");
    }

    #[test]
    fn limits_and_operations_bound_what_fires_and_the_first_rule_wins() {
        let mut put = ratio_rule(FaultKind::ServerError, Service::S3, 1.0);
        put.operation = Some("PutObject".into());
        put.limit = Some(5);
        let all = ratio_rule(FaultKind::Latency, Service::S3, 1.0);
        let chaos = Chaos::new(
            3,
            vec![
                put,
                FaultRule {
                    latency_ms: 1,
                    ..all
                },
            ],
        );
        let kinds = run(&chaos, 90);
        let errors = kinds
            .iter()
            .filter(|k| **k == Some(FaultKind::ServerError))
            .count();
        assert_eq!(errors, 5);
        assert!(
            kinds.iter().all(Option::is_some),
            "the second rule takes the rest"
        );
        assert_eq!(chaos.on_call(Service::Sqs, "ReceiveMessage"), None);
    }

    #[test]
    fn the_fired_list_replays_exactly() {
        let rules = vec![
            ratio_rule(FaultKind::Reset, Service::S3, 0.1),
            FaultRule {
                stage: Some(Stage::Bridge),
                at: vec![2, 4],
                ..FaultRule::new(FaultKind::Crash)
            },
        ];
        let first = Chaos::new(11, rules);
        let decisions = run(&first, 500);
        let crashes: Vec<bool> = (0..5).map(|_| first.crash_point(Stage::Bridge)).collect();
        assert_eq!(crashes, [false, true, false, true, false]);

        let replay = Chaos::new(99, rules_from_fired(&first.fired()));
        assert_eq!(
            run(&replay, 500),
            decisions,
            "another seed, the same faults"
        );
        let again: Vec<bool> = (0..5).map(|_| replay.crash_point(Stage::Bridge)).collect();
        assert_eq!(again, crashes);
        assert_eq!(
            fired_signature(&replay.fired()),
            fired_signature(&first.fired())
        );
    }

    #[test]
    fn expired_iterators_only_hit_get_records() {
        let rule = ratio_rule(FaultKind::ExpiredIterator, Service::Kinesis, 1.0);
        let chaos = Chaos::new(0, vec![rule]);
        assert_eq!(chaos.on_call(Service::Kinesis, "PutRecords"), None);
        assert!(chaos.on_call(Service::Kinesis, "GetRecords").is_some());
    }
}
