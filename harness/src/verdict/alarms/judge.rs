//! `[expect.alarms]` and the judge of what the run's alarms did.
//!
//! An alarm a scenario names must reach ALARM (and, if asked, come back to OK), each notified
//! on the run's alarm topic; every other alarm must never reach ALARM (no false positive). An
//! alarm is judged on its state history and the notifications its topic delivered, and only
//! once it was evaluated at all: an alarm whose metric nothing published, or a target that
//! does not evaluate alarms, can show no ALARM, and that is a FAIL, never a quiet PASS.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::verdict::Failure;

/// What one alarm must do during the run (`[expect.alarms.<name>]`). An alarm not named
/// must never reach ALARM.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlarmExpect {
    /// It reaches ALARM, notified.
    #[serde(default)]
    pub fires: bool,
    /// After its first ALARM, it returns to OK, notified.
    #[serde(default)]
    pub clears: bool,
    /// It reaches ALARM within this many seconds of `after_fault`'s first firing (of the run's
    /// start without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_secs: Option<f64>,
    /// The fault rule (1-based, in `[[faults.schedule]]`) whose first firing starts
    /// `within_secs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_fault: Option<usize>,
}

/// The longest `within_secs`, seconds.
pub const MAX_WITHIN_SECS: f64 = 3_600.0;

impl AlarmExpect {
    /// What is wrong with `[expect.alarms.<name>]`, given the alarms declared and the number
    /// of fault rules.
    pub fn check(&self, name: &str, declared: &[&str], rules: usize) -> Vec<(String, String)> {
        let key = |k: &str| format!("expect.alarms.{name}.{k}");
        let mut problems = Vec::new();
        if !declared.contains(&name) {
            problems.push((
                format!("expect.alarms.{name}"),
                format!(
                    "names no alarm of [[alarms]] (they are: {})",
                    declared.join(", ")
                ),
            ));
        }
        if self.clears && !self.fires {
            problems.push((
                key("clears"),
                "an alarm clears after it fires: set fires = true".into(),
            ));
        }
        if let Some(secs) = self.within_secs {
            if !(self.fires && secs > 0.0 && secs <= MAX_WITHIN_SECS) {
                problems.push((
                    key("within_secs"),
                    format!("needs fires = true and a value in (0, {MAX_WITHIN_SECS}], got {secs}"),
                ));
            }
        }
        if let Some(rule) = self.after_fault {
            if self.within_secs.is_none() || rule == 0 || rule > rules {
                problems.push((
                    key("after_fault"),
                    format!("needs within_secs and a rule of [[faults.schedule]] (1 to {rules}), got {rule}"),
                ));
            }
        }
        problems
    }
}

/// An alarm's state (CloudWatch's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum State {
    /// Within its threshold.
    OK,
    /// Breaching.
    ALARM,
    /// Not evaluated yet, or without data.
    INSUFFICIENT_DATA,
}

impl State {
    /// From CloudWatch's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "OK" => Some(Self::OK),
            "ALARM" => Some(Self::ALARM),
            "INSUFFICIENT_DATA" => Some(Self::INSUFFICIENT_DATA),
            _ => None,
        }
    }
}

/// One change of an alarm's state, seconds after the run started.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// When, seconds since the run started.
    pub at_secs: f64,
    /// The state it left.
    pub from: State,
    /// The state it entered.
    pub to: State,
    /// Whether the alarm topic delivered a notification of it.
    pub notified: bool,
}

impl Transition {
    fn describe(&self) -> String {
        let notified = if self.notified { "" } else { ", not notified" };
        format!(
            "{:?} -> {:?} at {:.1} s{notified}",
            self.from, self.to, self.at_secs
        )
    }
}

/// What one alarm did during the run, as read back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlarmSeen {
    /// Its name in the scenario.
    pub name: String,
    /// Its state changes, oldest first.
    pub transitions: Vec<Transition>,
    /// Datapoints its metric received during the run (`None`: not read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datapoints: Option<u64>,
}

impl AlarmSeen {
    /// Its transitions in one line.
    pub fn history(&self) -> String {
        if self.transitions.is_empty() {
            return "no transition".into();
        }
        let lines: Vec<String> = self.transitions.iter().map(Transition::describe).collect();
        lines.join("; ")
    }

    fn first_alarm(&self, from_secs: f64) -> Option<&Transition> {
        self.transitions
            .iter()
            .find(|t| t.to == State::ALARM && t.at_secs >= from_secs)
    }
}

