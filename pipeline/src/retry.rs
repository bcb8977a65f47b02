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

    /// Calls `call` until it succeeds, waiting between attempts; its last error after
    /// `max_attempts` (what the call is for goes into the log line of each retry).
    ///
    /// # Errors
    /// The error of the last attempt.
    pub async fn retry<T, E, F, Fut>(&self, what: &str, mut call: F) -> Result<T, E>
    where
        E: std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match call().await {
                Ok(value) => return Ok(value),
                Err(e) if attempt < self.max_attempts => {
                    tracing::warn!(error = %e, attempt, "{what} failed; retrying");
                    self.wait(attempt).await;
                }
                Err(e) => return Err(e),
            }
        }
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
