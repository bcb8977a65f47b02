//! `tickflow faults export`: a scenario's fault schedule for AWS FIS.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use tickflow_harness::commands::fis::{self, FisSettings};
use tickflow_harness::scenario;

/// `tickflow faults ...`.
#[derive(Debug, Subcommand)]
pub(super) enum FaultsCommand {
    /// Write a scenario's fault schedule for another fault injector (`--format fis`: an AWS
    /// FIS experiment template), naming every rule it cannot express and why.
    Export(ExportArgs),
}

/// The formats a schedule is exported to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum Format {
    /// An AWS Fault Injection Service experiment template (JSON, for
    /// `aws fis create-experiment-template --cli-input-json file://...`).
    Fis,
}

/// `tickflow faults export`'s flags.
#[derive(Debug, Args)]
pub(super) struct ExportArgs {
    /// Scenario file.
    file: PathBuf,
    /// What to write.
    #[arg(long, value_enum)]
    format: Format,
    /// Where to write it (default: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The role FIS runs the experiment as.
    #[arg(
        long,
        default_value = "arn:aws:iam::111122223333:role/REPLACE-fis-experiment-role"
    )]
    role_arn: String,
    /// The role the pipeline's stages call AWS as: the actions' target.
    #[arg(
        long,
        default_value = "arn:aws:iam::111122223333:role/REPLACE-pipeline-role"
    )]
    pipeline_role_arn: String,
    /// How long each action injects, seconds (FIS takes 60 to 43200).
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(60..=43_200))]
    duration_secs: u64,
}

/// Runs a `tickflow faults` command.
pub(super) fn faults_command(command: FaultsCommand) -> anyhow::Result<ExitCode> {
    let FaultsCommand::Export(args) = command;
    let Format::Fis = args.format;
    let scenario = scenario::load_one(&args.file)?;
    let settings = FisSettings {
        experiment_role_arn: args.role_arn,
        pipeline_role_arn: args.pipeline_role_arn,
        duration_secs: args.duration_secs,
    };
    let schedule = scenario.file.sections.fault_schedule();
    let (template, left_out) = fis::export(scenario.name(), schedule, &settings);
    let text = serde_json::to_string_pretty(&template).context("the template as JSON")?;
    match &args.out {
        Some(path) => std::fs::write(path, format!("{text}\n"))
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => println!("{text}"),
    }
    let exported = schedule.len() - left_out.len();
    eprintln!(
        "{}: {exported} of {} rules as FIS actions",
        args.file.display(),
        schedule.len()
    );
    for rule in &left_out {
        eprintln!("  not exported: {}: {}", rule.rule, rule.why);
    }
    Ok(ExitCode::SUCCESS)
}