/// What a clock of `within_secs` starts from: the first firing of a fault rule, seconds since
/// the run started (`None`: the rule never fired).
pub type FaultMoment = Option<f64>;

/// Judges every alarm: one check `alarms.<name>` each, held or failed. `moments` gives the
/// first firing of each rule `after_fault` names (by its 1-based index).
pub fn judge(
    seen: &[AlarmSeen],
    expect: &BTreeMap<String, AlarmExpect>,
    moments: &dyn Fn(usize) -> FaultMoment,
) -> (Vec<Failure>, Vec<Failure>) {
    let (mut failed, mut held) = (Vec::new(), Vec::new());
    for alarm in seen {
        let wanted = expect.get(&alarm.name).cloned().unwrap_or_default();
        let check = format!("alarms.{}", alarm.name);
        let expected = expected(&wanted);
        match problem(alarm, &wanted, moments) {
            Some(actual) => failed.push(Failure::new(&check, expected, actual)),
            None => held.push(Failure::new(&check, expected, alarm.history())),
        }
    }
    (failed, held)
}

/// What the check expects, in words.
fn expected(wanted: &AlarmExpect) -> String {
    if !wanted.fires {
        return "evaluated, and never in ALARM".into();
    }
    let mut text = String::from("ALARM, notified");
    if let Some(secs) = wanted.within_secs {
        match wanted.after_fault {
            Some(rule) => text.push_str(&format!(", within {secs} s of fault rule {rule}")),
            None => text.push_str(&format!(", within {secs} s of the run's start")),
        }
    }
    if wanted.clears {
        text.push_str(", then OK again, notified");
    }
    text
}

