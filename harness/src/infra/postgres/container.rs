//! Starting PostgreSQL with testcontainers, or reaching a given server.
//!
//! A PostgreSQL container tickflow starts with testcontainers (published on 127.0.0.1 only,
//! labelled and removed like LocalStack), or an existing server reached at its URL.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use testcontainers::bollard::models::PortBinding;
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

use super::config::{PostgresConfig, DATABASE, ENV_IMAGE, ENV_URL, PASSWORD, USER};
use super::connect::connect;
use crate::error::{Error, Result};
use crate::infra::localstack::{dial_host, sweep};
use crate::runtime::wait::{self, Look};

/// The line the server prints when it accepts connections (once for the initialisation server,
/// once for the real one).
const READY: &str = "database system is ready to accept connections";
const PORT: u16 = 5432;

/// A reachable PostgreSQL.
pub struct Postgres {
    url: String,
    container: Option<ContainerAsync<GenericImage>>,
}

impl Postgres {
    /// Reaches the configured server: checks a given URL, or starts a container and waits until
    /// it accepts connections.
    ///
    /// # Errors
    /// No container engine, a missing image, a start that times out, or a server that refuses
    /// connections, each saying what to do.
    pub async fn start(config: &PostgresConfig) -> Result<Self> {
        if let Some(url) = &config.url {
            connect(url).await?;
            return Ok(Self {
                url: url.clone(),
                container: None,
            });
        }
        sweep::remove_stale().await;
        let started = Instant::now();
        let (name, tag) = config
            .image
            .rsplit_once(':')
            .unwrap_or((&config.image, "latest"));
        let mut request = GenericImage::new(name, tag)
            .with_exposed_port(PORT.tcp())
            .with_wait_for(WaitFor::message_on_stdout(READY))
            .with_wait_for(WaitFor::message_on_stderr(READY))
            .with_env_var("POSTGRES_USER", USER)
            .with_env_var("POSTGRES_PASSWORD", PASSWORD)
            .with_env_var("POSTGRES_DB", DATABASE)
            .with_startup_timeout(config.startup_timeout)
            .with_host_config_modifier(|host| {
                host.publish_all_ports = Some(false);
                host.port_bindings = Some(HashMap::from([(
                    format!("{PORT}/tcp"),
                    Some(vec![PortBinding {
                        host_ip: Some("127.0.0.1".to_string()),
                        host_port: None,
                    }]),
                )]));
            });
        for (key, value) in sweep::labels() {
            request = request.with_label(key, value);
        }
        let container = request.start().await.map_err(|e| {
            Error::Container(format!(
                "starting {}: {e}. Build or pull the image, choose another with {ENV_IMAGE}, or \
                 give an existing server with {ENV_URL}",
                config.image
            ))
        })?;
        let port = container
            .get_host_port_ipv4(PORT)
            .await
            .map_err(|e| Error::Container(format!("PostgreSQL port {PORT} not published: {e}")))?;
        let url = format!(
            "postgres://{USER}:{PASSWORD}@{}:{port}/{DATABASE}",
            dial_host()
        );
        // The ready lines come before the server takes TCP connections on some images.
        let every = Duration::from_millis(200);
        let reached = wait::poll(config.startup_timeout, every, || async {
            Ok(match connect(&url).await {
                Ok(_) => Look::Ready(()),
                Err(e) => Look::NotYet(e),
            })
        })
        .await?;
        if let Err(last) = reached {
            let _ = container.rm().await;
            return Err(last);
        }
        tracing::info!(image = %config.image, startup_ms = started.elapsed().as_millis() as u64, "PostgreSQL ready");
        Ok(Self {
            url,
            container: Some(container),
        })
    }

    /// The connection URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The container's id, when tickflow started it.
    pub fn container_id(&self) -> Option<&str> {
        self.container.as_ref().map(|c| c.id())
    }

    /// Removes the container tickflow started (nothing for a given server).
    ///
    /// # Errors
    /// The engine refusing to remove it (the next start's sweep retries).
    pub async fn shutdown(mut self) -> Result<()> {
        if let Some(container) = self.container.take() {
            container
                .rm()
                .await
                .map_err(|e| Error::Container(format!("removing PostgreSQL: {e}")))?;
        }
        Ok(())
    }
}
