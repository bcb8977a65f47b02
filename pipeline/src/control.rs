//! How the harness tells stages to run, drain or stop.
//!
//! How the harness tells stages to keep going, drain or stop: one `watch` channel that every
//! stage holds a receiver of, so a stage started late still sees the current phase.

use tokio::sync::watch;

/// What the stages should be doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Work as input arrives.
    Run,
    /// No more input is coming: finish what is there, then end.
    Drain,
    /// End now (a restart test, Ctrl-C); at-least-once delivery covers what was in flight.
    Stop,
}

/// The sending side, owned by whoever runs the pipeline.
#[derive(Debug)]
pub struct Controller(watch::Sender<Phase>);

/// The receiving side, cloned into every stage.
#[derive(Debug, Clone)]
pub struct Control(watch::Receiver<Phase>);

/// A new controller and control, in [`Phase::Run`].
pub fn channel() -> (Controller, Control) {
    let (tx, rx) = watch::channel(Phase::Run);
    (Controller(tx), Control(rx))
}

impl Controller {
    /// Moves every stage to `phase` (phases only move forward).
    pub fn set(&self, phase: Phase) {
        self.0.send_if_modified(|current| {
            let forward = phase > *current;
            if forward {
                *current = phase;
            }
            forward
        });
    }

    /// Another receiver for a stage started later.
    pub fn control(&self) -> Control {
        Control(self.0.subscribe())
    }
}

impl Control {
    /// The current phase; [`Phase::Stop`] once the controller is gone (nobody is left to say
    /// drain, so a stage that only polls must not keep running).
    pub fn phase(&self) -> Phase {
        if self.0.has_changed().is_err() {
            return Phase::Stop;
        }
        *self.0.borrow()
    }

    /// Resolves once the phase is at least `phase` (or the controller is gone, which counts as
    /// [`Phase::Stop`]).
    pub async fn reached(&mut self, phase: Phase) {
        let _ = self.0.wait_for(|p| *p >= phase).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn phases_move_forward_and_a_dropped_controller_means_stop() {
        let (ctl, mut control) = channel();
        assert_eq!(control.phase(), Phase::Run);
        ctl.set(Phase::Drain);
        ctl.set(Phase::Run); // never backwards
        assert_eq!(control.phase(), Phase::Drain);
        let late = ctl.control();
        assert_eq!(
            late.phase(),
            Phase::Drain,
            "a stage started late sees the phase"
        );
        drop(ctl);
        assert_eq!(control.phase(), Phase::Stop);
        assert_eq!(late.phase(), Phase::Stop);
        control.reached(Phase::Stop).await; // resolves at once
    }
}
