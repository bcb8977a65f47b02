//! `tickflow replay PATH`: a recorded JSONL or a CSV data set through the stream flow.

use std::path::PathBuf;
use std::process::ExitCode;

use tickflow_harness::flows::stream::driver::{Source, StreamRunConfig};
use tickflow_harness::flows::stream::input::replay::{Pace, ReplaySpec};

use super::runs::{run_once, Outputs};
use super::target::{with_target, TargetKind};

/// Flags of `tickflow replay`.
#[derive(Debug, clap::Args)]
pub(super) struct ReplayArgs {
    /// JSONL (from `tickflow record`) or CSV file.
    path: PathBuf,
    /// `full`, `original`, or a factor of the original pace (`10` = ten times faster).
    #[arg(long, default_value = "full")]
    speed: String,
    /// Symbol for a stock CSV without a `symbol` column (default: the file name up to its first
    /// `.`, upper-cased).
    #[arg(long)]
    symbol: Option<String>,
    /// `csv` or `jsonl`; by default decided by the content, whatever the extension.
    #[arg(long)]
    format: Option<tickflow_harness::flows::stream::input::replay::Format>,
    /// Name of the run.
    #[arg(long, default_value = "replay")]
    name: String,
}

/// `tickflow replay PATH`: a recorded or CSV data set through the stream flow.
pub(super) async fn replay_command(
    target: TargetKind,
    args: ReplayArgs,
) -> anyhow::Result<ExitCode> {
    let pace = match args.speed.as_str() {
        "full" => Pace::Full,
        "original" => Pace::Scaled(1.0),
        factor => factor
            .parse::<f64>()
            .map_err(|_| format!("not a number: {factor:?}"))
            .and_then(Pace::scaled)
            .map_err(|e| anyhow::anyhow!("--speed takes full, original or a factor: {e}"))?,
    };
    let spec = ReplaySpec {
        path: args.path,
        pace,
        symbol: args.symbol,
        format: args.format,
    };
    // A source that cannot be replayed is an error before any container starts.
    tickflow_harness::flows::stream::input::replay::check(&spec)?;
    let mut config = StreamRunConfig::new(&args.name, 1, 7);
    config.source = Source::Replay(spec);
    let outputs = Outputs::default();
    let needs = config.pipeline.services();
    with_target(target, &needs, |target, header| {
        run_once(config, outputs, target, header)
    })
    .await
}
