//! The stream flow: market data through Kinesis, SQS and the processor to the lake.
//!
//! The stream flow: market data -> Kinesis -> SQS -> processor (validate, enrich) -> S3 lake
//! `event_type=/dt=/hour=` -> SNS (new data, price-move alerts, run status). Grouped by job:
//!
//! - [`scenario`]: what a stream scenario file gives, and its `[expect]` judged;
//! - [`settings`]: the pipeline's tunables; [`faults`]: what to inject, and each record's fate;
//! - [`input`]: where events come from (replay, the web source, open-model arrivals) and one
//!   load generator's share of a scenario;
//! - [`resources`]: the stream, queues, buckets, topics and the Firehose delivery stream of one
//!   run;
//! - [`driver`]: one run, start to finish: stages wired, fed, drained, judged, announced;
//!   [`progress`]: per-stage counters while it runs;
//! - [`judge`]: the lake read back and reconciled with the ledger, every invariant, the price
//!   watch's windows, the sinks, the fault rules and what fired;
//! - [`report`]: what a run says, as text and HTML;
//! - [`ceiling`]: the raw rates of the calls the stream is made of.

pub mod ceiling;
pub mod driver;
pub mod faults;
pub mod input;
pub mod judge;
pub mod progress;
pub mod report;
pub mod resources;
pub mod scenario;
pub mod settings;
