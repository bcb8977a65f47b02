//! The web source's tables, read back.
//!
//! Reading the web source's tables back, independently of how the server wrote them: every
//! row of the three market-data tables rebuilt as the event it stores (so that any column that
//! differs changes its digest), and every `request_log` row.

use std::collections::{BTreeMap, HashMap};

use tickflow_pipeline::event::{EventKind, ForexRate, MarketEvent, StockNews, StockPrice};
use tickflow_pipeline::web::tables::table_name;
use tokio_postgres::Row;

use super::source::Tables;
use crate::error::{Error, Result};
use crate::infra::postgres;
use crate::verdict::{digest, Digest};

/// A stored event, as the judge compares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredRow {
    /// The digest of the event the row holds (every column but `request_id`).
    pub digest: Digest,
    /// The request that stored it.
    pub request_id: uuid::Uuid,
}

/// A `request_log` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRow {
    /// The request's id.
    pub request_id: uuid::Uuid,
    /// `GET`, ...
    pub method: String,
    /// Path and query.
    pub url: String,
    /// The client's address.
    pub client: String,
    /// Status answered.
    pub status: u16,
    /// Events answered.
    pub events: u32,
}

/// Everything the tables hold.
#[derive(Debug, Default)]
pub struct ReadBack {
    /// Event id -> its row (a second row for one id is a duplicate: the key is primary).
    pub rows: HashMap<uuid::Uuid, StoredRow>,
    /// Rows per table.
    pub per_table: BTreeMap<String, u64>,
    /// Every `request_log` row.
    pub log: Vec<LogRow>,
}

fn db(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> Error {
    move |e| Error::Database {
        what: format!("reading the web tables back ({what})"),
        reason: e.to_string(),
    }
}

/// Reads the run's tables.
///
/// # Errors
/// The database unreachable or a query failing.
pub async fn read(tables: &Tables) -> Result<ReadBack> {
    let client = postgres::connect(&tables.url).await?;
    let mut back = ReadBack::default();
    for kind in EventKind::ALL {
        let table = table_name(kind);
        let sql = select(kind, &tables.schema.qualified(table));
        let rows = client.query(&sql, &[]).await.map_err(db(table))?;
        back.per_table.insert(table.to_string(), rows.len() as u64);
        for row in rows {
            let (event, request_id) = event(kind, &row).map_err(db(table))?;
            let stored = StoredRow {
                digest: digest(&event.to_json()),
                request_id,
            };
            back.rows.insert(event.id(), stored);
        }
    }
    let sql = format!(
        "SELECT request_id::text, method, url, status, events, client_addr FROM {} ORDER BY id",
        tables.schema.qualified("request_log")
    );
    for row in client.query(&sql, &[]).await.map_err(db("request_log"))? {
        back.log.push(LogRow {
            request_id: uuid_of(&row, 0).map_err(db("request_log"))?,
            method: row.try_get(1).map_err(db("request_log"))?,
            url: row.try_get(2).map_err(db("request_log"))?,
            status: row.try_get::<_, i16>(3).map_err(db("request_log"))? as u16,
            events: row.try_get::<_, i32>(4).map_err(db("request_log"))? as u32,
            client: row.try_get(5).map_err(db("request_log"))?,
        });
    }
    Ok(back)
}

/// The query that reads one table in the order the event's fields are declared.
fn select(kind: EventKind, table: &str) -> String {
    let columns = match kind {
        EventKind::Forex => "pair, bid, ask, mid",
        EventKind::StockPrice => "symbol, price, bid, ask, volume",
        EventKind::StockNews => "symbol, headline, body, sentiment",
    };
    format!(
        "SELECT event_uuid::text, (extract(epoch FROM created_at) * 1000)::int8, request_id::text, \
         {columns} FROM {table}"
    )
}

fn uuid_of(row: &Row, i: usize) -> std::result::Result<uuid::Uuid, tokio_postgres::Error> {
    let text: String = row.try_get(i)?;
    // PostgreSQL's uuid type prints the canonical form, which always parses.
    Ok(uuid::Uuid::parse_str(&text).unwrap_or_default())
}

/// The event a row stores, and the request that stored it.
fn event(
    kind: EventKind,
    row: &Row,
) -> std::result::Result<(MarketEvent, uuid::Uuid), tokio_postgres::Error> {
    let event_uuid = uuid_of(row, 0)?;
    let created_at: i64 = row.try_get(1)?;
    let request_id = uuid_of(row, 2)?;
    let text = |i| row.try_get::<_, String>(i);
    let event = match kind {
        EventKind::Forex => MarketEvent::Forex(ForexRate {
            event_uuid,
            created_at,
            pair: text(3)?.into(),
            bid: row.try_get(4)?,
            ask: row.try_get(5)?,
            mid: row.try_get(6)?,
        }),
        EventKind::StockPrice => MarketEvent::StockPrice(StockPrice {
            event_uuid,
            created_at,
            symbol: text(3)?.into(),
            price: row.try_get(4)?,
            bid: row.try_get(5)?,
            ask: row.try_get(6)?,
            volume: row.try_get::<_, i64>(7)?.max(0) as u64,
        }),
        EventKind::StockNews => MarketEvent::StockNews(StockNews {
            event_uuid,
            created_at,
            symbol: text(3)?.into(),
            headline: text(4)?,
            body: text(5)?,
            sentiment: row.try_get(6)?,
        }),
    };
    Ok((event, request_id))
}
