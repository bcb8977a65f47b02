//! tickflow's system under test: the finance streaming pipeline.
//!
//! # Layout
//! - [`aws`]: the SDK clients every stage shares.
//! - [`resources`]: the AWS resources a run is wired to.
//! - [`error`]: the pipeline's error type.
#![deny(missing_docs)]

pub mod aws;
pub mod event;
pub mod error;
pub mod resources;
pub mod source;

pub use error::{Error, Result};
