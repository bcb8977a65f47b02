//! The web source's tables, and the writer that commits many requests at once.
//!
//! The server's database: one table per kind of market data and a `request_log`, in a schema of
//! the run's own. One task writes them all and commits many requests' rows in one transaction
//! (group commit), so a request is answered only once its rows are durable, without a
//! transaction per request.

use tokio::sync::{mpsc, oneshot};
use tokio_postgres::Client;

use super::error::WebError;
use crate::event::{EventKind, MarketEvent};

/// Jobs one transaction takes at most.
const MAX_GROUP: usize = 512;

/// The table that keeps each kind of event.
pub fn table_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Forex => "forex_rates",
        EventKind::StockPrice => "stock_prices",
        EventKind::StockNews => "stock_news",
    }
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

    /// Creates the schema and its four tables (if they are not there).
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
             CREATE TABLE IF NOT EXISTS {s}.request_log (
               id bigserial PRIMARY KEY, request_id uuid NOT NULL, at timestamptz NOT NULL,
               client_addr text NOT NULL, method text NOT NULL, url text NOT NULL,
               status smallint NOT NULL, events integer NOT NULL, micros bigint NOT NULL);"
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

/// Why rows were not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotStored {
    /// The writer's queue is full: the database is behind.
    Behind,
    /// The writer is gone (the server is stopping).
    Closed,
    /// The transaction failed.
    Failed(String),
}

enum Job {
    Rows {
        request_id: uuid::Uuid,
        events: std::sync::Arc<[MarketEvent]>,
        done: oneshot::Sender<Result<(), String>>,
    },
    Log(LoggedRequest),
}

/// The handle requests write through.
#[derive(Clone)]
pub struct Store {
    tx: mpsc::Sender<Job>,
}

/// What the writer did, once every handle is gone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Transactions committed.
    pub commits: u64,
    /// Event rows written.
    pub rows: u64,
    /// `request_log` rows written.
    pub logged: u64,
    /// `request_log` rows that could not be written (the database failed twice).
    pub logs_lost: u64,
}

impl Store {
    /// A handle and its writer on `client`, the queue `capacity` jobs deep. The writer is a
    /// future for the caller to run as a stage of its run (so that it stops with the run); it
    /// ends, with its figures, once every [`Store`] is dropped and the queue is written.
    pub fn new(
        client: Client,
        schema: Schema,
        capacity: usize,
    ) -> (
        Self,
        impl std::future::Future<Output = StoreStats> + Send + 'static,
    ) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (Store { tx }, write(client, schema, rx))
    }

    /// Stores `events` (all or none) and returns once they are committed.
    ///
    /// # Errors
    /// [`NotStored`]: the queue is full or closed, or the transaction failed.
    pub async fn rows(
        &self,
        request_id: uuid::Uuid,
        events: std::sync::Arc<[MarketEvent]>,
    ) -> Result<(), NotStored> {
        let (done, stored) = oneshot::channel();
        let job = Job::Rows {
            request_id,
            events,
            done,
        };
        self.tx.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => NotStored::Behind,
            mpsc::error::TrySendError::Closed(_) => NotStored::Closed,
        })?;
        match stored.await {
            Ok(result) => result.map_err(NotStored::Failed),
            Err(_) => Err(NotStored::Closed),
        }
    }

    /// Queues a `request_log` row (waiting for room: no entry is dropped for being late).
    pub async fn log(&self, entry: LoggedRequest) {
        if self.tx.send(Job::Log(entry)).await.is_err() {
            tracing::warn!("the request log writer is gone; a request went unlogged");
        }
    }
}

/// The writer: takes what is queued (up to [`MAX_GROUP`] jobs), commits it in one transaction,
/// answers every job, and goes on until every handle is gone.
async fn write(mut client: Client, schema: Schema, mut rx: mpsc::Receiver<Job>) -> StoreStats {
    let mut stats = StoreStats::default();
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let mut group = Group::default();
        for job in jobs {
            match job {
                Job::Rows {
                    request_id,
                    events,
                    done,
                } => group.rows.push((request_id, events, done)),
                Job::Log(entry) => group.logs.push(entry),
            }
        }
        group.commit(&mut client, &schema, &mut stats).await;
    }
    stats
}

