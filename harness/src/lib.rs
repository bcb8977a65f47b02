//! tickflow's harness: drives, observes and judges the pipeline under test.
//!
//! # Layout
//! One folder per layer, every import pointing down (`tests/layers.rs` fails on one that does
//! not, on an import cycle, on a flow importing another flow, and on a module importing its
//! parent's `mod.rs`):
//!
//! 0. What every judge and report says, and what it is drawn and run with:
//!    - [`error`]: the harness's error type;
//!    - [`verdict`]: a failed check, the [`verdict::Report`] every flow's report gives, what a
//!      run cost, a measured ceiling, HDR latency histograms, the pieces of every `[expect]`;
//!    - [`render`]: escaping, tables and charts as inline SVG for every report section;
//!    - [`runtime`]: waiting with a deadline, the one way; a runtime on a thread of its own for
//!      what outlives one test's runtime.
//! 1. [`infra`]: where a run's AWS and PostgreSQL come from (LocalStack and PostgreSQL started
//!    with testcontainers or given), and the queues, buckets, topics and notifications every
//!    flow's topology is built from.
//! 2. [`observe`]: reading back queue depths and messages left as they were, SNS deliveries,
//!    the run status announced.
//! 3. The flows, one folder each, with the same shape (scenario sections, settings, input,
//!    topology, driver, judge, report, ceiling), listed once in [`flows::FLOWS`] and described
//!    to the rest by [`flows::flow`]:
//!    - [`flows::stream`]: market data -> Kinesis -> SQS -> processor -> S3 lake -> SNS;
//!    - [`flows::batch`]: company CSV files in S3 -> one PostgreSQL table (`flows::batch::
//!      driver` loads PostgreSQL through the pipeline's batch job), `.SUCCESS` trigger;
//!    - [`flows::price_files`]: price files -> S3 notifications -> ETL to CSV -> analysis ->
//!      SNS alerts.
//! 4. [`scenario`]: `[scenario]`, the flow it names reading the rest, the schema composed of
//!    every flow's, and the outcome of a run over one [`scenario::FlowReport`].
//! 5. Over the flows:
//!    - [`report`]: the summary table, Markdown, JUnit and HTML of every flow, each written once;
//!    - [`commands`]: parity (one scenario of any flow on two targets, side by side), and for
//!      the stream flow doctor, ceiling and shrink.
//!
//! ARCHITECTURE.md at the repository's root has the code map and the invariants.
//!
//! # Example
//! Which LocalStack a run uses is decided by the environment, with the last free release pinned:
//! ```
//! use tickflow_harness::infra::localstack::LocalStackConfig;
//!
//! let config = LocalStackConfig::from_lookup(|_| None);
//! assert_eq!(config.image(), "localstack/localstack:4.14.0");
//! assert_eq!(config.kinesis_latency_ms, 0);
//!
//! let reuse = LocalStackConfig::from_lookup(|k| (k == "AWS_ENDPOINT_URL").then(|| "http://localhost:4566".into()));
//! assert_eq!(reuse.endpoint.as_deref(), Some("http://localhost:4566"));
//! ```
#![deny(missing_docs)]

pub mod commands;
pub mod error;
pub mod flows;
pub mod infra;
pub mod observe;
pub mod render;
pub mod report;
pub mod runtime;
pub mod scenario;
pub mod verdict;

pub use error::{Error, Result};
