//! tickflow's harness: drives, observes and judges the pipeline under test.
//!
//! # Layout
//! - [`localstack`]: start LocalStack with testcontainers (or reuse `AWS_ENDPOINT_URL`), share one
//!   per test binary, sweep stale containers.
//! - [`aws`]: the one place where endpoint, region and credentials are decided.
//! - [`topology`]: the run's AWS resources, provisioned idempotently and torn down.
//! - [`doctor`]: one round trip through each service; [`ceiling`]: LocalStack's raw capacity.
//! - [`settings`], [`faults`], [`load`]: how a run configures the pipeline, what it injects and
//!   at which arrival rates it feeds it.
//! - [`produce`]: one load generator's share of a scenario (`--partition i/n`), producing only.
//! - [`run`]: one run from provisioning to teardown: wiring and draining the stages
//!   (`run/stages.rs`), feeding them (`run/feed.rs`), with [`progress`] while it runs;
//!   [`replay`]: recorded or CSV data as input.
//! - Judging, in three steps: [`observe`] reads back what landed (lake, quarantine, queues,
//!   notifications) without changing it; [`reconcile`] compares it with the ledger of what was
//!   sent; [`judge`] puts them together into the verdict every run gets (also on a finished
//!   run's resources, again).
//! - [`scenario`]: declarative scenario files: parsing, validation, outcomes, reports;
//!   [`assert`]: a scenario's own expectations, on top of the verdict.
//! - Other flows, each with its own generator, topology, driver and judge: [`batch`] (company
//!   files -> PostgreSQL, with [`postgres`]) and [`price_files`] (price files -> S3
//!   notifications -> ETL to CSV -> analysis -> SNS alerts).
//! - [`report`]: how to say it, for people and scripts.
//! - [`error`]: the harness's error type.
//!
//! # Example
//! Which LocalStack a run uses is decided by the environment, with the last free release pinned:
//! ```
//! use tickflow_harness::localstack::LocalStackConfig;
//!
//! let config = LocalStackConfig::from_lookup(|_| None);
//! assert_eq!(config.image(), "localstack/localstack:4.14.0");
//! assert_eq!(config.kinesis_latency_ms, 0);
//!
//! let reuse = LocalStackConfig::from_lookup(|k| (k == "AWS_ENDPOINT_URL").then(|| "http://localhost:4566".into()));
//! assert_eq!(reuse.endpoint.as_deref(), Some("http://localhost:4566"));
//! ```
#![deny(missing_docs)]

pub mod aws;
pub mod ceiling;
pub mod doctor;
pub mod error;
pub mod flows;
pub mod html;
pub mod latency;
pub mod localstack;
pub mod observe;
pub mod owned_thread;
pub mod postgres;
pub mod report;
pub mod scenario;
pub mod shrink;
pub mod topology;
pub mod verdict;

pub use error::{Error, Result};
