//! The command line: subcommands, their flags, and what each one calls.
//!
//! # Layout
//! - this file: the clap definitions and the dispatch;
//! - [`target`]: real AWS, or a LocalStack started around the command;
//! - [`commands`]: doctor, validate, record;
//! - [`runs`]: flag, scenario, load and replay runs, and their report files;
//! - [`parity`]: one scenario on two targets, compared;
//! - [`consume`]: the consuming stages on a stream another producer filled.

mod commands;
mod consume;
mod parity;
mod runs;
mod serve;
mod target;

use commands::{doctor_command, load_all, record_command, schema_command, validate_command};
use consume::{consume_command, ConsumeArgs};
use parity::{parity_command, ParityArgs};
use runs::{
    flag_run_config, load_config, run_once, scenarios_command, shrink_command, stream_only, Outputs,
};
use serve::{serve_command, ServeArgs};
use target::with_target;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tickflow_harness::aws::readiness::Service;
use tickflow_harness::aws::{self, Target};
use tickflow_harness::ceiling;
use tickflow_harness::flows::stream::arrival::{LoadPlan, Ramp, Step};
use tickflow_harness::flows::stream::driver::{Source, StreamRunConfig};
use tickflow_harness::flows::stream::fired;
use tickflow_harness::flows::stream::produce::{self, Partition};
use tickflow_harness::flows::stream::replay::{Pace, ReplaySpec};
use tickflow_harness::flows::stream::settings::PipelineSettings;
use tickflow_harness::scenario;
use tickflow_harness::shrink::ShrinkConfig;

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

/// The `--target` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TargetKind {
    /// LocalStack, started by tickflow or given by `AWS_ENDPOINT_URL`.
    Localstack,
    /// Any AWS-compatible endpoint at `AWS_ENDPOINT_URL`, proven by one call per service a run
    /// needs.
    Endpoint,
    /// Real AWS.
    Aws,
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
    Produce {
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
    },
    /// Run the consuming stages (bridge, processor, lake, notifications) on an existing stream
    /// filled by another producer (`tickflow produce` generators, another KPL implementation, a
    /// deployed source), and reconcile what arrived against the scenario regenerated from its
    /// seed.
    Consume(ConsumeArgs),
    /// Start LocalStack with tickflow's settings, print `AWS_ENDPOINT_URL=...`, and keep it
    /// until Ctrl-C: one LocalStack for several commands or other tools.
    Localstack,
    /// Cut a failing scenario down (events, then faults) to a small one that still fails the
    /// same way in at least k of n runs, and write it with its fault list pinned.
    Shrink {
        /// The failing scenario file.
        file: PathBuf,
        /// Runs of each candidate (n).
        #[arg(long, default_value_t = 3)]
        runs: u32,
        /// How many of them must fail for a step to be taken (k).
        #[arg(long, default_value_t = 2)]
        min_failures: u32,
        /// Fewest events to try (at least 1).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
        min_events: u64,
        /// Where to write the shrunk scenario (default: `<name>-shrunk.toml` here).
        #[arg(long)]
        out: Option<PathBuf>,
    },
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

/// Flags of `tickflow run`. The flags that describe a run of flags are refused beside
/// scenario files, which describe their own runs (nothing is silently ignored).
#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Scenario files; without any, the flags below describe the run.
    #[arg(conflicts_with_all = ["events", "seed", "name", "shards", "no_aggregate", "keep", "json", "html"])]
    files: Vec<PathBuf>,
    /// Directory for report.json, report.md and junit.xml (scenario runs).
    #[arg(long, default_value = "reports")]
    report_dir: PathBuf,
    /// Events to generate.
    #[arg(long, default_value_t = 10_000)]
    events: u64,
    /// Seed of the generator and of fault injection.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Name of the run in reports and in the run-status subject.
    #[arg(long, default_value = "smoke")]
    name: String,
    /// Kinesis shards.
    #[arg(long, default_value_t = 2)]
    shards: i32,
    /// Put one Kinesis record per event instead of aggregating (KPL format).
    #[arg(long)]
    no_aggregate: bool,
    /// Keep the run's AWS resources for inspection.
    #[arg(long)]
    keep: bool,
    #[command(flatten)]
    outputs: Outputs,
    /// Replay exactly the infrastructure faults a past run fired (its `--json` report, or a
    /// scenario `report.json`), instead of the scenario's own schedule.
    #[arg(long)]
    faults_from: Option<PathBuf>,
}

