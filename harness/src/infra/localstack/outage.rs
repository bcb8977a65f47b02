//! A real LocalStack outage: the container paused, then resumed.
//!
//! A real LocalStack outage: the container paused through the container engine's API, then
//! resumed. Only for a container tickflow started (an endpoint the user gave is never touched).
//!
//! The pause and the resume run on a thread of their own with its own runtime, so that a run
//! that ends (or a test that fails) during the outage cannot leave the container paused.

use std::time::Duration;

use testcontainers::bollard::Docker;

use crate::error::{Error, Result};

/// Pauses container `id` for `length`; returns once it runs again.
///
/// # Errors
/// The engine refusing the pause or the resume (the resume is attempted whatever happened).
pub async fn pause_for(id: &str, length: Duration) -> Result<()> {
    let id = id.to_string();
    let (done, wait) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("tickflow-outage".into())
        .spawn(move || {
            let outcome = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::Container(format!("outage runtime: {e}")))
                .and_then(|rt| rt.block_on(pause_then_resume(&id, length)));
            let _ = done.send(outcome);
        })
        .map_err(|e| Error::Container(format!("outage thread: {e}")))?;
    wait.await
        .map_err(|_| Error::Container("the outage thread ended without an answer".into()))?
}

async fn pause_then_resume(id: &str, length: Duration) -> Result<()> {
    let docker = Docker::connect_with_defaults().map_err(|e| Error::Engine {
        reason: e.to_string(),
    })?;
    docker
        .pause_container(id)
        .await
        .map_err(|e| Error::Container(format!("pausing {id}: {e}")))?;
    tracing::info!(
        container = id,
        secs = length.as_secs_f64(),
        "LocalStack paused"
    );
    tokio::time::sleep(length).await;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match docker.unpause_container(id).await {
            Ok(()) => {
                tracing::info!(container = id, "LocalStack resumed");
                return Ok(());
            }
            Err(e) if attempt < 10 => {
                tracing::warn!(error = %e, "resuming LocalStack failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(Error::Container(format!("resuming {id}: {e}"))),
        }
    }
}
