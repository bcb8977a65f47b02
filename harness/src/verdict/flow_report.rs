//! One flow's report, whichever the flow, as a value.
//!
//! One flow's report, whichever the flow, boxed: what a flow's run returns and a scenario's
//! outcome holds.

use super::report::Report;

/// One flow's report, whichever the flow: every consumer reads it through [`Report`], and only
/// a flow's own view (its tests, the CLI's `--json`) looks inside ([`FlowReport::get`]).
pub struct FlowReport(Box<dyn Report>);

impl FlowReport {
    /// The report, as every flow's report reads.
    pub fn report(&self) -> &dyn Report {
        self.0.as_ref()
    }

    /// The report as its own type `R`, when it is one.
    pub fn get<R: Report>(&self) -> Option<&R> {
        self.0.as_any().downcast_ref()
    }
}

impl Clone for FlowReport {
    fn clone(&self) -> Self {
        Self(self.0.boxed())
    }
}

impl std::fmt::Debug for FlowReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<R: Report> From<R> for FlowReport {
    fn from(r: R) -> Self {
        Self(Box::new(r))
    }
}
