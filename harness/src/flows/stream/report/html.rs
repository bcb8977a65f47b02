//! The stream run's section of the HTML report (inline SVG, nothing fetched): its figures, the
//! AWS calls, throughput per stage over time, the latency distribution and the partitions.

use std::fmt::Write as _;

use super::StreamReport;
use crate::flows::stream::progress::Sample;
use crate::html::escape;
use crate::latency::Bucket;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const MARGIN: f64 = 48.0;

/// The stream run's section: tables and plots, headings at level 3.
pub(super) fn section(r: &StreamReport) -> String {
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
    html.push_str("</table>\n<h3>Throughput per stage (events/s)</h3>\n");
    html.push_str(&throughput_svg(&r.timeline));
    html.push_str("<h3>Latency, due to created in S3 (the time of S3's notification)</h3>\n");
    html.push_str(&latency_svg(&r.judged.latency_histogram));
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
    if !r.sinks.is_empty() {
        html.push_str(&crate::flows::stream::sinks::render_html(&r.sinks));
    }
    if let Some(web) = &r.web {
        html.push_str(&web.render_html());
    }
    html
}

/// Events per second of each stage between consecutive samples, as three lines.
pub fn throughput_svg(samples: &[Sample]) -> String {
    let mut series: [Vec<(f64, f64)>; 3] = Default::default();
    let mut previous = Sample::default();
    for s in samples {
        let dt = (s.at_ms.saturating_sub(previous.at_ms)) as f64 / 1_000.0;
        if dt > 0.0 {
            let t = s.at_ms as f64 / 1_000.0;
            for (i, (now, before)) in [
                (s.kinesis, previous.kinesis),
                (s.sqs, previous.sqs),
                (s.s3, previous.s3),
            ]
            .into_iter()
            .enumerate()
            {
                series[i].push((t, now.saturating_sub(before) as f64 / dt));
            }
        }
        previous = *s;
    }
    let max_t = series[0].last().map_or(1.0, |p| p.0).max(1.0);
    let max_y = nice(series.iter().flatten().map(|p| p.1).fold(1.0, f64::max));
    let mut svg = frame(&format!("{max_y:.0}"), "0", "0 s", &format!("{max_t:.0} s"));
    for ((points, colour), name) in series
        .iter()
        .zip(["#1f77b4", "#ff7f0e", "#2ca02c"])
        .zip(["Kinesis", "SQS", "S3"])
    {
        let path: Vec<String> = points
            .iter()
            .map(|(t, y)| format!("{:.1},{:.1}", x_at(*t / max_t), y_at(*y / max_y)))
            .collect();
        let _ = write!(svg, "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"><title>{name}</title></polyline>", path.join(" "));
    }
    for (i, (colour, name)) in [
        ("#1f77b4", "Kinesis"),
        ("#ff7f0e", "SQS"),
        ("#2ca02c", "S3"),
    ]
    .iter()
    .enumerate()
    {
        let x = MARGIN + 10.0 + i as f64 * 90.0;
        let _ = write!(svg, "<rect x=\"{x}\" y=\"8\" width=\"12\" height=\"12\" fill=\"{colour}\"/><text x=\"{}\" y=\"19\" font-size=\"12\">{name}</text>", x + 16.0);
    }
    svg.push_str("</svg>\n");
    svg
}

/// The latency buckets as bars, from the first non-empty one.
pub fn latency_svg(buckets: &[Bucket]) -> String {
    let start = buckets.iter().position(|b| b.count > 0).unwrap_or(0);
    let buckets = &buckets[start..];
    let max_count = nice(buckets.iter().map(|b| b.count as f64).fold(1.0, f64::max));
    let first = buckets.first().map_or(1, |b| b.le_ms);
    let last = buckets.last().map_or(1, |b| b.le_ms);
    let mut svg = frame(
        &format!("{max_count:.0}"),
        "0",
        &format!("<= {first} ms"),
        &format!("<= {last} ms"),
    );
    let n = buckets.len().max(1) as f64;
    let slot = (WIDTH - 2.0 * MARGIN) / n;
    for (i, b) in buckets.iter().enumerate() {
        let h = (b.count as f64 / max_count) * (HEIGHT - 2.0 * MARGIN);
        let x = MARGIN + i as f64 * slot + 1.0;
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#6a51a3\"><title>&lt;= {} ms: {}</title></rect>",
            HEIGHT - MARGIN - h,
            (slot - 2.0).max(1.0),
            b.le_ms,
            b.count
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// An SVG with axes and corner labels; the caller adds the data and closes it.
fn frame(y_top: &str, y_bottom: &str, x_left: &str, x_right: &str) -> String {
    let (x0, y0, x1, y1) = (MARGIN, HEIGHT - MARGIN, WIDTH - MARGIN, MARGIN);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\">\
         <line x1=\"{x0}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\" stroke=\"#888\"/><line x1=\"{x0}\" y1=\"{y0}\" x2=\"{x0}\" y2=\"{y1}\" stroke=\"#888\"/>\
         <text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{y_top}</text>\
         <text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{y_bottom}</text>\
         <text x=\"{x0}\" y=\"{}\" font-size=\"11\">{}</text>\
         <text x=\"{x1}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
        x0 - 4.0,
        y1 + 4.0,
        x0 - 4.0,
        y0,
        y0 + 16.0,
        escape(x_left),
        y0 + 16.0,
        escape(x_right)
    )
}

fn x_at(fraction: f64) -> f64 {
    MARGIN + fraction.clamp(0.0, 1.0) * (WIDTH - 2.0 * MARGIN)
}

fn y_at(fraction: f64) -> f64 {
    HEIGHT - MARGIN - fraction.clamp(0.0, 1.0) * (HEIGHT - 2.0 * MARGIN)
}

/// The next "nice" axis maximum: 1, 2 or 5 times a power of ten.
fn nice(value: f64) -> f64 {
    let power = 10f64.powf(value.max(1.0).log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|v| *v >= value)
        .unwrap_or(10.0 * power)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throughput_is_the_rate_between_samples() {
        let samples = [
            Sample {
                at_ms: 1_000,
                kinesis: 1_000,
                sqs: 0,
                s3: 0,
            },
            Sample {
                at_ms: 2_000,
                kinesis: 3_000,
                sqs: 1_000,
                s3: 0,
            },
        ];
        let svg = throughput_svg(&samples);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<polyline").count(), 3);
        // 2,000 events/s is the peak, so the axis tops out at 2000.
        assert!(svg.contains(">2000</text>"), "{svg}");
    }

    #[test]
    fn nice_axis_maxima() {
        assert_eq!(nice(0.5), 1.0);
        assert_eq!(nice(1_700.0), 2_000.0);
        assert_eq!(nice(21_000.0), 50_000.0);
        assert_eq!(nice(100.0), 100.0);
    }

    #[test]
    fn a_bar_per_bucket_and_no_markup_from_names() {
        let buckets = [
            Bucket { le_ms: 1, count: 0 },
            Bucket { le_ms: 2, count: 3 },
            Bucket { le_ms: 4, count: 0 },
            Bucket { le_ms: 8, count: 9 },
        ];
        let svg = latency_svg(&buckets);
        assert_eq!(
            svg.matches("<rect").count(),
            3,
            "leading empty buckets are skipped"
        );
        assert!(svg.contains("&lt;= 2 ms") && svg.contains("&lt;= 8 ms"));
        assert_eq!(escape("<b>&\""), "&lt;b&gt;&amp;&quot;");
    }
}
