//! Judging a stream run against its scenario's `[expect]`.
//!
//! Judging a stream run against its scenario's `[expect]`, on top of the invariants every run must meet
//! ([`crate::flows::stream::judge::invariants::invariants`]): every assertion that fails says what was expected and what
//! was found.

use super::expect::{Expect, NewData, PartitionExpect};
use crate::flows::stream::judge::expectations::{nothing_sent, Expectations};
use crate::flows::stream::report::StreamReport;
use crate::verdict::expect::{matcher, Count};
use crate::verdict::{Checks, Failure};

/// A scenario's `[expect]` judges the stream run it asked for, before and after the run status.
impl Expectations for Expect {
    fn before_status(&self, report: &StreamReport) -> Vec<Failure> {
        evaluate_data(self, report)
    }

    fn on_status(&self, report: &StreamReport) -> Vec<Failure> {
        evaluate_status(self, report)
    }

    fn held(&self, report: &StreamReport) -> Vec<Failure> {
        let (mut data, mut status) = (Judge::default(), Judge::default());
        judge_data(&mut data, self, report);
        judge_status(&mut status, self, report);
        data.checks.extend(status.checks);
        data.checks.held
    }
}

/// Every assertion of `expect` that `report` breaks: [`evaluate_data`] and
/// [`evaluate_status`] together.
pub fn evaluate(expect: &Expect, report: &StreamReport) -> Vec<Failure> {
    let mut failures = evaluate_data(expect, report);
    failures.extend(evaluate_status(expect, report));
    failures
}

/// The assertions on the run-status messages (`sns.run_status`, `sns.run_status_subject`):
/// judged after the status is announced, which the rest of the verdict decides.
pub fn evaluate_status(expect: &Expect, report: &StreamReport) -> Vec<Failure> {
    let mut judge = Judge::default();
    judge_status(&mut judge, expect, report);
    judge.checks.failed
}

/// The run-status assertions, into `judge`.
fn judge_status(judge: &mut Judge, expect: &Expect, report: &StreamReport) {
    let sns = &expect.sns;
    judge.count(
        "sns.run_status",
        &sns.run_status,
        report.judged.sns.run_status,
    );
    let subjects = &report.judged.sns.run_status_subjects;
    judge
        .checks
        .subjects("sns.run_status_subject", &sns.run_status_subject, subjects);
}

/// Every assertion of `expect` but those on the run status, which is announced from their
/// verdict.
pub fn evaluate_data(expect: &Expect, report: &StreamReport) -> Vec<Failure> {
    let mut judge = Judge::default();
    judge_data(&mut judge, expect, report);
    judge.checks.failed
}

/// The assertions of [`evaluate_data`], into `judge`.
fn judge_data(judge: &mut Judge, expect: &Expect, report: &StreamReport) {
    reconciliation(judge, expect, report);
    queues(judge, expect, report);
    notifications(judge, expect, report);
    for p in &expect.partitions {
        partition(judge, p, report);
    }
    latency(judge, expect, report);
    web(judge, expect, report);
    for (key, count, figure) in expect.sinks.figures(&report.sinks) {
        judge.count(&format!("sinks.{key}"), &count, figure);
    }
}

/// `[expect.web]`, on the web source's report (absent for another source: every figure 0).
fn web(judge: &mut Judge, expect: &Expect, report: &StreamReport) {
    let empty = Default::default();
    let web = report.web.as_ref().unwrap_or(&empty);
    for (key, count, figure) in expect.web.figures(web) {
        judge.count(&format!("web.{key}"), &count, figure);
    }
}

