//! The batch pipeline: company CSV files in S3 to one PostgreSQL table.
//!
//! The batch pipeline of the seed's "Moving Big Data" design: company CSV files in S3 -> one
//! PostgreSQL table, triggered by a `.SUCCESS` upload, with success or failure notifications.
//!
//! - [`trigger`]: the S3 notification that starts a run, at most one a day;
//! - [`extract`]: the company list and the kept companies' files;
//! - [`transform`]: rows checked, derived columns added;
//! - [`load`]: `COPY` into the table, in one transaction, fed as the files are read;
//! - [`output`]: the output object, uploaded in parts as it is produced;
//! - [`job`]: one run, with its log and its status notification;
//! - [`layout`]: where everything lives; [`error`]: why a run failed.

pub mod error;
pub mod extract;
pub mod job;
pub mod layout;
pub mod load;
pub mod output;
pub mod transform;
pub mod trigger;

use crate::chaos::{Call, Service};

/// The AWS calls the batch stages make besides the trigger's event source mapping's
/// ([`crate::esm::CALLS`]), so that a fault rule can be held to calls that happen: the day's
/// claim (create, read back), the day's announced status looked for, the job's reads, output
/// parts (aborted on failure), log and status announcement.
pub const CALLS: &[Call] = &[
    (Service::S3, "PutObject"),
    (Service::S3, "GetObject"),
    (Service::S3, "ListObjectsV2"),
    (Service::S3, "CreateMultipartUpload"),
    (Service::S3, "UploadPart"),
    (Service::S3, "CompleteMultipartUpload"),
    (Service::S3, "AbortMultipartUpload"),
];

pub use error::BatchError;
pub use job::{BatchJob, RunSummary, LOAD_ATTEMPTS};
pub use trigger::{Receipt, Trigger, TriggerStats};
