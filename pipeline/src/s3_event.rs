//! S3 event notifications as SQS delivers them.
//!
//! S3 event notifications as SQS delivers them: `ObjectCreated` records (keys URL-decoded, as
//! S3 encodes them) and the `s3:TestEvent` S3 sends when a notification is configured. Every
//! S3-triggered stage reads its messages through this.

use serde_json::Value;

/// One thing a notification message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The set-up test event (no object behind it).
    Test,
    /// An object was created.
    Created {
        /// Its key, decoded.
        key: String,
        /// The event's time as S3 wrote it (`2026-11-30T06:31:00.123Z`).
        time: String,
        /// S3's `sequencer` for the key: which write of it this is (two puts of one key differ
        /// in it, a redelivered notification does not).
        sequencer: Option<String>,
    },
}

/// The notices in an S3 notification message: nothing for anything else (not JSON, not an S3
/// message, only removals).
pub fn parse(body: &str) -> Vec<Notice> {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return Vec::new();
    };
    if value.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return vec![Notice::Test];
    }
    let records = value.get("Records").and_then(Value::as_array);
    records
        .into_iter()
        .flatten()
        .filter(|r| {
            r.get("eventName")
                .and_then(Value::as_str)
                .is_some_and(|n| n.starts_with("ObjectCreated"))
        })
        .filter_map(|r| {
            let key = r.pointer("/s3/object/key")?.as_str()?;
            let time = r.get("eventTime")?.as_str()?;
            let sequencer = r.pointer("/s3/object/sequencer").and_then(Value::as_str);
            Some(Notice::Created {
                key: percent_decode(key),
                time: time.to_string(),
                sequencer: sequencer.map(str::to_string),
            })
        })
        .collect()
}

/// S3 notifications URL-encode keys (`+` for spaces).
fn percent_decode(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match key
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            {
                Some(b) => {
                    out.push(b);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_test_events_and_other_messages() {
        let created = r#"{"Records":[{"eventName":"ObjectCreated:Put","eventTime":"2026-11-30T06:31:00.123Z","s3":{"object":{"key":"runs/2026-11-30%2Fday+1.SUCCESS","sequencer":"0A1B"}}}]}"#;
        assert_eq!(
            parse(created),
            [Notice::Created {
                key: "runs/2026-11-30/day 1.SUCCESS".into(),
                time: "2026-11-30T06:31:00.123Z".into(),
                sequencer: Some("0A1B".into()),
            }]
        );
        assert_eq!(
            parse(r#"{"Service":"Amazon S3","Event":"s3:TestEvent"}"#),
            [Notice::Test]
        );
        assert!(parse("not json").is_empty());
        let removed = r#"{"Records":[{"eventName":"ObjectRemoved:Delete","eventTime":"2026-11-30T00:00:00Z","s3":{"object":{"key":"a.SUCCESS"}}}]}"#;
        assert!(parse(removed).is_empty());
        assert_eq!(percent_decode("a%2"), "a%2");
    }
}
