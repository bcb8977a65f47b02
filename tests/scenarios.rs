//! Every shipped scenario, run and snapshotted.
//!
//! Every `scenarios/*.toml` is a test named `scenario::<name>`: `cargo test smoke` runs one,
//! and a new file is a new test without code. Scenarios marked `heavy` are ignored by default
//! (`cargo test -- --ignored` runs them). Each runs against the binary's shared LocalStack (one
//! that pauses LocalStack gets a container of its own, and is ignored when AWS_ENDPOINT_URL names
//! an endpoint tickflow must not touch), must pass its own `[expect]`, and snapshots the
//! deterministic part of its report (what its flow's report says its seed fixes:
//! `Report::snapshot`).

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use tickflow_harness::infra::aws::{self, Target};
use tickflow_harness::infra::localstack::shared::shared;
use tickflow_harness::infra::localstack::{LocalStack, LocalStackConfig, Origin};
use tickflow_harness::infra::postgres;
use tickflow_harness::scenario::{self, Outcome, Scenario};

fn main() {
    let args = Arguments::from_args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let trials = files
        .into_iter()
        .map(|file| match scenario::load(&file) {
            Ok(s) => {
                let external = std::env::var("AWS_ENDPOINT_URL").is_ok_and(|e| !e.is_empty());
                let heavy = s.heavy() || (s.pauses_localstack() && external);
                Trial::test(format!("scenario::{}", s.name()), move || run(s))
                    .with_ignored_flag(heavy)
            }
            Err(errors) => {
                let name = file
                    .file_stem()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let message = errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n");
                Trial::test(format!("scenario::{name}"), move || {
                    Err(Failed::from(message))
                })
            }
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

fn run(scenario: Scenario) -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failed::from(e.to_string()))?;
    let outcome = if scenario.pauses_localstack() {
        runtime.block_on(on_own_localstack(&scenario))?
    } else if scenario.pauses_postgres() {
        runtime.block_on(on_own_postgres(&scenario))?
    } else {
        let localstack =
            shared().map_err(|e| Failed::from(format!("scenarios need LocalStack: {e}")))?;
        let postgres = if scenario.needs_postgres() {
            let shared = postgres::shared::shared()
                .map_err(|e| Failed::from(format!("{} needs PostgreSQL: {e}", scenario.name())))?;
            Some(shared.url.as_str())
        } else {
            None
        };
        runtime.block_on(async {
            let clients = aws::clients(&Target::Endpoint(localstack.endpoint.clone())).await;
            let infra = scenario::Infra {
                localstack_container: None,
                postgres,
                postgres_container: None,
            };
            scenario::execute(&scenario, &clients, infra).await
        })
    };
    if !outcome.passed() {
        let mut message = outcome.summary_line();
        for failure in outcome.failures() {
            message.push_str(&format!("\n  {failure}"));
        }
        if let Some(e) = &outcome.error {
            message.push_str(&format!("\n  run error: {e}"));
        }
        if let Some(report) = outcome.report() {
            message.push_str(&format!("\n\n{}", report.render_text()));
        }
        return Err(message.into());
    }
    let report = outcome
        .report()
        .ok_or_else(|| Failed::from("a passed outcome has a report"))?;
    check_snapshot(&outcome.name, &report.snapshot())
}

/// Compares `view` with `tests/snapshots/scenario-<name>.snap` (insta's file format: a header
/// between `---` lines, then the JSON), as values; `INSTA_UPDATE=always` writes it instead.
/// (insta's own assertion let a changed snapshot pass under libtest-mimic: this one cannot.)
fn check_snapshot(name: &str, view: &serde_json::Value) -> Result<(), Failed> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("scenario-{name}.snap"));
    let rendered = serde_json::to_string_pretty(view).map_err(|e| Failed::from(e.to_string()))?;
    let stored: Option<serde_json::Value> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| text.splitn(3, "---\n").nth(2).map(str::to_string))
        .and_then(|json| serde_json::from_str(&json).ok());
    if stored.as_ref() == Some(view) {
        return Ok(());
    }
    if std::env::var("INSTA_UPDATE").is_ok_and(|v| v == "always") {
        let text = format!(
            "---\nsource: tests/scenarios.rs\nexpression: deterministic_view(&outcome)\n---\n{rendered}\n"
        );
        return std::fs::write(&path, text).map_err(|e| Failed::from(e.to_string()));
    }
    Err(match stored {
        Some(stored) => format!(
            "{} differs from this run (INSTA_UPDATE=always accepts the change):\nstored: {}\nnow:    {}",
            path.display(),
            serde_json::to_string(&stored).unwrap_or_default(),
            serde_json::to_string(view).unwrap_or_default()
        ),
        None => format!(
            "no snapshot at {} (INSTA_UPDATE=always writes it):\n{rendered}",
            path.display()
        ),
    }
    .into())
}

/// Runs `scenario` on a LocalStack started for it alone (it pauses the container), then
/// removes the container.
async fn on_own_localstack(scenario: &Scenario) -> Result<Outcome, Failed> {
    let localstack = LocalStack::start(&LocalStackConfig::from_env())
        .await
        .map_err(|e| Failed::from(format!("{} needs its own LocalStack: {e}", scenario.name())))?;
    let container = match localstack.origin() {
        Origin::Started { container_id, .. } => Some(container_id.clone()),
        Origin::External => None,
    };
    let clients = aws::clients(&Target::Endpoint(localstack.endpoint().to_string())).await;
    let infra = scenario::Infra {
        localstack_container: container.as_deref(),
        postgres: None,
        postgres_container: None,
    };
    let outcome = scenario::execute(scenario, &clients, infra).await;
    localstack
        .shutdown()
        .await
        .map_err(|e| Failed::from(e.to_string()))?;
    Ok(outcome)
}

/// Runs `scenario` on the shared LocalStack and a PostgreSQL started for it alone (it pauses the
/// container), then removes the container.
async fn on_own_postgres(scenario: &Scenario) -> Result<Outcome, Failed> {
    let localstack =
        shared().map_err(|e| Failed::from(format!("scenarios need LocalStack: {e}")))?;
    let own = postgres::Postgres::start(&postgres::PostgresConfig::from_env())
        .await
        .map_err(|e| Failed::from(format!("{} needs its own PostgreSQL: {e}", scenario.name())))?;
    let clients = aws::clients(&Target::Endpoint(localstack.endpoint.clone())).await;
    let infra = scenario::Infra {
        localstack_container: None,
        postgres: Some(own.url()),
        postgres_container: own.container_id(),
    };
    let outcome = scenario::execute(scenario, &clients, infra).await;
    own.shutdown()
        .await
        .map_err(|e| Failed::from(e.to_string()))?;
    Ok(outcome)
}
