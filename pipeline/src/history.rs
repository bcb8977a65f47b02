//! Taps: where a stage tells a run's history which events it saw.
//!
//! A stage given a [`Tap`] reports the events it handled at its point (the producer: accepted
//! by Kinesis; the bridge: sent to SQS; the processor: received from SQS), by id, as they
//! pass, and the harness keeps them as the run's history of every event. A stage without a
//! tap pays nothing. The price-file steps, whose events are objects, report the keys their
//! notifications announced ([`ObjectTap`]).

use uuid::Uuid;

use crate::chaos::Stage;

/// Where a stage saw events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Point {
    /// Accepted by Kinesis (the producer's `PutRecords` entry took it).
    Accepted,
    /// Sent to SQS by the bridge (its `SendMessageBatch` calls took every entry).
    SentToSqs,
    /// Received from SQS by the processor.
    Received,
}

/// What a stage reports its sightings to.
pub trait Tap: Send + Sync {
    /// `ids` seen at `point`, now.
    fn saw(&self, point: Point, ids: &[Uuid]);
}

/// What a step reading S3 notifications reports the objects it was told of to.
pub trait ObjectTap: Send + Sync {
    /// The objects `keys` announced to `stage` in one message it received, now.
    fn received(&self, stage: Stage, keys: &[String]);
}

/// The id a raw event record names (its `"event_uuid":"..."`), found without parsing the
/// record: `None` for a record that names none (a malformed one).
pub fn record_id(record: &[u8]) -> Option<Uuid> {
    const KEY: &[u8] = b"\"event_uuid\":\"";
    let at = record.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let text = record.get(at..at + 36)?;
    Uuid::try_parse_ascii(text).ok()
}

/// The ids `records` name, in order (records that name none left out).
pub fn record_ids(records: &[Vec<u8>]) -> Vec<Uuid> {
    records.iter().filter_map(|r| record_id(r)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Generator, GeneratorConfig};

    #[test]
    fn a_record_s_id_is_found_as_a_parse_finds_it() {
        for event in Generator::new(GeneratorConfig {
            events: 50,
            ..GeneratorConfig::default()
        }) {
            assert_eq!(record_id(&event.to_json()), Some(event.id()));
        }
        for broken in [
            &b""[..],
            b"{}",
            b"{\"event_uuid\":\"not-a-uuid\"}",
            b"{\"event_uuid\":\"12",
        ] {
            assert_eq!(record_id(broken), None, "{broken:?}");
        }
    }
}
