//! What the batch table and output must hold, row by row.
//!
//! What the batch table and the output object must hold, row by row and column by column,
//! without holding it: each company's rows as a count and an order-free sum of digests of the
//! row's text (its nine columns, in the table's order, joined by commas). A swapped high and
//! low, a wrong date, a row duplicated while another of the same company is dropped: each
//! changes the sum. The expected side is computed from the input as it is generated or read;
//! the table (`COPY ... TO STDOUT`) and the output object are streamed through a [`LineDigest`].

use std::collections::BTreeMap;

use crate::verdict::digest;

/// One company's rows, order aside: how many, and the wrapping sum of their digests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Content {
    /// Rows.
    pub rows: u64,
    /// Wrapping sum of [`digest`]s of each row's text.
    pub sum: u64,
}

impl Content {
    /// Adds one row, as its text.
    pub fn add(&mut self, row: &[u8]) {
        self.rows += 1;
        self.sum = self.sum.wrapping_add(digest(row).get());
    }
}

/// [`Content`] per company.
pub type Contents = BTreeMap<String, Content>;

/// Adds every company of `more` to `into`.
pub fn merge(into: &mut Contents, more: Contents) {
    for (company, c) in more {
        let entry = into.entry(company).or_default();
        entry.rows += c.rows;
        entry.sum = entry.sum.wrapping_add(c.sum);
    }
}

/// The text the table and the output hold for one bar of `company`: the fields as the input
/// writes them, then `(close - open) / open * 100` and `close - open` (computed here from the
/// prices' text, six decimals), then the company.
pub fn row_text(
    company: &str,
    date: &str,
    prices: [&str; 4],
    volume: &str,
    open: f64,
    close: f64,
) -> String {
    let [o, h, l, c] = prices;
    let change = close - open;
    let percent = change / open * 100.0;
    format!("{date},{o},{h},{l},{c},{volume},{percent:.6},{change:.6},{company}")
}

/// Rows as they stream in (CSV lines whose last field is the company), in chunks cut anywhere,
/// summed per company.
#[derive(Debug, Default)]
pub struct LineDigest {
    partial: Vec<u8>,
    /// What was read so far.
    pub contents: Contents,
}

impl LineDigest {
    /// Takes the next chunk.
    pub fn feed(&mut self, mut chunk: &[u8]) {
        while let Some(end) = chunk.iter().position(|b| *b == b'\n') {
            if self.partial.is_empty() {
                self.line(&chunk[..end]);
            } else {
                self.partial.extend_from_slice(&chunk[..end]);
                let line = std::mem::take(&mut self.partial);
                self.line(&line);
            }
            chunk = &chunk[end + 1..];
        }
        self.partial.extend_from_slice(chunk);
    }

    /// The last line, if it had no newline; the contents read.
    pub fn finish(mut self) -> Contents {
        let rest = std::mem::take(&mut self.partial);
        if !rest.is_empty() {
            self.line(&rest);
        }
        self.contents
    }

    fn line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let company = line
            .iter()
            .rposition(|b| *b == b',')
            .map_or(&[][..], |i| &line[i + 1..]);
        let company = String::from_utf8_lossy(company);
        match self.contents.get_mut(company.as_ref()) {
            Some(c) => c.add(line),
            None => self
                .contents
                .entry(company.into_owned())
                .or_default()
                .add(line),
        }
    }
}

/// Each company whose rows differ between `expected` and `found`, said in a line.
pub fn differences(expected: &Contents, found: &Contents) -> Vec<String> {
    let none = Content::default();
    let companies: std::collections::BTreeSet<&String> =
        expected.keys().chain(found.keys()).collect();
    companies
        .into_iter()
        .filter_map(|company| {
            let want = expected.get(company).unwrap_or(&none);
            let got = found.get(company).unwrap_or(&none);
            let name = if company.is_empty() {
                "(no company)"
            } else {
                company.as_str()
            };
            match (want.rows == got.rows, want.sum == got.sum) {
                (true, true) => None,
                (true, false) => Some(format!(
                    "{name}: {} rows as expected, but not the rows the input says (a value, or a \
                     row twice and another missing)",
                    got.rows
                )),
                (false, _) => Some(format!(
                    "{name}: expected {} rows, found {}",
                    want.rows, got.rows
                )),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(rows: &[&str]) -> Contents {
        let mut reader = LineDigest::default();
        for row in rows {
            reader.feed(row.as_bytes());
            reader.feed(b"\n");
        }
        reader.finish()
    }

    const ROWS: [&str; 3] = [
        "2020-01-02,10.0000,11.0000,9.0000,10.5000,1000,5.000000,0.500000,ACME",
        "2020-01-03,10.5000,12.0000,10.0000,11.0000,900,4.761905,0.500000,ACME",
        "2020-01-02,20.0000,21.0000,19.0000,20.0000,50,0.000000,0.000000,INIT",
    ];

    #[test]
    fn chunks_cut_anywhere_read_the_same_and_order_does_not_matter() {
        let whole = contents(&ROWS);
        let text = ROWS.join("\n");
        for cut in 0..text.len() {
            let mut reader = LineDigest::default();
            reader.feed(&text.as_bytes()[..cut]);
            reader.feed(&text.as_bytes()[cut..]);
            assert_eq!(reader.finish(), whole, "cut at {cut}");
        }
        assert_eq!(contents(&[ROWS[2], ROWS[1], ROWS[0]]), whole);
        assert_eq!(whole["ACME"].rows, 2);
        assert!(differences(&whole, &whole).is_empty());
    }

    #[test]
    fn a_swap_a_wrong_value_or_a_duplicate_with_a_drop_is_found() {
        let want = contents(&ROWS);
        let swapped = ROWS[0].replace("11.0000,9.0000", "9.0000,11.0000");
        let wrong_date = ROWS[1].replace("2020-01-03", "2020-01-06");
        for broken in [
            vec![swapped.as_str(), ROWS[1], ROWS[2]],
            vec![ROWS[0], wrong_date.as_str(), ROWS[2]],
            vec![ROWS[0], ROWS[0], ROWS[2]],
        ] {
            let d = differences(&want, &contents(&broken));
            assert_eq!(d.len(), 1, "{broken:?}: {d:?}");
            assert!(
                d[0].starts_with("ACME: 2 rows as expected, but not"),
                "{d:?}"
            );
        }
        let d = differences(&want, &contents(&ROWS[..2]));
        assert_eq!(d, ["INIT: expected 1 rows, found 0"]);
    }

    #[test]
    fn the_expected_row_is_the_inputs_text_and_the_derived_values() {
        let row = row_text(
            "ACME",
            "2020-01-02",
            ["10.0000", "11.0000", "9.0000", "10.5000"],
            "1000",
            10.0,
            10.5,
        );
        assert_eq!(row, ROWS[0]);
    }
}
