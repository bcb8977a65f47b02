//! Waiting with a deadline, the one way.
//!
//! Waiting with a deadline, one way for every wait of the harness: a probe asked every so often
//! until it finds what it looks for or the time is up ([`poll`], [`until`]), and whether a
//! sampled value has held still long enough ([`Stillness`]) for the waits that end on quiet.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, Result};

/// What one look of a probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Look<T, N = ()> {
    /// What was waited for.
    Ready(T),
    /// Not yet, and what was seen instead (what a timeout reports).
    NotYet(N),
}

impl<T> From<Option<T>> for Look<T> {
    fn from(found: Option<T>) -> Self {
        found.map_or(Look::NotYet(()), Look::Ready)
    }
}

/// Asks `probe` at once and then every `every` until it answers [`Look::Ready`], for at most
/// `limit`: what it found, or what it saw last once `limit` has passed (the probe is asked at
/// least once, and never after the time is up).
///
/// # Errors
/// The first error `probe` answers.
pub async fn poll<T, N, F, Fut>(
    limit: Duration,
    every: Duration,
    mut probe: F,
) -> Result<std::result::Result<T, N>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Look<T, N>>>,
{
    let deadline = Instant::now() + limit;
    loop {
        let seen = match probe().await? {
            Look::Ready(found) => return Ok(Ok(found)),
            Look::NotYet(seen) => seen,
        };
        let now = Instant::now();
        if now >= deadline {
            return Ok(Err(seen));
        }
        tokio::time::sleep(every.min(deadline - now)).await;
    }
}

/// Asks `ready` every `every` until it answers yes (a resource created asynchronously becoming
/// ACTIVE, a count reached), for at most `limit`.
///
/// # Errors
/// The first error `ready` answers, or [`Error::Timeout`] naming `what` after `limit`.
pub async fn until<F, Fut>(
    what: impl FnOnce() -> String,
    limit: Duration,
    every: Duration,
    mut ready: F,
) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool>>,
{
    let probe = || {
        let asked = ready();
        async move { Ok(Look::from(asked.await?.then_some(()))) }
    };
    match poll(limit, every, probe).await? {
        Ok(()) => Ok(()),
        Err(()) => Err(Error::Timeout {
            what: what(),
            after: limit,
        }),
    }
}

/// Whether a sampled value has held still for a quiet period: deliveries that arrive on their
/// own time are all in once their count stops moving.
#[derive(Debug)]
pub struct Stillness<T> {
    quiet: Duration,
    last: Option<T>,
    since: Instant,
}

impl<T: PartialEq> Stillness<T> {
    /// Nothing sampled yet; still once a value holds for `quiet`.
    pub fn new(quiet: Duration) -> Self {
        Self {
            quiet,
            last: None,
            since: Instant::now(),
        }
    }

    /// Records `value`: whether it is the value of the samples before it for `quiet` now.
    pub fn held(&mut self, value: T) -> bool {
        if self.last.as_ref() == Some(&value) {
            self.since.elapsed() >= self.quiet
        } else {
            (self.last, self.since) = (Some(value), Instant::now());
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[tokio::test]
    async fn a_probe_is_asked_until_it_answers_or_the_time_is_up() {
        let mut asked = 0;
        let answer = poll(Duration::from_secs(10), MS, || {
            asked += 1;
            let n = asked;
            async move { Ok(Look::from((n == 3).then_some(n))) }
        })
        .await
        .unwrap();
        assert_eq!((answer, asked), (Ok(3), 3));

        let started = Instant::now();
        let mut asked = 0;
        let last: std::result::Result<(), u32> = poll(50 * MS, 20 * MS, || {
            asked += 1;
            let n = asked;
            async move { Ok(Look::NotYet(n)) }
        })
        .await
        .unwrap();
        assert_eq!(last, Err(asked), "what the last look saw");
        assert!(started.elapsed() >= 50 * MS);
        assert!((2..=4).contains(&asked), "asked {asked} times");
    }

    #[tokio::test]
    async fn until_names_what_it_waited_for_and_passes_errors_on() {
        let timeout = until(
            || "the stream to become ACTIVE".into(),
            30 * MS,
            MS,
            || async { Ok(false) },
        )
        .await
        .unwrap_err();
        assert_eq!(
            timeout.to_string(),
            "timed out after 30ms waiting for the stream to become ACTIVE"
        );
        let failed = until(
            || unreachable!(),
            Duration::from_secs(3),
            MS,
            || async { Err(Error::Input("gone".into())) },
        )
        .await
        .unwrap_err();
        assert_eq!(failed.to_string(), "gone");
        until(
            || unreachable!(),
            Duration::from_secs(3),
            MS,
            || async { Ok(true) },
        )
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn a_value_is_still_once_it_has_not_changed_for_the_quiet_period() {
        let mut still = Stillness::new(50 * MS);
        assert!(!still.held(1));
        assert!(!still.held(1), "not for the quiet period yet");
        tokio::time::sleep(60 * MS).await;
        assert!(!still.held(2), "a change starts the quiet period again");
        tokio::time::sleep(60 * MS).await;
        assert!(still.held(2));
    }
}
