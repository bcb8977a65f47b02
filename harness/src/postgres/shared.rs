//! One PostgreSQL per process, shared by every test in a test binary, as
//! [`crate::localstack::shared`] shares LocalStack: started lazily on a thread of its own,
//! removed at exit.

use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

use super::{Postgres, PostgresConfig};
use crate::error::{Error, Result};

/// The shared server as tests see it.
#[derive(Debug)]
pub struct SharedPostgres {
    /// The connection URL.
    pub url: String,
    stop: tokio::sync::mpsc::UnboundedSender<mpsc::Sender<()>>,
}

static SHARED: OnceLock<std::result::Result<SharedPostgres, String>> = OnceLock::new();

/// The process's PostgreSQL, started on first use from [`PostgresConfig::from_env`].
///
/// # Errors
/// The start-up error (the same for every caller).
pub fn shared() -> Result<&'static SharedPostgres> {
    SHARED
        .get_or_init(start_on_own_thread)
        .as_ref()
        .map_err(|message| Error::Container(message.clone()))
}

fn start_on_own_thread() -> std::result::Result<SharedPostgres, String> {
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("tickflow-postgres".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("tokio runtime: {e}")));
                    return;
                }
            };
            runtime.block_on(own_postgres(ready_tx));
        })
        .map_err(|e| format!("spawning the PostgreSQL thread: {e}"))?;
    let shared = ready_rx
        .recv()
        .map_err(|_| "the PostgreSQL thread ended before it was ready".to_string())??;
    #[cfg(unix)]
    // SAFETY: registering a plain `extern "C" fn()` with no captured state.
    unsafe {
        libc::atexit(remove_at_exit);
    }
    Ok(shared)
}

async fn own_postgres(ready: mpsc::Sender<std::result::Result<SharedPostgres, String>>) {
    let postgres = match Postgres::start(&PostgresConfig::from_env()).await {
        Ok(pg) => pg,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    let (stop, mut stop_requests) = tokio::sync::mpsc::unbounded_channel::<mpsc::Sender<()>>();
    let _ = ready.send(Ok(SharedPostgres {
        url: postgres.url().to_string(),
        stop,
    }));
    let done = stop_requests.recv().await;
    if let Err(e) = postgres.shutdown().await {
        eprintln!("tickflow: {e}");
    }
    if let Some(done) = done {
        let _ = done.send(());
    }
}

#[cfg(unix)]
extern "C" fn remove_at_exit() {
    if let Some(Ok(shared)) = SHARED.get() {
        let (done, wait) = mpsc::channel();
        if shared.stop.send(done).is_ok() {
            let _ = wait.recv_timeout(Duration::from_secs(30));
        }
    }
}
