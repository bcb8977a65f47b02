//! Layer 0, how the harness waits, and where what outlives a test runs.
//!
//! - [`wait`]: waiting with a deadline, the one way;
//! - [`owned_thread`]: a runtime on a thread of its own for what outlives one test's runtime
//!   (the shared containers);
//! - [`sampler`]: a run's counters sampled into a timeline in the background.

pub mod owned_thread;
pub mod sampler;
pub mod wait;
