//! One price record, read from JSON, XML or text, and written as CSV.
//!
//! One price record, read from the formats price files come in (JSON, XML, plain text), and
//! written to and read from the CSV the ETL step produces.
//!
//! A file's format is its extension (`.json`, `.xml`, `.txt`), or, without one of those, what
//! its first character says (`{`, `<`, a letter). Every record has `asset`, `date` (RFC 3339, or
//! seconds since the epoch as the seed's exchange gives it), `open`, `high`, `low`, `close`,
//! `volume` and `weightedAverage`; numbers may be JSON numbers or strings. Anything else is
//! [`Malformed`], with the kind and a reason that names the field.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::layout::CSV_HEADER;

/// The fields every record has, as the seed's exchange names them.
pub const FIELDS: [&str; 8] = [
    "asset",
    "date",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "weightedAverage",
];

/// One asset's prices over one interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceRecord {
    /// `ETH`.
    pub asset: String,
    /// Market time of the interval's start.
    pub date: DateTime<Utc>,
    /// First price.
    pub open: f64,
    /// Highest price.
    pub high: f64,
    /// Lowest price.
    pub low: f64,
    /// Last price.
    pub close: f64,
    /// Volume traded.
    pub volume: f64,
    /// Volume-weighted average price: what the analysis compares.
    pub weighted_average: f64,
}

/// The formats a price file may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// One JSON object.
    Json,
    /// One XML element with a child element per field (the asset may be an attribute).
    Xml,
    /// `field: value` lines.
    Text,
}

/// Why a file is not a price record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MalformedKind {
    /// Neither its extension nor its content says JSON, XML or text.
    UnknownFormat,
    /// Not valid in its format (broken JSON or XML, not UTF-8).
    Unparsable,
    /// A field missing.
    MissingField,
    /// A field with a value a price record cannot have.
    InvalidField,
    /// Larger than any price record ([`MAX_FILE_BYTES`]): not read at all.
    TooLarge,
}

/// The largest price file read (a record is a few hundred bytes).
pub const MAX_FILE_BYTES: usize = 1 << 20;

/// A file that is not a price record, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{kind:?}: {reason}")]
pub struct Malformed {
    /// What is wrong.
    pub kind: MalformedKind,
    /// The details: the field, the value, the parser's message.
    pub reason: String,
}

impl Malformed {
    fn new(kind: MalformedKind, reason: impl Into<String>) -> Self {
        Self {
            kind,
            reason: reason.into(),
        }
    }
}

/// The format of the file at `key` holding `body`.
pub fn format_of(key: &str, body: &[u8]) -> Option<Format> {
    let name = key.rsplit('/').next().unwrap_or(key);
    match name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
    {
        Some(ext) if ext == "json" => return Some(Format::Json),
        Some(ext) if ext == "xml" => return Some(Format::Xml),
        Some(ext) if ext == "txt" => return Some(Format::Text),
        _ => {}
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
    match first {
        b'{' => Some(Format::Json),
        b'<' => Some(Format::Xml),
        b if (b.is_ascii_alphabetic() || *b == b'#') && body.contains(&b':') => Some(Format::Text),
        _ => None,
    }
}

/// Reads the price record in the file at `key`.
///
/// # Errors
/// What makes it not a record ([`MalformedKind`]).
pub fn parse(key: &str, body: &[u8]) -> Result<PriceRecord, Malformed> {
    if body.len() > MAX_FILE_BYTES {
        return Err(too_large(body.len()));
    }
    let format = format_of(key, body).ok_or_else(|| {
        Malformed::new(
            MalformedKind::UnknownFormat,
            "neither JSON, XML nor text (by extension or content)",
        )
    })?;
    let text = std::str::from_utf8(body)
        .map_err(|e| Malformed::new(MalformedKind::Unparsable, format!("not UTF-8: {e}")))?;
    let fields = match format {
        Format::Json => json_fields(text)?,
        Format::Xml => xml_fields(text)?,
        Format::Text => text_fields(text),
    };
    record(&fields)
}

/// Why a file of `size` bytes is not read.
pub fn too_large(size: usize) -> Malformed {
    Malformed::new(
        MalformedKind::TooLarge,
        format!("{size} bytes, more than {MAX_FILE_BYTES}"),
    )
}

/// The fields of a JSON object, numbers and strings as text.
fn json_fields(text: &str) -> Result<HashMap<String, String>, Malformed> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Malformed::new(MalformedKind::Unparsable, format!("JSON: {e}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| Malformed::new(MalformedKind::Unparsable, "JSON: not an object"))?;
    Ok(object
        .iter()
        .filter_map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some((k.clone(), text))
        })
        .collect())
}

