//! What the commands that run share.
//!
//! What the commands that run share: one stream run and its report files, every scenario of
//! a list in turn, PostgreSQL when a run needs it, and the `seconds` flag type.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use tickflow_harness::flows::stream::driver::{self as pipeline_run, Source, StreamRunConfig};
use tickflow_harness::flows::stream::report::StreamReport;
use tickflow_harness::infra::aws::{self, Target};
use tickflow_harness::infra::postgres::{Postgres, PostgresConfig};
use tickflow_harness::report;
use tickflow_harness::scenario::{self, Outcome, Scenario};
use tickflow_harness::verdict::Report as _;

use super::target::Site;

/// Runs each scenario on `target` in turn (with PostgreSQL started when one needs it), printing
/// each one's report as it completes.
///
/// # Errors
/// PostgreSQL cannot be reached or removed; a scenario that fails is an outcome, not an error.
pub(super) async fn execute_all(
    scenarios: &[Scenario],
    target: &Target,
    site: &Site,
) -> anyhow::Result<Vec<Outcome>> {
    eprintln!("{site}");
    let clients = aws::clients(target).await;
    let postgres = postgres_if(scenarios.iter().any(Scenario::needs_postgres)).await?;
    let infra = infra(site, postgres.as_ref());
    let mut outcomes: Vec<Outcome> = Vec::new();
    for s in scenarios {
        eprintln!("running {} ({})", s.name(), s.path.display());
        let o = scenario::execute(s, &clients, infra).await;
        if let Some(report) = o.report() {
            print!("{}", report.render_text());
        }
        print_failures(o.failures());
        if let Some(e) = &o.error {
            println!("  ERROR {e}");
        }
        outcomes.push(o);
    }
    if let Some(pg) = postgres {
        pg.shutdown().await.context("removing PostgreSQL")?;
    }
    Ok(outcomes)
}

/// What scenarios run on besides the endpoint: the LocalStack container `site` names, and
/// `postgres` when one was started.
pub(super) fn infra<'a>(site: &'a Site, postgres: Option<&'a Postgres>) -> scenario::Infra<'a> {
    scenario::Infra {
        localstack_container: site.container.as_deref(),
        postgres: postgres.map(Postgres::url),
        postgres_container: postgres.and_then(Postgres::container_id),
    }
}

/// PostgreSQL, when `needed` ([`start_postgres`]).
///
/// # Errors
/// It cannot be started or reached.
pub(super) async fn postgres_if(needed: bool) -> anyhow::Result<Option<Postgres>> {
    Ok(match needed {
        true => Some(start_postgres().await?),
        false => None,
    })
}

/// PostgreSQL for the scenarios that store into it (the batch flow, the web source), started or
/// reached as `TICKFLOW_POSTGRES_URL` says; says where it is.
///
/// # Errors
/// It cannot be started or reached.
async fn start_postgres() -> anyhow::Result<Postgres> {
    let pg = Postgres::start(&PostgresConfig::from_env())
        .await
        .context("reaching PostgreSQL (the batch flow and the web source store into it)")?;
    eprintln!(
        "PostgreSQL at {}",
        pg.url().split('@').next_back().unwrap_or_default()
    );
    Ok(pg)
}

/// Where a single run's report files go: `--json` and `--html`, the same on every command
/// that runs once.
#[derive(Debug, Default, clap::Args)]
pub(super) struct Outputs {
    /// Write the full report as JSON to this file.
    #[arg(long)]
    pub(super) json: Option<PathBuf>,
    /// Write a self-contained HTML report (charts and every check) to this file.
    #[arg(long)]
    pub(super) html: Option<PathBuf>,
}

impl Outputs {
    fn write(&self, report: &StreamReport) -> anyhow::Result<()> {
        if let Some(path) = &self.json {
            std::fs::write(path, serde_json::to_vec_pretty(report)?)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        if let Some(path) = &self.html {
            let outcome = Outcome {
                name: report.name.clone(),
                file: String::new(),
                report: Some(report.clone().into()),
                error: None,
            };
            let page = report::html::page(&format!("tickflow {}", report.name), &[outcome]);
            std::fs::write(path, page).with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    }
}

/// One run (flags, replay or load), judged by its scenario's expectations when it has one.
pub(super) async fn run_once(
    config: StreamRunConfig,
    outputs: Outputs,
    target: Target,
    site: Site,
) -> anyhow::Result<ExitCode> {
    eprintln!("{site}");
    let clients = aws::clients(&target).await;
    let mut config = StreamRunConfig {
        container: site.container,
        ..config
    };
    let postgres = postgres_for_web(&mut config).await?;
    let report = pipeline_run::run(&clients, &config)
        .await
        .context("running the pipeline");
    if let Some(pg) = postgres {
        pg.shutdown().await.context("removing PostgreSQL")?;
    }
    show(&report?, &outputs)
}

/// Prints a stream run's report and its failures, writes its files; the exit code of its
/// verdict.
pub(super) fn show(report: &StreamReport, outputs: &Outputs) -> anyhow::Result<ExitCode> {
    print!("{}", report.render_text());
    outputs.write(report)?;
    print_failures(report.judged.verdict.failures());
    println!("{}", report.summary_line());
    Ok(if report.judged.verdict.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// PostgreSQL for a web-sourced run (started, or `TICKFLOW_POSTGRES_URL`), its URL given to
/// the source and the container tickflow started to the run (a `db_pause` pauses it); `None`
/// for another source.
async fn postgres_for_web(config: &mut StreamRunConfig) -> anyhow::Result<Option<Postgres>> {
    let Source::Web(web) = &mut config.source else {
        return Ok(None);
    };
    let pg = Postgres::start(&PostgresConfig::from_env())
        .await
        .context("reaching PostgreSQL (the web source stores its rows and request log there)")?;
    web.postgres = Some(pg.url().to_string());
    config.postgres_container = pg.container_id().map(str::to_string);
    Ok(Some(pg))
}

/// A number of seconds a command waits or runs for: finite, above 0 and at most the cap every
/// planned schedule keeps ([`tickflow_harness::flows::stream::input::arrival::MAX_SECS`]).
pub(super) fn seconds(text: &str) -> Result<f64, String> {
    use tickflow_harness::flows::stream::input::arrival::MAX_SECS;
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

/// The failed checks, the safety ones first (`FAILED`), then liveness apart from them
/// (`STUCK`): what the run did wrong, and whether it finished, are different answers.
pub(super) fn print_failures(failures: &[tickflow_harness::verdict::Failure]) {
    let (liveness, safety): (Vec<_>, Vec<_>) = failures.iter().partition(|f| f.is_liveness());
    for f in safety {
        println!("  FAILED {f}");
    }
    for f in liveness {
        println!("  STUCK {f}");
    }
}
