//! `tickflow shrink`: the smallest scenario that still fails the same way.
//!
//! `tickflow shrink FILE`: the smallest scenario that still fails the same way, written with
//! its fault list pinned.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use tickflow_harness::commands::shrink::{self, ShrinkConfig};
use tickflow_harness::flows::stream::scenario::StreamFile;
use tickflow_harness::infra::aws::{self, Target};
use tickflow_harness::scenario::{self, Scenario};

use super::runs::{infra, postgres_if};
use super::target::{with_target, Site, TargetKind};

/// Flags of `tickflow shrink`.
#[derive(Debug, clap::Args)]
pub(super) struct ShrinkArgs {
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
}

/// `tickflow shrink FILE`: the smallest scenario that still fails the same way.
pub(super) async fn shrink_file_command(
    target: TargetKind,
    args: ShrinkArgs,
) -> anyhow::Result<ExitCode> {
    let ShrinkArgs {
        file,
        runs,
        min_failures,
        min_events,
        out,
    } = args;
    let config = ShrinkConfig {
        runs,
        min_failures,
        min_events,
    };
    let original = scenario::load_one(&file)?;
    let out = out.unwrap_or_else(|| PathBuf::from(format!("{}-shrunk.toml", original.name())));
    let needs = original.services();
    with_target(target, &needs, |target, site| {
        shrink_command(original, config, out, target, site)
    })
    .await
}

/// `tickflow shrink`: shrinks a failing scenario and writes the result to `out`.
async fn shrink_command(
    original: Scenario,
    config: ShrinkConfig,
    out: PathBuf,
    target: Target,
    site: Site,
) -> anyhow::Result<ExitCode> {
    eprintln!("{site}");
    let clients = aws::clients(&target).await;
    let postgres = postgres_if(original.needs_postgres()).await?;
    let infra = infra(&site, postgres.as_ref());
    let shrunk = shrink::shrink(&original, &clients, infra, config).await;
    if let Some(pg) = postgres {
        pg.shutdown().await.context("removing PostgreSQL")?;
    }
    let shrunk = shrunk.context("shrinking")?;
    for step in &shrunk.steps {
        println!("  {step}");
    }
    let text = shrink::render(&original, &shrunk, config)?;
    std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
    let events = match shrunk.scenario.file.get::<StreamFile>() {
        Some(file) => file
            .generate
            .events
            .map_or("(replayed)".to_string(), |e| e.to_string()),
        None => "(fixed by the seed)".to_string(),
    };
    println!(
        "shrunk {} to {events} events and {} fault rules in {} runs: {}",
        original.name(),
        shrunk.scenario.file.sections.fault_schedule().len(),
        shrunk.runs,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
