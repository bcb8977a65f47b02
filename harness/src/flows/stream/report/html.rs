//! The stream run's section of the HTML report.
//!
//! The stream run's section of the HTML report (inline SVG, nothing fetched): its figures, the
//! AWS calls, events through each stage over time (lag is the gap between the lines), latency
//! percentiles over time and its distribution at HDR resolution, with the moments faults fired
//! and stages restarted marked on the time plots, and the partitions.

use std::fmt::Write as _;

use super::model::{LakeOnly, StreamReport};
use crate::flows::stream::judge::history::HistoryReport;
use crate::flows::stream::progress::Sample;
use crate::render::html::escape;
use crate::render::plot::{Axis, Bar, Chart, Line, Marker};
use crate::render::timeline::fault_markers;
use crate::verdict::latency::{bucket_floor, Bucket, Window};

/// The stream run's section: tables and plots, headings at level 3.
pub(super) fn section(r: &StreamReport) -> String {
    if let Some(lake) = &r.lake_only {
        return lake_section(r, lake);
    }
    let mut html = String::new();
    let c = &r.judged.reconciliation;
    html.push_str("<table><tr><th>events</th><th>found</th><th>missing</th><th>duplicated</th><th>quarantined</th><th>dead-lettered</th><th>events/s</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>max ms</th><th>CPU s</th><th>peak RSS MiB</th></tr>\n");
    let l = &r.judged.latency_ms;
    let res = &r.resources;
    let _ = writeln!(
        html,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.0}</td></tr></table>",
        c.events, c.found, c.missing, c.duplicated, c.quarantined, c.dead_lettered, r.events_per_sec(), l.p50, l.p90, l.p99, l.max,
        res.cpu_user_secs + res.cpu_system_secs, res.peak_rss_mib
    );
    html.push_str("<h3>AWS calls</h3>\n<table><tr><th>service</th><th>calls</th><th>errors</th><th>throttled</th></tr>\n");
    for (service, calls) in &r.aws_calls {
        let _ = writeln!(
            html,
            "<tr><td>{service}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            calls.calls, calls.errors, calls.throttles
        );
    }
    html.push_str("</table>\n");
    let offset = r.times.stages_started_secs;
    let mut markers = fault_markers(&r.faults_fired, offset);
    if let Some(alarms) = &r.alarms {
        let spans = alarms.alarm_spans(r.times.total_secs);
        markers.extend(spans.into_iter().map(|(name, at, until)| Marker {
            at,
            until: Some(until),
            label: format!("ALARM {name}"),
        }));
        markers.sort_by(|a, b| a.at.total_cmp(&b.at));
    }
    // Both time charts share one axis, so that a moment lines up across them.
    let end = time_span(&r.timeline, &r.judged.latency_over_time, offset, &markers);
    let source = match &r.judged.history {
        Some(_) => {
            "distinct events, from every event's history, each counted when first seen there"
        }
        None => "the stages' own counters",
    };
    let _ = writeln!(
        html,
        "<h3>Events through each stage (cumulative, {source}; the gap between two lines is the \
         lag between those stages)</h3>",
    );
    html.push_str(&stages_chart(&r.timeline, &markers, end).svg());
    if let Some(history) = &r.judged.history {
        html.push_str(&history_section(history));
    }
    html.push_str(
        "<h3>Latency over time: due to created in S3 (the time of S3's notification), by when \
         the object was written</h3>\n",
    );
    let windows = &r.judged.latency_over_time;
    html.push_str(&latency_over_time_chart(windows, offset, &markers, end).svg());
    html.push_str(
        "<h3>Latency distribution (HDR histogram, buckets of two significant digits, log \
         axis)</h3>\n",
    );
    html.push_str(&latency_chart(&r.judged.latency_histogram).svg());
    html.push_str(
        "<h3>Partitions</h3>\n<table><tr><th>partition</th><th>objects</th><th>events</th></tr>\n",
    );
    for (partition, p) in &r.judged.partitions {
        let _ = writeln!(
            html,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            escape(partition),
            p.objects,
            p.events
        );
    }
    html.push_str("</table>\n");
    let _ = writeln!(
        html,
        "<h3>Price alerts</h3>\n<p class=\"alerts\">{}</p>",
        escape(&r.judged.alerts.describe())
    );
    if !r.fault_rules.is_empty() {
        html.push_str("<h3>Fault rules</h3>\n");
        html.push_str(&crate::render::html::table(
            &["rule", "what", "fired"],
            crate::verdict::fault_rules::rows(&r.fault_rules),
        ));
    }
    if let Some(alarms) = &r.alarms {
        html.push_str(&alarms.html());
    }
    if !r.sinks.is_empty() {
        html.push_str(&crate::flows::stream::judge::sinks::render_html(&r.sinks));
    }
    if let Some(web) = &r.web {
        html.push_str(&web.render_html());
    }
    html
}

