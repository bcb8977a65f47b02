//! A background task that samples a run's counters into a timeline until it is finished.
//!
//! The batch and price-file flows' progress over time: a task reads their steps' counters
//! every [`EVERY`] from the moment it starts, and [`Sampler::finish`] takes a last sample and
//! hands the [`Timeline`] over. Sampling reads atomics only: it costs the run nothing it could
//! notice.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::render::timeline::{Timeline, TimelineSample};

/// How often the counters are read.
pub const EVERY: Duration = Duration::from_millis(250);
/// Most samples kept: past it, every other sample is dropped (a long run keeps its shape).
const MAX_SAMPLES: usize = 2_000;

/// What reads the counters: one count per series, in the series' order.
type Read = Box<dyn Fn() -> Vec<u64> + Send + Sync>;

/// Samples under way.
pub struct Sampler {
    series: Vec<String>,
    read: Arc<Read>,
    started: Instant,
    samples: Arc<Mutex<Vec<TimelineSample>>>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Sampler {
    /// Starts sampling `read` (one count per series, in their order) for `series` now (the
    /// timeline's zero).
    pub fn start(series: &[&str], read: impl Fn() -> Vec<u64> + Send + Sync + 'static) -> Self {
        let read: Arc<Read> = Arc::new(Box::new(read));
        let started = Instant::now();
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = {
            let (read, samples) = (read.clone(), samples.clone());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(EVERY);
                loop {
                    tokio::select! {
                        _ = &mut stopped => return,
                        _ = tick.tick() => record(&samples, started, read()),
                    }
                }
            })
        };
        Self {
            series: series.iter().map(|s| s.to_string()).collect(),
            read,
            started,
            samples,
            stop: Some(stop),
            task,
        }
    }

    /// Stops, takes a last sample, and returns the timeline.
    pub async fn finish(mut self) -> Timeline {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
        record(&self.samples, self.started, (self.read)());
        let samples = std::mem::take(&mut *self.samples.lock().unwrap_or_else(|e| e.into_inner()));
        Timeline {
            series: std::mem::take(&mut self.series),
            samples,
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Adds a sample of `counts` at now; past [`MAX_SAMPLES`], every other one is dropped.
fn record(samples: &Mutex<Vec<TimelineSample>>, started: Instant, counts: Vec<u64>) {
    let mut samples = samples.lock().unwrap_or_else(|e| e.into_inner());
    samples.push(TimelineSample {
        secs: started.elapsed().as_secs_f64(),
        counts,
    });
    if samples.len() > MAX_SAMPLES {
        let kept: Vec<TimelineSample> = samples.iter().step_by(2).cloned().collect();
        *samples = kept;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[tokio::test]
    async fn it_samples_until_finished_and_ends_on_the_last_counts() {
        let count = Arc::new(AtomicU64::new(0));
        let read = {
            let count = count.clone();
            move || vec![count.load(Ordering::Relaxed)]
        };
        let sampler = Sampler::start(&["files"], read);
        for _ in 0..4 {
            count.fetch_add(5, Ordering::Relaxed);
            tokio::time::sleep(EVERY).await;
        }
        count.store(99, Ordering::Relaxed);
        let timeline = sampler.finish().await;
        assert_eq!(timeline.series, ["files"]);
        assert!(timeline.samples.len() >= 2, "{timeline:?}");
        assert_eq!(timeline.samples.last().unwrap().counts, [99]);
        let counts: Vec<u64> = timeline.samples.iter().map(|s| s.counts[0]).collect();
        assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    }

    #[test]
    fn a_long_run_keeps_at_most_the_cap() {
        let samples = Mutex::new(Vec::new());
        let started = Instant::now();
        for i in 0..(MAX_SAMPLES as u64 * 3) {
            record(&samples, started, vec![i]);
        }
        let kept = samples.lock().unwrap();
        assert!(kept.len() <= MAX_SAMPLES && kept.len() > MAX_SAMPLES / 2);
    }
}