/// The fields of one XML element: its attributes and its children's text.
fn xml_fields(text: &str) -> Result<HashMap<String, String>, Malformed> {
    use xmlparser::{ElementEnd, Token, Tokenizer};
    let broken =
        |e: xmlparser::Error| Malformed::new(MalformedKind::Unparsable, format!("XML: {e}"));
    let (mut fields, mut depth, mut open) = (HashMap::new(), 0usize, None::<String>);
    let mut closed_root = false;
    for token in Tokenizer::from(text) {
        match token.map_err(broken)? {
            Token::ElementStart { local, .. } => {
                if closed_root {
                    return Err(Malformed::new(
                        MalformedKind::Unparsable,
                        "XML: more than one root element",
                    ));
                }
                depth += 1;
                open = (depth == 2).then(|| local.to_string());
            }
            Token::Attribute { local, value, .. } if depth == 1 => {
                fields.insert(local.to_string(), value.to_string());
            }
            Token::Text { text } if depth == 2 => {
                if let Some(name) = &open {
                    fields.insert(name.clone(), text.trim().to_string());
                }
            }
            Token::ElementEnd { end, .. } => match end {
                ElementEnd::Open => {}
                ElementEnd::Close(..) | ElementEnd::Empty => {
                    depth = depth.saturating_sub(1);
                    open = None;
                    closed_root |= depth == 0;
                }
            },
            _ => {}
        }
    }
    if !closed_root {
        return Err(Malformed::new(
            MalformedKind::Unparsable,
            "XML: no complete root element",
        ));
    }
    Ok(fields)
}

/// `field: value` (or `field=value`) lines; blank lines and `#` comments skipped.
fn text_fields(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':').or_else(|| l.split_once('=')))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// The record the fields make.
fn record(fields: &HashMap<String, String>) -> Result<PriceRecord, Malformed> {
    let get = |name: &str| {
        fields
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Malformed::new(MalformedKind::MissingField, format!("no `{name}`")))
    };
    let invalid = |name: &str, value: &str, what: &str| {
        let value: String = value.chars().take(40).collect();
        Malformed::new(
            MalformedKind::InvalidField,
            format!("`{name}` {value:?} is not {what}"),
        )
    };
    let number = |name: &str, positive: bool| -> Result<f64, Malformed> {
        let text = get(name)?;
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() && (v > 0.0 || (!positive && v == 0.0)) => Ok(v),
            _ => Err(invalid(name, text, "a positive number")),
        }
    };
    // Every field is looked up first, so that a missing one is reported as missing.
    for name in FIELDS {
        get(name)?;
    }
    let asset = get("asset")?;
    if asset.len() > 16 || !asset.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(invalid("asset", asset, "1 to 16 letters or digits"));
    }
    let date_text = get("date")?;
    let date = parse_date(date_text).ok_or_else(|| {
        invalid(
            "date",
            date_text,
            "whole seconds, RFC 3339 or since the epoch, in 1970-9999",
        )
    })?;
    let (high, low) = (number("high", true)?, number("low", true)?);
    if high < low {
        return Err(invalid("high", get("high")?, "at least `low`"));
    }
    Ok(PriceRecord {
        asset: asset.to_ascii_uppercase(),
        date,
        open: number("open", true)?,
        high,
        low,
        close: number("close", true)?,
        volume: number("volume", false)?,
        weighted_average: number("weightedAverage", true)?,
    })
}

/// A market time: RFC 3339 or epoch seconds, whole seconds in years 1970 to 9999 (what keys
/// and the CSV write back; two records a fraction of a second apart would share a key).
fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    use chrono::Datelike as _;
    let time = match text.parse::<i64>() {
        Ok(seconds) => DateTime::from_timestamp(seconds, 0),
        Err(_) => DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
    }?;
    ((1970..=9999).contains(&time.year()) && time.timestamp_subsec_nanos() == 0).then_some(time)
}

impl PriceRecord {
    /// The CSV object the ETL step writes: the header and one row, `source_key` last.
    pub fn to_csv(&self, source_key: &str) -> String {
        format!(
            "{CSV_HEADER}\n{},{},{},{},{},{},{},{},{source_key}\n",
            self.asset,
            self.date.format("%Y-%m-%dT%H:%M:%SZ"),
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.weighted_average
        )
    }

