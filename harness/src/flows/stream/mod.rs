//! The stream flow: market data -> Kinesis -> SQS -> processor -> S3 lake -> SNS.

pub mod arrival;
pub mod ceiling;
pub mod driver;
pub mod expectations;
pub mod faults;
pub mod fired;
pub mod judge;
pub mod lake;
pub mod produce;
pub mod progress;
pub mod reconcile;
pub mod replay;
pub mod report;
pub mod settings;
pub mod topology;
