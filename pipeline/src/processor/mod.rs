//! The processor: an SQS event source mapping with Lambda's semantics, and the handler that
//! validates, enriches and writes events to the lake.

pub mod claims;
pub mod esm;
pub mod faults;
pub mod handler;
pub mod recovery;
pub mod response;

pub use esm::{EsmConfig, EventSourceMapping, Handler, HandlerError, SqsMessage};
pub use faults::HandlerFaults;
pub use handler::EnrichHandler;
pub use response::{BatchResponse, ItemFailure};
