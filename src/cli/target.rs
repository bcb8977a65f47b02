//! Where a command's requests go: LocalStack, another endpoint, or AWS.
//!
//! Where a command's requests go: LocalStack (started and removed around it, or given), any
//! other AWS-compatible endpoint, or real AWS; each proven to answer before the job starts, and
//! described truthfully in the header.

use std::process::ExitCode;

use anyhow::Context as _;
use tickflow_harness::error::redact_url;
use tickflow_harness::infra::aws::emulator::{self, Emulator};
use tickflow_harness::infra::aws::identity::aws_identity;
use tickflow_harness::infra::aws::readiness::{self, Service};
use tickflow_harness::infra::aws::{self, Target};
use tickflow_harness::infra::localstack::{LocalStack, LocalStackConfig, Origin};

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

/// Runs `job` against `target`, once it has answered for the `needs` of the run. `job` gets
/// where to send requests and a [`Site`] describing it.
pub(super) async fn with_target<F, Fut>(
    target: TargetKind,
    needs: &[Service],
    job: F,
) -> anyhow::Result<ExitCode>
where
    F: FnOnce(Target, Site) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<ExitCode>>,
{
    with_target_at(target, &Endpoint::FromEnv, needs, job).await
}

/// Where an endpoint target's URL comes from.
#[derive(Debug, Clone)]
pub(super) enum Endpoint {
    /// `AWS_ENDPOINT_URL`, as every command reads it.
    FromEnv,
    /// This URL, whatever `AWS_ENDPOINT_URL` says (parity's second target); with
    /// `--target localstack`, `None` starts one.
    Given(Option<String>),
}

impl Endpoint {
    /// The URL, if one is given.
    fn url(&self) -> Option<String> {
        match self {
            Self::FromEnv => std::env::var("AWS_ENDPOINT_URL").ok(),
            Self::Given(url) => url.clone(),
        }
        .filter(|u| !u.trim().is_empty())
    }
}

/// [`with_target`], with the endpoint's URL taken from `endpoint`.
pub(super) async fn with_target_at<F, Fut>(
    target: TargetKind,
    endpoint: &Endpoint,
    needs: &[Service],
    job: F,
) -> anyhow::Result<ExitCode>
where
    F: FnOnce(Target, Site) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<ExitCode>>,
{
    match target {
        TargetKind::Localstack => with_localstack(endpoint.url(), job).await,
        TargetKind::Endpoint => {
            let (target, site) = endpoint_site(endpoint.url(), needs).await?;
            until_ctrl_c(job(target, site)).await
        }
        TargetKind::Aws => {
            let identity = aws_identity().await.context("reaching AWS")?;
            let site = Site {
                header: identity.to_string(),
                container: None,
            };
            until_ctrl_c(job(Target::Aws, site)).await
        }
    }
}

/// The job's outcome, or exit code 130 on Ctrl-C.
async fn until_ctrl_c(
    job: impl std::future::Future<Output = anyhow::Result<ExitCode>>,
) -> anyhow::Result<ExitCode> {
    tokio::select! {
        outcome = job => outcome,
        _ = tokio::signal::ctrl_c() => Ok(ExitCode::from(130)),
    }
}

/// The endpoint at `url`, once one call per needed service has answered there.
async fn endpoint_site(url: Option<String>, needs: &[Service]) -> anyhow::Result<(Target, Site)> {
    let url = url.context(
        "--target endpoint needs the endpoint's URL in AWS_ENDPOINT_URL (parity's second \
         target: --against-url), such as http://127.0.0.1:5000 for a moto server",
    )?;
    let shown = redact_url(&url);
    let target = Target::Endpoint(url);
    let clients = aws::clients(&target).await;
    let ready = readiness::check(&clients, &shown, needs, readiness::CALL_LIMIT).await?;
    let which = match emulator::identify(&target).await {
        Emulator::Moto => "a moto server; ",
        _ => "",
    };
    let header = format!(
        "AWS-compatible endpoint {shown} ({which}answered {}; not LocalStack: no container to \
         pause)",
        readiness::summary(&ready)
    );
    let site = Site {
        header,
        container: None,
    };
    Ok((target, site))
}

/// Runs `job` against LocalStack: started and removed around it (also on Ctrl-C), or the one
/// at `url`.
async fn with_localstack<F, Fut>(url: Option<String>, job: F) -> anyhow::Result<ExitCode>
where
    F: FnOnce(Target, Site) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<ExitCode>>,
{
    let config = LocalStackConfig::from_lookup(|k| match k {
        "AWS_ENDPOINT_URL" => url.clone(),
        _ => std::env::var(k).ok(),
    });
    let localstack = LocalStack::start(&config)
        .await
        .context("reaching LocalStack")?;
    let origin = match localstack.origin() {
        Origin::Started { image, startup, .. } => {
            format!("started {image} in {:.1}s", startup.as_secs_f64())
        }
        Origin::External => "given by AWS_ENDPOINT_URL".to_string(),
    };
    let header = format!(
        "LocalStack {} at {} ({origin})",
        localstack.version().unwrap_or("(version unknown)"),
        redact_url(localstack.endpoint()),
    );
    let target = Target::Endpoint(localstack.endpoint().to_string());
    let container = match localstack.origin() {
        Origin::Started { container_id, .. } => Some(container_id.clone()),
        Origin::External => None,
    };
    let site = Site { header, container };
    let outcome = until_ctrl_c(job(target, site)).await;
    localstack.shutdown().await.context("removing LocalStack")?;
    outcome
}

/// The `--target` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum TargetKind {
    /// LocalStack, started by tickflow or given by `AWS_ENDPOINT_URL`.
    Localstack,
    /// Any AWS-compatible endpoint at `AWS_ENDPOINT_URL`, proven by one call per service a run
    /// needs.
    Endpoint,
    /// Real AWS.
    Aws,
}
