//! `tickflow load`: an open-model load run.
//!
//! `tickflow load`: open-model arrivals (constant, ramp or steps) for a duration or a count,
//! on a scenario's stream flow or on a generated mix.

use std::path::PathBuf;
use std::process::ExitCode;

use tickflow_harness::flows::stream::driver::{Source, StreamRunConfig};
use tickflow_harness::flows::stream::input::arrival::{LoadPlan, Ramp, Step};
use tickflow_harness::flows::stream::input::web::Callers;
use tickflow_harness::flows::stream::scenario::StreamFile;
use tickflow_harness::scenario;

use super::runs::{run_once, seconds, Outputs};
use super::target::{with_target, TargetKind};

/// Flags of `tickflow load`.
#[derive(Debug, clap::Args)]
pub(super) struct LoadArgs {
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

/// `tickflow load`: the run the scenario and the flags describe, once.
pub(super) async fn load_command(target: TargetKind, args: LoadArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(&args)?;
    let outputs = args.outputs;
    let needs = config.pipeline.services();
    with_target(target, &needs, |t, h| run_once(config, outputs, t, h)).await
}

/// The run a `tickflow load` asks for, judged by the scenario's expectations when it names
/// one (a stream scenario: the load generator feeds the stream flow).
fn load_config(args: &LoadArgs) -> anyhow::Result<StreamRunConfig> {
    let mut config = match &args.file {
        Some(file) => {
            let s = scenario::load_one(file)?;
            s.sections::<StreamFile>("tickflow load")?
                .run_config(s.run_of())
                .map_err(anyhow::Error::msg)?
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
