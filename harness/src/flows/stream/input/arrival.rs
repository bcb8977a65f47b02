//! Open-model load: when each event is due.
//!
//! Open-model load: when each event is due, for a constant rate, a ramp or steps, so that
//! arrivals follow the schedule however fast the pipeline drains (an open model does not wait
//! for the system under test, unlike a closed loop).

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::verdict::latency::Latency;

/// Slowest rate a load may ask for, events/s (one event every 1,000 s).
pub const MIN_RATE: f64 = 1e-3;
/// Fastest rate, events/s.
pub const MAX_RATE: f64 = 1e9;
/// Longest duration of a load, a ramp or a step, seconds (about 115 days), and the cap on any
/// planned schedule: no setting that validates makes a run's last arrival due later than this.
pub const MAX_SECS: f64 = 1e7;

/// A scenario's `[load]` section, or `tickflow load` flags: at most one of `rate`, `ramp` and
/// `steps` (none feeds at full speed), and optionally a duration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadPlan {
    /// A constant rate, events per second.
    pub rate: Option<f64>,
    /// A linear ramp, then its final rate.
    pub ramp: Option<Ramp>,
    /// Rates held one after the other; the last one holds.
    pub steps: Option<Vec<Step>>,
    /// Stop feeding after this many seconds (the generator's event count still caps it).
    pub duration_secs: Option<f64>,
}

/// A linear ramp from one rate to another.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ramp {
    /// Events per second at the start.
    pub from: f64,
    /// Events per second at the end (and after).
    pub to: f64,
    /// Seconds the ramp takes.
    pub over_secs: f64,
}

/// One step of a step profile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Events per second.
    pub rate: f64,
    /// Seconds held.
    pub secs: f64,
}

impl std::str::FromStr for Ramp {
    type Err = String;

    /// `FROM:TO:SECS`, as `tickflow load --ramp` takes it.
    fn from_str(text: &str) -> Result<Self, String> {
        let numbers =
            numbers(text, 3).map_err(|e| format!("a ramp is FROM:TO:SECS ({e}), got {text:?}"))?;
        Ok(Ramp {
            from: numbers[0],
            to: numbers[1],
            over_secs: numbers[2],
        })
    }
}

impl std::str::FromStr for Step {
    type Err = String;

    /// `RATE:SECS`, as each step of `tickflow load --steps` is written.
    fn from_str(text: &str) -> Result<Self, String> {
        let numbers =
            numbers(text, 2).map_err(|e| format!("a step is RATE:SECS ({e}), got {text:?}"))?;
        Ok(Step {
            rate: numbers[0],
            secs: numbers[1],
        })
    }
}

/// Exactly `count` numbers separated by `:`.
fn numbers(text: &str, count: usize) -> Result<Vec<f64>, String> {
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() != count {
        return Err(format!("{count} numbers"));
    }
    parts
        .iter()
        .map(|p| {
            p.trim()
                .parse::<f64>()
                .map_err(|_| format!("{:?} is not a number", p.trim()))
        })
        .collect()
}

impl LoadPlan {
    /// Problems, one line each, naming the key.
    pub fn check(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let profiles = [
            self.rate.is_some(),
            self.ramp.is_some(),
            self.steps.is_some(),
        ];
        if profiles.iter().filter(|p| **p).count() > 1 {
            problems.push((
                "load".into(),
                "give at most one of rate, ramp and steps".into(),
            ));
        }
        let positive = |v: f64| (MIN_RATE..=MAX_RATE).contains(&v);
        let span = |v: f64| v > 0.0 && v <= MAX_SECS;
        if self.rate.is_some_and(|r| !positive(r)) {
            problems.push((
                "load.rate".into(),
                format!("must be within [{MIN_RATE}, {MAX_RATE}] events/s"),
            ));
        }
        if let Some(r) = self.ramp {
            if !((0.0..=MAX_RATE).contains(&r.from) && positive(r.to) && span(r.over_secs)) {
                problems.push((
                    "load.ramp".into(),
                    format!(
                        "needs from within [0, {MAX_RATE}], to within [{MIN_RATE}, {MAX_RATE}] \
                         and over_secs within (0, {MAX_SECS}]"
                    ),
                ));
            }
        }
        if let Some(steps) = &self.steps {
            if steps.is_empty() || steps.iter().any(|s| !(positive(s.rate) && span(s.secs))) {
                problems.push((
                    "load.steps".into(),
                    format!(
                        "needs at least one step, each with rate within [{MIN_RATE}, {MAX_RATE}] \
                         and secs within (0, {MAX_SECS}]"
                    ),
                ));
            }
        }
        if self.duration_secs.is_some_and(|d| !span(d)) {
            problems.push((
                "load.duration_secs".into(),
                format!("must be within (0, {MAX_SECS}]"),
            ));
        }
        problems
    }

