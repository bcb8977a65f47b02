//! What every judge and every report says, whatever the flow.
//!
//! What every judge and every report says, whatever the flow: the checks a verdict is made of
//! (held and failed), the [`Report`] each flow's report gives (with what its seed fixes:
//! [`FactRules`] and its snapshot), what a run cost, and the ceilings runs are compared against.

pub mod alarms;
mod checks;
mod digest;
pub mod expect;
mod facts;
mod failure;
pub mod fault_rules;
mod flow_report;
pub mod history;
pub mod latency;
pub mod liveness;
mod measurement;
mod record;
mod report;
mod resources;

pub use checks::Checks;
pub use digest::{digest, Digest};
pub use facts::{FactClass, FactRules};
pub use failure::{Failure, LIVENESS};
pub use flow_report::FlowReport;
pub use measurement::Measurement;
pub use record::Verdict;
pub use report::{verdict, Report, ReportObject, Tally};
pub use resources::ResourceUse;
