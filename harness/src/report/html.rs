//! The HTML report: one self-contained page (inline CSS and SVG, nothing fetched) with a
//! section per scenario, whatever its flow: the verdict, the summary line, every failed check
//! with what was expected and what was found, then the flow's own tables and plots.

use std::fmt::Write as _;

use crate::html::{escape, table};
use crate::scenario::Outcome;
use crate::verdict::verdict;

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\
    table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}\
    th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}\
    .pass{color:#196c2e}.fail{color:#b3261e}svg{background:#fcfcfc;border:1px solid #ddd}\
    section{margin-bottom:3em}";

/// One HTML page for `outcomes`.
pub fn page(title: &str, outcomes: &[Outcome]) -> String {
    let title = escape(title);
    let mut html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\n\
         <style>{STYLE}</style></head><body>\n<h1>{title}</h1>\n"
    );
    for outcome in outcomes {
        html.push_str(&section(outcome));
    }
    html.push_str("</body></html>\n");
    html
}

/// One scenario's section: `<section class="run" data-flow="...">`, which the Chromium check
/// (`bench/report-check.sh`) finds and requires to hold a filled table.
fn section(o: &Outcome) -> String {
    let flow = o.report().map_or("none", |r| r.flow());
    let class = if o.passed() { "pass" } else { "fail" };
    let mut html = format!("<section class=\"run\" data-flow=\"{flow}\">\n");
    let _ = writeln!(
        html,
        "<h2>{} <small>({flow})</small> <span class=\"{class}\">{}</span></h2>",
        escape(&o.name),
        verdict(o.passed())
    );
    let _ = writeln!(html, "<p><code>{}</code></p>", escape(&o.summary_line()));
    if let Some(error) = &o.error {
        let _ = writeln!(html, "<p class=\"fail\">run error: {}</p>", escape(error));
    }
    if !o.failures().is_empty() {
        html.push_str("<h3>Failed checks</h3>\n");
        let rows = o
            .failures()
            .iter()
            .map(|f| [f.check.clone(), f.expected.clone(), f.actual.clone()]);
        html.push_str(&table(&["check", "expected", "actual"], rows));
    }
    if let Some(report) = o.report() {
        html.push_str(&report.html_section());
    }
    html.push_str("</section>\n");
    html
}
