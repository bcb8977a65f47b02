//! Market events: their kinds, their JSON, their validation and enrichment.
//!
//! Market events as they travel through the pipeline: the three kinds, their JSON form, the
//! schema checks the processor applies and the enrichment it adds.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One market-data event (instrument names are shared `Arc<str>`: the generator hands out the
/// same few names millions of times). Serialised as flat JSON with `event_name` as the tag, as in the babbel
/// seed: `{"event_name":"stock_price:quote","event_uuid":"...","created_at":1795442400123,...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event_name")]
pub enum MarketEvent {
    /// A currency pair's quote.
    #[serde(rename = "forex:rate")]
    Forex(ForexRate),
    /// A stock's last price and top of book.
    #[serde(rename = "stock_price:quote")]
    StockPrice(StockPrice),
    /// A news item about a listed company.
    #[serde(rename = "stock_news:headline")]
    StockNews(StockNews),
}

/// A currency pair's quote (24/5 market).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForexRate {
    /// Unique id of the event.
    pub event_uuid: Uuid,
    /// Event time, milliseconds since the Unix epoch (UTC).
    pub created_at: i64,
    /// The pair, e.g. `EUR/USD`.
    pub pair: Arc<str>,
    /// Best bid.
    pub bid: f64,
    /// Best ask; always above the bid.
    pub ask: f64,
    /// (bid + ask) / 2.
    pub mid: f64,
}

/// A stock's last trade price with bid/ask and volume (inside trading sessions only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockPrice {
    /// Unique id of the event.
    pub event_uuid: Uuid,
    /// Event time, milliseconds since the Unix epoch (UTC).
    pub created_at: i64,
    /// Ticker, e.g. `AAPL`.
    pub symbol: Arc<str>,
    /// Last trade price.
    pub price: f64,
    /// Best bid.
    pub bid: f64,
    /// Best ask; always above the bid.
    pub ask: f64,
    /// Shares traded in this tick.
    pub volume: u64,
}

/// A news item, with a sentiment that the symbol's following moves correlate with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockNews {
    /// Unique id of the event.
    pub event_uuid: Uuid,
    /// Event time, milliseconds since the Unix epoch (UTC).
    pub created_at: i64,
    /// The company's ticker.
    pub symbol: Arc<str>,
    /// One-line headline.
    pub headline: String,
    /// A few sentences of body text.
    pub body: String,
    /// -1 (very negative) to 1 (very positive).
    pub sentiment: f64,
}

/// The three event kinds, as partition values and in scenario mixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// [`ForexRate`].
    Forex,
    /// [`StockPrice`].
    StockPrice,
    /// [`StockNews`].
    StockNews,
}

impl EventKind {
    /// Every kind, in a fixed order.
    pub const ALL: [EventKind; 3] = [
        EventKind::Forex,
        EventKind::StockPrice,
        EventKind::StockNews,
    ];

    /// The `event_type` partition value: `forex`, `stock_price`, `stock_news`.
    pub fn event_type(self) -> &'static str {
        match self {
            EventKind::Forex => "forex",
            EventKind::StockPrice => "stock_price",
            EventKind::StockNews => "stock_news",
        }
    }
}

impl MarketEvent {
    /// The event's id.
    pub fn id(&self) -> Uuid {
        match self {
            MarketEvent::Forex(e) => e.event_uuid,
            MarketEvent::StockPrice(e) => e.event_uuid,
            MarketEvent::StockNews(e) => e.event_uuid,
        }
    }

