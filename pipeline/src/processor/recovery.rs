//! What a restarted processor recovers from the lake and the state bucket.
//!
//! A restarted processor's memory, rebuilt from the lake: every row the lake holds names its
//! claim key (a data row its `event_uuid`, a quarantine row the digest of its raw record), so a
//! processor that died after a lake write and before deleting its messages skips those records
//! when the messages come back, with nothing carried over in memory. The lake is its own
//! idempotency log, as an exactly-once S3 sink recovers its position from the objects it wrote.
//! The same rows give back the price of every durable event, from which (with the watch's window
//! records and late output) the price watch that died is rebuilt.

use std::collections::HashSet;

use base64::Engine as _;
use md5::Digest as _;
use uuid::Uuid;

use crate::aws::{AwsError, Clients};
use crate::compress;
use crate::lake::{partition, row};
use crate::notify::price_watch::{price_of, Price};

/// What the lake says a processor wrote.
#[derive(Debug, Default)]
pub struct Written {
    /// The claim key of every row.
    pub keys: Vec<Uuid>,
    /// The price of each event held, by its id (once per event, however many rows it has).
    pub prices: Vec<(Uuid, Price)>,
}

/// The claim key of a record bound for the quarantine: a UUID of the MD5 of its bytes (a
/// version 3 UUID, never equal to an event's version 8 id).
pub fn quarantine_key(raw: &[u8]) -> Uuid {
    uuid::Builder::from_md5_bytes(md5::Md5::digest(raw).into()).into_uuid()
}

/// The claim keys of every row in `bucket`'s lake.
///
/// # Errors
/// Listing or reading an object failing, or an object whose rows do not say what they hold
/// (the processor must not guess: it stops with the object's key).
pub async fn written_keys(clients: &Clients, bucket: &str) -> Result<Vec<Uuid>, String> {
    written(clients, bucket).await.map(|w| w.keys)
}

/// The claim keys of every row in `bucket`'s lake, and the prices of its events.
///
/// # Errors
/// As [`written_keys`].
pub async fn written(clients: &Clients, bucket: &str) -> Result<Written, String> {
    let keys = clients
        .object_keys(bucket)
        .await
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let mut written = Written::default();
    let mut priced = HashSet::new();
    for key in keys {
        let (_, body) = clients
            .get_object(bucket, &key)
            .await
            .map_err(|e: AwsError| e.to_string())?;
        let rows =
            compress::expand_object(&key, body).map_err(|e| format!("s3://{bucket}/{key}: {e}"))?;
        let quarantine = key.starts_with(partition::QUARANTINE);
        for (n, line) in rows.split(|b| *b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            if let Some((row, _)) = (!quarantine).then(|| row::read_row(line)).flatten() {
                let id = row.event.id();
                if priced.insert(id) {
                    written.prices.extend(price_of(&row.event).map(|p| (id, p)));
                }
                written.keys.push(id);
                continue;
            }
            let id = row_key(line, quarantine)
                .ok_or_else(|| format!("s3://{bucket}/{key}:{}: a row without its key", n + 1))?;
            written.keys.push(id);
        }
    }
    Ok(written)
}

fn row_key(line: &[u8], quarantine: bool) -> Option<Uuid> {
    let row: serde_json::Value = serde_json::from_slice(line).ok()?;
    if !quarantine {
        return row.get("event_uuid")?.as_str()?.parse().ok();
    }
    match row.get("raw")? {
        serde_json::Value::String(text) => Some(quarantine_key(text.as_bytes())),
        raw => {
            let b64 = raw.get("b64")?.as_str()?;
            let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
            Some(quarantine_key(&bytes))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_name_their_keys() {
        let id = Uuid::from_u128(7);
        let data = format!(r#"{{"event_uuid":"{id}","price":1.0}}"#);
        assert_eq!(row_key(data.as_bytes(), false), Some(id));
        let text = r#"{"reason":"r","raw":"not json"}"#;
        assert_eq!(
            row_key(text.as_bytes(), true),
            Some(quarantine_key(b"not json"))
        );
        let b64 = r#"{"reason":"r","raw":{"b64":"/w=="}}"#;
        assert_eq!(row_key(b64.as_bytes(), true), Some(quarantine_key(&[0xff])));
        assert_eq!(row_key(b"{}", false), None);
        assert_eq!(row_key(b"garbage", true), None);
    }
}
