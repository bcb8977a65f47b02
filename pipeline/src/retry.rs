//! Exponential backoff with jitter, shared by every stage that retries AWS calls.

use std::time::Duration;

use rand::Rng;

/// How a stage retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// First delay.
    pub initial: Duration,
    /// Longest delay.
    pub max: Duration,
    /// Attempts before the stage gives up loudly (never drops silently).
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(50),
            max: Duration::from_secs(2),
            max_attempts: 30,
        }
    }
}

impl Backoff {
    /// The delay before retry number `attempt` (1-based): doubling, capped, with "full jitter"
    /// between half and all of it so that retrying stages do not move in lockstep.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .initial
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max);
        let jitter = rand::rng().random_range(0.5..=1.0);
        capped.mul_f64(jitter)
    }

    /// Sleeps before retry `attempt`.
    pub async fn wait(&self, attempt: u32) {
        tokio::time::sleep(self.delay(attempt)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
            max_attempts: 5,
        };
        for (attempt, full) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (30, 1000),
        ] {
            let d = b.delay(attempt).as_millis() as u64;
            assert!(
                d >= full / 2 && d <= full,
                "attempt {attempt}: {d} ms not in [{}, {full}]",
                full / 2
            );
        }
    }
}
