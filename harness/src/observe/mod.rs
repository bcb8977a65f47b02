//! Reading back what a run left, without changing it.
//!
//! Reading back what a run left, through the same AWS APIs anyone would use, without changing
//! what is observed (so a finished run can be judged again).
//!
//! - [`queues`]: queue depths, every message of a queue read within a time bound and left as it
//!   was, SNS deliveries, waiting for a queue to settle;
//! - [`status`]: the run-status subjects a run announced, and whether they say its verdict;
//! - [`announced`]: the objects a topic announced through S3's notifications, with their bodies;
//! - [`alarms`]: what a run's alarms did (their history and notifications), and the wait for
//!   them to settle.

pub mod alarms;
pub mod announced;
pub mod queues;
pub mod status;

pub use announced::{announcements, Announced, Announcements};
pub use queues::{
    deliveries, peek_all, queue_depth, settle, wait_for_messages, Delivery, Peeked, QueueDepth,
    QUIET,
};
pub use status::{run_status, run_status_announced, run_status_deliveries, SETTLE};
