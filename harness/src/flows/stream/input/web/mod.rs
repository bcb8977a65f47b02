//! The web source: the market-data server in front of the pipeline.
//!
//! The web source (`[source] kind = "web"`): the market-data web server in front of the
//! producer ([`tickflow_pipeline::web`]), with its tables in PostgreSQL, called on a schedule.
//!
//! - [`settings`]: the `[web]` section;
//! - [`source`]: the tables, the server and its callers for one run;
//! - [`process`]: the server, its writer and its relay as one process, started again after a
//!   crash;
//! - [`client`]: the scheduler, an open-model HTTP client that keeps every answer;
//! - [`tables`]: the tables read back; [`judge`]: the invariants; [`report`]: what it says.

pub mod client;
pub mod judge;
pub mod process;
pub mod report;
pub mod settings;
pub mod source;
pub mod tables;

pub use report::WebReport;
pub use settings::WebSettings;
pub use source::{Callers, WebRun, WebSpec};
