//! CloudWatch metrics from every stage, named as AWS names them, published in batches.
//!
//! A run that asks for metrics (a scenario with alarms) hands its stages [`Metrics::on`] through
//! their clients; every other run's [`Metrics`] is off, and recording costs a branch. Stages
//! record per call they make (a `PutRecords`, a `GetRecords`, a handler invocation), never per
//! event; the [`publish::Publisher`] stage sends what was recorded every second as statistic
//! sets, and [`queues::QueueDepths`] samples the queues' depths where the target does not.

pub mod aggregate;
pub mod catalogue;
pub mod publish;
pub mod queues;
mod recorder;

pub use recorder::{epoch_ms, Metrics, MetricsStats, Published};
