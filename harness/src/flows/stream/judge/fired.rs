//! A past run's fired faults, read back as a schedule.
//!
//! Reading back the faults a past run fired, from its JSON report, as a schedule that fires
//! exactly them again: what `tickflow run --faults-from report.json` replays and what
//! `tickflow shrink` pins.

use std::path::Path;

use serde_json::Value;
use tickflow_pipeline::chaos::{rules_from_fired, FaultRule, Fired};

use crate::error::{Error, Result};

/// The schedule that replays the faults fired in the report at `path`: a run report (`--json`),
/// or a scenario report directory's `report.json` (then the entry of scenario `name`, or its only
/// entry).
///
/// # Errors
/// A file that cannot be read, is not such a report, or has no run named `name`.
pub fn schedule_from_report(path: &Path, name: Option<&str>) -> Result<Vec<FaultRule>> {
    let what = |reason: String| Error::Input(format!("--faults-from {}: {reason}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| what(e.to_string()))?;
    let json: Value = serde_json::from_str(&text).map_err(|e| what(format!("not JSON: {e}")))?;
    let fired = fired_in(&json, name).map_err(what)?;
    let fired: Vec<Fired> = serde_json::from_value(fired.clone())
        .map_err(|e| what(format!("`faults_fired` is not a list of fired faults: {e}")))?;
    let rules = rules_from_fired(&fired);
    // Replayed rules pass each rule's own checks, whatever the flow: no negative outage, no
    // latency of centuries, no crash without its passes. Whether they fit the flow replaying
    // them is that flow's to say (`FlowFile::replay_faults`).
    let problems: Vec<String> = crate::verdict::fault_rules::schedule_problems(&rules)
        .into_iter()
        .map(|(key, message)| format!("{key}: {message}"))
        .collect();
    if !problems.is_empty() {
        return Err(what(format!(
            "its fired faults do not make a valid schedule:\n  {}",
            problems.join("\n  ")
        )));
    }
    Ok(rules)
}

/// The `faults_fired` list of a run report, or of one run in a list of scenario outcomes.
fn fired_in<'a>(json: &'a Value, name: Option<&str>) -> std::result::Result<&'a Value, String> {
    if let Some(fired) = json.get("faults_fired") {
        return Ok(fired);
    }
    let Some(outcomes) = json.as_array() else {
        return Err("neither a run report nor a scenario report (no `faults_fired`)".into());
    };
    let named = |o: &&Value| name.is_none_or(|n| o.get("name").and_then(Value::as_str) == Some(n));
    let chosen: Vec<&Value> = outcomes.iter().filter(named).collect();
    match chosen.as_slice() {
        [one] => one
            .pointer("/report/faults_fired")
            .or_else(|| flow_faults_fired(one))
            .ok_or_else(|| "that run has no report (it did not complete)".to_string()),
        [] => Err(format!("no run named {:?} in it", name.unwrap_or_default())),
        _ => Err("several runs in it: name the scenario".into()),
    }
}