    /// Event time in milliseconds since the epoch.
    pub fn created_at(&self) -> i64 {
        match self {
            MarketEvent::Forex(e) => e.created_at,
            MarketEvent::StockPrice(e) => e.created_at,
            MarketEvent::StockNews(e) => e.created_at,
        }
    }

    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        match self {
            MarketEvent::Forex(_) => EventKind::Forex,
            MarketEvent::StockPrice(_) => EventKind::StockPrice,
            MarketEvent::StockNews(_) => EventKind::StockNews,
        }
    }

    /// `event_name` as written on the wire: `<event_type>:<event_subtype>`.
    pub fn event_name(&self) -> &'static str {
        match self {
            MarketEvent::Forex(_) => "forex:rate",
            MarketEvent::StockPrice(_) => "stock_price:quote",
            MarketEvent::StockNews(_) => "stock_news:headline",
        }
    }

    /// The instrument: currency pair or ticker. Also the Kinesis partition key.
    pub fn instrument(&self) -> &str {
        match self {
            MarketEvent::Forex(e) => &e.pair,
            MarketEvent::StockPrice(e) => &e.symbol,
            MarketEvent::StockNews(e) => &e.symbol,
        }
    }

    /// Serialises to one line of JSON (no trailing newline).
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.write_json(&mut out);
        out
    }

    /// Appends the event's JSON to `out`: byte for byte what serde_json writes for it, without
    /// serde's machinery or an allocation per event (the generator's hot path).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let mut w = JsonWriter { out, first: true };
        w.out.push(b'{');
        w.str_field("event_name", self.event_name());
        w.uuid_field(&self.id());
        w.int_field("created_at", self.created_at());
        match self {
            MarketEvent::Forex(e) => {
                w.str_field("pair", &e.pair);
                w.float_field("bid", e.bid);
                w.float_field("ask", e.ask);
                w.float_field("mid", e.mid);
            }
            MarketEvent::StockPrice(e) => {
                w.str_field("symbol", &e.symbol);
                w.float_field("price", e.price);
                w.float_field("bid", e.bid);
                w.float_field("ask", e.ask);
                w.key("volume");
                w.out
                    .extend_from_slice(itoa::Buffer::new().format(e.volume).as_bytes());
            }
            MarketEvent::StockNews(e) => {
                w.str_field("symbol", &e.symbol);
                w.str_field("headline", &e.headline);
                w.str_field("body", &e.body);
                w.float_field("sentiment", e.sentiment);
            }
        }
        w.out.push(b'}');
    }

    /// Checks what the JSON schema cannot: finite positive prices, bid below ask, a non-empty
    /// instrument without control characters, sentiment within [-1, 1].
    ///
    /// # Errors
    /// The first rule broken, as a reason fit for the quarantine.
    pub fn validate(&self) -> Result<(), String> {
        let instrument = self.instrument();
        if instrument.is_empty() || instrument.len() > 32 {
            return Err(format!(
                "instrument must be 1 to 32 characters, got {instrument:?}"
            ));
        }
        if instrument.chars().any(char::is_control) {
            return Err(format!(
                "instrument {instrument:?} contains control characters"
            ));
        }
        if self.created_at() <= 0 {
            return Err(format!(
                "created_at must be positive, got {}",
                self.created_at()
            ));
        }
        let quote = |bid: f64, ask: f64| -> Result<(), String> {
            if !(bid.is_finite() && ask.is_finite() && bid > 0.0 && ask > 0.0) {
                return Err(format!(
                    "bid and ask must be finite and positive, got {bid} / {ask}"
                ));
            }
            if bid >= ask {
                return Err(format!("bid {bid} must be below ask {ask}"));
            }
            Ok(())
        };
        match self {
            MarketEvent::Forex(e) => {
                quote(e.bid, e.ask)?;
                if !(e.mid > e.bid && e.mid < e.ask) {
                    return Err(format!("mid {} must lie between bid and ask", e.mid));
                }
            }
            MarketEvent::StockPrice(e) => {
                quote(e.bid, e.ask)?;
                if !(e.price.is_finite() && e.price > 0.0) {
                    return Err(format!(
                        "price must be finite and positive, got {}",
                        e.price
                    ));
                }
            }
            MarketEvent::StockNews(e) => {
                if !(-1.0..=1.0).contains(&e.sentiment) {
                    return Err(format!(
                        "sentiment must be within [-1, 1], got {}",
                        e.sentiment
                    ));
                }
                if e.headline.trim().is_empty() {
                    return Err("headline is empty".to_string());
                }
            }
        }
        Ok(())
    }
}

/// Writes JSON object fields exactly as serde_json does (its float formatter is `zmij`).
struct JsonWriter<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl JsonWriter<'_> {
    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    fn str_field(&mut self, key: &str, value: &str) {
        self.key(key);
        write_json_string(self.out, value);
    }

    fn uuid_field(&mut self, id: &Uuid) {
        self.key("event_uuid");
        self.out.push(b'"');
        let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
        self.out
            .extend_from_slice(id.hyphenated().encode_lower(&mut buf).as_bytes());
        self.out.push(b'"');
    }

    fn int_field(&mut self, key: &str, value: i64) {
        self.key(key);
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    fn float_field(&mut self, key: &str, value: f64) {
        self.key(key);
        if value.is_finite() {
            self.out
                .extend_from_slice(zmij::Buffer::new().format_finite(value).as_bytes());
        } else {
            self.out.extend_from_slice(b"null"); // as serde_json does for NaN and infinities
        }
    }
}

