//! The S3 data lake: Hive-style partitions, a Firehose-like buffered writer, and the Athena DDL.

pub mod ddl;
pub mod partition;
mod writer;

pub use writer::{Lake, LakeConfig, LakeStats, Rows, WRITTEN_AT_META};
