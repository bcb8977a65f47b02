//! Backoff with jitter, and the one rule of every retry loop.
//!
//! Exponential backoff with jitter, and the one rule of every retry loop: [`Attempts`] counts a
//! loop's failures in a row and allows `max_attempts` calls in all, never one more.

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

    /// Calls `call` until it succeeds, waiting between attempts; its last error after
    /// `max_attempts` calls (what the call is for goes into the log line of each retry).
    ///
    /// # Errors
    /// The error of the last attempt.
    pub async fn retry<T, E, F, Fut>(&self, what: &str, mut call: F) -> Result<T, E>
    where
        E: std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let mut attempts = Attempts::new(*self);
        loop {
            match call().await {
                Ok(value) => return Ok(value),
                Err(e) => {
                    attempts.failed().await.map_err(|_| e)?;
                    tracing::debug!(attempt = attempts.failures(), "{what} failed; retrying");
                }
            }
        }
    }
}

/// A loop ran out of attempts: `max_attempts` calls in a row failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{attempts} attempts in a row failed")]
pub struct GaveUp {
    /// The attempts made.
    pub attempts: u32,
}

/// One retry loop's failures in a row, against its [`Backoff`]: the only place that decides
/// whether another attempt is allowed and how long to wait before it.
#[derive(Debug, Clone)]
pub struct Attempts {
    backoff: Backoff,
    failures: u32,
}

impl Attempts {
    /// No failure yet.
    pub fn new(backoff: Backoff) -> Self {
        Self {
            backoff,
            failures: 0,
        }
    }

    /// Attempts failed in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// An attempt succeeded: the next failure is the first again.
    pub fn succeeded(&mut self) {
        self.failures = 0;
    }

    /// An attempt failed: waits before the next one, or gives up at once when this was the
    /// `max_attempts`-th failure in a row (so a loop makes at most `max_attempts` calls).
    ///
    /// # Errors
    /// [`GaveUp`] when no attempt is left.
    pub async fn failed(&mut self) -> Result<(), GaveUp> {
        self.failures += 1;
        if self.failures >= self.backoff.max_attempts {
            return Err(GaveUp {
                attempts: self.failures,
            });
        }
        self.backoff.wait(self.failures).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn retry_gives_up_with_the_last_error_after_max_attempts() {
        let b = Backoff {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(1),
            max_attempts: 3,
        };
        let mut calls = 0;
        let out: Result<(), String> = b
            .retry("test", || {
                calls += 1;
                let n = calls;
                async move { Err(format!("failure {n}")) }
            })
            .await;
        assert_eq!(out, Err("failure 3".to_string()));
        let mut calls = 0;
        let out: Result<u32, String> = b
            .retry("test", || {
                calls += 1;
                let n = calls;
                async move {
                    if n < 2 {
                        Err("once".into())
                    } else {
                        Ok(n)
                    }
                }
            })
            .await;
        assert_eq!(out, Ok(2));
    }

    #[tokio::test]
    async fn a_loop_makes_max_attempts_calls_and_no_more() {
        let backoff = Backoff {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(1),
            max_attempts: 4,
        };
        let mut attempts = Attempts::new(backoff);
        let mut calls = 1; // the first call failed
        while attempts.failed().await.is_ok() {
            calls += 1;
        }
        assert_eq!(calls, 4);
        assert_eq!(attempts.failures(), 4);
        let mut attempts = Attempts::new(backoff);
        for _ in 0..10 {
            // Failures separated by a success never add up.
            assert!(attempts.failed().await.is_ok());
            attempts.succeeded();
        }
    }

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
