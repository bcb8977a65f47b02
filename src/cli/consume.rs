//! `tickflow consume`: the consuming stages on a stream someone else filled.
//!
//! `tickflow consume FILE --stream NAME`: the consuming stages on a stream someone else filled
//! (`tickflow produce` generators, another KPL producer, a deployed pipeline's source), judged
//! against the scenario regenerated from its seed; `--bucket NAME`: only the judge, on an
//! existing lake.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use tickflow_harness::flows::stream::driver::{judge_lake, Source};
use tickflow_harness::flows::stream::scenario::StreamFile;
use tickflow_harness::infra::aws::readiness::Service;
use tickflow_harness::infra::aws::{self, Target};
use tickflow_harness::scenario;
use tickflow_pipeline::aws::AwsError;

use super::runs::{run_once, show, Outputs};
use super::target::{with_target, Site, TargetKind};

/// Flags of `tickflow consume`.
#[derive(Debug, clap::Args)]
pub(super) struct ConsumeArgs {
    /// The scenario whose events the stream should hold (all its partitions).
    file: PathBuf,
    /// The existing Kinesis stream to read from its oldest record (left as it is).
    #[arg(long, required_unless_present = "bucket", conflicts_with = "bucket")]
    stream: Option<String>,
    /// An existing lake to judge alone (no stages run; checks it cannot show are named, not
    /// passed).
    #[arg(long)]
    bucket: Option<String>,
    /// Keep the run's resources (its lake, to judge again with `--bucket`).
    #[arg(long)]
    keep: bool,
    #[command(flatten)]
    outputs: Outputs,
}

/// Runs the consuming stages on `--stream` and reconciles what reached the lake.
pub(super) async fn consume_command(
    target: TargetKind,
    args: ConsumeArgs,
) -> anyhow::Result<ExitCode> {
    let s = scenario::load_one(&args.file)?;
    let mut config = s
        .sections::<StreamFile>("tickflow consume")?
        .run_config(s.run_of())
        .map_err(anyhow::Error::msg)?;
    anyhow::ensure!(
        matches!(config.source, Source::Generate(_)),
        "{}: `tickflow consume` regenerates a scenario's events from its seed to know what the \
         stream should hold; this scenario's events come from a replay or the web source",
        s.path.display()
    );
    let outputs = args.outputs;
    if let Some(bucket) = args.bucket {
        return with_target(target, &[Service::S3], |target, site| async move {
            eprintln!("{site}");
            let clients = aws::clients(&target).await;
            let report = judge_lake(&clients, &config, &bucket)
                .await
                .with_context(|| format!("judging the lake s3://{bucket} on {site}"))?;
            show(&report, &outputs)
        })
        .await;
    }
    let stream = args.stream.unwrap_or_default();
    config.consume_from = Some(stream.clone());
    config.keep_resources = args.keep;
    let mut needs = config.pipeline.services();
    needs.push(Service::Kinesis);
    needs.sort();
    needs.dedup();
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
