//! Subcommands and what each one calls.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tickflow_harness::aws::{self, Target};
use tickflow_harness::localstack::{LocalStack, LocalStackConfig, Origin};
use tickflow_harness::run::{self as pipeline_run, RunConfig};
use tickflow_harness::{doctor, topology::Topology};

/// tickflow: run an AWS streaming pipeline (Kinesis -> SQS -> S3 -> SNS) on LocalStack.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Reach or start LocalStack and prove each service works with one round trip.
    Doctor,
    /// Run the pipeline end to end on generated market data and reconcile what landed.
    Run(RunArgs),
}

/// Flags of `tickflow run`.
#[derive(Debug, clap::Args)]
struct RunArgs {
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
    /// Write the full report as JSON to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

/// Runs the parsed command and returns the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Doctor => with_localstack(doctor_command).await,
        Command::Run(args) => {
            with_localstack(|target, header| run_command(args, target, header)).await
        }
    }
}

/// Starts (or reaches) LocalStack, runs `job`, and removes what was started, also on Ctrl-C.
async fn with_localstack<F, Fut>(job: F) -> anyhow::Result<ExitCode>
where
    F: FnOnce(Target, String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<ExitCode>>,
{
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

async fn run_command(args: RunArgs, target: Target, header: String) -> anyhow::Result<ExitCode> {
    eprintln!("{header}");
    let mut config = RunConfig::new(&args.name, args.events, args.seed);
    config.pipeline.shards = args.shards;
    config.pipeline.aggregate = !args.no_aggregate;
    config.keep_resources = args.keep;
    let problems: Vec<String> = config
        .generator
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
    let clients = aws::clients(&target).await;
    let report = pipeline_run::run(&clients, &config)
        .await
        .context("running the pipeline")?;
    print!("{}", report.render_text());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    println!("{}", report.summary_line());
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
