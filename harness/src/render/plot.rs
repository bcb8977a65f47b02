//! Charts as inline SVG for the HTML reports.
//!
//! Charts as inline SVG for the HTML reports: axes with nice ticks and short labels (`1.5k`,
//! `2M`), a linear or logarithmic scale, lines, bars, and markers for moments (a fault, a
//! restart) or spans (an outage). Nothing is fetched and nothing runs: the page stays one file.
//!
//! Every mark carries `class="mark"` and every label stays inside the chart's box, which the
//! Chromium check (`bench/report-check.sh`) measures on the rendered page.

use std::fmt::Write as _;

use crate::render::html::escape;

/// Chart size in CSS pixels.
const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 300.0;
/// Room for the y tick labels and the y axis title.
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
/// Room for the legend.
const TOP: f64 = 34.0;
/// Room for the x tick labels and the x axis title.
const BOTTOM: f64 = 46.0;
/// Colours of successive lines (colour-blind safe).
pub const PALETTE: [&str; 6] = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00",
];

/// How values map onto an axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Evenly.
    Linear,
    /// By powers of ten (every value must be positive).
    Log,
}

/// One axis: its title (with the unit), range and scale.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Shown along the axis, e.g. `seconds from start`.
    pub title: String,
    /// Smallest value shown.
    pub min: f64,
    /// Largest value shown.
    pub max: f64,
    /// Linear or logarithmic.
    pub scale: Scale,
}

impl Axis {
    /// A linear axis from 0 up to a nice value at or above `max`.
    pub fn from_zero(title: &str, max: f64) -> Self {
        Self {
            title: title.into(),
            min: 0.0,
            max: nice(max),
            scale: Scale::Linear,
        }
    }

    /// A logarithmic axis from the power of ten at or below `min` to the one at or above `max`.
    pub fn log(title: &str, min: f64, max: f64) -> Self {
        let low = 10f64.powf(min.max(1e-9).log10().floor());
        let high = 10f64.powf(max.max(1e-9).log10().ceil()).max(low * 10.0);
        Self {
            title: title.into(),
            min: low,
            max: high,
            scale: Scale::Log,
        }
    }

    /// Where `value` falls, 0 at `min` to 1 at `max` (clamped).
    fn fraction(&self, value: f64) -> f64 {
        let f = match self.scale {
            Scale::Linear => (value - self.min) / (self.max - self.min),
            Scale::Log => {
                (value.max(self.min).log10() - self.min.log10())
                    / (self.max.log10() - self.min.log10())
            }
        };
        if f.is_finite() {
            f.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    /// The tick values: 4 to 10 nice steps on a linear axis, every power of ten on a log one.
    pub fn ticks(&self) -> Vec<f64> {
        match self.scale {
            Scale::Linear => {
                let step = nice_step((self.max - self.min) / 5.0);
                let first = (self.min / step).ceil() as i64;
                let last = (self.max / step + 1e-9).floor() as i64;
                (first..=last).map(|k| k as f64 * step).collect()
            }
            Scale::Log => {
                let (a, b) = (
                    self.min.log10().round() as i32,
                    self.max.log10().round() as i32,
                );
                // Up to three decades, 2 and 5 times each power are ticked too.
                let steps: &[f64] = if b - a <= 3 { &[1.0, 2.0, 5.0] } else { &[1.0] };
                (a..=b)
                    .flat_map(|e| steps.iter().map(move |m| m * 10f64.powi(e)))
                    .filter(|t| *t <= self.max * (1.0 + 1e-9))
                    .collect()
            }
        }
    }
}

/// A line through points (x, y), named in the legend.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Legend entry.
    pub name: String,
    /// The points, in x order.
    pub points: Vec<(f64, f64)>,
}

/// A bar from `from` to `to` on the x axis, `height` high, with a tooltip.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Left edge.
    pub from: f64,
    /// Right edge.
    pub to: f64,
    /// Height.
    pub height: f64,
    /// Tooltip.
    pub title: String,
}

/// A moment (a fault fired, a stage restarted) or a span (an outage) on the x axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// When.
    pub at: f64,
    /// Until when, for a span.
    pub until: Option<f64>,
    /// Short label, drawn at the top of the marker.
    pub label: String,
}

