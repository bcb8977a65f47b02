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
mod locate;
pub mod outcome;
mod parse;
pub mod planned;
mod price_files;
pub mod schema;
mod stream;

use tickflow_pipeline::aws::Clients;

pub use outcome::{FlowReport, Outcome};
pub use parse::{load, parse, Scenario, ScenarioError};
pub use stream::{generator_config, load_plan, web_spec};

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

    /// `path` relative to the scenario file's directory.
    fn relative(&self, path: &str) -> std::path::PathBuf {
        self.path
            .parent()
            .unwrap_or_else(|| std::path::Path::new("."))
            .join(path)
    }
}

/// What a scenario runs on besides the AWS endpoint.
#[derive(Debug, Clone, Copy, Default)]
pub struct Infra<'a> {
    /// The id of the LocalStack container tickflow started (an outage fault pauses it).
    pub localstack_container: Option<&'a str>,
    /// The PostgreSQL URL the batch flow loads into.
    pub postgres: Option<&'a str>,
    /// The PostgreSQL container tickflow started: the batch flow measures a plain `psql` `COPY`
    /// in it as the database's ceiling.
    pub postgres_container: Option<&'a str>,
}

/// One flow as a scenario runs it: from the file to a report whose verdict includes the
/// scenario's `[expect]`. A new flow is one adapter and one [`FlowReport`] variant.
pub(crate) trait Flow {
    /// Runs `scenario` against `clients`' endpoint (and `infra`) and judges it.
    ///
    /// # Errors
    /// What stopped the run before it could be judged, said for people.
    async fn run(
        &self,
        scenario: &Scenario,
        clients: &Clients,
        infra: Infra<'_>,
    ) -> Result<FlowReport, String>;
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
