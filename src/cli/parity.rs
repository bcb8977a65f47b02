//! `tickflow parity`: one scenario on two targets.
//!
//! `tickflow parity FILE --against TARGET`: one scenario run on two targets, their reports'
//! deterministic parts side by side with the quirks each target showed; exit 1 on a difference
//! no quirk documents, or when either run fails its own checks.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use tickflow_harness::commands::parity::{self, Side};
use tickflow_harness::infra::aws::emulator;
use tickflow_harness::infra::aws::readiness::Service;
use tickflow_harness::infra::aws::{self, Target};
use tickflow_harness::infra::topology::new_run_id;
use tickflow_harness::report;
use tickflow_harness::scenario::Scenario;
use tickflow_harness::verdict::verdict;

use super::runs::execute_all;
use super::target::{with_target_at, Endpoint, Site, TargetKind};

/// Flags of `tickflow parity`.
#[derive(Debug, clap::Args)]
pub(super) struct ParityArgs {
    /// The scenario to run on both targets.
    file: PathBuf,
    /// The second target (B); the first (A) is `--target`.
    #[arg(long, value_enum)]
    against: TargetKind,
    /// B's endpoint URL (`--against endpoint` needs one; `--against localstack` without one
    /// starts a LocalStack). `AWS_ENDPOINT_URL` is A's alone.
    #[arg(long)]
    against_url: Option<String>,
    /// Directory for both runs' reports (`a/`, `b/`) and `parity.txt`.
    #[arg(long, default_value = "reports/parity")]
    report_dir: PathBuf,
}

/// Runs the scenario on `target`, then on `--against`, and compares the two.
pub(super) async fn parity_command(
    target: TargetKind,
    args: ParityArgs,
) -> anyhow::Result<ExitCode> {
    let scenario = tickflow_harness::scenario::load_one(&args.file)?;
    let mut needs = scenario.services();
    needs.extend([Service::S3, Service::Sqs]);
    needs.sort();
    needs.dedup();
    let dir = &args.report_dir;
    let sides = [
        (target, Endpoint::FromEnv, "a"),
        (args.against, Endpoint::Given(args.against_url.clone()), "b"),
    ];
    let mut done = Vec::new();
    for (kind, endpoint, name) in sides {
        let mut slot = None;
        let code = with_target_at(kind, &endpoint, &needs, |t, site| {
            run_side(&scenario, t, site, dir.join(name), &mut slot)
        })
        .await
        .with_context(|| format!("parity's target {}", name.to_uppercase()))?;
        match slot {
            Some(side) => done.push(side),
            None => return Ok(code), // interrupted
        }
    }
    let ((a, a_passed), (b, b_passed)) = (&done[0], &done[1]);
    let compared = parity::compare(a, b);
    let mut text = parity::render_text(&scenario_label(&scenario), a, b, &compared);
    text.push_str(&format!(
        "runs: A {}, B {}\n",
        verdict(*a_passed),
        verdict(*b_passed)
    ));
    print!("\n{text}");
    let written = dir.join("parity.txt");
    std::fs::write(&written, &text).with_context(|| format!("writing {}", written.display()))?;
    println!("reports: {}", dir.display());
    Ok(if compared.holds() && *a_passed && *b_passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `smoke (scenarios/smoke.toml)`.
fn scenario_label(s: &Scenario) -> String {
    format!("{} ({})", s.name(), s.path.display())
}

/// One target's side: the scenario's run (its reports written to `dir`), then the quirk probes;
/// `slot` gets the side and whether its run passed.
async fn run_side(
    scenario: &Scenario,
    target: Target,
    site: Site,
    dir: PathBuf,
    slot: &mut Option<(Side, bool)>,
) -> anyhow::Result<ExitCode> {
    let outcomes = execute_all(std::slice::from_ref(scenario), &target, &site).await?;
    write_reports(&dir, &outcomes)?;
    let outcome = &outcomes[0];
    println!("{}", outcome.summary_line());
    let clients = aws::clients(&target).await;
    let quirks = parity::probe(&target, &clients, &new_run_id())
        .await
        .map_err(|e| e.to_string());
    let side = Side {
        header: site.header,
        emulator: emulator::identify(&target).await,
        facts: parity::facts(outcome),
        quirks,
    };
    *slot = Some((side, outcome.passed()));
    Ok(ExitCode::SUCCESS)
}

/// Writes one side's reports.
fn write_reports(
    dir: &Path,
    outcomes: &[tickflow_harness::scenario::Outcome],
) -> anyhow::Result<()> {
    report::write_reports(dir, outcomes).with_context(|| format!("writing {}", dir.display()))
}
