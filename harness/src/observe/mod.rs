//! Observing the pipeline from outside, through the same AWS APIs anyone would use, without
//! changing what is observed (so a finished run can be judged again).
//!
//! - [`lake`]: every object of the lake and the quarantine, read in parallel and checked row by
//!   row (partition, enrichment, content digest);
//! - [`queues`]: queue depths, every message of a queue read within a time bound and left as
//!   it was, SNS deliveries and dead-lettered records.

pub mod lake;
pub mod queues;

pub use lake::{read_lake, LakeContents, PartitionSummary};
pub use queues::{
    dead_letters, deliveries, peek_all, queue_depth, settle, wait_for_messages, Delivery, Peeked,
    QueueDepth, QUIET,
};
