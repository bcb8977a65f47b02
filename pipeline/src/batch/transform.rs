//! One company file's rows, checked and turned into output rows.
//!
//! One company file's rows, checked and turned into output rows: the bar as read, plus
//! `daily_percent_change` ((close - open) / open, in percent) and `value_change` (close - open).
//! A row that cannot be read says why; the caller counts it, never drops it silently.

use super::layout::CSV_HEADER;

/// One daily bar as read (the text of each field is kept: the table stores text).
#[derive(Debug, Clone, PartialEq)]
pub struct Bar<'a> {
    /// `YYYY-MM-DD`.
    pub date: &'a str,
    /// Opening price.
    pub open: &'a str,
    /// High.
    pub high: &'a str,
    /// Low.
    pub low: &'a str,
    /// Closing price.
    pub close: &'a str,
    /// Shares traded.
    pub volume: &'a str,
    open_value: f64,
    close_value: f64,
}

/// Whether `line` is the header the seed's files start with.
///
/// # Errors
/// What the header is instead.
pub fn check_header(line: &str) -> Result<(), String> {
    let line = line.trim_end_matches('\r').trim_start_matches('\u{feff}');
    if line == CSV_HEADER {
        Ok(())
    } else {
        Err(format!(
            "not a company file: header is {:?}, expected {CSV_HEADER:?}",
            truncate(line)
        ))
    }
}

/// Reads one data row (`Date,Open,High,Low,Close,Adj Close,Volume`).
///
/// # Errors
/// Why it is not a bar: the field count, a date that is not `YYYY-MM-DD`, a price that is not a
/// positive number, a volume that is not a whole number, or a high below a low.
pub fn parse_row(line: &str) -> Result<Bar<'_>, String> {
    let line = line.trim_end_matches('\r');
    let fields: Vec<&str> = line.split(',').collect();
    let [date, open, high, low, close, _adj_close, volume] = fields[..] else {
        return Err(format!("{} fields, expected 7", fields.len()));
    };
    if !is_date(date) {
        return Err(format!("date {:?} is not YYYY-MM-DD", truncate(date)));
    }
    let price = |name: &str, text: &str| -> Result<f64, String> {
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
            _ => Err(format!(
                "{name} {:?} is not a positive number",
                truncate(text)
            )),
        }
    };
    let open_value = price("open", open)?;
    let high_value = price("high", high)?;
    let low_value = price("low", low)?;
    let close_value = price("close", close)?;
    if volume.parse::<u64>().is_err() {
        return Err(format!(
            "volume {:?} is not a whole number",
            truncate(volume)
        ));
    }
    if high_value < low_value {
        return Err(format!("high {high} is below low {low}"));
    }
    Ok(Bar {
        date,
        open,
        high,
        low,
        close,
        volume,
        open_value,
        close_value,
    })
}

impl Bar<'_> {
    /// `(close - open) / open`, in percent.
    pub fn daily_percent_change(&self) -> f64 {
        (self.close_value - self.open_value) / self.open_value * 100.0
    }

    /// `close - open`.
    pub fn value_change(&self) -> f64 {
        self.close_value - self.open_value
    }

    /// Appends the output row (the table's nine columns, CSV) for `company`.
    pub fn write_output(&self, company: &str, out: &mut Vec<u8>) {
        use std::io::Write as _;
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{:.6},{:.6},{company}",
            self.date,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.daily_percent_change(),
            self.value_change(),
        );
    }
}

/// A calendar day written `YYYY-MM-DD` (`2020-02-30` is not one).
fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
}

fn truncate(text: &str) -> &str {
    let end = text.char_indices().nth(40).map_or(text.len(), |(i, _)| i);
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_derives_its_changes() {
        let bar = parse_row("2020-01-02,100,110,95,105,104.5,123456").unwrap();
        assert!((bar.daily_percent_change() - 5.0).abs() < 1e-12);
        assert!((bar.value_change() - 5.0).abs() < 1e-12);
        let mut out = Vec::new();
        bar.write_output("ACME", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2020-01-02,100,110,95,105,123456,5.000000,5.000000,ACME\n"
        );
    }

    #[test]
    fn bad_rows_say_why() {
        for (row, why) in [
            ("2020-01-02,100,110,95,105,104.5", "6 fields"),
            ("02/01/2020,100,110,95,105,104.5,1", "not YYYY-MM-DD"),
            ("2020-02-30,100,110,95,105,104.5,1", "not YYYY-MM-DD"),
            ("2020-01-02,abc,110,95,105,104.5,1", "open \"abc\""),
            ("2020-01-02,0,110,95,105,104.5,1", "open \"0\""),
            ("2020-01-02,100,110,95,NaN,104.5,1", "close \"NaN\""),
            ("2020-01-02,100,110,95,105,104.5,1.5", "volume"),
            ("2020-01-02,100,90,95,105,104.5,1", "below low"),
        ] {
            let error = parse_row(row).unwrap_err();
            assert!(error.contains(why), "{row}: {error}");
        }
    }

    #[test]
    fn only_the_seed_header_is_a_company_file() {
        assert!(check_header("Date,Open,High,Low,Close,Adj Close,Volume\r").is_ok());
        assert!(check_header("\u{feff}Date,Open,High,Low,Close,Adj Close,Volume").is_ok());
        assert!(check_header("{\"not\": \"csv\"}")
            .unwrap_err()
            .contains("not a company file"));
    }
}
