//! `tickflow consume FILE --stream NAME`: the consuming stages on a stream someone else filled
//! (`tickflow produce` generators, another KPL producer, a deployed pipeline's source), judged
//! against the scenario regenerated from its seed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use tickflow_harness::aws::readiness::Service;
use tickflow_harness::aws::{self, Target};
use tickflow_harness::flows::stream::driver::Source;
use tickflow_pipeline::aws::AwsError;

use super::commands::load_all;
use super::runs::{run_once, stream_only, Outputs};
use super::target::{with_target, Site};
use super::TargetKind;

/// Flags of `tickflow consume`.
#[derive(Debug, clap::Args)]
pub(super) struct ConsumeArgs {
    /// The scenario whose events the stream should hold (all its partitions).
    file: PathBuf,
    /// The existing Kinesis stream to read from its oldest record (left as it is).
    #[arg(long)]
    stream: String,
    /// Write the full report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write a self-contained HTML report to this file.
    #[arg(long)]
    html: Option<PathBuf>,
}

/// Runs the consuming stages on `--stream` and reconciles what reached the lake.
pub(super) async fn consume_command(
    target: TargetKind,
    args: ConsumeArgs,
) -> anyhow::Result<ExitCode> {
    let s = load_all(std::slice::from_ref(&args.file))?.remove(0);
    stream_only(&s, "tickflow consume")?;
    let mut config = s.run_config().map_err(anyhow::Error::msg)?;
    anyhow::ensure!(
        matches!(config.source, Source::Generate(_)),
        "{}: `tickflow consume` regenerates a scenario's events from its seed to know what the \
         stream should hold; this scenario's events come from a replay or the web source",
        s.path.display()
    );
    config.consume_from = Some(args.stream.clone());
    let outputs = Outputs {
        json: args.json,
        html: args.html,
    };
    let mut needs = config.pipeline.services();
    needs.push(Service::Kinesis);
    needs.sort();
    needs.dedup();
    let stream = args.stream;
    with_target(target, &needs, |target, site| async move {
        stream_exists(&target, &site, &stream).await?;
        run_once(config, outputs, target, site).await
    })
    .await
}

/// Refuses a stream that is not there, naming it and the target.
async fn stream_exists(target: &Target, site: &Site, stream: &str) -> anyhow::Result<()> {
    let clients = aws::clients(target).await;
    clients
        .kinesis
        .describe_stream_summary()
        .stream_name(stream)
        .send()
        .await
        .map_err(AwsError::of("kinesis", "DescribeStreamSummary"))
        .with_context(|| format!("stream {stream} cannot be read on {site}"))?;
    Ok(())
}
