//! Where a stream run's events come from, and when.
//!
//! - [`replay`]: recorded JSONL and CSV data;
//! - [`web`]: the market-data web server, its scheduler and its tables;
//! - [`arrival`]: open-model arrival rates and their caps;
//! - [`produce`]: one load generator's share of a scenario, into an existing stream.

pub mod arrival;
pub mod produce;
pub mod replay;
pub mod web;
