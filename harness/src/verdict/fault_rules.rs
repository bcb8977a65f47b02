//! Every fault rule must be able to fire, and must fire, in every flow.
//!
//! Every fault rule must be able to fire, and must fire: before a run, a rule naming a call no
//! stage of the run makes (a misspelt operation, a service the flow does not call, a consumer
//! the scenario lacks) is refused; after it, `faults.rules` fails a run in which a rule that
//! lists its calls or passes, or sets a moment, fired nothing, and the report lists each rule's
//! fires. A flow's `[faults]` with a schedule alone is [`FaultSchedule`].

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tickflow_pipeline::chaos::{Call, Chaos, FaultKind, FaultRule, Fired, Service, Stage};

use std::sync::Arc;

use tickflow_pipeline::aws::Clients;

use super::checks::Checks;
use super::failure::Failure;
use super::record::Verdict;

/// Most rules in a fault schedule.
pub const MAX_RULES: usize = 1_000;

/// The PostgreSQL fault kinds: what a flow that loads into PostgreSQL takes.
pub const DATABASE_FAULTS: &[FaultKind] = &[
    FaultKind::DbTerminate,
    FaultKind::DbPause,
    FaultKind::DbLock,
];

/// The kinds that act on the messages a stage receives from its queue: what a flow whose
/// stages take every message at least once takes.
pub const DELIVERY_FAULTS: &[FaultKind] = &[FaultKind::Duplicate, FaultKind::Delay];

/// The kinds decided per call that any service takes (an expired iterator is Kinesis's alone):
/// what a flow with calls but no crash points, outage or stream takes.
pub const CALL_FAULTS: &[FaultKind] = &[
    FaultKind::Throttle,
    FaultKind::ServerError,
    FaultKind::Timeout,
    FaultKind::Reset,
    FaultKind::Latency,
];

/// The check's name.
pub const CHECK: &str = "faults.rules";

