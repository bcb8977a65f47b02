//! PostgreSQL for the batch flow: a `postgres:17` container tickflow starts with testcontainers
//! (published on 127.0.0.1 only, labelled and removed like LocalStack), or an existing server
//! given by `TICKFLOW_POSTGRES_URL`.

pub mod shared;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use testcontainers::bollard::models::PortBinding;
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

use crate::error::{redact_url, Error, Result};
use crate::localstack::{dial_host, sweep};

/// The image tickflow starts by default.
pub const DEFAULT_IMAGE: &str = "postgres:17";
/// Environment variable naming another image (`name:tag`).
pub const ENV_IMAGE: &str = "TICKFLOW_POSTGRES_IMAGE";
/// Environment variable naming an existing server (`postgres://user:pass@host:port/db`); no
/// container is started then.
pub const ENV_URL: &str = "TICKFLOW_POSTGRES_URL";
/// The line the server prints when it accepts connections (once for the initialisation server,
/// once for the real one).
const READY: &str = "database system is ready to accept connections";
const PORT: u16 = 5432;
pub(crate) const USER: &str = "tickflow";
const PASSWORD: &str = "tickflow";
pub(crate) const DATABASE: &str = "tickflow";

/// How to get a PostgreSQL: start one (which image) or use an existing server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresConfig {
    /// An existing server; `None` starts a container.
    pub url: Option<String>,
    /// Image as `name:tag`.
    pub image: String,
    /// How long a start may take.
    pub startup_timeout: Duration,
}

impl PostgresConfig {
    /// From the environment: `TICKFLOW_POSTGRES_URL`, `TICKFLOW_POSTGRES_IMAGE`.
    pub fn from_env() -> Self {
        let var = |name| {
            std::env::var(name)
                .ok()
                .filter(|v: &String| !v.trim().is_empty())
        };
        Self {
            url: var(ENV_URL),
            image: var(ENV_IMAGE).unwrap_or_else(|| DEFAULT_IMAGE.to_string()),
            startup_timeout: Duration::from_secs(120),
        }
    }
}

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
        let deadline = Instant::now() + config.startup_timeout;
        loop {
            match connect(&url).await {
                Ok(_) => break,
                Err(e) if Instant::now() >= deadline => {
                    let _ = container.rm().await;
                    return Err(e);
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
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

/// A connection to `url`, its driver task spawned.
///
/// # Errors
/// The server refusing or unreachable, with the URL's host (never its password).
pub async fn connect(url: &str) -> Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| Error::DatabaseUnreachable {
            url: redact_url(url),
            reason: e.to_string(),
        })?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "PostgreSQL connection ended");
        }
    });
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unreachable_server_names_its_setting_and_hides_the_password() {
        let e = connect("postgres://u:s3cret@127.0.0.1:1/db")
            .await
            .unwrap_err();
        let message = e.to_string();
        assert!(matches!(e, Error::DatabaseUnreachable { .. }), "{e:?}");
        assert!(
            message.contains(ENV_URL) && message.contains("u:***@127.0.0.1:1"),
            "{message}"
        );
        assert!(!message.contains("s3cret"), "{message}");
    }
}