/// Flags of `tickflow load`.
#[derive(Debug, clap::Args)]
struct LoadArgs {
    /// A scenario to load-test (its `[load]` section, overridden by the flags below); without
    /// one, a generated mix with the `load-1m` pipeline settings.
    file: Option<PathBuf>,
    /// Constant rate, events/s.
    #[arg(long, conflicts_with_all = ["ramp", "steps"])]
    rate: Option<f64>,
    /// Ramp, `FROM:TO:SECS` (events/s, events/s, seconds).
    #[arg(long, conflicts_with = "steps")]
    ramp: Option<Ramp>,
    /// Steps, `RATE:SECS,RATE:SECS,...`.
    #[arg(long, value_delimiter = ',')]
    steps: Vec<Step>,
    /// Stop feeding after this many seconds (within (0, 1e7]).
    #[arg(long, value_parser = seconds)]
    duration: Option<f64>,
    /// Most events to generate (without a scenario).
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Seed (without a scenario).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[command(flatten)]
    outputs: Outputs,
}

/// Flags of `tickflow replay`.
#[derive(Debug, clap::Args)]
struct ReplayArgs {
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
    format: Option<tickflow_harness::flows::stream::replay::Format>,
    /// Name of the run.
    #[arg(long, default_value = "replay")]
    name: String,
}

/// A number of seconds a command waits or runs for: finite, above 0 and at most the cap every
/// planned schedule keeps ([`tickflow_harness::flows::stream::arrival::MAX_SECS`]).
fn seconds(text: &str) -> Result<f64, String> {
    use tickflow_harness::flows::stream::arrival::MAX_SECS;
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if secs > 0.0 && secs <= MAX_SECS {
        Ok(secs)
    } else {
        Err(format!(
            "must be within (0, {MAX_SECS:.0e}] seconds, got {text}"
        ))
    }
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
        Command::Run(args) if !args.files.is_empty() => scenario_files_command(target, args).await,
        Command::Run(args) => flag_run_command(target, args).await,
        Command::Shrink {
            file,
            runs,
            min_failures,
            min_events,
            out,
        } => {
            let config = ShrinkConfig {
                runs,
                min_failures,
                min_events,
            };
            shrink_file_command(target, file, config, out).await
        }
        Command::Produce {
            file,
            stream,
            partition,
            rate,
        } => produce_command(target, file, stream, partition, rate).await,
        Command::Load(args) => {
            let config = load_config(&args)?;
            let outputs = args.outputs;
            let needs = config.pipeline.services();
            with_target(target, &needs, |t, h| run_once(config, outputs, t, h)).await
        }
        Command::Replay(args) => replay_command(target, args).await,
        Command::Consume(args) => consume_command(target, args).await,
        Command::Serve(args) => serve_command(target, args).await,
    }
}

/// `tickflow localstack`: starts LocalStack and keeps it until Ctrl-C.
async fn localstack_command(target: TargetKind) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        target == TargetKind::Localstack,
        "`tickflow localstack` starts LocalStack; it has no meaning with another --target"
    );
    with_target(target, &[], |target, header| async move {
        eprintln!("{header}; Ctrl-C removes it");
        if let Target::Endpoint(endpoint) = target {
            println!("AWS_ENDPOINT_URL={endpoint}");
        }
        use std::io::Write as _;
        std::io::stdout().flush()?;
        std::future::pending::<()>().await;
        Ok(ExitCode::SUCCESS)
    })
    .await
}

/// `tickflow ceiling`: the target's raw capacity, loop by loop.
async fn ceiling_command(target: TargetKind, seconds: u64) -> anyhow::Result<ExitCode> {
    let needs = [Service::Kinesis, Service::Sqs, Service::S3];
    with_target(target, &needs, |target, header| async move {
        println!("{header}");
        let clients = aws::clients(&target).await;
        let measured = ceiling::measure(&clients, std::time::Duration::from_secs(seconds)).await?;
        print!("{}", ceiling::render(&measured));
        Ok(ExitCode::SUCCESS)
    })
    .await
}

