//! A set of running stages, drained in order and stopped when dropped.
//!
//! A set of running stages: each a tokio task with a [`Control`] of its own, drained one after
//! the other in the order they were started, the first failure reported, and every stage
//! stopped when the set is dropped (an error, a timeout, Ctrl-C), so that no task outlives its
//! run.
//!
//! A stage ends when its control reaches [`Phase::Drain`] and its work is done (or at
//! [`Phase::Stop`]); a stage fed by a channel may also end when its input closes. Ending before
//! it is drained is a failure, whatever it returns.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::select_all;
use tokio::task::JoinHandle;

use crate::chaos::Stage;
use crate::control::{self, Control, Controller, Phase};
use crate::error::Error;

/// Runs a stage until it ends for any reason but a scheduled crash; after a crash, counts a
/// restart in `restarts` and starts a new instance with `start` (fresh memory: it resumes from
/// its durable state).
///
/// # Errors
/// What the stage returns, a crash aside.
pub async fn supervise<F, Fut>(
    stage: Stage,
    restarts: &AtomicU64,
    mut start: F,
) -> crate::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = crate::Result<()>>,
{
    loop {
        match start().await {
            Err(Error::Crashed(_)) => {
                restarts.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    stage = stage.name(),
                    "restarting the stage from durable state"
                );
            }
            other => return other,
        }
    }
}

/// Why a set of stages did not drain.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The stage returned an error.
    #[error("{stage}: {error}")]
    Failed {
        /// The stage's name.
        stage: &'static str,
        /// What it returned.
        error: Error,
    },
    /// The stage ended before it was asked to drain.
    #[error("{stage}: ended before it was asked to drain")]
    EndedEarly {
        /// The stage's name.
        stage: &'static str,
    },
    /// The stage's task panicked or was cancelled.
    #[error("{stage}: its task {reason}")]
    Panicked {
        /// The stage's name.
        stage: &'static str,
        /// The task's end.
        reason: String,
    },
    /// The stage did not drain in time.
    #[error("{stage}: did not drain within {after:?}")]
    Timeout {
        /// The stage's name.
        stage: &'static str,
        /// How long it was given.
        after: Duration,
    },
}

impl StageError {
    /// The stage that failed.
    pub fn stage(&self) -> &'static str {
        match self {
            Self::Failed { stage, .. }
            | Self::EndedEarly { stage }
            | Self::Panicked { stage, .. }
            | Self::Timeout { stage, .. } => stage,
        }
    }
}

/// One running stage.
struct Running {
    name: &'static str,
    controller: Controller,
    task: JoinHandle<crate::Result<()>>,
}

/// The running stages, in the order they drain.
#[derive(Default)]
pub struct StageSet {
    stages: Vec<Running>,
}

impl StageSet {
    /// No stage yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts `stage` with a control of its own; it drains after every stage started before it.
    pub fn start<F, Fut>(&mut self, name: &'static str, stage: F)
    where
        F: FnOnce(Control) -> Fut,
        Fut: Future<Output = crate::Result<()>> + Send + 'static,
    {
        let (controller, control) = control::channel();
        let task = tokio::spawn(stage(control));
        self.stages.push(Running {
            name,
            controller,
            task,
        });
    }

    /// The stages not drained yet, in the order they drain.
    pub fn names(&self) -> Vec<&'static str> {
        self.stages.iter().map(|s| s.name).collect()
    }

    /// Waits until a stage ends, which before it is drained is a failure: its error, or that it
    /// ended early. Pending forever when the set is empty.
    pub async fn failure(&mut self) -> StageError {
        Self::first_end(&mut self.stages).await
    }

