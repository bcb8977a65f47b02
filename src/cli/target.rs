//! Where a command's requests go: real AWS, or a LocalStack started (and removed) around it.

use std::process::ExitCode;

use anyhow::Context as _;
use tickflow_harness::aws::Target;
use tickflow_harness::localstack::{LocalStack, LocalStackConfig, Origin};

use super::TargetKind;

/// Where a command runs, as a job sees it: a line describing it, and the LocalStack container
/// tickflow started, if it did (an outage fault may pause only that one).
pub(super) struct Site {
    /// `LocalStack 4.14.0 at http://... (started ... in 9.1s)`.
    pub header: String,
    /// The container's id, when tickflow started it.
    pub container: Option<String>,
}

impl std::fmt::Display for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.header)
    }
}

/// Runs `job` against real AWS, or against LocalStack (started and removed around it, also on
/// Ctrl-C). `job` gets where to send requests and a [`Site`] describing it.
pub(super) async fn with_target<F, Fut>(target: TargetKind, job: F) -> anyhow::Result<ExitCode>
where
    F: FnOnce(Target, Site) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<ExitCode>>,
{
    if target == TargetKind::Aws {
        let header =
            "real AWS (standard credential chain and region, no endpoint override)".to_string();
        let site = Site {
            header,
            container: None,
        };
        return tokio::select! {
            outcome = job(Target::Aws, site) => outcome,
            _ = tokio::signal::ctrl_c() => Ok(ExitCode::from(130)),
        };
    }
    let config = LocalStackConfig::from_env();
    let localstack = LocalStack::start(&config)
        .await
        .context("reaching LocalStack")?;
    let origin = match localstack.origin() {
        Origin::Started { image, startup, .. } => {
            format!("started {image} in {:.1}s", startup.as_secs_f64())
        }
        Origin::External => format!("using AWS_ENDPOINT_URL={}", localstack.endpoint()),
    };
    let header = format!(
        "LocalStack {} at {} ({origin})",
        localstack.version().unwrap_or("(version unknown)"),
        localstack.endpoint(),
    );
    let target = Target::Endpoint(localstack.endpoint().to_string());
    let container = match localstack.origin() {
        Origin::Started { container_id, .. } => Some(container_id.clone()),
        Origin::External => None,
    };
    let site = Site { header, container };
    let outcome = tokio::select! {
        outcome = job(target, site) => outcome,
        _ = tokio::signal::ctrl_c() => Ok(ExitCode::from(130)),
    };
    localstack.shutdown().await.context("removing LocalStack")?;
    outcome
}
