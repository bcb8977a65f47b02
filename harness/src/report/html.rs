//! The HTML report: one self-contained page.
//!
//! The HTML report: one self-contained page (inline CSS and SVG, nothing fetched) with a
//! section per scenario, whatever its flow: the verdict, the summary line, every failed check
//! with what was expected and what was found, then the flow's own tables and plots.

use std::fmt::Write as _;

use crate::render::html::escape;
use crate::scenario::Outcome;
use crate::verdict::{verdict, Failure};

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\
    table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}\
    th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}\
    .pass{color:#196c2e}.fail{color:#b3261e}svg{background:#fcfcfc;border:1px solid #ddd}\
    section{margin-bottom:3em}table.checks td,table.checks th{text-align:left}table.checks td.failed{color:#b3261e;font-weight:600}";

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

/// The failed checks, each with what it expected and what the run showed: at the top of the
/// section, so that a FAIL says why before anything else.
fn failed_checks(o: &Outcome) -> String {
    if o.failures().is_empty() {
        return String::new();
    }
    let mut html = format!("<h3>Failed checks ({})</h3>\n", o.failures().len());
    html.push_str(&checks_table(o.failures().iter().map(|f| ("FAILED", f))));
    html
}

/// Every check of the run, the failed ones first, then those that held: at the end of the
/// section.
fn every_check(o: &Outcome) -> String {
    let held = o.report().map_or(&[][..], |r| r.held());
    let failed = o.failures();
    if failed.is_empty() && held.is_empty() {
        return String::new();
    }
    let mut html = format!(
        "<h3>Every check: {} failed, {} held</h3>\n",
        failed.len(),
        held.len()
    );
    let rows = failed
        .iter()
        .map(|f| ("FAILED", f))
        .chain(held.iter().map(|f| ("held", f)));
    html.push_str(&checks_table(rows));
    html
}

/// A table of checks: result, check, expected, actual.
fn checks_table<'a>(rows: impl Iterator<Item = (&'static str, &'a Failure)>) -> String {
    let mut html = String::from(
        "<table class=\"checks\"><tr><th>result</th><th>check</th><th>expected</th><th>actual</th></tr>\n",
    );
    for (result, f) in rows {
        let class = if result == "FAILED" {
            " class=\"failed\""
        } else {
            ""
        };
        let _ = writeln!(
            html,
            "<tr><td{class}>{result}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&f.check),
            escape(&f.expected),
            escape(&f.actual)
        );
    }
    html.push_str("</table>\n");
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
    html.push_str(&failed_checks(o));
    if let Some(report) = o.report() {
        html.push_str(&report.html_section());
    }
    html.push_str(&every_check(o));
    html.push_str("</section>\n");
    html
}
