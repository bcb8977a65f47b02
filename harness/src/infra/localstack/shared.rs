//! One LocalStack per process, shared by every test in a test binary.
//!
//! LocalStack takes seconds to start, so a test binary starts it once, lazily, and every test
//! isolates itself by unique resource names. The container lives on a thread of its own and is
//! removed at process exit and on SIGINT/SIGTERM ([`crate::runtime::owned_thread`]).

use std::sync::mpsc;
use std::sync::OnceLock;

use super::config::LocalStackConfig;
use super::running::{LocalStack, Origin};
use crate::error::{Error, Result};
use crate::runtime::owned_thread::{self, StopSender};

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
    stop: StopSender,
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
        .get_or_init(|| owned_thread::start("tickflow-localstack", own_localstack, remove_at_exit))
        .as_ref()
        .map_err(|message| Error::Container(message.clone()))
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
    let (stop, requests) = owned_thread::stop_channel();
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
    owned_thread::hold_until_stopped(requests, || localstack.shutdown()).await;
}

/// `atexit` hook: ask the LocalStack thread to remove the container and wait for it (bounded).
extern "C" fn remove_at_exit() {
    if let Some(Ok(shared)) = SHARED.get() {
        owned_thread::stop_and_wait(&shared.stop);
    }
}
