//! What fired, as reports list it, and the rules that fire exactly that again (`--faults-from`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::rule::{FaultKind, FaultRule, Service, Stage};

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