/// One chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Horizontal axis.
    pub x: Axis,
    /// Vertical axis.
    pub y: Axis,
    /// Lines, coloured from [`PALETTE`] in order.
    pub lines: Vec<Line>,
    /// Bars.
    pub bars: Vec<Bar>,
    /// Moments and spans.
    pub markers: Vec<Marker>,
    /// Said in the middle of the chart when it has no data.
    pub empty_note: String,
}

impl Chart {
    /// An empty chart over these axes.
    pub fn new(x: Axis, y: Axis) -> Self {
        Self {
            x,
            y,
            lines: Vec::new(),
            bars: Vec::new(),
            markers: Vec::new(),
            empty_note: "no data".into(),
        }
    }

    fn px(&self, x: f64) -> f64 {
        LEFT + self.x.fraction(x) * (WIDTH - LEFT - RIGHT)
    }

    fn py(&self, y: f64) -> f64 {
        HEIGHT - BOTTOM - self.y.fraction(y) * (HEIGHT - TOP - BOTTOM)
    }

    /// The chart as one `<svg class="chart">` element.
    pub fn svg(&self) -> String {
        let mut svg = format!(
            "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" \
             height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"system-ui,sans-serif\">"
        );
        self.axes(&mut svg);
        self.draw_markers(&mut svg);
        self.draw_bars(&mut svg);
        self.draw_lines(&mut svg);
        self.legend(&mut svg);
        if self.lines.iter().all(|l| l.points.is_empty()) && self.bars.is_empty() {
            let _ = write!(
                svg,
                "<text x=\"{}\" y=\"{}\" font-size=\"13\" text-anchor=\"middle\" fill=\"#777\">{}</text>",
                WIDTH / 2.0,
                HEIGHT / 2.0,
                escape(&self.empty_note)
            );
        }
        svg.push_str("</svg>\n");
        svg
    }

    /// The frame, grid lines, tick labels and both axis titles.
    fn axes(&self, svg: &mut String) {
        let (x0, x1, y0, y1) = (LEFT, WIDTH - RIGHT, HEIGHT - BOTTOM, TOP);
        for t in self.y.ticks() {
            let y = self.py(t);
            let _ = write!(
                svg,
                "<line x1=\"{x0}\" y1=\"{y:.1}\" x2=\"{x1}\" y2=\"{y:.1}\" stroke=\"#e4e4e4\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
                x0 - 6.0,
                y + 4.0,
                short(t)
            );
        }
        for t in self.x.ticks() {
            let x = self.px(t);
            let _ = write!(
                svg,
                "<line x1=\"{x:.1}\" y1=\"{y0}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#888\"/>\
                 <text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
                y0 + 4.0,
                y0 + 16.0,
                short(t)
            );
        }
        let _ = write!(
            svg,
            "<line x1=\"{x0}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\" stroke=\"#888\"/>\
             <line x1=\"{x0}\" y1=\"{y0}\" x2=\"{x0}\" y2=\"{y1}\" stroke=\"#888\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\">{}</text>\
             <text transform=\"translate(16 {:.1}) rotate(-90)\" font-size=\"12\" text-anchor=\"middle\">{}</text>",
            (x0 + x1) / 2.0,
            HEIGHT - 8.0,
            escape(&self.x.title),
            (y0 + y1) / 2.0,
            escape(&self.y.title)
        );
    }

    fn draw_markers(&self, svg: &mut String) {
        // Where each of the two label rows is free again: close moments alternate rows, and a
        // label that would still overlap is left to the marker's tooltip.
        let mut free_from = [f64::MIN; 2];
        for m in &self.markers {
            let x = self.px(m.at);
            let label = escape(&m.label);
            match m.until {
                Some(until) => {
                    let w = (self.px(until) - x).max(2.0);
                    let _ = write!(
                        svg,
                        "<rect class=\"mark marker\" x=\"{x:.1}\" y=\"{TOP}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"#d55e00\" fill-opacity=\"0.15\"><title>{label}</title></rect>",
                        HEIGHT - TOP - BOTTOM
                    );
                }
                None => {
                    let _ = write!(
                        svg,
                        "<line class=\"mark marker\" x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#d55e00\" stroke-dasharray=\"4 3\"><title>{label}</title></line>",
                        HEIGHT - BOTTOM
                    );
                }
            }
            let shown = cut_label(&m.label);
            let width = label_width(&m.label);
            // A label near the right edge is drawn leftwards.
            let (left, anchor, tx) = if x + 3.0 + width > WIDTH - RIGHT {
                (x - 3.0 - width, "end", x - 3.0)
            } else {
                (x, "start", x + 3.0)
            };
            let Some(row) = (0..2).find(|r| free_from[*r] <= left) else {
                continue;
            };
            free_from[row] = left + width + 8.0;
            let _ = write!(
                svg,
                "<text x=\"{tx:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#a33f00\" text-anchor=\"{anchor}\">{shown}</text>",
                TOP + 11.0 + row as f64 * 11.0,
            );
        }
    }

