//! The facts of one run's report, classed for parity.
//!
//! The facts of one run's report that parity sets side by side, each classed by whether two
//! correct implementations must agree on it.
//!
//! A report is read through its JSON (what `report.json` holds), flattened into dotted paths,
//! and classed by the rules its flow's report gives ([`crate::verdict::FactRules`]). Every path
//! is **compared** unless a rule says otherwise: a field added to a report later is compared
//! until someone shows it may differ, so parity never passes over it silently.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::scenario::Outcome;
use crate::verdict::FactClass;

/// `left`'s and `right`'s facts with those their reports' rules compare when both say so
/// ([`crate::verdict::FactRules::compared_when_both`]) moved from observed to compared, on
/// both sides, where both runs say they are decided by the seed.
pub fn compared_when_both(left: &Facts, right: &Facts) -> (Facts, Facts) {
    let (mut l, mut r) = (left.clone(), right.clone());
    let rules = left
        .when_both
        .iter()
        .filter(|rule| right.when_both.contains(rule));
    for (prefix, fact, value) in rules {
        let says = |f: &Facts| f.observed.get(*fact).map(String::as_str) == Some(value);
        if !(says(left) && says(right)) {
            continue;
        }
        for facts in [&mut l, &mut r] {
            let moved: Vec<String> = facts
                .observed
                .keys()
                .filter(|k| k.starts_with(prefix))
                .cloned()
                .collect();
            for key in moved {
                if let Some(v) = facts.observed.remove(&key) {
                    facts.compared.insert(key, v);
                }
            }
        }
    }
    (l, r)
}

/// One run's facts, by path.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// What two correct targets must agree on.
    pub compared: BTreeMap<String, String>,
    /// What may differ with timing, shown side by side.
    pub observed: BTreeMap<String, String>,
    /// Durations in seconds.
    pub timings: BTreeMap<String, f64>,
    /// Its report's rules for facts compared when both runs say so.
    pub when_both: &'static [(&'static str, &'static str, &'static str)],
}

/// The facts of `outcome`'s report; a run that did not complete has the fact `run` (and its
/// error, observed).
pub fn facts(outcome: &Outcome) -> Facts {
    let mut facts = Facts::default();
    let completed = match &outcome.error {
        Some(e) => {
            facts.observed.insert("error".into(), e.clone());
            "no (error)"
        }
        None => "yes",
    };
    facts
        .compared
        .insert("run.completed".into(), completed.into());
    let Some(report) = &outcome.report else {
        return facts;
    };
    let report = report.report();
    let (json, rules) = (report.to_json(), report.fact_rules());
    facts.when_both = rules.compared_when_both;
    facts
        .compared
        .insert("run.flow".into(), report.flow().into());
    let mut flat = Vec::new();
    flatten(&json, &mut Vec::new(), &mut flat);
    for (path, value) in flat {
        let joined = path.join(".");
        match rules.class(&path) {
            FactClass::Compared => {
                facts.compared.insert(joined, render(&value));
            }
            FactClass::Observed => {
                facts.observed.insert(joined, render(&value));
            }
            FactClass::Timing => {
                if let Some(secs) = value.as_f64() {
                    facts.timings.insert(joined, secs);
                }
            }
            FactClass::Ignored => {}
        }
    }
    facts
}

/// Flattens `value` into (path, leaf) pairs. Objects nest by key; an array of objects that name
/// themselves (a `check`, a `sink`) nests by that name, any other array of objects by index; an
/// array of scalars is one leaf (compared as a set: deliveries are unordered).
fn flatten(value: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Value)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, v) in map {
                path.push(key.clone());
                flatten(v, path, out);
                path.pop();
            }
        }
        Value::Array(items) if items.iter().any(Value::is_object) => {
            for (i, item) in items.iter().enumerate() {
                let name = ["check", "sink"]
                    .iter()
                    .find_map(|k| item.get(k).and_then(Value::as_str))
                    .map_or_else(|| i.to_string(), str::to_string);
                path.push(name);
                flatten(item, path, out);
                path.pop();
            }
        }
        Value::Array(items) if items.is_empty() => {
            out.push((path.clone(), Value::String("[]".into())));
        }
        Value::Array(items) => {
            let mut shown: Vec<String> = items.iter().map(render).collect();
            shown.sort();
            out.push((path.clone(), Value::String(shown.join(", "))));
        }
        leaf => out.push((path.clone(), leaf.clone())),
    }
}