/// A JSON string literal with serde_json's escaping.
fn write_json_string(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    let bytes = value.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Parses and validates one raw record.
///
/// # Errors
/// Why the record belongs in the quarantine: `schema: ...` (not UTF-8, not JSON, not one of the
/// event kinds, a missing, unknown or mistyped field) or `rule: ...` (a broken rule of
/// [`MarketEvent::validate`]).
pub fn parse_record(raw: &[u8]) -> Result<MarketEvent, String> {
    let event: MarketEvent = serde_json::from_slice(raw).map_err(|e| format!("schema: {e}"))?;
    event.validate().map_err(|e| format!("rule: {e}"))?;
    Ok(event)
}

/// Adds what the processor enriches every event with (babbel seed): `created_datetime` (ISO 8601
/// of `created_at`), `event_type` and `event_subtype` (the two halves of `event_name`), and
/// `processed_at`. Returns one JSON line without the newline.
pub fn enrich(event: &MarketEvent, processed_at: DateTime<Utc>) -> Vec<u8> {
    let mut value = serde_json::to_value(event).expect("market events always serialise");
    let (event_type, event_subtype) = event
        .event_name()
        .split_once(':')
        .expect("event names are type:subtype");
    if let Some(map) = value.as_object_mut() {
        map.insert(
            "created_datetime".into(),
            iso8601(event.created_at()).into(),
        );
        map.insert("event_type".into(), event_type.into());
        map.insert("event_subtype".into(), event_subtype.into());
        map.insert(
            "processed_at".into(),
            processed_at
                .to_rfc3339_opts(SecondsFormat::Millis, true)
                .into(),
        );
    }
    serde_json::to_vec(&value).expect("JSON values always serialise")
}

/// ISO 8601 UTC with milliseconds for an epoch-milliseconds timestamp.
pub fn iso8601(epoch_ms: i64) -> String {
    crate::utc::iso8601(epoch_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stock() -> MarketEvent {
        MarketEvent::StockPrice(StockPrice {
            event_uuid: Uuid::nil(),
            created_at: 1_795_442_400_000,
            symbol: "AAPL".into(),
            price: 190.0,
            bid: 189.99,
            ask: 190.01,
            volume: 100,
        })
    }

    #[test]
    fn json_carries_the_event_name_tag_and_round_trips() {
        let json = String::from_utf8(stock().to_json()).unwrap();
        assert!(
            json.starts_with(r#"{"event_name":"stock_price:quote","event_uuid":"#),
            "{json}"
        );
        assert_eq!(parse_record(json.as_bytes()).unwrap(), stock());
    }

    #[test]
    fn enrichment_adds_type_subtype_and_iso_time() {
        let row: serde_json::Value =
            serde_json::from_slice(&enrich(&stock(), DateTime::UNIX_EPOCH)).unwrap();
        assert_eq!(row["event_type"], "stock_price");
        assert_eq!(row["event_subtype"], "quote");
        assert_eq!(row["created_datetime"], "2026-11-23T14:00:00.000Z");
        assert_eq!(row["processed_at"], "1970-01-01T00:00:00.000Z");
        assert_eq!(row["symbol"], "AAPL");
    }

    #[test]
    fn malformed_records_say_why() {
        let cases: [(&[u8], &str); 5] = [
            (b"not json", "schema"),
            (br#"{"event_name":"crypto:tick"}"#, "schema"),
            (
                br#"{"event_name":"stock_price:quote","event_uuid":"00000000-0000-0000-0000-000000000000","created_at":1,"symbol":"A","price":1.0,"bid":2.0,"ask":1.0,"volume":1}"#,
                "below ask",
            ),
            (
                br#"{"event_name":"forex:rate","event_uuid":"00000000-0000-0000-0000-000000000000","created_at":1,"pair":"EUR/USD","bid":1.0,"ask":1.1,"mid":1.05,"extra":1}"#,
                "unknown field",
            ),
            (
                br#"{"event_name":"stock_news:headline","event_uuid":"00000000-0000-0000-0000-000000000000","created_at":1,"symbol":"A","headline":"h","body":"b","sentiment":3.0}"#,
                "sentiment",
            ),
        ];
        for (raw, reason) in cases {
            let err = parse_record(raw).unwrap_err();
            assert!(
                err.contains(reason),
                "{}: {err}",
                String::from_utf8_lossy(raw)
            );
        }
    }
}