    fn draw_bars(&self, svg: &mut String) {
        for b in &self.bars {
            let (left, right) = (self.px(b.from), self.px(b.to));
            let top = self.py(b.height);
            let _ = write!(
                svg,
                "<rect class=\"mark\" x=\"{left:.2}\" y=\"{top:.1}\" width=\"{:.2}\" height=\"{:.1}\" fill=\"#6a51a3\"><title>{}</title></rect>",
                (right - left).max(1.0),
                (HEIGHT - BOTTOM - top).max(0.0),
                escape(&b.title)
            );
        }
    }

    fn draw_lines(&self, svg: &mut String) {
        for (line, colour) in self.lines.iter().zip(PALETTE.iter().cycle()) {
            if line.points.is_empty() {
                continue;
            }
            let points: Vec<String> = line
                .points
                .iter()
                .map(|(x, y)| format!("{:.1},{:.1}", self.px(*x), self.py(*y)))
                .collect();
            let _ = write!(
                svg,
                "<polyline class=\"mark\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"><title>{}</title></polyline>",
                points.join(" "),
                escape(&line.name)
            );
        }
    }

    fn legend(&self, svg: &mut String) {
        let mut x = LEFT;
        for (line, colour) in self.lines.iter().zip(PALETTE.iter().cycle()) {
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"6\" width=\"14\" height=\"4\" fill=\"{colour}\"/>\
                 <text x=\"{:.1}\" y=\"12\" font-size=\"11\">{}</text>",
                x + 18.0,
                escape(&line.name)
            );
            x += 30.0 + 6.5 * line.name.chars().count() as f64;
        }
    }
}

/// About how wide a marker label is drawn, in pixels (10 px text).
fn label_width(label: &str) -> f64 {
    5.6 * label.chars().count().min(24) as f64
}

/// A label of at most 24 characters (the tooltip keeps the whole).
fn cut_label(label: &str) -> String {
    let shown: String = label.chars().take(24).collect();
    if shown.len() < label.len() {
        escape(&format!("{}…", shown.chars().take(23).collect::<String>()))
    } else {
        escape(&shown)
    }
}

/// A tick label short enough for its slot: `950`, `1.5k`, `20k`, `1M`, `0.25`.
pub fn short(value: f64) -> String {
    let a = value.abs();
    let (scaled, suffix) = if a >= 1e9 {
        (value / 1e9, "G")
    } else if a >= 1e6 {
        (value / 1e6, "M")
    } else if a >= 1e4 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let text = if scaled.fract().abs() < 1e-9 {
        format!("{scaled:.0}")
    } else if scaled.abs() >= 10.0 {
        format!("{scaled:.1}")
    } else {
        format!("{scaled:.2}")
    };
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    format!("{text}{suffix}")
}

/// The next nice axis maximum: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten (so
/// that data fill most of the height), 1 for anything up to 1.
pub fn nice(value: f64) -> f64 {
    if value.is_nan() || value <= 1.0 {
        return 1.0;
    }
    round_up(value, &[1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0])
}

/// A nice tick step at or above `raw`: 1, 2 or 5 times a power of ten.
fn nice_step(raw: f64) -> f64 {
    if raw.is_nan() || raw <= 0.0 || raw.is_infinite() {
        return 1.0;
    }
    round_up(raw, &[1.0, 2.0, 5.0])
}