/// Why `alarm` does not do what `wanted` says, or `None`.
fn problem(
    alarm: &AlarmSeen,
    wanted: &AlarmExpect,
    moments: &dyn Fn(usize) -> FaultMoment,
) -> Option<String> {
    if alarm.datapoints == Some(0) {
        return Some(format!(
            "its metric received no datapoint during the run (nothing published it), {}",
            alarm.history()
        ));
    }
    let evaluated = alarm
        .transitions
        .iter()
        .any(|t| t.to != State::INSUFFICIENT_DATA);
    if !evaluated {
        return Some(format!(
            "never evaluated: it never left INSUFFICIENT_DATA ({}); its metric had no datapoints, or the target does not evaluate alarms",
            alarm.history()
        ));
    }
    if !wanted.fires {
        return alarm
            .first_alarm(f64::MIN)
            .map(|t| format!("reached ALARM: {}", t.describe()));
    }
    let start = match wanted.after_fault {
        Some(rule) => match moments(rule) {
            Some(at) => at,
            None => {
                return Some(format!(
                    "fault rule {rule} never fired, so nothing started the clock"
                ))
            }
        },
        None => 0.0,
    };
    let Some(fired) = alarm.first_alarm(f64::MIN) else {
        return Some(format!("never reached ALARM: {}", alarm.history()));
    };
    if !fired.notified {
        return Some(format!(
            "reached ALARM but its topic delivered no notification (no action?): {}",
            alarm.history()
        ));
    }
    if let Some(secs) = wanted.within_secs {
        let in_time = alarm
            .first_alarm(start)
            .is_some_and(|t| t.at_secs - start <= secs);
        if !in_time {
            return Some(format!(
                "not in ALARM within {secs} s of {start:.1} s: {}",
                alarm.history()
            ));
        }
    }
    if wanted.clears {
        let cleared = alarm
            .transitions
            .iter()
            .find(|t| t.at_secs >= fired.at_secs && t.from == State::ALARM && t.to == State::OK);
        match cleared {
            None => return Some(format!("never back to OK after ALARM: {}", alarm.history())),
            Some(t) if !t.notified => {
                return Some(format!(
                    "back to OK but its topic delivered no notification: {}",
                    alarm.history()
                ))
            }
            Some(_) => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use State::*;

    fn t(at_secs: f64, from: State, to: State, notified: bool) -> Transition {
        Transition {
            at_secs,
            from,
            to,
            notified,
        }
    }

    fn seen(transitions: Vec<Transition>) -> AlarmSeen {
        AlarmSeen {
            name: "age".into(),
            transitions,
            datapoints: Some(12),
        }
    }

    fn fires_and_clears() -> AlarmExpect {
        AlarmExpect {
            fires: true,
            clears: true,
            within_secs: Some(30.0),
            after_fault: Some(1),
        }
    }

    fn verdict(alarm: &AlarmSeen, wanted: Option<AlarmExpect>) -> Result<String, String> {
        let expect: BTreeMap<_, _> = wanted.into_iter().map(|w| ("age".to_string(), w)).collect();
        let (failed, held) = judge(std::slice::from_ref(alarm), &expect, &|_| Some(10.0));
        match (failed.first(), held.first()) {
            (Some(f), None) => Err(f.actual.clone()),
            (None, Some(h)) => Ok(h.actual.clone()),
            other => panic!("one check per alarm: {other:?}"),
        }
    }

    #[test]
    fn a_quiet_alarm_holds_once_evaluated_and_fails_on_any_alarm() {
        let quiet = seen(vec![t(5.0, INSUFFICIENT_DATA, OK, false)]);
        assert!(verdict(&quiet, None).is_ok());
        let fired = seen(vec![
            t(5.0, INSUFFICIENT_DATA, OK, false),
            t(9.0, OK, ALARM, true),
        ]);
        assert!(verdict(&fired, None)
            .unwrap_err()
            .starts_with("reached ALARM"));
    }

    #[test]
    fn an_alarm_never_evaluated_or_without_datapoints_is_not_judged_quiet() {
        let never = seen(vec![]);
        assert!(verdict(&never, None)
            .unwrap_err()
            .starts_with("never evaluated"));
        let no_data = AlarmSeen {
            datapoints: Some(0),
            ..seen(vec![t(5.0, INSUFFICIENT_DATA, OK, false)])
        };
        assert!(verdict(&no_data, None)
            .unwrap_err()
            .contains("no datapoint"));
    }

    #[test]
    fn firing_and_clearing_hold_notified_in_time() {
        let good = seen(vec![
            t(3.0, INSUFFICIENT_DATA, OK, false),
            t(25.0, OK, ALARM, true),
            t(60.0, ALARM, OK, true),
        ]);
        assert!(verdict(&good, Some(fires_and_clears())).is_ok());
    }

    #[test]
    fn each_way_of_missing_the_expectation_fails() {
        let base = |alarm_at: f64, alarm_notified: bool, ok: Option<bool>| {
            let mut ts = vec![
                t(3.0, INSUFFICIENT_DATA, OK, false),
                t(alarm_at, OK, ALARM, alarm_notified),
            ];
            if let Some(n) = ok {
                ts.push(t(alarm_at + 30.0, ALARM, OK, n));
            }
            seen(ts)
        };
        let cases = [
            (
                seen(vec![t(3.0, INSUFFICIENT_DATA, OK, false)]),
                "never reached ALARM",
            ),
            (
                base(25.0, false, Some(true)),
                "no notification (no action?)",
            ),
            (base(45.0, true, Some(true)), "not in ALARM within 30 s"),
            (base(25.0, true, None), "never back to OK"),
            (base(25.0, true, Some(false)), "back to OK but"),
        ];
        for (alarm, says) in cases {
            let actual = verdict(&alarm, Some(fires_and_clears())).unwrap_err();
            assert!(actual.contains(says), "{says}: {actual}");
        }
    }

    #[test]
    fn a_fault_that_never_fired_starts_no_clock() {
        let alarm = seen(vec![
            t(3.0, INSUFFICIENT_DATA, OK, false),
            t(20.0, OK, ALARM, true),
        ]);
        let expect = BTreeMap::from([("age".to_string(), fires_and_clears())]);
        let (failed, _) = judge(&[alarm], &expect, &|_| None);
        assert!(
            failed[0].actual.contains("never fired"),
            "{}",
            failed[0].actual
        );
    }

    #[test]
    fn expectations_are_checked_against_the_declared_alarms() {
        let ok = fires_and_clears().check("age", &["age"], 1);
        assert!(ok.is_empty(), "{ok:?}");
        let bad = AlarmExpect {
            fires: false,
            clears: true,
            within_secs: Some(0.0),
            after_fault: Some(3),
        };
        let keys: Vec<String> = bad
            .check("nope", &["age"], 1)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            keys,
            [
                "expect.alarms.nope",
                "expect.alarms.nope.clears",
                "expect.alarms.nope.within_secs",
                "expect.alarms.nope.after_fault"
            ]
        );
    }
}