    /// Drains every stage in order, each within `limit`, calling `drained` with each stage's
    /// name once it has ended; a later stage that ends meanwhile fails the drain.
    ///
    /// # Errors
    /// The first stage that failed, ended early or did not drain in time.
    pub async fn drain(
        mut self,
        limit: Duration,
        mut drained: impl FnMut(&'static str),
    ) -> Result<(), StageError> {
        while !self.stages.is_empty() {
            let mut current = self.stages.remove(0);
            current.controller.set(Phase::Drain);
            let name = current.name;
            let ended = tokio::select! {
                ended = tokio::time::timeout(limit, &mut current.task) => ended,
                failed = Self::first_end(&mut self.stages) => return Err(failed),
            };
            match ended {
                Err(_) => {
                    current.stop();
                    return Err(StageError::Timeout {
                        stage: name,
                        after: limit,
                    });
                }
                Ok(Ok(Ok(()))) => drained(name),
                Ok(Ok(Err(error))) => return Err(StageError::Failed { stage: name, error }),
                Ok(Err(e)) => {
                    return Err(StageError::Panicked {
                        stage: name,
                        reason: e.to_string(),
                    })
                }
            }
        }
        Ok(())
    }

    /// The first of `stages` to end, as a failure.
    async fn first_end(stages: &mut [Running]) -> StageError {
        if stages.is_empty() {
            return std::future::pending().await;
        }
        let tasks = stages.iter_mut().map(|s| &mut s.task);
        let (ended, index, _) = select_all(tasks).await;
        let stage = stages[index].name;
        match ended {
            Ok(Ok(())) => StageError::EndedEarly { stage },
            Ok(Err(error)) => StageError::Failed { stage, error },
            Err(e) => StageError::Panicked {
                stage,
                reason: e.to_string(),
            },
        }
    }
}

impl Running {
    /// Tells the stage to stop, and makes sure it does.
    fn stop(&self) {
        self.controller.set(Phase::Stop);
        self.task.abort();
    }
}

/// A stage dropped unfinished (its set dropped, or its drain given up) is stopped: a wedged
/// stage must not outlive its run.
impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[tokio::test]
    async fn a_crashed_stage_is_started_again_and_any_other_end_is_returned() {
        let restarts = AtomicU64::new(0);
        let mut ends = vec![
            Err(Error::Stage("broken".into())),
            Err(Error::Crashed(Stage::Etl)),
            Err(Error::Crashed(Stage::Etl)),
        ];
        let ended = supervise(Stage::Etl, &restarts, || {
            let end = ends.pop().expect("started no more than the ends listed");
            async move { end }
        })
        .await;
        assert!(matches!(ended, Err(Error::Stage(_))), "{ended:?}");
        assert_eq!(restarts.load(Ordering::Relaxed), 2);
        assert!(ends.is_empty());
    }

    /// A stage that ends once drained, noting its name in `order`.
    fn until_drained(
        name: &'static str,
        order: &Arc<Mutex<Vec<&'static str>>>,
    ) -> impl FnOnce(Control) -> std::pin::Pin<Box<dyn Future<Output = crate::Result<()>> + Send>>
    {
        let order = order.clone();
        move |mut control: Control| {
            Box::pin(async move {
                control.reached(Phase::Drain).await;
                order.lock().unwrap().push(name);
                Ok(())
            })
        }
    }

    #[tokio::test]
    async fn stages_drain_in_the_order_they_started() {
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut set = StageSet::new();
        for name in ["producer", "bridge", "processor"] {
            set.start(name, until_drained(name, &order));
        }
        let mut drained = Vec::new();
        set.drain(Duration::from_secs(5), |name| drained.push(name))
            .await
            .unwrap();
        assert_eq!(drained, ["producer", "bridge", "processor"]);
        assert_eq!(*order.lock().unwrap(), drained);
    }

    #[tokio::test]
    async fn the_first_failure_is_reported_and_a_stage_that_ends_early_is_one() {
        let mut set = StageSet::new();
        set.start("slow", |mut c: Control| async move {
            c.reached(Phase::Stop).await;
            Ok(())
        });
        set.start("broken", |_| async { Err(Error::Stage("no queue".into())) });
        let failure = set.failure().await;
        assert_eq!(failure.stage(), "broken");
        assert_eq!(failure.to_string(), "broken: no queue");

        let mut set = StageSet::new();
        set.start("quitter", |_| async { Ok(()) });
        assert!(matches!(
            set.failure().await,
            StageError::EndedEarly { stage: "quitter" }
        ));
    }

    #[tokio::test]
    async fn a_later_stage_failing_during_a_drain_fails_it_and_a_stuck_stage_times_out() {
        let mut set = StageSet::new();
        set.start("first", |mut c: Control| async move {
            c.reached(Phase::Stop).await; // never drains
            Ok(())
        });
        set.start("second", |_| async { Err(Error::Stage("boom".into())) });
        let failed = set.drain(Duration::from_secs(5), |_| {}).await.unwrap_err();
        assert_eq!(failed.stage(), "second");

        let mut set = StageSet::new();
        set.start("stuck", |mut c: Control| async move {
            c.reached(Phase::Stop).await;
            Ok(())
        });
        let failed = set
            .drain(Duration::from_millis(50), |_| {})
            .await
            .unwrap_err();
        assert!(matches!(failed, StageError::Timeout { stage: "stuck", .. }));
    }

    #[tokio::test]
    async fn dropping_the_set_stops_every_stage_even_one_that_ignores_its_control() {
        use std::sync::atomic::{AtomicBool, Ordering};
        /// Marks the stage's future as gone when it is dropped.
        struct Gone(Arc<AtomicBool>);
        impl Drop for Gone {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let gone = Arc::new(AtomicBool::new(false));
        let mut set = StageSet::new();
        let flag = gone.clone();
        set.start("deaf", move |_| async move {
            let _gone = Gone(flag);
            std::future::pending::<()>().await;
            Ok(())
        });
        tokio::task::yield_now().await;
        assert!(!gone.load(Ordering::SeqCst));
        drop(set);
        for _ in 0..100 {
            if gone.load(Ordering::SeqCst) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("a dropped set left its stage running");
    }
}
