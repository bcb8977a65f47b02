//! Judging a stream run from what it left behind.
//!
//! - [`lake`]: the lake and quarantine read back, row by row; [`reconcile`]: compared with the
//!   ledger of what was sent;
//! - [`invariants`]: queues and notifications added, every invariant checked, the verdict;
//! - [`alerts`]: the price watch's windows, alerts and late output against the lake's prices;
//! - [`sinks`]: the consumers' sinks side by side, each reconciled on its own;
//! - [`history`]: where each event was seen (the stages' taps and the lake), which says where
//!   a lost event was last seen;
//! - [`read_back`]: the stream read on the judge's own iterators, when the history needs it;
//! - [`order`]: whether each partition key's events went on in the producer's order;
//! - [`liveness`]: whether the stages drained, or where the pipeline stopped moving;
//! - [`fired`]: the faults that fired, as a schedule to replay (each rule able to fire and
//!   fired is `crate::verdict::fault_rules`, every flow's);
//! - [`expectations`]: the hook through which a scenario's `[expect]` joins the verdict.

pub mod alerts;
pub mod expectations;
pub mod fired;
pub mod history;
pub mod invariants;
pub mod lake;
pub mod liveness;
pub mod order;
pub mod read_back;
pub mod reconcile;
pub mod sinks;