/// Problems with `schedule` against the `calls` a run's stages make, as (key, message), the
/// key dotted from the file's top (`faults.schedule.2.operation`); `hint` adds why a service is
/// not called, where the flow knows.
pub fn check_targets(
    schedule: &[FaultRule],
    calls: &[Call],
    hint: impl Fn(Service) -> &'static str,
) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let services: BTreeSet<Service> = calls.iter().map(|(s, _)| *s).collect();
    for (i, rule) in schedule.iter().enumerate() {
        let Some(service) = rule.service else {
            continue;
        };
        let name = service.name();
        if !services.contains(&service) {
            let hint = hint(service);
            problems.push((
                format!("faults.schedule.{i}.service"),
                format!("no stage of this run calls {name}{hint}: the rule could never fire"),
            ));
            continue;
        }
        if let Some(operation) = &rule.operation {
            if !calls.contains(&(service, operation.as_str())) {
                let known: Vec<&str> = calls
                    .iter()
                    .filter(|(s, _)| *s == service)
                    .map(|(_, op)| *op)
                    .collect();
                problems.push((
                    format!("faults.schedule.{i}.operation"),
                    format!(
                        "no stage of this run calls {operation} on {name} (it calls {}): the \
                         rule could never fire",
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    problems
}

/// `[faults]` of a flow whose faults are a schedule alone (no record faults).
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultSchedule {
    /// Faults on AWS calls, each decided by the seed and the call's index.
    #[serde(default)]
    pub schedule: Vec<FaultRule>,
}

impl FaultSchedule {
    /// Replaces the schedule with `schedule` when [`FaultSchedule::check`] finds nothing wrong
    /// with it (`flow`, `kinds` and `calls` as there); else keeps it and returns the problems.
    pub fn replace(
        &mut self,
        schedule: Vec<FaultRule>,
        flow: &str,
        kinds: &[FaultKind],
        stages: &[Stage],
        calls: &[Call],
    ) -> Vec<(String, String)> {
        let replaced = Self { schedule };
        let problems = replaced.check(flow, kinds, stages, calls);
        if problems.is_empty() {
            *self = replaced;
        }
        problems
    }

    /// Problems with the schedule, as (dotted key, message): each rule's own, a kind `flow`
    /// has no place for (only `kinds` apply), a crash of a stage that is not one of `stages`,
    /// and a call no stage of the run makes.
    pub fn check(
        &self,
        flow: &str,
        kinds: &[FaultKind],
        stages: &[Stage],
        calls: &[Call],
    ) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        for (i, rule) in self.schedule.iter().enumerate() {
            if !kinds.contains(&rule.kind) {
                let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
                problems.push((
                    format!("faults.schedule.{i}.kind"),
                    format!(
                        "the {flow} flow has no place for a {} fault (it takes {})",
                        rule.kind.name(),
                        names.join(", ")
                    ),
                ));
            }
        }
        problems.extend(schedule_problems(&self.schedule));
        problems.extend(check_stages(&self.schedule, flow, stages));
        problems.extend(check_targets(&self.schedule, calls, |_| ""));
        problems
    }
}

/// A crash of a stage that is not one of `flow`'s `stages`, as (dotted key, message).
pub fn check_stages(schedule: &[FaultRule], flow: &str, stages: &[Stage]) -> Vec<(String, String)> {
    let names: Vec<&str> = stages.iter().map(|s| s.name()).collect();
    schedule
        .iter()
        .enumerate()
        .filter_map(|(i, rule)| {
            let stage = rule.stage.filter(|s| !stages.contains(s))?;
            Some((
                format!("faults.schedule.{i}.stage"),
                format!(
                    "the {flow} flow has no stage {:?} (its stages: {})",
                    stage.name(),
                    names.join(", ")
                ),
            ))
        })
        .collect()
}

/// What a flow's fault schedule did in one run: the faults fired, each rule's fires, and the
/// calls the stages made (what a rule could have named); empty without a schedule.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FaultsOfRun {
    /// Every fault fired, in order (what `--faults-from` replays).
    pub fired: Vec<Fired>,
    /// Each rule and what it fired.
    pub rules: Vec<RuleFires>,
    /// Attempts per `service Operation` the stages made.
    pub calls: BTreeMap<String, u64>,
}

impl FaultsOfRun {
    /// What `chaos`, which ran `schedule`, fired and saw.
    pub fn of(schedule: &[FaultRule], chaos: &Chaos) -> Self {
        Self {
            fired: chaos.fired(),
            rules: fires(schedule, &chaos.fired_by_rule()),
            calls: chaos
                .calls()
                .into_iter()
                .map(|(service, op, n)| (format!("{} {op}", service.name()), n))
                .collect(),
        }
    }

    /// Whether the run had no schedule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Each rule and what it fired, as an HTML table (nothing without a schedule).
    pub fn html(&self) -> String {
        if self.is_empty() {
            return String::new();
        }
        crate::render::html::table(&["rule", "what", "fired"], rows(&self.rules))
    }

    /// What each rule fired, into a report's deterministic snapshot `view` (nothing without a
    /// schedule): listed calls fire the same in every run of the seed; a rule that draws a
    /// share of the calls fires as often as the run made calls, which retries and redeliveries
    /// vary, so it is `"drawn"` there.
    pub fn snapshot_into(&self, view: &mut serde_json::Value) {
        if !self.is_empty() {
            let fired: Vec<serde_json::Value> = self
                .rules
                .iter()
                .map(|r| match r.must_fire {
                    true => r.fired.into(),
                    false => "drawn".into(),
                })
                .collect();
            view["faults_fired_by_rule"] = serde_json::json!(fired);
        }
    }

    /// The rules and their fires, a line each, for the text report (nothing without a
    /// schedule).
    pub fn text(&self) -> String {
        if self.is_empty() {
            return String::new();
        }
        let mut out = format!("\nfaults ({} fired)\n", self.fired.len());
        for [rule, what, fired] in rows(&self.rules) {
            out.push_str(&format!("  {rule:<20} {what:<48} {fired}\n"));
        }
        out
    }
}

/// A flow's fault schedule during a run: the chaos its stages' clients carry (none without a
/// schedule), and afterwards what it fired, judged. The batch and price-file drivers hold one.
pub struct StageFaults {
    schedule: Vec<FaultRule>,
    chaos: Option<Arc<Chaos>>,
}

impl StageFaults {
    /// `schedule`, decided by `seed`.
    pub fn new(seed: u64, schedule: &[FaultRule]) -> Self {
        let chaos = (!schedule.is_empty()).then(|| Arc::new(Chaos::new(seed, schedule.to_vec())));
        Self {
            schedule: schedule.to_vec(),
            chaos,
        }
    }

    /// The decisions and the record of the schedule, for faults the harness carries out
    /// itself (a moment, the database's); `None` without a schedule.
    pub fn chaos(&self) -> Option<&Arc<Chaos>> {
        self.chaos.as_ref()
    }

    /// The clients the stages use: `clients`, suffering the schedule when there is one (the
    /// harness keeps `clients` for its uploads and read-back).
    pub fn clients(&self, clients: &Clients) -> Clients {
        clients.faulted_by(self.chaos.as_ref())
    }

    /// What the schedule did, with `faults.rules` added to `verdict`; empty, and nothing added,
    /// without a schedule.
    pub fn judged(&self, verdict: &mut Verdict) -> FaultsOfRun {
        let Some(chaos) = &self.chaos else {
            return FaultsOfRun::default();
        };
        let faults = FaultsOfRun::of(&self.schedule, chaos);
        let (check, holds) = check(&faults.rules, &[]);
        let mut checks = Checks::default();
        checks.record(check, holds);
        verdict.add_checks(checks);
        faults
    }
}

/// A schedule's own problems, whatever the flow: too many rules, and each rule's keys against
/// its kind.
pub fn schedule_problems(schedule: &[FaultRule]) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    if schedule.len() > MAX_RULES {
        problems.push((
            "faults.schedule".into(),
            format!("at most {MAX_RULES} rules, got {}", schedule.len()),
        ));
    }
    for (i, rule) in schedule.iter().enumerate() {
        for (key, message) in rule.check() {
            problems.push((format!("faults.schedule.{i}.{key}"), message));
        }
    }
    problems
}

/// One rule and what it fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleFires {
    /// Its place in the schedule (0-based, as `faults.schedule.N`).
    pub rule: usize,
    /// What it does and where: `throttle s3 PutObject calls [1, 2]`.
    pub what: String,
    /// Faults it fired.
    pub fired: u64,
    /// Whether it must fire: it lists its calls or passes, or sets a moment (a rule of drawn
    /// calls alone may draw none in a small run).
    pub must_fire: bool,
}

/// Each rule of `schedule` with its fires (`fired`, by rule).
pub fn fires(schedule: &[FaultRule], fired: &[u64]) -> Vec<RuleFires> {
    schedule
        .iter()
        .enumerate()
        .map(|(i, rule)| RuleFires {
            rule: i,
            what: describe(rule),
            fired: fired.get(i).copied().unwrap_or(0),
            must_fire: !rule.calls.is_empty() || !rule.at.is_empty() || rule.fires_at_a_moment(),
        })
        .collect()
}

/// The check: every rule that must fire fired (`skipped` says why a moment did not come).
pub fn check(rules: &[RuleFires], skipped: &[String]) -> (Failure, bool) {
    let silent: Vec<&RuleFires> = rules
        .iter()
        .filter(|r| r.must_fire && r.fired == 0)
        .collect();
    let mut examples: Vec<String> = silent
        .iter()
        .map(|r| format!("faults.schedule.{} ({}): fired nothing", r.rule, r.what))
        .collect();
    examples.extend(skipped.iter().cloned());
    let fired: u64 = rules.iter().map(|r| r.fired).sum();
    let failure = Failure {
        check: CHECK.into(),
        expected: format!(
            "each of the {} rules that list calls or passes or set a moment fired",
            rules.iter().filter(|r| r.must_fire).count()
        ),
        actual: format!(
            "{fired} faults fired by {} rules; {} fired nothing",
            rules.len(),
            silent.len()
        ),
        examples,
    };
    (failure, silent.is_empty() && skipped.is_empty())
}

/// A rule in a line: its kind, where, and when.
pub fn describe(rule: &FaultRule) -> String {
    let mut parts = vec![rule.kind.name().to_string()];
    if let Some(service) = rule.service {
        parts.push(service.name().into());
        parts.push(rule.operation.clone().unwrap_or_else(|| "*".into()));
    }
    if let Some(stage) = rule.stage {
        parts.push(stage.name().into());
    }
    if !rule.calls.is_empty() {
        parts.push(format!("calls {:?}", rule.calls));
    }
    if rule.ratio > 0.0 {
        parts.push(format!("ratio {}", rule.ratio));
    }
    if !rule.at.is_empty() {
        parts.push(format!("at {:?}", rule.at));
    }
    if rule.fires_at_a_moment() {
        parts.push(format!("after {} s", rule.after_secs));
    }
    if rule.kind.lasts() {
        parts.push(format!("for {} s", rule.for_secs));
    }
    parts.join(" ")
}

/// The fires as a table's rows: rule, what, fired.
pub fn rows(rules: &[RuleFires]) -> Vec<[String; 3]> {
    rules
        .iter()
        .map(|r| {
            let fired = if r.must_fire && r.fired == 0 {
                "0 (must fire)".to_string()
            } else {
                r.fired.to_string()
            };
            [format!("faults.schedule.{}", r.rule), r.what.clone(), fired]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickflow_pipeline::chaos::Stage;

    fn rule(kind: FaultKind, service: Option<Service>, op: Option<&str>) -> FaultRule {
        FaultRule {
            service,
            operation: op.map(str::to_string),
            calls: vec![1],
            ..FaultRule::new(kind)
        }
    }

    const CALLS: &[Call] = &[
        (Service::S3, "PutObject"),
        (Service::S3, "GetObject"),
        (Service::Kinesis, "PutRecords"),
    ];

    #[test]
    fn a_rule_naming_a_call_no_stage_makes_is_refused_at_its_key() {
        let schedule = vec![
            rule(FaultKind::Throttle, Some(Service::S3), Some("PutObject")),
            rule(FaultKind::Throttle, Some(Service::S3), Some("PutObjects")),
            rule(FaultKind::ServerError, Some(Service::Sns), Some("Publish")),
            rule(FaultKind::ServerError, Some(Service::Firehose), None),
            rule(FaultKind::Throttle, Some(Service::Kinesis), None),
        ];
        let hint = |s: Service| if s == Service::Sns { " (a hint)" } else { "" };
        let problems = check_targets(&schedule, CALLS, hint);
        let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "faults.schedule.1.operation",
                "faults.schedule.2.service",
                "faults.schedule.3.service"
            ]
        );
        assert!(
            problems[0]
                .1
                .contains("PutObjects on s3 (it calls PutObject, GetObject)"),
            "{problems:?}"
        );
        assert!(
            problems[1].1.contains("calls sns (a hint): the rule"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_schedule_alone_refuses_a_kind_its_flow_has_no_place_for() {
        let faults = FaultSchedule {
            schedule: vec![
                rule(FaultKind::Throttle, Some(Service::S3), Some("PutObject")),
                FaultRule {
                    after_secs: 1.0,
                    ..FaultRule::new(FaultKind::SplitShard)
                },
                rule(FaultKind::Reset, Some(Service::Kinesis), None),
                FaultRule {
                    stage: Some(Stage::Bridge),
                    at: vec![1],
                    ..FaultRule::new(FaultKind::Crash)
                },
            ],
        };
        let problems = faults.check(
            "batch",
            &[FaultKind::Throttle, FaultKind::Reset, FaultKind::Crash],
            &Stage::BATCH,
            CALLS[..2].as_ref(),
        );
        let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "faults.schedule.1.kind",
                "faults.schedule.3.stage",
                "faults.schedule.2.service"
            ],
            "{problems:?}"
        );
        assert!(
            problems[0]
                .1
                .contains("the batch flow has no place for a split_shard fault"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_rule_that_must_fire_and_fired_nothing_fails_and_a_drawn_one_may_not_fire() {
        let schedule = vec![
            rule(FaultKind::Throttle, Some(Service::S3), Some("PutObject")),
            FaultRule {
                service: Some(Service::S3),
                ratio: 0.01,
                ..FaultRule::new(FaultKind::Throttle)
            },
            FaultRule {
                stage: Some(Stage::Bridge),
                at: vec![3],
                ..FaultRule::new(FaultKind::Crash)
            },
        ];
        let fired = fires(&schedule, &[2, 0, 1]);
        assert!(check(&fired, &[]).1);
        let fired = fires(&schedule, &[2, 0, 0]);
        let (failure, holds) = check(&fired, &[]);
        assert!(!holds);
        assert_eq!(
            failure.examples,
            ["faults.schedule.2 (crash bridge at [3]): fired nothing"]
        );
        assert_eq!(rows(&fired)[2][2], "0 (must fire)");
        assert_eq!(rows(&fired)[1][2], "0");
    }
}
