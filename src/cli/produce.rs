//! `tickflow produce`: one load generator's share into an existing stream.
//!
//! `tickflow produce FILE --stream NAME`: one load generator's share of a scenario's events
//! into an existing stream.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use tickflow_harness::flows::stream::input::arrival::LoadPlan;
use tickflow_harness::flows::stream::input::produce::{self, Partition};
use tickflow_harness::flows::stream::scenario::StreamFile;
use tickflow_harness::infra::aws;
use tickflow_harness::infra::aws::readiness::Service;
use tickflow_harness::scenario;

use super::target::{with_target, TargetKind};

/// Flags of `tickflow produce`.
#[derive(Debug, clap::Args)]
pub(super) struct ProduceArgs {
    /// Scenario whose events (and faults and pipeline settings) to produce.
    file: PathBuf,
    /// The Kinesis stream to put into.
    #[arg(long)]
    stream: String,
    /// This generator's share, `i/n`.
    #[arg(long, default_value = "0/1")]
    partition: Partition,
    /// Events/s for this generator (default: the scenario's `[load]`, else full speed).
    #[arg(long)]
    rate: Option<f64>,
}

/// `tickflow produce FILE --stream NAME`: one load generator's share of a scenario.
pub(super) async fn produce_command(
    target: TargetKind,
    args: ProduceArgs,
) -> anyhow::Result<ExitCode> {
    let ProduceArgs {
        file,
        stream,
        partition,
        rate,
    } = args;
    let s = scenario::load_one(&file)?;
    let file: StreamFile = s.sections::<StreamFile>("tickflow produce")?.clone();
    let generator = file
        .generator_config(s.file.scenario.seed)
        .map_err(anyhow::Error::msg)?;
    let mut load = file.load_plan();
    if rate.is_some() {
        load = LoadPlan {
            rate,
            ..LoadPlan::default()
        };
    }
    with_target(target, &[Service::Kinesis], |target, header| async move {
        eprintln!("{header}");
        let clients = aws::clients(&target).await;
        let producer = file.pipeline.producer();
        let sent = produce::produce(&clients, &stream, generator, &file.faults, &load, producer, partition)
            .await
            .context("producing")?;
        println!(
            "produced partition {}/{}: {} events in {} Kinesis records, {:.1}s ({:.0} events/s) into {stream}",
            partition.index,
            partition.count,
            sent.events,
            sent.kinesis_records,
            sent.seconds,
            sent.events as f64 / sent.seconds
        );
        Ok(ExitCode::SUCCESS)
    })
    .await
}
