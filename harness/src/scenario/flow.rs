//! What every flow's adapter is.
//!
//! What every flow's adapter is: a run from the scenario file to a report whose verdict holds
//! its `[expect]`, on the endpoint and the infrastructure it is given.

use tickflow_pipeline::aws::Clients;

use super::outcome::FlowReport;
use super::parse::Scenario;

/// What a scenario runs on besides the AWS endpoint.
#[derive(Debug, Clone, Copy, Default)]
pub struct Infra<'a> {
    /// The id of the LocalStack container tickflow started (an outage fault pauses it).
    pub localstack_container: Option<&'a str>,
    /// The PostgreSQL URL the batch flow loads into.
    pub postgres: Option<&'a str>,
    /// The PostgreSQL container tickflow started: the batch flow measures a plain `psql` `COPY`
    /// in it as the database's ceiling.
    pub postgres_container: Option<&'a str>,
}

/// One flow as a scenario runs it: from the file to a report whose verdict includes the
/// scenario's `[expect]`. A new flow is one adapter and one [`FlowReport`] variant.
pub(crate) trait Flow {
    /// Runs `scenario` against `clients`' endpoint (and `infra`) and judges it.
    ///
    /// # Errors
    /// What stopped the run before it could be judged, said for people.
    async fn run(
        &self,
        scenario: &Scenario,
        clients: &Clients,
        infra: Infra<'_>,
    ) -> Result<FlowReport, String>;
}