/// A scenario outcome's fired faults in a flow's report under its own key (`faults.fired`).
fn flow_faults_fired(outcome: &Value) -> Option<&Value> {
    let fields = outcome.as_object()?;
    fields.values().find_map(|v| v.pointer("/faults/fired"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickflow_pipeline::chaos::{FaultKind, Service};

    /// A report file in the temp directory, removed when dropped.
    struct Temp(std::path::PathBuf);

    impl Drop for Temp {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn write(text: &str) -> Temp {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("tickflow-fired-{}-{n}.json", std::process::id()));
        std::fs::write(&path, text).unwrap();
        Temp(path)
    }

    const FIRED: &str = r#"[{"kind":"throttle","service":"s3","operation":"PutObject","call":3,"at_ms":10},
        {"kind":"throttle","service":"s3","operation":"PutObject","call":7,"at_ms":20}]"#;

    #[test]
    fn a_run_report_and_each_flow_s_scenario_report_give_the_same_schedule() {
        let run = write(&format!(r#"{{"name":"a","faults_fired":{FIRED}}}"#));
        let scenarios = write(&format!(
            r#"[{{"name":"other","report":{{"faults_fired":[]}}}},{{"name":"a","report":{{"faults_fired":{FIRED}}}}}]"#
        ));
        let batch = write(&format!(
            r#"[{{"name":"a","report":null,"batch":{{"faults":{{"fired":{FIRED},"rules":[]}}}}}}]"#
        ));
        let from_run = schedule_from_report(&run.0, None).unwrap();
        assert_eq!(
            from_run,
            schedule_from_report(&scenarios.0, Some("a")).unwrap()
        );
        assert_eq!(from_run, schedule_from_report(&batch.0, Some("a")).unwrap());
        assert_eq!(from_run.len(), 1);
        assert_eq!(from_run[0].kind, FaultKind::Throttle);
        assert_eq!(from_run[0].service, Some(Service::S3));
        assert_eq!(from_run[0].calls, [3, 7]);
    }

    #[test]
    fn a_batch_report_s_database_and_crash_faults_replay_in_a_batch_scenario_only() {
        let fired = r#"[{"kind":"db_terminate","pass":1,"at_ms":900},
            {"kind":"crash","stage":"loader","pass":2,"at_ms":1200}]"#;
        let report = write(&format!(
            r#"[{{"name":"b","report":null,"batch":{{"faults":{{"fired":{fired}}}}}}}]"#
        ));
        let schedule = schedule_from_report(&report.0, Some("b")).unwrap();
        let kinds: Vec<FaultKind> = schedule.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, [FaultKind::DbTerminate, FaultKind::Crash]);
        let parse = |text: &str| crate::scenario::parse("s.toml", text).unwrap();
        let mut batch = parse("[scenario]\nname = \"b\"\nflow = \"batch\"\n");
        assert!(batch.sections.replay_faults(schedule.clone()).is_empty());
        assert_eq!(batch.sections.fault_schedule(), schedule.as_slice());
        let mut stream = parse("[scenario]\nname = \"s\"\n[generate]\nevents = 10\n");
        let problems = stream.sections.replay_faults(schedule);
        let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["faults.schedule.1.stage", "faults.schedule.0.kind"],
            "{problems:?}"
        );
        assert!(
            stream.sections.fault_schedule().is_empty(),
            "nothing replaced"
        );
    }

    #[test]
    fn what_is_not_a_report_is_refused_with_the_reason() {
        for (text, name, reason) in [
            ("{}", None, "no `faults_fired`"),
            ("not json", None, "not JSON"),
            (
                r#"[{"name":"a","report":null}]"#,
                Some("a"),
                "did not complete",
            ),
            (r#"[{"name":"a"}]"#, Some("b"), "no run named"),
            (
                r#"{"faults_fired":[{"kind":"meltdown","at_ms":1}]}"#,
                None,
                "not a list of fired",
            ),
        ] {
            let file = write(text);
            let error = schedule_from_report(&file.0, name).unwrap_err().to_string();
            assert!(error.contains(reason), "{text}: {error}");
        }
        for (fired, key) in [
            (
                r#"{"kind":"outage","at_ms":1000,"for_secs":-1}"#,
                "for_secs",
            ),
            (
                r#"{"kind":"latency","service":"s3","operation":"PutObject","call":1,"latency_ms":18446744073709551615,"at_ms":1}"#,
                "latency_ms",
            ),
            (r#"{"kind":"crash","at_ms":1}"#, "stage"),
            (
                r#"{"kind":"crash","stage":"bridge","pass":0,"at_ms":1}"#,
                "at",
            ),
            (r#"{"kind":"throttle","at_ms":1}"#, "service"),
        ] {
            let file = write(&format!(r#"{{"faults_fired":[{fired}]}}"#));
            let error = schedule_from_report(&file.0, None).unwrap_err().to_string();
            assert!(
                error.contains("do not make a valid schedule") && error.contains(key),
                "{fired}: {error}"
            );
        }
        let missing = schedule_from_report(Path::new("/nonexistent/r.json"), None).unwrap_err();
        assert!(missing.to_string().contains("/nonexistent/r.json"));
    }
}
