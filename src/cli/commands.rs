//! The commands that check things: doctor, validate, record.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use tickflow_harness::aws::{self, Target};
use tickflow_harness::doctor;
use tickflow_harness::flows::stream::replay;
use tickflow_harness::flows::stream::topology::Topology;
use tickflow_harness::scenario::{self, Scenario};
use tickflow_pipeline::source::Generator;

pub(super) async fn doctor_command(
    target: Target,
    header: super::target::Site,
) -> anyhow::Result<ExitCode> {
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
pub(super) fn load_all(files: &[PathBuf]) -> anyhow::Result<Vec<Scenario>> {
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

pub(super) fn validate_command(files: &[PathBuf]) -> ExitCode {
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

pub(super) fn schema_command(out: Option<&Path>) -> anyhow::Result<ExitCode> {
    let schema = scenario::schema::scenario_schema();
    match out {
        Some(path) => std::fs::write(path, schema)
            .with_context(|| format!("cannot write the schema to {}", path.display()))?,
        None => print!("{schema}"),
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn record_command(file: &Path, out: &Path) -> anyhow::Result<ExitCode> {
    let scenario = load_all(&[file.to_path_buf()])?.remove(0);
    super::runs::stream_only(&scenario, "tickflow record")?;
    let config = scenario::generator_config(&scenario.file).map_err(anyhow::Error::msg)?;
    let n = replay::record(Generator::new(config), out)?;
    println!(
        "recorded {n} events of {} to {}",
        scenario.name(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
