//! Shrinking a failing scenario to a small one that fails the same way.
//!
//! Shrinking a failing scenario, delta-debugging style: fewer events first (a stream scenario's),
//! then fewer faults (any flow's schedule), keeping only steps after which the scenario still
//! fails the same way in at least `k` of `n` runs (a step that fails only sometimes is not
//! taken). The result is a scenario file with the fault list pinned to what fired, so that it
//! replays.
//!
//! A stream run is judged on the invariants (reconciliation, queues, notifications, run status)
//! and on the scenario's latency bounds alone: its other `[expect]` assertions state counts of
//! the full scenario (`found = 5000`, `faults_fired`, partition sizes), which a smaller one
//! would fail "the same way" whatever became of the cause. The batch and price-file flows'
//! input is fixed by the seed (or a directory), so their `[expect]` holds for every candidate
//! and stays.

use std::collections::BTreeSet;
use std::future::Future;

use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::chaos::{rules_from_fired, FaultRule, Fired};

use crate::flows::stream::scenario::{Expect, StreamFile};

use crate::error::{Error, Result};
use crate::scenario::{self, Outcome, Scenario};

/// What the shrinker needs to know of one run: the checks it failed (empty: it passed), the
/// faults that fired, and the error that kept it from completing, if one did (the shrinker
/// stops on it: an error is not the failure being shrunk).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    /// Failed checks.
    pub failed: BTreeSet<String>,
    /// Faults that fired.
    pub fired: Vec<Fired>,
    /// Why the run did not complete.
    pub error: Option<String>,
}

impl From<&Outcome> for Verdict {
    fn from(outcome: &Outcome) -> Self {
        Self {
            failed: outcome.failures().iter().map(|f| f.check.clone()).collect(),
            fired: outcome
                .report
                .as_ref()
                .map(|r| r.report().faults_fired())
                .unwrap_or_default(),
            error: outcome.error.clone(),
        }
    }
}

/// How hard the shrinker tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShrinkConfig {
    /// Runs of each candidate (`n`).
    pub runs: u32,
    /// Of those, how many must fail the same way for the step to be taken (`k`).
    pub min_failures: u32,
    /// Fewest events to try (at least 1).
    pub min_events: u64,
}

impl Default for ShrinkConfig {
    fn default() -> Self {
        Self {
            runs: 3,
            min_failures: 2,
            min_events: 10,
        }
    }
}

/// The smallest scenario found, and how it was found.
#[derive(Debug, Clone)]
pub struct Shrunk {
    /// The reduced scenario (its `[faults] schedule` pinned).
    pub scenario: Scenario,
    /// The checks it fails, as the original did.
    pub failing_checks: BTreeSet<String>,
    /// One line per step tried: what, and whether it was taken.
    pub steps: Vec<String>,
    /// Runs made in all.
    pub runs: u32,
}

/// How candidates are run, and the shrinker's settings.
struct Runner<R> {
    run: R,
    config: ShrinkConfig,
    runs: u32,
    steps: Vec<String>,
    /// The checks the original failed; a candidate fails "the same way" when it fails one.
    failing: BTreeSet<String>,
}

/// Shrinks `original`, which must fail in at least `k` of `n` runs against `clients`, with
/// `infra` (the container an outage may pause, the PostgreSQL a web source stores into).
///
/// # Errors
/// The original not failing often enough (nothing to shrink), `k` > `n`, `min_events` of 0, or
/// a run that could not complete (its error, with the step that ran it).
pub async fn shrink(
    original: &Scenario,
    clients: &Clients,
    infra: scenario::Infra<'_>,
    config: ShrinkConfig,
) -> Result<Shrunk> {
    let run = |candidate: Scenario| async move {
        Verdict::from(&scenario::execute(&candidate, clients, infra).await)
    };
    shrink_with(original, config, run).await
}

