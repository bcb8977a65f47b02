//! Layer 0, the pieces every HTML report is drawn with.
//!
//! - [`html`]: escaping and tables for every report section;
//! - [`plot`]: charts as inline SVG (axes, ticks, lines, bars, fault markers);
//! - [`timeline`]: counts through a flow's steps over a run, charted with its faults.

pub mod html;
pub mod plot;
pub mod timeline;
