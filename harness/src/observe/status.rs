//! A run's status read back from its topic.
//!
//! Reading a run's status back: the subjects its run-status topic delivered, and whether they
//! say the verdict.

use std::time::Duration;

use tickflow_pipeline::aws::Clients;

use super::queues::{deliveries, peek_all, settle as settle_queue};
use crate::error::Result;
use crate::verdict::Failure;

/// Longest a queue read may take.
const READ_LIMIT: Duration = Duration::from_secs(20);
/// How long to wait for SNS deliveries still on their way right after a run.
pub const SETTLE: Duration = Duration::from_secs(10);

/// The run status of run `name` was announced once, saying the verdict it was announced from
/// (`passed`): `<name>_Pipeline_Success` or `_Failure`, and no other subject.
pub fn run_status_announced(name: &str, passed: bool, subjects: &[String]) -> Option<Failure> {
    let subject = tickflow_pipeline::notify::run_status_subject(name, passed);
    (subjects != std::slice::from_ref(&subject)).then(|| {
        Failure::new(
            "sns.run_status",
            format!("one run-status message, {subject:?} (the verdict)"),
            format!("{subjects:?}"),
        )
    })
}

/// The run-status deliveries' subjects, waiting up to `settle` for at least `expected`.
///
/// # Errors
/// A failing SQS call.
pub async fn run_status(
    clients: &Clients,
    queue_url: &str,
    expected: u64,
    settle: Duration,
) -> Result<Vec<String>> {
    Ok(run_status_deliveries(clients, queue_url, expected, settle)
        .await?
        .into_iter()
        .map(|d| d.subject)
        .collect())
}

/// [`run_status`], each delivery with its message (the summary the status was announced with).
///
/// # Errors
/// As [`run_status`].
pub async fn run_status_deliveries(
    clients: &Clients,
    queue_url: &str,
    expected: u64,
    settle: Duration,
) -> Result<Vec<super::queues::Delivery>> {
    settle_queue(clients, queue_url, expected, settle).await;
    let linger = settle.min(Duration::from_secs(1));
    let status = peek_all(clients, queue_url, READ_LIMIT, linger).await?;
    Ok(deliveries(&status.bodies()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_status_must_say_the_verdict_once() {
        let ok = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(run_status_announced("r", true, &ok(&["r_Pipeline_Success"])).is_none());
        assert!(run_status_announced("r", false, &ok(&["r_Pipeline_Failure"])).is_none());
        for wrong in [
            ok(&["r_Pipeline_Success"]),
            ok(&[]),
            ok(&["r_Pipeline_Failure", "r_Pipeline_Failure"]),
        ] {
            let failure = run_status_announced("r", false, &wrong).expect("must fail");
            assert_eq!(failure.check, "sns.run_status");
        }
    }
}
