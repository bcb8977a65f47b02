//! The SQS message body that carries many records from the bridge to the processor.
//!
//! A JSON array with one element per record: the record as a JSON string when it is UTF-8 and
//! every character is one SQS accepts, otherwise `{"b64": "..."}`. Records are opaque here (a
//! malformed record travels as faithfully as a good one, to be quarantined by the processor).
//!
//! With compression on, a body is `zstd:` and the base64 of a zstd frame holding that array,
//! whenever that is shorter: SQS then carries a tenth of the bytes, and neither the SDK nor
//! LocalStack escapes, checksums and parses hundreds of megabytes of JSON text in a large run.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::compress::{self, Compression};

/// What a compressed body starts with (a JSON array never does).
const COMPRESSED_PREFIX: &str = "zstd:";
/// zstd level for bodies: the fastest, since SQS is not the stage bytes bind.
const BODY_LEVEL: i32 = 1;

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

/// The body as sent: `body` itself, or its compressed form when compression is on and that is
/// shorter (so a body within the queue's limit stays within it).
pub fn seal(body: String, compression: Compression) -> String {
    if compression == Compression::None {
        return body;
    }
    let Ok(frame) = zstd::bulk::compress(body.as_bytes(), BODY_LEVEL) else {
        return body;
    };
    let encoded_len =
        COMPRESSED_PREFIX.len() + base64::encoded_len(frame.len(), true).unwrap_or(usize::MAX);
    if encoded_len >= body.len() {
        return body;
    }
    let mut sealed = String::with_capacity(encoded_len);
    sealed.push_str(COMPRESSED_PREFIX);
    base64::engine::general_purpose::STANDARD.encode_string(&frame, &mut sealed);
    sealed
}

/// Decodes a body, compressed or not, back into records.
///
/// # Errors
/// When the body is not an envelope (the message is then malformed as a whole).
pub fn decode(body: &str) -> Result<Vec<Vec<u8>>, String> {
    let elements: Vec<Element> = match body.strip_prefix(COMPRESSED_PREFIX) {
        Some(encoded) => {
            let frame = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| {
                    format!("not a tickflow envelope: bad base64 after {COMPRESSED_PREFIX}: {e}")
                })?;
            let json = zstd::bulk::decompress(&frame, compress::MAX_DECOMPRESSED)
                .map_err(|e| format!("not a tickflow envelope: bad zstd frame: {e}"))?;
            serde_json::from_slice(&json)
        }
        None => serde_json::from_str(body),
    }
    .map_err(|e| format!("not a tickflow envelope: {e}"))?;
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
        assert!(decode("zstd:not base64!").is_err());
        assert!(decode("zstd:aGVsbG8=").is_err());
    }

    #[test]
    fn sealed_bodies_are_shorter_or_unchanged_and_decode_alike() {
        let records: Vec<Vec<u8>> = (0..200)
            .map(|i| format!(r#"{{"event_name":"forex:rate","n":{i}}}"#).into_bytes())
            .collect();
        let elements: Vec<String> = records.iter().map(|r| encode_record(r)).collect();
        let body = join(&elements);
        let sealed = seal(body.clone(), Compression::Zstd);
        assert!(sealed.starts_with(COMPRESSED_PREFIX));
        assert!(
            sealed.len() < body.len() / 4,
            "{} vs {}",
            sealed.len(),
            body.len()
        );
        assert_eq!(decode(&sealed).unwrap(), records);
        assert_eq!(seal(body.clone(), Compression::None), body);
        // Too short to gain from compression: sent as it is.
        let tiny = join(&[encode_record(b"x")]);
        assert_eq!(seal(tiny.clone(), Compression::Zstd), tiny);
    }
}