/// Every event's history: the distinct events each stage saw, the anomalies, and the first
/// events of each with where they were last seen.
fn history_section(history: &HistoryReport) -> String {
    let order = history
        .out_of_order
        .map_or("not known".into(), |n| n.to_string());
    let read_back = history.read_back.iter().map(|r| r.describe());
    let lines: Vec<String> = read_back
        .chain(history.out_of_order_examples.iter().cloned())
        .collect();
    history.summary.html(
        "Every event's history: distinct events at each stage",
        &[("out of order into SQS", order)],
        &lines,
    )
}

/// A lake judged alone: what it was reconciled on, what it could not show, and its partitions
/// (no stage ran: no charts).
fn lake_section(r: &StreamReport, lake: &LakeOnly) -> String {
    let c = &r.judged.reconciliation;
    let mut html = format!(
        "<p class=\"lake-only\">The lake <code>s3://{}</code> judged alone against the scenario \
         regenerated from its seed; not judged (the lake does not show them): {}.</p>\n",
        escape(&lake.bucket),
        escape(&lake.not_judged.join(", "))
    );
    html.push_str(&crate::render::html::table(
        &[
            "events",
            "found",
            "missing",
            "duplicated",
            "quarantined",
            "misplaced",
            "altered",
        ],
        [[
            c.events,
            c.found,
            c.missing,
            c.duplicated,
            c.quarantined,
            c.misplaced,
            c.altered,
        ]],
    ));
    html.push_str(&crate::render::html::table(
        &["partition", "objects", "events"],
        r.judged
            .partitions
            .iter()
            .map(|(k, p)| [k.clone(), p.objects.to_string(), p.events.to_string()]),
    ));
    html
}

/// The seconds both time charts span: to the last sample, window or marker.
pub fn time_span(samples: &[Sample], windows: &[Window], offset: f64, markers: &[Marker]) -> f64 {
    let sampled = samples.last().map_or(0.0, |s| s.at_ms as f64 / 1_000.0);
    let written = windows
        .last()
        .map_or(0.0, |w| w.end_ms as f64 / 1_000.0 + offset);
    markers
        .iter()
        .map(|m| m.until.unwrap_or(m.at))
        .fold(sampled.max(written), f64::max)
        .max(1.0)
}

/// Cumulative events per stage over the run's first `end` seconds, with the fault markers.
pub fn stages_chart(samples: &[Sample], markers: &[Marker], end: f64) -> Chart {
    let top = samples
        .iter()
        .map(|s| s.kinesis.max(s.sqs).max(s.s3))
        .max()
        .unwrap_or(0);
    let mut chart = Chart::new(
        Axis::from_zero("seconds from the run's start", end),
        Axis::from_zero("events (cumulative)", top as f64),
    );
    let line = |name: &str, of: fn(&Sample) -> u64| Line {
        name: name.into(),
        points: std::iter::once((0.0, 0.0))
            .chain(
                samples
                    .iter()
                    .map(|s| (s.at_ms as f64 / 1_000.0, of(s) as f64)),
            )
            .collect(),
    };
    if !samples.is_empty() {
        chart.lines = vec![
            line("into Kinesis", |s| s.kinesis),
            line("into SQS", |s| s.sqs),
            line("into the S3 lake", |s| s.s3),
        ];
    }
    chart.markers = markers.to_vec();
    chart
}

/// p50, p90 and p99 latency per window of write time, over the run's first `end` seconds, with
/// the fault markers.
pub fn latency_over_time_chart(
    windows: &[Window],
    offset: f64,
    markers: &[Marker],
    end: f64,
) -> Chart {
    let top = windows.iter().map(|w| w.latency.p99).max().unwrap_or(0);
    let mut chart = Chart::new(
        Axis::from_zero(
            "seconds from the run's start (when the object was written)",
            end,
        ),
        Axis::from_zero("latency (ms)", top as f64),
    );
    let line = |name: &str, of: fn(&Window) -> u64| Line {
        name: name.into(),
        points: windows
            .iter()
            .map(|w| (w.end_ms as f64 / 1_000.0 + offset, of(w) as f64))
            .collect(),
    };
    if !windows.is_empty() {
        chart.lines = vec![
            line("p50", |w| w.latency.p50),
            line("p90", |w| w.latency.p90),
            line("p99", |w| w.latency.p99),
        ];
    }
    chart.markers = markers.to_vec();
    chart
}

