//! Where a run's PostgreSQL comes from: an image tickflow starts, or an existing server's URL.

use std::time::Duration;

/// The image tickflow starts by default.
pub const DEFAULT_IMAGE: &str = "postgres:17";
/// Environment variable naming another image (`name:tag`).
pub const ENV_IMAGE: &str = "TICKFLOW_POSTGRES_IMAGE";
/// Environment variable naming an existing server (`postgres://user:pass@host:port/db`); no
/// container is started then.
pub const ENV_URL: &str = "TICKFLOW_POSTGRES_URL";
/// The role, password and database of a server tickflow starts.
pub(crate) const USER: &str = "tickflow";
pub(crate) const PASSWORD: &str = "tickflow";
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
