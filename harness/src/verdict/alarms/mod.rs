//! CloudWatch alarms: declared, expected, judged, reported.
//!
//! CloudWatch alarms as a scenario declares them (`[[alarms]]`), what they must do
//! (`[expect.alarms]`), and the judge of what they did.
//!
//! Every flow whose stages publish metrics reads these the same way; provisioning them and
//! reading their history back is `infra::alarms`'s.

mod config;
mod judge;
mod report;
mod spec;

pub use config::Alarms;
pub use judge::{judge, AlarmExpect, AlarmSeen, FaultMoment, State, Transition, MAX_WITHIN_SECS};
pub use report::AlarmsReport;
pub use spec::{AlarmSpec, Comparison, MissingData, Roles, Statistic, MAX_SPAN_SECS};