/// The HDR buckets as bars on a logarithmic latency axis.
pub fn latency_chart(buckets: &[Bucket]) -> Chart {
    let lowest = buckets.first().map_or(1, |b| b.le_ms) as f64;
    let highest = buckets.last().map_or(10, |b| b.le_ms) as f64;
    let most = buckets.iter().map(|b| b.count).max().unwrap_or(0);
    let mut chart = Chart::new(
        Axis::log("latency (ms, log scale)", (lowest / 2.0).max(0.1), highest),
        Axis::from_zero("events", most as f64),
    );
    chart.bars = buckets
        .iter()
        .map(|b| {
            let floor = bucket_floor(b.le_ms);
            Bar {
                // The first bucket, (0, 1], is drawn from 0.5 ms: a log axis has no 0.
                from: if floor == 0 { 0.5 } else { floor as f64 },
                to: b.le_ms as f64,
                height: b.count as f64,
                title: format!("{floor} < latency <= {} ms: {} events", b.le_ms, b.count),
            }
        })
        .collect();
    chart
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickflow_pipeline::chaos::{FaultKind, Fired};

    fn sample(at_ms: u64, kinesis: u64, sqs: u64, s3: u64) -> Sample {
        Sample {
            at_ms,
            kinesis,
            sqs,
            s3,
        }
    }

    #[test]
    fn the_stages_chart_is_cumulative_and_reaches_every_event() {
        let samples = [sample(1_000, 600, 300, 0), sample(2_000, 1_000, 1_000, 900)];
        let chart = stages_chart(&samples, &[], time_span(&samples, &[], 0.0, &[]));
        assert_eq!(chart.lines.len(), 3);
        assert_eq!(chart.lines[0].points.last(), Some(&(2.0, 1_000.0)));
        assert_eq!(
            chart.lines[2].points,
            [(0.0, 0.0), (1.0, 0.0), (2.0, 900.0)]
        );
        assert_eq!(chart.y.max, 1_000.0);
        let svg = chart.svg();
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert!(
            svg.contains(">1000</text>") && svg.contains("events (cumulative)"),
            "{svg}"
        );
    }

    #[test]
    fn faults_become_markers_on_the_runs_clock() {
        let crash = Fired {
            stage: Some(tickflow_pipeline::chaos::Stage::Bridge),
            ..Fired::moment(FaultKind::Crash, 2_000, None)
        };
        let outage = Fired::moment(FaultKind::Outage, 4_000, Some(3.0));
        let throttle = Fired::moment(FaultKind::Throttle, 5_100, None);
        let fired = [crash, outage, throttle.clone(), throttle];
        let markers = fault_markers(&fired, 1.5);
        let shown: Vec<(f64, Option<f64>, &str)> = markers
            .iter()
            .map(|m| (m.at, m.until, m.label.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                (3.5, None, "crash: bridge restarted"),
                (5.5, Some(8.5), "outage 3 s"),
                (6.5, None, "2 throttle"),
            ]
        );
        // The time axis reaches the end of the outage even after the last sample.
        let samples = [sample(5_000, 10, 10, 10)];
        let end = time_span(&samples, &[], 1.5, &markers);
        assert_eq!(end, 8.5);
        assert_eq!(stages_chart(&samples, &markers, end).x.max, 10.0);
    }

    #[test]
    fn the_latency_histogram_is_drawn_at_its_buckets_on_a_log_axis() {
        let buckets = [
            Bucket { le_ms: 1, count: 3 },
            Bucket {
                le_ms: 5_300,
                count: 9,
            },
            Bucket {
                le_ms: 5_400,
                count: 1,
            },
        ];
        let chart = latency_chart(&buckets);
        assert_eq!((chart.x.min, chart.x.max), (0.1, 10_000.0));
        let edges: Vec<(f64, f64)> = chart.bars.iter().map(|b| (b.from, b.to)).collect();
        assert_eq!(edges, [(0.5, 1.0), (5_200.0, 5_300.0), (5_300.0, 5_400.0)]);
        let svg = chart.svg();
        assert_eq!(svg.matches("<rect class=\"mark\"").count(), 3);
        assert!(
            svg.contains("5200 &lt; latency &lt;= 5300 ms: 9 events"),
            "{svg}"
        );
        assert!(latency_chart(&[]).svg().contains("no data"));
    }

    #[test]
    fn latency_over_time_draws_three_percentiles() {
        let w = |end_ms, p50, p99| Window {
            end_ms,
            latency: crate::verdict::latency::Latency {
                count: 10,
                p50,
                p90: p50,
                p99,
                max: p99,
            },
        };
        let windows = [w(1_000, 5, 40), w(2_000, 7, 90)];
        let end = time_span(&[], &windows, 2.0, &[]);
        assert_eq!(end, 4.0);
        let chart = latency_over_time_chart(&windows, 2.0, &[], end);
        let names: Vec<&str> = chart.lines.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["p50", "p90", "p99"]);
        assert_eq!(chart.lines[2].points, [(3.0, 40.0), (4.0, 90.0)]);
        assert_eq!(chart.y.max, 100.0);
    }
}
