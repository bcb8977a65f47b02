//! One PostgreSQL per test binary.
//!
//! One PostgreSQL per process, shared by every test in a test binary, as
//! [`crate::infra::localstack::shared`] shares LocalStack ([`crate::runtime::owned_thread`]): started lazily on a
//! thread of its own, removed at exit and on Ctrl-C.

use std::sync::mpsc;
use std::sync::OnceLock;

use super::config::PostgresConfig;
use super::container::Postgres;
use crate::error::{Error, Result};
use crate::runtime::owned_thread::{self, StopSender};

/// The shared server as tests see it.
#[derive(Debug)]
pub struct SharedPostgres {
    /// The connection URL.
    pub url: String,
    stop: StopSender,
}

static SHARED: OnceLock<std::result::Result<SharedPostgres, String>> = OnceLock::new();

/// The process's PostgreSQL, started on first use from [`PostgresConfig::from_env`].
///
/// # Errors
/// The start-up error (the same for every caller).
pub fn shared() -> Result<&'static SharedPostgres> {
    SHARED
        .get_or_init(|| owned_thread::start("tickflow-postgres", own_postgres, remove_at_exit))
        .as_ref()
        .map_err(|message| Error::Container(message.clone()))
}

/// Runs on the PostgreSQL thread: start, report, then hold the container until asked to stop.
async fn own_postgres(ready: mpsc::Sender<std::result::Result<SharedPostgres, String>>) {
    let postgres = match Postgres::start(&PostgresConfig::from_env()).await {
        Ok(pg) => pg,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    let (stop, requests) = owned_thread::stop_channel();
    let _ = ready.send(Ok(SharedPostgres {
        url: postgres.url().to_string(),
        stop,
    }));
    if postgres.container_id().is_none() {
        return; // a server given by TICKFLOW_POSTGRES_URL: nothing to remove
    }
    owned_thread::hold_until_stopped(requests, || postgres.shutdown()).await;
}

/// `atexit` hook: ask the PostgreSQL thread to remove the container and wait for it (bounded).
extern "C" fn remove_at_exit() {
    if let Some(Ok(shared)) = SHARED.get() {
        owned_thread::stop_and_wait(&shared.stop);
    }
}
