//! The stream's processor: its handler, claims, recovery and faults.
//!
//! The stream's processor: the handler that validates, enriches and writes events to the lake,
//! run by the shared event source mapping ([`crate::esm`]), with its claims, its recovery and
//! its faults.

pub mod claims;
pub mod faults;
pub mod handler;
pub mod recovery;

use crate::chaos::{Call, Service};

/// The AWS calls the processor makes besides its event source mapping's ([`crate::esm::CALLS`]):
/// the lake writer's (create an object, find one whose answer was lost), the recovery's and the
/// price watch's outputs (list, read, create).
pub const CALLS: &[Call] = &[
    (Service::S3, "PutObject"),
    (Service::S3, "HeadObject"),
    (Service::S3, "ListObjectsV2"),
    (Service::S3, "GetObject"),
];
pub use faults::HandlerFaults;
pub use handler::EnrichHandler;
