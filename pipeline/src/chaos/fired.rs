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
    /// `crash`: the stage and its pass through the crash point; `duplicate`, `delay`: the stage
    /// and the index of the message it hit; `db_terminate`, `db_pause`: the loader's `COPY` it
    /// hit (no stage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
    /// See `stage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass: Option<u64>,
    /// `outage`, `db_pause`, `db_lock`, `delay`: how long the container was paused, the lock
    /// held or the message hidden.
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

    /// A database fault (`db_terminate`, `db_pause`) that hit the loader's `pass`-th `COPY`,
    /// `at_ms` into the run.
    pub fn on_copy(kind: FaultKind, pass: u64, at_ms: u64, for_secs: Option<f64>) -> Self {
        Self {
            pass: Some(pass),
            ..Self::moment(kind, at_ms, for_secs)
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
            (_, _, _, Some(stage), Some(index)) if self.kind.is_delivery_fault() => {
                format!("{} message {index}", stage.name())
            }
            (_, _, _, Some(stage), Some(pass)) => format!("{} pass {pass}", stage.name()),
            (_, _, _, None, Some(pass)) => format!("postgres COPY #{pass}"),
            _ if self.kind.is_database_fault() => "postgres".to_string(),
            _ => "localstack".to_string(),
        }
    }
}

/// The rules that fire exactly `fired` again: each call fault pinned to its operation and call
/// index, each crash to its pass, each database fault on a `COPY` to that `COPY`, each outage,
/// split and lock to its moment.
pub fn rules_from_fired(fired: &[Fired]) -> Vec<FaultRule> {
    let mut calls: BTreeMap<(FaultKind, Service, String, u64), Vec<u64>> = BTreeMap::new();
    let mut crashes: BTreeMap<(FaultKind, Stage), Vec<u64>> = BTreeMap::new();
    let mut deliveries: BTreeMap<(FaultKind, Stage, u64), Vec<u64>> = BTreeMap::new();
    let mut copies: BTreeMap<(FaultKind, u64), Vec<u64>> = BTreeMap::new();
    let mut rules = Vec::new();
    for f in fired {
        match (f.service, &f.operation, f.call, f.stage, f.pass) {
            (Some(service), Some(op), Some(call), _, _) => calls
                .entry((f.kind, service, op.clone(), f.latency_ms.unwrap_or(0)))
                .or_default()
                .push(call),
            (_, _, _, Some(stage), Some(index)) if f.kind.is_delivery_fault() => {
                let lasting = f.for_secs.unwrap_or(0.0).to_bits();
                deliveries
                    .entry((f.kind, stage, lasting))
                    .or_default()
                    .push(index);
            }
            (_, _, _, Some(stage), Some(pass)) => {
                crashes.entry((f.kind, stage)).or_default().push(pass);
            }
            (_, _, _, None, Some(pass)) => {
                let lasting = f.for_secs.unwrap_or(0.0).to_bits();
                copies.entry((f.kind, lasting)).or_default().push(pass);
            }
            _ => rules.push(FaultRule {
                // A kind that may fire at passes reads a moment of 0 as none: 1 ms is one.
                after_secs: match f.kind.fires_at_passes_or_a_moment() {
                    true => (f.at_ms.max(1)) as f64 / 1_000.0,
                    false => f.at_ms as f64 / 1_000.0,
                },
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
    for ((kind, lasting), at) in copies {
        rules.push(FaultRule {
            at,
            for_secs: f64::from_bits(lasting),
            ..FaultRule::new(kind)
        });
    }
    for ((kind, stage, lasting), at) in deliveries {
        rules.push(FaultRule {
            stage: Some(stage),
            at,
            for_secs: f64::from_bits(lasting),
            ..FaultRule::new(kind)
        });
    }
    for ((kind, stage), at) in crashes {
        rules.push(FaultRule {
            stage: Some(stage),
            at,
            ..FaultRule::new(kind)
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

    #[test]
    fn database_faults_replay_as_the_copies_and_moments_they_hit() {
        let fired = [
            Fired::on_copy(FaultKind::DbTerminate, 1, 900, None),
            Fired::on_copy(FaultKind::DbTerminate, 3, 2_500, None),
            Fired::on_copy(FaultKind::DbPause, 2, 1_700, Some(3.0)),
            Fired::moment(FaultKind::DbLock, 0, Some(2.0)),
        ];
        let rules = rules_from_fired(&fired);
        let described: Vec<(FaultKind, Vec<u64>, f64, f64)> = rules
            .iter()
            .map(|r| (r.kind, r.at.clone(), r.after_secs, r.for_secs))
            .collect();
        assert_eq!(
            described,
            [
                (FaultKind::DbLock, vec![], 0.0, 2.0),
                (FaultKind::DbTerminate, vec![1, 3], 0.0, 0.0),
                (FaultKind::DbPause, vec![2], 0.0, 3.0),
            ]
        );
        assert!(rules.iter().all(|r| r.check().is_empty()), "{rules:#?}");
        assert_eq!(fired[0].target(), "postgres COPY #1");
        assert_eq!(fired[3].target(), "postgres");
    }
}