/// `tickflow run FILE...`: scenario files, with `--faults-from` replacing their schedules.
async fn scenario_files_command(target: TargetKind, args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut scenarios = load_all(&args.files)?;
    if let Some(report) = &args.faults_from {
        for s in &mut scenarios {
            stream_only(s, "--faults-from")?;
            let schedule = fired::schedule_from_report(report, Some(s.name()))?;
            replayable(report, &schedule, &s.file.pipeline)?;
            s.file.faults.schedule = schedule;
        }
    }
    let mut needs: Vec<Service> = scenarios.iter().flat_map(|s| s.services()).collect();
    needs.sort();
    needs.dedup();
    with_target(target, &needs, |target, header| {
        scenarios_command(scenarios, args.report_dir, target, header)
    })
    .await
}

/// Refuses a replayed schedule with a rule no stage of a run with `pipeline` could fire (a
/// report of a run with other consumers, or edited by hand).
fn replayable(
    report: &std::path::Path,
    schedule: &[tickflow_pipeline::chaos::FaultRule],
    pipeline: &PipelineSettings,
) -> anyhow::Result<()> {
    let problems: Vec<String> =
        tickflow_harness::flows::stream::rules::check_targets(schedule, &pipeline.calls())
            .into_iter()
            .map(|(key, message)| format!("{key}: {message}"))
            .collect();
    anyhow::ensure!(
        problems.is_empty(),
        "--faults-from {}: its faults cannot all fire in this run:\n  {}",
        report.display(),
        problems.join("\n  ")
    );
    Ok(())
}

/// `tickflow run` without files: one stream run set by flags.
async fn flag_run_command(target: TargetKind, args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut config = flag_run_config(&args)?;
    if let Some(report) = &args.faults_from {
        let schedule = fired::schedule_from_report(report, None)?;
        replayable(report, &schedule, &config.pipeline)?;
        config.faults.schedule = schedule;
    }
    let outputs = args.outputs;
    let needs = config.pipeline.services();
    with_target(target, &needs, |target, header| {
        run_once(config, outputs, target, header)
    })
    .await
}

/// `tickflow shrink FILE`: the smallest scenario that still fails the same way.
async fn shrink_file_command(
    target: TargetKind,
    file: PathBuf,
    config: ShrinkConfig,
    out: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let original = load_all(&[file])?.remove(0);
    let out = out.unwrap_or_else(|| PathBuf::from(format!("{}-shrunk.toml", original.name())));
    let needs = original.services();
    with_target(target, &needs, |target, site| {
        shrink_command(original, config, out, target, site)
    })
    .await
}

/// `tickflow produce FILE --stream NAME`: one load generator's share of a scenario.
async fn produce_command(
    target: TargetKind,
    file: PathBuf,
    stream: String,
    partition: Partition,
    rate: Option<f64>,
) -> anyhow::Result<ExitCode> {
    let s = load_all(&[file])?.remove(0);
    stream_only(&s, "tickflow produce")?;
    let generator = scenario::generator_config(&s.file).map_err(anyhow::Error::msg)?;
    let mut load = s.run_config().map_err(anyhow::Error::msg)?.load;
    if rate.is_some() {
        load = LoadPlan {
            rate,
            ..LoadPlan::default()
        };
    }
    with_target(target, &[Service::Kinesis], |target, header| async move {
        eprintln!("{header}");
        let clients = aws::clients(&target).await;
        let producer = s.file.pipeline.producer();
        let sent = produce::produce(&clients, &stream, generator, &s.file.faults, &load, producer, partition)
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

/// `tickflow replay PATH`: a recorded or CSV data set through the stream flow.
async fn replay_command(target: TargetKind, args: ReplayArgs) -> anyhow::Result<ExitCode> {
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
    tickflow_harness::flows::stream::replay::check(&spec)?;
    let mut config = StreamRunConfig::new(&args.name, 1, 7);
    config.source = Source::Replay(spec);
    let outputs = Outputs::default();
    let needs = config.pipeline.services();
    with_target(target, &needs, |target, header| {
        run_once(config, outputs, target, header)
    })
    .await
}