/// What was sent, what became of it, and what the faults did.
fn reconciliation(judge: &mut Judge, expect: &Expect, report: &StreamReport) {
    let r = &report.judged.reconciliation;
    match &expect.sent {
        Some(sent) => judge.count("sent", &Some(*sent), r.events),
        None => judge.checks.failed.extend(nothing_sent(report)),
    }
    judge.count("found", &expect.found, r.found);
    judge.count("quarantined", &expect.quarantined, r.quarantined);
    judge.count("dead_lettered", &expect.dead_lettered, r.dead_lettered);
    let fired = report.faults_fired.len() as u64;
    judge.count("faults_fired", &expect.faults_fired, fired);
    let restarts = report.stats.restarts.total();
    judge.count("restarts", &expect.restarts, restarts);
    let redelivered = report.stats.redelivered;
    judge.count("redelivered", &expect.redelivered, redelivered);
    judge.count("busy", &expect.busy, report.stats.busy_messages);
    if expect.ordered {
        let held = report.judged.history.as_ref().and_then(|h| h.out_of_order) == Some(0);
        judge.checks.record(ordered(report), held);
    }
}

/// `[expect] ordered`: no event sent to SQS before an earlier event of its key, with the first
/// pairs that were.
fn ordered(report: &StreamReport) -> Failure {
    let expected = "each partition key's events sent to SQS in the producer's order";
    match report.judged.history.as_ref().map(|h| (h, h.out_of_order)) {
        None => Failure::new("ordered", expected, "no history to judge the order on"),
        Some((_, None)) => Failure::new(
            "ordered",
            expected,
            "not judged: another producer filled the stream, in an order tickflow does not know",
        ),
        Some((h, Some(n))) => Failure {
            examples: h.out_of_order_examples.clone(),
            ..Failure::new(
                "ordered",
                expected,
                format!("{n} events sent before an event of their key fed earlier"),
            )
        },
    }
}

/// The queues once the stages drained.
fn queues(judge: &mut Judge, expect: &Expect, report: &StreamReport) {
    let q = &expect.queues;
    judge.count(
        "queues.main_visible",
        &q.main_visible,
        report.judged.main_queue.visible,
    );
    judge.count(
        "queues.main_in_flight",
        &q.main_in_flight,
        report.judged.main_queue.in_flight,
    );
    judge.count("queues.dlq", &q.dlq, report.judged.dlq.total());
}

/// What the new-data and alert topics delivered.
fn notifications(judge: &mut Judge, expect: &Expect, report: &StreamReport) {
    let sns = &expect.sns;
    judge.count(
        "sns.price_alert",
        &sns.price_alert,
        report.judged.sns.price_alert,
    );
    let objects: u64 = report.judged.partitions.values().map(|p| p.objects).sum();
    let new_data = match sns.new_data {
        Some(NewData::PerObject(_)) => Some(Count::Exact(objects)),
        Some(NewData::Count(c)) => Some(c),
        None => None,
    };
    judge.count("sns.new_data", &new_data, report.judged.sns.new_data);
    if let Some(alerts) = &sns.alert_symbols {
        let mut want = alerts.clone();
        let mut got = report.judged.sns.alert_symbols.clone();
        want.sort();
        got.sort();
        if want != got {
            judge.fail("sns.alert_symbols", format!("{want:?}"), format!("{got:?}"));
        }
    }
}

/// The latency bounds, which hold only when every row's latency is known.
fn latency(judge: &mut Judge, expect: &Expect, report: &StreamReport) {
    let bounded = expect.latency.p50_ms.is_some() || expect.latency.p99_ms.is_some();
    if bounded && report.judged.latency_unknown > 0 {
        judge.fail(
            "latency",
            "a write time for every row".into(),
            format!(
                "{} rows in objects S3 announced no creation of",
                report.judged.latency_unknown
            ),
        );
    }
    for (check, limit, actual) in [
        (
            "latency.p50_ms",
            expect.latency.p50_ms,
            report.judged.latency_ms.p50,
        ),
        (
            "latency.p99_ms",
            expect.latency.p99_ms,
            report.judged.latency_ms.p99,
        ),
    ] {
        if let Some(limit) = limit {
            judge.check(
                check,
                actual <= limit,
                format!("<= {limit} ms"),
                format!("{actual} ms"),
            );
        }
    }
}

