//! What a stream scenario's file says about its run, as every flow's file says it.
//!
//! The stream flow as a [`FlowFile`]: its checks, the services it calls, whether it needs
//! PostgreSQL (a web source) or a LocalStack of its own (an outage), the run it plans, and the
//! run itself.

use futures_util::future::LocalBoxFuture;
use tickflow_pipeline::aws::Clients;
use tickflow_pipeline::chaos::FaultRule;

use super::file::StreamFile;
use super::sections::SourceKind;
use crate::flows::flow::{FlowFile, Infra, Planned, RunOf, Written};
use crate::flows::stream::driver::{self, Source, StreamRunConfig};
use crate::verdict::FlowReport;

impl FlowFile for StreamFile {
    fn check(&self, written: &Written) -> Vec<(String, String)> {
        super::check::check(self, written)
    }

    fn services(&self) -> Vec<tickflow_pipeline::chaos::Service> {
        self.pipeline.services()
    }

    fn fault_schedule(&self) -> &[FaultRule] {
        &self.faults.schedule
    }

    /// A replayed rule must be one the stream flow takes, on a call this run's stages make (its
    /// consumers decide which).
    fn replay_faults(&mut self, schedule: Vec<FaultRule>) -> Vec<(String, String)> {
        let calls = self.pipeline.calls();
        let database = self.needs_postgres();
        self.faults.replace_schedule(schedule, &calls, database)
    }

    /// The web source stores its rows and request log in PostgreSQL.
    fn needs_postgres(&self) -> bool {
        self.source_kind() == SourceKind::Web
    }

    fn pauses_postgres(&self) -> bool {
        self.faults
            .schedule
            .iter()
            .any(|r| r.kind == tickflow_pipeline::chaos::FaultKind::DbPause)
    }

    fn pauses_localstack(&self) -> bool {
        self.faults
            .schedule
            .iter()
            .any(|r| r.kind == tickflow_pipeline::chaos::FaultKind::Outage)
    }

    fn planned(&self) -> Planned {
        super::planned::planned(self)
    }

    fn run<'a>(
        &'a self,
        of: RunOf<'a>,
        clients: &'a Clients,
        infra: Infra<'a>,
    ) -> LocalBoxFuture<'a, Result<FlowReport, String>> {
        Box::pin(async move {
            let mut config = StreamRunConfig {
                container: infra.localstack_container.map(str::to_string),
                postgres_container: infra.postgres_container.map(str::to_string),
                ..self.run_config(of)?
            };
            if let Source::Web(web) = &mut config.source {
                web.postgres = infra.postgres.map(str::to_string);
            }
            // The verdict includes the scenario's assertions (the run status announced it).
            let report = driver::run(clients, &config)
                .await
                .map_err(|e| e.to_string())?;
            Ok(report.into())
        })
    }
}
