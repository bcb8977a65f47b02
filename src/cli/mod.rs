//! The command line: subcommands, their flags, and what each one calls.
//!
//! # Layout
//! In layers, each importing only those below it (`harness/tests/layers.rs` holds them):
//! 0. [`target`]: real AWS, or a LocalStack started around the command, and `--target`;
//! 1. [`runs`]: what the commands that run share: one run and its report files, every
//!    scenario of a list, PostgreSQL when one needs it, the `seconds` flag type;
//! 2. one module per command, its flags and its body: [`run`], [`load`], [`replay`],
//!    [`produce`], [`consume`], [`serve`], [`parity`], [`shrink`], [`faults`], and the small ones in
//!    [`commands`] (doctor, validate, schema, record, localstack, ceiling);
//! 3. this file: the clap definitions and the dispatch.

mod commands;
mod consume;
mod faults;
mod load;
mod parity;
mod produce;
mod replay;
mod run;
mod runs;
mod serve;
mod shrink;
mod target;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tickflow_harness::flows::stream::settings::PipelineSettings;

use commands::{
    ceiling_command, doctor_command, localstack_command, record_command, schema_command,
    validate_command,
};
use consume::{consume_command, ConsumeArgs};
use faults::{faults_command, FaultsCommand};
use load::{load_command, LoadArgs};
use parity::{parity_command, ParityArgs};
use produce::{produce_command, ProduceArgs};
use replay::{replay_command, ReplayArgs};
use run::{run_command, RunArgs};
use serve::{serve_command, ServeArgs};
use shrink::{shrink_file_command, ShrinkArgs};
use target::{with_target, TargetKind};

/// tickflow: run an AWS streaming pipeline (Kinesis -> SQS -> S3 -> SNS) on LocalStack.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// Where the pipeline runs: `localstack` (started, or `AWS_ENDPOINT_URL`), `endpoint` (any
    /// AWS-compatible endpoint at `AWS_ENDPOINT_URL`: moto, another emulator) or `aws` (real AWS
    /// through the standard credential chain and region). Resources are namespaced by run id
    /// and torn down.
    #[arg(long, global = true, value_enum, default_value_t = TargetKind::Localstack)]
    target: TargetKind,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Reach or start LocalStack and prove each service works with one round trip.
    Doctor,
    /// Run scenario files, or (without files) one run set by flags, and reconcile what landed.
    Run(RunArgs),
    /// Run one scenario on two targets (`--target`, then `--against`) and set the
    /// deterministic parts of their reports side by side, with each target's known quirks and
    /// both runs' timings; exit 1 on a difference no quirk documents.
    Parity(ParityArgs),
    /// Check scenario files without running them.
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print (or write) the JSON Schema of the scenario format, for TOML editors; the
    /// committed copy is `scenarios/tickflow.schema.json`.
    Schema {
        /// Write it to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write the events a scenario would generate as JSONL, for replay.
    Record {
        /// Scenario file.
        file: PathBuf,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Push a recorded JSONL or a CSV data set through the pipeline.
    Replay(ReplayArgs),
    /// A load run: open-model arrivals (constant, ramp or steps) for a duration or a count.
    Load(LoadArgs),
    /// Send one load generator's share (`--partition i/n`) of a scenario's events into an
    /// existing stream (such as a deployed pipeline's on AWS): several machines split one
    /// scenario deterministically.
    Produce(ProduceArgs),
    /// Run the consuming stages (bridge, processor, lake, notifications) on an existing stream
    /// filled by another producer (`tickflow produce` generators, another KPL implementation, a
    /// deployed source), and reconcile what arrived against the scenario regenerated from its
    /// seed.
    Consume(ConsumeArgs),
    /// Start LocalStack with tickflow's settings, print `AWS_ENDPOINT_URL=...`, and keep it
    /// until Ctrl-C: one LocalStack for several commands or other tools.
    Localstack,
    /// A scenario's fault schedule for other tools (`faults export FILE --format fis`).
    #[command(subcommand)]
    Faults(FaultsCommand),
    /// Cut a failing scenario down (events, then faults) to a small one that still fails the
    /// same way in at least k of n runs, and write it with its fault list pinned.
    Shrink(ShrinkArgs),
    /// Serve a web-sourced scenario's `/logs` (with the pipeline behind it) until Ctrl-C, for
    /// curl or a load tool; then drain and judge what was served.
    Serve(ServeArgs),
    /// Measure LocalStack's raw capacity with tight loops of PutRecords, SendMessageBatch and
    /// PutObject, and PutObject with its S3 notification: the ceilings the flows are compared
    /// with.
    Ceiling {
        /// Seconds per loop (1 to 3600).
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3_600))]
        seconds: u64,
    },
}

/// Runs the parsed command and returns the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let target = cli.target;
    match cli.command {
        Command::Doctor => {
            let needs = PipelineSettings::default().services();
            with_target(target, &needs, doctor_command).await
        }
        Command::Parity(args) => parity_command(target, args).await,
        Command::Validate { files } => Ok(validate_command(&files)),
        Command::Schema { out } => schema_command(out.as_deref()),
        Command::Record { file, out } => record_command(&file, &out),
        Command::Localstack => localstack_command(target).await,
        Command::Ceiling { seconds } => ceiling_command(target, seconds).await,
        Command::Run(args) => run_command(target, args).await,
        Command::Shrink(args) => shrink_file_command(target, args).await,
        Command::Faults(command) => faults_command(command),
        Command::Produce(args) => produce_command(target, args).await,
        Command::Load(args) => load_command(target, args).await,
        Command::Replay(args) => replay_command(target, args).await,
        Command::Consume(args) => consume_command(target, args).await,
        Command::Serve(args) => serve_command(target, args).await,
    }
}