/// [`shrink`] with candidates judged by `run`.
///
/// # Errors
/// As [`shrink`].
pub async fn shrink_with<R, Fut>(
    original: &Scenario,
    config: ShrinkConfig,
    run: R,
) -> Result<Shrunk>
where
    R: FnMut(Scenario) -> Fut,
    Fut: Future<Output = Verdict>,
{
    if config.min_failures == 0 || config.min_failures > config.runs {
        return Err(Error::Input(format!(
            "shrink needs 1 <= k <= n, got k = {} and n = {}",
            config.min_failures, config.runs
        )));
    }
    if config.min_events == 0 {
        return Err(Error::Input(
            "shrink needs --min-events of at least 1 (a run of no events proves nothing)".into(),
        ));
    }
    let mut runner = Runner {
        run,
        config,
        runs: 0,
        steps: Vec::new(),
        failing: BTreeSet::new(),
    };
    let judged = judged_on_what_scales(original);
    let (fails, verdicts) = runner.trial(&judged, "original").await?;
    let Some(first) = verdicts.into_iter().find(|v| !v.failed.is_empty()) else {
        return Err(Error::Input(format!(
            "{} passed all {} runs on the invariants and its latency bounds: there is no \
             failure to shrink (its other [expect] counts are the full scenario's, and no smaller \
             one could be held to them)",
            original.name(),
            config.runs
        )));
    };
    runner.failing = first.failed.clone();
    if fails < config.min_failures {
        return Err(Error::Input(format!(
            "{} failed only {fails} of {} runs (k = {}): too flaky to shrink; raise --runs or \
             lower --min-failures",
            original.name(),
            config.runs,
            config.min_failures
        )));
    }
    runner.steps.push(format!(
        "original: fails {fails}/{} ({})",
        config.runs,
        runner
            .failing
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let mut best = judged;
    let fired = first.fired.clone();
    if !fired.is_empty() {
        let pinned = with_schedule(&best, rules_from_fired(&fired))?;
        if runner
            .still_fails(&pinned, "pin the schedule to the faults that fired")
            .await?
        {
            best = pinned;
        }
    }
    best = runner.fewer_events(best).await?;
    best = runner.fewer_faults(best).await?;
    best = runner.fewer_data_faults(best).await?;
    Ok(Shrunk {
        scenario: best,
        failing_checks: runner.failing,
        steps: runner.steps,
        runs: runner.runs,
    })
}

impl<R, Fut> Runner<R>
where
    R: FnMut(Scenario) -> Fut,
    Fut: Future<Output = Verdict>,
{
    /// Runs `candidate` (for `step`) up to `n` times, stopping once the verdict is decided:
    /// the number of runs that failed the same way, and every verdict.
    ///
    /// # Errors
    /// A run that did not complete: shrinking stops there, saying which step it was.
    async fn trial(&mut self, candidate: &Scenario, step: &str) -> Result<(u32, Vec<Verdict>)> {
        let mut verdicts = Vec::new();
        let mut fails = 0;
        for _ in 0..self.config.runs {
            let verdict = (self.run)(candidate.clone()).await;
            self.runs += 1;
            if let Some(error) = &verdict.error {
                return Err(Error::Input(format!(
                    "a run of {} ({step}) did not complete, so shrinking stops: {error}",
                    candidate.name()
                )));
            }
            if self.same_failure(&verdict) {
                fails += 1;
            }
            verdicts.push(verdict);
            let left = self.config.runs - verdicts.len() as u32;
            if fails >= self.config.min_failures || fails + left < self.config.min_failures {
                break;
            }
        }
        Ok((fails, verdicts))
    }

    /// Failed, and (once the original's failure is known) in one of its checks.
    fn same_failure(&self, verdict: &Verdict) -> bool {
        !verdict.failed.is_empty()
            && (self.failing.is_empty() || !verdict.failed.is_disjoint(&self.failing))
    }

    /// Whether `candidate` fails the same way in `k` of `n` runs; logs the step.
    async fn still_fails(&mut self, candidate: &Scenario, step: &str) -> Result<bool> {
        let (fails, _) = self.trial(candidate, step).await?;
        let taken = fails >= self.config.min_failures;
        let verdict = if taken { "taken" } else { "not taken" };
        tracing::info!(step, fails, verdict, "shrink step");
        self.steps.push(format!(
            "{step}: fails {fails}/{} -> {verdict}",
            self.config.runs
        ));
        Ok(taken)
    }

    /// Halves the event count while it still fails, then narrows between the last passing and
    /// the last failing count.
    async fn fewer_events(&mut self, mut best: Scenario) -> Result<Scenario> {
        let Some(stream) = best.file.get::<StreamFile>() else {
            return Ok(best); // another flow's input is fixed by its seed
        };
        if stream.replay.is_some() {
            return Ok(best); // a replay's events are the file's
        }
        let Some(mut failing) = stream.generate.events else {
            return Ok(best);
        };
        let mut passing = None;
        while failing / 2 >= self.config.min_events {
            let candidate = with_events(&best, failing / 2);
            if self
                .still_fails(&candidate, &format!("events {}", failing / 2))
                .await?
            {
                failing /= 2;
                best = candidate;
            } else {
                passing = Some(failing / 2);
                break;
            }
        }
        if let Some(mut lo) = passing {
            for _ in 0..3 {
                let mid = lo + (failing - lo) / 2;
                if mid <= lo || mid >= failing {
                    break;
                }
                let candidate = with_events(&best, mid);
                if self
                    .still_fails(&candidate, &format!("events {mid}"))
                    .await?
                {
                    failing = mid;
                    best = candidate;
                } else {
                    lo = mid;
                }
            }
        }
        Ok(best)
    }

    /// Delta debugging over the schedule's atoms (one per listed call, crash pass or moment):
    /// drops chunks of them, finer and finer, while the scenario still fails.
    async fn fewer_faults(&mut self, mut best: Scenario) -> Result<Scenario> {
        let mut atoms = atoms(best.file.sections.fault_schedule());
        let mut chunks = 2usize;
        while !atoms.is_empty() {
            let size = atoms.len().div_ceil(chunks);
            let mut removed = false;
            for start in (0..atoms.len()).step_by(size.max(1)) {
                let kept: Vec<FaultRule> = atoms
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i < start || *i >= start + size)
                    .map(|(_, a)| a.clone())
                    .collect();
                let candidate = with_schedule(&best, merge(&kept))?;
                let step = format!("faults {} of {}", kept.len(), atoms.len());
                if self.still_fails(&candidate, &step).await? {
                    atoms = kept;
                    best = candidate;
                    chunks = (chunks - 1).max(2);
                    removed = true;
                    break;
                }
            }
            if !removed {
                if chunks >= atoms.len() {
                    break;
                }
                chunks = (chunks * 2).min(atoms.len());
            }
        }
        Ok(best)
    }

    /// Turns each data fault (malformed, duplicate, poison, transient) off, one at a time, where
    /// the failure does not need it.
    async fn fewer_data_faults(&mut self, mut best: Scenario) -> Result<Scenario> {
        type Knob = fn(&mut crate::flows::stream::faults::FaultSettings) -> &mut f64;
        let knobs: [(&str, Knob); 4] = [
            ("malformed_ratio", |f| &mut f.malformed_ratio),
            ("duplicate_ratio", |f| &mut f.duplicate_ratio),
            ("poison_ratio", |f| &mut f.poison_ratio),
            ("transient_ratio", |f| &mut f.transient_ratio),
        ];
        for (name, knob) in knobs {
            let mut candidate = best.clone();
            let Some(stream) = candidate.file.get_mut::<StreamFile>() else {
                return Ok(best); // data faults are the stream's
            };
            let faults = &mut stream.faults;
            if *knob(faults) == 0.0 {
                continue;
            }
            *knob(faults) = 0.0;
            if self.still_fails(&candidate, &format!("{name} = 0")).await? {
                best = candidate;
            }
        }
        Ok(best)
    }
}

/// `scenario` with only the assertions a smaller scenario can be held to: the latency bounds
/// (the invariants every run is judged on need no assertion).
fn judged_on_what_scales(scenario: &Scenario) -> Scenario {
    let mut s = scenario.clone();
    if let Some(stream) = s.file.get_mut::<StreamFile>() {
        stream.expect = Expect {
            latency: stream.expect.latency.clone(),
            ..Expect::default()
        };
    }
    s
}

fn with_events(scenario: &Scenario, events: u64) -> Scenario {
    let mut s = scenario.clone();
    if let Some(stream) = s.file.get_mut::<StreamFile>() {
        stream.generate.events = Some(events);
    }
    s
}

/// `scenario` with `schedule` (part of its own, or pinned to what fired) in place of its own.
///
/// # Errors
/// A rule the scenario's flow could not fire (a report's faults that were not its own).
fn with_schedule(scenario: &Scenario, schedule: Vec<FaultRule>) -> Result<Scenario> {
    let mut s = scenario.clone();
    let problems = s.file.sections.replay_faults(schedule);
    if let Some((key, message)) = problems.first() {
        return Err(Error::Input(format!(
            "{}: a shrunk schedule it cannot run: {key}: {message}",
            scenario.name()
        )));
    }
    Ok(s)
}

/// One rule per fault that can be dropped on its own: a listed call, a crash pass, a moment, or
/// a whole drawn (ratio) rule.
fn atoms(schedule: &[FaultRule]) -> Vec<FaultRule> {
    let mut atoms = Vec::new();
    for rule in schedule {
        if !rule.calls.is_empty() && rule.ratio == 0.0 {
            atoms.extend(rule.calls.iter().map(|&c| FaultRule {
                calls: vec![c],
                ..rule.clone()
            }));
        } else if !rule.at.is_empty() {
            atoms.extend(rule.at.iter().map(|&a| FaultRule {
                at: vec![a],
                ..rule.clone()
            }));
        } else {
            atoms.push(rule.clone());
        }
    }
    atoms
}

/// Atoms back into rules: listed calls (and crash passes) of the same rule merged again.
fn merge(atoms: &[FaultRule]) -> Vec<FaultRule> {
    let mut rules: Vec<FaultRule> = Vec::new();
    for atom in atoms {
        let same = |r: &FaultRule| {
            FaultRule {
                calls: Vec::new(),
                at: Vec::new(),
                ..r.clone()
            } == FaultRule {
                calls: Vec::new(),
                at: Vec::new(),
                ..atom.clone()
            }
        };
        match rules.iter_mut().find(|r| same(r) && r.ratio == 0.0) {
            Some(rule) => {
                rule.calls.extend(&atom.calls);
                rule.at.extend(&atom.at);
            }
            None => rules.push(atom.clone()),
        }
    }
    rules
}

/// The shrunk scenario as a file: the original's text with `generate.events`, the data-fault
/// ratios and `[[faults.schedule]]` replaced, and a header saying how it was made.
///
/// # Errors
/// The original file cannot be read again or is not TOML.
pub fn render(original: &Scenario, shrunk: &Shrunk, config: ShrinkConfig) -> Result<String> {
    let what = |e: String| Error::Input(format!("{}: {e}", original.path.display()));
    let text = std::fs::read_to_string(&original.path).map_err(|e| what(e.to_string()))?;
    let mut table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| what(e.to_string()))?;
    let judged = match shrunk.scenario.file.get::<StreamFile>() {
        Some(file) => {
            stream_sections_into(&mut table, file).map_err(what)?;
            "the invariants and the latency bounds ([expect] counts of the original left out)"
        }
        None => {
            let schedule = shrunk.scenario.file.sections.fault_schedule();
            let mut faults = toml::Table::new();
            let rules = toml::Value::try_from(schedule).map_err(|e| what(e.to_string()))?;
            faults.insert("schedule".into(), rules);
            table.insert("faults".into(), toml::Value::Table(faults));
            "its [expect] and the invariants, as the original (its input is fixed by the seed)"
        }
    };
    let body = toml::to_string(&table).map_err(|e| what(e.to_string()))?;
    Ok(format!(
        "# Shrunk by `tickflow shrink` from {}: fails ({}) in at least {} of {} runs, judged on \
         {judged}.\n# {} runs; steps:\n{}\n{body}",
        original.path.display(),
        shrunk
            .failing_checks
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
        config.min_failures,
        config.runs,
        shrunk.runs,
        shrunk
            .steps
            .iter()
            .map(|s| format!("#   {s}"))
            .collect::<Vec<_>>()
            .join("\n"),
    ))
}