    /// Reads a CSV object the ETL step wrote: the record and the key of its source file.
    ///
    /// # Errors
    /// Not such an object (another header, a field missing or not a number).
    pub fn from_csv(text: &str) -> Result<(PriceRecord, String), String> {
        let mut lines = text.lines();
        if lines.next() != Some(CSV_HEADER) {
            return Err("not a price CSV: another header".into());
        }
        let row = lines.next().ok_or("no row")?;
        let fields: Vec<&str> = row.splitn(9, ',').collect();
        let [asset, date, open, high, low, close, volume, wa, source] = fields[..] else {
            return Err(format!("{} fields, expected 9", fields.len()));
        };
        let number = |t: &str| {
            t.parse::<f64>()
                .map_err(|_| format!("{t:?} is not a number"))
        };
        let record = PriceRecord {
            asset: asset.to_string(),
            date: parse_date(date).ok_or_else(|| format!("{date:?} is not a date"))?,
            open: number(open)?,
            high: number(high)?,
            low: number(low)?,
            close: number(close)?,
            volume: number(volume)?,
            weighted_average: number(wa)?,
        };
        Ok((record, source.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"{"asset":"ETH","date":1795392300,"open":"3010.5","high":3020.25,"low":3001,"close":3015,"volume":12.5,"quoteVolume":0.1,"weightedAverage":3012.125}"#;
    const XML: &str = "<?xml version=\"1.0\"?>\n<price asset=\"ETH\">\n  <date>2026-11-23T00:05:00Z</date><open>3010.5</open><high>3020.25</high><low>3001</low>\n  <close>3015</close><volume>12.5</volume><weightedAverage>3012.125</weightedAverage>\n</price>\n";
    const TEXT: &str = "# ETH price\nasset: ETH\ndate: 2026-11-23T00:05:00Z\nopen: 3010.5\nhigh: 3020.25\nlow: 3001\nclose: 3015\nvolume: 12.5\nweightedAverage: 3012.125\n";

    #[test]
    fn the_three_formats_make_the_same_record_and_it_survives_csv() {
        let json = parse("a/1.json", JSON.as_bytes()).unwrap();
        let xml = parse("a/1.xml", XML.as_bytes()).unwrap();
        let text = parse("a/1.txt", TEXT.as_bytes()).unwrap();
        assert_eq!(json, xml);
        assert_eq!(xml, text);
        assert_eq!(json.date.to_rfc3339(), "2026-11-23T00:05:00+00:00");
        let (back, source) = PriceRecord::from_csv(&json.to_csv("a/1.json")).unwrap();
        assert_eq!((back, source.as_str()), (json, "a/1.json"));
        // Without an extension, the content decides.
        assert_eq!(format_of("a/1", XML.as_bytes()), Some(Format::Xml));
        assert_eq!(format_of("a/1.dat", TEXT.as_bytes()), Some(Format::Text));
    }

    #[test]
    fn what_is_not_a_record_says_which_kind_and_why() {
        let cases = [
            (
                "a.bin",
                "\u{1}\u{2}binary".to_string(),
                MalformedKind::UnknownFormat,
                "neither",
            ),
            (
                "a.json",
                JSON[..40].to_string(),
                MalformedKind::Unparsable,
                "JSON",
            ),
            (
                "a.xml",
                XML.replace("</price>", ""),
                MalformedKind::Unparsable,
                "XML",
            ),
            (
                "a.xml",
                XML.replace("<open>3010.5</open>", ""),
                MalformedKind::MissingField,
                "`open`",
            ),
            (
                "a.json",
                JSON.replace("\"weightedAverage\"", "\"wa\""),
                MalformedKind::MissingField,
                "`weightedAverage`",
            ),
            (
                "a.txt",
                TEXT.replace("close: 3015", "close: -1"),
                MalformedKind::InvalidField,
                "`close`",
            ),
            (
                "a.txt",
                TEXT.replace("2026-11-23T00:05:00Z", "yesterday"),
                MalformedKind::InvalidField,
                "`date`",
            ),
            (
                "a.json",
                JSON.replace("1795392300", "2048544806409"),
                MalformedKind::InvalidField,
                "`date`",
            ),
            (
                "a.txt",
                TEXT.replace("00:05:00Z", "00:05:00.4622Z"),
                MalformedKind::InvalidField,
                "`date`",
            ),
            (
                "a.json",
                "[1, 2]".to_string(),
                MalformedKind::Unparsable,
                "not an object",
            ),
        ];
        for (key, body, kind, why) in cases {
            let error = parse(key, body.as_bytes()).unwrap_err();
            assert_eq!(error.kind, kind, "{key}: {error}");
            assert!(error.reason.contains(why), "{key}: {error}");
        }
    }

    #[test]
    fn a_file_larger_than_any_record_is_not_read() {
        let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(MAX_FILE_BYTES));
        assert_eq!(
            parse("a.json", big.as_bytes()).unwrap_err().kind,
            MalformedKind::TooLarge
        );
    }

    #[test]
    fn a_csv_that_is_not_ours_is_refused() {
        assert!(PriceRecord::from_csv("a,b\n1,2\n").is_err());
        let short = format!("{CSV_HEADER}\nETH,2026-11-23T00:05:00Z,1\n");
        assert!(PriceRecord::from_csv(&short)
            .unwrap_err()
            .contains("fields"));
    }
}
