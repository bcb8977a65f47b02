//! Starting LocalStack with testcontainers.
//!
//! Starting LocalStack with testcontainers: the image definition, a loopback-only port binding,
//! tickflow's labels, and a readiness wait that reports the container's last log lines.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use testcontainers::bollard::models::PortBinding;
use testcontainers::core::client::ClientError;
use testcontainers::core::{ContainerPort, IntoContainerPort};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt, TestcontainersError};
use tokio::io::AsyncBufReadExt;

use super::config::LocalStackConfig;
use super::{health, sweep};
use crate::error::{Error, Result};
use crate::runtime::wait::{self, Look};

/// LocalStack's gateway port inside the container.
pub const GATEWAY_PORT: u16 = 4566;
/// How many container log lines a start-up error shows.
const LOG_TAIL: usize = 25;

/// A LocalStack container that tickflow started and must remove.
pub struct StartedContainer {
    /// The testcontainers handle; `rm` removes the container.
    pub container: ContainerAsync<GenericImage>,
    /// `http://127.0.0.1:<random port>`.
    pub endpoint: String,
    /// From the health endpoint.
    pub health: health::Health,
    /// Time from the start request to every requested service being ready.
    pub startup: Duration,
}

/// Starts the configured image and waits until LocalStack is ready.
///
/// # Errors
/// [`Error::Engine`] without a container engine, [`Error::ImageUnavailable`] for a missing image,
/// [`Error::NotReady`] (with the last log lines) when LocalStack does not come up in time.
pub async fn start(config: &LocalStackConfig) -> Result<StartedContainer> {
    sweep::remove_stale().await;
    let started_at = Instant::now();
    let gateway: ContainerPort = GATEWAY_PORT.tcp();
    let mut request = GenericImage::new(config.image_name.clone(), config.image_tag.clone())
        .with_exposed_port(gateway)
        .with_env_var("SERVICES", config.services.join(","))
        .with_env_var("KINESIS_LATENCY", config.kinesis_latency_ms.to_string())
        .with_env_var("EAGER_SERVICE_LOADING", "1")
        // The queues' depths are tickflow's to publish, at an alarm's period: LocalStack's own
        // (every 60 s) would be a second, coarser source of the same metric.
        .with_env_var("SQS_DISABLE_CLOUDWATCH_METRICS", "1")
        .with_startup_timeout(config.startup_timeout)
        // Publish 4566 on loopback only, at a random port: an unauthenticated AWS emulator
        // should not listen on every interface. Podman also reports an empty HostIp for
        // publish-all bindings, which testcontainers cannot map.
        .with_host_config_modifier(|host| {
            host.publish_all_ports = Some(false);
            host.port_bindings = Some(HashMap::from([(
                format!("{GATEWAY_PORT}/tcp"),
                Some(vec![PortBinding {
                    host_ip: Some("127.0.0.1".to_string()),
                    host_port: None,
                }]),
            )]));
        });
    for (key, value) in sweep::labels() {
        request = request.with_label(key, value);
    }
    if let Some(token) = &config.auth_token {
        request = request.with_env_var("LOCALSTACK_AUTH_TOKEN", token.clone());
    }

    let container = request.start().await.map_err(|e| start_error(config, e))?;
    match wait_ready(config, &container).await {
        Ok((endpoint, health)) => Ok(StartedContainer {
            container,
            endpoint,
            health,
            startup: started_at.elapsed(),
        }),
        Err(reason) => {
            let last_logs = log_tail(&container).await;
            let _ = container.rm().await;
            Err(Error::NotReady {
                image: config.image(),
                timeout: config.startup_timeout,
                reason,
                last_logs,
            })
        }
    }
}

/// The host to dial for published ports: `TESTCONTAINERS_HOST_OVERRIDE` or loopback (the
/// engine's own `get_host` may name a bridge gateway that is not where the port is published).
pub fn dial_host() -> String {
    std::env::var("TESTCONTAINERS_HOST_OVERRIDE")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| "127.0.0.1".to_string())
}

/// Waits for `Ready.` on stdout, then for every requested service in the health report.
async fn wait_ready(
    config: &LocalStackConfig,
    container: &ContainerAsync<GenericImage>,
) -> std::result::Result<(String, health::Health), String> {
    let deadline = tokio::time::Instant::now() + config.startup_timeout;
    let mut stdout = container.stdout(true);
    let mut line = String::new();
    loop {
        line.clear();
        match tokio::time::timeout_at(deadline, stdout.read_line(&mut line)).await {
            Err(_) => return Err("no `Ready.` line in the container output".into()),
            Ok(Ok(0)) => return Err("the container exited before printing `Ready.`".into()),
            Ok(Err(e)) => return Err(format!("reading the container output: {e}")),
            Ok(Ok(_)) if line.trim_end() == "Ready." => break,
            Ok(Ok(_)) => {}
        }
    }
    let port = container
        .get_host_port_ipv4(GATEWAY_PORT)
        .await
        .map_err(|e| format!("port {GATEWAY_PORT} is not published: {e}"))?;
    let endpoint = format!("http://{}:{port}", dial_host());
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    let healthy = wait::poll(left, Duration::from_millis(250), || async {
        let not_ready = |h: &health::Health| h.not_ready(&config.services);
        Ok(
            match health::fetch(&endpoint, Duration::from_secs(5)).await {
                Ok(h) if not_ready(&h).is_empty() => Look::Ready(h),
                Ok(h) => Look::NotYet(format!("services not ready: {:?}", not_ready(&h))),
                Err(e) => Look::NotYet(e.to_string()),
            },
        )
    })
    .await
    .map_err(|e| e.to_string())?;
    healthy.map(|h| (endpoint, h))
}

/// The last lines of the container's stdout and stderr, for error messages.
async fn log_tail(container: &ContainerAsync<GenericImage>) -> String {
    let mut text = String::new();
    if let Ok(out) = container.stdout_to_vec().await {
        text.push_str(&String::from_utf8_lossy(&out));
    }
    if let Ok(err) = container.stderr_to_vec().await {
        text.push_str(&String::from_utf8_lossy(&err));
    }
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(LOG_TAIL)..];
    if tail.is_empty() {
        "  (no output)".to_string()
    } else {
        tail.iter()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Turns a testcontainers start failure into an error that says what to do.
fn start_error(config: &LocalStackConfig, error: TestcontainersError) -> Error {
    match error {
        TestcontainersError::Client(ClientError::Init(e)) => Error::Engine {
            reason: e.to_string(),
        },
        TestcontainersError::Client(ClientError::PullImage { err, .. }) => {
            Error::ImageUnavailable {
                image: config.image(),
                reason: err.to_string(),
            }
        }
        other => {
            let text = other.to_string();
            if text.contains("No such file or directory") || text.contains("Connection refused") {
                Error::Engine { reason: text }
            } else {
                Error::Container(format!("starting {}: {text}", config.image()))
            }
        }
    }
}
