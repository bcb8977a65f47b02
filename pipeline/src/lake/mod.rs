//! The S3 data lake: partitions, the buffered writer, rows, the Athena DDL.
//!
//! The S3 data lake: Hive-style partitions, a Firehose-like buffered writer, the Athena DDL,
//! and rows read back.

pub mod ddl;
pub mod partition;
pub mod row;
mod writer;

pub use writer::{Lake, LakeConfig, LakeStats, Rows, WRITTEN_AT_META};
