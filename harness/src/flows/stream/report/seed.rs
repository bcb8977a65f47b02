//! What a stream run's seed fixes: parity's facts and the snapshot.
//!
//! What a stream run's seed fixes: the facts parity compares between two targets, and the
//! snapshot the scenario tests keep.

use serde_json::{json, Map, Value};

use super::model::StreamReport;
use crate::flows::stream::input::web::WebReport;
use crate::flows::stream::judge::sinks::SinkReport;
use crate::verdict::{FactClass, FactRules};

/// How parity classes a stream report's facts.
pub const FACTS: FactRules = FactRules {
    classes: &[
        ("name", FactClass::Ignored),
        ("run_id", FactClass::Ignored),
        ("timeline", FactClass::Ignored),
        ("latency_histogram", FactClass::Ignored),
        ("latency_over_time", FactClass::Ignored),
        ("resources", FactClass::Ignored),
        ("schedule", FactClass::Ignored),
        ("web.addr", FactClass::Ignored),
        ("times", FactClass::Timing),
        ("elapsed_secs", FactClass::Timing),
        ("latency_ms.count", FactClass::Compared),
        ("latency_ms", FactClass::Observed),
        // Objects come from batches, and batches from when records were read.
        ("partitions.*.objects", FactClass::Observed),
        ("sns.new_data", FactClass::Observed),
        // Which prices come late is timing, and the windows and alerts follow them: observed,
        // unless neither run had a late price (`compared_when_both`).
        ("alerts", FactClass::Observed),
        ("stats", FactClass::Observed),
        ("aws_calls", FactClass::Observed),
        ("faults_fired", FactClass::Observed),
        // A drawn rule's fires, and the calls it drew from, follow how many calls the run made.
        ("fault_rules", FactClass::Observed),
        ("fault_calls", FactClass::Observed),
        // The checks that held say what they saw, objects counted too; the compared facts hold
        // the same values.
        ("held", FactClass::Observed),
        ("sinks.*.events", FactClass::Compared),
        ("sinks.*.missing", FactClass::Compared),
        ("sinks.*.duplicated", FactClass::Compared),
        ("sinks.*.sink", FactClass::Compared),
        ("sinks", FactClass::Observed),
        ("web.latency_us", FactClass::Observed),
        ("web.ok_latency_us", FactClass::Observed),
        ("web.lag_us", FactClass::Observed),
        ("web.requests_per_sec", FactClass::Observed),
        ("web.commits", FactClass::Observed),
        ("web.commits_failed", FactClass::Observed),
        ("web.reconnects", FactClass::Observed),
        ("web.relayed", FactClass::Observed),
        ("web.server", FactClass::Observed),
        // When an alarm's evaluation falls is the emulator's clock.
        ("alarms", FactClass::Observed),
    ],
    // The price watch's windows and alerts are the seed's alone when no price came late on
    // either run.
    compared_when_both: &[("alerts.", "alerts.late", "0")],
};

/// The part of a report that a seed fixes: no run ids, timings, object counts (flush timing)
/// or wall-clock quarantine partitions; where poison is injected, which neighbours share a
/// poisoned message depends on packing, so per-partition counts are left out too.
pub fn snapshot(r: &StreamReport) -> Value {
    let c = &r.judged.reconciliation;
    // A web source refusing load (429, 503) serves as many events as the pipeline took, and one
    // that died serves none while it starts again: how many depends on the machine, and the
    // snapshot says so instead.
    let overloaded = r
        .web
        .as_ref()
        .is_some_and(|w| w.status("429") + w.status("503") > 0 || w.restarts > 0);
    let exact = r.expected_poison == 0 && !overloaded;
    let unless = |hidden: bool, value: Value| if hidden { Value::Null } else { value };
    let mut view = json!({
        "scenario": r.name,
        "events": unless(overloaded, c.events.into()),
        "injected": {
            "malformed": r.expected_quarantine,
            "poison": r.expected_poison,
            "duplicate_copies": r.duplicates_sent,
            "replayed_non_events": r.unparsed_records,
        },
        "missing": c.missing,
        "duplicated": c.duplicated,
        "misplaced": c.misplaced,
        "found": unless(!exact, c.found.into()),
        "quarantined": unless(!exact, c.quarantined.into()),
        "quarantine_rows": unless(!exact, r.judged.quarantine_rows.into()),
        "partitions": unless(overloaded, partitions(r, exact)),
        "price_alerts": unless(overloaded, alerts(r)),
        "run_status_subjects": r.judged.sns.run_status_subjects,
    });
    if let Some(w) = &r.web {
        let database_faulted = r.faults_fired.iter().any(|f| f.kind.is_database_fault());
        view["web"] = web(w, overloaded, database_faulted);
    }
    if !r.sinks.is_empty() {
        view["sinks"] = sinks(&r.sinks);
    }
    if let Some(alarms) = &r.alarms {
        view["alarms_fired"] = alarms.fired();
    }
    view
}

