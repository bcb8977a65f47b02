//! `tickflow run`: scenario files, or one run set by flags.
//!
//! `tickflow run`: scenario files (with `--faults-from` replacing their schedules), or one
//! stream run set by flags.

use std::path::PathBuf;
use std::process::ExitCode;

use tickflow_harness::flows::stream::driver::StreamRunConfig;
use tickflow_harness::flows::stream::judge::fired;
use tickflow_harness::infra::aws::readiness::Service;
use tickflow_harness::infra::aws::Target;
use tickflow_harness::report;
use tickflow_harness::scenario::{self, Outcome, Scenario};
use tickflow_pipeline::source::GeneratorConfig;

use super::runs::{execute_all, run_once, Outputs};
use super::target::{with_target, Site, TargetKind};

/// Flags of `tickflow run`. The flags that describe a run of flags are refused beside
/// scenario files, which describe their own runs (nothing is silently ignored).
#[derive(Debug, clap::Args)]
pub(super) struct RunArgs {
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

/// `tickflow run`: the files given, or the run the flags describe.
pub(super) async fn run_command(target: TargetKind, args: RunArgs) -> anyhow::Result<ExitCode> {
    if args.files.is_empty() {
        flag_run_command(target, args).await
    } else {
        scenario_files_command(target, args).await
    }
}

/// `tickflow run FILE...`: scenario files, with `--faults-from` replacing their schedules.
async fn scenario_files_command(target: TargetKind, args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut scenarios = scenario::load_all(&args.files)?;
    if let Some(report) = &args.faults_from {
        for s in &mut scenarios {
            s.replay_faults_from(report)?;
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

/// `tickflow run` without files: one stream run set by flags.
async fn flag_run_command(target: TargetKind, args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut config = flag_run_config(&args)?;
    if let Some(report) = &args.faults_from {
        let schedule = fired::schedule_from_report(report, None)?;
        let calls = config.pipeline.calls();
        let problems: Vec<String> = config
            .faults
            .replace_schedule(schedule, &calls, false)
            .into_iter()
            .map(|(key, message)| format!("{key}: {message}"))
            .collect();
        anyhow::ensure!(
            problems.is_empty(),
            "--faults-from {}: its faults cannot all fire in this run:\n  {}",
            report.display(),
            problems.join("\n  ")
        );
    }
    let outputs = args.outputs;
    let needs = config.pipeline.services();
    with_target(target, &needs, |target, header| {
        run_once(config, outputs, target, header)
    })
    .await
}

/// The run the flags describe, refused with every problem of its settings.
fn flag_run_config(args: &RunArgs) -> anyhow::Result<StreamRunConfig> {
    let generator = GeneratorConfig {
        events: args.events,
        seed: args.seed,
        ..GeneratorConfig::default()
    };
    let mut config = StreamRunConfig::new(&args.name, args.events, args.seed);
    config.pipeline.shards = args.shards;
    config.pipeline.aggregate = !args.no_aggregate;
    config.keep_resources = args.keep;
    let problems: Vec<String> = generator
        .check()
        .err()
        .unwrap_or_default()
        .into_iter()
        .map(|(_, message)| message)
        .chain(
            config
                .pipeline
                .check()
                .into_iter()
                .map(|(_, message)| message),
        )
        .collect();
    anyhow::ensure!(
        problems.is_empty(),
        "invalid run settings:\n  {}",
        problems.join("\n  ")
    );
    Ok(config)
}

/// Runs `scenarios` one after the other and writes their reports to `report_dir`; the exit
/// code says whether all passed.
async fn scenarios_command(
    scenarios: Vec<Scenario>,
    report_dir: PathBuf,
    target: Target,
    site: Site,
) -> anyhow::Result<ExitCode> {
    let outcomes = execute_all(&scenarios, &target, &site).await?;
    report::write_reports(&report_dir, &outcomes)?;
    println!("\n{}", report::table::summary_table(&outcomes));
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