    /// When event number `i` (0-based) is due after the start; `None` for full speed.
    pub fn due(&self, i: u64) -> Option<Duration> {
        let secs = self.due_secs(i)?;
        Some(Duration::try_from_secs_f64(secs.max(0.0)).unwrap_or(Duration::MAX))
    }

    /// [`LoadPlan::due`] in seconds, unrounded (and unbounded: it may be infinite).
    fn due_secs(&self, i: u64) -> Option<f64> {
        let n = i as f64;
        if let Some(rate) = self.rate {
            Some(n / rate)
        } else if let Some(r) = self.ramp {
            Some(ramp_due(r, n))
        } else {
            self.steps.as_ref().map(|steps| steps_due(steps, n))
        }
    }

    /// How long feeding `items` items on this plan takes, seconds: when the last one is due,
    /// or the duration when it ends first; `None` at full speed without a duration.
    pub fn span_secs(&self, items: u64) -> Option<f64> {
        let last = items.checked_sub(1).and_then(|i| self.due_secs(i));
        match (last, self.duration_secs) {
            (Some(last), Some(end)) => Some(last.min(end)),
            (last, end) => last.or(end),
        }
    }

    /// Why `items` items cannot be fed on this plan, if they cannot: the last would be due
    /// beyond [`MAX_SECS`] (a schedule that would sleep for months, or forever).
    pub fn check_span(&self, items: u64) -> Option<String> {
        let span = self.span_secs(items)?;
        (span.is_nan() || span > MAX_SECS).then(|| {
            format!(
                "{items} arrivals on this schedule take {span:.3e} s, beyond the cap of \
                 {MAX_SECS:.0e} s: raise the rate, give fewer, or set a duration"
            )
        })
    }

    /// Waits until `due` after `start`, or until the plan's duration ends if that comes first
    /// (a paced feed never sleeps past its end); whether `due` is still within the plan. A
    /// `due` beyond [`MAX_SECS`] is not waited for: the caller refuses it first.
    pub async fn wait_until(&self, start: Instant, due: Duration) -> bool {
        let end = self
            .duration_secs
            .and_then(|d| Duration::try_from_secs_f64(d).ok());
        let until = end.map_or(due, |end| end.min(due));
        if let Some(at) = start.checked_add(until) {
            tokio::time::sleep_until(at.into()).await;
        }
        end.is_none_or(|end| due < end)
    }

    /// Whether feeding should stop at `elapsed`.
    pub fn over(&self, elapsed: Duration) -> bool {
        self.duration_secs
            .is_some_and(|d| elapsed.as_secs_f64() >= d)
    }
}

/// Time at which `n` events have arrived on a ramp: solves `from*t + (to-from)*t^2/(2T) = n`.
fn ramp_due(r: Ramp, n: f64) -> f64 {
    let slope = (r.to - r.from) / r.over_secs;
    let during = r.from * r.over_secs + 0.5 * slope * r.over_secs * r.over_secs;
    if n >= during {
        return r.over_secs + (n - during) / r.to;
    }
    if slope.abs() < 1e-12 {
        return n / r.from;
    }
    (-r.from + (r.from * r.from + 2.0 * slope * n).sqrt()) / slope
}

fn steps_due(steps: &[Step], mut n: f64) -> f64 {
    let mut t = 0.0;
    for (k, step) in steps.iter().enumerate() {
        let in_step = step.rate * step.secs;
        if n < in_step || k == steps.len() - 1 {
            return t + n / step.rate;
        }
        n -= in_step;
        t += step.secs;
    }
    t
}