/// Events per data partition (the quarantine's are wall-clock), each `null` unless `exact`.
fn partitions(r: &StreamReport, exact: bool) -> Value {
    let partitions: Map<String, Value> = r
        .judged
        .partitions
        .iter()
        .filter(|(k, _)| !k.starts_with("quarantine"))
        .map(|(k, p)| (k.clone(), if exact { p.events.into() } else { Value::Null }))
        .collect();
    partitions.into()
}

/// The symbols alerted on, when no processing order could change them; otherwise why not.
fn alerts(r: &StreamReport) -> Value {
    if r.web.is_some() {
        // A web source's market time runs thousands of times faster than wall time: a request
        // a few milliseconds late moves its prices by market minutes.
        json!("depend on when the requests arrived: market time runs faster than wall time")
    } else if r.stats.late_prices == 0 {
        let mut alerts = r.judged.sns.alert_symbols.clone();
        alerts.sort();
        json!(alerts)
    } else {
        json!("depend on processing order: prices arrived after their window closed")
    }
}

/// The web source's asks, answers and rows; under a load that is refused, or across a crash of
/// the server, how many requests went out in its duration depends on the machine too.
fn web(w: &WebReport, overloaded: bool, database_faulted: bool) -> Value {
    let unless = |value: Value| if overloaded { Value::Null } else { value };
    json!({
        "asks": unless(json!(w.asks)),
        "statuses": match (overloaded, database_faulted, w.restarts > 0) {
            (true, true, _) => json!(
                "depend on when the database faults hit: what it could not take was refused"
            ),
            (true, false, true) => json!(
                "depend on how long the server took to start again: requests that found it down got no answer"
            ),
            (true, false, false) => {
                json!("depend on how fast the pipeline took events: load was refused")
            }
            (false, _, _) => json!(w.statuses),
        },
        "rows": unless(json!(w.rows)),
        "request_log_rows": unless(w.request_log_rows.into()),
    })
}

/// What each sink holds. Object counts depend on timing (batch and buffer boundaries); what
/// each sink holds does not, but for the copies a crashed consumer forwarded again (how many it
/// had read past its checkpoint is timing too): those are within their bound or not.
fn sinks(sinks: &[SinkReport]) -> Value {
    let sinks: Map<String, Value> = sinks
        .iter()
        .map(|s| {
            let held = match s.redelivered {
                0 => json!({ "events": s.events, "missing": s.missing, "extra": s.duplicated }),
                _ => json!({
                    "missing": s.missing,
                    "extra_within_redelivered": s.duplicated <= s.redelivered,
                }),
            };
            (s.sink.clone(), held)
        })
        .collect();
    sinks.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Vec<String> {
        p.split('.').map(String::from).collect()
    }

    #[test]
    fn objects_and_latencies_are_observed_events_compared() {
        let class = |p: &str| FACTS.class(&path(p));
        assert_eq!(class("a_field_added_later"), FactClass::Compared);
        let partition = "partitions.event_type=forex/dt=1/hour=2";
        assert_eq!(class(&format!("{partition}.objects")), FactClass::Observed);
        assert_eq!(class(&format!("{partition}.events")), FactClass::Compared);
        assert_eq!(class("sinks.raw.events"), FactClass::Compared);
        assert_eq!(class("sinks.raw.objects"), FactClass::Observed);
        assert_eq!(class("latency_ms.count"), FactClass::Compared);
        assert_eq!(class("latency_ms.p99"), FactClass::Observed);
        assert_eq!(class("run_id"), FactClass::Ignored);
        assert_eq!(class("times.total_secs"), FactClass::Timing);
    }
}
