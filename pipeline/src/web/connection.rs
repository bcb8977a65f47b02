//! The web writer's named connection, with a statement timeout, opened again after a loss.
//!
//! The web writer's connection: named (`application_name`, so that an operator, or tickflow's
//! fault schedule, finds it in `pg_stat_activity`), with a statement timeout (a lock held
//! longer fails the statement instead of holding every request), and reopened after it was
//! lost. A reopening ends the lost connection's backend first, waiting until it is gone: a
//! commit the old backend had still to carry out then cannot land after the writer has asked
//! whether it did.

use std::time::Duration;

use tokio_postgres::{Client, Config, NoTls};

use super::error::WebError;
use super::insert;
use super::tables::Schema;

/// Longest the server may take to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The writer's statement timeout, milliseconds.
pub const STATEMENT_TIMEOUT_MS: u64 = 4_000;
/// First and longest pause between two attempts to reconnect.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(1));
/// Longest the lost connection's backend is waited for, per attempt, milliseconds.
const TERMINATE_WAIT_MS: i64 = 2_000;

/// Where and as whom the writer connects.
#[derive(Debug, Clone)]
pub struct Connector {
    config: Config,
}

/// An open connection and its backend's process id.
pub(super) struct Live {
    /// The connection.
    pub client: Client,
    /// `pg_backend_pid()`: what ends the backend if the connection is lost.
    pub pid: i32,
}

impl Connector {
    /// Connects to `url` as `application_name`.
    ///
    /// # Errors
    /// [`WebError::Config`] for a URL that is not a PostgreSQL one.
    pub fn new(url: &str, application_name: &str) -> Result<Self, WebError> {
        let mut config: Config = url
            .parse()
            .map_err(|e| WebError::Config(format!("PostgreSQL URL: {e}")))?;
        config
            .application_name(application_name)
            .connect_timeout(CONNECT_TIMEOUT);
        Ok(Self { config })
    }

    /// The `application_name` the writer's connections carry.
    pub fn application_name(&self) -> &str {
        self.config.get_application_name().unwrap_or_default()
    }

    /// Opens a connection, sets its statement timeout and reads its backend's pid.
    pub(super) async fn open(&self) -> Result<Live, String> {
        let opening = async {
            let (client, connection) = self.config.connect(NoTls).await?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "the web writer's connection ended");
                }
            });
            client
                .batch_execute(&format!("SET statement_timeout = {STATEMENT_TIMEOUT_MS}"))
                .await?;
            let pid: i32 = client
                .query_one("SELECT pg_backend_pid()", &[])
                .await?
                .get(0);
            Ok::<_, tokio_postgres::Error>(Live { client, pid })
        };
        match tokio::time::timeout(CONNECT_TIMEOUT * 2, opening).await {
            Ok(opened) => opened.map_err(|e| e.to_string()),
            Err(_) => Err(format!("no answer within {:?}", CONNECT_TIMEOUT * 2)),
        }
    }

    /// Ends every other backend connected under this `application_name` (a dead predecessor's,
    /// whose last commit may still be under way) and waits until each is gone: what this
    /// writer commits then comes after everything they did, and the outbox's order holds.
    ///
    /// # Errors
    /// The database's error, or a backend that would not end.
    pub(super) async fn end_others(&self, live: &Live) -> Result<(), String> {
        let others = "SELECT pid FROM pg_stat_activity \
                      WHERE application_name = $1 AND pid <> pg_backend_pid()";
        let rows = live
            .client
            .query(others, &[&self.application_name()])
            .await
            .map_err(|e| e.to_string())?;
        for row in rows {
            end_backend(&live.client, row.get(0)).await?;
        }
        Ok(())
    }

    /// Opens a connection again, however long the database stays away; ends the `lost`
    /// backend; and says whether `group` was committed (when one was being committed).
    pub(super) async fn recover(
        &self,
        schema: &Schema,
        lost: Option<i32>,
        group: Option<uuid::Uuid>,
    ) -> (Live, Option<bool>) {
        let mut pause = BACKOFF.0;
        loop {
            match self.try_recover(schema, lost, group).await {
                Ok(recovered) => return recovered,
                Err(reason) => tracing::debug!(%reason, "the database is still away"),
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(BACKOFF.1);
        }
    }

    async fn try_recover(
        &self,
        schema: &Schema,
        lost: Option<i32>,
        group: Option<uuid::Uuid>,
    ) -> Result<(Live, Option<bool>), String> {
        let live = self.open().await?;
        if let Some(pid) = lost {
            end_backend(&live.client, pid).await?;
        }
        let committed = match group {
            Some(group) => Some(
                insert::committed(&live.client, schema, group)
                    .await
                    .map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        Ok((live, committed))
    }
}

/// Ends backend `pid` (if it is still there) and waits until it is gone.
async fn end_backend(client: &Client, pid: i32) -> Result<(), String> {
    let alive = "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)";
    for _ in 0..10 {
        let there: bool = client
            .query_one(alive, &[&pid])
            .await
            .map_err(|e| e.to_string())?
            .get(0);
        if !there {
            return Ok(());
        }
        client
            .query_one(
                "SELECT pg_terminate_backend($1, $2)",
                &[&pid, &TERMINATE_WAIT_MS],
            )
            .await
            .map_err(|e| e.to_string())?;
    }
    Err(format!("backend {pid} of the lost connection did not end"))
}
