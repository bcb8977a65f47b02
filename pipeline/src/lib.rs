//! tickflow's system under test: the finance streaming pipeline.
//!
//! Data flows market data -> [`producer`] -> Kinesis -> [`bridge`] -> SQS -> [`processor`] ->
//! [`lake`] (S3, whose event notifications announce new data and alerts on SNS: [`notify`]).
//! Every stage is a tokio task that the harness starts, drains in order and stops through a
//! [`stages::StageSet`], each with a [`control::Control`] of its own; a stage fed by a channel
//! (the producer, the lake writer, the web source's database writer) also ends when its input
//! closes. The web server's own task belongs to its [`web::WebServer`], which stops it when
//! dropped.
//!
//! # Layout
//! - [`source`]: deterministic market data (forex, stock quotes, news) from a seed.
//! - [`event`]: the event model, its validation and enrichment.
//! - [`kpl`]: the KPL aggregated-record format (many events per Kinesis record);
//!   [`compress`]: optional zstd compression of records, SQS bodies and lake objects.
//! - [`producer`]: aggregation and `PutRecords` with partial-failure retries.
//! - [`bridge`]: Kinesis -> SQS, de-aggregation, packing, checkpoints.
//! - [`envelope`]: the SQS body that carries many records.
//! - [`esm`]: the SQS event source mapping with Lambda's semantics (partial batch responses)
//!   that runs every pipeline's handlers; [`processor`]: the stream's enriching handler.
//! - [`lake`]: partitions, the buffered S3 writer, the Athena DDL.
//! - [`notify`]: the price-move watch, the alert outbox S3 announces, the run status on SNS.
//! - [`batch`]: the batch pipeline (company CSV files in S3 -> PostgreSQL, triggered by
//!   `.SUCCESS`); [`price_files`]: the price-file pipeline (one price record per S3 object ->
//!   ETL to CSV -> analysis -> SNS alert), both started by S3 notifications ([`s3_event`]).
//! - [`web`]: the market-data web server in front of Kinesis (`/logs`), its tables and its
//!   request log in PostgreSQL.
//! - [`chaos`]: the fault schedule carried out on real SDK calls and at crash points;
//!   [`draw`]: the seeded draws faults and generators share.
//! - What the stages share: [`control`] (run, drain, stop), [`stages`] (a set of stages drained
//!   in order, stopped on drop), [`history`] (taps: the events a stage saw, for the run's
//!   history), [`retry`] (backoff and the one rule of every retry loop), [`resend`] (a batch call's refused
//!   entries sent again),
//!   [`aws`] (clients and their errors), [`metrics`] (CloudWatch metrics named as AWS names
//!   them, published in batches), [`calls`] (every call counted), [`resources`] (the
//!   names a run's stages are wired to), [`utc`] (calendar arithmetic), [`error`].
//!
//! # Example
//! The generator is deterministic, and many events travel in one KPL aggregated record:
//! ```
//! use tickflow_pipeline::kpl::{deaggregate, Aggregator, MAX_KINESIS_RECORD};
//! use tickflow_pipeline::source::{Generator, GeneratorConfig};
//!
//! let config = GeneratorConfig { events: 100, seed: 42, ..GeneratorConfig::default() };
//! let events: Vec<_> = Generator::new(config.clone()).collect();
//! assert_eq!(events, Generator::new(config).collect::<Vec<_>>());
//!
//! let mut aggregator = Aggregator::new(MAX_KINESIS_RECORD);
//! for event in &events {
//!     aggregator.try_add(event.instrument(), event.to_json()).unwrap();
//! }
//! let record = aggregator.finish().unwrap();
//! let back = deaggregate(&record.partition_key, &record.data);
//! assert_eq!(back.len(), 100);
//! assert_eq!(back[0].data, events[0].to_json());
//! ```
#![deny(missing_docs)]

pub mod aws;
pub mod batch;
pub mod bridge;
pub mod calls;
pub mod chaos;
pub mod compress;
pub mod control;
pub mod draw;
pub mod envelope;
pub mod error;
pub mod esm;
pub mod event;
pub mod history;
pub mod kpl;
pub mod lake;
pub mod metrics;
pub mod notify;
pub mod price_files;
pub mod processor;
pub mod producer;
pub mod resend;
pub mod resources;
pub mod retry;
pub mod s3_event;
pub mod source;
pub mod stages;
pub mod utc;
pub mod web;

pub use error::{Error, Result};
