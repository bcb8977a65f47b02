//! The batch flow: company CSV files in S3 to one PostgreSQL table.
//!
//! The batch flow: company CSV files in S3 -> one PostgreSQL table, started by a `.SUCCESS`
//! object, at most once a day.
//!
//! - [`generate`] and [`replay`]: the input, generated from a seed or read from a directory
//!   (with [`BatchSettings`]);
//! - [`topology`]: the buckets, the trigger queue, the status topic and the schema;
//! - [`driver`]: one run, start to finish;
//! - `judge` and [`content`]: every row and column of the table and the output against the
//!   input; [`history`]: where each company's rows went missing; [`liveness`]: whether the
//!   run finished; [`report`]: what it says;
//! - [`ceiling`]: a plain `psql` `COPY` of the same rows;
//! - [`alarms`]: what its alarms may name, and the stages that feed them.

pub mod alarms;
pub mod ceiling;
pub mod content;
pub mod driver;
pub mod generate;
pub mod history;
mod judge;
pub mod liveness;
pub mod replay;
pub mod report;
pub mod scenario;
pub mod topology;

pub use driver::{run, run_and_keep, BatchInput, BatchRunConfig, FinishedBatch};
pub use generate::BatchSettings;
pub use report::BatchReport;
