//! The stream flow: market data through Kinesis, SQS and the processor to the lake.
//!
//! The stream flow: market data -> Kinesis -> SQS -> processor (validate, enrich) -> S3 lake
//! `event_type=/dt=/hour=` -> SNS (new data, price-move alerts, run status).
//!
//! - [`settings`]: the pipeline's tunables;
//! - the input: [`replay`] (recorded or CSV data), [`web`] (the market-data web server and
//!   its scheduler), [`arrival`] (open-model arrival rates),
//!   [`faults`] (what to inject, and each record's fate), [`produce`] (one load generator's
//!   share of a scenario);
//! - [`topology`]: the stream, queues, buckets, topics and subscriptions of one run;
//!   [`delivery`]: the Firehose delivery stream of the `firehose` consumer;
//! - [`driver`]: one run, start to finish: stages wired, fed, drained, judged, announced;
//!   [`progress`]: per-stage counters while it runs; [`expectations`]: the hook through which a
//!   scenario's `[expect]` joins the verdict;
//! - the judge: [`lake`] reads the lake and quarantine back, [`reconcile`] compares them with
//!   the ledger of what was sent, [`judge`] adds queues and notifications and checks every
//!   invariant, [`alerts`] holds the price watch's windows, alerts and late output against the
//!   lake's prices; [`fired`]: the faults that fired, as a schedule to replay; [`rules`]: each
//!   fault rule able to fire before the run, and fired after it;
//! - [`sinks`]: the consumers' sinks side by side (the lake, the raw objects, Firehose's),
//!   each reconciled on its own;
//! - [`report`]: what a run says, as text and HTML;
//! - [`ceiling`]: the raw rates of the calls the stream is made of.

pub mod alerts;
pub mod arrival;
pub mod ceiling;
pub mod delivery;
pub mod driver;
pub mod expectations;
pub mod faults;
pub mod fired;
pub mod judge;
pub mod lake;
pub mod produce;
pub mod progress;
pub mod reconcile;
pub mod replay;
pub mod report;
pub mod rules;
pub mod scenario;
pub mod settings;
pub mod sinks;
pub mod topology;
pub mod web;