/// The assertions of one `[[expect.partitions]]` entry.
fn partition(judge: &mut Judge, p: &PartitionExpect, report: &StreamReport) {
    let Some(matcher) = matcher(&p.glob) else {
        return;
    };
    let matching: Vec<_> = report
        .judged
        .partitions
        .iter()
        .filter(|(k, _)| matcher.is_match(k))
        .collect();
    let label = format!("partitions[{}]", p.glob);
    judge.count(
        &format!("{label}.objects"),
        &p.objects,
        matching.iter().map(|(_, s)| s.objects).sum(),
    );
    judge.count(
        &format!("{label}.events"),
        &p.events,
        matching.iter().map(|(_, s)| s.events).sum(),
    );
    // A glob that matches nothing passes any `max`; only an exact 0 says "none expected".
    let absence_expected = [p.objects, p.events].contains(&Some(Count::Exact(0)));
    if matching.is_empty() && !absence_expected {
        judge.fail(
            &label,
            "at least one matching partition".into(),
            "none".into(),
        );
    }
    for field in &p.required_fields {
        let lacking: Vec<&str> = matching
            .iter()
            .filter(|(_, s)| !s.common_fields.contains(field))
            .map(|(k, _)| k.as_str())
            .collect();
        if !lacking.is_empty() {
            judge.fail(
                &format!("{label}.required_fields"),
                format!("`{field}` in every row"),
                format!("rows without it in {}", lacking.join(", ")),
            );
        }
    }
    let duplicates: u64 = matching.iter().map(|(_, s)| s.duplicate_rows).sum();
    if p.unique_ids && duplicates > 0 {
        judge.fail(
            &format!("{label}.unique_ids"),
            "no event id twice".into(),
            format!("{duplicates} duplicate rows"),
        );
    }
}

/// Collects every assertion: the failures, and the ones that held.
#[derive(Default)]
struct Judge {
    checks: Checks,
}

impl Judge {
    fn fail(&mut self, check: &str, expected: String, actual: String) {
        self.checks.fail(check, expected, actual);
    }

    /// One assertion, held or not.
    fn check(&mut self, check: &str, holds: bool, expected: String, actual: String) {
        self.checks.check(check, holds, expected, actual);
    }

    fn count(&mut self, check: &str, expected: &Option<Count>, actual: u64) {
        self.checks.count(check, expected, actual);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::stream::judge::history::HistoryReport;

    /// `[expect] ordered`'s failure on `report`, if any.
    fn ordered_failure(report: &StreamReport) -> Option<Failure> {
        let expect = Expect {
            ordered: true,
            ..Expect::default()
        };
        let failures = evaluate_data(&expect, report);
        failures.into_iter().find(|f| f.check == "ordered")
    }

    #[test]
    fn ordered_fails_with_the_pairs_holds_at_zero_and_is_never_held_without_the_order() {
        let mut report = StreamReport::default();
        let actual = |report: &StreamReport| ordered_failure(report).map(|f| f.actual);
        assert_eq!(
            actual(&report).as_deref(),
            Some("no history to judge the order on")
        );
        let pair = "AMZN: a sent to SQS after b, which was fed after it".to_string();
        report.judged.history = Some(HistoryReport {
            out_of_order: Some(2),
            out_of_order_examples: vec![pair.clone()],
            ..HistoryReport::default()
        });
        let failure = ordered_failure(&report).expect("two inversions fail it");
        assert_eq!(
            failure.actual,
            "2 events sent before an event of their key fed earlier"
        );
        assert_eq!(failure.examples, [pair]);
        let history = report.judged.history.as_mut().expect("set above");
        history.out_of_order = Some(0);
        assert_eq!(ordered_failure(&report), None);
        // A consume-only run: another producer's order is unknown, and never held.
        let history = report.judged.history.as_mut().expect("set above");
        history.out_of_order = None;
        assert!(actual(&report).is_some_and(|a| a.starts_with("not judged")));
    }
}
