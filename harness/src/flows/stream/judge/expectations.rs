//! How a run's own expectations join its verdict.
//!
//! How a run's own expectations join its verdict before the run status is announced, without
//! the stream flow knowing the scenario format: the scenario layer implements [`Expectations`].

use crate::flows::stream::report::StreamReport;
use crate::verdict::Failure;

/// Assertions on a finished run beyond the invariants every run meets.
pub trait Expectations: std::fmt::Debug + Send + Sync {
    /// Every assertion `report` breaks but those on the run status (which is announced from
    /// this verdict).
    fn before_status(&self, report: &StreamReport) -> Vec<Failure>;
    /// Every assertion on the run status `report` read back.
    fn on_status(&self, report: &StreamReport) -> Vec<Failure>;
    /// Every assertion that holds on `report`, with what it expects and what the run showed
    /// (for the report's list of every check).
    fn held(&self, _report: &StreamReport) -> Vec<Failure> {
        Vec::new()
    }
}

/// What a run without a scenario expects: that it sent something (a run of nothing has
/// nothing to be judged on).
#[derive(Debug, Clone, Copy, Default)]
pub struct SomethingSent;

impl Expectations for SomethingSent {
    fn before_status(&self, report: &StreamReport) -> Vec<Failure> {
        nothing_sent(report).into_iter().collect()
    }

    fn on_status(&self, _: &StreamReport) -> Vec<Failure> {
        Vec::new()
    }
}

/// The failure of a run that sent nothing, when it did.
pub fn nothing_sent(report: &StreamReport) -> Option<Failure> {
    (report.judged.reconciliation.events == 0).then(|| {
        Failure::new(
            "sent",
            "at least one record (or `sent = 0` in [expect])",
            "0: a run that sent nothing has nothing to be judged on",
        )
    })
}