/// The smallest of `multiples` times a power of ten that is at least `value` (positive).
fn round_up(value: f64, multiples: &[f64]) -> f64 {
    let power = 10f64.powf(value.log10().floor());
    multiples
        .iter()
        .map(|m| m * power)
        .find(|v| *v >= value * (1.0 - 1e-12))
        .unwrap_or(10.0 * power)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn labels_are_short_and_exact() {
        let shown: Vec<String> = [
            0.0,
            950.0,
            1_000.0,
            15_000.0,
            200_000.0,
            1_000_000.0,
            2.5e6,
            0.25,
        ]
        .iter()
        .map(|v| short(*v))
        .collect();
        assert_eq!(
            shown,
            ["0", "950", "1000", "15k", "200k", "1M", "2.5M", "0.25"]
        );
    }

    #[test]
    fn axes_tick_at_nice_values() {
        let a = Axis::from_zero("events", 1_000_000.0);
        assert_eq!(a.max, 1_000_000.0);
        assert_eq!(
            a.ticks(),
            [0.0, 200_000.0, 400_000.0, 600_000.0, 800_000.0, 1_000_000.0]
        );
        let l = Axis::log("ms", 3.0, 5_507.0);
        assert_eq!((l.min, l.max), (1.0, 10_000.0));
        assert_eq!(l.ticks(), [1.0, 10.0, 100.0, 1_000.0, 10_000.0]);
        assert!((l.fraction(100.0) - 0.5).abs() < 1e-9);
        let l = Axis::log("ms", 150.0, 5_507.0);
        assert_eq!(
            l.ticks(),
            [100.0, 200.0, 500.0, 1_000.0, 2_000.0, 5_000.0, 10_000.0]
        );
        assert_eq!(
            (
                Axis::log("ms", 2_100.0, 6_200.0).min,
                Axis::log("ms", 2_100.0, 6_200.0).max
            ),
            (1_000.0, 10_000.0)
        );
        assert_eq!(Axis::log("ms", 1_000.0, 1_000.0).max, 10_000.0);
        assert_eq!(nice(5_001.0), 6_000.0);
        assert_eq!(nice(540.0), 600.0);
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(1_700.0), 2_000.0);
    }

    #[test]
    fn a_chart_draws_every_mark_and_says_when_it_has_none() {
        let mut chart = Chart::new(Axis::from_zero("s", 10.0), Axis::from_zero("events", 100.0));
        assert!(chart.svg().contains(">no data</text>"));
        chart.lines.push(Line {
            name: "S3 <lake>".into(),
            points: vec![(0.0, 0.0), (10.0, 100.0)],
        });
        chart.markers.push(Marker {
            at: 5.0,
            until: Some(7.0),
            label: "outage".into(),
        });
        chart.markers.push(Marker {
            at: 9.9,
            until: None,
            label: "crash of the bridge".into(),
        });
        let svg = chart.svg();
        assert_eq!(svg.matches("class=\"mark").count(), 3, "{svg}");
        assert!(svg.contains(">outage</text>") && svg.contains("text-anchor=\"end\">crash"));
        assert!(svg.contains("S3 &lt;lake&gt;") && !svg.contains("<lake>"));
        assert!(!svg.contains("no data"));
        // The line ends at the top right corner of the plot area.
        assert!(
            svg.contains(&format!("{:.1},{:.1}", WIDTH - RIGHT, TOP)),
            "{svg}"
        );
    }

    #[test]
    fn crowded_markers_keep_their_tooltips_and_drop_labels_that_would_overlap() {
        let mut chart = Chart::new(Axis::from_zero("s", 100.0), Axis::from_zero("n", 1.0));
        chart.markers = (0..100)
            .map(|i| Marker {
                at: f64::from(i),
                until: None,
                label: format!("{i} throttle"),
            })
            .collect();
        let svg = chart.svg();
        assert_eq!(svg.matches("<title>").count(), 100);
        let labels = svg.matches("fill=\"#a33f00\"").count();
        assert!((10..40).contains(&labels), "{labels} labels");
    }

    proptest! {
        /// Whatever the data, every tick lies inside the plot area.
        #[test]
        fn ticks_stay_inside_the_axis(max in 0.0f64..1e12, min in 1e-3f64..1e6) {
            let linear = Axis::from_zero("x", max);
            for t in linear.ticks() {
                prop_assert!(t >= linear.min - 1e-9 && t <= linear.max * (1.0 + 1e-9));
            }
            prop_assert!((3..=11).contains(&linear.ticks().len()));
            let log = Axis::log("x", min, min * 50.0);
            prop_assert!(log.ticks().len() >= 2);
            for t in log.ticks() {
                prop_assert!(t >= log.min * (1.0 - 1e-9) && t <= log.max * (1.0 + 1e-9));
            }
        }
    }
}
