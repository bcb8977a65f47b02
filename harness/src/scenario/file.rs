//! The scenario file format: `[scenario]`, and the sections of the flow it names.
//!
//! A scenario file is `[scenario]` (read here) and the sections of the flow it names (read by
//! that flow, with types in its own folder: see [`crate::flows::flow`]). Every key is documented
//! in `scenarios/README.md`; unknown keys and wrong types are errors with a position.

use std::any::Any;

use serde::Deserialize;

use crate::flows::FlowFile;

/// A whole scenario file: `[scenario]` and its flow's sections.
#[derive(Debug)]
pub struct ScenarioFile {
    /// Name, description, seed, weight and flow.
    pub scenario: Meta,
    /// Everything else, as the flow named by `scenario.flow` reads it.
    pub sections: Box<dyn FlowFile>,
}

impl Clone for ScenarioFile {
    fn clone(&self) -> Self {
        Self {
            scenario: self.scenario.clone(),
            sections: self.sections.boxed(),
        }
    }
}

impl ScenarioFile {
    /// Its sections as the flow's own type `T`, when they are one.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.sections.as_any().downcast_ref()
    }

    /// Its sections as the flow's own type `T`, to change, when they are one.
    pub fn get_mut<T: Any>(&mut self) -> Option<&mut T> {
        self.sections.as_any_mut().downcast_mut()
    }
}

/// `[scenario]`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// Name in reports, test names and the run-status subject.
    pub name: String,
    /// One or two sentences on what the scenario shows.
    #[serde(default)]
    pub description: String,
    /// Seeds the generator and the fault injection.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Too slow for the default `cargo test` (run with `cargo test -- --ignored`).
    #[serde(default)]
    pub heavy: bool,
    /// Which pipeline the scenario runs (`stream` when not given; see `crate::flows::FLOWS`).
    #[serde(default = "default_flow")]
    pub flow: String,
    /// Keep every event's history (the stream flow, for generated events: nine bytes per event
    /// and stage): where a lost event was last seen, and the chart of distinct events through
    /// each stage. `false` saves that memory; the reconciliation judges the same.
    #[serde(default = "keep_history")]
    pub history: bool,
}

const fn keep_history() -> bool {
    true
}

const fn default_seed() -> u64 {
    7
}

fn default_flow() -> String {
    crate::flows::FLOWS[0].name().to_string()
}
