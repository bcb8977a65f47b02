//! The price-file pipeline: price files to CSV to weighted-average alerts.
//!
//! The price-file pipeline of the seed: one price record per S3 object (JSON, XML or plain
//! text) under `crypto/01-data-ingestion/`; an S3 `ObjectCreated` notification on that prefix
//! starts the ETL step ([`etl`]), which writes the record as CSV under `crypto/02-data-analysis/`
//! (or the file, with its reason, to `crypto/quarantine/`); a second notification on that
//! prefix starts the analysis ([`analysis`]), which compares each record's `weightedAverage`
//! with the previous one in market time and publishes an SNS alert above a threshold. Both steps
//! are handlers behind the shared SQS event source mapping ([`crate::esm`]).

pub mod analysis;
pub mod etl;
pub mod layout;
mod messages;
pub mod record;

pub use analysis::{Alert, AnalysisConfig, AnalysisHandler};
pub use etl::EtlHandler;
pub use messages::PriceFileStats;
pub use record::{Malformed, MalformedKind, PriceRecord};
