//! tickflow's harness: drives, observes and judges the pipeline under test.
//!
//! # Layout
//! In layers, every import pointing down (`tests/layers.rs` fails on one that does not, on an
//! import cycle, and on a flow importing another flow):
//!
//! 0. What every judge and report says:
//!    - [`error`]: the harness's error type;
//!    - [`verdict`]: a failed check, the [`verdict::Report`] every flow's report gives, what a
//!      run cost, a measured ceiling, the digest contents are compared by;
//!    - [`html`]: escaping and tables for every report section;
//!    - [`plot`]: charts as inline SVG (axes, ticks, lines, bars, fault markers);
//!    - [`latency`]: HDR latency histograms and their percentiles;
//!    - [`owned_thread`]: a runtime on a thread of its own for what outlives one test's runtime;
//!    - [`wait`]: waiting with a deadline, the one way.
//! 1. Infrastructure:
//!    - [`aws`]: where endpoint, region and credentials are decided;
//!    - [`localstack`]: LocalStack started with testcontainers (or `AWS_ENDPOINT_URL`), shared
//!      per test binary, paused for outages, stale containers swept;
//!    - [`postgres`]: PostgreSQL started the same way (or `TICKFLOW_POSTGRES_URL`);
//!    - [`topology`]: queues, buckets, topics and S3 notifications every flow's topology is
//!      built from, and deletion that names what it left.
//! 2. Reading back: [`observe`]: queue depths and messages left as they were, SNS deliveries,
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
//!    - [`parity`]: one scenario of any flow on two targets, side by side, with the quirks of
//!      each;
//!    - for the stream flow: [`doctor`], one round trip through each service it uses;
//!      [`ceiling`], the target's raw capacity; [`shrink`], the smallest stream scenario that
//!      still fails the same way.
//!
//! ARCHITECTURE.md at the repository's root has the code map and the invariants.
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
pub mod parity;
pub mod plot;
pub mod postgres;
pub mod report;
pub mod scenario;
pub mod shrink;
pub mod topology;
pub mod verdict;
pub mod wait;

pub use error::{Error, Result};
