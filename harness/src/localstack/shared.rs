//! One LocalStack per process, shared by every test in a test binary.
//!
//! LocalStack takes seconds to start, so a test binary starts it once, lazily, and every test
//! isolates itself by unique resource names. The container lives on a thread of its own with its
//! own tokio runtime (each `#[tokio::test]` has a runtime that ends with the test, and the
//! container's engine client must outlive them all). A value in a static is never dropped, so
//! removal is explicit: at process exit (`atexit`, which runs after the last test, passed or
//! failed) and on SIGINT/SIGTERM. A `kill -9` leaks the container until the next start sweeps it.

use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

use super::{LocalStack, LocalStackConfig, Origin};
use crate::error::{Error, Result};

/// The shared LocalStack as tests see it: where it is and where it came from.
#[derive(Debug)]
pub struct SharedLocalStack {
    /// The URL to point the AWS SDK at.
    pub endpoint: String,
    /// LocalStack's version, when known.
    pub version: Option<String>,
    /// Started here or reused from `AWS_ENDPOINT_URL`.
    pub origin: Origin,
    /// Asks the owning thread to remove the container; it answers on the given sender.
    stop: tokio::sync::mpsc::UnboundedSender<mpsc::Sender<()>>,
}

static SHARED: OnceLock<std::result::Result<SharedLocalStack, String>> = OnceLock::new();

/// The process's LocalStack, started on first use from [`LocalStackConfig::from_env`].
///
/// Blocks the calling thread while the container starts; other callers wait for the same start.
///
/// # Errors
/// The start-up error (the same for every caller), e.g. no container engine.
pub fn shared() -> Result<&'static SharedLocalStack> {
    SHARED
        .get_or_init(start_on_own_thread)
        .as_ref()
        .map_err(|message| Error::Container(message.clone()))
}

fn start_on_own_thread() -> std::result::Result<SharedLocalStack, String> {
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("tickflow-localstack".into())
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
            runtime.block_on(own_localstack(ready_tx));
        })
        .map_err(|e| format!("spawning the LocalStack thread: {e}"))?;
    let shared = ready_rx
        .recv()
        .map_err(|_| "the LocalStack thread ended before LocalStack was ready".to_string())??;
    #[cfg(unix)]
    // SAFETY: registering a plain `extern "C" fn()` with no captured state.
    unsafe {
        libc::atexit(remove_at_exit);
    }
    Ok(shared)
}

/// Runs on the LocalStack thread: start, report, then hold the container until asked to stop.
async fn own_localstack(ready: mpsc::Sender<std::result::Result<SharedLocalStack, String>>) {
    let localstack = match LocalStack::start(&LocalStackConfig::from_env()).await {
        Ok(ls) => ls,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    let (stop, mut stop_requests) = tokio::sync::mpsc::unbounded_channel::<mpsc::Sender<()>>();
    let started_here = matches!(localstack.origin(), Origin::Started { .. });
    let _ = ready.send(Ok(SharedLocalStack {
        endpoint: localstack.endpoint().to_string(),
        version: localstack.version().map(str::to_string),
        origin: localstack.origin().clone(),
        stop,
    }));
    if !started_here {
        return; // an external endpoint: nothing to remove, signals keep their default meaning
    }
    tokio::select! {
        done = stop_requests.recv() => {
            if let Err(e) = localstack.shutdown().await {
                eprintln!("tickflow: {e}");
            }
            if let Some(done) = done {
                let _ = done.send(());
            }
        }
        signal = interrupted() => {
            drop(stop_requests); // the atexit hook that `exit` runs must not wait for us
            if let Err(e) = localstack.shutdown().await {
                eprintln!("tickflow: {e}");
            }
            std::process::exit(128 + signal);
        }
    }
}

/// Resolves on SIGINT or SIGTERM with the signal number.
async fn interrupted() -> i32 {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => 2,
                _ = term.recv() => 15,
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                2
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        2
    }
}

/// `atexit` hook: ask the LocalStack thread to remove the container and wait for it (bounded).
#[cfg(unix)]
extern "C" fn remove_at_exit() {
    if let Some(Ok(shared)) = SHARED.get() {
        let (done, wait) = mpsc::channel();
        if shared.stop.send(done).is_ok() {
            let _ = wait.recv_timeout(Duration::from_secs(30));
        }
    }
}