/// A shrunk stream scenario's events, faults and `[expect]` (its latency bounds alone: the
/// original's counts would fail the smaller scenario whatever it does) into `table`.
fn stream_sections_into(
    table: &mut toml::Table,
    file: &StreamFile,
) -> std::result::Result<(), String> {
    if let Some(events) = file.generate.events {
        let generate = table
            .entry("generate")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let Some(g) = generate.as_table_mut() {
            g.insert(
                "events".into(),
                toml::Value::Integer(events.min(i64::MAX as u64) as i64),
            );
        }
    }
    let faults = toml::Value::try_from(&file.faults).map_err(|e| e.to_string())?;
    table.insert("faults".into(), faults);
    let latency = table.get("expect").and_then(|e| e.get("latency")).cloned();
    table.remove("expect");
    if let Some(latency) = latency {
        let mut expect = toml::Table::new();
        expect.insert("latency".into(), latency);
        table.insert("expect".into(), toml::Value::Table(expect));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickflow_pipeline::chaos::{FaultKind, Service, Stage};

    const FILE: &str = r#"
[scenario]
name = "t"

[generate]
events = 4800

[faults]
transient_ratio = 0.1

[[faults.schedule]]
kind = "throttle"
service = "s3"
operation = "PutObject"
ratio = 0.5
"#;

    fn stream(s: &Scenario) -> &StreamFile {
        s.file.get().unwrap()
    }

    fn original() -> Scenario {
        Scenario {
            path: "t.toml".into(),
            file: crate::scenario::parse("t.toml", FILE).unwrap(),
        }
    }

    /// A pipeline that fails (events missing) from 300 events on, only every other run between
    /// 150 and 300, and only while S3 call 5 is throttled; the ratio rule fires on calls 1-8.
    fn synthetic(calls: &std::cell::Cell<u32>, s: &Scenario) -> Verdict {
        calls.set(calls.get() + 1);
        let events = stream(s).generate.events.unwrap_or(0);
        let schedule = &stream(s).faults.schedule;
        let fired: Vec<Fired> = if schedule.iter().any(|r| r.ratio > 0.0) {
            (1..=8)
                .map(|call| Fired {
                    service: Some(Service::S3),
                    operation: Some("PutObject".into()),
                    call: Some(call),
                    ..Fired::moment(FaultKind::Throttle, call * 10, None)
                })
                .collect()
        } else {
            Vec::new()
        };
        let fifth = schedule
            .iter()
            .any(|r| r.ratio > 0.0 || r.calls.contains(&5));
        let fails = fifth && (events >= 300 || (events >= 150 && calls.get() % 2 == 1));
        Verdict {
            failed: if fails {
                BTreeSet::from(["reconciliation.missing".to_string()])
            } else {
                BTreeSet::new()
            },
            fired,
            error: None,
        }
    }

    fn shrink_synthetic(runs: u32, min_failures: u32) -> Shrunk {
        let calls = std::cell::Cell::new(0);
        let config = ShrinkConfig {
            runs,
            min_failures,
            min_events: 10,
        };
        let run = |s: Scenario| {
            let verdict = synthetic(&calls, &s);
            async move { verdict }
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime
            .block_on(shrink_with(&original(), config, run))
            .unwrap()
    }

    #[test]
    fn shrinks_events_then_faults_to_what_the_failure_needs() {
        let shrunk = shrink_synthetic(2, 2);
        let file = stream(&shrunk.scenario);
        assert_eq!(file.generate.events, Some(300), "{:#?}", shrunk.steps);
        assert_eq!(file.faults.schedule.len(), 1);
        assert_eq!(
            file.faults.schedule[0].calls,
            [5],
            "pinned to the one call needed"
        );
        assert_eq!(
            file.faults.transient_ratio, 0.0,
            "a data fault not needed is dropped"
        );
        assert_eq!(
            shrunk.failing_checks,
            BTreeSet::from(["reconciliation.missing".into()])
        );
        // Steps that fail only sometimes (150..300 events) are not taken with k = n = 2...
        assert!(shrunk
            .steps
            .iter()
            .any(|s| s.starts_with("events 150: fails 1/2 -> not taken")));
    }

    #[test]
    fn stale_counts_of_the_original_do_not_judge_the_candidates() {
        // The original states its own size; a candidate held to it would fail at every step.
        let mut original = original();
        let stated = crate::scenario::parse(
            "t.toml",
            &format!("{FILE}\n[expect]\nfound = 4800\nfaults_fired = 8\n[expect.latency]\np99_ms = 9000\n"),
        )
        .unwrap();
        original.file.get_mut::<StreamFile>().unwrap().expect =
            stated.get::<StreamFile>().unwrap().expect.clone();
        let calls = std::cell::Cell::new(0);
        let run = |s: Scenario| {
            let verdict = synthetic(&calls, &s);
            assert_eq!(
                stream(&s).expect.found,
                None,
                "a stale count reached a candidate"
            );
            assert_eq!(
                stream(&s).expect.faults_fired,
                None,
                "a stale count reached a candidate"
            );
            assert_eq!(
                stream(&s).expect.latency.p99_ms,
                Some(9000),
                "latency bounds scale"
            );
            async move { verdict }
        };
        let config = ShrinkConfig {
            runs: 2,
            min_failures: 2,
            min_events: 10,
        };
        let shrunk = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(shrink_with(&original, config, run))
            .unwrap();
        assert_eq!(
            stream(&shrunk.scenario).generate.events,
            Some(300),
            "{:#?}",
            shrunk.steps
        );
        assert_eq!(
            stream(&shrunk.scenario).faults.schedule[0].calls,
            [5],
            "the cause is kept"
        );
    }

    #[test]
    fn with_k_below_n_a_step_that_fails_sometimes_is_taken() {
        let shrunk = shrink_synthetic(2, 1);
        let events = stream(&shrunk.scenario).generate.events.unwrap();
        assert!((150..300).contains(&events), "{events}");
    }

    #[test]
    fn a_scenario_that_does_not_fail_often_enough_is_refused() {
        let run = |_s: Scenario| async { Verdict::default() };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let config = ShrinkConfig::default();
        let error = runtime
            .block_on(shrink_with(&original(), config, run))
            .unwrap_err();
        assert!(
            error.to_string().contains("no failure to shrink"),
            "{error}"
        );
        let bad = ShrinkConfig {
            min_failures: 4,
            ..config
        };
        let error = runtime
            .block_on(shrink_with(&original(), bad, |_s: Scenario| async {
                Verdict::default()
            }))
            .unwrap_err();
        assert!(error.to_string().contains("1 <= k <= n"), "{error}");
    }

    #[test]
    fn a_run_that_errors_stops_the_shrink_with_its_error_and_no_events_is_refused() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let calls = std::cell::Cell::new(0);
        // Fails as the synthetic pipeline does, until a candidate cannot even run.
        let run = |s: Scenario| {
            let mut verdict = synthetic(&calls, &s);
            if stream(&s).generate.events.unwrap_or(0) < 1_000 {
                verdict = Verdict {
                    error: Some("PostgreSQL is required".into()),
                    ..Verdict::default()
                };
            }
            async move { verdict }
        };
        let config = ShrinkConfig {
            runs: 2,
            min_failures: 2,
            min_events: 10,
        };
        let error = runtime
            .block_on(shrink_with(&original(), config, run))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("(events 600) did not complete")
                && error.contains("PostgreSQL is required"),
            "{error}"
        );
        let none = ShrinkConfig {
            min_events: 0,
            ..config
        };
        let error = runtime
            .block_on(shrink_with(&original(), none, |_s: Scenario| async {
                Verdict::default()
            }))
            .unwrap_err();
        assert!(
            error.to_string().contains("--min-events of at least 1"),
            "{error}"
        );
    }

    const BATCH: &str = r#"
[scenario]
name = "b"
flow = "batch"
seed = 3

[batch]
companies = 4
days = 20

[[faults.schedule]]
kind = "server_error"
service = "s3"
operation = "GetObject"
calls = [1, 2, 3, 7]

[[faults.schedule]]
kind = "throttle"
service = "sqs"
operation = "ReceiveMessage"
calls = [2]

[expect.batch]
table_rows = 80
"#;

    /// A batch run fails (its table empty) while the first three reads of S3 fail: the SDK's
    /// three attempts at the company list; every rule fires what it lists.
    fn batch_run(s: &Scenario) -> Verdict {
        let schedule = s.file.sections.fault_schedule();
        let listed = |op: &str, call: u64| {
            schedule
                .iter()
                .any(|r| r.operation.as_deref() == Some(op) && r.calls.contains(&call))
        };
        let fails = (1..=3).all(|call| listed("GetObject", call));
        let fired = schedule
            .iter()
            .flat_map(|r| {
                r.calls.iter().map(|&call| Fired {
                    service: r.service,
                    operation: r.operation.clone(),
                    call: Some(call),
                    ..Fired::moment(r.kind, call, None)
                })
            })
            .collect();
        Verdict {
            failed: match fails {
                true => BTreeSet::from(["expect.batch.table_rows".to_string()]),
                false => BTreeSet::new(),
            },
            fired,
            error: None,
        }
    }

    #[test]
    fn a_failing_batch_run_shrinks_to_the_faults_it_needs_and_keeps_its_input_and_expect() {
        let path =
            std::env::temp_dir().join(format!("tickflow-shrink-{}.toml", std::process::id()));
        std::fs::write(&path, BATCH).unwrap();
        let original = Scenario {
            path: path.clone(),
            file: crate::scenario::parse("b.toml", BATCH).unwrap(),
        };
        let config = ShrinkConfig {
            runs: 1,
            min_failures: 1,
            min_events: 10,
        };
        let run = |s: Scenario| {
            let verdict = batch_run(&s);
            async move { verdict }
        };
        let shrunk = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(shrink_with(&original, config, run))
            .unwrap();
        let schedule = shrunk.scenario.file.sections.fault_schedule();
        let calls: Vec<(Option<&str>, Vec<u64>)> = schedule
            .iter()
            .map(|r| (r.operation.as_deref(), r.calls.clone()))
            .collect();
        assert_eq!(
            calls,
            [(Some("GetObject"), vec![1, 2, 3])],
            "{:#?}",
            shrunk.steps
        );
        assert_eq!(
            shrunk.failing_checks,
            BTreeSet::from(["expect.batch.table_rows".into()])
        );
        let text = render(&original, &shrunk, config).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(text.contains("fixed by the seed"), "{text}");
        let again = crate::scenario::parse("b-shrunk.toml", &text).unwrap();
        let reread = Scenario {
            path: "b-shrunk.toml".into(),
            file: again,
        };
        assert_eq!(reread.file.sections.fault_schedule(), schedule);
        assert!(
            text.contains("table_rows = 80") && text.contains("days = 20"),
            "{text}"
        );
    }

    #[test]
    fn atoms_split_listed_calls_and_merge_back() {
        let schedule = vec![
            FaultRule {
                service: Some(Service::S3),
                operation: Some("PutObject".into()),
                calls: vec![2, 5, 9],
                ..FaultRule::new(FaultKind::Throttle)
            },
            FaultRule {
                stage: Some(Stage::Bridge),
                at: vec![1, 3],
                ..FaultRule::new(FaultKind::Crash)
            },
            FaultRule {
                service: Some(Service::Sqs),
                ratio: 0.1,
                ..FaultRule::new(FaultKind::Reset)
            },
        ];
        let atoms = atoms(&schedule);
        assert_eq!(atoms.len(), 6);
        assert_eq!(merge(&atoms), schedule);
        let fewer = merge(&[atoms[0].clone(), atoms[2].clone(), atoms[4].clone()]);
        assert_eq!(fewer[0].calls, [2, 9]);
        assert_eq!(fewer[1].at, [3]);
    }
}
