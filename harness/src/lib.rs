//! tickflow's harness: drives, observes and judges the pipeline under test.
//!
//! # Layout
//! - [`localstack`]: start LocalStack with testcontainers (or reuse `AWS_ENDPOINT_URL`), share one
//!   per test binary, sweep stale containers.
//! - [`aws`]: the one place where endpoint, region and credentials are decided.
//! - [`topology`]: the run's AWS resources, provisioned idempotently and torn down.
//! - [`doctor`]: one round trip through each service.
//! - [`error`]: the harness's error type.
#![deny(missing_docs)]

pub mod aws;
pub mod doctor;
pub mod error;
pub mod localstack;
pub mod topology;

pub use error::{Error, Result};
