//! End-to-end tests: the harness and the pipeline against a real LocalStack.
//!
//! One LocalStack serves this whole test binary (started on first use, removed at exit); every
//! test provisions its own topology under a unique run id, so tests run in parallel.

mod batch;
mod faults;
mod foundation;
mod inputs;
mod judge;
mod monitoring;
mod pipeline;
mod price_files;
mod scenarios;
mod support;
mod web;
