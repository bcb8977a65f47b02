//! The price-file flow: price files to CSV to alerts.
//!
//! The price-file flow: one price record per S3 object -> notification -> ETL to CSV ->
//! notification -> analysis of the weighted-average change -> SNS alert.
//!
//! - [`settings`] and [`generate`]: the input (with [`PriceFileSettings`]);
//! - [`topology`]: the bucket, its notifications, the step queues and the alert topic;
//! - [`driver`]: one run, start to finish;
//! - `judge`: every prefix, the quarantine and the alerts against the generator;
//!   [`history`]: where each file was seen on its way; [`liveness`]: whether both steps
//!   drained; [`report`]: what it says;
//! - [`ceiling`]: `PutObject` with its notification received, in a tight loop.

pub mod ceiling;
pub mod driver;
pub mod generate;
pub mod history;
mod judge;
pub mod liveness;
pub mod report;
pub mod scenario;
pub mod settings;
pub mod topology;

pub use driver::{run, run_and_keep, FinishedPriceFiles, PriceFilesRunConfig};
pub use report::PriceFilesReport;
pub use settings::PriceFileSettings;
