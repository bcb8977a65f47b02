//! Layer 5, what tickflow does over a scenario or a target besides running it.
//!
//! - [`parity`]: one scenario of any flow on two targets, side by side, with the quirks of each;
//! - [`shrink`]: the smallest scenario of any flow that still fails the same way;
//! - [`fis`]: a scenario's fault schedule as an AWS FIS experiment template;
//! - for the stream flow: [`doctor`], one round trip through each service it uses; [`ceiling`],
//!   the target's raw capacity.

pub mod ceiling;
pub mod doctor;
pub mod fis;
pub mod parity;
pub mod shrink;
