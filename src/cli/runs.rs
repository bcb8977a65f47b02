//! The commands that run the pipeline: flag runs, scenario runs, load runs, replays.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use tickflow_harness::aws::{self, Target};
use tickflow_harness::flows::stream::arrival::LoadPlan;
use tickflow_harness::flows::stream::driver::{self as pipeline_run, Source, StreamRunConfig};
use tickflow_harness::flows::stream::report::StreamReport;
use tickflow_harness::flows::stream::web::Callers;
use tickflow_harness::postgres::{Postgres, PostgresConfig};
use tickflow_harness::report;
use tickflow_harness::scenario::file::FlowKind;
use tickflow_harness::scenario::{self, Outcome, Scenario};
use tickflow_harness::shrink::{self, ShrinkConfig};
use tickflow_harness::verdict::Report as _;
use tickflow_pipeline::source::GeneratorConfig;

use super::commands::load_all;
use super::target::Site;
use super::{LoadArgs, RunArgs};

pub(super) fn flag_run_config(args: &RunArgs) -> anyhow::Result<StreamRunConfig> {
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

pub(super) async fn scenarios_command(
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
    let postgres = if scenarios.iter().any(Scenario::needs_postgres) {
        Some(start_postgres().await?)
    } else {
        None
    };
    let infra = scenario::Infra {
        localstack_container: site.container.as_deref(),
        postgres: postgres.as_ref().map(Postgres::url),
        postgres_container: postgres.as_ref().and_then(Postgres::container_id),
    };
    let mut outcomes: Vec<Outcome> = Vec::new();
    for s in scenarios {
        eprintln!("running {} ({})", s.name(), s.path.display());
        let o = scenario::execute(s, &clients, infra).await;
        if let Some(report) = o.report() {
            print!("{}", report.render_text());
        }
        for f in o.failures() {
            println!("  FAILED {f}");
        }
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

/// The run a `tickflow load` asks for, judged by the scenario's expectations when it names
/// one (a stream scenario: the load generator feeds the stream flow).
pub(super) fn load_config(args: &LoadArgs) -> anyhow::Result<StreamRunConfig> {
    let mut config = match &args.file {
        Some(file) => {
            let s = load_all(std::slice::from_ref(file))?.remove(0);
            stream_only(&s, "tickflow load")?;
            s.run_config().map_err(anyhow::Error::msg)?
        }
        None => {
            let mut config = StreamRunConfig::new("load", args.events, args.seed);
            config.pipeline =
                tickflow_harness::flows::stream::settings::PipelineSettings::throughput();
            config
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
    let load = match &mut config.source {
        // A web source's load is its requests: the flags set the scheduler's plan.
        Source::Web(web) => &mut web.schedule,
        _ => &mut config.load,
    };
    if let Some(profile) = profile {
        *load = profile;
    }
    if args.duration.is_some() {
        load.duration_secs = args.duration;
    }
    let load = load.clone();
    let events = match &config.source {
        Source::Generate(g) => Some(g.events),
        Source::Web(web) => Some(web.settings.calls(Some(&load))),
        Source::Replay(_) => None,
    };
    let problems: Vec<String> = load
        .check()
        .into_iter()
        .map(|(k, m)| format!("{k}: {m}"))
        .chain(events.and_then(|n| load.check_span(n)))
        .collect();
    anyhow::ensure!(
        problems.is_empty(),
        "invalid load settings:\n  {}",
        problems.join("\n  ")
    );
    if let Source::Web(web) = &mut config.source {
        // The flags' plan decides the calls as a scenario's `[load]` would.
        let calls = web.settings.calls(Some(&web.schedule));
        web.callers = Callers::Scheduler { calls };
    }
    Ok(config)
}

/// Refuses a scenario of another flow for a command that drives the stream flow (it would run
/// the stream pipeline and drop that scenario's own input and assertions).
pub(super) fn stream_only(s: &Scenario, command: &str) -> anyhow::Result<()> {
    let flow = s.file.scenario.flow;
    anyhow::ensure!(
        flow == FlowKind::Stream,
        "{}: `{command}` drives the stream flow; this is a {} scenario (run it with `tickflow \
         run {}`)",
        s.path.display(),
        flow.name(),
        s.path.display()
    );
    Ok(())
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
    for f in &report.judged.failures {
        println!("  FAILED {f}");
    }
    println!("{}", report.summary_line());
    Ok(if report.judged.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// PostgreSQL for a web-sourced run (started, or `TICKFLOW_POSTGRES_URL`), its URL given to
/// the source; `None` for another source.
async fn postgres_for_web(config: &mut StreamRunConfig) -> anyhow::Result<Option<Postgres>> {
    let Source::Web(web) = &mut config.source else {
        return Ok(None);
    };
    let pg = Postgres::start(&PostgresConfig::from_env())
        .await
        .context("reaching PostgreSQL (the web source stores its rows and request log there)")?;
    web.postgres = Some(pg.url().to_string());
    Ok(Some(pg))
}

/// `tickflow shrink`: shrinks a failing scenario and writes the result to `out`.
pub(super) async fn shrink_command(
    original: Scenario,
    config: ShrinkConfig,
    out: PathBuf,
    target: Target,
    site: Site,
) -> anyhow::Result<ExitCode> {
    eprintln!("{site}");
    let clients = aws::clients(&target).await;
    let postgres = match original.needs_postgres() {
        true => Some(start_postgres().await?),
        false => None,
    };
    let infra = scenario::Infra {
        localstack_container: site.container.as_deref(),
        postgres: postgres.as_ref().map(Postgres::url),
        postgres_container: postgres.as_ref().and_then(Postgres::container_id),
    };
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
    let file = &shrunk.scenario.file;
    println!(
        "shrunk {} to {} events and {} fault rules in {} runs: {}",
        original.name(),
        file.generate
            .events
            .map_or("(replayed)".to_string(), |e| e.to_string()),
        file.faults.schedule.len(),
        shrunk.runs,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
