//! LocalStack's lifecycle: started or given, versioned, removed.
//!
//! LocalStack's lifecycle: start it with testcontainers (or reuse an endpoint), know its version,
//! and remove what tickflow started.

pub mod config;
mod container;
pub mod health;
pub mod outage;
mod running;
pub mod shared;
pub mod sweep;

pub use config::LocalStackConfig;
pub use container::dial_host;
pub use running::{LocalStack, Origin};