/// How a paced feed kept to its schedule: an open model hands events over when they are due
/// whatever the pipeline does, and latency is measured from the due time, so a backed-up
/// pipeline shows up as latency instead of hiding as a slower feed (coordinated omission).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Schedule {
    /// Events per second the schedule asked for, on average.
    pub target_rate: f64,
    /// Events per second actually handed to the producer.
    pub achieved_rate: f64,
    /// How late events were handed over against their due time, milliseconds.
    pub lag_ms: Latency,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(plan: &LoadPlan, i: u64) -> f64 {
        plan.due(i).unwrap().as_secs_f64()
    }

    #[test]
    fn constant_rate_spaces_arrivals_evenly() {
        let plan = LoadPlan {
            rate: Some(100.0),
            ..Default::default()
        };
        assert_eq!(secs(&plan, 0), 0.0);
        assert!((secs(&plan, 250) - 2.5).abs() < 1e-9);
        assert_eq!(LoadPlan::default().due(5), None);
    }

    #[test]
    fn a_ramp_delivers_its_area_then_holds_the_final_rate() {
        let plan = LoadPlan {
            ramp: Some(Ramp {
                from: 0.0,
                to: 100.0,
                over_secs: 10.0,
            }),
            ..Default::default()
        };
        // 500 events arrive during the ramp (its area), at t = 10 s.
        assert!((secs(&plan, 500) - 10.0).abs() < 1e-9);
        // A quarter of the area (125 events) arrives at t = 5 s.
        assert!((secs(&plan, 125) - 5.0).abs() < 1e-9);
        assert!((secs(&plan, 600) - 11.0).abs() < 1e-9);
        let flat = LoadPlan {
            ramp: Some(Ramp {
                from: 50.0,
                to: 50.0,
                over_secs: 4.0,
            }),
            ..Default::default()
        };
        assert!((secs(&flat, 100) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn steps_hold_each_rate_and_the_last_one_continues() {
        let plan = LoadPlan {
            steps: Some(vec![
                Step {
                    rate: 10.0,
                    secs: 2.0,
                },
                Step {
                    rate: 100.0,
                    secs: 1.0,
                },
            ]),
            ..Default::default()
        };
        assert!((secs(&plan, 10) - 1.0).abs() < 1e-9);
        assert!((secs(&plan, 20) - 2.0).abs() < 1e-9);
        assert!((secs(&plan, 70) - 2.5).abs() < 1e-9);
        assert!(
            (secs(&plan, 220) - 4.0).abs() < 1e-9,
            "past the last step its rate holds"
        );
    }

    #[test]
    fn arrivals_never_go_back_in_time() {
        let plans = [
            LoadPlan {
                ramp: Some(Ramp {
                    from: 500.0,
                    to: 20.0,
                    over_secs: 3.0,
                }),
                ..Default::default()
            },
            LoadPlan {
                steps: Some(vec![
                    Step {
                        rate: 5.0,
                        secs: 1.0,
                    },
                    Step {
                        rate: 1.0,
                        secs: 1.0,
                    },
                ]),
                ..Default::default()
            },
        ];
        for plan in plans {
            let mut last = 0.0;
            for i in 0..3_000 {
                let t = secs(&plan, i);
                assert!(t >= last, "{plan:?} at {i}: {t} < {last}");
                last = t;
            }
        }
    }

    #[test]
    fn ramps_and_steps_parse_from_flags() {
        assert_eq!(
            "200:1000:2".parse::<Ramp>(),
            Ok(Ramp {
                from: 200.0,
                to: 1000.0,
                over_secs: 2.0
            })
        );
        assert_eq!(
            " 5 : 1.5".parse::<Step>(),
            Ok(Step {
                rate: 5.0,
                secs: 1.5
            })
        );
        let bad = "1:2".parse::<Ramp>().unwrap_err();
        assert!(bad.contains("FROM:TO:SECS (3 numbers)"), "{bad}");
        let bad = "x:2".parse::<Step>().unwrap_err();
        assert!(bad.contains("\"x\" is not a number"), "{bad}");
    }

    #[test]
    fn conflicting_or_bad_profiles_are_reported() {
        let plan = LoadPlan {
            rate: Some(1.0),
            steps: Some(vec![]),
            duration_secs: Some(-1.0),
            ..Default::default()
        };
        let keys: Vec<String> = plan.check().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["load", "load.steps", "load.duration_secs"]);
    }
}
