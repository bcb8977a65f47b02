//! The SQS message body that carries many records from the bridge to the processor.
//!
//! A JSON array with one element per record: the record as a JSON string when it is UTF-8 and
//! every character is one SQS accepts, otherwise `{"b64": "..."}`. Records are opaque here (a
//! malformed record travels as faithfully as a good one, to be quarantined by the processor).

use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// One element of the array.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Element {
    Text(String),
    Binary { b64: String },
}

/// Encodes one record as an array element (without separators).
pub fn encode_record(record: &[u8]) -> String {
    let element = match std::str::from_utf8(record) {
        Ok(text) if text.chars().all(sqs_allows) => Element::Text(text.to_string()),
        _ => Element::Binary {
            b64: base64::engine::general_purpose::STANDARD.encode(record),
        },
    };
    serde_json::to_string(&element).expect("strings always serialise")
}

/// Joins encoded elements into a body.
pub fn join(elements: &[String]) -> String {
    let mut body = String::with_capacity(body_len(elements.iter().map(String::len)));
    body.push('[');
    for (i, e) in elements.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(e);
    }
    body.push(']');
    body
}

/// The body length for elements of these lengths.
pub fn body_len(lengths: impl Iterator<Item = usize>) -> usize {
    let (mut total, mut n) = (2usize, 0usize);
    for len in lengths {
        total += len;
        n += 1;
    }
    total + n.saturating_sub(1)
}

/// Decodes a body back into records.
///
/// # Errors
/// When the body is not an envelope (the message is then malformed as a whole).
pub fn decode(body: &str) -> Result<Vec<Vec<u8>>, String> {
    let elements: Vec<Element> =
        serde_json::from_str(body).map_err(|e| format!("not a tickflow envelope: {e}"))?;
    elements
        .into_iter()
        .map(|e| match e {
            Element::Text(t) => Ok(t.into_bytes()),
            Element::Binary { b64 } => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| format!("bad base64 element: {e}")),
        })
        .collect()
}

/// Characters SQS accepts in a message body: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
/// #x10000-#x10FFFF. serde_json escapes the control characters, but not U+FFFE/U+FFFF.
fn sqs_allows(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        || (c as u32) < 0x20
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_text_binary_and_awkward_characters() {
        let records: Vec<Vec<u8>> = vec![
            br#"{"a":"quote \" and \\ backslash"}"#.to_vec(),
            vec![0xff, 0x00, 0xfe],
            "line\nbreak\u{1}".as_bytes().to_vec(),
            "\u{FFFF}".as_bytes().to_vec(),
            Vec::new(),
        ];
        let elements: Vec<String> = records.iter().map(|r| encode_record(r)).collect();
        let body = join(&elements);
        assert_eq!(body.len(), body_len(elements.iter().map(String::len)));
        assert!(!body.contains('\u{FFFF}'));
        assert_eq!(decode(&body).unwrap(), records);
    }

    #[test]
    fn a_foreign_body_is_an_error() {
        assert!(decode("hello").is_err());
        assert!(decode(r#"[{"x":1}]"#).is_err());
    }
}