/// One request's rows, and who waits for their commit.
type RowsJob = (
    uuid::Uuid,
    std::sync::Arc<[MarketEvent]>,
    oneshot::Sender<Result<(), String>>,
);

/// The jobs of one transaction.
#[derive(Default)]
struct Group {
    rows: Vec<RowsJob>,
    logs: Vec<LoggedRequest>,
}

impl Group {
    /// Commits the group and answers its row jobs; if the transaction fails, the log rows are
    /// tried again alone (a bad batch of rows must not cost the log its entries).
    async fn commit(self, client: &mut Client, schema: &Schema, stats: &mut StoreStats) {
        let result = insert(client, schema, &self.rows, &self.logs).await;
        let rows: u64 = self.rows.iter().map(|(_, e, _)| e.len() as u64).sum();
        let logs = self.logs.len() as u64;
        match &result {
            Ok(()) => {
                stats.commits += 1;
                stats.rows += rows;
                stats.logged += logs;
            }
            Err(e) => {
                tracing::warn!(error = %e, requests = self.rows.len(), "storing rows failed");
                match insert(client, schema, &[], &self.logs).await {
                    Ok(()) => stats.logged += logs,
                    Err(e) => {
                        tracing::error!(error = %e, entries = logs, "request log entries lost");
                        stats.logs_lost += logs;
                    }
                }
            }
        }
        for (_, _, done) in self.rows {
            let _ = done.send(result.clone());
        }
    }
}

/// One transaction: every kind's rows, then the log entries.
async fn insert(
    client: &mut Client,
    schema: &Schema,
    rows: &[RowsJob],
    logs: &[LoggedRequest],
) -> Result<(), String> {
    let tx = client.transaction().await.map_err(|e| e.to_string())?;
    let mut columns = Columns::default();
    for (request_id, events, _) in rows {
        for event in events.iter() {
            columns.push(*request_id, event);
        }
    }
    columns
        .insert(&tx, schema)
        .await
        .map_err(|e| e.to_string())?;
    if !logs.is_empty() {
        insert_logs(&tx, schema, logs)
            .await
            .map_err(|e| e.to_string())?;
    }
    tx.commit().await.map_err(|e| e.to_string())
}

/// Events as column arrays, one set per table, for `INSERT ... SELECT FROM UNNEST(...)`.
#[derive(Default)]
struct Columns {
    forex: KindColumns,
    prices: KindColumns,
    news: KindColumns,
}

/// The columns of one table (`a`, `b`, `c`: the three numbers of its kind, in column order).
#[derive(Default)]
struct KindColumns {
    ids: Vec<String>,
    created: Vec<i64>,
    instrument: Vec<String>,
    a: Vec<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
    volume: Vec<i64>,
    headline: Vec<String>,
    body: Vec<String>,
    requests: Vec<String>,
}

impl KindColumns {
    fn push(&mut self, request_id: uuid::Uuid, id: uuid::Uuid, created: i64, instrument: &str) {
        self.ids.push(id.to_string());
        self.created.push(created);
        self.instrument.push(instrument.to_string());
        self.requests.push(request_id.to_string());
    }
}

impl Columns {
    fn push(&mut self, request_id: uuid::Uuid, event: &MarketEvent) {
        let (id, at, instrument) = (event.id(), event.created_at(), event.instrument());
        match event {
            MarketEvent::Forex(e) => {
                let t = &mut self.forex;
                t.push(request_id, id, at, instrument);
                t.a.push(e.bid);
                t.b.push(e.ask);
                t.c.push(e.mid);
            }
            MarketEvent::StockPrice(e) => {
                let t = &mut self.prices;
                t.push(request_id, id, at, instrument);
                t.a.push(e.price);
                t.b.push(e.bid);
                t.c.push(e.ask);
                t.volume.push(i64::try_from(e.volume).unwrap_or(i64::MAX));
            }
            MarketEvent::StockNews(e) => {
                let t = &mut self.news;
                t.push(request_id, id, at, instrument);
                t.headline.push(e.headline.clone());
                t.body.push(e.body.clone());
                t.a.push(e.sentiment);
            }
        }
    }

