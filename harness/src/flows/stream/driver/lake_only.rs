//! What a lake judged alone can and cannot show.
//!
//! What a lake judged alone can say: which of a run's checks it shows, and the names of those it
//! cannot (`tickflow consume --bucket`), which are named as not judged, never passed.

use crate::flows::stream::faults::FaultSettings;
use crate::flows::stream::judge::invariants;
use crate::flows::stream::settings::PipelineSettings;
use crate::verdict::fault_rules;
use crate::verdict::{Checks, Failure};

/// Every check a run with `pipeline` and `faults` makes that its lake alone cannot show, beside
/// the scenario's own: the invariants on queues, notifications and the price watch, the run
/// status, the extra sinks' reconciliations and the fault schedule's.
pub(super) fn unshown(pipeline: &PipelineSettings, faults: &FaultSettings) -> Vec<String> {
    let mut names = invariants::invariants_a_lake_cannot_show();
    names.push("sns.run_status".into());
    names.extend(
        pipeline
            .consumers
            .iter()
            .filter_map(|c| c.sink_check())
            .map(String::from),
    );
    if !faults.schedule.is_empty() {
        names.push(fault_rules::CHECK.into());
    }
    names
}

/// The scenario's failed and held checks split by what a lake alone shows: those it shows, and
/// the names of the others, with `unshown` (the run's own checks a lake cannot show), which are
/// not judged.
pub(super) fn lake_checks(
    failures: Vec<Failure>,
    held: Vec<Failure>,
    unshown: Vec<String>,
) -> (Checks, Vec<String>) {
    let shows = invariants::lake_shows;
    let mut not_judged: Vec<String> = failures
        .iter()
        .chain(&held)
        .map(|f| f.check.clone())
        .filter(|c| !shows(c))
        .chain(unshown)
        .collect();
    not_judged.sort();
    not_judged.dedup();
    let checks = Checks {
        failed: failures.into_iter().filter(|f| shows(&f.check)).collect(),
        held: held.into_iter().filter(|f| shows(&f.check)).collect(),
    };
    (checks, not_judged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::stream::driver::StreamRunConfig;
    use crate::flows::stream::settings::Consumer;

    #[test]
    fn a_lake_alone_judges_only_what_it_shows_and_names_the_rest() {
        let failures = vec![
            Failure::new("found", "10000", "9000"),
            Failure::new("sns.run_status", "1", "0"),
        ];
        let held = vec![
            Failure::new(
                "partitions[event_type=forex/**].events",
                "4000..=5000",
                "4532",
            ),
            Failure::new("queues.dlq", "0", "0"),
            Failure::new("latency.p99_ms", "<= 100 ms", "0 ms"),
        ];
        let (checks, not_judged) = lake_checks(failures, held, Vec::new());
        let (failed, held) = (checks.failed, checks.held);
        assert_eq!(
            failed.iter().map(|f| f.check.as_str()).collect::<Vec<_>>(),
            ["found"]
        );
        assert_eq!(held.len(), 1, "{held:?}");
        // A queue or notification check is never passed on a lake that cannot show it.
        assert_eq!(
            not_judged,
            ["latency.p99_ms", "queues.dlq", "sns.run_status"]
        );
    }

    #[test]
    fn a_lake_alone_names_every_invariant_and_run_check_it_cannot_show() {
        let mut config = StreamRunConfig::new("lake", 10, 1);
        let (_, bare) = lake_checks(
            Vec::new(),
            Vec::new(),
            unshown(&config.pipeline, &config.faults),
        );
        assert_eq!(
            bare,
            [
                "alerts.announced",
                "alerts.late",
                "alerts.windows",
                "queues.dlq",
                "queues.main",
                "sns.new_data",
                "sns.run_status"
            ]
        );
        config.pipeline.consumers = vec![Consumer::Lake, Consumer::Raw, Consumer::Firehose];
        config.faults.schedule = vec![tickflow_pipeline::chaos::FaultRule::new(
            tickflow_pipeline::chaos::FaultKind::Outage,
        )];
        let (_, fuller) = lake_checks(
            Vec::new(),
            Vec::new(),
            unshown(&config.pipeline, &config.faults),
        );
        for check in ["sinks.raw", "sinks.firehose", "faults.rules"] {
            assert!(fuller.iter().any(|c| c == check), "{check}: {fuller:?}");
        }
    }
}
