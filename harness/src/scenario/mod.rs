//! Declarative scenarios: `scenarios/*.toml`.
//!
//! Declarative scenarios: `scenarios/*.toml` files that say which flow to run, what to generate
//! (or replay), which faults to inject and what must hold afterwards.
//!
//! - [`file`]: `[scenario]`, and the flow's sections as the flow reads them;
//!   `parse` reads a file: `[scenario]` first, then the flow it names (from
//!   [`crate::flows::FLOWS`]) reads the rest; `keys` refuses a key only another flow reads;
//!   `counts` refuses a stated count that cannot fail;
//!   `locate` points at a key's line;
//! - [`schema`]: the JSON Schema, composed of every flow's;
//! - [`outcome`]: what running one scenario came to, over one [`FlowReport`];
//! - [`planned`]: what a scenario's run plans, within caps.

mod counts;
pub mod file;
mod keys;
mod locate;
pub mod outcome;
mod parse;
pub mod planned;
pub mod schema;

use tickflow_pipeline::aws::Clients;

pub use crate::flows::flow::Infra;
use crate::flows::flow::{RunOf, Sections};
use crate::flows::stream::driver::StreamRunConfig;
use crate::flows::stream::scenario::StreamFile;
pub use outcome::{FlowReport, Outcome};
pub use parse::{load, parse, Scenario, ScenarioError};

impl Scenario {
    /// The scenario's name.
    pub fn name(&self) -> &str {
        &self.file.scenario.name
    }

    /// Whether the default `cargo test` skips it.
    pub fn heavy(&self) -> bool {
        self.file.scenario.heavy
    }

    /// Whether it pauses LocalStack (an `outage` fault): it then needs a container of its own,
    /// started by tickflow, that no other run shares.
    pub fn pauses_localstack(&self) -> bool {
        self.file.sections.pauses_localstack()
    }

    /// Whether it pauses PostgreSQL (a `db_pause` fault): it then needs a server of its own,
    /// started by tickflow, that no other run shares.
    pub fn pauses_postgres(&self) -> bool {
        self.file.sections.pauses_postgres()
    }

    /// The AWS services a run of it calls, for a target's readiness check.
    pub fn services(&self) -> Vec<tickflow_pipeline::chaos::Service> {
        self.file.sections.services()
    }

    /// Whether it needs PostgreSQL (the batch flow loads into it, the web source stores its
    /// rows and request log in it).
    pub fn needs_postgres(&self) -> bool {
        self.file.sections.needs_postgres()
    }

    /// What a flow's run takes of it: name, seed, weight, and the directory relative paths are
    /// read from.
    pub fn run_of(&self) -> RunOf<'_> {
        RunOf {
            name: self.name(),
            seed: self.file.scenario.seed,
            heavy: self.heavy(),
            history: self.file.scenario.history,
            dir: self
                .path
                .parent()
                .unwrap_or_else(|| std::path::Path::new(".")),
        }
    }

    /// Its sections as the flow type `T` reads them, for `command`, which drives that flow
    /// only: run there, a scenario of another flow would lose its own input and assertions.
    ///
    /// # Errors
    /// [`crate::Error::Input`] naming the file, its flow and how to run it.
    pub fn sections<T: Sections>(&self, command: &str) -> crate::Result<&T> {
        self.file
            .get::<T>()
            .ok_or_else(|| self.not_of(T::FLOW, command))
    }

    /// As [`Scenario::sections`], to change.
    ///
    /// # Errors
    /// As [`Scenario::sections`].
    pub fn sections_mut<T: Sections>(&mut self, command: &str) -> crate::Result<&mut T> {
        let error = self.not_of(T::FLOW, command);
        self.file.get_mut::<T>().ok_or(error)
    }

    /// The error of a scenario given to `command`, which drives `flow` only.
    fn not_of(&self, flow: &str, command: &str) -> crate::Error {
        crate::Error::Input(format!(
            "{}: `{command}` drives the {flow} flow; this is a {} scenario (run it with \
             `tickflow run {}`)",
            self.path.display(),
            self.file.scenario.flow,
            self.path.display()
        ))
    }

    /// Replays the faults fired in the report at `report` (read as
    /// [`crate::flows::stream::judge::fired::schedule_from_report`] reads it) in place of its own
    /// schedule, whichever its flow.
    ///
    /// # Errors
    /// [`crate::Error::Input`]: the report cannot be read, or one of its faults could not fire in
    /// this scenario's run (each named with its key).
    pub fn replay_faults_from(&mut self, report: &std::path::Path) -> crate::Result<()> {
        let schedule =
            crate::flows::stream::judge::fired::schedule_from_report(report, Some(self.name()))?;
        let problems = self.file.sections.replay_faults(schedule);
        if problems.is_empty() {
            return Ok(());
        }
        let lines: Vec<String> = problems.iter().map(|(k, m)| format!("{k}: {m}")).collect();
        Err(crate::Error::Input(format!(
            "--faults-from {}: its faults cannot all fire in a run of {} ({} flow):\n  {}",
            report.display(),
            self.path.display(),
            self.file.scenario.flow,
            lines.join("\n  ")
        )))
    }

    /// The stream run this scenario asks for (a replay source resolved relative to the file).
    ///
    /// # Errors
    /// Not a stream scenario, or settings that [`load`] would already have refused.
    pub fn run_config(&self) -> Result<StreamRunConfig, String> {
        let stream: &StreamFile = self.sections("run_config").map_err(|e| e.to_string())?;
        stream.run_config(self.run_of())
    }
}

