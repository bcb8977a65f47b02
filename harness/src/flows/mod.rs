//! The flows, one folder each, and the registry that lists them.
//!
//! One folder per flow, each with the same shape (its scenario sections, settings, input,
//! topology, driver, judge, report, ceiling), built from the shared layers below and importing
//! no other flow. [`flow`] says what a flow is to the rest of tickflow; [`FLOWS`] lists them.

pub mod batch;
pub mod flow;
pub mod price_files;
pub mod stream;

pub use flow::{Flow, FlowFile, Infra, Planned, RunOf};

/// Every flow a scenario may name, the default (`flow` not given) first. A new flow is its
/// folder and one line here.
pub const FLOWS: &[&dyn Flow] = &[
    &flow::Of::<stream::scenario::StreamFile>::FLOW,
    &flow::Of::<batch::scenario::BatchFile>::FLOW,
    &flow::Of::<price_files::scenario::PriceFilesFile>::FLOW,
];

/// The flow named `name`, when one is.
pub fn named(name: &str) -> Option<&'static dyn Flow> {
    FLOWS.iter().copied().find(|f| f.name() == name)
}
