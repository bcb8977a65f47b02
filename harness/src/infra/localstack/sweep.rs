//! tickflow's container labels, and the sweep of stale containers.
//!
//! tickflow's labels on every container it starts, and the sweep that removes containers whose
//! owning process is gone (a killed test binary, a `kill -9`): testcontainers-rs has no reaper.

use std::collections::HashMap;

use testcontainers::bollard::query_parameters::{
    ListContainersOptions, RemoveContainerOptionsBuilder,
};
use testcontainers::bollard::Docker;

/// Marks a container as started by tickflow.
pub const LABEL_MANAGED: &str = "dev.tickflow.managed";
/// The process id of the tickflow process that owns the container.
pub const LABEL_PID: &str = "dev.tickflow.pid";
/// The machine that owns it; only that machine's sweeps judge the pid.
pub const LABEL_HOST: &str = "dev.tickflow.host";

/// The labels for a container started by this process.
pub fn labels() -> Vec<(String, String)> {
    vec![
        (LABEL_MANAGED.to_string(), "true".to_string()),
        (LABEL_PID.to_string(), std::process::id().to_string()),
        (LABEL_HOST.to_string(), host_name()),
    ]
}

/// Removes tickflow containers of this machine whose owning process no longer runs. Best
/// effort: a failure is logged, never fatal, since the start that follows reports engine errors.
pub async fn remove_stale() {
    if !cfg!(target_os = "linux") {
        return; // the pid check below reads /proc
    }
    let Ok(docker) = Docker::connect_with_defaults() else {
        return;
    };
    let options = ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([(
            "label".to_string(),
            vec![format!("{LABEL_MANAGED}=true")],
        )])),
        ..Default::default()
    };
    let Ok(containers) = docker.list_containers(Some(options)).await else {
        return;
    };
    let me = host_name();
    for summary in containers {
        let labels = summary.labels.unwrap_or_default();
        let owner_alive = labels
            .get(LABEL_PID)
            .and_then(|pid| pid.parse::<u32>().ok())
            .is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if labels.get(LABEL_HOST) != Some(&me) || owner_alive {
            continue;
        }
        if let Some(id) = summary.id {
            tracing::info!(container = %id, "removing a stale tickflow LocalStack container");
            let remove = RemoveContainerOptionsBuilder::default()
                .force(true)
                .v(true)
                .build();
            if let Err(e) = docker.remove_container(&id, Some(remove)).await {
                tracing::warn!(container = %id, error = %e, "could not remove stale container");
            }
        }
    }
}

/// This machine's name, for [`LABEL_HOST`].
fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".to_string())
}