/// Loads every file of `files`, or fails with every error of every file, one line each (a
/// command given several files says all that is wrong at once).
///
/// # Errors
/// [`crate::Error::Input`] listing each file's errors at file:line:column.
pub fn load_all(files: &[std::path::PathBuf]) -> crate::Result<Vec<Scenario>> {
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match load(file) {
            Ok(s) => scenarios.push(s),
            Err(e) => errors.extend(e.into_iter().map(|e| e.to_string())),
        }
    }
    if errors.is_empty() {
        Ok(scenarios)
    } else {
        Err(crate::Error::Input(format!(
            "invalid scenario files:\n  {}",
            errors.join("\n  ")
        )))
    }
}

/// Loads the one scenario `file`.
///
/// # Errors
/// As [`load_all`].
pub fn load_one(file: &std::path::Path) -> crate::Result<Scenario> {
    let mut one = load_all(&[file.to_path_buf()])?;
    Ok(one.remove(0))
}

/// Runs a scenario and judges the result, with its flow. A run that fails to complete is a
/// failed outcome (with the error), not a panic.
pub async fn execute(scenario: &Scenario, clients: &Clients, infra: Infra<'_>) -> Outcome {
    let result = scenario
        .file
        .sections
        .run(scenario.run_of(), clients, infra)
        .await;
    let (report, error) = match result {
        Ok(report) => (Some(report), None),
        Err(e) => (None, Some(e)),
    };
    Outcome {
        name: scenario.name().to_string(),
        file: scenario.path.display().to_string(),
        report,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    /// A shipped scenario's path.
    fn shipped(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios")
            .join(name)
    }

    #[test]
    fn every_error_of_every_file_is_listed_and_good_files_load() {
        let dir = tempfile::tempdir().unwrap();
        let (broken, missing) = (dir.path().join("broken.toml"), dir.path().join("gone.toml"));
        std::fs::write(&broken, "[scenario]\nname = \"b\"\nseeed = 1\n").unwrap();
        let error = load_all(&[shipped("smoke.toml"), broken, missing])
            .unwrap_err()
            .to_string();
        assert!(error.contains("broken.toml:3:1"), "{error}");
        assert!(error.contains("gone.toml"), "{error}");
        let loaded = load_all(&[shipped("smoke.toml"), shipped("batch-smoke.toml")]).unwrap();
        assert_eq!(loaded.len(), 2);
    }

    #[test]
    fn a_command_of_one_flow_refuses_a_scenario_of_another_by_name() {
        let batch = load_one(&shipped("batch-smoke.toml")).unwrap();
        let error = batch
            .sections::<StreamFile>("tickflow produce")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`tickflow produce` drives the stream flow; this is a batch scenario"),
            "{error}"
        );
        assert!(error.contains("batch-smoke.toml"), "{error}");
        let stream = load_one(&shipped("smoke.toml")).unwrap();
        assert!(stream.sections::<StreamFile>("tickflow produce").is_ok());
    }
}
