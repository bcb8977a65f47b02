//! A container shared by a test binary, owned by a thread of its own.
//!
//! A container shared by every test of a test binary, owned by a thread of its own with its own
//! tokio runtime (each `#[tokio::test]` has a runtime that ends with the test; the container's
//! engine client must outlive them all). A value in a static is never dropped, so removal is
//! explicit: at process exit (an `atexit` hook asks the thread and waits, bounded) and on
//! SIGINT/SIGTERM (the thread removes it and exits the process). A `kill -9` leaks the
//! container until the next start sweeps it. LocalStack and PostgreSQL are shared this way.

use std::future::Future;
use std::sync::mpsc;
use std::time::Duration;

/// How an `atexit` hook asks the owning thread to remove its container: it sends a channel the
/// thread answers on once done.
pub type StopSender = tokio::sync::mpsc::UnboundedSender<mpsc::Sender<()>>;
/// The owning thread's end of [`StopSender`].
pub type StopRequests = tokio::sync::mpsc::UnboundedReceiver<mpsc::Sender<()>>;

/// Longest an `atexit` hook waits for a container's removal.
const REMOVAL_LIMIT: Duration = Duration::from_secs(30);

/// A new stop channel.
pub fn stop_channel() -> (StopSender, StopRequests) {
    tokio::sync::mpsc::unbounded_channel()
}

/// Starts `own` on a thread named `name` with a runtime of its own, waits until it reports
/// ready (or why not), and registers `at_exit` once it is.
///
/// # Errors
/// What `own` reported, or the thread or runtime failing to start.
pub fn start<T, F, Fut>(name: &str, own: F, at_exit: extern "C" fn()) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce(mpsc::Sender<Result<T, String>>) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime.block_on(own(ready_tx)),
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("tokio runtime: {e}")));
                }
            }
        })
        .map_err(|e| format!("spawning the {name} thread: {e}"))?;
    let started = ready_rx
        .recv()
        .map_err(|_| format!("the {name} thread ended before it was ready"))??;
    #[cfg(unix)]
    // SAFETY: registering a plain `extern "C" fn()` with no captured state.
    unsafe {
        libc::atexit(at_exit);
    }
    #[cfg(not(unix))]
    let _ = at_exit;
    Ok(started)
}

/// Holds the container until a stop request (then removes it with `shutdown` and answers) or
/// SIGINT/SIGTERM (then removes it and exits the process with 128 + the signal).
pub async fn hold_until_stopped<Fut>(mut requests: StopRequests, shutdown: impl FnOnce() -> Fut)
where
    Fut: Future<Output = crate::Result<()>>,
{
    tokio::select! {
        done = requests.recv() => {
            if let Err(e) = shutdown().await {
                eprintln!("tickflow: {e}");
            }
            if let Some(done) = done {
                let _ = done.send(());
            }
        }
        signal = interrupted() => {
            drop(requests); // the atexit hook that `exit` runs must not wait for us
            if let Err(e) = shutdown().await {
                eprintln!("tickflow: {e}");
            }
            std::process::exit(128 + signal);
        }
    }
}

/// What an `atexit` hook does: asks the owning thread to remove its container and waits for it
/// (bounded).
pub fn stop_and_wait(stop: &StopSender) {
    let (done, wait) = mpsc::channel();
    if stop.send(done).is_ok() {
        let _ = wait.recv_timeout(REMOVAL_LIMIT);
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