    async fn insert(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        schema: &Schema,
    ) -> Result<(), tokio_postgres::Error> {
        const AT: &str = "timestamptz 'epoch' + c * interval '1 millisecond'";
        let (f, p, n) = (&self.forex, &self.prices, &self.news);
        if !f.ids.is_empty() {
            let sql = format!(
                "INSERT INTO {} (event_uuid, created_at, pair, bid, ask, mid, request_id) \
                 SELECT u::uuid, {AT}, i, a, b, m, r::uuid FROM UNNEST($1::text[], $2::int8[], \
                 $3::text[], $4::float8[], $5::float8[], $6::float8[], $7::text[]) AS t(u, c, i, a, b, m, r)",
                schema.qualified("forex_rates")
            );
            tx.execute(
                &sql,
                &[
                    &f.ids,
                    &f.created,
                    &f.instrument,
                    &f.a,
                    &f.b,
                    &f.c,
                    &f.requests,
                ],
            )
            .await?;
        }
        if !p.ids.is_empty() {
            let sql = format!(
                "INSERT INTO {} (event_uuid, created_at, symbol, price, bid, ask, volume, request_id) \
                 SELECT u::uuid, {AT}, i, a, b, m, v, r::uuid FROM UNNEST($1::text[], $2::int8[], \
                 $3::text[], $4::float8[], $5::float8[], $6::float8[], $7::int8[], $8::text[]) \
                 AS t(u, c, i, a, b, m, v, r)",
                schema.qualified("stock_prices")
            );
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 8] = [
                &p.ids,
                &p.created,
                &p.instrument,
                &p.a,
                &p.b,
                &p.c,
                &p.volume,
                &p.requests,
            ];
            tx.execute(&sql, &params).await?;
        }
        if !n.ids.is_empty() {
            let sql = format!(
                "INSERT INTO {} (event_uuid, created_at, symbol, headline, body, sentiment, request_id) \
                 SELECT u::uuid, {AT}, i, h, b, s, r::uuid FROM UNNEST($1::text[], $2::int8[], \
                 $3::text[], $4::text[], $5::text[], $6::float8[], $7::text[]) AS t(u, c, i, h, b, s, r)",
                schema.qualified("stock_news")
            );
            tx.execute(
                &sql,
                &[
                    &n.ids,
                    &n.created,
                    &n.instrument,
                    &n.headline,
                    &n.body,
                    &n.a,
                    &n.requests,
                ],
            )
            .await?;
        }
        Ok(())
    }
}

/// The log entries, in one statement.
async fn insert_logs(
    tx: &tokio_postgres::Transaction<'_>,
    schema: &Schema,
    logs: &[LoggedRequest],
) -> Result<(), tokio_postgres::Error> {
    let ids: Vec<String> = logs.iter().map(|l| l.request_id.to_string()).collect();
    let at: Vec<i64> = logs.iter().map(|l| l.at_ms).collect();
    let client: Vec<&str> = logs.iter().map(|l| l.client.as_str()).collect();
    let method: Vec<&str> = logs.iter().map(|l| l.method.as_str()).collect();
    let url: Vec<&str> = logs.iter().map(|l| l.url.as_str()).collect();
    let status: Vec<i16> = logs.iter().map(|l| l.status as i16).collect();
    let events: Vec<i32> = logs.iter().map(|l| l.events as i32).collect();
    let micros: Vec<i64> = logs
        .iter()
        .map(|l| i64::try_from(l.micros).unwrap_or(i64::MAX))
        .collect();
    let sql = format!(
        "INSERT INTO {} (request_id, at, client_addr, method, url, status, events, micros) \
         SELECT r::uuid, timestamptz 'epoch' + a * interval '1 millisecond', c, m, u, s, e, t \
         FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::int2[], \
         $7::int4[], $8::int8[]) AS x(r, a, c, m, u, s, e, t)",
        schema.qualified("request_log")
    );
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 8] =
        [&ids, &at, &client, &method, &url, &status, &events, &micros];
    tx.execute(&sql, &params).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_is_a_plain_identifier() {
        assert!(Schema::new("tickflow_web_1a2b").is_ok());
        for bad in ["", "1abc", "Web", "a-b", "a;drop", &"x".repeat(64)] {
            assert!(Schema::new(bad).is_err(), "{bad:?}");
        }
    }
}
