//! Which fault fires on each call and crash point, and the record of what fired.
//!
//! A run's fault schedule deciding, call by call and crash point by crash point, what fires,
//! and keeping the record of it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Instant;

use super::fired::Fired;
use super::rule::{FaultKind, FaultRule, Service, Stage};

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

/// What a delivery fault does to one message a stage received.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Delivery {
    /// Deliver it again: a copy goes back to the queue; this one is handled as usual.
    Duplicate,
    /// Hide it this many seconds: it is handled when it comes back.
    Delay(f64),
    /// Delete it unhandled: its events are lost.
    Lose,
}

#[derive(Debug, Default)]
struct State {
    calls: HashMap<(Service, String), u64>,
    passes: BTreeMap<Stage, u64>,
    messages: BTreeMap<Stage, u64>,
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

    /// A stage reached its crash point: whether it must die now. A stall scheduled for this
    /// pass never returns (the stage wedges, holding what it has, until its task is dropped).
    /// Passes are counted over the run, across restarts.
    pub async fn crash_point(&self, stage: Stage) -> bool {
        match self.halt(stage) {
            Some(FaultKind::Stall) => std::future::pending().await,
            halted => halted.is_some(),
        }
    }

    /// [`Chaos::crash_point`] for a stage that may run without a schedule (`None`: it never
    /// crashes).
    pub async fn crash_point_of(chaos: Option<&Chaos>, stage: Stage) -> bool {
        match chaos {
            Some(chaos) => chaos.crash_point(stage).await,
            None => false,
        }
    }

    /// Counts a pass of `stage` through its crash point and says which fault, if any, fires
    /// there (a crash or a stall).
    fn halt(&self, stage: Stage) -> Option<FaultKind> {
        let mut state = self.lock();
        let pass = {
            let count = state.passes.entry(stage).or_insert(0);
            *count += 1;
            *count
        };
        let rule = self.rules.iter().position(|r| {
            r.kind.at_crash_point() && r.stage == Some(stage) && r.at.contains(&pass)
        })?;
        let kind = self.rules[rule].kind;
        state.fired_by_rule[rule] += 1;
        state.fired.push(Fired {
            stage: Some(stage),
            pass: Some(pass),
            ..Fired::moment(kind, self.elapsed_ms(), None)
        });
        tracing::info!(
            stage = stage.name(),
            pass,
            kind = kind.name(),
            "the fault schedule halts the stage"
        );
        Some(kind)
    }

    /// Counts one message `stage` received for the first time and says what a delivery fault
    /// does to it, if one picks it (by its index, 1-based over the run: listed in `at`, or drawn
    /// by the seed).
    pub fn on_delivery(&self, stage: Stage) -> Option<Delivery> {
        let mut state = self.lock();
        let index = {
            let count = state.messages.entry(stage).or_insert(0);
            *count += 1;
            *count
        };
        let (position, rule) = self.rules.iter().enumerate().find(|(i, rule)| {
            rule.kind.is_delivery_fault()
                && rule.stage == Some(stage)
                && rule.limit.is_none_or(|l| state.fired_by_rule[*i] < l)
                && (rule.at.contains(&index)
                    || rule.picks(index, || {
                        crate::draw::uniform(
                            self.seed,
                            &[
                                &(*i as u64).to_le_bytes(),
                                stage.name().as_bytes(),
                                b"/message/",
                                &index.to_le_bytes(),
                            ],
                        )
                    }))
        })?;
        state.fired_by_rule[position] += 1;
        let lasting = (rule.kind == FaultKind::Delay).then_some(rule.for_secs);
        state.fired.push(Fired {
            stage: Some(stage),
            pass: Some(index),
            ..Fired::moment(rule.kind, self.elapsed_ms(), lasting)
        });
        tracing::debug!(
            kind = rule.kind.name(),
            stage = stage.name(),
            index,
            "delivery fault"
        );
        Some(match rule.kind {
            FaultKind::Delay => Delivery::Delay(rule.for_secs),
            FaultKind::Lose => Delivery::Lose,
            _ => Delivery::Duplicate,
        })
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
