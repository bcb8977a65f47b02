//! Declarative scenarios: `scenarios/*.toml`.
//!
//! Declarative scenarios: `scenarios/*.toml` files that say which flow to run, what to generate
//! (or replay), which faults to inject and what must hold afterwards.
//!
//! - [`file`]: the format; `parse` reads and checks it; `locate` points at a key's line;
//! - [`Flow`] and one adapter per flow (`stream`, `batch`, `price_files`): what a flow needs from
//!   the file, how it runs, and its `[expect]` folded into its report;
//! - [`expect`]: the `[expect]` assertions, judged on each flow's report;
//! - [`outcome`]: what running one scenario came to, over one [`outcome::FlowReport`];
//! - [`planned`]: what a scenario's run plans (its last arrival, its calls), within caps.

mod batch;
pub mod expect;
pub mod file;
mod flow;
mod locate;
pub mod outcome;
mod parse;
pub mod planned;
mod price_files;
pub mod schema;
mod stream;
mod stream_input;

use tickflow_pipeline::aws::Clients;

pub(crate) use flow::Flow;
pub use flow::Infra;
pub use outcome::{FlowReport, Outcome};
pub use parse::{load, parse, Scenario, ScenarioError};
pub use stream_input::{generator_config, load_plan, web_spec};

use file::FlowKind;

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
        self.file
            .faults
            .schedule
            .iter()
            .any(|r| r.kind == tickflow_pipeline::chaos::FaultKind::Outage)
    }

    /// The AWS services a run of it calls, for a target's readiness check.
    pub fn services(&self) -> Vec<tickflow_pipeline::chaos::Service> {
        match self.file.scenario.flow {
            FlowKind::Stream => self.file.pipeline.services(),
            FlowKind::Batch => crate::flows::batch::topology::SERVICES.to_vec(),
            FlowKind::PriceFiles => crate::flows::price_files::topology::SERVICES.to_vec(),
        }
    }

    /// Whether it needs PostgreSQL: the batch flow loads into it, the web source stores its
    /// rows and request log in it.
    pub fn needs_postgres(&self) -> bool {
        self.file.scenario.flow == FlowKind::Batch
            || (self.file.scenario.flow == FlowKind::Stream
                && self.file.source_kind() == file::SourceKind::Web)
    }

    /// Refuses it for `command`, which drives `flow` only: run there, a scenario of another
    /// flow would lose its own input and assertions.
    ///
    /// # Errors
    /// [`crate::Error::Input`] naming the file, its flow and how to run it.
    pub fn require_flow(&self, flow: FlowKind, command: &str) -> crate::Result<()> {
        let its = self.file.scenario.flow;
        if its == flow {
            return Ok(());
        }
        Err(crate::Error::Input(format!(
            "{}: `{command}` drives the {} flow; this is a {} scenario (run it with `tickflow \
             run {}`)",
            self.path.display(),
            flow.name(),
            its.name(),
            self.path.display()
        )))
    }

    /// `path` relative to the scenario file's directory.
    fn relative(&self, path: &str) -> std::path::PathBuf {
        self.path
            .parent()
            .unwrap_or_else(|| std::path::Path::new("."))
            .join(path)
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

/// Runs a scenario and judges the result, with its flow's adapter. A run that fails to complete
/// is a failed outcome (with the error), not a panic.
pub async fn execute(scenario: &Scenario, clients: &Clients, infra: Infra<'_>) -> Outcome {
    // Each flow's future is boxed: they hold whole runs (drivers, judges, the web source) and
    // would otherwise sit inline in every caller's future, overflowing a test thread's stack.
    let result = match scenario.file.scenario.flow {
        FlowKind::Stream => Box::pin(stream::StreamFlow.run(scenario, clients, infra)).await,
        FlowKind::Batch => Box::pin(batch::BatchFlow.run(scenario, clients, infra)).await,
        FlowKind::PriceFiles => {
            Box::pin(price_files::PriceFilesFlow.run(scenario, clients, infra)).await
        }
    };
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
            .require_flow(FlowKind::Stream, "tickflow produce")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`tickflow produce` drives the stream flow; this is a batch scenario"),
            "{error}"
        );
        assert!(error.contains("batch-smoke.toml"), "{error}");
        let stream = load_one(&shipped("smoke.toml")).unwrap();
        assert!(stream
            .require_flow(FlowKind::Stream, "tickflow produce")
            .is_ok());
    }
}
