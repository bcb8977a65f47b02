//! Layer 5, what tickflow does over a scenario or a target besides running it.
//!
//! - [`parity`]: one scenario of any flow on two targets, side by side, with the quirks of each;
//! - for the stream flow: [`doctor`], one round trip through each service it uses; [`ceiling`],
//!   the target's raw capacity; [`shrink`], the smallest stream scenario that still fails the
//!   same way.

pub mod ceiling;
pub mod doctor;
pub mod parity;
pub mod shrink;
