//! A lake row read back: the event it carries and what the processor added to it, the inverse
//! of [`crate::event::enrich`], so that a judge can compare each row with the event that was
//! sent and check the enrichment against the event itself.

use chrono::DateTime;
use serde_json::{Map, Value};

use crate::event::{iso8601, MarketEvent};

/// The fields [`crate::event::enrich`] adds to every event.
pub const ENRICHED_FIELDS: [&str; 4] = [
    "created_datetime",
    "event_type",
    "event_subtype",
    "processed_at",
];

/// One data row of the lake.
#[derive(Debug, Clone, PartialEq)]
pub struct LakeRow {
    /// The event's own fields, exactly as a producer sends them.
    pub event: MarketEvent,
    /// The fields the processor added (`None` where a row lacks one, or it is not a string).
    pub enrichment: [Option<String>; 4],
}

/// Splits a row (a JSON object) into its event and its enrichment.
///
/// # Errors
/// Why the row is not an enriched event: `schema: ...` when what is left after the enrichment
/// fields is not exactly one of the event kinds (a field missing, unknown or of the wrong type).
pub fn parse_row(mut row: Map<String, Value>) -> Result<LakeRow, String> {
    let enrichment = ENRICHED_FIELDS.map(|field| match row.remove(field) {
        Some(Value::String(text)) => Some(text),
        _ => None,
    });
    let event: MarketEvent =
        serde_json::from_value(Value::Object(row)).map_err(|e| format!("schema: {e}"))?;
    Ok(LakeRow { event, enrichment })
}

impl LakeRow {
    /// Checks the enrichment against the event: `created_datetime` is `created_at` in ISO 8601,
    /// `event_type` and `event_subtype` are the halves of `event_name`, `processed_at` is an
    /// RFC 3339 time.
    ///
    /// # Errors
    /// The first field that is wrong, with what it holds and what it should.
    pub fn check_enrichment(&self) -> Result<(), String> {
        let (event_type, event_subtype) = self
            .event
            .event_name()
            .split_once(':')
            .unwrap_or((self.event.event_name(), ""));
        let created = iso8601(self.event.created_at());
        let expected = [
            Some(created.as_str()),
            Some(event_type),
            Some(event_subtype),
            None,
        ];
        for ((field, got), want) in ENRICHED_FIELDS.iter().zip(&self.enrichment).zip(expected) {
            let Some(got) = got else {
                return Err(format!("{field} is missing"));
            };
            match want {
                Some(want) if got != want => {
                    return Err(format!("{field} is {got:?}, expected {want:?}"));
                }
                None if DateTime::parse_from_rfc3339(got).is_err() => {
                    return Err(format!("{field} is {got:?}, not an RFC 3339 time"));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::enrich;
    use crate::source::{Generator, GeneratorConfig};

    fn map(bytes: &[u8]) -> Map<String, Value> {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn enriched_rows_give_back_the_event_byte_for_byte() {
        for event in Generator::new(GeneratorConfig {
            events: 500,
            ..Default::default()
        }) {
            let row = parse_row(map(&enrich(&event, chrono::Utc::now()))).unwrap();
            assert_eq!(row.event.to_json(), event.to_json());
            row.check_enrichment().unwrap();
        }
    }

    #[test]
    fn wrong_or_missing_enrichment_names_the_field() {
        let event = Generator::new(GeneratorConfig::default()).next().unwrap();
        let good = map(&enrich(&event, chrono::Utc::now()));
        let mut wrong_time = good.clone();
        wrong_time.insert("created_datetime".into(), "2001-01-01T00:00:00.000Z".into());
        let e = parse_row(wrong_time)
            .unwrap()
            .check_enrichment()
            .unwrap_err();
        assert!(e.starts_with("created_datetime is \"2001-01-01"), "{e}");
        let mut no_type = good.clone();
        no_type.remove("event_subtype");
        let e = parse_row(no_type).unwrap().check_enrichment().unwrap_err();
        assert_eq!(e, "event_subtype is missing");
        let mut extra = good;
        extra.insert("price_usd".into(), 1.into());
        assert!(parse_row(extra).unwrap_err().starts_with("schema:"));
    }
}
