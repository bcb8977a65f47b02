//! What every judge and every report says, whatever the flow: the checks a verdict is made of
//! (held and failed), the [`Report`] each flow's report gives, what a run cost, and the ceilings runs are
//! compared against.

mod checks;
mod digest;
mod failure;
mod measurement;
mod report;
mod resources;

pub use checks::Checks;
pub use digest::{digest, Digest};
pub use failure::Failure;
pub use measurement::Measurement;
pub use report::{verdict, Report, Tally};
pub use resources::ResourceUse;
