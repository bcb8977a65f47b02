//! Layer 0, the pieces every HTML report is drawn with.
//!
//! - [`html`]: escaping and tables for every report section;
//! - [`plot`]: charts as inline SVG (axes, ticks, lines, bars, fault markers).

pub mod html;
pub mod plot;
