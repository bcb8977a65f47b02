//! Subcommands and what each one calls.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tickflow_harness::aws::{self, Target};
use tickflow_harness::load::{LoadPlan, Ramp, Step};
use tickflow_harness::localstack::{LocalStack, LocalStackConfig, Origin};
use tickflow_harness::produce::{self, Partition};
use tickflow_harness::replay::{self, Pace, ReplaySpec};
use tickflow_harness::report::{html, RunReport};
use tickflow_harness::run::{self as pipeline_run, RunConfig, Source};
use tickflow_harness::scenario::{self, outcome, Outcome, Scenario};
use tickflow_harness::{ceiling, doctor, topology::Topology};
use tickflow_pipeline::source::{Generator, GeneratorConfig};

/// tickflow: run an AWS streaming pipeline (Kinesis -> SQS -> S3 -> SNS) on LocalStack.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// Where the pipeline runs: `localstack` (started, or `AWS_ENDPOINT_URL`) or `aws` (real AWS
    /// through the standard credential chain and region; resources are namespaced by run id and
    /// torn down).
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
    /// Real AWS.
    Aws,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Reach or start LocalStack and prove each service works with one round trip.
    Doctor,
    /// Run scenario files, or (without files) one run set by flags, and reconcile what landed.
    Run(RunArgs),
    /// Check scenario files without running them.
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
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
    /// Start LocalStack with tickflow's settings, print `AWS_ENDPOINT_URL=...`, and keep it
    /// until Ctrl-C: one LocalStack for several commands or other tools.
    Localstack,
    /// Measure LocalStack's raw capacity with tight loops of PutRecords, SendMessageBatch and
    /// PutObject: the ceiling the pipeline is compared with.
    Ceiling {
        /// Seconds per loop.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
}

/// Flags of `tickflow run`.
#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Scenario files; without any, the flags below describe the run.
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
    /// Write the full report of a flag run as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write a self-contained HTML report of a flag run to this file.
    #[arg(long)]
    html: Option<PathBuf>,
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
    /// Stop feeding after this many seconds.
    #[arg(long)]
    duration: Option<f64>,
    /// Most events to generate (without a scenario).
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Seed (without a scenario).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Write the full report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write a self-contained HTML report with throughput and latency plots to this file.
    #[arg(long)]
    html: Option<PathBuf>,
}

/// Flags of `tickflow replay`.
#[derive(Debug, clap::Args)]
struct ReplayArgs {
    /// JSONL (from `tickflow record`) or CSV file.
    path: PathBuf,
    /// `full`, `original`, or a factor of the original pace (`10` = ten times faster).
    #[arg(long, default_value = "full")]
    speed: String,
    /// Symbol for a stock CSV without a `symbol` column.
    #[arg(long)]
    symbol: Option<String>,
    /// Name of the run.
    #[arg(long, default_value = "replay")]
    name: String,
}

