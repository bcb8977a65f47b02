//! The flows, one folder each.
//!
//! One folder per flow, each with the same shape (settings, input, topology, driver, judge,
//! report, ceiling), built from the shared layers below and importing no other flow.

pub mod batch;
pub mod price_files;
pub mod stream;
