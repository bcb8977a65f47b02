//! The small commands.
//!
//! The small commands: doctor, validate, schema, record, localstack and ceiling, each a few
//! lines over the harness.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use tickflow_harness::commands::ceiling;
use tickflow_harness::commands::doctor;
use tickflow_harness::flows::stream::input::replay;
use tickflow_harness::flows::stream::resources::topology::Topology;
use tickflow_harness::flows::stream::scenario::StreamFile;
use tickflow_harness::infra::aws::readiness::Service;
use tickflow_harness::infra::aws::{self, Target};
use tickflow_harness::scenario;
use tickflow_pipeline::source::Generator;

use super::target::{with_target, TargetKind};

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
    let scenario = scenario::load_one(file)?;
    let stream: &StreamFile = scenario.sections("tickflow record")?;
    let config = stream
        .generator_config(scenario.file.scenario.seed)
        .map_err(anyhow::Error::msg)?;
    let n = replay::record(Generator::new(config), out)?;
    println!(
        "recorded {n} events of {} to {}",
        scenario.name(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `tickflow localstack`: starts LocalStack and keeps it until Ctrl-C.
pub(super) async fn localstack_command(target: TargetKind) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        target == TargetKind::Localstack,
        "`tickflow localstack` starts LocalStack; it has no meaning with another --target"
    );
    with_target(target, &[], |target, header| async move {
        eprintln!("{header}; Ctrl-C removes it");
        if let Target::Endpoint(endpoint) = target {
            println!("AWS_ENDPOINT_URL={endpoint}");
        }
        use std::io::Write as _;
        std::io::stdout().flush()?;
        std::future::pending::<()>().await;
        Ok(ExitCode::SUCCESS)
    })
    .await
}

/// `tickflow ceiling`: the target's raw capacity, loop by loop.
pub(super) async fn ceiling_command(target: TargetKind, seconds: u64) -> anyhow::Result<ExitCode> {
    let needs = [Service::Kinesis, Service::Sqs, Service::S3];
    with_target(target, &needs, |target, header| async move {
        println!("{header}");
        let clients = aws::clients(&target).await;
        let measured = ceiling::measure(&clients, std::time::Duration::from_secs(seconds)).await?;
        print!("{}", ceiling::render(&measured));
        Ok(ExitCode::SUCCESS)
    })
    .await
}
