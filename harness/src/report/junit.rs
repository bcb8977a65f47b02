//! The JUnit XML report: one test suite, one test case per scenario, with its real time.

use std::fmt::Write as _;

use crate::scenario::Outcome;

/// The JUnit XML report.
pub fn junit(outcomes: &[Outcome]) -> String {
    let failed = outcomes.iter().filter(|o| !o.passed()).count();
    let total: f64 = outcomes.iter().map(Outcome::elapsed_secs).sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"tickflow\" tests=\"{}\" failures=\"{failed}\" time=\"{total:.3}\">",
        outcomes.len()
    );
    let _ = writeln!(
        xml,
        "  <testsuite name=\"scenarios\" tests=\"{}\" failures=\"{failed}\" time=\"{total:.3}\">",
        outcomes.len()
    );
    for o in outcomes {
        let _ = write!(
            xml,
            "    <testcase classname=\"scenario\" name=\"{}\" file=\"{}\" time=\"{:.3}\"",
            escape(&o.name),
            escape(&o.file),
            o.elapsed_secs()
        );
        let alarms = alarm_lines(o);
        if o.passed() && alarms.is_empty() {
            xml.push_str("/>\n");
            continue;
        }
        xml.push_str(">\n");
        if !o.passed() {
            let mut lines: Vec<String> = o.failures().iter().map(ToString::to_string).collect();
            lines.extend(o.error.iter().map(|e| format!("run error: {e}")));
            let message = lines.first().cloned().unwrap_or_default();
            let _ = writeln!(
                xml,
                "      <failure message=\"{}\">{}</failure>",
                escape(&message),
                escape(&lines.join("\n"))
            );
        }
        if !alarms.is_empty() {
            let out = escape(&alarms.join("\n"));
            let _ = writeln!(xml, "      <system-out>{out}</system-out>");
        }
        xml.push_str("    </testcase>\n");
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

/// Each alarm's check and its transitions, held or failed: what CI shows of the alarms.
fn alarm_lines(o: &Outcome) -> Vec<String> {
    let Some(report) = o.report() else {
        return Vec::new();
    };
    let held = report.held().iter().map(|h| (h, "held"));
    let failed = report.failures().iter().map(|f| (f, "FAILED"));
    held.chain(failed)
        .filter(|(c, _)| c.check.starts_with("alarms."))
        .map(|(c, result)| format!("{result} {}: {}", c.check, c.actual))
        .collect()
}

/// XML's special characters escaped; control characters other than tab and line ends dropped
/// (XML 1.0 cannot hold them, not even as character references).
fn escape(text: &str) -> String {
    let mut out = crate::render::html::escape(text);
    out.retain(|c| (c as u32) >= 0x20 || matches!(c, '\n' | '\t' | '\r'));
    out
}
