//! Counts through a flow's steps over a run, and the chart that draws them with the faults.
//!
//! What every flow's report page draws over time: a [`Timeline`] of cumulative counts, one per
//! step (files uploaded, CSVs written, runs started), sampled through the run, and the moments
//! and spans of the faults that fired ([`fault_markers`]), so a reader sees what each fault did
//! to the flow's progress.

use serde::Serialize;
use tickflow_pipeline::chaos::{FaultKind, Fired};

use super::plot::{Axis, Chart, Line, Marker};

/// Cumulative counts of a run's steps, sampled over time.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timeline {
    /// What each count is, in the order of every sample's counts.
    pub series: Vec<String>,
    /// The samples, in time order.
    pub samples: Vec<TimelineSample>,
}

/// One sample: the counts at a moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TimelineSample {
    /// Seconds from the run's start.
    pub secs: f64,
    /// One count per series.
    pub counts: Vec<u64>,
}

impl Timeline {
    /// The counts over the run, with `markers`, as a chart whose y axis says `unit`.
    pub fn chart(&self, unit: &str, markers: &[Marker]) -> Chart {
        let end = markers
            .iter()
            .map(|m| m.until.unwrap_or(m.at))
            .chain(self.samples.last().map(|s| s.secs))
            .fold(1.0, f64::max);
        let top = self
            .samples
            .iter()
            .flat_map(|s| s.counts.iter().copied())
            .max()
            .unwrap_or(0);
        let mut chart = Chart::new(
            Axis::from_zero("seconds from the run's start", end),
            Axis::from_zero(&format!("{unit} (cumulative)"), top as f64),
        );
        if !self.samples.is_empty() {
            chart.lines = self
                .series
                .iter()
                .enumerate()
                .map(|(i, name)| Line {
                    name: name.clone(),
                    points: std::iter::once((0.0, 0.0))
                        .chain(
                            self.samples
                                .iter()
                                .map(|s| (s.secs, s.counts.get(i).copied().unwrap_or(0) as f64)),
                        )
                        .collect(),
                })
                .collect();
        }
        chart.markers = markers.to_vec();
        chart
    }
}

/// The chart of `timeline` (in `unit`) with the faults `fired` (on the same clock), as an SVG
/// element; empty when nothing was sampled.
pub fn progress_svg(timeline: &Timeline, unit: &str, fired: &[Fired]) -> String {
    if timeline.samples.is_empty() {
        return String::new();
    }
    timeline.chart(unit, &fault_markers(fired, 0.0)).svg()
}

/// The moments faults fired, on the run's clock (`offset`: when the faults' clock started): a
/// crash (its stage restarted), an outage or a database pause or lock (a span), a shard split
/// or a connection ended; call faults are many, so they are one marker per kind and second,
/// labelled with how many.
pub fn fault_markers(fired: &[Fired], offset: f64) -> Vec<Marker> {
    let mut markers = Vec::new();
    let mut calls: std::collections::BTreeMap<(u64, &str), u64> = Default::default();
    for f in fired {
        let at = f.at_ms as f64 / 1_000.0 + offset;
        let kind = f.kind.name();
        let span = |label: String| Marker {
            at,
            until: f.for_secs.map(|s| at + s),
            label,
        };
        let moment = |label: String| Marker {
            at,
            until: None,
            label,
        };
        let lasting = f.for_secs.unwrap_or(0.0);
        match f.kind {
            FaultKind::Crash => markers.push(moment(format!(
                "crash: {} restarted",
                f.stage.map_or("a stage", |stage| stage.name())
            ))),
            FaultKind::Outage => markers.push(span(format!("outage {lasting:.0} s"))),
            FaultKind::SplitShard => markers.push(moment("shard split".into())),
            FaultKind::DbPause => markers.push(span(format!("PostgreSQL paused {lasting:.0} s"))),
            FaultKind::DbLock => markers.push(span(format!("tables locked {lasting:.0} s"))),
            FaultKind::DbTerminate => markers.push(moment(match f.pass {
                Some(pass) => format!("COPY #{pass} ended"),
                None => "connections ended".into(),
            })),
            _ => *calls.entry((f.at_ms / 1_000, kind)).or_default() += 1,
        }
    }
    for ((second, kind), n) in calls {
        markers.push(Marker {
            at: second as f64 + offset,
            until: None,
            label: format!("{n} {kind}"),
        });
    }
    markers.sort_by(|a, b| a.at.total_cmp(&b.at));
    markers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_series_is_a_line_from_zero_through_its_samples() {
        let timeline = Timeline {
            series: vec!["uploaded".into(), "written".into()],
            samples: vec![
                TimelineSample {
                    secs: 1.0,
                    counts: vec![10, 4],
                },
                TimelineSample {
                    secs: 2.0,
                    counts: vec![20, 20],
                },
            ],
        };
        let chart = timeline.chart("files", &[]);
        assert_eq!(chart.lines.len(), 2);
        assert_eq!(chart.lines[1].points, [(0.0, 0.0), (1.0, 4.0), (2.0, 20.0)]);
        assert!(chart.y.max >= 20.0 && chart.x.max >= 2.0);
        assert!(Timeline::default().chart("files", &[]).lines.is_empty());
    }

    #[test]
    fn database_faults_are_spans_and_moments_and_call_faults_are_counted_per_second() {
        let fired = [
            Fired::moment(FaultKind::DbPause, 2_000, Some(3.0)),
            Fired::moment(FaultKind::DbLock, 500, Some(2.0)),
            Fired::on_copy(FaultKind::DbTerminate, 1, 900, None),
            Fired::moment(FaultKind::Throttle, 5_100, None),
            Fired::moment(FaultKind::Throttle, 5_900, None),
        ];
        let markers = fault_markers(&fired, 1.0);
        let labels: Vec<(&str, f64, Option<f64>)> = markers
            .iter()
            .map(|m| (m.label.as_str(), m.at, m.until))
            .collect();
        assert_eq!(
            labels,
            [
                ("tables locked 2 s", 1.5, Some(3.5)),
                ("COPY #1 ended", 1.9, None),
                ("PostgreSQL paused 3 s", 3.0, Some(6.0)),
                ("2 throttle", 6.0, None),
            ]
        );
    }
}
