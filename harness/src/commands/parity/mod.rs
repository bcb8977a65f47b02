//! Parity: one scenario run on two targets.
//!
//! Parity: one scenario run on two targets (LocalStack and moto, an emulator and AWS), the
//! deterministic parts of their reports side by side, and the known quirks asked of both.
//!
//! - [`facts`]: a report's facts, classed as compared, observed (timing decides them) or timed;
//! - [`quirks`]: the table of known differences between implementations, and the probes that
//!   ask a target each of them;
//! - [`compare`]: the two sides set against each other, row by row;
//! - [`render`]: the text people read.
//!
//! Parity fails on a compared fact that differs, on a quirk that differs where no row documents
//! it, and on a target answering otherwise than its row says.

pub mod compare;
pub mod facts;
pub mod quirks;
pub mod render;

pub use compare::{compare, Agreement, Parity, Row, Side};
pub use facts::{facts, Facts};
pub use quirks::{probe, Quirk, QUIRKS};
pub use render::render_text;
