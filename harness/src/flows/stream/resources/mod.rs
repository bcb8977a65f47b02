//! The AWS resources of one stream run.
//!
//! - [`topology`]: the stream, queues, buckets, topics and subscriptions, provisioned and torn
//!   down;
//! - [`delivery`]: the Firehose delivery stream of the `firehose` consumer.

pub mod delivery;
pub mod topology;