/// Runs the parsed command and returns the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let target = cli.target;
    match cli.command {
        Command::Doctor => with_target(target, doctor_command).await,
        Command::Validate { files } => Ok(validate_command(&files)),
        Command::Record { file, out } => record_command(&file, &out),
        Command::Localstack if target == TargetKind::Aws => {
            anyhow::bail!(
                "`tickflow localstack` starts LocalStack; it has no meaning with --target aws"
            )
        }
        Command::Localstack => {
            with_target(target, |target, header| async move {
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
        Command::Ceiling { seconds } => {
            with_target(target, |target, header| async move {
                println!("{header}");
                let clients = aws::clients(&target).await;
                let measured =
                    ceiling::measure(&clients, std::time::Duration::from_secs(seconds)).await?;
                print!("{}", ceiling::render(&measured));
                Ok(ExitCode::SUCCESS)
            })
            .await
        }
        Command::Run(args) if !args.files.is_empty() => {
            let scenarios = load_all(&args.files)?;
            with_target(target, |target, header| {
                scenarios_command(scenarios, args.report_dir, target, header)
            })
            .await
        }
        Command::Run(args) => {
            let config = flag_run_config(&args)?;
            with_target(target, |target, header| {
                run_once(
                    config,
                    None,
                    Outputs {
                        json: args.json,
                        html: args.html,
                    },
                    target,
                    header,
                )
            })
            .await
        }
        Command::Produce {
            file,
            stream,
            partition,
            rate,
        } => {
            let s = load_all(&[file])?.remove(0);
            let generator = scenario::generator_config(&s.file).map_err(anyhow::Error::msg)?;
            let mut load = s.run_config().map_err(anyhow::Error::msg)?.load;
            if rate.is_some() {
                load = LoadPlan {
                    rate,
                    ..LoadPlan::default()
                };
            }
            with_target(target, |target, header| async move {
                eprintln!("{header}");
                let clients = aws::clients(&target).await;
                let producer = s.file.pipeline.producer();
                let sent = produce::produce(&clients, &stream, generator, s.file.faults, &load, producer, partition)
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
        Command::Load(args) => {
            let (config, expect) = load_config(&args)?;
            let outputs = Outputs {
                json: args.json,
                html: args.html,
            };
            with_target(target, |t, h| run_once(config, expect, outputs, t, h)).await
        }
        Command::Replay(args) => {
            let pace = match args.speed.as_str() {
                "full" => Pace::Full,
                "original" => Pace::Scaled(1.0),
                factor => Pace::Scaled(
                    factor
                        .parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite() && *f > 0.0)
                        .with_context(|| {
                            format!(
                                "--speed takes full, original or a positive factor, got {factor:?}"
                            )
                        })?,
                ),
            };
            let mut config = RunConfig::new(&args.name, 1, 7);
            config.source = Source::Replay(ReplaySpec {
                path: args.path,
                pace,
                symbol: args.symbol,
            });
            with_target(target, |target, header| {
                run_once(
                    config,
                    None,
                    Outputs {
                        json: None,
                        html: None,
                    },
                    target,
                    header,
                )
            })
            .await
        }
    }
}

/// Runs `job` against real AWS, or against LocalStack (started and removed around it, also on
/// Ctrl-C). `job` gets where to send requests and a line describing it.
async fn with_target<F, Fut>(target: TargetKind, job: F) -> anyhow::Result<ExitCode>
where
    F: FnOnce(Target, String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<ExitCode>>,
{
    if target == TargetKind::Aws {
        let header =
            "real AWS (standard credential chain and region, no endpoint override)".to_string();
        return tokio::select! {
            outcome = job(Target::Aws, header) => outcome,
            _ = tokio::signal::ctrl_c() => Ok(ExitCode::from(130)),
        };
    }
    let config = LocalStackConfig::from_env();
    let localstack = LocalStack::start(&config)
        .await
        .context("reaching LocalStack")?;
    let origin = match localstack.origin() {
        Origin::Started { image, startup, .. } => {
            format!("started {image} in {:.1}s", startup.as_secs_f64())
        }
        Origin::External => format!("using AWS_ENDPOINT_URL={}", localstack.endpoint()),
    };
    let header = format!(
        "LocalStack {} at {} ({origin})",
        localstack.version().unwrap_or("(version unknown)"),
        localstack.endpoint(),
    );
    let target = Target::Endpoint(localstack.endpoint().to_string());
    let outcome = tokio::select! {
        outcome = job(target, header) => outcome,
        _ = tokio::signal::ctrl_c() => Ok(ExitCode::from(130)),
    };
    localstack.shutdown().await.context("removing LocalStack")?;
    outcome
}

async fn doctor_command(target: Target, header: String) -> anyhow::Result<ExitCode> {
    println!("{header}");
    let clients = aws::clients(&target).await;
    let checks = doctor::check_all(&clients, &Topology::new()).await;
    print!("{}", doctor::render_table(&checks));
    let failed: Vec<_> = checks.iter().filter(|c| c.result.is_err()).collect();
    if failed.is_empty() {
        println!("all {} checks passed", checks.len());
        Ok(ExitCode::SUCCESS)
    } else {
        for c in &failed {
            eprintln!("{} failed: {}", c.service, c.check);
        }
        Ok(ExitCode::FAILURE)
    }
}

/// Loads every file, or fails listing every error of every file.
fn load_all(files: &[PathBuf]) -> anyhow::Result<Vec<Scenario>> {
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match scenario::load(file) {
            Ok(s) => scenarios.push(s),
            Err(e) => errors.extend(e.into_iter().map(|e| e.to_string())),
        }
    }
    anyhow::ensure!(
        errors.is_empty(),
        "invalid scenario files:\n  {}",
        errors.join("\n  ")
    );
    Ok(scenarios)
}

fn validate_command(files: &[PathBuf]) -> ExitCode {
    let mut ok = true;
    for file in files {
        match scenario::load(file) {
            Ok(s) => println!("ok    {} ({})", file.display(), s.name()),
            Err(errors) => {
                ok = false;
                for e in errors {
                    println!("error {e}");
                }
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn record_command(file: &Path, out: &Path) -> anyhow::Result<ExitCode> {
    let scenario = load_all(&[file.to_path_buf()])?.remove(0);
    let config = scenario::generator_config(&scenario.file).map_err(anyhow::Error::msg)?;
    let n = replay::record(Generator::new(config), out)?;
    println!(
        "recorded {n} events of {} to {}",
        scenario.name(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn flag_run_config(args: &RunArgs) -> anyhow::Result<RunConfig> {
    let generator = GeneratorConfig {
        events: args.events,
        seed: args.seed,
        ..GeneratorConfig::default()
    };
    let mut config = RunConfig::new(&args.name, args.events, args.seed);
    config.pipeline.shards = args.shards;
    config.pipeline.aggregate = !args.no_aggregate;
    config.keep_resources = args.keep;
    let problems: Vec<String> = generator
        .check()
        .err()
        .unwrap_or_default()
        .into_iter()
        .chain(config.pipeline.check())
        .collect();
    anyhow::ensure!(
        problems.is_empty(),
        "invalid run settings:\n  {}",
        problems.join("\n  ")
    );
    Ok(config)
}

async fn scenarios_command(
    scenarios: Vec<Scenario>,
    report_dir: PathBuf,
    target: Target,
    header: String,
) -> anyhow::Result<ExitCode> {
    eprintln!("{header}");
    let clients = aws::clients(&target).await;
    let mut outcomes: Vec<Outcome> = Vec::new();
    for s in &scenarios {
        eprintln!("running {} ({})", s.name(), s.path.display());
        let o = scenario::execute(s, &clients).await;
        if let Some(report) = &o.report {
            print!("{}", report.render_text());
        }
        for f in &o.failures {
            println!("  FAILED {f}");
        }
        if let Some(e) = &o.error {
            println!("  ERROR {e}");
        }
        outcomes.push(o);
    }
    outcome::write_reports(&report_dir, &outcomes)?;
    println!("\n{}", outcome::summary_table(&outcomes));
    println!("reports: {}", report_dir.display());
    for o in &outcomes {
        println!("{}", o.summary_line());
    }
    Ok(if outcomes.iter().all(Outcome::passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The run a `tickflow load` asks for, and the scenario's expectations when it names one.
fn load_config(args: &LoadArgs) -> anyhow::Result<(RunConfig, Option<scenario::file::Expect>)> {
    let (mut config, expect) = match &args.file {
        Some(file) => {
            let s = load_all(std::slice::from_ref(file))?.remove(0);
            (
                s.run_config().map_err(anyhow::Error::msg)?,
                Some(s.file.expect),
            )
        }
        None => {
            let mut config = RunConfig::new("load", args.events, args.seed);
            config.pipeline.shards = 4;
            config.pipeline.compression = tickflow_pipeline::compress::Compression::Zstd;
            (config, None)
        }
    };
    let profile = if args.rate.is_some() || args.ramp.is_some() || !args.steps.is_empty() {
        Some(LoadPlan {
            rate: args.rate,
            ramp: args.ramp,
            steps: (!args.steps.is_empty()).then(|| args.steps.clone()),
            duration_secs: None,
        })
    } else {
        None
    };
    if let Some(profile) = profile {
        config.load = profile;
    }
    if args.duration.is_some() {
        config.load.duration_secs = args.duration;
    }
    let problems: Vec<String> = config
        .load
        .check()
        .into_iter()
        .map(|(k, m)| format!("{k}: {m}"))
        .collect();
    anyhow::ensure!(
        problems.is_empty(),
        "invalid load settings:\n  {}",
        problems.join("\n  ")
    );
    Ok((config, expect))
}

/// Where a single run's report files go.
struct Outputs {
    json: Option<PathBuf>,
    html: Option<PathBuf>,
}

impl Outputs {
    fn write(&self, report: &RunReport) -> anyhow::Result<()> {
        if let Some(path) = &self.json {
            std::fs::write(path, serde_json::to_vec_pretty(report)?)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        if let Some(path) = &self.html {
            let page = html::page(&format!("tickflow {}", report.name), &[report]);
            std::fs::write(path, page).with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    }
}

/// One run (flags, replay or load), judged by `expect` when a scenario gave one.
async fn run_once(
    config: RunConfig,
    expect: Option<scenario::file::Expect>,
    outputs: Outputs,
    target: Target,
    header: String,
) -> anyhow::Result<ExitCode> {
    eprintln!("{header}");
    let clients = aws::clients(&target).await;
    let report = pipeline_run::run(&clients, &config)
        .await
        .context("running the pipeline")?;
    print!("{}", report.render_text());
    outputs.write(&report)?;
    let failures = expect
        .map(|e| tickflow_harness::assert::evaluate(&e, &report))
        .unwrap_or_default();
    for f in &failures {
        println!("  FAILED {f}");
    }
    let passed = report.passed && failures.is_empty();
    let line = report.summary_line();
    println!(
        "{}",
        if passed {
            line
        } else {
            line.replacen("PASS", "FAIL", 1)
        }
    );
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
