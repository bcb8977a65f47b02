//! The LocalStack in use, and where it came from.
//!
//! The LocalStack in use: a container tickflow started, or an endpoint it was given, with its
//! version and where it came from.

use std::time::Duration;

use testcontainers::{ContainerAsync, GenericImage};

use super::config::LocalStackConfig;
use super::{container, health};
use crate::error::Result;

/// Where the LocalStack in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// tickflow started this container and removes it at the end.
    Started {
        /// The image as `name:tag`.
        image: String,
        /// The container id.
        container_id: String,
        /// Time from the start request to every service being ready.
        startup: Duration,
    },
    /// An existing endpoint from `AWS_ENDPOINT_URL`; tickflow leaves it running.
    External,
}

/// A reachable LocalStack: its endpoint, version and origin.
pub struct LocalStack {
    endpoint: String,
    version: Option<String>,
    origin: Origin,
    container: Option<ContainerAsync<GenericImage>>,
}

impl LocalStack {
    /// Reaches the configured LocalStack: checks the endpoint when one is given, otherwise starts
    /// a container and waits until every configured service is ready.
    ///
    /// # Errors
    /// An unreachable endpoint, no container engine, a missing image or a start that times out,
    /// each with a message that says what to do.
    pub async fn start(config: &LocalStackConfig) -> Result<Self> {
        if let Some(endpoint) = &config.endpoint {
            let version = if endpoint.starts_with("http://") {
                health::fetch(endpoint, Duration::from_secs(5))
                    .await?
                    .version
            } else {
                None // https endpoints (a proxy, real AWS-compatible services): no health API
            };
            return Ok(Self {
                endpoint: endpoint.clone(),
                version,
                origin: Origin::External,
                container: None,
            });
        }
        let started = container::start(config).await?;
        tracing::info!(
            image = %config.image(),
            endpoint = %started.endpoint,
            startup_ms = started.startup.as_millis() as u64,
            "LocalStack ready"
        );
        Ok(Self {
            endpoint: started.endpoint,
            version: started.health.version,
            origin: Origin::Started {
                image: config.image(),
                container_id: started.container.id().to_string(),
                startup: started.startup,
            },
            container: Some(started.container),
        })
    }

    /// The URL to point the AWS SDK at.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// LocalStack's version, when its health endpoint said.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// Whether tickflow started the container or reused an endpoint.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Removes the container tickflow started (nothing for an external endpoint).
    ///
    /// # Errors
    /// When the engine refuses to remove it; the label sweep of the next start retries.
    pub async fn shutdown(mut self) -> Result<()> {
        if let Some(container) = self.container.take() {
            container
                .rm()
                .await
                .map_err(|e| crate::Error::Container(format!("removing LocalStack: {e}")))?;
        }
        Ok(())
    }
}
