//! The price-file pipeline: price files to CSV to weighted-average alerts.
//!
//! The price-file pipeline of the seed: one price record per S3 object (JSON, XML or plain
//! text) under `crypto/01-data-ingestion/`; an S3 `ObjectCreated` notification on that prefix
//! starts the ETL step ([`etl`]), which writes the record as CSV under `crypto/02-data-analysis/`
//! (or the file, with its reason, to `crypto/quarantine/`); a second notification on that
//! prefix starts the analysis ([`analysis`]), which compares each record's `weightedAverage`
//! with the previous one in market time and announces an alert above a threshold (an object
//! whose S3 notification on the alert topic is the alert, [`crate::notify::announce`]). Both steps
//! are handlers behind the shared SQS event source mapping ([`crate::esm`]).

pub mod analysis;
pub mod etl;
pub mod layout;
mod messages;
pub mod record;

use crate::chaos::{Call, Service};

/// The AWS calls the price-file steps make besides their event source mappings'
/// ([`crate::esm::CALLS`]), so that a fault rule can be held to calls that happen: the ETL's
/// read and its CSV or quarantine write, the analysis's reads of earlier records and its alert's
/// announcement (created, read back after a lost answer).
pub const CALLS: &[Call] = &[
    (Service::S3, "GetObject"),
    (Service::S3, "PutObject"),
    (Service::S3, "ListObjectsV2"),
];

pub use analysis::{Alert, AnalysisConfig, AnalysisHandler};
pub use etl::EtlHandler;
pub use messages::PriceFileStats;
pub use record::{Malformed, MalformedKind, PriceRecord};
