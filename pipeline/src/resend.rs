//! A batch call's refused entries sent again, the one way.
//!
//! The one loop of every batch call that may take some entries and refuse others
//! (`PutRecords`, `SendMessageBatch`, `PutRecordBatch`): the refused entries, and only those,
//! are sent again after the backoff, every entry again after a call that failed as a whole,
//! until all are taken or the attempts are spent.

use std::future::Future;

use crate::aws::AwsError;
use crate::error::{Error, Result};
use crate::retry::{Attempts, Backoff};

/// What one try of a batch call came to.
#[derive(Debug)]
pub enum Tried<T> {
    /// The call answered: these entries were refused for a reason worth retrying (none: every
    /// entry was taken).
    Refused(Vec<T>),
    /// The call failed as a whole: every entry is still to send.
    Failed {
        /// The entries, all of them.
        pending: Vec<T>,
        /// Why.
        error: AwsError,
        /// Whether it was refused for throughput (counted apart by the producer).
        throttled: bool,
    },
}

/// Entries about to be sent again, after the backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Again {
    /// How many.
    pub entries: usize,
    /// Whether the call before failed as a whole for throughput.
    pub throttled: bool,
}

/// Sends `pending` with `call` until every entry is taken, telling `again` of each resend.
///
/// # Errors
/// A fatal error `call` returns, at once; once `backoff`'s attempts are spent, a whole call's
/// last error, or the stage error `gave_up` words from the entries still refused and the
/// attempts made.
pub async fn until_taken<T, F, Fut>(
    backoff: Backoff,
    mut pending: Vec<T>,
    mut call: F,
    mut again: impl FnMut(Again),
    gave_up: impl FnOnce(usize, u32) -> String,
) -> Result<()>
where
    F: FnMut(Vec<T>) -> Fut,
    Fut: Future<Output = Result<Tried<T>>>,
{
    let mut attempts = Attempts::new(backoff);
    while !pending.is_empty() {
        match call(pending).await? {
            Tried::Refused(refused) => {
                pending = refused;
                if pending.is_empty() {
                    break;
                }
                if let Err(spent) = attempts.failed().await {
                    return Err(Error::Stage(gave_up(pending.len(), spent.attempts)));
                }
                again(Again {
                    entries: pending.len(),
                    throttled: false,
                });
            }
            Tried::Failed {
                pending: all,
                error,
                throttled,
            } => {
                if attempts.failed().await.is_err() {
                    return Err(error.into());
                }
                tracing::debug!(attempt = attempts.failures(), %error, "retrying");
                again(Again {
                    entries: all.len(),
                    throttled,
                });
                pending = all;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn quick(max_attempts: u32) -> Backoff {
        Backoff {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(1),
            max_attempts,
        }
    }

    fn failed<T>(pending: Vec<T>, throttled: bool) -> Tried<T> {
        Tried::Failed {
            pending,
            error: AwsError {
                service: "kinesis",
                operation: "PutRecords",
                message: "down".into(),
            },
            throttled,
        }
    }

    #[tokio::test]
    async fn only_refused_entries_are_sent_again_and_a_failed_call_sends_all() {
        let mut sent: Vec<Vec<u32>> = Vec::new();
        let mut told = Vec::new();
        let mut tries = 0;
        until_taken(
            quick(5),
            vec![1, 2, 3, 4],
            |batch| {
                sent.push(batch.clone());
                tries += 1;
                let answer = match tries {
                    1 => Tried::Refused(batch.into_iter().filter(|n| n % 2 == 0).collect()),
                    2 => failed(batch, true),
                    _ => Tried::Refused(Vec::new()),
                };
                async move { Ok(answer) }
            },
            |a| told.push(a),
            |_, _| unreachable!(),
        )
        .await
        .unwrap();
        assert_eq!(sent, [vec![1, 2, 3, 4], vec![2, 4], vec![2, 4]]);
        let again = |entries, throttled| Again { entries, throttled };
        assert_eq!(told, [again(2, false), again(2, true)]);
    }

    #[tokio::test]
    async fn spent_attempts_give_the_last_error_or_the_refused_count() {
        let refused = until_taken(
            quick(3),
            vec![1, 2],
            |batch| async move { Ok(Tried::Refused(batch)) },
            |_| {},
            |n, tries| format!("{n} refused after {tries}"),
        )
        .await
        .unwrap_err();
        assert_eq!(refused.to_string(), "2 refused after 3");
        let mut calls = 0;
        let whole = until_taken(
            quick(3),
            vec![1],
            |batch| {
                calls += 1;
                async move { Ok(failed(batch, false)) }
            },
            |_| {},
            |_, _| unreachable!(),
        )
        .await
        .unwrap_err();
        assert!(
            whole.to_string().contains("PutRecords failed: down"),
            "{whole}"
        );
        assert_eq!(calls, 3, "max_attempts calls in all, never one more");
    }

    #[tokio::test]
    async fn a_fatal_error_stops_at_once() {
        let mut calls = 0;
        let fatal = until_taken(
            quick(9),
            vec![1],
            |_: Vec<u32>| {
                calls += 1;
                async { Err(Error::Stage("rejected".into())) }
            },
            |_| {},
            |_, _| unreachable!(),
        )
        .await
        .unwrap_err();
        assert_eq!(fatal.to_string(), "rejected");
        assert_eq!(calls, 1);
    }
}