/// A leaf as the diff shows it: strings without quotes, `{}` for an empty map.
fn render(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::price_files::PriceFilesReport;
    use crate::verdict::{Checks, Failure};

    fn prices(waits: u64, alerts: u64, run_secs: f64) -> Outcome {
        Outcome {
            name: "p".into(),
            file: "p.toml".into(),
            error: None,
            report: Some(
                PriceFilesReport {
                    name: "p".into(),
                    run_id: format!("id{waits}"),
                    verdict: Checks {
                        failed: if alerts == 4 {
                            Vec::new()
                        } else {
                            vec![Failure::new("price_files.alerts", "4", alerts.to_string())]
                        },
                        held: Vec::new(),
                    }
                    .into(),
                    files: 864,
                    alerts,
                    expected_alerts: 4,
                    waits,
                    run_secs,
                    ..Default::default()
                }
                .into(),
            ),
        }
    }

    #[test]
    fn a_report_is_split_into_compared_observed_and_timed_facts() {
        let f = facts(&prices(12, 3, 27.5));
        assert_eq!(f.compared["run.completed"], "yes");
        assert_eq!(f.compared["run.flow"], "price-files");
        assert_eq!(f.compared["files"], "864");
        assert_eq!(f.compared["alerts"], "3");
        assert_eq!(f.compared["passed"], "false");
        assert_eq!(f.compared["failures.price_files.alerts.actual"], "3");
        assert_eq!(f.observed["waits"], "12");
        assert_eq!(f.timings["run_secs"], 27.5);
        assert!(!f.compared.contains_key("run_id") && !f.observed.contains_key("run_id"));
        assert!(!f.compared.contains_key("waits"));
    }

    #[test]
    fn the_watch_facts_are_compared_only_when_neither_run_had_a_late_price() {
        let with = |late: &str, written: &str| Facts {
            observed: BTreeMap::from([
                ("alerts.late".to_string(), late.to_string()),
                ("alerts.written".to_string(), written.to_string()),
                ("stats.objects".to_string(), "9".to_string()),
            ]),
            when_both: &[("alerts.", "alerts.late", "0")],
            ..Facts::default()
        };
        let (a, b) = compared_when_both(&with("0", "3"), &with("0", "2"));
        assert_eq!(a.compared["alerts.written"], "3");
        assert_eq!(b.compared["alerts.written"], "2");
        assert!(!a.observed.contains_key("alerts.written"));
        assert_eq!(
            a.observed["stats.objects"], "9",
            "only the watch's facts move"
        );
        let (a, _) = compared_when_both(&with("0", "3"), &with("4", "2"));
        assert!(a.compared.is_empty(), "a late price on one side: observed");
        let ruleless = Facts {
            when_both: &[],
            ..with("0", "2")
        };
        let (a, _) = compared_when_both(&with("0", "3"), &ruleless);
        assert!(
            a.compared.is_empty(),
            "a rule only one report has: observed"
        );
    }

    #[test]
    fn a_run_that_failed_to_complete_says_so() {
        let mut o = prices(0, 4, 1.0);
        o.report = None;
        o.error = Some("S3 unreachable".into());
        let f = facts(&o);
        assert_eq!(f.compared["run.completed"], "no (error)");
        assert_eq!(f.observed["error"], "S3 unreachable");
        assert_eq!(f.compared.len(), 1);
    }

    #[test]
    fn arrays_of_scalars_are_sets_and_named_objects_nest_by_name() {
        let json = serde_json::json!({
            "subjects": ["b", "a"],
            "sinks": [{"sink": "raw", "events": 3}, {"sink": "lake", "events": 4}],
            "empty": {},
            "none": [],
        });
        let mut flat = Vec::new();
        flatten(&json, &mut Vec::new(), &mut flat);
        let shown: BTreeMap<String, String> = flat
            .into_iter()
            .map(|(p, v)| (p.join("."), render(&v)))
            .collect();
        assert_eq!(shown["subjects"], "a, b");
        assert_eq!(shown["sinks.raw.events"], "3");
        assert_eq!(shown["sinks.lake.events"], "4");
        assert_eq!(shown["empty"], "{}");
        assert_eq!(shown["none"], "[]");
    }
}
