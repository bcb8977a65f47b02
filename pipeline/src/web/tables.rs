//! The web source's tables: per kind of market data, the request log, the markers, the outbox.
//!
//! The server's database: one table per kind of market data, a `request_log`, the
//! `write_groups` its writer marks each commit with, and the `outbox` the relay reads (with
//! its position in `relayed`), in a schema of the run's own.

use tokio_postgres::Client;

use super::error::WebError;
use crate::event::EventKind;

/// The table that keeps each kind of event.
pub fn table_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Forex => "forex_rates",
        EventKind::StockPrice => "stock_prices",
        EventKind::StockNews => "stock_news",
    }
}

/// The table every request that reached the server is logged in.
pub const REQUEST_LOG: &str = "request_log";

/// The table whose rows name the groups the writer committed.
pub const GROUPS: &str = "write_groups";

/// The outbox: each stored event's record, numbered in commit order, for the relay.
pub const OUTBOX: &str = "outbox";

/// The relay's position in the outbox (one row).
pub const RELAYED: &str = "relayed";

/// The tables a request writes: one per kind of event, and the request log (what a lock on
/// the web source's tables holds).
pub fn request_tables() -> [&'static str; 4] {
    let [a, b, c] = EventKind::ALL.map(table_name);
    [a, b, c, REQUEST_LOG]
}

/// The schema a run's tables live in: a plain identifier, so that it can be spliced into SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema(String);

impl Schema {
    /// `name` if it is a lower-case identifier (`[a-z_][a-z0-9_]*`, at most 63 bytes).
    ///
    /// # Errors
    /// [`WebError::Config`] for anything else.
    pub fn new(name: &str) -> Result<Self, WebError> {
        let ok = !name.is_empty()
            && name.len() <= 63
            && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if ok {
            Ok(Schema(name.to_string()))
        } else {
            Err(WebError::Config(format!(
                "schema {name:?} is not a lower-case identifier of at most 63 bytes"
            )))
        }
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.0
    }

    /// `schema.table`.
    pub fn qualified(&self, table: &str) -> String {
        format!("{}.{table}", self.0)
    }

    /// Creates the schema and its tables (if they are not there).
    ///
    /// # Errors
    /// A database error.
    pub async fn create(&self, client: &Client) -> Result<(), WebError> {
        let s = &self.0;
        let ddl = format!(
            "CREATE SCHEMA IF NOT EXISTS {s};
             CREATE TABLE IF NOT EXISTS {s}.forex_rates (
               event_uuid uuid PRIMARY KEY, created_at timestamptz NOT NULL, pair text NOT NULL,
               bid double precision NOT NULL, ask double precision NOT NULL,
               mid double precision NOT NULL, request_id uuid NOT NULL);
             CREATE TABLE IF NOT EXISTS {s}.stock_prices (
               event_uuid uuid PRIMARY KEY, created_at timestamptz NOT NULL, symbol text NOT NULL,
               price double precision NOT NULL, bid double precision NOT NULL,
               ask double precision NOT NULL, volume bigint NOT NULL, request_id uuid NOT NULL);
             CREATE TABLE IF NOT EXISTS {s}.stock_news (
               event_uuid uuid PRIMARY KEY, created_at timestamptz NOT NULL, symbol text NOT NULL,
               headline text NOT NULL, body text NOT NULL, sentiment double precision NOT NULL,
               request_id uuid NOT NULL);
             CREATE TABLE IF NOT EXISTS {s}.{REQUEST_LOG} (
               id bigserial PRIMARY KEY, request_id uuid NOT NULL, at timestamptz NOT NULL,
               client_addr text NOT NULL, method text NOT NULL, url text NOT NULL,
               status smallint NOT NULL, events integer NOT NULL, micros bigint NOT NULL);
             CREATE TABLE IF NOT EXISTS {s}.{GROUPS} (group_id uuid PRIMARY KEY);
             CREATE TABLE IF NOT EXISTS {s}.{OUTBOX} (
               seq bigserial PRIMARY KEY, record bytea NOT NULL);
             CREATE TABLE IF NOT EXISTS {s}.{RELAYED} (
               id smallint PRIMARY KEY, seq bigint NOT NULL);"
        );
        client
            .batch_execute(&ddl)
            .await
            .map_err(WebError::database("creating the tables"))
    }

    /// Drops the schema and everything in it.
    ///
    /// # Errors
    /// A database error.
    pub async fn drop(&self, client: &Client) -> Result<(), WebError> {
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0))
            .await
            .map_err(WebError::database("dropping the schema"))
    }
}

/// One request as `request_log` keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedRequest {
    /// The request's id (the client's `x-request-id` when it sent a UUID, else the server's).
    pub request_id: uuid::Uuid,
    /// When it arrived, milliseconds since the epoch.
    pub at_ms: i64,
    /// The client's address.
    pub client: String,
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query, as asked (at most [`MAX_URL`] bytes kept).
    pub url: String,
    /// The status answered.
    pub status: u16,
    /// Events the answer carried.
    pub events: u32,
    /// How long the answer took, microseconds.
    pub micros: u64,
}

/// Longest URL `request_log` keeps, bytes (longer ones are cut at a character boundary).
pub const MAX_URL: usize = 2_048;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_writes_each_kind_s_table_and_the_log() {
        assert_eq!(
            request_tables(),
            ["forex_rates", "stock_prices", "stock_news", "request_log"]
        );
    }

    #[test]
    fn a_schema_is_a_plain_identifier() {
        assert!(Schema::new("tickflow_web_1a2b").is_ok());
        for bad in ["", "1abc", "Web", "a-b", "a;drop", &"x".repeat(64)] {
            assert!(Schema::new(bad).is_err(), "{bad:?}");
        }
    }
}
