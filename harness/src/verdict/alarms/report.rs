//! The alarms' part of a run's report.
//!
//! What a run's alarms did, as its report shows it: each alarm's transitions, and what the
//! stages published for them.

use serde::{Deserialize, Serialize};
use tickflow_pipeline::metrics::Published;

use super::judge::{AlarmSeen, State};
use crate::render::html::{escape, table};

/// The alarms' part of a report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlarmsReport {
    /// Each alarm, in the scenario's order.
    pub alarms: Vec<AlarmSeen>,
    /// What the stages' metrics publisher sent.
    pub published: Published,
    /// How long the run waited, stages running, for the alarms to show what was expected.
    pub settle_secs: f64,
}

impl AlarmsReport {
    /// The text report's lines, indented by `indent`.
    pub fn text(&self, indent: &str) -> String {
        let p = &self.published;
        let mut out = format!(
            "{indent}metrics: {} datapoint sets in {} PutMetricData calls ({} failed, {} dropped); alarms settled in {:.1} s\n",
            p.datums, p.calls, p.failed_calls, p.dropped, self.settle_secs
        );
        for alarm in &self.alarms {
            out.push_str(&format!("{indent}  {}: {}\n", alarm.name, alarm.history()));
        }
        out
    }

    /// The HTML section: a table of every transition.
    pub fn html(&self) -> String {
        let rows = self.alarms.iter().flat_map(|a| {
            let none = a.transitions.is_empty().then(|| {
                vec![
                    a.name.clone(),
                    "-".into(),
                    "no transition".into(),
                    String::new(),
                ]
            });
            a.transitions
                .iter()
                .map(|t| {
                    vec![
                        a.name.clone(),
                        format!("{:.1}", t.at_secs),
                        format!("{:?} → {:?}", t.from, t.to),
                        if t.notified {
                            "yes".into()
                        } else {
                            "no".into()
                        },
                    ]
                })
                .chain(none)
                .collect::<Vec<_>>()
        });
        let p = &self.published;
        format!(
            "<h3>Alarms</h3>\n<p>{}</p>\n{}",
            escape(&format!(
                "{} datapoint sets published in {} PutMetricData calls ({} failed); the run waited {:.1} s for the alarms to settle.",
                p.datums, p.calls, p.failed_calls, self.settle_secs
            )),
            table(&["alarm", "at (s)", "transition", "notified"], rows)
        )
    }

    /// Whether each alarm reached ALARM, by name: what a scenario fixes of its alarms (when,
    /// the target's clock), for the snapshots.
    pub fn fired(&self) -> serde_json::Value {
        let fired: serde_json::Map<String, serde_json::Value> = self
            .alarms
            .iter()
            .map(|a| {
                let fired = a.transitions.iter().any(|t| t.to == State::ALARM);
                (a.name.clone(), fired.into())
            })
            .collect();
        fired.into()
    }

    /// Each alarm's spans in ALARM, seconds since the run started (a span still open ends at
    /// `end_secs`): what the report's charts shade.
    pub fn alarm_spans(&self, end_secs: f64) -> Vec<(String, f64, f64)> {
        let mut spans = Vec::new();
        for alarm in &self.alarms {
            let mut open = None;
            for t in &alarm.transitions {
                match (t.to == State::ALARM, open) {
                    (true, None) => open = Some(t.at_secs),
                    (false, Some(from)) => {
                        spans.push((alarm.name.clone(), from, t.at_secs));
                        open = None;
                    }
                    _ => {}
                }
            }
            if let Some(from) = open {
                spans.push((alarm.name.clone(), from, end_secs.max(from)));
            }
        }
        spans
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::alarms::Transition;
    use State::*;

    #[test]
    fn spans_run_from_alarm_to_the_next_state_or_the_end() {
        let t = |at_secs, from, to| Transition {
            at_secs,
            from,
            to,
            notified: true,
        };
        let report = AlarmsReport {
            alarms: vec![AlarmSeen {
                name: "age".into(),
                transitions: vec![
                    t(1.0, INSUFFICIENT_DATA, OK),
                    t(5.0, OK, ALARM),
                    t(9.0, ALARM, OK),
                    t(12.0, OK, ALARM),
                ],
                datapoints: Some(3),
            }],
            ..AlarmsReport::default()
        };
        assert_eq!(
            report.alarm_spans(20.0),
            [
                ("age".to_string(), 5.0, 9.0),
                ("age".to_string(), 12.0, 20.0)
            ]
        );
        assert!(report.text("").contains("OK -> ALARM at 5.0 s"));
        assert!(report.html().contains("<td>age</td><td>5.0</td>"));
    }
}
