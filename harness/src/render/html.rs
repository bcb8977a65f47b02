//! Escaping and tables for every report's HTML.
//!
//! The building blocks every report's HTML is made of: escaping and tables, so that each flow's
//! section needs no markup helpers of its own.

use std::fmt::Write as _;

/// `text` with HTML's special characters escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A table with a header row; every cell is escaped, the first column is left-aligned (the page's
/// style sheet).
pub fn table<R, C>(headers: &[&str], rows: R) -> String
where
    R: IntoIterator<Item = C>,
    C: IntoIterator,
    C::Item: std::fmt::Display,
{
    let mut html = String::from("<table><tr>");
    for h in headers {
        let _ = write!(html, "<th>{}</th>", escape(h));
    }
    html.push_str("</tr>\n");
    for row in rows {
        html.push_str("<tr>");
        for cell in row {
            let _ = write!(html, "<td>{}</td>", escape(&cell.to_string()));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_escape_every_cell_and_header() {
        let html = table(&["a<b"], [["x&y".to_string()], ["<script>".to_string()]]);
        assert_eq!(
            html,
            "<table><tr><th>a&lt;b</th></tr>\n<tr><td>x&amp;y</td></tr>\n<tr><td>&lt;script&gt;</td></tr>\n</table>\n"
        );
    }
}
